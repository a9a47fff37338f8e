/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Guest-visible holes.  A vCPU thread reads a RAM page in a loop (the page
 * reader of rk-vcpu.h) while the main thread resizes the slot behind it
 * (delete + create of the same id, 16 <-> 15 pages) RK_HOLE_RESIZES times
 * (default 1000) through sequential commits.  A read that leaves with
 * KVM_EXIT_MMIO hit the hole.
 *
 * Phase 1: no quiesce (the callbacks are installed but return at once):
 * the holes are counted and reported.  Phase 2: quiesce kicks the vCPU out
 * of KVM_RUN with SIGUSR1 (and kvm_run.immediate_exit, so a signal that
 * arrives outside KVM_RUN is not lost) and holds it parked until resume():
 * zero holes are required.  After every commit the main thread waits for
 * the vCPU to complete a read, so every phase has at least as many reads as
 * resizes.  Prints
 *   real-kvm-holes: kernel X: without quiesce N of M reads, with quiesce 0 of M reads
 *
 * With RK_MODE=batch (a kernel with KVM_SET_USER_MEMORY_REGION_LIST), phase
 * 3 does the same resizes through MEMSLOT_MODE_BATCH commits on a new
 * memslot_vm over the same VM (rk_guest_rebind()), with the quiesce
 * callbacks installed but doing nothing: the library must never call them
 * (a list opens no hole), every commit must issue exactly one ioctl, and
 * the guest must see zero holes.  Then also prints
 *   real-kvm-holes-batch: kernel X: batch 0 of Y reads, sequential N of M reads
 * (sequential: phase 1, without quiesce).
 */
#include <errno.h>
#include <libmemslot/libmemslot.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "rk.h"
#include "rk-view.h"

#define PG RK_PG
#define DATA_ID 1
#define DATA_PAGE 8          /* window page of the slot */
#define READ_GPA (RK_WIN_GPA + DATA_PAGE * PG + RK_MARK_OFF)

static struct rk_guest g;
static pthread_t vcpu_thread;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int pause_req, parked, quiesce_on, stop;
static atomic_long reads, holes, bad_values, errors;
static long quiesce_calls, resume_calls, quiesce_fail;
static uint8_t want;

static void on_sigusr1(int sig)
{
	(void)sig;
	/* The vCPU thread's kvm_run: a KVM_RUN entered after this returns EINTR. */
	g.cpu.run->immediate_exit = 1;
}

/* Runs on the vCPU thread, outside KVM_RUN, after an EINTR. */
static void on_intr(struct rk_vcpu *v, void *opaque)
{
	(void)opaque;
	v->run->immediate_exit = 0;
	pthread_mutex_lock(&mu);
	if (pause_req) {
		parked = 1;
		pthread_cond_broadcast(&cv);
		while (pause_req)
			pthread_cond_wait(&cv, &mu);
		parked = 0;
	}
	pthread_mutex_unlock(&mu);
}

static void *vcpu_main(void *arg)
{
	(void)arg;
	g.cpu.on_intr = on_intr;
	while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
		uint8_t val;
		int r = rk_vcpu_read(&g.cpu, (uint32_t)READ_GPA, &val);

		if (r == RK_MMIO)
			atomic_fetch_add(&holes, 1);
		else if (r == RK_MAPPED && val != want)
			atomic_fetch_add(&bad_values, 1);
		else if (r < 0) {
			atomic_fetch_add(&errors, 1);
			printf("holes: vcpu: %s\n", g.cpu.err);
			break;
		}
		atomic_fetch_add(&reads, 1);
	}
	return NULL;
}

static int quiesce(void *opaque)
{
	(void)opaque;
	quiesce_calls++;
	if (!quiesce_on)
		return 0;
	pthread_mutex_lock(&mu);
	pause_req = 1;
	pthread_kill(vcpu_thread, SIGUSR1);
	while (!parked) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 2000000;
		if (ts.tv_nsec >= 1000000000)
			ts.tv_sec++, ts.tv_nsec -= 1000000000;
		/* re-kick: a signal can only be lost if it raced with parking */
		if (pthread_cond_timedwait(&cv, &mu, &ts) == ETIMEDOUT && !parked)
			pthread_kill(vcpu_thread, SIGUSR1);
	}
	pthread_mutex_unlock(&mu);
	return 0;
}

static void resume(void *opaque)
{
	(void)opaque;
	resume_calls++;
	if (!quiesce_on)
		return;
	pthread_mutex_lock(&mu);
	if (!parked)
		quiesce_fail++;        /* the vCPU must still be held here */
	pause_req = 0;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
}

static int resize(unsigned npages, struct memslot_error *err)
{
	struct memslot_txn *t;
	struct memslot_region r = rk_region(0, DATA_ID, 0, RK_WIN_GPA + DATA_PAGE * PG,
					    (uint64_t)npages * PG, rk_hva(&g, 0));
	int e;

	if ((e = memslot_txn_begin(g.vm, &t)))
		return e;
	if ((e = memslot_txn_delete(t, 0, DATA_ID)) || (e = memslot_txn_add(t, &r, NULL))) {
		memslot_txn_abort(t);
		return e;
	}
	return memslot_txn_commit(t, err);
}

static void wait_reads(long target)
{
	while (atomic_load(&reads) < target && !atomic_load(&errors))
		;
}

enum { SEQ_PLAIN, SEQ_QUIESCE, BATCH };
static const char *const phase_name[] = {
	"without quiesce", "with quiesce", "batch (no quiesce)",
};

static int phase(int kind, unsigned n, long *nreads, long *nholes, double *secs)
{
	long r0, h0, q0 = quiesce_calls, s0 = resume_calls;
	const char *name = phase_name[kind];
	unsigned i, want_calls = kind == BATCH ? 0 : n;
	int fails = 0, not_one = 0;
	double t0;

	quiesce_on = kind == SEQ_QUIESCE;
	wait_reads(atomic_load(&reads) + 20);   /* the guest is running */
	r0 = atomic_load(&reads);
	h0 = atomic_load(&holes);
	t0 = rk_now();
	for (i = 0; i < n && !atomic_load(&errors); i++) {
		struct memslot_error err = { .sz = sizeof(err) };
		long before = atomic_load(&reads);

		if (resize(i & 1 ? 16 : 15, &err))
			fails++;
		not_one += kind == BATCH && err.issued != 1;
		wait_reads(before + 1);
	}
	*secs = rk_now() - t0;
	*nreads = atomic_load(&reads) - r0;
	*nholes = atomic_load(&holes) - h0;
	RK_CHECK(fails == 0, "%s: %d of %u resizes failed", name, fails, n);
	RK_CHECK(quiesce_calls - q0 == want_calls && resume_calls - s0 == want_calls,
		 "%s: quiesce called %ld, resume %ld times for %u hole-opening commits "
		 "(want %u)", name, quiesce_calls - q0, resume_calls - s0, n, want_calls);
	if (kind == BATCH)
		RK_CHECK(not_one == 0, "%s: every commit issued one ioctl (%d did not)", name,
			 not_one);
	RK_CHECK(*nreads >= n, "%s: %ld reads during %u resizes", name, *nreads, n);
	return fails;
}

int main(void)
{
	struct memslot_vm_opts o = { .sz = sizeof(o), .mode = MEMSLOT_MODE_SEQUENTIAL,
				     .quiesce = quiesce, .resume = resume };
	int batch = rk_mode() == MEMSLOT_MODE_BATCH;
	struct sigaction sa;
	struct utsname u;
	struct memslot_txn *t;
	struct memslot_region r;
	unsigned n = (unsigned)rk_env_ulong("RK_HOLE_RESIZES", 1000);
	long r1, h1, r2, h2, r3 = 0, h3 = 0;
	double s1, s2, s3 = 0;
	int e;

	uname(&u);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigusr1;
	sigaction(SIGUSR1, &sa, NULL);   /* no SA_RESTART: KVM_RUN must return EINTR */

	rk_guest_init(&g, &o);
	want = g.arena[RK_MARK_OFF];
	r = rk_region(0, DATA_ID, 0, RK_WIN_GPA + DATA_PAGE * PG, 16 * PG, rk_hva(&g, 0));
	if ((e = memslot_txn_begin(g.vm, &t)) || (e = memslot_txn_add(t, &r, NULL)) ||
	    (e = memslot_txn_commit(t, NULL)))
		rk_fatal("data slot: %s", rk_errname(e));
	RK_CHECK(quiesce_calls == 0, "no quiesce for commits that open no hole (%ld)", quiesce_calls);

	if (pthread_create(&vcpu_thread, NULL, vcpu_main, NULL))
		rk_fatal("pthread_create");
	phase(SEQ_PLAIN, n, &r1, &h1, &s1);
	phase(SEQ_QUIESCE, n, &r2, &h2, &s2);
	if (batch) {
		o.mode = MEMSLOT_MODE_BATCH;
		rk_guest_rebind(&g, &o);   /* no ioctl: the vCPU keeps reading */
		if (RK_CHECK(g.caps.batch == 1 && g.caps.batch_usable == 1,
			     "RK_MODE=batch: caps.batch %u, batch_usable %u (want 1)",
			     g.caps.batch, g.caps.batch_usable))
			phase(BATCH, n, &r3, &h3, &s3);
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	pthread_kill(vcpu_thread, SIGUSR1);
	pthread_join(vcpu_thread, NULL);

	printf("holes: without quiesce %ld holes in %ld reads (%.2f s); with quiesce %ld in %ld "
	       "(%.2f s)\n", h1, r1, s1, h2, r2, s2);
	if (batch)
		printf("holes: batch (one list per resize, no quiesce) %ld holes in %ld reads "
		       "(%.2f s)\n", h3, r3, s3);
	RK_CHECK(errors == 0, "the vCPU saw only RAM reads and MMIO exits");
	RK_CHECK(bad_values == 0, "every RAM read returned the marker (%ld did not)",
		 (long)bad_values);
	RK_CHECK(quiesce_fail == 0, "resume() always found the vCPU parked (%ld not)", quiesce_fail);
	RK_CHECK(h1 > 0, "without quiesce the guest sees holes (%ld): the detector works", h1);
	RK_CHECK(h2 == 0, "with quiesce the guest sees no hole (%ld)", h2);
	if (batch)
		RK_CHECK(h3 == 0 && r3 > 0, "batch: the guest sees no hole without quiesce "
			 "(%ld in %ld reads)", h3, r3);
	printf("real-kvm-holes: kernel %s: without quiesce %ld of %ld reads, with quiesce %ld of %ld reads\n",
	       u.release, h1, r1, h2, r2);
	if (batch)
		printf("real-kvm-holes-batch: kernel %s: batch %ld of %ld reads, sequential %ld of "
		       "%ld reads\n", u.release, h3, r3, h1, r1);
	rk_guest_fini(&g);
	return rk_finish("holes");
}
