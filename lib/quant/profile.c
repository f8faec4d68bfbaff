/* Profiles (LDNQ_Q_PROFILE): named sets of option defaults. A profile
 * overrides the option table's defaults (options.c) for the options it
 * lists; options the caller set explicitly keep their value. */
#include <stddef.h>

#include "quant/quant_internal.h"

typedef struct entry {
  int param;
  double value;
} entry;

/* The published procedure (ALGORITHM.md 2-4); the table defaults are the
 * paper's values, so only the seed-exact rules are listed. */
static const entry seed_profile[] = {
    {LDNQ_Q_CASCADE_STOP, 2},      /* running mean, last_loss from 0 */
    {LDNQ_Q_TRAINABLE_RULE, 1},    /* the seed's name rule */
    {LDNQ_Q_CASCADE_MAX_EPOCHS, 1000},
};

/* The default (docs/QUANTIZER.md "Profiles"; the ablation in
 * docs/RESULTS.md): a fixed cascade budget of 3 epochs (12 for the first
 * layer), Adam with cosine decay, per-channel scales, ADMM refined by GPTQ
 * rounding, then a final fine-tune of the batch norms and a running-stat
 * re-estimation. */
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
};

static const struct {
  const entry *e;
  size_t n;
} profiles[] = {
    [LDNQ_PROFILE_IMPROVED] = {improved_profile, sizeof improved_profile / sizeof(entry)},
    [LDNQ_PROFILE_SEED] = {seed_profile, sizeof seed_profile / sizeof(entry)},
};

const char *ldnq__profile_name(int profile) {
  return profile == LDNQ_PROFILE_SEED ? "seed" : profile == LDNQ_PROFILE_IMPROVED ? "improved" : "?";
}

double ldnq__profile_default(int profile, int p, double base) {
  if (profile < 0 || profile >= (int)(sizeof profiles / sizeof profiles[0])) return base;
  for (size_t k = 0; k < profiles[profile].n; k++)
    if (profiles[profile].e[k].param == p) return profiles[profile].e[k].value;
  return base;
}

void ldnq__profile_apply(ldnq_quantizer *q) {
  int profile = (int)q->value[LDNQ_Q_PROFILE];
  for (int p = 0; p < LDNQ__Q_NPARAMS; p++)
    if (p != LDNQ_Q_PROFILE && !q->explicit_set[p])
      q->value[p] = ldnq__profile_default(profile, p, ldnq__q_base_default(p));
}

ldnq_status ldnq_quantizer_profile_default(ldnq_quant_profile profile, ldnq_quant_param param,
                                           double *value) {
  if ((int)profile < 0 || (int)profile >= (int)(sizeof profiles / sizeof profiles[0]))
    return ldnq__fail(NULL, LDNQ_ERR_RANGE,
                      "ldnq_quantizer_profile_default: unknown profile %d (0 improved, 1 seed)",
                      (int)profile);
  if ((int)param < 0 || (int)param >= LDNQ__Q_NPARAMS || !ldnq__q_name((int)param))
    return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG,
                      "ldnq_quantizer_profile_default: unknown option %d", (int)param);
  if (!value)
    return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "ldnq_quantizer_profile_default: value is NULL");
  *value = param == LDNQ_Q_PROFILE
               ? (double)profile
               : ldnq__profile_default((int)profile, (int)param, ldnq__q_base_default((int)param));
  return LDNQ_OK;
}
