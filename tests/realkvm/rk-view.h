/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The library's view against what a running guest sees.
 *
 * struct rk_guest owns a VM, a memslot_vm bound to it (rk_mode(): SEQUENTIAL
 * unless RK_MODE says otherwise), the
 * page-reader vCPUs (rk-vcpu.h: one normal, one in SMM for address space
 * 1) and an arena of host memory whose pages carry marker bytes.
 * rk_guest_check() walks a window of guest physical pages in each address
 * space with the vCPUs and compares every page with the library's view
 * (memslot_vm_foreach): a page in a slot must read the byte of the host
 * page behind it, any other page must give KVM_EXIT_MMIO.
 */
#ifndef RK_VIEW_H
#define RK_VIEW_H

#include <libmemslot/libmemslot.h>
#include <stdint.h>

#include "rk-vcpu.h"

#define RK_PG 4096u
#define RK_ARENA_PAGES 512u
#define RK_MARK_OFF 0x42u    /* offset of the marker byte in a page */
#define RK_WRITE_OFF 0x80u   /* where write probes land */
#define RK_WIN_GPA 0x100000u /* the checked window: RK_WIN_PAGES from here */
#define RK_WIN_PAGES 96u
#define RK_CODE_GPA 0xf0000000u

struct rk_guest {
	int vm_fd;
	struct memslot_vm *vm;
	struct memslot_caps caps;
	uint8_t *arena;          /* RK_ARENA_PAGES pages with markers */
	uint8_t *code;           /* code page at RK_CODE_GPA (as 0) */
	uint8_t *smram;          /* 16 pages at 0x30000 in as 1 */
	struct rk_vcpu cpu;
	struct rk_vcpu smm;
	int have_smm;
	uint16_t code_slot, smram_slot;
};

/*
 * opts: memslot_vm_opts for the vm; may be NULL.  The mode is opts->mode
 * when that is not 0 (MEMSLOT_MODE_AUTO), else rk_mode().  The harness's own slots (code page, SMRAM) are created through
 * the library with the highest ids, so the view holds them too.
 * Exits through rk_fatal() on setup errors.
 */
void rk_guest_init(struct rk_guest *g, const struct memslot_vm_opts *opts);
void rk_guest_fini(struct rk_guest *g);
/*
 * Replace g->vm by a new memslot_vm on the same VM fd with opts (mode
 * chosen as by rk_guest_init()), adopting every slot of the old view
 * (memslot_vm_adopt(): no ioctl).  The VM, its vCPUs and the kernel's
 * table stay as they are.  Exits through rk_fatal() on errors.
 */
void rk_guest_rebind(struct rk_guest *g, const struct memslot_vm_opts *opts);

/* Host address of arena page p. */
static inline uint64_t rk_hva(const struct rk_guest *g, unsigned p)
{
	return (uint64_t)(uintptr_t)(g->arena + (uint64_t)p * RK_PG);
}

/* A region for memslot_txn_add(). */
struct memslot_region rk_region(uint16_t as_id, uint16_t slot, uint32_t flags,
				uint64_t gpa, uint64_t size, uint64_t hva);

/*
 * Compare the guest's view of the window in as 0 (and as 1 with SMM) with
 * the library's view; one check per address space.  Returns the number of
 * pages that differ.
 */
int rk_guest_check(struct rk_guest *g, const char *label);

/*
 * Write probe at gpa (as 0): must land in host memory when the view maps
 * gpa with a writable slot, must give MMIO otherwise (READONLY or none).
 * One check.
 */
int rk_guest_check_write(struct rk_guest *g, uint64_t gpa, const char *label);

/* Snapshot of the view: up to max slots into out; returns the count. */
int rk_view_snapshot(const struct memslot_vm *vm, struct memslot_region *out, int max);
/* Do two snapshots describe the same table? */
int rk_view_equal(const struct memslot_region *a, int na,
		  const struct memslot_region *b, int nb);
void rk_view_print(const char *prefix, const struct memslot_region *r, int n);

#endif
