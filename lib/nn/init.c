/* Default initialisation as torchvision's ResNet: convolutions kaiming
 * normal (fan_out, gain sqrt(2)), BN weight 1 / bias 0 / running stats
 * reset, Linear as nn.Linear's default (uniform +-1/sqrt(in_features) for
 * weight and bias). Our own PRNG: seeded, reproducible, not torch's. */
#include <math.h>
#include <string.h>

#include "nn/nn_impl.h"

typedef struct rng {
  uint64_t s;
} rng;

static uint64_t next_u64(rng *r) { /* splitmix64 */
  uint64_t z = (r->s += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

/* Uniform in (0, 1): 53 random bits, never 0 (safe for log). */
static double uniform(rng *r) { return ((double)(next_u64(r) >> 11) + 0.5) * (1.0 / 9007199254740992.0); }

static void fill_normal(rng *r, float *x, int64_t n, double std) {
  for (int64_t i = 0; i < n; i += 2) { /* Box-Muller, two values per draw */
    double u1 = uniform(r), u2 = uniform(r);
    double rad = sqrt(-2.0 * log(u1)), th = 6.283185307179586 * u2;
    x[i] = (float)(std * rad * cos(th));
    if (i + 1 < n) x[i + 1] = (float)(std * rad * sin(th));
  }
}

static void fill_uniform(rng *r, float *x, int64_t n, double bound) {
  for (int64_t i = 0; i < n; i++) x[i] = (float)((2.0 * uniform(r) - 1.0) * bound);
}

static void init_conv(ldnq_network *net, rng *r, const nn_conv *c) {
  nn_entry *e = &net->ent[c->w];
  fill_normal(r, e->data, e->numel, sqrt(2.0 / (double)(c->cout * c->k * c->k)));
}

static void init_bn(ldnq_network *net, const nn_bn *bn) {
  for (int i = 0; i < bn->c; i++) {
    net->ent[bn->w].data[i] = 1.0f;
    net->ent[bn->w + 1].data[i] = 0.0f;
    net->ent[bn->w + 2].data[i] = 0.0f;
    net->ent[bn->w + 3].data[i] = 1.0f;
  }
  net->ent[bn->w + 4].data[0] = 0.0f;
}

void nn_init_params(ldnq_network *net, uint64_t seed) {
  rng r = {seed ^ 0x6C646E71ULL}; /* "ldnq" */
  init_conv(net, &r, &net->stem);
  init_bn(net, &net->stem_bn);
  for (int b = 0; b < net->nblocks; b++) {
    const nn_block *blk = &net->blocks[b];
    for (int i = 0; i < blk->nconv; i++) {
      init_conv(net, &r, &blk->conv[i]);
      init_bn(net, &blk->bn[i]);
    }
    if (blk->has_ds) {
      init_conv(net, &r, &blk->ds);
      init_bn(net, &blk->dsbn);
    }
  }
  double bound = 1.0 / sqrt((double)net->fc_in);
  fill_uniform(&r, net->ent[net->fc_w].data, net->ent[net->fc_w].numel, bound);
  fill_uniform(&r, net->ent[net->fc_b].data, net->ent[net->fc_b].numel, bound);
}
