/* Forward pass: keeps conv outputs (BN inputs), post-ReLU activations,
 * BN batch statistics and max-pool argmax for backward; calls the tap with
 * each weight layer's input just before the layer runs. */
#include <string.h>

#include "core/comm.h"
#include "core/tensor.h"
#include "nn/nn_impl.h"

/* Borrowed tensor view for the tap (no allocation). */
static ldnq_status tap(ldnq_network *net, int layer, float *x, int ndim, int64_t a, int64_t b,
                       int64_t c, int64_t d) {
  if (!net->tap) return LDNQ_OK;
  ldnq_tensor t;
  memset(&t, 0, sizeof t);
  t.ndim = ndim;
  t.shape[0] = a;
  t.shape[1] = b;
  t.shape[2] = c;
  t.shape[3] = d;
  t.numel = a * b * (ndim == 4 ? c * d : 1);
  t.data = x;
  const char *name = net->layers[layer].name;
  if (net->tap(net->tap_ud, name, &t))
    return ldnq__fail(&net->err, LDNQ_ERR_CANCELLED, "forward cancelled by the tap at layer %s",
                      name);
  return LDNQ_OK;
}

static ldnq_status conv(ldnq_network *net, nn_conv *c, const float *x) {
  ldnq_status st = tap(net, c->layer, (float *)x, 4, c->g.n, c->cin, c->g.h, c->g.w);
  if (st) return st;
  ldnq__conv2d_forward(&c->g, x, net->ent[c->w].data, c->b >= 0 ? net->ent[c->b].data : NULL,
                       c->y, net->ws);
  return LDNQ_OK;
}

/* Batch norm with its fused post-ops (residual add, ReLU: ops.h); over
 * all ranks' shares in a data-parallel training step (bn_dist.c). */
static ldnq_status bn(ldnq_network *net, nn_bn *b, const nn_conv *c, float *y, const float *res,
                      int relu) {
  const float *g = net->ent[b->w].data, *be = net->ent[b->w + 1].data;
  int hw = c->g.oh * c->g.ow;
  ldnq__bn_post post = {res, relu};
  if (net->training && ldnq__comm_active(net->comm)) {
    ldnq_status st = ldnq__nn_bn_forward_dist(net, b, c->g.n, hw, c->y, y, &post);
    if (st) return st;
    net->ent[b->w + 4].data[0] += 1.0f;
  } else if (net->training) {
    ldnq__bn_forward_train_post(c->g.n, b->c, hw, c->y, g, be, NN_BN_EPS, NN_BN_MOMENTUM,
                                net->ent[b->w + 2].data, net->ent[b->w + 3].data, y, b->mean,
                                b->invstd, &post);
    net->ent[b->w + 4].data[0] += 1.0f;
  } else {
    ldnq__bn_forward_eval_post(c->g.n, b->c, hw, c->y, g, be, NN_BN_EPS, net->ent[b->w + 2].data,
                               net->ent[b->w + 3].data, y, &post);
  }
  return LDNQ_OK;
}

/* The shortcut runs before the last norm so that the norm can add it and
 * apply the block's ReLU in the same pass. */
static ldnq_status block(ldnq_network *net, nn_block *blk) {
  const float *x = blk->in;
  int last = blk->nconv - 1;
  ldnq_status st;
  for (int i = 0; i < last; i++) {
    if ((st = conv(net, &blk->conv[i], x))) return st;
    if ((st = bn(net, &blk->bn[i], &blk->conv[i], blk->act[i], NULL, 1))) return st;
    x = blk->act[i];
  }
  if ((st = conv(net, &blk->conv[last], x))) return st;
  const float *res = blk->in;
  if (blk->has_ds) {
    if ((st = conv(net, &blk->ds, blk->in))) return st;
    if ((st = bn(net, &blk->dsbn, &blk->ds, blk->sc, NULL, 0))) return st;
    res = blk->sc;
  }
  return bn(net, &blk->bn[last], &blk->conv[last], blk->out, res, 1);
}

ldnq_status ldnq__nn_forward(ldnq_network *net, const float *x, float *logits) {
  int n = net->rn;
  net->fwd_valid = 0;
  net->dist_st = LDNQ_OK;
  memcpy(net->x0, x, (size_t)n * (size_t)net->in_channels * (size_t)net->rh * (size_t)net->rw *
                         sizeof(float));
  ldnq_status st = conv(net, &net->stem, net->x0);
  if (st) return st;
  if ((st = bn(net, &net->stem_bn, &net->stem, net->stem_a, NULL, 1))) return st;
  if (net->imagenet)
    ldnq__maxpool_forward(n, 64, net->stem_h, net->stem_w, 3, 2, 1, net->pool_h, net->pool_w,
                          net->stem_a, net->pool_y, net->argmax);
  for (int b = 0; b < net->nblocks; b++)
    if ((st = block(net, &net->blocks[b]))) return st;
  ldnq__gap_forward(n, net->fc_in, net->last_hw, net->blocks[net->nblocks - 1].out, net->gap_y);
  if ((st = tap(net, net->fc_layer, net->gap_y, 2, n, net->fc_in, 1, 1))) return st;
  ldnq__linear_forward(n, net->fc_in, net->num_classes, net->gap_y, net->ent[net->fc_w].data,
                       net->ent[net->fc_b].data, logits);
  net->fwd_valid = !net->rlean;
  net->fwd_training = net->training;
  return LDNQ_OK;
}
