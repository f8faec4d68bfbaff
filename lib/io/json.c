/* Strict recursive-descent JSON parser (see json.h). */
#include "io/json.h"

#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"

#define MAX_DEPTH 64
/* About 80 bytes each: bounds memory whatever the text holds. */
#define MAX_VALUES ((size_t)1 << 21)

typedef struct jp {
  const char *s;
  size_t n, pos;
  size_t values;
} jp;

static ldnq_status bad(const jp *p, const char *what) {
  return ldnq__fail(NULL, LDNQ_ERR_FORMAT, "JSON: %s at byte %zu", what, p->pos);
}

static void ws(jp *p) {
  while (p->pos < p->n && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' ||
                           p->s[p->pos] == '\n' || p->s[p->pos] == '\r'))
    p->pos++;
}

static void clear(ldnq__json *j) {
  if (j->kind == LDNQ__J_STR) ldnq__free(j->s);
  if (j->kind == LDNQ__J_ARR || j->kind == LDNQ__J_OBJ) {
    for (size_t i = 0; i < j->n; i++) {
      clear(&j->v[i]);
      if (j->keys) ldnq__free(j->keys[i]);
    }
    ldnq__free(j->v);
    ldnq__free(j->keys);
    ldnq__free(j->key_lens);
  }
  memset(j, 0, sizeof *j);
}

static int hex4(const char *s, unsigned *out) {
  unsigned v = 0;
  for (int i = 0; i < 4; i++) {
    char c = s[i];
    v <<= 4;
    if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
    else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
    else return -1;
  }
  *out = v;
  return 0;
}

/* Decodes a string literal starting at the opening quote. */
static ldnq_status string(jp *p, char **out, size_t *olen) {
  p->pos++; /* opening quote */
  size_t start = p->pos;
  while (p->pos < p->n && p->s[p->pos] != '"') p->pos += p->s[p->pos] == '\\' ? 2 : 1;
  if (p->pos >= p->n) return bad(p, "unterminated string");
  size_t end = p->pos;
  p->pos = start;
  char *d = ldnq__malloc(end - start + 1); /* decoding never grows */
  if (!d) return ldnq__fail(NULL, LDNQ_ERR_NOMEM, "out of memory parsing JSON");
  size_t k = 0;
  while (p->pos < end) {
    unsigned char c = (unsigned char)p->s[p->pos];
    if (c < 0x20) {
      ldnq__free(d);
      return bad(p, "control character in string");
    }
    if (c != '\\') {
      d[k++] = (char)c;
      p->pos++;
      continue;
    }
    char e = p->s[p->pos + 1];
    p->pos += 2;
    const char *simple = "\"\"\\\\//b\bf\fn\nr\rt\t";
    const char *m = NULL;
    for (const char *q = simple; *q; q += 2)
      if (*q == e) m = q;
    if (m) {
      d[k++] = m[1];
      continue;
    }
    unsigned cp, lo;
    if (e != 'u' || end - p->pos < 4 || hex4(p->s + p->pos, &cp)) {
      ldnq__free(d);
      return bad(p, "bad escape");
    }
    p->pos += 4;
    if (cp >= 0xd800 && cp < 0xdc00) {
      if (end - p->pos < 6 || p->s[p->pos] != '\\' || p->s[p->pos + 1] != 'u' ||
          hex4(p->s + p->pos + 2, &lo) || lo < 0xdc00 || lo > 0xdfff) {
        ldnq__free(d);
        return bad(p, "unpaired surrogate");
      }
      p->pos += 6;
      cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
    } else if ((cp >= 0xdc00 && cp < 0xe000) || cp == 0) {
      ldnq__free(d);
      return bad(p, cp ? "unpaired surrogate" : "NUL in string");
    }
    /* \uXXXX takes >= 6 input bytes and at most 4 output bytes. */
    if (cp < 0x80) {
      d[k++] = (char)cp;
    } else if (cp < 0x800) {
      d[k++] = (char)(0xc0 | (cp >> 6));
      d[k++] = (char)(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      d[k++] = (char)(0xe0 | (cp >> 12));
      d[k++] = (char)(0x80 | ((cp >> 6) & 0x3f));
      d[k++] = (char)(0x80 | (cp & 0x3f));
    } else {
      d[k++] = (char)(0xf0 | (cp >> 18));
      d[k++] = (char)(0x80 | ((cp >> 12) & 0x3f));
      d[k++] = (char)(0x80 | ((cp >> 6) & 0x3f));
      d[k++] = (char)(0x80 | (cp & 0x3f));
    }
  }
  d[k] = 0;
  p->pos = end + 1;
  *out = d;
  *olen = k;
  return LDNQ_OK;
}

static ldnq_status number(jp *p, ldnq__json *j) {
  size_t st = p->pos, i = p->pos;
  int is_int = 1;
  if (i < p->n && p->s[i] == '-') i++;
  if (i >= p->n || p->s[i] < '0' || p->s[i] > '9') return bad(p, "bad number");
  if (p->s[i] == '0' && i + 1 < p->n && p->s[i + 1] >= '0' && p->s[i + 1] <= '9')
    return bad(p, "leading zero");
  while (i < p->n && p->s[i] >= '0' && p->s[i] <= '9') i++;
  if (i < p->n && p->s[i] == '.') {
    is_int = 0;
    i++;
    if (i >= p->n || p->s[i] < '0' || p->s[i] > '9') return bad(p, "bad fraction");
    while (i < p->n && p->s[i] >= '0' && p->s[i] <= '9') i++;
  }
  if (i < p->n && (p->s[i] == 'e' || p->s[i] == 'E')) {
    is_int = 0;
    i++;
    if (i < p->n && (p->s[i] == '+' || p->s[i] == '-')) i++;
    if (i >= p->n || p->s[i] < '0' || p->s[i] > '9') return bad(p, "bad exponent");
    while (i < p->n && p->s[i] >= '0' && p->s[i] <= '9') i++;
  }
  char buf[64];
  if (i - st >= sizeof buf) return bad(p, "number too long");
  memcpy(buf, p->s + st, i - st);
  buf[i - st] = 0;
  j->kind = LDNQ__J_NUM;
  j->num = strtod(buf, NULL);
  if (is_int) {
    /* exact int64, rejecting overflow */
    int neg = buf[0] == '-';
    uint64_t v = 0;
    int ok = 1;
    for (const char *c = buf + neg; *c; c++) {
      if (v > (UINT64_MAX - 9) / 10) ok = 0;
      v = v * 10 + (uint64_t)(*c - '0');
    }
    if (ok && v <= (uint64_t)INT64_MAX) {
      j->is_int = 1;
      j->i = neg ? -(int64_t)v : (int64_t)v;
    }
  }
  p->pos = i;
  return LDNQ_OK;
}

static ldnq_status value(jp *p, ldnq__json *j, int depth);

static ldnq_status grow(ldnq__json *j, size_t *cap, int obj) {
  if (j->n < *cap) return LDNQ_OK;
  size_t c = *cap ? *cap * 2 : 4;
  ldnq__json *v = ldnq__realloc(j->v, c * sizeof *v);
  if (!v) return ldnq__fail(NULL, LDNQ_ERR_NOMEM, "out of memory parsing JSON");
  j->v = v;
  if (obj) {
    char **k = ldnq__realloc(j->keys, c * sizeof *k);
    if (!k) return ldnq__fail(NULL, LDNQ_ERR_NOMEM, "out of memory parsing JSON");
    j->keys = k;
    size_t *kl = ldnq__realloc(j->key_lens, c * sizeof *kl);
    if (!kl) return ldnq__fail(NULL, LDNQ_ERR_NOMEM, "out of memory parsing JSON");
    j->key_lens = kl;
  }
  *cap = c;
  return LDNQ_OK;
}

/* Duplicate keys, found by sorting (O(n log n) even for huge objects). */
static _Thread_local const ldnq__json *cmp_obj;

static int cmp_keys(const void *a, const void *b) {
  size_t x = *(const size_t *)a, y = *(const size_t *)b;
  size_t lx = cmp_obj->key_lens[x], ly = cmp_obj->key_lens[y];
  int c = memcmp(cmp_obj->keys[x], cmp_obj->keys[y], lx < ly ? lx : ly);
  return c ? c : (lx > ly) - (lx < ly);
}

static ldnq_status unique_keys(jp *p, const ldnq__json *j) {
  if (j->n < 2) return LDNQ_OK;
  size_t *idx = ldnq__malloc_array(j->n, sizeof *idx);
  if (!idx) return ldnq__fail(NULL, LDNQ_ERR_NOMEM, "out of memory parsing JSON");
  for (size_t i = 0; i < j->n; i++) idx[i] = i;
  cmp_obj = j;
  qsort(idx, j->n, sizeof *idx, cmp_keys);
  ldnq_status st = LDNQ_OK;
  for (size_t i = 1; i < j->n && !st; i++)
    if (!cmp_keys(&idx[i - 1], &idx[i])) st = bad(p, "duplicate key");
  ldnq__free(idx);
  return st;
}

static ldnq_status container(jp *p, ldnq__json *j, int depth, int obj) {
  j->kind = obj ? LDNQ__J_OBJ : LDNQ__J_ARR;
  p->pos++;
  ws(p);
  size_t cap = 0;
  char close = obj ? '}' : ']';
  if (p->pos < p->n && p->s[p->pos] == close) {
    p->pos++;
    return LDNQ_OK;
  }
  for (;;) {
    ldnq_status st = grow(j, &cap, obj);
    if (st) return st;
    char *key = NULL;
    size_t klen = 0;
    if (obj) {
      ws(p);
      if (p->pos >= p->n || p->s[p->pos] != '"') return bad(p, "expected a key");
      if ((st = string(p, &key, &klen))) return st;
      ws(p);
      if (p->pos >= p->n || p->s[p->pos] != ':') {
        ldnq__free(key);
        return bad(p, "expected ':'");
      }
      p->pos++;
      j->keys[j->n] = key;
      j->key_lens[j->n] = klen;
    }
    memset(&j->v[j->n], 0, sizeof j->v[0]);
    j->n++; /* counted now so clear() frees a partial value and its key */
    if ((st = value(p, &j->v[j->n - 1], depth + 1))) return st;
    ws(p);
    if (p->pos < p->n && p->s[p->pos] == ',') {
      p->pos++;
      continue;
    }
    if (p->pos < p->n && p->s[p->pos] == close) {
      p->pos++;
      return obj ? unique_keys(p, j) : LDNQ_OK;
    }
    return bad(p, obj ? "expected ',' or '}'" : "expected ',' or ']'");
  }
}

static ldnq_status value(jp *p, ldnq__json *j, int depth) {
  if (depth > MAX_DEPTH) return bad(p, "nesting too deep");
  if (++p->values > MAX_VALUES)
    return ldnq__fail(NULL, LDNQ_ERR_LIMIT, "JSON: more than %zu values", MAX_VALUES);
  ws(p);
  if (p->pos >= p->n) return bad(p, "unexpected end");
  char c = p->s[p->pos];
  static const struct {
    const char *w;
    ldnq__json_kind k;
    int v;
  } lit[] = {{"null", LDNQ__J_NULL, 0}, {"true", LDNQ__J_BOOL, 1}, {"false", LDNQ__J_BOOL, 0}};
  for (int i = 0; i < 3; i++) {
    size_t l = strlen(lit[i].w);
    if (c == lit[i].w[0]) {
      if (p->n - p->pos < l || memcmp(p->s + p->pos, lit[i].w, l)) return bad(p, "bad literal");
      p->pos += l;
      j->kind = lit[i].k;
      j->i = lit[i].v;
      return LDNQ_OK;
    }
  }
  if (c == '"') {
    ldnq_status st = string(p, &j->s, &j->len);
    if (!st) j->kind = LDNQ__J_STR;
    return st;
  }
  if (c == '[' || c == '{') return container(p, j, depth, c == '{');
  return number(p, j);
}

ldnq_status ldnq__json_parse(const char *text, size_t len, ldnq__json **out) {
  *out = NULL;
  ldnq__json *j = ldnq__calloc(1, sizeof *j);
  if (!j) return ldnq__fail(NULL, LDNQ_ERR_NOMEM, "out of memory parsing JSON");
  jp p = {text, len, 0, 0};
  ldnq_status st = value(&p, j, 0);
  if (!st) {
    ws(&p);
    if (p.pos != p.n) st = bad(&p, "trailing characters");
  }
  if (st) {
    ldnq__json_free(j);
    return st;
  }
  *out = j;
  return LDNQ_OK;
}

void ldnq__json_free(ldnq__json *j) {
  if (!j) return;
  clear(j);
  ldnq__free(j);
}

const ldnq__json *ldnq__json_get(const ldnq__json *o, const char *key) {
  if (!o || o->kind != LDNQ__J_OBJ) return NULL;
  size_t l = strlen(key);
  for (size_t i = 0; i < o->n; i++)
    if (o->key_lens[i] == l && !memcmp(o->keys[i], key, l)) return &o->v[i];
  return NULL;
}
