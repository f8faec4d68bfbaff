#include "core/alloc.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "ldnq/experimental.h"

/* Failure injection: when fail_countdown reaches zero the allocation fails.
 * Negative means disabled. Atomics keep it safe with threads. */
static atomic_long fail_countdown = -1;
static atomic_long live_allocations = 0;
static atomic_size_t max_request = 0;

static void note_request(size_t size) {
  size_t cur = atomic_load_explicit(&max_request, memory_order_relaxed);
  while (size > cur &&
         !atomic_compare_exchange_weak_explicit(&max_request, &cur, size, memory_order_relaxed,
                                                memory_order_relaxed)) {
  }
}

static int should_fail(void) {
  long cur = atomic_load(&fail_countdown);
  while (cur >= 0) {
    if (atomic_compare_exchange_weak(&fail_countdown, &cur, cur - 1))
      return cur == 0;
  }
  return 0;
}

void *ldnq__malloc(size_t size) {
  note_request(size);
  if (should_fail()) return NULL;
  void *p = malloc(size ? size : 1);
  if (p) atomic_fetch_add(&live_allocations, 1);
  return p;
}

void *ldnq__calloc(size_t n, size_t size) {
  if (size && n > SIZE_MAX / size) return NULL;
  note_request(n * size);
  if (should_fail()) return NULL;
  void *p = calloc(n ? n : 1, size ? size : 1);
  if (p) atomic_fetch_add(&live_allocations, 1);
  return p;
}

void *ldnq__malloc_array(size_t n, size_t size) {
  if (size && n > SIZE_MAX / size) return NULL;
  return ldnq__malloc(n * size);
}

void *ldnq__realloc(void *p, size_t size) {
  if (!p) return ldnq__malloc(size);
  note_request(size);
  if (should_fail()) return NULL;
  return realloc(p, size ? size : 1);
}

void ldnq__free(void *p) {
  if (!p) return;
  atomic_fetch_sub(&live_allocations, 1);
  free(p);
}

int ldnq__mul_checked(const int64_t *v, int n, int64_t limit, int64_t *out) {
  int64_t r = 1;
  for (int i = 0; i < n; i++) {
    if (v[i] < 0) return -1;
    if (v[i] != 0 && r > limit / v[i]) return -1;
    r *= v[i];
  }
  if (r > limit) return -1;
  *out = r;
  return 0;
}

char *ldnq__strdup(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = ldnq__malloc(n);
  if (d) memcpy(d, s, n);
  return d;
}

size_t ldnq__debug_max_request(int reset) {
  return reset ? atomic_exchange(&max_request, 0) : atomic_load(&max_request);
}

int ldnq__fail_alloc_pending(void) { return atomic_load(&fail_countdown) >= 0; }

LDNQ_API ldnq_status ldnq_debug_fail_alloc(long nth) {
  atomic_store(&fail_countdown, nth > 0 ? nth - 1 : -1);
  return LDNQ_OK;
}

LDNQ_API ldnq_status ldnq_debug_live_allocations(long *out) {
  if (!out) return LDNQ_ERR_INVALID_ARG;
  *out = atomic_load(&live_allocations);
  return LDNQ_OK;
}
