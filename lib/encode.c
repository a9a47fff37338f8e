/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Kernel request encodings: REGION/REGION2 for the sequential path and
 * its undo, and the RFC's list for the batch path.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "kvm-compat.h"

size_t encode_size(uint32_t nr_reqs)
{
	return sizeof(struct kvm_userspace_memory_region_list) +
	       (size_t)nr_reqs * sizeof(struct kvm_userspace_memory_region_entry);
}

/*
 * The state a request asks for: the new state, or for a delete the old
 * one with memory_size 0 (the kernel checks a delete's other fields too).
 * undo asks for the request that reverts it.
 */
static void target_of(const struct req *rq, bool undo, struct slot_state *st)
{
	const struct slot_state *want = undo ? rq->before : rq->after;

	if (want) {
		*st = *want;
	} else {
		*st = undo ? *rq->after : *rq->before;
		st->size = 0;
	}
}

static uint32_t kernel_slot(const struct req *rq)
{
	return (uint32_t)rq->as_id << 16 | rq->id;
}

void encode_region2(const struct req *rq, bool undo, void *out)
{
	struct kvm_userspace_memory_region2 *r = out;
	struct slot_state st;

	target_of(rq, undo, &st);
	memset(r, 0, sizeof(*r));
	r->slot = kernel_slot(rq);
	r->flags = st.flags;
	r->guest_phys_addr = st.gpa;
	r->memory_size = st.size;
	r->userspace_addr = st.hva;
	if (st.flags & MEMSLOT_GUEST_MEMFD) {
		r->guest_memfd_offset = st.gmem_offset;
		r->guest_memfd = (uint32_t)st.gmem_fd;
	}
}

void encode_list(const struct canon *c, void *buf)
{
	struct kvm_userspace_memory_region_list *l = buf;

	memset(l, 0, encode_size(c->nr));
	l->nent = c->nr;
	for (uint32_t i = 0; i < c->nr; i++) {
		struct kvm_userspace_memory_region_entry *e = &l->entries[i];
		const struct req *rq = &c->reqs[i];
		struct slot_state st;

		target_of(rq, false, &st);
		e->slot = kernel_slot(rq);
		e->flags = st.flags;
		e->guest_phys_addr = st.gpa;
		e->memory_size = st.size;
		e->userspace_addr = st.hva;
		/* The RFC invalidates exactly the slots that lose their range. */
		e->invalidate_slot = rq->kind == REQ_DELETE || rq->kind == REQ_MOVE;
	}
}

MEMSLOT_EXPORT ssize_t memslot_txn_encode(const struct memslot_txn *txn,
					  void *buf, size_t len)
{
	struct canon c;
	void *scratch;
	size_t size;

	if (!txn || (!buf && len))
		return -EINVAL;
	scratch = malloc(canon_scratch_size(txn));
	if (!scratch)
		return -ENOMEM;
	canon_build(txn, scratch, &c);
	if (c.guest_memfd) {
		free(scratch);
		return -EOPNOTSUPP;   /* the list entry has no guest_memfd fields */
	}
	size = encode_size(c.nr);
	if (len >= size)
		encode_list(&c, buf);
	free(scratch);
	return (ssize_t)size;
}
