/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Every validation rule against the real kernel.
 *
 * For each rule of kernel-rules.md section 2 that the library predicts: a
 * fresh VM gets the rule's setup slots (committed through the library, so
 * the view is the kernel's table), then the rule's request goes to
 * memslot_txn_add() (the library's verdict, then aborted) and to the raw
 * ioctl (REGION2 when the library uses it, else REGION) on the same VM.
 * The two must agree, errno included, and the kernel must give the errno
 * the rule documents (unless the table marks the rule as host-dependent).
 *
 * Rules that need what this kernel lacks are skipped and counted as
 * skipped: those about address space 1 when the kernel has one address
 * space (KVM_CAP_MULTI_ADDRESS_SPACE below 2, no SMM), the one about
 * GUEST_MEMFD on a VM without private memory when the default VM has
 * guest_memfd (6.18+).  Kernels with a single address space get their own
 * rule instead (as 1 is out of range).
 *
 * Uses only the public API, <linux/kvm.h> and lib/kvm-compat.h.
 */
#include <errno.h>
#include <libmemslot/libmemslot.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "kvm-compat.h"
#include "rk.h"

#define PG 4096ull
#define ANY 1                 /* expectation: whatever the kernel says */
#define NR(k) (0x40000000 + (k))  /* id relative to KVM_CAP_NR_MEMSLOTS */
#define ARENA_PAGES 64

/* Kernels a rule applies to (bits of struct rule.need; 0: all). */
enum {
	V_ALL = 0,
	V_V2 = 1,          /* with REGION2 */
	V_V1 = 2,          /* without REGION2 */
	AS2 = 4,           /* with address space 1 (SMM) */
	AS1 = 8,           /* with one address space */
	NOGM = 16,         /* default VM without guest_memfd */
};

struct hv {
	int abs;
	uint64_t v;               /* arena + v, or v */
};
#define A(off) { 0, (off) }
#define ABS(v) { 1, (v) }

struct rq {
	uint16_t as;
	int32_t id;
	uint32_t flags;
	uint64_t gpa, size;
	struct hv hva;
};

struct rule {
	const char *name;
	int setup;
	struct rq r;
	int expect;
	int need;
};

#define LD MEMSLOT_LOG_DIRTY_PAGES
#define RO MEMSLOT_READONLY
#define GM MEMSLOT_GUEST_MEMFD
#define G0 0x100000ull

/* Setup 1: a few slots in both address spaces (as 0 only without SMM). */
static const struct rq setup1[] = {
	{ 0, 1, 0, G0, 16 * PG, A(0) },
	{ 0, 2, RO, 0x200000, 8 * PG, A(16 * PG) },
	{ 0, 3, LD, 0x300000, 4 * PG, A(24 * PG) },
	{ 1, 1, 0, G0, 4 * PG, A(32 * PG) },
	{ 0, 4, 0, 0x400000, 4 * PG, A(40 * PG) },
};

static const struct rule rules[] = {
	/* A2, B: the ioctl entry */
	{ "create, plain", 0, { 0, 0, 0, G0, 4 * PG, A(0) }, 0, V_ALL },
	{ "create, highest id", 0, { 0, NR(-1), 0, G0, 4 * PG, A(0) }, 0, V_ALL },
	{ "B: id = KVM_CAP_NR_MEMSLOTS", 0, { 0, NR(0), 0, G0, 4 * PG, A(0) }, -EINVAL, V_ALL },
	{ "B: id = KVM_CAP_NR_MEMSLOTS + 1", 0, { 0, NR(1), 0, G0, 4 * PG, A(0) }, -EINVAL, V_ALL },
	{ "B: id 32767", 0, { 0, 32767, 0, G0, 4 * PG, A(0) }, -EINVAL, V_ALL },
	{ "B before D7: as 1, id = NR", 0, { 1, NR(0), 0, G0, 4 * PG, A(0) }, -EINVAL, V_ALL },
	{ "A2/D1: GUEST_MEMFD without private memory", 0, { 0, 0, GM, G0, 4 * PG, A(0) }, -EINVAL, NOGM },
	{ "A2/D1: GUEST_MEMFD delete of nothing", 0, { 0, 0, GM, G0, 0, A(0) }, -EINVAL, V_ALL },
	{ "D1: flag bit 3", 0, { 0, 0, 0x8, G0, 4 * PG, A(0) }, -EINVAL, V_ALL },
	{ "D1: flag bit 16 (KVM_MEMSLOT_INVALID)", 0, { 0, 0, 1u << 16, G0, 4 * PG, A(0) }, -EINVAL, V_ALL },
	{ "D1: flag bit 31", 0, { 0, 0, 1u << 31, G0, 4 * PG, A(0) }, -EINVAL, V_ALL },
	{ "D1: READONLY", 0, { 0, 0, RO, G0, 4 * PG, A(0) }, 0, V_ALL },
	{ "D1: LOG_DIRTY", 0, { 0, 0, LD, G0, 4 * PG, A(0) }, 0, V_ALL },
	{ "D1: LOG_DIRTY|READONLY", 0, { 0, 0, LD | RO, G0, 4 * PG, A(0) }, 0, V_ALL },
	{ "D1: GUEST_MEMFD|READONLY", 0, { 0, 0, GM | RO, G0, 4 * PG, A(0) }, -EINVAL, V_ALL },
	/* D3-D9: sanity */
	{ "D3: size 1", 0, { 0, 0, 0, G0, 1, A(0) }, -EINVAL, V_ALL },
	{ "D3: size page + 1", 0, { 0, 0, 0, G0, PG + 1, A(0) }, -EINVAL, V_ALL },
	{ "D3: size half page", 0, { 0, 0, 0, G0, PG / 2, A(0) }, -EINVAL, V_ALL },
	{ "D4: gpa + 1", 0, { 0, 0, 0, G0 + 1, 4 * PG, A(0) }, -EINVAL, V_ALL },
	{ "D4: gpa + 0x800", 0, { 0, 0, 0, G0 + 0x800, 4 * PG, A(0) }, -EINVAL, V_ALL },
	{ "D3 before D4", 0, { 0, 0, 0, G0 + 1, PG + 1, A(0) }, -EINVAL, V_ALL },
	{ "D5: hva + 1", 0, { 0, 0, 0, G0, 4 * PG, A(1) }, -EINVAL, V_ALL },
	{ "D5: hva + 0x800", 0, { 0, 0, 0, G0, 4 * PG, A(0x800) }, -EINVAL, V_ALL },
	{ "D5: hva 0", 0, { 0, 0, 0, G0, 4 * PG, ABS(0) }, 0, V_ALL },
	{ "D5: hva wraps", 0, { 0, 0, 0, G0, 2 * PG, ABS(0xfffffffffffff000ull) }, -EINVAL, V_ALL },
	{ "D5: hva kernel half", 0, { 0, 0, 0, G0, PG, ABS(0xffff800000000000ull) }, -EINVAL, V_ALL },
	{ "D5: hva non-canonical", 0, { 0, 0, 0, G0, PG, ABS(0x8000000000000000ull) }, -EINVAL, V_ALL },
	{ "D5: hva tagged (bit 57)", 0, { 0, 0, 0, G0, PG, ABS((1ull << 57) | 0x10000000ull) }, -EINVAL, V_ALL },
	{ "D5: end at 2^47 - page", 0, { 0, 0, 0, G0, PG, ABS((1ull << 47) - 2 * PG) }, 0, V_ALL },
	{ "D5: end at 2^47", 0, { 0, 0, 0, G0, PG, ABS((1ull << 47) - PG) }, ANY, V_ALL },
	{ "D5: end past 2^47", 0, { 0, 0, 0, G0, 2 * PG, ABS((1ull << 47) - PG) }, ANY, V_ALL },
	{ "D5: hva at 2^48", 0, { 0, 0, 0, G0, PG, ABS(1ull << 48) }, ANY, V_ALL },
	{ "D5: end at 2^56 - page", 0, { 0, 0, 0, G0, PG, ABS((1ull << 56) - 2 * PG) }, ANY, V_ALL },
	{ "D5: end at 2^56", 0, { 0, 0, 0, G0, PG, ABS((1ull << 56) - PG) }, -EINVAL, V_ALL },
	{ "D5: delete with hva past the user range", 1, { 0, 1, 0, G0, 0, ABS(0x8000000000000000ull) }, -EINVAL, V_ALL },
	{ "D5: delete with unaligned hva", 1, { 0, 1, 0, G0, 0, A(8) }, -EINVAL, V_ALL },
	{ "D7: as 1", 0, { 1, 0, 0, G0, 4 * PG, A(0) }, 0, AS2 },
	{ "D7: as 1 without SMM", 0, { 1, 0, 0, G0, 4 * PG, A(0) }, -EINVAL, AS1 },
	{ "D7: as 1 delete without SMM", 1, { 1, 1, 0, G0, 0, A(0) }, -EINVAL, AS1 },
	{ "D7: as 2", 0, { 2, 0, 0, G0, 4 * PG, A(0) }, -EINVAL, V_ALL },
	{ "D7: as 0x7fff", 0, { 0x7fff, 0, 0, G0, 4 * PG, A(0) }, -EINVAL, V_ALL },
	{ "D7: as 2 delete", 0, { 2, 0, 0, G0, 0, A(0) }, -EINVAL, V_ALL },
	{ "D5 before D7", 0, { 2, 0, 0, G0, 4 * PG, A(4) }, -EINVAL, V_ALL },
	{ "D8: gpa + size wraps", 0, { 0, 0, 0, 0xfffffffffffff000ull, 2 * PG, A(0) }, -EINVAL, V_ALL },
	{ "D8: end exactly 2^64", 0, { 0, 0, 0, 0xfffffffffffff000ull, PG, A(0) }, -EINVAL, V_ALL },
	{ "D9: 2^31 pages", 0, { 0, 0, 0, 0, (1ull << 31) * PG, ABS(1ull << 40) }, -EINVAL, V_ALL },
	{ "D9: 2^32 pages", 0, { 0, 0, 0, 0, (1ull << 32) * PG, ABS(1ull << 40) }, -EINVAL, V_ALL },
	{ "D9 passes, F: 2^31-1 pages over a slot", 1, { 0, 9, 0, 0, ((1ull << 31) - 1) * PG, ABS(1ull << 40) }, -EEXIST, V_ALL },
	/* E: classification */
	{ "E1: delete of a free id", 0, { 0, 5, 0, G0, 0, A(0) }, -EINVAL, V_ALL },
	{ "E1: delete of a free id in as 1", 1, { 1, 2, 0, G0, 0, A(0) }, -EINVAL, AS2 },
	{ "E1: delete, id used only in the other as", 1, { 1, 2, 0, 0x200000, 0, A(16 * PG) }, -EINVAL, AS2 },
	{ "delete with the slot's fields", 1, { 0, 1, 0, G0, 0, A(0) }, 0, V_ALL },
	{ "delete with other gpa, hva, flags", 1, { 0, 1, LD | RO, 0x7000000, 0, A(48 * PG) }, 0, V_ALL },
	{ "D1 on delete: bit 3", 1, { 0, 1, 0x8, G0, 0, A(0) }, -EINVAL, V_ALL },
	{ "D4 on delete: gpa + 1", 1, { 0, 1, 0, G0 + 1, 0, A(0) }, -EINVAL, V_ALL },
	{ "delete in as 1", 1, { 1, 1, 0, G0, 0, A(32 * PG) }, 0, AS2 },
	{ "E4: GUEST_MEMFD on an existing slot", 1, { 0, 1, GM, G0, 16 * PG, A(0) }, -EINVAL, V_ALL },
	{ "E6: resize bigger", 1, { 0, 1, 0, G0, 17 * PG, A(0) }, -EINVAL, V_ALL },
	{ "E6: resize smaller", 1, { 0, 1, 0, G0, 15 * PG, A(0) }, -EINVAL, V_ALL },
	{ "E6: other hva", 1, { 0, 1, 0, G0, 16 * PG, A(PG) }, -EINVAL, V_ALL },
	{ "E6: READONLY set", 1, { 0, 1, RO, G0, 16 * PG, A(0) }, -EINVAL, V_ALL },
	{ "E6: READONLY cleared", 1, { 0, 2, 0, 0x200000, 8 * PG, A(16 * PG) }, -EINVAL, V_ALL },
	{ "E6 before F: resize onto another slot", 1, { 0, 1, 0, 0x1f0000, 32 * PG, A(0) }, -EINVAL, V_ALL },
	{ "E7: identical re-issue", 1, { 0, 1, 0, G0, 16 * PG, A(0) }, 0, V_ALL },
	{ "E7: identical re-issue, READONLY", 1, { 0, 2, RO, 0x200000, 8 * PG, A(16 * PG) }, 0, V_ALL },
	{ "E7: LOG_DIRTY on", 1, { 0, 1, LD, G0, 16 * PG, A(0) }, 0, V_ALL },
	{ "E7: LOG_DIRTY off", 1, { 0, 3, 0, 0x300000, 4 * PG, A(24 * PG) }, 0, V_ALL },
	{ "E7: LOG_DIRTY on a READONLY slot", 1, { 0, 2, RO | LD, 0x200000, 8 * PG, A(16 * PG) }, 0, V_ALL },
	{ "E7: move", 1, { 0, 1, 0, 0x800000, 16 * PG, A(0) }, 0, V_ALL },
	{ "E7: move by one page, onto itself", 1, { 0, 1, 0, G0 + PG, 16 * PG, A(0) }, 0, V_ALL },
	{ "E7: move and LOG_DIRTY on", 1, { 0, 1, LD, 0x800000, 16 * PG, A(0) }, 0, V_ALL },
	{ "E7: move a READONLY slot", 1, { 0, 2, RO, 0x900000, 8 * PG, A(16 * PG) }, 0, V_ALL },
	{ "E7: move in as 1", 1, { 1, 1, 0, 0x200000, 4 * PG, A(32 * PG) }, 0, AS2 },
	/* F: overlap */
	{ "F: create over a slot's last page", 1, { 0, 6, 0, G0 + 15 * PG, 4 * PG, A(48 * PG) }, -EEXIST, V_ALL },
	{ "F: create over a slot's first page", 1, { 0, 6, 0, G0 - 3 * PG, 4 * PG, A(48 * PG) }, -EEXIST, V_ALL },
	{ "F: create inside a slot", 1, { 0, 6, 0, G0 + 4 * PG, PG, A(48 * PG) }, -EEXIST, V_ALL },
	{ "F: create around a slot", 1, { 0, 6, 0, G0 - PG, 18 * PG, A(48 * PG) }, -EEXIST, V_ALL },
	{ "F: adjacent after", 1, { 0, 6, 0, G0 + 16 * PG, 4 * PG, A(48 * PG) }, 0, V_ALL },
	{ "F: adjacent before", 1, { 0, 6, 0, G0 - 4 * PG, 4 * PG, A(48 * PG) }, 0, V_ALL },
	{ "F: same range in the other as", 1, { 1, 6, 0, 0x200000, 8 * PG, A(48 * PG) }, 0, AS2 },
	{ "F: as 1 overlap", 1, { 1, 6, 0, G0 + 3 * PG, 4 * PG, A(48 * PG) }, -EEXIST, AS2 },
	{ "F: move onto another slot by one page", 1, { 0, 1, 0, 0x200000 - 15 * PG, 16 * PG, A(0) }, -EEXIST, V_ALL },
	{ "F: move adjacent to another slot", 1, { 0, 1, 0, 0x200000 - 16 * PG, 16 * PG, A(0) }, 0, V_ALL },
	{ "F: same hva, other gpa (hva overlap is fine)", 1, { 0, 6, 0, 0x600000, 4 * PG, A(0) }, 0, V_ALL },
	{ "D4 before F", 1, { 0, 6, 0, G0 + 1, 4 * PG, A(48 * PG) }, -EINVAL, V_ALL },
	{ "B before F", 1, { 0, NR(0), 0, G0, 4 * PG, A(48 * PG) }, -EINVAL, V_ALL },
	{ "F: highest id overlapping", 1, { 0, NR(-1), 0, G0, 4 * PG, A(48 * PG) }, -EEXIST, V_ALL },
	{ "F: overlap, flags change ignored", 1, { 0, 6, LD | RO, G0, PG, A(48 * PG) }, -EEXIST, V_ALL },
	{ "create at gpa 0", 0, { 0, 0, 0, 0, PG, A(0) }, 0, V_ALL },
	{ "create at 2^36", 0, { 0, 0, 0, 1ull << 36, 16 * PG, A(0) }, 0, V_ALL },
};

static int arena_ok;
static uint8_t *arena;

static uint64_t hva_of(struct hv h)
{
	return h.abs ? h.v : (uint64_t)(uintptr_t)arena + h.v;
}

static uint32_t id_of(int32_t id, uint32_t nr)
{
	return id >= NR(-100) ? (uint32_t)((int64_t)nr + (id - NR(0))) : (uint32_t)id;
}

static struct memslot_region region_of(const struct rq *q, uint32_t id)
{
	struct memslot_region r;

	memset(&r, 0, sizeof(r));
	r.sz = sizeof(r);
	r.as_id = q->as;
	r.slot = (uint16_t)id;
	r.flags = q->flags;
	r.guest_phys_addr = q->gpa;
	r.memory_size = q->size;
	r.userspace_addr = hva_of(q->hva);
	return r;
}

/* Which memslot ioctls the library issues (REGION vs REGION2). */
static long n_region, n_region2;
static int count_ioctl(void *opaque, int fd, unsigned long req, void *arg)
{
	int r;

	(void)opaque;
	if (req == KVM_SET_USER_MEMORY_REGION)
		n_region++;
	if (req == KVM_SET_USER_MEMORY_REGION2)
		n_region2++;
	r = ioctl(fd, req, arg);
	return r < 0 ? -errno : r;
}

static int setup(int vm_fd, struct memslot_vm *vm, int which, uint32_t nr, int nr_as)
{
	struct memslot_txn *t;
	struct memslot_region r;
	size_t i;
	int e;

	if (!which)
		return 0;
	if ((e = memslot_txn_begin(vm, &t)))
		return e;
	for (i = 0; i < sizeof(setup1) / sizeof(setup1[0]); i++) {
		if (setup1[i].as >= nr_as)
			continue;
		r = region_of(&setup1[i], id_of(setup1[i].id, nr));
		if ((e = memslot_txn_add(t, &r, NULL))) {
			memslot_txn_abort(t);
			return e;
		}
	}
	(void)vm_fd;
	return memslot_txn_commit(t, NULL);
}

int main(void)
{
	struct utsname u;
	struct memslot_caps caps;
	int region2, v2, nr_as = 1, gmem = 0;
	size_t i;
	int nrules = 0;

	uname(&u);
	arena = rk_map(ARENA_PAGES * PG);
	arena_ok = 1;

	/* REGION2 exists exactly when KVM_CAP_USER_MEMORY2 says so (6.8+). */
	{
		int vm_fd = rk_vm_create(), r;
		struct memslot_vm *vm;
		struct memslot_vm_opts o = { .sz = sizeof(o), .mode = MEMSLOT_MODE_SEQUENTIAL,
					     .ioctl = count_ioctl };
		struct memslot_txn *t;
		struct memslot_region reg;

		r = memslot_vm_new(vm_fd, &o, &vm);
		if (r)
			rk_fatal("memslot_vm_new: %s", rk_errname(r));
		caps.sz = sizeof(caps);
		RK_CHECK(memslot_vm_caps(vm, &caps) == 0, "memslot_vm_caps");
		region2 = rk_set_region(vm_fd, 1, 0, 0, G0, PG, (uintptr_t)arena);
		printf("rules: kernel %s: nr_slots %u nr_as %u readonly %u user_memory2 %u "
		       "guest_memfd %u batch %u page %u; raw REGION2 %s\n", u.release,
		       caps.nr_slots, caps.nr_as, caps.readonly, caps.user_memory2,
		       caps.guest_memfd, caps.batch, caps.page_size, rk_errname(region2));
		RK_CHECK(caps.nr_slots == (uint32_t)rk_cap(vm_fd, KVM_CAP_NR_MEMSLOTS),
			 "caps.nr_slots %u = KVM_CAP_NR_MEMSLOTS", caps.nr_slots);
		nr_as = rk_kernel_nr_as(vm_fd);
		gmem = rk_cap(vm_fd, KVM_CAP_GUEST_MEMFD) > 0;
		RK_CHECK(caps.nr_as == (uint32_t)nr_as,
			 "caps.nr_as %u = KVM_CAP_MULTI_ADDRESS_SPACE %d", caps.nr_as, nr_as);
		if (rk_cap(rk_kvm(), KVM_CAP_X86_SMM) > 0)
			RK_CHECK(caps.nr_as == 2, "caps.nr_as %u = 2 (x86 with SMM)", caps.nr_as);
		else
			rk_skip(1, "no KVM_CAP_X86_SMM: address space 1 is not there");
		RK_CHECK(caps.readonly == 1, "caps.readonly");
		RK_CHECK(caps.page_size == PG, "caps.page_size");
		{
			/* The library's probe against the kernel's answer to the empty list. */
			struct { uint32_t nent, flags; } empty = { 0, 0 };
			int list = ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION_LIST, &empty) < 0 ? -errno : 0;

			RK_CHECK(caps.batch == (list == 0) && caps.batch_usable == caps.batch,
				 "caps.batch %u, batch_usable %u while the raw empty list gives %s",
				 caps.batch, caps.batch_usable, rk_errname(list));
			if (rk_mode() == MEMSLOT_MODE_BATCH)
				RK_CHECK(list == 0, "RK_MODE=batch: the kernel has the batch ioctl "
					 "(empty list: %s)", rk_errname(list));
			else
				RK_CHECK(list == -ENOTTY, "no batch ioctl on a released kernel (empty "
					 "list: %s; RK_MODE=batch for kernel/)", rk_errname(list));
		}
		RK_CHECK(caps.guest_memfd == (uint32_t)gmem,
			 "caps.guest_memfd %u = KVM_CAP_GUEST_MEMFD on the VM %d",
			 caps.guest_memfd, gmem);
		RK_CHECK(caps.user_memory2 == (region2 != -ENOTTY),
			 "caps.user_memory2 %u while raw REGION2 gives %s",
			 caps.user_memory2, rk_errname(region2));
		RK_CHECK(region2 == (caps.user_memory2 ? 0 : -ENOTTY),
			 "raw REGION2 %s", rk_errname(region2));
		/*
		 * Debian's kernels have SMM and no guest_memfd on a default VM:
		 * what the tier's QEMU guests must see, so that nothing there is
		 * skipped by a wrong answer.
		 */
		if (!strncmp(u.release, "6.1.", 4)) {
			RK_CHECK(!caps.user_memory2, "6.1 has no REGION2");
			RK_CHECK(nr_as == 2 && !gmem, "6.1: 2 address spaces (%d), no guest_memfd (%d)",
				 nr_as, gmem);
		}
		if (!strncmp(u.release, "6.12.", 5)) {
			RK_CHECK(caps.user_memory2, "6.12 has REGION2");
			RK_CHECK(nr_as == 2 && !gmem, "6.12: 2 address spaces (%d), no guest_memfd (%d)",
				 nr_as, gmem);
		}
		if (region2 == 0)
			rk_set_region(vm_fd, 1, 0, 0, G0, 0, (uintptr_t)arena);
		/* The commit uses REGION2 exactly when the kernel has it. */
		n_region = n_region2 = 0;
		reg = region_of(&setup1[0], 1);
		r = memslot_txn_begin(vm, &t);
		if (!r && !(r = memslot_txn_add(t, &reg, NULL)))
			r = memslot_txn_commit(t, NULL);
		RK_CHECK(r == 0 && (caps.user_memory2 ? n_region2 == 1 && n_region == 0
					      : n_region == 1 && n_region2 == 0),
			 "commit used REGION %ld, REGION2 %ld times (rc %s)", n_region,
			 n_region2, rk_errname(r));
		/* v1 carries LOG_DIRTY|READONLY only; GUEST_MEMFD is v2-only. */
		r = rk_set_region(vm_fd, 0, 7, GM, 0x800000, PG, (uintptr_t)arena);
		RK_CHECK(r == -EINVAL, "raw v1 with GUEST_MEMFD: %s", rk_errname(r));
		memslot_vm_free(vm);
		close(vm_fd);
	}
	v2 = caps.user_memory2;

	for (i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		const struct rule *ru = &rules[i];
		uint32_t id = id_of(ru->r.id, caps.nr_slots);
		struct memslot_region r;
		struct memslot_txn *t;
		struct memslot_vm *vm;
		struct memslot_vm_opts o = { .sz = sizeof(o), .mode = MEMSLOT_MODE_SEQUENTIAL };
		int vm_fd, e, lib, k;

		if (((ru->need & V_V2) && !v2) || ((ru->need & V_V1) && v2) ||
		    ((ru->need & AS1) && nr_as != 1))
			continue;
		if ((ru->need & AS2) && nr_as < 2) {
			rk_skip(ru->expect == ANY ? 2 : 3, "%s: one address space (no SMM)", ru->name);
			continue;
		}
		if ((ru->need & NOGM) && gmem) {
			rk_skip(ru->expect == ANY ? 2 : 3, "%s: the default VM has guest_memfd",
				ru->name);
			continue;
		}
		if (id > 0xfffe) {
			printf("rules: %s: id %u not expressible\n", ru->name, id);
			continue;
		}
		nrules++;
		vm_fd = rk_vm_create();
		if ((e = memslot_vm_new(vm_fd, &o, &vm)))
			rk_fatal("memslot_vm_new: %s", rk_errname(e));
		e = setup(vm_fd, vm, ru->setup, caps.nr_slots, nr_as);
		if (!RK_CHECK(e == 0, "%s: setup %d: %s", ru->name, ru->setup, rk_errname(e)))
			goto next;
		r = region_of(&ru->r, id);
		if ((e = memslot_txn_begin(vm, &t)))
			rk_fatal("txn_begin: %s", rk_errname(e));
		lib = memslot_txn_add(t, &r, NULL);
		memslot_txn_abort(t);
		k = rk_set_region(vm_fd, v2, ((uint32_t)ru->r.as << 16) | id, ru->r.flags,
				  ru->r.gpa, ru->r.size, hva_of(ru->r.hva));
		RK_CHECK(lib == k, "%s: library %s, kernel %s (as %u id %u flags 0x%x gpa 0x%llx "
			 "size 0x%llx hva 0x%llx)", ru->name, rk_errname(lib), rk_errname(k),
			 ru->r.as, id, ru->r.flags, (unsigned long long)ru->r.gpa,
			 (unsigned long long)ru->r.size, (unsigned long long)hva_of(ru->r.hva));
		if (ru->expect != ANY)
			RK_CHECK(k == ru->expect, "%s: kernel %s, the rule says %s", ru->name,
				 rk_errname(k), rk_errname(ru->expect));
		else
			printf("rules: %s: kernel %s, library %s (host-dependent)\n", ru->name,
			       rk_errname(k), rk_errname(lib));
next:
		memslot_vm_free(vm);
		close(vm_fd);
	}
	printf("rules: %d rules on kernel %s\n", nrules, u.release);
	(void)arena_ok;
	return rk_finish("rules");
}
