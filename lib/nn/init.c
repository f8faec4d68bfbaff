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

/* Uniform in [0, 1): 53 random bits. */
static double uniform(rng *r) { return (double)(next_u64(r) >> 11) * (1.0 / 9007199254740992.0); }

/* Marsaglia's polar method: two normals per accepted pair, one log and no
 * trigonometry (initialising ResNet50's 25M weights is then ~0.3 s). */
static void fill_normal(rng *r, float *x, int64_t n, double std) {
  for (int64_t i = 0; i < n; i += 2) {
    double u, v, s;
    do {
      u = 2.0 * uniform(r) - 1.0;
      v = 2.0 * uniform(r) - 1.0;
      s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    double f = std * sqrt(-2.0 * log(s) / s);
    x[i] = (float)(u * f);
    if (i + 1 < n) x[i + 1] = (float)(v * f);
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

void ldnq__nn_init_params(ldnq_network *net, uint64_t seed) {
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
