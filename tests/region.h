/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Building and comparing regions: shared by every test program. */
#ifndef LIBMEMSLOT_TEST_REGION_H
#define LIBMEMSLOT_TEST_REGION_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "libmemslot/libmemslot.h"

/* A region without guest_memfd, as the library reports such slots. */
static inline struct memslot_region test_region(uint16_t as_id, uint16_t slot,
						uint64_t gpa, uint64_t size,
						uint64_t hva, uint32_t flags)
{
	struct memslot_region r;

	memset(&r, 0, sizeof(r));
	r.sz = sizeof(r);
	r.as_id = as_id;
	r.slot = slot;
	r.flags = flags;
	r.guest_phys_addr = gpa;
	r.memory_size = size;
	r.userspace_addr = hva;
	r.guest_memfd = -1;
	return r;
}

/* Every field the kernel keeps for a slot. */
static inline bool test_region_eq(const struct memslot_region *a,
				  const struct memslot_region *b)
{
	return a->as_id == b->as_id && a->slot == b->slot &&
	       a->flags == b->flags &&
	       a->guest_phys_addr == b->guest_phys_addr &&
	       a->memory_size == b->memory_size &&
	       a->userspace_addr == b->userspace_addr &&
	       a->guest_memfd_offset == b->guest_memfd_offset &&
	       a->guest_memfd == b->guest_memfd;
}

#endif
