/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Kernel failure at every position of sequential commits of 1 to 64
 * changes, and of the rollback: the k-th memslot ioctl of the commit
 * fails (memslot_sim_fail_nth, and an ioctl hook for two failures), then
 * also the j-th undo.  Checked each time: the errno, memslot_error
 * (change index in the caller's list, flags, rollback_err, issued), the
 * view equal to the kernel table, and that table equal to the one before
 * the commit (full rollback) or to the first k - j canonical requests
 * applied (failed rollback); after a failed rollback the vm stays usable.
 */
#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libmemslot/libmemslot.h"
#include "kvm-compat.h"
#include "rel-util.h"
#include "testutil.h"

#define NR_SLOTS 256
#define NR_INIT 80                /* initial slots of address space 0 */
#define MAX_REC 256

/* An ioctl hook in front of the sim: counts, fails, records. */
struct hook {
	struct memslot_sim *sim;
	long n;                   /* memslot ioctls since armed */
	long fail[2];             /* positions to fail, 0: none */
	int err[2];
	bool record;
	int nrec;
	struct kvm_userspace_memory_region2 rec[MAX_REC];
};

static int hook_ioctl(void *opaque, int fd, unsigned long req, void *arg)
{
	struct hook *h = opaque;

	if (req == KVM_SET_USER_MEMORY_REGION ||
	    req == KVM_SET_USER_MEMORY_REGION2 ||
	    req == KVM_SET_USER_MEMORY_REGION_LIST) {
		h->n++;
		for (int i = 0; i < 2; i++)
			if (h->fail[i] == h->n)
				return -h->err[i];
		if (h->record && req != KVM_SET_USER_MEMORY_REGION_LIST &&
		    h->nrec < MAX_REC) {
			struct kvm_userspace_memory_region2 *r = &h->rec[h->nrec++];

			memset(r, 0, sizeof(*r));
			memcpy(r, arg, req == KVM_SET_USER_MEMORY_REGION ?
			       sizeof(struct kvm_userspace_memory_region) :
			       sizeof(*r));
		}
	}
	return memslot_sim_ioctl(h->sim, fd, req, arg);
}

struct env {
	struct hook h;
	struct memslot_sim_opts so;
	struct memslot_vm *vm;
	struct memslot_txn *txn;
	int quiesced, resumed;
	/* The caller's list: per id, its first delete and its last change. */
	int first_del[2][NR_SLOTS];
	int last[2][NR_SLOTS];
	int nchanges;
};

static int q_quiesce(void *opaque)
{
	((struct env *)opaque)->quiesced++;
	return 0;
}

static void q_resume(void *opaque)
{
	((struct env *)opaque)->resumed++;
}

#define GPA_INIT(i) ((uint64_t)(i) * 4 * PAGE)
#define GPA_FREE(i) (0x40000000ull + (uint64_t)(i) * 4 * PAGE)

static void env_init(struct env *e, bool region2, int mode, bool quiesce,
		     bool batch)
{
	struct memslot_vm_opts o = {
		.sz = sizeof(o), .mode = mode,
		.ioctl = hook_ioctl, .ioctl_opaque = &e->h,
	};
	uint16_t id;

	memset(e, 0, sizeof(*e));
	e->so = (struct memslot_sim_opts){
		.sz = sizeof(e->so), .nr_slots = NR_SLOTS, .nr_as = 2,
		.no_region2 = !region2, .batch = batch,
	};
	ck_assert_int_eq(memslot_sim_new(&e->so, &e->h.sim), 0);
	if (quiesce) {
		o.quiesce = q_quiesce;
		o.resume = q_resume;
		o.quiesce_opaque = e;
	}
	ck_assert_int_eq(memslot_vm_new(-1, &o, &e->vm), 0);
	ck_assert_int_eq(memslot_txn_begin(e->vm, &e->txn), 0);
	for (int i = 0; i < NR_INIT; i++) {
		struct memslot_region r = test_region(0, (uint16_t)i, GPA_INIT(i),
						     2 * PAGE, HVA(i), 0);

		ck_assert_int_eq(memslot_txn_add(e->txn, &r, NULL), 0);
	}
	for (int i = 0; i < 4; i++) {
		struct memslot_region r = test_region(1, MEMSLOT_ANY_SLOT,
						     GPA_INIT(i), PAGE, HVA(i), 0);

		ck_assert_int_eq(memslot_txn_add(e->txn, &r, &id), 0);
	}
	ck_assert_int_eq(memslot_txn_commit(e->txn, NULL), 0);
	e->txn = NULL;
	e->quiesced = e->resumed = 0;
	memset(e->first_del, 0xff, sizeof(e->first_del));
	memset(e->last, 0xff, sizeof(e->last));
}

static void env_fini(struct env *e)
{
	memslot_vm_free(e->vm);
	memslot_sim_free(e->h.sim);
}

static void note(struct env *e, uint16_t as_id, uint16_t id, bool del)
{
	if (del && e->first_del[as_id][id] < 0)
		e->first_del[as_id][id] = e->nchanges;
	e->last[as_id][id] = e->nchanges++;
}

/*
 * Queue n changes, deterministic in n: creates, deletes, moves, flags
 * changes, replacements (delete then create of the same id: a hole), and
 * moves into ranges freed by earlier deletes.
 */
static void build(struct env *e, int n)
{
	int next = 0, last_deleted = -1;

	ck_assert_int_eq(memslot_txn_begin(e->vm, &e->txn), 0);
	e->nchanges = 0;
	for (int i = 0; e->nchanges < n; i++) {
		int op = i % 6;
		uint16_t id;

		if (op == 4 && e->nchanges + 2 > n)
			op = 0;
		if (op == 5 && last_deleted < 0)
			op = 2;
		switch (op) {
		case 0: {
			struct memslot_region r = test_region(i & 1, MEMSLOT_ANY_SLOT,
				GPA_FREE(i), PAGE, HVA(100 + i), 0);

			ck_assert_int_eq(memslot_txn_add(e->txn, &r, &id), 0);
			note(e, i & 1, id, false);
			break;
		}
		case 1:
			id = (uint16_t)next++;
			ck_assert_int_eq(memslot_txn_delete(e->txn, 0, id), 0);
			note(e, 0, id, true);
			last_deleted = id;
			break;
		case 2:
			id = (uint16_t)next++;
			ck_assert_int_eq(memslot_txn_move(e->txn, 0, id, GPA_FREE(i)), 0);
			note(e, 0, id, false);
			break;
		case 3:
			id = (uint16_t)next++;
			ck_assert_int_eq(memslot_txn_set_flags(e->txn, 0, id,
					MEMSLOT_LOG_DIRTY_PAGES), 0);
			note(e, 0, id, false);
			break;
		case 4: {
			struct memslot_region r;

			id = (uint16_t)next++;
			r = test_region(0, id, GPA_INIT(id), 3 * PAGE, HVA(id), 0);
			ck_assert_int_eq(memslot_txn_delete(e->txn, 0, id), 0);
			note(e, 0, id, true);
			ck_assert_int_eq(memslot_txn_add(e->txn, &r, NULL), 0);
			note(e, 0, id, false);
			break;
		}
		case 5:
			id = (uint16_t)next++;
			ck_assert_int_eq(memslot_txn_move(e->txn, 0, id,
					GPA_INIT(last_deleted)), 0);
			note(e, 0, id, false);
			last_deleted = -1;
			break;
		}
	}
	ck_assert_int_eq(memslot_txn_count(e->txn), n);
}

/* The caller's index of the change a recorded request carries out. */
static int blame(const struct env *e, const struct kvm_userspace_memory_region2 *r)
{
	uint16_t as_id = r->slot >> 16, id = (uint16_t)r->slot;

	if (!r->memory_size && e->first_del[as_id][id] >= 0)
		return e->first_del[as_id][id];
	return e->last[as_id][id];
}

/* The table after the first m requests of rec, applied to before. */
static void expected_table(const struct env *e, const struct table *before,
			   const struct kvm_userspace_memory_region2 *rec, int m,
			   struct table *out)
{
	struct memslot_sim_opts o = { .sz = sizeof(o), .nr_slots = NR_SLOTS,
				      .nr_as = 2 };
	struct memslot_sim *s;

	(void)e;
	ck_assert_int_eq(memslot_sim_new(&o, &s), 0);
	for (int i = 0; i < before->n; i++) {
		const struct memslot_region *r = &before->r[i];
		struct kvm_userspace_memory_region2 k = {
			.slot = (uint32_t)r->as_id << 16 | r->slot,
			.flags = r->flags, .guest_phys_addr = r->guest_phys_addr,
			.memory_size = r->memory_size,
			.userspace_addr = r->userspace_addr,
		};

		ck_assert_int_eq(memslot_sim_ioctl(s, -1,
				 KVM_SET_USER_MEMORY_REGION2, &k), 0);
	}
	for (int i = 0; i < m; i++) {
		struct kvm_userspace_memory_region2 k = rec[i];

		ck_assert_int_eq(memslot_sim_ioctl(s, -1,
				 KVM_SET_USER_MEMORY_REGION2, &k), 0);
	}
	table_of_sim(s, out);
	memslot_sim_free(s);
}

/* Delete every slot: a failed rollback must leave a usable vm. */
static void still_usable(struct env *e)
{
	static struct table t;

	table_of_vm(e->vm, &t);
	ck_assert_int_eq(memslot_txn_begin(e->vm, &e->txn), 0);
	for (int i = 0; i < t.n; i++)
		ck_assert_int_eq(memslot_txn_delete(e->txn, t.r[i].as_id,
						    t.r[i].slot), 0);
	e->h.fail[0] = e->h.fail[1] = 0;
	ck_assert_int_eq(memslot_txn_commit(e->txn, NULL), 0);
	e->txn = NULL;
	ck_assert_int_eq(memslot_vm_count(e->vm), 0);
	assert_view_eq_sim(e->vm, e->h.sim);
}

static const int errs[] = { EIO, EINVAL, ENOMEM, EFAULT, EEXIST, EAGAIN };

static void every_position(int n, bool region2, bool quiesce)
{
	static struct table t0, t1, got, want;
	static struct kvm_userspace_memory_region2 rec[MAX_REC];
	struct memslot_error err = { .sz = sizeof(err) };
	struct env *e = calloc(1, sizeof(*e));
	int f;
	long singles = 0, doubles = 0;
	bool quick = getenv("RELIABILITY_QUICK") && *getenv("RELIABILITY_QUICK") != '0';

	/* The clean commit: its canonical requests, in order. */
	env_init(e, region2, MEMSLOT_MODE_SEQUENTIAL, quiesce, false);
	table_of_sim(e->h.sim, &t0);
	build(e, n);
	e->h.record = true;
	e->h.n = 0;
	ck_assert_int_eq(memslot_txn_commit(e->txn, &err), 0);
	f = e->h.nrec;
	ck_assert_int_eq(err.issued, f);
	ck_assert_int_ge(f, n > 1 ? n / 2 : 1);
	memcpy(rec, e->h.rec, sizeof(rec));
	table_of_sim(e->h.sim, &t1);
	assert_view_eq_sim(e->vm, e->h.sim);
	env_fini(e);

	for (int k = 1; k <= f; k++) {
		for (int j = 0; j < k; j++) {
			/* RELIABILITY_QUICK (valgrind): undo failures at the
			 * ends and the middle of long rollbacks only. */
			if (quick && k > 8 && j > 2 && j != k / 2 && j != k - 1)
				continue;
			int e1 = errs[(k + j) % 6], e2 = errs[(k + 2 * j + 1) % 6];
			int r;

			env_init(e, region2, MEMSLOT_MODE_SEQUENTIAL, quiesce, false);
			build(e, n);
			e->h.n = 0;
			if (j == 0) {
				/* One failure: through the sim's own injection. */
				ck_assert_int_eq(memslot_sim_fail_nth(e->h.sim, k, e1), 0);
			} else {
				e->h.fail[0] = k;
				e->h.err[0] = e1;
				e->h.fail[1] = k + j;
				e->h.err[1] = e2;
			}
			memset(&err, 0xa5, sizeof(err));
			err.sz = sizeof(err);
			r = memslot_txn_commit(e->txn, &err);
			e->txn = NULL;
			memslot_sim_fail_nth(e->h.sim, 0, 0);
			ck_assert_int_eq(r, -e1);
			ck_assert_int_eq(err.err, -e1);
			ck_assert_msg(err.change == blame(e, &rec[k - 1]),
				      "n %d k %d j %d: change %d, want %d", n, k, j,
				      err.change, blame(e, &rec[k - 1]));
			ck_assert_int_eq(e->quiesced, e->resumed);
			assert_view_eq_sim(e->vm, e->h.sim);
			table_of_sim(e->h.sim, &got);
			if (j == 0) {
				ck_assert_int_eq(err.flags, k > 1 ? MEMSLOT_ERROR_ROLLBACK : 0);
				ck_assert_int_eq(err.rollback_err, 0);
				ck_assert_int_eq(err.issued, 2 * k - 1);
				assert_tables_eq(&got, &t0, "after a full rollback");
				singles++;
			} else {
				ck_assert_int_eq(err.flags, MEMSLOT_ERROR_ROLLBACK |
						 MEMSLOT_ERROR_ROLLBACK_FAILED);
				ck_assert_int_eq(err.rollback_err, -e2);
				ck_assert_int_eq(err.issued, k + j);
				expected_table(e, &t0, rec, k - j, &want);
				assert_tables_eq(&got, &want, "after a failed rollback");
				still_usable(e);
				doubles++;
			}
			env_fini(e);
		}
	}
	free(e);
	printf("ioctl-fail: %d changes (%s%s): %d requests, %ld single and "
	       "%ld double failures\n", n, region2 ? "REGION2" : "REGION",
	       quiesce ? ", quiesce" : "", f, singles, doubles);
	(void)t1;
}

static const int sizes[] = { 1, 2, 3, 5, 8, 13, 32, 64 };

START_TEST(seq_region2)
{
	every_position(sizes[_i], true, false);
}
END_TEST

START_TEST(seq_region_v1_quiesce)
{
	every_position(sizes[_i], false, true);
}
END_TEST

/* A failed batch: nothing changed (atomic kernel), the view is marked
 * uncertain, the batch path is off, and the same changes then commit
 * sequentially. */
START_TEST(batch_failure)
{
	static struct table t0, got;
	struct memslot_error err = { .sz = sizeof(err) };
	struct memslot_caps caps = { .sz = sizeof(caps) };
	struct env *e = calloc(1, sizeof(*e));
	long lists;

	env_init(e, true, MEMSLOT_MODE_AUTO, false, true);
	table_of_sim(e->h.sim, &t0);
	build(e, 20);
	e->h.n = 0;
	e->h.fail[0] = 1;
	e->h.err[0] = EIO;
	ck_assert_int_eq(memslot_txn_commit(e->txn, &err), -EIO);
	ck_assert_int_eq(err.flags, MEMSLOT_ERROR_VIEW_UNCERTAIN);
	ck_assert_int_eq(err.change, -1);
	ck_assert_int_eq(err.issued, 1);
	table_of_sim(e->h.sim, &got);
	assert_tables_eq(&got, &t0, "after a failed batch");
	assert_view_eq_sim(e->vm, e->h.sim);
	ck_assert_int_eq(memslot_vm_caps(e->vm, &caps), 0);
	ck_assert(caps.batch && !caps.batch_usable);
	lists = memslot_sim_count(e->h.sim, MEMSLOT_SIM_LIST);
	build(e, 20);
	ck_assert_int_eq(memslot_txn_commit(e->txn, &err), 0);
	ck_assert_int_eq(memslot_sim_count(e->h.sim, MEMSLOT_SIM_LIST), lists);
	assert_view_eq_sim(e->vm, e->h.sim);
	env_fini(e);
	free(e);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ioctl-fail");
	TCase *tc = tcase_create("every position");
	int n = sizeof(sizes) / sizeof(sizes[0]);

	tcase_set_timeout(tc, 900);
	tcase_add_loop_test(tc, seq_region2, 0, n);
	tcase_add_loop_test(tc, seq_region_v1_quiesce, 0, n);
	tcase_add_test(tc, batch_failure);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
