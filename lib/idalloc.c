/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>

#include "idalloc.h"

int idalloc_init(struct idalloc *a, uint32_t nr_ids)
{
	/* Round up to whole words and mark the ids past nr_ids busy, so
	 * the search never needs a bound check inside a word. */
	uint32_t nr_words = (nr_ids + 63) / 64;
	uint32_t nr_full = (nr_words + 63) / 64;

	a->nr_ids = nr_ids;
	a->nr_words = nr_words;
	a->words = calloc(nr_words, sizeof(uint64_t));
	a->full = calloc(nr_full, sizeof(uint64_t));
	if (!a->words || !a->full) {
		idalloc_fini(a);
		return -ENOMEM;
	}
	for (uint32_t id = nr_ids; id < nr_words * 64; id++)
		idalloc_set(a, (uint16_t)id, true);
	for (uint32_t w = nr_words; w < nr_full * 64; w++)
		a->full[w / 64] |= 1ull << (w % 64);
	return 0;
}

void idalloc_fini(struct idalloc *a)
{
	free(a->words);
	free(a->full);
	a->words = a->full = NULL;
}

int idalloc_lowest(const struct idalloc *a)
{
	uint32_t nr_full = (a->nr_words + 63) / 64;

	for (uint32_t f = 0; f < nr_full; f++) {
		if (a->full[f] == ~0ull)
			continue;
		uint32_t w = f * 64 + (uint32_t)__builtin_ctzll(~a->full[f]);
		return (int)(w * 64 + (uint32_t)__builtin_ctzll(~a->words[w]));
	}
	return -ENOSPC;
}

void idalloc_set(struct idalloc *a, uint16_t id, bool busy)
{
	uint32_t w = id / 64;
	uint64_t bit = 1ull << (id % 64);

	if (busy)
		a->words[w] |= bit;
	else
		a->words[w] &= ~bit;
	if (a->words[w] == ~0ull)
		a->full[w / 64] |= 1ull << (w % 64);
	else
		a->full[w / 64] &= ~(1ull << (w % 64));
}

bool idalloc_busy(const struct idalloc *a, uint16_t id)
{
	return a->words[id / 64] >> (id % 64) & 1;
}
