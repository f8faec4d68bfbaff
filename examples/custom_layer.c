/* custom_layer: quantize YOUR OWN convolution with the L-DNQ per-layer
 * solver. No built-in network is involved: the program owns the float
 * weights and produces the layer's input activations itself, handing them
 * to libldnq batch by batch through the activation callback.
 *
 *   custom_layer [--levels L] [--cin C] [--cout C] [--batches B] [--seed S]
 *
 * Prints the layer error of the plain projection and of L-DNQ (the solver's
 * own figures) and the relative output error on fresh held-out inputs. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldnq/ldnq.h>

#include "args.h"

enum { IMG = 12, KS = 3, PAD = 1, BATCH = 4 };

/* Everything the activation callback needs: the caller's own state. */
typedef struct {
  int cin;
  uint64_t seed;
  ldnq_tensor *batch; /* reused buffer, owned by this program */
} source;

static double urand(uint64_t *s) { /* xorshift64*, in [0, 1) */
  *s ^= *s >> 12; *s ^= *s << 25; *s ^= *s >> 27;
  return (double)((*s * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

/* A stand-in for "the previous layer's output": smooth, non-negative
 * feature maps (box-blurred noise after a ReLU), correlated across
 * channels so the Hessian is far from diagonal. */
static void make_inputs(float *x, int n, int cin, uint64_t seed) {
  uint64_t s = seed * 0x9E3779B97F4A7C15ULL + 1;
  float noise[IMG * IMG], common[IMG * IMG];
  for (int b = 0; b < n; b++) {
    for (int i = 0; i < IMG * IMG; i++) common[i] = (float)(urand(&s) - 0.5);
    for (int c = 0; c < cin; c++) {
      for (int i = 0; i < IMG * IMG; i++)
        noise[i] = (float)(urand(&s) - 0.5) + 0.8f * common[i];
      float *out = x + ((size_t)b * cin + c) * IMG * IMG;
      for (int y = 0; y < IMG; y++)
        for (int xx = 0; xx < IMG; xx++) {
          float acc = 0;
          for (int dy = -1; dy <= 1; dy++)
            for (int dx = -1; dx <= 1; dx++) {
              int yy = (y + dy + IMG) % IMG, xw = (xx + dx + IMG) % IMG;
              acc += noise[yy * IMG + xw];
            }
          out[y * IMG + xx] = acc > 0 ? acc / 9.0f : 0.0f;
        }
    }
  }
}

/* The activation callback: batch `index` of the layer's input. */
static int deliver(void *user_data, int64_t index, const ldnq_tensor **batch) {
  source *src = user_data;
  float *x;
  if (ldnq_tensor_data(src->batch, &x) != LDNQ_OK) return 1;
  make_inputs(x, BATCH, src->cin, src->seed + (uint64_t)index);
  *batch = src->batch;
  return 0;
}

/* Direct convolution (stride 1, zero padding) of the user's layer. */
static void conv(const float *x, const float *w, float *y, int n, int cin, int cout) {
  for (int b = 0; b < n; b++)
    for (int o = 0; o < cout; o++)
      for (int i = 0; i < IMG; i++)
        for (int j = 0; j < IMG; j++) {
          double acc = 0;
          for (int c = 0; c < cin; c++)
            for (int ki = 0; ki < KS; ki++)
              for (int kj = 0; kj < KS; kj++) {
                int ii = i + ki - PAD, jj = j + kj - PAD;
                if (ii < 0 || jj < 0 || ii >= IMG || jj >= IMG) continue;
                acc += (double)x[((size_t)(b * cin + c) * IMG + ii) * IMG + jj] *
                       w[((o * cin + c) * KS + ki) * KS + kj];
              }
          y[((size_t)(b * cout + o) * IMG + i) * IMG + j] = (float)acc;
        }
}

static double rel_err(const float *a, const float *ref, size_t n) {
  double num = 0, den = 0;
  for (size_t i = 0; i < n; i++) {
    num += ((double)a[i] - ref[i]) * ((double)a[i] - ref[i]);
    den += (double)ref[i] * ref[i];
  }
  return den > 0 ? sqrt(num / den) : 0;
}

static int fail(const char *what, ldnq_status st) {
  fprintf(stderr, "custom_layer: %s: %s: %s\n", what, ldnq_status_string(st), ldnq_last_error());
  return 1;
}

int main(int argc, char **argv) {
  long long lv = 3, cin_ = 8, cout_ = 16, batches_ = 40, seed_ = 1;
  arg_opt opts[] = {
      {"--levels", ARG_INT, &lv, "L", "quantization levels (the library checks the value)", 1, 1000,
       .flags = 0},
      {"--cin", ARG_INT, &cin_, "C", "input channels", 1, 64, .flags = 0},
      {"--cout", ARG_INT, &cout_, "C", "output channels", 1, 256, .flags = 0},
      {"--batches", ARG_INT, &batches_, "B", "batches of 4 inputs for the Hessian", 2, 100000, .flags = 0},
      {"--seed", ARG_INT, &seed_, "S", "seed of the weights and inputs", 0, 9007199254740992.0, .flags = 0},
  };
  arg_spec spec = {"custom_layer", "custom_layer [options]",
                   "Quantizes a convolution of this program's own with the L-DNQ per-layer solver;\n"
                   "the program supplies the layer's inputs through the activation callback.",
                   opts, (int)(sizeof opts / sizeof opts[0]), 0, 0, NULL};
  int pr = args_parse(&spec, argc, argv, 1, NULL, NULL);
  if (pr) return pr == ARGS_HELP ? 0 : 2;
  int levels = (int)lv, cin = (int)cin_, cout = (int)cout_, batches = (int)batches_;
  uint64_t seed = (uint64_t)seed_;
  size_t nw = (size_t)cout * cin * KS * KS;
  float *w = malloc(nw * sizeof *w), *wq = malloc(nw * sizeof *wq);
  if (!w || !wq) return 1;
  uint64_t s = seed + 77;
  for (size_t i = 0; i < nw; i++) w[i] = (float)((urand(&s) - 0.5) * 0.4);

  ldnq_quantizer *q = NULL;
  ldnq_layer_result *r = NULL;
  source src = {cin, seed, NULL};
  int64_t shape[4] = {BATCH, cin, IMG, IMG};
  ldnq_status st = ldnq_tensor_create(4, shape, &src.batch);
  if (st != LDNQ_OK) return fail("tensor", st);
  if ((st = ldnq_quantizer_create(&q)) != LDNQ_OK) return fail("quantizer", st);
  if ((st = ldnq_quantizer_set_int(q, LDNQ_Q_LEVELS, levels)) != LDNQ_OK ||
      (st = ldnq_quantizer_set_int(q, LDNQ_Q_HESSIAN_BATCHES, batches)) != LDNQ_OK ||
      /* one scale for the layer, so it holds at most `levels` values (the
       * improved default profile has one scale per output channel) */
      (st = ldnq_quantizer_set_int(q, LDNQ_Q_PER_CHANNEL, 0)) != LDNQ_OK)
    return fail("option", st);
  st = ldnq_quantizer_solve_conv(q, cin, cout, KS, KS, 1, PAD, w, deliver, &src, &r);
  if (st != LDNQ_OK) return fail("solve", st);

  double alpha, e0, e;
  int64_t iters;
  ldnq_layer_result_get_double(r, LDNQ_R_ALPHA, &alpha);
  ldnq_layer_result_get_double(r, LDNQ_R_ERROR_INITIAL, &e0);
  ldnq_layer_result_get_double(r, LDNQ_R_ERROR, &e);
  ldnq_layer_result_get_int(r, LDNQ_R_ITERATIONS, &iters);
  if ((st = ldnq_layer_result_weights(r, wq, (int64_t)nw)) != LDNQ_OK)
    return fail("weights", st);

  /* Held-out check: outputs of the float layer vs the quantized one, and vs
   * the plain projection (alpha0 = mean |W|, nearest allowed code). */
  enum { HELD = 8 };
  size_t nx = (size_t)HELD * cin * IMG * IMG, ny = (size_t)HELD * cout * IMG * IMG;
  float *x = malloc(nx * sizeof *x), *y = malloc(ny * sizeof *y);
  float *yq = malloc(ny * sizeof *yq), *wp = malloc(nw * sizeof *wp);
  if (!x || !y || !yq || !wp) return 1;
  make_inputs(x, HELD, cin, seed + 1000003);
  double a0 = 0;
  for (size_t i = 0; i < nw; i++) a0 += fabs(w[i]) / (double)nw;
  int top = 1 << ((levels - 3) / 2); /* largest code: 1, 2, 4, 8, 16 */
  for (size_t i = 0; i < nw; i++) { /* nearest code of {0, +-1, +-2, +-4..} */
    double m = fabs(w[i]) / a0, best = 0;
    for (int c = 1; c <= top; c *= 2)
      if (fabs(m - c) < fabs(m - best)) best = c;
    wp[i] = (float)((w[i] < 0 ? -best : best) * a0);
  }
  conv(x, w, y, HELD, cin, cout);
  conv(x, wq, yq, HELD, cin, cout);
  double err_ldnq = rel_err(yq, y, ny);
  conv(x, wp, yq, HELD, cin, cout);
  double err_plain = rel_err(yq, y, ny);

  int distinct = 0; /* distinct weight values actually used */
  for (size_t i = 0; i < nw && distinct <= levels; i++) {
    int seen = 0;
    for (size_t j = 0; j < i && !seen; j++) seen = wq[j] == wq[i];
    distinct += !seen;
  }
  printf("layer conv %dx%dx%dx%d, %d levels, %d batches of %d inputs\n", cout, cin, KS, KS,
         levels, batches, BATCH);
  printf("alpha %.6g, ADMM iterations %lld, distinct values %d\n", alpha, (long long)iters,
         distinct);
  printf("layer error: projection %.6g, L-DNQ %.6g\n", e0, e);
  printf("held-out relative output error: projection %.4f, L-DNQ %.4f\n", err_plain, err_ldnq);

  ldnq_layer_result_free(r);
  ldnq_quantizer_free(q);
  ldnq_tensor_free(src.batch);
  free(w); free(wq); free(wp); free(x); free(y); free(yq);
  return 0;
}
