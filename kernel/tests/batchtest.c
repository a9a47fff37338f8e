// SPDX-License-Identifier: GPL-2.0
/*
 * batchtest: drives KVM_SET_USER_MEMORY_REGION_LIST on a kernel carrying
 * kernel/0001-*.patch, with raw ioctls (no library), from inside a QEMU guest.
 *
 * Every check is one "ok"/"not ok" line; the last line is the summary
 *   batch-kernel: <release>: N passed, M failed; holes batch X of Y reads, sequential A of B reads
 * A vCPU reads guest memory to check what the memslot table really is.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/klog.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

/* The ABI under test, defined here so that any kernel header will do. */
struct mlist_entry {
	uint32_t slot, flags;
	uint64_t guest_phys_addr, memory_size, userspace_addr;
	uint8_t invalidate_slot;
	uint8_t padding[31];
};
struct mlist {
	uint32_t nent, flags;
	struct mlist_entry entries[];
};
#define SET_REGION_LIST 0x4008AE49UL
_Static_assert(sizeof(struct mlist_entry) == 64, "entry size");
_Static_assert(sizeof(struct mlist) == 8, "header size");
_Static_assert(_IOW(KVMIO, 0x49, struct mlist) == SET_REGION_LIST, "ioctl nr");

#define KNOB "/sys/module/kvm/parameters/memslot_list_fail_nth"
#define PG 4096UL
#define WIN 0x10000UL /* test slots live in 64 KiB windows 1..15 below 1 MiB */
#define NWIN 16

static int kvm_fd, passed, failed;

static void check(int ok, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("%s %d - ", ok ? "ok" : "not ok", passed + failed + 1);
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	fflush(stdout);
	if (ok)
		passed++;
	else
		failed++;
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

/* ---- a VM with a code slot and a vCPU that reads one byte per run ---- */

struct vm {
	int fd, vcpu;
	struct kvm_run *run;
	uint8_t *code;
};

static int set1(struct vm *v, uint32_t slot, uint32_t flags, uint64_t gpa,
		uint64_t size, void *hva)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot, .flags = flags, .guest_phys_addr = gpa,
		.memory_size = size, .userspace_addr = (uintptr_t)hva,
	};

	return ioctl(v->fd, KVM_SET_USER_MEMORY_REGION, &r) ? -errno : 0;
}

static struct mlist *L;

static void lreset(void)
{
	free(L);
	L = calloc(1, sizeof(*L) + 4096 * sizeof(struct mlist_entry));
}

static struct mlist_entry *ladd(uint32_t slot, uint32_t flags, uint64_t gpa,
				uint64_t size, void *hva, int inv)
{
	struct mlist_entry *e = &L->entries[L->nent++];

	e->slot = slot;
	e->flags = flags;
	e->guest_phys_addr = gpa;
	e->memory_size = size;
	e->userspace_addr = (uintptr_t)hva;
	e->invalidate_slot = inv;
	return e;
}

static int lsend(struct vm *v)
{
	int r = ioctl(v->fd, SET_REGION_LIST, L) ? -errno : 0;

	lreset();
	return r;
}

static void vm_open(struct vm *v)
{
	/* mov al,[bx] ; out 0x10,al ; hlt */
	static const uint8_t prog[] = { 0x8a, 0x07, 0xe6, 0x10, 0xf4 };

	memset(v, 0, sizeof(*v));
	v->fd = ioctl(kvm_fd, KVM_CREATE_VM, 0);
	if (v->fd < 0) {
		perror("KVM_CREATE_VM");
		exit(1);
	}
	v->code = mmap(NULL, WIN, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	memcpy(v->code + 0x1000, prog, sizeof(prog));
	if (set1(v, 0, 0, 0, WIN, v->code)) {
		perror("code slot");
		exit(1);
	}
	v->vcpu = ioctl(v->fd, KVM_CREATE_VCPU, 0);
	v->run = mmap(NULL, ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0),
		      PROT_READ | PROT_WRITE, MAP_SHARED, v->vcpu, 0);
}

static void vm_close(struct vm *v)
{
	munmap(v->code, WIN);
	close(v->vcpu);
	close(v->fd);
}

/* Read the byte at @gpa (< 1 MiB) from the guest: value, or -1 for MMIO. */
static int probe(struct vm *v, uint64_t gpa)
{
	struct kvm_sregs s;
	struct kvm_regs r;
	int mmio = 0, val = -2;

	ioctl(v->vcpu, KVM_GET_SREGS, &s);
	s.cs.base = 0;
	s.cs.selector = 0;
	s.ds.selector = gpa >> 4;
	s.ds.base = (gpa >> 4) << 4;
	ioctl(v->vcpu, KVM_SET_SREGS, &s);
	memset(&r, 0, sizeof(r));
	r.rip = 0x1000;
	r.rbx = gpa & 0xf;
	r.rflags = 2;
	ioctl(v->vcpu, KVM_SET_REGS, &r);
	for (int i = 0; i < 3; i++) {
		if (ioctl(v->vcpu, KVM_RUN, 0)) {
			if (errno == EINTR)
				continue;
			return -3;
		}
		if (v->run->exit_reason == KVM_EXIT_MMIO) {
			mmio = 1;
			memset(v->run->mmio.data, 0xee, 8);
			continue; /* complete the read, then the OUT exits */
		}
		if (v->run->exit_reason == KVM_EXIT_IO) {
			val = *((uint8_t *)v->run + v->run->io.data_offset);
			break;
		}
		return -4;
	}
	return mmio ? -1 : val;
}

/*
 * The expected table, window by window: marker byte of the slot covering the
 * first and the last page of each window, or -1 where nothing is mapped.
 */
struct expect {
	int first[NWIN], last[NWIN];
};

static void snap(struct vm *v, struct expect *e)
{
	for (int w = 1; w < NWIN; w++) {
		e->first[w] = probe(v, w * WIN);
		e->last[w] = probe(v, w * WIN + WIN - PG);
	}
}

static int same(struct vm *v, const struct expect *want)
{
	struct expect got;
	int ok = 1;

	snap(v, &got);
	for (int w = 1; w < NWIN; w++) {
		if (got.first[w] != want->first[w] || got.last[w] != want->last[w]) {
			printf("#   window 0x%lx: got %d/%d want %d/%d\n", w * WIN,
			       got.first[w], got.last[w], want->first[w], want->last[w]);
			ok = 0;
		}
	}
	return ok;
}

static uint8_t *buf(size_t size, int marker)
{
	uint8_t *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
			  MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	memset(p, marker, size);
	return p;
}

static void knob(int n)
{
	FILE *f = fopen(KNOB, "w");

	if (f) {
		fprintf(f, "%d\n", n);
		fclose(f);
	}
}

/* ---------------------------------------------------------------------- */

static void test_header(void)
{
	struct vm v;
	struct expect e0;
	uint8_t *a = buf(WIN, 0xa1);
	int r;

	vm_open(&v);
	lreset();
	r = lsend(&v);
	check(r == 0, "nent = 0 returns 0 (support probe) [%d]", r);

	L->flags = 1;
	ladd(1, 0, WIN, WIN, a, 0);
	r = lsend(&v);
	check(r == -EINVAL, "list flags != 0 -> EINVAL [%d]", r);

	L->nent = 2 * 32764 * 2 + 1; /* above the documented bound */
	r = lsend(&v);
	check(r == -E2BIG, "nent above 2*KVM_USER_MEM_SLOTS*KVM_ADDRESS_SPACE_NUM -> E2BIG [%d]", r);

	snap(&v, &e0);
	ladd(1, 0, WIN, WIN, a, 0)->padding[30] = 1;
	r = lsend(&v);
	check(r == -EINVAL && same(&v, &e0), "non-zero padding -> EINVAL, table unchanged [%d]", r);

	ladd(1, 0, WIN, WIN, a, 2);
	r = lsend(&v);
	check(r == -EINVAL && same(&v, &e0), "invalidate_slot = 2 -> EINVAL, table unchanged [%d]", r);

	{
		/* header readable, entries beyond the end of the mapping */
		uint8_t *two = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE,
				    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		struct mlist *h = (struct mlist *)(two + PG - 8);

		munmap(two + PG, PG);
		h->nent = 1;
		h->flags = 0;
		r = ioctl(v.fd, SET_REGION_LIST, h) ? -errno : 0;
		check(r == -EFAULT && same(&v, &e0), "unreadable entries -> EFAULT [%d]", r);
		munmap(two, PG);
	}
	vm_close(&v);
	munmap(a, WIN);
}

static void test_works(void)
{
	struct vm v;
	struct expect e;
	uint8_t *a = buf(WIN, 0xa1), *b = buf(WIN, 0xb2), *c = buf(WIN, 0xc3);
	int r;

	vm_open(&v);
	snap(&v, &e);
	check(e.first[1] == -1 && e.first[2] == -1, "empty VM reads MMIO");

	ladd(1, 0, 1 * WIN, WIN, a, 0);
	ladd(2, 0, 2 * WIN, WIN, b, 0);
	ladd(3, 0, 3 * WIN, WIN, c, 0);
	r = lsend(&v);
	e.first[1] = e.last[1] = 0xa1;
	e.first[2] = e.last[2] = 0xb2;
	e.first[3] = e.last[3] = 0xc3;
	check(r == 0 && same(&v, &e), "batch of 3 creates; vCPU reads all three [%d]", r);

	/* resize slot 2 to half its size */
	ladd(2, 0, 2 * WIN, 0, b, 1);
	ladd(2, 0, 2 * WIN, WIN / 2, b, 0);
	r = lsend(&v);
	e.last[2] = -1;
	check(r == 0 && same(&v, &e), "resize (DELETE+CREATE same id, half size): data inside, MMIO beyond [%d]", r);
	r = set1(&v, 2, 0, 2 * WIN, 0, b);
	e.first[2] = -1;
	check(r == 0 && same(&v, &e), "resized slot deletes normally with the single ioctl [%d]", r);

	/* move slot 3 from window 3 to 4 */
	ladd(3, 0, 4 * WIN, WIN, c, 1);
	r = lsend(&v);
	e.first[3] = e.last[3] = -1;
	e.first[4] = e.last[4] = 0xc3;
	check(r == 0 && same(&v, &e), "MOVE with invalidate_slot = 1 [%d]", r);

	/* swap the places of slots 1 and 3 (each moves into the other's old range) */
	ladd(3, 0, 1 * WIN, WIN, c, 1);
	ladd(1, 0, 4 * WIN, WIN, a, 1);
	r = lsend(&v);
	check(r == -EEXIST && same(&v, &e), "MOVE into a range still used by a later-moved slot -> EEXIST [%d]", r);
	ladd(1, 0, 5 * WIN, WIN, a, 1);
	ladd(3, 0, 1 * WIN, WIN, c, 1);
	r = lsend(&v);
	e.first[1] = e.last[1] = 0xc3;
	e.first[4] = e.last[4] = -1;
	e.first[5] = e.last[5] = 0xa1;
	check(r == 0 && same(&v, &e), "two MOVEs, the second into the first one's old range [%d]", r);

	/* split slot 1 (window 5) into two, merge later */
	ladd(1, 0, 5 * WIN, 0, a, 1);
	ladd(1, 0, 5 * WIN, WIN / 2, a, 0);
	ladd(6, 0, 5 * WIN + WIN / 2, WIN / 2, a + WIN / 2, 0);
	r = lsend(&v);
	check(r == 0 && same(&v, &e), "split one slot into two (DELETE, CREATE, CREATE) [%d]", r);
	ladd(1, 0, 5 * WIN, 0, a, 1);
	ladd(6, 0, 5 * WIN + WIN / 2, 0, a + WIN / 2, 1);
	ladd(6, 0, 5 * WIN, WIN, a, 0);
	r = lsend(&v);
	check(r == 0 && same(&v, &e), "merge two slots into one (DELETE, DELETE, CREATE) [%d]", r);

	/* dirty logging on and off (FLAGS_ONLY) */
	ladd(6, KVM_MEM_LOG_DIRTY_PAGES, 5 * WIN, WIN, a, 0);
	r = lsend(&v);
	check(r == 0 && same(&v, &e), "FLAGS_ONLY (dirty logging on) [%d]", r);
	ladd(6, 0, 5 * WIN, WIN, a, 0);
	ladd(6, KVM_MEM_LOG_DIRTY_PAGES, 5 * WIN, WIN, a, 0);
	ladd(6, 0, 5 * WIN, WIN, a, 0);
	r = lsend(&v);
	check(r == 0 && same(&v, &e), "three FLAGS_ONLY entries on one slot [%d]", r);
	ladd(6, 0, 5 * WIN, 0, a, 1);
	ladd(6, KVM_MEM_READONLY, 5 * WIN, WIN, a, 0);
	r = lsend(&v);
	check(r == 0 && same(&v, &e), "READONLY toggle as DELETE+CREATE [%d]", r);

	/* address space 1 (SMM) next to address space 0 in one list */
	ladd(1u << 16 | 7, 0, 7 * WIN, WIN, b, 0);
	ladd(7, 0, 7 * WIN, WIN, b, 0);
	r = lsend(&v);
	e.first[7] = e.last[7] = 0xb2;
	check(r == 0 && same(&v, &e), "creates in address spaces 0 and 1 in one list [%d]", r);
	ladd(1u << 16 | 8, 0, 7 * WIN, WIN, c, 0);
	r = lsend(&v);
	check(r == -EEXIST, "the address space 1 slot exists (overlap there -> EEXIST) [%d]", r);
	ladd(1u << 16 | 7, 0, 7 * WIN, 0, b, 1);
	ladd(7, 0, 7 * WIN, 0, b, 1);
	r = lsend(&v);
	e.first[7] = e.last[7] = -1;
	check(r == 0 && same(&v, &e), "deletes in address spaces 0 and 1 in one list [%d]", r);
	vm_close(&v);
	munmap(a, WIN);
	munmap(b, WIN);
	munmap(c, WIN);
}

/* The "Fails" table of rfc-kernel-measured.md, and the single ioctl's errnos. */
static void test_fails(void)
{
	struct vm v;
	struct expect e;
	uint8_t *a = buf(WIN, 0xa1), *b = buf(WIN, 0xb2), *c = buf(WIN, 0xc3);
	int r;

	vm_open(&v);
	set1(&v, 1, 0, 1 * WIN, WIN, a);
	set1(&v, 2, 0, 2 * WIN, WIN, b);
	snap(&v, &e);

	ladd(5, 0, 5 * WIN, WIN, c, 0);
	ladd(5, 0, 5 * WIN, 0, c, 1);
	r = lsend(&v);
	check(r == -EINVAL && same(&v, &e), "fails row 1: CREATE(x) then DELETE(x) -> EINVAL, table unchanged [%d]", r);

	ladd(5, 0, 5 * WIN, WIN, c, 0);
	ladd(6, 0, 6 * WIN, WIN, c, 0);
	ladd(7, 0, 5 * WIN + WIN / 2, WIN / 2, c, 0);
	r = lsend(&v);
	check(r == -EEXIST && same(&v, &e), "fails row 2: overlapping create after two good creates -> EEXIST, table unchanged [%d]", r);
	r = set1(&v, 9, 0, 9 * WIN, WIN, c);
	e.first[9] = e.last[9] = 0xc3;
	check(r == 0 && same(&v, &e), "fails row 2: next single update shows no ghost of the failed list [%d]", r);
	r = set1(&v, 5, 0, 5 * WIN, WIN, c);
	e.first[5] = e.last[5] = 0xc3;
	check(r == 0 && same(&v, &e), "fails row 2: the failed list's range can be created (no ghost EEXIST) [%d]", r);
	r = set1(&v, 6, 0, 6 * WIN, 0, c);
	check(r == -EINVAL, "fails row 2: the failed list's slot 6 does not exist [%d]", r);
	set1(&v, 5, 0, 5 * WIN, 0, c);
	set1(&v, 9, 0, 9 * WIN, 0, c);
	e.first[5] = e.last[5] = e.first[9] = e.last[9] = -1;

	ladd(2, 0, 2 * WIN, 0, b, 0);
	ladd(2, 0, 2 * WIN, WIN / 2, b, 0);
	r = lsend(&v);
	check(r == -EINVAL && same(&v, &e), "fails row 3: DELETE without invalidate_slot (+CREATE same id) -> EINVAL [%d]", r);

	ladd(5, 0, 5 * WIN, WIN, c, 0);
	ladd(32764, 0, 6 * WIN, WIN, c, 0);
	r = lsend(&v);
	check(r == -EINVAL && same(&v, &e), "fails row 4: slot id >= KVM_USER_MEM_SLOTS -> EINVAL [%d]", r);
	alarm(20);
	r = set1(&v, 5, 0, 5 * WIN, WIN, c);
	alarm(0);
	e.first[5] = e.last[5] = 0xc3;
	check(r == 0 && same(&v, &e), "fails row 4: slots_lock not held afterwards (single ioctl works) [%d]", r);
	set1(&v, 5, 0, 5 * WIN, 0, c);
	e.first[5] = e.last[5] = -1;
	ladd(0xffff, 0, 6 * WIN, WIN, c, 0);
	r = lsend(&v);
	check(r == -EINVAL && same(&v, &e), "slot id 0xffff -> EINVAL [%d]", r);

	ladd(1, 0, 1 * WIN, WIN, a, 0);
	r = lsend(&v);
	check(r == -EINVAL && same(&v, &e), "fails row 5: entry identical to an existing slot (no-op) -> EINVAL [%d]", r);
	ladd(5, 0, 5 * WIN, WIN, c, 0);
	ladd(1, 0, 1 * WIN, WIN, a, 0);
	r = lsend(&v);
	check(r == -EINVAL && same(&v, &e), "no-op entry after a good create -> EINVAL, create not applied [%d]", r);

	/* the single ioctl's rules, inside a list, after a good entry */
	struct {
		const char *what;
		uint32_t slot, flags;
		uint64_t gpa, size;
		uint8_t *hva;
		int inv, want;
	} rows[] = {
		{ "unknown flag", 5, 4, 5 * WIN, WIN, c, 0, -EINVAL },
		{ "size not page aligned", 5, 0, 5 * WIN, WIN - 1, c, 0, -EINVAL },
		{ "gpa not page aligned", 5, 0, 5 * WIN + 1, WIN, c, 0, -EINVAL },
		{ "hva not page aligned", 5, 0, 5 * WIN, WIN, c + 1, 0, -EINVAL },
		{ "hva in the kernel half", 5, 0, 5 * WIN, WIN, (uint8_t *)0xffff800000000000ull, 0, -EINVAL },
		{ "address space 2", 2u << 16 | 5, 0, 5 * WIN, WIN, c, 0, -EINVAL },
		{ "gpa + size wraps", 5, 0, 0xfffffffffffff000ull, 2 * PG, c, 0, -EINVAL },
		{ "delete of a missing slot", 5, 0, 5 * WIN, 0, c, 1, -EINVAL },
		{ "create overlapping slot 1", 5, 0, 1 * WIN + PG, PG, c, 0, -EEXIST },
		{ "resize without delete", 1, 0, 1 * WIN, WIN / 2, a, 0, -EINVAL },
		{ "hva change", 1, 0, 1 * WIN, WIN, c, 0, -EINVAL },
		{ "READONLY toggle in place", 1, KVM_MEM_READONLY, 1 * WIN, WIN, a, 0, -EINVAL },
		{ "create with invalidate_slot = 1", 5, 0, 5 * WIN, WIN, c, 1, -EINVAL },
		{ "MOVE without invalidate_slot", 1, 0, 5 * WIN, WIN, a, 0, -EINVAL },
		{ "FLAGS_ONLY with invalidate_slot = 1", 1, KVM_MEM_LOG_DIRTY_PAGES, 1 * WIN, WIN, a, 1, -EINVAL },
		{ "MOVE onto slot 2", 1, 0, 2 * WIN, WIN, a, 1, -EEXIST },
	};
	for (unsigned i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		ladd(8, 0, 8 * WIN, WIN, b, 0); /* a good entry first */
		ladd(rows[i].slot, rows[i].flags, rows[i].gpa, rows[i].size,
		     rows[i].hva, rows[i].inv);
		r = lsend(&v);
		check(r == rows[i].want && same(&v, &e), "%s -> %s, table unchanged [%d]",
		      rows[i].what, rows[i].want == -EEXIST ? "EEXIST" : "EINVAL", r);
	}

	/* ordering rules of the list */
	ladd(5, 0, 5 * WIN, WIN, c, 0);
	ladd(5, 0, 6 * WIN, WIN, c, 1);
	r = lsend(&v);
	check(r == -EINVAL && same(&v, &e), "CREATE(x) then MOVE(x) -> EINVAL [%d]", r);
	ladd(1, 0, 5 * WIN, WIN, a, 1);
	ladd(1, 0, 6 * WIN, WIN, a, 1);
	r = lsend(&v);
	check(r == -EINVAL && same(&v, &e), "MOVE(x) then MOVE(x) -> EINVAL [%d]", r);
	ladd(1, 0, 1 * WIN, 0, a, 1);
	ladd(1, 0, 1 * WIN, WIN, a, 0);
	ladd(1, 0, 1 * WIN, 0, a, 1);
	r = lsend(&v);
	check(r == -EINVAL && same(&v, &e), "DELETE, CREATE, DELETE of one id -> EINVAL [%d]", r);
	ladd(1, KVM_MEM_LOG_DIRTY_PAGES, 1 * WIN, WIN, a, 0);
	ladd(1, 0, 1 * WIN, 0, a, 1);
	r = lsend(&v);
	check(r == -EINVAL && same(&v, &e), "FLAGS_ONLY then DELETE of one id -> EINVAL [%d]", r);
	ladd(1, 0, 1 * WIN, 0, a, 1);
	ladd(5, 0, 1 * WIN, WIN, c, 0);
	r = lsend(&v);
	e.first[1] = e.last[1] = 0xc3;
	check(r == 0 && same(&v, &e), "DELETE(x) then CREATE(y) in x's range [%d]", r);
	vm_close(&v);
	munmap(a, WIN);
	munmap(b, WIN);
	munmap(c, WIN);
}

/* Failures after every check has passed: nothing may be visible. */
static void test_late(void)
{
	struct vm v;
	struct expect e;
	uint8_t *a = buf(WIN, 0xa1), *b = buf(WIN, 0xb2), *c = buf(WIN, 0xc3), *d = buf(WIN, 0xd4);
	int r, k, fired = 0, clean = 1, done = 0;

	vm_open(&v);
	set1(&v, 1, 0, 1 * WIN, WIN, a);
	set1(&v, 2, 0, 2 * WIN, WIN, b);
	set1(&v, 3, KVM_MEM_LOG_DIRTY_PAGES, 3 * WIN, WIN, c);
	snap(&v, &e);

	/* beyond the host's physical address width: refused by the arch prepare hook */
	ladd(1, 0, 1 * WIN, 0, a, 1);
	ladd(1, 0, 1 * WIN, WIN / 2, a, 0);
	ladd(4, 0, 1ull << 52, WIN, d, 0);
	r = lsend(&v);
	check(r == -EINVAL && same(&v, &e), "late failure (slot beyond MAXPHYADDR) after DELETE+CREATE: EINVAL, nothing visible [%d]", r);
	r = set1(&v, 1, 0, 1 * WIN, WIN, a);
	check(r == 0, "late failure: slot 1 is exactly as before (identical single request is a no-op) [%d]", r);
	r = set1(&v, 4, 0, 4 * WIN, WIN, d);
	e.first[4] = e.last[4] = 0xd4;
	check(r == 0 && same(&v, &e), "late failure: no ghost slot 4 [%d]", r);
	set1(&v, 4, 0, 4 * WIN, 0, d);
	e.first[4] = e.last[4] = -1;

	if (access(KNOB, W_OK)) {
		check(0, "fault-injection knob %s exists", KNOB);
		goto out;
	}
	/* every allocation step of a mixed list, failed in turn */
	for (k = 1; k < 64 && !done; k++) {
		ladd(1, 0, 1 * WIN, 0, a, 1);                        /* replace */
		ladd(1, 0, 1 * WIN, WIN / 2, a, 0);
		ladd(2, 0, 5 * WIN, WIN, b, 1);                      /* move */
		ladd(3, 0, 3 * WIN, WIN, c, 0);                      /* flags */
		ladd(4, KVM_MEM_LOG_DIRTY_PAGES, 4 * WIN, WIN, d, 0); /* create */
		ladd(1u << 16 | 4, 0, 4 * WIN, WIN, d, 0);           /* create, AS 1 */
		knob(k);
		r = lsend(&v);
		if (r == 0) {
			done = 1;
			break;
		}
		fired++;
		if (r != -ENOMEM || !same(&v, &e)) {
			printf("#   fail_nth=%d: %d\n", k, r);
			clean = 0;
		}
	}
	knob(0);
	check(fired >= 8 && clean, "fault injection: each of %d allocation steps fails with ENOMEM and leaves the table unchanged", fired);
	e.first[1] = 0xa1;
	e.last[1] = -1;
	e.first[2] = e.last[2] = -1;
	e.first[5] = e.last[5] = 0xb2;
	e.first[4] = e.last[4] = 0xd4;
	check(done && same(&v, &e), "fault injection: the same list then succeeds [k=%d]", k);
out:
	vm_close(&v);
	munmap(a, WIN);
	munmap(b, WIN);
	munmap(c, WIN);
	munmap(d, WIN);
}

/* ---- holes: a vCPU thread reads a slot while the main thread resizes it ---- */

static volatile int hstop;
static volatile long hios, hmmios;

static void *hole_vcpu(void *arg)
{
	struct vm *v = arg;

	while (!hstop) {
		if (ioctl(v->vcpu, KVM_RUN, 0)) {
			if (errno == EINTR)
				continue;
			perror("KVM_RUN");
			break;
		}
		if (v->run->exit_reason == KVM_EXIT_IO)
			hios++;
		else if (v->run->exit_reason == KVM_EXIT_MMIO) {
			hmmios++;
			memset(v->run->mmio.data, 0xff, 8);
		} else {
			printf("#   unexpected exit %d\n", v->run->exit_reason);
			break;
		}
	}
	return NULL;
}

static void hole_run(int batch, long *reads, long *holes, int *errs)
{
	/* mov ax,0x1000 ; mov ds,ax ; mov al,[0] ; out 0x10,al ; jmp $-7 */
	static const uint8_t prog[] = { 0xb8, 0x00, 0x10, 0x8e, 0xd8, 0xa0, 0x00,
					0x00, 0xe6, 0x10, 0xeb, 0xf9 };
	uint8_t *d = buf(WIN, 42);
	struct kvm_sregs s;
	struct kvm_regs r;
	struct vm v;
	pthread_t t;
	long io0;

	vm_open(&v);
	memcpy(v.code + 0x1000, prog, sizeof(prog));
	set1(&v, 1, 0, WIN, WIN, d);
	ioctl(v.vcpu, KVM_GET_SREGS, &s);
	s.cs.base = 0;
	s.cs.selector = 0;
	ioctl(v.vcpu, KVM_SET_SREGS, &s);
	memset(&r, 0, sizeof(r));
	r.rip = 0x1000;
	r.rflags = 2;
	ioctl(v.vcpu, KVM_SET_REGS, &r);
	hstop = 0;
	hios = hmmios = 0;
	*errs = 0;
	pthread_create(&t, NULL, hole_vcpu, &v);
	while (hios < 100)
		;
	io0 = hios;
	for (int i = 0; i < 1000; i++) {
		uint64_t size = (i & 1) ? WIN : WIN / 2;

		if (batch) {
			ladd(1, 0, WIN, 0, d, 1);
			ladd(1, 0, WIN, size, d, 0);
			if (lsend(&v))
				(*errs)++;
		} else {
			if (set1(&v, 1, 0, WIN, 0, d) || set1(&v, 1, 0, WIN, size, d))
				(*errs)++;
		}
	}
	*reads = hios - io0;
	*holes = hmmios;
	hstop = 1;
	pthread_kill(t, SIGUSR1);
	pthread_join(t, NULL);
	vm_close(&v);
	munmap(d, WIN);
}

static void noop(int sig)
{
	(void)sig;
}

/* ---- timing: 1,000 one-page creates and deletes, list vs single ---- */

static void timing(void)
{
	enum { N = 1000 };
	uint8_t *m = buf(N * PG, 1);
	double t, cs, cb, ds, db;
	struct vm v;
	int r = 0;

	vm_open(&v);
	t = now();
	for (int i = 0; i < N; i++)
		r |= set1(&v, 100 + i, 0, (1ull << 32) + i * PG, PG, m + i * PG);
	cs = now() - t;
	t = now();
	for (int i = 0; i < N; i++)
		r |= set1(&v, 100 + i, 0, (1ull << 32) + i * PG, 0, m + i * PG);
	ds = now() - t;
	for (int i = 0; i < N; i++)
		ladd(100 + i, 0, (1ull << 32) + i * PG, PG, m + i * PG, 0);
	t = now();
	r |= lsend(&v);
	cb = now() - t;
	for (int i = 0; i < N; i++)
		ladd(100 + i, 0, (1ull << 32) + i * PG, 0, m + i * PG, 1);
	t = now();
	r |= lsend(&v);
	db = now() - t;
	check(r == 0, "timing runs succeeded");
	printf("timing: 1000 creates: single %.1f ms, batch %.1f ms (%.1fx); "
	       "1000 deletes: single %.1f ms, batch %.1f ms (%.1fx)\n",
	       cs * 1e3, cb * 1e3, cs / cb, ds * 1e3, db * 1e3, ds / db);
	vm_close(&v);
	munmap(m, N * PG);
}

static void test_dmesg(void)
{
	static char log[1 << 20];
	int n = klogctl(3, log, sizeof(log) - 1), bad = 0;
	const char *pat[] = { "WARNING:", "BUG:", "kernel BUG", "Oops", "DEBUG_LOCKS_WARN_ON",
			      "possible recursive locking", "circular locking", "inconsistent lock state",
			      "lock held when returning", "INFO: task", "suspicious RCU usage",
			      "list_add corruption", "list_del corruption" };

	if (n < 0) {
		check(0, "dmesg readable");
		return;
	}
	log[n] = 0;
	for (unsigned i = 0; i < sizeof(pat) / sizeof(pat[0]); i++)
		if (strstr(log, pat[i])) {
			printf("#   dmesg contains \"%s\"\n", pat[i]);
			bad = 1;
		}
	if (bad)
		printf("%s\n", log);
	check(!bad, "dmesg has no WARNING:, BUG:, lockdep report or Oops");
}

int main(void)
{
	long hb_reads, hb_holes, hs_reads, hs_holes;
	int hb_errs, hs_errs;
	struct utsname u;

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGUSR1, noop);
	kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm_fd < 0) {
		perror("/dev/kvm");
		return 1;
	}
	uname(&u);
	/* results of programs that ran before this one (e.g. KVM's selftests) */
	if (getenv("BATCHTEST_EXTRA")) {
		FILE *f = fopen(getenv("BATCHTEST_EXTRA"), "r");
		char line[256];

		while (f && fgets(line, sizeof(line), f)) {
			line[strcspn(line, "\n")] = 0;
			if (!strncmp(line, "PASS ", 5))
				check(1, "%s", line + 5);
			else if (!strncmp(line, "FAIL ", 5))
				check(0, "%s", line + 5);
		}
		if (f)
			fclose(f);
	}
	check(access("/proc/lockdep", R_OK) == 0, "lockdep is active in this kernel (/proc/lockdep)");
	test_header();
	test_works();
	test_fails();
	test_late();

	hole_run(1, &hb_reads, &hb_holes, &hb_errs);
	check(hb_errs == 0 && hb_holes == 0 && hb_reads > 0,
	      "holes: 1000 resizes through one list each: %ld holes in %ld reads (%d errors)",
	      hb_holes, hb_reads, hb_errs);
	hole_run(0, &hs_reads, &hs_holes, &hs_errs);
	check(hs_errs == 0 && hs_reads > 0,
	      "holes: 1000 resizes through two single ioctls each: %ld holes in %ld reads (%d errors)",
	      hs_holes, hs_reads, hs_errs);
	printf("# sequential resizes %s holes (expected on any kernel)\n",
	       hs_holes ? "showed" : "did not show");
	timing();
	test_dmesg();

	printf("batch-kernel: %s: %d passed, %d failed; holes batch %ld of %ld reads, sequential %ld of %ld reads\n",
	       u.release, passed, failed, hb_holes, hb_reads, hs_holes, hs_reads);
	return failed ? 1 : 0;
}
