/* Cascade soft update after a layer (docs/METHOD.md 4): SGD on the MSE between
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
#include "train/dist.h"
#include "train/sgd.h"

/* Index of the last state-dict entry of layer L (weight or bias). */
static int layer_last_index(ldnq_network *net, int L) {
  int w = ldnq__network_layer_weight(net, L), b = ldnq__network_layer_bias(net, L);
  return w > b ? w : b;
}

/* The one walk over the state dict behind both trainable sets: the cascade
 * after layer L (final 0) or the final fine-tune (final 1). owner[i] is 1 +
 * the weight layer owning entry i, 0 for none (the batch norms). */
static ldnq_status set_trainable(ldnq__run *R, int final, int L) {
  ldnq_network *net = R->net;
  int seed_rule = (int)ldnq__q_int(R->q, LDNQ_Q_TRAINABLE_RULE) == 1;
  int float_first = !ldnq__q_int(R->q, LDNQ_Q_QUANTIZE_FIRST);
  int float_last = !ldnq__q_int(R->q, LDNQ_Q_QUANTIZE_LAST);
  int n = ldnq__network_param_count(net);
  int last = final ? 0 : layer_last_index(net, L), lw = final ? 0 : ldnq__network_layer_weight(net, L);
  int *owner = ldnq__calloc(n > 0 ? (size_t)n : 1, sizeof *owner);
  if (!owner) return ldnq__fail(&R->q->err, LDNQ_ERR_NOMEM, "out of memory");
  for (int k = 0; k < R->nlayers; k++) {
    int w = ldnq__network_layer_weight(net, k), b = ldnq__network_layer_bias(net, k);
    if (w >= 0) owner[w] = k + 1;
    if (b >= 0) owner[b] = k + 1;
  }
  ldnq_status st = LDNQ_OK;
  for (int i = 0; i < n && !st; i++) {
    const char *name;
    int is_buffer;
    st = ldnq__network_param(net, i, &name, NULL, NULL, NULL, NULL, &is_buffer);
    if (st || is_buffer) continue;
    int on;
    if (final)
      on = !owner[i] || (float_first && owner[i] == 1) || (float_last && owner[i] == R->nlayers);
    else if (seed_rule)
      on = strstr(name, "bn") != NULL || i > lw || (float_first && owner[i] == 1);
    else
      on = i > last || !owner[i];
    st = ldnq_network_set_trainable(net, name, on);
  }
  ldnq__free(owner);
  return st ? ldnq__propagate(&R->q->err, st) : LDNQ_OK;
}

/* Trainable set of layer L's cascade (LDNQ_Q_TRAINABLE_RULE).
 * Rule 0: entries after layer L (its weight and bias) and every entry that
 * belongs to no weight layer (the batch norms, shortcut ones included).
 * Rule 1, the seed's generate_trainable_parameters: names containing "bn",
 * entries after L's WEIGHT (L's own bias included), and a float first
 * layer (QUANTIZE_FIRST 0) in every cascade. */
static ldnq_status set_trainable_after(ldnq__run *R, int L) { return set_trainable(R, 0, L); }

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

/* Trainable set of the final fine-tune: every entry of no weight layer (the
 * batch norms) and the layers left in float (QUANTIZE_FIRST/LAST 0). */
static ldnq_status set_trainable_final(ldnq__run *R) { return set_trainable(R, 1, -1); }

/* Data parallel (ldnq_quantizer_set_comm): this rank's n rows are a share
 * of the global batch; the loss and its gradient become the global mean's. */
static ldnq_status global_batch(const ldnq_comm *c, int n, int K, ldnq_tensor *grad, double *l) {
  double r[2] = {*l * n, n};
  ldnq_status st = ldnq__comm_sum_d(c, r, 2, "cascade loss");
  if (st) return st;
  float w = (float)((double)n / r[1]);
  for (int64_t k = 0; k < (int64_t)n * K; k++) grad->data[k] *= w;
  *l = r[0] / r[1];
  return LDNQ_OK;
}

/* SGD/Adam on MSE(student logits, teacher logits) (or the distillation loss,
 * LDNQ_Q_CASCADE_OBJECTIVE) over replayed epochs
 * 0, 1, ... of the cascade loader, both networks in training mode. L >= 0:
 * the cascade after layer L (early stop by LDNQ_Q_CASCADE_STOP); L < 0: the
 * final fine-tune (fixed budget). */
static ldnq_status soft_update(ldnq__run *R, int L, int64_t max_epochs, double lr0,
                               ldnq__qr_soft *out) {
  /* LDNQ_Q_CASCADE_EPOCH_POOL P > 0: the soft updates take their epochs in
   * turn from loader epochs 0 .. P-1 (the k-th epoch of the run, counting
   * every earlier cascade's epochs, is loader epoch k mod P); 0: each one
   * replays epochs 0, 1, ... Earlier layers' epochs come from the report,
   * so a resumed run continues the same ring. */
  int64_t pool = ldnq__q_int(R->q, LDNQ_Q_CASCADE_EPOCH_POOL), offset = 0;
  for (int k = 0; pool > 0 && k < (L >= 0 ? L : R->nlayers); k++)
    offset += R->rep->layers[k].cascade.epochs;
  ldnq_quantizer *q = R->q;
  memset(out, 0, sizeof *out);
  out->loss = out->last_loss = NAN;
  int bs = (int)ldnq__q_int(q, LDNQ_Q_CASCADE_BATCH), K = R->num_classes;
  int cosine = (int)ldnq__q_int(q, LDNQ_Q_CASCADE_SCHEDULE) == 1;
  const char *what = L >= 0 ? R->names[L] : "the last layer (final fine-tune)";
  int64_t per_epoch = 0;
  ldnq_status st = ldnq_loader_num_batches(R->casc_loader, &per_epoch);
  if (st) return ldnq__propagate(&q->err, st);
  ldnq__optim opt;
  st = ldnq__optim_init(&q->err, &opt, R->net, (int)ldnq__q_int(q, LDNQ_Q_CASCADE_OPTIMIZER), lr0,
                        ldnq__q_real(q, LDNQ_Q_CASCADE_MOMENTUM),
                        ldnq__q_real(q, LDNQ_Q_CASCADE_WEIGHT_DECAY));
  if (st) {
    ldnq__optim_release(&opt);
    return st;
  }
  ldnq_tensor *target = NULL, *logits = NULL, *grad = NULL;
  ldnq__gradsum gsum = {NULL, 0};
  int64_t shape[2] = {ldnq__comm_rows(q->comm, bs), K}; /* full batches (or shares) */
  st = ldnq_tensor_create(2, shape, &target);
  if (!st) st = ldnq_tensor_create(2, shape, &logits);
  if (!st) st = ldnq_tensor_create(2, shape, &grad);
  if (!st) st = L >= 0 ? set_trainable_after(R, L) : set_trainable_final(R);
  double alpha_lr = L < 0 ? ldnq__q_real(q, LDNQ_Q_FINAL_ALPHA_LR) : 0;
  double code_lr = L < 0 ? ldnq__q_real(q, LDNQ_Q_FINAL_CODE_LR) : 0;
  ldnq__alpha_tune *at = NULL;
  double mix = ldnq__q_real(q, LDNQ_Q_MIXUP); /* the same in every soft update (teacher cache) */
  ldnq_tensor *mixed = NULL;
  /* LDNQ_Q_CASCADE_OBJECTIVE 1: distillation at LDNQ_Q_KD_TEMPERATURE, not MSE. */
  int kd = (int)ldnq__q_int(q, LDNQ_Q_CASCADE_OBJECTIVE) == 1;
  double temp = ldnq__q_real(q, LDNQ_Q_KD_TEMPERATURE);
  double *kd_scratch = kd ? ldnq__malloc_array(2 * (size_t)K, sizeof(double)) : NULL;
  if (kd && !kd_scratch && !st) st = ldnq__fail(&q->err, LDNQ_ERR_NOMEM, "out of memory");
  if (!st && (alpha_lr > 0 || code_lr > 0)) st = ldnq__alpha_tune_create(R, &at);
  if (!st) st = ldnq_network_set_training(R->net, 1);
  if (!st) st = ldnq_network_set_training(R->orig, 1);
  if (st) goto done;

  double sum = 0;
  int stop = 0;
  ldnq__stop rule;
  ldnq__stop_init(&rule, L >= 0 ? (int)ldnq__q_int(q, LDNQ_Q_CASCADE_STOP) : 0);
  int64_t total = max_epochs * per_epoch; /* steps of the schedule */
  for (int64_t k = 0; k < max_epochs && !stop; k++) {
    int64_t e = pool > 0 ? (offset + k) % pool : k; /* the loader epoch */
    st = ldnq_loader_reset(R->casc_loader, e); /* replayed: the teacher cache relies on it */
    if (st) break;
    int64_t i = 0;
    double esum = 0;
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
      if (mix > 0) {
        st = ldnq__mixup(&q->err, images, mix, (uint64_t)ldnq__q_int(q, LDNQ_Q_SEED), e, i, &mixed);
        if (st) break;
        images = mixed;
      }
      st = ldnq__teacher_logits(R, e, i, images, target);
      if (!st) st = ldnq_network_forward(R->net, images, logits);
      if (st) break;
      double l = kd ? ldnq__kd_kl(n, K, logits->data, target->data, temp, kd_scratch, grad->data)
                    : ldnq__mse((size_t)n * K, logits->data, target->data, grad->data);
      if (ldnq__comm_active(q->comm)) st = global_batch(q->comm, n, K, grad, &l);
      if (!st) st = ldnq_network_zero_grad(R->net);
      if (!st) st = ldnq_network_backward(R->net, grad, NULL);
      if (!st) st = ldnq__grad_allreduce(q->comm, &gsum, R->net);
      if (!st && at) st = ldnq__alpha_tune_grad(R, at);
      if (!st) st = ldnq__optim_step(&q->err, &opt, R->net,
                                     ldnq__schedule_lr(lr0, cosine, out->batches, total));
      if (!st && at)
        st = ldnq__alpha_tune_step(R, at, ldnq__schedule_lr(alpha_lr, cosine, out->batches, total),
                                   ldnq__schedule_lr(code_lr, cosine, out->batches, total));
      if (st) break;
      if (!isfinite(l)) {
        st = ldnq__fail(&q->err, LDNQ_ERR_NUMERIC, "cascade loss is not finite after %s", what);
        break;
      }
      out->batches++;
      sum += l;
      esum += l;
      out->loss = sum / (double)out->batches; /* running mean over all batches so far */
      out->last_loss = esum / (double)(i + 1); /* mean of this epoch so far */
      if (i % 10 == 0 && ldnq__stop_check(&rule, out->loss)) stop = 1;
      if (ldnq__run_progress(R, LDNQ_PHASE_CASCADE, out->batches, out->loss)) {
        st = ldnq__fail(&q->err, LDNQ_ERR_CANCELLED, "cancelled in the cascade after %s", what);
        break;
      }
      if (stop) break;
    }
    if (st) break;
    if (i == 0 && !stop) break; /* the limited set holds no full batch */
    out->epochs++;
  }
done:
  if (st) ldnq__propagate(&q->err, st); /* the latest message is the failure's */
  ldnq_network_set_training(R->net, 0);
  ldnq__optim_release(&opt);
  ldnq__gradsum_release(&gsum);
  ldnq__alpha_tune_free(at);
  ldnq_tensor_free(mixed);
  ldnq__free(kd_scratch);
  ldnq_tensor_free(target);
  ldnq_tensor_free(logits);
  ldnq_tensor_free(grad);
  return st;
}

ldnq_status ldnq__cascade(ldnq__run *R, int L, ldnq__qr_soft *out) {
  int64_t epochs = ldnq__q_int(R->q, LDNQ_Q_CASCADE_MAX_EPOCHS);
  int64_t first = ldnq__q_int(R->q, LDNQ_Q_CASCADE_FIRST_EPOCHS);
  if (L == 0 && first > 0) epochs = first;
  return soft_update(R, L, epochs, ldnq__q_real(R->q, LDNQ_Q_CASCADE_LR), out);
}

ldnq_status ldnq__final_tune(ldnq__run *R, ldnq__qr_soft *out) {
  return soft_update(R, -1, ldnq__q_int(R->q, LDNQ_Q_FINAL_EPOCHS),
                     ldnq__q_real(R->q, LDNQ_Q_FINAL_LR), out);
}

ldnq_status ldnq__bn_recalibrate(ldnq__run *R, int64_t nbatches) {
  ldnq_quantizer *q = R->q;
  int bs = (int)ldnq__q_int(q, LDNQ_Q_CASCADE_BATCH), K = R->num_classes;
  ldnq_tensor *logits = NULL;
  int64_t shape[2] = {ldnq__comm_rows(q->comm, bs), K}; /* full batches (or shares) */
  int grad_was = 1;
  ldnq_status st = ldnq_network_get_grad_enabled(R->net, &grad_was);
  if (!st) st = ldnq_tensor_create(2, shape, &logits);
  if (!st) st = ldnq_network_set_grad_enabled(R->net, 0);
  if (!st) st = ldnq_network_set_training(R->net, 1);
  int64_t done = 0;
  for (int64_t e = 0; !st && done < nbatches; e++) {
    st = ldnq_loader_reset(R->casc_loader, e);
    int got = 0;
    while (!st && done < nbatches) {
      const ldnq_tensor *images;
      const int32_t *labels;
      int n = 0;
      st = ldnq_loader_next(R->casc_loader, &images, &labels, &n);
      if (st || n == 0) break;
      int64_t sh[2] = {n, K};
      ldnq_tensor_reshape(logits, 2, sh);
      st = ldnq_network_forward(R->net, images, logits);
      done++;
      got++;
    }
    if (!got) break; /* no full batch */
  }
  ldnq_network_set_training(R->net, 0);
  ldnq_network_set_grad_enabled(R->net, grad_was);
  ldnq_tensor_free(logits);
  return st ? ldnq__propagate(&q->err, st) : LDNQ_OK;
}
