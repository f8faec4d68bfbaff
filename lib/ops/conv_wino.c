/* Winograd F(2x2, 3x3) convolution; see conv_wino.h for the scheme.
 * Workspace, in floats: U [16][co/8][ci][8] (shared: the transformed
 * weights packed once per call as the micro-kernel's A panels), then per
 * thread V [16][Tc/48][ci][48] (the transformed tiles, written straight
 * into the micro-kernel's B panels) and M [16][co][Tc]. Each of the 16
 * products runs the AVX-512 micro-kernel over whole panels: no packing
 * per chunk.
 * The tile transforms run 16 tiles of one tile row at a time, one per
 * vector lane: a row of the input is loaded twice (at columns 2tj - 1 and
 * 2tj + 1) and split into even and odd columns, which gives the four tile
 * columns of 16 tiles; masked loads supply the zero padding. */
#include "ops/conv_wino.h"

#include "ops/gemm.h"
#include "ops/gemm_ukr.h"
#include "ops/ops_internal.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include "ops/conv_wino_simd.h"
#define HAVE_WINO 1
#define TGT WINO_TGT
#else
#define HAVE_WINO 0
#endif

/* V and M of one chunk together stay within about 512 KB (half the L2;
 * 2 MB measured 3-8 % slower) and hold at least one 48-wide panel of
 * tiles. */
#define WINO_CHUNK_FLOATS (1 << 17)
#define WINO_CHUNK_MAX_FLOATS (1 << 21)
#define WINO_MR 8
#define WINO_NR 48
#define WINO_TC_MIN WINO_NR
/* Channels per pass of the input transform over a chunk (1, 16 and all
 * measured slower on ResNet18's maps). */
#define WINO_CB 4

typedef struct wino_run {
  int n, ci, co, h, w, th, tw, flip, nthreads, nchunks, tc;
  long tiles;
  const float *in, *wt, *bias;
  float *out, *u, *ws;
  size_t per_thread; /* floats */
} wino_run;

static int wino_enabled = 1;

void ldnq__conv_wino_enable(int on) { wino_enabled = on; }

int ldnq__conv_wino_mode(void) { return wino_enabled; }

int ldnq__conv_wino_possible(const ldnq__conv_geom *g) {
  return HAVE_WINO && ldnq__gemm_supported(LDNQ__GEMM_AVX512) && g->kh == 3 && g->kw == 3 &&
         g->stride_h == 1 && g->stride_w == 1 && g->pad_h == 1 && g->pad_w == 1;
}

/* Where it measured faster (side by side with the direct and im2col
 * paths, one thread): >= 64 channels both sides, so that the 16 products
 * outweigh the tile transforms (16 and 32 channels came out even), and at
 * least as many tiles as channels, or the weight transform (16/9 of the
 * weights, written once per call) outweighs the saved multiplies:
 * ResNet18's 512 x 7x7 at batch 8 (128 tiles) loses, 11.2 -> 13.1 ms.
 * Batch 8 of ResNet18: 64 x 56x56 8.1 -> 6.2 ms, 128 x 28x28 8.2 -> 5.0,
 * 256 x 14x14 10.0 -> 5.9; ResNet20's 64 x 8x8 at batch 128 4.3 -> 3.1. */
static int wino_worth(const ldnq__conv_geom *g) {
  const int lo = g->cin < g->cout ? g->cin : g->cout, hi = g->cin ^ g->cout ^ lo;
  const long tiles = (long)g->n * ((g->h + 1) / 2) * ((g->w + 1) / 2);
  return lo >= 64 && tiles >= hi;
}

int ldnq__conv_wino_ok(const ldnq__conv_geom *g) {
  if (!wino_enabled || ldnq__gemm_active() != LDNQ__GEMM_AVX512 || !ldnq__conv_wino_possible(g))
    return 0;
  return wino_enabled == 2 || wino_worth(g);
}

/* Chunks: a multiple of the thread count, of near-equal size. Every chunk
 * reads all of U (16 ci co floats) once, V and M hold 16 (ci + co) floats
 * per tile: chunks of fewer than ci co / (ci + co) tiles read U more than
 * they read V and M (ResNet18's 512 x 7x7: U is 16 MB), so a chunk may then
 * outgrow the L2 target, up to WINO_CHUNK_MAX_FLOATS. */
static void plan_chunks(long tiles, int ci, int co, int threads, int *nchunks, int *tc) {
  long cap = WINO_CHUNK_FLOATS / (16L * (ci + co));
  long even = (long)ci * co / (ci + co), big = WINO_CHUNK_MAX_FLOATS / (16L * (ci + co));
  if (cap < even) cap = even < big ? even : big;
  if (cap < WINO_TC_MIN) cap = WINO_TC_MIN;
  long per = (tiles + threads - 1) / threads;
  long k = (per + cap - 1) / cap; /* chunks per thread */
  long nc = k * threads;
  long t = (tiles + nc - 1) / nc;
  t = (t + WINO_NR - 1) / WINO_NR * WINO_NR;
  *nchunks = (int)((tiles + t - 1) / t);
  *tc = (int)t;
}

static size_t round8(size_t n) { return (n + WINO_MR - 1) / WINO_MR * WINO_MR; }

/* The 16 planes of U, V and M are PLANE_PAD floats further apart than
 * their size: at power-of-two strides the 16 streams of a tile transform
 * fall into the same L1 sets (the input transform took 3x longer). */
#define PLANE_PAD 32
static size_t vplane(int ci, int tc) { return (size_t)ci * tc + PLANE_PAD; }
static size_t uplane(int ci, int co) { return round8((size_t)co) * ci + PLANE_PAD; }

static size_t thread_floats(int ci, int co, int tc) {
  return 16 * (vplane(ci, tc) + vplane(co, tc));
}

static size_t u_floats(int ci, int co) {
  size_t a = uplane(ci, co), b = uplane(co, ci);
  return 16 * (a > b ? a : b);
}

size_t ldnq__conv_wino_workspace(const ldnq__conv_geom *g, int threads) {
  const long tiles = (long)g->n * ((g->h + 1) / 2) * ((g->w + 1) / 2);
  if (threads > g->n) threads = g->n;
  if (threads < 1) threads = 1;
  int nc, tc;
  plan_chunks(tiles, g->cin, g->cout, threads, &nc, &tc);
  return u_floats(g->cin, g->cout) + (size_t)threads * thread_floats(g->cin, g->cout, tc);
}

#if HAVE_WINO

/* U[e][o][i] = (G g G^T)[e] for the kernel g of output o, input i:
 * forward g = w[o][i], flipped (dX) g = w[i][o] rotated by 180 degrees.
 * Eight outputs o (one A panel row set) at a time, so each of the 16
 * planes is written along its panel and the r loops vectorise. Rows past
 * co are zero. */
TGT static void weights_thread(void *arg, int t) {
  const wino_run *r = arg;
  const int np = (int)(round8((size_t)r->co) / WINO_MR);
  const int p0 = (int)((long)np * t / r->nthreads), p1 = (int)((long)np * (t + 1) / r->nthreads);
  const size_t plane = uplane(r->ci, r->co);
  for (int p = p0; p < p1; p++)
    for (int i = 0; i < r->ci; i++) {
      float g[9][WINO_MR], a[4][3][WINO_MR];
      for (int q = 0; q < WINO_MR; q++) {
        const int o = p * WINO_MR + q;
        if (o >= r->co) {
          for (int k = 0; k < 9; k++) g[k][q] = 0.0f;
        } else if (r->flip) {
          const float *s = r->wt + ((size_t)i * r->co + o) * 9;
          for (int k = 0; k < 9; k++) g[k][q] = s[8 - k];
        } else {
          const float *s = r->wt + ((size_t)o * r->ci + i) * 9;
          for (int k = 0; k < 9; k++) g[k][q] = s[k];
        }
      }
      for (int c = 0; c < 3; c++) /* G g: rows g0, (g0+g1+g2)/2, (g0-g1+g2)/2, g2 */
        for (int q = 0; q < WINO_MR; q++) {
          const float g0 = g[c][q], g1 = g[3 + c][q], g2 = g[6 + c][q];
          a[0][c][q] = g0;
          a[1][c][q] = 0.5f * (g0 + g1 + g2);
          a[2][c][q] = 0.5f * (g0 - g1 + g2);
          a[3][c][q] = g2;
        }
      float *d = r->u + (size_t)p * r->ci * WINO_MR + (size_t)i * WINO_MR;
      for (int k = 0; k < 4; k++) /* (G g) G^T */
        for (int q = 0; q < WINO_MR; q++) {
          const float g0 = a[k][0][q], g1 = a[k][1][q], g2 = a[k][2][q];
          d[(size_t)(k * 4 + 0) * plane + q] = g0;
          d[(size_t)(k * 4 + 1) * plane + q] = 0.5f * (g0 + g1 + g2);
          d[(size_t)(k * 4 + 2) * plane + q] = 0.5f * (g0 - g1 + g2);
          d[(size_t)(k * 4 + 3) * plane + q] = g2;
        }
    }
}

/* The four tile columns of 16 tiles from one input row (NULL: padding). */
TGT static inline void row_cols(const float *row, int c0, int w, __m512 *d) {
  if (!row) {
    d[0] = d[1] = d[2] = d[3] = _mm512_setzero_ps();
    return;
  }
  wino_even_odd(row, c0, w, &d[0], &d[1]);
  wino_even_odd(row, c0 + 2, w, &d[2], &d[3]);
}

/* V = B^T d B of the tiles (img, ti, tj0..tj0+len), channels [c0, c1):
 * the 16 planes `plane` floats apart, each in panels of pw tiles ([ci][pw]
 * per panel), the tile at chunk index off in panel off / pw. */
TGT static void input_tiles(const wino_run *r, int img, int ti, int tj0, int len, float *v,
                            size_t plane, int pw, int off, int c0, int c1) {
  const __mmask16 m = wino_len_mask(len);
  float *panel = v + (size_t)(off / pw) * r->ci * pw + off % pw;
  for (int c = c0; c < c1; c++) {
    const float *x = r->in + ((size_t)img * r->ci + c) * r->h * r->w;
    __m512 d[4][4], t[4][4];
    for (int q = 0; q < 4; q++) {
      const int y = 2 * ti - 1 + q;
      row_cols(y >= 0 && y < r->h ? x + (size_t)y * r->w : NULL, 2 * tj0 - 1, r->w, d[q]);
    }
    for (int k = 0; k < 4; k++) { /* B^T d: along the rows */
      t[0][k] = _mm512_sub_ps(d[0][k], d[2][k]);
      t[1][k] = _mm512_add_ps(d[1][k], d[2][k]);
      t[2][k] = _mm512_sub_ps(d[2][k], d[1][k]);
      t[3][k] = _mm512_sub_ps(d[1][k], d[3][k]);
    }
    float *dst = panel + (size_t)c * pw;
    for (int q = 0; q < 4; q++) { /* (B^T d) B: along the columns */
      _mm512_mask_storeu_ps(dst + (size_t)(q * 4 + 0) * plane, m, _mm512_sub_ps(t[q][0], t[q][2]));
      _mm512_mask_storeu_ps(dst + (size_t)(q * 4 + 1) * plane, m, _mm512_add_ps(t[q][1], t[q][2]));
      _mm512_mask_storeu_ps(dst + (size_t)(q * 4 + 2) * plane, m, _mm512_sub_ps(t[q][2], t[q][1]));
      _mm512_mask_storeu_ps(dst + (size_t)(q * 4 + 3) * plane, m, _mm512_sub_ps(t[q][1], t[q][3]));
    }
  }
}

/* y of the tiles (img, ti, tj0..) = A^T m A (+ bias) from M[e][o][off..]. */
TGT static void output_tiles(const wino_run *r, int img, int ti, int tj0, int len, const float *mm,
                             int off) {
  const __mmask16 m = wino_len_mask(len);
  const size_t plane = vplane(r->co, r->tc);
  const __m512i lo = _mm512_set_epi32(23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
  const __m512i hi = _mm512_set_epi32(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8);
  const int c0 = 2 * tj0, ncol = 2 * len < r->w - c0 ? 2 * len : r->w - c0;
  const __mmask16 mlo = wino_len_mask(ncol), mhi = wino_len_mask(ncol - 16 > 0 ? ncol - 16 : 0);
  for (int o = 0; o < r->co; o++) {
    const float *src = mm + (size_t)o * r->tc + off;
    __m512 s[2][4];
    for (int k = 0; k < 4; k++) {
      __m512 m0 = _mm512_maskz_loadu_ps(m, src + (size_t)(0 * 4 + k) * plane);
      __m512 m1 = _mm512_maskz_loadu_ps(m, src + (size_t)(1 * 4 + k) * plane);
      __m512 m2 = _mm512_maskz_loadu_ps(m, src + (size_t)(2 * 4 + k) * plane);
      __m512 m3 = _mm512_maskz_loadu_ps(m, src + (size_t)(3 * 4 + k) * plane);
      s[0][k] = _mm512_add_ps(_mm512_add_ps(m0, m1), m2);
      s[1][k] = _mm512_sub_ps(_mm512_sub_ps(m1, m2), m3);
    }
    const __m512 b = _mm512_set1_ps(r->bias ? r->bias[o] : 0.0f);
    float *y = r->out + ((size_t)img * r->co + o) * r->h * r->w;
    for (int q = 0; q < 2; q++) {
      const int row = 2 * ti + q;
      if (row >= r->h) break;
      __m512 e = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(s[q][0], s[q][1]), s[q][2]), b);
      __m512 f = _mm512_add_ps(_mm512_sub_ps(_mm512_sub_ps(s[q][1], s[q][2]), s[q][3]), b);
      float *yr = y + (size_t)row * r->w + c0;
      _mm512_mask_storeu_ps(yr, mlo, _mm512_permutex2var_ps(e, lo, f));
      if (mhi) _mm512_mask_storeu_ps(yr + 16, mhi, _mm512_permutex2var_ps(e, hi, f));
    }
  }
}

#define FOR_SEGMENTS(r, t0, t1, BODY) WINO_FOR_SEGMENTS((r)->th, (r)->tw, WINO_NR, t0, t1, BODY)

/* The input transform of the tiles [t0, t1) (see input_tiles), a few
 * channels over the whole chunk at a time: the loads then stream along
 * those channels' rows. */
static void input_chunk(const wino_run *r, long t0, long t1, float *v, size_t plane, int pw) {
  for (int c0 = 0; c0 < r->ci; c0 += WINO_CB) {
    const int c1 = c0 + WINO_CB < r->ci ? c0 + WINO_CB : r->ci;
    WINO_FOR_SEGMENTS(r->th, r->tw, pw, t0, t1,
                      input_tiles(r, img, ti, tj, len, v, plane, pw, off, c0, c1));
  }
}

static void chunks_thread(void *arg, int t) {
  const wino_run *r = arg;
  float *v = r->ws + (size_t)t * r->per_thread;
  const size_t up = uplane(r->ci, r->co), vp = vplane(r->ci, r->tc), mp = vplane(r->co, r->tc);
  float *mm = v + 16 * vp;
  const ldnq__gemm_ukr_fn ukr = ldnq__gemm_ukr_avx512.fn;
  for (int c = t; c < r->nchunks; c += r->nthreads) {
    const long t0 = (long)c * r->tc, t1 = t0 + r->tc < r->tiles ? t0 + r->tc : r->tiles;
    const int nt = (int)(t1 - t0);
    input_chunk(r, t0, t1, v, vp, WINO_NR);
    if (nt % WINO_NR) /* the last panel's unused columns: defined values */
      for (int e = 0; e < 16; e++) {
        float *p = v + e * vp + (size_t)(nt / WINO_NR) * r->ci * WINO_NR;
        for (int k = 0; k < r->ci; k++)
          for (int q = nt % WINO_NR; q < WINO_NR; q++) p[(size_t)k * WINO_NR + q] = 0.0f;
      }
    /* Each A panel of U once per chunk, against the chunk's B panels (in L2). */
    for (int e = 0; e < 16; e++)
      for (int i = 0; i < r->co; i += WINO_MR)
        for (int j = 0; j < nt; j += WINO_NR) {
          const float *b = v + e * vp + (size_t)(j / WINO_NR) * r->ci * WINO_NR;
          const int n = nt - j < WINO_NR ? nt - j : WINO_NR;
          ukr(r->ci, r->u + e * up + (size_t)i * r->ci, b, mm + e * mp + (size_t)i * r->tc + j,
              (size_t)r->tc, 1.0f, 0.0f, r->co - i < WINO_MR ? r->co - i : WINO_MR, n);
        }
    FOR_SEGMENTS(r, t0, t1, output_tiles(r, img, ti, tj, len, mm, off));
  }
}

static void wino(const ldnq__conv_geom *g, int flip, const float *in, const float *w,
                 const float *bias, float *out, float *ws, int threads) {
  wino_run r;
  r.n = g->n, r.h = g->h, r.w = g->w, r.flip = flip;
  r.ci = flip ? g->cout : g->cin, r.co = flip ? g->cin : g->cout;
  r.th = (g->h + 1) / 2, r.tw = (g->w + 1) / 2;
  r.tiles = (long)g->n * r.th * r.tw;
  if (threads > g->n) threads = g->n;
  if (threads < 1) threads = 1;
  r.nthreads = threads;
  plan_chunks(r.tiles, g->cin, g->cout, threads, &r.nchunks, &r.tc);
  r.in = in, r.wt = w, r.bias = bias, r.out = out;
  r.u = ws;
  r.ws = ws + u_floats(g->cin, g->cout);
  r.per_thread = thread_floats(g->cin, g->cout, r.tc);
  ldnq__parallel_run(threads, weights_thread, &r);
  ldnq__parallel_run(threads, chunks_thread, &r);
}

void ldnq__conv_wino_forward(const ldnq__conv_geom *g, const float *x, const float *w,
                             const float *bias, float *y, float *ws, int threads) {
  wino(g, 0, x, w, bias, y, ws, threads);
}

void ldnq__conv_wino_dx(const ldnq__conv_geom *g, const float *w, const float *dy, float *dx,
                        float *ws, int threads) {
  wino(g, 1, dy, w, NULL, dx, ws, threads);
}

void ldnq__conv_wino_input_rows(const ldnq__conv_geom *g, const float *x, long t0, long t1,
                                float *v, size_t ld, size_t plane) {
  wino_run r;
  r.n = g->n, r.h = g->h, r.w = g->w, r.ci = g->cin;
  r.th = (g->h + 1) / 2, r.tw = (g->w + 1) / 2;
  r.in = x;
  input_chunk(&r, t0, t1, v, plane, (int)ld);
}

#else

void ldnq__conv_wino_forward(const ldnq__conv_geom *g, const float *x, const float *w,
                             const float *bias, float *y, float *ws, int threads) {
  (void)g, (void)x, (void)w, (void)bias, (void)y, (void)ws, (void)threads;
}

void ldnq__conv_wino_dx(const ldnq__conv_geom *g, const float *w, const float *dy, float *dx,
                        float *ws, int threads) {
  (void)g, (void)w, (void)dy, (void)dx, (void)ws, (void)threads;
}

void ldnq__conv_wino_input_rows(const ldnq__conv_geom *g, const float *x, long t0, long t1,
                                float *v, size_t ld, size_t plane) {
  (void)g, (void)x, (void)t0, (void)t1, (void)v, (void)ld, (void)plane;
}

#endif
