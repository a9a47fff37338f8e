/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The committed table and the open transaction's overlay on it.
 *
 * The pending view of an id is its pending record when the transaction
 * touched it, else its committed record.  Range queries combine the
 * transaction's gpa tree (touched ids, as they are now) with the
 * committed tree minus the touched ids.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/*
 * Slot records come from blocks and are recycled through a free list:
 * one malloc per block rather than one per change, and no malloc header
 * per record (88 bytes a slot).
 */
struct slot *slot_alloc(struct memslot_vm *vm)
{
	struct gpa_node *n = vm->free_nodes;
	struct slot *s;

	if (!n) {
		struct slot_block *b = malloc(sizeof(*b));

		if (!b)
			return NULL;
		b->next = vm->blocks;
		vm->blocks = b;
		for (int i = SLOTS_PER_BLOCK - 1; i >= 0; i--)
			slot_free(vm, &b->slots[i]);
		n = vm->free_nodes;
	}
	vm->free_nodes = n->left;
	s = slot_of(n);
	memset(s, 0, sizeof(*s));
	return s;
}

void slot_free(struct memslot_vm *vm, struct slot *s)
{
	s->node.left = vm->free_nodes;
	vm->free_nodes = &s->node;
}

void slot_pool_fini(struct memslot_vm *vm)
{
	while (vm->blocks) {
		struct slot_block *b = vm->blocks;

		vm->blocks = b->next;
		free(b);
	}
	vm->free_nodes = NULL;
}

static struct idmap_entry *entry(const struct memslot_vm *vm, uint16_t as_id,
				 uint16_t id)
{
	return idmap_peek(&vm->as[as_id].ids, id);
}

struct slot *table_committed(const struct memslot_vm *vm, uint16_t as_id,
			     uint16_t id)
{
	struct idmap_entry *e = entry(vm, as_id, id);

	return e ? e->committed : NULL;
}

struct slot *table_pending(const struct memslot_vm *vm, uint16_t as_id,
			   uint16_t id)
{
	struct idmap_entry *e = entry(vm, as_id, id);

	return e ? e->pending : NULL;
}

const struct slot_state *table_view(const struct memslot_vm *vm,
				    uint16_t as_id, uint16_t id)
{
	struct idmap_entry *e = entry(vm, as_id, id);

	if (!e)
		return NULL;
	if (e->pending)
		return e->pending->present ? &e->pending->st : NULL;
	return e->committed ? &e->committed->st : NULL;
}

static bool tree_overlaps(const struct memslot_vm *vm,
			  const struct gpa_tree *t, bool skip_touched,
			  uint16_t as_id, uint16_t self, uint64_t gpa,
			  uint64_t last)
{
	for (struct gpa_node *n = gpa_tree_ceil(t, gpa); n && n->start <= last;
	     n = gpa_tree_next(t, n)) {
		struct slot *s = slot_of(n);

		if (s->id == self)
			continue;
		/* A touched id's current range is in the pending tree. */
		if (skip_touched && table_pending(vm, as_id, s->id))
			continue;
		return true;
	}
	return false;
}

bool table_overlaps(const struct memslot_vm *vm, uint16_t as_id,
		    uint16_t self, uint64_t gpa, uint64_t size)
{
	uint64_t last = gpa + size - 1;
	const struct memslot_txn *txn = vm->txn;

	if (txn && tree_overlaps(vm, &txn->pending[as_id], false, as_id, self,
				 gpa, last))
		return true;
	return tree_overlaps(vm, &vm->as[as_id].committed, txn != NULL, as_id,
			     self, gpa, last);
}

int table_insert_committed(struct memslot_vm *vm, struct slot *s)
{
	struct idmap_entry *e = idmap_get(&vm->as[s->as_id].ids, s->id);

	if (!e)
		return -ENOMEM;
	e->committed = s;
	s->node.start = s->st.gpa;
	s->node.last = s->st.gpa + s->st.size - 1;
	gpa_tree_insert(&vm->as[s->as_id].committed, &s->node);
	vm->nr_committed++;
	return 0;
}

void table_remove_committed(struct memslot_vm *vm, struct slot *s)
{
	struct idmap_entry *e = entry(vm, s->as_id, s->id);

	e->committed = NULL;
	gpa_tree_remove(&vm->as[s->as_id].committed, &s->node);
	vm->nr_committed--;
}

bool bit_test(const uint64_t *map, uint32_t bit)
{
	return map[bit / 64] >> (bit % 64) & 1;
}

void bit_assign(uint64_t *map, uint32_t bit, bool on)
{
	if (on)
		map[bit / 64] |= 1ull << (bit % 64);
	else
		map[bit / 64] &= ~(1ull << (bit % 64));
}

bool table_id_blocked(const struct memslot_vm *vm, uint16_t as_id,
		      uint16_t id)
{
	const struct as_table *t = &vm->as[as_id];

	return bit_test(t->reserved, id) || bit_test(t->held, id);
}

/*
 * An id may be handed out only when nothing claims it: no committed slot,
 * no record in the open transaction (which covers the ids it deleted:
 * the quarantine), no reservation and no hold.
 */
void table_refresh_busy(struct memslot_vm *vm, uint16_t as_id, uint16_t id)
{
	struct idmap_entry *e = entry(vm, as_id, id);
	bool busy = (e && (e->committed || e->pending)) ||
		    table_id_blocked(vm, as_id, id);

	idalloc_set(&vm->as[as_id].busy, id, busy);
}
