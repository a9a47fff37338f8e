/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Lowest-free-id allocation in constant time: a bitmap of busy ids with a
 * summary bitmap of full words above it.  With at most 32768 ids the
 * summary is 8 words, scanned in order.
 */
#ifndef LIBMEMSLOT_IDALLOC_H
#define LIBMEMSLOT_IDALLOC_H

#include <stdbool.h>
#include <stdint.h>

struct idalloc {
	uint64_t *words;          /* bit set: id busy */
	uint64_t *full;           /* bit set: that word of words is all busy */
	uint32_t nr_ids;
	uint32_t nr_words;
};

int idalloc_init(struct idalloc *a, uint32_t nr_ids);
void idalloc_fini(struct idalloc *a);
/* The lowest free id, or -ENOSPC.  Does not mark it. */
int idalloc_lowest(const struct idalloc *a);
void idalloc_set(struct idalloc *a, uint16_t id, bool busy);
bool idalloc_busy(const struct idalloc *a, uint16_t id);

#endif
