/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Commit: rollback at every failure position, failed rollbacks, quiesce
 * only around holes, the batch path and its uncertain failures, and the
 * REGION fallback.  After every commit the view must equal the kernel.
 */
#include <errno.h>
#include <string.h>

#include "kvm-compat.h"
#include "testutil.h"

static struct fixture f;

static void teardown(void)
{
	fixture_fini(&f);
}

/* The table every rollback test starts from. */
static void initial_table(void)
{
	commit_add(&f, test_region(0, 0, 0, 2 * MiB, HVA(0), 0));
	commit_add(&f, test_region(0, 1, 4 * MiB, 2 * MiB, HVA(1), 0));
	commit_add(&f, test_region(0, 2, 8 * MiB, 2 * MiB, HVA(2), 0));
	commit_add(&f, test_region(0, 3, 12 * MiB, 2 * MiB, HVA(3), 0));
	commit_add(&f, test_region(1, 0, 0, 2 * MiB, HVA(4), 0));
}

/*
 * A transaction whose canonical list has 8 requests of every kind:
 * resize of 0 (delete + create), delete of 1, move of 2, flags of 3,
 * two creates, and a create in address space 1.
 */
static void fill_mixed(struct memslot_txn *txn)
{
	struct memslot_region r;

	ck_assert_int_eq(memslot_txn_delete(txn, 0, 0), 0);            /* 0 */
	r = test_region(0, 0, 0, 1 * MiB, HVA(0), 0);
	ck_assert_int_eq(memslot_txn_add(txn, &r, NULL), 0);            /* 1 */
	ck_assert_int_eq(memslot_txn_delete(txn, 0, 1), 0);            /* 2 */
	ck_assert_int_eq(memslot_txn_move(txn, 0, 2, 4 * MiB), 0);     /* 3 */
	ck_assert_int_eq(memslot_txn_set_flags(txn, 0, 3,
				MEMSLOT_LOG_DIRTY_PAGES), 0);           /* 4 */
	r = test_region(0, 7, 16 * MiB, MiB, HVA(7), 0);
	ck_assert_int_eq(memslot_txn_add(txn, &r, NULL), 0);            /* 5 */
	r = test_region(0, 8, 8 * MiB, MiB, HVA(8), 0);
	ck_assert_int_eq(memslot_txn_add(txn, &r, NULL), 0);            /* 6 */
	r = test_region(1, 1, 2 * MiB, MiB, HVA(9), 0);
	ck_assert_int_eq(memslot_txn_add(txn, &r, NULL), 0);            /* 7 */
}

#define MIXED_REQS 8

START_TEST(rollback_at_every_position)
{
	/* In canonical order: deletes (0, 1), flags (3), then creates and
	 * moves in the caller's order with the move of 2 before the create
	 * of 8 at its old range. */
	static const int caller_idx[MIXED_REQS] = { 0, 2, 4, 1, 3, 5, 6, 7 };

	for (int k = 1; k <= MIXED_REQS; k++) {
		struct memslot_error err = { .sz = sizeof(err) };
		struct memslot_txn *txn;
		long before;

		fixture_init(&f, NULL, MEMSLOT_MODE_SEQUENTIAL, 0);
		initial_table();
		ck_assert_int_eq(memslot_txn_begin(f.vm, &txn), 0);
		fill_mixed(txn);
		before = memslot_sim_count(f.sim, MEMSLOT_SIM_REGION2);
		ck_assert_int_eq(memslot_sim_fail_nth(f.sim, (unsigned)k, EFAULT), 0);
		ck_assert_int_eq(memslot_txn_commit(txn, &err), -EFAULT);
		ck_assert_int_eq(err.err, -EFAULT);
		ck_assert_int_eq(err.change, caller_idx[k - 1]);
		ck_assert_uint_eq(err.flags, k > 1 ? MEMSLOT_ERROR_ROLLBACK : 0);
		ck_assert_int_eq(err.rollback_err, 0);
		/* k forward requests (the last failed) and k - 1 undos */
		ck_assert_uint_eq(err.issued, 2 * k - 1);
		ck_assert_int_eq(memslot_sim_count(f.sim, MEMSLOT_SIM_REGION2) -
				 before, 2 * k - 1);
		assert_view_matches(&f);
		ck_assert_int_eq(memslot_vm_count(f.vm), 5);
		/* the initial table is back, and the vm is usable */
		struct memslot_region out = { .sz = sizeof(out) };
		ck_assert_int_eq(memslot_vm_find(f.vm, 0, 0, &out), 0);
		ck_assert_uint_eq(out.memory_size, 2 * MiB);
		ck_assert_int_eq(memslot_txn_begin(f.vm, &txn), 0);
		fill_mixed(txn);
		ck_assert_int_eq(memslot_txn_commit(txn, &err), 0);
		ck_assert_uint_eq(err.issued, MIXED_REQS);
		assert_view_matches(&f);
		fixture_fini(&f);
	}
}
END_TEST

/* An ioctl hook that fails chosen memslot ioctls and forwards the rest. */
struct failing {
	struct memslot_sim *sim;
	unsigned int calls, fail_a, fail_b;
};

static int failing_ioctl(void *opaque, int fd, unsigned long req, void *arg)
{
	struct failing *h = opaque;

	if (req != KVM_CHECK_EXTENSION) {
		h->calls++;
		if (h->calls == h->fail_a || h->calls == h->fail_b)
			return -EIO;
	}
	return memslot_sim_ioctl(h->sim, fd, req, arg);
}

START_TEST(rollback_that_fails)
{
	/* Fail forward request k, then undo number j of the k - 1 undos. */
	for (unsigned k = 2; k <= MIXED_REQS; k++) {
		for (unsigned j = 1; j < k; j++) {
			struct failing h = { 0 };
			struct memslot_vm_opts o = {
				.sz = sizeof(o), .mode = MEMSLOT_MODE_SEQUENTIAL,
				.ioctl = failing_ioctl, .ioctl_opaque = &h,
			};
			struct memslot_error err = { .sz = sizeof(err) };
			struct memslot_txn *txn;

			fixture_init(&f, NULL, MEMSLOT_MODE_SEQUENTIAL, 0);
			initial_table();
			/* a second vm on the same kernel, through the hook */
			h.sim = f.sim;
			struct memslot_vm *vm2;
			ck_assert_int_eq(memslot_vm_new(-1, &o, &vm2), 0);
			memslot_vm_free(f.vm);
			f.vm = vm2;
			/* it adopts the table the first vm created */
			struct memslot_region a[] = {
				test_region(0, 0, 0, 2 * MiB, HVA(0), 0),
				test_region(0, 1, 4 * MiB, 2 * MiB, HVA(1), 0),
				test_region(0, 2, 8 * MiB, 2 * MiB, HVA(2), 0),
				test_region(0, 3, 12 * MiB, 2 * MiB, HVA(3), 0),
				test_region(1, 0, 0, 2 * MiB, HVA(4), 0),
			};
			for (unsigned i = 0; i < 5; i++)
				ck_assert_int_eq(memslot_vm_adopt(f.vm, &a[i]), 0);
			assert_view_matches(&f);
			ck_assert_int_eq(memslot_txn_begin(f.vm, &txn), 0);
			fill_mixed(txn);
			h.calls = 0;
			h.fail_a = k;
			h.fail_b = k + j;
			ck_assert_int_eq(memslot_txn_commit(txn, &err), -EIO);
			ck_assert_uint_eq(err.flags, MEMSLOT_ERROR_ROLLBACK |
					  MEMSLOT_ERROR_ROLLBACK_FAILED);
			ck_assert_int_eq(err.rollback_err, -EIO);
			ck_assert_uint_eq(err.issued, k + j);
			/* the view follows the kernel's partial state */
			assert_view_matches(&f);
			fixture_fini(&f);
		}
	}
}
END_TEST

static void setup_seq(void)
{
	fixture_init(&f, NULL, MEMSLOT_MODE_SEQUENTIAL, 0);
	initial_table();
}

static int commit_one(int (*fill)(struct memslot_txn *))
{
	struct memslot_txn *txn;
	int r;

	ck_assert_int_eq(memslot_txn_begin(f.vm, &txn), 0);
	ck_assert_int_eq(fill(txn), 0);
	r = memslot_txn_commit(txn, NULL);
	assert_view_matches(&f);
	return r;
}

static int fill_resize(struct memslot_txn *txn)
{
	struct memslot_region r = test_region(0, 3, 12 * MiB, 1 * MiB, HVA(3), 0);

	return memslot_txn_delete(txn, 0, 3) ?: memslot_txn_add(txn, &r, NULL);
}

static int fill_creates(struct memslot_txn *txn)
{
	struct memslot_region r = test_region(0, 9, 64 * MiB, MiB, HVA(9), 0);

	return memslot_txn_add(txn, &r, NULL);
}

static int fill_deletes(struct memslot_txn *txn)
{
	return memslot_txn_delete(txn, 0, 2) ?: memslot_txn_delete(txn, 0, 3);
}

static int fill_far_move(struct memslot_txn *txn)
{
	return memslot_txn_move(txn, 0, 1, 128 * MiB);
}

static int fill_near_move(struct memslot_txn *txn)
{
	return memslot_txn_move(txn, 0, 1, 4 * MiB + PAGE);
}

static int fill_flags(struct memslot_txn *txn)
{
	return memslot_txn_set_flags(txn, 0, 1, MEMSLOT_LOG_DIRTY_PAGES);
}

/* Deleting 1 and creating over its range in the other address space. */
static int fill_other_as(struct memslot_txn *txn)
{
	struct memslot_region r = test_region(1, 5, 4 * MiB, MiB, HVA(5), 0);

	return memslot_txn_delete(txn, 0, 1) ?: memslot_txn_add(txn, &r, NULL);
}

START_TEST(quiesce_only_around_holes)
{
	ck_assert_int_eq(commit_one(fill_creates), 0);
	ck_assert_int_eq(commit_one(fill_deletes), 0);
	ck_assert_int_eq(commit_one(fill_far_move), 0);
	ck_assert_int_eq(commit_one(fill_flags), 0);
	ck_assert_int_eq(commit_one(fill_other_as), 0);
	ck_assert_int_eq(f.quiesced, 0);
	ck_assert_int_eq(f.resumed, 0);
}
END_TEST

START_TEST(quiesce_around_resize_and_near_move)
{
	ck_assert_int_eq(commit_one(fill_resize), 0);
	ck_assert_int_eq(f.quiesced, 1);
	ck_assert_int_eq(f.resumed, 1);
	ck_assert_int_eq(commit_one(fill_near_move), 0);
	ck_assert_int_eq(f.quiesced, 2);
	ck_assert_int_eq(f.resumed, 2);
}
END_TEST

START_TEST(quiesce_failure_changes_nothing)
{
	struct memslot_error err = { .sz = sizeof(err) };
	struct memslot_txn *txn;
	long before = memslot_sim_count(f.sim, MEMSLOT_SIM_ALL);

	f.quiesce_ret = -EAGAIN;
	ck_assert_int_eq(memslot_txn_begin(f.vm, &txn), 0);
	ck_assert_int_eq(fill_resize(txn), 0);
	ck_assert_int_eq(memslot_txn_commit(txn, &err), -EAGAIN);
	ck_assert_uint_eq(err.flags, MEMSLOT_ERROR_QUIESCE);
	ck_assert_int_eq(err.change, -1);
	ck_assert_uint_eq(err.issued, 0);
	ck_assert_int_eq(memslot_sim_count(f.sim, MEMSLOT_SIM_ALL), before);
	ck_assert_int_eq(f.resumed, 0);
	assert_view_matches(&f);
}
END_TEST

START_TEST(resume_after_failed_commit)
{
	struct memslot_txn *txn;

	ck_assert_int_eq(memslot_txn_begin(f.vm, &txn), 0);
	ck_assert_int_eq(fill_resize(txn), 0);
	ck_assert_int_eq(memslot_sim_fail_nth(f.sim, 2, ENOMEM), 0);
	ck_assert_int_eq(memslot_txn_commit(txn, NULL), -ENOMEM);
	ck_assert_int_eq(f.quiesced, 1);
	ck_assert_int_eq(f.resumed, 1);
	assert_view_matches(&f);
}
END_TEST

/* ---- the batch path ---- */

static void setup_batch(void)
{
	fixture_init(&f, &(struct memslot_sim_opts){
			.sz = sizeof(struct memslot_sim_opts), .batch = 1 },
		     MEMSLOT_MODE_AUTO, 0);
	initial_table();
}

START_TEST(batch_one_ioctl_per_commit)
{
	struct memslot_caps caps = { .sz = sizeof(caps) };
	struct memslot_error err = { .sz = sizeof(err) };
	struct memslot_txn *txn;
	long lists = memslot_sim_count(f.sim, MEMSLOT_SIM_LIST);
	long singles = memslot_sim_count(f.sim, MEMSLOT_SIM_REGION2);

	ck_assert_int_eq(memslot_vm_caps(f.vm, &caps), 0);
	ck_assert_uint_eq(caps.batch, 1);
	ck_assert_uint_eq(caps.batch_usable, 1);
	ck_assert_int_eq(memslot_txn_begin(f.vm, &txn), 0);
	fill_mixed(txn);
	ck_assert_int_eq(memslot_txn_commit(txn, &err), 0);
	ck_assert_uint_eq(err.issued, 1);
	ck_assert_int_eq(memslot_sim_count(f.sim, MEMSLOT_SIM_LIST), lists + 1);
	ck_assert_int_eq(memslot_sim_count(f.sim, MEMSLOT_SIM_REGION2), singles);
	/* no quiesce on the batch path, even for a resize */
	ck_assert_int_eq(commit_one(fill_resize), 0);
	ck_assert_int_eq(f.quiesced, 0);
	assert_view_matches(&f);
}
END_TEST

START_TEST(batch_failure_is_uncertain)
{
	struct memslot_caps caps = { .sz = sizeof(caps) };
	struct memslot_error err = { .sz = sizeof(err) };
	struct memslot_txn *txn;

	ck_assert_int_eq(memslot_txn_begin(f.vm, &txn), 0);
	fill_mixed(txn);
	ck_assert_int_eq(memslot_sim_fail_nth(f.sim, 1, ENOMEM), 0);
	ck_assert_int_eq(memslot_txn_commit(txn, &err), -ENOMEM);
	ck_assert_uint_eq(err.flags, MEMSLOT_ERROR_VIEW_UNCERTAIN);
	ck_assert_int_eq(err.change, -1);
	ck_assert_int_eq(memslot_vm_caps(f.vm, &caps), 0);
	ck_assert_uint_eq(caps.batch, 1);
	ck_assert_uint_eq(caps.batch_usable, 0);
	/* this sim failed before changing anything, so the view still holds */
	assert_view_matches(&f);
	/* AUTO falls back to sequential from now on */
	long lists = memslot_sim_count(f.sim, MEMSLOT_SIM_LIST);
	ck_assert_int_eq(commit_one(fill_creates), 0);
	ck_assert_int_eq(memslot_sim_count(f.sim, MEMSLOT_SIM_LIST), lists);
}
END_TEST

START_TEST(batch_rfc_partial_failure)
{
	struct memslot_error err = { .sz = sizeof(err) };
	struct memslot_region r;
	struct memslot_txn *txn;

	fixture_init(&f, &(struct memslot_sim_opts){
			.sz = sizeof(struct memslot_sim_opts), .batch = 1,
			.rfc_partial = 1, .phys_bits = 36 },
		     MEMSLOT_MODE_BATCH, 0);
	ck_assert_int_eq(memslot_txn_begin(f.vm, &txn), 0);
	r = test_region(0, 0, 0, MiB, HVA(0), 0);
	ck_assert_int_eq(memslot_txn_add(txn, &r, NULL), 0);
	/* beyond the host's physical address width: only the kernel knows */
	r = test_region(0, 1, 1ull << 40, MiB, HVA(1), 0);
	ck_assert_int_eq(memslot_txn_add(txn, &r, NULL), 0);
	ck_assert_int_eq(memslot_txn_commit(txn, &err), -EINVAL);
	ck_assert_uint_eq(err.flags, MEMSLOT_ERROR_VIEW_UNCERTAIN);
	/* the RFC left the first entry applied: the view cannot know */
	ck_assert_int_eq(sim_slot_count(f.sim), 1);
	ck_assert_int_eq(memslot_vm_count(f.vm), 0);
	/* BATCH mode now refuses to commit */
	ck_assert_int_eq(memslot_txn_begin(f.vm, &txn), 0);
	ck_assert_int_eq(memslot_txn_commit(txn, &err), -EOPNOTSUPP);
}
END_TEST

START_TEST(batch_mode_needs_batch)
{
	struct memslot_txn *txn;
	long before;

	fixture_init(&f, NULL, MEMSLOT_MODE_BATCH, 0);
	before = memslot_sim_count(f.sim, MEMSLOT_SIM_ALL);
	ck_assert_int_eq(memslot_txn_begin(f.vm, &txn), 0);
	ck_assert_int_eq(fill_creates(txn), 0);
	ck_assert_int_eq(memslot_txn_commit(txn, NULL), -EOPNOTSUPP);
	ck_assert_int_eq(memslot_sim_count(f.sim, MEMSLOT_SIM_ALL), before);
	ck_assert_int_eq(memslot_vm_count(f.vm), 0);
	/* the transaction was consumed: a new one can be opened */
	ck_assert_int_eq(memslot_txn_begin(f.vm, &txn), 0);
	memslot_txn_abort(txn);
}
END_TEST

START_TEST(sequential_mode_ignores_batch)
{
	struct memslot_txn *txn;

	fixture_init(&f, &(struct memslot_sim_opts){
			.sz = sizeof(struct memslot_sim_opts), .batch = 1 },
		     MEMSLOT_MODE_SEQUENTIAL, 0);
	initial_table();
	ck_assert_int_eq(memslot_txn_begin(f.vm, &txn), 0);
	fill_mixed(txn);
	ck_assert_int_eq(memslot_txn_commit(txn, NULL), 0);
	/* the probe is the only list ioctl */
	ck_assert_int_eq(memslot_sim_count(f.sim, MEMSLOT_SIM_LIST), 1);
	assert_view_matches(&f);
}
END_TEST

START_TEST(region_v1_fallback)
{
	struct memslot_txn *txn;

	fixture_init(&f, &(struct memslot_sim_opts){
			.sz = sizeof(struct memslot_sim_opts), .no_region2 = 1 },
		     MEMSLOT_MODE_AUTO, 0);
	initial_table();
	ck_assert_int_eq(memslot_txn_begin(f.vm, &txn), 0);
	fill_mixed(txn);
	ck_assert_int_eq(memslot_txn_commit(txn, NULL), 0);
	ck_assert_int_eq(memslot_sim_count(f.sim, MEMSLOT_SIM_REGION2), 0);
	ck_assert_int_eq(memslot_sim_count(f.sim, MEMSLOT_SIM_REGION),
			 5 + MIXED_REQS);
	assert_view_matches(&f);
}
END_TEST

START_TEST(commit_bad_error_struct)
{
	struct memslot_error err = { .sz = 2 };
	struct memslot_txn *txn;

	ck_assert_int_eq(memslot_txn_begin(f.vm, &txn), 0);
	ck_assert_int_eq(fill_creates(txn), 0);
	ck_assert_int_eq(memslot_txn_commit(txn, &err), -EINVAL);
	/* consumed and nothing changed */
	ck_assert_int_eq(memslot_txn_begin(f.vm, &txn), 0);
	memslot_txn_abort(txn);
	assert_view_matches(&f);
	ck_assert_int_eq(memslot_vm_count(f.vm), 5);
}
END_TEST

START_TEST(empty_commit)
{
	struct memslot_error err = { .sz = sizeof(err), .err = 99, .change = 7 };
	struct memslot_txn *txn;

	ck_assert_int_eq(memslot_txn_begin(f.vm, &txn), 0);
	ck_assert_int_eq(memslot_txn_commit(txn, &err), 0);
	ck_assert_int_eq(err.err, 0);
	ck_assert_int_eq(err.change, -1);
	ck_assert_uint_eq(err.issued, 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("commit");
	TCase *tc = tcase_create("rollback");

	tcase_add_test(tc, rollback_at_every_position);
	tcase_add_test(tc, rollback_that_fails);
	suite_add_tcase(s, tc);
	tc = tcase_create("quiesce");
	tcase_add_checked_fixture(tc, setup_seq, teardown);
	tcase_add_test(tc, quiesce_only_around_holes);
	tcase_add_test(tc, quiesce_around_resize_and_near_move);
	tcase_add_test(tc, quiesce_failure_changes_nothing);
	tcase_add_test(tc, resume_after_failed_commit);
	tcase_add_test(tc, commit_bad_error_struct);
	tcase_add_test(tc, empty_commit);
	suite_add_tcase(s, tc);
	tc = tcase_create("batch");
	tcase_add_checked_fixture(tc, setup_batch, teardown);
	tcase_add_test(tc, batch_one_ioctl_per_commit);
	tcase_add_test(tc, batch_failure_is_uncertain);
	suite_add_tcase(s, tc);
	tc = tcase_create("modes");
	/* Each test makes its own fixture; the teardown frees it. */
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, batch_rfc_partial_failure);
	tcase_add_test(tc, batch_mode_needs_batch);
	tcase_add_test(tc, sequential_mode_ignores_batch);
	tcase_add_test(tc, region_v1_fallback);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
