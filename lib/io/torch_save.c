/* Writes torch.save-compatible zip checkpoints: an OrderedDict pickled at
 * protocol 2 whose values are torch._utils._rebuild_tensor_v2 calls on
 * persistent ids ('storage', torch.FloatStorage|LongStorage, key, 'cpu',
 * numel), one storage per tensor in "<archive>/data/<key>", 64-byte
 * aligned, plus "<archive>/version" and "<archive>/byteorder". */
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/error.h"
#include "io/ckpt.h"
#include "io/le.h"
#include "io/zip.h"

typedef ldnq__buf pbuf;

static void put(pbuf *b, const void *s, size_t n) { ldnq__buf_put(b, s, n); }
static void op(pbuf *b, uint8_t c) { put(b, &c, 1); }
static void text(pbuf *b, const char *s) { ldnq__buf_puts(b, s); }

static void unicode(pbuf *b, const char *s) {
  uint8_t h[5] = {'X'};
  ldnq__put32(h + 1, (uint32_t)strlen(s));
  put(b, h, 5);
  text(b, s);
}

static void integer(pbuf *b, int64_t v) {
  uint8_t h[10];
  if (v >= INT32_MIN && v <= INT32_MAX) {
    h[0] = 'J';
    ldnq__put32(h + 1, (uint32_t)(int32_t)v);
    put(b, h, 5);
  } else { /* LONG1, 8 bytes two's complement */
    h[0] = 0x8a;
    h[1] = 8;
    ldnq__put64(h + 2, (uint64_t)v);
    put(b, h, 10);
  }
}

static void ordered_dict_call(pbuf *b) {
  text(b, "ccollections\nOrderedDict\n");
  op(b, ')');
  op(b, 'R');
}

static void pickle_state_dict(pbuf *b, const ldnq_checkpoint *ck) {
  op(b, 0x80);
  op(b, 2);
  ordered_dict_call(b);
  op(b, '(');
  for (int i = 0; i < ck->n; i++) {
    const ldnq__ck_entry *e = &ck->e[i];
    char key[32];
    snprintf(key, sizeof key, "%d", i);
    unicode(b, e->name);
    text(b, "ctorch._utils\n_rebuild_tensor_v2\n");
    op(b, '(');
    op(b, '(');
    unicode(b, "storage");
    text(b, ldnq__dtype_is_int(e->dtype) ? "ctorch\nLongStorage\n" : "ctorch\nFloatStorage\n");
    unicode(b, key);
    unicode(b, "cpu");
    integer(b, e->numel);
    op(b, 't');
    op(b, 'Q');  /* BINPERSID */
    integer(b, 0); /* storage offset */
    op(b, '(');
    for (int d = 0; d < e->ndim; d++) integer(b, e->shape[d]);
    op(b, 't');
    op(b, '(');
    for (int d = 0; d < e->ndim; d++) {
      int64_t s = 1;
      for (int k = d + 1; k < e->ndim; k++) s *= e->shape[k];
      integer(b, s);
    }
    op(b, 't');
    op(b, 0x89); /* requires_grad False */
    ordered_dict_call(b); /* backward hooks */
    op(b, 't');
    op(b, 'R');
  }
  op(b, 'u');
  op(b, '.');
}

ldnq_status ldnq__write_pth_zip(const ldnq_checkpoint *ck, ldnq__wfile *w, const char *arch) {
  pbuf b = {0};
  pickle_state_dict(&b, ck);
  if (b.oom) {
    ldnq__free(b.p);
    return ldnq__fail(NULL, LDNQ_ERR_NOMEM, "out of memory pickling the state dict");
  }
  ldnq__zipw z;
  ldnq__zipw_init(&z, w);
  char name[300];
  snprintf(name, sizeof name, "%s/data.pkl", arch);
  ldnq_status st = ldnq__zipw_add(&z, name, b.p, b.n);
  ldnq__free(b.p);
  snprintf(name, sizeof name, "%s/byteorder", arch);
  if (!st) st = ldnq__zipw_add(&z, name, "little", 6);
  for (int i = 0; i < ck->n && !st; i++) {
    const ldnq__ck_entry *e = &ck->e[i];
    snprintf(name, sizeof name, "%s/data/%d", arch, i);
    if (ldnq__dtype_is_int(e->dtype)) st = ldnq__zipw_add(&z, name, e->i64, (size_t)e->numel * 8);
    else st = ldnq__zipw_add(&z, name, e->f32, (size_t)e->numel * 4);
  }
  snprintf(name, sizeof name, "%s/version", arch);
  if (!st) st = ldnq__zipw_add(&z, name, "3\n", 2);
  if (!st) st = ldnq__zipw_finish(&z);
  ldnq__zipw_free(&z);
  return st;
}
