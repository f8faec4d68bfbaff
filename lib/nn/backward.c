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
 * backward is fused into the norm's (ops.h, ldnq__bn_post). */
static void bn_bwd(ldnq_network *net, nn_bn *b, const nn_conv *c, const float *dy, float *dx,
                   const float *relu_out) {
  int hw = c->g.oh * c->g.ow;
  const float *gamma = net->ent[b->w].data;
  float *dg = pgrad(net, b->w), *db = pgrad(net, b->w + 1);
  ldnq__bn_post post = {NULL, 0, relu_out};
  if (net->fwd_training && ldnq__comm_active(net->comm)) /* failures: net->dist_st */
    ldnq__nn_bn_backward_dist(net, b, c->g.n, hw, c->y, dy, dx, dg, db, &post);
  else if (net->fwd_training)
    ldnq__bn_backward_train_post(c->g.n, b->c, hw, c->y, gamma, b->mean, b->invstd, dy, dx, dg,
                                 db, &post);
  else
    ldnq__bn_backward_eval_post(c->g.n, b->c, hw, c->y, gamma, NN_BN_EPS,
                                net->ent[b->w + 2].data, net->ent[b->w + 3].data, dy, dx, dg, db,
                                &post);
}

/* gout: dL/d(block out), clobbered; gin receives dL/d(block in). */
static void block_bwd(ldnq_network *net, nn_block *blk, float *gout, float *gin) {
  float *t1 = net->gbuf[2], *t2 = net->gbuf[3];
  int last = blk->nconv - 1;
  ldnq__relu_backward(blk->out_n, blk->out, gout, gout);
  bn_bwd(net, &blk->bn[last], &blk->conv[last], gout, t1, NULL);
  for (int i = last; i >= 0; i--) {
    if (i == 0) {
      conv_bwd(net, &blk->conv[0], blk->in, t1, gin);
    } else {
      conv_bwd(net, &blk->conv[i], blk->act[i - 1], t1, t2);
      bn_bwd(net, &blk->bn[i - 1], &blk->conv[i - 1], t2, t1, blk->act[i - 1]);
    }
  }
  if (blk->has_ds) {
    bn_bwd(net, &blk->dsbn, &blk->ds, gout, t1, NULL);
    conv_bwd(net, &blk->ds, blk->in, t1, t2);
    ldnq__add(blk->in_n, gin, t2, gin);
  } else {
    ldnq__add(blk->in_n, gin, gout, gin);
  }
}

ldnq_status ldnq__nn_backward(ldnq_network *net, const float *dlogits, float *dx) {
  int n = net->rn;
  net->dist_st = LDNQ_OK;
  float *ga = net->gbuf[0], *gb = net->gbuf[1];
  ldnq__linear_backward(n, net->fc_in, net->num_classes, net->gap_y, net->ent[net->fc_w].data,
                        dlogits, gb, pgrad(net, net->fc_w), pgrad(net, net->fc_b));
  ldnq__gap_backward(n, net->fc_in, net->last_hw, gb, ga);
  for (int b = net->nblocks - 1; b >= 0; b--) {
    block_bwd(net, &net->blocks[b], ga, gb);
    float *t = ga;
    ga = gb;
    gb = t;
  }
  /* ga: dL/d(stem output after pool). */
  if (net->imagenet) {
    ldnq__maxpool_backward(n, 64, net->stem_h, net->stem_w, net->pool_h, net->pool_w,
                           net->argmax, ga, gb);
    float *t = ga;
    ga = gb;
    gb = t;
  }
  bn_bwd(net, &net->stem_bn, &net->stem, ga, gb, net->stem_a);
  conv_bwd(net, &net->stem, net->x0, gb, dx);
  return net->dist_st;
}
