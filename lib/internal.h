/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Internal interfaces of libmemslot.  Nothing here is part of the ABI.
 *
 * The model: a vm holds the committed table (what the kernel has).  An
 * open transaction overlays it: every id the transaction touched has a
 * pending slot record (present or not) hung off the vm's id map, and the
 * present ones sit in the transaction's own gpa tree.  Validation reads
 * the overlay; lookups read the committed table only; commit moves the
 * pending records into the committed table without allocating.
 */
#ifndef LIBMEMSLOT_INTERNAL_H
#define LIBMEMSLOT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "libmemslot/libmemslot.h"
#include "gpatree.h"
#include "idalloc.h"
#include "idmap.h"

#define MEMSLOT_EXPORT __attribute__((visibility("default")))

/* Largest id count the kernel ABI allows: (u16)slot, KVM_MEM_SLOTS_NUM. */
#define MEMSLOT_MAX_IDS 32767u
#define MEMSLOT_MAX_AS 2u
#define MEMSLOT_MAX_PAGES 0x7fffffffull  /* KVM_MEM_MAX_NR_PAGES */

/* The kernel's view of one slot (the request fields that matter). */
struct slot_state {
	uint32_t flags;
	int32_t gmem_fd;
	uint64_t gpa;
	uint64_t size;
	uint64_t hva;
	uint64_t gmem_offset;
};

/*
 * One slot record, committed or pending.  For pending records, present
 * says whether the id has a slot in the pending table, last_idx is the
 * caller's last change to the id and del_idx the first change that
 * removed the committed slot (-1 if none).
 */
struct slot {
	struct gpa_node node;     /* in a gpa tree while present */
	struct slot_state st;
	uint16_t as_id;
	uint16_t id;
	bool present;
	uint8_t stage;            /* commit.c: how far a failed commit got */
	int32_t last_idx;
	int32_t del_idx;
};
/* 88 bytes a record in its pool block: about 104 with the id map. */
_Static_assert(sizeof(struct slot) <= 88, "struct slot grew");

#define slot_of(n) ((struct slot *)((char *)(n) - offsetof(struct slot, node)))

/* Slot records are allocated by blocks (table.c). */
#define SLOTS_PER_BLOCK 63
struct slot_block {
	struct slot_block *next;
	struct slot slots[SLOTS_PER_BLOCK];
};

/* Kinds of kernel request. */
enum req_kind {
	REQ_CREATE,
	REQ_DELETE,
	REQ_MOVE,
	REQ_FLAGS,
};

/*
 * One kernel request of the canonical list.  before/after give the id's
 * state around it (absent for creates before and deletes after).
 */
struct req {
	enum req_kind kind;
	uint16_t as_id;
	uint16_t id;
	int32_t caller_idx;       /* change of the caller's list it carries out */
	const struct slot_state *before;  /* NULL: absent */
	const struct slot_state *after;   /* NULL: absent */
	struct slot *pending;     /* the id's pending record */
};

/* Per address space state of a vm. */
struct as_table {
	struct idmap ids;         /* id -> committed and pending records */
	struct gpa_tree committed;
	struct idalloc busy;      /* ids not to hand out */
	uint64_t *reserved;       /* bitmap */
	uint64_t *held;           /* bitmap: MEMSLOT_VM_HOLD_DELETED_IDS */
};

struct memslot_vm {
	int fd;
	int mode;
	uint32_t flags;
	int (*ioctl)(void *opaque, int fd, unsigned long req, void *arg);
	void *ioctl_opaque;
	int (*quiesce)(void *opaque);
	void (*resume)(void *opaque);
	void *quiesce_opaque;
	struct memslot_caps caps;
	uint64_t page_size;
	uint64_t user_addr_limit;
	uint32_t nr_committed;
	struct as_table as[MEMSLOT_MAX_AS];
	struct slot_block *blocks;    /* every slot record, committed or pending */
	struct gpa_node *free_nodes;  /* records to reuse, linked by node.left */
	struct memslot_txn *txn;
};

struct memslot_txn {
	struct memslot_vm *vm;
	struct gpa_tree pending[MEMSLOT_MAX_AS];
	struct slot **touched;    /* pending records, in order of first touch */
	uint32_t nr_touched;
	uint32_t cap_touched;
	int32_t nr_changes;
};

/* abi.c: sz-versioned structs. */
int memslot_opts_copy(void *dst, size_t dst_size, const void *src,
		      size_t src_sz);
int memslot_struct_out(void *dst, const void *src, size_t src_size);
void memslot_region_from(struct memslot_region *r, uint16_t as_id,
			 uint16_t id, const struct slot_state *st);

/* vm.c */
uint64_t memslot_user_addr_limit(void);
int memslot_vm_ioctl(struct memslot_vm *vm, unsigned long req, void *arg);

/* table.c: the committed table and the pending overlay. */
struct slot *slot_alloc(struct memslot_vm *vm);
void slot_free(struct memslot_vm *vm, struct slot *s);
void slot_pool_fini(struct memslot_vm *vm);
struct slot *table_committed(const struct memslot_vm *vm, uint16_t as_id,
			     uint16_t id);
struct slot *table_pending(const struct memslot_vm *vm, uint16_t as_id,
			   uint16_t id);
const struct slot_state *table_view(const struct memslot_vm *vm,
				    uint16_t as_id, uint16_t id);
bool table_overlaps(const struct memslot_vm *vm, uint16_t as_id,
		    uint16_t self, uint64_t gpa, uint64_t size);
int table_insert_committed(struct memslot_vm *vm, struct slot *s);
void table_remove_committed(struct memslot_vm *vm, struct slot *s);
bool table_id_blocked(const struct memslot_vm *vm, uint16_t as_id,
		      uint16_t id);
void table_refresh_busy(struct memslot_vm *vm, uint16_t as_id, uint16_t id);
bool bit_test(const uint64_t *map, uint32_t bit);
void bit_assign(uint64_t *map, uint32_t bit, bool on);

/* validate.c: the kernel's rules, in the kernel's order. */
struct request {
	uint16_t as_id;
	uint16_t id;
	struct slot_state st;
};
enum change_kind {
	CHANGE_NOOP,
	CHANGE_CREATE,
	CHANGE_DELETE,
	CHANGE_MOVE,
	CHANGE_FLAGS,
};
int request_from_region(const struct memslot_region *r, struct request *rq);
int validate_request(const struct memslot_vm *vm, const struct request *rq,
		     enum change_kind *kind);
int validate_adopt(const struct memslot_vm *vm, const struct request *rq);

/* canon.c: the canonical list. */
struct canon {
	struct req *reqs;
	uint32_t nr;
	bool hole;                /* a removed range overlaps an added one */
	bool guest_memfd;         /* a request the batch format cannot carry */
};
/* Bytes of scratch canon_build() needs for txn: one allocation. */
size_t canon_scratch_size(const struct memslot_txn *txn);
void canon_build(const struct memslot_txn *txn, void *scratch,
		 struct canon *out);

/* encode.c */
size_t encode_size(uint32_t nr_reqs);
void encode_list(const struct canon *c, void *buf);
void encode_region2(const struct req *rq, bool undo, void *region2);

/* txn.c */
void txn_release(struct memslot_txn *txn, bool committed);

#endif /* LIBMEMSLOT_INTERNAL_H */
