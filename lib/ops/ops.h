/* Internal layer kernels (float32, NCHW, contiguous). Callers (lib/nn,
 * lib/quant, lib/train) validate shapes; kernels assume valid arguments and
 * do not allocate unless stated (workspaces are passed in). Every backward
 * ACCUMULATES into parameter gradients (dw, db, dgamma, dbeta) and
 * OVERWRITES input gradients (dx). Any gradient pointer may be NULL to skip.
 *
 * Threads: conv2d, batch norm, relu and add split large inputs over as many
 * threads as OpenBLAS had at the first kernel call (fixed for the process,
 * so workspace sizes stay valid) and set OpenBLAS to one thread, process-
 * wide, until they return. Kernels may be called from several threads at
 * once; they make no library allocations (threads are created per call). */
#ifndef LDNQ_OPS_OPS_H
#define LDNQ_OPS_OPS_H

#include <stddef.h>
#include <stdint.h>

/* ---- conv2d (no dilation, no groups; square or rectangular kernels) ---- */
typedef struct ldnq__conv_geom {
  int n, cin, h, w;     /* input */
  int cout, kh, kw;     /* weight [cout, cin, kh, kw] (PyTorch layout) */
  int stride_h, stride_w, pad_h, pad_w;
  int oh, ow;           /* output, computed by ldnq__conv_geom_init */
} ldnq__conv_geom;

/* Fills g and computes oh/ow; returns -1 if the output would be empty. */
int ldnq__conv_geom_init(ldnq__conv_geom *g, int n, int cin, int h, int w, int cout,
                         int kh, int kw, int stride, int pad);
/* Floats of workspace forward/backward need (> 0: the sgemm scratch). */
size_t ldnq__conv2d_workspace(const ldnq__conv_geom *g);
/* y[n, cout, oh, ow] = conv(x, w) (+ bias[cout] if non-NULL). */
void ldnq__conv2d_forward(const ldnq__conv_geom *g, const float *x, const float *w,
                          const float *bias, float *y, float *ws);
/* dx (overwrite), dw/db (accumulate) from dy. */
void ldnq__conv2d_backward(const ldnq__conv_geom *g, const float *x, const float *w,
                           const float *dy, float *dx, float *dw, float *db, float *ws);
/* One image x[cin, h, w] -> cols[cin*kh*kw, oh*ow], rows in the weight's
 * (cin, kh, kw) order, zero padding. Used by conv and the quantizer. */
void ldnq__im2col(const ldnq__conv_geom *g, const float *x, float *cols);

/* ---- batch norm over [n, c, hw] ---- */
/* Training: batch statistics; updates running_mean/var with momentum and
 * the UNBIASED batch variance (as PyTorch); saves mean and 1/sqrt(var+eps)
 * (biased var) for backward. */
void ldnq__bn_forward_train(int n, int c, int hw, const float *x, const float *gamma,
                            const float *beta, float eps, float momentum,
                            float *running_mean, float *running_var, float *y,
                            float *save_mean, float *save_invstd);
/* Eval: running statistics. */
void ldnq__bn_forward_eval(int n, int c, int hw, const float *x, const float *gamma,
                           const float *beta, float eps, const float *running_mean,
                           const float *running_var, float *y);
/* Backward of the training form (batch statistics). */
void ldnq__bn_backward_train(int n, int c, int hw, const float *x, const float *gamma,
                             const float *save_mean, const float *save_invstd,
                             const float *dy, float *dx, float *dgamma, float *dbeta);
/* Backward of the eval form (running statistics are constants). */
void ldnq__bn_backward_eval(int n, int c, int hw, const float *x, const float *gamma,
                            float eps, const float *running_mean,
                            const float *running_var, const float *dy, float *dx,
                            float *dgamma, float *dbeta);

/* Fused post-ops of the forward (oneDNN style), saving whole passes over
 * activations: y = relu?(bn(x) + res?). NULL fields: none. The backward's
 * fused pre-ops are ldnq__bn_grad below. */
typedef struct ldnq__bn_post {
  const float *res; /* residual added before the ReLU, [n, c, hw] */
  int relu;         /* apply a ReLU last */
} ldnq__bn_post;

/* The backward's input gradient, for the *_grad forms: g = mask(dy + dy2),
 * i.e. dy + dy2 (a residual's gradient, added as ldnq__add would) set to 0
 * where mask <= 0 (as ldnq__relu_backward would), and with gout, g is also
 * written there (the gradient a block's shortcut needs; gout may be dy).
 * The ReLU backward and the add then take no pass of their own: g is made
 * in the sums pass (or, eval form without dgamma/dbeta, a pass before the
 * output's). NULL fields: none; dy2 needs gout. All [n, c, hw]. */
typedef struct ldnq__bn_grad {
  const float *mask;
  const float *dy2;
  float *gout;
} ldnq__bn_grad;

void ldnq__bn_forward_train_post(int n, int c, int hw, const float *x, const float *gamma,
                                 const float *beta, float eps, float momentum,
                                 float *running_mean, float *running_var, float *y,
                                 float *save_mean, float *save_invstd, const ldnq__bn_post *post);
void ldnq__bn_forward_eval_post(int n, int c, int hw, const float *x, const float *gamma,
                                const float *beta, float eps, const float *running_mean,
                                const float *running_var, float *y, const ldnq__bn_post *post);
void ldnq__bn_backward_train_grad(int n, int c, int hw, const float *x, const float *gamma,
                                  const float *save_mean, const float *save_invstd,
                                  const float *dy, float *dx, float *dgamma, float *dbeta,
                                  const ldnq__bn_grad *gr);
void ldnq__bn_backward_eval_grad(int n, int c, int hw, const float *x, const float *gamma,
                                 float eps, const float *running_mean, const float *running_var,
                                 const float *dy, float *dx, float *dgamma, float *dbeta,
                                 const ldnq__bn_grad *gr);

/* ---- elementwise ---- */
void ldnq__relu_forward(size_t n, const float *x, float *y);          /* y may == x */
void ldnq__relu_backward(size_t n, const float *y, const float *dy, float *dx); /* dx may == dy */
void ldnq__add(size_t n, const float *a, const float *b, float *y);   /* y may alias */

/* ---- pooling ---- */
/* Max pool k x k, stride s, padding p (padding never wins). argmax[n*c*oh*ow]
 * records the winning input index within its (n, c) plane for backward. */
void ldnq__maxpool_forward(int n, int c, int h, int w, int k, int s, int p, int oh, int ow,
                           const float *x, float *y, int32_t *argmax);
void ldnq__maxpool_backward(int n, int c, int h, int w, int oh, int ow,
                            const int32_t *argmax, const float *dy, float *dx);
/* Global average pool [n, c, hw] -> [n, c]. */
void ldnq__gap_forward(int n, int c, int hw, const float *x, float *y);
void ldnq__gap_backward(int n, int c, int hw, const float *dy, float *dx);

/* ---- linear: y[n, out] = x[n, in] w[out, in]^T + b ---- */
void ldnq__linear_forward(int n, int in, int out, const float *x, const float *w,
                          const float *b, float *y);
void ldnq__linear_backward(int n, int in, int out, const float *x, const float *w,
                           const float *dy, float *dx, float *dw, float *db);

/* ---- losses (mean over the batch) ---- */
/* Softmax cross-entropy with integer labels in [0, k); returns the mean loss,
 * writes dlogits (may be NULL). */
double ldnq__softmax_xent(int n, int k, const float *logits, const int32_t *labels,
                          float *dlogits);
/* Mean squared error over all n elements (PyTorch MSELoss 'mean'); writes
 * grad wrt a (may be NULL). */
double ldnq__mse(size_t n, const float *a, const float *target, float *grad);
/* Distillation loss on n rows of k logits: T^2 x the mean over rows of
 * KL(softmax(t / T) || softmax(s / T)) (Hinton et al.'s scaling, so the
 * gradient's size does not fall with T); writes grad wrt s (may be NULL),
 * T (p_s - p_t) / n. scratch: 2 k doubles. */
double ldnq__kd_kl(int n, int k, const float *s, const float *t, double T, double *scratch,
                   float *grad);

#endif
