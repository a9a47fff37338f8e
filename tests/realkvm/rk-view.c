/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "rk-view.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "kvm-compat.h"
#include "region.h"
#include "rk.h"

#define SMRAM_GPA 0x30000u
#define SMRAM_PAGES 16u
#define MAX_SLOTS 4096

struct memslot_region rk_region(uint16_t as_id, uint16_t slot, uint32_t flags,
				uint64_t gpa, uint64_t size, uint64_t hva)
{
	return test_region(as_id, slot, gpa, size, hva, flags);
}

static void commit_one(struct rk_guest *g, const struct memslot_region *r)
{
	struct memslot_txn *t;
	int e;

	e = memslot_txn_begin(g->vm, &t);
	if (e)
		rk_fatal("txn_begin: %s", rk_errname(e));
	e = memslot_txn_add(t, r, NULL);
	if (e) {
		memslot_txn_abort(t);
		rk_fatal("harness slot as %u id %u: add %s", r->as_id, r->slot, rk_errname(e));
	}
	e = memslot_txn_commit(t, NULL);
	if (e)
		rk_fatal("harness slot as %u id %u: commit %s", r->as_id, r->slot, rk_errname(e));
}

static void guest_bind(struct rk_guest *g, const struct memslot_vm_opts *opts)
{
	struct memslot_vm_opts o;
	int e;

	memset(&o, 0, sizeof(o));
	if (opts)
		o = *opts;
	o.sz = sizeof(o);
	if (!o.mode)
		o.mode = rk_mode();
	e = memslot_vm_new(g->vm_fd, &o, &g->vm);
	if (e)
		rk_fatal("memslot_vm_new (mode %s): %s", rk_mode_name(o.mode), rk_errname(e));
	memset(&g->caps, 0, sizeof(g->caps));
	g->caps.sz = sizeof(g->caps);
	e = memslot_vm_caps(g->vm, &g->caps);
	if (e)
		rk_fatal("memslot_vm_caps: %s", rk_errname(e));
}

void rk_guest_init(struct rk_guest *g, const struct memslot_vm_opts *opts)
{
	struct memslot_region r;
	unsigned p;
	int e;

	memset(g, 0, sizeof(*g));
	g->vm_fd = rk_vm_create();
	guest_bind(g, opts);

	g->arena = rk_map((size_t)RK_ARENA_PAGES * RK_PG);
	for (p = 0; p < RK_ARENA_PAGES; p++)
		g->arena[(size_t)p * RK_PG + RK_MARK_OFF] = (uint8_t)((p * 37 + 11) % 251 + 1);
	g->code = rk_map(RK_PG);
	rk_vcpu_code(g->code, 0);
	g->code_slot = (uint16_t)(g->caps.nr_slots - 1);
	r = rk_region(0, g->code_slot, 0, RK_CODE_GPA, RK_PG, (uintptr_t)g->code);
	commit_one(g, &r);
	e = rk_vcpu_create(g->vm_fd, 0, RK_CODE_GPA, 0, &g->cpu);
	if (e)
		rk_fatal("vcpu: %s", g->cpu.err);

	g->have_smm = g->caps.nr_as >= 2 && rk_cap(rk_kvm(), KVM_CAP_X86_SMM) > 0;
	if (g->have_smm) {
		g->smram = rk_map((size_t)SMRAM_PAGES * RK_PG);
		rk_vcpu_code(g->smram + (RK_SMM_HANDLER - SMRAM_GPA), 1);
		g->smram_slot = (uint16_t)(g->caps.nr_slots - 1);
		r = rk_region(1, g->smram_slot, 0, SMRAM_GPA, SMRAM_PAGES * RK_PG,
			      (uintptr_t)g->smram);
		commit_one(g, &r);
		e = rk_vcpu_create(g->vm_fd, 1, RK_CODE_GPA, 1, &g->smm);
		if (e)
			rk_fatal("smm vcpu: %s", g->smm.err);
	}
}

void rk_guest_fini(struct rk_guest *g)
{
	rk_vcpu_destroy(&g->cpu);
	if (g->have_smm)
		rk_vcpu_destroy(&g->smm);
	memslot_vm_free(g->vm);
	close(g->vm_fd);
}

static struct memslot_region rebind_snap[MAX_SLOTS];

void rk_guest_rebind(struct rk_guest *g, const struct memslot_vm_opts *opts)
{
	int n = rk_view_snapshot(g->vm, rebind_snap, MAX_SLOTS), i, e;

	if (n < 0 || n > MAX_SLOTS)
		rk_fatal("rebind: view snapshot %d", n);
	memslot_vm_free(g->vm);
	g->vm = NULL;
	guest_bind(g, opts);
	for (i = 0; i < n; i++) {
		rebind_snap[i].sz = sizeof(rebind_snap[i]);
		e = memslot_vm_adopt(g->vm, &rebind_snap[i]);
		if (e)
			rk_fatal("rebind: adopt as %u id %u: %s", rebind_snap[i].as_id,
				 rebind_snap[i].slot, rk_errname(e));
	}
}

struct snap {
	struct memslot_region *r;
	int n, max;
};

static int snap_fn(const struct memslot_region *r, void *opaque)
{
	struct snap *s = opaque;

	if (s->n < s->max)
		s->r[s->n] = *r;
	s->n++;
	return 0;
}

int rk_view_snapshot(const struct memslot_vm *vm, struct memslot_region *out, int max)
{
	struct snap s = { out, 0, max };
	int e = memslot_vm_foreach(vm, snap_fn, &s);

	if (e)
		return e < 0 ? e : -EIO;
	return s.n;
}

static int same(const struct memslot_region *a, const struct memslot_region *b)
{
	return a->as_id == b->as_id && a->slot == b->slot && a->flags == b->flags &&
	       a->guest_phys_addr == b->guest_phys_addr &&
	       a->memory_size == b->memory_size && a->userspace_addr == b->userspace_addr;
}

int rk_view_equal(const struct memslot_region *a, int na,
		  const struct memslot_region *b, int nb)
{
	int i;

	if (na != nb)
		return 0;
	for (i = 0; i < na; i++)
		if (!same(&a[i], &b[i]))
			return 0;
	return 1;
}

void rk_view_print(const char *prefix, const struct memslot_region *r, int n)
{
	int i;

	for (i = 0; i < n; i++)
		printf("%sas %u id %u flags 0x%x gpa 0x%llx size 0x%llx hva 0x%llx\n",
		       prefix, r[i].as_id, r[i].slot, r[i].flags,
		       (unsigned long long)r[i].guest_phys_addr,
		       (unsigned long long)r[i].memory_size,
		       (unsigned long long)r[i].userspace_addr);
}

static const struct memslot_region *lookup(const struct memslot_region *r, int n,
					   uint16_t as, uint64_t gpa)
{
	int i;

	for (i = 0; i < n; i++)
		if (r[i].as_id == as && gpa >= r[i].guest_phys_addr &&
		    gpa - r[i].guest_phys_addr < r[i].memory_size)
			return &r[i];
	return NULL;
}

static struct memslot_region view[MAX_SLOTS];

int rk_guest_check(struct rk_guest *g, const char *label)
{
	int n = rk_view_snapshot(g->vm, view, MAX_SLOTS), bad_total = 0;
	unsigned as, p;

	if (!RK_CHECK(n >= 0 && n <= MAX_SLOTS && n == memslot_vm_count(g->vm),
		      "%s: view snapshot %d, count %d", label, n, memslot_vm_count(g->vm)))
		return 1;
	for (as = 0; as < (g->have_smm ? 2u : 1u); as++) {
		struct rk_vcpu *v = as ? &g->smm : &g->cpu;
		int bad = 0, mapped = 0;

		for (p = 0; p < RK_WIN_PAGES; p++) {
			uint64_t gpa = RK_WIN_GPA + (uint64_t)p * RK_PG + RK_MARK_OFF;
			const struct memslot_region *s = lookup(view, n, (uint16_t)as, gpa);
			uint8_t val = 0, want = 0;
			int r = rk_vcpu_read(v, (uint32_t)gpa, &val), ok;

			if (s)
				want = *(volatile uint8_t *)(uintptr_t)(s->userspace_addr +
						(gpa - s->guest_phys_addr));
			if (r < 0)
				ok = 0;
			else if (s)
				ok = r == RK_MAPPED && val == want;
			else
				ok = r == RK_MMIO;
			mapped += !!s;
			if (!ok && bad++ < 4)
				printf("  %s: as %u gpa 0x%llx: guest %s 0x%02x, view %s 0x%02x%s%s\n",
				       label, as, (unsigned long long)gpa,
				       r == RK_MAPPED ? "mapped" : r == RK_MMIO ? "MMIO" : "error",
				       val, s ? "mapped" : "unmapped", want,
				       r < 0 ? ": " : "", r < 0 ? v->err : "");
			if (r < 0)
				break;
		}
		RK_CHECK(bad == 0, "%s: as %u: guest sees the view (%u pages, %d mapped, %d differ)",
			 label, as, RK_WIN_PAGES, mapped, bad);
		bad_total += bad;
	}
	if (!g->have_smm) {
		static int said;

		rk_skip(1, said++ ? NULL : "as 1: no SMM vCPU to look at address space 1 "
			"(once per guest check, reported once)");
	}
	return bad_total;
}

int rk_guest_check_write(struct rk_guest *g, uint64_t gpa, const char *label)
{
	int n = rk_view_snapshot(g->vm, view, MAX_SLOTS), r;
	const struct memslot_region *s;
	volatile uint8_t *host = NULL;

	gpa = (gpa & ~(uint64_t)(RK_PG - 1)) + RK_WRITE_OFF;
	s = n >= 0 ? lookup(view, n, 0, gpa) : NULL;
	if (s) {
		host = (volatile uint8_t *)(uintptr_t)(s->userspace_addr + (gpa - s->guest_phys_addr));
		*host = 0;
	}
	r = rk_vcpu_write(&g->cpu, (uint32_t)gpa);
	if (s && !(s->flags & MEMSLOT_READONLY))
		return RK_CHECK(r == RK_MAPPED && *host == RK_WRITE_VALUE,
				"%s: write 0x%llx to a writable slot: %s, host byte 0x%02x %s",
				label, (unsigned long long)gpa,
				r == RK_MAPPED ? "mapped" : "MMIO", *host, r < 0 ? g->cpu.err : "");
	return RK_CHECK(r == RK_MMIO && (!host || *host == 0),
			"%s: write 0x%llx to a %s page: %s %s", label,
			(unsigned long long)gpa, s ? "READONLY" : "unmapped",
			r == RK_MAPPED ? "mapped" : "MMIO", r < 0 ? g->cpu.err : "");
}
