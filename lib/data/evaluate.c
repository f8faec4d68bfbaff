/* Top-1 / top-5 accuracy of a network over one epoch of a loader. */
#include <math.h>
#include <stdio.h>

#include "core/alloc.h"
#include "core/tensor.h"
#include "data/dataset.h"
#include "data/loader.h"

/* Rank of the true class: classes scoring strictly higher, plus equal
 * scores at lower indices (a stable descending sort). Non-finite true
 * scores rank last. */
static int64_t rank_of(const float *row, int k, int label) {
  float s = row[label];
  if (!isfinite(s)) return k;
  int64_t r = 0;
  for (int j = 0; j < k; j++) r += row[j] > s || (row[j] == s && j < label);
  return r;
}

LDNQ_API ldnq_status ldnq_evaluate_v2(ldnq_network *net, ldnq_loader *loader, double *top1,
                                      double *top5, int64_t *images) {
  return ldnq__evaluate(net, loader, top1, top5, images, NULL, NULL);
}

LDNQ_API ldnq_status ldnq_evaluate(ldnq_network *net, ldnq_loader *loader, double *top1, double *top5,
                                   int64_t *images, ldnq_data_progress_fn progress, void *user_data) {
  return ldnq__evaluate(net, loader, top1, top5, images, progress, user_data);
}

ldnq_status ldnq__evaluate(ldnq_network *net, ldnq_loader *loader, double *top1, double *top5,
                           int64_t *images, ldnq_data_progress_fn progress, void *user_data) {
  if (!net || !loader || !top1 || !top5)
    return ldnq__fail(loader ? &loader->err : NULL, LDNQ_ERR_INVALID_ARG, "ldnq_evaluate: NULL argument");
  int k = 0, was_training = 0;
  ldnq_status st = ldnq_network_describe(net, NULL, NULL, &k);
  if (st == LDNQ_OK) st = ldnq__dataset_check_classes(loader->ds, k, "evaluation");
  if (st == LDNQ_OK) st = ldnq_network_get_training(net, &was_training);
  if (st == LDNQ_OK) st = ldnq_network_set_training(net, 0);
  if (st == LDNQ_OK) st = ldnq_loader_reset(loader, loader->epoch);
  if (st != LDNQ_OK) return ldnq__propagate(&loader->err, st);
  int64_t total = 0, n1 = 0, n5 = 0, batches = 0, nb = 0;
  int topk = k < 5 ? k : 5;
  ldnq_tensor *out = NULL;
  ldnq_loader_num_batches(loader, &nb);
  for (;;) {
    const ldnq_tensor *x;
    const int32_t *lab;
    int64_t n;
    st = ldnq__loader_next(loader, &x, &lab, &n);
    if (st != LDNQ_OK || n == 0) break;
    if (!out || out->numel != n * k) {
      ldnq_tensor_free(out);
      out = NULL;
      int64_t shape[2] = {n, k};
      if ((st = ldnq_tensor_create(2, shape, &out)) != LDNQ_OK) break;
    }
    if ((st = ldnq_network_forward(net, x, out)) != LDNQ_OK) break;
    for (int64_t i = 0; i < n && st == LDNQ_OK; i++) {
      if (lab[i] < 0 || lab[i] >= k) { /* a callback dataset's label, decoded */
        st = ldnq__fail(NULL, LDNQ_ERR_LABEL, "label %d but the network has %d classes", (int)lab[i], k);
        break;
      }
      int64_t r = rank_of(out->data + (size_t)i * k, k, lab[i]);
      n1 += r == 0;
      n5 += r < topk;
    }
    total += n;
    batches++;
    if (st == LDNQ_OK && progress && progress(user_data, batches, nb) != 0)
      st = ldnq__fail(NULL, LDNQ_ERR_CANCELLED, "evaluation cancelled after %lld of %lld batches",
                      (long long)batches, (long long)nb);
    if (st != LDNQ_OK) break;
  }
  ldnq_tensor_free(out);
  ldnq_network_set_training(net, was_training);
  if (ldnq__comm_active(loader->comm)) { /* the counts of all ranks' shares */
    double c[3] = {(double)n1, (double)n5, (double)total};
    st = ldnq__comm_agree(loader->comm, st, "evaluation");
    if (st == LDNQ_OK) st = ldnq__comm_sum_d(loader->comm, c, 3, "evaluation counts");
    n1 = (int64_t)c[0], n5 = (int64_t)c[1], total = (int64_t)c[2];
  }
  if (st != LDNQ_OK) {
    char msg[LDNQ__ERRMSG_SIZE];
    snprintf(msg, sizeof msg, "%s", ldnq__tls_message());
    ldnq_loader_reset(loader, loader->epoch); /* stop workers of the abandoned epoch */
    return ldnq__fail(&loader->err, st, "%s", msg);
  }
  *top1 = total ? 100.0 * (double)n1 / (double)total : 0.0;
  *top5 = total ? 100.0 * (double)n5 / (double)total : 0.0;
  if (images) *images = total;
  ldnq__errbuf_clear(&loader->err);
  return LDNQ_OK;
}
