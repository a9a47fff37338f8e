/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Allocation failure at every allocation of representative scenarios.
 *
 * Linked with -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=free
 * against the static core library, so every allocation of the library
 * (and of the simulated kernel, whose batch ioctl allocates) goes through
 * the wrappers below.  A scenario is run once to count its allocations
 * (N), then N more times failing the n-th one.  Every call must return
 * its usual result or -ENOMEM; after -ENOMEM nothing has changed (the
 * view equals the sim's table, the transaction has the same changes) and
 * the same call, repeated, succeeds (the fault is one-shot).  At the end
 * of each run every block is freed (the wrappers count live blocks).
 */
#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libmemslot/libmemslot.h"
#include "kvm-compat.h"
#include "rel-util.h"
#include "testutil.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t sz);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t sz);
void *__wrap_realloc(void *p, size_t n);
void __wrap_free(void *p);

/*
 * Only allocations made inside library calls are counted and failed: the
 * LIB() macro sets active around each call, so the test framework (Check
 * is linked statically and so is wrapped too) never sees a failure.
 * Blocks allocated while active are remembered in a small pointer set;
 * a run must end with the set empty.
 */
static bool active;
static long n_alloc;       /* allocations seen while active */
static long fail_at;       /* the one to fail, 0: none */
static bool fired;

#define SET_SIZE (1u << 16)
static void *blocks[SET_SIZE];
static void *const tomb = (void *)1;
static long live;

static size_t slot_of(const void *p)
{
	return ((uintptr_t)p >> 4) * 0x9e3779b97f4a7c15ull >> 48;
}

static void set_add(void *p)
{
	size_t i = slot_of(p);

	if (!p)
		return;
	while (blocks[i] && blocks[i] != tomb)
		i = (i + 1) % SET_SIZE;
	blocks[i] = p;
	live++;
}

static void set_del(void *p)
{
	size_t i = slot_of(p);

	if (!p)
		return;
	for (; blocks[i]; i = (i + 1) % SET_SIZE)
		if (blocks[i] == p) {
			blocks[i] = tomb;
			live--;
			return;
		}
}

static bool inject(void)
{
	if (!active)
		return false;
	if (++n_alloc == fail_at) {
		fired = true;
		return true;
	}
	return false;
}

void *__wrap_malloc(size_t n)
{
	void *p = inject() ? NULL : __real_malloc(n);

	if (active)
		set_add(p);
	return p;
}

void *__wrap_calloc(size_t n, size_t sz)
{
	void *p = inject() ? NULL : __real_calloc(n, sz);

	if (active)
		set_add(p);
	return p;
}

void *__wrap_realloc(void *p, size_t n)
{
	void *q;

	if (inject())
		return NULL;
	q = __real_realloc(p, n);
	if (q) {
		set_del(p);
		if (active)
			set_add(q);
	}
	return q;
}

void __wrap_free(void *p)
{
	set_del(p);
	__real_free(p);
}

/* A library call, with its allocations counted and perhaps failed. */
#define LIB(expr) ({ \
		active = true; \
		__typeof__(expr) v_ = (expr); \
		active = false; \
		v_; \
	})
#define LIBV(expr) do { active = true; expr; active = false; } while (0)

/* ---- scenario machinery --------------------------------------------- */

struct sc {
	struct memslot_sim_opts so;
	int mode;
	uint32_t vm_flags;
	struct memslot_sim *sim;
	struct memslot_vm *vm;
	struct memslot_txn *txn;
	int count;                /* changes queued in txn */
	int nomem;                /* -ENOMEM seen and survived */
	int adopted;              /* while adopting: slots in the view, or -1 */
};

static void after_enomem(struct sc *s)
{
	s->nomem++;
	if (s->adopted >= 0)
		ck_assert_int_eq(memslot_vm_count(s->vm), s->adopted);
	else if (s->vm && s->sim)
		assert_view_eq_sim(s->vm, s->sim);
	if (s->txn)
		ck_assert_int_eq(memslot_txn_count(s->txn), s->count);
}

/* Call; on -ENOMEM check that nothing changed and call once more. */
#define TRY(s, expr, want) do { \
		int r_ = LIB(expr); \
		if (r_ == -ENOMEM) { \
			after_enomem(s); \
			r_ = LIB(expr); \
		} \
		ck_assert_msg(r_ == (want), "%s: %d, want %d (failing allocation %ld)", \
			      #expr, r_, (int)(want), fail_at); \
	} while (0)

static void sim_create(struct sc *s, uint16_t as_id, uint16_t id, uint64_t gpa,
		       uint64_t size)
{
	struct kvm_userspace_memory_region2 k = {
		.slot = (uint32_t)as_id << 16 | id,
		.guest_phys_addr = gpa, .memory_size = size,
		.userspace_addr = HVA(id),
	};

	ck_assert_int_eq(memslot_sim_ioctl(s->sim, -1,
					   KVM_SET_USER_MEMORY_REGION2, &k), 0);
}

static void add(struct sc *s, struct memslot_region r, int want_id)
{
	uint16_t id = 0xeeee;

	TRY(s, memslot_txn_add(s->txn, &r, &id), 0);
	s->count++;
	if (want_id >= 0)
		ck_assert_int_eq(id, want_id);
}

static void begin(struct sc *s)
{
	s->count = 0;
	TRY(s, memslot_txn_begin(s->vm, &s->txn), 0);
}

/* Commit what build() queues; after -ENOMEM the table must be unchanged. */
static void commit(struct sc *s, void (*build)(struct sc *))
{
	static struct table before, after;
	struct memslot_error err = { .sz = sizeof(err) };
	int r;

	for (int tries = 0;; tries++) {
		table_of_sim(s->sim, &before);
		begin(s);
		build(s);
		r = LIB(memslot_txn_commit(s->txn, &err));
		s->txn = NULL;
		if (r != -ENOMEM || tries)
			break;
		table_of_sim(s->sim, &after);
		assert_tables_eq(&before, &after, "commit failed with ENOMEM");
		ck_assert(!(err.flags & MEMSLOT_ERROR_ROLLBACK_FAILED));
		after_enomem(s);
	}
	ck_assert_msg(r == 0, "commit: %d (failing allocation %ld)", r, fail_at);
	assert_view_eq_sim(s->vm, s->sim);
}

static void encode(struct sc *s)
{
	static unsigned char buf[1 << 16];
	ssize_t n = LIB(memslot_txn_encode(s->txn, NULL, 0)), n2;

	if (n == -ENOMEM) {
		after_enomem(s);
		n = LIB(memslot_txn_encode(s->txn, NULL, 0));
	}
	ck_assert_int_gt(n, 8);
	ck_assert_int_le(n, sizeof(buf));
	n2 = LIB(memslot_txn_encode(s->txn, buf, sizeof(buf)));
	if (n2 == -ENOMEM) {
		after_enomem(s);
		n2 = LIB(memslot_txn_encode(s->txn, buf, sizeof(buf)));
	}
	ck_assert_int_eq(n2, n);
}

/* ---- the scenarios ---------------------------------------------------- */

#define GPA(n) ((uint64_t)(n) * 0x100000ull)

static void build_first(struct sc *s)
{
	add(s, test_region(0, MEMSLOT_ANY_SLOT, GPA(10), 2 * PAGE, HVA(10), 0), 0);
	add(s, test_region(0, MEMSLOT_ANY_SLOT, GPA(11), PAGE, HVA(11), 0), 3);
	add(s, test_region(0, 450, GPA(12), PAGE, HVA(12), 0), 450);
	add(s, test_region(1, MEMSLOT_ANY_SLOT, GPA(10), PAGE, HVA(13), 0), 0);
	TRY(s, memslot_txn_delete(s->txn, 0, 200), 0);
	s->count++;
	TRY(s, memslot_txn_move(s->txn, 0, 300, GPA(20)), 0);
	s->count++;
	TRY(s, memslot_txn_set_flags(s->txn, 0, 1, MEMSLOT_LOG_DIRTY_PAGES), 0);
	s->count++;
	/* The delete's id is in quarantine: ANY skips 200 later on. */
	encode(s);
	/* Enough ids to grow the transaction's arrays a few times. */
	for (int i = 0; i < 40; i++)
		add(s, test_region(0, MEMSLOT_ANY_SLOT, GPA(100 + i), PAGE,
				  HVA(100 + i), 0), -1);
	encode(s);
}

static void build_second(struct sc *s)
{
	struct memslot_region r = test_region(0, 1, GPA(1), 4 * PAGE, HVA(1), 0);

	/* Replace slot 1 (size change: delete and create) and move 300 back. */
	TRY(s, memslot_txn_delete(s->txn, 0, 1), 0);
	s->count++;
	add(s, r, 1);
	TRY(s, memslot_txn_move(s->txn, 0, 300, GPA(3)), 0);
	s->count++;
	for (int id = 8; id < 30; id++) {
		TRY(s, memslot_txn_delete(s->txn, 0, (uint16_t)id), 0);
		s->count++;
	}
	encode(s);
}

static void scenario(struct sc *s)
{
	int r;

	/* The simulated kernel allocates its tables up front. */
	r = LIB(memslot_sim_new(&s->so, &s->sim));
	if (r == -ENOMEM) {
		ck_assert_ptr_null(s->sim);
		s->nomem++;
		r = LIB(memslot_sim_new(&s->so, &s->sim));
	}
	ck_assert_int_eq(r, 0);
	/* Slots made by other code before the vm object. */
	sim_create(s, 0, 1, GPA(1), PAGE);
	sim_create(s, 0, 200, GPA(2), PAGE);
	sim_create(s, 0, 300, GPA(3), 2 * PAGE);
	sim_create(s, 1, 5, GPA(1), PAGE);

	{
		struct memslot_vm_opts o = {
			.sz = sizeof(o), .mode = s->mode,
			.ioctl = memslot_sim_ioctl, .ioctl_opaque = s->sim,
			.flags = s->vm_flags,
		};

		r = LIB(memslot_vm_new(-1, &o, &s->vm));
		if (r == -ENOMEM) {
			ck_assert_ptr_null(s->vm);
			s->nomem++;
			r = LIB(memslot_vm_new(-1, &o, &s->vm));
		}
		ck_assert_int_eq(r, 0);
	}
	{
		struct memslot_region a[] = {
			test_region(0, 1, GPA(1), PAGE, HVA(1), 0),
			test_region(0, 200, GPA(2), PAGE, HVA(200), 0),
			test_region(0, 300, GPA(3), 2 * PAGE, HVA(300), 0),
			test_region(1, 5, GPA(1), PAGE, HVA(5), 0),
		};

		for (size_t i = 0; i < sizeof(a) / sizeof(a[0]); i++) {
			s->adopted = (int)i;
			TRY(s, memslot_vm_adopt(s->vm, &a[i]), 0);
		}
		s->adopted = -1;
	}
	TRY(s, memslot_vm_reserve(s->vm, 0, 1), -EEXIST);
	TRY(s, memslot_vm_reserve(s->vm, 0, 2), 0);     /* ANY skips it */
	TRY(s, memslot_vm_reserve(s->vm, 1, 400), 0);
	assert_view_eq_sim(s->vm, s->sim);

	commit(s, build_first);
	commit(s, build_second);
	if (s->vm_flags & MEMSLOT_VM_HOLD_DELETED_IDS)
		TRY(s, memslot_vm_release(s->vm, 0, 200), 0);
	TRY(s, memslot_vm_unreserve(s->vm, 0, 2), 0);

	/* An aborted transaction. */
	begin(s);
	for (int i = 0; i < 20; i++)
		add(s, test_region(1, MEMSLOT_ANY_SLOT, GPA(200 + i), PAGE,
				  HVA(200 + i), 0), -1);
	TRY(s, memslot_txn_delete(s->txn, 1, 5), 0);
	s->count++;
	LIBV(memslot_txn_abort(s->txn));
	s->txn = NULL;
	assert_view_eq_sim(s->vm, s->sim);

	/* Freed with a transaction open. */
	begin(s);
	add(s, test_region(0, MEMSLOT_ANY_SLOT, GPA(300), PAGE, HVA(300), 0), -1);
	LIBV(memslot_vm_free(s->vm));
	s->vm = NULL;
	s->txn = NULL;
	LIBV(memslot_sim_free(s->sim));
	s->sim = NULL;
}

/* Run the scenario clean, then failing each allocation in turn. */
static void run_all(const struct memslot_sim_opts *so, int mode,
		    uint32_t vm_flags)
{
	long total, live0 = live;
	int nomem = 0;

	for (long n = 0;; n++) {
		struct sc s = { .so = *so, .mode = mode, .vm_flags = vm_flags,
				.adopted = -1 };

		n_alloc = 0;
		fail_at = n;
		fired = false;
		scenario(&s);
		ck_assert_msg(live == live0, "%ld blocks leaked (failing allocation %ld)",
			      live - live0, n);
		if (n == 0) {
			total = n_alloc;
			ck_assert_int_gt(total, 10);
			continue;
		}
		ck_assert_msg(fired, "allocation %ld of %ld not reached", n, total);
		nomem += s.nomem;
		if (n == total)
			break;
	}
	/* Every failure surfaced as -ENOMEM somewhere (none was swallowed
	 * by a path that could not report it). */
	ck_assert_int_eq(nomem, total);
	printf("alloc-fail: mode %d, batch %u, flags %#x: %ld allocations, "
	       "each failed once\n", mode, so->batch, vm_flags, total);
}

static struct memslot_sim_opts sim_opts(uint32_t batch, uint32_t nr_slots)
{
	struct memslot_sim_opts o = { .sz = sizeof(o), .nr_slots = nr_slots,
				      .nr_as = 2, .batch = batch };

	return o;
}

START_TEST(alloc_sequential)
{
	struct memslot_sim_opts o = sim_opts(0, 512);

	run_all(&o, MEMSLOT_MODE_AUTO, 0);
}
END_TEST

START_TEST(alloc_batch)
{
	struct memslot_sim_opts o = sim_opts(1, 512);

	run_all(&o, MEMSLOT_MODE_AUTO, 0);
}
END_TEST

START_TEST(alloc_hold_deleted)
{
	struct memslot_sim_opts o = sim_opts(0, 1000);

	run_all(&o, MEMSLOT_MODE_SEQUENTIAL, MEMSLOT_VM_HOLD_DELETED_IDS);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("alloc-fail");
	TCase *tc = tcase_create("every allocation");

	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, alloc_sequential);
	tcase_add_test(tc, alloc_batch);
	tcase_add_test(tc, alloc_hold_deleted);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
