/* Stride-1 (and 3x3 stride-2) convolution as an implicit GEMM on the padded
 * image (AVX-512); see conv_direct.h for the scheme. Scratch of one thread, in floats:
 *   xpad  G x [cin][Hp*Wp] + slack   the padded images of a dW group (borders
 *                                 zeroed once)
 *   dypad G x [cout][Hq*Wq] + slack  their padded dY (dX reads the current one)
 *   grid  max(cout*Nf, cin*Nq)    outputs on the padded grid
 *   dyg   G x [cout][Nf]          dY on the grid, zeros off the image
 *   apack panels of 8 rows        the weights, packed once per call (begin)
 *   apackq panels of 8 rows       the flipped, transposed weights of dX (stride 2:
 *                                 the four phases' pieces one after the other)
 *   off, offq                     row offsets of the virtual cols matrices
 *   vacc, state                   dW partial sums; the group's fill count
 * dW runs once per group of G images (short grids: one tile sweeps all
 * G images' pixels, so its set-up and partial-sum stores are paid once). */
#include <stdint.h>
#include <string.h>

#include "ops/conv_direct.h"
#include "ops/conv_pw2.h"
#include "ops/gemm.h"
#include "ops/gemm_nt.h"
#include "ops/gemm_ukr.h"
#include "ops/ops_internal.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define HAVE_DIRECT 1
#define TGT __attribute__((target("avx512f,fma")))
#else
#define HAVE_DIRECT 0
#endif

#define MR 8
#define NR 48
#define KCH 128 /* k rows per pass: a 128 x 48 strip of B stays in L1 */
#define SLACK 64 /* >= NR: the last strip reads up to NR - 1 past the grid */

typedef struct layout {
  int s2;              /* stride 2 (3x3, pad 1): the image in four phase planes */
  int Hp, Wp;          /* padded image */
  int Hh, Wh;          /* stride 2: a phase plane, ceil(Hp/2) x ceil(Wp/2) */
  int Wg, Nf;          /* forward grid: row width, length */
  int Hq, Wq, Nq;      /* padded dY, grid length of dX (stride 2: of one phase) */
  size_t pq;           /* floats from one padded dY plane to the next (a multiple of 16) */
  int phq, pwq;        /* dY padding for the dX convolution */
  size_t K, Kq;        /* cin*kh*kw, cout*kh*kw */
  size_t xpad, dypad, grid, dyg, apack, apackq, off, offq, vacc, state; /* offsets in floats */
  int G;                 /* images per dW group */
  size_t xs, ds, dgs;    /* floats from one group slot to the next: xpad, dypad, dyg */
  int use_vacc; /* dW partial sums kept as vectors over the thread's images */
  int view;     /* dW reads dY in the padded dY (no dyg copy; see the backward) */
  size_t total;
} layout;

static size_t round8(size_t n) { return (n + 7) / 8 * 8; }

static layout make_layout(const ldnq__conv_geom *g) {
  layout L;
  L.s2 = g->stride_h == 2;
  L.Hp = g->h + 2 * g->pad_h, L.Wp = g->w + 2 * g->pad_w;
  L.Hh = (L.Hp + 1) / 2, L.Wh = (L.Wp + 1) / 2;
  L.Wg = L.s2 ? L.Wh : L.Wp;
  L.Nf = (g->oh - 1) * L.Wg + g->ow;
  if (L.s2) { /* dX by phases (3x3 pad 1): dY padded by 1 all round (dx_phases below) */
    L.phq = L.pwq = 1;
    L.Hq = g->oh + 2, L.Wq = g->ow + 2;
    L.Nq = (L.Hh - 1) * L.Wq + L.Wh;
  } else {
    L.phq = g->kh - 1 - g->pad_h, L.pwq = g->kw - 1 - g->pad_w;
    L.Hq = g->oh + 2 * L.phq, L.Wq = g->ow + 2 * L.pwq;
    L.Nq = (g->h - 1) * L.Wq + g->w;
  }
  L.K = (size_t)g->cin * g->kh * g->kw, L.Kq = (size_t)g->cout * g->kh * g->kw;
  size_t gf = (size_t)g->cout * L.Nf, gq = (size_t)g->cin * L.Nq;
  size_t ximg = L.s2 ? (size_t)g->cin * 4 * L.Hh * L.Wh : (size_t)g->cin * L.Hp * L.Wp;
  L.xpad = 0;
  /* dW groups: a tile's pixel sweep over about 1024 pixels or more (16x16
   * maps: 286 per image); long grids stay one image at a time. */
  L.G = L.Nf >= 512 ? 1 : (1024 + L.Nf - 1) / L.Nf;
  if (L.G > 4) L.G = 4;
  L.xs = ldnq__round16(ximg + SLACK);
  /* dW reads dY rows from the second row and column of each padded plane
   * (the view in ldnq__conv_direct_backward): those start on 64 bytes, so
   * its A loads never split a cache line. */
  L.pq = ldnq__round16((size_t)L.Hq * L.Wq);
  const size_t lead = (size_t)L.Wq + 1;
  L.dypad = ldnq__round16(L.xpad + L.G * L.xs + lead) - lead;
  L.ds = ldnq__round16((size_t)g->cout * L.pq + SLACK);
  L.grid = L.dypad + L.G * L.ds;
  /* Stride 1 with dY padded by 1 (3x3 pad 1): the padded dY's rows, read
   * from its second row and column, are dY on the forward grid with zeros
   * in the thrown-away columns, so dW reads it in place and needs no dyg. */
  L.view = !L.s2 && L.phq == 1 && L.pwq == 1 && L.Wq == L.Wg && L.Hq == g->oh + 2;
  L.dyg = L.grid + (gf > gq ? gf : gq) + SLACK;
  L.dgs = L.view ? 0 : ldnq__round16((size_t)g->cout * L.Nf + SLACK);
  L.apack = L.dyg + L.G * L.dgs + SLACK;
  L.apackq = L.apack + round8((size_t)g->cout) * L.K;
  L.off = L.apackq + round8((size_t)g->cin) * L.Kq;
  L.offq = L.off + L.K;
  /* Small weight tensors only: [cout][K][16] stays within 1 MB. */
  L.use_vacc = (size_t)g->cout * L.K <= LDNQ__DIRECT_VACC_MAX_WEIGHTS;
  L.vacc = L.offq + L.Kq;
  L.state = L.vacc + (L.use_vacc ? (size_t)g->cout * L.K * 16 : 0);
  L.total = L.state + 16 + 16; /* + alignment */
  return L;
}

static int direct_enabled = 1;

void ldnq__conv_direct_enable(int on) { direct_enabled = on; }

int ldnq__conv_direct_possible(const ldnq__conv_geom *g) {
  if (!HAVE_DIRECT || !ldnq__gemm_supported(LDNQ__GEMM_AVX512)) return 0;
  if (ldnq__conv_pw2_geom(g)) return 1;
  if (g->stride_h == 2 && g->stride_w == 2) /* phase planes; dX for 3x3 pad 1 only */
    return g->pad_h < g->kh && g->pad_w < g->kw && g->kh * g->kw >= 2;
  if (g->stride_h != 1 || g->stride_w != 1 || g->kh * g->kw < 2) return 0;
  /* The dX convolution needs a non-negative padding of dY. */
  return g->pad_h <= g->kh - 1 && g->pad_w <= g->kw - 1;
}

/* The grid computes Wg - ow extra columns per ow useful ones; past 1/8 of
 * waste, or below 16 output columns (short grids make the dW reductions
 * short), im2col + sgemm measured faster (tests/bench/bench_conv: outputs
 * of 8x8 and 7x7 lose, 16x16 and up win, at stride 1 and 2). */
static int direct_worth(const ldnq__conv_geom *g) {
  /* 1x1/2 per image: at 8x8 outputs (64 pixels) the per-image products are
   * too short, and im2col's groups of images won (bench_conv, quiet, two
   * threads: 0.61 against 0.68 ms forward + backward for ResNet20's 32 ->
   * 64 shortcut); from 16 wide it wins (16 -> 32: 0.25 -> 0.16 ms forward,
   * 0.65 -> 0.44 backward). */
  if (ldnq__conv_pw2_geom(g)) return g->ow >= 16;
  layout L = make_layout(g);
  return g->ow >= 16 && 8 * (L.Wg - g->ow) <= g->ow;
}

int ldnq__conv_direct_dx_possible(const ldnq__conv_geom *g) {
  if (ldnq__conv_pw2_geom(g)) return 1;
  if (g->stride_h == 2)
    return g->kh == 3 && g->kw == 3 && g->pad_h == 1 && g->pad_w == 1;
  return 1;
}

int ldnq__conv_direct_ok(const ldnq__conv_geom *g) {
  if (!direct_enabled || ldnq__gemm_active() != LDNQ__GEMM_AVX512 ||
      !ldnq__conv_direct_possible(g))
    return 0;
  return direct_enabled == 2 || direct_worth(g);
}

size_t ldnq__conv_direct_scratch(const ldnq__conv_geom *g) {
  return ldnq__conv_pw2_geom(g) ? ldnq__conv_pw2_scratch(g) : make_layout(g).total;
}

/* Panels of 8 rows, k-major: dst[(i/8)*K*8 + k*8 + i%8] = A(i, k), where
 * A(i, k) = src[i * K + k] (forward: the weights as [cout][cin*kh*kw]). */
static void pack_rows(const float *src, int M, size_t K, float *dst) {
  for (int i0 = 0; i0 < M; i0 += MR, dst += K * MR)
    for (size_t k = 0; k < K; k++)
      for (int r = 0; r < MR; r++)
        dst[k * MR + r] = i0 + r < M ? src[(size_t)(i0 + r) * K + k] : 0.0f;
}

/* The dX weights: A'(ci, (co, ki, kj)) = W[co][ci][kh-1-ki][kw-1-kj]. */
static void pack_flipped(const ldnq__conv_geom *g, const float *w, size_t Kq, float *dst) {
  const int kk = g->kh * g->kw;
  for (int i0 = 0; i0 < g->cin; i0 += MR, dst += Kq * MR)
    for (int co = 0; co < g->cout; co++)
      for (int t = 0; t < kk; t++) {
        float *d = dst + ((size_t)co * kk + t) * MR;
        for (int r = 0; r < MR; r++) {
          int ci = i0 + r;
          d[r] = ci < g->cin ? w[((size_t)co * g->cin + ci) * kk + (kk - 1 - t)] : 0.0f;
        }
      }
}

/* Stride 2 dX: phase (r, c) of the padded input takes the taps
 * ki = r + 2t, kj = c + 2u: A(ci, (co, t, u)) = W[co][ci][ki][kj], with row
 * offsets into the padded dY at (1 - t, 1 - u). Phases in order (r, c). */
static void pack_phases(const ldnq__conv_geom *g, const layout *L, const float *w, float *ap,
                        int *offq) {
  const size_t planeq = L->pq;
  for (int r = 0; r < 2; r++)
    for (int c = 0; c < 2; c++) {
      const int T = r == 0 ? 2 : 1, U = c == 0 ? 2 : 1;
      const size_t Kp = (size_t)g->cout * T * U;
      size_t k = 0;
      for (int co = 0; co < g->cout; co++)
        for (int t = 0; t < T; t++)
          for (int u = 0; u < U; u++) offq[k++] = (int)(co * planeq + (1 - t) * L->Wq + (1 - u));
      for (int i0 = 0; i0 < g->cin; i0 += MR, ap += Kp * MR)
        for (size_t kk = 0; kk < Kp; kk++) {
          const int co = (int)(kk / (size_t)(T * U)), t = (int)(kk / U) % T, u = (int)(kk % U);
          for (int q = 0; q < MR; q++) {
            const int ci = i0 + q;
            ap[kk * MR + q] =
                ci < g->cin ? w[(((size_t)co * g->cin + ci) * 3 + r + 2 * t) * 3 + c + 2 * u] : 0.0f;
          }
        }
      offq += Kp;
    }
}

void ldnq__conv_direct_begin(const ldnq__conv_geom *g, const float *w, int what, float *s) {
  if (ldnq__conv_pw2_geom(g)) {
    ldnq__conv_pw2_begin(g, w, what, s);
    return;
  }
  layout L = make_layout(g);
  s = ldnq__direct_align(s);
  memset(s + L.xpad, 0, sizeof(float) * (L.grid - L.xpad)); /* xpad, dypad, slack */
  memset(s + L.apack - SLACK, 0, sizeof(float) * SLACK); /* the slack after dyg */
  if (L.use_vacc) memset(s + L.vacc, 0, sizeof(float) * (size_t)g->cout * L.K * 16);
  *(int *)(s + L.state) = 0; /* no image of a dW group yet */
  int *off = (int *)(s + L.off), *offq = (int *)(s + L.offq);
  /* The weights once per call, not per image. */
  if (what & LDNQ__DIRECT_PACK_W) pack_rows(w, g->cout, L.K, s + L.apack);
  size_t k = 0;
  if (L.s2) { /* tap (ki, kj) of channel c: phase plane (ki%2, kj%2), shifted */
    const int plane = L.Hh * L.Wh;
    for (int c = 0; c < g->cin; c++)
      for (int i = 0; i < g->kh; i++)
        for (int j = 0; j < g->kw; j++)
          off[k++] = ((c * 2 + i % 2) * 2 + j % 2) * plane + (i / 2) * L.Wh + j / 2;
    if (what & LDNQ__DIRECT_PACK_DX) pack_phases(g, &L, w, s + L.apackq, offq);
    return;
  }
  for (int c = 0; c < g->cin; c++)
    for (int i = 0; i < g->kh; i++)
      for (int j = 0; j < g->kw; j++) off[k++] = (c * L.Hp + i) * L.Wp + j;
  k = 0;
  for (int c = 0; c < g->cout; c++)
    for (int i = 0; i < g->kh; i++)
      for (int j = 0; j < g->kw; j++) offq[k++] = (int)((size_t)c * L.pq + (size_t)i * L.Wq + j);
  if (what & LDNQ__DIRECT_PACK_DX) pack_flipped(g, w, L.Kq, s + L.apackq);
}

#if HAVE_DIRECT
/* One input row into its two phase rows (columns of even / odd padded
 * index J = j + pw), 32 columns per step: two loads, split by permutes. */
TGT static void phase_row(const float *src, int w, int pw, float *d0, float *d1) {
  const __m512i ev = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
  const __m512i od = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
  /* Even j land in the even-J row when pw is even, in the odd-J one otherwise. */
  float *de = pw % 2 ? d1 : d0, *dd = pw % 2 ? d0 : d1;
  for (int j0 = 0; j0 < w; j0 += 32) {
    const int len = w - j0 < 32 ? w - j0 : 32, la = len < 16 ? len : 16, lb = len - la;
    const __m512 a = _mm512_maskz_loadu_ps((__mmask16)((1u << la) - 1u), src + j0);
    const __m512 b = _mm512_maskz_loadu_ps((__mmask16)((1u << lb) - 1u), src + j0 + 16);
    const int ne = (len + 1) / 2, no = len / 2;
    /* j = j0 + 2k goes to index (j + pw) / 2, j = j0 + 2k + 1 to (j + 1 + pw) / 2. */
    _mm512_mask_storeu_ps(de + (j0 + pw) / 2, (__mmask16)((1u << ne) - 1u),
                          _mm512_permutex2var_ps(a, ev, b));
    _mm512_mask_storeu_ps(dd + (j0 + 1 + pw) / 2, (__mmask16)((1u << no) - 1u),
                          _mm512_permutex2var_ps(a, od, b));
  }
}
#endif

/* Stride 2: x[c][h][w] padded by 1 into four phase planes per channel,
 * [c][r][s][Hh][Wh] with (r, s) the parity of the padded row and column. */
static void phase_copy(const float *x, const ldnq__conv_geom *g, const layout *L, float *dst) {
  const size_t plane = (size_t)L->Hh * L->Wh;
  for (int c = 0; c < g->cin; c++)
    for (int i = 0; i < g->h; i++) {
      const int I = i + g->pad_h;
      const float *src = x + ((size_t)c * g->h + i) * g->w;
      float *d0 = dst + ((size_t)(c * 2 + I % 2) * 2) * plane + (size_t)(I / 2) * L->Wh;
      float *d1 = d0 + plane; /* odd padded column */
      /* Column j is padded column J = j + pad: plane J % 2, index J / 2.
       * ja is the first j with an even J, jb the first with an odd one. */
      const int pw = g->pad_w;
#if HAVE_DIRECT
      phase_row(src, g->w, pw, d0, d1);
#else
      const int ja = pw % 2, jb = 1 - pw % 2;
      for (int j = ja; j < g->w; j += 2) d0[(j + pw) / 2] = src[j];
      for (int j = jb; j < g->w; j += 2) d1[(j + pw) / 2] = src[j];
#endif
    }
}

/* Planes [c][h][w] into the interior, at (pi, pj), of planes of rows W
 * floats wide, `plane` floats apart. */
static void pad_copy(const float *src, int c, int h, int w, float *dst, size_t plane, int W,
                     int pi, int pj) {
  for (int ci = 0; ci < c; ci++)
    for (int i = 0; i < h; i++)
      memcpy(dst + ci * plane + (size_t)(i + pi) * W + pj, src + ((size_t)ci * h + i) * w,
             sizeof(float) * (size_t)w);
}

/* Grid [c][(rows-1)*W + cols] back to planes [c][rows][cols] (+ bias). */
static void grid_out(const float *grid, int c, int rows, int cols, int W, size_t ld,
                     const float *bias, float *dst) {
  for (int ci = 0; ci < c; ci++) {
    const float bv = bias ? bias[ci] : 0.0f;
    for (int i = 0; i < rows; i++) {
      const float *s = grid + (size_t)ci * ld + (size_t)i * W;
      float *d = dst + ((size_t)ci * rows + i) * cols;
      for (int j = 0; j < cols; j++) d[j] = s[j] + bv;
    }
  }
}

#if HAVE_DIRECT

/* grid[M][N] (ld N) = A (packed, M rows, K) x virtual B rows base + off[k]. */
static void implicit_gemm(int M, int N, size_t K, const float *apack, const float *base,
                          const int *off, float *grid) {
  for (size_t k0 = 0; k0 < K; k0 += KCH) {
    const int kc = (int)(K - k0 < KCH ? K - k0 : KCH);
    for (int j = 0; j < N; j += NR) {
      const int n = N - j < NR ? N - j : NR;
      for (int i = 0; i < M; i += MR) {
        const float *ap = apack + (size_t)i * K + k0 * MR; /* panel i/MR, row k0 */
        ldnq__gemm_ukr_avx512_rows(kc, ap, base + j, off + k0, grid + (size_t)i * N + j,
                                   (size_t)N, 1.0f, k0 > 0 ? 1.0f : 0.0f,
                                   M - i < MR ? M - i : MR, n);
      }
    }
  }
}

#endif

/* The image into its padded (stride 1) or phase (stride 2) form at d. */
static void image_in(const ldnq__conv_geom *g, const layout *L, const float *x, float *d) {
  if (L->s2)
    phase_copy(x, g, L, d);
  else
    pad_copy(x, g->cin, g->h, g->w, d, (size_t)L->Hp * L->Wp, L->Wp, g->pad_h, g->pad_w);
}

#if HAVE_DIRECT
/* Stride 2 dX, one implicit GEMM per phase (r, s) of the padded input:
 * dx(2a + r - 1, 2b + s - 1) = sum over co and the taps ki = r + 2t,
 * kj = s + 2u of W[co][ci][ki][kj] * dy(a - t, b - u), a correlation of dY
 * (padded by 1) with a 2x2, 2x1, 1x2 or 1x1 piece of the kernel. */
static void dx_phases(const ldnq__conv_geom *g, const layout *L, float *s, const float *dyp,
                      float *dx) {
  const int *offq = (const int *)(s + L->offq);
  const float *ap = s + L->apackq;
  for (int r = 0; r < 2; r++)
    for (int c = 0; c < 2; c++) {
      const int T = r == 0 ? 2 : 1, U = c == 0 ? 2 : 1;
      const size_t Kp = (size_t)g->cout * T * U;
      implicit_gemm(g->cin, L->Nq, Kp, ap, dyp, offq, s + L->grid);
      ap += round8((size_t)g->cin) * Kp, offq += Kp;
      /* Scatter the phase's grid (rows a, columns b, width Wq) into dx:
       * row i = 2a + r - 1, column j = 2b + c - 1 (c = 0: b from 1). */
      const int b0 = c == 0 ? 1 : 0;
      for (int ci = 0; ci < g->cin; ci++) {
        const float *gr = s + L->grid + (size_t)ci * L->Nq;
        float *d = dx + (size_t)ci * g->h * g->w;
        for (int a = r == 0 ? 1 : 0; a < L->Hh; a++) {
          const int i = 2 * a + r - 1;
          if (i >= g->h) break;
          const float *src = gr + (size_t)a * L->Wq;
          float *drow = d + (size_t)i * g->w;
          for (int b = b0; 2 * b + c - 1 < g->w; b++) drow[2 * b + c - 1] = src[b];
        }
      }
    }
}
#endif

void ldnq__conv_direct_forward(const ldnq__conv_geom *g, const float *x, const float *bias,
                               float *y, float *s) {
  if (ldnq__conv_pw2_geom(g)) {
    ldnq__conv_pw2_forward(g, x, bias, y, s);
    return;
  }
#if HAVE_DIRECT
  layout L = make_layout(g);
  s = ldnq__direct_align(s);
  image_in(g, &L, x, s + L.xpad);
  implicit_gemm(g->cout, L.Nf, L.K, s + L.apack, s + L.xpad, (const int *)(s + L.off),
                s + L.grid);
  grid_out(s + L.grid, g->cout, g->oh, g->ow, L.Wg, (size_t)L.Nf, bias, y);
#else
  (void)g, (void)x, (void)bias, (void)y, (void)s;
#endif
}

#if HAVE_DIRECT
/* dW of the n images waiting in the group's slots. */
static void dw_group(const ldnq__conv_geom *g, const layout *L, float *s, int n, float *dw) {
  const ldnq__nt_seg seg = {n, L->view ? L->ds : L->dgs, L->xs};
  const float *a = L->view ? s + L->dypad + L->Wq + 1 : s + L->dyg;
  const int lda = L->view ? (int)L->pq : L->Nf;
  ldnq__gemm_nt_avx512_rows_seg(g->cout, (int)L->K, L->Nf, a, lda, s + L->xpad,
                                (const int *)(s + L->off), &seg, dw, (int)L->K,
                                L->use_vacc ? s + L->vacc : NULL);
}
#endif

void ldnq__conv_direct_end(const ldnq__conv_geom *g, float *dw, float *s) {
  if (ldnq__conv_pw2_geom(g)) {
    ldnq__conv_pw2_end(g, dw, s);
    return;
  }
#if HAVE_DIRECT
  layout L = make_layout(g);
  s = ldnq__direct_align(s);
  int *fill = (int *)(s + L.state);
  if (dw && *fill > 0) dw_group(g, &L, s, *fill, dw);
  *fill = 0;
  if (dw && L.use_vacc) ldnq__gemm_nt_avx512_vreduce(g->cout, (int)L.K, s + L.vacc, dw, (int)L.K);
#else
  (void)g, (void)dw, (void)s;
#endif
}

void ldnq__conv_direct_backward(const ldnq__conv_geom *g, const float *x, const float *dy,
                                float *dx, float *dw, float *db, float *s) {
  if (ldnq__conv_pw2_geom(g)) {
    ldnq__conv_pw2_backward(g, x, dy, dx, dw, db, s);
    return;
  }
#if HAVE_DIRECT
  layout L = make_layout(g);
  s = ldnq__direct_align(s);
  const size_t P = (size_t)g->oh * g->ow;
  int *fill = (int *)(s + L.state);
  const int slot = dw ? *fill : 0; /* this image's place in the dW group */
  float *dyp = s + L.dypad + slot * L.ds;
  if (db) ldnq__bias_grad_acc(dy, g->cout, P, P, db);
  if (dx || L.view) pad_copy(dy, g->cout, g->oh, g->ow, dyp, L.pq, L.Wq, L.phq, L.pwq);
  if (dw) {
    image_in(g, &L, x, s + L.xpad + slot * L.xs);
    if (!L.view) {
      float *dyg = s + L.dyg + slot * L.dgs;
      for (int co = 0; co < g->cout; co++)
        for (int i = 0; i < g->oh; i++) {
          float *d = dyg + (size_t)co * L.Nf + (size_t)i * L.Wg;
          memcpy(d, dy + ((size_t)co * g->oh + i) * g->ow, sizeof(float) * (size_t)g->ow);
          if (i + 1 < g->oh)
            for (int j = g->ow; j < L.Wg; j++) d[j] = 0.0f;
        }
    }
    if (++*fill == L.G) {
      dw_group(g, &L, s, L.G, dw);
      *fill = 0;
    }
  }
  if (dx) {
    if (L.s2) {
      dx_phases(g, &L, s, dyp, dx);
      return;
    }
    implicit_gemm(g->cin, L.Nq, L.Kq, s + L.apackq, dyp, (const int *)(s + L.offq),
                  s + L.grid);
    grid_out(s + L.grid, g->cin, g->h, g->w, L.Wq, (size_t)L.Nq, NULL, dx);
  }
#else
  (void)g, (void)x, (void)dy, (void)dx, (void)dw, (void)db, (void)s;
#endif
}
