/* imagenet_resnet: L-DNQ on a torchvision ResNet18/34/50 with a limited
 * subset of an ImageNet-layout folder (DIR/train/<class>/..., DIR/val/...).
 *
 *   imagenet_resnet quantize --depth 18|34|50 --weights resnet18.pth --data DIR
 *                   [--levels L] [--ratio R | --count N] [--out F.ldnq]
 *                   [--profile improved|seed]
 *                   [--hessian-batches N] [--max-iter N] [--no-cascade] [--threads N]
 *   imagenet_resnet eval --depth 18|34|50 --weights F --data DIR
 *
 * The subset is class-balanced (the paper's limited set); top-1 and top-5
 * are measured on DIR/val before and after quantization. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldnq/ldnq.h>

static ldnq_status st;
#define TRY(what, call) \
  do { if ((st = (call)) != LDNQ_OK) { fail(what); goto out; } } while (0)
static void fail(const char *what) {
  fprintf(stderr, "imagenet_resnet: %s: %s: %s\n", what, ldnq_status_string(st), ldnq_last_error());
}

static int on_eval(void *ud, int64_t done, int64_t total) {
  (void)ud;
  if (done == total || done % 50 == 0) fprintf(stderr, "  evaluated %lld/%lld batches\n",
                                               (long long)done, (long long)total);
  return 0;
}

static int on_quant(void *ud, int layer, int n, ldnq_quant_phase phase, int64_t step, double v) {
  (void)ud; (void)step;
  if (phase == LDNQ_PHASE_LAYER_DONE) fprintf(stderr, "  layer %d/%d quantized (%.1f s)\n",
                                              layer + 1, n, v);
  return 0;
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "", *dir = NULL, *weights = NULL;
  const char *out = "resnet-quantized.ldnq";
  int depth = 18, levels = 3, cascade = 1, profile = 0;
  long long count = 0, hbatches = -1, maxiter = -1, threads = 2;
  double ratio = 0.01;
  for (int i = 2; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--no-cascade")) { cascade = 0; continue; }
    if (!v) { fprintf(stderr, "imagenet_resnet: %s needs a value\n", a); return 2; }
    i++;
    if (!strcmp(a, "--depth")) depth = atoi(v);
    else if (!strcmp(a, "--data")) dir = v;
    else if (!strcmp(a, "--weights")) weights = v;
    else if (!strcmp(a, "--out")) out = v;
    else if (!strcmp(a, "--levels")) levels = atoi(v);
    else if (!strcmp(a, "--ratio")) ratio = atof(v);
    else if (!strcmp(a, "--count")) count = atoll(v);
    else if (!strcmp(a, "--hessian-batches")) hbatches = atoll(v);
    else if (!strcmp(a, "--max-iter")) maxiter = atoll(v);
    else if (!strcmp(a, "--threads")) threads = atoll(v);
    else if (!strcmp(a, "--profile") && (!strcmp(v, "improved") || !strcmp(v, "seed")))
      profile = !strcmp(v, "seed") ? LDNQ_PROFILE_SEED : LDNQ_PROFILE_IMPROVED;
    else { fprintf(stderr, "imagenet_resnet: unknown option %s\n", a); return 2; }
  }
  int quant_mode = !strcmp(mode, "quantize");
  if ((!quant_mode && strcmp(mode, "eval")) || !dir || !weights ||
      (depth != 18 && depth != 34 && depth != 50)) {
    fprintf(stderr, "usage: imagenet_resnet quantize|eval --depth 18|34|50 --weights F "
                    "--data DIR [options]\n");
    return 2;
  }
  char arch_name[16], spec[4096];
  snprintf(arch_name, sizeof arch_name, "resnet%d", depth);
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
  TRY("evaluation", ldnq_evaluate(net, eval, &top1, &top5, NULL, on_eval, NULL));
  printf("%s full precision: top-1 %.2f%% top-5 %.2f%%\n", arch_name, top1, top5);
  if (quant_mode) {
    int64_t n = 0;
    TRY("--data (train)", ldnq_dataset_open_spec(spec, LDNQ_SPLIT_TRAIN, &train));
    TRY("--ratio/--count", ldnq_subset_sample(train, ratio, count, 1, 0, &sub));
    TRY("subset", ldnq_dataset_subset(train, sub, &calib));
    ldnq_subset_count(sub, &n);
    printf("limited set: %lld images\n", (long long)n);
    TRY("quantizer", ldnq_quantizer_create(&q));
    TRY("--profile", ldnq_quantizer_set_int(q, LDNQ_Q_PROFILE, profile));
    TRY("--levels", ldnq_quantizer_set_int(q, LDNQ_Q_LEVELS, levels));
    TRY("--no-cascade", ldnq_quantizer_set_int(q, LDNQ_Q_CASCADE, cascade));
    if (hbatches > 0) TRY("--hessian-batches", ldnq_quantizer_set_int(q, LDNQ_Q_HESSIAN_BATCHES, hbatches));
    if (maxiter >= 0) TRY("--max-iter", ldnq_quantizer_set_int(q, LDNQ_Q_MAX_ITER, maxiter));
    TRY("quantize", ldnq_quantizer_run(q, net, calib, eval, on_quant, NULL, &rep));
    TRY("summary", ldnq_quant_report_summary(rep, &top1, &top5, NULL));
    TRY("checkpoint", ldnq_quant_report_checkpoint(rep, net, &qck));
    ldnq_format fmt;
    TRY("--out", ldnq_format_from_path(out, &fmt));
    TRY("--out", ldnq_checkpoint_save(qck, out, fmt));
    printf("%s L-DNQ %d levels: top-1 %.2f%% top-5 %.2f%% -> %s\n", arch_name, levels, top1,
           top5, out);
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
