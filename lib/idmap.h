/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Slot id -> records, in constant time: a two-level table whose chunks
 * are allocated on first use, so a small table costs little and a full
 * one costs 16 bytes per id.
 */
#ifndef LIBMEMSLOT_IDMAP_H
#define LIBMEMSLOT_IDMAP_H

#include <stdint.h>

struct slot;

struct idmap_entry {
	struct slot *committed;   /* the kernel's slot, or NULL */
	struct slot *pending;     /* touched by the open transaction, or NULL */
};

#define IDMAP_CHUNK_SHIFT 7
#define IDMAP_CHUNK (1u << IDMAP_CHUNK_SHIFT)

struct idmap {
	struct idmap_entry **chunks;
	uint32_t nr_chunks;
};

int idmap_init(struct idmap *m, uint32_t nr_ids);
void idmap_fini(struct idmap *m);
/* The entry of id, or NULL when its chunk was never allocated. */
struct idmap_entry *idmap_peek(const struct idmap *m, uint16_t id);
/* The entry of id, allocating its chunk: NULL only on ENOMEM. */
struct idmap_entry *idmap_get(struct idmap *m, uint16_t id);

#endif
