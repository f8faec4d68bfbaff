/* Internal allocation wrappers. All library memory goes through these so
 * that failure injection (ldnq_debug_fail_alloc) and leak accounting
 * (ldnq_debug_live_allocations) cover every path. Sizes are checked for
 * overflow; a zero-size request returns a valid unique pointer. */
#ifndef LDNQ_CORE_ALLOC_H
#define LDNQ_CORE_ALLOC_H

#include <stddef.h>
#include <stdint.h>

void *ldnq__malloc(size_t size);
/* n*size with overflow check, zero-filled. */
void *ldnq__calloc(size_t n, size_t size);
/* n*size with overflow check, uninitialised. */
void *ldnq__malloc_array(size_t n, size_t size);
void *ldnq__realloc(void *p, size_t size);
void ldnq__free(void *p);
/* Overflow-checked product of non-negative int64 values; returns 0 and sets
 * *out on success, -1 when negative input or the product exceeds `limit`. */
int ldnq__mul_checked(const int64_t *v, int n, int64_t limit, int64_t *out);
char *ldnq__strdup(const char *s);
/* Tests: 1 while an ldnq_debug_fail_alloc countdown is armed and has not
 * fired yet (so an operation made fewer allocations than nth). */
int ldnq__fail_alloc_pending(void);
/* Tests: the largest single request (bytes) since the last reset, so
 * limit tests can check that bad files are rejected before any large
 * allocation. */
size_t ldnq__debug_max_request(int reset);

#endif
