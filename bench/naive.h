/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The naive baseline of the benchmark: a slot table kept the way QEMU and
 * kvmtool keep theirs.  Not part of the library.
 */
#ifndef MEMSLOT_BENCH_NAIVE_H
#define MEMSLOT_BENCH_NAIVE_H

#include <stdbool.h>
#include <stdint.h>

#include "libmemslot/libmemslot.h"

struct naive_slot {
	uint64_t gpa, size, hva;
	uint32_t flags;
};

struct naive_vm {
	struct naive_slot *slots;  /* indexed by id; size 0: free */
	uint32_t nr_slots;         /* the kernel's limit */
	uint32_t nr_alloc;         /* ids below this were ever used: the
				      length of QEMU's grown array */
	uint64_t page;
};

int naive_init(struct naive_vm *vm, uint32_t nr_slots, uint64_t page);
void naive_fini(struct naive_vm *vm);
/* Like memslot_txn_add() on a create: checks, lowest free id, overlap. */
int naive_add(struct naive_vm *vm, const struct memslot_region *r,
	      uint16_t *slotp);
/* Delete the slot at gpa (QEMU looks slots up by address). */
int naive_delete(struct naive_vm *vm, uint64_t gpa, uint64_t size);
/* Move slot id to new_gpa. */
int naive_move(struct naive_vm *vm, uint16_t id, uint64_t new_gpa);

#endif
