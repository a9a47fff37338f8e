/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Bad inputs to every public call: NULL pointers, wrong sz, unknown
 * flags, ids and address spaces out of range, overflowing ranges, a
 * second transaction, 100,000 changes, calls after commit and abort.
 * Each gets a clear errno and changes nothing: the view still equals the
 * sim's table, and an open transaction keeps its changes and stays usable.
 *
 * Undefined (not tested, the API cannot detect it): a txn pointer used
 * after memslot_txn_commit() or memslot_txn_abort() (both free it), a vm
 * used after memslot_vm_free(), an sz larger than the memory behind the
 * struct, and concurrent calls on one vm.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libmemslot/libmemslot.h"
#include "kvm-compat.h"
#include "rel-util.h"
#include "testutil.h"

#define NR_SLOTS 64

static struct memslot_sim *sim;
static struct memslot_vm *vm;
static struct memslot_txn *txn;
static struct table before;

static struct memslot_vm_opts vm_opts(void)
{
	struct memslot_vm_opts o = { .sz = sizeof(o),
				     .ioctl = memslot_sim_ioctl,
				     .ioctl_opaque = sim };

	return o;
}

/* A vm with slots 0 and 1 (as 0) and 0 (as 1), and an open txn with one
 * change (a create of slot 2). */
static void setup(void)
{
	struct memslot_sim_opts so = { .sz = sizeof(so), .nr_slots = NR_SLOTS,
				       .nr_as = 2 };
	struct memslot_vm_opts o;
	struct memslot_region r;

	ck_assert_int_eq(memslot_sim_new(&so, &sim), 0);
	o = vm_opts();
	ck_assert_int_eq(memslot_vm_new(-1, &o, &vm), 0);
	ck_assert_int_eq(memslot_txn_begin(vm, &txn), 0);
	r = test_region(0, 0, 0, PAGE, HVA(0), 0);
	ck_assert_int_eq(memslot_txn_add(txn, &r, NULL), 0);
	r = test_region(0, 1, 0x100000, 4 * PAGE, HVA(1), 0);
	ck_assert_int_eq(memslot_txn_add(txn, &r, NULL), 0);
	r = test_region(1, 0, 0, PAGE, HVA(2), 0);
	ck_assert_int_eq(memslot_txn_add(txn, &r, NULL), 0);
	ck_assert_int_eq(memslot_txn_commit(txn, NULL), 0);
	ck_assert_int_eq(memslot_txn_begin(vm, &txn), 0);
	r = test_region(0, 2, 0x200000, PAGE, HVA(3), 0);
	ck_assert_int_eq(memslot_txn_add(txn, &r, NULL), 0);
	table_of_sim(sim, &before);
}

static void teardown(void)
{
	memslot_vm_free(vm);   /* frees the open txn, if any */
	memslot_sim_free(sim);
	vm = NULL;
	txn = NULL;
	sim = NULL;
}

/* Nothing changed; the transaction has its one change and still works. */
static void unchanged(void)
{
	static struct table now;

	assert_view_eq_sim(vm, sim);
	table_of_sim(sim, &now);
	assert_tables_eq(&now, &before, "table changed");
	if (txn)
		ck_assert_int_eq(memslot_txn_count(txn), 1);
}

static void txn_still_works(void)
{
	struct memslot_region r = test_region(0, MEMSLOT_ANY_SLOT, 0x300000, PAGE,
					     HVA(4), 0);
	uint16_t id;

	unchanged();
	ck_assert_int_eq(memslot_txn_add(txn, &r, &id), 0);
	ck_assert_int_eq(id, 3);
	ck_assert_int_eq(memslot_txn_commit(txn, NULL), 0);
	txn = NULL;
	assert_view_eq_sim(vm, sim);
	ck_assert_int_eq(memslot_vm_count(vm), 5);
}

/* ---- vm --------------------------------------------------------------- */

static int hook_no_slots(void *opaque, int fd, unsigned long req, void *arg)
{
	(void)opaque; (void)fd; (void)arg;
	return req == KVM_CHECK_EXTENSION ? 0 : -ENOTTY;
}

static int hook_dead(void *opaque, int fd, unsigned long req, void *arg)
{
	(void)opaque; (void)fd; (void)req; (void)arg;
	return -EIO;
}

START_TEST(vm_new_bad)
{
	struct {
		struct memslot_vm_opts o;
		uint64_t tail[2];
	} big;
	struct memslot_vm_opts o = vm_opts();
	struct memslot_vm *v = (struct memslot_vm *)&v;
	int fd;

	ck_assert_int_eq(memslot_vm_new(-1, &o, NULL), -EINVAL);
	o.sz = 0;
	ck_assert_int_eq(memslot_vm_new(-1, &o, &v), -EINVAL);
	ck_assert_ptr_null(v);
	o.sz = 4;
	ck_assert_int_eq(memslot_vm_new(-1, &o, &v), -EINVAL);
	o = vm_opts();
	o.mode = 3;
	ck_assert_int_eq(memslot_vm_new(-1, &o, &v), -EINVAL);
	o.mode = -1;
	ck_assert_int_eq(memslot_vm_new(-1, &o, &v), -EINVAL);
	o = vm_opts();
	o.flags = 1u << 7;
	ck_assert_int_eq(memslot_vm_new(-1, &o, &v), -EINVAL);
	o = vm_opts();
	o.resume = (void (*)(void *))free;
	ck_assert_int_eq(memslot_vm_new(-1, &o, &v), -EINVAL);
	/* Without an ioctl hook a negative fd is refused... */
	ck_assert_int_eq(memslot_vm_new(-1, NULL, &v), -EBADF);
	o = vm_opts();
	o.sz = offsetof(struct memslot_vm_opts, ioctl);  /* an old caller */
	ck_assert_int_eq(memslot_vm_new(-1, &o, &v), -EBADF);
	/* ...and a file that is not a VM answers its probe with ENOTTY. */
	fd = open("/dev/null", O_RDONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(memslot_vm_new(fd, NULL, &v), -ENOTTY);
	ck_assert_ptr_null(v);
	close(fd);
	o = vm_opts();
	o.ioctl = hook_no_slots;
	ck_assert_int_eq(memslot_vm_new(-1, &o, &v), -EINVAL);
	o.ioctl = hook_dead;
	ck_assert_int_eq(memslot_vm_new(-1, &o, &v), -EIO);
	ck_assert_ptr_null(v);
	/* Larger opts: a zero tail is fine, a non-zero one is E2BIG. */
	memset(&big, 0, sizeof(big));
	big.o = vm_opts();
	big.o.sz = sizeof(big);
	big.tail[1] = 1;
	ck_assert_int_eq(memslot_vm_new(-1, &big.o, &v), -E2BIG);
	big.tail[1] = 0;
	ck_assert_int_eq(memslot_vm_new(-1, &big.o, &v), 0);
	memslot_vm_free(v);
	memslot_vm_free(NULL);
	unchanged();
}
END_TEST

START_TEST(vm_caps_bad)
{
	struct {
		struct memslot_caps c;
		unsigned char canary[16];
	} b;

	ck_assert_int_eq(memslot_vm_caps(NULL, &b.c), -EINVAL);
	ck_assert_int_eq(memslot_vm_caps(vm, NULL), -EINVAL);
	memset(&b, 0x5a, sizeof(b));
	b.c.sz = 0;
	ck_assert_int_eq(memslot_vm_caps(vm, &b.c), -EINVAL);
	/* An older, smaller struct is filled up to its sz only. */
	b.c.sz = offsetof(struct memslot_caps, readonly);
	ck_assert_int_eq(memslot_vm_caps(vm, &b.c), 0);
	ck_assert_int_eq(b.c.nr_slots, NR_SLOTS);
	ck_assert_int_eq(b.c.nr_as, 2);
	for (size_t i = offsetof(struct memslot_caps, readonly); i < sizeof(b); i++)
		ck_assert_int_eq(((unsigned char *)&b)[i], 0x5a);
	/* A newer, larger struct gets zeros beyond this version's. */
	b.c.sz = sizeof(b);
	ck_assert_int_eq(memslot_vm_caps(vm, &b.c), 0);
	for (size_t i = 0; i < sizeof(b.canary); i++)
		ck_assert_int_eq(b.canary[i], 0);
	unchanged();
}
END_TEST

START_TEST(vm_find_bad)
{
	struct memslot_region out = { .sz = sizeof(out) };

	ck_assert_int_eq(memslot_vm_find(NULL, 0, 0, &out), -EINVAL);
	ck_assert_int_eq(memslot_vm_find(vm, 0, 0, NULL), -EINVAL);
	ck_assert_int_eq(memslot_vm_find(vm, 2, 0, &out), -EINVAL);
	ck_assert_int_eq(memslot_vm_find(vm, 0xffff, 0, &out), -EINVAL);
	ck_assert_int_eq(memslot_vm_find(vm, 0, NR_SLOTS, &out), -EINVAL);
	ck_assert_int_eq(memslot_vm_find(vm, 0, MEMSLOT_ANY_SLOT, &out), -EINVAL);
	ck_assert_int_eq(memslot_vm_find(vm, 0, 5, &out), -ENOENT);
	/* The open transaction's create is not in the committed view. */
	ck_assert_int_eq(memslot_vm_find(vm, 0, 2, &out), -ENOENT);
	out.sz = 0;
	ck_assert_int_eq(memslot_vm_find(vm, 0, 0, &out), -EINVAL);
	out.sz = 4;
	ck_assert_int_eq(memslot_vm_find(vm, 0, 0, &out), -EINVAL);

	out.sz = sizeof(out);
	ck_assert_int_eq(memslot_vm_find_gpa(NULL, 0, 0, &out), -EINVAL);
	ck_assert_int_eq(memslot_vm_find_gpa(vm, 0, 0, NULL), -EINVAL);
	ck_assert_int_eq(memslot_vm_find_gpa(vm, 2, 0, &out), -EINVAL);
	ck_assert_int_eq(memslot_vm_find_gpa(vm, 0xffff, 0, &out), -EINVAL);
	ck_assert_int_eq(memslot_vm_find_gpa(vm, 0, ~0ull, &out), -ENOENT);
	ck_assert_int_eq(memslot_vm_find_gpa(vm, 0, PAGE, &out), -ENOENT);
	ck_assert_int_eq(memslot_vm_find_gpa(vm, 0, 0x100000 + 4 * PAGE, &out),
			 -ENOENT);
	ck_assert_int_eq(memslot_vm_find_gpa(vm, 0, 0x100000 + 4 * PAGE - 1, &out),
			 0);
	ck_assert_int_eq(out.slot, 1);
	out.sz = 0;
	ck_assert_int_eq(memslot_vm_find_gpa(vm, 0, 0, &out), -EINVAL);

	ck_assert_int_eq(memslot_vm_foreach(NULL, rel_collect, NULL), -EINVAL);
	ck_assert_int_eq(memslot_vm_foreach(vm, NULL, NULL), -EINVAL);
	ck_assert_int_eq(memslot_vm_count(NULL), -EINVAL);
	txn_still_works();
}
END_TEST

START_TEST(vm_adopt_bad)
{
	struct {
		struct memslot_region r;
		uint64_t tail;
	} big;
	struct memslot_region r = test_region(0, 10, 0x800000, PAGE, HVA(10), 0);

	/* With the transaction open. */
	ck_assert_int_eq(memslot_vm_adopt(vm, &r), -EBUSY);
	memslot_txn_abort(txn);
	txn = NULL;
	ck_assert_int_eq(memslot_vm_adopt(NULL, &r), -EINVAL);
	ck_assert_int_eq(memslot_vm_adopt(vm, NULL), -EINVAL);
	r.sz = 0;
	ck_assert_int_eq(memslot_vm_adopt(vm, &r), -EINVAL);
	r.sz = sizeof(r);
	memset(&big, 0, sizeof(big));
	big.r = r;
	big.r.sz = sizeof(big);
	big.tail = 1;
	ck_assert_int_eq(memslot_vm_adopt(vm, &big.r), -E2BIG);
	r.slot = MEMSLOT_ANY_SLOT;
	ck_assert_int_eq(memslot_vm_adopt(vm, &r), -EINVAL);
	r.slot = NR_SLOTS;
	ck_assert_int_eq(memslot_vm_adopt(vm, &r), -EINVAL);
	r.slot = 10;
	r.as_id = 2;
	ck_assert_int_eq(memslot_vm_adopt(vm, &r), -EINVAL);
	r.as_id = 0;
	r.memory_size = 0;
	ck_assert_int_eq(memslot_vm_adopt(vm, &r), -EINVAL);
	r.memory_size = PAGE + 1;
	ck_assert_int_eq(memslot_vm_adopt(vm, &r), -EINVAL);
	r.memory_size = PAGE;
	r.flags = 1u << 9;
	ck_assert_int_eq(memslot_vm_adopt(vm, &r), -EINVAL);
	r.flags = MEMSLOT_GUEST_MEMFD;          /* not a guest_memfd VM */
	ck_assert_int_eq(memslot_vm_adopt(vm, &r), -EINVAL);
	r.flags = 0;
	r.guest_phys_addr = 0x100000 + PAGE;    /* inside slot 1 */
	ck_assert_int_eq(memslot_vm_adopt(vm, &r), -EEXIST);
	r.guest_phys_addr = ~0ull - PAGE + 1;   /* wraps */
	ck_assert_int_eq(memslot_vm_adopt(vm, &r), -EINVAL);
	r = test_region(0, 0, 0, PAGE, HVA(0), 0);  /* slot 0 as it is */
	ck_assert_int_eq(memslot_vm_adopt(vm, &r), -EEXIST);
	ck_assert_int_eq(memslot_vm_reserve(vm, 0, 10), 0);
	r = test_region(0, 10, 0x800000, PAGE, HVA(10), 0);
	ck_assert_int_eq(memslot_vm_adopt(vm, &r), -EBUSY);
	assert_view_eq_sim(vm, sim);
	ck_assert_int_eq(memslot_vm_count(vm), 3);
}
END_TEST

START_TEST(vm_reserve_bad)
{
	ck_assert_int_eq(memslot_vm_reserve(NULL, 0, 5), -EINVAL);
	ck_assert_int_eq(memslot_vm_reserve(vm, 2, 5), -EINVAL);
	ck_assert_int_eq(memslot_vm_reserve(vm, 0, NR_SLOTS), -EINVAL);
	ck_assert_int_eq(memslot_vm_reserve(vm, 0, MEMSLOT_ANY_SLOT), -EINVAL);
	ck_assert_int_eq(memslot_vm_reserve(vm, 0, 0), -EEXIST);
	ck_assert_int_eq(memslot_vm_reserve(vm, 0, 2), -EBUSY);  /* in the txn */
	ck_assert_int_eq(memslot_vm_reserve(vm, 0, 5), 0);
	ck_assert_int_eq(memslot_vm_reserve(vm, 0, 5), -EBUSY);
	ck_assert_int_eq(memslot_vm_unreserve(NULL, 0, 5), -EINVAL);
	ck_assert_int_eq(memslot_vm_unreserve(vm, 2, 5), -EINVAL);
	ck_assert_int_eq(memslot_vm_unreserve(vm, 0, MEMSLOT_ANY_SLOT), -EINVAL);
	ck_assert_int_eq(memslot_vm_unreserve(vm, 0, 6), -ENOENT);
	ck_assert_int_eq(memslot_vm_unreserve(vm, 0, 5), 0);
	ck_assert_int_eq(memslot_vm_unreserve(vm, 0, 5), -ENOENT);
	ck_assert_int_eq(memslot_vm_release(NULL, 0, 5), -EINVAL);
	ck_assert_int_eq(memslot_vm_release(vm, 0, NR_SLOTS), -EINVAL);
	ck_assert_int_eq(memslot_vm_release(vm, 0, 5), -ENOENT);
	ck_assert_int_eq(memslot_vm_release(vm, 0, 0), -ENOENT);
	txn_still_works();
}
END_TEST

/* ---- transactions ------------------------------------------------------ */

START_TEST(txn_begin_bad)
{
	struct memslot_txn *t = (struct memslot_txn *)&t;

	ck_assert_int_eq(memslot_txn_begin(NULL, &t), -EINVAL);
	ck_assert_int_eq(memslot_txn_begin(vm, NULL), -EINVAL);
	ck_assert_int_eq(memslot_txn_begin(vm, &t), -EBUSY);
	ck_assert_ptr_eq(t, (struct memslot_txn *)&t);
	txn_still_works();
	/* After commit, and after abort, a new transaction can begin. */
	ck_assert_int_eq(memslot_txn_begin(vm, &txn), 0);
	memslot_txn_abort(txn);
	ck_assert_int_eq(memslot_txn_begin(vm, &txn), 0);
	memslot_txn_abort(txn);
	txn = NULL;
	memslot_txn_abort(NULL);
}
END_TEST

/* One bad region: refused with want, nothing queued, slotp untouched. */
static void add_refused(struct memslot_region r, int want, int line)
{
	uint16_t id = 0xeeee;
	int got = memslot_txn_add(txn, &r, &id);

	ck_assert_msg(got == want, "line %d: add gave %d, want %d", line, got,
		      want);
	ck_assert_int_eq(id, 0xeeee);
	unchanged();
}
#define REFUSED(r, want) add_refused((r), (want), __LINE__)

START_TEST(txn_add_bad)
{
	const struct memslot_region ok = test_region(0, 5, 0x400000, PAGE,
						    HVA(5), 0);
	struct memslot_region r;
	struct {
		struct memslot_region r;
		uint64_t tail;
	} big;

	ck_assert_int_eq(memslot_txn_add(NULL, &ok, NULL), -EINVAL);
	ck_assert_int_eq(memslot_txn_add(txn, NULL, NULL), -EINVAL);
	r = ok; r.sz = 0;                 REFUSED(r, -EINVAL);
	r = ok; r.sz = 7;                 REFUSED(r, -EINVAL);
	memset(&big, 0, sizeof(big));
	big.r = ok;
	big.r.sz = sizeof(big);
	big.tail = 1ull << 40;
	ck_assert_int_eq(memslot_txn_add(txn, &big.r, NULL), -E2BIG);
	r = ok; r.flags = 1u << 3;        REFUSED(r, -EINVAL);
	r = ok; r.flags = 1u << 31;       REFUSED(r, -EINVAL);
	r = ok; r.flags = MEMSLOT_GUEST_MEMFD;  REFUSED(r, -EINVAL);
	r = ok; r.as_id = 2;              REFUSED(r, -EINVAL);
	r = ok; r.as_id = 0xffff;         REFUSED(r, -EINVAL);
	r = ok; r.slot = NR_SLOTS;        REFUSED(r, -EINVAL);
	r = ok; r.slot = 0x8000;          REFUSED(r, -EINVAL);
	r = ok; r.slot = 0xfffe;          REFUSED(r, -EINVAL);
	r = ok; r.guest_phys_addr += 1;   REFUSED(r, -EINVAL);
	r = ok; r.memory_size += 1;       REFUSED(r, -EINVAL);
	r = ok; r.userspace_addr += 1;    REFUSED(r, -EINVAL);
	r = ok; r.guest_phys_addr = ~0ull - PAGE + 1;    REFUSED(r, -EINVAL);
	r = ok; r.guest_phys_addr = ~0ull - 2 * PAGE + 1; r.memory_size = 4 * PAGE;
	REFUSED(r, -EINVAL);                                  /* wraps */
	r = ok; r.memory_size = 0x80000000ull * PAGE;    REFUSED(r, -EINVAL);
	r = ok; r.memory_size = ~0ull - PAGE + 1;        REFUSED(r, -EINVAL);
	r = ok; r.userspace_addr = ~0ull - PAGE + 1;     REFUSED(r, -EINVAL);
	r = ok; r.userspace_addr = 1ull << 62;           REFUSED(r, -EINVAL);
	r = ok; r.guest_phys_addr = 0x100000 + PAGE;     REFUSED(r, -EEXIST);
	r = ok; r.guest_phys_addr = 0x200000;            REFUSED(r, -EEXIST);
	r = ok; r.memory_size = 0;                       REFUSED(r, -EINVAL);
	/* Changing what an existing slot cannot change. */
	r = test_region(0, 1, 0x100000, 8 * PAGE, HVA(1), 0);   REFUSED(r, -EINVAL);
	r = test_region(0, 1, 0x100000, 4 * PAGE, HVA(9), 0);   REFUSED(r, -EINVAL);
	r = test_region(0, 1, 0x100000, 4 * PAGE, HVA(1), MEMSLOT_READONLY);
	REFUSED(r, -EINVAL);
	r = ok; r.slot = MEMSLOT_ANY_SLOT; r.as_id = 2;   REFUSED(r, -EINVAL);
	ck_assert_int_eq(memslot_vm_reserve(vm, 0, 5), 0);
	r = ok;                           REFUSED(r, -EBUSY);
	ck_assert_int_eq(memslot_vm_unreserve(vm, 0, 5), 0);
	txn_still_works();
}
END_TEST

START_TEST(txn_add_enospc)
{
	struct memslot_region r;
	uint16_t id;

	for (int i = 0; i < NR_SLOTS - 3; i++) {
		r = test_region(1, MEMSLOT_ANY_SLOT, (uint64_t)(i + 1) * PAGE, PAGE,
			       HVA(100 + i), 0);
		ck_assert_int_eq(memslot_txn_add(txn, &r, &id), 0);
	}
	/* Address space 1 is full (one committed slot plus 61 + 2 free). */
	ck_assert_int_eq(memslot_txn_count(txn), NR_SLOTS - 2);
	for (int i = 0; i < 2; i++) {
		r = test_region(1, MEMSLOT_ANY_SLOT, 0x100000 + (uint64_t)i * PAGE,
			       PAGE, HVA(200 + i), 0);
		ck_assert_int_eq(memslot_txn_add(txn, &r, &id), 0);
	}
	r = test_region(1, MEMSLOT_ANY_SLOT, 0x200000, PAGE, HVA(300), 0);
	ck_assert_int_eq(memslot_txn_add(txn, &r, &id), -ENOSPC);
	/* A deleted id is in quarantine: still no id for ANY. */
	ck_assert_int_eq(memslot_txn_delete(txn, 1, 0), 0);
	ck_assert_int_eq(memslot_txn_add(txn, &r, &id), -ENOSPC);
	ck_assert_int_eq(memslot_txn_count(txn), NR_SLOTS + 1);
	ck_assert_int_eq(memslot_txn_commit(txn, NULL), 0);
	txn = NULL;
	assert_view_eq_sim(vm, sim);
}
END_TEST

START_TEST(txn_modify_bad)
{
	ck_assert_int_eq(memslot_txn_delete(NULL, 0, 0), -EINVAL);
	ck_assert_int_eq(memslot_txn_move(NULL, 0, 0, 0), -EINVAL);
	ck_assert_int_eq(memslot_txn_set_flags(NULL, 0, 0, 0), -EINVAL);
	ck_assert_int_eq(memslot_txn_delete(txn, 2, 0), -EINVAL);
	ck_assert_int_eq(memslot_txn_delete(txn, 0, NR_SLOTS), -EINVAL);
	ck_assert_int_eq(memslot_txn_delete(txn, 0, MEMSLOT_ANY_SLOT), -EINVAL);
	ck_assert_int_eq(memslot_txn_delete(txn, 0, 9), -ENOENT);
	ck_assert_int_eq(memslot_txn_move(txn, 0xffff, 0, 0), -EINVAL);
	ck_assert_int_eq(memslot_txn_move(txn, 0, 9, 0), -ENOENT);
	ck_assert_int_eq(memslot_txn_move(txn, 0, 0, PAGE / 2), -EINVAL);
	ck_assert_int_eq(memslot_txn_move(txn, 0, 0, ~0ull - PAGE + 1), -EINVAL);
	ck_assert_int_eq(memslot_txn_move(txn, 0, 0, 0x100000 + PAGE), -EEXIST);
	ck_assert_int_eq(memslot_txn_move(txn, 0, 0, 0x200000), -EEXIST);
	ck_assert_int_eq(memslot_txn_set_flags(txn, 0, 0, MEMSLOT_READONLY),
			 -EINVAL);
	ck_assert_int_eq(memslot_txn_set_flags(txn, 0, 0, 1u << 5), -EINVAL);
	ck_assert_int_eq(memslot_txn_set_flags(txn, 0, 0, MEMSLOT_GUEST_MEMFD),
			 -EINVAL);
	ck_assert_int_eq(memslot_txn_set_flags(txn, 0, 9, 0), -ENOENT);
	ck_assert_int_eq(memslot_txn_count(NULL), -EINVAL);
	txn_still_works();
}
END_TEST

START_TEST(txn_encode_bad)
{
	unsigned char buf[256];
	ssize_t n;

	ck_assert_int_eq(memslot_txn_encode(NULL, NULL, 0), -EINVAL);
	ck_assert_int_eq(memslot_txn_encode(txn, NULL, 64), -EINVAL);
	n = memslot_txn_encode(txn, NULL, 0);
	ck_assert_int_eq(n, 8 + 64);
	memset(buf, 0x5a, sizeof(buf));
	ck_assert_int_eq(memslot_txn_encode(txn, buf, (size_t)n - 1), n);
	for (size_t i = 0; i < sizeof(buf); i++)
		ck_assert_int_eq(buf[i], 0x5a);
	ck_assert_int_eq(memslot_txn_encode(txn, buf, sizeof(buf)), n);
	for (size_t i = (size_t)n; i < sizeof(buf); i++)
		ck_assert_int_eq(buf[i], 0x5a);
	txn_still_works();
}
END_TEST

START_TEST(txn_commit_bad)
{
	struct memslot_error err = { .sz = 0 };
	struct memslot_txn *t;

	ck_assert_int_eq(memslot_txn_commit(NULL, NULL), -EINVAL);
	ck_assert_int_eq(memslot_txn_commit(NULL, &err), -EINVAL);
	/* A bad err drops the transaction (documented): nothing applied. */
	err.sz = 4;
	ck_assert_int_eq(memslot_txn_commit(txn, &err), -EINVAL);
	txn = NULL;
	ck_assert_int_eq(err.sz, 4);
	unchanged();
	ck_assert_int_eq(memslot_txn_begin(vm, &t), 0);
	memslot_txn_abort(t);
	/* An empty transaction commits and issues nothing. */
	ck_assert_int_eq(memslot_txn_begin(vm, &t), 0);
	err.sz = sizeof(err);
	{
		long n0 = kernel_ioctls(sim);

		ck_assert_int_eq(memslot_txn_commit(t, &err), 0);
		ck_assert_int_eq(kernel_ioctls(sim), n0);
		ck_assert_int_eq(err.issued, 0);
		ck_assert_int_eq(err.change, -1);
	}
	unchanged();
	/* A commit in MODE_BATCH without the batch ioctl: EOPNOTSUPP. */
	{
		struct memslot_vm_opts o = vm_opts();
		struct memslot_vm *v;
		struct memslot_region r = test_region(0, 9, 0x900000, PAGE, HVA(9), 0);

		o.mode = MEMSLOT_MODE_BATCH;
		ck_assert_int_eq(memslot_vm_new(-1, &o, &v), 0);
		ck_assert_int_eq(memslot_txn_begin(v, &t), 0);
		ck_assert_int_eq(memslot_txn_add(t, &r, NULL), 0);
		ck_assert_int_eq(memslot_txn_commit(t, &err), -EOPNOTSUPP);
		ck_assert_int_eq(err.issued, 0);
		ck_assert_int_eq(memslot_vm_count(v), 0);
		memslot_vm_free(v);
	}
	unchanged();
}
END_TEST

/* 100,000 changes in one transaction, sequential and batch. */
static void hundred_thousand(int batch)
{
	struct memslot_sim_opts so = { .sz = sizeof(so), .nr_as = 1,
				       .batch = (uint32_t)batch };
	struct memslot_vm_opts o;
	struct memslot_error err = { .sz = sizeof(err) };
	struct memslot_region r;
	int nr = 30000, i;
	uint16_t id;

	teardown();
	ck_assert_int_eq(memslot_sim_new(&so, &sim), 0);
	o = vm_opts();
	ck_assert_int_eq(memslot_vm_new(-1, &o, &vm), 0);
	ck_assert_int_eq(memslot_txn_begin(vm, &txn), 0);
	for (i = 0; i < nr; i++) {
		r = test_region(0, MEMSLOT_ANY_SLOT, (uint64_t)i * 2 * PAGE, PAGE,
			       HVA(0) + (uint64_t)i * PAGE, 0);
		ck_assert_int_eq(memslot_txn_add(txn, &r, &id), 0);
		ck_assert_int_eq(id, i);
	}
	/* 70,000 flag changes: slots below 10,000 toggle back and forth. */
	for (; i < 100000; i++) {
		uint16_t s = (uint16_t)((i - nr) % 35000);

		if (s >= nr) {
			ck_assert_int_eq(memslot_txn_move(txn, 0, (uint16_t)(s - nr),
				(uint64_t)(s - nr) * 2 * PAGE + PAGE), 0);
			continue;
		}
		ck_assert_int_eq(memslot_txn_set_flags(txn, 0, s,
			((i - nr) / 35000) ? 0 : MEMSLOT_LOG_DIRTY_PAGES), 0);
	}
	ck_assert_int_eq(memslot_txn_count(txn), 100000);
	ck_assert_int_eq(memslot_txn_commit(txn, &err), 0);
	txn = NULL;
	ck_assert_int_eq(err.issued, batch ? 1 : nr);
	ck_assert_int_eq(memslot_vm_count(vm), nr);
	assert_view_eq_sim(vm, sim);
}

START_TEST(txn_100000_changes)
{
	hundred_thousand(_i);
}
END_TEST

/* ---- the rest ---------------------------------------------------------- */

START_TEST(misc_bad)
{
	struct memslot_sim_opts so = { .sz = sizeof(so) };
	struct memslot_sim *s = (struct memslot_sim *)&s;
	struct kvm_userspace_memory_region2 k;
	const int codes[] = { 0, EINVAL, -EINVAL, INT_MIN, INT_MAX, 12345, -ENOSPC };

	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		ck_assert_ptr_nonnull(memslot_strerror(codes[i]));

	ck_assert_int_eq(memslot_sim_new(&so, NULL), -EINVAL);
	so.nr_slots = 40000;
	ck_assert_int_eq(memslot_sim_new(&so, &s), -EINVAL);
	ck_assert_ptr_null(s);
	so.nr_slots = 0;
	so.nr_as = 3;
	ck_assert_int_eq(memslot_sim_new(&so, &s), -EINVAL);
	so.nr_as = 0;
	so.phys_bits = 5;
	ck_assert_int_eq(memslot_sim_new(&so, &s), -EINVAL);
	so.phys_bits = 0;
	so.sz = 2;
	ck_assert_int_eq(memslot_sim_new(&so, &s), -EINVAL);
	memslot_sim_free(NULL);

	ck_assert_int_eq(memslot_sim_ioctl(NULL, -1, KVM_CHECK_EXTENSION, NULL),
			 -EINVAL);
	ck_assert_int_eq(memslot_sim_ioctl(sim, -1, 0x1234, NULL), -ENOTTY);
	ck_assert_int_eq(memslot_sim_ioctl(sim, -1, KVM_SET_USER_MEMORY_REGION2,
					   NULL), -EFAULT);
	ck_assert_int_eq(memslot_sim_ioctl(sim, -1, KVM_SET_USER_MEMORY_REGION,
					   NULL), -EFAULT);
	memset(&k, 0, sizeof(k));
	k.slot = 2u << 16;
	k.memory_size = PAGE;
	k.userspace_addr = HVA(50);
	ck_assert_int_eq(memslot_sim_ioctl(sim, -1, KVM_SET_USER_MEMORY_REGION2,
					   &k), -EINVAL);
	ck_assert_int_eq(memslot_sim_fail_nth(NULL, 1, EIO), -EINVAL);
	ck_assert_int_eq(memslot_sim_fail_nth(sim, 1, 0), -EINVAL);
	ck_assert_int_eq(memslot_sim_fail_nth(sim, 1, -EIO), -EINVAL);
	ck_assert_int_eq(memslot_sim_fail_nth(sim, 0, 0), 0);
	ck_assert_int_eq(memslot_sim_count(NULL, 0), -EINVAL);
	ck_assert_int_eq(memslot_sim_count(sim, -1), -EINVAL);
	ck_assert_int_eq(memslot_sim_count(sim, MEMSLOT_SIM_ALL + 1), -EINVAL);
	ck_assert_int_eq(memslot_sim_foreach(NULL, rel_collect, NULL), -EINVAL);
	ck_assert_int_eq(memslot_sim_foreach(sim, NULL, NULL), -EINVAL);
	txn_still_works();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("bad-inputs");
	TCase *tc = tcase_create("every call");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, vm_new_bad);
	tcase_add_test(tc, vm_caps_bad);
	tcase_add_test(tc, vm_find_bad);
	tcase_add_test(tc, vm_adopt_bad);
	tcase_add_test(tc, vm_reserve_bad);
	tcase_add_test(tc, txn_begin_bad);
	tcase_add_test(tc, txn_add_bad);
	tcase_add_test(tc, txn_add_enospc);
	tcase_add_test(tc, txn_modify_bad);
	tcase_add_test(tc, txn_encode_bad);
	tcase_add_test(tc, txn_commit_bad);
	tcase_add_loop_test(tc, txn_100000_changes, 0, 2);
	tcase_add_test(tc, misc_bad);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
