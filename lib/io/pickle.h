/* A safe pickle reader: it interprets the opcodes PyTorch (1.x/2.x,
 * protocols 2-4) and Python 2/numpy pickles use and builds an inert object
 * tree. Nothing is ever imported or called:
 *   - GLOBAL / STACK_GLOBAL must name a (module, name) pair from the
 *     caller's whitelist, else LDNQ_ERR_FORMAT naming it; they give
 *     LDNQ__PK_GLOBAL nodes;
 *   - REDUCE / NEWOBJ on a whitelisted global give LDNQ__PK_CALL nodes
 *     (items[0] = the callable, items[1] = the argument tuple);
 *   - BUILD stores its argument in the target node's `state` (in place, so
 *     memo references see it), as Python's __setstate__ would;
 *   - SETITEM(S) / APPEND(S) on a CALL node (e.g. an OrderedDict built by
 *     REDUCE) add to its `kv` / `list` children, as on a dict / list;
 *   - BINPERSID / PERSID give LDNQ__PK_PERSID nodes (items[0] = the id);
 *   - bytes as Python 3 writes them at protocol 2, `_codecs.encode(str,
 *     'latin1')` (and `bytes()` for b''), are data: when the whitelist
 *     allows that global, REDUCE turns it into a LDNQ__PK_BYTES node (the
 *     latin-1 bytes, owned by the node); any other arguments are refused;
 *   - BYTEARRAY8 (protocol 5, in-band buffers) gives a LDNQ__PK_BYTES node.
 * Any other opcode is LDNQ_ERR_FORMAT naming it (out-of-band buffers, sets,
 * INST/OBJ, EXT*, ...).
 *
 * Memory: nodes, the stack, the memo and decoded bytes are bounded by the input size
 * (every node needs at least one input byte; memo indices must be below
 * the input size) and nodes by LDNQ__PK_MAX_NODES. Strings and bytes point into the input buffer, which
 * must outlive the tree. The tree may share nodes (memo) and may even be
 * cyclic: walkers must bound their depth (LDNQ__PK_MAX_DEPTH).
 *
 * Example (a torch state dict entry):
 *   CALL(GLOBAL collections.OrderedDict, TUPLE()) with kv = [STR "w",
 *   CALL(GLOBAL torch._utils._rebuild_tensor_v2, TUPLE(PERSID(TUPLE("storage",
 *   GLOBAL torch.FloatStorage, "0", "cpu", INT 6)), INT 0, TUPLE(2, 3), ...))]
 */
#ifndef LDNQ_IO_PICKLE_H
#define LDNQ_IO_PICKLE_H

#include <stddef.h>
#include <stdint.h>

#include "ldnq/common.h"

#define LDNQ__PK_MAX_DEPTH 64
/* Absolute cap on nodes (about 170 bytes each): LDNQ_ERR_LIMIT beyond. */
#define LDNQ__PK_MAX_NODES ((size_t)1 << 21)

typedef enum ldnq__pk_kind {
  LDNQ__PK_NONE = 0,
  LDNQ__PK_BOOL,    /* i: 0/1 */
  LDNQ__PK_INT,     /* i */
  LDNQ__PK_BIGINT,  /* s/len: little-endian two's complement bytes (LONG1/LONG4) */
  LDNQ__PK_FLOAT,   /* f */
  LDNQ__PK_STR,     /* s/len: UTF-8 (unicode, or Python 2 str) */
  LDNQ__PK_BYTES,   /* s/len */
  LDNQ__PK_TUPLE,   /* items */
  LDNQ__PK_LIST,    /* items */
  LDNQ__PK_DICT,    /* kv: key, value, key, value, ... */
  LDNQ__PK_GLOBAL,  /* s/len: module, s2/len2: name */
  LDNQ__PK_CALL,    /* items[0] callable, items[1] args; kv / list / state */
  LDNQ__PK_PERSID   /* items[0] the persistent id */
} ldnq__pk_kind;

typedef struct ldnq__pk_node ldnq__pk_node;
typedef struct ldnq__pk_vec {
  ldnq__pk_node **v;
  size_t n, cap;
} ldnq__pk_vec;

struct ldnq__pk_node {
  ldnq__pk_kind kind;
  int64_t i;
  double f;
  const char *s, *s2;
  size_t len, len2;
  ldnq__pk_vec items; /* TUPLE/LIST elements, CALL/PERSID operands */
  ldnq__pk_vec kv;    /* DICT (and CALL) key/value pairs, flattened */
  ldnq__pk_vec list;  /* APPEND(S) onto a CALL node */
  ldnq__pk_node *state; /* BUILD argument, or NULL */
  void *owned;          /* bytes decoded from _codecs.encode, freed with the doc */
};

/* Allowed globals: "module.name" strings ending with a NULL entry, e.g.
 * {"collections.OrderedDict", "torch._utils._rebuild_tensor_v2", NULL}. */
typedef const char *const *ldnq__pk_whitelist;

typedef struct ldnq__pk_doc {
  ldnq__pk_node *root;   /* the object STOP returned */
  size_t consumed;       /* bytes up to and including STOP */
  ldnq__pk_node **all;   /* every node, for freeing */
  size_t nall, capall;
} ldnq__pk_doc;

/* Parses one pickle from data[0..size) (stops at STOP; trailing bytes are
 * allowed and reported via doc->consumed). On failure doc is empty. */
ldnq_status ldnq__pk_parse(const uint8_t *data, size_t size, ldnq__pk_whitelist wl,
                           ldnq__pk_doc *doc);
void ldnq__pk_free(ldnq__pk_doc *doc);

/* Helpers for walkers. */
int ldnq__pk_is_str(const ldnq__pk_node *n, const char *s);       /* STR equal to s */
int ldnq__pk_is_global(const ldnq__pk_node *n, const char *mod, const char *name);
/* For CALL nodes: 1 if the callable is GLOBAL mod.name. */
int ldnq__pk_is_call(const ldnq__pk_node *n, const char *mod, const char *name);
/* Element i of a TUPLE/LIST, or NULL. */
const ldnq__pk_node *ldnq__pk_item(const ldnq__pk_node *n, size_t i);
/* Value for a STR key in a DICT or CALL node, or NULL. */
const ldnq__pk_node *ldnq__pk_get(const ldnq__pk_node *n, const char *key);

#endif
