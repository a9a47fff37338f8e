/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The naive baseline: what a VMM does without the library.
 *
 *  - ids: the lowest free id by a linear scan of the slot array, as
 *    QEMU's kvm_get_free_slot() does (a slot with memory_size 0 is free);
 *    the array covers the ids ever used, as QEMU 8.2's grown array does,
 *    so every scan is proportional to the table, not to the kernel limit;
 *  - overlap: a linear scan of every slot, as kvmtool's kvm__register_mem()
 *    walks its list (and as QEMU's kvm_lookup_overlapping_slot() did);
 *  - delete: find the slot by address with a linear scan, as QEMU's
 *    kvm_lookup_matching_slot() does.
 *
 * The per-request checks are the cheap ones the library also makes, so
 * that the difference measured is the data structures.
 */
#include <errno.h>
#include <stdlib.h>

#include "naive.h"

int naive_init(struct naive_vm *vm, uint32_t nr_slots, uint64_t page)
{
	vm->slots = calloc(nr_slots, sizeof(*vm->slots));
	vm->nr_slots = nr_slots;
	vm->nr_alloc = 0;
	vm->page = page;
	return vm->slots ? 0 : -ENOMEM;
}

void naive_fini(struct naive_vm *vm)
{
	free(vm->slots);
	vm->slots = NULL;
}

static int sanity(const struct naive_vm *vm, uint64_t gpa, uint64_t size,
		  uint64_t hva)
{
	if (size % vm->page || gpa % vm->page || hva % vm->page)
		return -EINVAL;
	if (gpa + size < gpa || hva + size < hva)
		return -EINVAL;
	return 0;
}

static bool overlaps(const struct naive_vm *vm, uint32_t self, uint64_t gpa,
		     uint64_t size)
{
	for (uint32_t i = 0; i < vm->nr_alloc; i++) {
		const struct naive_slot *s = &vm->slots[i];

		if (i == self || !s->size)
			continue;
		if (gpa < s->gpa + s->size && s->gpa < gpa + size)
			return true;
	}
	return false;
}

int naive_add(struct naive_vm *vm, const struct memslot_region *r,
	      uint16_t *slotp)
{
	uint32_t id = r->slot;
	int err = sanity(vm, r->guest_phys_addr, r->memory_size,
			 r->userspace_addr);

	if (err)
		return err;
	if (!r->memory_size)
		return -EINVAL;
	if (id == MEMSLOT_ANY_SLOT) {
		for (id = 0; id < vm->nr_alloc; id++)
			if (!vm->slots[id].size)
				break;
		if (id == vm->nr_slots)
			return -ENOSPC;
	} else if (id >= vm->nr_slots || vm->slots[id].size) {
		return -EINVAL;
	}
	if (overlaps(vm, id, r->guest_phys_addr, r->memory_size))
		return -EEXIST;
	vm->slots[id] = (struct naive_slot){
		.gpa = r->guest_phys_addr,
		.size = r->memory_size,
		.hva = r->userspace_addr,
		.flags = r->flags,
	};
	if (id >= vm->nr_alloc)
		vm->nr_alloc = id + 1;
	if (slotp)
		*slotp = (uint16_t)id;
	return 0;
}

int naive_delete(struct naive_vm *vm, uint64_t gpa, uint64_t size)
{
	for (uint32_t i = 0; i < vm->nr_alloc; i++) {
		struct naive_slot *s = &vm->slots[i];

		if (s->size && s->gpa == gpa && s->size == size) {
			s->size = 0;
			return 0;
		}
	}
	return -ENOENT;
}

int naive_move(struct naive_vm *vm, uint16_t id, uint64_t new_gpa)
{
	struct naive_slot *s;
	int err;

	if (id >= vm->nr_slots || !vm->slots[id].size)
		return -ENOENT;
	s = &vm->slots[id];
	if ((err = sanity(vm, new_gpa, s->size, s->hva)))
		return err;
	if (overlaps(vm, id, new_gpa, s->size))
		return -EEXIST;
	s->gpa = new_gpa;
	return 0;
}
