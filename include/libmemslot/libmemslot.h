/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libmemslot: transactional changes to KVM memory slots.
 *
 * This header is the description of the library's ABI.  Every call
 * returns 0 (or a non-negative count) on success and a negative errno
 * on failure; errno itself is never the only signal.  Errnos that the
 * kernel returns for a KVM_SET_USER_MEMORY_REGION(2) request pass
 * through unchanged, and the validator returns the same errno the
 * kernel would, checked in the kernel's order.  See libmemslot(7).
 *
 * Link with -lmemslot, or use `pkg-config --cflags --libs libmemslot`.
 *
 * Thread model: one thread at a time per vm and its transaction; the
 * caller serialises.  Different vm objects are independent.
 */
#ifndef LIBMEMSLOT_H
#define LIBMEMSLOT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LIBMEMSLOT_VERSION_MAJOR 1
#define LIBMEMSLOT_VERSION_MINOR 0

struct memslot_vm;
struct memslot_txn;
struct memslot_sim;

/*
 * Slot flags.  The values are the kernel's KVM_MEM_* bits, so they can be
 * passed through unchanged.
 */
#define MEMSLOT_LOG_DIRTY_PAGES (1u << 0)  /* KVM_MEM_LOG_DIRTY_PAGES */
#define MEMSLOT_READONLY        (1u << 1)  /* KVM_MEM_READONLY */
#define MEMSLOT_GUEST_MEMFD     (1u << 2)  /* KVM_MEM_GUEST_MEMFD, REGION2 only */

/* In memslot_region.slot: let the library choose the lowest free id. */
#define MEMSLOT_ANY_SLOT 0xffffu

/*
 * One memory slot, as the kernel's kvm_userspace_memory_region2 describes
 * it, with the address space split out of the slot number.
 *
 * Set sz = sizeof(struct memslot_region).  Input structs from older
 * callers (smaller sz) get zero for the missing fields; larger structs
 * are accepted when the bytes beyond this definition are zero and refused
 * with -E2BIG otherwise.  Output structs are filled up to sz.
 */
struct memslot_region {
	size_t sz;
	uint16_t as_id;           /* address space; x86: 1 is SMM */
	uint16_t slot;            /* id inside as_id, or MEMSLOT_ANY_SLOT */
	uint32_t flags;           /* MEMSLOT_* flags */
	uint64_t guest_phys_addr; /* page aligned */
	uint64_t memory_size;     /* bytes, page aligned; 0 deletes */
	uint64_t userspace_addr;  /* page aligned host virtual address */
	uint64_t guest_memfd_offset; /* with MEMSLOT_GUEST_MEMFD only */
	int32_t guest_memfd;         /* with MEMSLOT_GUEST_MEMFD only; output:
					fd -1 and offset 0 without the flag */
	uint32_t reserved;           /* must be 0 (room for a future field) */
};

/* How memslot_txn_commit() talks to the kernel. */
enum memslot_mode {
	MEMSLOT_MODE_AUTO = 0,       /* the batch ioctl when present, else sequential */
	MEMSLOT_MODE_BATCH = 1,      /* the batch ioctl only; -EOPNOTSUPP without it */
	MEMSLOT_MODE_SEQUENTIAL = 2, /* one ioctl per canonical change */
};

/* memslot_vm_opts.flags */
/*
 * Keep the id of every slot deleted by a commit in quarantine until
 * memslot_vm_release() is called for it (dirty-ring users must reap the
 * ring before an id is reused).
 */
#define MEMSLOT_VM_HOLD_DELETED_IDS (1u << 0)

/*
 * Options for memslot_vm_new().  NULL means all defaults.  Set
 * sz = sizeof(struct memslot_vm_opts); the sz rules of memslot_region
 * apply.
 */
struct memslot_vm_opts {
	size_t sz;
	int mode;                 /* enum memslot_mode */
	uint32_t flags;           /* MEMSLOT_VM_* */
	/*
	 * Every ioctl the library issues goes through this hook when set
	 * (NULL: ioctl(2)).  It returns the ioctl's non-negative result or
	 * a negative errno.  memslot_sim_ioctl() fits here.
	 */
	int (*ioctl)(void *opaque, int fd, unsigned long req, void *arg);
	void *ioctl_opaque;
	/*
	 * Called on the committing thread before a sequential commit that
	 * would open a guest-visible hole (a range removed by a delete or
	 * move overlaps a range added in the same address space), and only
	 * then.  quiesce() returns 0 when every vCPU is stopped outside
	 * KVM_RUN, or a negative errno, which aborts the commit with nothing
	 * changed (a positive return counts as -ECANCELED), and resume() is
	 * not called.  After a successful quiesce(), resume() is called after
	 * the last ioctl of that commit, rollback included, whatever the
	 * outcome.  Set both or neither.
	 */
	int (*quiesce)(void *opaque);
	void (*resume)(void *opaque);
	void *quiesce_opaque;
};

/*
 * What the kernel offers, probed once by memslot_vm_new().  Set sz before
 * calling memslot_vm_caps().
 */
struct memslot_caps {
	size_t sz;
	uint32_t nr_slots;        /* KVM_CAP_NR_MEMSLOTS: ids 0 .. nr_slots-1 */
	uint32_t nr_as;           /* address spaces (KVM_CAP_MULTI_ADDRESS_SPACE, at least 1) */
	uint32_t readonly;        /* KVM_CAP_READONLY_MEM */
	uint32_t user_memory2;    /* KVM_CAP_USER_MEMORY2: REGION2 is used */
	uint32_t guest_memfd;     /* KVM_CAP_GUEST_MEMFD on this VM */
	uint32_t batch;           /* KVM_SET_USER_MEMORY_REGION_LIST answered the empty list */
	uint32_t batch_usable;    /* batch, and not disabled by an uncertain failure */
	uint32_t page_size;       /* bytes */
};

/* memslot_error.flags */
#define MEMSLOT_ERROR_QUIESCE        (1u << 0) /* quiesce() failed; nothing was issued */
#define MEMSLOT_ERROR_ROLLBACK       (1u << 1) /* a rollback was attempted */
#define MEMSLOT_ERROR_ROLLBACK_FAILED (1u << 2) /* it stopped early: see rollback_err */
#define MEMSLOT_ERROR_VIEW_UNCERTAIN (1u << 3) /* a batch failed unpredictably: the
						 kernel table may differ from the view;
						 the batch path is disabled */

/*
 * What went wrong in memslot_txn_commit().  Set sz before the call; the
 * struct is filled on every return (all zero and change = -1 on success).
 */
struct memslot_error {
	size_t sz;
	int err;              /* negative errno of the failure, 0 on success */
	int change;           /* index (from 0, in the caller's order) of the
				 change whose kernel request failed; -1 when
				 no single change is to blame */
	uint32_t flags;       /* MEMSLOT_ERROR_* */
	int rollback_err;     /* negative errno of the failed undo, or 0 */
	uint32_t issued;      /* ioctls issued by this commit, undos included */
	uint32_t reserved;    /* written as 0 */
};

/* ---- vm ------------------------------------------------------------ */

/*
 * Bind a vm object to a KVM VM file descriptor (not owned: the caller
 * closes it after memslot_vm_free()).  Probes the capabilities once.
 * The view starts empty: adopt slots created before with
 * memslot_vm_adopt().  Returns 0, -EBADF (negative fd without an ioctl
 * hook), -EINVAL (vmp NULL, bad sz, unknown mode or flags, only one of
 * quiesce and resume, or a fd that is not a VM: KVM_CAP_NR_MEMSLOTS 0),
 * -E2BIG (opts tail), -ENOMEM, or the errno of a failed probe.
 */
int memslot_vm_new(int vm_fd, const struct memslot_vm_opts *opts,
		   struct memslot_vm **vmp);
/* Frees the vm and an open transaction; never touches the kernel. NULL ok. */
void memslot_vm_free(struct memslot_vm *vm);

/* Copy the probed capabilities into caps.  -EINVAL on NULL or bad sz. */
int memslot_vm_caps(const struct memslot_vm *vm, struct memslot_caps *caps);

/*
 * Look a slot up in the committed view (the kernel's table; an open
 * transaction is not visible here).  -ENOENT when there is none,
 * -EINVAL on bad arguments.
 */
int memslot_vm_find(const struct memslot_vm *vm, uint16_t as_id,
		    uint16_t slot, struct memslot_region *out);
/* The slot of as_id whose range contains gpa. */
int memslot_vm_find_gpa(const struct memslot_vm *vm, uint16_t as_id,
			uint64_t gpa, struct memslot_region *out);
/*
 * Call fn for every committed slot, ordered by address space then id.
 * Stops at the first non-zero return of fn and returns it; 0 otherwise.
 * fn must not change the vm.
 */
int memslot_vm_foreach(const struct memslot_vm *vm,
		       int (*fn)(const struct memslot_region *r, void *opaque),
		       void *opaque);
/* Number of committed slots, over all address spaces. */
int memslot_vm_count(const struct memslot_vm *vm);

/*
 * Record a slot that already exists in the kernel (created before the vm
 * object, or by other code), without issuing any ioctl.  It is checked as
 * a create would be, with the errnos of memslot_txn_add(); an id that
 * already has a slot gives -EEXIST (or the kernel's -EINVAL when the
 * region differs in a field a slot cannot change); MEMSLOT_ANY_SLOT and
 * memory_size 0 give -EINVAL.  -EBUSY while a transaction is open, or
 * for a reserved or held id.
 */
int memslot_vm_adopt(struct memslot_vm *vm, const struct memslot_region *r);

/*
 * Reserve an id used by other code: MEMSLOT_ANY_SLOT never hands it out
 * and memslot_txn_add() refuses it explicitly with -EBUSY.  -EEXIST if a
 * slot has that id, -EBUSY if already reserved, held or used by the open
 * transaction.  memslot_vm_unreserve() gives it back (-ENOENT if not
 * reserved).
 */
int memslot_vm_reserve(struct memslot_vm *vm, uint16_t as_id, uint16_t slot);
int memslot_vm_unreserve(struct memslot_vm *vm, uint16_t as_id, uint16_t slot);

/*
 * With MEMSLOT_VM_HOLD_DELETED_IDS: end the quarantine of an id deleted
 * by a commit.  -ENOENT if the id is not held.
 */
int memslot_vm_release(struct memslot_vm *vm, uint16_t as_id, uint16_t slot);

/* ---- transactions ---------------------------------------------------- */

/* Open the vm's transaction.  -EBUSY if one is already open. */
int memslot_txn_begin(struct memslot_vm *vm, struct memslot_txn **txnp);

/*
 * Queue the request the kernel would receive for r, validated now against
 * the table as the earlier changes of this transaction leave it, with the
 * kernel's rules in the kernel's order and the kernel's errno.
 *
 * As with the ioctl, a free id creates a slot; on an existing id an
 * identical request is a no-op, a new guest_phys_addr is a move and a
 * LOG_DIRTY_PAGES toggle a flags change, anything else -EINVAL; and
 * memory_size 0 deletes.  MEMSLOT_ANY_SLOT picks the lowest free id that
 * is not in quarantine (-ENOSPC when there is none).  The id used is
 * stored in *slotp when slotp is not NULL.
 *
 * Beyond the kernel: clearing MEMSLOT_GUEST_MEMFD of a slot is -EINVAL
 * (a use-after-free in kernels 6.8 to 6.12); a reserved or held id is
 * -EBUSY.  A rejected change leaves the transaction as it was.
 */
int memslot_txn_add(struct memslot_txn *txn, const struct memslot_region *r,
		    uint16_t *slotp);
/*
 * The calls below address a slot of the pending view by id and queue the
 * kernel request that changes it, validated as memslot_txn_add() does.
 * They return -ENOENT when the id has no slot (where a raw request would
 * get the kernel's -EINVAL) and -EINVAL for an id or address space out
 * of range.
 *
 * Queue the deletion of a slot (the kernel's request with memory_size 0).
 */
int memslot_txn_delete(struct memslot_txn *txn, uint16_t as_id, uint16_t slot);
/* Queue a move of a slot to new_gpa (same size, host address, flags). */
int memslot_txn_move(struct memslot_txn *txn, uint16_t as_id, uint16_t slot,
		     uint64_t new_gpa);
/*
 * Queue a flags change.  Only MEMSLOT_LOG_DIRTY_PAGES may change on an
 * existing slot; other changes get the kernel's -EINVAL (delete and add
 * to toggle MEMSLOT_READONLY).
 */
int memslot_txn_set_flags(struct memslot_txn *txn, uint16_t as_id,
			  uint16_t slot, uint32_t flags);
/* Number of changes queued (accepted) so far. */
int memslot_txn_count(const struct memslot_txn *txn);

/*
 * Encode the canonical list as struct kvm_userspace_memory_region_list
 * (8-byte header) followed by 64-byte kvm_userspace_memory_region_entry
 * records.  Returns the size of the encoding; writes buf only when len is
 * at least that size (so len 0 and buf NULL ask for the size).  -EINVAL
 * on bad arguments, -ENOMEM, -EOPNOTSUPP when a change involves a
 * guest_memfd slot (the list entry has no guest_memfd fields).
 */
ssize_t memslot_txn_encode(const struct memslot_txn *txn, void *buf,
			   size_t len);

/*
 * Apply the transaction and free it.  On failure the kernel table and the
 * view are as before the commit (unless err->flags says otherwise: a
 * failed rollback leaves both at the same partial state).  Returns 0,
 * -EOPNOTSUPP (MEMSLOT_MODE_BATCH without a usable batch ioctl, or with
 * a guest_memfd change; AUTO then commits sequentially), quiesce()'s
 * errno, -ENOMEM, or the kernel's errno.  err may be NULL; with an err
 * whose sz is below sizeof(size_t) the transaction is dropped and -EINVAL
 * returned without writing err.
 */
int memslot_txn_commit(struct memslot_txn *txn, struct memslot_error *err);
/* Drop the transaction and free it.  NULL ok. */
void memslot_txn_abort(struct memslot_txn *txn);

/*
 * A description of err (negative or positive errno) as a memslot call
 * means it.  Always a static string.
 */
const char *memslot_strerror(int err);

/* ---- simulated kernel -------------------------------------------------- */

/*
 * Options of the simulated kernel; NULL means the defaults in brackets.
 * sz rules as for memslot_region.
 */
struct memslot_sim_opts {
	size_t sz;
	uint32_t nr_slots;       /* KVM_CAP_NR_MEMSLOTS [32764] (at most 32767) */
	uint32_t nr_as;          /* address spaces [2] (1 or 2) */
	uint32_t no_readonly;    /* no KVM_CAP_READONLY_MEM [0] */
	uint32_t no_region2;     /* no REGION2 / KVM_CAP_USER_MEMORY2 [0] */
	uint32_t guest_memfd;    /* a private-memory VM with KVM_CAP_GUEST_MEMFD [0] */
	uint32_t batch;          /* has KVM_SET_USER_MEMORY_REGION_LIST [0] */
	uint32_t rfc_partial;    /* batch fails like the posted RFC: earlier
				    entries stay applied [0] */
	uint32_t phys_bits;      /* host MAXPHYADDR: create/move ending beyond
				    it fail late with EINVAL [0 = no limit] */
	uint32_t max_batch;      /* largest nent accepted [0 = no limit] */
	uint32_t reserved;       /* must be 0 (room for a future field) */
};

/* Kinds of ioctl counted by memslot_sim_count(). */
enum memslot_sim_ioctl_kind {
	MEMSLOT_SIM_REGION = 0,   /* KVM_SET_USER_MEMORY_REGION */
	MEMSLOT_SIM_REGION2 = 1,  /* KVM_SET_USER_MEMORY_REGION2 */
	MEMSLOT_SIM_LIST = 2,     /* KVM_SET_USER_MEMORY_REGION_LIST */
	MEMSLOT_SIM_CHECK_EXTENSION = 3,
	MEMSLOT_SIM_OTHER = 4,    /* anything else (answered -ENOTTY) */
	MEMSLOT_SIM_ALL = 5,      /* the sum */
};

int memslot_sim_new(const struct memslot_sim_opts *opts,
		    struct memslot_sim **simp);
void memslot_sim_free(struct memslot_sim *sim);
/*
 * The ioctl hook: pass it with the sim as opaque in memslot_vm_opts.
 * Returns >= 0 or a negative errno, like the kernel's handler.  fd is
 * ignored.
 */
int memslot_sim_ioctl(void *sim, int fd, unsigned long req, void *arg);
/*
 * Fault injection: the nth memslot ioctl from now (1 = the next one;
 * KVM_CHECK_EXTENSION is not counted) fails with -err before it changes
 * anything.  nth = 0 disarms.  -EINVAL if err is not positive.
 */
int memslot_sim_fail_nth(struct memslot_sim *sim, unsigned int nth, int err);
/* Number of ioctls of a kind (enum memslot_sim_ioctl_kind) so far. */
long memslot_sim_count(const struct memslot_sim *sim, int kind);
/*
 * The simulated kernel's table, in the order of memslot_vm_foreach(),
 * with the same stop rule.
 */
int memslot_sim_foreach(const struct memslot_sim *sim,
			int (*fn)(const struct memslot_region *r, void *opaque),
			void *opaque);

#ifdef __cplusplus
}
#endif

#endif /* LIBMEMSLOT_H */
