/* Quantized network + report -> checkpoint with packed entries (io). */
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/tensor.h"
#include "quant/quant_internal.h"
#include "quant/report.h"

/* Layer of the report whose weight ("<name>.weight") or bias is `entry`;
 * *is_bias tells which. -1 if none. */
static int find_layer(const ldnq_quant_report *r, const char *entry, int *is_bias) {
  size_t n = strlen(entry);
  for (int i = 0; i < r->n; i++) {
    size_t k = strlen(r->layers[i].name);
    if (n <= k || strncmp(entry, r->layers[i].name, k) != 0 || entry[k] != '.') continue;
    if (!strcmp(entry + k + 1, "weight")) {
      *is_bias = 0;
      return i;
    }
    if (!strcmp(entry + k + 1, "bias")) {
      *is_bias = 1;
      return i;
    }
  }
  return -1;
}

static int ends_with(const char *s, const char *suffix) {
  size_t a = strlen(s), b = strlen(suffix);
  return a >= b && !strcmp(s + a - b, suffix);
}

/* Adds entry `name` (tensor t) as packed codes when a quantized layer owns
 * it (per channel when the layer was solved so); *done = 1 if it did. */
static ldnq_status add_packed(const ldnq_quant_report *r, ldnq_checkpoint *ck, const char *name,
                              const ldnq_tensor *t, int *done) {
  *done = 0;
  int is_bias = 0, L = find_layer(r, name, &is_bias);
  if (L < 0 || !r->layers[L].quantized || !r->layers[L].res) return LDNQ_OK;
  if (is_bias && r->layers[L].bias_float) return LDNQ_OK; /* trained off the grid */
  const ldnq_layer_result *res = r->layers[L].res;
  if (!(res->alpha > 0)) return LDNQ_OK; /* all-zero layer: floats are exact */
  int64_t want = is_bias ? (res->has_bias ? res->l2 : 0)
                         : (int64_t)(res->l1 - res->has_bias) * res->l2;
  if (want != t->numel)
    return ldnq__fail(NULL, LDNQ_ERR_STATE, "%s has %lld values, the report %lld", name,
                      (long long)t->numel, (long long)want);
  int8_t *codes = ldnq__malloc((size_t)want);
  /* Scales as stored: one, or one per output (= size[0] of the weight). */
  int64_t na = res->per_channel ? res->l2 : 1;
  float *al = ldnq__malloc_array((size_t)na, sizeof *al);
  if (!codes || !al) {
    ldnq__free(codes);
    ldnq__free(al);
    return ldnq__fail(NULL, LDNQ_ERR_NOMEM, "out of memory");
  }
  for (int64_t o = 0; o < na; o++) al[o] = (float)ldnq__result_alpha(res, (size_t)o);
  ldnq_status st = is_bias ? ldnq_layer_result_bias_codes(res, codes, want)
                           : ldnq_layer_result_codes(res, codes, want);
  int64_t per = res->per_channel ? want / res->l2 : want; /* values per scale */
  for (int64_t i = 0; !st && i < want; i++)
    if (t->data[i] != al[i / per] * (float)codes[i])
      st = ldnq__fail(NULL, LDNQ_ERR_STATE,
                      "%s[%lld] = %g is not alpha x code (%g x %d): the network changed since "
                      "the run",
                      name, (long long)i, t->data[i], al[i / per], codes[i]);
  if (!st && res->per_channel)
    st = ldnq_checkpoint_add_quantized_per_channel(ck, name, t->ndim, t->shape, r->levels, al,
                                                   na, codes);
  else if (!st)
    st = ldnq_checkpoint_add_quantized(ck, name, t->ndim, t->shape, r->levels, al[0], codes);
  ldnq__free(al);
  ldnq__free(codes);
  if (!st) *done = 1;
  return st;
}

ldnq_status ldnq_quant_report_checkpoint(const ldnq_quant_report *r, const ldnq_network *net,
                                         ldnq_checkpoint **out) {
  if (!r || !net || !out)
    return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "ldnq_quant_report_checkpoint: NULL argument");
  *out = NULL;
  int count = 0;
  ldnq_checkpoint *ck = NULL;
  ldnq_status st = ldnq_network_tensor_count(net, &count);
  if (!st) st = ldnq_checkpoint_create(&ck);
  for (int i = 0; i < count && !st; i++) {
    const char *name;
    ldnq_tensor *t = NULL;
    st = ldnq_network_tensor_name(net, i, &name);
    if (!st) st = ldnq_network_get(net, name, &t);
    int done = 0;
    if (!st) st = add_packed(r, ck, name, t, &done);
    if (!st && !done) {
      if (ends_with(name, "num_batches_tracked") && t->numel == 1) {
        int64_t v = (int64_t)t->data[0];
        st = ldnq_checkpoint_add_int64(ck, name, 0, NULL, &v);
      } else {
        st = ldnq_checkpoint_add(ck, name, t);
      }
    }
    ldnq_tensor_free(t);
  }
  if (st) {
    ldnq_checkpoint_free(ck);
    return st;
  }
  *out = ck;
  return LDNQ_OK;
}
