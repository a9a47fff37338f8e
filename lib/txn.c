/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Building a transaction: each change is validated against the pending
 * view and then applied to the overlay, so the next change sees it.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>

#include "internal.h"

MEMSLOT_EXPORT int memslot_txn_begin(struct memslot_vm *vm,
				     struct memslot_txn **txnp)
{
	struct memslot_txn *txn;

	if (!vm || !txnp)
		return -EINVAL;
	if (vm->txn)
		return -EBUSY;
	txn = calloc(1, sizeof(*txn));
	if (!txn)
		return -ENOMEM;
	txn->vm = vm;
	for (uint32_t i = 0; i < MEMSLOT_MAX_AS; i++)
		gpa_tree_init(&txn->pending[i]);
	vm->txn = txn;
	*txnp = txn;
	return 0;
}

/* Room for one more touched id, made before anything changes. */
static int reserve_touched(struct memslot_txn *txn)
{
	struct slot **grown;
	uint32_t cap;

	if (txn->nr_touched < txn->cap_touched)
		return 0;
	cap = txn->cap_touched ? txn->cap_touched * 2 : 16;
	grown = realloc(txn->touched, cap * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	txn->touched = grown;
	txn->cap_touched = cap;
	return 0;
}

/* The id's pending record, created from the committed one on first touch. */
static struct slot *touch(struct memslot_txn *txn, uint16_t as_id, uint16_t id)
{
	struct idmap_entry *e = idmap_get(&txn->vm->as[as_id].ids, id);
	struct slot *p;

	if (!e)
		return NULL;
	if (e->pending)
		return e->pending;
	p = slot_alloc(txn->vm);
	if (!p)
		return NULL;
	p->as_id = as_id;
	p->id = id;
	p->del_idx = -1;
	if (e->committed) {
		p->st = e->committed->st;
		p->present = true;
		p->node.start = e->committed->node.start;
		p->node.last = e->committed->node.last;
		gpa_tree_insert(&txn->pending[as_id], &p->node);
	}
	e->pending = p;
	txn->touched[txn->nr_touched++] = p;
	return p;
}

static void place(struct memslot_txn *txn, struct slot *p, bool present)
{
	struct gpa_tree *t = &txn->pending[p->as_id];

	if (p->present)
		gpa_tree_remove(t, &p->node);
	p->present = present;
	if (present) {
		p->node.start = p->st.gpa;
		p->node.last = p->st.gpa + p->st.size - 1;
		gpa_tree_insert(t, &p->node);
	}
}

static int queue(struct memslot_txn *txn, const struct request *rq)
{
	struct memslot_vm *vm = txn->vm;
	enum change_kind kind;
	struct slot *p;
	int err;

	if (txn->nr_changes == INT32_MAX)
		return -E2BIG;
	if ((err = validate_request(vm, rq, &kind)))
		return err;
	if (kind == CHANGE_NOOP) {
		txn->nr_changes++;
		return 0;
	}
	if ((err = reserve_touched(txn)))
		return err;
	if (!(p = touch(txn, rq->as_id, rq->id)))
		return -ENOMEM;
	if (kind == CHANGE_DELETE && p->del_idx < 0)
		p->del_idx = txn->nr_changes;
	p->st = kind == CHANGE_DELETE ? p->st : rq->st;
	place(txn, p, kind != CHANGE_DELETE);
	p->last_idx = txn->nr_changes++;
	idalloc_set(&vm->as[rq->as_id].busy, rq->id, true);
	return 0;
}

MEMSLOT_EXPORT int memslot_txn_add(struct memslot_txn *txn,
				   const struct memslot_region *r,
				   uint16_t *slotp)
{
	struct request rq;
	int err;

	if (!txn)
		return -EINVAL;
	if ((err = request_from_region(r, &rq)))
		return err;
	if (rq.id == MEMSLOT_ANY_SLOT) {
		int id;

		if (rq.as_id >= txn->vm->caps.nr_as)
			return -EINVAL;
		if ((id = idalloc_lowest(&txn->vm->as[rq.as_id].busy)) < 0)
			return id;
		rq.id = (uint16_t)id;
	}
	if ((err = queue(txn, &rq)))
		return err;
	if (slotp)
		*slotp = rq.id;
	return 0;
}

/* A request on an existing slot of the pending view, as the kernel gets it. */
static int request_on(const struct memslot_txn *txn, uint16_t as_id,
		      uint16_t id, struct request *rq)
{
	const struct memslot_vm *vm;
	const struct slot_state *st;

	if (!txn)
		return -EINVAL;
	vm = txn->vm;
	if (as_id >= vm->caps.nr_as || id >= vm->caps.nr_slots)
		return -EINVAL;
	if (!(st = table_view(vm, as_id, id)))
		return -ENOENT;
	rq->as_id = as_id;
	rq->id = id;
	rq->st = *st;
	return 0;
}

MEMSLOT_EXPORT int memslot_txn_delete(struct memslot_txn *txn, uint16_t as_id,
				      uint16_t slot)
{
	struct request rq;
	int err = request_on(txn, as_id, slot, &rq);

	if (err)
		return err;
	rq.st.size = 0;
	return queue(txn, &rq);
}

MEMSLOT_EXPORT int memslot_txn_move(struct memslot_txn *txn, uint16_t as_id,
				    uint16_t slot, uint64_t new_gpa)
{
	struct request rq;
	int err = request_on(txn, as_id, slot, &rq);

	if (err)
		return err;
	rq.st.gpa = new_gpa;
	return queue(txn, &rq);
}

MEMSLOT_EXPORT int memslot_txn_set_flags(struct memslot_txn *txn,
					 uint16_t as_id, uint16_t slot,
					 uint32_t flags)
{
	struct request rq;
	int err = request_on(txn, as_id, slot, &rq);

	if (err)
		return err;
	rq.st.flags = flags;
	return queue(txn, &rq);
}

MEMSLOT_EXPORT int memslot_txn_count(const struct memslot_txn *txn)
{
	return txn ? txn->nr_changes : -EINVAL;
}

/*
 * Replace the committed records of the touched ids by their pending ones,
 * without allocating.  All old records leave the committed tree before
 * any new one enters, since in between old and new ranges may overlap.
 */
static void install(struct memslot_txn *txn)
{
	struct memslot_vm *vm = txn->vm;

	for (uint32_t i = 0; i < txn->nr_touched; i++) {
		struct slot *p = txn->touched[i];
		struct as_table *t = &vm->as[p->as_id];
		struct slot *old = table_committed(vm, p->as_id, p->id);

		if (!old)
			continue;
		table_remove_committed(vm, old);
		slot_free(vm, old);
		if ((vm->flags & MEMSLOT_VM_HOLD_DELETED_IDS) && !p->present)
			bit_assign(t->held, p->id, true);
	}
	for (uint32_t i = 0; i < txn->nr_touched; i++)
		if (txn->touched[i]->present)
			table_insert_committed(vm, txn->touched[i]);
}

/*
 * End the transaction: install it when committed, else drop it.  Either
 * way the quarantine of the ids it deleted ends here, unless the vm holds
 * deleted ids until they are released.
 */
void txn_release(struct memslot_txn *txn, bool committed)
{
	struct memslot_vm *vm = txn->vm;

	if (committed)
		install(txn);
	for (uint32_t i = 0; i < txn->nr_touched; i++) {
		struct slot *p = txn->touched[i];
		uint16_t as_id = p->as_id, id = p->id;

		idmap_peek(&vm->as[as_id].ids, id)->pending = NULL;
		if (!committed || !p->present)
			slot_free(vm, p);
		table_refresh_busy(vm, as_id, id);
	}
	vm->txn = NULL;
	free(txn->touched);
	free(txn);
}

MEMSLOT_EXPORT void memslot_txn_abort(struct memslot_txn *txn)
{
	if (txn)
		txn_release(txn, false);
}
