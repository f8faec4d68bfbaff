/* CIFAR-10 python version: each batch file is a pickled dict with "data"
 * (a numpy uint8 array [N, 3072], planar RGB rows) and "labels" (a list of
 * N ints). Read with the safe pickle reader of lib/io: numpy's
 * reconstruction globals are whitelisted as inert names, nothing runs. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "core/alloc.h"
#include "data/dataset.h"
#include "io/pickle.h"

#define MAX_FILE_BYTES ((size_t)1 << 31)

/* numpy's reconstruction (protocols 2-4) and _frombuffer (protocol 5) are
 * inert names here; _codecs.encode and bytes are how Python 3 writes bytes
 * at protocol 2, turned into data by the reader (never called). */
static const char *const numpy_globals[] = {
    "numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct",
    "numpy.core.numeric._frombuffer", "numpy._core.numeric._frombuffer",
    "numpy.ndarray", "numpy.dtype", "_codecs.encode", "__builtin__.bytes", "builtins.bytes", NULL};

static int is_reconstruct(const ldnq__pk_node *n) {
  return ldnq__pk_is_call(n, "numpy.core.multiarray", "_reconstruct") ||
         ldnq__pk_is_call(n, "numpy._core.multiarray", "_reconstruct");
}

static int as_int(const ldnq__pk_node *n, int64_t *v) {
  if (!n || (n->kind != LDNQ__PK_INT && n->kind != LDNQ__PK_BOOL)) return -1;
  *v = n->i;
  return 0;
}

static int is_frombuffer(const ldnq__pk_node *n) {
  return ldnq__pk_is_call(n, "numpy.core.numeric", "_frombuffer") ||
         ldnq__pk_is_call(n, "numpy._core.numeric", "_frombuffer");
}

/* The raw bytes of a uint8 [rows, 3072] C-order array, or an error. Two
 * pickled forms: _reconstruct(...) with state (1, shape, dtype, fortran,
 * raw) (protocols 2-4), and _frombuffer(raw, dtype, shape, order)
 * (protocol 5). */
static ldnq_status array_u8(const char *path, const ldnq__pk_node *a, int64_t *rows, const uint8_t **raw) {
  const ldnq__pk_node *shape = NULL, *dt = NULL, *data = NULL;
  int64_t r = -1, cols = -1, fortran = 1;
  if (a && is_frombuffer(a)) {
    const ldnq__pk_node *args = a->items.v[1], *order = ldnq__pk_item(args, 3);
    data = ldnq__pk_item(args, 0);
    dt = ldnq__pk_item(args, 1);
    shape = ldnq__pk_item(args, 2);
    if (args->items.n != 4 || !order || order->kind != LDNQ__PK_STR)
      return ldnq__fail(NULL, LDNQ_ERR_FORMAT, "'%s': \"data\": _frombuffer takes (buffer, dtype, shape, order)",
                        path);
    fortran = !ldnq__pk_is_str(order, "C");
  } else {
    const ldnq__pk_node *st = a ? a->state : NULL;
    if (!a || !is_reconstruct(a) || !st || st->kind != LDNQ__PK_TUPLE || st->items.n != 5)
      return ldnq__fail(NULL, LDNQ_ERR_FORMAT, "'%s': \"data\" is not a pickled numpy array", path);
    shape = ldnq__pk_item(st, 1);
    dt = ldnq__pk_item(st, 2);
    data = ldnq__pk_item(st, 4);
    if (as_int(ldnq__pk_item(st, 3), &fortran)) fortran = 1;
  }
  if (!shape || shape->kind != LDNQ__PK_TUPLE || shape->items.n != 2 || as_int(ldnq__pk_item(shape, 0), &r) ||
      as_int(ldnq__pk_item(shape, 1), &cols) || r < 1 || cols != 3072)
    return ldnq__fail(NULL, LDNQ_ERR_FORMAT, "'%s': \"data\" must have shape (N, 3072)", path);
  if (fortran)
    return ldnq__fail(NULL, LDNQ_ERR_FORMAT, "'%s': Fortran-order arrays are not supported", path);
  /* CALL nodes keep (callable, args) in items. */
  const ldnq__pk_node *dargs = dt && dt->kind == LDNQ__PK_CALL && dt->items.n == 2 ? dt->items.v[1] : NULL;
  const ldnq__pk_node *dname = dargs ? ldnq__pk_item(dargs, 0) : NULL;
  if (!dt || !ldnq__pk_is_call(dt, "numpy", "dtype") || !dname ||
      !(ldnq__pk_is_str(dname, "u1") || ldnq__pk_is_str(dname, "|u1")))
    return ldnq__fail(NULL, LDNQ_ERR_FORMAT, "'%s': \"data\" must be a uint8 array", path);
  if (!data || (data->kind != LDNQ__PK_STR && data->kind != LDNQ__PK_BYTES))
    return ldnq__fail(NULL, LDNQ_ERR_UNSUPPORTED, "'%s': array payload is not a byte string", path);
  if ((uint64_t)data->len != (uint64_t)r * 3072)
    return ldnq__fail(NULL, LDNQ_ERR_FORMAT, "'%s': array of %lld x 3072 holds %zu bytes", path, (long long)r,
                      data->len);
  *rows = r;
  *raw = (const uint8_t *)data->s;
  return LDNQ_OK;
}

ldnq_status ldnq__cifar_py_append(const char *path, const uint8_t *buf, size_t n, uint8_t **pix,
                                  int32_t **labels, int64_t *count) {
  ldnq_status st;
  ldnq__pk_doc doc;
  memset(&doc, 0, sizeof doc);
  st = ldnq__pk_parse(buf, n, numpy_globals, &doc);
  if (st != LDNQ_OK) {
    char msg[LDNQ__ERRMSG_SIZE];
    snprintf(msg, sizeof msg, "%s", ldnq__tls_message());
    return ldnq__fail(NULL, st, "'%s': %s", path, msg);
  }
  const ldnq__pk_node *root = doc.root, *data = ldnq__pk_get(root, "data"), *labs = ldnq__pk_get(root, "labels");
  int64_t rows = 0;
  const uint8_t *raw = NULL;
  if (!root || root->kind != LDNQ__PK_DICT || !data || !labs)
    st = ldnq__fail(NULL, LDNQ_ERR_FORMAT, "'%s': not a CIFAR-10 batch (dict with \"data\" and \"labels\")", path);
  if (st == LDNQ_OK) st = array_u8(path, data, &rows, &raw);
  if (st == LDNQ_OK && (labs->kind != LDNQ__PK_LIST || (int64_t)labs->items.n != rows))
    st = ldnq__fail(NULL, LDNQ_ERR_FORMAT, "'%s': \"labels\" must be a list of %lld ints", path, (long long)rows);
  if (st == LDNQ_OK) {
    uint8_t *np = ldnq__realloc(*pix, (size_t)(*count + rows) * 3072);
    if (np) *pix = np;
    int32_t *nl = np ? ldnq__realloc(*labels, (size_t)(*count + rows) * sizeof(int32_t)) : NULL;
    if (nl) *labels = nl;
    if (!np || !nl) st = ldnq__fail(NULL, LDNQ_ERR_NOMEM, "out of memory reading '%s'", path);
  }
  for (int64_t i = 0; st == LDNQ_OK && i < rows; i++) {
    int64_t v;
    if (as_int(ldnq__pk_item(labs, (size_t)i), &v) || v < 0 || v > 9)
      st = ldnq__fail(NULL, LDNQ_ERR_FORMAT, "'%s': label %lld is not in [0, 9]", path, (long long)i);
    else
      (*labels)[*count + i] = (int32_t)v;
  }
  if (st == LDNQ_OK) {
    memcpy(*pix + (size_t)*count * 3072, raw, (size_t)rows * 3072);
    *count += rows;
  }
  ldnq__pk_free(&doc);
  return st;
}

/* Appends one batch file's samples to pix/labels. */
static ldnq_status read_batch(const char *path, uint8_t **pix, int32_t **labels, int64_t *count) {
  uint8_t *buf = NULL;
  size_t n = 0;
  ldnq_status st = ldnq__read_file(path, 0, MAX_FILE_BYTES, &buf, &n);
  if (st != LDNQ_OK) return st;
  st = ldnq__cifar_py_append(path, buf, n, pix, labels, count);
  ldnq__free(buf);
  return st;
}

ldnq_status ldnq__open_cifar10_py(const char *dir, ldnq_split split, ldnq_dataset **out) {
  *out = NULL;
  char base[4096], path[4200];
  struct stat sb;
  snprintf(base, sizeof base, "%s/cifar-10-batches-py", dir);
  if (stat(base, &sb) != 0 || !S_ISDIR(sb.st_mode)) snprintf(base, sizeof base, "%s", dir);
  uint8_t *pix = NULL;
  int32_t *labels = NULL;
  int64_t count = 0;
  ldnq_status st = LDNQ_OK;
  int nfiles = split == LDNQ_SPLIT_TRAIN ? 5 : 1;
  for (int f = 0; f < nfiles && st == LDNQ_OK; f++) {
    if (split == LDNQ_SPLIT_TRAIN) snprintf(path, sizeof path, "%s/data_batch_%d", base, f + 1);
    else snprintf(path, sizeof path, "%s/test_batch", base);
    st = read_batch(path, &pix, &labels, &count);
  }
  if (st != LDNQ_OK) {
    ldnq__free(pix);
    ldnq__free(labels);
    return st;
  }
  /* Same record layout as the binary version: its dataset serves both. */
  return ldnq__cifar_dataset_new(pix, labels, count, out);
}
