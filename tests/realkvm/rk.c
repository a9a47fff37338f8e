/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "rk.h"

#include <errno.h>
#include <fcntl.h>
#include <libmemslot/libmemslot.h>
#include <linux/kvm.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "kvm-compat.h"

long rk_passed, rk_failed, rk_skipped;
int rk_verbose = -1;

static int verbose(void)
{
	if (rk_verbose < 0)
		rk_verbose = (int)rk_env_ulong("RK_VERBOSE", 0);
	return rk_verbose;
}

int rk_check(int ok, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	if (ok)
		rk_passed++;
	else
		rk_failed++;
	if (!ok || verbose()) {
		printf("%s %s:%d: ", ok ? "ok" : "FAIL", file, line);
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
		putchar('\n');
		fflush(stdout);
	}
	return ok;
}

void rk_skip(long n, const char *fmt, ...)
{
	static int printed;
	va_list ap;

	rk_skipped += n;
	if (fmt && (printed++ < 32 || verbose())) {
		printf("skip (%ld check%s): ", n, n == 1 ? "" : "s");
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
		putchar('\n');
		fflush(stdout);
	}
}

static void tally(void)
{
	printf("RK-TALLY passed=%ld failed=%ld skipped=%ld\n", rk_passed, rk_failed,
	       rk_skipped);
	fflush(stdout);
}

void rk_fatal(const char *fmt, ...)
{
	va_list ap;

	printf("FATAL: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	rk_failed++;
	tally();
	exit(1);
}

int rk_finish(const char *prog)
{
	printf("%s: %ld passed, %ld failed, %ld skipped\n", prog, rk_passed, rk_failed,
	       rk_skipped);
	tally();
	return rk_failed ? 1 : 0;
}

int rk_mode(void)
{
	const char *s = getenv("RK_MODE");

	if (!s || !*s || !strcmp(s, "sequential"))
		return MEMSLOT_MODE_SEQUENTIAL;
	if (!strcmp(s, "batch"))
		return MEMSLOT_MODE_BATCH;
	if (!strcmp(s, "auto"))
		return MEMSLOT_MODE_AUTO;
	rk_fatal("RK_MODE=%s: use sequential, batch or auto", s);
}

const char *rk_mode_name(int mode)
{
	return mode == MEMSLOT_MODE_BATCH ? "BATCH" :
	       mode == MEMSLOT_MODE_SEQUENTIAL ? "SEQUENTIAL" : "AUTO";
}

double rk_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

unsigned long rk_env_ulong(const char *name, unsigned long def)
{
	const char *s = getenv(name);
	char *end;
	unsigned long v;

	if (!s || !*s)
		return def;
	v = strtoul(s, &end, 0);
	return *end ? def : v;
}

int rk_kvm(void)
{
	static int fd = -1;

	if (fd < 0) {
		int keeper;

		fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
		if (fd < 0)
			rk_fatal("open /dev/kvm: %s", strerror(errno));
		/*
		 * A VM with a vCPU (and no in-kernel APIC) held for the life of
		 * the program: KVM turns static keys on for the first VM and
		 * such vCPU and off for the last (preempt notifiers,
		 * kvm_has_noapic_vcpu), and every toggle live-patches kernel
		 * text.  Under QEMU's multi-threaded TCG that patching can be
		 * seen half-done by the other CPU (an "int3" Oops in
		 * __schedule was observed on a loaded host); holding one VM
		 * keeps the keys on while the tests create and destroy theirs.
		 */
		keeper = ioctl(fd, KVM_CREATE_VM, 0);
		if (keeper < 0 || ioctl(keeper, KVM_CREATE_VCPU, 0) < 0)
			rk_fatal("keeper VM: %s", strerror(errno));
	}
	return fd;
}

int rk_vm_create(void)
{
	int vm = ioctl(rk_kvm(), KVM_CREATE_VM, 0);

	if (vm < 0)
		rk_fatal("KVM_CREATE_VM: %s", strerror(errno));
	return vm;
}

int rk_cap(int fd, long cap)
{
	int r = ioctl(fd, KVM_CHECK_EXTENSION, cap);

	return r < 0 ? -errno : r;
}

int rk_kernel_nr_as(int vm_fd)
{
	int n = rk_cap(vm_fd, KVM_CAP_MULTI_ADDRESS_SPACE);

	return n > 1 ? n : 1;
}

int rk_set_region(int vm_fd, int v2, uint32_t slot, uint32_t flags,
		  uint64_t gpa, uint64_t size, uint64_t hva)
{
	int r;

	if (v2) {
		struct kvm_userspace_memory_region2 m;

		memset(&m, 0, sizeof(m));
		m.slot = slot;
		m.flags = flags;
		m.guest_phys_addr = gpa;
		m.memory_size = size;
		m.userspace_addr = hva;
		r = ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION2, &m);
	} else {
		struct kvm_userspace_memory_region m = {
			.slot = slot, .flags = flags, .guest_phys_addr = gpa,
			.memory_size = size, .userspace_addr = hva,
		};
		r = ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION, &m);
	}
	return r < 0 ? -errno : r;
}

void *rk_map(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED)
		rk_fatal("mmap %zu: %s", len, strerror(errno));
	return p;
}

const char *rk_errname(int err)
{
	static char buf[16];

	if (err < 0)
		err = -err;
	switch (err) {
	case 0: return "0";
	case EINVAL: return "EINVAL";
	case EEXIST: return "EEXIST";
	case ENOMEM: return "ENOMEM";
	case EFAULT: return "EFAULT";
	case EBADF: return "EBADF";
	case ENOTTY: return "ENOTTY";
	case EBUSY: return "EBUSY";
	case ENOSPC: return "ENOSPC";
	case ENOENT: return "ENOENT";
	case EIO: return "EIO";
	case EPERM: return "EPERM";
	case E2BIG: return "E2BIG";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case EINTR: return "EINTR";
	case EAGAIN: return "EAGAIN";
	default:
		snprintf(buf, sizeof(buf), "errno%d", err);
		return buf;
	}
}
