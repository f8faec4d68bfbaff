/* ldnq train: trains a base network from scratch (or resumes) with SGD. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* The loss log: complete or absent. Written to PATH.tmp, renamed at the end.
 * The temporary is opened at the first batch, not before the run: under
 * mpirun a rank that fails its checks aborts every rank, and a rank killed
 * that way cannot remove what it had created. */
typedef struct loss_file {
  const char *path; /* NULL: no log (or not this rank) */
  char tmp[4096];
  FILE *f;
  int failed; /* the temporary could not be opened or written */
} loss_file;

static int on_batch(void *ud, int64_t epoch, int64_t batch, int64_t batches, double loss) {
  loss_file *L = ud;
  if (L->path && !L->f && !L->failed && !(L->f = fopen(L->tmp, "w"))) L->failed = 1;
  if (L->failed) return 1; /* cancels: reported as an I/O error on --loss-log */
  if (L->f && fprintf(L->f, "%lld %lld %.9g\n", (long long)epoch + 1, (long long)batch + 1, loss) < 0)
    return L->failed = 1;
  char label[48];
  snprintf(label, sizeof label, "epoch %lld loss %.3f", (long long)epoch + 1, loss);
  cli_progress(label, (long)batch + 1, (long)batches);
  return 0;
}

static int on_epoch(void *ud, int64_t epoch, double loss, double tr1, double te1, double sec) {
  (void)ud;
  cli_progress_end();
  fprintf(ldnq_mpi_log(), "epoch %lld: loss %.4f  train top-1 %.2f%%  test top-1 %.2f%%  %.1f s\n",
          (long long)epoch + 1, loss, tr1, te1, sec);
  return 0;
}

/* The first `limit` samples of ds as a new dataset (for quick runs). */
static ldnq_status head_subset(ldnq_dataset **ds, int64_t limit) {
  int64_t count = 0;
  ldnq_status st = ldnq_dataset_count(*ds, &count);
  if (st != LDNQ_OK || limit <= 0 || limit >= count) return st;
  int64_t *idx = malloc((size_t)limit * sizeof *idx);
  if (!idx) return LDNQ_ERR_NOMEM;
  for (int64_t i = 0; i < limit; i++) idx[i] = i;
  ldnq_subset *s = NULL;
  ldnq_dataset *view = NULL;
  st = ldnq_subset_create(limit, idx, &s);
  if (st == LDNQ_OK) st = ldnq_dataset_subset(*ds, s, &view);
  free(idx);
  ldnq_subset_free(s);
  if (st == LDNQ_OK) {
    ldnq_dataset_free(*ds);
    *ds = view;
  }
  return st;
}

int cli_train(int argc, char **argv) {
  const char *arch_s = NULL, *spec = NULL, *out = NULL, *sched = "onecycle", *loss_log = NULL;
  int resume = 0, json = 0, no_eval = 0, no_nesterov = 0;
  long long epochs = 15, batch = 128, seed = 0, threads = 2, limit = 0, ranks = 1;
  double lr = 0.1, momentum = 0.9, wd = 5e-4;
  arg_opt opts[] = {
      {"--arch", ARG_STRING, &arch_s, "ARCH", "network", .flags = ARG_REQUIRED, .choices = CLI_ARCHS},
      {"--data", ARG_STRING, &spec, "SPEC", CLI_SPECS "\n(train split to train, test split to evaluate)",
       .flags = ARG_REQUIRED},
      {"--out", ARG_STRING, &out, "FILE", "best network (.pth/.safetensors/.ldnq); also FILE.last,\nFILE.state",
       .flags = ARG_REQUIRED},
      {"--epochs", ARG_INT, &epochs, "N", "epochs", 1, 1000000, .flags = 0},
      {"--lr", ARG_DOUBLE, &lr, "X", "peak / base learning rate", 0, 100, .flags = 0},
      {"--batch", ARG_INT, &batch, "N", "batch size", 1, 65536, .flags = 0},
      {"--momentum", ARG_DOUBLE, &momentum, "X", "SGD momentum", 0, 0.999999, .flags = 0},
      {"--no-nesterov", ARG_FLAG, &no_nesterov, NULL, "plain momentum instead of Nesterov's", .flags = 0},
      {"--wd", ARG_DOUBLE, &wd, "X", "weight decay", 0, 1, .flags = 0},
      {"--schedule", ARG_STRING, &sched, "S", "learning-rate schedule", .choices = "onecycle,cosine,step"},
      {"--seed", ARG_INT, &seed, "N", "shuffling / augmentation / initialisation seed", 0, 9007199254740992.0, .flags = 0},
      {"--threads", ARG_INT, &threads, "N", "data loading threads", 0, 64, .flags = 0},
      {"--limit-train", ARG_INT, &limit, "N", "train on the first N training images only (smoke runs)",
       0, 1e15, .def = "all"},
      {"--no-eval", ARG_FLAG, &no_eval, NULL, "skip the per-epoch test evaluation (benchmarks)", .flags = 0},
      {"--resume", ARG_FLAG, &resume, NULL, "continue from FILE.state / FILE.last when present", .flags = 0},
      {"--json", ARG_FLAG, &json, NULL,
       "stdout holds only {\"top1\", \"epochs\", \"seconds\"}; text goes to stderr", .flags = 0},
      {"--loss-log", ARG_STRING, &loss_log, "FILE",
       "every batch's mean loss, lines \"epoch batch loss\" (written when\nthe run succeeds; rank 0 under mpirun)", .flags = 0},
      {"--ranks", ARG_INT, &ranks, "N", CLI_RANKS_HELP, 1, 64, .flags = 0},
  };
  arg_spec sp = {"ldnq train", "ldnq train --arch ARCH --data SPEC --out FILE [options]",
                 "Trains a base network from scratch (or resumes) with SGD.", opts,
                 (int)(sizeof opts / sizeof opts[0]), 0, 0, NULL};
  int r = args_parse(&sp, argc, argv, 1, NULL, NULL);
  if (r) return r == ARGS_HELP ? 0 : 2;
  long long nesterov = !no_nesterov;
  int schedule = !strcmp(sched, "step") ? LDNQ_SCHEDULE_STEP
                 : !strcmp(sched, "cosine") ? LDNQ_SCHEDULE_COSINE : LDNQ_SCHEDULE_ONECYCLE;
  ldnq_arch arch;
  ldnq_status st = ldnq_arch_from_name(arch_s, &arch);
  if (st != LDNQ_OK) return cli_fail("train", "--arch", st, NULL);
  ldnq_format out_fmt;
  if ((st = ldnq_format_from_path(out, &out_fmt)) != LDNQ_OK) return cli_fail("train", "--out", st, NULL);
  if (!ldnq_mpi_ranks_thread() && args_check_output("ldnq train", "--out", out)) return 1;
  if ((r = cli_ranks("train", ranks, cli_train, argc, argv)) >= 0) return r;

  ldnq_trainer *t = NULL;
  ldnq_dataset *train = NULL, *test = NULL;
  ldnq_network *net = NULL;
  int rc = 1, channels = 0, classes = 0;
  const char *what = "options";
  if ((st = ldnq_trainer_create(&t)) != LDNQ_OK) goto done;
  if ((st = ldnq_trainer_set_int(t, LDNQ_T_EPOCHS, epochs)) != LDNQ_OK ||
      (st = ldnq_trainer_set_int(t, LDNQ_T_BATCH, batch)) != LDNQ_OK ||
      (st = ldnq_trainer_set_int(t, LDNQ_T_SEED, seed)) != LDNQ_OK ||
      (st = ldnq_trainer_set_int(t, LDNQ_T_THREADS, threads)) != LDNQ_OK ||
      (st = ldnq_trainer_set_int(t, LDNQ_T_NESTEROV, nesterov)) != LDNQ_OK ||
      (st = ldnq_trainer_set_int(t, LDNQ_T_SCHEDULE, schedule)) != LDNQ_OK ||
      (st = ldnq_trainer_set_double(t, LDNQ_T_LR, lr)) != LDNQ_OK ||
      (st = ldnq_trainer_set_double(t, LDNQ_T_MOMENTUM, momentum)) != LDNQ_OK ||
      (st = ldnq_trainer_set_double(t, LDNQ_T_WEIGHT_DECAY, wd)) != LDNQ_OK ||
      (st = ldnq_trainer_set_comm(t, ldnq_mpi_comm())) != LDNQ_OK) { /* mpirun: data parallel */
    rc = cli_fail("train", what, st, ldnq_trainer_errmsg(t));
    rc = 2;
    goto done;
  }
  what = "--data";
  if ((st = ldnq_dataset_open_spec(spec, LDNQ_SPLIT_TRAIN, &train)) != LDNQ_OK ||
      (st = ldnq_dataset_open_spec(spec, LDNQ_SPLIT_TEST, &test)) != LDNQ_OK ||
      (st = head_subset(&train, limit)) != LDNQ_OK ||
      (st = ldnq_dataset_sample_shape(train, &channels, NULL, NULL)) != LDNQ_OK ||
      (st = ldnq_dataset_num_classes(train, &classes)) != LDNQ_OK)
    goto fail;
  what = "network";
  if ((st = ldnq_network_create(arch, channels, classes, &net)) != LDNQ_OK ||
      (st = ldnq_network_reset_parameters(net, (uint64_t)seed)) != LDNQ_OK)
    goto fail;
  loss_file lf = {NULL, "", NULL, 0};
  if (loss_log && ldnq_mpi_rank() == 0) { /* fail now, before training, if it cannot be written */
    lf.path = loss_log;
    snprintf(lf.tmp, sizeof lf.tmp, "%s.tmp", loss_log);
    FILE *probe = fopen(lf.tmp, "w");
    if (!probe) {
      rc = cli_fail("train", "--loss-log", LDNQ_ERR_IO, loss_log);
      goto done;
    }
    fclose(probe);
    remove(lf.tmp);
  }
  ldnq_trainer_set_progress(t, on_batch, &lf);
  ldnq_trainer_set_epoch_callback(t, on_epoch, NULL);
  what = "training";
  st = ldnq_trainer_run(t, net, train, no_eval ? NULL : test, out, resume);
  cli_progress_end();
  if (lf.path) {
    /* no batch ran (a finished run resumed): an empty log */
    if (st == LDNQ_OK && !lf.f && !lf.failed && !(lf.f = fopen(lf.tmp, "w"))) lf.failed = 1;
    if (lf.f && fclose(lf.f) != 0) lf.failed = 1;
    if (st == LDNQ_OK && !lf.failed && rename(lf.tmp, loss_log) == 0) lf.path = NULL;
    if (lf.path) remove(lf.tmp);
    if (lf.path && (st == LDNQ_OK || lf.failed)) {
      rc = cli_fail("train", "--loss-log", LDNQ_ERR_IO, loss_log);
      goto done;
    }
  }
  if (st != LDNQ_OK) {
    rc = cli_fail("train", what, st, ldnq_trainer_errmsg(t));
    goto done;
  }
  double best, secs, per;
  int64_t done_e;
  ldnq_trainer_result_double(t, LDNQ_TR_BEST_TOP1, &best);
  ldnq_trainer_result_int(t, LDNQ_TR_EPOCHS_DONE, &done_e);
  ldnq_trainer_result_double(t, LDNQ_TR_SECONDS, &secs);
  ldnq_trainer_result_double(t, LDNQ_TR_EPOCH_SECONDS, &per);
  fprintf(ldnq_mpi_log(), "best test top-1 %.2f%% after %lld epochs, %.1f s (%.1f s/epoch); saved %s\n",
          best, (long long)done_e, secs, per, out);
  if (json)
    fprintf(ldnq_mpi_out(), "{\"top1\": %.4f, \"epochs\": %lld, \"seconds\": %.3f}\n", best, (long long)done_e,
           secs);
  rc = 0;
  goto done;
fail:
  rc = cli_fail("train", what, st, NULL);
done:
  ldnq_network_free(net);
  ldnq_dataset_free(train);
  ldnq_dataset_free(test);
  ldnq_trainer_free(t);
  return rc;
}
