/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef MEMSLOT_BENCH_ALLOC_COUNT_H
#define MEMSLOT_BENCH_ALLOC_COUNT_H

/* malloc + calloc + realloc calls so far, in the whole process. */
extern unsigned long bench_allocs;

#endif
