/* Learning-rate schedules (step, cosine, one-cycle), per batch step. */
#include <math.h>

#include "train/train_internal.h"

static double anneal_cos(double start, double end, double pct) {
  return end + (start - end) / 2.0 * (cos(3.14159265358979323846 * pct) + 1.0);
}

/* torch.optim.lr_scheduler.OneCycleLR with anneal_strategy='cos',
 * three_phase=False; S - 1 is the last step. */
static double onecycle(const ldnq_trainer *t, int64_t s, int64_t S) {
  double max_lr = ldnq__t_real(t, LDNQ_T_LR);
  double initial = max_lr / ldnq__t_real(t, LDNQ_T_ONECYCLE_DIV);
  double min_lr = initial / ldnq__t_real(t, LDNQ_T_ONECYCLE_FINAL_DIV);
  double up_end = ldnq__t_real(t, LDNQ_T_ONECYCLE_PCT) * (double)S - 1.0;
  double down_end = (double)S - 1.0;
  if ((double)s <= up_end) return anneal_cos(initial, max_lr, up_end > 0 ? s / up_end : 1.0);
  double span = down_end - up_end;
  return anneal_cos(max_lr, min_lr, span > 0 ? ((double)s - up_end) / span : 1.0);
}

double ldnq__t_lr_at(const ldnq_trainer *t, int64_t e, int64_t s, int64_t S) {
  double lr = ldnq__t_real(t, LDNQ_T_LR);
  switch ((ldnq_lr_schedule)ldnq__t_int(t, LDNQ_T_SCHEDULE)) {
    case LDNQ_SCHEDULE_STEP:
      return lr * pow(ldnq__t_real(t, LDNQ_T_STEP_GAMMA),
                      (double)(e / ldnq__t_int(t, LDNQ_T_STEP_EPOCHS)));
    case LDNQ_SCHEDULE_COSINE: {
      double lo = ldnq__t_real(t, LDNQ_T_COSINE_MIN_LR);
      return anneal_cos(lr, lo, (double)s / (double)S);
    }
    case LDNQ_SCHEDULE_ONECYCLE:
      return onecycle(t, s, S);
  }
  return lr;
}

ldnq_status ldnq_trainer_lr(const ldnq_trainer *t, int64_t epoch, int64_t batch,
                            int64_t batches_per_epoch, double *lr) {
  if (!t || !lr) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "ldnq_trainer_lr: NULL argument");
  int64_t epochs = ldnq__t_int(t, LDNQ_T_EPOCHS);
  if (batches_per_epoch < 1 || batches_per_epoch > ((int64_t)1 << 40) || epoch < 0 ||
      epoch >= epochs || batch < 0 || batch >= batches_per_epoch)
    return ldnq__fail(NULL, LDNQ_ERR_RANGE,
                      "ldnq_trainer_lr: epoch %lld / batch %lld outside %lld epochs of %lld",
                      (long long)epoch, (long long)batch, (long long)epochs,
                      (long long)batches_per_epoch);
  *lr = ldnq__t_lr_at(t, epoch, epoch * batches_per_epoch + batch, epochs * batches_per_epoch);
  return LDNQ_OK;
}
