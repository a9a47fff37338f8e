/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Differential random test: the library's verdict against the real
 * kernel's, errno included, for RK_DIFF_CHANGES (default 20000) random
 * requests drawn around the edges on purpose.
 *
 * For each request r on one VM:
 *   lib    = memslot_txn_add(r) on a fresh transaction (the vm's view is the
 *            kernel's table, mode SEQUENTIAL);
 *   kernel = the same request as a raw ioctl (REGION2 when the library
 *            uses it, else REGION) on the VM;
 *   they must be equal.  When both accept, the kernel already applied r;
 *   the transaction is then committed through an ioctl hook that answers 0
 *   without calling the kernel, so the view follows the kernel's table.
 *   Every RESET_EVERY requests the kernel's table is checked against the
 *   view with harmless probes and a fresh VM starts (short reproducers).
 *
 * A mismatch prints a minimal reproducer: the table before the request (as
 * creates) and the request, replayed on a fresh VM to confirm it.
 *
 * Unpredictable by design (documented by the library): a create or move
 * ending beyond the host's physical address width (x86 arch check K), and
 * on a VM with guest_memfd (6.18+ default VMs) a GUEST_MEMFD request that
 * passes every predicted rule: the kernel then checks that guest_memfd is
 * a guest_memfd file (H, last in the kernel's order; the draw passes fd 0,
 * which is not one).  Such draws are counted as excluded, not as changes.
 *
 * Uses only the public API, <linux/kvm.h> and lib/kvm-compat.h.
 */
#include <errno.h>
#include <libmemslot/libmemslot.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "kvm-compat.h"
#include "rk.h"

#define PG 4096ull
#define ARENA_PAGES 256
#define RESET_EVERY 400
#define MAX_VIEW 1024
#define WIN 0x100000ull          /* most gpas fall in [WIN, WIN + 96 pages) */

struct rq {
	uint16_t as;
	uint32_t id;             /* may exceed 0xfffe: then raw only... never drawn */
	uint32_t flags;
	uint64_t gpa, size, hva;
};

static uint64_t rng_state;
static uint64_t rnd(void)
{
	/* splitmix64 */
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}
static unsigned rn(unsigned n) { return (unsigned)(rnd() % n); }

static uint8_t *arena;
static struct memslot_caps caps;
static int v2;
static unsigned phys_bits;

/* The hook: pass (probe, real commits) or shadow (answer 0, no kernel). */
static int shadow;
static long shadow_calls;
static int hook(void *opaque, int fd, unsigned long req, void *arg)
{
	int r;

	(void)opaque;
	if (shadow && (req == KVM_SET_USER_MEMORY_REGION || req == KVM_SET_USER_MEMORY_REGION2)) {
		shadow_calls++;
		return 0;
	}
	r = ioctl(fd, req, arg);
	return r < 0 ? -errno : r;
}

struct world {
	int fd;
	struct memslot_vm *vm;
};

static void world_new(struct world *w)
{
	struct memslot_vm_opts o = { .sz = sizeof(o), .mode = MEMSLOT_MODE_SEQUENTIAL,
				     .ioctl = hook };
	int e;

	w->fd = rk_vm_create();
	shadow = 0;
	if ((e = memslot_vm_new(w->fd, &o, &w->vm)))
		rk_fatal("memslot_vm_new: %s", rk_errname(e));
}

static void world_free(struct world *w)
{
	memslot_vm_free(w->vm);
	close(w->fd);
}

static struct memslot_region view[MAX_VIEW];
static int nview;

static int snap_fn(const struct memslot_region *r, void *o)
{
	(void)o;
	if (nview < MAX_VIEW)
		view[nview] = *r;
	nview++;
	return 0;
}

static void snapshot(struct world *w)
{
	nview = 0;
	memslot_vm_foreach(w->vm, snap_fn, NULL);
	if (nview > MAX_VIEW)
		nview = MAX_VIEW;
}

static int raw(int fd, const struct rq *q)
{
	return rk_set_region(fd, v2, ((uint32_t)q->as << 16) | q->id, q->flags, q->gpa,
			     q->size, q->hva);
}

static struct memslot_region reg(const struct rq *q)
{
	struct memslot_region r;

	memset(&r, 0, sizeof(r));
	r.sz = sizeof(r);
	r.as_id = q->as;
	r.slot = (uint16_t)q->id;
	r.flags = q->flags;
	r.guest_phys_addr = q->gpa;
	r.memory_size = q->size;
	r.userspace_addr = q->hva;
	return r;
}

static int lib_verdict(struct world *w, const struct rq *q, struct memslot_txn **tp)
{
	struct memslot_region r = reg(q);
	int e = memslot_txn_begin(w->vm, tp);

	if (e)
		rk_fatal("txn_begin: %s", rk_errname(e));
	return memslot_txn_add(*tp, &r, NULL);
}

static void print_rq(const char *p, const struct rq *q)
{
	printf("%sas %u id %u flags 0x%x gpa 0x%llx size 0x%llx hva 0x%llx\n", p, q->as,
	       q->id, q->flags, (unsigned long long)q->gpa, (unsigned long long)q->size,
	       (unsigned long long)q->hva);
}

/* ---- the generator ------------------------------------------------------ */

#define N_DELETED 16
static struct rq deleted[N_DELETED];
static unsigned n_deleted;

static uint32_t draw_id(void)
{
	static const int32_t rel[] = { -1, -2, 0, 1 };  /* relative to nr_slots */

	switch (rn(10)) {
	case 0:
		return (uint32_t)((int32_t)caps.nr_slots + rel[rn(4)]);
	case 1:
		return rn(2) ? 32767 : 32766;
	default:
		return rn(8);
	}
}

static uint16_t draw_as(void)
{
	unsigned x = rn(20);

	return x < 13 ? 0 : x < 19 ? 1 : (rn(2) ? 2 : 0x7fff);
}

static uint32_t draw_flags(void)
{
	static const uint32_t odd[] = { MEMSLOT_GUEST_MEMFD, 0x8, 1u << 16, 1u << 31,
					MEMSLOT_GUEST_MEMFD | MEMSLOT_READONLY };
	unsigned x = rn(40);

	if (x < 24)
		return 0;
	if (x < 30)
		return MEMSLOT_LOG_DIRTY_PAGES;
	if (x < 35)
		return MEMSLOT_READONLY;
	if (x < 38)
		return MEMSLOT_LOG_DIRTY_PAGES | MEMSLOT_READONLY;
	return odd[rn(5)];
}

static uint64_t draw_size(void)
{
	switch (rn(30)) {
	case 0: return PG + 1 + rn(PG - 1);            /* unaligned */
	case 1: return (1ull << 31) * PG;              /* one page over D9 */
	case 2: return ((1ull << 31) - 1) * PG;        /* the largest slot */
	case 3: return 0;
	case 4: return 2048;
	default: return (1 + rn(16)) * PG;
	}
}

static uint64_t draw_gpa(uint64_t size)
{
	switch (rn(40)) {
	case 0: return WIN + rn(64) * PG + 1 + rn(PG - 1);       /* unaligned */
	case 1: return 0xfffffffffffff000ull - rn(2) * PG;       /* wraps */
	case 2: return (1ull << phys_bits) - size;              /* ends at the limit */
	case 3: return 0;
	default: return WIN + rn(96) * PG;
	}
}

static uint64_t draw_hva(uint64_t size)
{
	uint64_t base = (uint64_t)(uintptr_t)arena;

	switch (rn(64)) {
	case 0: return base + rn(64) * PG + 1 + rn(PG - 1);      /* unaligned */
	case 1: return 0;
	case 2: return 0x8000000000000000ull;                   /* kernel half */
	case 3: return (1ull << 47) - size;                     /* ends at 2^47 */
	case 4: return (1ull << 47) - size + PG;                /* one page past */
	case 5: return (1ull << 57) | (base & ((1ull << 47) - 1)); /* tagged */
	case 6: return 0xfffffffffffff000ull;                   /* wraps */
	case 7: return 1ull << 40;                              /* far, unmapped */
	case 8: return (1ull << 56) - PG - size;                /* ends at 2^56 - page (LA57 TASK_SIZE_MAX) */
	case 9: return (1ull << 56) - size;                     /* ends at 2^56 */
	case 10: return (1ull << 47) - PG - size;               /* ends at 2^47 - page (4-level TASK_SIZE_MAX) */
	default: return base + rn(ARENA_PAGES - 16) * PG;
	}
}

static void draw(struct rq *q)
{
	int pick = nview > 0 ? (int)rn((unsigned)nview) : -1;
	const struct memslot_region *s = pick >= 0 ? &view[pick] : NULL;
	unsigned kind = rn(100);

	/* Leave the harness-free VM's internal-ish ids alone: all ids are ours. */
	if (s && kind < 45) {
		q->as = s->as_id;
		q->id = s->slot;
		q->flags = s->flags;
		q->gpa = s->guest_phys_addr;
		q->size = s->memory_size;
		q->hva = s->userspace_addr;
		switch (kind % 15) {
		case 0: break;                                          /* identical */
		case 1: case 2:                                         /* delete */
			if (rn(3) == 0)
				q->gpa = draw_gpa(PG), q->hva = draw_hva(PG), q->flags = draw_flags();
			q->size = 0;
			break;
		case 3: q->gpa = draw_gpa(q->size); break;              /* move */
		case 4: q->gpa = q->gpa + (rn(2) ? PG : -PG); break;    /* move by one page */
		case 5: q->flags ^= MEMSLOT_LOG_DIRTY_PAGES; break;     /* dirty-log toggle */
		case 6: q->flags ^= MEMSLOT_READONLY; break;            /* READONLY toggle */
		case 7: q->size += rn(2) ? PG : -PG; break;             /* resize */
		case 8: q->hva += PG; break;                            /* other hva */
		case 9: q->flags = draw_flags(); break;
		case 10:                                                /* move and toggle */
			q->gpa = WIN + rn(96) * PG;
			q->flags ^= MEMSLOT_LOG_DIRTY_PAGES;
			break;
		case 11: q->as ^= 1; q->size = rn(2) ? 0 : q->size; break; /* other as */
		case 12: q->gpa += 1; break;
		default: q->size = 0; break;
		}
		return;
	}
	if (s && kind < 65) {
		/* a new slot right at an existing one: overlap by one page or adjacency */
		q->as = rn(5) ? s->as_id : (uint16_t)(s->as_id ^ 1);
		q->id = draw_id();
		q->flags = draw_flags();
		q->size = (1 + rn(8)) * PG;
		q->hva = draw_hva(q->size);
		switch (rn(4)) {
		case 0: q->gpa = s->guest_phys_addr + s->memory_size; break;      /* adjacent after */
		case 1: q->gpa = s->guest_phys_addr - q->size; break;             /* adjacent before */
		case 2: q->gpa = s->guest_phys_addr + s->memory_size - PG; break; /* last page */
		default: q->gpa = s->guest_phys_addr - q->size + PG; break;       /* first page */
		}
		return;
	}
	if (n_deleted && kind < 75) {
		/* onto a range deleted before: create or move there */
		const struct rq *d = &deleted[rn(n_deleted < N_DELETED ? n_deleted : N_DELETED)];

		*q = *d;
		if (s && rn(2)) {
			q->as = s->as_id;
			q->id = s->slot;
			q->flags = s->flags;
			q->size = s->memory_size;
			q->hva = s->userspace_addr;
		} else {
			q->id = draw_id();
		}
		return;
	}
	q->as = draw_as();
	q->id = draw_id();
	q->flags = draw_flags();
	q->size = draw_size();
	q->gpa = draw_gpa(q->size ? q->size : PG);
	q->hva = draw_hva(q->size);
}

/* ---- checks --------------------------------------------------------------- */

static long changes, mismatches, excluded, excluded_gmem, reproduced, shadow_fail;
static long n_eexist, n_einval, n_other;

/* The kernel's table equals the view: harmless probes for each slot/id. */
static void check_table(struct world *w)
{
	int i, bad = 0;
	uint32_t id;
	uint16_t as;

	snapshot(w);
	for (i = 0; i < nview; i++) {
		struct rq q = { view[i].as_id, view[i].slot, view[i].flags,
				view[i].guest_phys_addr, view[i].memory_size,
				view[i].userspace_addr };
		int a, b;

		q.size += PG;                     /* a resize: EINVAL iff the slot exists */
		a = raw(w->fd, &q);
		q.size -= PG;                     /* identical: 0 iff equal */
		b = raw(w->fd, &q);
		if (a != -EINVAL || b != 0) {
			if (bad++ < 4)
				print_rq("  table differs: view has ", &q);
		}
	}
	/* ids the generator uses that the view says are free */
	for (as = 0; as < 2; as++) {
		for (id = 0; id < 8; id++) {
			struct memslot_region r = { .sz = sizeof(r) };
			struct rq q = { as, id, 0, WIN, 0, (uint64_t)(uintptr_t)arena };
			int a;

			if (memslot_vm_find(w->vm, as, (uint16_t)id, &r) == 0)
				continue;
			a = raw(w->fd, &q);       /* delete of a free id: EINVAL */
			if (a != -EINVAL && bad++ < 4)
				printf("  table differs: kernel has as %u id %u\n", as, id);
		}
	}
	RK_CHECK(bad == 0, "kernel table equals the view (%d slots, %d differ)", nview, bad);
}

/* Replay: the slots of keep[] created on a fresh VM, then q.  1 if the
 * verdicts are again lib and kern. */
static int replay(const struct memslot_region *tab, const int *keep, int n,
		  const struct rq *q, int lib, int kern)
{
	struct world w;
	struct memslot_txn *t;
	int i, ok = 1, l2, k2;

	world_new(&w);
	for (i = 0; i < n; i++) {
		struct memslot_region r = tab[i];

		if (!keep[i])
			continue;
		if (memslot_txn_begin(w.vm, &t))
			ok = 0;
		else if (memslot_txn_add(t, &r, NULL))
			memslot_txn_abort(t), ok = 0;
		else if (memslot_txn_commit(t, NULL))
			ok = 0;
	}
	l2 = lib_verdict(&w, q, &t);
	memslot_txn_abort(t);
	k2 = raw(w.fd, q);
	world_free(&w);
	return ok && l2 == lib && k2 == kern;
}

static void reproduce(const struct rq *q, int lib, int kern)
{
	static struct memslot_region tab[MAX_VIEW];
	static int keep[MAX_VIEW];
	int i, n = nview, ok;

	memcpy(tab, view, sizeof(view[0]) * (size_t)n);
	for (i = 0; i < n; i++)
		keep[i] = 1;
	ok = replay(tab, keep, n, q, lib, kern);
	if (ok) {
		/* minimise: drop every slot the mismatch does not need */
		for (i = 0; i < n; i++) {
			keep[i] = 0;
			if (!replay(tab, keep, n, q, lib, kern))
				keep[i] = 1;
		}
		reproduced++;
	}
	printf("REPRODUCER (%s on a fresh VM): with %s, create\n",
	       ok ? "replayed and minimised" : "NOT reproduced",
	       v2 ? "KVM_SET_USER_MEMORY_REGION2" : "KVM_SET_USER_MEMORY_REGION");
	for (i = 0; i < n; i++)
		if (keep[i])
			printf("  as %u id %u flags 0x%x gpa 0x%llx size 0x%llx hva 0x%llx\n",
			       tab[i].as_id, tab[i].slot, tab[i].flags,
			       (unsigned long long)tab[i].guest_phys_addr,
			       (unsigned long long)tab[i].memory_size,
			       (unsigned long long)tab[i].userspace_addr);
	print_rq("  then request: ", q);
	printf("  library says %s, kernel says %s\n", rk_errname(lib), rk_errname(kern));
}

static int beyond_phys(const struct rq *q)
{
	return q->size && q->gpa + q->size > (1ull << phys_bits);
}

static unsigned cpuid_phys_bits(void)
{
	unsigned a = 0x80000008, b, c = 0, d;
	char npt = 'Y';
	FILE *f;

	__asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
	f = fopen("/sys/module/kvm_amd/parameters/npt", "r");
	if (f) {
		if (fscanf(f, " %c", &npt) != 1)
			npt = 'Y';
		fclose(f);
	}
	return (npt == 'Y' || npt == '1') ? (a & 0xff) : 52;
}

int main(void)
{
	struct utsname u;
	struct world w;
	unsigned long seed, n, i;
	double t0;
	long acc = 0, rej = 0, since_reset = 0;
	int gmem;

	uname(&u);
	seed = rk_env_ulong("RK_SEED", 1);
	n = rk_env_ulong("RK_DIFF_CHANGES", 20000);
	rng_state = seed;
	arena = rk_map(ARENA_PAGES * PG);
	phys_bits = cpuid_phys_bits();
	world_new(&w);
	caps.sz = sizeof(caps);
	if (memslot_vm_caps(w.vm, &caps))
		rk_fatal("memslot_vm_caps");
	v2 = caps.user_memory2 != 0;
	gmem = rk_cap(w.fd, KVM_CAP_GUEST_MEMFD) > 0;
	printf("diff: kernel %s seed %lu changes %lu ioctl %s phys_bits %u\n", u.release, seed,
	       n, v2 ? "REGION2" : "REGION", phys_bits);
	t0 = rk_now();
	for (i = 0; changes < (long)n; i++) {
		struct memslot_txn *t;
		struct rq q;
		int lib, kern;

		if (since_reset >= RESET_EVERY) {
			check_table(&w);
			world_free(&w);
			world_new(&w);
			since_reset = 0;
		}
		snapshot(&w);
		memset(&q, 0, sizeof(q));
		draw(&q);
		if (q.id > 0xfffe)
			continue;
		lib = lib_verdict(&w, &q, &t);
		kern = raw(w.fd, &q);
		since_reset++;
		if (lib == 0 && kern == -EINVAL && beyond_phys(&q)) {
			/* K: the host's physical address width; not predicted */
			memslot_txn_abort(t);
			excluded++;
			continue;
		}
		if (lib == 0 && (kern == -EINVAL || kern == -EBADF) && gmem &&
		    (q.flags & MEMSLOT_GUEST_MEMFD)) {
			/* H: the guest_memfd file itself; not predicted */
			memslot_txn_abort(t);
			excluded_gmem++;
			continue;
		}
		changes++;
		n_eexist += kern == -EEXIST;
		n_einval += kern == -EINVAL;
		n_other += kern != 0 && kern != -EINVAL && kern != -EEXIST;
		if (lib != kern) {
			mismatches++;
			printf("MISMATCH #%ld at request %lu (seed %lu): library %s, kernel %s\n",
			       mismatches, i, seed, rk_errname(lib), rk_errname(kern));
			memslot_txn_abort(t);
			if (mismatches <= 3)
				reproduce(&q, lib, kern);
			else
				print_rq("  request: ", &q);
			/* the view and the kernel may now differ: start over */
			world_free(&w);
			world_new(&w);
			since_reset = 0;
			continue;
		}
		if (lib == 0) {
			struct memslot_error err = { .sz = sizeof(err) };
			int e;

			acc++;
			shadow = 1;
			e = memslot_txn_commit(t, &err);
			shadow = 0;
			if (e) {
				shadow_fail++;
				printf("shadow commit of an accepted request: %s\n", rk_errname(e));
				world_free(&w);
				world_new(&w);
				since_reset = 0;
			}
			if (q.size == 0) {
				/* remember the deleted range for "moves onto deleted ranges" */
				int j;

				for (j = 0; j < nview; j++)
					if (view[j].as_id == q.as && view[j].slot == q.id) {
						struct rq d = { q.as, q.id, view[j].flags,
								view[j].guest_phys_addr,
								view[j].memory_size,
								view[j].userspace_addr };
						deleted[n_deleted++ % N_DELETED] = d;
					}
			}
		} else {
			rej++;
			memslot_txn_abort(t);
		}
	}
	check_table(&w);
	world_free(&w);
	RK_CHECK(mismatches == 0, "differential: %ld mismatches in %ld changes", mismatches, changes);
	RK_CHECK(shadow_fail == 0, "the view followed every accepted request (%ld commits failed)",
		 shadow_fail);
	RK_CHECK(n_eexist > (long)n / 100 && n_einval > (long)n / 10,
		 "the draw reaches overlaps (%ld EEXIST) and sanity rules (%ld EINVAL)",
		 n_eexist, n_einval);
	RK_CHECK(acc > (long)n / 10 && rej > (long)n / 10,
		 "the draw mixes accepted (%ld) and rejected (%ld) requests", acc, rej);
	printf("diff: kernel verdicts: %ld EEXIST, %ld EINVAL, %ld other errors\n", n_eexist,
	       n_einval, n_other);
	printf("diff: %ld changes (%ld accepted, %ld rejected), %ld excluded (beyond "
	       "MAXPHYADDR), %ld excluded (guest_memfd file check%s), %ld mismatches, "
	       "%ld reproduced, %.1f s\n", changes, acc, rej, excluded, excluded_gmem,
	       gmem ? "" : ": no guest_memfd on this VM", mismatches, reproduced,
	       rk_now() - t0);
	printf("RK-DIFF changes=%ld mismatches=%ld\n", changes, mismatches);
	return rk_finish("diff");
}
