/* Profiles (LDNQ_Q_PROFILE): named sets of option defaults. A profile
 * overrides the option table's defaults (options.c) for the options it
 * lists; options the caller set explicitly keep their value. Values are
 * stored as doubles here and written as the option's type (.i or .d) from
 * the table. */
#include <stddef.h>

#include "quant/quant_internal.h"

typedef struct entry {
  int param;
  double value;
} entry;

/* The published procedure (docs/METHOD.md 2-4); the table defaults are the
 * paper's values, so only the seed-exact rules are listed. */
static const entry seed_profile[] = {
    {LDNQ_Q_CASCADE_STOP, 2},      /* running mean, last_loss from 0 */
    {LDNQ_Q_TRAINABLE_RULE, 1},    /* the seed's name rule */
    {LDNQ_Q_CASCADE_MAX_EPOCHS, 1000},
};

/* The default (docs/QUANTIZER.md "Profiles"; the ablation in
 * docs/RESULTS.md): a fixed cascade budget of 3 epochs (12 for the first
 * layer), Adam with cosine decay, per-channel scales, ADMM refined by GPTQ
 * rounding (the exact per-channel optimum for layers of at most 2 x 10^6 code
 * patterns per output, i.e. the first convolution), then a final fine-tune
 * of the batch norms, the scales and the codes (straight-through) and a
 * running-stat re-estimation. */
static const entry improved_profile[] = {
    {LDNQ_Q_CASCADE_STOP, 0},
    {LDNQ_Q_TRAINABLE_RULE, 0},
    {LDNQ_Q_CASCADE_MAX_EPOCHS, 3},
    {LDNQ_Q_CASCADE_FIRST_EPOCHS, 12},
    {LDNQ_Q_CASCADE_OPTIMIZER, 1},
    {LDNQ_Q_CASCADE_SCHEDULE, 1},
    {LDNQ_Q_PER_CHANNEL, 1},
    {LDNQ_Q_SOLVER, 1},
    {LDNQ_Q_FINAL_EPOCHS, 10},
    {LDNQ_Q_FINAL_LR, 0.001},
    {LDNQ_Q_BN_RECALIBRATE, 20},
    {LDNQ_Q_EXACT_PATTERNS, 2e6},
    {LDNQ_Q_FINAL_ALPHA_LR, 0.001},
    {LDNQ_Q_FINAL_CODE_LR, 0.001},
};

static const struct {
  const entry *e;
  size_t n;
} profiles[] = {
    [LDNQ_PROFILE_IMPROVED] = {improved_profile, sizeof improved_profile / sizeof(entry)},
    [LDNQ_PROFILE_SEED] = {seed_profile, sizeof seed_profile / sizeof(entry)},
};

#define NPROFILES ((int)(sizeof profiles / sizeof profiles[0]))

const char *ldnq__profile_name(int profile) {
  return profile == LDNQ_PROFILE_SEED ? "seed" : profile == LDNQ_PROFILE_IMPROVED ? "improved" : "?";
}

ldnq__optval ldnq__profile_default(int profile, int p) {
  const ldnq__optdef *d = ldnq__q_def(p);
  ldnq__optval v;
  if (d->type == LDNQ__OPT_INT) v.i = d->idef;
  else v.d = d->def;
  if (profile < 0 || profile >= NPROFILES) return v;
  for (size_t k = 0; k < profiles[profile].n; k++)
    if (profiles[profile].e[k].param == p) {
      if (d->type == LDNQ__OPT_INT) v.i = (int64_t)profiles[profile].e[k].value;
      else v.d = profiles[profile].e[k].value;
    }
  return v;
}

void ldnq__profile_apply(ldnq_quantizer *q) {
  int profile = (int)q->opt[LDNQ_Q_PROFILE].i;
  for (int p = 0; p < LDNQ__Q_NPARAMS; p++)
    if (p != LDNQ_Q_PROFILE && ldnq__q_def(p) && !q->explicit_set[p])
      q->opt[p] = ldnq__profile_default(profile, p);
}

ldnq_status ldnq_quantizer_profile_default(ldnq_quant_profile profile, ldnq_quant_param param,
                                           double *value) {
  if ((int)profile < 0 || (int)profile >= NPROFILES)
    return ldnq__fail(NULL, LDNQ_ERR_RANGE,
                      "ldnq_quantizer_profile_default: unknown profile %d (0 improved, 1 seed)",
                      (int)profile);
  if (!ldnq__q_def((int)param))
    return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG,
                      "ldnq_quantizer_profile_default: unknown quantizer option %d", (int)param);
  if (!value)
    return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "ldnq_quantizer_profile_default: value is NULL");
  *value = param == LDNQ_Q_PROFILE
               ? (double)profile
               : ldnq__q_optval_double((int)param, ldnq__profile_default((int)profile, (int)param));
  return LDNQ_OK;
}
