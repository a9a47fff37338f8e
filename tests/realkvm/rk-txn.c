/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Transactions and rollback on the real kernel, checked through a running
 * guest (rk-view.h): after every commit, a vCPU reads every page of a
 * window in address space 0, and an SMM vCPU in address space 1; each page
 * must be what the library's view says (the byte of the host page behind
 * it, or KVM_EXIT_MMIO).
 *
 * 1. SEQUENTIAL transactions: create, resize (delete + create of the same
 *    id), split, merge, move, move onto a range deleted in the same
 *    transaction, dirty logging started and stopped on many slots at once
 *    (KVM_GET_DIRTY_LOG must agree), READONLY toggle (guest writes must
 *    exit), address space 1 (SMM), changes that cancel out.
 * 2. Rollback: through the ioctl hook, the k-th memslot ioctl of a
 *    7-change transaction fails while the others reach the kernel, for
 *    every k; the view and the guest must then show the table as before.
 *
 * On a kernel with one address space (no SMM: KVM_CAP_MULTI_ADDRESS_SPACE
 * below 2), the address-space-1 changes are left out and their checks
 * counted as skipped; everything in address space 0 runs the same.
 *
 * With RK_MODE=batch (a kernel carrying kernel/0001-*.patch), the vm is in
 * MEMSLOT_MODE_BATCH: caps.batch must be 1, the transactions of 1. run the
 * same and every commit must issue exactly one ioctl (the list).  2. is
 * then about a list the kernel refuses after the library validated it
 * (a create beyond the host's physical address width, which the library
 * does not predict, and every allocation step failed in turn through the
 * patch's test knob kvm.memslot_list_fail_nth): the commit returns the
 * kernel's errno with MEMSLOT_ERROR_VIEW_UNCERTAIN, one ioctl issued and no
 * rollback; the view is the one before the commit and so is what the guest
 * sees (this kernel applies nothing of a failed list); batch_usable is 0
 * and the next BATCH commit is -EOPNOTSUPP with nothing issued.  A new
 * memslot_vm adopting the table (rk_guest_rebind()) then goes on.
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
#include "rk-view.h"

#define PG RK_PG
#define LD MEMSLOT_LOG_DIRTY_PAGES
#define RO MEMSLOT_READONLY

static struct rk_guest g;
static int two_as;   /* the kernel has address space 1 (rk_kernel_nr_as) */
static int batch;    /* RK_MODE=batch: MEMSLOT_MODE_BATCH */

/* Window page wp, npages pages, backed from arena page ap. */
static int add(struct memslot_txn *t, uint16_t as, uint16_t id, uint32_t flags,
	       unsigned wp, unsigned npages, unsigned ap)
{
	struct memslot_region r = rk_region(as, id, flags, RK_WIN_GPA + (uint64_t)wp * PG,
					    (uint64_t)npages * PG, rk_hva(&g, ap));
	int e = memslot_txn_add(t, &r, NULL);

	RK_CHECK(e == 0, "add as %u id %u at window page %u: %s", as, id, wp, rk_errname(e));
	return e;
}

static struct memslot_txn *begin(void)
{
	struct memslot_txn *t;
	int e = memslot_txn_begin(g.vm, &t);

	if (e)
		rk_fatal("txn_begin: %s", rk_errname(e));
	return t;
}

static int commit(struct memslot_txn *t, const char *label)
{
	struct memslot_error err = { .sz = sizeof(err) };
	int e = memslot_txn_commit(t, &err);

	RK_CHECK(e == 0, "%s: commit %s (change %d)", label, rk_errname(e), err.change);
	if (batch)
		RK_CHECK(err.issued == 1, "%s: a BATCH commit issues one ioctl (%u)", label,
			 err.issued);
	rk_guest_check(&g, label);
	return e;
}

static void expect_slot(uint16_t as, uint16_t id, unsigned wp, unsigned npages,
			uint32_t flags, const char *label)
{
	struct memslot_region r = { .sz = sizeof(r) };
	int e = memslot_vm_find(g.vm, as, id, &r);

	RK_CHECK(e == 0 && r.guest_phys_addr == RK_WIN_GPA + (uint64_t)wp * PG &&
		 r.memory_size == (uint64_t)npages * PG && r.flags == flags,
		 "%s: view has as %u id %u at page %u, %u pages, flags 0x%x (find %s)",
		 label, as, id, wp, npages, flags, rk_errname(e));
}

static int dirty_log(uint16_t as, uint16_t id, uint64_t *bits)
{
	struct kvm_dirty_log d;

	memset(&d, 0, sizeof(d));
	d.slot = ((uint32_t)as << 16) | id;
	d.dirty_bitmap = bits;
	*bits = 0;
	return ioctl(g.vm_fd, KVM_GET_DIRTY_LOG, &d) < 0 ? -errno : 0;
}

static void test_transactions(void)
{
	struct memslot_txn *t;
	uint64_t bits;
	int i, e, bad;

	/* create */
	t = begin();
	add(t, 0, 1, 0, 0, 16, 0);
	add(t, 0, 2, 0, 32, 8, 100);
	commit(t, "create");

	/* resize: delete + create of the same id, bigger then smaller */
	t = begin();
	RK_CHECK(memslot_txn_delete(t, 0, 1) == 0, "delete 1");
	add(t, 0, 1, 0, 0, 24, 0);
	commit(t, "resize to 24 pages");
	expect_slot(0, 1, 0, 24, 0, "resize");
	t = begin();
	RK_CHECK(memslot_txn_delete(t, 0, 1) == 0, "delete 1");
	add(t, 0, 1, 0, 0, 12, 0);
	commit(t, "resize to 12 pages");

	/* split 1 into 1 + 3, the second half backed elsewhere */
	t = begin();
	RK_CHECK(memslot_txn_delete(t, 0, 1) == 0, "delete 1");
	add(t, 0, 1, 0, 0, 6, 0);
	add(t, 0, 3, 0, 6, 6, 200);
	commit(t, "split");
	expect_slot(0, 3, 6, 6, 0, "split");

	/* merge 1 and 3 into 1 */
	t = begin();
	RK_CHECK(memslot_txn_delete(t, 0, 1) == 0, "delete 1");
	RK_CHECK(memslot_txn_delete(t, 0, 3) == 0, "delete 3");
	add(t, 0, 1, 0, 0, 12, 300);
	commit(t, "merge");
	RK_CHECK(memslot_vm_find(g.vm, 0, 3, &(struct memslot_region){ .sz = sizeof(struct memslot_region) }) == -ENOENT,
		 "merge: id 3 is gone");

	/* move, then move onto a range deleted in the same transaction */
	t = begin();
	RK_CHECK(memslot_txn_move(t, 0, 2, RK_WIN_GPA + 60 * PG) == 0, "move 2");
	commit(t, "move");
	expect_slot(0, 2, 60, 8, 0, "move");
	t = begin();
	RK_CHECK(memslot_txn_delete(t, 0, 1) == 0, "delete 1");
	RK_CHECK(memslot_txn_move(t, 0, 2, RK_WIN_GPA + 2 * PG) == 0, "move 2 onto 1's range");
	commit(t, "move onto a deleted range");
	expect_slot(0, 2, 2, 8, 0, "move onto a deleted range");

	/* dirty logging on many slots at once */
	t = begin();
	for (i = 0; i < 12; i++)
		add(t, 0, (uint16_t)(10 + i), 0, 70 + (unsigned)i, 1, 400 + (unsigned)i);
	commit(t, "create 12 one-page slots");
	for (i = 0, bad = 0; i < 12; i++)
		bad += dirty_log(0, (uint16_t)(10 + i), &bits) != -ENOENT;
	RK_CHECK(bad == 0, "no dirty log before: %d slots have one", bad);
	t = begin();
	for (i = 0; i < 12; i++) {
		e = memslot_txn_set_flags(t, 0, (uint16_t)(10 + i), LD);
		RK_CHECK(e == 0, "set_flags LOG_DIRTY on %d: %s", 10 + i, rk_errname(e));
	}
	commit(t, "dirty logging on 12 slots");
	for (i = 0, bad = 0; i < 12; i++) {
		struct memslot_region r = { .sz = sizeof(r) };

		bad += memslot_vm_find(g.vm, 0, (uint16_t)(10 + i), &r) || r.flags != LD;
		bad += dirty_log(0, (uint16_t)(10 + i), &bits) != 0;  /* and clears it */
	}
	RK_CHECK(bad == 0, "dirty logging on: view and KVM_GET_DIRTY_LOG agree (%d bad)", bad);
	rk_guest_check_write(&g, RK_WIN_GPA + 75 * PG, "write into slot 15");
	for (i = 0, bad = 0; i < 12; i++) {
		e = dirty_log(0, (uint16_t)(10 + i), &bits);
		if (e || bits != (i == 5 ? 1u : 0u)) {
			bad++;
			printf("  slot %d: dirty log %s bits 0x%llx\n", 10 + i, rk_errname(e),
			       (unsigned long long)bits);
		}
	}
	RK_CHECK(bad == 0, "the guest's write is logged in slot 15 only (%d bad)", bad);
	t = begin();
	for (i = 0; i < 12; i++)
		RK_CHECK(memslot_txn_set_flags(t, 0, (uint16_t)(10 + i), 0) == 0, "LOG_DIRTY off");
	commit(t, "dirty logging off on 12 slots");
	for (i = 0, bad = 0; i < 12; i++)
		bad += dirty_log(0, (uint16_t)(10 + i), &bits) != -ENOENT;
	RK_CHECK(bad == 0, "dirty logging off: KVM_GET_DIRTY_LOG gives ENOENT (%d bad)", bad);

	/* READONLY toggle: delete + create */
	t = begin();
	e = memslot_txn_set_flags(t, 0, 2, RO);
	RK_CHECK(e == -EINVAL, "READONLY toggle by set_flags: %s (the kernel's EINVAL)", rk_errname(e));
	RK_CHECK(memslot_txn_delete(t, 0, 2) == 0, "delete 2");
	add(t, 0, 2, RO, 2, 8, 100);
	commit(t, "READONLY on");
	rk_guest_check_write(&g, RK_WIN_GPA + 3 * PG, "write to READONLY slot 2");
	t = begin();
	RK_CHECK(memslot_txn_delete(t, 0, 2) == 0, "delete 2");
	add(t, 0, 2, 0, 2, 8, 100);
	commit(t, "READONLY off");
	rk_guest_check_write(&g, RK_WIN_GPA + 3 * PG, "write to writable slot 2");

	/* address space 1 (SMM) */
	t = begin();
	if (two_as) {
		add(t, 1, 1, 0, 0, 8, 450);
		add(t, 1, 2, RO, 20, 4, 460);
	} else {
		rk_skip(2, "address space 1: creates (one address space)");
	}
	add(t, 0, 4, 0, 20, 4, 470);   /* same range in as 0, other backing */
	commit(t, "address space 1");
	if (two_as) {
		t = begin();
		RK_CHECK(memslot_txn_delete(t, 1, 1) == 0, "delete as 1 id 1");
		RK_CHECK(memslot_txn_move(t, 1, 2, RK_WIN_GPA + 40 * PG) == 0, "move as 1 id 2");
		add(t, 1, 1, 0, 4, 2, 480);
		commit(t, "address space 1: resize and move");
	} else {
		/* 3 changes, the commit and the guest's look at as 0 and as 1 */
		rk_skip(6, "address space 1: resize and move (one address space)");
	}
	if (two_as && !g.have_smm)
		printf("txn: no SMM vCPU: address space 1 checked through the view only\n");

	/* changes that cancel out, no-ops */
	t = begin();
	add(t, 0, 5, 0, 90, 2, 490);
	RK_CHECK(memslot_txn_delete(t, 0, 5) == 0, "delete the new 5");
	add(t, 0, 6, 0, 88, 2, 492);
	RK_CHECK(memslot_txn_move(t, 0, 6, RK_WIN_GPA + 92 * PG) == 0, "move the new 6");
	add(t, 0, 4, 0, 20, 4, 470);   /* identical re-issue */
	commit(t, "cancelling changes");
	RK_CHECK(memslot_vm_find(g.vm, 0, 5, &(struct memslot_region){ .sz = sizeof(struct memslot_region) }) == -ENOENT,
		 "created-then-deleted id 5 is not there");
	expect_slot(0, 6, 92, 2, 0, "create then move");
}

/* ---- rollback ------------------------------------------------------------ */

static int inj_k, inj_count, inj_err;
static int inj_ioctl(void *opaque, int fd, unsigned long req, void *arg)
{
	int r;

	(void)opaque;
	if (req == KVM_SET_USER_MEMORY_REGION || req == KVM_SET_USER_MEMORY_REGION2) {
		if (++inj_count == inj_k)
			return -inj_err;    /* fails before it reaches the kernel */
	}
	r = ioctl(fd, req, arg);
	return r < 0 ? -errno : r;
}

static struct memslot_txn *rollback_txn(void)
{
	struct memslot_txn *t = begin();

	RK_CHECK(memslot_txn_delete(t, 0, 1) == 0, "rb: delete 1");     /* resize 1 */
	add(t, 0, 1, 0, 0, 20, 140);
	RK_CHECK(memslot_txn_move(t, 0, 2, RK_WIN_GPA + 60 * PG) == 0, "rb: move 2");
	RK_CHECK(memslot_txn_set_flags(t, 0, 3, LD) == 0, "rb: flags 3");
	add(t, 0, 4, 0, 70, 4, 170);                                    /* create */
	if (two_as) {
		add(t, 1, 2, 0, 10, 2, 180);                            /* create in as 1 */
		RK_CHECK(memslot_txn_delete(t, 1, 1) == 0, "rb: delete as 1 id 1");
	} else {
		rk_skip(2, "rollback: the changes in address space 1 (one address space)");
	}
	add(t, 0, 5, RO, 80, 2, 190);
	return t;
}

/*
 * The table the rollback and batch-failure tests start from, on a fresh
 * guest with opts o; its snapshot goes to pre.
 */
static int initial_table(struct memslot_vm_opts *o, const char *what,
			 struct memslot_region *pre)
{
	struct memslot_txn *t;
	char label[96];

	rk_guest_init(&g, o);
	t = begin();
	add(t, 0, 1, 0, 0, 16, 0);
	add(t, 0, 2, LD, 32, 8, 100);
	add(t, 0, 3, 0, 48, 4, 120);
	if (two_as)
		add(t, 1, 1, 0, 0, 4, 130);
	else
		rk_skip(1, "%s: the initial slot in address space 1 "
			"(one address space)", what);
	snprintf(label, sizeof(label), "%s: initial table", what);
	commit(t, label);
	return rk_view_snapshot(g.vm, pre, 64);
}

static void test_rollback(void)
{
	struct memslot_vm_opts o = { .sz = sizeof(o), .ioctl = inj_ioctl };
	static struct memslot_region pre[64], now[64];
	struct memslot_txn *t;
	int npre, k, e, done = 0;

	npre = initial_table(&o, "rollback", pre);

	for (k = 1; k <= 40 && !done; k++) {
		struct memslot_error err = { .sz = sizeof(err) };
		char label[64];

		t = rollback_txn();
		inj_count = 0;
		inj_k = k;
		inj_err = (k & 1) ? ENOMEM : EFAULT;
		e = memslot_txn_commit(t, &err);
		inj_k = 0;
		snprintf(label, sizeof(label), "rollback k=%d", k);
		if (e == 0) {
			/* k is past the last ioctl: the whole transaction went in */
			RK_CHECK(k > 1 && inj_count == k - 1, "%s: commit went through after %d ioctls",
				 label, inj_count);
			printf("txn: rollback: the transaction takes %d ioctls; each failure "
			       "was rolled back\n", inj_count);
			rk_guest_check(&g, "rollback: the transaction after all");
			expect_slot(0, 1, 0, 20, 0, "rollback: final");
			expect_slot(0, 2, 60, 8, LD, "rollback: final");
			expect_slot(0, 3, 48, 4, LD, "rollback: final");
			if (two_as)
				expect_slot(1, 2, 10, 2, 0, "rollback: final");
			else
				rk_skip(1, "rollback: final slot in address space 1");
			done = 1;
			break;
		}
		RK_CHECK(e == -inj_err && err.err == -inj_err && err.change >= 0 &&
			 !(err.flags & MEMSLOT_ERROR_ROLLBACK_FAILED) && err.rollback_err == 0 &&
			 (k == 1 || (err.flags & MEMSLOT_ERROR_ROLLBACK)),
			 "%s: commit %s, err %s change %d flags 0x%x rollback_err %s issued %u",
			 label, rk_errname(e), rk_errname(err.err), err.change, err.flags,
			 rk_errname(err.rollback_err), err.issued);
		RK_CHECK(inj_count == 2 * k - 1,
			 "%s: %d ioctls: k, then k-1 undos", label, inj_count);
		RK_CHECK(rk_view_equal(pre, npre, now, rk_view_snapshot(g.vm, now, 64)),
			 "%s: the view is the one before the commit", label);
		rk_guest_check(&g, label);
	}
	RK_CHECK(done, "rollback: the transaction finally committed");
	rk_guest_fini(&g);
}

/* ---- a failed list (MEMSLOT_MODE_BATCH) ------------------------------------ */

#define KNOB "/sys/module/kvm/parameters/memslot_list_fail_nth"

static int knob_nth;     /* > 0: armed for the next non-empty list ioctl */
static long list_calls;  /* non-empty list ioctls that reached the kernel */

static int knob_write(int n)
{
	FILE *f = fopen(KNOB, "w");
	int ok;

	if (!f)
		return -errno;
	ok = fprintf(f, "%d\n", n) > 0;
	ok &= fclose(f) == 0;
	return ok ? 0 : -EIO;
}

static int knob_ioctl(void *opaque, int fd, unsigned long req, void *arg)
{
	int r;

	(void)opaque;
	if (req == KVM_SET_USER_MEMORY_REGION_LIST && *(const uint32_t *)arg) {
		list_calls++;
		if (knob_nth > 0 && knob_write(knob_nth))
			printf("txn: cannot arm %s\n", KNOB);
		knob_nth = 0;
	}
	r = ioctl(fd, req, arg);
	return r < 0 ? -errno : r;
}

/*
 * Commit t, which the kernel must refuse with want_err after the library
 * accepted every change; check what the library documents for that.
 * Returns 1 when the commit failed that way.
 */
static int failed_list(struct memslot_txn *t, int want_err, const struct memslot_region *pre,
		       int npre, const char *label)
{
	static struct memslot_region now[64];
	struct memslot_error err = { .sz = sizeof(err) };
	struct memslot_caps c = { .sz = sizeof(c) };
	uint64_t bits;
	long l0 = list_calls;
	int e = memslot_txn_commit(t, &err);

	if (e == 0)
		return 0;
	RK_CHECK(e == -want_err && err.err == e && err.change == -1 &&
		 err.flags == MEMSLOT_ERROR_VIEW_UNCERTAIN && err.rollback_err == 0 &&
		 err.issued == 1 && list_calls - l0 == 1,
		 "%s: commit %s (want %s), change %d, flags 0x%x (want VIEW_UNCERTAIN only), "
		 "issued %u, list ioctls %ld", label, rk_errname(e), rk_errname(want_err),
		 err.change, err.flags, err.issued, list_calls - l0);
	RK_CHECK(rk_view_equal(pre, npre, now, rk_view_snapshot(g.vm, now, 64)),
		 "%s: the view is the one before the commit", label);
	/* This kernel applied nothing: the guest sees the table before the commit. */
	rk_guest_check(&g, label);
	RK_CHECK(dirty_log(0, 3, &bits) == -ENOENT,
		 "%s: slot 3 has no dirty log (its LOG_DIRTY change is not applied)", label);
	RK_CHECK(memslot_vm_caps(g.vm, &c) == 0 && c.batch == 1 && c.batch_usable == 0,
		 "%s: caps.batch %u, batch_usable %u (want 1, 0: batch disabled)", label,
		 c.batch, c.batch_usable);
	/* BATCH without a usable batch ioctl: -EOPNOTSUPP, nothing issued. */
	memset(&err, 0, sizeof(err));
	err.sz = sizeof(err);
	l0 = list_calls;
	t = begin();
	add(t, 0, 7, 0, 94, 2, 500);
	e = memslot_txn_commit(t, &err);
	RK_CHECK(e == -EOPNOTSUPP && err.issued == 0 && list_calls == l0 &&
		 rk_view_equal(pre, npre, now, rk_view_snapshot(g.vm, now, 64)),
		 "%s: the next BATCH commit: %s (want EOPNOTSUPP), issued %u, view unchanged",
		 label, rk_errname(e), err.issued);
	return 1;
}

static void test_batch_failure(void)
{
	struct memslot_vm_opts o = { .sz = sizeof(o), .mode = MEMSLOT_MODE_BATCH,
				     .ioctl = knob_ioctl };
	static struct memslot_region pre[64];
	struct memslot_txn *t;
	struct memslot_region r;
	int npre, k, fired = 0, done = 0, e;

	npre = initial_table(&o, "batch failure", pre);

	/* A create beyond MAXPHYADDR: only the kernel's prepare hook refuses it. */
	t = rollback_txn();
	r = rk_region(0, 6, 0, 1ull << 52, PG, rk_hva(&g, 510));
	e = memslot_txn_add(t, &r, NULL);
	RK_CHECK(e == 0, "batch failure: the library accepts a create at 2^52 (%s)", rk_errname(e));
	RK_CHECK(failed_list(t, EINVAL, pre, npre, "batch failure: create beyond MAXPHYADDR"),
		 "batch failure: the kernel refused the list with a create at 2^52");
	rk_guest_rebind(&g, &o);
	t = begin();
	add(t, 0, 6, 0, 94, 2, 510);   /* a ghost id 6 of 1 page would refuse this */
	commit(t, "batch failure: id 6 is free after the refused list");
	t = begin();
	RK_CHECK(memslot_txn_delete(t, 0, 6) == 0, "delete 6");
	commit(t, "batch failure: delete 6");

	/* Every allocation step of the kernel, failed in turn. */
	if (access(KNOB, W_OK)) {
		rk_skip(1, "batch failure: no fault-injection knob %s (a kernel without "
			"CONFIG_KVM_MEMSLOT_LIST_FAIL_NTH)", KNOB);
		rk_guest_fini(&g);
		return;
	}
	for (k = 1; k <= 64 && !done; k++) {
		char label[64];

		snprintf(label, sizeof(label), "batch failure: fail_nth=%d", k);
		t = rollback_txn();
		knob_nth = k;
		if (failed_list(t, ENOMEM, pre, npre, label)) {
			fired++;
			rk_guest_rebind(&g, &o);
			continue;
		}
		/* k is past the last step: the whole list went in */
		printf("txn: batch failure: the list has %d allocation steps; each failure "
		       "left nothing applied\n", k - 1);
		rk_guest_check(&g, "batch failure: the list after all");
		expect_slot(0, 1, 0, 20, 0, "batch failure: final");
		expect_slot(0, 2, 60, 8, LD, "batch failure: final");
		expect_slot(0, 3, 48, 4, LD, "batch failure: final");
		if (two_as)
			expect_slot(1, 2, 10, 2, 0, "batch failure: final");
		else
			rk_skip(1, "batch failure: final slot in address space 1");
		done = 1;
	}
	RK_CHECK(done && fired >= 8, "batch failure: %d allocation steps failed in turn, then "
		 "the list went in", fired);
	rk_guest_fini(&g);
}

int main(void)
{
	struct utsname u;
	double t0 = rk_now();
	int mode = rk_mode();

	uname(&u);
	batch = mode == MEMSLOT_MODE_BATCH;
	printf("txn: kernel %s, mode %s\n", u.release, rk_mode_name(mode));
	rk_guest_init(&g, NULL);
	two_as = rk_kernel_nr_as(g.vm_fd) >= 2;
	printf("txn: address spaces %d, SMM vCPU %s\n", two_as ? 2 : 1,
	       g.have_smm ? "yes" : "no");
	if (batch)
		RK_CHECK(g.caps.batch == 1 && g.caps.batch_usable == 1,
			 "RK_MODE=batch: caps.batch %u, batch_usable %u (want 1: the kernel "
			 "answers the empty KVM_SET_USER_MEMORY_REGION_LIST)",
			 g.caps.batch, g.caps.batch_usable);
	if (batch && !g.caps.batch_usable)
		rk_fatal("RK_MODE=batch on a kernel without a usable batch ioctl");
	test_transactions();
	rk_guest_fini(&g);
	if (batch)
		test_batch_failure();
	else
		test_rollback();
	printf("txn: %.1f s\n", rk_now() - t0);
	return rk_finish("txn");
}
