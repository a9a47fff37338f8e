/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * resize: grow and shrink guest RAM.
 *
 * KVM cannot change the size of a memory slot in place: a VMM deletes
 * the slot and creates it again, same id, new size.  Sent as two ioctls,
 * the guest can run in between and find its RAM gone; this is the case
 * that started the batch-ioctl proposal in 2022.  With libmemslot the
 * pair is one transaction: one ioctl on a kernel with the batch ioctl,
 * and on every released kernel two ioctls with the VMM's quiesce and
 * resume callbacks around them, so that no vCPU sees the hole.
 */
#include "backend.h"

#define MiB (1024ull * 1024)
#define MAX_RAM (512 * MiB)

static void resize(struct backend *b, struct memslot_vm *vm, void *ram,
		   uint64_t new_size)
{
	struct memslot_txn *txn;
	struct memslot_region r = region(0, 0, new_size, ram, 0);

	printf("\nresize RAM to %s: delete slot 0, create slot 0 again\n",
	       size_str(new_size));
	CHECK(memslot_txn_begin(vm, &txn));
	CHECK(memslot_txn_delete(txn, 0, 0));
	CHECK(memslot_txn_add(txn, &r, NULL));
	show_canonical(vm, txn);
	commit_or_die(b, txn);
	show_table(vm, "  table: ");
	check_view(b, vm);
}

int main(void)
{
	struct memslot_caps caps = { .sz = sizeof(caps) };
	struct memslot_vm_opts opts = {
		.sz = sizeof(opts),
		.mode = MEMSLOT_MODE_AUTO,
		.quiesce = print_quiesce,
		.resume = print_resume,
	};
	struct memslot_region r, found = { .sz = sizeof(found) };
	struct memslot_txn *txn;
	struct memslot_vm *vm;
	struct backend b;
	int quiesced = 0, batch, ret;
	void *ram;

	backend_open(&b);
	opts.quiesce_opaque = &quiesced;
	vm = backend_vm_new(&b, &opts);
	CHECK(memslot_vm_caps(vm, &caps));
	batch = caps.batch_usable;
	/* One mapping big enough for the largest size; the slot covers a prefix. */
	ram = guest_memory(MAX_RAM);

	printf("\nboot: 128 MiB of RAM at gpa 0 as slot 0\n");
	r = region(0, 0, 128 * MiB, ram, 0);
	CHECK(memslot_txn_begin(vm, &txn));
	CHECK(memslot_txn_add(txn, &r, NULL));
	show_canonical(vm, txn);
	commit_or_die(&b, txn);
	show_table(vm, "  table: ");
	check_view(&b, vm);
	EXPECT(quiesced == 0, "a commit that only adds must not quiesce");

	/* The kernel's rule, checked when the change is queued. */
	printf("\nchanging the size of slot 0 in place is refused:\n");
	r = region(0, 0, 256 * MiB, ram, 0);
	CHECK(memslot_txn_begin(vm, &txn));
	ret = memslot_txn_add(txn, &r, NULL);
	printf("  memslot_txn_add(slot 0, 256 MiB) -> %s, as the kernel "
	       "would answer\n", errno_name(ret));
	EXPECT(ret == -EINVAL, "expected -EINVAL");
	memslot_txn_abort(txn);

	resize(&b, vm, ram, 256 * MiB);
	resize(&b, vm, ram, 64 * MiB);

	CHECK(memslot_vm_find(vm, 0, 0, &found));
	EXPECT(found.memory_size == 64 * MiB, "slot 0 should be 64 MiB");
	/* Sequential commits of a resize open a hole: quiesce each time. */
	EXPECT(quiesced == (batch ? 0 : 2), "quiesce called %d times",
	       quiesced);
	printf("\nquiesce() was called %d time%s: %s\n", quiesced,
	       quiesced == 1 ? "" : "s",
	       batch ? "a batch commit never opens a hole" :
		       "once per commit that opens a hole (each resize)");
	printf("memslot ioctls issued: %ld\n", b.ioctls);
	memslot_vm_free(vm);
	backend_close(&b);
	printf("resize: OK\n");
	return 0;
}
