/* Safe pickle reader (see pickle.h): a stack machine over a whitelist of
 * opcodes that builds inert nodes and never executes anything. */
#include "io/pickle.h"

#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "io/le.h"

typedef struct vm {
  const uint8_t *d;
  size_t size, pos;
  ldnq__pk_whitelist wl;
  ldnq__pk_doc *doc;
  ldnq__pk_vec stack;
  size_t *marks;
  size_t nmarks, capmarks;
  ldnq__pk_node **memo;
  size_t nmemo;    /* slots allocated */
  size_t memo_len; /* keys set (MEMOIZE uses it) */
  int too_many;    /* node_new hit LDNQ__PK_MAX_NODES */
  size_t decoded;  /* bytes allocated by _codecs.encode, at most the input size */
} vm;

/* The pickle opcodes (names of Lib/pickletools.py): the interpreter's
 * case labels and the names in its messages. */
#define PK_OPCODES(X) \
  X(MARK, '(') X(STOP, '.') X(POP, '0') X(POP_MARK, '1') \
  X(DUP, '2') X(FLOAT, 'F') X(INT, 'I') X(BININT, 'J') \
  X(BININT1, 'K') X(LONG, 'L') X(BININT2, 'M') X(NONE, 'N') \
  X(PERSID, 'P') X(BINPERSID, 'Q') X(REDUCE, 'R') X(STRING, 'S') \
  X(BINSTRING, 'T') X(SHORT_BINSTRING, 'U') X(UNICODE, 'V') X(BINUNICODE, 'X') \
  X(APPEND, 'a') X(BUILD, 'b') X(GLOBAL, 'c') X(DICT, 'd') \
  X(EMPTY_DICT, '}') X(APPENDS, 'e') X(GET, 'g') X(BINGET, 'h') \
  X(INST, 'i') X(LONG_BINGET, 'j') X(LIST, 'l') X(EMPTY_LIST, ']') \
  X(OBJ, 'o') X(PUT, 'p') X(BINPUT, 'q') X(LONG_BINPUT, 'r') \
  X(SETITEM, 's') X(TUPLE, 't') X(EMPTY_TUPLE, ')') X(SETITEMS, 'u') \
  X(BINFLOAT, 'G') X(PROTO, 0x80) X(NEWOBJ, 0x81) X(EXT1, 0x82) \
  X(EXT2, 0x83) X(EXT4, 0x84) X(TUPLE1, 0x85) X(TUPLE2, 0x86) \
  X(TUPLE3, 0x87) X(NEWTRUE, 0x88) X(NEWFALSE, 0x89) X(LONG1, 0x8a) \
  X(LONG4, 0x8b) X(BINBYTES, 'B') X(SHORT_BINBYTES, 'C') X(SHORT_BINUNICODE, 0x8c) \
  X(BINUNICODE8, 0x8d) X(BINBYTES8, 0x8e) X(EMPTY_SET, 0x8f) X(ADDITEMS, 0x90) \
  X(FROZENSET, 0x91) X(NEWOBJ_EX, 0x92) X(STACK_GLOBAL, 0x93) X(MEMOIZE, 0x94) \
  X(FRAME, 0x95) X(BYTEARRAY8, 0x96) X(NEXT_BUFFER, 0x97) X(READONLY_BUFFER, 0x98)
enum {
#define X(name, byte) OP_##name = byte,
  PK_OPCODES(X)
#undef X
};

/* Opcode name for messages; NULL for a byte that is no opcode. */
static const char *op_name(uint8_t op) {
  switch (op) {
#define X(name, byte) \
  case OP_##name:     \
    return #name;
    PK_OPCODES(X)
#undef X
    default: return NULL;
  }
}

static ldnq_status nomem_(void);
/* node_new's NULL means out of memory or over the node cap. */
#define nomem() (m->too_many ? ldnq__fail(NULL, LDNQ_ERR_LIMIT, "pickle: more than %zu objects", \
                                          LDNQ__PK_MAX_NODES) : nomem_())

static ldnq_status nomem_(void) {
  return ldnq__fail(NULL, LDNQ_ERR_NOMEM, "out of memory reading a pickle");
}

static ldnq_status bad(const vm *m, const char *what) {
  return ldnq__fail(NULL, LDNQ_ERR_FORMAT, "pickle: %s at offset %zu", what, m->pos);
}

static ldnq_status vec_push(ldnq__pk_vec *v, ldnq__pk_node *n) {
  if (v->n == v->cap) {
    size_t cap = v->cap ? v->cap * 2 : 4;
    ldnq__pk_node **p = ldnq__realloc(v->v, cap * sizeof *p);
    if (!p) return nomem_();
    v->v = p;
    v->cap = cap;
  }
  v->v[v->n++] = n;
  return LDNQ_OK;
}

static ldnq__pk_node *node_new(vm *m, ldnq__pk_kind kind) {
  ldnq__pk_doc *d = m->doc;
  if (d->nall >= LDNQ__PK_MAX_NODES) {
    m->too_many = 1;
    return NULL;
  }
  if (d->nall == d->capall) {
    size_t cap = d->capall ? d->capall * 2 : 64;
    ldnq__pk_node **p = ldnq__realloc(d->all, cap * sizeof *p);
    if (!p) return NULL;
    d->all = p;
    d->capall = cap;
  }
  ldnq__pk_node *n = ldnq__calloc(1, sizeof *n);
  if (!n) return NULL;
  n->kind = kind;
  d->all[d->nall++] = n;
  return n;
}

static ldnq_status need(const vm *m, size_t n) {
  if (m->size - m->pos < n) return bad(m, "truncated");
  return LDNQ_OK;
}

/* Pushes a new node of `kind`; *out receives it. */
static ldnq_status push_new(vm *m, ldnq__pk_kind kind, ldnq__pk_node **out) {
  ldnq__pk_node *n = node_new(m, kind);
  if (!n) return nomem();
  if (out) *out = n;
  return vec_push(&m->stack, n);
}

static ldnq_status pop(vm *m, ldnq__pk_node **out) {
  size_t floor = m->nmarks ? m->marks[m->nmarks - 1] : 0;
  if (m->stack.n <= floor) return bad(m, "stack underflow");
  *out = m->stack.v[--m->stack.n];
  return LDNQ_OK;
}

static ldnq_status top(vm *m, ldnq__pk_node **out) {
  size_t floor = m->nmarks ? m->marks[m->nmarks - 1] : 0;
  if (m->stack.n <= floor) return bad(m, "stack underflow");
  *out = m->stack.v[m->stack.n - 1];
  return LDNQ_OK;
}

static ldnq_status pop_mark(vm *m, size_t *start) {
  if (!m->nmarks) return bad(m, "no MARK on the stack");
  *start = m->marks[--m->nmarks];
  return LDNQ_OK;
}

/* Moves stack[start..] into v and truncates the stack. */
static ldnq_status take_from(vm *m, size_t start, ldnq__pk_vec *v) {
  for (size_t i = start; i < m->stack.n; i++) {
    ldnq_status st = vec_push(v, m->stack.v[i]);
    if (st) return st;
  }
  m->stack.n = start;
  return LDNQ_OK;
}

static ldnq_status str_node(vm *m, ldnq__pk_kind kind, size_t len) {
  ldnq_status st = need(m, len);
  if (st) return st;
  ldnq__pk_node *n = NULL;
  st = push_new(m, kind, &n);
  if (st) return st;
  n->s = (const char *)m->d + m->pos;
  n->len = len;
  m->pos += len;
  return LDNQ_OK;
}

/* One text line (protocol 0 arguments); excludes the newline. */
static ldnq_status line(vm *m, const char **s, size_t *len) {
  const uint8_t *nl = memchr(m->d + m->pos, '\n', m->size - m->pos);
  if (!nl) return bad(m, "unterminated text argument");
  *s = (const char *)m->d + m->pos;
  *len = (size_t)(nl - (m->d + m->pos));
  m->pos += *len + 1;
  return LDNQ_OK;
}

static ldnq_status line_int(vm *m, int64_t *out) {
  const char *s = NULL;
  size_t len = 0;
  ldnq_status st = line(m, &s, &len);
  if (st) return st;
  size_t i = 0;
  int neg = 0;
  if (len && (s[0] == '-' || s[0] == '+')) neg = s[i++] == '-';
  if (i == len || len - i > 18) return bad(m, "bad decimal integer");
  int64_t v = 0;
  for (; i < len; i++) {
    if (s[i] < '0' || s[i] > '9') return bad(m, "bad decimal integer");
    v = v * 10 + (s[i] - '0');
  }
  *out = neg ? -v : v;
  return LDNQ_OK;
}

static ldnq_status check_global(vm *m, const char *mod, size_t ml, const char *name, size_t nl) {
  for (ldnq__pk_whitelist w = m->wl; w && *w; w++) {
    size_t wl = strlen(*w);
    if (wl == ml + 1 + nl && !memcmp(*w, mod, ml) && (*w)[ml] == '.' &&
        !memcmp(*w + ml + 1, name, nl))
      return LDNQ_OK;
  }
  return ldnq__fail(NULL, LDNQ_ERR_FORMAT,
                    "pickle: global '%.*s.%.*s' is not allowed (offset %zu); refusing to load",
                    (int)(ml > 200 ? 200 : ml), mod, (int)(nl > 200 ? 200 : nl), name, m->pos);
}

static ldnq_status push_global(vm *m, const char *mod, size_t ml, const char *name, size_t nl) {
  ldnq_status st = check_global(m, mod, ml, name, nl);
  if (st) return st;
  ldnq__pk_node *n = NULL;
  st = push_new(m, LDNQ__PK_GLOBAL, &n);
  if (st) return st;
  n->s = mod;
  n->len = ml;
  n->s2 = name;
  n->len2 = nl;
  return LDNQ_OK;
}

static ldnq_status memo_put(vm *m, uint64_t idx) {
  ldnq__pk_node *n = NULL;
  ldnq_status st = top(m, &n);
  if (st) return st;
  if (idx >= m->size + 1) return ldnq__fail(NULL, LDNQ_ERR_LIMIT, "pickle: memo index too large");
  if (idx >= m->nmemo) {
    size_t cap = (size_t)idx + 1 > m->nmemo * 2 ? (size_t)idx + 1 : m->nmemo * 2;
    if (cap > m->size + 1) cap = m->size + 1;
    ldnq__pk_node **p = ldnq__realloc(m->memo, cap * sizeof *p);
    if (!p) return nomem();
    memset(p + m->nmemo, 0, (cap - m->nmemo) * sizeof *p);
    m->memo = p;
    m->nmemo = cap;
  }
  if (!m->memo[idx]) m->memo_len++;
  m->memo[idx] = n;
  return LDNQ_OK;
}

static ldnq_status memo_get(vm *m, uint64_t idx) {
  if (idx >= m->nmemo || !m->memo[idx]) return bad(m, "memo key not found");
  return vec_push(&m->stack, m->memo[idx]);
}

static ldnq_status tuple_n(vm *m, size_t k) {
  size_t floor = m->nmarks ? m->marks[m->nmarks - 1] : 0;
  if (m->stack.n - floor < k) return bad(m, "stack underflow");
  ldnq__pk_node *t = node_new(m, LDNQ__PK_TUPLE);
  if (!t) return nomem();
  ldnq_status st = take_from(m, m->stack.n - k, &t->items);
  if (!st) st = vec_push(&m->stack, t);
  return st;
}

static ldnq_status setitems(vm *m, size_t start) {
  if (start == 0 || m->stack.n < start || (m->stack.n - start) % 2) return bad(m, "bad SETITEMS");
  size_t floor = m->nmarks ? m->marks[m->nmarks - 1] : 0;
  if (start - 1 < floor) return bad(m, "stack underflow");
  ldnq__pk_node *d = m->stack.v[start - 1];
  if (d->kind != LDNQ__PK_DICT && d->kind != LDNQ__PK_CALL) return bad(m, "SETITEM on a non-dict");
  return take_from(m, start, &d->kv);
}

static ldnq_status appends(vm *m, size_t start) {
  size_t floor = m->nmarks ? m->marks[m->nmarks - 1] : 0;
  if (start == 0 || start - 1 < floor || m->stack.n < start) return bad(m, "stack underflow");
  ldnq__pk_node *l = m->stack.v[start - 1];
  if (l->kind == LDNQ__PK_LIST) return take_from(m, start, &l->items);
  if (l->kind == LDNQ__PK_CALL) return take_from(m, start, &l->list);
  return bad(m, "APPEND on a non-list");
}

static int is_name(const char *s, size_t len, const char *lit) {
  return strlen(lit) == len && !memcmp(s, lit, len);
}

/* Python 3 bytes at protocol 2: _codecs.encode(str, 'latin1'), where str
 * holds one code point 0..255 per byte (UTF-8 in the pickle). Pushes the
 * bytes as data; any other form is refused (it would be a real call). */
static ldnq_status codecs_bytes(vm *m, const ldnq__pk_node *args) {
  const ldnq__pk_node *text = ldnq__pk_item(args, 0), *enc = ldnq__pk_item(args, 1);
  if (args->items.n != 2 || !text || text->kind != LDNQ__PK_STR || !enc || enc->kind != LDNQ__PK_STR ||
      !(is_name(enc->s, enc->len, "latin1") || is_name(enc->s, enc->len, "latin-1") ||
        is_name(enc->s, enc->len, "latin_1") || is_name(enc->s, enc->len, "iso-8859-1")))
    return bad(m, "_codecs.encode is read only as encode(str, 'latin1') (bytes data)");
  ldnq__pk_node *n = NULL;
  /* A memo'd text decoded again and again must not multiply the memory. */
  if (text->len > m->size - m->decoded)
    return ldnq__fail(NULL, LDNQ_ERR_LIMIT, "pickle: _codecs.encode bytes exceed the input size");
  m->decoded += text->len;
  uint8_t *out = ldnq__malloc(text->len ? text->len : 1);
  if (!out) return nomem_();
  size_t k = 0;
  const uint8_t *u = (const uint8_t *)text->s;
  for (size_t i = 0; i < text->len; k++) {
    if (u[i] < 0x80) {
      out[k] = u[i++];
    } else if ((u[i] == 0xc2 || u[i] == 0xc3) && i + 1 < text->len && (u[i + 1] & 0xc0) == 0x80) {
      out[k] = (uint8_t)(((u[i] & 0x1f) << 6) | (u[i + 1] & 0x3f));
      i += 2;
    } else {
      ldnq__free(out);
      return bad(m, "_codecs.encode: the text is not latin-1 (a code point above 255 or bad UTF-8)");
    }
  }
  ldnq_status st = push_new(m, LDNQ__PK_BYTES, &n);
  if (st) {
    ldnq__free(out);
    return st;
  }
  n->owned = out;
  n->s = (const char *)out;
  n->len = k;
  return LDNQ_OK;
}

static ldnq_status call(vm *m) {
  ldnq__pk_node *args = NULL, *fn = NULL, *c = NULL;
  ldnq_status st = pop(m, &args);
  if (!st) st = pop(m, &fn);
  if (st) return st;
  if (fn->kind != LDNQ__PK_GLOBAL) return bad(m, "call of a non-global");
  if (args->kind != LDNQ__PK_TUPLE) return bad(m, "call arguments are not a tuple");
  /* Globals that stand for data, never calls (reached only when whitelisted). */
  if (ldnq__pk_is_global(fn, "_codecs", "encode")) return codecs_bytes(m, args);
  if (ldnq__pk_is_global(fn, "__builtin__", "bytes") || ldnq__pk_is_global(fn, "builtins", "bytes")) {
    if (args->items.n) return bad(m, "bytes() is read only without arguments (b'')");
    ldnq__pk_node *n = NULL;
    if ((st = push_new(m, LDNQ__PK_BYTES, &n))) return st;
    n->s = "";
    return LDNQ_OK;
  }
  st = push_new(m, LDNQ__PK_CALL, &c);
  if (!st) st = vec_push(&c->items, fn);
  if (!st) st = vec_push(&c->items, args);
  return st;
}

static ldnq_status step(vm *m, int *done) {
  ldnq_status st = need(m, 1);
  if (st) return st;
  uint8_t op = m->d[m->pos++];
  ldnq__pk_node *n = NULL, *a = NULL, *b = NULL;
  size_t start = 0;
  int64_t iv = 0;
  switch (op) {
    case OP_PROTO:
      if ((st = need(m, 1))) return st;
      if (m->d[m->pos] > 5) return bad(m, "unsupported protocol");
      m->pos++;
      return LDNQ_OK;
    case OP_FRAME: /* framing is only a hint */
      if ((st = need(m, 8))) return st;
      m->pos += 8;
      return LDNQ_OK;
    case OP_STOP:
      if ((st = pop(m, &n))) return st;
      m->doc->root = n;
      *done = 1;
      return LDNQ_OK;
    case OP_MARK:
      if (m->nmarks == m->capmarks) {
        size_t cap = m->capmarks ? m->capmarks * 2 : 16;
        size_t *p = ldnq__realloc(m->marks, cap * sizeof *p);
        if (!p) return nomem();
        m->marks = p;
        m->capmarks = cap;
      }
      m->marks[m->nmarks++] = m->stack.n;
      return LDNQ_OK;
    case OP_POP: return pop(m, &n);
    case OP_POP_MARK:
      if ((st = pop_mark(m, &start))) return st;
      m->stack.n = start;
      return LDNQ_OK;
    case OP_DUP:
      if ((st = top(m, &n))) return st;
      return vec_push(&m->stack, n);
    case OP_NONE: return push_new(m, LDNQ__PK_NONE, NULL);
    case OP_NEWTRUE: case OP_NEWFALSE:
      if ((st = push_new(m, LDNQ__PK_BOOL, &n))) return st;
      n->i = op == 0x88;
      return LDNQ_OK;
    case OP_INT: /* text; "01"/"00" are booleans */
      if ((st = line_int(m, &iv))) return st;
      if ((st = push_new(m, LDNQ__PK_INT, &n))) return st;
      n->i = iv;
      return LDNQ_OK;
    case OP_BININT: case OP_BININT1: case OP_BININT2: {
      size_t k = op == 'J' ? 4 : op == 'K' ? 1 : 2;
      if ((st = need(m, k))) return st;
      const uint8_t *p = m->d + m->pos;
      iv = op == 'J' ? (int32_t)ldnq__le32(p) : op == 'K' ? p[0] : ldnq__le16(p);
      m->pos += k;
      if ((st = push_new(m, LDNQ__PK_INT, &n))) return st;
      n->i = iv;
      return LDNQ_OK;
    }
    case OP_LONG1: case OP_LONG4: {
      size_t k = op == 0x8a ? 1 : 4;
      if ((st = need(m, k))) return st;
      size_t len = op == 0x8a ? m->d[m->pos] : ldnq__le32(m->d + m->pos);
      m->pos += k;
      if ((st = need(m, len))) return st;
      if (len <= 8) {
        uint64_t u = 0;
        for (size_t i = 0; i < len; i++) u |= (uint64_t)m->d[m->pos + i] << (8 * i);
        if (len && len < 8 && (m->d[m->pos + len - 1] & 0x80)) u |= ~0ull << (8 * len);
        m->pos += len;
        if ((st = push_new(m, LDNQ__PK_INT, &n))) return st;
        n->i = (int64_t)u;
        return LDNQ_OK;
      }
      return str_node(m, LDNQ__PK_BIGINT, len);
    }
    case OP_BINFLOAT: { /* big-endian */
      if ((st = need(m, 8))) return st;
      uint64_t u = 0;
      for (int i = 0; i < 8; i++) u = (u << 8) | m->d[m->pos + i];
      m->pos += 8;
      if ((st = push_new(m, LDNQ__PK_FLOAT, &n))) return st;
      memcpy(&n->f, &u, 8);
      return LDNQ_OK;
    }
    case OP_BINUNICODE: case OP_BINSTRING: case OP_BINBYTES:
      if ((st = need(m, 4))) return st;
      m->pos += 4;
      if (op == 'T' && (int32_t)ldnq__le32(m->d + m->pos - 4) < 0) return bad(m, "negative length");
      return str_node(m, op == 'B' ? LDNQ__PK_BYTES : LDNQ__PK_STR, ldnq__le32(m->d + m->pos - 4));
    case OP_SHORT_BINUNICODE: case OP_SHORT_BINSTRING: case OP_SHORT_BINBYTES:
      if ((st = need(m, 1))) return st;
      m->pos++;
      return str_node(m, op == 'C' ? LDNQ__PK_BYTES : LDNQ__PK_STR, m->d[m->pos - 1]);
    case OP_BINUNICODE8: case OP_BINBYTES8: {
      if ((st = need(m, 8))) return st;
      uint64_t len = ldnq__le64(m->d + m->pos);
      m->pos += 8;
      if (len > m->size) return bad(m, "truncated");
      return str_node(m, op == 0x8e ? LDNQ__PK_BYTES : LDNQ__PK_STR, (size_t)len);
    }
    case OP_BYTEARRAY8: { /* protocol 5, an in-band buffer: read as bytes */
      if ((st = need(m, 8))) return st;
      uint64_t len = ldnq__le64(m->d + m->pos);
      m->pos += 8;
      if (len > m->size) return bad(m, "truncated");
      return str_node(m, LDNQ__PK_BYTES, (size_t)len);
    }
    case OP_EMPTY_TUPLE: return push_new(m, LDNQ__PK_TUPLE, NULL);
    case OP_EMPTY_LIST: return push_new(m, LDNQ__PK_LIST, NULL);
    case OP_EMPTY_DICT: return push_new(m, LDNQ__PK_DICT, NULL);
    case OP_TUPLE: case OP_LIST: case OP_DICT: { /* from MARK */
      if ((st = pop_mark(m, &start))) return st;
      ldnq__pk_kind k = op == 't' ? LDNQ__PK_TUPLE : op == 'l' ? LDNQ__PK_LIST : LDNQ__PK_DICT;
      if (k == LDNQ__PK_DICT && (m->stack.n - start) % 2) return bad(m, "odd DICT");
      if (!(n = node_new(m, k))) return nomem();
      if ((st = take_from(m, start, k == LDNQ__PK_DICT ? &n->kv : &n->items))) return st;
      return vec_push(&m->stack, n);
    }
    case OP_TUPLE1: return tuple_n(m, 1);
    case OP_TUPLE2: return tuple_n(m, 2);
    case OP_TUPLE3: return tuple_n(m, 3);
    case OP_APPEND:
      if (m->stack.n < 2) return bad(m, "stack underflow");
      return appends(m, m->stack.n - 1);
    case OP_APPENDS:
      if ((st = pop_mark(m, &start))) return st;
      return appends(m, start);
    case OP_SETITEM:
      if (m->stack.n < 3) return bad(m, "stack underflow");
      return setitems(m, m->stack.n - 2);
    case OP_SETITEMS:
      if ((st = pop_mark(m, &start))) return st;
      return setitems(m, start);
    case OP_GLOBAL: { /* "module\nname\n" */
      const char *mod = NULL, *name = NULL;
      size_t ml = 0, nl = 0;
      if ((st = line(m, &mod, &ml)) || (st = line(m, &name, &nl))) return st;
      return push_global(m, mod, ml, name, nl);
    }
    case OP_STACK_GLOBAL:
      if ((st = pop(m, &b)) || (st = pop(m, &a))) return st;
      if (a->kind != LDNQ__PK_STR || b->kind != LDNQ__PK_STR)
        return bad(m, "STACK_GLOBAL needs two strings");
      return push_global(m, a->s, a->len, b->s, b->len);
    case OP_REDUCE: case OP_NEWOBJ: return call(m);
    case OP_BUILD:
      if ((st = pop(m, &a)) || (st = top(m, &n))) return st;
      if (n->kind != LDNQ__PK_CALL && n->kind != LDNQ__PK_DICT) return bad(m, "BUILD on a non-object");
      n->state = a;
      return LDNQ_OK;
    case OP_BINPUT:
      if ((st = need(m, 1))) return st;
      return memo_put(m, m->d[m->pos++]);
    case OP_LONG_BINPUT:
      if ((st = need(m, 4))) return st;
      m->pos += 4;
      return memo_put(m, ldnq__le32(m->d + m->pos - 4));
    case OP_PUT: /* text */
      if ((st = line_int(m, &iv))) return st;
      if (iv < 0) return bad(m, "negative memo key");
      return memo_put(m, (uint64_t)iv);
    case OP_MEMOIZE: /* the next key is the memo's current length */
      return memo_put(m, m->memo_len);
    case OP_BINGET:
      if ((st = need(m, 1))) return st;
      return memo_get(m, m->d[m->pos++]);
    case OP_LONG_BINGET:
      if ((st = need(m, 4))) return st;
      m->pos += 4;
      return memo_get(m, ldnq__le32(m->d + m->pos - 4));
    case OP_GET: /* text */
      if ((st = line_int(m, &iv))) return st;
      if (iv < 0) return bad(m, "negative memo key");
      return memo_get(m, (uint64_t)iv);
    case OP_BINPERSID:
      if ((st = pop(m, &a))) return st;
      if ((st = push_new(m, LDNQ__PK_PERSID, &n))) return st;
      return vec_push(&n->items, a);
    case OP_PERSID: { /* text id */
      const char *s = NULL;
      size_t len = 0;
      if ((st = line(m, &s, &len))) return st;
      if (!(a = node_new(m, LDNQ__PK_STR))) return nomem();
      a->s = s;
      a->len = len;
      if ((st = push_new(m, LDNQ__PK_PERSID, &n))) return st;
      return vec_push(&n->items, a);
    }
    default: break;
  }
  const char *name = op_name(op);
  return ldnq__fail(NULL, LDNQ_ERR_FORMAT, "pickle: opcode 0x%02x (%s) at offset %zu is not supported",
                    op, name ? name : "not a pickle opcode", m->pos - 1);
}

ldnq_status ldnq__pk_parse(const uint8_t *data, size_t size, ldnq__pk_whitelist wl,
                           ldnq__pk_doc *doc) {
  memset(doc, 0, sizeof *doc);
  vm m;
  memset(&m, 0, sizeof m);
  m.d = data;
  m.size = size;
  m.wl = wl;
  m.doc = doc;
  ldnq_status st = LDNQ_OK;
  int done = 0;
  while (!done && !st) st = step(&m, &done);
  ldnq__free(m.stack.v);
  ldnq__free(m.marks);
  ldnq__free(m.memo);
  if (st) {
    ldnq__pk_free(doc);
    return st;
  }
  doc->consumed = m.pos;
  return LDNQ_OK;
}

void ldnq__pk_free(ldnq__pk_doc *doc) {
  for (size_t i = 0; i < doc->nall; i++) {
    ldnq__pk_node *n = doc->all[i];
    ldnq__free(n->items.v);
    ldnq__free(n->kv.v);
    ldnq__free(n->list.v);
    ldnq__free(n->owned);
    ldnq__free(n);
  }
  ldnq__free(doc->all);
  memset(doc, 0, sizeof *doc);
}

int ldnq__pk_is_str(const ldnq__pk_node *n, const char *s) {
  size_t l = strlen(s);
  return n && n->kind == LDNQ__PK_STR && n->len == l && !memcmp(n->s, s, l);
}

int ldnq__pk_is_global(const ldnq__pk_node *n, const char *mod, const char *name) {
  size_t ml = strlen(mod), nl = strlen(name);
  return n && n->kind == LDNQ__PK_GLOBAL && n->len == ml && n->len2 == nl &&
         !memcmp(n->s, mod, ml) && !memcmp(n->s2, name, nl);
}

int ldnq__pk_is_call(const ldnq__pk_node *n, const char *mod, const char *name) {
  return n && n->kind == LDNQ__PK_CALL && n->items.n == 2 &&
         ldnq__pk_is_global(n->items.v[0], mod, name);
}

const ldnq__pk_node *ldnq__pk_item(const ldnq__pk_node *n, size_t i) {
  if (!n || (n->kind != LDNQ__PK_TUPLE && n->kind != LDNQ__PK_LIST) || i >= n->items.n)
    return NULL;
  return n->items.v[i];
}

const ldnq__pk_node *ldnq__pk_get(const ldnq__pk_node *n, const char *key) {
  if (!n || (n->kind != LDNQ__PK_DICT && n->kind != LDNQ__PK_CALL)) return NULL;
  for (size_t i = 0; i + 1 < n->kv.n; i += 2)
    if (ldnq__pk_is_str(n->kv.v[i], key)) return n->kv.v[i + 1];
  return NULL;
}
