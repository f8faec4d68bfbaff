/* Backward pass for the last forward. Parameter gradients accumulate only
 * for trainable parameters (frozen ones get NULL, so their dW work is
 * skipped); input gradients always propagate. Scratch: four gradient
 * buffers of the largest activation size (gbuf). */
#include "core/comm.h"
#include "nn/nn_impl.h"

static float *pgrad(ldnq_network *net, int idx) {
  return (idx >= 0 && net->ent[idx].trainable) ? net->ent[idx].grad : NULL;
}

static void conv_bwd(ldnq_network *net, nn_conv *c, const float *x, const float *dy, float *dx) {
  ldnq__conv2d_backward(&c->g, x, net->ent[c->w].data, dy, dx, pgrad(net, c->w),
                        pgrad(net, c->b), net->ws);
}

/* relu_out non-NULL: the ReLU that followed the norm (its output), whose
 * backward is fused into the norm's; dy2 non-NULL: a second gradient added
 * to dy first; gout non-NULL receives the norm's gradient, mask(dy + dy2)
 * (ops.h, ldnq__bn_grad). */
static void bn_bwd(ldnq_network *net, nn_bn *b, const nn_conv *c, const float *dy, float *dx,
                   const float *relu_out, const float *dy2, float *gout) {
  int hw = c->g.oh * c->g.ow;
  const float *gamma = net->ent[b->w].data;
  float *dg = pgrad(net, b->w), *db = pgrad(net, b->w + 1);
  ldnq__bn_grad gr = {relu_out, dy2, gout};
  if (net->fwd_training && ldnq__comm_active(net->comm)) /* failures: net->dist_st */
    ldnq__nn_bn_backward_dist(net, b, c->g.n, hw, c->y, dy, dx, dg, db, &gr);
  else if (net->fwd_training)
    ldnq__bn_backward_train_grad(c->g.n, b->c, hw, c->y, gamma, b->mean, b->invstd, dy, dx, dg,
                                 db, &gr);
  else
    ldnq__bn_backward_eval_grad(c->g.n, b->c, hw, c->y, gamma, NN_BN_EPS,
                                net->ent[b->w + 2].data, net->ent[b->w + 3].data, dy, dx, dg, db,
                                &gr);
}

/* dL/d(block out) is gout + gout2 (gout2 NULL: gout alone). The block's
 * ReLU backward and that add run inside the last norm's sums pass, which
 * leaves the masked gradient in gout. gin receives the main path's part of
 * dL/d(block in); the shortcut's part is left in gout, and the norm before
 * adds the two (as gout2 of the previous block), so neither the ReLU nor
 * the residual add takes a pass of its own. gin may be gout2's buffer:
 * gout2 is read only by the first norm. */
static void block_bwd(ldnq_network *net, nn_block *blk, float *gout, const float *gout2,
                      float *gin) {
  float *t1 = net->gbuf[2], *t2 = net->gbuf[3];
  int last = blk->nconv - 1;
  bn_bwd(net, &blk->bn[last], &blk->conv[last], gout, t1, blk->out, gout2, gout);
  for (int i = last; i >= 0; i--) {
    if (i == 0) {
      conv_bwd(net, &blk->conv[0], blk->in, t1, gin);
    } else {
      conv_bwd(net, &blk->conv[i], blk->act[i - 1], t1, t2);
      bn_bwd(net, &blk->bn[i - 1], &blk->conv[i - 1], t2, t1, blk->act[i - 1], NULL, NULL);
    }
  }
  if (blk->has_ds) {
    bn_bwd(net, &blk->dsbn, &blk->ds, gout, t1, NULL, NULL, NULL);
    conv_bwd(net, &blk->ds, blk->in, t1, gout);
  }
}

ldnq_status ldnq__nn_backward(ldnq_network *net, const float *dlogits, float *dx) {
  int n = net->rn;
  net->dist_st = LDNQ_OK;
  float *ga = net->gbuf[0], *gb = net->gbuf[1];
  ldnq__linear_backward(n, net->fc_in, net->num_classes, net->gap_y, net->ent[net->fc_w].data,
                        dlogits, gb, pgrad(net, net->fc_w), pgrad(net, net->fc_b));
  ldnq__gap_backward(n, net->fc_in, net->last_hw, gb, ga);
  /* dL/d(current block out) = ga + pend (pend: the shortcut's part, or NULL). */
  const float *pend = NULL;
  for (int b = net->nblocks - 1; b >= 0; b--) {
    block_bwd(net, &net->blocks[b], ga, pend, gb);
    pend = ga;
    ga = gb;
    gb = (float *)pend;
  }
  /* ga + pend: dL/d(stem output after pool); pend's buffer is gb. */
  if (net->imagenet) {
    ldnq__add(net->blocks[0].in_n, ga, pend, ga);
    ldnq__maxpool_backward(n, 64, net->stem_h, net->stem_w, net->pool_h, net->pool_w,
                           net->argmax, ga, gb);
    float *t = ga;
    ga = gb;
    gb = t;
    pend = NULL;
  }
  bn_bwd(net, &net->stem_bn, &net->stem, ga, gb, net->stem_a, pend, pend ? ga : NULL);
  conv_bwd(net, &net->stem, net->x0, gb, dx);
  return net->dist_st;
}
