/* Internal layout of ldnq_quant_report (built by run.c, read by report.c). */
#ifndef LDNQ_QUANT_REPORT_H
#define LDNQ_QUANT_REPORT_H

#include "ldnq/quant.h"
#include "quant/quant_internal.h"

/* Figures of one soft update (a layer's cascade or the final fine-tune). */
typedef struct ldnq__qr_soft {
  int64_t epochs, batches;
  double loss;      /* running mean over all its batches (NaN if none) */
  double last_loss; /* mean over its last epoch's batches (NaN if none) */
} ldnq__qr_soft;

typedef struct ldnq__qr_layer {
  char *name;
  ldnq_layer_result *res; /* NULL when not quantized */
  int quantized;
  int bias_float; /* bias trained off the grid (seed trainable rule) */
  int64_t teacher_cached;
  ldnq__qr_soft cascade;
  double seconds, top1, top5; /* NaN when not measured */
} ldnq__qr_layer;

struct ldnq_quant_report {
  int n;
  ldnq__qr_layer *layers;
  int levels;
  double top1, top5, seconds;
  double settings[LDNQ__Q_NPARAMS]; /* the options of the run */
  ldnq__qr_soft final;              /* final fine-tune (LDNQ_Q_FINAL_EPOCHS) */
  int64_t final_teacher_cached;     /* its batches served by the cache */
};

/* Report for n layers, names copied; NaN figures. NULL on no memory. */
ldnq_quant_report *ldnq__report_new(int n, const char *const *names, int levels);

#endif
