/* Private layout of the network handle, shared by the files of lib/nn only
 * (other modules use network_internal.h). */
#ifndef LDNQ_NN_IMPL_H
#define LDNQ_NN_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "ldnq/network.h"
#include "nn/network_internal.h"
#include "ops/ops.h"

#define NN_BN_EPS 1e-5f
#define NN_BN_MOMENTUM 0.1f

/* One state-dict entry. */
typedef struct nn_entry {
  char *name;
  int ndim;
  int64_t shape[4];
  int64_t numel;
  float *data;
  float *grad; /* parameters only; NULL for buffers */
  int is_buffer;
  int trainable;
} nn_entry;

/* A convolution; x/y point into the activation arena for the current shape. */
typedef struct nn_conv {
  int w, b;  /* entry indices (b = -1: no bias) */
  int layer; /* weight-layer index */
  int cin, cout, k, stride, pad;
  ldnq__conv_geom g;
  float *y;
} nn_conv;

/* A batch norm; entry w is the weight, followed by bias, running_mean,
 * running_var, num_batches_tracked. */
typedef struct nn_bn {
  int w;
  int c;
  float *mean, *invstd; /* saved batch statistics (training forward) */
  float *var;           /* the biased batch variance (bn_dist.c) */
} nn_bn;

/* BasicBlock (2 convs) or Bottleneck (3 convs) with optional downsample. */
typedef struct nn_block {
  int nconv;
  nn_conv conv[3];
  nn_bn bn[3];
  int has_ds;
  nn_conv ds;
  nn_bn dsbn;
  float *in;     /* block input (the previous block's out), borrowed */
  float *act[2]; /* relu(bn(conv[i])) for i < nconv-1 */
  float *out;    /* relu(bn(conv[last]) + shortcut) */
  float *sc;     /* scratch for the downsample BN output (forward only) */
  size_t in_n, out_n;
} nn_block;

typedef struct nn_layer {
  char *name; /* weight name without ".weight" */
  int type;   /* ldnq_layer_type */
  int w, b;
  int in, out, kh, kw, stride, pad;
} nn_layer;

struct ldnq_network {
  ldnq__errbuf err;
  ldnq_arch arch;
  int in_channels, num_classes;
  int imagenet;

  int nent, ent_cap;
  nn_entry *ent;
  int nlayers, layer_cap;
  nn_layer *layers;

  nn_conv stem;
  nn_bn stem_bn;
  int nblocks;
  nn_block *blocks;
  int fc_w, fc_b, fc_in, fc_layer;

  int training;
  /* Data-parallel training (bn_dist.c): batch statistics over all ranks.
   * comm is borrowed; dist_st is the first collective failure of the
   * current forward/backward. */
  const struct ldnq_comm *comm;
  ldnq_status dist_st;
  double *dist_d;
  float *dist_f;
  size_t dist_cap; /* channels: dist_d holds 2 x + 1, dist_f 2 x */
  int grad_enabled;   /* 0: forward keeps nothing for backward (lean plan) */
  ldnq_tap_fn tap;
  void *tap_ud;

  /* Runtime state for the current input shape (plan.c). */
  int rn, rc, rh, rw; /* planned input shape; rn 0 = none */
  int rlean;          /* the plan is the lean one (no backward) */
  int fwd_valid;      /* a forward completed; backward allowed */
  int fwd_training;   /* mode of that forward */
  float *arena;
  size_t arena_n;
  float *ws;
  size_t ws_n;
  int32_t *argmax;
  size_t argmax_n;
  float *x0;          /* copy of the input */
  float *stem_a;      /* relu(bn1(conv1)) */
  float *pool_y;      /* after max pool (ImageNet) */
  int stem_h, stem_w, pool_h, pool_w;
  float *gap_y;       /* [n, fc_in] */
  int last_hw;        /* spatial size of the last block output */
  float *gbuf[4];     /* gradient scratch, each max_act floats */
  size_t max_act;
};

/* Elements of a convolution's output for the current shape. */
static inline size_t conv_numel(const nn_conv *c) {
  return (size_t)c->g.n * (size_t)c->cout * (size_t)c->g.oh * (size_t)c->g.ow;
}

/* build.c: architecture -> entries, layers, blocks. */
ldnq_status ldnq__nn_build(ldnq_network *net);
void ldnq__nn_destroy(ldnq_network *net);
/* init.c */
void ldnq__nn_init_params(ldnq_network *net, uint64_t seed);
/* plan.c: buffers for input [n, c, h, w]; ERR_SHAPE if too small. */
ldnq_status ldnq__nn_plan(ldnq_network *net, int n, int h, int w);
/* bn_dist.c: training-mode batch norm whose statistics span every rank
 * of net->comm (forward: y; backward: dx, local dgamma/dbeta added). */
ldnq_status ldnq__nn_bn_forward_dist(ldnq_network *net, nn_bn *b, int n, int hw, const float *x,
                                     float *y, const ldnq__bn_post *post);
ldnq_status ldnq__nn_bn_backward_dist(ldnq_network *net, nn_bn *b, int n, int hw, const float *x,
                                      const float *dy, float *dx, float *dgamma, float *dbeta,
                                      const ldnq__bn_grad *gr);
void ldnq__nn_dist_release(ldnq_network *net);
/* forward.c / backward.c */
ldnq_status ldnq__nn_forward(ldnq_network *net, const float *x, float *logits);
ldnq_status ldnq__nn_backward(ldnq_network *net, const float *dlogits, float *dx);

#endif
