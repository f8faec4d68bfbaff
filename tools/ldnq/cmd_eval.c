/* ldnq eval: top-1 / top-5 accuracy of a model on a dataset. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int progress(void *ud, int64_t done, int64_t total) {
  (void)ud;
  cli_progress("eval", (long)done, (long)total);
  return 0;
}

int cli_eval(int argc, char **argv) {
  const char *arch_s = NULL, *weights = NULL, *spec = NULL, *split_s = "test";
  long long batch = 128, threads = 2, seed = -1, ranks = 1;
  int json = 0;
  arg_opt opts[] = {
      {"--arch", ARG_STRING, &arch_s, "ARCH", "network", .flags = ARG_REQUIRED, .choices = CLI_ARCHS},
      {"--weights", ARG_STRING, &weights, "FILE", ".pth / .safetensors / .ldnq checkpoint (sizes taken from it)", .flags = 0},
      {"--init-seed", ARG_INT, &seed, "N", "instead of --weights: a freshly initialised network\n(throughput tests)",
       0, 2147483647.0, .def = "none"},
      {"--data", ARG_STRING, &spec, "SPEC", CLI_SPECS, .flags = ARG_REQUIRED},
      {"--split", ARG_STRING, &split_s, "S", "split to evaluate", .choices = "test,train"},
      {"--batch", ARG_INT, &batch, "N", "batch size", 1, 65536, .flags = 0},
      {"--threads", ARG_INT, &threads, "N", "loader threads", 0, 64, .flags = 0},
      {"--json", ARG_FLAG, &json, NULL,
       "stdout holds only {\"top1\",\"top5\",\"images\",\"seconds\"};\ntext and progress go to stderr", .flags = 0},
      {"--ranks", ARG_INT, &ranks, "N", CLI_RANKS_HELP, 1, 64, .flags = 0},
  };
  arg_spec sp = {"ldnq eval", "ldnq eval --arch ARCH (--weights FILE | --init-seed N) --data SPEC [options]",
                 "Top-1 / top-5 accuracy of a model on a dataset split.", opts,
                 (int)(sizeof opts / sizeof opts[0]), 0, 0, NULL};
  int r = args_parse(&sp, argc, argv, 1, NULL, NULL);
  if (r) return r == ARGS_HELP ? 0 : 2;
  if (!weights == !args_given(&sp, "--init-seed")) {
    fprintf(ldnq_mpi_log(), "ldnq eval: give exactly one of --weights FILE and --init-seed N\n");
    return 2;
  }
  if ((r = cli_ranks("eval", ranks, cli_eval, argc, argv)) >= 0) return r;
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
  if (st == LDNQ_OK) st = ldnq_loader_set_comm(loader, ldnq_mpi_comm()); /* mpirun: sharded */
  if (st == LDNQ_OK) st = ldnq_loader_set_progress(loader, progress, NULL);
  if (st != LDNQ_OK) {
    cli_fail("eval", "loader", st, NULL);
    goto out;
  }
  double top1 = 0, top5 = 0, t0 = cli_now();
  int64_t images = 0;
  st = ldnq_evaluate_v2(net, loader, &top1, &top5, &images);
  double secs = cli_now() - t0;
  cli_progress_end();
  if (st != LDNQ_OK) {
    cli_fail("eval", "evaluate", st, ldnq_loader_errmsg(loader));
    goto out;
  }
  /* With --json, stdout holds the JSON only. */
  fprintf(json ? ldnq_mpi_log() : ldnq_mpi_out(), "%s on %s (%s): top-1 %.2f%%  top-5 %.2f%%  (%lld images, %.2f s, %.1f images/s)\n", arch_s, spec,
         split_s, top1, top5, (long long)images, secs, secs > 0 ? (double)images / secs : 0.0);
  if (json)
    fprintf(ldnq_mpi_out(), "{\"top1\": %.4f, \"top5\": %.4f, \"images\": %lld, \"seconds\": %.3f}\n", top1, top5,
           (long long)images, secs);
  rc = 0;
out:
  ldnq_loader_free(loader);
  ldnq_network_free(net);
  ldnq_dataset_free(ds);
  return rc;
}
