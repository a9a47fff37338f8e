/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The simulated kernel: KVM's VM-fd ioctl handler for memslots.
 *
 * It is written from kernel-rules.md alone, independently of the
 * library's validator, because the two are cross-checked against each
 * other and against real kernels: a shared mistake would hide itself.
 *
 * Single-slot requests (REGION, REGION2) run the rules of kernel-rules.md
 * section 2.1 in the kernel's order, so the first failing rule gives the
 * errno.  Rule labels (A2, B, D1 ... K) in the comments are that table's.
 *
 * The batch ioctl (KVM_SET_USER_MEMORY_REGION_LIST, the 2022 RFC that was
 * never merged) gets the semantics the RFC aimed at: entries validated
 * and applied in order, each seeing the state the earlier ones leave,
 * then published at once; nothing on failure.  Inputs that crash or wedge
 * the posted RFC are refused with EINVAL, so a library bug that would
 * send them shows up in tests instead of on a real kernel.
 *
 * Table: per address space, an array of slots indexed by id, and the
 * present slots' gpa ranges in an array sorted by address (binary search
 * for the overlap check, memmove to insert: a full 32764-slot table stays
 * fast).  guest_memfd bindings sit in one more sorted array keyed by
 * (fd, offset).  Every change goes through slot_set(), which keeps the
 * three in step; a batch records the old slots it replaced and undoes
 * them through slot_set() too.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "kvm-compat.h"

#ifndef MEMSLOT_EXPORT
#define MEMSLOT_EXPORT __attribute__((visibility("default")))
#endif

#define SIM_DEFAULT_NR_SLOTS 32764u   /* x86_64's KVM_USER_MEM_SLOTS */
#define SIM_DEFAULT_NR_AS 2u          /* x86 with SMM */
#define SIM_MAX_SLOTS 32767u          /* KVM_MEM_SLOTS_NUM = SHRT_MAX */
#define SIM_MAX_AS 2u
#define SIM_MAX_PAGES 0x7fffffffull   /* KVM_MEM_MAX_NR_PAGES */
#define SIM_NO_OWNER UINT32_MAX

#define SIM_LOG_DIRTY ((uint32_t)KVM_MEM_LOG_DIRTY_PAGES)
#define SIM_READONLY ((uint32_t)KVM_MEM_READONLY)
#define SIM_GMEM ((uint32_t)KVM_MEM_GUEST_MEMFD)

struct sim_slot {
	uint64_t gpa;
	uint64_t size;
	uint64_t hva;
	uint64_t gmem_off;        /* GUEST_MEMFD slots only, else 0 */
	uint32_t flags;
	int32_t gmem_fd;          /* GUEST_MEMFD slots only, else -1 */
	bool present;
};

/* A non-empty half-open range [start, end); key separates the files. */
struct sim_range {
	uint64_t key;             /* 0 for gpa ranges, the fd for bindings */
	uint64_t start;
	uint64_t end;
	uint32_t owner;           /* as_id << 16 | id */
};

/* Sorted by (key, start); ranges of one key never overlap. */
struct sim_ranges {
	struct sim_range *v;
	uint32_t n;               /* capacity is fixed at creation */
};

struct memslot_sim {
	uint32_t nr_slots;
	uint32_t nr_as;
	bool readonly;
	bool region2;
	bool guest_memfd;
	bool batch;
	bool rfc_partial;
	uint32_t phys_bits;
	uint32_t max_batch;
	uint64_t page_size;
	uint64_t user_limit;      /* hva + size must stay below it */
	long counts[MEMSLOT_SIM_ALL];
	unsigned int fail_nth;    /* 0: disarmed */
	int fail_err;
	struct sim_slot *slots[SIM_MAX_AS];
	struct sim_ranges gpa[SIM_MAX_AS];
	struct sim_ranges gmem;
	uint64_t *live[SIM_MAX_AS];   /* bitmap of present ids, for foreach */
	uint32_t *stamp[SIM_MAX_AS];  /* batch generation that touched an id */
	uint32_t batch_gen;
};

/* One single-slot request, whichever ioctl carried it. */
struct sim_req {
	uint32_t slot;            /* as_id << 16 | id, unchecked */
	uint32_t flags;
	uint64_t gpa;
	uint64_t size;
	uint64_t hva;
	uint64_t gmem_off;
	int32_t gmem_fd;
	bool v1;                  /* the 32-byte layout: REGION or a list entry */
};

enum sim_change {
	SIM_NOOP,
	SIM_CREATE,
	SIM_DELETE,
	SIM_MOVE,
	SIM_FLAGS,
};

/* What a batch entry replaced, to undo it. */
struct sim_undo {
	uint16_t as_id;
	uint16_t id;
	struct sim_slot old;
};

/* ---- sorted range arrays ------------------------------------------------- */

static bool range_before(const struct sim_range *e, uint64_t key,
			 uint64_t start)
{
	return e->key < key || (e->key == key && e->start < start);
}

/* Index of the first range at or after (key, start). */
static uint32_t ranges_lower(const struct sim_ranges *r, uint64_t key,
			     uint64_t start)
{
	uint32_t lo = 0, hi = r->n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (range_before(&r->v[mid], key, start))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * Does [start, end) meet a range of key owned by someone other than self?
 * Ranges of a key are disjoint, so only the one before the insertion
 * point can reach into start, and every range from the insertion point
 * that begins below end overlaps: the loop ends after self and one more.
 */
static bool ranges_overlap(const struct sim_ranges *r, uint64_t key,
			   uint64_t start, uint64_t end, uint32_t self)
{
	uint32_t i = ranges_lower(r, key, start);

	if (i > 0)
		i--;
	for (; i < r->n; i++) {
		const struct sim_range *e = &r->v[i];

		if (e->key < key)
			continue;
		if (e->key > key || e->start >= end)
			break;
		if (e->end > start && e->owner != self)
			return true;
	}
	return false;
}

static void ranges_insert(struct sim_ranges *r, const struct sim_range *e)
{
	uint32_t i = ranges_lower(r, e->key, e->start);

	memmove(&r->v[i + 1], &r->v[i], (r->n - i) * sizeof(*e));
	r->v[i] = *e;
	r->n++;
}

static void ranges_remove(struct sim_ranges *r, uint64_t key, uint64_t start)
{
	uint32_t i = ranges_lower(r, key, start);

	/* Every caller removes a range it inserted: (key, start) is there. */
	if (i >= r->n || r->v[i].key != key || r->v[i].start != start)
		return;
	memmove(&r->v[i], &r->v[i + 1], (r->n - i - 1) * sizeof(r->v[0]));
	r->n--;
}

/* ---- the table ----------------------------------------------------------- */

static uint64_t fd_key(int32_t fd)
{
	return (uint64_t)(uint32_t)fd;
}

static uint32_t owner_of(uint16_t as_id, uint16_t id)
{
	return (uint32_t)as_id << 16 | id;
}

static void slot_unlink(struct memslot_sim *sim, uint16_t as_id,
			const struct sim_slot *s)
{
	ranges_remove(&sim->gpa[as_id], 0, s->gpa);
	if (s->flags & SIM_GMEM)
		ranges_remove(&sim->gmem, fd_key(s->gmem_fd), s->gmem_off);
}

static void slot_link(struct memslot_sim *sim, uint16_t as_id, uint16_t id,
		      const struct sim_slot *s)
{
	struct sim_range e = {
		.key = 0,
		.start = s->gpa,
		.end = s->gpa + s->size,
		.owner = owner_of(as_id, id),
	};

	ranges_insert(&sim->gpa[as_id], &e);
	if (s->flags & SIM_GMEM) {
		e.key = fd_key(s->gmem_fd);
		e.start = s->gmem_off;
		e.end = s->gmem_off + s->size;
		ranges_insert(&sim->gmem, &e);
	}
}

/*
 * Make (as_id, id) hold *s (absent when s is not present).  Never fails:
 * the range arrays have room for every id, and the rules keep the ranges
 * of each key disjoint.
 */
static void slot_set(struct memslot_sim *sim, uint16_t as_id, uint16_t id,
		     const struct sim_slot *s)
{
	struct sim_slot *cur = &sim->slots[as_id][id];
	uint64_t bit = 1ull << (id % 64);

	if (cur->present)
		slot_unlink(sim, as_id, cur);
	*cur = *s;
	sim->live[as_id][id / 64] &= ~bit;
	if (cur->present) {
		slot_link(sim, as_id, id, cur);
		sim->live[as_id][id / 64] |= bit;
	}
}

/* ---- the rules of kernel-rules.md 2.1, in order -------------------------- */

/* D1: the valid flag set for this VM and this request (section 2.3). */
static uint32_t valid_flags(const struct memslot_sim *sim, uint32_t flags)
{
	uint32_t valid = SIM_LOG_DIRTY;

	if (sim->guest_memfd)
		valid |= SIM_GMEM;
	/* Dirty logging of private memory is not supported. */
	if (flags & SIM_GMEM)
		valid &= ~SIM_LOG_DIRTY;
	if (sim->readonly && !(flags & SIM_GMEM))
		valid |= SIM_READONLY;
	return valid;
}

/* D5: page aligned, no wrap, and below the user address limit. */
static bool hva_bad(const struct memslot_sim *sim, const struct sim_req *rq)
{
	uint64_t end = rq->hva + rq->size;

	return rq->hva % sim->page_size || end < rq->hva ||
	       end >= sim->user_limit;
}

/* D3 to D9: the sanity checks, which deletes go through too. */
static int check_sanity(const struct memslot_sim *sim,
			const struct sim_req *rq)
{
	uint64_t ps = sim->page_size;

	/* D3; the unsigned long test only matters on 32-bit hosts. */
	if (rq->size % ps || rq->size > ULONG_MAX)
		return -EINVAL;
	if (rq->gpa % ps)                                         /* D4 */
		return -EINVAL;
	if (hva_bad(sim, rq))                                     /* D5 */
		return -EINVAL;
	if ((rq->flags & SIM_GMEM) &&                             /* D6 */
	    (rq->gmem_off % ps || rq->gmem_off + rq->size < rq->gmem_off))
		return -EINVAL;
	/* D7; id >= KVM_MEM_SLOTS_NUM cannot pass B, nr_slots <= 32767. */
	if ((rq->slot >> 16) >= sim->nr_as)
		return -EINVAL;
	if (rq->gpa + rq->size < rq->gpa)                         /* D8 */
		return -EINVAL;
	if (rq->size / ps > SIM_MAX_PAGES)                        /* D9 */
		return -EINVAL;
	return 0;
}

/* E1, E4 to E7: what the request does to the slot with its id. */
static int classify(const struct memslot_sim *sim, const struct sim_req *rq,
		    enum sim_change *chg)
{
	const struct sim_slot *old =
		&sim->slots[rq->slot >> 16][(uint16_t)rq->slot];

	if (rq->size == 0) {
		if (!old->present)                                /* E1 */
			return -EINVAL;
		*chg = SIM_DELETE;
		return 0;
	}
	if (!old->present) {
		*chg = SIM_CREATE;   /* E3 cannot fire: 64-bit page counts */
		return 0;
	}
	/* E4: guest_memfd slots are immutable, even an identical re-issue. */
	if (rq->flags & SIM_GMEM)
		return -EINVAL;
	/* E5: clearing GUEST_MEMFD, as fixed kernels refuse it. */
	if (old->flags & SIM_GMEM)
		return -EINVAL;
	if (rq->hva != old->hva || rq->size != old->size ||       /* E6 */
	    ((rq->flags ^ old->flags) & SIM_READONLY))
		return -EINVAL;
	if (rq->gpa != old->gpa)                                  /* E7 */
		*chg = SIM_MOVE;
	else if (rq->flags != old->flags)
		*chg = SIM_FLAGS;
	else
		*chg = SIM_NOOP;
	return 0;
}

/* A2 to E7: everything up to and including the classification. */
static int check_early(const struct memslot_sim *sim,
		       const struct sim_req *rq, enum sim_change *chg)
{
	int err;

	if (rq->v1 && (rq->flags & ~(SIM_LOG_DIRTY | SIM_READONLY)))  /* A2 */
		return -EINVAL;
	if ((uint16_t)rq->slot >= sim->nr_slots)                  /* B */
		return -EINVAL;
	if (rq->flags & ~valid_flags(sim, rq->flags))             /* D1 */
		return -EINVAL;
	err = check_sanity(sim, rq);
	if (err)
		return err;
	return classify(sim, rq, chg);
}

/*
 * H, guest_memfd bind (section 3).  The sim cannot tell a guest_memfd
 * from another file or know its size, so any fd >= 0 is taken for one;
 * what it can check is the offset as a loff_t (no file reaches past
 * INT64_MAX) and that the file range is not bound already.
 */
static int check_bind(const struct memslot_sim *sim, const struct sim_req *rq)
{
	uint64_t off = rq->gmem_off;

	if (rq->gmem_fd < 0)
		return -EBADF;
	if (off > INT64_MAX || rq->size > INT64_MAX - off)
		return -EINVAL;
	if (ranges_overlap(&sim->gmem, fd_key(rq->gmem_fd), off,
			   off + rq->size, SIM_NO_OWNER))
		return -EINVAL;
	return 0;
}

/* K: the last byte must lie below 2^phys_bits (x86 kvm_mmu_max_gfn()). */
static bool beyond_phys(const struct memslot_sim *sim,
			const struct sim_req *rq)
{
	uint64_t last = rq->gpa + rq->size - 1;

	return sim->phys_bits && sim->phys_bits < 64 &&
	       last >> sim->phys_bits;
}

/* F, H and K: the checks after classification, for CREATE and MOVE. */
static int check_late(const struct memslot_sim *sim,
		      const struct sim_req *rq, enum sim_change chg)
{
	uint16_t as_id = rq->slot >> 16, id = (uint16_t)rq->slot;
	int err;

	if (chg != SIM_CREATE && chg != SIM_MOVE)
		return 0;
	if (ranges_overlap(&sim->gpa[as_id], 0, rq->gpa,            /* F */
			   rq->gpa + rq->size, owner_of(as_id, id)))
		return -EEXIST;
	if (rq->flags & SIM_GMEM) {                               /* H */
		err = check_bind(sim, rq);
		if (err)
			return err;
	}
	if (beyond_phys(sim, rq))                                 /* K */
		return -EINVAL;
	return 0;
}

static void apply(struct memslot_sim *sim, const struct sim_req *rq,
		  enum sim_change chg)
{
	uint16_t as_id = rq->slot >> 16, id = (uint16_t)rq->slot;
	struct sim_slot s = sim->slots[as_id][id];

	switch (chg) {
	case SIM_NOOP:
		return;
	case SIM_DELETE:
		memset(&s, 0, sizeof(s));
		s.gmem_fd = -1;
		break;
	case SIM_CREATE:
		s = (struct sim_slot){
			.gpa = rq->gpa, .size = rq->size, .hva = rq->hva,
			.flags = rq->flags, .gmem_fd = -1, .present = true,
		};
		if (rq->flags & SIM_GMEM) {
			s.gmem_fd = rq->gmem_fd;
			s.gmem_off = rq->gmem_off;
		}
		break;
	case SIM_MOVE:
	case SIM_FLAGS:
		/* hva, size and READONLY are equal (E6); gmem cannot get here. */
		s.gpa = rq->gpa;
		s.flags = rq->flags;
		break;
	}
	slot_set(sim, as_id, id, &s);
}

static int set_region(struct memslot_sim *sim, const struct sim_req *rq)
{
	enum sim_change chg;
	int err;

	err = check_early(sim, rq, &chg);
	if (err || chg == SIM_NOOP)
		return err;
	err = check_late(sim, rq, chg);
	if (err)
		return err;
	apply(sim, rq, chg);
	return 0;
}

/* ---- the single-slot ioctls ---------------------------------------------- */

static int ioctl_region(struct memslot_sim *sim, const void *arg)
{
	const struct kvm_userspace_memory_region *m = arg;
	struct sim_req rq;

	if (!m)                                                   /* A1 */
		return -EFAULT;
	rq = (struct sim_req){
		.slot = m->slot, .flags = m->flags,
		.gpa = m->guest_phys_addr, .size = m->memory_size,
		.hva = m->userspace_addr, .gmem_fd = -1, .v1 = true,
	};
	return set_region(sim, &rq);
}

static int ioctl_region2(struct memslot_sim *sim, const void *arg)
{
	const struct kvm_userspace_memory_region2 *m = arg;
	struct sim_req rq;

	if (!sim->region2)   /* before 6.8 the ioctl is unknown */
		return -ENOTTY;
	if (!m)                                                   /* A1 */
		return -EFAULT;
	/* The kernel never checks pad1 and pad2 (section 1.1). */
	rq = (struct sim_req){
		.slot = m->slot, .flags = m->flags,
		.gpa = m->guest_phys_addr, .size = m->memory_size,
		.hva = m->userspace_addr, .gmem_off = m->guest_memfd_offset,
		.gmem_fd = (int32_t)m->guest_memfd, .v1 = false,
	};
	return set_region(sim, &rq);
}

/* ---- the batch ioctl ----------------------------------------------------- */

/*
 * Stricter than the RFC, which never looks at the padding and takes any
 * non-zero invalidate_slot: a sim that refuses both catches an encoder
 * that leaves garbage there.
 */
static bool entry_malformed(const struct kvm_userspace_memory_region_entry *e)
{
	if (e->invalidate_slot > 1)
		return true;
	for (size_t i = 0; i < sizeof(e->padding); i++)
		if (e->padding[i])
			return true;
	return false;
}

/*
 * The batch rules that come from how the RFC works, checked once the
 * entry is classified (before the overlap check: they are about the
 * shape of the list, not the table):
 * - invalidate_slot = 1 exactly on DELETE and MOVE (a delete without it
 *   is a kernel BUG on the RFC; a create or flags change with it
 *   deadlocks);
 * - no no-op entries (a WARN and a NULL dereference on the RFC);
 * - a DELETE or MOVE must be the first entry for its id: the RFC hoists
 *   invalidations before every other entry, so CREATE X then DELETE X
 *   fails there, and DELETE-CREATE-DELETE or MOVE-MOVE are undefined.
 */
static int check_batch_entry(const struct memslot_sim *sim,
			     const struct sim_req *rq, enum sim_change chg,
			     bool invalidate)
{
	bool inval_needed = chg == SIM_DELETE || chg == SIM_MOVE;
	uint16_t as_id = rq->slot >> 16, id = (uint16_t)rq->slot;

	if (chg == SIM_NOOP)
		return -EINVAL;
	if (invalidate != inval_needed)
		return -EINVAL;
	if (inval_needed && sim->stamp[as_id][id] == sim->batch_gen)
		return -EINVAL;
	return 0;
}

static int batch_entry(struct memslot_sim *sim,
		       const struct kvm_userspace_memory_region_entry *e,
		       struct sim_undo *undo)
{
	struct sim_req rq = {
		.slot = e->slot, .flags = e->flags,
		.gpa = e->guest_phys_addr, .size = e->memory_size,
		.hva = e->userspace_addr, .gmem_fd = -1, .v1 = true,
	};
	uint16_t as_id = rq.slot >> 16, id = (uint16_t)rq.slot;
	enum sim_change chg;
	int err;

	err = check_early(sim, &rq, &chg);
	if (!err)
		err = check_batch_entry(sim, &rq, chg, e->invalidate_slot);
	if (!err)
		err = check_late(sim, &rq, chg);
	if (err)
		return err;
	undo->as_id = as_id;
	undo->id = id;
	undo->old = sim->slots[as_id][id];
	apply(sim, &rq, chg);
	sim->stamp[as_id][id] = sim->batch_gen;
	return 0;
}

/* A fresh generation, so stamps of earlier batches mean nothing. */
static void batch_new_gen(struct memslot_sim *sim)
{
	if (++sim->batch_gen)
		return;
	for (uint32_t as = 0; as < sim->nr_as; as++)
		memset(sim->stamp[as], 0, sim->nr_slots * sizeof(uint32_t));
	sim->batch_gen = 1;
}

static int batch_apply(struct memslot_sim *sim,
		       const struct kvm_userspace_memory_region_list *list)
{
	struct sim_undo *undo;
	uint32_t done = 0;
	int err = 0;

	undo = calloc(list->nent, sizeof(*undo));
	if (!undo)
		return -ENOMEM;
	batch_new_gen(sim);
	for (; done < list->nent; done++) {
		err = batch_entry(sim, &list->entries[done], &undo[done]);
		if (err)
			break;
	}
	/* Publish all or nothing; the RFC's failures keep the prefix. */
	if (err && !sim->rfc_partial)
		while (done--)
			slot_set(sim, undo[done].as_id, undo[done].id,
				 &undo[done].old);
	free(undo);
	return err;
}

/*
 * The list's flags are checked before the empty-list shortcut (the RFC
 * ignores them): a kernel that later defines list flags can then be
 * probed with an empty list.  Too many entries give E2BIG, as KVM does
 * for KVM_SET_CPUID2 and the MSR lists, so a caller can tell "split the
 * list" from a rule violation (EINVAL).
 */
static int ioctl_list(struct memslot_sim *sim, const void *arg)
{
	const struct kvm_userspace_memory_region_list *list = arg;

	if (!sim->batch)
		return -ENOTTY;
	if (!list)
		return -EFAULT;
	if (list->flags)
		return -EINVAL;
	if (list->nent == 0)   /* the support probe */
		return 0;
	if (sim->max_batch && list->nent > sim->max_batch)
		return -E2BIG;
	for (uint32_t i = 0; i < list->nent; i++)
		if (entry_malformed(&list->entries[i]))
			return -EINVAL;
	return batch_apply(sim, list);
}

/* ---- KVM_CHECK_EXTENSION ------------------------------------------------- */

static int check_extension(const struct memslot_sim *sim, unsigned long cap)
{
	switch (cap) {
	case KVM_CAP_NR_MEMSLOTS:
		return (int)sim->nr_slots;
	case KVM_CAP_MULTI_ADDRESS_SPACE:
		return (int)sim->nr_as;
	case KVM_CAP_READONLY_MEM:
		return sim->readonly;
	case KVM_CAP_USER_MEMORY2:
		return sim->region2;
	case KVM_CAP_GUEST_MEMFD:
		return sim->guest_memfd;
	default:
		return 0;
	}
}

/* ---- the public calls ---------------------------------------------------- */

static int request_kind(unsigned long req)
{
	switch (req) {
	case KVM_SET_USER_MEMORY_REGION:
		return MEMSLOT_SIM_REGION;
	case KVM_SET_USER_MEMORY_REGION2:
		return MEMSLOT_SIM_REGION2;
	case KVM_SET_USER_MEMORY_REGION_LIST:
		return MEMSLOT_SIM_LIST;
	case KVM_CHECK_EXTENSION:
		return MEMSLOT_SIM_CHECK_EXTENSION;
	default:
		return MEMSLOT_SIM_OTHER;
	}
}

/* Fault injection counts every memslot ioctl, even one answered ENOTTY. */
static int injected_fault(struct memslot_sim *sim)
{
	if (!sim->fail_nth || --sim->fail_nth)
		return 0;
	return -sim->fail_err;
}

MEMSLOT_EXPORT
int memslot_sim_ioctl(void *opaque, int fd, unsigned long req, void *arg)
{
	struct memslot_sim *sim = opaque;
	int kind = request_kind(req);
	int err;

	(void)fd;
	if (!sim)
		return -EINVAL;
	sim->counts[kind]++;
	if (kind == MEMSLOT_SIM_CHECK_EXTENSION)
		return check_extension(sim, (unsigned long)(uintptr_t)arg);
	if (kind == MEMSLOT_SIM_OTHER)
		return -ENOTTY;
	err = injected_fault(sim);
	if (err)
		return err;
	switch (kind) {
	case MEMSLOT_SIM_REGION:
		return ioctl_region(sim, arg);
	case MEMSLOT_SIM_REGION2:
		return ioctl_region2(sim, arg);
	default:
		return ioctl_list(sim, arg);
	}
}

/* Range checks and defaults; 0 in a field means its default. */
static int sim_configure(struct memslot_sim *sim,
			 const struct memslot_sim_opts *o)
{
	if (o->nr_slots > SIM_MAX_SLOTS || o->nr_as > SIM_MAX_AS ||
	    o->reserved)
		return -EINVAL;
	if (o->phys_bits && (o->phys_bits < 12 || o->phys_bits > 64))
		return -EINVAL;
	sim->nr_slots = o->nr_slots ? o->nr_slots : SIM_DEFAULT_NR_SLOTS;
	sim->nr_as = o->nr_as ? o->nr_as : SIM_DEFAULT_NR_AS;
	sim->readonly = !o->no_readonly;
	sim->region2 = !o->no_region2;
	sim->guest_memfd = !!o->guest_memfd;
	sim->batch = !!o->batch;
	sim->rfc_partial = !!o->rfc_partial;
	sim->phys_bits = o->phys_bits;
	sim->max_batch = o->max_batch;
	return 0;
}

/* Room for every id up front, so that no table change can fail later. */
static int sim_alloc_tables(struct memslot_sim *sim)
{
	for (uint32_t as = 0; as < sim->nr_as; as++) {
		sim->slots[as] = calloc(sim->nr_slots, sizeof(struct sim_slot));
		sim->gpa[as].v = calloc(sim->nr_slots,
					sizeof(struct sim_range));
		sim->stamp[as] = calloc(sim->nr_slots, sizeof(uint32_t));
		sim->live[as] = calloc((sim->nr_slots + 63) / 64,
				       sizeof(uint64_t));
		if (!sim->slots[as] || !sim->gpa[as].v || !sim->stamp[as] ||
		    !sim->live[as])
			return -ENOMEM;
		for (uint32_t id = 0; id < sim->nr_slots; id++)
			sim->slots[as][id].gmem_fd = -1;
	}
	sim->gmem.v = calloc((size_t)sim->nr_slots * sim->nr_as,
			     sizeof(struct sim_range));
	return sim->gmem.v ? 0 : -ENOMEM;
}

MEMSLOT_EXPORT
void memslot_sim_free(struct memslot_sim *sim)
{
	if (!sim)
		return;
	for (uint32_t as = 0; as < SIM_MAX_AS; as++) {
		free(sim->slots[as]);
		free(sim->gpa[as].v);
		free(sim->stamp[as]);
		free(sim->live[as]);
	}
	free(sim->gmem.v);
	free(sim);
}

MEMSLOT_EXPORT
int memslot_sim_new(const struct memslot_sim_opts *opts,
		    struct memslot_sim **simp)
{
	struct memslot_sim_opts o;
	struct memslot_sim *sim;
	long ps = sysconf(_SC_PAGESIZE);
	int err;

	if (!simp)
		return -EINVAL;
	*simp = NULL;
	memset(&o, 0, sizeof(o));
	if (opts) {
		err = memslot_opts_copy(&o, sizeof(o), opts, opts->sz);
		if (err)
			return err;
	}
	sim = calloc(1, sizeof(*sim));
	if (!sim)
		return -ENOMEM;
	err = sim_configure(sim, &o);
	if (!err)
		err = sim_alloc_tables(sim);
	if (err) {
		memslot_sim_free(sim);
		return err;
	}
	sim->page_size = ps > 0 ? (uint64_t)ps : 4096;
	sim->user_limit = memslot_user_addr_limit();
	*simp = sim;
	return 0;
}

MEMSLOT_EXPORT
int memslot_sim_fail_nth(struct memslot_sim *sim, unsigned int nth, int err)
{
	if (!sim)
		return -EINVAL;
	if (nth == 0) {        /* disarming needs no errno */
		sim->fail_nth = 0;
		return 0;
	}
	if (err <= 0)
		return -EINVAL;
	sim->fail_nth = nth;
	sim->fail_err = err;
	return 0;
}

MEMSLOT_EXPORT
long memslot_sim_count(const struct memslot_sim *sim, int kind)
{
	long sum = 0;

	if (!sim || kind < 0 || kind > MEMSLOT_SIM_ALL)
		return -EINVAL;
	if (kind < MEMSLOT_SIM_ALL)
		return sim->counts[kind];
	for (int k = 0; k < MEMSLOT_SIM_ALL; k++)
		sum += sim->counts[k];
	return sum;
}

static void region_of(struct memslot_region *r, uint16_t as_id, uint16_t id,
		      const struct sim_slot *s)
{
	memset(r, 0, sizeof(*r));
	r->sz = sizeof(*r);
	r->as_id = as_id;
	r->slot = id;
	r->flags = s->flags;
	r->guest_phys_addr = s->gpa;
	r->memory_size = s->size;
	r->userspace_addr = s->hva;
	r->guest_memfd_offset = s->gmem_off;
	r->guest_memfd = s->gmem_fd;
}

/* The present ids of one address space, in order, from the bitmap. */
static int foreach_as(const struct memslot_sim *sim, uint16_t as_id,
		      int (*fn)(const struct memslot_region *r, void *opaque),
		      void *opaque)
{
	struct memslot_region r;

	for (uint32_t w = 0; w < (sim->nr_slots + 63) / 64; w++) {
		for (uint64_t bits = sim->live[as_id][w]; bits;
		     bits &= bits - 1) {
			uint16_t id = (uint16_t)(w * 64 + __builtin_ctzll(bits));
			int ret;

			region_of(&r, as_id, id, &sim->slots[as_id][id]);
			ret = fn(&r, opaque);
			if (ret)
				return ret;
		}
	}
	return 0;
}

MEMSLOT_EXPORT
int memslot_sim_foreach(const struct memslot_sim *sim,
			int (*fn)(const struct memslot_region *r, void *opaque),
			void *opaque)
{
	if (!sim || !fn)
		return -EINVAL;
	for (uint32_t as = 0; as < sim->nr_as; as++) {
		int ret = foreach_as(sim, (uint16_t)as, fn, opaque);

		if (ret)
			return ret;
	}
	return 0;
}
