/* Fuzz target: the pickle reader alone (torch whitelist), then the state
 * dict walker of the torch readers over the tree, with the input itself as
 * the bytes of every storage. */
#include "io/torch.h"
#include "fuzz.h"

typedef struct fuzz_pickle_src {
  const uint8_t *p;
  size_t n;
} fuzz_pickle_src;

static ldnq_status fuzz_pickle_storage(void *ctx, const char *key, size_t key_len, const uint8_t **p,
                                       size_t *n, uint8_t **owned) {
  (void)key;
  (void)key_len;
  const fuzz_pickle_src *s = ctx;
  *p = s->p;
  *n = s->n;
  *owned = NULL;
  return LDNQ_OK;
}

LDNQ_FUZZ_TARGET(pickle) {
  long before = ldnq_fuzz_live();
  ldnq_fuzz_begin();
  ldnq__pk_doc doc = {0};
  ldnq_status st = ldnq__pk_parse(data, size, ldnq__torch_whitelist, &doc);
  ldnq_fuzz_status(st);
  if (st == LDNQ_OK) {
    ldnq_fuzz_require(doc.root != NULL && doc.consumed <= size, "root and consumed");
    ldnq_checkpoint *ck = ldnq__ck_alloc();
    if (ck) {
      fuzz_pickle_src src = {data, size};
      ldnq_status cs = ldnq__torch_collect(ck, doc.root, fuzz_pickle_storage, &src, size);
      ldnq_fuzz_status(cs);
      if (cs == LDNQ_OK) ldnq_fuzz_walk_checkpoint(ck);
      ldnq_checkpoint_free(ck);
    }
  }
  ldnq__pk_free(&doc);
  ldnq_fuzz_end(size);
  ldnq_fuzz_require(ldnq_fuzz_live() == before, "allocations leaked");
  return 0;
}
