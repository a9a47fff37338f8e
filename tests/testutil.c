/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static int quiesce_cb(void *opaque)
{
	struct fixture *f = opaque;

	f->quiesced++;
	return f->quiesce_ret;
}

static void resume_cb(void *opaque)
{
	struct fixture *f = opaque;

	f->resumed++;
}

void fixture_init(struct fixture *f, const struct memslot_sim_opts *sim_opts,
		  int mode, uint32_t vm_flags)
{
	struct memslot_vm_opts o = {
		.sz = sizeof(o),
		.mode = mode,
		.ioctl = memslot_sim_ioctl,
		.quiesce = quiesce_cb,
		.resume = resume_cb,
		.quiesce_opaque = f,
		.flags = vm_flags,
	};

	memset(f, 0, sizeof(*f));
	ck_assert_int_eq(memslot_sim_new(sim_opts, &f->sim), 0);
	o.ioctl_opaque = f->sim;
	ck_assert_int_eq(memslot_vm_new(-1, &o, &f->vm), 0);
}

void fixture_fini(struct fixture *f)
{
	memslot_vm_free(f->vm);
	memslot_sim_free(f->sim);
}

struct table {
	struct memslot_region r[512];
	int n;
};

static int collect(const struct memslot_region *r, void *opaque)
{
	struct table *t = opaque;

	ck_assert_int_lt(t->n, 512);
	t->r[t->n++] = *r;
	return 0;
}

void assert_view_matches(const struct fixture *f)
{
	static struct table view, kernel;

	view.n = kernel.n = 0;
	ck_assert_int_eq(memslot_vm_foreach(f->vm, collect, &view), 0);
	ck_assert_int_eq(memslot_sim_foreach(f->sim, collect, &kernel), 0);
	ck_assert_int_eq(view.n, memslot_vm_count(f->vm));
	ck_assert_int_eq(view.n, kernel.n);
	for (int i = 0; i < view.n; i++)
		ck_assert_msg(test_region_eq(&view.r[i], &kernel.r[i]),
			      "slot %u/%u: view gpa %#llx size %#llx flags %u, "
			      "kernel %u/%u gpa %#llx size %#llx flags %u",
			      view.r[i].as_id, view.r[i].slot,
			      (unsigned long long)view.r[i].guest_phys_addr,
			      (unsigned long long)view.r[i].memory_size,
			      view.r[i].flags, kernel.r[i].as_id,
			      kernel.r[i].slot,
			      (unsigned long long)kernel.r[i].guest_phys_addr,
			      (unsigned long long)kernel.r[i].memory_size,
			      kernel.r[i].flags);
}

static int count_one(const struct memslot_region *r, void *opaque)
{
	(void)r;
	++*(int *)opaque;
	return 0;
}

int sim_slot_count(const struct memslot_sim *sim)
{
	int n = 0;

	ck_assert_int_eq(memslot_sim_foreach(sim, count_one, &n), 0);
	return n;
}

uint16_t commit_add(struct fixture *f, struct memslot_region r)
{
	struct memslot_txn *txn;
	uint16_t id = 0xdead;

	ck_assert_int_eq(memslot_txn_begin(f->vm, &txn), 0);
	ck_assert_int_eq(memslot_txn_add(txn, &r, &id), 0);
	ck_assert_int_eq(memslot_txn_commit(txn, NULL), 0);
	assert_view_matches(f);
	return id;
}

int run_suite(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
