/* Progress display of ldnq quantize (see cli.h). */
#include <math.h>
#include <signal.h>
#include <string.h>

#include "cli.h"

/* Ctrl-C: the next progress call asks the library to stop (it then returns
 * LDNQ_ERR_CANCELLED and nothing has been written). */
static volatile sig_atomic_t interrupted;
static void on_sigint(int sig) {
  (void)sig;
  interrupted = 1;
}
void cli_catch_interrupt(void) { signal(SIGINT, on_sigint); }
int cli_interrupted(void) { return interrupted != 0; }

int cli_eval_progress_fn(void *ud, int64_t done, int64_t total) {
  if (cli_is_tty()) cli_progress((const char *)ud, (long)done, (long)total);
  return interrupted != 0;
}

static int64_t opt(const ldnq_quantizer *q, ldnq_quant_param p) {
  int64_t v = 0;
  ldnq_quantizer_get_int(q, p, &v);
  return v;
}

static void new_layer(cli_qprogress *P) {
  P->hess = P->admm_it = P->casc_batches = 0;
  P->admm_e = P->casc_loss = NAN;
  P->prev_loss = INFINITY;
  P->strikes = P->have_top1 = 0;
  cli_progress_reset();
}

/* One line per finished layer, on and off a terminal. */
static void layer_line(cli_qprogress *P, int layer, int n, double seconds) {
  const char *name = "";
  ldnq_network_layer_name(P->net, layer, &name);
  fprintf(ldnq_mpi_log(), "layer %d/%d %s: ", layer + 1, n, name);
  if (!P->hess && !P->admm_it) {
    fprintf(ldnq_mpi_log(), "kept in float32");
  } else {
    fprintf(ldnq_mpi_log(), "hessian %lld batches, admm %lld it (E %.4g)", (long long)P->hess,
            (long long)P->admm_it, P->admm_e);
    int64_t nb = P->calib_count / (opt(P->q, LDNQ_Q_CASCADE_BATCH) > 0 ? opt(P->q, LDNQ_Q_CASCADE_BATCH) : 1);
    if (!opt(P->q, LDNQ_Q_CASCADE)) fprintf(ldnq_mpi_log(), ", cascade off");
    else if (P->casc_batches)
      fprintf(ldnq_mpi_log(), ", cascade %lld epochs (%lld batches) loss %.4g, strikes %d/3",
              (long long)(nb > 0 ? (P->casc_batches + nb - 1) / nb : 0), (long long)P->casc_batches,
              P->casc_loss, P->strikes);
  }
  if (P->have_top1) fprintf(ldnq_mpi_log(), ", top-1 %.2f", P->top1);
  fprintf(ldnq_mpi_log(), ", %.1f s\n", seconds);
}

int cli_qprogress_fn(void *ud, int64_t layer64, int64_t n64, ldnq_quant_phase phase, int64_t step,
                     double value) {
  cli_qprogress *P = ud;
  int layer = (int)layer64, n = (int)n64; /* a network has a few hundred layers */
  char label[160];
  if (interrupted) return 1;
  if (!P->started) { /* a resumed run starts after its state's layers */
    int64_t resumed = 0;
    P->started = 1;
    if (ldnq_quantizer_resumed_layers_v2(P->q, &resumed) == LDNQ_OK && resumed > 0) {
      P->layers_done = (int)resumed;
      fprintf(ldnq_mpi_log(), "resumed from %s: layers 1-%d of %d were done\n",
              P->state_path ? P->state_path : "the state", (int)resumed, n);
    }
  }
  if (phase == LDNQ_PHASE_LAYER_DONE) {
    cli_progress_end();
    layer_line(P, layer, n, value);
    P->layers_done = layer + 1;
    new_layer(P);
    return 0;
  }
  if (P->hess == 0 && P->admm_it == 0 && P->casc_batches == 0 && step == 1) cli_progress_reset();
  if (phase == LDNQ_PHASE_HESSIAN) {
    P->hess = step;
    snprintf(label, sizeof label, "layer %d/%d hessian", layer + 1, n);
    if (P->tty) cli_progress(label, (long)step, (long)opt(P->q, LDNQ_Q_HESSIAN_BATCHES));
  } else if (phase == LDNQ_PHASE_ADMM) {
    if (step == 1) cli_progress_reset();
    P->admm_it = step;
    P->admm_e = value;
    snprintf(label, sizeof label, "layer %d/%d admm E %.6g", layer + 1, n, value);
    if (P->tty) cli_progress(label, (long)step, (long)opt(P->q, LDNQ_Q_MAX_ITER));
  } else if (phase == LDNQ_PHASE_CASCADE) {
    /* Batches per epoch as the cascade's loader makes them (drop-last),
     * and the early stop of the header (running mean checked every 10th
     * batch of an epoch, 3 strikes) mirrored for the display. */
    int64_t cb = opt(P->q, LDNQ_Q_CASCADE_BATCH), nb = P->calib_count / (cb > 0 ? cb : 1);
    if (nb < 1) nb = 1;
    int64_t epoch = (step - 1) / nb, i = (step - 1) % nb;
    if (step == 1) {
      P->prev_loss = INFINITY;
      P->strikes = 0;
    }
    if (i == 0) cli_progress_reset();
    if (i % 10 == 0) {
      if (value > P->prev_loss || fabs(value - P->prev_loss) < 1e-4) P->strikes++;
      else P->strikes = 0;
      P->prev_loss = value;
    }
    P->casc_batches = step;
    P->casc_loss = value;
    snprintf(label, sizeof label, "layer %d/%d cascade epoch %lld/%lld loss %.6g strikes %d/3", layer + 1,
             n, (long long)epoch + 1, (long long)opt(P->q, LDNQ_Q_CASCADE_MAX_EPOCHS), value, P->strikes);
    if (P->tty) cli_progress(label, (long)i + 1, (long)nb);
  } else if (phase == LDNQ_PHASE_EVAL) {
    if (step == 0) { /* a per-layer evaluation's result */
      P->top1 = value;
      P->have_top1 = 1;
      return 0;
    }
    if (step == 1) cli_progress_reset();
    if (P->layers_done >= n) snprintf(label, sizeof label, "final evaluation");
    else snprintf(label, sizeof label, "layer %d/%d evaluation", layer + 1, n);
    if (P->tty) cli_progress(label, (long)step, (long)P->eval_batches);
  }
  return 0;
}
