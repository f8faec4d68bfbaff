/* SGD momentum buffers to / from a stream (see sgd_state.h). */
#include "train/sgd_state.h"

#include "core/alloc.h"
#include "nn/network_internal.h"

static int64_t entry_size(ldnq_network *net, int i) {
  int64_t n = -1;
  if (ldnq__network_param(net, i, NULL, NULL, NULL, &n, NULL, NULL) != LDNQ_OK) return -1;
  return n;
}

ldnq_status ldnq__sgd_save(const ldnq__sgd *s, ldnq_network *net, FILE *f) {
  int32_t n = s->nparams;
  if (fwrite(&n, sizeof n, 1, f) != 1) goto fail;
  for (int i = 0; i < s->nparams; i++) {
    int64_t hdr[2] = {s->buf[i] != NULL, entry_size(net, i)};
    if (hdr[1] < 0) return ldnq__fail(NULL, LDNQ_ERR_INTERNAL, "sgd state: entry %d", i);
    if (fwrite(hdr, sizeof hdr, 1, f) != 1) goto fail;
    if (s->buf[i] && fwrite(s->buf[i], sizeof(float), (size_t)hdr[1], f) != (size_t)hdr[1])
      goto fail;
  }
  return LDNQ_OK;
fail:
  return ldnq__fail(NULL, LDNQ_ERR_IO, "sgd: writing optimizer state failed");
}

ldnq_status ldnq__sgd_load(ldnq__sgd *s, ldnq_network *net, FILE *f) {
  int32_t n;
  if (fread(&n, sizeof n, 1, f) != 1) goto trunc;
  if (n != s->nparams)
    return ldnq__fail(NULL, LDNQ_ERR_FORMAT, "sgd state: %d entries, the network has %d",
                      (int)n, s->nparams);
  for (int i = 0; i < s->nparams; i++) {
    int64_t hdr[2];
    if (fread(hdr, sizeof hdr, 1, f) != 1) goto trunc;
    if ((hdr[0] != 0 && hdr[0] != 1) || hdr[1] != entry_size(net, i))
      return ldnq__fail(NULL, LDNQ_ERR_FORMAT, "sgd state: entry %d does not match (size %lld)",
                        i, (long long)hdr[1]);
    ldnq__free(s->buf[i]);
    s->buf[i] = NULL;
    if (!hdr[0]) continue;
    s->buf[i] = ldnq__malloc_array((size_t)hdr[1], sizeof(float));
    if (!s->buf[i]) return ldnq__fail(NULL, LDNQ_ERR_NOMEM, "sgd state: out of memory");
    if (fread(s->buf[i], sizeof(float), (size_t)hdr[1], f) != (size_t)hdr[1]) goto trunc;
  }
  return LDNQ_OK;
trunc:
  return ldnq__fail(NULL, LDNQ_ERR_FORMAT, "sgd state: file is truncated");
}
