/* Internal view of loaders (for evaluate.c). */
#ifndef LDNQ_DATA_LOADER_H
#define LDNQ_DATA_LOADER_H

#include <pthread.h>
#include <stdatomic.h>

#include "core/comm.h"
#include "core/error.h"
#include "core/option.h"
#include "ldnq/data.h"

typedef enum { SLOT_FREE, SLOT_FILLING, SLOT_READY, SLOT_HELD } ldnq__slot_state;

typedef struct ldnq__slot {
  ldnq__slot_state state;
  int64_t batch;
  ldnq_tensor *images;
  int32_t *labels;
  int n;
  ldnq_status st;
  char msg[LDNQ__ERRMSG_SIZE];
} ldnq__slot;

#define LDNQ__LOADER_NOPTIONS 6
/* Value of option LDNQ_LOADER_<k> (all loader options are integers). */
#define LDNQ__LOPT(l, k) ((l)->opt[LDNQ_LOADER_##k].i)

struct ldnq_loader {
  ldnq__errbuf err;
  ldnq_dataset *ds;
  int batch;
  ldnq__optval opt[LDNQ__LOADER_NOPTIONS]; /* ldnq_loader_option values */
  ldnq_transform *train_t, *eval_t;
  const ldnq_comm *comm; /* borrowed; batches are split over its ranks */
  ldnq_data_progress_fn progress;
  void *progress_ud;
  /* Current epoch. */
  int running;
  int64_t epoch, nbatches, next_deliver, released, next_claim;
  int64_t *order;
  ldnq__slot *slots;
  int held;
  int shape[3]; /* C, H, W of the epoch's first batch */
  pthread_t *threads;
  int nstarted;
  pthread_mutex_t mu;
  pthread_cond_t cv_work, cv_ready;
  atomic_int stop;
};

/* ldnq_loader_next_v2 on valid arguments (the library's own callers). */
ldnq_status ldnq__loader_next(ldnq_loader *l, const ldnq_tensor **images, const int32_t **labels,
                              int64_t *n);

/* ldnq_evaluate_v2 with an extra progress (may be NULL) called after each
 * batch is scored, besides the loader's own (evaluate.c): the deprecated
 * ldnq_evaluate and the quantizer's LDNQ_PHASE_EVAL use it. */
ldnq_status ldnq__evaluate(ldnq_network *net, ldnq_loader *loader, double *top1, double *top5,
                           int64_t *images, ldnq_data_progress_fn progress, void *user_data);

#endif
