/* ldnq eval: top-1 / top-5 accuracy of a model on a dataset. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void usage(FILE *f) {
  fprintf(f,
          "usage: ldnq eval --arch ARCH (--weights FILE | --init-seed N) --data SPEC\n"
          "                 [--split test|train] [--batch N] [--threads N] [--json]\n"
          "  ARCH   resnet20 | resnet32 | resnet56 | resnet18 | resnet34 | resnet50\n"
          "  FILE   .pth / .safetensors / .ldnq checkpoint (sizes taken from it)\n"
          "  N      --init-seed: a freshly initialised network (throughput tests)\n"
          "  SPEC   cifar10:DIR | cifar10-py:DIR | mnist:DIR | fashion-mnist[:DIR] |\n"
          "         imagefolder:DIR\n"
          "  --batch 128 by default; --threads 2 loader threads by default.\n"
          "  --json: the last stdout line is {\"top1\":..,\"top5\":..,\"images\":..,\"seconds\":..}\n");
}

static int progress(void *ud, int64_t done, int64_t total) {
  (void)ud;
  cli_progress("eval", (long)done, (long)total);
  return 0;
}

/* Integer option value in [lo, hi]; -1 when malformed. */
static long int_arg(const char *s, long lo, long hi) {
  char *end;
  long v = strtol(s, &end, 10);
  return (*s && !*end && v >= lo && v <= hi) ? v : -1;
}

int cli_eval(int argc, char **argv) {
  const char *arch_s = NULL, *weights = NULL, *spec = NULL, *split_s = "test";
  long batch = 128, threads = 2, seed = -1;
  int json = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      usage(stdout);
      return 0;
    } else if (!strcmp(a, "--json")) {
      json = 1;
      continue;
    }
    if (!v) {
      fprintf(stderr, "ldnq eval: %s needs a value\n", a);
      usage(stderr);
      return 2;
    }
    if (!strcmp(a, "--arch")) arch_s = v;
    else if (!strcmp(a, "--weights")) weights = v;
    else if (!strcmp(a, "--data")) spec = v;
    else if (!strcmp(a, "--split")) split_s = v;
    else if (!strcmp(a, "--batch")) batch = int_arg(v, 1, 65536);
    else if (!strcmp(a, "--threads")) threads = int_arg(v, 0, 64);
    else if (!strcmp(a, "--init-seed")) seed = int_arg(v, 0, 0x7fffffffL);
    else {
      fprintf(stderr, "ldnq eval: unknown option '%s'\n", a);
      usage(stderr);
      return 2;
    }
    if (batch < 0 || threads < 0 || (!strcmp(a, "--init-seed") && seed < 0)) {
      fprintf(stderr, "ldnq eval: bad value '%s' for %s\n", v, a);
      return 2;
    }
    i++;
  }
  if (!arch_s || !spec || (!weights) == (seed < 0) || (strcmp(split_s, "test") && strcmp(split_s, "train"))) {
    fprintf(stderr, "ldnq eval: need --arch, --data and exactly one of --weights / --init-seed; "
                    "--split is test or train\n");
    usage(stderr);
    return 2;
  }
  ldnq_arch arch;
  ldnq_status st = ldnq_arch_from_name(arch_s, &arch);
  if (st != LDNQ_OK) return cli_fail("eval", arch_s, st, NULL);
  ldnq_dataset *ds = NULL;
  st = ldnq_dataset_open_spec(spec, strcmp(split_s, "train") ? LDNQ_SPLIT_TEST : LDNQ_SPLIT_TRAIN, &ds);
  if (st != LDNQ_OK) return cli_fail("eval", spec, st, NULL);
  ldnq_network *net = NULL;
  ldnq_loader *loader = NULL;
  int rc = 1;
  if (weights) {
    ldnq_checkpoint *ck = NULL;
    st = ldnq_checkpoint_load(weights, &ck);
    if (st == LDNQ_OK) st = ldnq_network_create_from_checkpoint(arch, ck, &net);
    ldnq_checkpoint_free(ck);
    if (st != LDNQ_OK) {
      cli_fail("eval", weights, st, NULL);
      goto out;
    }
  } else {
    int c = 0, k = 0;
    ldnq_dataset_sample_shape(ds, &c, NULL, NULL);
    ldnq_dataset_num_classes(ds, &k);
    st = ldnq_network_create(arch, c, k, &net);
    if (st == LDNQ_OK) st = ldnq_network_reset_parameters(net, (uint64_t)seed);
    if (st != LDNQ_OK) {
      cli_fail("eval", "network", st, NULL);
      goto out;
    }
  }
  st = ldnq_loader_create(ds, (int)batch, &loader);
  if (st == LDNQ_OK) st = ldnq_loader_set_option(loader, LDNQ_LOADER_THREADS, threads);
  if (st != LDNQ_OK) {
    cli_fail("eval", "loader", st, NULL);
    goto out;
  }
  double top1 = 0, top5 = 0, t0 = cli_now();
  int64_t images = 0;
  st = ldnq_evaluate(net, loader, &top1, &top5, &images, progress, NULL);
  double secs = cli_now() - t0;
  cli_progress_end();
  if (st != LDNQ_OK) {
    cli_fail("eval", "evaluate", st, ldnq_loader_errmsg(loader));
    goto out;
  }
  printf("%s on %s (%s): top-1 %.2f%%  top-5 %.2f%%  (%lld images, %.2f s, %.1f images/s)\n", arch_s, spec,
         split_s, top1, top5, (long long)images, secs, secs > 0 ? (double)images / secs : 0.0);
  if (json)
    printf("{\"top1\": %.4f, \"top5\": %.4f, \"images\": %lld, \"seconds\": %.3f}\n", top1, top5,
           (long long)images, secs);
  rc = 0;
out:
  ldnq_loader_free(loader);
  ldnq_network_free(net);
  ldnq_dataset_free(ds);
  return rc;
}
