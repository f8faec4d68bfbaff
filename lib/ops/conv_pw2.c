/* The 1x1 stride-2 unpadded convolution (ResNet's downsampling shortcut)
 * for the direct path (AVX-512); see conv_pw2.h. Per image, the even rows
 * and columns of x are gathered once into xs [cin][P] (a quarter of the
 * image), then:
 *   y  [cout][P] = W xs           written straight into y;
 *   dW [cout][cin] += dy xs^T     the dW kernel along the P pixels;
 *   dx = W^T dy on the even pixels, zeros elsewhere (computed compact into
 *        grid [cin][P], then spread out with the zeros in one pass).
 * The products use the direct convolution's kernels, B read as rows P apart.
 * im2col + sgemm gathered the same quarter but through packing and a staging
 * copy (ResNet20's 16 -> 32 shortcut ran at 56 % of sgemm forward). Scratch
 * of one thread, in floats, from a 64-byte boundary:
 *   xs    [cin][P]            the gathered image
 *   grid  [cin][P]            dX before it is spread out
 *   tail  [KCH][48]           a strip of B packed when it ends short of 48
 *   apack, apackq             W and W^T in panels of 8 rows, packed by begin
 *   off   [max(cin, cout)]    row offsets k P
 *   vacc  [cout][cin][16]     dW partial sums over a thread's images */
#include "ops/conv_pw2.h"

#include <stdint.h>
#include <string.h>

#include "ops/conv_direct.h"
#include "ops/gemm_nt.h"
#include "ops/gemm_ukr.h"
#include "ops/ops_internal.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define HAVE_PW2 1
#define TGT __attribute__((target("avx512f,fma")))
#else
#define HAVE_PW2 0
#endif

#define MR 8
#define NR 48
#define KCH 128

typedef struct pw2_layout {
  size_t P;
  size_t xs, grid, tail, apack, apackq, off, vacc, total;
  int use_vacc;
} pw2_layout;

static pw2_layout make_layout(const ldnq__conv_geom *g) {
  pw2_layout L;
  L.P = (size_t)g->oh * g->ow;
  const size_t ci = (size_t)g->cin, co = (size_t)g->cout;
  const size_t ci8 = (ci + MR - 1) / MR * MR, co8 = (co + MR - 1) / MR * MR;
  L.xs = 0;
  L.grid = ldnq__round16(ci * L.P);
  L.tail = L.grid + ldnq__round16(ci * L.P);
  L.apack = L.tail + (size_t)KCH * NR;
  L.apackq = L.apack + ldnq__round16(co8 * ci);
  L.off = L.apackq + ldnq__round16(ci8 * co);
  L.vacc = L.off + ldnq__round16(ci > co ? ci : co);
  L.use_vacc = co * ci <= LDNQ__DIRECT_VACC_MAX_WEIGHTS;
  L.total = L.vacc + (L.use_vacc ? co * ci * 16 : 0) + 16; /* + alignment */
  return L;
}

int ldnq__conv_pw2_geom(const ldnq__conv_geom *g) {
  return HAVE_PW2 && g->kh == 1 && g->kw == 1 && g->stride_h == 2 && g->stride_w == 2 &&
         g->pad_h == 0 && g->pad_w == 0;
}

size_t ldnq__conv_pw2_scratch(const ldnq__conv_geom *g) { return make_layout(g).total; }

/* Panels of 8 rows, k-major: dst[(i/8)*K*8 + k*8 + i%8] = A(i, k), with
 * A(i, k) = src[i * si + k * sk] (W: si = cin, sk = 1; W^T: si = 1, sk = cin). */
static void pack_panels(const float *src, int M, int K, size_t si, size_t sk, float *dst) {
  for (int i0 = 0; i0 < M; i0 += MR, dst += (size_t)K * MR)
    for (int k = 0; k < K; k++)
      for (int r = 0; r < MR; r++)
        dst[(size_t)k * MR + r] = i0 + r < M ? src[(size_t)(i0 + r) * si + (size_t)k * sk] : 0.0f;
}

void ldnq__conv_pw2_begin(const ldnq__conv_geom *g, const float *w, int what, float *s) {
  const pw2_layout L = make_layout(g);
  s = ldnq__direct_align(s);
  if (what & LDNQ__DIRECT_PACK_W) pack_panels(w, g->cout, g->cin, (size_t)g->cin, 1, s + L.apack);
  if (what & LDNQ__DIRECT_PACK_DX) pack_panels(w, g->cin, g->cout, 1, (size_t)g->cin, s + L.apackq);
  int *off = (int *)(s + L.off);
  const int kmax = g->cin > g->cout ? g->cin : g->cout;
  for (int k = 0; k < kmax; k++) off[k] = (int)((size_t)k * L.P);
  if (L.use_vacc) memset(s + L.vacc, 0, sizeof(float) * (size_t)g->cout * g->cin * 16);
}

#if HAVE_PW2
/* C [M][N] (ld N) = A (packed, M rows, K) x B, row k of B at b + k N. A
 * strip ending short of 48 columns is packed first (into tail): the kernel
 * reads whole 48-float rows, which past B's last row would leave B. */
static void gemm_rows(int M, int N, int K, const float *apack, const float *b, const int *off,
                      float *c, float *tail) {
  for (int k0 = 0; k0 < K; k0 += KCH) {
    const int kc = K - k0 < KCH ? K - k0 : KCH;
    const float beta = k0 > 0 ? 1.0f : 0.0f;
    for (int j = 0; j < N; j += NR) {
      const int n = N - j < NR ? N - j : NR;
      const int *o = off + k0;
      const float *bb = b + j;
      if (n < NR) {
        for (int k = 0; k < kc; k++) {
          float *t = tail + (size_t)k * NR;
          memcpy(t, b + (size_t)(k0 + k) * N + j, sizeof(float) * (size_t)n);
          memset(t + n, 0, sizeof(float) * (size_t)(NR - n));
        }
        o = NULL, bb = tail;
      }
      for (int i = 0; i < M; i += MR) {
        const float *ap = apack + (size_t)i * K + (size_t)k0 * MR; /* panel i/MR, row k0 */
        ldnq__gemm_ukr_avx512_rows(kc, ap, bb, o, c + (size_t)i * N + j, (size_t)N, 1.0f, beta,
                                   M - i < MR ? M - i : MR, n);
      }
    }
  }
}

/* xs[c][i][j] = x[c][2i][2j]: 32 input columns give 16 outputs (one
 * permute of the two vectors' even lanes). */
TGT static void gather_even(const ldnq__conv_geom *g, const float *x, float *xs) {
  const __m512i ev = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
  for (int c = 0; c < g->cin; c++)
    for (int i = 0; i < g->oh; i++) {
      const float *src = x + ((size_t)c * g->h + 2 * (size_t)i) * g->w;
      float *d = xs + ((size_t)c * g->oh + i) * g->ow;
      for (int j0 = 0; j0 < g->w; j0 += 32) {
        const int len = g->w - j0 < 32 ? g->w - j0 : 32, la = len < 16 ? len : 16, lb = len - la;
        const __m512 a = _mm512_maskz_loadu_ps((__mmask16)((1u << la) - 1u), src + j0);
        const __m512 b = _mm512_maskz_loadu_ps((__mmask16)((1u << lb) - 1u), src + j0 + 16);
        _mm512_mask_storeu_ps(d + j0 / 2, (__mmask16)((1u << ((len + 1) / 2)) - 1u),
                              _mm512_permutex2var_ps(a, ev, b));
      }
    }
}

/* dx[c][2i][2j] = grid[c][i][j], every other element of dx zero. */
TGT static void spread_even(const ldnq__conv_geom *g, const float *grid, float *dx) {
  for (int c = 0; c < g->cin; c++)
    for (int r = 0; r < g->h; r++) {
      float *d = dx + ((size_t)c * g->h + r) * g->w;
      if (r % 2) {
        memset(d, 0, sizeof(float) * (size_t)g->w);
        continue;
      }
      const float *src = grid + ((size_t)c * g->oh + r / 2) * g->ow;
      /* 8 values into the even lanes of 16 columns. */
      for (int j0 = 0; j0 < g->w; j0 += 16) {
        const int len = g->w - j0 < 16 ? g->w - j0 : 16, nv = (len + 1) / 2;
        const __m512 v = _mm512_maskz_expandloadu_ps((__mmask16)(0x5555u & ((1u << (2 * nv)) - 1u)),
                                                      src + j0 / 2);
        _mm512_mask_storeu_ps(d + j0, (__mmask16)((1u << len) - 1u), v);
      }
    }
}
#endif

void ldnq__conv_pw2_forward(const ldnq__conv_geom *g, const float *x, const float *bias, float *y,
                            float *s) {
#if HAVE_PW2
  const pw2_layout L = make_layout(g);
  s = ldnq__direct_align(s);
  gather_even(g, x, s + L.xs);
  gemm_rows(g->cout, (int)L.P, g->cin, s + L.apack, s + L.xs, (const int *)(s + L.off), y,
            s + L.tail);
  if (bias)
    for (int co = 0; co < g->cout; co++)
      for (size_t q = 0; q < L.P; q++) y[(size_t)co * L.P + q] += bias[co];
#else
  (void)g, (void)x, (void)bias, (void)y, (void)s;
#endif
}

void ldnq__conv_pw2_backward(const ldnq__conv_geom *g, const float *x, const float *dy, float *dx,
                             float *dw, float *db, float *s) {
#if HAVE_PW2
  const pw2_layout L = make_layout(g);
  s = ldnq__direct_align(s);
  const int P = (int)L.P;
  if (db) ldnq__bias_grad_acc(dy, g->cout, L.P, L.P, db);
  if (dw) {
    gather_even(g, x, s + L.xs);
    if (L.use_vacc)
      ldnq__gemm_nt_avx512_rows_vacc(g->cout, g->cin, P, dy, P, s + L.xs,
                                     (const int *)(s + L.off), dw, g->cin, s + L.vacc);
    else
      ldnq__gemm_nt_avx512_rows(g->cout, g->cin, P, dy, P, s + L.xs, (const int *)(s + L.off), dw,
                                g->cin);
  }
  if (dx) {
    gemm_rows(g->cin, P, g->cout, s + L.apackq, dy, (const int *)(s + L.off), s + L.grid,
              s + L.tail);
    spread_even(g, s + L.grid, dx);
  }
#else
  (void)g, (void)x, (void)dy, (void)dx, (void)dw, (void)db, (void)s;
#endif
}

void ldnq__conv_pw2_end(const ldnq__conv_geom *g, float *dw, float *s) {
#if HAVE_PW2
  const pw2_layout L = make_layout(g);
  s = ldnq__direct_align(s);
  if (dw && L.use_vacc) ldnq__gemm_nt_avx512_vreduce(g->cout, g->cin, s + L.vacc, dw, g->cin);
#else
  (void)g, (void)dw, (void)s;
#endif
}
