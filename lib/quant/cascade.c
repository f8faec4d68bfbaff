/* Cascade soft update after a layer (ALGORITHM 4): SGD on the MSE between
 * the quantized network's logits and the original network's, both in
 * training mode; trainable = BN parameters + everything after layer L. */
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/tensor.h"
#include "nn/network_internal.h"
#include "ops/ops.h"
#include "quant/quant_internal.h"
#include "quant/run_internal.h"
#include "train/sgd.h"

/* Index of the last state-dict entry of layer L (weight or bias). */
static int layer_last_index(ldnq_network *net, int L) {
  int w = ldnq__network_layer_weight(net, L), b = ldnq__network_layer_bias(net, L);
  return w > b ? w : b;
}

/* Trainable set of layer L's cascade (LDNQ_Q_TRAINABLE_RULE).
 * Rule 0: entries after layer L (its weight and bias) and every entry that
 * belongs to no weight layer (the batch norms, shortcut ones included).
 * Rule 1, the seed's generate_trainable_parameters: names containing "bn",
 * entries after L's WEIGHT (L's own bias included), and a float first
 * layer (QUANTIZE_FIRST 0) in every cascade. */
static ldnq_status set_trainable_after(ldnq__run *R, int L) {
  ldnq_network *net = R->net;
  int seed_rule = (int)ldnq__q_int(R->q, LDNQ_Q_TRAINABLE_RULE) == 1;
  int keep_first = !ldnq__q_int(R->q, LDNQ_Q_QUANTIZE_FIRST);
  int n = ldnq__network_param_count(net), last = layer_last_index(net, L);
  int lw = ldnq__network_layer_weight(net, L);
  /* is_layer[i]: 1 + the weight layer owning entry i, 0 for none. */
  int *is_layer = ldnq__calloc(n > 0 ? (size_t)n : 1, sizeof *is_layer);
  if (!is_layer) return ldnq__fail(&R->q->err, LDNQ_ERR_NOMEM, "out of memory");
  for (int k = 0; k < R->nlayers; k++) {
    int w = ldnq__network_layer_weight(net, k), b = ldnq__network_layer_bias(net, k);
    if (w >= 0) is_layer[w] = k + 1;
    if (b >= 0) is_layer[b] = k + 1;
  }
  ldnq_status st = LDNQ_OK;
  for (int i = 0; i < n && !st; i++) {
    const char *name;
    int is_buffer;
    st = ldnq__network_param(net, i, &name, NULL, NULL, NULL, NULL, &is_buffer);
    if (st || is_buffer) continue;
    int on = seed_rule ? (strstr(name, "bn") != NULL || i > lw || (keep_first && is_layer[i] == 1))
                       : (i > last || !is_layer[i]);
    st = ldnq_network_set_trainable(net, name, on);
  }
  ldnq__free(is_layer);
  return st ? ldnq__propagate(&R->q->err, st) : LDNQ_OK;
}

void ldnq__stop_init(ldnq__stop *s, int mode) {
  s->mode = mode;
  s->prev = mode == 2 ? 0.0 : INFINITY; /* the seed's last_loss = 0 */
  s->strikes = 0;
}

int ldnq__stop_check(ldnq__stop *s, double running_mean) {
  if (s->mode == 0) return 0;
  if (running_mean > s->prev || fabs(running_mean - s->prev) < 1e-4) s->strikes++;
  else s->strikes = 0;
  s->prev = running_mean;
  return s->strikes >= 3;
}

ldnq_status ldnq__cascade(ldnq__run *R, int L, int64_t *epochs, int64_t *batches, double *loss) {
  ldnq_quantizer *q = R->q;
  *epochs = *batches = 0;
  *loss = NAN;
  int64_t max_epochs = ldnq__q_int(q, LDNQ_Q_CASCADE_MAX_EPOCHS);
  int bs = (int)ldnq__q_int(q, LDNQ_Q_CASCADE_BATCH), K = R->num_classes;
  ldnq__sgd sgd;
  ldnq_status st = ldnq__sgd_init(&q->err, &sgd, R->net, ldnq__q_real(q, LDNQ_Q_CASCADE_LR),
                                  ldnq__q_real(q, LDNQ_Q_CASCADE_MOMENTUM), 0.0,
                                  ldnq__q_real(q, LDNQ_Q_CASCADE_WEIGHT_DECAY), 0);
  if (st) return st;
  ldnq_tensor *target = NULL, *logits = NULL, *grad = NULL;
  int64_t shape[2] = {bs, K};
  st = ldnq_tensor_create(2, shape, &target);
  if (!st) st = ldnq_tensor_create(2, shape, &logits);
  if (!st) st = ldnq_tensor_create(2, shape, &grad);
  if (!st) st = set_trainable_after(R, L);
  if (!st) st = ldnq_network_set_training(R->net, 1);
  if (!st) st = ldnq_network_set_training(R->orig, 1);
  if (st) goto done;

  double sum = 0;
  int stop = 0;
  ldnq__stop rule;
  ldnq__stop_init(&rule, (int)ldnq__q_int(q, LDNQ_Q_CASCADE_STOP));
  for (int64_t e = 0; e < max_epochs && !stop; e++) {
    st = ldnq_loader_reset(R->casc_loader, e); /* replayed: the teacher cache relies on it */
    if (st) break;
    int64_t i = 0;
    for (;; i++) {
      const ldnq_tensor *images;
      const int32_t *labels;
      int n = 0;
      st = ldnq_loader_next(R->casc_loader, &images, &labels, &n);
      if (st || n == 0) break;
      int64_t sh[2] = {n, K};
      ldnq_tensor_reshape(target, 2, sh);
      ldnq_tensor_reshape(logits, 2, sh);
      ldnq_tensor_reshape(grad, 2, sh);
      st = ldnq__teacher_logits(R, e, i, images, target);
      if (!st) st = ldnq_network_forward(R->net, images, logits);
      if (st) break;
      double l = ldnq__mse((size_t)n * K, logits->data, target->data, grad->data);
      st = ldnq_network_zero_grad(R->net);
      if (!st) st = ldnq_network_backward(R->net, grad, NULL);
      if (!st) st = ldnq__sgd_step(&q->err, &sgd, R->net);
      if (st) break;
      if (!isfinite(l)) {
        st = ldnq__fail(&q->err, LDNQ_ERR_NUMERIC, "cascade loss is not finite after layer %s",
                        R->names[L]);
        break;
      }
      (*batches)++;
      sum += l;
      *loss = sum / (double)*batches; /* running mean over all batches so far */
      if (i % 10 == 0 && ldnq__stop_check(&rule, *loss)) stop = 1;
      if (ldnq__run_progress(R, LDNQ_PHASE_CASCADE, *batches, *loss)) {
        st = ldnq__fail(&q->err, LDNQ_ERR_CANCELLED, "cancelled in the cascade after layer %s",
                        R->names[L]);
        break;
      }
      if (stop) break;
    }
    if (st) break;
    if (i == 0 && !stop) break; /* the limited set holds no full batch */
    (*epochs)++;
  }
done:
  if (st) ldnq__propagate(&q->err, st); /* the latest message is the failure's */
  ldnq_network_set_training(R->net, 0);
  ldnq__sgd_release(&sgd);
  ldnq_tensor_free(target);
  ldnq_tensor_free(logits);
  ldnq_tensor_free(grad);
  return st;
}
