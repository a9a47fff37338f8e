/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stddef.h>

#include "gpatree.h"

void gpa_tree_init(struct gpa_tree *t, uint32_t seed)
{
	t->root = NULL;
	t->seed = seed ? seed : 0x9e3779b9u;
}

static uint32_t next_prio(struct gpa_tree *t)
{
	uint32_t x = t->seed;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	t->seed = x;
	return x;
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

/* Insert n into the subtree at root, restoring heap order on prio by rotations. */
static struct gpa_node *insert_at(struct gpa_node *root, struct gpa_node *n)
{
	if (!root)
		return n;
	if (n->start < root->start) {
		root->left = insert_at(root->left, n);
		if (root->left->prio > root->prio)
			root = rotate_right(root);
	} else {
		root->right = insert_at(root->right, n);
		if (root->right->prio > root->prio)
			root = rotate_left(root);
	}
	return root;
}

void gpa_tree_insert(struct gpa_tree *t, struct gpa_node *n)
{
	n->left = n->right = NULL;
	n->prio = next_prio(t);
	t->root = insert_at(t->root, n);
}

/* Join two treaps whose key ranges are ordered (all of a before b). */
static struct gpa_node *join(struct gpa_node *a, struct gpa_node *b)
{
	if (!a)
		return b;
	if (!b)
		return a;
	if (a->prio > b->prio) {
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
