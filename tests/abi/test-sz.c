/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The sz rules of the ABI, seen from callers built against other versions
 * of the header.  This program is a consumer: it includes only the public
 * header and links the shared library (lib/libmemslot.la), so what it
 * tests is the ABI as exported.
 *
 *  - an OLDER caller passes a struct with fewer trailing fields (local
 *    copies of the structs, cut short) and sz = sizeof(that struct): the
 *    missing fields get their defaults; output structs are written only up
 *    to its sz (the bytes right after stay intact);
 *  - a NEWER caller passes a struct with extra trailing fields: accepted
 *    when the extra bytes are zero, refused with -E2BIG otherwise; output
 *    structs get zero in the fields this library does not know;
 *  - sz smaller than sizeof(size_t) is -EINVAL, and nothing is written.
 *
 * The simulated kernel (memslot_sim_ioctl as the ioctl hook) stands in for
 * /dev/kvm.  Prints "N passed, N failed"; exits 1 on any failure.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <libmemslot/libmemslot.h>

static int passed, failed;

#define CHECK(cond, what) check(!!(cond), __LINE__, #cond, what)

static void check(int ok, int line, const char *expr, const char *what)
{
	if (ok) {
		passed++;
		return;
	}
	failed++;
	printf("FAIL line %d: %s (%s)\n", line, what, expr);
}

#define CANARY 0xa5u
#define END_OF(type, member) (offsetof(type, member) + sizeof(((type *)0)->member))

/* An aligned byte buffer, larger than any struct here. */
union buf {
	max_align_t align;
	unsigned char b[256];
};

static void buf_fill(union buf *u, unsigned char v, size_t sz)
{
	memset(u->b, v, sizeof(u->b));
	memcpy(u->b, &sz, sizeof(sz));
}

static int all_bytes(const unsigned char *p, size_t from, size_t to,
		     unsigned char v)
{
	for (size_t i = from; i < to; i++)
		if (p[i] != v)
			return 0;
	return 1;
}

/* ---- the structs as an older header had them -------------------------- */

struct old_region {          /* no guest_memfd_offset, guest_memfd */
	size_t sz;
	uint16_t as_id;
	uint16_t slot;
	uint32_t flags;
	uint64_t guest_phys_addr;
	uint64_t memory_size;
	uint64_t userspace_addr;
};

struct old_region_short {    /* cut before guest_phys_addr */
	size_t sz;
	uint16_t as_id;
	uint16_t slot;
	uint32_t flags;
};

struct old_vm_opts {         /* no quiesce, resume, quiesce_opaque, flags */
	size_t sz;
	int mode;
	int (*ioctl)(void *opaque, int fd, unsigned long req, void *arg);
	void *ioctl_opaque;
};

struct old_vm_opts_short {   /* no ioctl hook either */
	size_t sz;
	int mode;
};

struct old_sim_opts {        /* nr_slots and nr_as only */
	size_t sz;
	uint32_t nr_slots;
	uint32_t nr_as;
};

struct old_caps {
	size_t sz;
	uint32_t nr_slots;
	uint32_t nr_as;
};

struct old_error {
	size_t sz;
	int err;
	int change;
};

/* ---- the structs as a newer header might have them ------------------- */

struct new_region { struct memslot_region base; uint64_t future[2]; };
struct new_vm_opts { struct memslot_vm_opts base; uint64_t future[2]; };
struct new_sim_opts { struct memslot_sim_opts base; uint64_t future[2]; };
struct new_caps { struct memslot_caps base; uint64_t future[2]; };

/* ---- helpers ------------------------------------------------------------ */

#define PAGE 4096u
#define HVA  0x10000000ull   /* page aligned, below any user address limit */

static struct memslot_sim *new_sim(void)
{
	struct memslot_sim *sim = NULL;
	struct memslot_sim_opts so;

	memset(&so, 0, sizeof(so));
	so.sz = sizeof(so);
	so.nr_slots = 16;
	so.nr_as = 1;
	return memslot_sim_new(&so, &sim) ? NULL : sim;
}

static struct memslot_vm *new_vm(struct memslot_sim *sim, uint32_t flags)
{
	struct memslot_vm_opts o;
	struct memslot_vm *vm = NULL;

	if (!sim)
		return NULL;
	memset(&o, 0, sizeof(o));
	o.sz = sizeof(o);
	o.ioctl = memslot_sim_ioctl;
	o.ioctl_opaque = sim;
	o.flags = flags;
	return memslot_vm_new(-1, &o, &vm) ? NULL : vm;
}

static void region(struct memslot_region *r, uint16_t slot, uint64_t gpa)
{
	memset(r, 0, sizeof(*r));
	r->sz = sizeof(*r);
	r->slot = slot;
	r->guest_phys_addr = gpa;
	r->memory_size = 4 * PAGE;
	r->userspace_addr = HVA + gpa;
}

/* Queue one change given as raw bytes (any struct layout) and commit it. */
static int add_commit(struct memslot_vm *vm, const void *r)
{
	struct memslot_txn *txn;
	int err;

	if ((err = memslot_txn_begin(vm, &txn)))
		return err;
	if ((err = memslot_txn_add(txn, r, NULL))) {
		memslot_txn_abort(txn);
		return err;
	}
	return memslot_txn_commit(txn, NULL);
}

static int create_slot(struct memslot_vm *vm, uint16_t slot, uint64_t gpa)
{
	struct memslot_region r;

	region(&r, slot, gpa);
	return add_commit(vm, &r);
}

static int delete_commit(struct memslot_vm *vm, uint16_t slot)
{
	struct memslot_txn *txn;
	int err;

	if ((err = memslot_txn_begin(vm, &txn)))
		return err;
	if ((err = memslot_txn_delete(txn, 0, slot))) {
		memslot_txn_abort(txn);
		return err;
	}
	return memslot_txn_commit(txn, NULL);
}

/* ---- older callers: inputs ---------------------------------------------- */

static void test_old_region_in(void)
{
	struct memslot_sim *sim = new_sim();
	struct memslot_vm *vm = new_vm(sim, 0);
	struct old_region o;
	struct old_region_short d;
	struct memslot_region out;
	size_t only_sz = sizeof(size_t);

	CHECK(vm != NULL, "setup");
	if (!vm)
		goto out;

	/* Without guest_memfd_offset and guest_memfd: a plain slot. */
	memset(&o, 0, sizeof(o));
	o.sz = sizeof(o);
	o.slot = 3;
	o.flags = MEMSLOT_LOG_DIRTY_PAGES;
	o.guest_phys_addr = 0x100000;
	o.memory_size = 8 * PAGE;
	o.userspace_addr = HVA;
	CHECK(add_commit(vm, &o) == 0, "old region (no guest_memfd fields) is accepted");
	memset(&out, 0xff, sizeof(out));
	out.sz = sizeof(out);
	CHECK(memslot_vm_find(vm, 0, 3, &out) == 0, "find the slot of an old caller");
	CHECK(out.as_id == 0 && out.slot == 3 && out.guest_phys_addr == 0x100000 &&
	      out.memory_size == 8 * PAGE && out.userspace_addr == HVA &&
	      out.flags == MEMSLOT_LOG_DIRTY_PAGES, "the old caller's fields arrive");
	CHECK(out.guest_memfd_offset == 0, "missing guest_memfd_offset defaults to 0");

	/* Cut before guest_phys_addr: memory_size defaults to 0, a delete. */
	memset(&d, 0, sizeof(d));
	d.sz = sizeof(d);
	d.slot = 3;
	d.flags = MEMSLOT_LOG_DIRTY_PAGES;
	CHECK(add_commit(vm, &d) == 0, "region cut before guest_phys_addr is accepted");
	CHECK(memslot_vm_find(vm, 0, 3, &out) == -ENOENT,
	      "missing memory_size defaults to 0: the slot is deleted");

	/* Only sz: as 0, slot 0, flags 0, size 0: deletes slot 0. */
	CHECK(create_slot(vm, 0, 0x200000) == 0, "create slot 0");
	CHECK(add_commit(vm, &only_sz) == 0, "region of sz only is accepted");
	CHECK(memslot_vm_find(vm, 0, 0, &out) == -ENOENT,
	      "region of sz only deletes slot 0 of as 0");

	/* memslot_vm_adopt follows the same rules. */
	o.slot = 5;
	o.flags = 0;
	o.guest_phys_addr = 0x400000;
	CHECK(memslot_vm_adopt(vm, (const struct memslot_region *)&o) == 0,
	      "adopt with an old region");
	CHECK(memslot_vm_find(vm, 0, 5, &out) == 0 && out.guest_memfd_offset == 0 &&
	      out.memory_size == 8 * PAGE, "adopted slot has the defaults");
out:
	memslot_vm_free(vm);
	memslot_sim_free(sim);
}

static void test_old_vm_opts(void)
{
	struct memslot_sim *sim = new_sim(), *sim2 = new_sim();
	struct memslot_vm *vm = NULL, *vm2 = NULL, *vm3 = (struct memslot_vm *)&vm;
	struct old_vm_opts o;
	struct old_vm_opts_short m;
	struct memslot_region r;
	struct memslot_txn *txn;
	uint16_t id = 99;

	CHECK(sim && sim2, "setup");
	if (!sim || !sim2)
		goto out;
	memset(&o, 0, sizeof(o));
	o.sz = sizeof(o);
	o.mode = MEMSLOT_MODE_SEQUENTIAL;
	o.ioctl = memslot_sim_ioctl;
	o.ioctl_opaque = sim;
	CHECK(memslot_vm_new(-1, (const struct memslot_vm_opts *)&o, &vm) == 0 && vm,
	      "old vm opts (no quiesce, resume, flags) are accepted");
	if (vm) {
		long before = memslot_sim_count(sim, MEMSLOT_SIM_ALL);

		CHECK(create_slot(vm, 0, 0) == 0, "create slot 0 through the old caller's hook");
		CHECK(memslot_sim_count(sim, MEMSLOT_SIM_ALL) > before,
		      "ioctl and ioctl_opaque arrived: the sim saw the commit");
		CHECK(delete_commit(vm, 0) == 0, "delete slot 0");
		/* flags defaults to 0: no HOLD_DELETED_IDS, the id is free again. */
		CHECK(memslot_vm_release(vm, 0, 0) == -ENOENT,
		      "missing flags default to 0: a deleted id is not held");
		region(&r, MEMSLOT_ANY_SLOT, 0x100000);
		CHECK(memslot_txn_begin(vm, &txn) == 0, "begin");
		CHECK(memslot_txn_add(txn, &r, &id) == 0 && id == 0,
		      "the deleted id is handed out again at once");
		memslot_txn_abort(txn);
	}

	/* Contrast: a current caller asking for HOLD_DELETED_IDS. */
	vm2 = new_vm(sim2, MEMSLOT_VM_HOLD_DELETED_IDS);
	CHECK(vm2 && create_slot(vm2, 0, 0) == 0 && delete_commit(vm2, 0) == 0 &&
	      memslot_vm_release(vm2, 0, 0) == 0, "with the flag, the id is held");

	/* Cut before ioctl: the hook defaults to NULL, so fd -1 is -EBADF. */
	memset(&m, 0, sizeof(m));
	m.sz = sizeof(m);
	CHECK(memslot_vm_new(-1, (const struct memslot_vm_opts *)&m, &vm3) == -EBADF &&
	      vm3 == NULL, "missing ioctl hook defaults to NULL: fd -1 is -EBADF");
	/* Only sz is also valid input. */
	m.sz = sizeof(size_t);
	CHECK(memslot_vm_new(-1, (const struct memslot_vm_opts *)&m, &vm3) == -EBADF,
	      "opts of sz only: all defaults");
out:
	memslot_vm_free(vm);
	memslot_vm_free(vm2);
	memslot_sim_free(sim);
	memslot_sim_free(sim2);
}

static void caps_of(struct memslot_sim *sim, struct memslot_caps *c)
{
	struct memslot_vm *vm = new_vm(sim, 0);

	memset(c, 0, sizeof(*c));
	c->sz = sizeof(*c);
	if (!vm || memslot_vm_caps(vm, c))
		memset(c, 0, sizeof(*c));
	memslot_vm_free(vm);
}

static void test_old_sim_opts(void)
{
	struct old_sim_opts o;
	struct memslot_sim *sim = NULL;
	struct memslot_caps c;
	size_t only_sz = sizeof(size_t);

	memset(&o, 0, sizeof(o));
	o.sz = sizeof(o);
	o.nr_slots = 8;
	o.nr_as = 1;
	CHECK(memslot_sim_new((const struct memslot_sim_opts *)&o, &sim) == 0 && sim,
	      "old sim opts are accepted");
	caps_of(sim, &c);
	CHECK(c.nr_slots == 8 && c.nr_as == 1, "the old caller's fields arrive");
	CHECK(c.readonly == 1 && c.user_memory2 == 1,
	      "missing no_readonly, no_region2 default to 0");
	CHECK(c.guest_memfd == 0 && c.batch == 0 && c.batch_usable == 0,
	      "missing guest_memfd, batch default to 0");
	memslot_sim_free(sim);
	sim = NULL;

	CHECK(memslot_sim_new((const struct memslot_sim_opts *)&only_sz, &sim) == 0 && sim,
	      "sim opts of sz only are accepted");
	caps_of(sim, &c);
	CHECK(c.nr_slots == 32764 && c.nr_as == 2,
	      "sz only: nr_slots 32764 and nr_as 2 (the documented defaults)");
	memslot_sim_free(sim);
}

/* ---- outputs, for every sz from sizeof(size_t) to past the struct ---------- */

/*
 * Call fill() with a buffer of each size in turn and compare with the full
 * struct: bytes of known fields below sz are the struct's, bytes between
 * sizeof and sz are zero, bytes from sz on are untouched, and sz itself is
 * left as the caller set it.  known is the end of the last field (the tail
 * padding is not compared).
 */
static void check_output(const char *name, int (*fill)(void *ctx, void *out),
			 void *ctx, size_t size, size_t known)
{
	union buf ref, u;
	int bad_data = 0, bad_zero = 0, bad_canary = 0, bad_ret = 0, bad_sz = 0;
	char what[128];

	buf_fill(&ref, 0, size);
	if (fill(ctx, ref.b)) {
		snprintf(what, sizeof(what), "%s: reference call", name);
		CHECK(0, what);
		return;
	}
	for (size_t sz = sizeof(size_t); sz <= size + 24; sz++) {
		size_t sz_out;

		buf_fill(&u, CANARY, sz);
		if (fill(ctx, u.b)) {
			bad_ret++;
			continue;
		}
		memcpy(&sz_out, u.b, sizeof(sz_out));
		bad_sz += sz_out != sz;
		for (size_t i = sizeof(size_t); i < sz && i < known; i++)
			bad_data += u.b[i] != ref.b[i];
		if (sz > size)
			bad_zero += !all_bytes(u.b, size, sz, 0);
		bad_canary += !all_bytes(u.b, sz, sizeof(u.b), CANARY);
	}
	snprintf(what, sizeof(what), "%s: every sz is accepted", name);
	CHECK(bad_ret == 0, what);
	snprintf(what, sizeof(what), "%s: sz is left as the caller set it", name);
	CHECK(bad_sz == 0, what);
	snprintf(what, sizeof(what), "%s: fields below sz are filled", name);
	CHECK(bad_data == 0, what);
	snprintf(what, sizeof(what), "%s: a newer caller's unknown fields are zeroed", name);
	CHECK(bad_zero == 0, what);
	snprintf(what, sizeof(what), "%s: nothing is written from sz on", name);
	CHECK(bad_canary == 0, what);

	/* sz below sizeof(size_t): -EINVAL and nothing written. */
	bad_ret = bad_canary = 0;
	for (size_t sz = 0; sz < sizeof(size_t); sz++) {
		buf_fill(&u, CANARY, sz);
		bad_ret += fill(ctx, u.b) != -EINVAL;
		bad_canary += !all_bytes(u.b, sizeof(size_t), sizeof(u.b), CANARY);
	}
	snprintf(what, sizeof(what), "%s: sz < sizeof(size_t) is -EINVAL", name);
	CHECK(bad_ret == 0, what);
	snprintf(what, sizeof(what), "%s: with a bad sz nothing is written", name);
	CHECK(bad_canary == 0, what);
}

static int fill_caps(void *vm, void *out)
{
	return memslot_vm_caps(vm, out);
}

static int fill_find(void *vm, void *out)
{
	return memslot_vm_find(vm, 0, 7, out);
}

static int fill_find_gpa(void *vm, void *out)
{
	return memslot_vm_find_gpa(vm, 0, 0x300000 + PAGE, out);
}

/* A commit that fails at its first ioctl with -EIO (fault injection). */
struct commit_ctx { struct memslot_vm *vm; struct memslot_sim *sim; };

static int fill_error(void *p, void *out)
{
	struct commit_ctx *c = p;
	struct memslot_region r;
	struct memslot_txn *txn;
	size_t sz;
	int err;

	if (memslot_txn_begin(c->vm, &txn))
		return -1000;
	region(&r, 9, 0x900000);
	if (memslot_txn_add(txn, &r, NULL)) {
		memslot_txn_abort(txn);
		return -1001;
	}
	memcpy(&sz, out, sizeof(sz));
	if (sz >= sizeof(size_t))
		memslot_sim_fail_nth(c->sim, 1, EIO);
	err = memslot_txn_commit(txn, out);
	memslot_sim_fail_nth(c->sim, 0, 0);
	if (sz < sizeof(size_t))
		return err;
	return err == -EIO ? 0 : -1002;
}

static void test_outputs(void)
{
	struct memslot_sim *sim = new_sim();
	struct memslot_vm *vm = new_vm(sim, 0);
	struct commit_ctx cc = { vm, sim };
	struct memslot_region r;
	struct memslot_error e;
	struct memslot_txn *txn;
	union buf u;

	struct { struct old_caps s; unsigned char after[16]; } oc;
	struct { struct old_error s; unsigned char after[16]; } oe;
	struct new_caps nc;

	CHECK(vm != NULL, "setup");
	if (!vm)
		goto out;
	region(&r, 7, 0x300000);
	r.flags = MEMSLOT_READONLY;
	CHECK(add_commit(vm, &r) == 0, "create slot 7");

	check_output("memslot_vm_caps", fill_caps, vm, sizeof(struct memslot_caps),
		     END_OF(struct memslot_caps, page_size));
	check_output("memslot_vm_find", fill_find, vm, sizeof(struct memslot_region),
		     END_OF(struct memslot_region, guest_memfd));
	check_output("memslot_vm_find_gpa", fill_find_gpa, vm, sizeof(struct memslot_region),
		     END_OF(struct memslot_region, guest_memfd));
	check_output("memslot_txn_commit error", fill_error, &cc, sizeof(struct memslot_error),
		     END_OF(struct memslot_error, issued));
	CHECK(memslot_vm_find(vm, 0, 9, (buf_fill(&u, 0, sizeof(r)), (void *)u.b)) == -ENOENT,
	      "the failed commits changed nothing");

	/* The same with the old callers' own structs. */
	memset(&oc, CANARY, sizeof(oc));
	oc.s.sz = sizeof(oc.s);
	CHECK(memslot_vm_caps(vm, (struct memslot_caps *)&oc.s) == 0 &&
	      oc.s.sz == sizeof(oc.s) && oc.s.nr_slots == 16 && oc.s.nr_as == 1,
	      "old caps: filled");
	CHECK(all_bytes(oc.after, 0, sizeof(oc.after), CANARY), "old caps: nothing written after it");

	memset(&oe, CANARY, sizeof(oe));
	oe.s.sz = sizeof(oe.s);
	memslot_sim_fail_nth(sim, 1, EIO);
	CHECK(memslot_txn_begin(vm, &txn) == 0, "begin");
	region(&r, 9, 0x900000);
	CHECK(memslot_txn_add(txn, &r, NULL) == 0, "add");
	CHECK(memslot_txn_commit(txn, (struct memslot_error *)&oe.s) == -EIO &&
	      oe.s.err == -EIO && oe.s.change == 0, "old error: filled");
	CHECK(all_bytes(oe.after, 0, sizeof(oe.after), CANARY), "old error: nothing written after it");

	/* Success: err 0 and change -1 even in the smallest struct. */
	memset(&oe, CANARY, sizeof(oe));
	oe.s.sz = sizeof(oe.s);
	CHECK(memslot_txn_begin(vm, &txn) == 0, "begin");
	CHECK(memslot_txn_add(txn, &r, NULL) == 0, "add");
	CHECK(memslot_txn_commit(txn, (struct memslot_error *)&oe.s) == 0 &&
	      oe.s.err == 0 && oe.s.change == -1, "old error on success: err 0, change -1");

	/* A newer caller's caps: the fields this library does not know are 0. */
	memset(&nc, 0xff, sizeof(nc));
	nc.base.sz = sizeof(nc);
	CHECK(memslot_vm_caps(vm, &nc.base) == 0 && nc.future[0] == 0 && nc.future[1] == 0 &&
	      nc.base.sz == sizeof(nc) && nc.base.nr_slots == 16, "newer caps: future fields zeroed");

	/* commit with a bad sz: -EINVAL, the transaction is gone, nothing applied. */
	memset(&e, CANARY, sizeof(e));
	e.sz = 4;
	region(&r, 10, 0xa00000);
	CHECK(memslot_txn_begin(vm, &txn) == 0 && memslot_txn_add(txn, &r, NULL) == 0, "begin, add");
	CHECK(memslot_txn_commit(txn, &e) == -EINVAL, "commit with error sz 4 is -EINVAL");
	CHECK(memslot_txn_begin(vm, &txn) == 0, "... and the transaction was freed");
	memslot_txn_abort(txn);
	CHECK(memslot_vm_find(vm, 0, 10, (buf_fill(&u, 0, sizeof(r)), (void *)u.b)) == -ENOENT,
	      "... and nothing was applied");
out:
	memslot_vm_free(vm);
	memslot_sim_free(sim);
}

/* ---- newer callers: inputs ------------------------------------------------ */

/*
 * A struct of size + extra bytes: with every extra byte zero it is
 * accepted; with any single one non-zero it is -E2BIG.  call() returns the
 * library's answer for the buffer (sz already set).
 */
static void check_input(const char *name, int (*call)(void *ctx, const void *in),
			void *ctx, const void *valid, size_t size)
{
	union buf u;
	int bad_zero = 0, bad_nz = 0, bad_small = 0;
	char what[128];

	for (size_t extra = 1; extra <= 24; extra++) {
		size_t sz = size + extra;

		memcpy(u.b, valid, size);
		memset(u.b + size, 0, sizeof(u.b) - size);
		memcpy(u.b, &sz, sizeof(sz));
		bad_zero += call(ctx, u.b) != 0;
		for (size_t i = size; i < sz; i++) {
			u.b[i] = 1;
			bad_nz += call(ctx, u.b) != -E2BIG;
			u.b[i] = 0;
		}
	}
	for (size_t sz = 0; sz < sizeof(size_t); sz++) {
		memcpy(u.b, valid, size);
		memset(u.b, 0, sizeof(size_t));
		memcpy(u.b, &sz, sizeof(sz) > sz ? sz : sizeof(sz));
		bad_small += call(ctx, u.b) != -EINVAL;
	}
	snprintf(what, sizeof(what), "%s: larger struct with zero tail accepted", name);
	CHECK(bad_zero == 0, what);
	snprintf(what, sizeof(what), "%s: larger struct with a non-zero tail byte is -E2BIG", name);
	CHECK(bad_nz == 0, what);
	snprintf(what, sizeof(what), "%s: sz < sizeof(size_t) is -EINVAL", name);
	CHECK(bad_small == 0, what);
}

static int call_vm_new(void *sim, const void *in)
{
	struct memslot_vm *vm = (struct memslot_vm *)&vm;
	int err = memslot_vm_new(-1, in, &vm);

	if (err && vm != NULL)
		return -1000;     /* *vmp must be NULL on failure */
	memslot_vm_free(vm);
	(void)sim;
	return err;
}

static int call_sim_new(void *ctx, const void *in)
{
	struct memslot_sim *sim = (struct memslot_sim *)&sim;
	int err = memslot_sim_new(in, &sim);

	if (err && sim != NULL)
		return -1000;
	memslot_sim_free(sim);
	(void)ctx;
	return err;
}

/* txn_add of slot 1 into an open transaction; count must not move on error. */
static int call_txn_add(void *vm, const void *in)
{
	struct memslot_txn *txn;
	int err;

	if (memslot_txn_begin(vm, &txn))
		return -1000;
	err = memslot_txn_add(txn, in, NULL);
	if (memslot_txn_count(txn) != (err ? 0 : 1))
		err = -1001;
	memslot_txn_abort(txn);
	return err;
}

/* adopt into a fresh vm each time (adopt issues no ioctl). */
static int call_adopt(void *sim, const void *in)
{
	struct memslot_vm *vm = new_vm(sim, 0);
	int err;

	if (!vm)
		return -1000;
	err = memslot_vm_adopt(vm, in);
	if (memslot_vm_count(vm) != (err ? 0 : 1))
		err = -1001;
	memslot_vm_free(vm);
	return err;
}

static void test_newer_inputs(void)
{
	struct memslot_sim *sim = new_sim();
	struct memslot_vm *vm = new_vm(sim, 0);
	struct memslot_vm_opts o;
	struct memslot_sim_opts so;
	struct memslot_region r;
	struct new_region nr;
	struct new_vm_opts no;
	struct new_sim_opts ns;
	struct memslot_txn *txn;
	struct memslot_vm *vm2 = NULL;
	struct memslot_sim *sim2 = NULL;

	CHECK(vm != NULL, "setup");
	if (!vm)
		goto out;

	memset(&o, 0, sizeof(o));
	o.sz = sizeof(o);
	o.ioctl = memslot_sim_ioctl;
	o.ioctl_opaque = sim;
	check_input("memslot_vm_new opts", call_vm_new, sim, &o, sizeof(o));

	memset(&so, 0, sizeof(so));
	so.sz = sizeof(so);
	so.nr_slots = 4;
	check_input("memslot_sim_new opts", call_sim_new, NULL, &so, sizeof(so));

	region(&r, 1, 0x100000);
	check_input("memslot_txn_add region", call_txn_add, vm, &r, sizeof(r));
	check_input("memslot_vm_adopt region", call_adopt, sim, &r, sizeof(r));

	/* The same through the newer callers' own struct types. */
	memset(&nr, 0, sizeof(nr));
	region(&nr.base, 2, 0x200000);
	nr.base.sz = sizeof(nr);
	CHECK(memslot_txn_begin(vm, &txn) == 0, "begin");
	CHECK(memslot_txn_add(txn, &nr.base, NULL) == 0, "newer region, zero tail: accepted");
	nr.future[1] = 1;
	CHECK(memslot_txn_add(txn, &nr.base, NULL) == -E2BIG, "newer region, set tail: -E2BIG");
	CHECK(memslot_txn_count(txn) == 1, "the refused change left the transaction as it was");
	memslot_txn_abort(txn);

	memset(&no, 0, sizeof(no));
	no.base = o;
	no.base.sz = sizeof(no);
	CHECK(memslot_vm_new(-1, &no.base, &vm2) == 0, "newer vm opts, zero tail: accepted");
	memslot_vm_free(vm2);
	vm2 = NULL;
	no.future[0] = 1;
	CHECK(memslot_vm_new(-1, &no.base, &vm2) == -E2BIG && vm2 == NULL,
	      "newer vm opts, set tail: -E2BIG");

	memset(&ns, 0, sizeof(ns));
	ns.base = so;
	ns.base.sz = sizeof(ns);
	CHECK(memslot_sim_new(&ns.base, &sim2) == 0, "newer sim opts, zero tail: accepted");
	memslot_sim_free(sim2);
	sim2 = NULL;
	ns.future[1] = (uint64_t)1 << 63;
	CHECK(memslot_sim_new(&ns.base, &sim2) == -E2BIG && sim2 == NULL,
	      "newer sim opts, set tail: -E2BIG");

	/*
	 * Not counted: a field a newer header would put in the tail padding of
	 * a current struct (memslot_region has 4 bytes after guest_memfd) is
	 * inside sizeof, so this library takes it as padding and ignores it.
	 * tests/abi/check-abidiff.sh refuses such a field in the header.
	 */
	if (END_OF(struct memslot_region, guest_memfd) < sizeof(struct memslot_region)) {
		union buf u;
		int err;

		memset(u.b, 0, sizeof(u.b));
		memcpy(u.b, &r, sizeof(r));
		u.b[END_OF(struct memslot_region, guest_memfd)] = 1;
		CHECK(memslot_txn_begin(vm, &txn) == 0, "begin");
		err = memslot_txn_add(txn, (const void *)u.b, NULL);
		memslot_txn_abort(txn);
		printf("NOTE: memslot_region: a non-zero byte in the tail padding "
		       "(offset %zu of %zu) gives %d (%s)\n",
		       END_OF(struct memslot_region, guest_memfd),
		       sizeof(struct memslot_region), err, memslot_strerror(err));
	}
out:
	memslot_vm_free(vm);
	memslot_sim_free(sim);
}

int main(void)
{
	test_old_region_in();
	test_old_vm_opts();
	test_old_sim_opts();
	test_outputs();
	test_newer_inputs();
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
