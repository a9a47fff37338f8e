/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Structs that cross the ABI start with their size (sz), checked the way
 * libbpf checks its opts: an older caller's smaller struct gets zero (the
 * default) for the fields it lacks; a newer caller's larger struct is
 * accepted only when every byte this version does not know is zero.
 */
#include <errno.h>
#include <string.h>

#include "internal.h"

int memslot_opts_copy(void *dst, size_t dst_size, const void *src,
		      size_t src_sz)
{
	const unsigned char *tail = (const unsigned char *)src + dst_size;

	if (src_sz < sizeof(size_t))
		return -EINVAL;
	for (size_t i = 0; src_sz > dst_size && i < src_sz - dst_size; i++)
		if (tail[i])
			return -E2BIG;
	memset(dst, 0, dst_size);
	memcpy(dst, src, src_sz < dst_size ? src_sz : dst_size);
	*(size_t *)dst = dst_size;
	return 0;
}

int memslot_struct_out(void *dst, const void *src, size_t src_size)
{
	size_t sz = *(const size_t *)dst;

	if (sz < sizeof(size_t))
		return -EINVAL;
	if (sz > src_size)
		memset((unsigned char *)dst + src_size, 0, sz - src_size);
	memcpy((unsigned char *)dst + sizeof(size_t),
	       (const unsigned char *)src + sizeof(size_t),
	       (sz < src_size ? sz : src_size) - sizeof(size_t));
	return 0;
}

void memslot_region_from(struct memslot_region *r, uint16_t as_id,
			 uint16_t id, const struct slot_state *st)
{
	memset(r, 0, sizeof(*r));
	r->sz = sizeof(*r);
	r->as_id = as_id;
	r->slot = id;
	r->flags = st->flags;
	r->guest_phys_addr = st->gpa;
	r->memory_size = st->size;
	r->userspace_addr = st->hva;
	r->guest_memfd_offset = st->gmem_offset;
	r->guest_memfd = st->gmem_fd;
}
