/* In-process ranks (ldnq_ranks.h): a group of threads meeting at a
 * barrier. A sum posts every rank's buffer, then rank r adds up slice r of
 * all of them in rank order and writes it back to all of them (the slices
 * are disjoint: no rank reads what another writes), then all meet again. */
#define _POSIX_C_SOURCE 200809L
#include "ldnq_ranks.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_RANKS = 64 };

typedef struct ldnq_ranks_group {
  int size;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int arrived;        /* at the current barrier */
  unsigned long gen;  /* barriers passed */
  int failed, left;   /* ranks that returned nonzero; ranks that returned */
  void *buf[MAX_RANKS];
  int (*run)(int, char **);
  int argc;
  char **argv;
} group;

typedef struct rank_arg {
  ldnq_ranks_self self;
  int rc;
} rank_arg;

static _Thread_local const ldnq_ranks_self *self;

const ldnq_ranks_self *ldnq_ranks_self_get(void) { return self; }

int ldnq_ranks_aborted(void) {
  if (!self) return 0;
  group *g = self->group;
  pthread_mutex_lock(&g->mu);
  int f = g->failed;
  pthread_mutex_unlock(&g->mu);
  return f > 0;
}

/* 0 when every rank arrived; -1 when a rank failed or left (the group can
 * no longer meet). */
static int barrier(group *g) {
  pthread_mutex_lock(&g->mu);
  int rc = 0;
  if (g->failed || g->left) {
    rc = -1;
  } else if (++g->arrived == g->size) {
    g->arrived = 0;
    g->gen++;
    pthread_cond_broadcast(&g->cv);
  } else {
    unsigned long gen = g->gen;
    while (gen == g->gen && !g->failed && !g->left) pthread_cond_wait(&g->cv, &g->mu);
    if (gen == g->gen) rc = -1;
  }
  pthread_mutex_unlock(&g->mu);
  return rc;
}

/* The sums: rank r's slice of count values, in rank order, in T. */
#define RANK_SUM(NAME, T)                                                  \
  static int NAME(void *ud, T *buf, int64_t count) {                      \
    const ldnq_ranks_self *me = ud;                                        \
    group *g = me->group;                                                  \
    g->buf[me->rank] = buf;                                                \
    if (barrier(g)) return -1;                                             \
    int64_t lo = count * me->rank / g->size, hi = count * (me->rank + 1) / g->size; \
    for (int64_t i = lo; i < hi; i++) {                                    \
      T s = ((T *)g->buf[0])[i];                                           \
      for (int k = 1; k < g->size; k++) s += ((T *)g->buf[k])[i];          \
      for (int k = 0; k < g->size; k++) ((T *)g->buf[k])[i] = s;           \
    }                                                                      \
    return barrier(g);                                                     \
  }
RANK_SUM(sum_float, float)
RANK_SUM(sum_double, double)

static int broadcast(void *ud, void *buf, int64_t bytes, int root) {
  const ldnq_ranks_self *me = ud;
  group *g = me->group;
  g->buf[me->rank] = buf;
  if (barrier(g)) return -1;
  if (me->rank != root) memcpy(buf, g->buf[root], (size_t)bytes);
  return barrier(g);
}

int ldnq_ranks_share(void *buf, size_t bytes) {
  return self ? broadcast((void *)self, buf, (int64_t)bytes, 0) : 0;
}

static void *rank_main(void *p) {
  rank_arg *a = p;
  group *g = a->self.group;
  self = &a->self;
  a->rc = g->run(g->argc, g->argv);
  pthread_mutex_lock(&g->mu);
  if (a->rc) g->failed++;
  g->left++;
  pthread_cond_broadcast(&g->cv);
  pthread_mutex_unlock(&g->mu);
  self = NULL;
  return NULL;
}

int ldnq_ranks_run(int n, int (*run)(int argc, char **argv), int argc, char **argv) {
  if (n < 2 || n > MAX_RANKS) {
    fprintf(stderr, "in-process ranks: %d is outside [2, %d]\n", n, MAX_RANKS);
    return 1;
  }
  group g = {.size = n, .run = run, .argc = argc, .argv = argv};
  rank_arg a[MAX_RANKS];
  pthread_t th[MAX_RANKS];
  int started = 0, rc = 0;
  pthread_mutex_init(&g.mu, NULL);
  pthread_cond_init(&g.cv, NULL);
  memset(a, 0, sizeof a);
  for (int r = 0; r < n && rc == 0; r++) {
    a[r].self.rank = r;
    a[r].self.size = n;
    a[r].self.group = &g;
    ldnq_comm *c = NULL;
    if (ldnq_comm_create(r, n, sum_float, sum_double, broadcast, &a[r].self, &c) != LDNQ_OK) {
      fprintf(stderr, "in-process ranks: %s\n", ldnq_last_error());
      rc = 1;
      break;
    }
    a[r].self.comm = c;
  }
  pthread_attr_t attr;
  int attr_ok = rc == 0 && pthread_attr_init(&attr) == 0;
  /* The stack a process's main thread has (8 MiB), not a smaller default. */
  if (attr_ok) pthread_attr_setstacksize(&attr, (size_t)8 << 20);
  for (int r = 0; attr_ok && r < n; r++, started++)
    if (pthread_create(&th[r], &attr, rank_main, &a[r]) != 0) {
      fprintf(stderr, "in-process ranks: cannot start the thread of rank %d\n", r);
      pthread_mutex_lock(&g.mu); /* the started ones' collectives fail */
      g.failed++;
      pthread_cond_broadcast(&g.cv);
      pthread_mutex_unlock(&g.mu);
      rc = 1;
      break;
    }
  if (attr_ok) pthread_attr_destroy(&attr);
  else if (rc == 0) rc = 1;
  for (int r = 0; r < started; r++) pthread_join(th[r], NULL);
  for (int r = 0; r < started && rc == 0; r++)
    if (a[r].rc) rc = a[r].rc; /* rank 0's first, then the others' */
  for (int r = 0; r < n; r++) ldnq_comm_free((ldnq_comm *)a[r].self.comm);
  pthread_cond_destroy(&g.cv);
  pthread_mutex_destroy(&g.mu);
  return rc;
}
