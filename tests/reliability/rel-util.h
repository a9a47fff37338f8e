/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Helpers of the reliability tests: compare the vm view with the
 * simulated kernel's table, snapshot a table, count the ioctls a vm
 * issues.  Header-only so each test stays one translation unit (the
 * allocation-failure test wraps malloc for everything it links).
 */
#ifndef LIBMEMSLOT_REL_UTIL_H
#define LIBMEMSLOT_REL_UTIL_H

#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libmemslot/libmemslot.h"
#include "region.h"

#define PAGE 4096ull
#define HVA(n) (0x10000000000ull + (uint64_t)(n) * 0x40000000ull)

/* A table: at most REL_MAX slots, in foreach order. */
#define REL_MAX 65536
struct table {
	int n;
	bool overflow;
	struct memslot_region r[REL_MAX];
};

static inline int rel_collect(const struct memslot_region *r, void *opaque)
{
	struct table *t = opaque;

	if (t->n == REL_MAX) {
		t->overflow = true;
		return 0;
	}
	t->r[t->n++] = *r;
	return 0;
}

static inline void table_of_sim(const struct memslot_sim *sim, struct table *t)
{
	t->n = 0;
	t->overflow = false;
	ck_assert_int_eq(memslot_sim_foreach(sim, rel_collect, t), 0);
	ck_assert(!t->overflow);
}

static inline void table_of_vm(const struct memslot_vm *vm, struct table *t)
{
	t->n = 0;
	t->overflow = false;
	ck_assert_int_eq(memslot_vm_foreach(vm, rel_collect, t), 0);
	ck_assert(!t->overflow);
}

/* Index of the first difference, or -1 when equal. */
static inline int table_diff(const struct table *a, const struct table *b)
{
	int i;

	for (i = 0; i < a->n && i < b->n; i++)
		if (!test_region_eq(&a->r[i], &b->r[i]))
			return i;
	return a->n == b->n ? -1 : i;
}

#define assert_tables_eq(a, b, what) do { \
		int d_ = table_diff((a), (b)); \
		ck_assert_msg(d_ < 0, "%s: tables differ at entry %d (%d vs %d slots)", \
			      (what), d_, (a)->n, (b)->n); \
	} while (0)

/* The view equals the sim's table, and vm_count agrees. */
static inline void assert_view_eq_sim(const struct memslot_vm *vm,
				      const struct memslot_sim *sim)
{
	static struct table v, k;

	table_of_vm(vm, &v);
	table_of_sim(sim, &k);
	assert_tables_eq(&v, &k, "view vs sim");
	ck_assert_int_eq(memslot_vm_count(vm), v.n);
}

static inline long kernel_ioctls(const struct memslot_sim *sim)
{
	return memslot_sim_count(sim, MEMSLOT_SIM_REGION) +
	       memslot_sim_count(sim, MEMSLOT_SIM_REGION2) +
	       memslot_sim_count(sim, MEMSLOT_SIM_LIST);
}

#endif
