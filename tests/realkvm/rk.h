/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Common helpers of the real-kernel tier (programs that run inside a QEMU
 * guest against the real /dev/kvm): check counting, raw memslot ioctls,
 * memory.
 *
 * Every program ends with "RK-TALLY passed=N failed=M skipped=K"
 * (rk_finish()), which the guest's /init (or realkvm-host.test) adds up into
 * the tier's summary line.  A skipped check is one the kernel cannot run
 * (address space 1 without SMM, ...): it counts neither as passed nor as
 * failed.
 */
#ifndef RK_H
#define RK_H

#include <stdint.h>
#include <stddef.h>

extern long rk_passed, rk_failed, rk_skipped;
extern int rk_verbose;

/* Count one check; print it when it fails (or always with RK_VERBOSE=1). */
#define RK_CHECK(cond, ...) rk_check(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
int rk_check(int ok, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/*
 * Count n checks as skipped, with the reason (printed the first few times
 * a reason is given, always with RK_VERBOSE=1; fmt NULL: print nothing).
 */
void rk_skip(long n, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A fatal setup error: counted as a failure, then the program exits. */
void rk_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* Print the tally line and return the exit status (0 when nothing failed). */
int rk_finish(const char *prog);

/*
 * The commit mode the programs test, from the environment: RK_MODE unset,
 * empty or "sequential": MEMSLOT_MODE_SEQUENTIAL (Debian's kernels);
 * "batch": MEMSLOT_MODE_BATCH (a kernel with KVM_SET_USER_MEMORY_REGION_LIST,
 * kernel/); "auto": MEMSLOT_MODE_AUTO.  Anything else is fatal.
 */
int rk_mode(void);
const char *rk_mode_name(int mode);   /* "SEQUENTIAL", "BATCH", "AUTO" */

double rk_now(void);
unsigned long rk_env_ulong(const char *name, unsigned long def);

/* /dev/kvm, opened once. */
int rk_kvm(void);
/* A new VM (KVM_CREATE_VM type 0); exits through rk_fatal on error. */
int rk_vm_create(void);
/* KVM_CHECK_EXTENSION on fd (the /dev/kvm or a VM fd); < 0 on error. */
int rk_cap(int fd, long cap);
/*
 * Address spaces of a VM as the kernel itself says
 * (KVM_CAP_MULTI_ADDRESS_SPACE on the VM fd, at least 1).  Tests decide
 * what to skip from this, never from the library's probe, so a wrong probe
 * fails a check instead of hiding one.
 */
int rk_kernel_nr_as(int vm_fd);

/*
 * One raw KVM_SET_USER_MEMORY_REGION (v2 = 0) or ..._REGION2 (v2 = 1)
 * request; slot carries the address space in bits 16-31 as the kernel
 * wants it.  Returns 0 or -errno.
 */
int rk_set_region(int vm_fd, int v2, uint32_t slot, uint32_t flags,
		  uint64_t gpa, uint64_t size, uint64_t hva);

/* Anonymous shared memory (MAP_NORESERVE); exits through rk_fatal. */
void *rk_map(size_t len);

const char *rk_errname(int err);   /* "EINVAL", "0", ... (err >= 0 or < 0) */

#endif
