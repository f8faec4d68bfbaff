/* LDNQ_Q_FINAL_ALPHA_LR: the final fine-tune also trains the scales of the
 * quantized layers, their codes fixed, so every weight stays alpha x code.
 *
 * Weight (o, i) of a quantized layer is alpha_o x c_oi (one alpha per
 * layer without per-channel scales; a linear layer's bias is column o's
 * last element with the same scale), so dL/dalpha_o = sum_i dL/dw_oi c_oi.
 * The network computes dL/dw for these entries (they are trainable during
 * the backward pass); the cascade optimizer must not move them, so they are
 * frozen around its step. Each scale is trained as s = log(alpha) (it stays
 * positive and the step is relative to its size) by Adam (beta1 = the
 * cascade momentum, beta2 0.999, eps 1e-8, no weight decay) at the final
 * fine-tune's schedule; then the weights are rewritten from the result's
 * codes and new scales, so the report's checkpoint holds exactly the
 * network's weights.
 *
 * LDNQ_Q_FINAL_CODE_LR > 0 also moves the codes (a straight-through
 * estimator): each quantized weight has a float shadow, initially its
 * value alpha x code; the shadow takes dL/dw by Adam at that learning rate
 * (no weight decay, same schedule), and after every step the codes are the
 * shadows' codes at the current scales (ldnq__code_of, the solver's
 * rounding), so the network still holds alpha x code only. */
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "nn/network_internal.h"
#include "quant/quant_internal.h"
#include "quant/run_internal.h"

/* One quantized layer's entries and its scales' Adam state. */
typedef struct at_layer {
  ldnq_layer_result *res;
  const char *wname, *bname; /* bname NULL: no bias on the grid */
  float *gw, *gb;
  int64_t nw, nb;
  double *m, *v, *g;         /* per scale */
  int na;
  float *sw, *sb;            /* shadows (code learning), then Adam moments */
  float *mw, *vw, *mb, *vb;
} at_layer;

struct ldnq__alpha_tune {
  int n;
  at_layer *l;
  int64_t t;
  double beta1, code_lr;
  float *tmp;
};

static ldnq_status set_entries(ldnq__run *R, ldnq__alpha_tune *a, int on) {
  for (int k = 0; k < a->n; k++) {
    ldnq_status st = ldnq_network_set_trainable(R->net, a->l[k].wname, on);
    if (!st && a->l[k].bname) st = ldnq_network_set_trainable(R->net, a->l[k].bname, on);
    if (st) return ldnq__propagate(&R->q->err, st);
  }
  return LDNQ_OK;
}

/* Shadows = the current weights (alpha x code), moments 0. */
static ldnq_status shadows_init(at_layer *x, const float *w, const float *b, ldnq__errbuf *eb) {
  x->sw = ldnq__malloc_array((size_t)x->nw, sizeof(float));
  x->mw = ldnq__calloc((size_t)x->nw, sizeof(float));
  x->vw = ldnq__calloc((size_t)x->nw, sizeof(float));
  if (x->bname) {
    x->sb = ldnq__malloc_array((size_t)x->nb, sizeof(float));
    x->mb = ldnq__calloc((size_t)x->nb, sizeof(float));
    x->vb = ldnq__calloc((size_t)x->nb, sizeof(float));
  }
  if (!x->sw || !x->mw || !x->vw || (x->bname && (!x->sb || !x->mb || !x->vb)))
    return ldnq__fail(eb, LDNQ_ERR_NOMEM, "out of memory for the code shadows");
  memcpy(x->sw, w, (size_t)x->nw * sizeof(float));
  if (x->bname) memcpy(x->sb, b, (size_t)x->nb * sizeof(float));
  return LDNQ_OK;
}

/* The shadows' Adam step, then every code from its shadow at the scales. */
static void shadows_step(at_layer *x, double lr, double beta1, int64_t t) {
  ldnq__adam_update(x->sw, x->gw, x->mw, x->vw, x->nw, lr, beta1, 0.0, t);
  if (x->sb) ldnq__adam_update(x->sb, x->gb, x->mb, x->vb, x->nb, lr, beta1, 0.0, t);
  ldnq_layer_result *r = x->res;
  size_t l1 = (size_t)r->l1, in = (size_t)(r->l1 - r->has_bias);
  for (size_t o = 0; o < (size_t)r->l2; o++) {
    double al = ldnq__result_alpha(r, o);
    if (!(al > 0)) continue;
    int8_t *c = r->codes + o * l1;
    for (size_t i = 0; i < in; i++) c[i] = (int8_t)ldnq__code_of(x->sw[o * in + i], al, r->levels);
    if (x->sb) c[in] = (int8_t)ldnq__code_of(x->sb[o], al, r->levels);
  }
}

void ldnq__alpha_tune_free(ldnq__alpha_tune *a) {
  if (!a) return;
  for (int k = 0; k < a->n; k++) {
    ldnq__free(a->l[k].m);
    ldnq__free(a->l[k].v);
    ldnq__free(a->l[k].g);
    float *f[6] = {a->l[k].sw, a->l[k].sb, a->l[k].mw, a->l[k].vw, a->l[k].mb, a->l[k].vb};
    for (int j = 0; j < 6; j++) ldnq__free(f[j]);
  }
  ldnq__free(a->l);
  ldnq__free(a->tmp);
  ldnq__free(a);
}

ldnq_status ldnq__alpha_tune_create(ldnq__run *R, ldnq__alpha_tune **out) {
  *out = NULL;
  ldnq_quantizer *q = R->q;
  ldnq__alpha_tune *a = ldnq__calloc(1, sizeof *a);
  if (!a) return ldnq__fail(&q->err, LDNQ_ERR_NOMEM, "out of memory");
  a->beta1 = ldnq__q_real(q, LDNQ_Q_CASCADE_MOMENTUM);
  a->code_lr = ldnq__q_real(q, LDNQ_Q_FINAL_CODE_LR);
  a->l = ldnq__calloc(R->nlayers > 0 ? (size_t)R->nlayers : 1, sizeof *a->l);
  if (!a->l) {
    ldnq__alpha_tune_free(a);
    return ldnq__fail(&q->err, LDNQ_ERR_NOMEM, "out of memory");
  }
  int64_t most = 1;
  ldnq_status st = LDNQ_OK;
  for (int L = 0; L < R->nlayers && !st; L++) {
    const ldnq__qr_layer *rl = &R->rep->layers[L];
    if (!rl->quantized || !rl->res || !(rl->res->alpha > 0)) continue;
    at_layer *x = &a->l[a->n];
    int wi = ldnq__network_layer_weight(R->net, L), bi = ldnq__network_layer_bias(R->net, L);
    x->res = rl->res;
    float *w = NULL, *b = NULL;
    st = ldnq__network_param(R->net, wi, &x->wname, &w, &x->gw, &x->nw, NULL, NULL);
    if (!st && bi >= 0 && !rl->bias_float)
      st = ldnq__network_param(R->net, bi, &x->bname, &b, &x->gb, &x->nb, NULL, NULL);
    if (st) break;
    if (a->code_lr > 0 && !st) st = shadows_init(x, w, b, &q->err);
    x->na = rl->res->per_channel ? rl->res->l2 : 1;
    x->m = ldnq__calloc((size_t)x->na, sizeof(double));
    x->v = ldnq__calloc((size_t)x->na, sizeof(double));
    x->g = ldnq__calloc((size_t)x->na, sizeof(double));
    a->n++;
    if (!x->m || !x->v || !x->g) st = ldnq__fail(&q->err, LDNQ_ERR_NOMEM, "out of memory");
    if (x->nw > most) most = x->nw;
    if (x->nb > most) most = x->nb;
  }
  if (!st) {
    a->tmp = ldnq__malloc_array((size_t)most, sizeof(float));
    if (!a->tmp) st = ldnq__fail(&q->err, LDNQ_ERR_NOMEM, "out of memory");
  }
  if (!st) st = set_entries(R, a, 1);
  if (st) {
    ldnq__alpha_tune_free(a);
    return st == LDNQ_ERR_NOMEM ? st : ldnq__propagate(&q->err, st);
  }
  *out = a;
  return LDNQ_OK;
}

ldnq_status ldnq__alpha_tune_grad(ldnq__run *R, ldnq__alpha_tune *a) {
  for (int k = 0; k < a->n; k++) {
    at_layer *x = &a->l[k];
    const ldnq_layer_result *r = x->res;
    size_t l1 = (size_t)r->l1, in = (size_t)(r->l1 - r->has_bias);
    for (int g = 0; g < x->na; g++) x->g[g] = 0;
    for (size_t o = 0; o < (size_t)r->l2; o++) {
      const int8_t *c = r->codes + o * l1;
      const float *gw = x->gw + o * in;
      double s = 0;
      for (size_t i = 0; i < in; i++) s += (double)gw[i] * c[i];
      if (x->gb) s += (double)x->gb[o] * c[in];
      x->g[x->na > 1 ? o : 0] += s;
    }
  }
  return set_entries(R, a, 0); /* frozen for the optimizer's step */
}

ldnq_status ldnq__alpha_tune_step(ldnq__run *R, ldnq__alpha_tune *a, double lr, double code_lr) {
  a->t++;
  const double b1 = a->beta1, b2 = 0.999, eps = 1e-8;
  const double c1 = 1.0 - pow(b1, (double)a->t), c2 = 1.0 - pow(b2, (double)a->t);
  for (int k = 0; k < a->n; k++) {
    at_layer *x = &a->l[k];
    ldnq_layer_result *r = x->res;
    double *al = r->per_channel ? r->alphas : &r->alpha, sum = 0;
    for (int g = 0; g < x->na; g++) {
      if (!(al[g] > 0)) continue; /* a zero column stays zero */
      double d = x->g[g] * al[g]; /* dL/d log(alpha) */
      x->m[g] = b1 * x->m[g] + (1 - b1) * d;
      x->v[g] = b2 * x->v[g] + (1 - b2) * d * d;
      al[g] *= exp(-lr * (x->m[g] / c1) / (sqrt(x->v[g] / c2) + eps));
      sum += al[g];
    }
    if (r->per_channel) r->alpha = sum / x->na;
    if (x->sw) shadows_step(x, code_lr, a->beta1, a->t);
    ldnq_status st = ldnq_layer_result_weights(r, a->tmp, x->nw);
    if (!st) st = ldnq_network_write(R->net, x->wname, a->tmp, x->nw);
    if (!st && x->bname) st = ldnq_layer_result_bias(r, a->tmp, x->nb);
    if (!st && x->bname) st = ldnq_network_write(R->net, x->bname, a->tmp, x->nb);
    if (st) return ldnq__propagate(&R->q->err, st);
  }
  return set_entries(R, a, 1);
}
