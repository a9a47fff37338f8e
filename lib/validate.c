/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The kernel's rules for one KVM_SET_USER_MEMORY_REGION(2) request, in
 * the kernel's order, so that the first rule that fails gives the errno
 * the kernel would return (kernel-rules.md section 2; labels in the
 * comments).  The table consulted is the pending view: the committed
 * table as the open transaction's earlier changes leave it.
 *
 * Not predicted, so left to the kernel at commit: KVM's internal slots,
 * the host's physical address width (K), ENOMEM, and the guest_memfd
 * file checks beyond a negative fd (H).
 */
#include <errno.h>
#include <stdbool.h>

#include "internal.h"

#define V1_FLAGS (MEMSLOT_LOG_DIRTY_PAGES | MEMSLOT_READONLY)

/* D1: the flags this VM accepts for this request. */
static uint32_t valid_flags(const struct memslot_vm *vm, uint32_t flags)
{
	uint32_t valid = MEMSLOT_LOG_DIRTY_PAGES;

	if (vm->caps.guest_memfd)
		valid |= MEMSLOT_GUEST_MEMFD;
	/* Dirty logging and read-only are not supported on private memory. */
	if (flags & MEMSLOT_GUEST_MEMFD)
		valid &= ~MEMSLOT_LOG_DIRTY_PAGES;
	else if (vm->caps.readonly)
		valid |= MEMSLOT_READONLY;
	return valid;
}

static bool wraps(uint64_t base, uint64_t size)
{
	return base + size < base;
}

/* A2 to D9: checks of the request alone, all EINVAL. */
static int check_sanity(const struct memslot_vm *vm, const struct request *rq)
{
	const struct slot_state *st = &rq->st;
	uint64_t page = vm->page_size;

	if (!vm->caps.user_memory2 && (st->flags & ~V1_FLAGS))
		return -EINVAL;                                 /* A2 */
	if (rq->id >= vm->caps.nr_slots)
		return -EINVAL;                                 /* B */
	if (st->flags & ~valid_flags(vm, st->flags))
		return -EINVAL;                                 /* D1 */
	if (st->size % page)
		return -EINVAL;                                 /* D3 */
	if (st->gpa % page)
		return -EINVAL;                                 /* D4 */
	if (st->hva % page || wraps(st->hva, st->size) ||
	    st->hva + st->size >= vm->user_addr_limit)
		return -EINVAL;                                 /* D5 */
	if ((st->flags & MEMSLOT_GUEST_MEMFD) &&
	    (st->gmem_offset % page || wraps(st->gmem_offset, st->size)))
		return -EINVAL;                                 /* D6 */
	if (rq->as_id >= vm->caps.nr_as)
		return -EINVAL;                                 /* D7 */
	if (wraps(st->gpa, st->size))
		return -EINVAL;                                 /* D8 */
	if (st->size / page > MEMSLOT_MAX_PAGES)
		return -EINVAL;                                 /* D9 */
	return 0;
}

/* E4 to E7: what a request on an existing slot may change. */
static int classify_modify(const struct slot_state *old,
			   const struct slot_state *st, enum change_kind *kind)
{
	if (st->flags & MEMSLOT_GUEST_MEMFD)
		return -EINVAL;                                 /* E4 */
	/* E5: accepted by 6.8 to 6.12, then a use-after-free; refuse it. */
	if (old->flags & MEMSLOT_GUEST_MEMFD)
		return -EINVAL;
	if (st->hva != old->hva || st->size != old->size ||
	    ((st->flags ^ old->flags) & MEMSLOT_READONLY))
		return -EINVAL;                                 /* E6 */
	if (st->gpa != old->gpa)
		*kind = CHANGE_MOVE;                            /* E7 */
	else if (st->flags != old->flags)
		*kind = CHANGE_FLAGS;
	else
		*kind = CHANGE_NOOP;
	return 0;
}

int validate_request(const struct memslot_vm *vm, const struct request *rq,
		     enum change_kind *kind)
{
	const struct slot_state *old, *st = &rq->st;
	int err = check_sanity(vm, rq);

	if (err)
		return err;
	/* Not the kernel's: ids that belong to other code or to a ring. */
	if (table_id_blocked(vm, rq->as_id, rq->id))
		return -EBUSY;
	old = table_view(vm, rq->as_id, rq->id);
	if (!st->size) {
		*kind = CHANGE_DELETE;
		return old ? 0 : -EINVAL;                       /* E1 */
	}
	if (!old)
		*kind = CHANGE_CREATE;
	else if ((err = classify_modify(old, st, kind)))
		return err;
	if ((*kind == CHANGE_CREATE || *kind == CHANGE_MOVE) &&
	    table_overlaps(vm, rq->as_id, rq->id, st->gpa, st->size))
		return -EEXIST;                                 /* F */
	if ((st->flags & MEMSLOT_GUEST_MEMFD) && st->gmem_fd < 0)
		return -EBADF;                                  /* H */
	return 0;
}

int validate_adopt(const struct memslot_vm *vm, const struct request *rq)
{
	enum change_kind kind;
	int err = validate_request(vm, rq, &kind);

	if (err)
		return err;
	return kind == CHANGE_CREATE ? 0 : -EEXIST;
}
