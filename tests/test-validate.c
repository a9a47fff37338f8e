/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Every validation rule with its errno, at its edges, and the order
 * between rules.  Each verdict of the library on a request is also
 * checked against the simulated kernel given the same raw request.
 */
#include <errno.h>
#include <string.h>

#include "kvm-compat.h"
#include "testutil.h"

#define GMEM_FD 3   /* any fd: the sim checks only its sign */

static struct fixture f;

/* Slots every test starts with. */
static void setup_slots(void)
{
	struct memslot_caps caps = { .sz = sizeof(caps) };

	ck_assert_int_eq(memslot_vm_caps(f.vm, &caps), 0);
	commit_add(&f, test_region(0, 0, 1 * MiB, 1 * MiB, HVA(0), 0));
	commit_add(&f, test_region(0, 5, 16 * MiB, 2 * MiB, HVA(1),
			      MEMSLOT_LOG_DIRTY_PAGES));
	if (caps.nr_as > 1)
		commit_add(&f, test_region(1, 7, 1 * MiB, 1 * MiB, HVA(2), 0));
	commit_add(&f, test_region(0, 9, 64 * MiB, 1 * MiB, HVA(3), MEMSLOT_READONLY));
}

static void setup_default(void)
{
	fixture_init(&f, NULL, MEMSLOT_MODE_SEQUENTIAL, 0);
	setup_slots();
}

static void setup_opts(struct memslot_sim_opts o)
{
	o.sz = sizeof(o);
	fixture_init(&f, &o, MEMSLOT_MODE_SEQUENTIAL, 0);
	setup_slots();
}

static void setup_gmem(void)
{
	setup_opts((struct memslot_sim_opts){ .guest_memfd = 1 });
}

static void setup_v1(void)
{
	setup_opts((struct memslot_sim_opts){ .no_region2 = 1 });
}

static void setup_no_ro(void)
{
	fixture_init(&f, &(struct memslot_sim_opts){ .sz = sizeof(struct memslot_sim_opts),
			.no_readonly = 1 }, MEMSLOT_MODE_SEQUENTIAL, 0);
}

static void setup_one_as(void)
{
	setup_opts((struct memslot_sim_opts){ .nr_as = 1 });
}

static void teardown(void)
{
	fixture_fini(&f);
}

/* What the simulated kernel answers to r as one raw ioctl. */
static int sim_verdict(const struct memslot_region *r)
{
	struct memslot_caps caps = { .sz = sizeof(caps) };
	struct kvm_userspace_memory_region2 k = {
		.slot = (uint32_t)r->as_id << 16 | r->slot,
		.flags = r->flags,
		.guest_phys_addr = r->guest_phys_addr,
		.memory_size = r->memory_size,
		.userspace_addr = r->userspace_addr,
		.guest_memfd_offset = r->guest_memfd_offset,
		.guest_memfd = (uint32_t)r->guest_memfd,
	};

	ck_assert_int_eq(memslot_vm_caps(f.vm, &caps), 0);
	return memslot_sim_ioctl(f.sim, -1, caps.user_memory2 ?
				 KVM_SET_USER_MEMORY_REGION2 :
				 KVM_SET_USER_MEMORY_REGION, &k);
}

/*
 * The library's verdict on r in a fresh transaction must be want; a
 * rejection must leave the transaction empty and usable; the simulated
 * kernel must agree on rejections (accepted requests would change it).
 */
static void expect(struct memslot_region r, int want)
{
	struct memslot_txn *txn;
	uint16_t id;

	ck_assert_int_eq(memslot_txn_begin(f.vm, &txn), 0);
	ck_assert_int_eq(memslot_txn_add(txn, &r, &id), want);
	if (want) {
		ck_assert_int_eq(memslot_txn_count(txn), 0);
		ck_assert_int_eq(memslot_txn_commit(txn, NULL), 0);
		if (r.slot != MEMSLOT_ANY_SLOT && want != -EBUSY)
			ck_assert_int_eq(sim_verdict(&r), want);
	} else {
		ck_assert_int_eq(memslot_txn_count(txn), 1);
		ck_assert_int_eq(memslot_txn_commit(txn, NULL), 0);
	}
	assert_view_matches(&f);
}

START_TEST(rule_b_slot_id_range)
{
	expect(test_region(0, 32764, 0, PAGE, HVA(9), 0), -EINVAL);
	expect(test_region(0, 32763, 0, PAGE, HVA(9), 0), 0);
}
END_TEST

START_TEST(rule_d1_flags)
{
	expect(test_region(0, 1, 0, PAGE, HVA(9), 1u << 3), -EINVAL);
	expect(test_region(0, 1, 0, PAGE, HVA(9), 1u << 31), -EINVAL);
	/* guest_memfd needs a private-memory VM */
	expect(test_region(0, 1, 0, PAGE, HVA(9), MEMSLOT_GUEST_MEMFD), -EINVAL);
	expect(test_region(0, 1, 0, PAGE, HVA(9),
		      MEMSLOT_READONLY | MEMSLOT_LOG_DIRTY_PAGES), 0);
}
END_TEST

START_TEST(rule_d3_d4_d5_alignment)
{
	expect(test_region(0, 1, 0, PAGE - 1, HVA(9), 0), -EINVAL);
	expect(test_region(0, 1, 0, PAGE + 1, HVA(9), 0), -EINVAL);
	expect(test_region(0, 1, 512, PAGE, HVA(9), 0), -EINVAL);
	expect(test_region(0, 1, 0, PAGE, HVA(9) + 8, 0), -EINVAL);
	/* access_ok: beyond the user address space, wrapping, on a delete */
	expect(test_region(0, 1, 0, PAGE, 1ull << 63, 0), -EINVAL);
	expect(test_region(0, 1, 0, 2 * PAGE, ~0ull - PAGE + 1, 0), -EINVAL);
	expect(test_region(0, 0, 1 * MiB, 0, 1ull << 63, 0), -EINVAL);
	/* below TASK_SIZE_MAX - PAGE is user space on every x86_64 host */
	expect(test_region(0, 1, 0, PAGE, (1ull << 47) - 3 * PAGE, 0), 0);
}
END_TEST

START_TEST(rule_d7_address_space)
{
	expect(test_region(2, 1, 0, PAGE, HVA(9), 0), -EINVAL);
	expect(test_region(0xffff, 1, 0, PAGE, HVA(9), 0), -EINVAL);
	expect(test_region(1, 1, 0, PAGE, HVA(9), 0), 0);
}
END_TEST

START_TEST(rule_d8_gpa_wrap)
{
	/* an end of exactly 2^64 wraps to 0 */
	expect(test_region(0, 1, ~0ull - PAGE + 1, PAGE, HVA(9), 0), -EINVAL);
	expect(test_region(0, 1, ~0ull - 4 * PAGE + 1, 2 * PAGE, HVA(9), 0), 0);
}
END_TEST

START_TEST(rule_d9_max_pages)
{
	uint64_t max = 0x7fffffffull * PAGE;

	expect(test_region(0, 1, 1ull << 44, max + PAGE, HVA(16), 0), -EINVAL);
	expect(test_region(0, 1, 1ull << 44, max, HVA(16), 0), 0);
}
END_TEST

START_TEST(rule_e1_delete_missing)
{
	expect(test_region(0, 1, 0, 0, HVA(9), 0), -EINVAL);
	expect(test_region(0, 0, 0, 0, HVA(9), 0), 0);   /* fields need not match */
	ck_assert_int_eq(memslot_vm_find(f.vm, 0, 0, &(struct memslot_region){
		.sz = sizeof(struct memslot_region) }), -ENOENT);
}
END_TEST

START_TEST(rule_e6_immutable_fields)
{
	expect(test_region(0, 0, 1 * MiB, 2 * MiB, HVA(0), 0), -EINVAL);     /* resize */
	expect(test_region(0, 0, 1 * MiB, 1 * MiB, HVA(8), 0), -EINVAL);     /* hva */
	expect(test_region(0, 0, 1 * MiB, 1 * MiB, HVA(0), MEMSLOT_READONLY), -EINVAL);
	expect(test_region(0, 9, 64 * MiB, 1 * MiB, HVA(3), 0), -EINVAL);    /* RO off */
}
END_TEST

START_TEST(rule_e7_move_flags_noop)
{
	struct memslot_txn *txn;
	struct memslot_error err = { .sz = sizeof(err) };

	/* an identical re-issue is accepted and sends nothing */
	ck_assert_int_eq(memslot_txn_begin(f.vm, &txn), 0);
	struct memslot_region same = test_region(0, 0, 1 * MiB, 1 * MiB, HVA(0), 0);
	ck_assert_int_eq(memslot_txn_add(txn, &same, NULL), 0);
	ck_assert_int_eq(memslot_txn_commit(txn, &err), 0);
	ck_assert_uint_eq(err.issued, 0);
	expect(test_region(0, 0, 4 * MiB, 1 * MiB, HVA(0), 0), 0);              /* move */
	expect(test_region(0, 0, 4 * MiB, 1 * MiB, HVA(0),
		      MEMSLOT_LOG_DIRTY_PAGES), 0);                          /* flags */
	expect(test_region(0, 0, 8 * MiB, 1 * MiB, HVA(0), 0), 0);    /* move + flags */
}
END_TEST

START_TEST(rule_f_overlap)
{
	/* one page into slot 0 from either side */
	expect(test_region(0, 1, 1 * MiB - PAGE, 2 * PAGE, HVA(9), 0), -EEXIST);
	expect(test_region(0, 1, 2 * MiB - PAGE, 2 * PAGE, HVA(9), 0), -EEXIST);
	/* a slot inside another, and one around it */
	expect(test_region(0, 1, 1 * MiB + PAGE, PAGE, HVA(9), 0), -EEXIST);
	expect(test_region(0, 1, 0, 4 * MiB, HVA(9), 0), -EEXIST);
	/* the other address space does not count; adjacency is fine */
	expect(test_region(1, 1, 16 * MiB, PAGE, HVA(9), 0), 0);
	expect(test_region(0, 2, 1 * MiB - PAGE, PAGE, HVA(10), 0), 0);
	expect(test_region(0, 3, 2 * MiB, PAGE, HVA(11), 0), 0);
	/* a move may overlap its own old range, not another slot */
	expect(test_region(0, 5, 16 * MiB + PAGE, 2 * MiB, HVA(1),
		      MEMSLOT_LOG_DIRTY_PAGES), 0);
	expect(test_region(0, 5, 1 * MiB + PAGE, 2 * MiB, HVA(1),
		      MEMSLOT_LOG_DIRTY_PAGES), -EEXIST);
}
END_TEST

START_TEST(rule_order_sanity_before_overlap)
{
	/* overlapping and unaligned: the sanity check comes first */
	expect(test_region(0, 1, 1 * MiB + 512, PAGE, HVA(9), 0), -EINVAL);
	/* overlapping and a bad id */
	expect(test_region(0, 40000, 1 * MiB, PAGE, HVA(9), 0), -EINVAL);
	/* overlapping a slot and changing its own size */
	expect(test_region(0, 0, 16 * MiB, 3 * MiB, HVA(0), 0), -EINVAL);
}
END_TEST

START_TEST(rule_pending_view)
{
	struct memslot_txn *txn;
	struct memslot_region r;

	ck_assert_int_eq(memslot_txn_begin(f.vm, &txn), 0);
	/* the range of a slot deleted earlier in the transaction is free */
	ck_assert_int_eq(memslot_txn_delete(txn, 0, 0), 0);
	r = test_region(0, 1, 1 * MiB, 2 * PAGE, HVA(9), 0);
	ck_assert_int_eq(memslot_txn_add(txn, &r, NULL), 0);
	/* a slot created earlier in the transaction counts */
	r = test_region(0, 2, 1 * MiB + PAGE, PAGE, HVA(10), 0);
	ck_assert_int_eq(memslot_txn_add(txn, &r, NULL), -EEXIST);
	/* a moved slot frees its old range and takes the new one */
	ck_assert_int_eq(memslot_txn_move(txn, 0, 5, 128 * MiB), 0);
	r = test_region(0, 2, 16 * MiB, PAGE, HVA(10), 0);
	ck_assert_int_eq(memslot_txn_add(txn, &r, NULL), 0);
	r = test_region(0, 3, 128 * MiB, PAGE, HVA(11), 0);
	ck_assert_int_eq(memslot_txn_add(txn, &r, NULL), -EEXIST);
	/* the deleted id may be reused explicitly, with the new rules */
	r = test_region(0, 0, 32 * MiB, 4 * MiB, HVA(12), MEMSLOT_READONLY);
	ck_assert_int_eq(memslot_txn_add(txn, &r, NULL), 0);
	ck_assert_int_eq(memslot_txn_count(txn), 5);
	ck_assert_int_eq(memslot_txn_commit(txn, NULL), 0);
	assert_view_matches(&f);
}
END_TEST

START_TEST(rule_library_ids)
{
	ck_assert_int_eq(memslot_vm_reserve(f.vm, 0, 20), 0);
	expect(test_region(0, 20, 0, PAGE, HVA(9), 0), -EBUSY);
	ck_assert_int_eq(memslot_vm_unreserve(f.vm, 0, 20), 0);
	expect(test_region(0, 20, 0, PAGE, HVA(9), 0), 0);
}
END_TEST

START_TEST(rule_convenience_calls)
{
	struct memslot_txn *txn;

	ck_assert_int_eq(memslot_txn_begin(f.vm, &txn), 0);
	ck_assert_int_eq(memslot_txn_delete(txn, 0, 1), -ENOENT);
	ck_assert_int_eq(memslot_txn_move(txn, 0, 1, 0), -ENOENT);
	ck_assert_int_eq(memslot_txn_set_flags(txn, 0, 1, 0), -ENOENT);
	ck_assert_int_eq(memslot_txn_delete(txn, 2, 0), -EINVAL);
	ck_assert_int_eq(memslot_txn_move(txn, 0, 32764, 0), -EINVAL);
	ck_assert_int_eq(memslot_txn_move(txn, 0, 0, 1 * MiB + 1), -EINVAL);
	ck_assert_int_eq(memslot_txn_move(txn, 0, 0, 16 * MiB), -EEXIST);
	ck_assert_int_eq(memslot_txn_set_flags(txn, 0, 9, 0), -EINVAL);
	ck_assert_int_eq(memslot_txn_set_flags(txn, 0, 0, 1u << 4), -EINVAL);
	ck_assert_int_eq(memslot_txn_count(txn), 0);
	ck_assert_int_eq(memslot_txn_set_flags(txn, 0, 0,
					       MEMSLOT_LOG_DIRTY_PAGES), 0);
	ck_assert_int_eq(memslot_txn_move(txn, 0, 0, 0), 0);
	ck_assert_int_eq(memslot_txn_delete(txn, 0, 0), 0);
	ck_assert_int_eq(memslot_txn_delete(txn, 0, 0), -ENOENT);
	ck_assert_int_eq(memslot_txn_count(txn), 3);
	ck_assert_int_eq(memslot_txn_commit(txn, NULL), 0);
	assert_view_matches(&f);
	ck_assert_int_eq(memslot_vm_count(f.vm), 3);
}
END_TEST

/* ---- VMs with other capabilities ---- */

START_TEST(rule_a2_v1_flag_mask)
{
	struct memslot_region r = test_region(0, 1, 0, PAGE, HVA(9),
					 MEMSLOT_GUEST_MEMFD);

	expect(r, -EINVAL);
	expect(test_region(0, 1, 0, PAGE, HVA(9), 1u << 5), -EINVAL);
	expect(test_region(0, 1, 0, PAGE, HVA(9), MEMSLOT_READONLY), 0);
}
END_TEST

START_TEST(rule_no_readonly)
{
	expect(test_region(0, 1, 0, PAGE, HVA(9), MEMSLOT_READONLY), -EINVAL);
	expect(test_region(0, 1, 0, PAGE, HVA(9), MEMSLOT_LOG_DIRTY_PAGES), 0);
}
END_TEST

START_TEST(rule_one_address_space)
{
	expect(test_region(1, 1, 0, PAGE, HVA(9), 0), -EINVAL);
}
END_TEST

static struct memslot_region gmem(uint16_t slot, uint64_t gpa, uint64_t size,
				  uint64_t off, int fd, uint32_t extra)
{
	struct memslot_region r = test_region(0, slot, gpa, size, HVA(20 + slot),
					 MEMSLOT_GUEST_MEMFD | extra);

	r.guest_memfd = fd;
	r.guest_memfd_offset = off;
	return r;
}

START_TEST(rule_guest_memfd)
{
	/* D1: guest_memfd excludes dirty logging and read-only */
	expect(gmem(1, 0, PAGE, 0, GMEM_FD, MEMSLOT_LOG_DIRTY_PAGES), -EINVAL);
	expect(gmem(1, 0, PAGE, 0, GMEM_FD, MEMSLOT_READONLY), -EINVAL);
	/* D6: offset alignment and wrap */
	expect(gmem(1, 0, PAGE, 512, GMEM_FD, 0), -EINVAL);
	expect(gmem(1, 0, 2 * PAGE, ~0ull - PAGE + 1, GMEM_FD, 0), -EINVAL);
	/* H: a negative fd, but an overlap is reported first */
	expect(gmem(1, 0, PAGE, 0, -1, 0), -EBADF);
	expect(gmem(1, 1 * MiB, PAGE, 0, -1, 0), -EEXIST);
	expect(gmem(1, 0, PAGE, 0, GMEM_FD, 0), 0);
	/* E4: a request carrying guest_memfd on it, even identical */
	expect(gmem(1, 0, PAGE, 0, GMEM_FD, 0), -EINVAL);
	expect(gmem(1, 4 * MiB, PAGE, 0, GMEM_FD, 0), -EINVAL);
	/* E5: clearing guest_memfd (a use-after-free in 6.8 to 6.12) */
	expect(test_region(0, 1, 0, PAGE, HVA(21), 0), -EINVAL);
	/* E4 on a normal slot */
	expect(gmem(0, 1 * MiB, 1 * MiB, 0, GMEM_FD, 0), -EINVAL);
	/* the only change allowed: delete */
	expect(test_region(0, 1, 0, 0, HVA(21), 0), 0);
}
END_TEST

static TCase *tcase(const char *name, void (*setup)(void))
{
	TCase *tc = tcase_create(name);

	tcase_add_checked_fixture(tc, setup, teardown);
	return tc;
}

int main(void)
{
	Suite *s = suite_create("validate");
	TCase *tc = tcase("default-vm", setup_default);

	tcase_add_test(tc, rule_b_slot_id_range);
	tcase_add_test(tc, rule_d1_flags);
	tcase_add_test(tc, rule_d3_d4_d5_alignment);
	tcase_add_test(tc, rule_d7_address_space);
	tcase_add_test(tc, rule_d8_gpa_wrap);
	tcase_add_test(tc, rule_d9_max_pages);
	tcase_add_test(tc, rule_e1_delete_missing);
	tcase_add_test(tc, rule_e6_immutable_fields);
	tcase_add_test(tc, rule_e7_move_flags_noop);
	tcase_add_test(tc, rule_f_overlap);
	tcase_add_test(tc, rule_order_sanity_before_overlap);
	tcase_add_test(tc, rule_pending_view);
	tcase_add_test(tc, rule_library_ids);
	tcase_add_test(tc, rule_convenience_calls);
	suite_add_tcase(s, tc);

	tc = tcase("region-v1-vm", setup_v1);
	tcase_add_test(tc, rule_a2_v1_flag_mask);
	suite_add_tcase(s, tc);
	tc = tcase("no-readonly-vm", setup_no_ro);
	tcase_add_test(tc, rule_no_readonly);
	suite_add_tcase(s, tc);
	tc = tcase("one-as-vm", setup_one_as);
	tcase_add_test(tc, rule_one_address_space);
	suite_add_tcase(s, tc);
	tc = tcase("private-memory-vm", setup_gmem);
	tcase_add_test(tc, rule_guest_memfd);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
