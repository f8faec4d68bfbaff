/* Legacy torch.save files (_use_new_zipfile_serialization=False): five
 * consecutive pickles (magic number, protocol version 1001, sys info, the
 * object, the list of storage keys), then per key an 8-byte little-endian
 * element count and the raw storage bytes. */
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "io/le.h"
#include "io/torch.h"

/* 0x1950a86a20f9469cfc6c, little-endian (as pickle LONG1 stores it). */
static const uint8_t MAGIC[10] = {0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};

typedef struct lstore {
  const char *key;
  size_t key_len;
  ldnq_dtype dt;
  const uint8_t *data;
  size_t nbytes;
  int placed;
} lstore;

typedef struct lctx {
  lstore *s; /* in file order */
  size_t n;
  size_t *sorted; /* indices sorted by key, for find() */
} lctx;

static int key_cmp(const char *a, size_t la, const char *b, size_t lb) {
  int c = memcmp(a, b, la < lb ? la : lb);
  return c ? c : (la > lb) - (la < lb);
}

static _Thread_local const lctx *sort_c;

static int by_key(const void *x, const void *y) {
  const lstore *a = &sort_c->s[*(const size_t *)x], *b = &sort_c->s[*(const size_t *)y];
  return key_cmp(a->key, a->key_len, b->key, b->key_len);
}

static lstore *find(const lctx *c, const char *key, size_t len) {
  size_t lo = 0, hi = c->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    lstore *s = &c->s[c->sorted[mid]];
    int r = key_cmp(s->key, s->key_len, key, len);
    if (r == 0) return s;
    if (r < 0) lo = mid + 1;
    else hi = mid;
  }
  return NULL;
}

static ldnq_status get_storage(void *ctx, const char *key, size_t key_len, const uint8_t **p,
                               size_t *n, uint8_t **owned) {
  lstore *s = find(ctx, key, key_len);
  *owned = NULL;
  if (!s || !s->placed) return ldnq__fail(NULL, LDNQ_ERR_FORMAT, "storage missing from the file");
  *p = s->data;
  *n = s->nbytes;
  return LDNQ_OK;
}

/* Any pickle protocol 2..5 (the magic number is checked once parsed). */
int ldnq__legacy_sniff(const uint8_t *d, size_t size) {
  return size >= 2 && d[0] == 0x80 && d[1] >= 2 && d[1] <= 5;
}

static ldnq_status bad(const char *what) {
  return ldnq__fail(NULL, LDNQ_ERR_FORMAT, "legacy torch file: %s", what);
}

/* Parses the header pickles and the storages; fills the storage table from
 * the persistent ids of the object pickle. */
static ldnq_status read_all(ldnq_checkpoint *ck, const uint8_t *d, size_t size, ldnq__pk_doc *docs,
                            lctx *c) {
  size_t pos = 0;
  for (int k = 0; k < 5; k++) {
    ldnq_status st = ldnq__pk_parse(d + pos, size - pos, ldnq__torch_whitelist, &docs[k]);
    if (st) return st;
    pos += docs[k].consumed;
  }
  const ldnq__pk_node *magic = docs[0].root, *proto = docs[1].root, *keys = docs[4].root;
  if (magic->kind != LDNQ__PK_BIGINT || magic->len != 10 || memcmp(magic->s, MAGIC, 10))
    return bad("wrong magic number");
  if (proto->kind != LDNQ__PK_INT || proto->i != 1001) return bad("protocol version is not 1001");
  const ldnq__pk_node *le = ldnq__pk_get(docs[2].root, "little_endian");
  if (le && !(le->kind == LDNQ__PK_BOOL && le->i == 1))
    return ldnq__fail(NULL, LDNQ_ERR_UNSUPPORTED, "big-endian torch checkpoints are not supported");
  if (keys->kind != LDNQ__PK_LIST) return bad("storage key list is not a list");
  /* Storage types from every persistent id in the object pickle. */
  size_t nk = keys->items.n ? keys->items.n : 1;
  c->s = ldnq__calloc(nk, sizeof *c->s);
  c->sorted = ldnq__malloc_array(nk, sizeof *c->sorted);
  if (!c->s || !c->sorted) return ldnq__fail(NULL, LDNQ_ERR_NOMEM, "out of memory for the storage table");
  for (size_t i = 0; i < keys->items.n; i++) {
    const ldnq__pk_node *k = keys->items.v[i];
    if (k->kind != LDNQ__PK_STR) return bad("storage key is not a string");
    c->s[c->n].key = k->s;
    c->s[c->n].key_len = k->len;
    c->sorted[c->n] = c->n;
    c->n++;
  }
  sort_c = c;
  qsort(c->sorted, c->n, sizeof *c->sorted, by_key);
  for (size_t i = 1; i < c->n; i++)
    if (!by_key(&c->sorted[i - 1], &c->sorted[i])) return bad("duplicate storage key");
  for (size_t i = 0; i < docs[3].nall; i++) {
    const ldnq__pk_node *pn = docs[3].all[i];
    if (pn->kind != LDNQ__PK_PERSID) continue;
    const ldnq__pk_node *t = pn->items.v[0], *key = ldnq__pk_item(t, 2);
    if (!key || key->kind != LDNQ__PK_STR) return bad("bad persistent id");
    lstore *s = find(c, key->s, key->len);
    if (!s) return bad("persistent id names a storage not in the key list");
    ldnq_dtype dt = ldnq__torch_storage_dtype(ldnq__pk_item(t, 1));
    if (!dt) return ldnq__fail(NULL, LDNQ_ERR_UNSUPPORTED, "unknown storage type");
    if (s->dt && s->dt != dt) return bad("storage used with two types");
    s->dt = dt;
  }
  for (size_t i = 0; i < c->n; i++) {
    lstore *s = &c->s[i];
    if (!s->dt) return bad("storage with no type");
    if (size - pos < 8) return bad("truncated storage header");
    uint64_t numel = ldnq__le64(d + pos), es = ldnq__dtype_size(s->dt);
    pos += 8;
    if (numel > (size - pos) / es) return bad("storage runs past the end of the file");
    s->data = d + pos;
    s->nbytes = (size_t)(numel * es);
    s->placed = 1;
    pos += s->nbytes;
  }
  return ldnq__torch_collect(ck, docs[3].root, get_storage, c, size);
}

ldnq_status ldnq__read_pth_legacy(ldnq_checkpoint *ck, const uint8_t *d, size_t size) {
  ldnq__pk_doc docs[5];
  memset(docs, 0, sizeof docs);
  lctx c = {NULL, 0, NULL};
  ldnq_status st = read_all(ck, d, size, docs, &c);
  for (int k = 0; k < 5; k++) ldnq__pk_free(&docs[k]);
  ldnq__free(c.s);
  ldnq__free(c.sorted);
  if (!st) ck->format = LDNQ_FORMAT_PTH_LEGACY;
  return st;
}
