/* torch.save zip checkpoints: "<archive>/data.pkl" holds the pickled
 * object, "<archive>/data/<key>" the raw little-endian storages. */
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "io/torch.h"
#include "io/zip.h"

typedef struct zctx {
  const ldnq__zip *z;
  const char *prefix; /* "<archive>/", not NUL-terminated */
  size_t prefix_len;
} zctx;

static ldnq_status get_storage(void *ctx, const char *key, size_t key_len, const uint8_t **p,
                               size_t *n, uint8_t **owned) {
  const zctx *c = ctx;
  char path[512];
  if (c->prefix_len + 5 + key_len >= sizeof path)
    return ldnq__fail(NULL, LDNQ_ERR_FORMAT, "storage key too long");
  memcpy(path, c->prefix, c->prefix_len);
  memcpy(path + c->prefix_len, "data/", 5);
  memcpy(path + c->prefix_len + 5, key, key_len);
  size_t len = c->prefix_len + 5 + key_len;
  long i = ldnq__zip_find(c->z, path, len);
  if (i < 0)
    return ldnq__fail(NULL, LDNQ_ERR_FORMAT, "storage '%.*s' missing from the archive",
                      (int)(len > 300 ? 300 : len), path);
  return ldnq__zip_get(c->z, (size_t)i, p, n, owned);
}

ldnq_status ldnq__read_pth_zip(ldnq_checkpoint *ck, const uint8_t *data, size_t size) {
  ldnq__zip z;
  ldnq_status st = ldnq__zip_open(&z, data, size);
  if (st) return st;
  /* data.pkl one folder deep; the folder name is free (torch uses the
   * file's base name). */
  long pk = -1;
  for (size_t i = 0; i < z.n && pk < 0; i++) {
    const ldnq__zip_entry *e = &z.e[i];
    const char *slash = memchr(e->name, '/', e->name_len);
    if (slash && (size_t)(e->name + e->name_len - slash) == 9 && !memcmp(slash, "/data.pkl", 9))
      pk = (long)i;
  }
  if (pk < 0) {
    ldnq__zip_close(&z);
    return ldnq__fail(NULL, LDNQ_ERR_FORMAT, "zip archive has no '<name>/data.pkl': not a torch checkpoint");
  }
  zctx c = {&z, z.e[pk].name, z.e[pk].name_len - 8};
  long bo;
  {
    char bn[600];
    size_t bl = c.prefix_len + 9;
    if (bl < sizeof bn) {
      memcpy(bn, c.prefix, c.prefix_len);
      memcpy(bn + c.prefix_len, "byteorder", 9);
      bo = ldnq__zip_find(&z, bn, bl);
    } else {
      bo = -1;
    }
  }
  if (bo >= 0) {
    const uint8_t *p;
    size_t n;
    uint8_t *own;
    st = ldnq__zip_get(&z, (size_t)bo, &p, &n, &own);
    if (!st && !(n == 6 && !memcmp(p, "little", 6)))
      st = ldnq__fail(NULL, LDNQ_ERR_UNSUPPORTED, "big-endian torch checkpoints are not supported");
    ldnq__free(own);
    if (st) {
      ldnq__zip_close(&z);
      return st;
    }
  }
  const uint8_t *p;
  size_t n;
  uint8_t *owned;
  st = ldnq__zip_get(&z, (size_t)pk, &p, &n, &owned);
  if (st) {
    ldnq__zip_close(&z);
    return st;
  }
  ldnq__pk_doc doc;
  st = ldnq__pk_parse(p, n, ldnq__torch_whitelist, &doc);
  if (!st) st = ldnq__torch_collect(ck, doc.root, get_storage, &c, size);
  ldnq__pk_free(&doc);
  ldnq__free(owned);
  ldnq__zip_close(&z);
  if (!st) ck->format = LDNQ_FORMAT_PTH_ZIP;
  return st;
}
