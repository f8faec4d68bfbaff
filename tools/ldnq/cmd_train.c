/* ldnq train: trains a base network from scratch (or resumes) with SGD. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void help(FILE *f) {
  fprintf(f,
          "usage: ldnq train --arch ARCH --data SPEC --epochs N --out FILE [options]\n"
          "  --arch A         resnet20|resnet32|resnet56|resnet18|resnet34|resnet50\n"
          "  --data SPEC      fashion-mnist[:DIR], cifar10:DIR, cifar10-py:DIR, mnist:DIR,\n"
          "                   imagefolder:DIR (train split to train, test split to evaluate)\n"
          "  --epochs N       epochs (15)\n"
          "  --lr X           peak / base learning rate (0.1)\n"
          "  --batch N        batch size (128)\n"
          "  --momentum X     SGD momentum (0.9), --no-nesterov for plain momentum\n"
          "  --wd X           weight decay (5e-4)\n"
          "  --schedule S     onecycle|cosine|step (onecycle)\n"
          "  --seed N         shuffling / augmentation / initialisation seed (0)\n"
          "  --threads N      data loading threads (2)\n"
          "  --limit-train N  train on the first N training images only (smoke runs)\n"
          "  --no-eval        skip the per-epoch test evaluation (benchmarks)\n"
          "  --out FILE       best network (.pth/.safetensors/.ldnq); FILE.last, FILE.state\n"
          "  --resume         continue from FILE.state / FILE.last when present\n"
          "  --json           last line: {\"top1\": .., \"epochs\": .., \"seconds\": ..}\n");
}

static int on_batch(void *ud, int64_t epoch, int64_t batch, int64_t batches, double loss) {
  (void)ud;
  char label[48];
  snprintf(label, sizeof label, "epoch %lld loss %.3f", (long long)epoch + 1, loss);
  cli_progress(label, (long)batch + 1, (long)batches);
  return 0;
}

static int on_epoch(void *ud, int64_t epoch, double loss, double tr1, double te1, double sec) {
  (void)ud;
  cli_progress_end();
  fprintf(stderr, "epoch %lld: loss %.4f  train top-1 %.2f%%  test top-1 %.2f%%  %.1f s\n",
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
  const char *arch_s = NULL, *spec = NULL, *out = NULL, *sched = "onecycle";
  int resume = 0, json = 0, no_eval = 0;
  long long epochs = 15, batch = 128, seed = 0, threads = 2, limit = 0, nesterov = 1;
  double lr = 0.1, momentum = 0.9, wd = 5e-4;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) { help(stdout); return 0; }
    else if (!strcmp(a, "--resume")) resume = 1;
    else if (!strcmp(a, "--json")) json = 1;
    else if (!strcmp(a, "--no-eval")) no_eval = 1;
    else if (!strcmp(a, "--no-nesterov")) nesterov = 0;
    else if (!v) { help(stderr); return 2; }
    else if (!strcmp(a, "--arch")) arch_s = argv[++i];
    else if (!strcmp(a, "--data")) spec = argv[++i];
    else if (!strcmp(a, "--out")) out = argv[++i];
    else if (!strcmp(a, "--schedule")) sched = argv[++i];
    else if (!strcmp(a, "--epochs")) epochs = atoll(argv[++i]);
    else if (!strcmp(a, "--batch")) batch = atoll(argv[++i]);
    else if (!strcmp(a, "--seed")) seed = atoll(argv[++i]);
    else if (!strcmp(a, "--threads")) threads = atoll(argv[++i]);
    else if (!strcmp(a, "--limit-train")) limit = atoll(argv[++i]);
    else if (!strcmp(a, "--lr")) lr = atof(argv[++i]);
    else if (!strcmp(a, "--momentum")) momentum = atof(argv[++i]);
    else if (!strcmp(a, "--wd")) wd = atof(argv[++i]);
    else { help(stderr); return 2; }
  }
  int schedule = !strcmp(sched, "step") ? LDNQ_SCHEDULE_STEP
                 : !strcmp(sched, "cosine") ? LDNQ_SCHEDULE_COSINE
                 : !strcmp(sched, "onecycle") ? LDNQ_SCHEDULE_ONECYCLE : -1;
  if (!arch_s || !spec || !out || schedule < 0) { help(stderr); return 2; }
  ldnq_arch arch;
  ldnq_status st = ldnq_arch_from_name(arch_s, &arch);
  if (st != LDNQ_OK) return cli_fail("train", "--arch", st, NULL);

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
      (st = ldnq_trainer_set_double(t, LDNQ_T_WEIGHT_DECAY, wd)) != LDNQ_OK) {
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
  ldnq_trainer_set_progress(t, on_batch, NULL);
  ldnq_trainer_set_epoch_callback(t, on_epoch, NULL);
  what = "training";
  st = ldnq_trainer_run(t, net, train, no_eval ? NULL : test, out, resume);
  cli_progress_end();
  if (st != LDNQ_OK) {
    rc = cli_fail("train", what, st, ldnq_trainer_errmsg(t));
    goto done;
  }
  double best, done_e, secs, per;
  ldnq_trainer_result(t, LDNQ_TR_BEST_TOP1, &best);
  ldnq_trainer_result(t, LDNQ_TR_EPOCHS_DONE, &done_e);
  ldnq_trainer_result(t, LDNQ_TR_SECONDS, &secs);
  ldnq_trainer_result(t, LDNQ_TR_EPOCH_SECONDS, &per);
  fprintf(stderr, "best test top-1 %.2f%% after %.0f epochs, %.1f s (%.1f s/epoch); saved %s\n",
          best, done_e, secs, per, out);
  if (json) printf("{\"top1\": %.4f, \"epochs\": %.0f, \"seconds\": %.3f}\n", best, done_e, secs);
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
