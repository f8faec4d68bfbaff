/* Networks <-> checkpoints, by state-dict name, through the public network
 * API only (lib/nn's internals stay private). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "io/ckpt.h"
#include "nn/network_internal.h"

/* Bounded message builder: appends, marks truncation with "...". */
typedef struct msgbuf {
  char s[900];
  size_t n;
  int full;
} msgbuf;

static void say(msgbuf *m, const char *fmt, const char *a, const char *b, const char *c) {
  if (m->full) return;
  int k = snprintf(m->s + m->n, sizeof m->s - m->n, fmt, a, b, c);
  if (k < 0 || (size_t)k >= sizeof m->s - m->n) {
    m->full = 1;
    memcpy(m->s + sizeof m->s - 4, "...", 4);
    m->n = sizeof m->s - 1;
  } else {
    m->n += (size_t)k;
  }
}

/* A short list for error messages: the first few names, then "..." (the
 * count is kept apart). */
enum { LIST_SHOWN = 3 };
typedef struct namelist {
  char s[400];
  size_t n;
  int count;
} namelist;

static void list_add(namelist *l, const char *name, const char *extra) {
  if (l->count++ >= LIST_SHOWN) {
    if (l->count == LIST_SHOWN + 1 && l->n + 6 < sizeof l->s) {
      memcpy(l->s + l->n, ", ...", 6);
      l->n += 5;
    }
    return;
  }
  int k = snprintf(l->s + l->n, sizeof l->s - l->n, "%s%.120s%s", l->count > 1 ? ", " : "", name,
                   extra ? extra : "");
  if (k > 0) l->n += (size_t)k < sizeof l->s - l->n ? (size_t)k : sizeof l->s - l->n - 1;
}

/* Largest N + 1 over names "layer<stage>.<N>.*" (0 when the stage is absent). */
static int blocks_in(const ldnq_checkpoint *ck, int stage) {
  char pre[16];
  int n = snprintf(pre, sizeof pre, "layer%d.", stage), best = 0;
  for (int j = 0; j < ck->n; j++) {
    const char *nm = ck->e[j].name;
    if (strncmp(nm, pre, (size_t)n)) continue;
    int b = 0;
    const char *p = nm + n;
    while (*p >= '0' && *p <= '9' && b < 100000) b = b * 10 + (*p++ - '0');
    if (*p == '.' && b + 1 > best) best = b + 1;
  }
  return best;
}

/* A guess of the file's architecture from its tensor names, into b (e.g.
 * "resnet32", or a description when it is none of the built-in ones). */
static void guess_arch(const ldnq_checkpoint *ck, char *b, size_t bn) {
  int n[5];
  for (int k = 1; k <= 4; k++) n[k] = blocks_in(ck, k);
  int bottleneck = 0;
  for (int j = 0; j < ck->n && !bottleneck; j++) bottleneck = strstr(ck->e[j].name, ".conv3.") != NULL;
  if (!n[1]) {
    snprintf(b, bn, "no ResNet (no layer1.* tensors)");
  } else if (!n[4] && n[1] == n[2] && n[2] == n[3] && !bottleneck) {
    int depth = 6 * n[1] + 2;
    if (depth == 20 || depth == 32 || depth == 56) snprintf(b, bn, "resnet%d", depth);
    else snprintf(b, bn, "a CIFAR ResNet-%d (3 stages of %d blocks; not built in)", depth, n[1]);
  } else if (n[4]) {
    int d34 = n[1] == 3 && n[2] == 4 && n[3] == 6 && n[4] == 3;
    if (!bottleneck && n[1] == 2 && n[2] == 2 && n[3] == 2 && n[4] == 2) snprintf(b, bn, "resnet18");
    else if (!bottleneck && d34) snprintf(b, bn, "resnet34");
    else if (bottleneck && d34) snprintf(b, bn, "resnet50");
    else
      snprintf(b, bn, "a%s ResNet with %d/%d/%d/%d blocks (not built in)", bottleneck ? " bottleneck" : "",
               n[1], n[2], n[3], n[4]);
  } else {
    snprintf(b, bn, "a ResNet with %d/%d/%d blocks (not built in)", n[1], n[2], n[3]);
  }
}

static void shape_str(char *b, size_t bn, int nd, const int64_t *s) {
  size_t k = (size_t)snprintf(b, bn, "[");
  for (int d = 0; d < nd && k < bn; d++)
    k += (size_t)snprintf(b + k, bn - k, "%s%lld", d ? ", " : "", (long long)s[d]);
  if (k < bn) snprintf(b + k, bn - k, "]");
}

/* The load itself. On success *skip holds what non-strict mode skipped
 * ("" if nothing). Failures: thread message (the callers copy it to the
 * network's). */
static ldnq_status load(ldnq_network *net, const ldnq_checkpoint *ck, unsigned flags,
                        msgbuf *skip) {
  if (flags & ~LDNQ_LOAD_NON_STRICT)
    return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "unknown load flags 0x%x", flags);
  int strict = !(flags & LDNQ_LOAD_NON_STRICT), count;
  ldnq_status st = ldnq_network_tensor_count(net, &count);
  if (st) return st;
  /* Which checkpoint entry feeds each network entry (-1: none / skipped). */
  int *src = ldnq__malloc_array((size_t)(count ? count : 1), sizeof *src);
  char *used = ldnq__calloc((size_t)(ck->n ? ck->n : 1), 1);
  float *tmp = NULL;
  if (!src || !used) {
    st = ldnq__fail(NULL, LDNQ_ERR_NOMEM, "out of memory loading a checkpoint");
    goto done;
  }
  msgbuf missing = {{0}, 0, 0}, shapes = {{0}, 0, 0}, unexpected = {{0}, 0, 0};
  /* Short lists for the error message; the full ones above for `skip`. */
  namelist lmiss = {{0}, 0, 0}, lshape = {{0}, 0, 0}, lunexp = {{0}, 0, 0};
  int nmiss = 0, nshape = 0, nunexp = 0;
  int64_t maxint = 0;
  for (int i = 0; i < count; i++) {
    const char *name;
    int nd;
    int64_t shape[LDNQ_MAX_DIMS];
    if ((st = ldnq_network_tensor_name(net, i, &name)) ||
        (st = ldnq_network_tensor_info(net, name, NULL, &nd, shape)))
      goto done;
    src[i] = -1;
    int j = ldnq__ck_find(ck, name);
    if (j < 0) {
      say(&missing, "%s%s%s", nmiss++ ? ", " : "", name, "");
      list_add(&lmiss, name, NULL);
      continue;
    }
    used[j] = 1;
    const ldnq__ck_entry *e = &ck->e[j];
    if (e->ndim != nd || (nd && memcmp(e->shape, shape, (size_t)nd * sizeof *shape))) {
      char a[128], b[128];
      shape_str(a, sizeof a, e->ndim, e->shape);
      shape_str(b, sizeof b, nd, shape);
      say(&shapes, "%s%s: checkpoint %s", nshape++ ? ", " : "", name, a);
      say(&shapes, " network %s%s%s", b, "", "");
      char both[280];
      snprintf(both, sizeof both, " (file %s, network %s)", a, b);
      list_add(&lshape, name, both);
      continue;
    }
    if (e->f32) {
      for (int64_t k = 0; k < e->numel; k++)
        if (!isfinite(e->f32[k])) {
          st = ldnq__fail(NULL, LDNQ_ERR_NUMERIC, "'%.300s' holds a non-finite value at %lld; "
                          "network unchanged", name, (long long)k);
          goto done;
        }
    } else if (e->numel > maxint) {
      maxint = e->numel;
    }
    src[i] = j;
  }
  for (int j = 0; j < ck->n; j++)
    if (!used[j]) {
      say(&unexpected, "%s%s%s", nunexp++ ? ", " : "", ck->e[j].name, "");
      list_add(&lunexp, ck->e[j].name, NULL);
    }
  if (strict && (nmiss || nshape || nunexp)) {
    /* Names of another architecture: LDNQ_ERR_ARCH_MISMATCH with a guess
     * of which; the same architecture with other sizes (classes, channels)
     * or tensors missing / extra: SHAPE, NOT_FOUND, FORMAT. The message
     * gives counts and the first few names, never a wall of them. */
    ldnq_arch arch = LDNQ_ARCH_RESNET20;
    ldnq_network_describe(net, &arch, NULL, NULL);
    const char *aname = ldnq_arch_name(arch);
    char guess[160] = "", msg[1400];
    if (nmiss || nunexp) guess_arch(ck, guess, sizeof guess);
    if (aname && !strcmp(guess, aname)) guess[0] = 0; /* same architecture, other tensors */
    st = *guess ? LDNQ_ERR_ARCH_MISMATCH : nshape ? LDNQ_ERR_SHAPE : nmiss ? LDNQ_ERR_NOT_FOUND : LDNQ_ERR_FORMAT;
    size_t k = 0;
#define ADD(...) \
  do { if (k < sizeof msg) k += (size_t)snprintf(msg + k, sizeof msg - k, __VA_ARGS__); } while (0)
    if (*guess) ADD("the file looks like %s; ", guess);
    ADD("%d of the network's %d tensors match, the file has %d", count - nmiss - nshape, count, ck->n);
    if (nmiss) ADD("; %d missing (%s)", nmiss, lmiss.s);
    if (nunexp) ADD("; %d unexpected (%s)", nunexp, lunexp.s);
    if (nshape) ADD("; %d of other shapes: %s", nshape, lshape.s);
#undef ADD
    ldnq__fail(NULL, st, "weights do not fit %s (network unchanged): %s", aname ? aname : "the network", msg);
    goto done;
  }
  tmp = ldnq__malloc_array((size_t)(maxint ? maxint : 1), sizeof *tmp);
  if (!tmp) {
    st = ldnq__fail(NULL, LDNQ_ERR_NOMEM, "out of memory loading a checkpoint");
    goto done;
  }
  for (int i = 0; i < count; i++) {
    if (src[i] < 0) continue;
    const ldnq__ck_entry *e = &ck->e[src[i]];
    const float *v = e->f32;
    if (!v) {
      for (int64_t k = 0; k < e->numel; k++) tmp[k] = (float)e->i64[k];
      v = tmp;
    }
    if ((st = ldnq_network_write(net, e->name, v, e->numel))) goto done;
  }
  /* Success: in non-strict mode, what was skipped. */
  say(skip, "%s%s%s", nshape ? "skipped (shape mismatch): " : "", shapes.s,
      nmiss ? (nshape ? "; not in checkpoint: " : "not in checkpoint: ") : "");
  say(skip, "%s%s%s", missing.s, nunexp ? (nshape || nmiss ? "; unused: " : "unused: ") : "",
      unexpected.s);
done:
  ldnq__free(src);
  ldnq__free(used);
  ldnq__free(tmp);
  return st;
}

/* Both entry points: failures on the network and the thread; the skipped
 * names into skipped[skipped_size] (may be NULL) and, for the deprecated
 * functions (legacy = 1), also into the thread message as before. */
static ldnq_status load_entry(ldnq_network *net, const ldnq_checkpoint *ck, const char *path,
                              unsigned flags, char *skipped, size_t skipped_size, int legacy,
                              const char *fn) {
  if (skipped && skipped_size) skipped[0] = '\0';
  if (!net) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "%s: network is NULL", fn);
  if (!ck && !path)
    return ldnq__fail(ldnq__network_errbuf(net), LDNQ_ERR_INVALID_ARG, "%s: checkpoint is NULL", fn);
  if (skipped && !skipped_size)
    return ldnq__fail(ldnq__network_errbuf(net), LDNQ_ERR_INVALID_ARG, "%s: skipped_size is 0", fn);
  ldnq_checkpoint *own = NULL;
  ldnq_status st = path ? ldnq_checkpoint_load(path, &own) : LDNQ_OK;
  msgbuf skip = {{0}, 0, 0};
  if (st == LDNQ_OK) st = load(net, path ? own : ck, flags, &skip);
  ldnq_checkpoint_free(own);
  if (st != LDNQ_OK) return ldnq__propagate(ldnq__network_errbuf(net), st);
  ldnq__errbuf_clear(ldnq__network_errbuf(net));
  if (skipped) snprintf(skipped, skipped_size, "%s", skip.s);
  /* 0.2 behaviour: the skipped names in the thread message on success. */
  if (legacy) ldnq__fail(NULL, LDNQ_OK, "%s", skip.s);
  return LDNQ_OK;
}

LDNQ_API ldnq_status ldnq_network_load_checkpoint_v2(ldnq_network *net, const ldnq_checkpoint *ck,
                                                     unsigned flags, char *skipped,
                                                     size_t skipped_size) {
  return load_entry(net, ck, NULL, flags, skipped, skipped_size, 0, __func__);
}

LDNQ_API ldnq_status ldnq_network_load_v2(ldnq_network *net, const char *path, unsigned flags,
                                          char *skipped, size_t skipped_size) {
  if (!path) return ldnq__fail(ldnq__network_errbuf(net), LDNQ_ERR_INVALID_ARG, "%s: path is NULL", __func__);
  return load_entry(net, NULL, path, flags, skipped, skipped_size, 0, __func__);
}

LDNQ_API ldnq_status ldnq_network_load_checkpoint(ldnq_network *net, const ldnq_checkpoint *ck,
                                                  unsigned flags) {
  return load_entry(net, ck, NULL, flags, NULL, 0, 1, __func__);
}

LDNQ_API ldnq_status ldnq_network_load(ldnq_network *net, const char *path, unsigned flags) {
  if (!path) return ldnq__fail(ldnq__network_errbuf(net), LDNQ_ERR_INVALID_ARG, "%s: path is NULL", __func__);
  return load_entry(net, NULL, path, flags, NULL, 0, 1, __func__);
}

static int ends_with(const char *s, const char *suffix) {
  size_t a = strlen(s), b = strlen(suffix);
  return a >= b && !strcmp(s + a - b, suffix);
}

LDNQ_API ldnq_status ldnq_checkpoint_from_network(const ldnq_network *net, ldnq_checkpoint **out) {
  if (out) *out = NULL;
  if (!net || !out) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "network or out is NULL");
  int count;
  ldnq_status st = ldnq_network_tensor_count(net, &count);
  if (st) return st;
  ldnq_checkpoint *ck = ldnq__ck_alloc();
  if (!ck) return ldnq__fail(NULL, LDNQ_ERR_NOMEM, "out of memory for a checkpoint");
  for (int i = 0; i < count && !st; i++) {
    const char *name;
    int nd;
    int64_t shape[LDNQ_MAX_DIMS];
    if ((st = ldnq_network_tensor_name(net, i, &name)) ||
        (st = ldnq_network_tensor_info(net, name, NULL, &nd, shape)))
      break;
    /* BatchNorm's counter is an integer buffer in PyTorch. */
    int isint = ends_with(name, "num_batches_tracked");
    ldnq__ck_entry *e;
    if ((st = ldnq__ck_new_entry(ck, name, strlen(name), LDNQ_DTYPE_FLOAT32, nd, shape, &e)))
      break;
    if ((st = ldnq_network_read(net, name, e->f32, e->numel))) break;
    if (isint) {
      int64_t *iv = ldnq__malloc_array((size_t)(e->numel ? e->numel : 1), sizeof *iv);
      if (!iv) {
        st = ldnq__fail(NULL, LDNQ_ERR_NOMEM, "out of memory for a checkpoint");
        break;
      }
      for (int64_t k = 0; k < e->numel; k++) iv[k] = (int64_t)llround(e->f32[k]);
      ldnq__free(e->f32);
      e->f32 = NULL;
      e->i64 = iv;
      e->dtype = LDNQ_DTYPE_INT64;
    }
  }
  if (st) {
    ldnq_checkpoint_free(ck);
    return st;
  }
  *out = ck;
  return LDNQ_OK;
}

LDNQ_API ldnq_status ldnq_network_save(const ldnq_network *net, const char *path,
                                       ldnq_format format) {
  ldnq_checkpoint *ck = NULL;
  ldnq_status st = ldnq_checkpoint_from_network(net, &ck);
  if (st) return st;
  st = ldnq_checkpoint_save(ck, path, format);
  ldnq_checkpoint_free(ck);
  return st;
}

LDNQ_API ldnq_status ldnq_network_create_from_checkpoint(ldnq_arch arch, const ldnq_checkpoint *ck,
                                                         ldnq_network **out) {
  if (out) *out = NULL;
  if (!ck || !out) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "checkpoint or out is NULL");
  int ci = ldnq__ck_find(ck, "conv1.weight"), fi = ldnq__ck_find(ck, "fc.weight");
  if (ci < 0 || fi < 0)
    return ldnq__fail(NULL, LDNQ_ERR_NOT_FOUND,
                      "checkpoint lacks %s: cannot infer the network's sizes",
                      ci < 0 ? "conv1.weight" : "fc.weight");
  const ldnq__ck_entry *c = &ck->e[ci], *f = &ck->e[fi];
  if (c->ndim != 4 || f->ndim != 2 || c->shape[1] > 64 || f->shape[0] > 100000)
    return ldnq__fail(NULL, LDNQ_ERR_SHAPE,
                      "conv1.weight must be 4-D and fc.weight 2-D with in_channels <= 64 and "
                      "num_classes <= 100000");
  ldnq_network *net = NULL;
  ldnq_status st = ldnq_network_create(arch, (int)c->shape[1], (int)f->shape[0], &net);
  if (st) return st;
  st = ldnq_network_load_checkpoint_v2(net, ck, 0, NULL, 0);
  if (st) {
    ldnq_network_free(net);
    return st;
  }
  *out = net;
  return LDNQ_OK;
}
