/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Slot ids: lowest free first, quarantine of ids deleted in the open
 * transaction, -ENOSPC, ids freed by abort and by a failed commit,
 * reservations, held ids; and the lookups of the committed view.
 */
#include <errno.h>

#include "testutil.h"

static struct fixture f;

static void setup_small(void)
{
	fixture_init(&f, &(struct memslot_sim_opts){
			.sz = sizeof(struct memslot_sim_opts), .nr_slots = 8 },
		     MEMSLOT_MODE_SEQUENTIAL, 0);
}

static void setup_hold(void)
{
	fixture_init(&f, &(struct memslot_sim_opts){
			.sz = sizeof(struct memslot_sim_opts), .nr_slots = 8 },
		     MEMSLOT_MODE_SEQUENTIAL, MEMSLOT_VM_HOLD_DELETED_IDS);
}

static void setup_full(void)
{
	fixture_init(&f, NULL, MEMSLOT_MODE_SEQUENTIAL, 0);
}

static void teardown(void)
{
	fixture_fini(&f);
}

static int add_any(struct memslot_txn *txn, uint64_t n)
{
	struct memslot_region r = test_region(0, MEMSLOT_ANY_SLOT, n * MiB, MiB,
					 HVA(n), 0);
	uint16_t id = 0xdead;
	int err = memslot_txn_add(txn, &r, &id);

	return err ? err : id;
}

START_TEST(lowest_free_first)
{
	struct memslot_txn *txn;

	ck_assert_int_eq(memslot_txn_begin(f.vm, &txn), 0);
	for (int i = 0; i < 8; i++)
		ck_assert_int_eq(add_any(txn, (uint64_t)i), i);
	ck_assert_int_eq(add_any(txn, 8), -ENOSPC);
	ck_assert_int_eq(memslot_txn_commit(txn, NULL), 0);
	assert_view_matches(&f);
	/* free 2 and 5: they come back in increasing order */
	ck_assert_int_eq(memslot_txn_begin(f.vm, &txn), 0);
	ck_assert_int_eq(memslot_txn_delete(txn, 0, 5), 0);
	ck_assert_int_eq(memslot_txn_delete(txn, 0, 2), 0);
	ck_assert_int_eq(memslot_txn_commit(txn, NULL), 0);
	ck_assert_int_eq(memslot_txn_begin(f.vm, &txn), 0);
	ck_assert_int_eq(add_any(txn, 20), 2);
	ck_assert_int_eq(add_any(txn, 21), 5);
	ck_assert_int_eq(add_any(txn, 22), -ENOSPC);
	ck_assert_int_eq(memslot_txn_commit(txn, NULL), 0);
	assert_view_matches(&f);
}
END_TEST

START_TEST(quarantine_in_open_txn)
{
	struct memslot_txn *txn;
	struct memslot_region r;

	ck_assert_int_eq(memslot_txn_begin(f.vm, &txn), 0);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(add_any(txn, (uint64_t)i), i);
	ck_assert_int_eq(memslot_txn_commit(txn, NULL), 0);

	ck_assert_int_eq(memslot_txn_begin(f.vm, &txn), 0);
	ck_assert_int_eq(memslot_txn_delete(txn, 0, 1), 0);
	/* 1 is in quarantine: the allocator skips it */
	ck_assert_int_eq(add_any(txn, 10), 4);
	/* a slot created and deleted in the transaction quarantines too */
	ck_assert_int_eq(memslot_txn_delete(txn, 0, 4), 0);
	ck_assert_int_eq(add_any(txn, 11), 5);
	/* explicit reuse stays allowed, in order */
	r = test_region(0, 1, 40 * MiB, 2 * MiB, HVA(40), 0);
	ck_assert_int_eq(memslot_txn_add(txn, &r, NULL), 0);
	ck_assert_int_eq(memslot_txn_commit(txn, NULL), 0);
	assert_view_matches(&f);
	/* the commit returned: 4 is free again */
	ck_assert_int_eq(memslot_txn_begin(f.vm, &txn), 0);
	ck_assert_int_eq(add_any(txn, 12), 4);
	memslot_txn_abort(txn);
}
END_TEST

START_TEST(enospc_with_quarantine)
{
	struct memslot_txn *txn;

	ck_assert_int_eq(memslot_txn_begin(f.vm, &txn), 0);
	for (int i = 0; i < 8; i++)
		ck_assert_int_eq(add_any(txn, (uint64_t)i), i);
	ck_assert_int_eq(memslot_txn_commit(txn, NULL), 0);
	ck_assert_int_eq(memslot_txn_begin(f.vm, &txn), 0);
	ck_assert_int_eq(memslot_txn_delete(txn, 0, 3), 0);
	ck_assert_int_eq(add_any(txn, 30), -ENOSPC);
	ck_assert_int_eq(memslot_txn_count(txn), 1);
	memslot_txn_abort(txn);
	assert_view_matches(&f);
}
END_TEST

START_TEST(abort_frees_ids)
{
	struct memslot_txn *txn;

	ck_assert_int_eq(memslot_txn_begin(f.vm, &txn), 0);
	ck_assert_int_eq(add_any(txn, 0), 0);
	ck_assert_int_eq(add_any(txn, 1), 1);
	memslot_txn_abort(txn);
	ck_assert_int_eq(memslot_vm_count(f.vm), 0);
	ck_assert_int_eq(sim_slot_count(f.sim), 0);
	ck_assert_int_eq(memslot_txn_begin(f.vm, &txn), 0);
	ck_assert_int_eq(add_any(txn, 2), 0);
	memslot_txn_abort(txn);
}
END_TEST

START_TEST(failed_commit_frees_ids)
{
	struct memslot_txn *txn;
	struct memslot_error err = { .sz = sizeof(err) };

	ck_assert_int_eq(memslot_txn_begin(f.vm, &txn), 0);
	ck_assert_int_eq(add_any(txn, 0), 0);
	ck_assert_int_eq(add_any(txn, 1), 1);
	ck_assert_int_eq(memslot_sim_fail_nth(f.sim, 2, ENOMEM), 0);
	ck_assert_int_eq(memslot_txn_commit(txn, &err), -ENOMEM);
	ck_assert_int_eq(err.change, 1);
	ck_assert_uint_eq(err.flags, MEMSLOT_ERROR_ROLLBACK);
	assert_view_matches(&f);
	ck_assert_int_eq(memslot_vm_count(f.vm), 0);
	ck_assert_int_eq(memslot_txn_begin(f.vm, &txn), 0);
	ck_assert_int_eq(add_any(txn, 2), 0);
	memslot_txn_abort(txn);
}
END_TEST

START_TEST(reserved_ids)
{
	struct memslot_txn *txn;

	ck_assert_int_eq(memslot_vm_reserve(f.vm, 0, 0), 0);
	ck_assert_int_eq(memslot_vm_reserve(f.vm, 0, 0), -EBUSY);
	ck_assert_int_eq(memslot_vm_reserve(f.vm, 0, 2), 0);
	ck_assert_int_eq(memslot_vm_reserve(f.vm, 0, 8), -EINVAL);
	ck_assert_int_eq(memslot_vm_reserve(f.vm, 2, 0), -EINVAL);
	ck_assert_int_eq(memslot_txn_begin(f.vm, &txn), 0);
	ck_assert_int_eq(add_any(txn, 0), 1);
	ck_assert_int_eq(add_any(txn, 1), 3);
	/* an id used by the open transaction cannot be reserved */
	ck_assert_int_eq(memslot_vm_reserve(f.vm, 0, 3), -EBUSY);
	ck_assert_int_eq(memslot_txn_commit(txn, NULL), 0);
	ck_assert_int_eq(memslot_vm_reserve(f.vm, 0, 3), -EEXIST);
	ck_assert_int_eq(memslot_vm_unreserve(f.vm, 0, 2), 0);
	ck_assert_int_eq(memslot_vm_unreserve(f.vm, 0, 2), -ENOENT);
	ck_assert_int_eq(memslot_txn_begin(f.vm, &txn), 0);
	ck_assert_int_eq(add_any(txn, 2), 2);
	ck_assert_int_eq(memslot_txn_commit(txn, NULL), 0);
	assert_view_matches(&f);
}
END_TEST

START_TEST(held_until_released)
{
	struct memslot_txn *txn;
	struct memslot_region r;

	ck_assert_int_eq(memslot_txn_begin(f.vm, &txn), 0);
	ck_assert_int_eq(add_any(txn, 0), 0);
	ck_assert_int_eq(add_any(txn, 1), 1);
	ck_assert_int_eq(memslot_txn_commit(txn, NULL), 0);
	ck_assert_int_eq(memslot_vm_release(f.vm, 0, 0), -ENOENT);
	ck_assert_int_eq(memslot_txn_begin(f.vm, &txn), 0);
	ck_assert_int_eq(memslot_txn_delete(txn, 0, 0), 0);
	ck_assert_int_eq(memslot_txn_commit(txn, NULL), 0);
	assert_view_matches(&f);
	/* held after the commit: neither allocated nor usable explicitly */
	ck_assert_int_eq(memslot_txn_begin(f.vm, &txn), 0);
	ck_assert_int_eq(add_any(txn, 2), 2);
	r = test_region(0, 0, 50 * MiB, MiB, HVA(50), 0);
	ck_assert_int_eq(memslot_txn_add(txn, &r, NULL), -EBUSY);
	ck_assert_int_eq(memslot_txn_commit(txn, NULL), 0);
	ck_assert_int_eq(memslot_vm_release(f.vm, 0, 0), 0);
	ck_assert_int_eq(memslot_vm_release(f.vm, 0, 0), -ENOENT);
	ck_assert_int_eq(memslot_txn_begin(f.vm, &txn), 0);
	ck_assert_int_eq(add_any(txn, 3), 0);
	ck_assert_int_eq(memslot_txn_commit(txn, NULL), 0);
	assert_view_matches(&f);
}
END_TEST

START_TEST(aborted_delete_is_not_held)
{
	struct memslot_txn *txn;

	ck_assert_int_eq(memslot_txn_begin(f.vm, &txn), 0);
	ck_assert_int_eq(add_any(txn, 0), 0);
	ck_assert_int_eq(memslot_txn_commit(txn, NULL), 0);
	ck_assert_int_eq(memslot_txn_begin(f.vm, &txn), 0);
	ck_assert_int_eq(memslot_txn_delete(txn, 0, 0), 0);
	memslot_txn_abort(txn);
	ck_assert_int_eq(memslot_vm_release(f.vm, 0, 0), -ENOENT);
	ck_assert_int_eq(memslot_vm_count(f.vm), 1);
}
END_TEST

START_TEST(lookups_see_committed_view)
{
	struct memslot_region out = { .sz = sizeof(out) };
	struct memslot_txn *txn;

	commit_add(&f, test_region(0, 3, 4 * MiB, 2 * MiB, HVA(1), 0));
	commit_add(&f, test_region(1, 3, 4 * MiB, MiB, HVA(2), MEMSLOT_READONLY));
	ck_assert_int_eq(memslot_vm_find(f.vm, 0, 3, &out), 0);
	ck_assert_uint_eq(out.guest_phys_addr, 4 * MiB);
	ck_assert_uint_eq(out.memory_size, 2 * MiB);
	ck_assert_int_eq(memslot_vm_find(f.vm, 1, 3, &out), 0);
	ck_assert_uint_eq(out.flags, MEMSLOT_READONLY);
	ck_assert_int_eq(memslot_vm_find(f.vm, 0, 4, &out), -ENOENT);
	ck_assert_int_eq(memslot_vm_find(f.vm, 2, 3, &out), -EINVAL);
	/* by guest address: first byte, last byte, one past the end */
	ck_assert_int_eq(memslot_vm_find_gpa(f.vm, 0, 4 * MiB, &out), 0);
	ck_assert_uint_eq(out.slot, 3);
	ck_assert_int_eq(memslot_vm_find_gpa(f.vm, 0, 6 * MiB - 1, &out), 0);
	ck_assert_int_eq(memslot_vm_find_gpa(f.vm, 0, 6 * MiB, &out), -ENOENT);
	ck_assert_int_eq(memslot_vm_find_gpa(f.vm, 0, 4 * MiB - 1, &out),
			 -ENOENT);
	ck_assert_int_eq(memslot_vm_find_gpa(f.vm, 1, 5 * MiB - 1, &out), 0);
	ck_assert_uint_eq(out.as_id, 1);
	/* an open transaction is not visible */
	ck_assert_int_eq(memslot_txn_begin(f.vm, &txn), 0);
	ck_assert_int_eq(memslot_txn_move(txn, 0, 3, 32 * MiB), 0);
	ck_assert_int_eq(memslot_vm_find_gpa(f.vm, 0, 32 * MiB, &out), -ENOENT);
	ck_assert_int_eq(memslot_vm_find(f.vm, 0, 3, &out), 0);
	ck_assert_uint_eq(out.guest_phys_addr, 4 * MiB);
	assert_view_matches(&f);
	ck_assert_int_eq(memslot_txn_commit(txn, NULL), 0);
	ck_assert_int_eq(memslot_vm_find_gpa(f.vm, 0, 32 * MiB, &out), 0);
	assert_view_matches(&f);
}
END_TEST

static int stop_at_second(const struct memslot_region *r, void *opaque)
{
	int *n = opaque;

	(void)r;
	return ++*n == 2 ? 42 : 0;
}

START_TEST(foreach_order_and_stop)
{
	int n = 0;

	commit_add(&f, test_region(1, 0, 0, MiB, HVA(1), 0));
	commit_add(&f, test_region(0, 5, 0, MiB, HVA(2), 0));
	commit_add(&f, test_region(0, 1, MiB, MiB, HVA(3), 0));
	/* assert_view_matches compares in (as, id) order against the sim */
	assert_view_matches(&f);
	ck_assert_int_eq(memslot_vm_foreach(f.vm, stop_at_second, &n), 42);
	ck_assert_int_eq(n, 2);
}
END_TEST

START_TEST(adopt_existing_slots)
{
	struct memslot_region r = test_region(0, 4, 8 * MiB, MiB, HVA(4), 0);
	struct memslot_txn *txn;

	ck_assert_int_eq(memslot_vm_adopt(f.vm, &r), 0);
	ck_assert_int_eq(memslot_vm_adopt(f.vm, &r), -EEXIST);
	r.slot = 5;
	ck_assert_int_eq(memslot_vm_adopt(f.vm, &r), -EEXIST);  /* overlap */
	r.slot = MEMSLOT_ANY_SLOT;
	r.guest_phys_addr = 64 * MiB;
	ck_assert_int_eq(memslot_vm_adopt(f.vm, &r), -EINVAL);
	r.slot = 6;
	r.memory_size = 0;
	ck_assert_int_eq(memslot_vm_adopt(f.vm, &r), -EINVAL);
	ck_assert_int_eq(memslot_vm_count(f.vm), 1);
	/* adopted ids are not handed out, and adopting needs no open txn */
	ck_assert_int_eq(memslot_txn_begin(f.vm, &txn), 0);
	r = test_region(0, 7, 64 * MiB, MiB, HVA(7), 0);
	ck_assert_int_eq(memslot_vm_adopt(f.vm, &r), -EBUSY);
	memslot_txn_abort(txn);
}
END_TEST

START_TEST(full_table)
{
	struct memslot_txn *txn;
	struct memslot_caps caps = { .sz = sizeof(caps) };

	ck_assert_int_eq(memslot_vm_caps(f.vm, &caps), 0);
	ck_assert_uint_eq(caps.nr_slots, 32764);
	ck_assert_int_eq(memslot_txn_begin(f.vm, &txn), 0);
	for (uint32_t i = 0; i < caps.nr_slots; i++) {
		struct memslot_region r = test_region(0, MEMSLOT_ANY_SLOT,
						 (uint64_t)i * PAGE, PAGE,
						 HVA(1) + (uint64_t)i * PAGE, 0);
		uint16_t id;

		ck_assert_int_eq(memslot_txn_add(txn, &r, &id), 0);
		ck_assert_uint_eq(id, i);
	}
	ck_assert_int_eq(add_any(txn, 100000), -ENOSPC);
	ck_assert_int_eq(memslot_txn_commit(txn, NULL), 0);
	ck_assert_int_eq(memslot_vm_count(f.vm), 32764);
	ck_assert_int_eq(sim_slot_count(f.sim), 32764);
	/* the other address space is independent */
	struct memslot_region r = test_region(1, MEMSLOT_ANY_SLOT, 0, PAGE, HVA(2), 0);
	uint16_t id;
	ck_assert_int_eq(memslot_txn_begin(f.vm, &txn), 0);
	ck_assert_int_eq(memslot_txn_add(txn, &r, &id), 0);
	ck_assert_uint_eq(id, 0);
	ck_assert_int_eq(memslot_txn_delete(txn, 0, 32763), 0);
	ck_assert_int_eq(add_any(txn, 100001), -ENOSPC);
	ck_assert_int_eq(memslot_txn_commit(txn, NULL), 0);
	ck_assert_int_eq(memslot_txn_begin(f.vm, &txn), 0);
	ck_assert_int_eq(add_any(txn, 100002), 32763);
	memslot_txn_abort(txn);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ids");
	TCase *tc = tcase_create("small-vm");

	tcase_add_checked_fixture(tc, setup_small, teardown);
	tcase_add_test(tc, lowest_free_first);
	tcase_add_test(tc, quarantine_in_open_txn);
	tcase_add_test(tc, enospc_with_quarantine);
	tcase_add_test(tc, abort_frees_ids);
	tcase_add_test(tc, failed_commit_frees_ids);
	tcase_add_test(tc, reserved_ids);
	tcase_add_test(tc, lookups_see_committed_view);
	tcase_add_test(tc, foreach_order_and_stop);
	tcase_add_test(tc, adopt_existing_slots);
	suite_add_tcase(s, tc);
	tc = tcase_create("hold-vm");
	tcase_add_checked_fixture(tc, setup_hold, teardown);
	tcase_add_test(tc, held_until_released);
	tcase_add_test(tc, aborted_delete_is_not_held);
	suite_add_tcase(s, tc);
	tc = tcase_create("full-vm");
	tcase_add_checked_fixture(tc, setup_full, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, full_table);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
