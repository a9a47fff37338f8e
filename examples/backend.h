/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the examples share: a "kernel" to talk to (the real /dev/kvm when
 * it is usable, else libmemslot's simulated kernel), an ioctl hook that
 * logs every memslot request, guest memory, and printing helpers.
 *
 * Nothing here is part of libmemslot: it is ordinary code built against
 * the installed header, as a VMM would write it.
 *
 * MEMSLOT_EXAMPLE_BACKEND chooses the kernel:
 *   auto (default)  /dev/kvm when it is usable, else the simulated kernel
 *   kvm             /dev/kvm, or exit 77 when it cannot be used
 *   sim             simulated 6.8+ kernel: REGION2, 2 address spaces
 *   sim-6.1         simulated 6.1 kernel: KVM_SET_USER_MEMORY_REGION only
 *   sim-batch       simulated kernel with the batch ioctl of the 2022 RFC
 *   sim-1as         simulated kernel with one address space (no SMM)
 */
#ifndef EXAMPLES_BACKEND_H
#define EXAMPLES_BACKEND_H

#include <errno.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <libmemslot/libmemslot.h>

struct backend {
	int is_kvm;                 /* 1: /dev/kvm, 0: simulated kernel */
	int kvm_fd;                 /* /dev/kvm, or -1 */
	int vm_fd;                  /* the KVM VM, or -1 on the simulated kernel */
	struct memslot_sim *sim;    /* the simulated kernel, or NULL */
	const char *variant;        /* MEMSLOT_EXAMPLE_BACKEND's sim variant */
	int trace;                  /* log each memslot ioctl (default on) */
	int quiet;                  /* commit_or_die() prints nothing */
	long ioctls;                /* memslot ioctls that went through the hook */
	unsigned char *last_list;   /* bytes of the last batch ioctl, if any */
	size_t last_list_len;
};

/*
 * Pick the kernel and print "backend: /dev/kvm" or "backend: simulated
 * kernel" as the first line of output, then one line about it.
 */
void backend_open(struct backend *b);
void backend_close(struct backend *b);

/*
 * The ioctl hook for memslot_vm_opts (opaque: the struct backend): issues
 * the request to the real or the simulated kernel and logs it.
 */
int backend_ioctl(void *opaque, int fd, unsigned long req, void *arg);

/*
 * memslot_vm_new() on the backend: sets opts->ioctl to backend_ioctl when
 * the caller left it NULL, then prints what the library probed and which
 * path its commits will take.  Exits on failure.
 */
struct memslot_vm *backend_vm_new(struct backend *b,
				  struct memslot_vm_opts *opts);

/*
 * Guest memory: an anonymous mapping, so host addresses are real.  Pages
 * are only allocated when touched (MAP_NORESERVE).  Exits on failure.
 */
void *guest_memory(size_t size);

/*
 * Check a libmemslot return value: on a negative one, print the call,
 * the errno and memslot_strerror(), and exit 1.
 */
#define CHECK(call) check_ret((long)(call), #call, __FILE__, __LINE__)
long check_ret(long ret, const char *what, const char *file, int line);

/* Fail with a message (printf format) unless cond holds. */
#define EXPECT(cond, ...) \
	do { if (!(cond)) fail(__FILE__, __LINE__, __VA_ARGS__); } while (0)
void fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4), noreturn));

/* "-EEXIST" for -17: the errno's name. */
const char *errno_name(int err);
/* "256 MiB", "4 KiB", "0": a size for people (rotating static buffers). */
const char *size_str(uint64_t bytes);
/* "LOG_DIRTY|READONLY" or "-". */
const char *flags_str(uint32_t flags);
/* "slot 3" in address space 0, "as 1 slot 3" elsewhere. */
const char *slot_str(uint16_t as_id, uint16_t slot);

/* A region for memslot_txn_add() (sz already set). */
struct memslot_region region(uint16_t slot, uint64_t gpa, uint64_t size,
			     void *hva, uint32_t flags);

/*
 * Print the canonical list that a commit of txn would apply, decoded from
 * memslot_txn_encode(): one line per kernel request.
 */
void show_canonical(const struct memslot_vm *vm, const struct memslot_txn *txn);

/*
 * The kind of entry i of an encoded list: "DELETE", "MOVE", "FLAGS" or
 * "CREATE" (the last two told apart with the committed view).
 */
const char *list_entry_kind(const struct memslot_vm *vm,
			    const unsigned char *list, uint32_t i);

/*
 * Commit txn, print how it went ("committed: 2 ioctls", unless b->quiet)
 * and exit on failure with everything struct memslot_error says.
 */
void commit_or_die(const struct backend *b, struct memslot_txn *txn);

/* Print the committed table, one slot a line, each line after prefix. */
void show_table(const struct memslot_vm *vm, const char *prefix);

/*
 * On the simulated kernel: check that the kernel's table equals the
 * library's view (exit 1 if not).  No-op on /dev/kvm, whose table cannot
 * be read back.
 */
void check_view(const struct backend *b, const struct memslot_vm *vm);

/*
 * Quiesce callbacks for examples without vCPUs: they print "quiesce()"
 * and "resume()" and count the calls in *(int *)opaque.
 */
int print_quiesce(void *opaque);
void print_resume(void *opaque);

#endif /* EXAMPLES_BACKEND_H */
