/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The canonical list: the fewest kernel requests with the effect of the
 * caller's list, in an order where each is valid against the table the
 * earlier ones leave.
 *
 * The form of each touched id depends only on its committed state and
 * its final state: nothing, CREATE, DELETE, MOVE (gpa changes, perhaps
 * LOG_DIRTY_PAGES too), FLAGS (LOG_DIRTY_PAGES only), or DELETE then
 * CREATE for anything else.  The order is:
 *   1. every DELETE (they only free ranges, so they never conflict);
 *   2. every FLAGS change (no range changes);
 *   3. MOVEs and CREATEs, each after the MOVEs whose old range it covers.
 * Step 3 is a topological sort that takes ready requests in the caller's
 * order; a cycle of moves (A to B's range while B goes to A's) has no
 * valid order, so one of its moves becomes DELETE then CREATE.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

enum form { F_NONE, F_CREATE, F_DELETE, F_MOVE, F_FLAGS, F_REPLACE };

struct plan {
	struct slot *p;
	const struct slot_state *orig;  /* NULL: absent before */
	const struct slot_state *final; /* NULL: absent after */
	enum form form;
	uint32_t indeg;           /* unplaced moves this one waits for */
	uint32_t adj;             /* first dependant in the edge array */
	uint32_t nadj;
	bool placed;
};

/* A range of one plan, for sorting and sweeping. */
struct range {
	uint16_t as_id;
	uint64_t start, last;
	uint32_t plan;
};

struct scratch {
	struct plan *plans;
	struct req *reqs;
	struct range *moves, *removed, *added;
	uint32_t *order;          /* step 3 candidates, by caller index */
	uint32_t *heap;
	uint32_t *edges;
	uint32_t *seq;            /* step 3 output */
	struct range *tmp;        /* merge buffer of sort() */
	uint32_t nplans, nmoves, nedges, max_edges;
};

#define ALIGN8(x) (((x) + 7) & ~(size_t)7)

static size_t layout(uint32_t t, struct scratch *s, char *base)
{
	size_t off = 0;
#define CARVE(field, n) do { \
		if (s) s->field = (void *)(base + off); \
		off += ALIGN8((size_t)(n) * sizeof(*s->field)); \
	} while (0)
	CARVE(plans, t);
	CARVE(reqs, 2 * (size_t)t);
	CARVE(moves, t);
	CARVE(removed, t);
	CARVE(added, t);
	CARVE(order, t);
	CARVE(heap, t);
	/* Old ranges of moves are disjoint, and so are new ranges: two such
	 * families intersect in at most |A| + |B| - 1 pairs. */
	CARVE(edges, 2 * (size_t)t + 1);
	CARVE(seq, t);
	CARVE(tmp, t);
#undef CARVE
	return off;
}

size_t canon_scratch_size(const struct memslot_txn *txn)
{
	return layout(txn->nr_touched, NULL, NULL) + 8;
}

static bool same_state(const struct slot_state *a, const struct slot_state *b)
{
	if (a->flags != b->flags || a->gpa != b->gpa || a->size != b->size ||
	    a->hva != b->hva)
		return false;
	return !(a->flags & MEMSLOT_GUEST_MEMFD) ||
	       (a->gmem_fd == b->gmem_fd && a->gmem_offset == b->gmem_offset);
}

static enum form form_of(const struct slot_state *o, const struct slot_state *f)
{
	if (!o)
		return f ? F_CREATE : F_NONE;
	if (!f)
		return F_DELETE;
	if (same_state(o, f))
		return F_NONE;
	/* What the kernel lets a request change on an existing slot (E4-E7). */
	if (o->size != f->size || o->hva != f->hva ||
	    ((o->flags ^ f->flags) & MEMSLOT_READONLY) ||
	    ((o->flags | f->flags) & MEMSLOT_GUEST_MEMFD))
		return F_REPLACE;
	return o->gpa != f->gpa ? F_MOVE : F_FLAGS;
}

static int32_t idx_of(const struct plan *pl)
{
	return pl->p->last_idx;
}

static int32_t del_idx_of(const struct plan *pl)
{
	return pl->p->del_idx >= 0 ? pl->p->del_idx : pl->p->last_idx;
}

static void collect(const struct memslot_txn *txn, struct scratch *s)
{
	s->nplans = 0;
	for (uint32_t i = 0; i < txn->nr_touched; i++) {
		struct slot *p = txn->touched[i];
		const struct slot *c = table_committed(txn->vm, p->as_id, p->id);
		struct plan *pl = &s->plans[s->nplans];

		*pl = (struct plan){
			.p = p,
			.orig = c ? &c->st : NULL,
			.final = p->present ? &p->st : NULL,
		};
		pl->form = form_of(pl->orig, pl->final);
		if (pl->form != F_NONE)
			s->nplans++;
	}
}

static struct range range_of(uint16_t as_id, const struct slot_state *st,
			     uint32_t plan)
{
	return (struct range){ as_id, st->gpa, st->gpa + st->size - 1, plan };
}

/*
 * A stable merge sort with its buffer in the scratch block: qsort() may
 * allocate (glibc's merge sort mallocs above 1 KiB), and a commit
 * allocates once.  Always inlined, so that each call site gets its
 * element size and comparison as constants.  tmp holds n elements.
 */
static inline __attribute__((always_inline)) void
sort(void *base, size_t n, size_t size,
     int (*cmp)(const void *, const void *, void *), void *arg, void *tmp)
{
	char *src = base, *dst = tmp, *t;
	size_t run = 1;

	/* Lists usually come in the caller's or in address order already. */
	while (run < n && cmp(src + (run - 1) * size, src + run * size, arg) < 0)
		run++;
	if (run >= n)
		return;
	for (size_t w = 1; w < n; w *= 2) {
		for (size_t lo = 0; lo < n; lo += 2 * w) {
			size_t mid = n - lo > w ? lo + w : n;
			size_t hi = n - mid > w ? mid + w : n;
			size_t i = lo, j = mid, k = lo;

			while (i < mid && j < hi) {
				if (cmp(src + j * size, src + i * size, arg) < 0)
					memcpy(dst + k++ * size, src + j++ * size, size);
				else
					memcpy(dst + k++ * size, src + i++ * size, size);
			}
			memcpy(dst + k * size, src + i * size, (mid - i) * size);
			k += mid - i;
			memcpy(dst + k * size, src + j * size, (hi - j) * size);
		}
		t = src;
		src = dst;
		dst = t;
	}
	if (src != (char *)base)
		memcpy(base, src, n * size);
}

static int cmp_range(const void *a, const void *b, void *arg)
{
	const struct range *x = a, *y = b;

	(void)arg;
	if (x->as_id != y->as_id)
		return x->as_id < y->as_id ? -1 : 1;
	return x->start < y->start ? -1 : x->start > y->start;
}

static bool adds_range(enum form f)
{
	return f == F_CREATE || f == F_MOVE || f == F_REPLACE;
}

/*
 * Call visit(s, mover, target) for each move whose old range overlaps
 * target's new range.  Old ranges are disjoint and sorted, so they form
 * one run found by binary search.
 */
static void for_each_blocker(struct scratch *s, uint32_t target,
			     void (*visit)(struct scratch *, uint32_t, uint32_t))
{
	const struct plan *pl = &s->plans[target];
	struct range t = range_of(pl->p->as_id, pl->final, target);
	uint32_t lo = 0, hi = s->nmoves;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		const struct range *m = &s->moves[mid];

		if (m->as_id < t.as_id || (m->as_id == t.as_id && m->last < t.start))
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < s->nmoves && s->moves[lo].as_id == t.as_id &&
	       s->moves[lo].start <= t.last; lo++)
		if (s->moves[lo].plan != target)
			visit(s, s->moves[lo].plan, target);
}

static void count_edge(struct scratch *s, uint32_t mover, uint32_t target)
{
	s->plans[mover].nadj++;
	s->plans[target].indeg++;
}

static void fill_edge(struct scratch *s, uint32_t mover, uint32_t target)
{
	struct plan *m = &s->plans[mover];

	s->edges[m->adj + m->nadj++] = target;
}

static void build_graph(struct scratch *s)
{
	uint32_t next = 0;

	s->nmoves = 0;
	for (uint32_t i = 0; i < s->nplans; i++)
		if (s->plans[i].form == F_MOVE)
			s->moves[s->nmoves++] = range_of(s->plans[i].p->as_id,
							 s->plans[i].orig, i);
	sort(s->moves, s->nmoves, sizeof(*s->moves), cmp_range, NULL, s->tmp);
	for (uint32_t i = 0; i < s->nplans; i++)
		if (adds_range(s->plans[i].form))
			for_each_blocker(s, i, count_edge);
	for (uint32_t i = 0; i < s->nplans; i++) {
		s->plans[i].adj = next;
		next += s->plans[i].nadj;
		s->plans[i].nadj = 0;
	}
	s->nedges = next;
	for (uint32_t i = 0; i < s->nplans; i++)
		if (adds_range(s->plans[i].form))
			for_each_blocker(s, i, fill_edge);
}

/* A binary min-heap of plan indexes keyed by the caller's order. */
static bool heap_less(const struct scratch *s, uint32_t a, uint32_t b)
{
	return idx_of(&s->plans[a]) < idx_of(&s->plans[b]);
}

static void heap_push(struct scratch *s, uint32_t *n, uint32_t v)
{
	uint32_t i = (*n)++;

	while (i && heap_less(s, v, s->heap[(i - 1) / 2])) {
		s->heap[i] = s->heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	s->heap[i] = v;
}

static uint32_t heap_pop(struct scratch *s, uint32_t *n)
{
	uint32_t top = s->heap[0], v = s->heap[--(*n)], i = 0;

	for (;;) {
		uint32_t c = 2 * i + 1;

		if (c >= *n)
			break;
		if (c + 1 < *n && heap_less(s, s->heap[c + 1], s->heap[c]))
			c++;
		if (!heap_less(s, s->heap[c], v))
			break;
		s->heap[i] = s->heap[c];
		i = c;
	}
	s->heap[i] = v;
	return top;
}

/* The move stops blocking: its old range is freed by step 1 or by now. */
static void release_dependants(struct scratch *s, uint32_t m, uint32_t *nheap)
{
	struct plan *pl = &s->plans[m];

	for (uint32_t e = 0; e < pl->nadj; e++) {
		uint32_t d = s->edges[pl->adj + e];

		if (--s->plans[d].indeg == 0 && !s->plans[d].placed)
			heap_push(s, nheap, d);
	}
	pl->nadj = 0;
}

static int cmp_plan_idx(const void *a, const void *b, void *arg)
{
	const struct plan *plans = arg;
	int32_t x = plans[*(const uint32_t *)a].p->last_idx;
	int32_t y = plans[*(const uint32_t *)b].p->last_idx;

	return x < y ? -1 : x > y;
}

/* Step 3; returns how many requests it ordered into s->seq. */
static uint32_t sort_adds(struct scratch *s)
{
	uint32_t nheap = 0, nout = 0, ncand = 0, cursor = 0;

	for (uint32_t i = 0; i < s->nplans; i++)
		if (adds_range(s->plans[i].form))
			s->order[ncand++] = i;
	sort(s->order, ncand, sizeof(*s->order), cmp_plan_idx, s->plans, s->tmp);
	if (!s->nedges) {
		/* Nothing waits for a move: the caller's order is the order. */
		memcpy(s->seq, s->order, ncand * sizeof(*s->seq));
		return ncand;
	}
	for (uint32_t i = 0; i < ncand; i++)
		if (!s->plans[s->order[i]].indeg)
			heap_push(s, &nheap, s->order[i]);
	while (nout < ncand) {
		uint32_t v;

		if (!nheap) {
			/* Stuck on a cycle: the earliest remaining move becomes
			 * DELETE then CREATE, which frees its old range. */
			while (cursor < ncand &&
			       (s->plans[s->order[cursor]].placed ||
				s->plans[s->order[cursor]].form != F_MOVE))
				cursor++;
			if (cursor == ncand)
				break;  /* unreachable: a stuck set holds a move */
			v = s->order[cursor];
			s->plans[v].form = F_REPLACE;
			release_dependants(s, v, &nheap);
			if (!s->plans[v].indeg)
				heap_push(s, &nheap, v);
			continue;
		}
		v = heap_pop(s, &nheap);
		s->plans[v].placed = true;
		s->seq[nout++] = v;
		if (s->plans[v].form == F_MOVE)
			release_dependants(s, v, &nheap);
	}
	return nout;
}

static struct req *emit(struct scratch *s, struct canon *c, uint32_t plan,
			enum req_kind kind)
{
	const struct plan *pl = &s->plans[plan];
	struct req *r = &c->reqs[c->nr++];

	*r = (struct req){
		.kind = kind,
		.as_id = pl->p->as_id,
		.id = pl->p->id,
		.caller_idx = kind == REQ_DELETE ? del_idx_of(pl) : idx_of(pl),
		.before = kind == REQ_CREATE ? NULL : pl->orig,
		.after = kind == REQ_DELETE ? NULL : pl->final,
		.pending = pl->p,
	};
	return r;
}

static int cmp_int_pair(const void *a, const void *b, void *arg)
{
	const int64_t *x = a, *y = b;

	(void)arg;
	return *x < *y ? -1 : *x > *y;
}

/* Emit the plans of the given forms, in the caller's order. */
static void emit_sorted(struct scratch *s, struct canon *c, enum form f1,
			enum form f2, enum req_kind kind)
{
	/* Reuse the range array as (caller index, plan) pairs. */
	int64_t *keys = (int64_t *)s->removed;
	uint32_t n = 0;

	for (uint32_t i = 0; i < s->nplans; i++) {
		const struct plan *pl = &s->plans[i];

		if (pl->form == f1 || pl->form == f2)
			keys[n++] = (int64_t)(kind == REQ_DELETE ? del_idx_of(pl)
						: idx_of(pl)) << 32 | i;
	}
	sort(keys, n, sizeof(*keys), cmp_int_pair, NULL, s->tmp);
	for (uint32_t i = 0; i < n; i++)
		emit(s, c, (uint32_t)(keys[i] & 0xffffffff), kind);
}

/* Does any range removed by a delete or move overlap an added range? */
static bool opens_hole(struct scratch *s)
{
	uint32_t nr = 0, na = 0, i = 0, j = 0;

	for (uint32_t k = 0; k < s->nplans; k++) {
		const struct plan *pl = &s->plans[k];

		if (pl->form == F_DELETE || pl->form == F_MOVE ||
		    pl->form == F_REPLACE)
			s->removed[nr++] = range_of(pl->p->as_id, pl->orig, k);
		if (adds_range(pl->form))
			s->added[na++] = range_of(pl->p->as_id, pl->final, k);
	}
	if (!nr || !na)
		return false;
	sort(s->removed, nr, sizeof(*s->removed), cmp_range, NULL, s->tmp);
	sort(s->added, na, sizeof(*s->added), cmp_range, NULL, s->tmp);
	while (i < nr && j < na) {
		const struct range *r = &s->removed[i], *a = &s->added[j];

		if (r->as_id == a->as_id && r->start <= a->last &&
		    a->start <= r->last)
			return true;
		if (r->as_id < a->as_id ||
		    (r->as_id == a->as_id && r->last < a->last))
			i++;
		else
			j++;
	}
	return false;
}

void canon_build(const struct memslot_txn *txn, void *scratch,
		 struct canon *out)
{
	struct scratch s;
	uint32_t nseq;

	layout(txn->nr_touched, &s, (char *)ALIGN8((uintptr_t)scratch));
	collect(txn, &s);
	build_graph(&s);
	nseq = sort_adds(&s);
	memset(out, 0, sizeof(*out));
	out->reqs = s.reqs;
	out->hole = opens_hole(&s);
	emit_sorted(&s, out, F_DELETE, F_REPLACE, REQ_DELETE);
	emit_sorted(&s, out, F_FLAGS, F_FLAGS, REQ_FLAGS);
	for (uint32_t i = 0; i < nseq; i++) {
		enum form f = s.plans[s.seq[i]].form;

		emit(&s, out, s.seq[i], f == F_MOVE ? REQ_MOVE : REQ_CREATE);
	}
	for (uint32_t i = 0; i < s.nplans; i++)
		if ((s.plans[i].orig &&
		     (s.plans[i].orig->flags & MEMSLOT_GUEST_MEMFD)) ||
		    (s.plans[i].final &&
		     (s.plans[i].final->flags & MEMSLOT_GUEST_MEMFD)))
			out->guest_memfd = true;
}
