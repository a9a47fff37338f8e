/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * memslot-bench: the cost of libmemslot per change and per commit at
 * 16, 512, 4096 and 32764 slots, next to a naive baseline (naive.c).
 * Run by `make bench` through bench/run-bench.sh; see BENCHMARKS.md.
 *
 * The kernel is a zero-cost ioctl hook: it answers KVM_CHECK_EXTENSION as
 * the simulated kernel does (32764 slots, 2 address spaces, read-only
 * memory, REGION2), returns 0 for every memslot ioctl and -ENOTTY for the
 * batch ioctl (so commits are sequential, as on every released kernel).
 * What is measured is therefore the library alone.
 *
 *   memslot-bench            wall clock: one line per figure on stdout,
 *                            "ns METRIC SIZE VALUE" (ns per operation:
 *                            median over the samples, timer overhead
 *                            subtracted), and "bytes ..." (heap bytes per
 *                            slot) and "allocs ..." (heap allocations per
 *                            commit or transaction) lines
 *   memslot-bench --callgrind
 *                            the same workloads, meant to run under
 *                            valgrind --tool=callgrind --collect-atstart=no:
 *                            every measured region is collected and each
 *                            metric dumped with CALLGRIND_DUMP_STATS_AT as
 *                            "METRIC SIZE OPS" (no warm-up there)
 *
 * Table layout: slot i of address space 0 is 1 MiB at guest address
 * i * 2 MiB, so every slot has a free 1 MiB gap after it (moves go there).
 */
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#define HAVE_CALLGRIND 1
#endif
#endif
#ifndef HAVE_CALLGRIND
#define HAVE_CALLGRIND 0
#define CALLGRIND_TOGGLE_COLLECT do { } while (0)
#define CALLGRIND_DUMP_STATS_AT(s) do { (void)(s); } while (0)
#define RUNNING_ON_VALGRIND 0
#endif

#include "libmemslot/libmemslot.h"
#include "kvm-compat.h"
#include "alloc-count.h"
#include "naive.h"

#ifndef BENCH_CFLAGS
#define BENCH_CFLAGS "?"
#endif

#define NR_SLOTS 32764u
#define MIB (1ull << 20)
#define STRIDE (2 * MIB)
#define SLOT_SIZE MIB
#define HVA_BASE (1ull << 40)
#define BIG 1000u           /* changes of the large transaction */

static const uint32_t sizes[] = { 16, 512, 4096, NR_SLOTS };

static bool cg;             /* --callgrind */
static unsigned int reps_change, reps_commit, reps_big;  /* samples */
static unsigned int ops_change, ops_commit;  /* operations per sample */
static double timer_ticks;  /* cost of an empty measured region */

/* ---- the zero-cost kernel ------------------------------------------ */

struct hook {
	unsigned long calls;
};

static int zero_ioctl(void *opaque, int fd, unsigned long req, void *arg)
{
	struct hook *h = opaque;

	(void)fd;
	h->calls++;
	if (req == KVM_CHECK_EXTENSION) {
		switch ((long)arg) {
		case KVM_CAP_NR_MEMSLOTS:
			return NR_SLOTS;
		case KVM_CAP_MULTI_ADDRESS_SPACE:
			return 2;
		case KVM_CAP_READONLY_MEM:
		case KVM_CAP_USER_MEMORY2:
			return 1;
		default:
			return 0;
		}
	}
	if (req == KVM_SET_USER_MEMORY_REGION_LIST)
		return -ENOTTY;
	return 0;
}

/* ---- helpers ---------------------------------------------------------- */

static void die(const char *what, int err)
{
	fprintf(stderr, "memslot-bench: %s: %s\n", what, memslot_strerror(err));
	exit(1);
}

#define CHECK(call) do { \
		int check_r_ = (call); \
		if (check_r_ < 0) \
			die(#call, check_r_); \
	} while (0)

static uint64_t gpa_of(uint32_t i)
{
	return (uint64_t)i * STRIDE;
}

static struct memslot_region region(uint16_t as_id, uint16_t slot,
				    uint64_t gpa)
{
	return (struct memslot_region){
		.sz = sizeof(struct memslot_region),
		.as_id = as_id,
		.slot = slot,
		.guest_phys_addr = gpa,
		.memory_size = SLOT_SIZE,
		.userspace_addr = HVA_BASE + gpa,
	};
}

static struct memslot_vm *new_vm(struct hook *h)
{
	struct memslot_vm_opts o = {
		.sz = sizeof(o),
		.ioctl = zero_ioctl,
		.ioctl_opaque = h,
	};
	struct memslot_vm *vm;

	CHECK(memslot_vm_new(-1, &o, &vm));
	return vm;
}

/* Adopt slots [from, to) of address space 0 in the table layout. */
static void fill(struct memslot_vm *vm, uint32_t from, uint32_t to)
{
	for (uint32_t i = from; i < to; i++) {
		struct memslot_region r = region(0, (uint16_t)i, gpa_of(i));

		CHECK(memslot_vm_adopt(vm, &r));
	}
}

static void naive_fill(struct naive_vm *nv, uint32_t from, uint32_t to)
{
	for (uint32_t i = from; i < to; i++) {
		struct memslot_region r = region(0, (uint16_t)i, gpa_of(i));

		CHECK(naive_add(nv, &r, NULL));
	}
}

/* ---- measurement --------------------------------------------------------- */

static uint64_t t_start;
static double ns_per_tick = 1.0;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * The clock of the samples: the TSC on x86 (clock_gettime() costs 20 to
 * 30 ns with 10 ns steps on some hosts, the size of the figures), scaled
 * to ns by calibrate(); CLOCK_MONOTONIC elsewhere.
 */
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#define HAVE_TSC 1
static inline uint64_t ticks(void)
{
	unsigned int aux;
	uint64_t t = __rdtscp(&aux);

	_mm_lfence();
	return t;
}
#else
#define HAVE_TSC 0
static inline uint64_t ticks(void)
{
	return now_ns();
}
#endif

static inline void m_start(void)
{
	if (cg)
		CALLGRIND_TOGGLE_COLLECT;
	else
		t_start = ticks();
}

static inline uint64_t m_stop(void)
{
	uint64_t t;

	if (cg) {
		CALLGRIND_TOGGLE_COLLECT;
		return 0;
	}
	t = ticks();
	return t - t_start;
}

/*
 * The samples of one metric.  A sample is the sum of the timings of ops
 * consecutive operations, each timed alone (the clock steps by 10 ns on
 * some hosts: summing single timings averages the steps out); the figure
 * is the median sample less the timer's cost, divided by ops.  Warm-up
 * samples are not recorded.
 */
struct series {
	const char *metric;
	uint32_t size;
	unsigned int ops;         /* operations per sample */
	unsigned int n, cap, warm;
	unsigned int k;           /* operations in the current sample */
	uint64_t acc;
	uint64_t *v;
};

static void series_init(struct series *s, const char *metric, uint32_t size,
			unsigned int ops, unsigned int reps)
{
	*s = (struct series){
		.metric = metric, .size = size, .ops = ops,
		.cap = reps, .warm = cg ? 0 : reps / 10 + 1,
	};
	s->v = calloc(reps, sizeof(*s->v));
	if (!s->v)
		die("calloc", -ENOMEM);
}

/* Number of operations to run, warm-up included. */
static unsigned int series_total(const struct series *s)
{
	return (s->cap + s->warm) * s->ops;
}

static void series_add(struct series *s, uint64_t v)
{
	s->acc += v;
	if (++s->k < s->ops)
		return;
	if (s->warm)
		s->warm--;
	else if (s->n < s->cap)
		s->v[s->n++] = s->acc;
	s->acc = 0;
	s->k = 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static double median(uint64_t *v, unsigned int n)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	return n % 2 ? (double)v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

/* Print (wall clock) or dump (callgrind) the metric, and free it. */
static void series_done(struct series *s)
{
	if (cg) {
		char label[128];

		snprintf(label, sizeof(label), "%s %" PRIu32 " %u",
			 s->metric, s->size, s->n * s->ops);
		CALLGRIND_DUMP_STATS_AT(label);
	} else {
		double m = median(s->v, s->n) - timer_ticks * s->ops;

		printf("ns %s %" PRIu32 " %.1f\n", s->metric, s->size,
		       (m < 0 ? 0 : m) * ns_per_tick / s->ops);
	}
	free(s->v);
}

static void calibrate(void)
{
	struct series s;

	if (HAVE_TSC && !cg) {
		uint64_t n0 = now_ns(), t0 = ticks(), n1, t1;

		do
			n1 = now_ns();
		while (n1 - n0 < 100000000u);
		t1 = ticks();
		ns_per_tick = (double)(n1 - n0) / (double)(t1 - t0);
	}
	series_init(&s, "empty", 0, ops_change, reps_change);
	for (unsigned int i = series_total(&s); i; i--) {
		m_start();
		series_add(&s, m_stop());
	}
	if (!cg) {
		timer_ticks = median(s.v, s.n) / ops_change;
		printf("# timer: %.3f ns per tick, %.1f ns per empty sample "
		       "(subtracted)\n", ns_per_tick, timer_ticks * ns_per_tick);
	}
	series_done(&s);
}

/* ---- per change -------------------------------------------------------- */

/* Table of n - 1 slots (ids 0 .. n-2): add the n-th with MEMSLOT_ANY_SLOT. */
static void bench_add(struct memslot_vm *vm, uint32_t n)
{
	struct memslot_region r = region(0, MEMSLOT_ANY_SLOT,
					 gpa_of(n / 2) + SLOT_SIZE);
	struct series s;

	series_init(&s, "add", n, ops_change, reps_change);
	for (unsigned int i = series_total(&s); i; i--) {
		struct memslot_txn *txn;
		uint16_t id = 0;
		uint64_t dt;
		int err;

		CHECK(memslot_txn_begin(vm, &txn));
		m_start();
		err = memslot_txn_add(txn, &r, &id);
		dt = m_stop();
		if (err < 0 || id != n - 1)
			die("add", err < 0 ? err : -EPROTO);
		memslot_txn_abort(txn);
		series_add(&s, dt);
	}
	series_done(&s);
}

static void bench_naive_add(struct naive_vm *nv, uint32_t n)
{
	struct memslot_region r = region(0, MEMSLOT_ANY_SLOT,
					 gpa_of(n / 2) + SLOT_SIZE);
	struct series s;

	series_init(&s, "naive_add", n, ops_change, reps_change);
	for (unsigned int i = series_total(&s); i; i--) {
		uint16_t id = 0;
		uint64_t dt;
		int err;

		m_start();
		err = naive_add(nv, &r, &id);
		dt = m_stop();
		if (err < 0 || id != n - 1)
			die("naive add", err < 0 ? err : -EPROTO);
		nv->slots[id].size = 0;
		series_add(&s, dt);
	}
	series_done(&s);
}

/* Table of n slots: delete the middle one. */
static void bench_delete(struct memslot_vm *vm, uint32_t n)
{
	struct series s;

	series_init(&s, "delete", n, ops_change, reps_change);
	for (unsigned int i = series_total(&s); i; i--) {
		struct memslot_txn *txn;
		uint64_t dt;
		int err;

		CHECK(memslot_txn_begin(vm, &txn));
		m_start();
		err = memslot_txn_delete(txn, 0, (uint16_t)(n / 2));
		dt = m_stop();
		if (err < 0)
			die("delete", err);
		memslot_txn_abort(txn);
		series_add(&s, dt);
	}
	series_done(&s);
}

static void bench_naive_delete(struct naive_vm *nv, uint32_t n)
{
	struct series s;

	series_init(&s, "naive_delete", n, ops_change, reps_change);
	for (unsigned int i = series_total(&s); i; i--) {
		uint64_t dt;
		int err;

		m_start();
		err = naive_delete(nv, gpa_of(n / 2), SLOT_SIZE);
		dt = m_stop();
		if (err < 0)
			die("naive delete", err);
		nv->slots[n / 2].size = SLOT_SIZE;
		series_add(&s, dt);
	}
	series_done(&s);
}

/* Table of n slots: move the middle one into the gap after it. */
static void bench_move(struct memslot_vm *vm, uint32_t n)
{
	struct series s;

	series_init(&s, "move", n, ops_change, reps_change);
	for (unsigned int i = series_total(&s); i; i--) {
		struct memslot_txn *txn;
		uint64_t dt;
		int err;

		CHECK(memslot_txn_begin(vm, &txn));
		m_start();
		err = memslot_txn_move(txn, 0, (uint16_t)(n / 2),
				       gpa_of(n / 2) + SLOT_SIZE);
		dt = m_stop();
		if (err < 0)
			die("move", err);
		memslot_txn_abort(txn);
		series_add(&s, dt);
	}
	series_done(&s);
}

static void bench_naive_move(struct naive_vm *nv, uint32_t n)
{
	struct series s;

	series_init(&s, "naive_move", n, ops_change, reps_change);
	for (unsigned int i = series_total(&s); i; i--) {
		uint64_t dt;
		int err;

		m_start();
		err = naive_move(nv, (uint16_t)(n / 2), gpa_of(n / 2) + SLOT_SIZE);
		dt = m_stop();
		if (err < 0)
			die("naive move", err);
		nv->slots[n / 2].gpa = gpa_of(n / 2);
		series_add(&s, dt);
	}
	series_done(&s);
}

/* ---- per commit -------------------------------------------------------- */

enum region_sel {
	SEL_TXN,      /* begin + changes + commit */
	SEL_COMMIT,   /* memslot_txn_commit() only */
	SEL_ENCODE,   /* memslot_txn_encode() of the open transaction */
};

static unsigned long max_allocs_commit1, max_allocs_txn1;
static unsigned long max_allocs_commit_big, max_allocs_txn_big;

/*
 * One-change transaction on a table of n slots: move the middle slot into
 * its gap, and back on the next sample (both are measured).
 */
static void bench_one(struct memslot_vm *vm, uint32_t n, enum region_sel sel,
		      const char *metric)
{
	static unsigned char buf[4096];
	uint16_t id = (uint16_t)(n / 2);
	bool out = false;
	struct series s;

	series_init(&s, metric, n, ops_commit, reps_commit);
	for (unsigned int i = series_total(&s); i; i--) {
		struct memslot_txn *txn;
		uint64_t dt = 0, gpa = gpa_of(id) + (out ? 0 : SLOT_SIZE);
		unsigned long a0, a1, a2;
		int err;

		a0 = bench_allocs;
		if (sel == SEL_TXN)
			m_start();
		CHECK(memslot_txn_begin(vm, &txn));
		CHECK(memslot_txn_move(txn, 0, id, gpa));
		if (sel == SEL_ENCODE) {
			ssize_t len;

			m_start();
			len = memslot_txn_encode(txn, buf, sizeof(buf));
			dt = m_stop();
			if (len < 0)
				die("encode", (int)len);
		}
		if (sel == SEL_COMMIT)
			m_start();
		a1 = bench_allocs;
		err = memslot_txn_commit(txn, NULL);
		a2 = bench_allocs;
		if (sel != SEL_ENCODE)
			dt = m_stop();
		if (err < 0)
			die("commit", err);
		out = !out;
		if (a2 - a1 > max_allocs_commit1)
			max_allocs_commit1 = a2 - a1;
		if (sel == SEL_TXN && a2 - a0 > max_allocs_txn1)
			max_allocs_txn1 = a2 - a0;
		series_add(&s, dt);
	}
	/* Leave the table as it was. */
	if (out) {
		struct memslot_txn *txn;

		CHECK(memslot_txn_begin(vm, &txn));
		CHECK(memslot_txn_move(txn, 0, id, gpa_of(id)));
		CHECK(memslot_txn_commit(txn, NULL));
	}
	series_done(&s);
}

/*
 * The 1,000-change transaction on a table of n slots: move 1,000 slots
 * spread over the table into their gaps (with fewer than 1,000 slots:
 * move every slot and create the rest in address space 1).  Undone by a
 * transaction that is not measured.
 */
static void big_changes(struct memslot_txn *txn, uint32_t n, bool forward,
			uint16_t *created)
{
	uint32_t nmoves = n < BIG ? n : BIG;

	for (uint32_t k = 0; k < nmoves; k++) {
		uint32_t id = n < BIG ? k : (uint32_t)((uint64_t)k * n / BIG);

		CHECK(memslot_txn_move(txn, 0, (uint16_t)id,
				       gpa_of(id) + (forward ? SLOT_SIZE : 0)));
	}
	for (uint32_t j = 0; j < BIG - nmoves; j++) {
		if (forward) {
			struct memslot_region r = region(1, MEMSLOT_ANY_SLOT,
							 gpa_of(j));

			CHECK(memslot_txn_add(txn, &r, &created[j]));
		} else {
			CHECK(memslot_txn_delete(txn, 1, created[j]));
		}
	}
}

static void bench_big(struct memslot_vm *vm, uint32_t n, enum region_sel sel,
		      const char *metric)
{
	static unsigned char buf[8 + 2 * BIG * 64];
	static uint16_t created[BIG];
	struct series s;

	series_init(&s, metric, n, 1, reps_big);
	for (unsigned int i = series_total(&s); i; i--) {
		struct memslot_txn *txn;
		uint64_t dt = 0;
		unsigned long a0, a1, a2;
		int err;

		a0 = bench_allocs;
		if (sel == SEL_TXN)
			m_start();
		CHECK(memslot_txn_begin(vm, &txn));
		big_changes(txn, n, true, created);
		if (sel == SEL_ENCODE) {
			ssize_t len;

			m_start();
			len = memslot_txn_encode(txn, buf, sizeof(buf));
			dt = m_stop();
			if (len < 0)
				die("encode", (int)len);
		}
		if (sel == SEL_COMMIT)
			m_start();
		a1 = bench_allocs;
		err = memslot_txn_commit(txn, NULL);
		a2 = bench_allocs;
		if (sel != SEL_ENCODE)
			dt = m_stop();
		if (err < 0)
			die("commit", err);
		if (a2 - a1 > max_allocs_commit_big)
			max_allocs_commit_big = a2 - a1;
		if (sel == SEL_TXN && a2 - a0 > max_allocs_txn_big)
			max_allocs_txn_big = a2 - a0;
		series_add(&s, dt);

		CHECK(memslot_txn_begin(vm, &txn));
		big_changes(txn, n, false, created);
		CHECK(memslot_txn_commit(txn, NULL));
	}
	series_done(&s);
}

/* ---- memory -------------------------------------------------------------- */

static size_t heap_in_use(void)
{
	struct mallinfo2 m = mallinfo2();

	return m.uordblks + m.hblkhd;
}

static void bench_memory(uint32_t n)
{
	struct hook h = { 0 };
	size_t m0, m1, m2;
	struct memslot_vm *vm;

	m0 = heap_in_use();
	vm = new_vm(&h);
	m1 = heap_in_use();
	fill(vm, 0, n);
	m2 = heap_in_use();
	printf("bytes slot %" PRIu32 " %.1f\n", n, (double)(m2 - m1) / n);
	printf("bytes vm %" PRIu32 " %.1f\n", n, (double)(m2 - m0) / n);
	memslot_vm_free(vm);
}

/* ---- main ------------------------------------------------------------ */

static void bench_size(uint32_t n)
{
	struct hook h = { 0 };
	struct memslot_vm *vm = new_vm(&h);
	struct naive_vm nv;

	CHECK(naive_init(&nv, NR_SLOTS, (uint64_t)sysconf(_SC_PAGESIZE)));

	/* Adds into a table of n - 1 slots, then the table is n slots. */
	fill(vm, 0, n - 1);
	naive_fill(&nv, 0, n - 1);
	bench_add(vm, n);
	bench_naive_add(&nv, n);
	fill(vm, n - 1, n);
	naive_fill(&nv, n - 1, n);

	bench_delete(vm, n);
	bench_naive_delete(&nv, n);
	bench_move(vm, n);
	bench_naive_move(&nv, n);

	bench_one(vm, n, SEL_TXN, "txn1");
	bench_one(vm, n, SEL_COMMIT, "commit1");
	bench_one(vm, n, SEL_ENCODE, "encode1");
	bench_big(vm, n, SEL_TXN, "txn1000");
	bench_big(vm, n, SEL_COMMIT, "commit1000");
	bench_big(vm, n, SEL_ENCODE, "encode1000");
	if (memslot_vm_count(vm) != (int)n)
		die("table size changed", -EPROTO);

	if (!cg) {
		printf("allocs commit1 %" PRIu32 " %lu\n", n, max_allocs_commit1);
		printf("allocs txn1 %" PRIu32 " %lu\n", n, max_allocs_txn1);
		printf("allocs commit1000 %" PRIu32 " %lu\n", n,
		       max_allocs_commit_big);
		printf("allocs txn1000 %" PRIu32 " %lu\n", n,
		       max_allocs_txn_big);
		bench_memory(n);
	}
	max_allocs_commit1 = max_allocs_txn1 = 0;
	max_allocs_commit_big = max_allocs_txn_big = 0;
	naive_fini(&nv);
	memslot_vm_free(vm);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--callgrind")) {
			cg = true;
		} else {
			fprintf(stderr, "usage: %s [--callgrind]\n", argv[0]);
			return 2;
		}
	}
	if (cg && (!HAVE_CALLGRIND || !RUNNING_ON_VALGRIND)) {
		fprintf(stderr, "memslot-bench: --callgrind needs valgrind "
			"--tool=callgrind --collect-atstart=no%s\n",
			HAVE_CALLGRIND ? "" :
			" and <valgrind/callgrind.h> at build time");
		return 2;
	}
	/* Instruction counts barely vary: few samples are enough there. */
	reps_change = cg ? 4 : 201;
	ops_change = cg ? 16 : 64;
	reps_commit = cg ? 4 : 101;
	ops_commit = 16;
	reps_big = cg ? 3 : 31;
	if (!cg)
		printf("# memslot-bench: CFLAGS %s\n", BENCH_CFLAGS);
	calibrate();
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		bench_size(sizes[i]);
	return 0;
}
