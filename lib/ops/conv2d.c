/* conv2d forward/backward: im2col + sgemm. The batch is split across
 * threads (ldnq__parallel_run); within a thread, images with few output
 * positions are grouped so each sgemm has at least CONV_MIN_COLS columns,
 * and large images are processed in slabs of output rows. */
#include <string.h>

#include "ops/conv_direct.h"
#include "ops/conv_wino.h"
#include "ops/conv_wino_dw.h"
#include "ops/gemm.h"
#include "ops/ops.h"
#include "ops/ops_internal.h"

/* Below this many columns per sgemm, OpenBLAS's per-call overheads show. */
#ifndef CONV_MIN_COLS
#define CONV_MIN_COLS 512
#endif
/* A single image's cols larger than this (floats) are built and consumed
 * a slab of output rows at a time, so they stay in the per-core L2. */
#define CONV_SLAB_FLOATS (1 << 18)
/* Up to this many weights, dW is computed transposed (cols * dy^T: the
 * long side first suits OpenBLAS better when cout is small) into a
 * per-thread buffer and transposed back once. */
#define CONV_DWT_MAX_WEIGHTS (1 << 16)
/* Below this many flops (~40 us on one core) a conv is not worth a pool thread. */
#define CONV_PAR_MIN_FLOPS 8e6

int ldnq__conv_geom_init(ldnq__conv_geom *g, int n, int cin, int h, int w, int cout, int kh,
                         int kw, int stride, int pad) {
  memset(g, 0, sizeof *g);
  g->n = n, g->cin = cin, g->h = h, g->w = w;
  g->cout = cout, g->kh = kh, g->kw = kw;
  g->stride_h = g->stride_w = stride;
  g->pad_h = g->pad_w = pad;
  if (n <= 0 || cin <= 0 || h <= 0 || w <= 0 || cout <= 0 || kh <= 0 || kw <= 0 ||
      stride <= 0 || pad < 0)
    return -1;
  int eh = h + 2 * pad - kh, ew = w + 2 * pad - kw;
  if (eh < 0 || ew < 0) return -1;
  g->oh = eh / stride + 1;
  g->ow = ew / stride + 1;
  return 0;
}

/* A 1x1, stride-1, unpadded conv reads x directly as its cols matrix. */
static int is_pointwise(const ldnq__conv_geom *g) {
  return g->kh == 1 && g->kw == 1 && g->stride_h == 1 && g->stride_w == 1 && g->pad_h == 0 &&
         g->pad_w == 0;
}

/* How a conv is split; workspace and kernels derive it the same way. */
typedef struct conv_plan {
  int nthreads;
  int direct;        /* implicit GEMM per image (conv_direct.c); cols = its scratch */
  int nb;            /* images per sgemm */
  int rows;          /* output rows per slab when nb == 1 (oh: whole image) */
  size_t K, P;       /* cin*kh*kw, oh*ow */
  size_t cols;       /* floats: [K, nb*P] or one slab [K, rows*ow] (0: x is cols) */
  size_t stage;      /* floats: [cout, nb*P] output/gradient staging (0 if nb == 1) */
  int dwt;           /* dW accumulated transposed, [K, cout], in the partials */
  size_t partial;    /* floats: per-thread dW and db sums (0 if unused) */
  size_t pack;       /* floats: ldnq__sgemm scratch for the largest product */
  size_t per_thread; /* floats of workspace per thread */
} conv_plan;

static conv_plan make_plan_for(const ldnq__conv_geom *g, int direct, int threads) {
  conv_plan p;
  p.direct = direct;
  p.K = (size_t)g->cin * g->kh * g->kw;
  p.P = (size_t)g->oh * g->ow;
  double flops = 2.0 * g->n * (double)g->cout * (double)p.P * (double)p.K;
  p.nthreads = threads;
  if (p.nthreads > g->n) p.nthreads = g->n;
  if (!ldnq__ops_parallel_worth(flops, CONV_PAR_MIN_FLOPS)) p.nthreads = 1;
  size_t share = ((size_t)g->n + p.nthreads - 1) / p.nthreads;
  size_t nb = (CONV_MIN_COLS + p.P - 1) / p.P;
  if (nb > share) nb = share;
  if (nb < 1) nb = 1;
  p.nb = (int)nb;
  p.rows = g->oh;
  if (nb == 1 && !is_pointwise(g) && p.K * p.P > CONV_SLAB_FLOATS) {
    /* Slab: fits CONV_SLAB_FLOATS but keeps >= CONV_MIN_COLS columns;
     * slabs of near-equal height. */
    size_t r = CONV_SLAB_FLOATS / (p.K * (size_t)g->ow);
    size_t rmin = (CONV_MIN_COLS + (size_t)g->ow - 1) / (size_t)g->ow;
    if (r < rmin) r = rmin;
    if (r < (size_t)g->oh) {
      size_t nslab = ((size_t)g->oh + r - 1) / r;
      p.rows = (int)(((size_t)g->oh + nslab - 1) / nslab);
    }
  }
  p.cols = (is_pointwise(g) && nb == 1) ? 0 : p.K * nb * (size_t)p.rows * (size_t)g->ow;
  p.stage = nb > 1 ? (size_t)g->cout * nb * p.P : 0;
  /* Our kernels tile 48 columns wide, so a small cout as N would waste
   * them: the transposed dW is for OpenBLAS only. The partials are sized
   * for either path, so a workspace stays valid if a test switches paths. */
  int small_w = (size_t)g->cout * p.K <= CONV_DWT_MAX_WEIGHTS;
  p.dwt = small_w && ldnq__gemm_active() == LDNQ__GEMM_BLAS;
  p.partial = (p.nthreads > 1 || small_w) ? (size_t)g->cout * p.K + (size_t)g->cout : 0;
  /* Every product below has M, N, K within these (N: the columns of one
   * sgemm, nb images or one slab); the scratch bound is monotone in each. */
  int ncol = (int)(nb > 1 ? nb * p.P : (size_t)p.rows * g->ow), k = (int)p.K, co = g->cout;
  size_t s1 = ldnq__gemm_pack_floats(co, ncol, k);        /* forward, dW */
  size_t s2 = ldnq__gemm_pack_floats(k, ncol, co);        /* dX */
  size_t s3 = ldnq__gemm_pack_floats(k, co, ncol);        /* dW transposed */
  size_t s4 = ldnq__gemm_pack_floats(co, k, ncol);        /* dW */
  size_t s5 = ldnq__gemm_pack_floats(k, (int)p.P, co);    /* pointwise dX */
  p.pack = s1;
  if (s2 > p.pack) p.pack = s2;
  if (s3 > p.pack) p.pack = s3;
  if (s4 > p.pack) p.pack = s4;
  if (s5 > p.pack) p.pack = s5;
  if (direct) {
    p.nb = 1, p.rows = g->oh, p.stage = 0, p.dwt = 0, p.pack = 0;
    p.cols = ldnq__conv_direct_scratch(g);
  }
  p.per_thread = p.cols + p.stage + p.partial + p.pack;
  return p;
}

static conv_plan make_plan(const ldnq__conv_geom *g) {
  return make_plan_for(g, ldnq__conv_direct_ok(g), ldnq__ops_threads());
}

/* Sized for whichever plan a later call may take: any thread count up to
 * the maximum (ldnq_set_num_threads may lower it), and either kernel path
 * (a test may force one), so a network's workspace stays valid. */
size_t ldnq__conv2d_workspace(const ldnq__conv_geom *g) {
  size_t n = 0;
  const int direct = ldnq__conv_direct_possible(g);
  for (int t = 1; t <= ldnq__ops_threads_max(); t++)
    for (int d = 0; d <= direct; d++) {
      conv_plan p = make_plan_for(g, d, t);
      size_t s = p.per_thread * (size_t)p.nthreads;
      if (s > n) n = s;
      /* Winograd runs alone (forward) or after the other backward parts
       * (dW, dX): the same space. */
      if (ldnq__conv_wino_possible(g) && (s = ldnq__conv_wino_workspace(g, p.nthreads)) > n) n = s;
      if (ldnq__conv_wino_possible(g) && (s = ldnq__conv_wino_dw_workspace(g, p.nthreads)) > n)
        n = s;
    }
  return n;
}

typedef struct conv_job {
  const ldnq__conv_geom *g;
  conv_plan p;
  const float *x, *w, *bias, *dy;
  float *y, *dx, *dw, *db, *ws;
} conv_job;

/* Images [b0, b1) of thread t. */
static void thread_range(const conv_job *j, int t, int *b0, int *b1) {
  *b0 = (int)((long)j->g->n * t / j->p.nthreads);
  *b1 = (int)((long)j->g->n * (t + 1) / j->p.nthreads);
}

/* Thread t's workspace (NULL when the plan needs none: ws may be NULL). */
static float *thread_ws(const conv_job *j, int t) {
  return j->p.per_thread ? j->ws + (size_t)t * j->p.per_thread : NULL;
}

/* Thread t's ldnq__sgemm scratch. */
static float *thread_pack(const conv_job *j, int t) {
  return j->ws + (size_t)t * j->p.per_thread + j->p.cols + j->p.stage + j->p.partial;
}

/* cols [K, m*P] of images b..b+m-1 side by side (grouped plan). */
static const float *group_cols(const conv_job *j, int b, int m, float *buf) {
  const ldnq__conv_geom *g = j->g;
  const size_t xs = (size_t)g->cin * g->h * g->w, ld = (size_t)m * j->p.P;
  for (int i = 0; i < m; i++) ldnq__im2col_ld(g, j->x + (b + i) * xs, buf + i * j->p.P, ld);
  return buf;
}

/* cols [K, (r1-r0)*ow] of output rows [r0, r1) of image b (one-image plan),
 * or x itself for a pointwise conv. */
static const float *slab_cols(const conv_job *j, int b, int r0, int r1, float *buf) {
  const ldnq__conv_geom *g = j->g;
  const float *xb = j->x + (size_t)b * g->cin * g->h * g->w;
  if (j->p.cols == 0) return xb;
  ldnq__im2col_rows(g, xb, r0, r1, buf, (size_t)(r1 - r0) * g->ow);
  return buf;
}

void ldnq__bias_grad_acc(const float *dy, int cout, size_t n, size_t ld, float *db) {
  for (int co = 0; co < cout; co++) {
    const float *r = dy + (size_t)co * ld;
    float s = 0.0f;
    for (size_t q = 0; q < n; q++) s += r[q];
    db[co] += s;
  }
}

/* Backward of one image (one-image plan), a slab of output rows at a time. */
static void backward_image(const conv_job *j, int b, float *cbuf, float *dw, float *db,
                           float *pk) {
  const ldnq__conv_geom *g = j->g;
  const int K = (int)j->p.K, P = (int)j->p.P, cout = g->cout;
  const float *dyb = j->dy + (size_t)b * cout * P;
  float *dxb = j->dx ? j->dx + (size_t)b * g->cin * g->h * g->w : NULL;
  if (db) ldnq__bias_grad_acc(dyb, cout, (size_t)P, (size_t)P, db);
  if (dxb && j->p.cols == 0) { /* pointwise: dx = W^T dy directly */
    ldnq__sgemm(1, 0, K, P, cout, 1.0f, j->w, K, dyb, P, 0.0f,
                dxb, P, pk);
    dxb = NULL;
  } else if (dxb) {
    memset(dxb, 0, sizeof(float) * (size_t)g->cin * g->h * g->w);
  }
  for (int r0 = 0; r0 < g->oh; r0 += j->p.rows) {
    int r1 = r0 + j->p.rows < g->oh ? r0 + j->p.rows : g->oh, nc = (r1 - r0) * g->ow;
    const float *dys = dyb + (size_t)r0 * g->ow; /* [cout, nc] with stride P */
    if (dw) {
      const float *cols = slab_cols(j, b, r0, r1, cbuf);
      int ldx = j->p.cols == 0 ? P : nc;
      if (j->p.dwt)
        ldnq__sgemm(0, 1, K, cout, nc, 1.0f, cols, ldx, dys, P,
                    1.0f, dw, cout, pk);
      else
        ldnq__sgemm_nt_acc(cout, K, nc, dys, P, cols, ldx, dw, K, pk);
    }
    if (dxb) {
      ldnq__sgemm(1, 0, K, nc, cout, 1.0f, j->w, K, dys, P,
                  0.0f, cbuf, nc, pk);
      ldnq__col2im_rows_acc(g, cbuf, (size_t)nc, r0, r1, dxb);
    }
  }
}

static void forward_thread(void *arg, int t) {
  const conv_job *j = arg;
  const ldnq__conv_geom *g = j->g;
  const int K = (int)j->p.K, P = (int)j->p.P, cout = g->cout;
  float *cbuf = thread_ws(j, t), *stage = cbuf + j->p.cols, *pk = thread_pack(j, t);
  int b0, b1;
  thread_range(j, t, &b0, &b1);
  if (j->p.direct) {
    const size_t xs = (size_t)g->cin * g->h * g->w, ys = (size_t)cout * P;
    ldnq__conv_direct_begin(g, j->w, LDNQ__DIRECT_PACK_W, cbuf);
    for (int b = b0; b < b1; b++)
      ldnq__conv_direct_forward(g, j->x + b * xs, j->bias, j->y + b * ys, cbuf);
    return;
  }
  for (int b = b0; b < b1; b += j->p.nb) {
    int m = b1 - b < j->p.nb ? b1 - b : j->p.nb;
    if (j->p.nb == 1) {
      float *yb = j->y + (size_t)b * cout * P;
      float beta = 0.0f;
      if (j->bias) {
        for (int co = 0; co < cout; co++)
          for (int q = 0; q < P; q++) yb[(size_t)co * P + q] = j->bias[co];
        beta = 1.0f;
      }
      for (int r0 = 0; r0 < g->oh; r0 += j->p.rows) {
        int r1 = r0 + j->p.rows < g->oh ? r0 + j->p.rows : g->oh, nc = (r1 - r0) * g->ow;
        const float *cols = slab_cols(j, b, r0, r1, cbuf);
        ldnq__sgemm(0, 0, cout, nc, K, 1.0f, j->w, K, cols,
                    nc, beta, yb + (size_t)r0 * g->ow, P, pk);
      }
      continue;
    }
    const float *cols = group_cols(j, b, m, cbuf);
    const int ld = m * P;
    ldnq__sgemm(0, 0, cout, ld, K, 1.0f, j->w, K, cols, ld,
                0.0f, stage, ld, pk);
    /* stage [cout, m, P] -> y [m, cout, P] (+ bias). */
    for (int i = 0; i < m; i++)
      for (int co = 0; co < cout; co++) {
        const float *s = stage + (size_t)co * ld + (size_t)i * P;
        float *d = j->y + ((size_t)(b + i) * cout + co) * P;
        float bv = j->bias ? j->bias[co] : 0.0f;
        for (int q = 0; q < P; q++) d[q] = s[q] + bv;
      }
  }
}

void ldnq__conv2d_forward(const ldnq__conv_geom *g, const float *x, const float *w,
                          const float *bias, float *y, float *ws) {
  conv_job j = {g, make_plan(g), x, w, bias, NULL, y, NULL, NULL, NULL, ws};
  if (ldnq__conv_wino_ok(g)) {
    ldnq__conv_wino_forward(g, x, w, bias, y, ws, j.p.nthreads);
    return;
  }
  ldnq__parallel_run(j.p.nthreads, forward_thread, &j);
}

static void backward_thread(void *arg, int t) {
  const conv_job *j = arg;
  const ldnq__conv_geom *g = j->g;
  const int K = (int)j->p.K, P = (int)j->p.P, cout = g->cout;
  const size_t xs = (size_t)g->cin * g->h * g->w;
  float *cbuf = thread_ws(j, t), *stage = cbuf + j->p.cols, *pk = thread_pack(j, t);
  /* Thread 0 accumulates straight into dw/db, the others (and all when dW
   * is transposed) into partials. */
  float *dw = j->dw, *db = j->db;
  if (t > 0 || j->p.dwt) {
    float *part = stage + j->p.stage;
    dw = j->dw ? part : NULL;
    db = j->db ? part + (size_t)cout * K : NULL;
    memset(part, 0, sizeof(float) * j->p.partial);
  }
  int b0, b1;
  thread_range(j, t, &b0, &b1);
  if (j->p.direct) {
    const size_t ys = (size_t)cout * P;
    ldnq__conv_direct_begin(g, j->w, j->dx ? LDNQ__DIRECT_PACK_DX : 0, cbuf);
    for (int b = b0; b < b1; b++)
      ldnq__conv_direct_backward(g, j->x + b * xs, j->dy + b * ys,
                                 j->dx ? j->dx + b * xs : NULL, dw, db, cbuf);
    ldnq__conv_direct_end(g, dw, cbuf);
    return;
  }
  if (j->p.nb == 1) {
    for (int b = b0; b < b1; b++) backward_image(j, b, cbuf, dw, db, pk);
    return;
  }
  /* Groups of images: dy gathered as [cout, m*P], cols [K, m*P]. */
  for (int b = b0; b < b1; b += j->p.nb) {
    int m = b1 - b < j->p.nb ? b1 - b : j->p.nb;
    const int ld = m * P;
    for (int i = 0; i < m; i++)
      for (int co = 0; co < cout; co++)
        memcpy(stage + (size_t)co * ld + (size_t)i * P, j->dy + ((size_t)(b + i) * cout + co) * P,
               sizeof(float) * P);
    if (db) ldnq__bias_grad_acc(stage, cout, (size_t)ld, (size_t)ld, db);
    if (dw) {
      const float *cols = group_cols(j, b, m, cbuf);
      if (j->p.dwt)
        ldnq__sgemm(0, 1, K, cout, ld, 1.0f, cols, ld, stage,
                    ld, 1.0f, dw, cout, pk);
      else
        ldnq__sgemm_nt_acc(cout, K, ld, stage, ld, cols, ld, dw, K, pk);
    }
    if (j->dx) {
      ldnq__sgemm(1, 0, K, ld, cout, 1.0f, j->w, K, stage, ld,
                  0.0f, cbuf, ld, pk);
      for (int i = 0; i < m; i++) ldnq__col2im_ld(g, cbuf + (size_t)i * P, ld, j->dx + (b + i) * xs);
    }
  }
}

void ldnq__conv2d_backward(const ldnq__conv_geom *g, const float *x, const float *w,
                           const float *dy, float *dx, float *dw, float *db, float *ws) {
  /* Winograd takes dW and dX after the pass of the rest (db at least; they
   * share the workspace). */
  const int wino_dx = dx && ldnq__conv_wino_ok(g), wino_dw = dw && ldnq__conv_wino_dw_ok(g);
  conv_job j = {g, make_plan(g), x, w, NULL, dy, NULL, wino_dx ? NULL : dx, wino_dw ? NULL : dw,
                db, ws};
  if (j.p.direct && j.dx && !ldnq__conv_direct_dx_possible(g)) /* im2col for this dX */
    j.p = make_plan_for(g, 0, ldnq__ops_threads());
  if (j.dw || db || j.dx) ldnq__parallel_run(j.p.nthreads, backward_thread, &j);
  const size_t K = j.p.K, cout = (size_t)g->cout;
  for (int t = j.p.dwt ? 0 : 1; t < j.p.nthreads; t++) {
    const float *part = ws + t * j.p.per_thread + j.p.cols + j.p.stage;
    if (j.dw && j.p.dwt) {
      for (size_t co = 0; co < cout; co++)
        for (size_t k = 0; k < K; k++) dw[co * K + k] += part[k * cout + co];
    } else if (j.dw) {
      for (size_t i = 0; i < cout * K; i++) dw[i] += part[i];
    }
    if (db)
      for (size_t co = 0; co < cout; co++) db[co] += part[cout * K + co];
  }
  if (wino_dw) ldnq__conv_wino_dw(g, x, dy, dw, ws, j.p.nthreads);
  if (wino_dx) ldnq__conv_wino_dx(g, w, dy, dx, ws, j.p.nthreads);
}
