/* imagenet_resnet: L-DNQ on a torchvision ResNet18/34/50 with a limited
 * subset of an ImageNet-layout folder (DIR/train/<class>/..., DIR/val/...).
 *
 *   imagenet_resnet quantize --depth 18|34|50 --weights resnet18.pth --data DIR
 *                   [--levels L] [--ratio R | --count N] [--out F.ldnq]
 *                   [--profile improved|seed]
 *                   [--hessian-batches N] [--max-iter N] [--no-cascade] [--resume]
 *                   [--threads N]
 *   imagenet_resnet eval --depth 18|34|50 --weights F --data DIR
 *
 * The subset is class-balanced (the paper's limited set); top-1 and top-5
 * are measured on DIR/val before and after quantization.
 *
 * Built with MPI (tools/mpi, found by CMake), `mpirun -np N imagenet_resnet
 * ...` runs data parallel: each rank takes its share of every batch, the
 * sums are reduced, and only rank 0 prints and writes (docs/CLUSTER.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldnq/ldnq.h>

#include "args.h"
#include "ldnq_mpi_run.h"

static ldnq_status st;
#define TRY(what, call) \
  do { if ((st = (call)) != LDNQ_OK) { fail(what); goto out; } } while (0)
static void fail(const char *what) {
  fprintf(ldnq_mpi_err(), "imagenet_resnet%s: %s: %s: %s\n", ldnq_mpi_who(), what,
          ldnq_status_string(st), ldnq_last_error());
}

static int on_eval(void *ud, int64_t done, int64_t total) {
  (void)ud;
  if (done == total || done % 50 == 0) fprintf(stderr, "  evaluated %lld/%lld batches\n",
                                               (long long)done, (long long)total);
  return 0;
}

static int on_quant(void *ud, int64_t layer, int64_t n, ldnq_quant_phase phase, int64_t step,
                    double v) {
  (void)ud; (void)step;
  if (phase == LDNQ_PHASE_LAYER_DONE) fprintf(stderr, "  layer %lld/%lld quantized (%.1f s)\n",
                                              (long long)layer + 1, (long long)n, v);
  return 0;
}

static int run(int argc, char **argv);

/* Under mpirun (a build with MPI): one rank of a data-parallel run. */
int main(int argc, char **argv) { return ldnq_mpi_main(argc, argv, run); }

static int run(int argc, char **argv) {
  const ldnq_comm *comm = ldnq_mpi_comm(); /* NULL: one process */
  const char *mode = NULL, *dir = NULL, *weights = NULL, *out = "resnet-quantized.ldnq";
  const char *profile_s = "improved";
  int no_cascade = 0, resume = 0;
  long long depth = 18, levels = 3, count = 0, hbatches = -1, maxiter = -1, threads = 2;
  double ratio = 0.01;
  arg_opt opts[] = {
      {"--depth", ARG_INT, &depth, "D", "ResNet depth", .choices = "18,34,50"},
      {"--weights", ARG_STRING, &weights, "F", "torchvision-style model (.pth, .safetensors)",
       .flags = ARG_REQUIRED},
      {"--data", ARG_STRING, &dir, "DIR", "ImageNet-layout folder: DIR/train/<class>/...,\nDIR/val/<class>/...",
       .flags = ARG_REQUIRED},
      {"--out", ARG_STRING, &out, "F", "quantize: output model", .flags = 0},
      {"--levels", ARG_INT, &levels, "L", "quantize: levels", .choices = "3,5,7,9,11"},
      {"--ratio", ARG_DOUBLE, &ratio, "R", "quantize: fraction of DIR/train in the limited set", 1e-9, 1, .flags = 0},
      {"--count", ARG_INT, &count, "N", "quantize: images in the limited set instead of --ratio", 0, 1e12,
       .def = "none"},
      {"--hessian-batches", ARG_INT, &hbatches, "N", "quantize: Hessian batches", 1, 1000000,
       .def = "the paper's 101"},
      {"--max-iter", ARG_INT, &maxiter, "N", "quantize: ADMM iterations", 0, 100000, .def = "100"},
      {"--no-cascade", ARG_FLAG, &no_cascade, NULL, "quantize: no cascade after each layer", .flags = 0},
      {"--resume", ARG_FLAG, &resume, NULL, "quantize: continue a stopped run from <out>.state (kept\n"
       "after every layer, removed once --out is written)", .flags = 0},
      {"--profile", ARG_STRING, &profile_s, "P", "quantize: option defaults: improved, or seed (the\n"
       "published procedure exactly)", .flags = 0, .choices = "improved,seed"},
      {"--threads", ARG_INT, &threads, "N", "image decoding threads", 0, 64, .flags = 0},
  };
  arg_spec spec_ = {"imagenet_resnet", "imagenet_resnet quantize|eval --weights F --data DIR [options]",
                    "L-DNQ on a torchvision ResNet18/34/50 with a class-balanced limited set; top-1\n"
                    "and top-5 on DIR/val before and after.",
                    opts, (int)(sizeof opts / sizeof opts[0]), 1, 1, "a mode: quantize or eval"};
  int r = args_parse(&spec_, argc, argv, 1, &mode, NULL);
  if (r) return r == ARGS_HELP ? 0 : 2;
  int quant_mode = !strcmp(mode, "quantize");
  if (!quant_mode && strcmp(mode, "eval")) {
    fprintf(stderr, "imagenet_resnet: unknown mode '%s' (quantize or eval)\n", mode);
    return 2;
  }
  int cascade = !no_cascade;
  int profile = !strcmp(profile_s, "seed") ? LDNQ_PROFILE_SEED : LDNQ_PROFILE_IMPROVED;
  ldnq_format fmt;
  if (quant_mode) { /* the output path is checked before hours of work */
    if ((st = ldnq_format_from_path(out, &fmt)) != LDNQ_OK) {
      fail("--out");
      return 1;
    }
    if (args_check_output("imagenet_resnet", "--out", out)) return 1;
  }
  char arch_name[24], spec[4096];
  snprintf(arch_name, sizeof arch_name, "resnet%lld", depth);
  snprintf(spec, sizeof spec, "imagefolder:%s", dir);

  ldnq_dataset *train = NULL, *val = NULL, *calib = NULL;
  ldnq_network *net = NULL;
  ldnq_checkpoint *ck = NULL, *qck = NULL;
  ldnq_loader *eval = NULL;
  ldnq_subset *sub = NULL;
  ldnq_quantizer *q = NULL;
  ldnq_quant_report *rep = NULL;
  ldnq_arch arch;
  int rc = 1;
  double top1 = 0, top5 = 0;
  TRY("--depth", ldnq_arch_from_name(arch_name, &arch));
  TRY("--weights", ldnq_checkpoint_load(weights, &ck));
  TRY("--weights", ldnq_network_create_from_checkpoint(arch, ck, &net));
  TRY("--data (val)", ldnq_dataset_open_spec(spec, LDNQ_SPLIT_TEST, &val));
  TRY("loader", ldnq_loader_create(val, 32, &eval));
  TRY("--threads", ldnq_loader_set_option(eval, LDNQ_LOADER_THREADS, threads));
  TRY("loader", ldnq_loader_set_comm(eval, comm)); /* evaluations sharded, counts summed */
  TRY("loader", ldnq_loader_set_progress(eval, on_eval, NULL));
  TRY("evaluation", ldnq_evaluate_v2(net, eval, &top1, &top5, NULL));
  TRY("loader", ldnq_loader_set_progress(eval, NULL, NULL)); /* the run reports its own */
  printf("%s full precision: top-1 %.2f%% top-5 %.2f%%\n", arch_name, top1, top5);
  if (quant_mode) {
    int64_t n = 0;
    TRY("--data (train)", ldnq_dataset_open_spec(spec, LDNQ_SPLIT_TRAIN, &train));
    TRY("--ratio/--count", ldnq_subset_sample(train, ratio, count, 1, 0, &sub));
    TRY("subset", ldnq_dataset_subset(train, sub, &calib));
    ldnq_subset_count(sub, &n);
    printf("limited set: %lld images\n", (long long)n);
    TRY("quantizer", ldnq_quantizer_create(&q));
    TRY("quantizer", ldnq_quantizer_set_comm(q, comm)); /* rank 0 writes the state */
    TRY("--profile", ldnq_quantizer_set_int(q, LDNQ_Q_PROFILE, profile));
    TRY("--levels", ldnq_quantizer_set_int(q, LDNQ_Q_LEVELS, levels));
    TRY("--no-cascade", ldnq_quantizer_set_int(q, LDNQ_Q_CASCADE, cascade));
    if (hbatches > 0) TRY("--hessian-batches", ldnq_quantizer_set_int(q, LDNQ_Q_HESSIAN_BATCHES, hbatches));
    if (maxiter >= 0) TRY("--max-iter", ldnq_quantizer_set_int(q, LDNQ_Q_MAX_ITER, maxiter));
    char state[4200]; /* the run's state after every layer (--resume) */
    snprintf(state, sizeof state, "%s.state", out);
    TRY("--resume", ldnq_quantizer_set_state_path(
                        q, state, LDNQ_STATE_KEEP | (resume ? LDNQ_STATE_RESUME : 0u)));
    TRY("quantize", ldnq_quantizer_set_progress(q, on_quant, NULL));
    TRY("quantize", ldnq_quantizer_run_v2(q, net, calib, eval, &rep));
    TRY("summary", ldnq_quant_report_summary(rep, &top1, &top5, NULL));
    printf("%s L-DNQ %lld levels: top-1 %.2f%% top-5 %.2f%% -> %s\n", arch_name, levels, top1,
           top5, out);
    fflush(stdout); /* printed even if the write below fails */
    TRY("checkpoint", ldnq_quant_report_checkpoint(rep, net, &qck));
    if (ldnq_mpi_rank() == 0) { /* one writer in a data-parallel run */
      TRY("--out", ldnq_checkpoint_save(qck, out, fmt));
      remove(state); /* the run is complete */
    }
  }
  rc = 0;
out:
  ldnq_quant_report_free(rep);
  ldnq_quantizer_free(q);
  ldnq_subset_free(sub);
  ldnq_loader_free(eval);
  ldnq_checkpoint_free(qck);
  ldnq_checkpoint_free(ck);
  ldnq_network_free(net);
  ldnq_dataset_free(calib);
  ldnq_dataset_free(train);
  ldnq_dataset_free(val);
  return rc;
}
