/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The examples' kernel (real or simulated), ioctl log and printing
 * helpers.  See backend.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <linux/kvm.h>

#include "backend.h"

/*
 * Request numbers the library uses.  Debian 12's <linux/kvm.h> (6.1) has
 * no REGION2, and the batch ioctl of the 2022 RFC was never merged, so no
 * header has it.
 */
#ifndef KVM_SET_USER_MEMORY_REGION2
#define KVM_SET_USER_MEMORY_REGION2 0x40a0ae49ul
#endif
#define EX_SET_USER_MEMORY_REGION_LIST 0x4008ae49ul

/* The batch list: an 8-byte header, then 64-byte entries. */
#define LIST_HEADER 8u
#define LIST_ENTRY 64u

/* ---- small formatting helpers ------------------------------------------- */

#define NBUF 8
static char *next_buf(void)
{
	static char bufs[NBUF][48];
	static unsigned int i;

	return bufs[i++ % NBUF];
}

const char *size_str(uint64_t bytes)
{
	static const char *units[] = { "bytes", "KiB", "MiB", "GiB", "TiB" };
	char *s = next_buf();
	unsigned int u = 0;

	while (bytes >= 1024 && bytes % 1024 == 0 && u < 4) {
		bytes /= 1024;
		u++;
	}
	if (bytes == 0)
		snprintf(s, 48, "0");
	else
		snprintf(s, 48, "%" PRIu64 " %s", bytes, units[u]);
	return s;
}

const char *flags_str(uint32_t flags)
{
	char *s = next_buf();

	s[0] = 0;
	if (flags & MEMSLOT_LOG_DIRTY_PAGES)
		strcat(s, "|LOG_DIRTY");
	if (flags & MEMSLOT_READONLY)
		strcat(s, "|READONLY");
	if (flags & MEMSLOT_GUEST_MEMFD)
		strcat(s, "|GUEST_MEMFD");
	if (flags & ~7u)
		snprintf(s + strlen(s), 24, "|0x%x", flags & ~7u);
	return s[0] ? s + 1 : "-";
}

const char *slot_str(uint16_t as_id, uint16_t slot)
{
	char *s = next_buf();

	if (as_id)
		snprintf(s, 48, "as %u slot %u", as_id, slot);
	else
		snprintf(s, 48, "slot %u", slot);
	return s;
}

const char *errno_name(int err)
{
	static const struct { int err; const char *name; } names[] = {
		{ EINVAL, "EINVAL" }, { EEXIST, "EEXIST" },
		{ ENOENT, "ENOENT" }, { EBUSY, "EBUSY" },
		{ ENOSPC, "ENOSPC" }, { EOPNOTSUPP, "EOPNOTSUPP" },
		{ E2BIG, "E2BIG" }, { EBADF, "EBADF" }, { ENOMEM, "ENOMEM" },
		{ EFAULT, "EFAULT" }, { EIO, "EIO" }, { ENOTTY, "ENOTTY" },
		{ ECANCELED, "ECANCELED" }, { EINTR, "EINTR" },
		{ EPERM, "EPERM" }, { EACCES, "EACCES" },
		{ ETIMEDOUT, "ETIMEDOUT" },
	};
	char *s = next_buf();

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].err == (err < 0 ? -err : err)) {
			snprintf(s, 48, "%s%s", err < 0 ? "-" : "",
				 names[i].name);
			return s;
		}
	snprintf(s, 48, "%d", err);
	return s;
}

long check_ret(long ret, const char *what, const char *file, int line)
{
	if (ret >= 0)
		return ret;
	fflush(stdout);
	fprintf(stderr, "%s:%d: %s failed: %s (%s)\n", file, line, what,
		errno_name((int)ret), memslot_strerror((int)ret));
	exit(1);
}

void fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "%s:%d: FAILED: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

struct memslot_region region(uint16_t slot, uint64_t gpa, uint64_t size,
			     void *hva, uint32_t flags)
{
	return (struct memslot_region){
		.sz = sizeof(struct memslot_region),
		.slot = slot,
		.flags = flags,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uintptr_t)hva,
	};
}

void *guest_memory(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED) {
		perror("mmap guest memory");
		exit(1);
	}
	return p;
}

/* ---- the kernel ------------------------------------------------------------ */

/* Open /dev/kvm and create a VM; on failure say why in *why. */
static int open_kvm(struct backend *b, const char **why)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	int vm;

	if (fd < 0) {
		*why = strerror(errno);
		return -1;
	}
	if (ioctl(fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
		*why = "unexpected KVM API version";
		close(fd);
		return -1;
	}
	do
		vm = ioctl(fd, KVM_CREATE_VM, 0);
	while (vm < 0 && errno == EINTR);
	if (vm < 0) {
		*why = strerror(errno);
		close(fd);
		return -1;
	}
	b->kvm_fd = fd;
	b->vm_fd = vm;
	b->is_kvm = 1;
	return 0;
}

static void open_sim(struct backend *b, const char *variant)
{
	struct memslot_sim_opts o = { .sz = sizeof(o) };
	const char *like;

	if (!strcmp(variant, "sim-6.1")) {
		o.no_region2 = 1;
		like = "like Linux 6.1: KVM_SET_USER_MEMORY_REGION, "
		       "2 address spaces";
	} else if (!strcmp(variant, "sim-batch")) {
		o.batch = 1;
		like = "with the batch ioctl KVM_SET_USER_MEMORY_REGION_LIST "
		       "(2022 RFC)";
	} else if (!strcmp(variant, "sim-1as")) {
		o.nr_as = 1;
		like = "like Linux 6.8+ without SMM: one address space";
	} else {
		variant = "sim";
		like = "like Linux 6.8+: KVM_SET_USER_MEMORY_REGION2, "
		       "2 address spaces";
	}
	CHECK(memslot_sim_new(&o, &b->sim));
	b->variant = variant;
	printf("  %s (%s)\n", like, variant);
}

void backend_open(struct backend *b)
{
	const char *want = getenv("MEMSLOT_EXAMPLE_BACKEND");
	const char *why = NULL;
	struct utsname u;

	memset(b, 0, sizeof(*b));
	b->kvm_fd = b->vm_fd = -1;
	b->trace = 1;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!want || !*want)
		want = "auto";
	if (!strcmp(want, "auto") || !strcmp(want, "kvm")) {
		if (open_kvm(b, &why) == 0) {
			printf("backend: /dev/kvm\n");
			uname(&u);
			printf("  Linux %s, VM fd %d\n", u.release, b->vm_fd);
			return;
		}
		if (!strcmp(want, "kvm")) {
			fprintf(stderr, "/dev/kvm is not usable: %s\n", why);
			exit(77);
		}
	} else if (strncmp(want, "sim", 3)) {
		fprintf(stderr, "MEMSLOT_EXAMPLE_BACKEND=%s: use auto, kvm, "
			"sim, sim-6.1, sim-batch or sim-1as\n", want);
		exit(2);
	}
	printf("backend: simulated kernel\n");
	if (why)
		printf("  (/dev/kvm not usable: %s)\n", why);
	open_sim(b, want);
}

void backend_close(struct backend *b)
{
	memslot_sim_free(b->sim);
	if (b->vm_fd >= 0)
		close(b->vm_fd);
	if (b->kvm_fd >= 0)
		close(b->kvm_fd);
	free(b->last_list);
	b->sim = NULL;
	b->vm_fd = b->kvm_fd = -1;
	b->last_list = NULL;
}

/* ---- the ioctl hook -------------------------------------------------------- */

/* "slot 3   gpa 0x100000000 size 128 MiB flags LOG_DIRTY" */
static const char *request_str(uint32_t slot, uint32_t flags, uint64_t gpa,
			       uint64_t size)
{
	static char s[128];
	int n;

	n = snprintf(s, sizeof(s), "%-7s gpa 0x%-9" PRIx64 " size %s",
		     slot_str(slot >> 16, (uint16_t)slot), gpa,
		     size ? size_str(size) : "0 (delete)");
	if (flags)
		snprintf(s + n, sizeof(s) - (size_t)n, " flags %s",
			 flags_str(flags));
	return s;
}

static void trace_request(const char *name, const void *arg, int ret)
{
	/* REGION2 starts with the 32 bytes of REGION. */
	const struct kvm_userspace_memory_region *m = arg;

	printf("    ioctl %-27s %s -> %s\n", name,
	       request_str(m->slot, m->flags, m->guest_phys_addr,
			   m->memory_size),
	       ret < 0 ? errno_name(ret) : "0");
}

static void trace_list(const unsigned char *buf, int ret)
{
	uint32_t nent;

	memcpy(&nent, buf, 4);
	printf("    ioctl KVM_SET_USER_MEMORY_REGION_LIST nent %u -> %s\n",
	       nent, ret < 0 ? errno_name(ret) : "0");
	for (uint32_t i = 0; i < nent; i++) {
		const unsigned char *e = buf + LIST_HEADER + i * LIST_ENTRY;
		uint32_t slot, flags;
		uint64_t gpa, size;

		memcpy(&slot, e, 4);
		memcpy(&flags, e + 4, 4);
		memcpy(&gpa, e + 8, 8);
		memcpy(&size, e + 16, 8);
		printf("      entry %u: %s%s\n", i,
		       request_str(slot, flags, gpa, size),
		       e[32] ? " invalidate_slot" : "");
	}
}

int backend_ioctl(void *opaque, int fd, unsigned long req, void *arg)
{
	struct backend *b = opaque;
	int r;

	/* Keep the bytes of a batch: the encode example compares them. */
	if (req == EX_SET_USER_MEMORY_REGION_LIST && arg) {
		uint32_t nent;

		memcpy(&nent, arg, 4);
		if (!nent)   /* the library's probe for the ioctl */
			goto issue;
		free(b->last_list);
		b->last_list_len = LIST_HEADER + (size_t)nent * LIST_ENTRY;
		b->last_list = malloc(b->last_list_len);
		if (b->last_list)
			memcpy(b->last_list, arg, b->last_list_len);
	}
issue:
	if (b->is_kvm) {
		r = ioctl(fd, req, arg);
		if (r < 0)
			r = -errno;
	} else {
		r = memslot_sim_ioctl(b->sim, fd, req, arg);
	}
	if (req == KVM_CHECK_EXTENSION)
		return r;
	b->ioctls++;
	if (!b->trace)
		return r;
	if (req == KVM_SET_USER_MEMORY_REGION)
		trace_request("KVM_SET_USER_MEMORY_REGION", arg, r);
	else if (req == KVM_SET_USER_MEMORY_REGION2)
		trace_request("KVM_SET_USER_MEMORY_REGION2", arg, r);
	else if (req == EX_SET_USER_MEMORY_REGION_LIST)
		trace_list(arg, r);
	else
		printf("    ioctl 0x%lx -> %s\n", req, errno_name(r));
	return r;
}

struct memslot_vm *backend_vm_new(struct backend *b,
				  struct memslot_vm_opts *opts)
{
	struct memslot_caps caps = { .sz = sizeof(caps) };
	struct memslot_vm *vm;
	int trace = b->trace;
	const char *mode;

	if (!opts->ioctl) {
		opts->ioctl = backend_ioctl;
		opts->ioctl_opaque = b;
	}
	/* The probe (KVM_CHECK_EXTENSION, an empty batch) is not logged. */
	b->trace = 0;
	CHECK(memslot_vm_new(b->vm_fd, opts, &vm));
	b->trace = trace;
	b->ioctls = 0;
	CHECK(memslot_vm_caps(vm, &caps));
	printf("  kernel: %u slot ids, %u address space%s, %s, %s, %s\n",
	       caps.nr_slots, caps.nr_as, caps.nr_as > 1 ? "s" : "",
	       caps.readonly ? "read-only memory" : "no read-only memory",
	       caps.user_memory2 ? "REGION2" : "REGION (v1)",
	       caps.batch ? "batch ioctl" : "no batch ioctl");
	mode = opts->mode == MEMSLOT_MODE_BATCH ? "BATCH" :
	       opts->mode == MEMSLOT_MODE_SEQUENTIAL ? "SEQUENTIAL" : "AUTO";
	if (opts->mode != MEMSLOT_MODE_SEQUENTIAL && caps.batch_usable)
		printf("  mode: %s, so each commit is one "
		       "KVM_SET_USER_MEMORY_REGION_LIST\n", mode);
	else if (opts->mode == MEMSLOT_MODE_BATCH)
		printf("  mode: BATCH, but this kernel has no batch ioctl: "
		       "commits fail with -EOPNOTSUPP\n");
	else
		printf("  mode: %s, so commits are sequential: one %s per "
		       "canonical change\n", mode,
		       caps.user_memory2 ? "KVM_SET_USER_MEMORY_REGION2" :
					   "KVM_SET_USER_MEMORY_REGION");
	return vm;
}

/* ---- showing transactions and tables ---------------------------------------- */

const char *list_entry_kind(const struct memslot_vm *vm,
			    const unsigned char *list, uint32_t i)
{
	const unsigned char *e = list + LIST_HEADER + i * LIST_ENTRY;
	struct memslot_region old = { .sz = sizeof(old) };
	uint32_t slot;
	uint64_t size;

	memcpy(&slot, e, 4);
	memcpy(&size, e + 16, 8);
	if (e[32])   /* invalidate_slot: the slot loses its range */
		return size ? "MOVE" : "DELETE";
	/* An earlier entry for the id can only be its DELETE. */
	for (uint32_t j = 0; j < i; j++)
		if (!memcmp(list + LIST_HEADER + j * LIST_ENTRY, e, 4))
			return "CREATE";
	return memslot_vm_find(vm, slot >> 16, (uint16_t)slot, &old) == 0 ?
	       "FLAGS" : "CREATE";
}

void show_canonical(const struct memslot_vm *vm, const struct memslot_txn *txn)
{
	ssize_t len = CHECK(memslot_txn_encode(txn, NULL, 0));
	unsigned char *buf = malloc((size_t)len);
	int changes = memslot_txn_count(txn);
	uint32_t nent;

	if (!buf)
		fail(__FILE__, __LINE__, "out of memory");
	CHECK(memslot_txn_encode(txn, buf, (size_t)len));
	memcpy(&nent, buf, 4);
	printf("  canonical list: %u request%s (from %d change%s)\n", nent,
	       nent == 1 ? "" : "s", changes, changes == 1 ? "" : "s");
	for (uint32_t i = 0; i < nent; i++) {
		const unsigned char *e = buf + LIST_HEADER + i * LIST_ENTRY;
		const char *kind = list_entry_kind(vm, buf, i);
		struct memslot_region old = { .sz = sizeof(old) };
		uint32_t slot, flags;
		uint64_t gpa, size;

		memcpy(&slot, e, 4);
		memcpy(&flags, e + 4, 4);
		memcpy(&gpa, e + 8, 8);
		memcpy(&size, e + 16, 8);
		memslot_vm_find(vm, slot >> 16, (uint16_t)slot, &old);
		printf("    %u. %-6s ", i + 1, kind);
		if (!strcmp(kind, "DELETE"))
			printf("%-7s (was gpa 0x%" PRIx64 ", %s)\n",
			       slot_str(slot >> 16, (uint16_t)slot),
			       old.guest_phys_addr, size_str(old.memory_size));
		else if (!strcmp(kind, "MOVE"))
			printf("%-7s gpa 0x%" PRIx64 " -> 0x%" PRIx64 "\n",
			       slot_str(slot >> 16, (uint16_t)slot),
			       old.guest_phys_addr, gpa);
		else if (!strcmp(kind, "FLAGS"))
			printf("%-7s flags %s -> %s\n",
			       slot_str(slot >> 16, (uint16_t)slot),
			       flags_str(old.flags), flags_str(flags));
		else
			printf("%s\n", request_str(slot, flags, gpa, size));
	}
	free(buf);
}

void commit_or_die(const struct backend *b, struct memslot_txn *txn)
{
	struct memslot_error err = { .sz = sizeof(err) };
	int r = memslot_txn_commit(txn, &err);

	if (r < 0) {
		fflush(stdout);
		fprintf(stderr, "commit failed: %s (%s)\n", errno_name(r),
			memslot_strerror(r));
		fprintf(stderr, "  failed change: %d, ioctls issued: %u, "
			"flags: 0x%x, rollback error: %s\n", err.change,
			err.issued, err.flags, errno_name(err.rollback_err));
		exit(1);
	}
	if (!b->quiet)
		printf("  committed: %u ioctl%s\n", err.issued,
		       err.issued == 1 ? "" : "s");
}

static int print_slot(const struct memslot_region *r, void *opaque)
{
	printf("%s%s\n", (const char *)opaque,
	       request_str((uint32_t)r->as_id << 16 | r->slot, r->flags,
			   r->guest_phys_addr, r->memory_size));
	return 0;
}

void show_table(const struct memslot_vm *vm, const char *prefix)
{
	CHECK(memslot_vm_foreach(vm, print_slot, (void *)prefix));
}

struct view_cmp {
	struct memslot_region *want;
	int n, i;
};

static int collect(const struct memslot_region *r, void *opaque)
{
	struct view_cmp *c = opaque;

	c->want[c->i++] = *r;
	return 0;
}

static int compare(const struct memslot_region *r, void *opaque)
{
	struct view_cmp *c = opaque;
	const struct memslot_region *w = &c->want[c->i];

	if (c->i >= c->n || r->as_id != w->as_id || r->slot != w->slot ||
	    r->flags != w->flags || r->guest_phys_addr != w->guest_phys_addr ||
	    r->memory_size != w->memory_size ||
	    r->userspace_addr != w->userspace_addr)
		return 1;
	c->i++;
	return 0;
}

void check_view(const struct backend *b, const struct memslot_vm *vm)
{
	struct view_cmp c = { 0 };

	if (!b->sim)
		return;
	c.n = (int)CHECK(memslot_vm_count(vm));
	c.want = calloc((size_t)c.n + 1, sizeof(*c.want));
	if (!c.want)
		fail(__FILE__, __LINE__, "out of memory");
	CHECK(memslot_vm_foreach(vm, collect, &c));
	c.i = 0;
	if (memslot_sim_foreach(b->sim, compare, &c) || c.i != c.n)
		fail(__FILE__, __LINE__, "the simulated kernel's table differs "
		     "from libmemslot's view");
	free(c.want);
}

int print_quiesce(void *opaque)
{
	++*(int *)opaque;
	printf("    quiesce()   <- the VMM stops its vCPUs here\n");
	return 0;
}

void print_resume(void *opaque)
{
	(void)opaque;
	printf("    resume()\n");
}
