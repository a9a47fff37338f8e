/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>

#include "idmap.h"

int idmap_init(struct idmap *m, uint32_t nr_ids)
{
	m->nr_chunks = (nr_ids + IDMAP_CHUNK - 1) >> IDMAP_CHUNK_SHIFT;
	m->chunks = calloc(m->nr_chunks, sizeof(*m->chunks));
	return m->chunks ? 0 : -ENOMEM;
}

void idmap_fini(struct idmap *m)
{
	for (uint32_t i = 0; m->chunks && i < m->nr_chunks; i++)
		free(m->chunks[i]);
	free(m->chunks);
	m->chunks = NULL;
	m->nr_chunks = 0;
}

struct idmap_entry *idmap_peek(const struct idmap *m, uint16_t id)
{
	uint32_t c = id >> IDMAP_CHUNK_SHIFT;

	if (c >= m->nr_chunks || !m->chunks[c])
		return NULL;
	return &m->chunks[c][id & (IDMAP_CHUNK - 1)];
}

struct idmap_entry *idmap_get(struct idmap *m, uint16_t id)
{
	uint32_t c = id >> IDMAP_CHUNK_SHIFT;

	if (c >= m->nr_chunks)
		return NULL;
	if (!m->chunks[c])
		m->chunks[c] = calloc(IDMAP_CHUNK, sizeof(**m->chunks));
	return m->chunks[c] ? &m->chunks[c][id & (IDMAP_CHUNK - 1)] : NULL;
}
