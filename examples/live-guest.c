/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * live-guest: remap the memory of a running guest without letting it see
 * a hole.
 *
 * On /dev/kvm a real vCPU runs a 12-byte real-mode guest that reads the
 * byte at guest physical address 0x10000 in a loop and reports it on I/O
 * port 0x10.  Meanwhile the main thread remaps that page again and again:
 * slot 1 is deleted and created again over another host buffer (KVM cannot
 * change a slot's host address in place), so the guest should read 1, 2,
 * 1, 2... and never find the address unmapped (an MMIO exit).
 *
 * A sequential commit of such a change opens a hole between its two
 * ioctls, so libmemslot calls the quiesce callback before it and resume
 * after it.  Here quiesce stops the vCPU as a VMM would: it sets
 * kvm_run->immediate_exit, kicks the vCPU thread out of KVM_RUN with a
 * signal, and waits until the thread is parked; resume lets it run again.
 * Commits that open no hole do not stop the vCPU at all.
 *
 * On the simulated kernel there is no vCPU: a thread plays one by reading
 * the simulated kernel's table (memslot_sim_foreach()) to translate
 * 0x10000, under a lock that each ioctl also takes (the kernel's memslot
 * update is atomic per ioctl).  After each ioctl the main thread lets the
 * simulated vCPU take one more step unless it is stopped: the worst case
 * of a real guest, which may run between any two ioctls.
 */
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <linux/kvm.h>

#include "backend.h"

#define SLOT_SIZE 0x10000ull     /* 64 KiB: code at 0, data at 0x10000 */
#define DATA_GPA 0x10000ull
#define GUEST_PORT 0x10
#define NR_REMAPS 100

/* Real mode, at 0x1000:  mov ax,0x1000; mov ds,ax;
 *                  loop: mov al,[0]; out 0x10,al; jmp loop */
static const uint8_t guest_code[] = {
	0xb8, 0x00, 0x10, 0x8e, 0xd8, 0xa0, 0x00, 0x00, 0xe6, GUEST_PORT,
	0xeb, 0xf9,
};

enum step { STEP_READ, STEP_HOLE, STEP_KICKED };

struct vcpu {
	struct backend *b;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int stop;            /* quiesce() asked the vCPU to stop */
	int parked;          /* the vCPU is stopped, outside KVM_RUN */
	int quit;
	int done;            /* the thread has ended */
	int error;           /* negative errno of a failed KVM_RUN */
	int honest;          /* quiesce() really stops the vCPU */
	int verbose;         /* print the callbacks */
	int quiesced;        /* quiesce() calls */
	int want;            /* wake the main thread when this is read */
	long reads;          /* guest reads of DATA_GPA that found memory */
	long holes;          /* reads that found no slot there */
	long steps;          /* simulated kernel: table lookups (atomic) */
	int started;
	int last;            /* the value last read */
	/* /dev/kvm */
	int fd;
	struct kvm_run *run;
	/* the simulated kernel: taken by each ioctl and by each guest read */
	pthread_mutex_t kernel_lock;
};

static struct vcpu vcpu = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.cond = PTHREAD_COND_INITIALIZER,
	.kernel_lock = PTHREAD_MUTEX_INITIALIZER,
	.honest = 1,
	.want = -1,
	.last = -1,
	.fd = -1,
};

/* ---- one step of the guest ----------------------------------------------- */

static int kvm_step(struct vcpu *v, int *value)
{
	struct kvm_run *run = v->run;

	if (ioctl(v->fd, KVM_RUN, 0) < 0)
		return errno == EINTR ? STEP_KICKED : -errno;
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		if (run->io.port != GUEST_PORT)
			return -EIO;
		*value = *((uint8_t *)run + run->io.data_offset);
		/* 0xff is what the guest got from the hole below. */
		return *value == 0xff ? STEP_KICKED : STEP_READ;
	case KVM_EXIT_MMIO:
		/* The guest read an address with no slot: a hole. */
		memset(run->mmio.data, 0xff, sizeof(run->mmio.data));
		return STEP_HOLE;
	default:
		fprintf(stderr, "unexpected KVM exit reason %u\n",
			run->exit_reason);
		return -EIO;
	}
}

struct lookup {
	uint64_t gpa;
	const uint8_t *host;
};

static int translate(const struct memslot_region *r, void *opaque)
{
	struct lookup *l = opaque;

	if (r->as_id || l->gpa < r->guest_phys_addr ||
	    l->gpa - r->guest_phys_addr >= r->memory_size)
		return 0;
	l->host = (const uint8_t *)(uintptr_t)r->userspace_addr +
		  (l->gpa - r->guest_phys_addr);
	return 1;
}

static int sim_step(struct vcpu *v, int *value)
{
	struct lookup l = { .gpa = DATA_GPA };

	pthread_mutex_lock(&v->kernel_lock);
	memslot_sim_foreach(v->b->sim, translate, &l);
	if (l.host)
		*value = *l.host;
	__atomic_add_fetch(&v->steps, 1, __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&v->kernel_lock);
	return l.host ? STEP_READ : STEP_HOLE;
}

static void deadline(struct timespec *ts, int seconds)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += seconds;
}

/*
 * The ioctl hook on the simulated kernel: one ioctl at a time, and then
 * one step of the simulated vCPU if it is running.
 */
static int locked_ioctl(void *opaque, int fd, unsigned long req, void *arg)
{
	struct vcpu *v = &vcpu;
	struct timespec ts;
	long seen;
	int r, w = 0;

	pthread_mutex_lock(&v->kernel_lock);
	r = backend_ioctl(opaque, fd, req, arg);
	seen = __atomic_load_n(&v->steps, __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&v->kernel_lock);

	/* Wait for a lookup of the table this ioctl left. */
	pthread_mutex_lock(&v->lock);
	deadline(&ts, 5);
	while (v->started && !v->stop && !v->done && w == 0 &&
	       __atomic_load_n(&v->steps, __ATOMIC_SEQ_CST) == seen)
		w = pthread_cond_timedwait(&v->cond, &v->lock, &ts);
	pthread_mutex_unlock(&v->lock);
	return r;
}

/* ---- the vCPU thread --------------------------------------------------------- */

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	int value = -1, r;

	pthread_mutex_lock(&v->lock);
	for (;;) {
		while (v->stop && !v->quit) {
			v->parked = 1;
			pthread_cond_broadcast(&v->cond);
			pthread_cond_wait(&v->cond, &v->lock);
		}
		v->parked = 0;
		if (v->quit)
			break;
		if (v->run)
			v->run->immediate_exit = 0;
		pthread_mutex_unlock(&v->lock);

		r = v->run ? kvm_step(v, &value) : sim_step(v, &value);

		pthread_mutex_lock(&v->lock);
		if (r < 0) {
			v->error = r;
			break;
		}
		if (r == STEP_HOLE)
			v->holes++;
		if (r == STEP_READ) {
			v->reads++;
			v->last = value;
		}
		if (!v->run)   /* locked_ioctl() may wait for a step */
			pthread_cond_broadcast(&v->cond);
		else if (r == STEP_READ && value == v->want)
			pthread_cond_broadcast(&v->cond);
	}
	v->done = 1;
	pthread_cond_broadcast(&v->cond);
	pthread_mutex_unlock(&v->lock);
	return NULL;
}

static void on_kick(int sig)
{
	(void)sig;   /* only there to make KVM_RUN return EINTR */
}

/* ---- the quiesce callbacks ----------------------------------------------------- */

static int vcpu_quiesce(void *opaque)
{
	struct vcpu *v = opaque;
	struct timespec ts;
	int r = 0;

	pthread_mutex_lock(&v->lock);
	v->quiesced++;
	if (!v->honest) {
		/* For contrast only: say the vCPU is stopped while it is not. */
		pthread_mutex_unlock(&v->lock);
		return 0;
	}
	v->stop = 1;
	if (v->run) {
		/* Entering KVM_RUN now returns at once; a signal ends a run. */
		v->run->immediate_exit = 1;
		pthread_kill(v->thread, SIGUSR1);
	}
	deadline(&ts, 5);
	while (!v->parked && !v->done && r == 0)
		r = pthread_cond_timedwait(&v->cond, &v->lock, &ts);
	if (r) {
		v->stop = 0;   /* not stopped in time: the commit is aborted */
		pthread_cond_broadcast(&v->cond);
	}
	pthread_mutex_unlock(&v->lock);
	if (v->verbose)
		printf("    quiesce(): vCPU %s\n", v->run ?
		       "kicked out of KVM_RUN and parked" : "thread parked");
	return -r;
}

static void vcpu_resume(void *opaque)
{
	struct vcpu *v = opaque;

	pthread_mutex_lock(&v->lock);
	v->stop = 0;
	pthread_cond_broadcast(&v->cond);
	pthread_mutex_unlock(&v->lock);
	if (v->verbose && v->honest)
		printf("    resume(): vCPU runs again\n");
}

/* Wait until the guest reads want (it must, soon after a remap). */
static void wait_for_value(struct vcpu *v, int want)
{
	struct timespec ts;
	int r = 0, last, done;

	deadline(&ts, 5);
	pthread_mutex_lock(&v->lock);
	v->want = want;
	while (v->last != want && !v->done && r == 0)
		r = pthread_cond_timedwait(&v->cond, &v->lock, &ts);
	v->want = -1;
	last = v->last;
	done = v->done;
	pthread_mutex_unlock(&v->lock);
	EXPECT(last == want, "the guest reads %d, expected %d (vCPU %s)",
	       last, want, done ? "stopped" : "running");
}

/* ---- setting up and stopping the vCPU ---------------------------------------------- */

static void start_vcpu(struct backend *b, struct vcpu *v, uint8_t *code)
{
	struct sigaction sa = { .sa_handler = on_kick };   /* no SA_RESTART */
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	int size;

	v->b = b;
	memcpy(code + 0x1000, guest_code, sizeof(guest_code));
	if (b->is_kvm) {
		sigemptyset(&sa.sa_mask);
		EXPECT(sigaction(SIGUSR1, &sa, NULL) == 0, "sigaction");
		v->fd = ioctl(b->vm_fd, KVM_CREATE_VCPU, 0);
		size = ioctl(b->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
		EXPECT(v->fd >= 0 && size > 0, "KVM_CREATE_VCPU: %s",
		       strerror(errno));
		v->run = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE,
			      MAP_SHARED, v->fd, 0);
		EXPECT(v->run != MAP_FAILED, "mmap kvm_run: %s", strerror(errno));
		EXPECT(ioctl(v->fd, KVM_GET_SREGS, &sregs) == 0, "KVM_GET_SREGS");
		sregs.cs.base = 0;
		sregs.cs.selector = 0;
		EXPECT(ioctl(v->fd, KVM_SET_SREGS, &sregs) == 0, "KVM_SET_SREGS");
		memset(&regs, 0, sizeof(regs));
		regs.rip = 0x1000;
		regs.rflags = 2;
		EXPECT(ioctl(v->fd, KVM_SET_REGS, &regs) == 0, "KVM_SET_REGS");
	}
	EXPECT(pthread_create(&v->thread, NULL, vcpu_thread, v) == 0,
	       "pthread_create");
	pthread_mutex_lock(&v->lock);
	v->started = 1;
	pthread_mutex_unlock(&v->lock);
}

static void stop_vcpu(struct vcpu *v)
{
	pthread_mutex_lock(&v->lock);
	v->quit = 1;
	if (v->run)
		v->run->immediate_exit = 1;
	pthread_cond_broadcast(&v->cond);
	pthread_mutex_unlock(&v->lock);
	if (v->run)
		pthread_kill(v->thread, SIGUSR1);
	pthread_join(v->thread, NULL);
}

/* ---- the VMM's side -------------------------------------------------------------- */

/* Remap the data page onto host buffer mem: delete slot 1, create it again. */
static void remap(struct backend *b, struct memslot_vm *vm, uint8_t *mem)
{
	struct memslot_region r = region(1, DATA_GPA, SLOT_SIZE, mem, 0);
	struct memslot_txn *txn;

	CHECK(memslot_txn_begin(vm, &txn));
	CHECK(memslot_txn_delete(txn, 0, 1));
	CHECK(memslot_txn_add(txn, &r, NULL));
	if (vcpu.verbose)
		show_canonical(vm, txn);
	commit_or_die(b, txn);
}

/* n remaps; returns how many times quiesce() was called. */
static int remaps(struct backend *b, struct memslot_vm *vm, uint8_t *mem[2],
		  int n, int check)
{
	int before = vcpu.quiesced;

	for (int i = 0; i < n; i++) {
		int next = (i + 1) % 2;  /* mem[0] holds 1, mem[1] holds 2 */

		vcpu.verbose = b->trace = (i == 0 && check);
		b->quiet = !vcpu.verbose;
		if (!vcpu.verbose && i == 1 && check)
			printf("  ... %d more remaps, not shown\n", n - 1);
		remap(b, vm, mem[next]);
		if (check)
			wait_for_value(&vcpu, next + 1);
	}
	vcpu.verbose = b->quiet = 0;
	b->trace = 1;
	return vcpu.quiesced - before;
}

int main(void)
{
	struct memslot_vm_opts opts = {
		.sz = sizeof(opts),
		.quiesce = vcpu_quiesce,
		.resume = vcpu_resume,
		.quiesce_opaque = &vcpu,
	};
	struct memslot_caps caps = { .sz = sizeof(caps) };
	struct memslot_region r;
	struct memslot_txn *txn;
	struct memslot_vm *vm;
	struct backend b;
	uint8_t *code, *mem[2], *extra;
	long reads, holes;
	int n, batch;

	backend_open(&b);
	if (!b.is_kvm) {
		/* Every ioctl under the lock the simulated vCPU reads under. */
		opts.ioctl = locked_ioctl;
		opts.ioctl_opaque = &b;
	}
	vm = backend_vm_new(&b, &opts);
	CHECK(memslot_vm_caps(vm, &caps));
	batch = caps.batch_usable;

	code = guest_memory(SLOT_SIZE);
	mem[0] = guest_memory(SLOT_SIZE);
	mem[1] = guest_memory(SLOT_SIZE);
	extra = guest_memory(SLOT_SIZE);
	mem[0][0] = 1;
	mem[1][0] = 2;

	printf("\nguest memory: code in slot 0 at gpa 0, data in slot 1 at "
	       "gpa 0x10000 (holds 1)\n");
	CHECK(memslot_txn_begin(vm, &txn));
	r = region(0, 0, SLOT_SIZE, code, 0);
	CHECK(memslot_txn_add(txn, &r, NULL));
	r = region(1, DATA_GPA, SLOT_SIZE, mem[0], 0);
	CHECK(memslot_txn_add(txn, &r, NULL));
	commit_or_die(&b, txn);
	check_view(&b, vm);

	start_vcpu(&b, &vcpu, code);
	wait_for_value(&vcpu, 1);
	printf("\n%s is running and reads 1 from gpa 0x10000\n",
	       b.is_kvm ? "the vCPU" : "the simulated vCPU");

	printf("\nremap gpa 0x10000 onto another host buffer (holding 2, "
	       "then 1, ...) %d times:\n", NR_REMAPS);
	n = remaps(&b, vm, mem, NR_REMAPS, 1);
	check_view(&b, vm);
	pthread_mutex_lock(&vcpu.lock);
	reads = vcpu.reads;
	holes = vcpu.holes;
	pthread_mutex_unlock(&vcpu.lock);
	printf("  quiesce() called %d times; guest reads: %ld, of which hit a "
	       "hole: %ld\n", n, reads, holes);
	EXPECT(n == (batch ? 0 : NR_REMAPS), "quiesce called %d times", n);
	EXPECT(holes == 0, "the guest saw a hole %ld times", holes);

	printf("\ncommits that open no hole do not stop the vCPU:\n");
	printf("  add slot 2 at gpa 0x20000\n");
	CHECK(memslot_txn_begin(vm, &txn));
	r = region(2, 0x20000, SLOT_SIZE, extra, 0);
	CHECK(memslot_txn_add(txn, &r, NULL));
	n = vcpu.quiesced;
	commit_or_die(&b, txn);
	printf("  move slot 2 to gpa 0x30000\n");
	CHECK(memslot_txn_begin(vm, &txn));
	CHECK(memslot_txn_move(txn, 0, 2, 0x30000));
	commit_or_die(&b, txn);
	printf("  delete slot 2\n");
	CHECK(memslot_txn_begin(vm, &txn));
	CHECK(memslot_txn_delete(txn, 0, 2));
	commit_or_die(&b, txn);
	check_view(&b, vm);
	EXPECT(vcpu.quiesced == n, "quiesce called for a commit without hole");
	printf("  quiesce() called 0 times\n");

	/* What the callbacks prevent: the same remaps with a quiesce() that
	 * does not stop the vCPU.  How often a real guest falls into the
	 * hole depends on timing; with the batch ioctl there is no hole. */
	printf("\nfor contrast, %d remaps with a quiesce() that does not stop "
	       "the vCPU:\n", NR_REMAPS);
	vcpu.honest = 0;
	pthread_mutex_lock(&vcpu.lock);
	holes = vcpu.holes;
	pthread_mutex_unlock(&vcpu.lock);
	b.trace = 0;
	remaps(&b, vm, mem, NR_REMAPS, 0);
	pthread_mutex_lock(&vcpu.lock);
	holes = vcpu.holes - holes;
	pthread_mutex_unlock(&vcpu.lock);
	vcpu.honest = 1;
	printf("  guest reads that hit the hole: %ld%s\n", holes,
	       b.is_kvm ? " (depends on timing)" :
	       batch ? "" : " (the simulated vCPU reads after each ioctl)");
	/* The simulated vCPU reads after each ioctl: at least once a remap. */
	if (!b.is_kvm)
		EXPECT(batch ? holes == 0 : holes >= NR_REMAPS, "%ld holes",
		       holes);

	stop_vcpu(&vcpu);
	EXPECT(vcpu.error == 0, "KVM_RUN failed: %s", errno_name(vcpu.error));
	check_view(&b, vm);
	memslot_vm_free(vm);
	if (vcpu.fd >= 0)
		close(vcpu.fd);
	backend_close(&b);
	printf("live-guest: OK\n");
	return 0;
}
