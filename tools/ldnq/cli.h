/* Shared helpers of the ldnq command-line tool (public API only). */
#ifndef LDNQ_CLI_H
#define LDNQ_CLI_H

#include <stdio.h>

#include "ldnq/ldnq.h"
#include "args.h"
#include "ldnq_mpi_run.h"

/* Values shared by several commands' help. */
#define CLI_ARCHS "resnet20,resnet32,resnet56,resnet18,resnet34,resnet50"
#define CLI_SPECS "fashion-mnist[:DIR], mnist:DIR, cifar10:DIR,\ncifar10-py:DIR, imagefolder:DIR"

/* Each subcommand: argv[0] is the subcommand name. Returns the exit code:
 * 0 success, 1 failure, 2 usage error. */
int cli_info(int argc, char **argv);
int cli_convert(int argc, char **argv);
int cli_eval(int argc, char **argv);
int cli_quantize(int argc, char **argv);
int cli_train(int argc, char **argv);

/* Data-parallel runs: tools/mpi/ldnq_mpi_run.h (ldnq_mpi_start, ldnq_mpi_comm,
 * ldnq_mpi_rank, ...), shared with the example programs. */

/* --ranks N (train, quantize, eval): with N > 1 in a plain process, runs
 * run(argc, argv) again as N in-process ranks (ldnq_mpi_run_ranks) and
 * returns its exit code; a usage error (2) under mpirun with more than one
 * rank. -1 when the command goes on as it is: N <= 1, or the caller is one
 * of those ranks already. */
#define CLI_RANKS_HELP                                                                  \
  "run as N data-parallel ranks, threads of this process: bitwise\nwhat `mpirun -np N` " \
  "computes with the same LDNQ_NUM_THREADS\n(N > 2: with LDNQ_MPI_ORDERED=1; docs/CLUSTER.md); not\nunder mpirun"
int cli_ranks(const char *cmd, long long n, int (*run)(int, char **), int argc, char **argv);

/* Prints "ldnq <cmd>: <what>: <status string>: <detail>" to stderr and
 * returns 1. `detail` may be NULL (then ldnq_last_error() is used). */
int cli_fail(const char *cmd, const char *what, ldnq_status st, const char *detail);
/* Writes s as a JSON string literal (with quotes) to f. */
void cli_json_string(FILE *f, const char *s);
/* Wall-clock seconds since an arbitrary origin. */
double cli_now(void);
/* Progress display: on a terminal (stderr) a bar with its rate and the
 * time left (the label is never cut), periodic plain lines otherwise.
 * `label` may be NULL. done <= total. A bar whose `done` goes down starts
 * its rate anew; cli_progress_reset() does so explicitly. */
void cli_progress(const char *label, long done, long total);
void cli_progress_reset(void);
/* Ends a progress display: clears the bar's line (on a terminal). */
void cli_progress_end(void);
/* Whether stderr is a terminal. */
int cli_is_tty(void);

/* Progress of ldnq quantize (quant_progress.c): on a terminal a bar per
 * phase (Hessian, ADMM, cascade with epoch, loss and strikes, evaluations);
 * on and off a terminal one line per finished layer. */
typedef struct cli_qprogress {
  const ldnq_quantizer *q;
  ldnq_network *net;
  int64_t calib_count; /* images in the limited set */
  int64_t eval_batches;
  const char *state_path; /* FILE.state (resumable runs) */
  int tty, layers_done;    /* layers finished, resumed ones included */
  int started;             /* the first callback has run */
  /* the current layer */
  int64_t hess, admm_it, casc_batches;
  double admm_e, casc_loss, prev_loss, top1;
  int strikes, have_top1;
} cli_qprogress;
int cli_qprogress_fn(void *ud, int64_t layer, int64_t n, ldnq_quant_phase phase, int64_t step,
                     double value);
/* Ctrl-C handling: after cli_catch_interrupt(), SIGINT makes the progress
 * callbacks above cancel; cli_interrupted() tells whether it happened. */
void cli_catch_interrupt(void);
int cli_interrupted(void);
/* ldnq_data_progress_fn for an evaluation bar labelled by ud (a string). */
int cli_eval_progress_fn(void *ud, int64_t done, int64_t total);

#endif
