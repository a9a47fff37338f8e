/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The library's cost next to the real kernel's (issue 6): 1,000-change
 * SEQUENTIAL transactions on a real VM, the time spent in the library
 * against the time spent in the kernel.
 *
 * Every ioctl goes through the vm's ioctl hook, which calls ioctl(2)
 * between two clock_gettime(CLOCK_MONOTONIC) and adds the interval up:
 * that is the kernel's time.  The library's time is the rest of the
 * transaction, from memslot_txn_begin() to the return of
 * memslot_txn_commit() (validation in memslot_txn_add() included), minus
 * the cost of the hook's own clock reads (calibrated first, printed; not
 * for the "alone" calls below, which read no clock).
 *
 * Workloads, each one transaction, in this order on one VM:
 *   creates  1,000 one-page creates with MEMSLOT_ANY_SLOT (ids 0..999)
 *   resizes  500 resizes: delete + create of the same id, 1 to 2 pages
 *            (1,000 changes, 1,000 ioctls: a resize cannot be one request)
 *   deletes  1,000 deletes
 *   moved    500 creates, each then moved (1,000 changes; canonicalization
 *            leaves 500 creates at the final addresses)
 * then the 500 slots are deleted (not measured) and the next round starts.
 * One warm-up round (not counted: first-touch page faults, the library's
 * allocations growing, and under QEMU the translation of the code), then
 * RK_BENCH_ROUNDS rounds (default 3); the medians are printed as
 *
 *   real-kvm-bench: kernel K: 1000 creates: library 0.41 ms, kernel 182.3 ms
 *   (0.22%), ioctls 1000 -> 1000; ...
 *
 * and "alone": the same rounds on a second memslot_vm whose hook answers the
 * memslot ioctls 0 without entering the kernel: the library's time when no
 * system call runs in between (caches and branch predictors not disturbed
 * by the kernel or by return-to-user mitigations), printed after the line;
 * with "ioctls C -> I": the caller's changes (memslot_txn_count(), the
 * ioctls a naive caller issues) and the ioctls the commit issued
 * (memslot_error.issued).  Timings are reported, never asserted; the
 * checks are about correctness: every commit returns 0, issues the
 * expected number of ioctls (all of them through the hook), and leaves
 * the expected number of slots in the view.
 *
 * With RK_MODE=batch (a kernel with KVM_SET_USER_MEMORY_REGION_LIST), the
 * same rounds run a second time on a MEMSLOT_MODE_BATCH memslot_vm over
 * the same VM, where every commit must issue exactly one ioctl (the list),
 * and a second line compares the two, whole transactions (library and
 * kernel) against each other:
 *
 *   real-kvm-bench-batch: kernel K: 1000 creates: batch 3.1 ms (1 ioctl),
 *   sequential 182.3 ms (1000 ioctls), 58.8x; ...
 */
#include <errno.h>
#include <libmemslot/libmemslot.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "kvm-compat.h"
#include "rk.h"

#define PG 4096ull
#define N 1000u                 /* slots of the creates and deletes */
#define NHALF (N / 2)
#define GPA0 (1ull << 32)       /* slot i at GPA0 + 4 pages * i */
#define GPA_MOVED (1ull << 33)  /* where the moved workload ends */
#define MAX_ROUNDS 15

enum { W_CREATE, W_RESIZE, W_DELETE, W_MOVED, NW };
static const char *const wname[NW] = { "creates", "resizes", "deletes", "moved" };
static const unsigned wcount[NW] = { N, NHALF, N, NHALF };  /* for the label */
static const unsigned wchanges[NW] = { N, N, N, N };       /* caller's changes */
static const unsigned wissued[NW] = { N, N, N, NHALF };    /* ioctls expected */

/* The modes measured: SEQUENTIAL, then BATCH with RK_MODE=batch. */
enum { M_SEQ, M_BATCH, NM };
static const char *const mname[NM] = { "sequential", "batch" };
static int cur;                /* the mode being measured */

struct sample {
	double lib, kern;          /* seconds */
	double adds;               /* of lib: begin and the memslot_txn_*() calls */
	unsigned changes, issued;
};

static struct sample samples[NM][NW][MAX_ROUNDS], alone[NM][NW][MAX_ROUNDS];

/* ---- the timed hook ------------------------------------------------------ */

static double hook_kernel;     /* seconds inside ioctl(2) */
static long hook_calls, hook_mem;
static long hook_clocked;      /* calls that read the clock (not dry ones) */
static int dry;                /* answer memslot ioctls 0, kernel untouched */

static double ts(const struct timespec *t)
{
	return (double)t->tv_sec + (double)t->tv_nsec * 1e-9;
}

static int is_mem(unsigned long req)
{
	return req == KVM_SET_USER_MEMORY_REGION || req == KVM_SET_USER_MEMORY_REGION2 ||
	       req == KVM_SET_USER_MEMORY_REGION_LIST;
}

static int timed_ioctl(void *opaque, int fd, unsigned long req, void *arg)
{
	struct timespec a, b;
	int r, e;

	(void)opaque;
	if (dry && is_mem(req)) {
		hook_calls++;
		hook_mem++;
		return 0;
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	r = ioctl(fd, req, arg);
	e = errno;
	clock_gettime(CLOCK_MONOTONIC, &b);
	hook_kernel += ts(&b) - ts(&a);
	hook_calls++;
	hook_clocked++;
	if (is_mem(req))
		hook_mem++;
	return r < 0 ? -e : r;
}

/* Cost of one clock_gettime(), which the hook adds to the library's side. */
static double clock_cost(void)
{
	struct timespec t;
	double best = 1e9;
	int rep, i;

	for (rep = 0; rep < 5; rep++) {
		double t0 = rk_now();

		for (i = 0; i < 2000; i++)
			clock_gettime(CLOCK_MONOTONIC, &t);
		if ((rk_now() - t0) / 2000 < best)
			best = (rk_now() - t0) / 2000;
	}
	return best;
}

/* ---- workloads ------------------------------------------------------------- */

static struct memslot_vm *vm;
static uint8_t *arena;
static double tclock;

static struct memslot_region reg(uint16_t slot, uint64_t gpa, uint64_t pages, uint64_t hva_page)
{
	struct memslot_region r;

	memset(&r, 0, sizeof(r));
	r.sz = sizeof(r);
	r.slot = slot;
	r.guest_phys_addr = gpa;
	r.memory_size = pages * PG;
	r.userspace_addr = (uintptr_t)arena + hva_page * PG;
	return r;
}

/* One transaction of workload w; fills *s; 0 or a negative errno. */
static int run(int w, struct sample *s)
{
	struct memslot_error err = { .sz = sizeof(err) };
	struct memslot_txn *t;
	struct memslot_region r;
	double t0, t1, k0;
	long c0, k0c;
	unsigned i;
	uint16_t id;
	int e = 0, bad = 0;

	k0 = hook_kernel;
	c0 = hook_calls;
	k0c = hook_clocked;
	t0 = rk_now();
	if ((e = memslot_txn_begin(vm, &t)))
		return e;
	for (i = 0; i < N && !e; i++) {
		switch (w) {
		case W_CREATE:
			r = reg(MEMSLOT_ANY_SLOT, GPA0 + 4 * PG * i, 1, 2 * i);
			e = memslot_txn_add(t, &r, &id);
			bad += !e && id != i;
			break;
		case W_RESIZE:    /* i even: delete id i/2; odd: create it bigger */
			if (!(i & 1)) {
				e = memslot_txn_delete(t, 0, (uint16_t)(i / 2));
			} else {
				r = reg((uint16_t)(i / 2), GPA0 + 4 * PG * (i / 2), 2, 2 * (i / 2));
				e = memslot_txn_add(t, &r, NULL);
			}
			break;
		case W_DELETE:
			e = memslot_txn_delete(t, 0, (uint16_t)i);
			break;
		case W_MOVED:     /* i even: create id i/2; odd: move it */
			if (!(i & 1)) {
				r = reg((uint16_t)(i / 2), GPA0 + 4 * PG * (i / 2), 1, 2 * (i / 2));
				e = memslot_txn_add(t, &r, NULL);
			} else {
				e = memslot_txn_move(t, 0, (uint16_t)(i / 2),
						     GPA_MOVED + 4 * PG * (i / 2));
			}
			break;
		}
	}
	if (e) {
		printf("bench: %s: change %u: %s\n", wname[w], i - 1, rk_errname(e));
		memslot_txn_abort(t);
		return e;
	}
	s->changes = (unsigned)memslot_txn_count(t);
	t1 = rk_now();
	s->adds = t1 - t0;
	e = memslot_txn_commit(t, &err);
	s->lib = rk_now() - t0 - (hook_kernel - k0) - (double)(hook_clocked - k0c) * tclock;
	if (s->lib < 0)
		s->lib = 0;
	s->kern = hook_kernel - k0;
	s->issued = err.issued;
	RK_CHECK(e == 0, "%s %s: commit %s (change %d, issued %u)", mname[cur], wname[w],
		 rk_errname(e), err.change, err.issued);
	RK_CHECK(bad == 0, "%s: MEMSLOT_ANY_SLOT gave ids 0..%u in order (%d not)",
		 wname[w], N - 1, bad);
	RK_CHECK(s->changes == wchanges[w] && s->issued == (cur == M_BATCH ? 1 : wissued[w]) &&
		 hook_calls - c0 == (long)s->issued,
		 "%s %s: %u changes, %u ioctls issued (%ld through the hook), wanted %u and %u",
		 mname[cur], wname[w], s->changes, s->issued, hook_calls - c0, wchanges[w],
		 cur == M_BATCH ? 1 : wissued[w]);
	return e;
}

static int cleanup_moved(void)
{
	struct memslot_txn *t;
	unsigned i;
	int e;

	if ((e = memslot_txn_begin(vm, &t)))
		return e;
	for (i = 0; i < NHALF && !e; i++)
		e = memslot_txn_delete(t, 0, (uint16_t)i);
	if (e) {
		memslot_txn_abort(t);
		return e;
	}
	return memslot_txn_commit(t, NULL);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* kern: 0 the library's time, 1 the kernel's, 2 both (the whole transaction) */
static double median(struct sample (*smp)[MAX_ROUNDS], int w, int rounds, int kern)
{
	double v[MAX_ROUNDS];
	int i;

	for (i = 0; i < rounds; i++)
		v[i] = kern == 2 ? smp[w][i].lib + smp[w][i].kern :
		       kern ? smp[w][i].kern : smp[w][i].lib;
	qsort(v, (size_t)rounds, sizeof(v[0]), cmp_double);
	return rounds & 1 ? v[rounds / 2] : (v[rounds / 2 - 1] + v[rounds / 2]) / 2;
}

/* Warm-up and rounds of every workload in mode cur on a new memslot_vm. */
static void measure(int vm_fd, int rounds)
{
	struct memslot_vm_opts o = { .sz = sizeof(o), .ioctl = timed_ioctl };
	struct memslot_caps caps = { .sz = sizeof(caps) };
	int rd, w, e;

	o.mode = cur == M_BATCH ? MEMSLOT_MODE_BATCH : MEMSLOT_MODE_SEQUENTIAL;
	if ((e = memslot_vm_new(vm_fd, &o, &vm)))
		rk_fatal("memslot_vm_new (%s): %s", mname[cur], rk_errname(e));
	if (cur == M_BATCH) {
		e = memslot_vm_caps(vm, &caps);
		if (!RK_CHECK(e == 0 && caps.batch == 1 && caps.batch_usable == 1,
			      "RK_MODE=batch: caps.batch %u, batch_usable %u (want 1)",
			      caps.batch, caps.batch_usable))
			rk_fatal("no usable batch ioctl: nothing to measure");
	}
	/* round -1 is the warm-up, its samples overwritten by round 0 */
	for (rd = -1; rd < rounds; rd++) {
		for (w = 0; w < NW; w++) {
			struct sample *s = &samples[cur][w][rd < 0 ? 0 : rd];
			char rname[16];

			if ((e = run(w, s)))
				rk_fatal("%s: round %d: %s: %s", mname[cur], rd, wname[w],
					 rk_errname(e));
			snprintf(rname, sizeof(rname), rd < 0 ? "warm-up" : "round %d", rd);
			printf("bench: %-10s %-8s %4u %-7s library %7.3f ms (adds %7.3f, commit %7.3f), "
			       "kernel %9.3f ms, ioctls %u -> %u, view %d slots\n", mname[cur],
			       rname, wcount[w], wname[w], s->lib * 1e3, s->adds * 1e3,
			       (s->lib - s->adds) * 1e3, s->kern * 1e3, s->changes, s->issued,
			       memslot_vm_count(vm));
			RK_CHECK(memslot_vm_count(vm) == (w == W_CREATE || w == W_RESIZE ? (int)N
							  : w == W_DELETE ? 0 : (int)NHALF),
				 "%s %s: %d slots in the view", mname[cur], wname[w],
				 memslot_vm_count(vm));
		}
		e = cleanup_moved();
		RK_CHECK(e == 0 && memslot_vm_count(vm) == 0, "%s round %d: clean up: %s, %d slots",
			 mname[cur], rd, rk_errname(e), memslot_vm_count(vm));
	}
	memslot_vm_free(vm);
	/* The same on a vm whose memslot ioctls never reach the kernel. */
	if ((e = memslot_vm_new(vm_fd, &o, &vm)))
		rk_fatal("memslot_vm_new (alone): %s", rk_errname(e));
	dry = 1;
	for (rd = -1; rd < rounds; rd++) {
		for (w = 0; w < NW; w++)
			if ((e = run(w, &alone[cur][w][rd < 0 ? 0 : rd])))
				rk_fatal("alone: %s: round %d: %s: %s", mname[cur], rd, wname[w],
					 rk_errname(e));
		if ((e = cleanup_moved()))
			rk_fatal("alone: clean up: %s", rk_errname(e));
	}
	dry = 0;
	memslot_vm_free(vm);
	vm = NULL;
}

int main(void)
{
	struct memslot_vm_opts o = { .sz = sizeof(o), .mode = MEMSLOT_MODE_SEQUENTIAL };
	struct memslot_caps caps = { .sz = sizeof(caps) };
	struct memslot_vm *probe;
	struct utsname u;
	int vm_fd, rounds, w, e, worst = 0, nm;
	double t0 = rk_now(), worst_pct = 0;
	char line[1024];
	size_t len;

	uname(&u);
	nm = rk_mode() == MEMSLOT_MODE_BATCH ? 2 : 1;
	rounds = (int)rk_env_ulong("RK_BENCH_ROUNDS", 3);
	if (rounds < 1)
		rounds = 1;
	if (rounds > MAX_ROUNDS)
		rounds = MAX_ROUNDS;
	vm_fd = rk_vm_create();
	if ((e = memslot_vm_new(vm_fd, &o, &probe)))
		rk_fatal("memslot_vm_new: %s", rk_errname(e));
	if ((e = memslot_vm_caps(probe, &caps)))
		rk_fatal("memslot_vm_caps: %s", rk_errname(e));
	memslot_vm_free(probe);
	arena = rk_map((size_t)2 * N * PG);
	tclock = clock_cost();
	printf("bench: kernel %s, %s%s, warm-up and %d rounds, clock_gettime %.0f ns "
	       "(subtracted once per ioctl)\n",
	       u.release, caps.user_memory2 ? "KVM_SET_USER_MEMORY_REGION2"
					    : "KVM_SET_USER_MEMORY_REGION",
	       nm > 1 ? " and KVM_SET_USER_MEMORY_REGION_LIST" : "", rounds, tclock * 1e9);
	for (cur = 0; cur < nm; cur++)
		measure(vm_fd, rounds);
	/* The kernel's table is empty too: the ids are free again. */
	e = rk_set_region(vm_fd, caps.user_memory2, 0, 0, GPA0, PG, (uintptr_t)arena);
	RK_CHECK(e == 0, "id 0 is free in the kernel after the last round: %s", rk_errname(e));

	len = (size_t)snprintf(line, sizeof(line), "real-kvm-bench: kernel %s:", u.release);
	for (w = 0; w < NW; w++) {
		double lib = median(samples[M_SEQ], w, rounds, 0);
		double kern = median(samples[M_SEQ], w, rounds, 1);
		double pct = kern > 0 ? 100 * lib / kern : 0;

		if (pct > worst_pct) {
			worst_pct = pct;
			worst = w;
		}
		len += (size_t)snprintf(line + len, sizeof(line) - len,
					"%s %u %s: library %.2f ms, kernel %.1f ms (%.2f%%), "
					"ioctls %u -> %u", w ? ";" : "", wcount[w], wname[w],
					lib * 1e3, kern * 1e3, pct, samples[M_SEQ][w][0].changes,
					samples[M_SEQ][w][0].issued);
	}
	printf("%s\n", line);
	for (cur = 0; cur < nm; cur++)
		for (w = 0; w < NW; w++)
			printf("bench: %s %u %s: library %.3f ms next to the kernel, %.3f ms "
			       "alone (no kernel between the ioctls)\n", mname[cur], wcount[w],
			       wname[w], median(samples[cur], w, rounds, 0) * 1e3,
			       median(alone[cur], w, rounds, 0) * 1e3);
	printf("bench: the library's share is %s 1%% of the kernel's (worst: %s, %.2f%%); "
	       "medians of %d rounds; %.1f s\n", worst_pct < 1 ? "under" : "NOT under",
	       wname[worst], worst_pct, rounds, rk_now() - t0);
	if (nm > 1) {
		for (w = 0; w < NW; w++)
			printf("bench: batch %u %s: library %.3f ms, kernel %.3f ms\n", wcount[w],
			       wname[w], median(samples[M_BATCH], w, rounds, 0) * 1e3,
			       median(samples[M_BATCH], w, rounds, 1) * 1e3);
		len = (size_t)snprintf(line, sizeof(line), "real-kvm-bench-batch: kernel %s:",
				       u.release);
		for (w = 0; w < NW; w++) {
			double b = median(samples[M_BATCH], w, rounds, 2);
			double q = median(samples[M_SEQ], w, rounds, 2);

			len += (size_t)snprintf(line + len, sizeof(line) - len,
						"%s %u %s: batch %.1f ms (%u ioctl), sequential "
						"%.1f ms (%u ioctls), %.1fx", w ? ";" : "",
						wcount[w], wname[w], b * 1e3,
						samples[M_BATCH][w][0].issued, q * 1e3,
						samples[M_SEQ][w][0].issued, b > 0 ? q / b : 0);
		}
		printf("%s\n", line);
	}
	close(vm_fd);
	return rk_finish("bench");
}
