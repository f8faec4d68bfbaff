/* cifar10_resnet: the paper's CIFAR-10 flow with libldnq's public API.
 *
 *   cifar10_resnet train    --depth 20|32|56 --data D [--epochs N] [--lr X] [--out F]
 *   cifar10_resnet eval     --depth 20|32|56 --data D --weights F
 *   cifar10_resnet quantize --depth 20|32|56 --data D --weights F [--levels L]
 *                           [--ratio R] [--resample] [--per-channel] [--resume]
 *                           [--out F.ldnq]
 *                           [--profile improved|seed]
 *
 * D is a CIFAR-10 folder (binary or python version) or any dataset spec
 * ("fashion-mnist", "fashion-mnist:DIR", "mnist:DIR", ...). quantize keeps
 * its limited subset in <out>.subset and reuses it; --resample draws a new
 * one. Quick runs: --limit-train N, --hessian-batches N, --no-cascade.
 *
 * Built with MPI (tools/mpi, found by CMake), `mpirun -np N cifar10_resnet
 * ...` runs data parallel: each rank takes its share of every batch, the
 * sums are reduced, and only rank 0 prints and writes (docs/CLUSTER.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ldnq/ldnq.h>

#include "args.h"
#include "ldnq_mpi_run.h"

static ldnq_status st;
#define TRY(what, call) \
  do { if ((st = (call)) != LDNQ_OK) { fail(what); goto out; } } while (0)
static void fail(const char *what) {
  fprintf(ldnq_mpi_err(), "cifar10_resnet%s: %s: %s: %s\n", ldnq_mpi_who(), what,
          ldnq_status_string(st), ldnq_last_error());
}

/* A folder is tried as CIFAR-10 binary, then python; a spec as given. */
static ldnq_status open_data(const char *d, ldnq_split split, ldnq_dataset **out) {
  char spec[4096];
  if (strchr(d, ':') || !strncmp(d, "fashion-mnist", 13)) return ldnq_dataset_open_spec(d, split, out);
  snprintf(spec, sizeof spec, "cifar10:%s", d);
  if (ldnq_dataset_open_spec(spec, split, out) == LDNQ_OK) return LDNQ_OK;
  snprintf(spec, sizeof spec, "cifar10-py:%s", d);
  return ldnq_dataset_open_spec(spec, split, out);
}

static int on_epoch(void *ud, int64_t e, double loss, double tr1, double te1, double sec) {
  (void)ud;
  printf("epoch %lld: loss %.4f train %.2f%% test %.2f%% (%.1f s)\n", (long long)e + 1, loss, tr1,
         te1, sec);
  fflush(stdout);
  return 0;
}

static int run(int argc, char **argv);

/* Under mpirun (a build with MPI): one rank of a data-parallel run. */
int main(int argc, char **argv) { return ldnq_mpi_main(argc, argv, run); }

static int run(int argc, char **argv) {
  const ldnq_comm *comm = ldnq_mpi_comm(); /* NULL: one process */
  const char *mode = NULL, *data = NULL, *weights = NULL, *out = NULL;
  const char *profile_s = "improved";
  int resample = 0, no_cascade = 0, per_channel = 0, resume = 0;
  long long depth = 20, levels = 3, epochs = 15, limit = 0, hbatches = -1;
  double lr = 0.1, ratio = 0.01;
  arg_opt opts[] = {
      {"--depth", ARG_INT, &depth, "D", "ResNet depth", .choices = "20,32,56"},
      {"--data", ARG_STRING, &data, "D", "CIFAR-10 folder (binary or python) or a dataset spec\n"
       "(fashion-mnist[:DIR], mnist:DIR, ...)", .flags = ARG_REQUIRED},
      {"--weights", ARG_STRING, &weights, "F", "trained model (eval, quantize)", .flags = 0},
      {"--out", ARG_STRING, &out, "F", "output model", .def = "resnetD.pth / resnetD-quantized.ldnq"},
      {"--epochs", ARG_INT, &epochs, "N", "train: epochs", 1, 1000000, .flags = 0},
      {"--lr", ARG_DOUBLE, &lr, "X", "train: peak learning rate", 0, 100, .flags = 0},
      {"--limit-train", ARG_INT, &limit, "N", "train: the first N images only (quick runs)", 0, 1e15,
       .def = "all"},
      {"--levels", ARG_INT, &levels, "L", "quantize: levels", .choices = "3,5,7,9,11"},
      {"--ratio", ARG_DOUBLE, &ratio, "R", "quantize: fraction of the training set in the limited set",
       1e-9, 1, .flags = 0},
      {"--resample", ARG_FLAG, &resample, NULL, "quantize: draw a new limited set instead of reusing\n"
       "<out>.subset", .flags = 0},
      {"--hessian-batches", ARG_INT, &hbatches, "N", "quantize: Hessian batches", 1, 1000000,
       .def = "the paper's 101"},
      {"--no-cascade", ARG_FLAG, &no_cascade, NULL, "quantize: no cascade after each layer", .flags = 0},
      {"--per-channel", ARG_FLAG, &per_channel, NULL, "quantize: one scale per output channel", .flags = 0},
      {"--resume", ARG_FLAG, &resume, NULL, "quantize: continue a stopped run from <out>.state (kept\n"
       "after every layer, removed once --out is written)", .flags = 0},
      {"--profile", ARG_STRING, &profile_s, "P", "quantize: option defaults: improved, or seed (the\n"
       "published procedure exactly)", .flags = 0, .choices = "improved,seed"},
  };
  arg_spec spec = {"cifar10_resnet", "cifar10_resnet train|eval|quantize --data D [options]",
                   "The paper's CIFAR-10 flow: train a base ResNet, evaluate it, quantize it with\n"
                   "L-DNQ. quantize keeps its limited set in <out>.subset and reuses it.",
                   opts, (int)(sizeof opts / sizeof opts[0]), 1, 1, "a mode: train, eval or quantize"};
  int r = args_parse(&spec, argc, argv, 1, &mode, NULL);
  if (r) return r == ARGS_HELP ? 0 : 2;
  int train_mode = !strcmp(mode, "train"), quant_mode = !strcmp(mode, "quantize");
  if (!train_mode && !quant_mode && strcmp(mode, "eval")) {
    fprintf(stderr, "cifar10_resnet: unknown mode '%s' (train, eval or quantize)\n", mode);
    return 2;
  }
  static const char *const need_weights[] = {"--weights", NULL};
  if (!train_mode && args_require(&spec, need_weights)) return 2;
  int cascade = !no_cascade;
  int profile = !strcmp(profile_s, "seed") ? LDNQ_PROFILE_SEED : LDNQ_PROFILE_IMPROVED;
  char arch_name[24], def_out[64];
  snprintf(arch_name, sizeof arch_name, "resnet%lld", depth);
  snprintf(def_out, sizeof def_out, "%s%s", arch_name, train_mode ? ".pth" : "-quantized.ldnq");
  if (!out) out = def_out;
  /* Output paths are checked before any work: a long run must not fail at its end. */
  char subset_path[4096];
  snprintf(subset_path, sizeof subset_path, "%s.subset", out);
  ldnq_format fmt;
  if ((train_mode || quant_mode) && (st = ldnq_format_from_path(out, &fmt)) != LDNQ_OK) {
    fail("--out");
    return 1;
  }
  if ((train_mode || quant_mode) && args_check_output("cifar10_resnet", "--out", out)) return 1;
  if (quant_mode && args_check_output("cifar10_resnet", "subset file", subset_path)) return 1;

  ldnq_dataset *train = NULL, *test = NULL, *calib = NULL;
  ldnq_network *net = NULL;
  ldnq_trainer *t = NULL;
  ldnq_quantizer *q = NULL;
  ldnq_loader *eval = NULL;
  ldnq_subset *sub = NULL;
  ldnq_quant_report *rep = NULL;
  ldnq_checkpoint *ck = NULL;
  ldnq_arch arch;
  int rc = 1, channels = 0, classes = 0;
  double top1 = 0, top5 = 0;
  TRY("--depth", ldnq_arch_from_name(arch_name, &arch));
  TRY("--data (train)", open_data(data, LDNQ_SPLIT_TRAIN, &train));
  TRY("--data (test)", open_data(data, LDNQ_SPLIT_TEST, &test));
  TRY("--data", ldnq_dataset_sample_shape(train, &channels, NULL, NULL));
  TRY("--data", ldnq_dataset_num_classes(train, &classes));
  TRY("network", ldnq_network_create(arch, channels, classes, &net));
  if (weights) TRY("--weights", ldnq_network_load_v2(net, weights, 0, NULL, 0));
  TRY("loader", ldnq_loader_create(test, 256, &eval));
  TRY("loader", ldnq_loader_set_comm(eval, comm)); /* evaluations sharded, counts summed */

  if (train_mode) {
    if (limit > 0) { /* the first `limit` images, for quick runs */
      int64_t *idx = malloc((size_t)limit * sizeof *idx);
      if (!idx) goto out;
      for (long long i = 0; i < limit; i++) idx[i] = i;
      st = ldnq_subset_create(limit, idx, &sub);
      free(idx);
      if (st != LDNQ_OK) { fail("--limit-train"); goto out; }
      TRY("--limit-train", ldnq_dataset_subset(train, sub, &calib));
    }
    TRY("trainer", ldnq_trainer_create(&t));
    TRY("trainer", ldnq_trainer_set_comm(t, comm)); /* rank 0 writes --out */
    TRY("--epochs", ldnq_trainer_set_int(t, LDNQ_T_EPOCHS, epochs));
    TRY("--lr", ldnq_trainer_set_double(t, LDNQ_T_LR, lr));
    TRY("trainer", ldnq_trainer_set_epoch_callback(t, on_epoch, NULL));
    TRY("training", ldnq_trainer_run(t, net, calib ? calib : train, test, out, 1));
    TRY("result", ldnq_trainer_result_double(t, LDNQ_TR_BEST_TOP1, &top1));
    printf("%s: best test top-1 %.2f%% -> %s\n", arch_name, top1, out);
  } else if (!quant_mode) {
    TRY("evaluation", ldnq_evaluate_v2(net, eval, &top1, &top5, NULL));
    printf("%s %s: top-1 %.2f%% top-5 %.2f%%\n", arch_name, weights, top1, top5);
  } else {
    /* The limited set: reuse <out>.subset unless --resample. Under mpirun
     * rank 0 decides (reuse, or the seed of a new one) for every rank and
     * is the one that writes it. */
    uint64_t pick[2] = {!resample && ldnq_subset_load(subset_path, &sub) == LDNQ_OK,
                        resample ? (uint64_t)time(NULL) : 0};
    if (ldnq_mpi_share(pick, sizeof pick)) {
      st = LDNQ_ERR_CALLBACK;
      fail("broadcast of the limited set's seed");
      goto out;
    }
    if (pick[0] && !sub) TRY("subset file", ldnq_subset_load(subset_path, &sub));
    if (!pick[0]) {
      ldnq_subset_free(sub);
      sub = NULL;
      TRY("--ratio", ldnq_subset_sample(train, ratio, 0, 0, pick[1], &sub));
      if (ldnq_mpi_rank() == 0) TRY("subset file", ldnq_subset_save(sub, subset_path));
    }
    int64_t n = 0;
    ldnq_subset_count(sub, &n);
    TRY("subset", ldnq_dataset_subset(train, sub, &calib));
    TRY("evaluation", ldnq_evaluate_v2(net, eval, &top1, &top5, NULL));
    printf("full precision: top-1 %.2f%% top-5 %.2f%%; limited set %lld images (%s)\n", top1,
           top5, (long long)n, subset_path);
    TRY("quantizer", ldnq_quantizer_create(&q));
    TRY("quantizer", ldnq_quantizer_set_comm(q, comm)); /* rank 0 writes the state */
    TRY("--levels", ldnq_quantizer_set_int(q, LDNQ_Q_LEVELS, levels));
    TRY("--no-cascade", ldnq_quantizer_set_int(q, LDNQ_Q_CASCADE, cascade));
    TRY("--profile", ldnq_quantizer_set_int(q, LDNQ_Q_PROFILE, profile));
    /* Only when given: otherwise the profile's default stands. */
    if (args_given(&spec, "--per-channel"))
      TRY("--per-channel", ldnq_quantizer_set_int(q, LDNQ_Q_PER_CHANNEL, per_channel));
    if (hbatches > 0) TRY("--hessian-batches", ldnq_quantizer_set_int(q, LDNQ_Q_HESSIAN_BATCHES, hbatches));
    char state[4200]; /* the run's state after every layer (--resume) */
    snprintf(state, sizeof state, "%s.state", out);
    TRY("--resume", ldnq_quantizer_set_state_path(
                        q, state, LDNQ_STATE_KEEP | (resume ? LDNQ_STATE_RESUME : 0u)));
    TRY("quantize", ldnq_quantizer_run_v2(q, net, calib, eval, &rep));
    TRY("summary", ldnq_quant_report_summary(rep, &top1, &top5, NULL));
    printf("L-DNQ %lld levels: top-1 %.2f%% top-5 %.2f%% -> %s\n", levels, top1, top5, out);
    fflush(stdout); /* printed even if the write below fails */
    TRY("checkpoint", ldnq_quant_report_checkpoint(rep, net, &ck));
    if (ldnq_mpi_rank() == 0) { /* one writer in a data-parallel run */
      TRY("--out", ldnq_checkpoint_save(ck, out, fmt));
      remove(state); /* the run is complete */
    }
  }
  rc = 0;
out:
  ldnq_checkpoint_free(ck);
  ldnq_quant_report_free(rep);
  ldnq_quantizer_free(q);
  ldnq_subset_free(sub);
  ldnq_loader_free(eval);
  ldnq_trainer_free(t);
  ldnq_network_free(net);
  ldnq_dataset_free(calib);
  ldnq_dataset_free(train);
  ldnq_dataset_free(test);
  return rc;
}
