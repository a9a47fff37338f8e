/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * An ordered set of non-overlapping guest-physical ranges: a treap, so
 * every operation is O(log n) expected, with no rebalancing code to get
 * wrong.  Ranges are stored as [start, last] so that a range ending at
 * 2^64 - 1 needs no overflow care.  A node's priority is a hash of its
 * start (distinct in a tree), so that it takes no room in the node: the
 * node is 32 bytes, and struct slot fits a 96-byte malloc chunk.
 */
#ifndef LIBMEMSLOT_GPATREE_H
#define LIBMEMSLOT_GPATREE_H

#include <stdint.h>

struct gpa_node {
	struct gpa_node *left, *right;
	uint64_t start, last;
};

struct gpa_tree {
	struct gpa_node *root;
};

void gpa_tree_init(struct gpa_tree *t);
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
