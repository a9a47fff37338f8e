/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * dirty-log: start dirty logging on every slot in one transaction (as a
 * VMM does when live migration begins), then stop it on every slot.
 *
 * Toggling MEMSLOT_LOG_DIRTY_PAGES is the one flags change the kernel
 * allows on an existing slot.  It changes no guest address, so it opens
 * no hole: the quiesce callback is not called and the vCPUs keep running.
 * On /dev/kvm, KVM_GET_DIRTY_LOG shows the kernel's side: it answers 0 on
 * a slot with logging and ENOENT on one without.
 */
#include <string.h>
#include <sys/ioctl.h>
#include <linux/kvm.h>

#include "backend.h"

#define MiB (1024ull * 1024)
#define GiB (1024 * MiB)

static const struct {
	const char *what;
	uint64_t gpa, size;
} layout[] = {
	{ "RAM below 4 GiB", 0, 512 * MiB },
	{ "framebuffer", 0xfd000000, 16 * MiB },
	{ "RAM above 4 GiB", 4 * GiB, 1 * GiB },
	{ "hotplugged block", 8 * GiB, 128 * MiB },
};
#define NR_SLOTS (sizeof(layout) / sizeof(layout[0]))

struct ids {
	uint16_t id[NR_SLOTS];
	uint32_t flags[NR_SLOTS];
	unsigned int n;
};

/* memslot_vm_foreach() callback: collect ids (it must not change the vm). */
static int collect(const struct memslot_region *r, void *opaque)
{
	struct ids *ids = opaque;

	if (ids->n == NR_SLOTS)
		return -ENOSPC;
	ids->flags[ids->n] = r->flags;
	ids->id[ids->n++] = r->slot;
	return 0;
}

/* Queue a LOG_DIRTY_PAGES toggle on every slot, keeping the other flags. */
static void set_logging(struct backend *b, struct memslot_vm *vm, int on)
{
	struct ids ids = { .n = 0 };
	struct memslot_txn *txn;

	CHECK(memslot_vm_foreach(vm, collect, &ids));
	CHECK(memslot_txn_begin(vm, &txn));
	for (unsigned int i = 0; i < ids.n; i++) {
		uint32_t flags = on ? ids.flags[i] | MEMSLOT_LOG_DIRTY_PAGES :
				      ids.flags[i] & ~MEMSLOT_LOG_DIRTY_PAGES;

		CHECK(memslot_txn_set_flags(txn, 0, ids.id[i], flags));
	}
	show_canonical(vm, txn);
	commit_or_die(b, txn);
}

/* On /dev/kvm: ask the kernel for each slot's dirty bitmap. */
static void kernel_dirty_log(const struct backend *b, int want_on)
{
	static uint64_t bitmap[(1 * GiB / 4096) / 64];

	if (!b->is_kvm)
		return;
	for (unsigned int i = 0; i < NR_SLOTS; i++) {
		struct kvm_dirty_log log = { .slot = i, .dirty_bitmap = bitmap };
		int r = ioctl(b->vm_fd, KVM_GET_DIRTY_LOG, &log);

		r = r < 0 ? -errno : r;
		printf("    KVM_GET_DIRTY_LOG slot %u -> %s\n", i,
		       errno_name(r));
		EXPECT(want_on ? r == 0 : r == -ENOENT,
		       "dirty logging of slot %u is not %s in the kernel", i,
		       want_on ? "on" : "off");
	}
}

int main(void)
{
	int quiesced = 0;
	struct memslot_vm_opts opts = {
		.sz = sizeof(opts),
		.quiesce = print_quiesce,
		.resume = print_resume,
		.quiesce_opaque = &quiesced,
	};
	struct memslot_region r = { .sz = sizeof(r) };
	struct memslot_txn *txn;
	struct memslot_vm *vm;
	struct backend b;

	backend_open(&b);
	vm = backend_vm_new(&b, &opts);

	printf("\nthe guest's memory:\n");
	b.trace = 0;
	CHECK(memslot_txn_begin(vm, &txn));
	for (unsigned int i = 0; i < NR_SLOTS; i++) {
		r = region((uint16_t)i, layout[i].gpa, layout[i].size,
			   guest_memory(layout[i].size), 0);
		CHECK(memslot_txn_add(txn, &r, NULL));
		printf("  slot %u: %-17s gpa 0x%-10" PRIx64 " %s\n", i,
		       layout[i].what, layout[i].gpa, size_str(layout[i].size));
	}
	commit_or_die(&b, txn);
	b.trace = 1;
	check_view(&b, vm);

	printf("\nstart dirty logging on every slot, in one transaction\n");
	set_logging(&b, vm, 1);
	show_table(vm, "  table: ");
	check_view(&b, vm);
	kernel_dirty_log(&b, 1);
	for (unsigned int i = 0; i < NR_SLOTS; i++) {
		CHECK(memslot_vm_find(vm, 0, (uint16_t)i, &r));
		EXPECT(r.flags & MEMSLOT_LOG_DIRTY_PAGES, "slot %u not logged", i);
	}

	printf("\nstop dirty logging on every slot, in one transaction\n");
	set_logging(&b, vm, 0);
	check_view(&b, vm);
	kernel_dirty_log(&b, 0);
	for (unsigned int i = 0; i < NR_SLOTS; i++) {
		CHECK(memslot_vm_find(vm, 0, (uint16_t)i, &r));
		EXPECT(!(r.flags & MEMSLOT_LOG_DIRTY_PAGES), "slot %u logged", i);
	}

	EXPECT(quiesced == 0, "flags changes must not quiesce");
	printf("\nquiesce() was not called: a flags change opens no hole\n");
	memslot_vm_free(vm);
	backend_close(&b);
	printf("dirty-log: OK\n");
	return 0;
}
