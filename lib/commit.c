/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Applying the canonical list: one list ioctl (batch) or one ioctl per
 * request with rollback in reverse (sequential).  Whatever happens, the
 * view is left equal to what the kernel was told, and the only heap
 * allocation is the scratch block of the canonical list.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "kvm-compat.h"

enum stage { STAGE_ORIG, STAGE_DELETED, STAGE_FINAL };

struct commit {
	struct memslot_vm *vm;
	struct canon canon;
	struct memslot_error err;
	uint32_t applied;         /* requests the kernel still has applied */
};

static int issue(struct commit *c, const struct req *rq, bool undo)
{
	struct memslot_vm *vm = c->vm;
	struct kvm_userspace_memory_region2 r2;

	encode_region2(rq, undo, &r2);
	c->err.issued++;
	if (vm->caps.user_memory2)
		return memslot_vm_ioctl(vm, KVM_SET_USER_MEMORY_REGION2, &r2);
	/* The first 32 bytes of REGION2 are the v1 struct. */
	return memslot_vm_ioctl(vm, KVM_SET_USER_MEMORY_REGION, &r2);
}

/* Undo the applied requests in reverse; stop at the first that fails. */
static void roll_back(struct commit *c)
{
	if (c->applied)
		c->err.flags |= MEMSLOT_ERROR_ROLLBACK;
	while (c->applied > 0) {
		int r = issue(c, &c->canon.reqs[c->applied - 1], true);

		if (r < 0) {
			c->err.flags |= MEMSLOT_ERROR_ROLLBACK_FAILED;
			c->err.rollback_err = r;
			return;
		}
		c->applied--;
	}
}

static int quiesce(struct commit *c)
{
	struct memslot_vm *vm = c->vm;
	int r;

	if (!c->canon.hole || !vm->quiesce)
		return 0;
	r = vm->quiesce(vm->quiesce_opaque);
	if (r) {
		c->err.flags |= MEMSLOT_ERROR_QUIESCE;
		return r < 0 ? r : -ECANCELED;
	}
	return 0;
}

static int commit_sequential(struct commit *c)
{
	struct memslot_vm *vm = c->vm;
	int r = quiesce(c);

	if (r)
		return r;
	for (c->applied = 0; c->applied < c->canon.nr; c->applied++) {
		const struct req *rq = &c->canon.reqs[c->applied];

		if ((r = issue(c, rq, false)) < 0) {
			c->err.change = rq->caller_idx;
			roll_back(c);
			break;
		}
	}
	if (c->canon.hole && vm->quiesce)
		vm->resume(vm->quiesce_opaque);
	return r < 0 ? r : 0;
}

static int commit_batch(struct commit *c, void *buf)
{
	struct memslot_vm *vm = c->vm;
	int r;

	encode_list(&c->canon, buf);
	c->err.issued++;
	r = memslot_vm_ioctl(vm, KVM_SET_USER_MEMORY_REGION_LIST, buf);
	if (r >= 0) {
		c->applied = c->canon.nr;
		return 0;
	}
	/*
	 * Every request was validated, so the kernel failed on something
	 * unpredictable.  A kernel carrying the posted RFC may have left a
	 * prefix applied with no way to tell: say so and stop batching.
	 */
	c->err.flags |= MEMSLOT_ERROR_VIEW_UNCERTAIN;
	vm->caps.batch_usable = 0;
	c->applied = 0;
	return r;
}

/*
 * After a failure whose rollback stopped early, the kernel has the first
 * c->applied requests: bring each pending record to that point so that
 * releasing the transaction as committed installs exactly that table.
 */
static void settle_partial(struct commit *c, struct memslot_txn *txn)
{
	for (uint32_t i = 0; i < txn->nr_touched; i++)
		txn->touched[i]->stage = STAGE_ORIG;
	for (uint32_t i = 0; i < c->applied; i++) {
		const struct req *rq = &c->canon.reqs[i];

		rq->pending->stage = rq->after ? STAGE_FINAL : STAGE_DELETED;
	}
	for (uint32_t i = 0; i < txn->nr_touched; i++) {
		struct slot *p = txn->touched[i];
		const struct slot *old = table_committed(c->vm, p->as_id, p->id);

		if (p->stage == STAGE_DELETED) {
			p->present = false;
		} else if (p->stage == STAGE_ORIG) {
			p->present = old != NULL;
			if (old)
				p->st = old->st;
		}
	}
}

static bool use_batch(const struct memslot_vm *vm, const struct canon *c)
{
	return vm->mode != MEMSLOT_MODE_SEQUENTIAL && vm->caps.batch_usable &&
	       !c->guest_memfd;
}

static int run(struct commit *c, struct memslot_txn *txn)
{
	struct memslot_vm *vm = c->vm;
	size_t scratch = canon_scratch_size(txn);
	void *block;
	int r;

	if (vm->mode == MEMSLOT_MODE_BATCH && !vm->caps.batch_usable)
		return -EOPNOTSUPP;
	/* Room for the list too, so that the commit allocates only once. */
	block = malloc(scratch + (vm->caps.batch_usable ?
				  encode_size(2 * txn->nr_touched) : 0));
	if (!block)
		return -ENOMEM;
	canon_build(txn, block, &c->canon);
	if (vm->mode == MEMSLOT_MODE_BATCH && c->canon.guest_memfd)
		r = -EOPNOTSUPP;
	else if (!c->canon.nr)
		r = 0;
	else if (use_batch(vm, &c->canon))
		r = commit_batch(c, (char *)block + scratch);
	else
		r = commit_sequential(c);
	if (r < 0 && c->applied)
		settle_partial(c, txn);
	free(block);
	return r;
}

MEMSLOT_EXPORT int memslot_txn_commit(struct memslot_txn *txn,
				      struct memslot_error *err)
{
	struct commit c = {
		.err = { .sz = sizeof(c.err), .change = -1 },
	};
	int r;

	if (!txn)
		return -EINVAL;
	if (err && err->sz < sizeof(size_t)) {
		memslot_txn_abort(txn);
		return -EINVAL;
	}
	c.vm = txn->vm;
	r = run(&c, txn);
	txn_release(txn, r == 0 || c.applied > 0);
	c.err.err = r;
	if (err)
		memslot_struct_out(err, &c.err, sizeof(c.err));
	return r;
}
