/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * An ordered set of non-overlapping guest-physical ranges: a treap, so
 * every operation is O(log n) expected, with no rebalancing code to get
 * wrong.  Ranges are stored as [start, last] so that a range ending at
 * 2^64 - 1 needs no overflow care.
 */
#ifndef LIBMEMSLOT_GPATREE_H
#define LIBMEMSLOT_GPATREE_H

#include <stdint.h>

struct gpa_node {
	struct gpa_node *left, *right;
	uint64_t start, last;
	uint32_t prio;
};

struct gpa_tree {
	struct gpa_node *root;
	uint32_t seed;            /* xorshift state for priorities */
};

void gpa_tree_init(struct gpa_tree *t, uint32_t seed);
void gpa_tree_insert(struct gpa_tree *t, struct gpa_node *n);
void gpa_tree_remove(struct gpa_tree *t, struct gpa_node *n);
/* The lowest range whose last >= gpa, or NULL. */
struct gpa_node *gpa_tree_ceil(const struct gpa_tree *t, uint64_t gpa);
/* The range after n in address order, or NULL. */
struct gpa_node *gpa_tree_next(const struct gpa_tree *t,
			       const struct gpa_node *n);
/* The range containing gpa, or NULL. */
struct gpa_node *gpa_tree_find(const struct gpa_tree *t, uint64_t gpa);

#endif
