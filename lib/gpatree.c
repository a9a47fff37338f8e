/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdbool.h>
#include <stddef.h>

#include "gpatree.h"

void gpa_tree_init(struct gpa_tree *t)
{
	t->root = NULL;
}

/*
 * The priority of a node: a strong mix of its start (the finaliser of
 * splitmix64), as good as a random number for the treap's balance since
 * the caller does not choose starts to defeat it; ties are broken by
 * start, so the shape depends on the set of ranges only.
 */
static uint64_t prio(const struct gpa_node *n)
{
	uint64_t x = n->start;

	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return x;
}

/* Whether a (of priority pa) belongs above b in the heap order. */
static bool outranks(uint64_t pa, const struct gpa_node *a,
		     const struct gpa_node *b)
{
	uint64_t pb = prio(b);

	return pa > pb || (pa == pb && a->start < b->start);
}

static struct gpa_node *rotate_right(struct gpa_node *n)
{
	struct gpa_node *l = n->left;

	n->left = l->right;
	l->right = n;
	return l;
}

static struct gpa_node *rotate_left(struct gpa_node *n)
{
	struct gpa_node *r = n->right;

	n->right = r->left;
	r->left = n;
	return r;
}

/*
 * Insert n (of priority pn) into the subtree at root, restoring heap order
 * by rotations.  Only n can break the order, and only while it is the
 * child just below: higher up no priority is computed.
 */
static struct gpa_node *insert_at(struct gpa_node *root, struct gpa_node *n,
				  uint64_t pn)
{
	if (!root)
		return n;
	if (n->start < root->start) {
		root->left = insert_at(root->left, n, pn);
		if (root->left == n && outranks(pn, n, root))
			root = rotate_right(root);
	} else {
		root->right = insert_at(root->right, n, pn);
		if (root->right == n && outranks(pn, n, root))
			root = rotate_left(root);
	}
	return root;
}

void gpa_tree_insert(struct gpa_tree *t, struct gpa_node *n)
{
	n->left = n->right = NULL;
	t->root = insert_at(t->root, n, prio(n));
}

/* Join two treaps whose key ranges are ordered (all of a before b). */
static struct gpa_node *join(struct gpa_node *a, struct gpa_node *b)
{
	if (!a)
		return b;
	if (!b)
		return a;
	if (outranks(prio(a), a, b)) {
		a->right = join(a->right, b);
		return a;
	}
	b->left = join(a, b->left);
	return b;
}

static struct gpa_node *remove_at(struct gpa_node *root, struct gpa_node *n)
{
	if (root == n)
		return join(n->left, n->right);
	if (n->start < root->start)
		root->left = remove_at(root->left, n);
	else
		root->right = remove_at(root->right, n);
	return root;
}

void gpa_tree_remove(struct gpa_tree *t, struct gpa_node *n)
{
	t->root = remove_at(t->root, n);
	n->left = n->right = NULL;
}

struct gpa_node *gpa_tree_ceil(const struct gpa_tree *t, uint64_t gpa)
{
	struct gpa_node *n = t->root, *best = NULL;

	while (n) {
		if (n->last >= gpa) {
			best = n;
			n = n->left;
		} else {
			n = n->right;
		}
	}
	return best;
}

struct gpa_node *gpa_tree_next(const struct gpa_tree *t,
			       const struct gpa_node *prev)
{
	struct gpa_node *n = t->root, *best = NULL;

	while (n) {
		if (n->start > prev->start) {
			best = n;
			n = n->left;
		} else {
			n = n->right;
		}
	}
	return best;
}

struct gpa_node *gpa_tree_find(const struct gpa_tree *t, uint64_t gpa)
{
	struct gpa_node *n = gpa_tree_ceil(t, gpa);

	return n && n->start <= gpa ? n : NULL;
}
