/* State shared by run.c and cascade.c during ldnq_quantizer_run. */
#ifndef LDNQ_QUANT_RUN_INTERNAL_H
#define LDNQ_QUANT_RUN_INTERNAL_H

#include "ldnq/quant.h"

typedef struct ldnq__run {
  ldnq_quantizer *q;
  ldnq_network *net;   /* being quantized */
  ldnq_network *orig;  /* full-precision copy (cascade teacher) */
  ldnq_dataset *calib;
  ldnq_loader *eval;
  ldnq_loader *hess_loader, *casc_loader;
  int64_t hess_epoch, casc_epoch; /* next epoch number of each loader */
  int hess_batch;
  int num_classes;
  int nlayers, layer;
  const char **names;  /* layer names, owned by net */
  ldnq_quant_progress_fn progress;
  void *ud;
} ldnq__run;

/* Calls the user's progress; nonzero means cancel. */
int ldnq__run_progress(ldnq__run *R, ldnq_quant_phase phase, int64_t step, double value);

/* METHOD 4 after layer L; fills the epochs run, SGD steps and the last
 * running mean loss (NaN when no batch ran). */
ldnq_status ldnq__cascade(ldnq__run *R, int L, int64_t *epochs, int64_t *batches, double *loss);

#endif
