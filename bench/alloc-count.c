/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Heap allocation counter of the benchmark.  The program defines malloc,
 * calloc and realloc itself and forwards them to glibc's allocator, so
 * every allocation is counted: the library's, and also the ones the C
 * library makes on its behalf (qsort's merge buffer, for instance), which
 * a link-time -Wl,--wrap=malloc would not see.  glibc supports replacing
 * these functions; free and the aligned variants stay glibc's.
 */
#include <stddef.h>

#include "alloc-count.h"

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);

void *malloc(size_t size);
void *calloc(size_t n, size_t size);
void *realloc(void *p, size_t size);

unsigned long bench_allocs;

void *malloc(size_t size)
{
	bench_allocs++;
	return __libc_malloc(size);
}

void *calloc(size_t n, size_t size)
{
	bench_allocs++;
	return __libc_calloc(n, size);
}

void *realloc(void *p, size_t size)
{
	bench_allocs++;
	return __libc_realloc(p, size);
}
