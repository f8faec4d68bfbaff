/* Winograd F(2x2, 3x3) weight gradient; see conv_wino_dw.h for the scheme.
 * Workspace of one thread, in floats: its dU sums [16][co][ci], then the
 * chunk's V [16][ci][ld] and dYhat [16][co][ld] (planes PLANE_PAD floats
 * further apart than their size, rows ld = tc + ROW_PAD: no power-of-two
 * strides between the streams the kernel reads). */
#include "ops/conv_wino_dw.h"

#include <string.h>

#include "ops/conv_wino.h"
#include "ops/gemm.h"
#include "ops/gemm_nt.h"
#include "ops/ops_internal.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include "ops/conv_wino_simd.h"
#define HAVE_WINO_DW 1
#define TGT WINO_TGT
#else
#define HAVE_WINO_DW 0
#endif

/* V and dYhat of one chunk within DW_CHUNK_FLOATS, and at least DW_TC_MIN
 * tiles long: each of the 16 products per chunk ends with a horizontal sum
 * per output, so short rows cost. */
#define DW_CHUNK_FLOATS (1 << 20)
#define DW_TC_MIN 64
#define ROW_PAD 16
#define PLANE_PAD 32
/* Channels per pass of the dY transform over a chunk. */
#define DW_CB 4

typedef struct dw_plan {
  int nthreads, tc, th, tw;
  long tiles;
  size_t ld, vp, dp, part, per_thread; /* floats */
} dw_plan;

static dw_plan make_plan(const ldnq__conv_geom *g, int threads) {
  dw_plan p;
  p.th = (g->h + 1) / 2, p.tw = (g->w + 1) / 2;
  p.tiles = (long)g->n * p.th * p.tw;
  if (threads > g->n) threads = g->n;
  if (threads < 1) threads = 1;
  p.nthreads = threads;
  long cap = DW_CHUNK_FLOATS / (16L * (g->cin + g->cout));
  if (cap < DW_TC_MIN) cap = DW_TC_MIN;
  const long per = (p.tiles + threads - 1) / threads, k = (per + cap - 1) / cap;
  long tc = (per + k - 1) / k;
  p.tc = (int)((tc + 15) / 16 * 16);
  p.ld = (size_t)p.tc + ROW_PAD;
  p.vp = (size_t)g->cin * p.ld + PLANE_PAD;
  p.dp = (size_t)g->cout * p.ld + PLANE_PAD;
  p.part = ((size_t)16 * g->cout * g->cin + 15) / 16 * 16;
  p.per_thread = p.part + 16 * (p.vp + p.dp);
  return p;
}

/* Where it measured faster than the dW path it replaces (tests/bench/
 * bench_conv, LDNQ_BENCH_BWD=dw). */
static int wino_dw_worth(const ldnq__conv_geom *g);

int ldnq__conv_wino_dw_ok(const ldnq__conv_geom *g) {
  const int mode = ldnq__conv_wino_mode();
  if (!mode || ldnq__gemm_active() != LDNQ__GEMM_AVX512 || !ldnq__conv_wino_possible(g) ||
      !ldnq__gemm_nt_avx512)
    return 0;
  return mode == 2 || wino_dw_worth(g);
}

size_t ldnq__conv_wino_dw_workspace(const ldnq__conv_geom *g, int threads) {
  const dw_plan p = make_plan(g, threads);
  return (size_t)p.nthreads * p.per_thread;
}

/* One thread, dW alone, batch 128 / 8 (ms, direct or im2col -> Winograd):
 * ResNet20's 64 x 8x8 4.9 -> 3.2; ResNet18's 256 x 14x14 13.7 -> 11.0,
 * 128 x 28x28 9.0 -> 8.7 (even), 64 x 56x56 9.0 -> 10.0 (the direct path
 * wins), 512 x 7x7 15.5 -> 19.5 (128 tiles: 16 short rows per product);
 * ResNet20's 16 x 32x32 3.7 -> 6.6 and 32 x 16x16 3.3 -> 3.5 (the
 * transforms outweigh the saved multiplies). So: >= 64 channels both
 * sides, maps up to 16x16, at least as many tiles as channels. */
static int wino_dw_worth(const ldnq__conv_geom *g) {
  const int lo = g->cin < g->cout ? g->cin : g->cout, hi = g->cin ^ g->cout ^ lo;
  const long tiles = (long)g->n * ((g->h + 1) / 2) * ((g->w + 1) / 2);
  return lo >= 64 && (long)g->h * g->w <= 256 && tiles >= hi;
}

typedef struct dw_run {
  const ldnq__conv_geom *g;
  dw_plan p;
  const float *x, *dy;
  float *dw, *ws;
} dw_run;

#if HAVE_WINO_DW

/* dYhat = A dY A^T of the tiles (img, ti, tj0..tj0+len), output channels
 * [o0, o1), into rows: element e of channel o at d[e * dp + o * ld + off].
 * A = [1 0; 1 1; 1 -1; 0 -1]; rows and columns past the map read as zero. */
TGT static void dy_tiles(const dw_run *r, int img, int ti, int tj0, int len, float *d, int off,
                         int o0, int o1) {
  const ldnq__conv_geom *g = r->g;
  const __mmask16 m = wino_len_mask(len);
  const __m512 z = _mm512_setzero_ps();
  const size_t plane = r->p.dp, ld = r->p.ld;
  for (int o = o0; o < o1; o++) {
    const float *y = r->dy + ((size_t)img * g->cout + o) * g->h * g->w + (size_t)(2 * ti) * g->w;
    __m512 a0, b0, a1 = z, b1 = z; /* rows 2ti, 2ti + 1: even and odd columns */
    wino_even_odd(y, 2 * tj0, g->w, &a0, &b0);
    if (2 * ti + 1 < g->h) wino_even_odd(y + g->w, 2 * tj0, g->w, &a1, &b1);
    const __m512 ra[4] = {a0, _mm512_add_ps(a0, a1), _mm512_sub_ps(a0, a1), _mm512_sub_ps(z, a1)};
    const __m512 rb[4] = {b0, _mm512_add_ps(b0, b1), _mm512_sub_ps(b0, b1), _mm512_sub_ps(z, b1)};
    float *dst = d + (size_t)o * ld + off;
    for (int k = 0; k < 4; k++) { /* (A dY) A^T: along the columns */
      _mm512_mask_storeu_ps(dst + (size_t)(k * 4 + 0) * plane, m, ra[k]);
      _mm512_mask_storeu_ps(dst + (size_t)(k * 4 + 1) * plane, m, _mm512_add_ps(ra[k], rb[k]));
      _mm512_mask_storeu_ps(dst + (size_t)(k * 4 + 2) * plane, m, _mm512_sub_ps(ra[k], rb[k]));
      _mm512_mask_storeu_ps(dst + (size_t)(k * 4 + 3) * plane, m, _mm512_sub_ps(z, rb[k]));
    }
  }
}

static void tiles_thread(void *arg, int t) {
  const dw_run *r = arg;
  const ldnq__conv_geom *g = r->g;
  const dw_plan *p = &r->p;
  float *part = r->ws + (size_t)t * p->per_thread, *v = part + p->part, *d = v + 16 * p->vp;
  memset(part, 0, sizeof(float) * 16 * (size_t)g->cout * g->cin);
  const long T0 = p->tiles * t / p->nthreads, T1 = p->tiles * (t + 1) / p->nthreads;
  const int ld = (int)p->ld;
  for (long t0 = T0; t0 < T1; t0 += p->tc) {
    const long t1 = t0 + p->tc < T1 ? t0 + p->tc : T1;
    ldnq__conv_wino_input_rows(g, r->x, t0, t1, v, p->ld, p->vp);
    for (int o0 = 0; o0 < g->cout; o0 += DW_CB) {
      const int o1 = o0 + DW_CB < g->cout ? o0 + DW_CB : g->cout;
      WINO_FOR_SEGMENTS(p->th, p->tw, ld, t0, t1, dy_tiles(r, img, ti, tj, len, d, off, o0, o1));
    }
    for (int e = 0; e < 16; e++)
      ldnq__gemm_nt_avx512(g->cout, g->cin, (int)(t1 - t0), d + e * p->dp, ld, v + e * p->vp, ld,
                           part + (size_t)e * g->cout * g->cin, g->cin);
  }
}

/* Output channels [o0, o1) of thread t: the threads' dU sums added in
 * thread order, then dW += G^T dU G, G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1]. */
static void finish_thread(void *arg, int t) {
  const dw_run *r = arg;
  const ldnq__conv_geom *g = r->g;
  const dw_plan *p = &r->p;
  const int o0 = (int)((long)g->cout * t / p->nthreads);
  const int o1 = (int)((long)g->cout * (t + 1) / p->nthreads);
  const size_t cc = (size_t)g->cout * g->cin;
  for (int o = o0; o < o1; o++)
    for (int i = 0; i < g->cin; i++) {
      float m[16], u[3][4];
      for (int e = 0; e < 16; e++) {
        const size_t at = (size_t)e * cc + (size_t)o * g->cin + i;
        float s = r->ws[at];
        for (int q = 1; q < p->nthreads; q++) s += r->ws[(size_t)q * p->per_thread + at];
        m[e] = s;
      }
      for (int j = 0; j < 4; j++) { /* G^T dU */
        const float m0 = m[j], m1 = m[4 + j], m2 = m[8 + j], m3 = m[12 + j];
        u[0][j] = m0 + 0.5f * (m1 + m2);
        u[1][j] = 0.5f * (m1 - m2);
        u[2][j] = 0.5f * (m1 + m2) + m3;
      }
      float *dst = r->dw + ((size_t)o * g->cin + i) * 9;
      for (int a = 0; a < 3; a++) { /* (G^T dU) G */
        dst[a * 3 + 0] += u[a][0] + 0.5f * (u[a][1] + u[a][2]);
        dst[a * 3 + 1] += 0.5f * (u[a][1] - u[a][2]);
        dst[a * 3 + 2] += 0.5f * (u[a][1] + u[a][2]) + u[a][3];
      }
    }
}

void ldnq__conv_wino_dw(const ldnq__conv_geom *g, const float *x, const float *dy, float *dw,
                        float *ws, int threads) {
  dw_run r = {g, make_plan(g, threads), x, dy, dw, ws};
  ldnq__parallel_run(r.p.nthreads, tiles_thread, &r);
  ldnq__parallel_run(r.p.nthreads, finish_thread, &r);
}

#else

void ldnq__conv_wino_dw(const ldnq__conv_geom *g, const float *x, const float *dy, float *dw,
                        float *ws, int threads) {
  (void)g, (void)x, (void)dy, (void)dw, (void)ws, (void)threads;
}

#endif
