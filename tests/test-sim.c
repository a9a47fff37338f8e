/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Tests of the simulated kernel (lib/sim.c): every rule of
 * kernel-rules.md 2.1 it implements, with its errno and its edges, the
 * order between rules (only visible where the errnos differ), the batch
 * ioctl, fault injection, counts, foreach and the sz rules of the opts.
 *
 * Where a request is refused, the table is checked to be unchanged, so
 * that a sim that returns the right errno after changing something fails.
 */
#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "kvm-compat.h"
#include "testutil.h"

#define SLOT(as, id) ((uint32_t)(as) << 16 | (uint32_t)(id))
#define SIM_HVA 0x100000000ull      /* any page-aligned user address will do */
#define LOG (uint32_t)KVM_MEM_LOG_DIRTY_PAGES
#define RO (uint32_t)KVM_MEM_READONLY
#define GMEM (uint32_t)KVM_MEM_GUEST_MEMFD
#define OPTS(...) (&(struct memslot_sim_opts){ \
	.sz = sizeof(struct memslot_sim_opts), __VA_ARGS__ })

static uint64_t PS;     /* page size */
static uint64_t LIMIT;  /* memslot_user_addr_limit() */

/* ---- helpers ------------------------------------------------------------- */

static struct memslot_sim *mk(const struct memslot_sim_opts *o)
{
	struct memslot_sim *s = NULL;

	ck_assert_int_eq(memslot_sim_new(o, &s), 0);
	ck_assert_ptr_nonnull(s);
	return s;
}

static int r1(struct memslot_sim *s, uint32_t slot, uint32_t flags,
	      uint64_t gpa, uint64_t size, uint64_t hva)
{
	struct kvm_userspace_memory_region m = {
		.slot = slot, .flags = flags, .guest_phys_addr = gpa,
		.memory_size = size, .userspace_addr = hva,
	};

	return memslot_sim_ioctl(s, -1, KVM_SET_USER_MEMORY_REGION, &m);
}

static int r2(struct memslot_sim *s, uint32_t slot, uint32_t flags,
	      uint64_t gpa, uint64_t size, uint64_t hva, uint64_t off, int fd)
{
	struct kvm_userspace_memory_region2 m = {
		.slot = slot, .flags = flags, .guest_phys_addr = gpa,
		.memory_size = size, .userspace_addr = hva,
		.guest_memfd_offset = off, .guest_memfd = (uint32_t)fd,
	};

	return memslot_sim_ioctl(s, -1, KVM_SET_USER_MEMORY_REGION2, &m);
}

static int ext(struct memslot_sim *s, unsigned long cap)
{
	return memslot_sim_ioctl(s, -1, KVM_CHECK_EXTENSION,
				 (void *)(uintptr_t)cap);
}

typedef struct kvm_userspace_memory_region_entry entry_t;

static entry_t E(uint32_t slot, uint32_t flags, uint64_t gpa, uint64_t size,
		 uint64_t hva, uint8_t inval)
{
	entry_t e;

	memset(&e, 0, sizeof(e));
	e.slot = slot;
	e.flags = flags;
	e.guest_phys_addr = gpa;
	e.memory_size = size;
	e.userspace_addr = hva;
	e.invalidate_slot = inval;
	return e;
}

static int lstf(struct memslot_sim *s, const entry_t *e, uint32_t n,
		uint32_t flags)
{
	size_t len = sizeof(struct kvm_userspace_memory_region_list) +
		     n * sizeof(entry_t);
	struct kvm_userspace_memory_region_list *l = calloc(1, len);
	int ret;

	ck_assert_ptr_nonnull(l);
	l->nent = n;
	l->flags = flags;
	if (n)
		memcpy(l->entries, e, n * sizeof(entry_t));
	ret = memslot_sim_ioctl(s, -1, KVM_SET_USER_MEMORY_REGION_LIST, l);
	free(l);
	return ret;
}

static int lst(struct memslot_sim *s, const entry_t *e, uint32_t n)
{
	return lstf(s, e, n, 0);
}

static int count_fn(const struct memslot_region *r, void *opaque)
{
	(void)r;
	(*(int *)opaque)++;
	return 0;
}

static int nslots(const struct memslot_sim *s)
{
	int n = 0;

	ck_assert_int_eq(memslot_sim_foreach(s, count_fn, &n), 0);
	return n;
}

struct find {
	uint16_t as_id, id;
	struct memslot_region r;
	bool found;
};

static int find_fn(const struct memslot_region *r, void *opaque)
{
	struct find *f = opaque;

	if (r->as_id == f->as_id && r->slot == f->id) {
		f->r = *r;
		f->found = true;
		return 1;
	}
	return 0;
}

/* The slot (as_id, id), or NULL; the result lives until the next call. */
static const struct memslot_region *get(const struct memslot_sim *s,
					uint16_t as_id, uint16_t id)
{
	static struct find f;

	memset(&f, 0, sizeof(f));
	f.as_id = as_id;
	f.id = id;
	memslot_sim_foreach(s, find_fn, &f);
	return f.found ? &f.r : NULL;
}

/* Assert the slot exists with this gpa, size and flags. */
static void has(const struct memslot_sim *s, uint16_t as_id, uint16_t id,
		uint64_t gpa, uint64_t size, uint32_t flags)
{
	const struct memslot_region *r = get(s, as_id, id);

	ck_assert_msg(r != NULL, "slot %u:%u missing", as_id, id);
	ck_assert_uint_eq(r->guest_phys_addr, gpa);
	ck_assert_uint_eq(r->memory_size, size);
	ck_assert_uint_eq(r->flags, flags);
}

static void absent(const struct memslot_sim *s, uint16_t as_id, uint16_t id)
{
	ck_assert_msg(get(s, as_id, id) == NULL, "slot %u:%u present",
		      as_id, id);
}

/* ---- KVM_CHECK_EXTENSION and unknown requests ---------------------------- */

START_TEST(caps_default)
{
	struct memslot_sim *s = mk(NULL);

	ck_assert_int_eq(ext(s, KVM_CAP_NR_MEMSLOTS), 32764);
	ck_assert_int_eq(ext(s, KVM_CAP_MULTI_ADDRESS_SPACE), 2);
	ck_assert_int_eq(ext(s, KVM_CAP_READONLY_MEM), 1);
	ck_assert_int_eq(ext(s, KVM_CAP_USER_MEMORY2), 1);
	ck_assert_int_eq(ext(s, KVM_CAP_GUEST_MEMFD), 0);
	ck_assert_int_eq(ext(s, 9999), 0);
	ck_assert_int_eq(ext(s, 1), 0);
	/* The empty list is refused without batch support. */
	ck_assert_int_eq(lst(s, NULL, 0), -ENOTTY);
	memslot_sim_free(s);
}
END_TEST

START_TEST(caps_set)
{
	struct memslot_sim *s = mk(OPTS(.nr_slots = 100, .nr_as = 1,
					.no_readonly = 1, .no_region2 = 1,
					.guest_memfd = 1, .batch = 1));

	ck_assert_int_eq(ext(s, KVM_CAP_NR_MEMSLOTS), 100);
	ck_assert_int_eq(ext(s, KVM_CAP_MULTI_ADDRESS_SPACE), 1);
	ck_assert_int_eq(ext(s, KVM_CAP_READONLY_MEM), 0);
	ck_assert_int_eq(ext(s, KVM_CAP_USER_MEMORY2), 0);
	ck_assert_int_eq(ext(s, KVM_CAP_GUEST_MEMFD), 1);
	ck_assert_int_eq(lst(s, NULL, 0), 0);
	memslot_sim_free(s);
}
END_TEST

START_TEST(unknown_request)
{
	struct memslot_sim *s = mk(NULL);
	uint64_t x = 0;

	ck_assert_int_eq(memslot_sim_ioctl(s, -1, 0xAE00, NULL), -ENOTTY);
	ck_assert_int_eq(memslot_sim_ioctl(s, -1, 0x4008AE48, &x), -ENOTTY);
	ck_assert_int_eq(memslot_sim_count(s, MEMSLOT_SIM_OTHER), 2);
	ck_assert_int_eq(memslot_sim_count(s, MEMSLOT_SIM_ALL), 2);
	ck_assert_int_eq(memslot_sim_ioctl(NULL, -1, KVM_CHECK_EXTENSION,
					   NULL), -EINVAL);
	memslot_sim_free(s);
}
END_TEST

/* ---- memslot_sim_new() and the sz rules ---------------------------------- */

START_TEST(opts_null_and_bad_args)
{
	struct memslot_sim *s = (struct memslot_sim *)&s;

	ck_assert_int_eq(memslot_sim_new(NULL, NULL), -EINVAL);
	ck_assert_int_eq(memslot_sim_new(OPTS(), NULL), -EINVAL);
	ck_assert_int_eq(memslot_sim_new(OPTS(.nr_slots = 32768), &s),
			 -EINVAL);
	ck_assert_ptr_null(s);
	memslot_sim_free(NULL);
}
END_TEST

START_TEST(opts_sz_small)
{
	struct memslot_sim_opts o;
	struct memslot_sim *s = NULL;

	memset(&o, 0, sizeof(o));
	o.sz = 0;
	ck_assert_int_eq(memslot_sim_new(&o, &s), -EINVAL);
	o.sz = sizeof(size_t) - 1;
	ck_assert_int_eq(memslot_sim_new(&o, &s), -EINVAL);
	ck_assert_ptr_null(s);
	/* Only sz: every field is its default. */
	o.sz = sizeof(size_t);
	o.nr_slots = 7;
	ck_assert_int_eq(memslot_sim_new(&o, &s), 0);
	ck_assert_int_eq(ext(s, KVM_CAP_NR_MEMSLOTS), 32764);
	memslot_sim_free(s);
}
END_TEST

START_TEST(opts_sz_older)
{
	/* An older caller knows nr_slots only: what follows is not read. */
	struct memslot_sim_opts o;
	struct memslot_sim *s = NULL;

	memset(&o, 0xff, sizeof(o));
	o.sz = offsetof(struct memslot_sim_opts, nr_as);
	o.nr_slots = 10;
	ck_assert_int_eq(memslot_sim_new(&o, &s), 0);
	ck_assert_int_eq(ext(s, KVM_CAP_NR_MEMSLOTS), 10);
	ck_assert_int_eq(ext(s, KVM_CAP_MULTI_ADDRESS_SPACE), 2);
	ck_assert_int_eq(ext(s, KVM_CAP_READONLY_MEM), 1);
	ck_assert_int_eq(ext(s, KVM_CAP_GUEST_MEMFD), 0);
	ck_assert_int_eq(lst(s, NULL, 0), -ENOTTY);
	memslot_sim_free(s);
}
END_TEST

START_TEST(opts_sz_larger)
{
	struct {
		struct memslot_sim_opts o;
		uint64_t tail[2];
	} big;
	struct memslot_sim *s = NULL;

	memset(&big, 0, sizeof(big));
	big.o.sz = sizeof(big);
	big.o.nr_slots = 5;
	ck_assert_int_eq(memslot_sim_new(&big.o, &s), 0);
	ck_assert_int_eq(ext(s, KVM_CAP_NR_MEMSLOTS), 5);
	memslot_sim_free(s);
	s = NULL;
	big.tail[1] = 1ull << 60;
	ck_assert_int_eq(memslot_sim_new(&big.o, &s), -E2BIG);
	ck_assert_ptr_null(s);
}
END_TEST

START_TEST(opts_ranges)
{
	struct memslot_sim *s = NULL;

	ck_assert_int_eq(memslot_sim_new(OPTS(.nr_slots = 32768), &s), -EINVAL);
	ck_assert_int_eq(memslot_sim_new(OPTS(.nr_as = 3), &s), -EINVAL);
	ck_assert_int_eq(memslot_sim_new(OPTS(.phys_bits = 11), &s), -EINVAL);
	ck_assert_int_eq(memslot_sim_new(OPTS(.phys_bits = 65), &s), -EINVAL);
	ck_assert_int_eq(memslot_sim_new(OPTS(.reserved = 1), &s), -EINVAL);
	ck_assert_ptr_null(s);
	s = mk(OPTS(.nr_slots = 32767, .nr_as = 1, .phys_bits = 12));
	ck_assert_int_eq(ext(s, KVM_CAP_NR_MEMSLOTS), 32767);
	ck_assert_int_eq(ext(s, KVM_CAP_MULTI_ADDRESS_SPACE), 1);
	memslot_sim_free(s);
	s = mk(OPTS(.nr_slots = 1, .nr_as = 2, .phys_bits = 64));
	ck_assert_int_eq(ext(s, KVM_CAP_NR_MEMSLOTS), 1);
	memslot_sim_free(s);
}
END_TEST

/* ---- single-slot rules, in table order ----------------------------------- */

START_TEST(create_and_report)
{
	struct memslot_sim *s = mk(NULL);
	const struct memslot_region *r;

	ck_assert_int_eq(r1(s, SLOT(0, 3), LOG, 0x100000, 4 * PS, SIM_HVA), 0);
	ck_assert_int_eq(r2(s, SLOT(1, 3), RO, 0x100000, 2 * PS, SIM_HVA,
			    PS, 9), 0);
	r = get(s, 0, 3);
	ck_assert_ptr_nonnull(r);
	ck_assert_uint_eq(r->sz, sizeof(struct memslot_region));
	ck_assert_uint_eq(r->flags, LOG);
	ck_assert_uint_eq(r->guest_phys_addr, 0x100000);
	ck_assert_uint_eq(r->memory_size, 4 * PS);
	ck_assert_uint_eq(r->userspace_addr, SIM_HVA);
	ck_assert_int_eq(r->guest_memfd, -1);
	ck_assert_uint_eq(r->guest_memfd_offset, 0);
	/* Without GUEST_MEMFD the gmem fields are not read. */
	r = get(s, 1, 3);
	ck_assert_ptr_nonnull(r);
	ck_assert_uint_eq(r->flags, RO);
	ck_assert_int_eq(r->guest_memfd, -1);
	ck_assert_uint_eq(r->guest_memfd_offset, 0);
	ck_assert_int_eq(nslots(s), 2);
	memslot_sim_free(s);
}
END_TEST

START_TEST(a1_null_arg)
{
	struct memslot_sim *s = mk(OPTS(.batch = 1));

	ck_assert_int_eq(memslot_sim_ioctl(s, -1, KVM_SET_USER_MEMORY_REGION,
					   NULL), -EFAULT);
	ck_assert_int_eq(memslot_sim_ioctl(s, -1, KVM_SET_USER_MEMORY_REGION2,
					   NULL), -EFAULT);
	ck_assert_int_eq(memslot_sim_ioctl(s, -1,
					   KVM_SET_USER_MEMORY_REGION_LIST,
					   NULL), -EFAULT);
	memslot_sim_free(s);
}
END_TEST

/* A2 (v1 mask) and D1 (valid set), bit by bit, on a default VM. */
START_TEST(a2_d1_every_bit)
{
	struct memslot_sim *s = mk(NULL);

	for (int bit = 0; bit < 32; bit++) {
		uint32_t f = 1u << bit;
		int want = f == LOG || f == RO ? 0 : -EINVAL;

		ck_assert_int_eq(r1(s, 0, f, 0, PS, SIM_HVA), want);
		ck_assert_int_eq(r2(s, 1, f, PS, PS, SIM_HVA, 0, 3), want);
		if (!want) {
			ck_assert_int_eq(r1(s, 0, f, 0, 0, SIM_HVA), 0);
			ck_assert_int_eq(r1(s, 1, f, 0, 0, SIM_HVA), 0);
		}
		ck_assert_int_eq(nslots(s), 0);
	}
	memslot_sim_free(s);
}
END_TEST

/* A2: the v1 ioctl refuses GUEST_MEMFD even on a private-memory VM. */
START_TEST(a2_v1_gmem)
{
	struct memslot_sim *s = mk(OPTS(.guest_memfd = 1));

	ck_assert_int_eq(r1(s, 0, GMEM, 0, PS, SIM_HVA), -EINVAL);
	ck_assert_int_eq(r2(s, 0, GMEM, 0, PS, SIM_HVA, 0, 3), 0);
	/* A2 also refuses a v1 delete that carries it. */
	ck_assert_int_eq(r1(s, 0, GMEM, 0, 0, SIM_HVA), -EINVAL);
	has(s, 0, 0, 0, PS, GMEM);
	ck_assert_int_eq(r1(s, 0, 0, 0, 0, SIM_HVA), 0);
	absent(s, 0, 0);
	memslot_sim_free(s);
}
END_TEST

START_TEST(b_slot_id)
{
	struct memslot_sim *s = mk(OPTS(.nr_slots = 10));

	ck_assert_int_eq(r1(s, SLOT(0, 10), 0, 0, PS, SIM_HVA), -EINVAL);
	ck_assert_int_eq(r1(s, SLOT(1, 10), 0, 0, PS, SIM_HVA), -EINVAL);
	ck_assert_int_eq(r1(s, SLOT(0, 0xffff), 0, 0, PS, SIM_HVA), -EINVAL);
	ck_assert_int_eq(nslots(s), 0);
	ck_assert_int_eq(r1(s, SLOT(0, 9), 0, 0, PS, SIM_HVA), 0);
	ck_assert_int_eq(r1(s, SLOT(1, 9), 0, 0, PS, SIM_HVA), 0);
	has(s, 0, 9, 0, PS, 0);
	has(s, 1, 9, 0, PS, 0);
	memslot_sim_free(s);
}
END_TEST

START_TEST(d1_readonly)
{
	struct memslot_sim *s = mk(OPTS(.no_readonly = 1));

	ck_assert_int_eq(r1(s, 0, RO, 0, PS, SIM_HVA), -EINVAL);
	ck_assert_int_eq(r2(s, 0, RO | LOG, 0, PS, SIM_HVA, 0, 0), -EINVAL);
	ck_assert_int_eq(nslots(s), 0);
	ck_assert_int_eq(r1(s, 0, LOG, 0, PS, SIM_HVA), 0);
	/* Deletes go through D1 too. */
	ck_assert_int_eq(r1(s, 0, RO, 0, 0, SIM_HVA), -EINVAL);
	has(s, 0, 0, 0, PS, LOG);
	memslot_sim_free(s);
}
END_TEST

START_TEST(d1_gmem)
{
	struct memslot_sim *s = mk(OPTS(.guest_memfd = 1));

	ck_assert_int_eq(r2(s, 0, GMEM | LOG, 0, PS, SIM_HVA, 0, 3), -EINVAL);
	ck_assert_int_eq(r2(s, 0, GMEM | RO, 0, PS, SIM_HVA, 0, 3), -EINVAL);
	ck_assert_int_eq(r2(s, 0, GMEM | 8, 0, PS, SIM_HVA, 0, 3), -EINVAL);
	ck_assert_int_eq(nslots(s), 0);
	/* LOG and READONLY stay valid without GUEST_MEMFD. */
	ck_assert_int_eq(r2(s, 0, LOG | RO, 0, PS, SIM_HVA, 0, 3), 0);
	ck_assert_int_eq(r2(s, 1, GMEM, PS, PS, SIM_HVA, 0, 3), 0);
	has(s, 0, 1, PS, PS, GMEM);
	memslot_sim_free(s);

	/* READONLY cannot come back through GUEST_MEMFD on a no-RO VM. */
	s = mk(OPTS(.guest_memfd = 1, .no_readonly = 1));
	ck_assert_int_eq(r2(s, 0, RO, 0, PS, SIM_HVA, 0, 3), -EINVAL);
	ck_assert_int_eq(r2(s, 0, GMEM, 0, PS, SIM_HVA, 0, 3), 0);
	memslot_sim_free(s);
}
END_TEST

START_TEST(d3_size_alignment)
{
	struct memslot_sim *s = mk(NULL);

	ck_assert_int_eq(r1(s, 0, 0, 0, PS + 1, SIM_HVA), -EINVAL);
	ck_assert_int_eq(r1(s, 0, 0, 0, PS / 2, SIM_HVA), -EINVAL);
	ck_assert_int_eq(r1(s, 0, 0, 0, 1, SIM_HVA), -EINVAL);
	ck_assert_int_eq(nslots(s), 0);
	ck_assert_int_eq(r1(s, 0, 0, 0, 2 * PS, SIM_HVA), 0);
	memslot_sim_free(s);
}
END_TEST

START_TEST(d4_gpa_alignment)
{
	struct memslot_sim *s = mk(NULL);

	ck_assert_int_eq(r1(s, 0, 0, 1, PS, SIM_HVA), -EINVAL);
	ck_assert_int_eq(r1(s, 0, 0, PS / 2, PS, SIM_HVA), -EINVAL);
	ck_assert_int_eq(nslots(s), 0);
	ck_assert_int_eq(r1(s, 0, 0, PS, PS, SIM_HVA), 0);
	/* A delete needs an aligned gpa too, though it need not match. */
	ck_assert_int_eq(r1(s, 0, 0, PS + 1, 0, SIM_HVA), -EINVAL);
	has(s, 0, 0, PS, PS, 0);
	ck_assert_int_eq(r1(s, 0, 0, 7 * PS, 0, SIM_HVA), 0);
	absent(s, 0, 0);
	memslot_sim_free(s);
}
END_TEST

START_TEST(d5_hva)
{
	/*
	 * LIMIT is the exclusive bound on hva + size; before 6.12 it is
	 * TASK_SIZE_MAX + 1, so compute the page-aligned ends around it.
	 */
	uint64_t ok_end = (LIMIT - 1) & ~(PS - 1), bad_end = ok_end + PS;
	struct memslot_sim *s = mk(NULL);

	ck_assert_uint_lt(ok_end, LIMIT);
	ck_assert_uint_ge(bad_end, LIMIT);
	ck_assert_int_eq(r1(s, 0, 0, 0, PS, SIM_HVA + 1), -EINVAL);
	ck_assert_int_eq(r1(s, 0, 0, 0, PS, SIM_HVA + PS / 2), -EINVAL);
	/* [hva, hva + size) must end below the user address limit. */
	ck_assert_int_eq(r1(s, 0, 0, 0, PS, bad_end - PS), -EINVAL);
	ck_assert_int_eq(r1(s, 0, 0, 0, 2 * PS, bad_end - 2 * PS), -EINVAL);
	ck_assert_int_eq(r1(s, 0, 0, 0, PS, bad_end), -EINVAL);
	ck_assert_int_eq(r1(s, 0, 0, 0, PS, 0x8000000000000000ull), -EINVAL);
	/* hva + size wrapping past 2^64. */
	ck_assert_int_eq(r1(s, 0, 0, 0, 2 * PS, 0ull - PS), -EINVAL);
	ck_assert_int_eq(nslots(s), 0);
	ck_assert_int_eq(r1(s, 0, 0, 0, PS, ok_end - PS), 0);
	ck_assert_int_eq(r1(s, 1, 0, PS, PS, 0), 0);
	/* Deletes are checked too: an unaligned or kernel address fails. */
	ck_assert_int_eq(r1(s, 0, 0, 0, 0, SIM_HVA + 1), -EINVAL);
	ck_assert_int_eq(r1(s, 0, 0, 0, 0, bad_end), -EINVAL);
	has(s, 0, 0, 0, PS, 0);
	ck_assert_int_eq(r1(s, 0, 0, 0, 0, ok_end), 0);
	absent(s, 0, 0);
	memslot_sim_free(s);
}
END_TEST

START_TEST(d6_gmem_offset)
{
	struct memslot_sim *s = mk(OPTS(.guest_memfd = 1));

	ck_assert_int_eq(r2(s, 0, GMEM, 0, PS, SIM_HVA, 1, 3), -EINVAL);
	ck_assert_int_eq(r2(s, 0, GMEM, 0, PS, SIM_HVA, PS / 2, 3), -EINVAL);
	/* offset + size ending at exactly 2^64 wraps to 0. */
	ck_assert_int_eq(r2(s, 0, GMEM, 0, PS, SIM_HVA, 0ull - PS, 3), -EINVAL);
	ck_assert_int_eq(r2(s, 0, GMEM, 0, 2 * PS, SIM_HVA, 0ull - PS, 3),
			 -EINVAL);
	ck_assert_int_eq(nslots(s), 0);
	ck_assert_int_eq(r2(s, 0, GMEM, 0, PS, SIM_HVA, PS, 3), 0);
	/* A delete carrying GUEST_MEMFD needs an aligned offset ... */
	ck_assert_int_eq(r2(s, 0, GMEM, 0, 0, SIM_HVA, 1, -1), -EINVAL);
	has(s, 0, 0, 0, PS, GMEM);
	/* ... but its fd is ignored. */
	ck_assert_int_eq(r2(s, 0, GMEM, 0, 0, SIM_HVA, 0, -1), 0);
	absent(s, 0, 0);
	/* Without GUEST_MEMFD the offset is not read. */
	ck_assert_int_eq(r2(s, 0, 0, 0, PS, SIM_HVA, 1, -1), 0);
	memslot_sim_free(s);
}
END_TEST

START_TEST(d7_as_id)
{
	struct memslot_sim *s = mk(NULL);

	ck_assert_int_eq(r1(s, SLOT(2, 0), 0, 0, PS, SIM_HVA), -EINVAL);
	ck_assert_int_eq(r1(s, SLOT(0xffff, 0), 0, 0, PS, SIM_HVA), -EINVAL);
	ck_assert_int_eq(nslots(s), 0);
	ck_assert_int_eq(r1(s, SLOT(1, 32763), 0, 0, PS, SIM_HVA), 0);
	has(s, 1, 32763, 0, PS, 0);
	memslot_sim_free(s);

	s = mk(OPTS(.nr_as = 1));
	ck_assert_int_eq(r1(s, SLOT(1, 0), 0, 0, PS, SIM_HVA), -EINVAL);
	ck_assert_int_eq(nslots(s), 0);
	ck_assert_int_eq(r1(s, SLOT(0, 32763), 0, 0, PS, SIM_HVA), 0);
	memslot_sim_free(s);
}
END_TEST

START_TEST(d8_gpa_wrap)
{
	struct memslot_sim *s = mk(NULL);

	/* An end of exactly 2^64 wraps to 0 and is refused. */
	ck_assert_int_eq(r1(s, 0, 0, 0ull - PS, PS, SIM_HVA), -EINVAL);
	ck_assert_int_eq(r1(s, 0, 0, 0ull - PS, 2 * PS, SIM_HVA), -EINVAL);
	ck_assert_int_eq(r1(s, 0, 0, 0ull - 4 * PS, 8 * PS, SIM_HVA), -EINVAL);
	ck_assert_int_eq(nslots(s), 0);
	/* The last page below 2^64 - PS is fine. */
	ck_assert_int_eq(r1(s, 0, 0, 0ull - 2 * PS, PS, SIM_HVA), 0);
	has(s, 0, 0, 0ull - 2 * PS, PS, 0);
	/* A move that would end at 2^64 is refused at D8 as well. */
	ck_assert_int_eq(r1(s, 0, 0, 0ull - PS, PS, SIM_HVA), -EINVAL);
	has(s, 0, 0, 0ull - 2 * PS, PS, 0);
	memslot_sim_free(s);
}
END_TEST

START_TEST(d9_max_pages)
{
	struct memslot_sim *s = mk(NULL);
	uint64_t max = 0x7fffffffull * PS;

	ck_assert_int_eq(r1(s, 0, 0, 0, max + PS, PS), -EINVAL);
	ck_assert_int_eq(r1(s, 0, 0, 0, 2 * max, PS), -EINVAL);
	ck_assert_int_eq(nslots(s), 0);
	if (PS + max < LIMIT) {
		ck_assert_int_eq(r1(s, 0, 0, 0, max, PS), 0);
		has(s, 0, 0, 0, max, 0);
	}
	memslot_sim_free(s);
}
END_TEST

START_TEST(e1_delete_missing)
{
	struct memslot_sim *s = mk(NULL);

	ck_assert_int_eq(r1(s, 5, 0, 0, 0, SIM_HVA), -EINVAL);
	ck_assert_int_eq(r1(s, 5, 0, 0, PS, SIM_HVA), 0);
	/* Only the id's own address space counts. */
	ck_assert_int_eq(r1(s, SLOT(1, 5), 0, 0, 0, SIM_HVA), -EINVAL);
	/* The other fields of a delete need not match the slot. */
	ck_assert_int_eq(r1(s, 5, LOG | RO, 64 * PS, 0, 0), 0);
	absent(s, 0, 5);
	ck_assert_int_eq(r1(s, 5, 0, 0, 0, SIM_HVA), -EINVAL);
	memslot_sim_free(s);
}
END_TEST

START_TEST(e4_e5_gmem_immutable)
{
	struct memslot_sim *s = mk(OPTS(.guest_memfd = 1));

	ck_assert_int_eq(r2(s, 0, GMEM, 0, 4 * PS, SIM_HVA, 0, 3), 0);
	/* E4: even a byte-for-byte identical re-issue. */
	ck_assert_int_eq(r2(s, 0, GMEM, 0, 4 * PS, SIM_HVA, 0, 3), -EINVAL);
	ck_assert_int_eq(r2(s, 0, GMEM, 8 * PS, 4 * PS, SIM_HVA, 0, 3), -EINVAL);
	/* E5: clearing the flag (the fixed kernels' behaviour). */
	ck_assert_int_eq(r2(s, 0, 0, 0, 4 * PS, SIM_HVA, 0, 3), -EINVAL);
	ck_assert_int_eq(r1(s, 0, 0, 0, 4 * PS, SIM_HVA), -EINVAL);
	ck_assert_int_eq(r2(s, 0, LOG, 0, 4 * PS, SIM_HVA, 0, 3), -EINVAL);
	ck_assert_int_eq(r1(s, 0, 0, 8 * PS, 4 * PS, SIM_HVA), -EINVAL);
	/* E4 on a non-gmem slot: adding the flag. */
	ck_assert_int_eq(r2(s, 1, 0, 16 * PS, PS, SIM_HVA, 0, 3), 0);
	ck_assert_int_eq(r2(s, 1, GMEM, 16 * PS, PS, SIM_HVA, PS, 3), -EINVAL);
	has(s, 0, 0, 0, 4 * PS, GMEM);
	has(s, 0, 1, 16 * PS, PS, 0);
	memslot_sim_free(s);
}
END_TEST

START_TEST(e6_immutable_fields)
{
	struct memslot_sim *s = mk(NULL);

	ck_assert_int_eq(r1(s, 0, 0, 0, 4 * PS, SIM_HVA), 0);
	ck_assert_int_eq(r1(s, 0, 0, 0, 4 * PS, SIM_HVA + PS), -EINVAL);
	ck_assert_int_eq(r1(s, 0, 0, 0, 8 * PS, SIM_HVA), -EINVAL);
	ck_assert_int_eq(r1(s, 0, 0, 0, 2 * PS, SIM_HVA), -EINVAL);
	ck_assert_int_eq(r1(s, 0, RO, 0, 4 * PS, SIM_HVA), -EINVAL);
	ck_assert_int_eq(r1(s, 0, RO, 8 * PS, 4 * PS, SIM_HVA), -EINVAL);
	ck_assert_int_eq(r1(s, 1, RO, 16 * PS, PS, SIM_HVA), 0);
	ck_assert_int_eq(r1(s, 1, 0, 16 * PS, PS, SIM_HVA), -EINVAL);
	ck_assert_int_eq(r1(s, 1, LOG, 16 * PS, PS, SIM_HVA), -EINVAL);
	has(s, 0, 0, 0, 4 * PS, 0);
	has(s, 0, 1, 16 * PS, PS, RO);
	memslot_sim_free(s);
}
END_TEST

START_TEST(e7_move_flags_noop)
{
	struct memslot_sim *s = mk(NULL);

	ck_assert_int_eq(r1(s, 0, RO, 0, 4 * PS, SIM_HVA), 0);
	ck_assert_int_eq(r1(s, 0, RO, 8 * PS, 4 * PS, SIM_HVA), 0);     /* move */
	has(s, 0, 0, 8 * PS, 4 * PS, RO);
	ck_assert_int_eq(r1(s, 0, RO | LOG, 8 * PS, 4 * PS, SIM_HVA), 0); /* flags */
	has(s, 0, 0, 8 * PS, 4 * PS, RO | LOG);
	/* A move may toggle LOG_DIRTY in the same request. */
	ck_assert_int_eq(r1(s, 0, RO, 32 * PS, 4 * PS, SIM_HVA), 0);
	has(s, 0, 0, 32 * PS, 4 * PS, RO);
	/* Identical: a no-op returning 0, even via REGION2 with junk gmem. */
	ck_assert_int_eq(r1(s, 0, RO, 32 * PS, 4 * PS, SIM_HVA), 0);
	ck_assert_int_eq(r2(s, 0, RO, 32 * PS, 4 * PS, SIM_HVA, 1, -7), 0);
	has(s, 0, 0, 32 * PS, 4 * PS, RO);
	ck_assert_int_eq(nslots(s), 1);
	ck_assert_int_eq(memslot_sim_count(s, MEMSLOT_SIM_REGION), 5);
	memslot_sim_free(s);
}
END_TEST

START_TEST(f_overlap)
{
	struct memslot_sim *s = mk(NULL);
	uint64_t a = 16 * PS;   /* slot 0: [a, a + 4 PS) */

	ck_assert_int_eq(r1(s, 0, 0, a, 4 * PS, SIM_HVA), 0);
	/* By one page at either end, containing and contained. */
	ck_assert_int_eq(r1(s, 1, 0, a + 3 * PS, 4 * PS, SIM_HVA), -EEXIST);
	ck_assert_int_eq(r1(s, 1, 0, a - 3 * PS, 4 * PS, SIM_HVA), -EEXIST);
	ck_assert_int_eq(r1(s, 1, 0, a - PS, 6 * PS, SIM_HVA), -EEXIST);
	ck_assert_int_eq(r1(s, 1, 0, a + PS, PS, SIM_HVA), -EEXIST);
	ck_assert_int_eq(r1(s, 1, 0, a, 4 * PS, SIM_HVA), -EEXIST);
	ck_assert_int_eq(nslots(s), 1);
	/* Adjacency on both sides is fine. */
	ck_assert_int_eq(r1(s, 1, 0, a - 4 * PS, 4 * PS, SIM_HVA), 0);
	ck_assert_int_eq(r1(s, 2, 0, a + 4 * PS, 4 * PS, SIM_HVA), 0);
	/* Another address space does not count. */
	ck_assert_int_eq(r1(s, SLOT(1, 0), 0, a, 4 * PS, SIM_HVA), 0);
	ck_assert_int_eq(r1(s, SLOT(1, 1), 0, a + PS, PS, SIM_HVA), -EEXIST);
	/* A move onto another slot fails; onto its own range is fine. */
	ck_assert_int_eq(r1(s, 2, 0, a + 3 * PS, 4 * PS, SIM_HVA), -EEXIST);
	has(s, 0, 2, a + 4 * PS, 4 * PS, 0);
	ck_assert_int_eq(r1(s, 2, 0, a + 5 * PS, 4 * PS, SIM_HVA), 0);
	ck_assert_int_eq(r1(s, 2, 0, a + 4 * PS, 4 * PS, SIM_HVA), 0);
	ck_assert_int_eq(r1(s, 0, 0, a - PS, 4 * PS, SIM_HVA), -EEXIST);
	has(s, 0, 0, a, 4 * PS, 0);
	/* After a delete the range is free again. */
	ck_assert_int_eq(r1(s, 0, 0, 0, 0, SIM_HVA), 0);
	ck_assert_int_eq(r1(s, 3, 0, a + PS, 2 * PS, SIM_HVA), 0);
	ck_assert_int_eq(nslots(s), 4);
	memslot_sim_free(s);
}
END_TEST

/* The overlap check against a well-filled table, in shuffled order. */
START_TEST(f_overlap_many)
{
	struct memslot_sim *s = mk(NULL);
	enum { N = 2000 };
	static uint16_t order[N];
	unsigned int seed = 12345;

	for (int i = 0; i < N; i++)
		order[i] = (uint16_t)i;
	for (int i = N - 1; i > 0; i--) {
		int j = rand_r(&seed) % (i + 1);
		uint16_t t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
	/* Slot i at [4i, 4i + 2) pages. */
	for (int i = 0; i < N; i++)
		ck_assert_int_eq(r1(s, order[i], 0, 4 * PS * order[i],
				    2 * PS, SIM_HVA), 0);
	for (int i = 0; i < N; i++) {
		uint64_t g = 4 * PS * (uint64_t)i;

		ck_assert_int_eq(r1(s, N, 0, g + PS, 2 * PS, SIM_HVA), -EEXIST);
		ck_assert_int_eq(r1(s, N, 0, g - PS, 2 * PS, SIM_HVA),
				 i ? -EEXIST : -EINVAL);
		ck_assert_int_eq(r1(s, N, 0, g + 2 * PS, 2 * PS, SIM_HVA), 0);
		ck_assert_int_eq(r1(s, N, 0, 0, 0, SIM_HVA), 0);
	}
	ck_assert_int_eq(r1(s, N, 0, 4 * PS * N - 3 * PS, 4 * PS, SIM_HVA),
			 -EEXIST);
	ck_assert_int_eq(nslots(s), N);
	memslot_sim_free(s);
}
END_TEST

START_TEST(h_gmem_bind)
{
	struct memslot_sim *s = mk(OPTS(.guest_memfd = 1));

	ck_assert_int_eq(r2(s, 0, GMEM, 0, 4 * PS, SIM_HVA, 0, -1), -EBADF);
	ck_assert_int_eq(r2(s, 0, GMEM, 0, 4 * PS, SIM_HVA, 0, INT32_MIN),
			 -EBADF);
	ck_assert_int_eq(nslots(s), 0);
	ck_assert_int_eq(r2(s, 0, GMEM, 0, 4 * PS, SIM_HVA, 0, 5), 0);
	/* The file range [2, 6) pages of fd 5 overlaps [0, 4). */
	ck_assert_int_eq(r2(s, 1, GMEM, 16 * PS, 4 * PS, SIM_HVA, 2 * PS, 5),
			 -EINVAL);
	ck_assert_int_eq(r2(s, 1, GMEM, 16 * PS, 1 * PS, SIM_HVA, 3 * PS, 5),
			 -EINVAL);
	absent(s, 0, 1);
	/* Adjacent in the file, or another file: fine. */
	ck_assert_int_eq(r2(s, 1, GMEM, 16 * PS, 4 * PS, SIM_HVA, 4 * PS, 5), 0);
	ck_assert_int_eq(r2(s, 2, GMEM, 32 * PS, 4 * PS, SIM_HVA, 0, 6), 0);
	/* Another file's range just before in the sorted bindings. */
	ck_assert_int_eq(r2(s, 3, GMEM, 48 * PS, PS, SIM_HVA, 2 * PS, 7), 0);
	ck_assert_int_eq(r2(s, SLOT(1, 2), GMEM, 32 * PS, 4 * PS, SIM_HVA,
			    0, 5), -EINVAL);
	/* Deleting unbinds. */
	ck_assert_int_eq(r2(s, 0, 0, 0, 0, SIM_HVA, 0, 0), 0);
	ck_assert_int_eq(r2(s, SLOT(1, 2), GMEM, 32 * PS, 4 * PS, SIM_HVA,
			    0, 5), 0);
	{
		const struct memslot_region *r = get(s, 1, 2);

		ck_assert_ptr_nonnull(r);
		ck_assert_int_eq(r->guest_memfd, 5);
		ck_assert_uint_eq(r->guest_memfd_offset, 0);
		r = get(s, 0, 1);
		ck_assert_ptr_nonnull(r);
		ck_assert_int_eq(r->guest_memfd, 5);
		ck_assert_uint_eq(r->guest_memfd_offset, 4 * PS);
	}
	memslot_sim_free(s);
}
END_TEST

/* H, offset as a loff_t: negative, or a range past INT64_MAX. */
START_TEST(h_gmem_offset_loff)
{
	struct memslot_sim *s = mk(OPTS(.guest_memfd = 1));
	uint64_t top = 0x8000000000000000ull;

	ck_assert_int_eq(r2(s, 0, GMEM, 0, PS, SIM_HVA, top, 5), -EINVAL);
	ck_assert_int_eq(r2(s, 0, GMEM, 0, 2 * PS, SIM_HVA, top - PS, 5),
			 -EINVAL);
	ck_assert_int_eq(nslots(s), 0);
	ck_assert_int_eq(r2(s, 0, GMEM, 0, PS, SIM_HVA, top - 2 * PS, 5), 0);
	/* EBADF comes first. */
	ck_assert_int_eq(r2(s, 1, GMEM, PS, PS, SIM_HVA, top, -1), -EBADF);
	memslot_sim_free(s);
}
END_TEST

START_TEST(k_phys_bits)
{
	struct memslot_sim *s = mk(OPTS(.phys_bits = 36));
	uint64_t top = 1ull << 36;

	ck_assert_int_eq(r1(s, 0, 0, top - PS, 2 * PS, SIM_HVA), -EINVAL);
	ck_assert_int_eq(r1(s, 0, 0, top, PS, SIM_HVA), -EINVAL);
	ck_assert_int_eq(nslots(s), 0);
	ck_assert_int_eq(r1(s, 0, 0, top - 2 * PS, 2 * PS, SIM_HVA), 0);
	/* A move beyond fails; a flags change or delete is not checked. */
	ck_assert_int_eq(r1(s, 0, 0, top - PS, 2 * PS, SIM_HVA), -EINVAL);
	has(s, 0, 0, top - 2 * PS, 2 * PS, 0);
	ck_assert_int_eq(r1(s, 0, LOG, top - 2 * PS, 2 * PS, SIM_HVA), 0);
	ck_assert_int_eq(r1(s, 0, 0, 0ull - PS, 0, SIM_HVA), 0);
	absent(s, 0, 0);
	memslot_sim_free(s);

	s = mk(OPTS(.phys_bits = 64));
	ck_assert_int_eq(r1(s, 0, 0, 0ull - 2 * PS, PS, SIM_HVA), 0);
	memslot_sim_free(s);
	s = mk(NULL);
	ck_assert_int_eq(r1(s, 0, 0, 1ull << 60, PS, SIM_HVA), 0);
	memslot_sim_free(s);
}
END_TEST

START_TEST(region2_absent)
{
	struct memslot_sim *s = mk(OPTS(.no_region2 = 1));

	ck_assert_int_eq(r2(s, 0, 0, 0, PS, SIM_HVA, 0, 0), -ENOTTY);
	ck_assert_int_eq(nslots(s), 0);
	ck_assert_int_eq(memslot_sim_count(s, MEMSLOT_SIM_REGION2), 1);
	ck_assert_int_eq(r1(s, 0, 0, 0, PS, SIM_HVA), 0);
	memslot_sim_free(s);
}
END_TEST

/* ---- order between rules (visible only where errnos differ) -------------- */

START_TEST(order_rules)
{
	struct memslot_sim *s = mk(OPTS(.guest_memfd = 1, .phys_bits = 40));
	uint64_t top = 1ull << 40;

	ck_assert_int_eq(r2(s, 0, 0, 0, 4 * PS, SIM_HVA, 0, 0), 0);
	ck_assert_int_eq(r2(s, 1, 0, top - 4 * PS, 4 * PS, SIM_HVA, 0, 0), 0);
	/* D1, D3, D4, D5, D7, D8 before F: EINVAL, not EEXIST. */
	ck_assert_int_eq(r2(s, 2, 8, 0, 4 * PS, SIM_HVA, 0, 0), -EINVAL);
	ck_assert_int_eq(r2(s, 2, GMEM | LOG, 0, 4 * PS, SIM_HVA, 0, 3), -EINVAL);
	ck_assert_int_eq(r2(s, 2, 0, 0, 4 * PS + 1, SIM_HVA, 0, 0), -EINVAL);
	ck_assert_int_eq(r2(s, 2, 0, PS + 1, PS, SIM_HVA, 0, 0), -EINVAL);
	ck_assert_int_eq(r2(s, 2, 0, 0, PS, SIM_HVA + 1, 0, 0), -EINVAL);
	ck_assert_int_eq(r2(s, SLOT(2, 2), 0, 0, PS, SIM_HVA, 0, 0), -EINVAL);
	/* Bad flags beat a delete of a missing slot (same errno, no change). */
	ck_assert_int_eq(r2(s, 2, 8, 0, 0, SIM_HVA, 0, 0), -EINVAL);
	/* E6 before F: a resize onto a neighbour is EINVAL. */
	ck_assert_int_eq(r2(s, 0, 0, top - 8 * PS, 8 * PS, SIM_HVA, 0, 0),
			 -EINVAL);
	/* D6 before F and H: a wrapping gmem offset is EINVAL. */
	ck_assert_int_eq(r2(s, 2, GMEM, PS, 2 * PS, SIM_HVA, 0ull - PS, -1),
			 -EINVAL);
	ck_assert_int_eq(r2(s, 2, GMEM, 8 * PS, 2 * PS, SIM_HVA, 0ull - PS, -1),
			 -EINVAL);
	/* F before H: overlap with a bad fd or a bound range is EEXIST. */
	ck_assert_int_eq(r2(s, 2, GMEM, PS, PS, SIM_HVA, 0, -1), -EEXIST);
	ck_assert_int_eq(r2(s, 3, GMEM, 64 * PS, PS, SIM_HVA, 0, 7), 0);
	ck_assert_int_eq(r2(s, 2, GMEM, PS, PS, SIM_HVA, 0, 7), -EEXIST);
	/* F before K; H before K. */
	ck_assert_int_eq(r2(s, 2, 0, top - PS, 2 * PS, SIM_HVA, 0, 0), -EEXIST);
	ck_assert_int_eq(r2(s, 2, GMEM, top, PS, SIM_HVA, 0, -1), -EBADF);
	/* E7 (no-op) before F and K: nothing to check. */
	ck_assert_int_eq(r2(s, 1, 0, top - 4 * PS, 4 * PS, SIM_HVA, 0, 0), 0);
	ck_assert_int_eq(nslots(s), 3);
	memslot_sim_free(s);
}
END_TEST

/* ---- the batch ioctl ----------------------------------------------------- */

START_TEST(batch_probe_and_header)
{
	struct memslot_sim *s = mk(OPTS(.batch = 1));
	entry_t e = E(0, 0, 0, PS, SIM_HVA, 0);

	ck_assert_int_eq(lst(s, NULL, 0), 0);
	ck_assert_int_eq(lstf(s, NULL, 0, 1), -EINVAL);
	ck_assert_int_eq(lstf(s, &e, 1, 0x80000000u), -EINVAL);
	ck_assert_int_eq(nslots(s), 0);
	ck_assert_int_eq(lst(s, &e, 1), 0);
	has(s, 0, 0, 0, PS, 0);
	ck_assert_int_eq(memslot_sim_count(s, MEMSLOT_SIM_LIST), 4);
	memslot_sim_free(s);
}
END_TEST

START_TEST(batch_max)
{
	struct memslot_sim *s = mk(OPTS(.batch = 1, .max_batch = 3));
	entry_t e[4];

	for (int i = 0; i < 4; i++)
		e[i] = E((uint32_t)i, 0, (uint64_t)i * PS, PS, SIM_HVA, 0);
	ck_assert_int_eq(lst(s, e, 4), -E2BIG);
	ck_assert_int_eq(nslots(s), 0);
	ck_assert_int_eq(lst(s, e, 3), 0);
	ck_assert_int_eq(nslots(s), 3);
	memslot_sim_free(s);
}
END_TEST

START_TEST(batch_in_order)
{
	struct memslot_sim *s = mk(OPTS(.batch = 1));
	entry_t e[6];

	e[0] = E(0, 0, 0, 4 * PS, SIM_HVA, 0);
	e[1] = E(1, 0, 4 * PS, 4 * PS, SIM_HVA, 0);
	e[2] = E(SLOT(1, 0), 0, 0, 4 * PS, SIM_HVA, 0);
	ck_assert_int_eq(lst(s, e, 3), 0);
	ck_assert_int_eq(nslots(s), 3);
	/* Each entry sees the earlier ones: move 0 away, create 2 in its
	 * old place, delete 1 and re-create it larger (a resize). */
	e[0] = E(0, 0, 64 * PS, 4 * PS, SIM_HVA, 1);
	e[1] = E(2, LOG, 0, 4 * PS, SIM_HVA, 0);
	e[2] = E(1, 0, 4 * PS, 0, SIM_HVA, 1);
	e[3] = E(1, RO, 4 * PS, 8 * PS, SIM_HVA + 4 * PS, 0);
	e[4] = E(2, 0, 0, 4 * PS, SIM_HVA, 0);              /* flags back */
	e[5] = E(SLOT(1, 0), 0, 0, 0, SIM_HVA, 1);
	ck_assert_int_eq(lst(s, e, 6), 0);
	has(s, 0, 0, 64 * PS, 4 * PS, 0);
	has(s, 0, 1, 4 * PS, 8 * PS, RO);
	has(s, 0, 2, 0, 4 * PS, 0);
	absent(s, 1, 0);
	ck_assert_int_eq(nslots(s), 3);
	memslot_sim_free(s);
}
END_TEST

/* A failing entry publishes nothing: creates, deletes, moves, flags. */
START_TEST(batch_all_or_nothing)
{
	struct memslot_sim *s = mk(OPTS(.batch = 1));
	entry_t e[6];

	ck_assert_int_eq(r1(s, 0, 0, 0, 4 * PS, SIM_HVA), 0);
	ck_assert_int_eq(r1(s, 1, 0, 16 * PS, 4 * PS, SIM_HVA), 0);
	ck_assert_int_eq(r1(s, 2, 0, 32 * PS, 4 * PS, SIM_HVA), 0);
	e[0] = E(0, 0, 0, 0, SIM_HVA, 1);                    /* delete 0 */
	e[1] = E(1, 0, 64 * PS, 4 * PS, SIM_HVA, 1);         /* move 1 */
	e[2] = E(2, LOG, 32 * PS, 4 * PS, SIM_HVA, 0);       /* flags 2 */
	e[3] = E(3, 0, 0, 4 * PS, SIM_HVA, 0);               /* create 3 */
	e[4] = E(4, 0, 128 * PS, 4 * PS, SIM_HVA, 0);        /* create 4 */
	e[5] = E(5, 0, 130 * PS, 4 * PS, SIM_HVA, 0);        /* overlaps 4 */
	ck_assert_int_eq(lst(s, e, 6), -EEXIST);
	has(s, 0, 0, 0, 4 * PS, 0);
	has(s, 0, 1, 16 * PS, 4 * PS, 0);
	has(s, 0, 2, 32 * PS, 4 * PS, 0);
	ck_assert_int_eq(nslots(s), 3);
	/* The ranges were restored too: 0's range is taken, 4's is free. */
	ck_assert_int_eq(r1(s, 9, 0, 0, PS, SIM_HVA), -EEXIST);
	ck_assert_int_eq(r1(s, 9, 0, 128 * PS, PS, SIM_HVA), 0);
	ck_assert_int_eq(r1(s, 10, 0, 64 * PS, PS, SIM_HVA), 0);
	memslot_sim_free(s);
}
END_TEST

/* The undo of a deleted guest_memfd slot binds its file range again. */
START_TEST(batch_undo_gmem)
{
	struct memslot_sim *s = mk(OPTS(.batch = 1, .guest_memfd = 1));
	entry_t e[2];

	ck_assert_int_eq(r2(s, 0, GMEM, 0, 4 * PS, SIM_HVA, 0, 5), 0);
	e[0] = E(0, 0, 0, 0, SIM_HVA, 1);
	e[1] = E(1, 0, 0, 0, SIM_HVA, 1);                    /* missing */
	ck_assert_int_eq(lst(s, e, 2), -EINVAL);
	has(s, 0, 0, 0, 4 * PS, GMEM);
	ck_assert_int_eq(get(s, 0, 0)->guest_memfd, 5);
	ck_assert_int_eq(r2(s, 1, GMEM, 16 * PS, PS, SIM_HVA, PS, 5), -EINVAL);
	/* A successful batch delete unbinds. */
	ck_assert_int_eq(lst(s, e, 1), 0);
	ck_assert_int_eq(r2(s, 1, GMEM, 16 * PS, PS, SIM_HVA, PS, 5), 0);
	memslot_sim_free(s);
}
END_TEST

START_TEST(batch_rfc_partial)
{
	struct memslot_sim *s = mk(OPTS(.batch = 1, .rfc_partial = 1));
	entry_t e[4];

	ck_assert_int_eq(r1(s, 0, 0, 0, 4 * PS, SIM_HVA), 0);
	e[0] = E(1, 0, 16 * PS, 4 * PS, SIM_HVA, 0);
	e[1] = E(0, 0, 0, 0, SIM_HVA, 1);
	e[2] = E(2, 0, 18 * PS, 4 * PS, SIM_HVA, 0);         /* overlaps 1 */
	e[3] = E(3, 0, 64 * PS, 4 * PS, SIM_HVA, 0);
	ck_assert_int_eq(lst(s, e, 4), -EEXIST);
	has(s, 0, 1, 16 * PS, 4 * PS, 0);
	absent(s, 0, 0);
	absent(s, 0, 2);
	absent(s, 0, 3);
	ck_assert_int_eq(nslots(s), 1);
	/* A list refused before any entry changes nothing. */
	e[0] = E(5, 0, 128 * PS, PS, SIM_HVA, 0);
	ck_assert_int_eq(lstf(s, e, 1, 1), -EINVAL);
	absent(s, 0, 5);
	memslot_sim_free(s);
}
END_TEST

/* invalidate_slot: exactly on DELETE and MOVE; no no-op entries. */
START_TEST(batch_invalidate_rules)
{
	struct memslot_sim *s = mk(OPTS(.batch = 1));
	entry_t e;

	ck_assert_int_eq(r1(s, 0, 0, 0, 4 * PS, SIM_HVA), 0);
	e = E(0, 0, 0, 0, SIM_HVA, 0);                      /* delete, no inval */
	ck_assert_int_eq(lst(s, &e, 1), -EINVAL);
	e = E(0, 0, 8 * PS, 4 * PS, SIM_HVA, 0);            /* move, no inval */
	ck_assert_int_eq(lst(s, &e, 1), -EINVAL);
	e = E(1, 0, 8 * PS, 4 * PS, SIM_HVA, 1);            /* create, inval */
	ck_assert_int_eq(lst(s, &e, 1), -EINVAL);
	e = E(0, LOG, 0, 4 * PS, SIM_HVA, 1);               /* flags, inval */
	ck_assert_int_eq(lst(s, &e, 1), -EINVAL);
	e = E(0, 0, 0, 4 * PS, SIM_HVA, 0);                 /* no-op */
	ck_assert_int_eq(lst(s, &e, 1), -EINVAL);
	e = E(0, 0, 0, 4 * PS, SIM_HVA, 1);                 /* no-op, inval */
	ck_assert_int_eq(lst(s, &e, 1), -EINVAL);
	e = E(0, 0, 0, 0, SIM_HVA, 2);                      /* not 0 or 1 */
	ck_assert_int_eq(lst(s, &e, 1), -EINVAL);
	e = E(0, 0, 0, 0, SIM_HVA, 1);
	e.padding[30] = 1;                              /* padding */
	ck_assert_int_eq(lst(s, &e, 1), -EINVAL);
	has(s, 0, 0, 0, 4 * PS, 0);
	ck_assert_int_eq(nslots(s), 1);
	/* The same entries done right. */
	e = E(0, LOG, 0, 4 * PS, SIM_HVA, 0);
	ck_assert_int_eq(lst(s, &e, 1), 0);
	e = E(0, LOG, 8 * PS, 4 * PS, SIM_HVA, 1);
	ck_assert_int_eq(lst(s, &e, 1), 0);
	has(s, 0, 0, 8 * PS, 4 * PS, LOG);
	e = E(0, 0, 0, 0, SIM_HVA, 1);
	ck_assert_int_eq(lst(s, &e, 1), 0);
	ck_assert_int_eq(nslots(s), 0);
	memslot_sim_free(s);
}
END_TEST

/* Invalidations are hoisted on the RFC: a delete or move must come first
 * for its id. */
START_TEST(batch_invalidate_first)
{
	struct memslot_sim *s = mk(OPTS(.batch = 1));
	entry_t e[3];

	ck_assert_int_eq(r1(s, 0, 0, 0, 4 * PS, SIM_HVA), 0);
	e[0] = E(1, 0, 16 * PS, 4 * PS, SIM_HVA, 0);        /* create 1 */
	e[1] = E(1, 0, 16 * PS, 0, SIM_HVA, 1);             /* delete 1 */
	ck_assert_int_eq(lst(s, e, 2), -EINVAL);
	e[0] = E(0, 0, 0, 0, SIM_HVA, 1);                   /* delete 0 */
	e[1] = E(0, 0, 0, 2 * PS, SIM_HVA, 0);              /* create 0 */
	e[2] = E(0, 0, 0, 0, SIM_HVA, 1);                   /* delete 0 */
	ck_assert_int_eq(lst(s, e, 3), -EINVAL);
	e[0] = E(0, 0, 8 * PS, 4 * PS, SIM_HVA, 1);         /* move 0 */
	e[1] = E(0, 0, 16 * PS, 4 * PS, SIM_HVA, 1);        /* move 0 again */
	ck_assert_int_eq(lst(s, e, 2), -EINVAL);
	e[0] = E(0, LOG, 0, 4 * PS, SIM_HVA, 0);            /* flags 0 */
	e[1] = E(0, LOG, 0, 0, SIM_HVA, 1);                 /* delete 0 */
	ck_assert_int_eq(lst(s, e, 2), -EINVAL);
	has(s, 0, 0, 0, 4 * PS, 0);
	absent(s, 0, 1);
	/* A new batch starts afresh: the same id may be deleted. */
	e[0] = E(0, 0, 0, 0, SIM_HVA, 1);
	e[1] = E(0, 0, 0, 2 * PS, SIM_HVA, 0);
	ck_assert_int_eq(lst(s, e, 2), 0);
	has(s, 0, 0, 0, 2 * PS, 0);
	e[0] = E(0, 0, 0, 0, SIM_HVA, 1);
	ck_assert_int_eq(lst(s, e, 1), 0);
	absent(s, 0, 0);
	memslot_sim_free(s);
}
END_TEST

/* Entries follow the single-slot rules of the v1 ioctl. */
START_TEST(batch_entry_rules)
{
	struct memslot_sim *s = mk(OPTS(.batch = 1, .guest_memfd = 1,
					.nr_slots = 8, .phys_bits = 40));
	entry_t e[3];

	e[0] = E(0, 0, 0, PS, SIM_HVA, 0);
	e[1] = E(1, GMEM, PS, PS, SIM_HVA, 0);              /* A2 */
	ck_assert_int_eq(lst(s, e, 2), -EINVAL);
	e[1] = E(8, 0, PS, PS, SIM_HVA, 0);                 /* B */
	ck_assert_int_eq(lst(s, e, 2), -EINVAL);
	e[1] = E(SLOT(2, 1), 0, PS, PS, SIM_HVA, 0);        /* D7 */
	ck_assert_int_eq(lst(s, e, 2), -EINVAL);
	e[1] = E(1, 0, PS, PS, SIM_HVA + 1, 0);             /* D5 */
	ck_assert_int_eq(lst(s, e, 2), -EINVAL);
	e[1] = E(1, 0, 1ull << 40, PS, SIM_HVA, 0);         /* K */
	ck_assert_int_eq(lst(s, e, 2), -EINVAL);
	ck_assert_int_eq(nslots(s), 0);
	/* The first failing entry gives the errno. */
	e[1] = E(1, 0, 0, PS, SIM_HVA, 0);                  /* EEXIST */
	e[2] = E(2, 8, 0, PS, SIM_HVA, 0);                  /* EINVAL */
	ck_assert_int_eq(lst(s, e, 3), -EEXIST);
	e[1] = E(1, 8, 0, PS, SIM_HVA, 0);
	e[2] = E(2, 0, 0, PS, SIM_HVA, 0);
	ck_assert_int_eq(lst(s, e, 3), -EINVAL);
	ck_assert_int_eq(nslots(s), 0);
	e[1] = E(SLOT(1, 7), RO, 0, PS, SIM_HVA, 0);
	ck_assert_int_eq(lst(s, e, 2), 0);
	ck_assert_int_eq(nslots(s), 2);
	memslot_sim_free(s);
}
END_TEST

/* ---- fault injection and counts ------------------------------------------ */

START_TEST(fault_basic)
{
	struct memslot_sim *s = mk(OPTS(.batch = 1));
	entry_t e = E(1, 0, PS, PS, SIM_HVA, 0);

	ck_assert_int_eq(memslot_sim_fail_nth(s, 1, 0), -EINVAL);
	ck_assert_int_eq(memslot_sim_fail_nth(s, 1, -EIO), -EINVAL);
	ck_assert_int_eq(memslot_sim_fail_nth(NULL, 1, EIO), -EINVAL);
	ck_assert_int_eq(r1(s, 0, 0, 0, PS, SIM_HVA), 0);   /* not armed */
	ck_assert_int_eq(memslot_sim_fail_nth(s, 1, ENOMEM), 0);
	ck_assert_int_eq(r1(s, 2, 0, 8 * PS, PS, SIM_HVA), -ENOMEM);
	absent(s, 0, 2);
	ck_assert_int_eq(r1(s, 2, 0, 8 * PS, PS, SIM_HVA), 0);  /* one shot */
	/* Before every rule, even a request that would fail anyway. */
	ck_assert_int_eq(memslot_sim_fail_nth(s, 1, ENOSPC), 0);
	ck_assert_int_eq(r1(s, 3, 8, 1, 1, 1), -ENOSPC);
	/* On the batch ioctl, the probe included; nothing is applied. */
	ck_assert_int_eq(memslot_sim_fail_nth(s, 1, EIO), 0);
	ck_assert_int_eq(lst(s, NULL, 0), -EIO);
	ck_assert_int_eq(memslot_sim_fail_nth(s, 1, EIO), 0);
	ck_assert_int_eq(lst(s, &e, 1), -EIO);
	absent(s, 0, 1);
	ck_assert_int_eq(lst(s, &e, 1), 0);
	memslot_sim_free(s);
}
END_TEST

START_TEST(fault_nth)
{
	struct memslot_sim *s = mk(NULL);

	ck_assert_int_eq(memslot_sim_fail_nth(s, 3, EFAULT), 0);
	ck_assert_int_eq(r1(s, 0, 0, 0, PS, SIM_HVA), 0);
	/* CHECK_EXTENSION and unknown requests are not counted. */
	ck_assert_int_eq(ext(s, KVM_CAP_NR_MEMSLOTS), 32764);
	ck_assert_int_eq(memslot_sim_ioctl(s, -1, 0xAE00, NULL), -ENOTTY);
	/* A failing request counts. */
	ck_assert_int_eq(r2(s, 1, 0, 0, PS, SIM_HVA, 0, 0), -EEXIST);
	ck_assert_int_eq(r2(s, 1, 0, PS, PS, SIM_HVA, 0, 0), -EFAULT);
	absent(s, 0, 1);
	ck_assert_int_eq(r2(s, 1, 0, PS, PS, SIM_HVA, 0, 0), 0);
	/* nth = 0 disarms, whatever err says. */
	ck_assert_int_eq(memslot_sim_fail_nth(s, 2, EIO), 0);
	ck_assert_int_eq(memslot_sim_fail_nth(s, 0, 0), 0);
	for (int i = 2; i < 6; i++)
		ck_assert_int_eq(r1(s, (uint32_t)i, 0, (uint64_t)i * PS, PS,
				    SIM_HVA), 0);
	/* Re-arming replaces the earlier setting. */
	ck_assert_int_eq(memslot_sim_fail_nth(s, 5, EIO), 0);
	ck_assert_int_eq(memslot_sim_fail_nth(s, 1, EBUSY), 0);
	ck_assert_int_eq(r1(s, 9, 0, 9 * PS, PS, SIM_HVA), -EBUSY);
	for (int i = 0; i < 6; i++)
		ck_assert_int_eq(r1(s, 10, 0, 10 * PS, PS, SIM_HVA), 0);
	ck_assert_int_eq(nslots(s), 7);
	memslot_sim_free(s);
}
END_TEST

START_TEST(counts)
{
	struct memslot_sim *s = mk(OPTS(.no_region2 = 1));

	for (int k = 0; k <= MEMSLOT_SIM_ALL; k++)
		ck_assert_int_eq(memslot_sim_count(s, k), 0);
	ck_assert_int_eq(r1(s, 0, 0, 0, PS, SIM_HVA), 0);
	ck_assert_int_eq(r1(s, 0, 8, 0, PS, SIM_HVA), -EINVAL);
	ck_assert_int_eq(r1(s, 0, 0, 0, PS, SIM_HVA), 0);
	ck_assert_int_eq(r2(s, 0, 0, 0, PS, SIM_HVA, 0, 0), -ENOTTY);
	ck_assert_int_eq(lst(s, NULL, 0), -ENOTTY);
	ck_assert_int_eq(lst(s, NULL, 0), -ENOTTY);
	ext(s, KVM_CAP_NR_MEMSLOTS);
	ext(s, 0);
	ext(s, 12345);
	memslot_sim_ioctl(s, -1, 0x1234, NULL);
	ck_assert_int_eq(memslot_sim_count(s, MEMSLOT_SIM_REGION), 3);
	ck_assert_int_eq(memslot_sim_count(s, MEMSLOT_SIM_REGION2), 1);
	ck_assert_int_eq(memslot_sim_count(s, MEMSLOT_SIM_LIST), 2);
	ck_assert_int_eq(memslot_sim_count(s, MEMSLOT_SIM_CHECK_EXTENSION), 3);
	ck_assert_int_eq(memslot_sim_count(s, MEMSLOT_SIM_OTHER), 1);
	ck_assert_int_eq(memslot_sim_count(s, MEMSLOT_SIM_ALL), 10);
	ck_assert_int_eq(memslot_sim_count(s, -1), -EINVAL);
	ck_assert_int_eq(memslot_sim_count(s, MEMSLOT_SIM_ALL + 1), -EINVAL);
	ck_assert_int_eq(memslot_sim_count(NULL, MEMSLOT_SIM_ALL), -EINVAL);
	memslot_sim_free(s);
}
END_TEST

/* ---- foreach ------------------------------------------------------------- */

struct seen {
	uint32_t keys[8];
	int n;
	int stop_at;
};

static int seen_fn(const struct memslot_region *r, void *opaque)
{
	struct seen *v = opaque;

	v->keys[v->n++] = SLOT(r->as_id, r->slot);
	return v->n == v->stop_at ? 42 : 0;
}

START_TEST(foreach_order_and_stop)
{
	struct memslot_sim *s = mk(NULL);
	struct seen v = { .stop_at = 0 };

	ck_assert_int_eq(r1(s, SLOT(1, 0), 0, 0, PS, SIM_HVA), 0);
	ck_assert_int_eq(r1(s, SLOT(0, 5), 0, 0, PS, SIM_HVA), 0);
	ck_assert_int_eq(r1(s, SLOT(0, 2), 0, 8 * PS, PS, SIM_HVA), 0);
	ck_assert_int_eq(r1(s, SLOT(1, 32763), 0, 8 * PS, PS, SIM_HVA), 0);
	ck_assert_int_eq(memslot_sim_foreach(s, seen_fn, &v), 0);
	ck_assert_int_eq(v.n, 4);
	ck_assert_uint_eq(v.keys[0], SLOT(0, 2));
	ck_assert_uint_eq(v.keys[1], SLOT(0, 5));
	ck_assert_uint_eq(v.keys[2], SLOT(1, 0));
	ck_assert_uint_eq(v.keys[3], SLOT(1, 32763));
	memset(&v, 0, sizeof(v));
	v.stop_at = 2;
	ck_assert_int_eq(memslot_sim_foreach(s, seen_fn, &v), 42);
	ck_assert_int_eq(v.n, 2);
	ck_assert_int_eq(memslot_sim_foreach(s, NULL, NULL), -EINVAL);
	ck_assert_int_eq(memslot_sim_foreach(NULL, seen_fn, &v), -EINVAL);
	memslot_sim_free(s);
}
END_TEST

/* ---- scale --------------------------------------------------------------- */

/* The selftest's test_add_max_memory_regions(), plus the last id of the
 * second address space, in descending gpa order (the worst case for an
 * array sorted by gpa). */
START_TEST(full_table)
{
	struct memslot_sim *s = mk(NULL);
	uint64_t sz = 2ull << 20;

	for (uint32_t id = 32764; id-- > 0;)
		ck_assert_int_eq(r1(s, id, 0, id * sz, sz, SIM_HVA), 0);
	ck_assert_int_eq(r1(s, 32764, 0, 32764 * sz, sz, SIM_HVA), -EINVAL);
	ck_assert_int_eq(r1(s, SLOT(1, 32763), 0, 0, sz, SIM_HVA), 0);
	ck_assert_int_eq(nslots(s), 32765);
	ck_assert_int_eq(r1(s, 100, 0, 100 * sz + PS, sz, SIM_HVA), -EEXIST);
	ck_assert_int_eq(r1(s, 100, 0, 0, 0, SIM_HVA), 0);
	ck_assert_int_eq(r1(s, 101, 0, 100 * sz, sz, SIM_HVA), 0);
	ck_assert_int_eq(r1(s, 99, 0, 99 * sz + PS, sz, SIM_HVA), -EEXIST);
	ck_assert_int_eq(nslots(s), 32764);
	memslot_sim_free(s);
}
END_TEST

/* ---- random runs against a naive model ----------------------------------- */

/*
 * A deliberately simple model of the rules that random well-formed
 * requests reach: E1, E6, E7 and F with linear scans.  It checks the
 * sim's sorted arrays and its batch undo on many table shapes.
 */
#define M_IDS 24
#define M_AS 2

struct mslot {
	bool present;
	uint32_t flags;
	uint64_t gpa, size, hva;
};

struct model {
	struct mslot s[M_AS][M_IDS];
};

static bool m_overlap(const struct model *m, uint16_t as, uint16_t id,
		      uint64_t gpa, uint64_t size)
{
	for (int j = 0; j < M_IDS; j++) {
		const struct mslot *o = &m->s[as][j];

		if (j != id && o->present && gpa < o->gpa + o->size &&
		    o->gpa < gpa + size)
			return true;
	}
	return false;
}

/* Expected result of one request; *noop says nothing would change. */
static int m_expect(const struct model *m, uint16_t as, uint16_t id,
		    const struct mslot *rq, bool *noop)
{
	const struct mslot *o = &m->s[as][id];

	*noop = false;
	if (rq->size == 0)
		return o->present ? 0 : -EINVAL;
	if (o->present) {
		if (rq->hva != o->hva || rq->size != o->size ||
		    ((rq->flags ^ o->flags) & RO))
			return -EINVAL;
		if (rq->gpa == o->gpa) {
			*noop = rq->flags == o->flags;
			return 0;
		}
	}
	return m_overlap(m, as, id, rq->gpa, rq->size) ? -EEXIST : 0;
}

static void m_apply(struct model *m, uint16_t as, uint16_t id,
		    const struct mslot *rq)
{
	m->s[as][id] = *rq;
	m->s[as][id].present = rq->size != 0;
}

/*
 * Plain comparisons, one assertion per step: Check logs every assertion
 * it passes, which would dominate the run time here.
 */
static int m_check_fn(const struct memslot_region *r, void *opaque)
{
	const struct model *m = opaque;
	const struct mslot *o;

	if (r->as_id >= M_AS || r->slot >= M_IDS)
		return 1;
	o = &m->s[r->as_id][r->slot];
	if (!o->present || r->guest_phys_addr != o->gpa ||
	    r->memory_size != o->size || r->userspace_addr != o->hva ||
	    r->flags != o->flags)
		return 1;
	return 0;
}

static void m_compare(const struct memslot_sim *s, const struct model *m,
		      int step)
{
	int n = 0, seen = 0, bad;

	for (int as = 0; as < M_AS; as++)
		for (int id = 0; id < M_IDS; id++)
			n += m->s[as][id].present;
	bad = memslot_sim_foreach(s, m_check_fn, (void *)m);
	if (!bad)
		memslot_sim_foreach(s, count_fn, &seen);
	ck_assert_msg(!bad && seen == n,
		      "step %d: table differs from the model", step);
}

/* A random request, biased towards touching existing slots. */
static void m_random(const struct model *m, unsigned int *seed,
		     uint16_t *as, uint16_t *id, struct mslot *rq)
{
	const struct mslot *o;

	*as = (uint16_t)(rand_r(seed) % M_AS);
	*id = (uint16_t)(rand_r(seed) % M_IDS);
	o = &m->s[*as][*id];
	memset(rq, 0, sizeof(*rq));
	if (o->present && rand_r(seed) % 4) {
		*rq = *o;
		switch (rand_r(seed) % 5) {
		case 0: rq->size = 0; break;
		case 1: rq->gpa = (uint64_t)(rand_r(seed) % 96) * PS; break;
		case 2: rq->flags ^= LOG; break;
		case 3: rq->flags ^= (rand_r(seed) % 2) ? RO : 0; break;
		default: rq->size += (rand_r(seed) % 2) * PS; break;
		}
		return;
	}
	rq->gpa = (uint64_t)(rand_r(seed) % 96) * PS;
	rq->size = (uint64_t)(1 + rand_r(seed) % 8) * PS;
	rq->hva = SIM_HVA + (uint64_t)(rand_r(seed) % 4) * PS;
	rq->flags = (uint32_t)(rand_r(seed) % 4);
	if (rand_r(seed) % 8 == 0)
		rq->size = 0;
}

START_TEST(random_single)
{
	struct memslot_sim *s = mk(OPTS(.nr_slots = M_IDS));
	struct model m;
	unsigned int seed = 0x5eed + (unsigned int)_i;

	memset(&m, 0, sizeof(m));
	for (int step = 0; step < 4000; step++) {
		struct mslot rq;
		uint16_t as, id;
		bool noop;
		int want, got;

		m_random(&m, &seed, &as, &id, &rq);
		want = m_expect(&m, as, id, &rq, &noop);
		got = r1(s, SLOT(as, id), rq.flags, rq.gpa, rq.size, rq.hva);
		if (got != want)
			ck_abort_msg("step %d: got %d, want %d", step, got,
				     want);
		if (!want)
			m_apply(&m, as, id, &rq);
		m_compare(s, &m, step);
	}
	memslot_sim_free(s);
}
END_TEST

/*
 * Random batches: the model applies each entry in order to a copy and
 * keeps the copy only when every entry succeeds.  The generator leaves
 * out what the batch refuses on top of the single-slot rules (no-ops,
 * and a delete or move of an id touched earlier), so that the errno of
 * each entry is the model's.
 */
START_TEST(random_batch)
{
	struct memslot_sim *s = mk(OPTS(.nr_slots = M_IDS, .batch = 1));
	struct model m;
	unsigned int seed = 0xba7c + (unsigned int)_i;
	int ok = 0;

	memset(&m, 0, sizeof(m));
	for (int step = 0; step < 1500; step++) {
		struct model w = m;
		bool touched[M_AS][M_IDS] = { { false } };
		entry_t e[6];
		int n = 1 + rand_r(&seed) % 6, want = 0, got, k = 0;

		while (k < n) {
			struct mslot rq;
			uint16_t as, id;
			bool noop, inval;
			int r;

			m_random(&w, &seed, &as, &id, &rq);
			r = m_expect(&w, as, id, &rq, &noop);
			inval = w.s[as][id].present &&
				(rq.size == 0 || rq.gpa != w.s[as][id].gpa);
			if (noop || (inval && touched[as][id]))
				continue;
			e[k++] = E(SLOT(as, id), rq.flags, rq.gpa, rq.size,
				   rq.hva, inval);
			if (want)
				continue;
			want = r;
			if (!r) {
				m_apply(&w, as, id, &rq);
				touched[as][id] = true;
			}
		}
		got = lst(s, e, (uint32_t)n);
		if (got != want)
			ck_abort_msg("step %d: got %d, want %d", step, got,
				     want);
		if (!want) {
			m = w;
			ok++;
		}
		m_compare(s, &m, step);
	}
	/* The generator must give both outcomes a fair share. */
	ck_assert_int_gt(ok, 50);
	ck_assert_int_lt(ok, 1450);
	memslot_sim_free(s);
}
END_TEST

/* ---- runner -------------------------------------------------------------- */

static Suite *sim_suite(void)
{
	Suite *su = suite_create("sim");
	TCase *tc;

	tc = tcase_create("caps");
	tcase_add_test(tc, caps_default);
	tcase_add_test(tc, caps_set);
	tcase_add_test(tc, unknown_request);
	suite_add_tcase(su, tc);

	tc = tcase_create("opts");
	tcase_add_test(tc, opts_null_and_bad_args);
	tcase_add_test(tc, opts_sz_small);
	tcase_add_test(tc, opts_sz_older);
	tcase_add_test(tc, opts_sz_larger);
	tcase_add_test(tc, opts_ranges);
	suite_add_tcase(su, tc);

	tc = tcase_create("rules");
	tcase_add_test(tc, create_and_report);
	tcase_add_test(tc, a1_null_arg);
	tcase_add_test(tc, a2_d1_every_bit);
	tcase_add_test(tc, a2_v1_gmem);
	tcase_add_test(tc, b_slot_id);
	tcase_add_test(tc, d1_readonly);
	tcase_add_test(tc, d1_gmem);
	tcase_add_test(tc, d3_size_alignment);
	tcase_add_test(tc, d4_gpa_alignment);
	tcase_add_test(tc, d5_hva);
	tcase_add_test(tc, d6_gmem_offset);
	tcase_add_test(tc, d7_as_id);
	tcase_add_test(tc, d8_gpa_wrap);
	tcase_add_test(tc, d9_max_pages);
	tcase_add_test(tc, e1_delete_missing);
	tcase_add_test(tc, e4_e5_gmem_immutable);
	tcase_add_test(tc, e6_immutable_fields);
	tcase_add_test(tc, e7_move_flags_noop);
	tcase_add_test(tc, f_overlap);
	tcase_add_test(tc, f_overlap_many);
	tcase_add_test(tc, h_gmem_bind);
	tcase_add_test(tc, h_gmem_offset_loff);
	tcase_add_test(tc, k_phys_bits);
	tcase_add_test(tc, region2_absent);
	tcase_add_test(tc, order_rules);
	suite_add_tcase(su, tc);

	tc = tcase_create("batch");
	tcase_add_test(tc, batch_probe_and_header);
	tcase_add_test(tc, batch_max);
	tcase_add_test(tc, batch_in_order);
	tcase_add_test(tc, batch_all_or_nothing);
	tcase_add_test(tc, batch_undo_gmem);
	tcase_add_test(tc, batch_rfc_partial);
	tcase_add_test(tc, batch_invalidate_rules);
	tcase_add_test(tc, batch_invalidate_first);
	tcase_add_test(tc, batch_entry_rules);
	suite_add_tcase(su, tc);

	tc = tcase_create("faults");
	tcase_add_test(tc, fault_basic);
	tcase_add_test(tc, fault_nth);
	tcase_add_test(tc, counts);
	tcase_add_test(tc, foreach_order_and_stop);
	suite_add_tcase(su, tc);

	tc = tcase_create("scale");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, full_table);
	tcase_add_loop_test(tc, random_single, 0, 4);
	tcase_add_loop_test(tc, random_batch, 0, 4);
	suite_add_tcase(su, tc);
	return su;
}

int main(void)
{

	PS = (uint64_t)sysconf(_SC_PAGESIZE);
	LIMIT = memslot_user_addr_limit();
	return run_suite(sim_suite());
}
