/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzz target: the input is a vm configuration followed by a sequence of
 * public calls on the simulated kernel.  After every call the harness
 * checks the library's invariants against three independent references:
 *
 *  - the simulated kernel the vm drives (the view must equal its table,
 *    and a commit must report exactly the ioctls it issued);
 *  - a reference model: a plain array per address space to which every
 *    accepted change is applied in the caller's order (after a successful
 *    commit the kernel table must equal it; an aborted commit, or a failed
 *    one with a complete rollback, must leave the table as it was);
 *  - an "oracle" simulated kernel that receives each change of the open
 *    transaction as a single ioctl, so the validator's verdict (accept or
 *    errno) is compared with the kernel's for the same request on the
 *    same pending table.
 *
 * memslot_txn_encode() is checked too: the encoded list, applied to a
 * copy of the committed table by a batch-capable sim, and applied entry
 * by entry with the single-slot ioctl, must both produce the model.
 *
 * Built three ways (tests/fuzz/Makefile.inc): with clang and libFuzzer
 * (`make fuzz`), and with the configured compiler as a replay/random
 * driver run by `make check` (FUZZ_STANDALONE).
 */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "libmemslot/libmemslot.h"
#include "region.h"
#include "internal.h"     /* memslot_user_addr_limit() */
#include "kvm-compat.h"

#define MAXS 64u
#define MAXAS 2u
#define MAX_OPS 400

static const char *current_input = "(libFuzzer input)";
static bool trace;            /* FUZZ_TRACE=1: print the calls (replay) */

#define TRACE(...) do { if (trace) fprintf(stderr, __VA_ARGS__); } while (0)

#define CHECK(cond, ...) do { \
		if (!(cond)) { \
			fprintf(stderr, "fuzz-txn: %s:%d: check failed: %s\n  ", \
				__FILE__, __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__); \
			fprintf(stderr, "\n  input: %s\n", current_input); \
			abort(); \
		} \
	} while (0)

/* ---- input ----------------------------------------------------------- */

struct in {
	const uint8_t *p;
	size_t n;
};

static uint8_t u8(struct in *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

static uint16_t u16(struct in *in)
{
	return (uint16_t)(u8(in) | u8(in) << 8);
}

static uint32_t u32(struct in *in)
{
	return (uint32_t)u16(in) | (uint32_t)u16(in) << 16;
}

static uint64_t u64(struct in *in)
{
	return (uint64_t)u32(in) | (uint64_t)u32(in) << 32;
}

/* ---- model ----------------------------------------------------------- */

struct mslot {
	bool present;
	struct memslot_region r;  /* normalized */
};

struct model {
	struct mslot s[MAXAS][MAXS];
};

/* Fields the kernel keeps: guest_memfd ones only with the flag. */
static struct memslot_region norm(const struct memslot_region *in,
				  uint16_t as_id, uint16_t id)
{
	struct memslot_region r;

	memset(&r, 0, sizeof(r));
	r.sz = sizeof(r);
	r.as_id = as_id;
	r.slot = id;
	r.flags = in->flags;
	r.guest_phys_addr = in->guest_phys_addr;
	r.memory_size = in->memory_size;
	r.userspace_addr = in->userspace_addr;
	if (in->flags & MEMSLOT_GUEST_MEMFD) {
		r.guest_memfd_offset = in->guest_memfd_offset;
		r.guest_memfd = in->guest_memfd;
	}
	return r;
}


struct collect {
	struct model *m;
	int last;                 /* as_id << 16 | id of the previous one */
	int n;
};

static int collect_fn(const struct memslot_region *r, void *opaque)
{
	struct collect *c = opaque;
	int key = r->as_id << 16 | r->slot;

	CHECK(r->sz == sizeof(*r), "sz %zu", r->sz);
	CHECK(r->as_id < MAXAS && r->slot < MAXS, "slot %u:%u out of range",
	      r->as_id, r->slot);
	CHECK(key > c->last, "foreach order: %#x after %#x", key, c->last);
	CHECK((r->flags & MEMSLOT_GUEST_MEMFD) ||
	      (r->guest_memfd == -1 && r->guest_memfd_offset == 0),
	      "slot %u:%u without GUEST_MEMFD reports fd %d offset %#llx",
	      r->as_id, r->slot, r->guest_memfd,
	      (unsigned long long)r->guest_memfd_offset);
	c->last = key;
	c->m->s[r->as_id][r->slot].present = true;
	c->m->s[r->as_id][r->slot].r = norm(r, r->as_id, r->slot);
	c->n++;
	return 0;
}

static void model_of_sim(const struct memslot_sim *sim, struct model *m)
{
	struct collect c = { m, -1, 0 };

	memset(m, 0, sizeof(*m));
	CHECK(memslot_sim_foreach(sim, collect_fn, &c) == 0, "sim foreach");
}

static int model_of_vm(const struct memslot_vm *vm, struct model *m)
{
	struct collect c = { m, -1, 0 };

	memset(m, 0, sizeof(*m));
	CHECK(memslot_vm_foreach(vm, collect_fn, &c) == 0, "vm foreach");
	return c.n;
}

static bool model_eq(const struct model *a, const struct model *b,
		     char *why, size_t len)
{
	for (uint32_t as = 0; as < MAXAS; as++)
		for (uint32_t id = 0; id < MAXS; id++) {
			const struct mslot *x = &a->s[as][id], *y = &b->s[as][id];

			if (x->present != y->present ||
			    (x->present && !test_region_eq(&x->r, &y->r))) {
				snprintf(why, len,
					 "slot %u:%u: %s gpa %#llx size %#llx flags %#x"
					 " vs %s gpa %#llx size %#llx flags %#x",
					 as, id, x->present ? "present" : "absent",
					 (unsigned long long)x->r.guest_phys_addr,
					 (unsigned long long)x->r.memory_size,
					 x->r.flags,
					 y->present ? "present" : "absent",
					 (unsigned long long)y->r.guest_phys_addr,
					 (unsigned long long)y->r.memory_size,
					 y->r.flags);
				return false;
			}
		}
	return true;
}

static int model_count(const struct model *m)
{
	int n = 0;

	for (uint32_t as = 0; as < MAXAS; as++)
		for (uint32_t id = 0; id < MAXS; id++)
			n += m->s[as][id].present;
	return n;
}

/* ---- harness state --------------------------------------------------- */

struct fz {
	struct in in;
	struct memslot_sim_opts so;
	struct memslot_vm_opts vo;
	struct memslot_sim *sim;
	struct memslot_vm *vm;
	struct memslot_txn *txn;
	uint32_t nr_slots, nr_as;
	uint64_t page, ulimit;
	bool region2, readonly, gmem;

	struct model committed;   /* == sim table */
	struct model pending;     /* committed + the open transaction */
	bool reserved[MAXAS][MAXS];
	bool held[MAXAS][MAXS];
	bool touched[MAXAS][MAXS];
	bool deleted[MAXAS][MAXS];
	int nchanges;

	struct memslot_sim *oracle;
	bool oracle_ok;

	int quiesce_calls, resume_calls;
	int quiesce_ret;          /* what the next quiesce() returns */
};

static int cb_quiesce(void *opaque)
{
	struct fz *f = opaque;

	CHECK(f->quiesce_calls == f->resume_calls, "quiesce twice");
	f->quiesce_calls++;
	if (f->quiesce_ret)
		f->resume_calls++;    /* no resume() follows a refusal */
	return f->quiesce_ret;
}

static void cb_resume(void *opaque)
{
	struct fz *f = opaque;

	f->resume_calls++;
	CHECK(f->quiesce_calls == f->resume_calls, "resume without quiesce");
}

static struct memslot_sim *scratch_sim(const struct fz *f, bool batch)
{
	struct memslot_sim_opts o = f->so;
	struct memslot_sim *s;

	o.batch = batch;
	o.rfc_partial = 0;
	o.phys_bits = 0;
	o.max_batch = 0;
	CHECK(memslot_sim_new(&o, &s) == 0, "scratch sim");
	return s;
}

/* A single-slot request as the library would issue it. */
static int sim_request(const struct fz *f, struct memslot_sim *s,
		       uint16_t as_id, uint16_t id,
		       const struct memslot_region *r)
{
	struct kvm_userspace_memory_region2 k;

	memset(&k, 0, sizeof(k));
	k.slot = (uint32_t)as_id << 16 | id;
	k.flags = r->flags;
	k.guest_phys_addr = r->guest_phys_addr;
	k.memory_size = r->memory_size;
	k.userspace_addr = r->userspace_addr;
	if (r->flags & MEMSLOT_GUEST_MEMFD) {
		k.guest_memfd_offset = r->guest_memfd_offset;
		k.guest_memfd = (uint32_t)r->guest_memfd;
	}
	return memslot_sim_ioctl(s, -1, f->region2 ? KVM_SET_USER_MEMORY_REGION2 :
				 KVM_SET_USER_MEMORY_REGION, &k);
}

static void populate(const struct fz *f, struct memslot_sim *s,
		     const struct model *m)
{
	for (uint32_t as = 0; as < MAXAS; as++)
		for (uint32_t id = 0; id < MAXS; id++) {
			const struct mslot *x = &m->s[as][id];
			int r;

			if (!x->present)
				continue;
			r = sim_request(f, s, (uint16_t)as, (uint16_t)id, &x->r);
			CHECK(r == 0, "populate %u:%u: %d", as, id, r);
		}
}

static void check_view(struct fz *f)
{
	struct model v, k;
	char why[256];
	int n = model_of_vm(f->vm, &v);

	model_of_sim(f->sim, &k);
	CHECK(model_eq(&v, &k, why, sizeof(why)), "view != sim: %s", why);
	CHECK(model_eq(&k, &f->committed, why, sizeof(why)),
	      "sim != committed model: %s", why);
	CHECK(memslot_vm_count(f->vm) == n, "count %d, foreach %d",
	      memslot_vm_count(f->vm), n);
	if (f->txn)
		CHECK(memslot_txn_count(f->txn) == f->nchanges,
		      "txn count %d, model %d", memslot_txn_count(f->txn),
		      f->nchanges);
}

static void check_oracle(struct fz *f)
{
	struct model o;
	char why[256];

	if (!f->oracle_ok)
		return;
	model_of_sim(f->oracle, &o);
	CHECK(model_eq(&o, &f->pending, why, sizeof(why)),
	      "oracle != pending model: %s", why);
}

static void end_txn_state(struct fz *f)
{
	f->txn = NULL;
	f->pending = f->committed;
	memset(f->touched, 0, sizeof(f->touched));
	memset(f->deleted, 0, sizeof(f->deleted));
	f->nchanges = 0;
	memslot_sim_free(f->oracle);
	f->oracle = NULL;
	f->oracle_ok = false;
}

/* A vm on f->sim that adopts every slot the sim has. */
static int make_vm(struct fz *f)
{
	struct model k;
	int r = memslot_vm_new(-1, &f->vo, &f->vm);

	if (r)
		return r;
	model_of_sim(f->sim, &k);
	for (uint32_t as = 0; as < MAXAS; as++)
		for (uint32_t id = 0; id < MAXS; id++)
			if (k.s[as][id].present) {
				r = memslot_vm_adopt(f->vm, &k.s[as][id].r);
				CHECK(r == 0, "adopt %u:%u: %d", as, id, r);
			}
	f->committed = k;
	memset(f->reserved, 0, sizeof(f->reserved));
	memset(f->held, 0, sizeof(f->held));
	end_txn_state(f);
	return 0;
}

/* ---- expectations ------------------------------------------------------- */

static bool in_range(const struct fz *f, uint32_t as_id, uint32_t id)
{
	return as_id < f->nr_as && id < f->nr_slots;
}

static bool blocked(const struct fz *f, uint32_t as_id, uint32_t id)
{
	return in_range(f, as_id, id) &&
	       (f->reserved[as_id][id] || f->held[as_id][id]);
}

/* What MEMSLOT_ANY_SLOT must pick: the lowest id nothing claims. */
static int lowest_free(const struct fz *f, uint32_t as_id)
{
	for (uint32_t id = 0; id < f->nr_slots; id++)
		if (!f->committed.s[as_id][id].present &&
		    !f->touched[as_id][id] && !f->reserved[as_id][id] &&
		    !f->held[as_id][id])
			return (int)id;
	return -ENOSPC;
}

/*
 * Would a sequential commit open a guest-visible hole?  A range removed
 * by a delete, move or replacement overlaps a range added in the same
 * address space.
 */
static bool opens_hole(const struct fz *f)
{
	for (uint32_t as = 0; as < f->nr_as; as++)
		for (uint32_t a = 0; a < f->nr_slots; a++) {
			const struct mslot *ao = &f->committed.s[as][a];
			const struct mslot *af = &f->pending.s[as][a];
			const struct memslot_region *x = &ao->r, *y = &af->r;

			if (!ao->present)
				continue;
			if (af->present) {
				bool replace = x->memory_size != y->memory_size ||
					x->userspace_addr != y->userspace_addr ||
					((x->flags ^ y->flags) & MEMSLOT_READONLY) ||
					((x->flags | y->flags) & MEMSLOT_GUEST_MEMFD);

				if (test_region_eq(x, y) ||
				    (!replace && x->guest_phys_addr == y->guest_phys_addr))
					continue;
			}
			/* a's old range is removed; is any new range added on it? */
			for (uint32_t b = 0; b < f->nr_slots; b++) {
				const struct mslot *bo = &f->committed.s[as][b];
				const struct mslot *bf = &f->pending.s[as][b];
				const struct memslot_region *p = &bf->r;

				if (!bf->present ||
				    (bo->present && test_region_eq(&bo->r, p)))
					continue;
				if (bo->present && !(
				    bo->r.memory_size != p->memory_size ||
				    bo->r.userspace_addr != p->userspace_addr ||
				    ((bo->r.flags ^ p->flags) & MEMSLOT_READONLY) ||
				    ((bo->r.flags | p->flags) & MEMSLOT_GUEST_MEMFD)) &&
				    bo->r.guest_phys_addr == p->guest_phys_addr)
					continue;  /* flags only: no range added */
				if (p->guest_phys_addr <= x->guest_phys_addr + x->memory_size - 1 &&
				    x->guest_phys_addr <= p->guest_phys_addr + p->memory_size - 1)
					return true;
			}
		}
	return false;
}

/* Does the canonical list involve a guest_memfd slot? */
static bool canon_gmem(const struct fz *f)
{
	for (uint32_t as = 0; as < MAXAS; as++)
		for (uint32_t id = 0; id < MAXS; id++) {
			const struct mslot *o = &f->committed.s[as][id];
			const struct mslot *p = &f->pending.s[as][id];

			if (o->present == p->present &&
			    (!o->present || test_region_eq(&o->r, &p->r)))
				continue;
			if ((o->present && (o->r.flags & MEMSLOT_GUEST_MEMFD)) ||
			    (p->present && (p->r.flags & MEMSLOT_GUEST_MEMFD)))
				return true;
		}
	return false;
}

static long kernel_ioctls(const struct memslot_sim *sim)
{
	return memslot_sim_count(sim, MEMSLOT_SIM_REGION) +
	       memslot_sim_count(sim, MEMSLOT_SIM_REGION2) +
	       memslot_sim_count(sim, MEMSLOT_SIM_LIST);
}

/* ---- generators ------------------------------------------------------- */

static uint16_t gen_as(struct fz *f)
{
	uint8_t b = u8(&f->in);

	if (b < 240)
		return (uint16_t)(b % f->nr_as);
	if (b < 250)
		return (uint16_t)(f->nr_as + (b & 1));
	return u16(&f->in);
}

/* Mostly an id present in the pending view of as_id. */
static uint16_t gen_id(struct fz *f, uint16_t as_id)
{
	uint8_t b = u8(&f->in);

	if (b < 160 && as_id < f->nr_as) {
		uint32_t n = 0, pick;

		for (uint32_t id = 0; id < f->nr_slots; id++)
			n += f->pending.s[as_id][id].present;
		if (n) {
			pick = b % n;
			for (uint32_t id = 0; id < f->nr_slots; id++)
				if (f->pending.s[as_id][id].present && !pick--)
					return (uint16_t)id;
		}
	}
	if (b < 250)
		return (uint16_t)(b % (f->nr_slots + 2));
	return u16(&f->in);
}

static uint64_t gen_gpa(struct fz *f)
{
	uint8_t b = u8(&f->in);

	if (b < 224)
		return f->page * (b % 40);
	switch (b & 7) {
	case 0: return f->page * (b % 40) + 1 + (u8(&f->in) & 0xff);
	case 1: return ~0ull - f->page * (u8(&f->in) % 4 + 1) + 1;
	case 2: return 1ull << (u8(&f->in) % 64);
	case 3: return (1ull << (12 + u8(&f->in) % 8)) - f->page;
	default: return u64(&f->in);
	}
}

static uint64_t gen_size(struct fz *f)
{
	uint8_t b = u8(&f->in);

	if (b < 232)
		return f->page * (b % 5 + (b < 24 ? 0 : 1));
	switch (b & 7) {
	case 0: return 0;
	case 1: return f->page * 0x80000000ull;        /* D9 + 1 */
	case 2: return f->page * 0x7fffffffull;        /* D9 */
	case 3: return f->page + 1 + u8(&f->in);
	case 4: return ~0ull - f->page + 1;
	default: return u64(&f->in);
	}
}

static uint64_t gen_hva(struct fz *f, uint64_t size)
{
	uint8_t b = u8(&f->in);

	if (b < 232)
		return 0x10000000ull + f->page * 64 * (b % 8);
	switch (b & 7) {
	case 0: return f->ulimit - size;               /* end at the limit */
	case 1: return f->ulimit - size - f->page;     /* one page below */
	case 2: return f->ulimit - size + f->page;     /* one page above */
	case 3: return 0x10000000ull + 1;
	case 4: return 0;
	default: return u64(&f->in);
	}
}

static uint32_t gen_flags(struct fz *f)
{
	uint8_t b = u8(&f->in);

	if (b < 200)
		return b & 3u;
	if (b < 240)
		return b & 7u;
	if (b < 250)
		return 1u << (b % 32);
	return u32(&f->in);
}

/* A region in a buffer with room for a larger caller's tail. */
struct regbuf {
	struct memslot_region r;
	uint64_t tail[2];
};

/*
 * Fill rb and return the region the library reads from it (fields past
 * sz zero); *err gets the sz verdict (0, -EINVAL, -E2BIG).
 */
static struct memslot_region gen_region(struct fz *f, struct regbuf *rb,
					bool any, int *err)
{
	struct memslot_region eff;
	uint8_t b;
	size_t sz;

	memset(rb, 0, sizeof(*rb));
	rb->r.as_id = gen_as(f);
	rb->r.slot = any ? MEMSLOT_ANY_SLOT : gen_id(f, rb->r.as_id);
	rb->r.flags = gen_flags(f);
	rb->r.guest_phys_addr = gen_gpa(f);
	rb->r.memory_size = gen_size(f);
	rb->r.userspace_addr = gen_hva(f, rb->r.memory_size);
	b = u8(&f->in);
	rb->r.guest_memfd = (int32_t)(b % 4) - 1;
	rb->r.guest_memfd_offset = f->page * (u8(&f->in) % 8);
	if (b >= 250)
		rb->r.guest_memfd_offset = u64(&f->in);
	b = u8(&f->in);
	*err = 0;
	switch (b < 224 ? 0 : b & 7) {
	case 1: sz = offsetof(struct memslot_region, guest_memfd_offset); break;
	case 2: sz = offsetof(struct memslot_region, userspace_addr); break;
	case 3: sz = sizeof(rb->r) + 8; break;
	case 4: sz = sizeof(rb->r) + 8; rb->tail[0] = 1; *err = -E2BIG; break;
	case 5: sz = 4; *err = -EINVAL; break;
	case 6: sz = 8 + u8(&f->in) % (sizeof(rb->r) - 8); break;
	default: sz = sizeof(rb->r); break;
	}
	rb->r.sz = sz;
	memset(&eff, 0, sizeof(eff));
	memcpy(&eff, rb, sz < sizeof(eff) ? sz : sizeof(eff));
	eff.sz = sizeof(eff);
	return eff;
}

/* ---- operations ----------------------------------------------------------- */

static void op_begin(struct fz *f)
{
	struct memslot_txn *t = (struct memslot_txn *)&t;
	int r;

	if (f->txn) {
		r = memslot_txn_begin(f->vm, &t);
		CHECK(r == -EBUSY, "second begin: %d", r);
		CHECK(t == (struct memslot_txn *)&t, "second begin wrote txnp");
		return;
	}
	r = memslot_txn_begin(f->vm, &f->txn);
	CHECK(r == 0, "begin: %d", r);
	f->oracle = scratch_sim(f, false);
	populate(f, f->oracle, &f->committed);
	f->oracle_ok = true;
}

/*
 * Give the change (as_id, id, eff) the library returned lib for to the
 * oracle, compare the verdicts, and apply it to the model if accepted.
 */
static void judge_change(struct fz *f, uint16_t as_id, uint16_t id,
			 const struct memslot_region *eff, int lib,
			 const char *what)
{
	bool noop = false;
	int k;

	if (blocked(f, as_id, id)) {
		/* The library's own rule, after the kernel's sanity checks. */
		CHECK(lib < 0, "%s of blocked id %u:%u accepted", what, as_id, id);
		return;
	}
	if (in_range(f, as_id, id) && f->pending.s[as_id][id].present &&
	    eff->memory_size) {
		const struct memslot_region *cur = &f->pending.s[as_id][id].r;

		noop = cur->guest_phys_addr == eff->guest_phys_addr &&
		       cur->flags == eff->flags;
	}
	if (f->oracle_ok) {
		k = sim_request(f, f->oracle, as_id, id, eff);
		if (lib == 0 && k == -EINVAL && (eff->flags & MEMSLOT_GUEST_MEMFD)) {
			/* guest_memfd binding checks are left to the kernel. */
			f->oracle_ok = false;
		} else {
			CHECK(lib == k, "%s %u:%u flags %#x gpa %#llx size %#llx "
			      "hva %#llx: library %d, kernel %d", what, as_id, id,
			      eff->flags, (unsigned long long)eff->guest_phys_addr,
			      (unsigned long long)eff->memory_size,
			      (unsigned long long)eff->userspace_addr, lib, k);
		}
	}
	if (lib)
		return;
	f->nchanges++;
	if (noop)
		return;
	CHECK(in_range(f, as_id, id), "accepted out of range %u:%u", as_id, id);
	f->touched[as_id][id] = true;
	if (!eff->memory_size) {
		CHECK(f->pending.s[as_id][id].present, "deleted an absent slot");
		f->pending.s[as_id][id].present = false;
		f->deleted[as_id][id] = true;
	} else {
		f->pending.s[as_id][id].present = true;
		f->pending.s[as_id][id].r = norm(eff, as_id, id);
	}
	check_oracle(f);
}

static void op_add(struct fz *f)
{
	struct regbuf rb;
	bool any = u8(&f->in) < 96;
	int szerr, r, expect_id = -1;
	uint16_t slot = 0xeeee;
	struct memslot_region eff;

	if (!f->txn)
		return;
	eff = gen_region(f, &rb, any, &szerr);
	r = memslot_txn_add(f->txn, &rb.r, &slot);
	TRACE("add %u:%u flags %#x gpa %#llx size %#llx hva %#llx sz %zu -> %d (%u)\n",
	      rb.r.as_id, rb.r.slot, rb.r.flags,
	      (unsigned long long)rb.r.guest_phys_addr,
	      (unsigned long long)rb.r.memory_size,
	      (unsigned long long)rb.r.userspace_addr, rb.r.sz, r, slot);
	if (szerr) {
		CHECK(r == szerr, "add with sz %zu: %d, expected %d", rb.r.sz, r,
		      szerr);
		CHECK(slot == 0xeeee, "slotp written on failure");
		return;
	}
	if (eff.slot == MEMSLOT_ANY_SLOT) {
		if (eff.as_id >= f->nr_as) {
			CHECK(r == -EINVAL, "ANY in bad as %u: %d", eff.as_id, r);
			return;
		}
		expect_id = lowest_free(f, eff.as_id);
		if (expect_id < 0) {
			CHECK(r == -ENOSPC, "ANY with no free id: %d", r);
			return;
		}
		eff.slot = (uint16_t)expect_id;
		if (r == 0) {
			CHECK(slot == expect_id, "ANY gave %u, lowest free is %d",
			      slot, expect_id);
			/* Quarantine, reservations and holds, explicitly. */
			CHECK(!f->deleted[eff.as_id][slot] &&
			      !f->reserved[eff.as_id][slot] &&
			      !f->held[eff.as_id][slot],
			      "ANY handed out %u:%u in quarantine", eff.as_id, slot);
		}
	}
	if (r == 0 && expect_id < 0)
		CHECK(slot == eff.slot, "slotp %u for %u", slot, eff.slot);
	if (r != 0)
		CHECK(slot == 0xeeee, "slotp written on failure");
	judge_change(f, eff.as_id, eff.slot, &eff, r, "add");
}

/* delete, move or set_flags: a request on a slot of the pending view. */
static void op_modify(struct fz *f, int kind)
{
	uint16_t as_id = gen_as(f), id = gen_id(f, as_id);
	struct memslot_region eff;
	uint64_t gpa = 0;
	uint32_t flags = 0;
	int r;

	if (!f->txn)
		return;
	if (kind == 1)
		gpa = gen_gpa(f);
	if (kind == 2) {
		flags = gen_flags(f);
		if (in_range(f, as_id, id) && u8(&f->in) < 128)
			flags = f->pending.s[as_id][id].r.flags ^
				MEMSLOT_LOG_DIRTY_PAGES;
	}
	switch (kind) {
	case 0: r = memslot_txn_delete(f->txn, as_id, id); break;
	case 1: r = memslot_txn_move(f->txn, as_id, id, gpa); break;
	default: r = memslot_txn_set_flags(f->txn, as_id, id, flags); break;
	}
	TRACE("%s %u:%u gpa %#llx flags %#x -> %d\n", kind == 0 ? "delete" :
	      kind == 1 ? "move" : "set_flags", as_id, id,
	      (unsigned long long)gpa, flags, r);
	if (!in_range(f, as_id, id)) {
		CHECK(r == -EINVAL, "modify %d out of range %u:%u: %d", kind,
		      as_id, id, r);
		return;
	}
	if (!f->pending.s[as_id][id].present) {
		CHECK(r == -ENOENT, "modify %d of absent %u:%u: %d", kind, as_id,
		      id, r);
		return;
	}
	eff = f->pending.s[as_id][id].r;
	if (kind == 0)
		eff.memory_size = 0;
	else if (kind == 1)
		eff.guest_phys_addr = gpa;
	else
		eff.flags = flags;
	judge_change(f, as_id, id, &eff, r,
		     kind == 0 ? "delete" : kind == 1 ? "move" : "set_flags");
}

static void check_table(struct memslot_sim *s, const struct model *want,
			const char *what)
{
	struct model got;
	char why[256];

	model_of_sim(s, &got);
	CHECK(model_eq(&got, want, why, sizeof(why)), "%s: %s", what, why);
}

static void op_encode(struct fz *f)
{
	const struct kvm_userspace_memory_region_list *l;
	struct memslot_sim *bs, *ss;
	unsigned char *buf;
	ssize_t n, n2;
	size_t nent;
	int r;

	if (!f->txn)
		return;
	CHECK(memslot_txn_encode(f->txn, NULL, 8) == -EINVAL, "NULL buf, len 8");
	n = memslot_txn_encode(f->txn, NULL, 0);
	if (canon_gmem(f)) {
		CHECK(n == -EOPNOTSUPP, "encode with guest_memfd: %zd", n);
		return;
	}
	CHECK(n >= 8 && (n - 8) % 64 == 0, "encode size %zd", n);
	nent = (size_t)(n - 8) / 64;
	buf = malloc((size_t)n + 64);
	CHECK(buf != NULL, "malloc");
	memset(buf, 0xa5, (size_t)n + 64);
	n2 = memslot_txn_encode(f->txn, buf, (size_t)n - 1);
	CHECK(n2 == n, "short buffer: %zd", n2);
	for (ssize_t i = 0; i < n + 64; i++)
		CHECK(buf[i] == 0xa5, "short buffer written at %zd", i);
	n2 = memslot_txn_encode(f->txn, buf, (size_t)n + 64);
	CHECK(n2 == n, "encode again: %zd", n2);
	for (ssize_t i = n; i < n + 64; i++)
		CHECK(buf[i] == 0xa5, "written past the size at %zd", i);
	l = (const void *)buf;
	CHECK(l->nent == nent && l->flags == 0, "header nent %u flags %u",
	      l->nent, l->flags);

	/* Batch semantics: one list on the committed table gives the model. */
	bs = scratch_sim(f, true);
	populate(f, bs, &f->committed);
	r = memslot_sim_ioctl(bs, -1, KVM_SET_USER_MEMORY_REGION_LIST, buf);
	CHECK(r == 0, "batch sim refused the encoded list (%zu entries): %d",
	      nent, r);
	check_table(bs, &f->pending, "encoded list as a batch");
	memslot_sim_free(bs);

	/* Sequential semantics: each entry valid on what the earlier leave. */
	ss = scratch_sim(f, false);
	populate(f, ss, &f->committed);
	for (size_t i = 0; i < nent; i++) {
		const struct kvm_userspace_memory_region_entry *e = &l->entries[i];
		struct kvm_userspace_memory_region v1 = {
			.slot = e->slot, .flags = e->flags,
			.guest_phys_addr = e->guest_phys_addr,
			.memory_size = e->memory_size,
			.userspace_addr = e->userspace_addr,
		};

		r = memslot_sim_ioctl(ss, -1, KVM_SET_USER_MEMORY_REGION, &v1);
		CHECK(r == 0, "entry %zu of %zu refused sequentially: %d", i,
		      nent, r);
	}
	check_table(ss, &f->pending, "encoded list one by one");
	memslot_sim_free(ss);
	free(buf);
}

static const int fault_errs[] = { EINVAL, EEXIST, ENOMEM, EFAULT, EIO, EAGAIN };

static void op_commit(struct fz *f)
{
	struct memslot_error err = { .sz = sizeof(err) };
	struct model before = f->committed, after;
	uint8_t b = u8(&f->in), e = u8(&f->in);
	long k0 = kernel_ioctls(f->sim), lists0, issued;
	int q0 = f->quiesce_calls, injected = 0, r;
	bool hole = opens_hole(f), seq_path;
	char why[256];

	if (!f->txn)
		return;
	lists0 = memslot_sim_count(f->sim, MEMSLOT_SIM_LIST);
	if (b >= 128) {
		injected = fault_errs[e % 6];
		memslot_sim_fail_nth(f->sim, 1 + (b & 0x3f) % (2 * f->nchanges + 3),
				     injected);
	}
	f->quiesce_ret = 0;
	if (f->vo.quiesce && (e & 0xf0) == 0xf0)
		f->quiesce_ret = (e & 8) ? -EINTR : 1;
	r = memslot_txn_commit(f->txn, &err);
	f->txn = NULL;
	memslot_sim_fail_nth(f->sim, 0, 0);
	issued = kernel_ioctls(f->sim) - k0;
	TRACE("commit (fail %d) -> %d change %d flags %#x rb %d issued %u\n",
	      injected, r, err.change, err.flags, err.rollback_err, err.issued);
	seq_path = issued > memslot_sim_count(f->sim, MEMSLOT_SIM_LIST) - lists0;

	CHECK(err.sz == sizeof(err), "err.sz");
	CHECK(err.err == r, "err.err %d, returned %d", err.err, r);
	CHECK(err.issued == issued, "err.issued %u, sim saw %ld", err.issued,
	      issued);
	if (f->quiesce_calls != q0) {
		CHECK(hole, "quiesce() without a hole");
		CHECK(!(memslot_sim_count(f->sim, MEMSLOT_SIM_LIST) - lists0),
		      "quiesce() around a batch");
	} else if (f->vo.quiesce && hole && seq_path) {
		CHECK(0, "a hole was opened without quiesce()");
	}
	CHECK(f->quiesce_calls == f->resume_calls, "quiesce without resume");

	if (r == 0) {
		CHECK(err.change == -1 && err.flags == 0 && err.rollback_err == 0,
		      "success with change %d flags %#x rb %d", err.change,
		      err.flags, err.rollback_err);
		model_of_sim(f->sim, &after);
		CHECK(model_eq(&after, &f->pending, why, sizeof(why)),
		      "committed table != model of the caller's list: %s", why);
		f->committed = after;
	} else {
		CHECK(r == -injected || r == -EOPNOTSUPP || r == -EINVAL ||
		      r == -E2BIG || (f->quiesce_ret && (err.flags & MEMSLOT_ERROR_QUIESCE)),
		      "unexpected commit error %d (injected %d)", r, injected);
		if (r == -EOPNOTSUPP)
			CHECK(f->vo.mode == MEMSLOT_MODE_BATCH && issued == 0,
			      "EOPNOTSUPP in mode %d after %ld ioctls", f->vo.mode,
			      issued);
		if (err.flags & MEMSLOT_ERROR_QUIESCE)
			CHECK(issued == 0 && r == (f->quiesce_ret < 0 ?
						    f->quiesce_ret : -ECANCELED),
			      "quiesce failure: %d after %ld ioctls", r, issued);
		if (err.flags & MEMSLOT_ERROR_ROLLBACK)
			CHECK(err.change >= 0 && err.change < f->nchanges,
			      "change %d of %d", err.change, f->nchanges);
		if (err.flags & MEMSLOT_ERROR_ROLLBACK_FAILED)
			CHECK((err.flags & MEMSLOT_ERROR_ROLLBACK) &&
			      err.rollback_err < 0, "flags %#x rb %d", err.flags,
			      err.rollback_err);
		else
			CHECK(err.rollback_err == 0, "rollback_err %d",
			      err.rollback_err);
		if (err.flags & MEMSLOT_ERROR_VIEW_UNCERTAIN) {
			struct memslot_caps caps = { .sz = sizeof(caps) };

			CHECK(!seq_path && issued == 1, "uncertain after %ld ioctls",
			      issued);
			memslot_vm_caps(f->vm, &caps);
			CHECK(!caps.batch_usable, "batch still usable");
			if (f->so.rfc_partial) {
				/* The view may be wrong: start over from the kernel. */
				memslot_vm_free(f->vm);
				f->vm = NULL;
				CHECK(make_vm(f) == 0, "new vm");
				return;
			}
		}
		model_of_sim(f->sim, &after);
		if (!(err.flags & MEMSLOT_ERROR_ROLLBACK_FAILED))
			CHECK(model_eq(&after, &before, why, sizeof(why)),
			      "failed commit changed the table: %s", why);
		f->committed = after;
	}
	if (f->vo.flags & MEMSLOT_VM_HOLD_DELETED_IDS)
		for (uint32_t as = 0; as < MAXAS; as++)
			for (uint32_t id = 0; id < MAXS; id++)
				if (before.s[as][id].present &&
				    !f->committed.s[as][id].present)
					f->held[as][id] = true;
	end_txn_state(f);
}

static void op_abort(struct fz *f)
{
	if (!f->txn)
		return;
	memslot_txn_abort(f->txn);
	end_txn_state(f);
}

static int stop_at(const struct memslot_region *r, void *opaque)
{
	int *left = opaque;

	(void)r;
	return --*left == 0 ? 7 : 0;
}

static void op_lookup(struct fz *f)
{
	uint8_t b = u8(&f->in);
	uint16_t as_id = gen_as(f), id = gen_id(f, as_id);
	struct {
		struct memslot_region r;
		unsigned char canary[16];
	} out;
	size_t sz = (b & 0x80) ? 8 + u8(&f->in) % (sizeof(out.r) - 7) :
		sizeof(out.r);
	int r;

	memset(&out, 0x5a, sizeof(out));
	out.r.sz = sz;
	switch (b & 7) {
	case 0:
	case 1: {
		r = memslot_vm_find(f->vm, as_id, id, &out.r);
		if (!in_range(f, as_id, id))
			CHECK(r == -EINVAL, "find out of range: %d", r);
		else if (!f->committed.s[as_id][id].present)
			CHECK(r == -ENOENT, "find absent: %d", r);
		else
			CHECK(r == 0, "find present: %d", r);
		if (r == 0) {
			struct memslot_region full = f->committed.s[as_id][id].r;
			struct memslot_region got;

			memset(&got, 0, sizeof(got));
			memcpy(&got, &out.r, sz);
			got = norm(&got, got.as_id, got.slot);
			memset((char *)&full + sz, 0, sizeof(full) - sz);
			full = norm(&full, full.as_id, full.slot);
			if (sz >= offsetof(struct memslot_region, flags))
				CHECK(test_region_eq(&got, &full), "find %u:%u differs",
				      as_id, id);
		}
		for (size_t i = sz; i < sizeof(out); i++)
			CHECK(((unsigned char *)&out)[i] == 0x5a,
			      "find wrote past sz %zu at %zu", sz, i);
		break;
	}
	case 2:
	case 3: {
		uint64_t gpa = gen_gpa(f) + (u8(&f->in) & 3) * (f->page / 2);
		int want = -ENOENT;

		r = memslot_vm_find_gpa(f->vm, as_id, gpa, &out.r);
		if (as_id >= f->nr_as)
			want = -EINVAL;
		else
			for (uint32_t i = 0; i < f->nr_slots; i++) {
				const struct mslot *s = &f->committed.s[as_id][i];

				if (s->present && gpa >= s->r.guest_phys_addr &&
				    gpa - s->r.guest_phys_addr < s->r.memory_size) {
					want = 0;
					if (r == 0 && sz >= offsetof(struct memslot_region, flags))
						CHECK(out.r.slot == i, "find_gpa %#llx: %u, want %u",
						      (unsigned long long)gpa, out.r.slot, i);
				}
			}
		CHECK(r == want, "find_gpa %u %#llx: %d, want %d", as_id,
		      (unsigned long long)gpa, r, want);
		break;
	}
	case 4: {
		int n = model_count(&f->committed), left = 1 + b % 8;

		r = memslot_vm_foreach(f->vm, stop_at, &left);
		CHECK(r == (n >= 1 + b % 8 ? 7 : 0), "foreach stop: %d (%d slots)",
		      r, n);
		break;
	}
	case 5: {
		struct memslot_caps caps;

		memset(&caps, 0x5a, sizeof(caps));
		caps.sz = sizeof(caps);
		CHECK(memslot_vm_caps(f->vm, &caps) == 0, "caps");
		CHECK(caps.nr_slots == f->nr_slots && caps.nr_as == f->nr_as &&
		      caps.readonly == f->readonly &&
		      caps.user_memory2 == f->region2 &&
		      caps.guest_memfd == f->gmem &&
		      caps.batch == !!f->so.batch &&
		      caps.page_size == f->page, "caps differ");
		break;
	}
	default:
		/* Bad arguments: each returns EINVAL and changes nothing. */
		CHECK(memslot_vm_find(f->vm, 0, 0, NULL) == -EINVAL, "find NULL");
		CHECK(memslot_vm_find(NULL, 0, 0, &out.r) == -EINVAL, "find vm");
		CHECK(memslot_vm_find_gpa(f->vm, 0, 0, NULL) == -EINVAL, "gpa NULL");
		CHECK(memslot_vm_foreach(f->vm, NULL, NULL) == -EINVAL, "foreach");
		CHECK(memslot_txn_add(NULL, &out.r, NULL) == -EINVAL, "add NULL");
		CHECK(memslot_txn_delete(NULL, 0, 0) == -EINVAL, "del NULL");
		CHECK(memslot_txn_move(NULL, 0, 0, 0) == -EINVAL, "move NULL");
		CHECK(memslot_txn_set_flags(NULL, 0, 0, 0) == -EINVAL, "flags");
		CHECK(memslot_txn_count(NULL) == -EINVAL, "count NULL");
		CHECK(memslot_txn_encode(NULL, NULL, 0) == -EINVAL, "encode");
		CHECK(memslot_txn_commit(NULL, NULL) == -EINVAL, "commit NULL");
		memslot_txn_abort(NULL);
		if (f->txn)
			CHECK(memslot_txn_add(f->txn, NULL, NULL) == -EINVAL,
			      "add NULL region");
		break;
	}
}

static void op_reserve(struct fz *f, int kind)
{
	uint16_t as_id = gen_as(f), id = gen_id(f, as_id);
	int r, want;

	if (u8(&f->in) < 100 && as_id < f->nr_as)
		id = (uint16_t)(u8(&f->in) % f->nr_slots);
	switch (kind) {
	case 0:
		r = memslot_vm_reserve(f->vm, as_id, id);
		if (!in_range(f, as_id, id))
			want = -EINVAL;
		else if (f->committed.s[as_id][id].present)
			want = -EEXIST;
		else if (f->touched[as_id][id] || f->reserved[as_id][id] ||
			 f->held[as_id][id])
			want = -EBUSY;
		else
			want = 0;
		CHECK(r == want, "reserve %u:%u: %d, want %d", as_id, id, r, want);
		if (!r)
			f->reserved[as_id][id] = true;
		break;
	case 1:
	case 2: {
		bool (*map)[MAXS] = kind == 1 ? f->reserved : f->held;

		r = kind == 1 ? memslot_vm_unreserve(f->vm, as_id, id) :
			memslot_vm_release(f->vm, as_id, id);
		if (!in_range(f, as_id, id))
			want = -EINVAL;
		else
			want = map[as_id][id] ? 0 : -ENOENT;
		CHECK(r == want, "%s %u:%u: %d, want %d",
		      kind == 1 ? "unreserve" : "release", as_id, id, r, want);
		if (!r)
			map[as_id][id] = false;
		break;
	}
	}
}

static void op_adopt(struct fz *f)
{
	struct regbuf rb;
	int szerr, r, k;
	struct memslot_region eff = gen_region(f, &rb, u8(&f->in) < 16, &szerr);
	uint16_t as_id = eff.as_id, id = eff.slot;

	if (szerr) {
		r = memslot_vm_adopt(f->vm, &rb.r);
		CHECK(r == szerr, "adopt sz %zu: %d", rb.r.sz, r);
		return;
	}
	if (f->txn) {
		r = memslot_vm_adopt(f->vm, &rb.r);
		CHECK(r == -EBUSY, "adopt in a transaction: %d", r);
		return;
	}
	if (id == MEMSLOT_ANY_SLOT) {
		r = memslot_vm_adopt(f->vm, &rb.r);
		CHECK(r == -EINVAL, "adopt ANY: %d", r);
		return;
	}
	if (!eff.memory_size ||
	    (in_range(f, as_id, id) && f->committed.s[as_id][id].present)) {
		/* Not a create: refused, and the kernel is not told. */
		r = memslot_vm_adopt(f->vm, &rb.r);
		CHECK(r < 0, "adopt of a non-create accepted");
		return;
	}
	if (blocked(f, as_id, id)) {
		r = memslot_vm_adopt(f->vm, &rb.r);
		CHECK(r < 0, "adopt of a blocked id accepted");
		return;
	}
	/* Other code creates the slot in the kernel, then it is adopted. */
	k = sim_request(f, f->sim, as_id, id, &eff);
	if (k == 0) {
		r = memslot_vm_adopt(f->vm, &rb.r);
		CHECK(r == 0, "adopt of a slot the kernel took: %d", r);
		f->committed.s[as_id][id].present = true;
		f->committed.s[as_id][id].r = norm(&eff, as_id, id);
		f->pending = f->committed;
	} else if (!f->so.phys_bits && !(eff.flags & MEMSLOT_GUEST_MEMFD)) {
		r = memslot_vm_adopt(f->vm, &rb.r);
		CHECK(r == k, "adopt %u:%u: library %d, kernel %d", as_id, id, r,
		      k);
	}
}

static void op_renew(struct fz *f)
{
	memslot_vm_free(f->vm);   /* also frees an open transaction */
	f->vm = NULL;
	f->txn = NULL;
	CHECK(make_vm(f) == 0, "renew vm");
}

/* ---- one input ------------------------------------------------------------ */

static void setup(struct fz *f)
{
	uint8_t a = u8(&f->in), b = u8(&f->in), c = u8(&f->in);
	int r;

	memset(&f->so, 0, sizeof(f->so));
	f->so.sz = sizeof(f->so);
	f->so.nr_slots = 8 + b % (MAXS - 7);
	f->so.nr_as = 1 + (a >> 7);
	f->so.batch = (a >> 2) & 1;
	f->so.rfc_partial = (a >> 3) & 1;
	f->so.no_region2 = (a >> 4) & 1;
	f->so.no_readonly = (c >> 3) & 1;
	f->so.guest_memfd = (c >> 4) & 1;
	f->so.phys_bits = (c & 7) == 6 ? 16 + (b & 3) : 0;
	f->so.max_batch = (c >> 5) & 3 ? 1u << ((c >> 5) & 3) : 0;
	if ((c & 7) == 7)
		f->so.max_batch = 0;
	r = memslot_sim_new(&f->so, &f->sim);
	CHECK(r == 0, "sim_new: %d", r);

	memset(&f->vo, 0, sizeof(f->vo));
	f->vo.sz = sizeof(f->vo);
	f->vo.mode = (a & 3) == 3 ? MEMSLOT_MODE_AUTO : a & 3;
	f->vo.ioctl = memslot_sim_ioctl;
	f->vo.ioctl_opaque = f->sim;
	f->vo.flags = (a >> 5) & 1 ? MEMSLOT_VM_HOLD_DELETED_IDS : 0;
	if ((a >> 6) & 1) {
		f->vo.quiesce = cb_quiesce;
		f->vo.resume = cb_resume;
		f->vo.quiesce_opaque = f;
	}
	f->nr_slots = f->so.nr_slots;
	f->nr_as = f->so.nr_as;
	f->region2 = !f->so.no_region2;
	f->readonly = !f->so.no_readonly;
	f->gmem = !!f->so.guest_memfd;
	f->page = (uint64_t)sysconf(_SC_PAGESIZE);
	f->ulimit = memslot_user_addr_limit();
	CHECK(make_vm(f) == 0, "vm_new");
}

static void run_one(const uint8_t *data, size_t size)
{
	struct fz *f = calloc(1, sizeof(*f));

	CHECK(f != NULL, "calloc");
	f->in.p = data;
	f->in.n = size;
	setup(f);
	for (int ops = 0; f->in.n && ops < MAX_OPS; ops++) {
		uint8_t op = u8(&f->in);

		TRACE("op %u\n", op % 24);

		switch (op % 24) {
		case 0: case 1: case 2:
			op_begin(f);
			break;
		case 3: case 4: case 5: case 6: case 7: case 8:
			op_add(f);
			break;
		case 9: case 10:
			op_modify(f, 0);
			break;
		case 11: case 12:
			op_modify(f, 1);
			break;
		case 13:
			op_modify(f, 2);
			break;
		case 14:
			op_encode(f);
			break;
		case 15: case 16:
			op_commit(f);
			break;
		case 17:
			op_abort(f);
			break;
		case 18: case 19:
			op_lookup(f);
			break;
		case 20:
			op_reserve(f, op % 3);
			break;
		case 21:
			op_adopt(f);
			break;
		case 22:
			op_reserve(f, 2);
			break;
		default:
			if (op == 23)
				op_renew(f);
			else
				op_lookup(f);
			break;
		}
		check_view(f);
	}
	if (f->txn && (f->in.p[-1] & 1))
		op_commit(f);
	memslot_vm_free(f->vm);
	memslot_sim_free(f->oracle);
	memslot_sim_free(f->sim);
	free(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	run_one(data, size);
	return 0;
}

#ifdef FUZZ_STANDALONE
/*
 * Replay driver for `make check`: every file of the given files and
 * directories (default: $srcdir/tests/fuzz/corpus), then FUZZ_RANDOM
 * (default 3000) pseudo-random inputs from FUZZ_SEED.
 */
static unsigned long replayed;

static void replay_file(const char *path)
{
	FILE *fp = fopen(path, "rb");
	static uint8_t buf[1 << 16];
	size_t n;

	if (!fp) {
		perror(path);
		exit(1);
	}
	n = fread(buf, 1, sizeof(buf), fp);
	fclose(fp);
	current_input = path;
	run_one(buf, n);
	replayed++;
}

static void replay_path(const char *path)
{
	struct stat st;
	struct dirent **names;
	int n;

	if (stat(path, &st)) {
		perror(path);
		exit(1);
	}
	if (!S_ISDIR(st.st_mode)) {
		replay_file(path);
		return;
	}
	n = scandir(path, &names, NULL, alphasort);
	for (int i = 0; i < n; i++) {
		char full[4096];

		if (names[i]->d_name[0] != '.') {
			snprintf(full, sizeof(full), "%s/%s", path, names[i]->d_name);
			replay_file(full);
		}
		free(names[i]);
	}
	free(names);
}

static uint64_t rng(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

int main(int argc, char **argv)
{
	const char *e = getenv("FUZZ_RANDOM");
	unsigned long nrand = e ? strtoul(e, NULL, 0) : 3000;
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	static uint8_t buf[2048];
	char name[64], dflt[4096];

	trace = getenv("FUZZ_TRACE") && atoi(getenv("FUZZ_TRACE"));
	if ((e = getenv("FUZZ_SEED")) && strtoull(e, NULL, 0))
		seed = strtoull(e, NULL, 0);
	if (argc > 1) {
		for (int i = 1; i < argc; i++)
			replay_path(argv[i]);
	} else {
		e = getenv("srcdir");
		snprintf(dflt, sizeof(dflt), "%s/tests/fuzz/corpus", e ? e : ".");
		replay_path(dflt);
	}
	for (unsigned long i = 0; i < nrand; i++) {
		uint64_t s0 = seed;
		size_t n = rng(&seed) % sizeof(buf);

		for (size_t j = 0; j < n; j++)
			buf[j] = (uint8_t)rng(&seed);
		snprintf(name, sizeof(name), "random #%lu (FUZZ_SEED=%#llx)", i,
			 (unsigned long long)s0);
		current_input = name;
		run_one(buf, n);
	}
	printf("fuzz-txn: %lu corpus inputs and %lu random inputs, no failure\n",
	       replayed, nrand);
	return 0;
}
#endif
