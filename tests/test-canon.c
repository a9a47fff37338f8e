/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The canonical list and its encoding.
 *
 * Property test (seeded; MEMSLOT_TEST_SEED overrides, the seed is
 * printed): random transactions are applied three ways, and the three
 * simulated kernels must end with the same table:
 *   A: the caller's list, one raw ioctl per accepted change;
 *   B: the canonical list, sequential commit;
 *   C: the canonical list, batch commit (the proposal's semantics).
 * The library's verdict on every change must equal A's, errno included;
 * every encoded list must be free of the inputs that crash the RFC.
 */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvm-compat.h"
#include "testutil.h"

/* ---- layout and golden bytes ---- */

START_TEST(struct_layout)
{
	ck_assert_uint_eq(sizeof(struct kvm_userspace_memory_region_list), 8);
	ck_assert_uint_eq(offsetof(struct kvm_userspace_memory_region_list, nent), 0);
	ck_assert_uint_eq(offsetof(struct kvm_userspace_memory_region_list, flags), 4);
	ck_assert_uint_eq(offsetof(struct kvm_userspace_memory_region_list, entries), 8);
	ck_assert_uint_eq(sizeof(struct kvm_userspace_memory_region_entry), 64);
	ck_assert_uint_eq(offsetof(struct kvm_userspace_memory_region_entry, slot), 0);
	ck_assert_uint_eq(offsetof(struct kvm_userspace_memory_region_entry, flags), 4);
	ck_assert_uint_eq(offsetof(struct kvm_userspace_memory_region_entry,
				   guest_phys_addr), 8);
	ck_assert_uint_eq(offsetof(struct kvm_userspace_memory_region_entry,
				   memory_size), 16);
	ck_assert_uint_eq(offsetof(struct kvm_userspace_memory_region_entry,
				   userspace_addr), 24);
	ck_assert_uint_eq(offsetof(struct kvm_userspace_memory_region_entry,
				   invalidate_slot), 32);
	ck_assert_uint_eq(offsetof(struct kvm_userspace_memory_region_entry,
				   padding), 33);
	ck_assert_uint_eq(sizeof(struct kvm_userspace_memory_region2), 160);
	ck_assert_uint_eq(offsetof(struct kvm_userspace_memory_region2,
				   guest_memfd_offset), 32);
	ck_assert_uint_eq(offsetof(struct kvm_userspace_memory_region2,
				   guest_memfd), 40);
	ck_assert_uint_eq(KVM_SET_USER_MEMORY_REGION_LIST, 0x4008AE49);
	ck_assert_uint_eq(KVM_SET_USER_MEMORY_REGION2, 0x40A0AE49);
	ck_assert_uint_eq(KVM_SET_USER_MEMORY_REGION, 0x4020AE46);
}
END_TEST

/* Little-endian bytes of a 64-byte entry. */
#define U32(x) (x) & 0xff, (x) >> 8 & 0xff, (x) >> 16 & 0xff, (x) >> 24 & 0xff
#define U64(x) U32((x) & 0xffffffffull), U32((x) >> 32)
#define ENTRY(slot, flags, gpa, size, hva, inv) \
	U32(slot), U32(flags), U64(gpa), U64(size), U64(hva), inv, \
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, \
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0

START_TEST(encode_golden_bytes)
{
	/* A resize of slot 1, a move of 2, and a new slot in SMM. */
	static const unsigned char want[] = {
		U32(4u), U32(0u),
		ENTRY(1u, 0u, 0x100000ull, 0ull, 0x7f0000100000ull, 1),
		ENTRY(0x10003u, 1u, 0x800000ull, 0x2000ull, 0x7f0000800000ull, 0),
		ENTRY(1u, 2u, 0x100000ull, 0x80000ull, 0x7f0000100000ull, 0),
		ENTRY(2u, 0u, 0x400000ull, 0x100000ull, 0x7f0000200000ull, 1),
	};
	struct fixture f;
	struct memslot_txn *txn;
	struct memslot_region r;
	unsigned char buf[sizeof(want) + 16];

	fixture_init(&f, NULL, MEMSLOT_MODE_SEQUENTIAL, 0);
	commit_add(&f, test_region(0, 1, 0x100000, 0x100000, 0x7f0000100000, 0));
	commit_add(&f, test_region(0, 2, 0x200000, 0x100000, 0x7f0000200000, 0));
	ck_assert_int_eq(memslot_txn_begin(f.vm, &txn), 0);
	ck_assert_int_eq(memslot_txn_delete(txn, 0, 1), 0);
	r = test_region(1, 3, 0x800000, 0x2000, 0x7f0000800000, 1);
	ck_assert_int_eq(memslot_txn_add(txn, &r, NULL), 0);
	r = test_region(0, 1, 0x100000, 0x80000, 0x7f0000100000, MEMSLOT_READONLY);
	ck_assert_int_eq(memslot_txn_add(txn, &r, NULL), 0);
	ck_assert_int_eq(memslot_txn_move(txn, 0, 2, 0x400000), 0);
	/* size query, a short buffer, then the real thing */
	ck_assert_int_eq(memslot_txn_encode(txn, NULL, 0), (ssize_t)sizeof(want));
	memset(buf, 0xaa, sizeof(buf));
	ck_assert_int_eq(memslot_txn_encode(txn, buf, sizeof(want) - 1),
			 (ssize_t)sizeof(want));
	ck_assert_uint_eq(buf[0], 0xaa);
	ck_assert_int_eq(memslot_txn_encode(txn, buf, sizeof(buf)),
			 (ssize_t)sizeof(want));
	ck_assert_mem_eq(buf, want, sizeof(want));
	ck_assert_uint_eq(buf[sizeof(want)], 0xaa);
	ck_assert_int_eq(memslot_txn_encode(txn, NULL, 8), -EINVAL);
	ck_assert_int_eq(memslot_txn_encode(NULL, buf, sizeof(buf)), -EINVAL);
	memslot_txn_abort(txn);
	fixture_fini(&f);
}
END_TEST

START_TEST(encode_cancelled_changes)
{
	struct fixture f;
	struct memslot_txn *txn;
	struct memslot_region r = test_region(0, 4, 0, PAGE, HVA(4), 0);
	unsigned char buf[64];

	fixture_init(&f, NULL, MEMSLOT_MODE_SEQUENTIAL, 0);
	commit_add(&f, test_region(0, 1, MiB, MiB, HVA(1), 0));
	ck_assert_int_eq(memslot_txn_begin(f.vm, &txn), 0);
	/* create then delete a new id; move away and back; flags on and off;
	 * delete and re-create identical; an identical re-issue */
	ck_assert_int_eq(memslot_txn_add(txn, &r, NULL), 0);
	ck_assert_int_eq(memslot_txn_delete(txn, 0, 4), 0);
	ck_assert_int_eq(memslot_txn_move(txn, 0, 1, 8 * MiB), 0);
	ck_assert_int_eq(memslot_txn_move(txn, 0, 1, MiB), 0);
	ck_assert_int_eq(memslot_txn_set_flags(txn, 0, 1, 1), 0);
	ck_assert_int_eq(memslot_txn_set_flags(txn, 0, 1, 0), 0);
	ck_assert_int_eq(memslot_txn_delete(txn, 0, 1), 0);
	r = test_region(0, 1, MiB, MiB, HVA(1), 0);
	ck_assert_int_eq(memslot_txn_add(txn, &r, NULL), 0);
	ck_assert_int_eq(memslot_txn_add(txn, &r, NULL), 0);
	ck_assert_int_eq(memslot_txn_count(txn), 9);
	ck_assert_int_eq(memslot_txn_encode(txn, buf, sizeof(buf)), 8);
	ck_assert_uint_eq(*(uint32_t *)buf, 0);
	ck_assert_int_eq(memslot_txn_commit(txn, NULL), 0);
	ck_assert_int_eq(memslot_sim_count(f.sim, MEMSLOT_SIM_REGION2), 1);
	assert_view_matches(&f);
	fixture_fini(&f);
}
END_TEST

/* ---- random transactions ---- */

#define NR_IDS 12
#define GRID 24      /* gpa grid of 24 pages per address space */

static uint64_t rng;

static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)((rng >> 16) % n);
}

/* A model of the kernel table, to replay encoded lists against. */
struct model {
	bool present[2][NR_IDS];
	struct kvm_userspace_memory_region_entry e[2][NR_IDS];
};

static int model_collect(const struct memslot_region *r, void *opaque)
{
	struct model *m = opaque;
	struct kvm_userspace_memory_region_entry *e = &m->e[r->as_id][r->slot];

	m->present[r->as_id][r->slot] = true;
	e->flags = r->flags;
	e->guest_phys_addr = r->guest_phys_addr;
	e->memory_size = r->memory_size;
	e->userspace_addr = r->userspace_addr;
	return 0;
}

/*
 * Nothing in an encoded list may be an input that crashes, wedges or
 * half-applies on the posted RFC (rfc-kernel-measured.md).
 */
static void check_rfc_safe(const unsigned char *buf, struct memslot_sim *sim)
{
	const struct kvm_userspace_memory_region_list *l = (const void *)buf;
	bool created[2][NR_IDS] = { { false } };
	struct model m = { { { false } } };

	ck_assert_int_eq(memslot_sim_foreach(sim, model_collect, &m), 0);
	ck_assert_uint_eq(l->flags, 0);
	for (uint32_t i = 0; i < l->nent; i++) {
		const struct kvm_userspace_memory_region_entry *e = &l->entries[i];
		uint32_t as = e->slot >> 16, id = e->slot & 0xffff;
		bool exists, is_delete, is_move;

		ck_assert_uint_lt(as, 2);
		ck_assert_uint_lt(id, NR_IDS);
		for (int p = 0; p < 31; p++)
			ck_assert_uint_eq(e->padding[p], 0);
		exists = m.present[as][id];
		is_delete = exists && !e->memory_size;
		is_move = exists && e->memory_size &&
			  e->guest_phys_addr != m.e[as][id].guest_phys_addr;
		/* invalidate_slot exactly on deletes and moves */
		ck_assert_uint_eq(e->invalidate_slot, is_delete || is_move);
		/* never a no-op entry */
		if (exists && e->memory_size)
			ck_assert(memcmp(e, &m.e[as][id], 32) != 0 ||
				  e->slot != m.e[as][id].slot);
		/* never create then delete or move the same id */
		if (is_delete || is_move)
			ck_assert(!created[as][id]);
		if (!exists)
			created[as][id] = true;
		m.present[as][id] = e->memory_size != 0;
		m.e[as][id] = *e;
		m.e[as][id].slot = e->slot;
	}
}

struct world {
	struct fixture b, c;          /* sequential and batch */
	struct memslot_sim *a;        /* the caller's list, change by change */
};

static int raw_a(struct world *w, const struct memslot_region *r)
{
	struct kvm_userspace_memory_region2 k = {
		.slot = (uint32_t)r->as_id << 16 | r->slot,
		.flags = r->flags,
		.guest_phys_addr = r->guest_phys_addr,
		.memory_size = r->memory_size,
		.userspace_addr = r->userspace_addr,
	};

	return memslot_sim_ioctl(w->a, -1, KVM_SET_USER_MEMORY_REGION2, &k);
}

static struct memslot_region fresh_request(void)
{
	static const uint64_t sizes[] = { 0, 1, 1, 2, 3, 5, 8 };
	uint16_t slot = rnd(8) ? (uint16_t)rnd(NR_IDS) : MEMSLOT_ANY_SLOT;
	uint32_t flags = rnd(4) ? 0 : 1u << rnd(3);
	uint64_t gpa = rnd(GRID) * PAGE;

	if (!rnd(40))
		gpa += 512;   /* unaligned */
	/* each id keeps one host address, so re-issues can match */
	return test_region(rnd(6) ? 0 : 1, slot, gpa, sizes[rnd(7)] * PAGE,
		      HVA(slot == MEMSLOT_ANY_SLOT ? rnd(NR_IDS) : slot),
		      flags);
}

/*
 * Mostly changes to existing slots (A's table is the pending view):
 * moves, dirty-log toggles, deletes, identical re-issues, and the
 * refused READONLY toggles and resizes.
 */
static struct memslot_region random_request(struct memslot_sim *a)
{
	struct model m = { { { false } } };
	struct kvm_userspace_memory_region_entry *e;
	struct memslot_region r;
	uint32_t as = rnd(6) ? 0 : 1, id = rnd(NR_IDS), pick = rnd(100);

	ck_assert_int_eq(memslot_sim_foreach(a, model_collect, &m), 0);
	if (pick < 35 || !m.present[as][id])
		return fresh_request();
	e = &m.e[as][id];
	r = test_region((uint16_t)as, (uint16_t)id, e->guest_phys_addr,
		   e->memory_size, e->userspace_addr, e->flags);
	if (pick < 70)
		r.guest_phys_addr = rnd(GRID) * PAGE;
	else if (pick < 82)
		r.flags ^= MEMSLOT_LOG_DIRTY_PAGES;
	else if (pick < 92)
		r.memory_size = 0;
	else if (pick < 95)
		r.flags ^= MEMSLOT_READONLY;
	else if (pick < 97)
		r.memory_size += PAGE;
	return r;
}

static int accepted;

/* Add the same change to both transactions and to A; all must agree. */
static void one_change(struct world *w, struct memslot_txn *tb,
		       struct memslot_txn *tc, int step)
{
	struct memslot_region r = random_request(w->a);
	uint16_t idb = 0, idc = 0;
	int vb = memslot_txn_add(tb, &r, &idb);
	int vc = memslot_txn_add(tc, &r, &idc);
	int va;

	ck_assert_int_eq(vb, vc);
	if (r.slot == MEMSLOT_ANY_SLOT) {
		/* A rejected request does not say which id it would have had. */
		if (vb)
			return;
		ck_assert_uint_eq(idb, idc);
		r.slot = idb;
	}
	va = raw_a(w, &r);
	ck_assert_msg(va == vb, "step %d: as %u slot %u gpa %#" PRIx64
		      " size %#" PRIx64 " flags %u: kernel %d, library %d",
		      step, r.as_id, r.slot, r.guest_phys_addr, r.memory_size,
		      r.flags, va, vb);
	accepted += !vb;
}

static void assert_same_tables(struct memslot_sim *x, struct memslot_sim *y)
{
	struct model mx = { { { false } } }, my = { { { false } } };

	ck_assert_int_eq(memslot_sim_foreach(x, model_collect, &mx), 0);
	ck_assert_int_eq(memslot_sim_foreach(y, model_collect, &my), 0);
	ck_assert_mem_eq(&mx, &my, sizeof(mx));
}

START_TEST(canonical_list_has_the_same_effect)
{
	const char *env = getenv("MEMSLOT_TEST_SEED");
	uint64_t seed = env ? strtoull(env, NULL, 0) : 0x5eed1e55ull;
	struct memslot_sim_opts so = { .sz = sizeof(so), .nr_slots = NR_IDS };
	struct world w;
	int commits = 0, changes = 0;

	printf("test-canon: seed %#" PRIx64 "\n", seed);
	rng = seed | 1;
	fixture_init(&w.b, &so, MEMSLOT_MODE_SEQUENTIAL, 0);
	so.batch = 1;
	fixture_init(&w.c, &so, MEMSLOT_MODE_BATCH, 0);
	so.batch = 0;
	ck_assert_int_eq(memslot_sim_new(&so, &w.a), 0);
	for (int t = 0; t < 3000; t++) {
		struct memslot_txn *tb, *tc;
		int n = 1 + (int)rnd(10);
		unsigned char buf[8 + 64 * 2 * NR_IDS * 2];
		ssize_t len;

		ck_assert_int_eq(memslot_txn_begin(w.b.vm, &tb), 0);
		ck_assert_int_eq(memslot_txn_begin(w.c.vm, &tc), 0);
		for (int i = 0; i < n; i++)
			one_change(&w, tb, tc, changes++);
		len = memslot_txn_encode(tc, buf, sizeof(buf));
		ck_assert_int_gt(len, 0);
		ck_assert_int_le(len, (ssize_t)sizeof(buf));
		check_rfc_safe(buf, w.c.sim);
		ck_assert_int_eq(memslot_txn_commit(tb, NULL), 0);
		ck_assert_int_eq(memslot_txn_commit(tc, NULL), 0);
		assert_view_matches(&w.b);
		assert_view_matches(&w.c);
		assert_same_tables(w.a, w.b.sim);
		assert_same_tables(w.a, w.c.sim);
		commits++;
	}
	printf("test-canon: %d transactions, %d changes (%d accepted), "
	       "all equal\n", commits, changes, accepted);
	/* a generator that only made rejected changes would prove nothing */
	ck_assert_int_gt(accepted, changes / 4);
	memslot_sim_free(w.a);
	fixture_fini(&w.b);
	fixture_fini(&w.c);
}
END_TEST

START_TEST(move_cycles_are_broken)
{
	/* Three slots rotate through each other's ranges via a spare range. */
	struct fixture f;
	struct memslot_txn *txn;
	struct memslot_error err = { .sz = sizeof(err) };

	fixture_init(&f, NULL, MEMSLOT_MODE_SEQUENTIAL, 0);
	for (uint16_t i = 0; i < 3; i++)
		commit_add(&f, test_region(0, i, i * MiB, MiB, HVA(i), 0));
	ck_assert_int_eq(memslot_txn_begin(f.vm, &txn), 0);
	ck_assert_int_eq(memslot_txn_move(txn, 0, 0, 10 * MiB), 0);
	ck_assert_int_eq(memslot_txn_move(txn, 0, 2, 0), 0);
	ck_assert_int_eq(memslot_txn_move(txn, 0, 1, 2 * MiB), 0);
	ck_assert_int_eq(memslot_txn_move(txn, 0, 0, 1 * MiB), 0);
	ck_assert_int_eq(memslot_txn_commit(txn, &err), 0);
	/* one move became delete + create: 4 requests, and a hole */
	ck_assert_uint_eq(err.issued, 4);
	ck_assert_int_eq(f.quiesced, 1);
	assert_view_matches(&f);
	fixture_fini(&f);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("canon");
	TCase *tc = tcase_create("encode");

	tcase_add_test(tc, struct_layout);
	tcase_add_test(tc, encode_golden_bytes);
	tcase_add_test(tc, encode_cancelled_changes);
	suite_add_tcase(s, tc);
	tc = tcase_create("property");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, canonical_list_has_the_same_effect);
	tcase_add_test(tc, move_cycles_are_broken);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
