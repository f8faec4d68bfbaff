/* ldnq quantize: L-DNQ on a trained network with a limited calibration set. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* Every quantizer option with its default under each profile (from the
 * library, so --help cannot drift from it). */
static void print_profiles(FILE *f) {
  fprintf(f, "\nquantizer settings by profile (library option: improved / seed):\n");
  for (int p = 0;; p++) {
    const char *name;
    double vi, vs;
    if (ldnq_quantizer_param_name((ldnq_quant_param)p, &name)) break;
    ldnq_quantizer_profile_default(LDNQ_PROFILE_IMPROVED, (ldnq_quant_param)p, &vi);
    ldnq_quantizer_profile_default(LDNQ_PROFILE_SEED, (ldnq_quant_param)p, &vs);
    fprintf(f, "  %-24s %10g %10g\n", name, vi, vs);
  }
}

static void usage(FILE *f) {
  fprintf(f,
          "usage: ldnq quantize --arch ARCH --weights FILE --data SPEC --levels L --out FILE\n"
          "                     [--ratio R] [--seed N] [--hessian-batches N]\n"
          "                     [--cascade-epochs N] [--cascade-batch N] [--no-cascade]\n"
          "                     [--cascade-lr X] [--keep-first] [--keep-last]\n"
          "                     [--eval-per-layer] [--per-channel] [--profile P]\n"
          "                     [--set NAME=VALUE ...] [--json]\n"
          "  --arch        resnet20|resnet32|resnet56|resnet18|resnet34|resnet50\n"
          "  --weights     trained model (.pth, .safetensors, .ldnq)\n"
          "  --data        dataset spec (cifar10:DIR, fashion-mnist[:DIR], mnist:DIR,\n"
          "                imagefolder:DIR, ...); the limited set comes from its train split,\n"
          "                accuracy from its test split\n"
          "  --levels L    3, 5, 7, 9 or 11 (--kbits is an alias)\n"
          "  --ratio R     fraction of the training set used (default 0.01)\n"
          "  --seed N      subset, shuffling and augmentation seed (default 0)\n"
          "  --out FILE    .ldnq (packed codes), .pth or .safetensors (floats)\n"
          "  --hessian-batches N, --cascade-batch N, --no-cascade\n"
          "                Hessian batches (101 of 2), cascade batch (128), cascade off\n"
          "  --cascade-epochs N  cascade epochs per layer: the budget (improved) or the\n"
          "                cap on the paper's early stop (seed)\n"
          "  --cascade-lr X  cascade learning rate (see the table below)\n"
          "  --keep-first, --keep-last\n"
          "                leave the first / last weight layer in float32 (the paper\n"
          "                quantizes both)\n"
          "  --eval-per-layer  top-1 on the test split after every layer (slow)\n"
          "  --per-channel one scale per output channel (an improved profile, not the\n"
          "                paper's one scale per layer; .ldnq stores the scales)\n"
          "  --profile P   improved (default) or seed (the published procedure exactly);\n"
          "                a profile sets defaults, the options above override them\n"          "  --set NAME=VALUE  any quantizer option by its library name (table below;\n"
          "                repeatable), e.g. --set final_epochs=4\n"
          "  --json        print a JSON summary as the last line of stdout\n");
  print_profiles(f);
}

/* Progress lines: a bar per phase on a terminal, a line every few
 * seconds otherwise, and one line per finished layer. */
static int on_progress(void *ud, int layer, int n, ldnq_quant_phase phase, int64_t step,
                       double value) {
  const ldnq_quantizer *q = ud;
  int64_t total = 0;
  char label[64];
  if (phase == LDNQ_PHASE_LAYER_DONE) {
    cli_progress_end();
    fprintf(stderr, "layer %d/%d done (%.1f s)\n", layer + 1, n, value);
    return 0;
  }
  if (phase == LDNQ_PHASE_HESSIAN) {
    ldnq_quantizer_get_int(q, LDNQ_Q_HESSIAN_BATCHES, &total);
    snprintf(label, sizeof label, "layer %d/%d hessian", layer + 1, n);
  } else if (phase == LDNQ_PHASE_ADMM) {
    ldnq_quantizer_get_int(q, LDNQ_Q_MAX_ITER, &total);
    snprintf(label, sizeof label, "layer %d/%d admm E %.4g", layer + 1, n, value);
  } else if (phase == LDNQ_PHASE_CASCADE) {
    total = step + 1; /* open-ended: the early stop decides */
    snprintf(label, sizeof label, "layer %d/%d cascade %.4g", layer + 1, n, value);
  } else {
    return 0;
  }
  cli_progress(label, (long)step, (long)(step > total ? step : total));
  return 0;
}

/* --set NAME=VALUE: the option called NAME (ldnq_quantizer_param_name). */
static ldnq_status set_by_name(ldnq_quantizer *q, const char *arg) {
  const char *eq = strchr(arg, '=');
  for (int p = 0; eq;  p++) {
    const char *name;
    int is_int = 0;
    if (ldnq_quantizer_param_name((ldnq_quant_param)p, &name)) break;
    if (strlen(name) != (size_t)(eq - arg) || strncmp(name, arg, (size_t)(eq - arg))) continue;
    ldnq_quantizer_param_type((ldnq_quant_param)p, &is_int);
    char *end = NULL;
    double v = strtod(eq + 1, &end);
    if (end == eq + 1 || *end) break;
    if (is_int && v != (double)(int64_t)v) break;
    return is_int ? ldnq_quantizer_set_int(q, (ldnq_quant_param)p, (int64_t)v)
                  : ldnq_quantizer_set_double(q, (ldnq_quant_param)p, v);
  }
  fprintf(stderr, "ldnq quantize: --set %s: want NAME=NUMBER with NAME from --help\n", arg);
  return LDNQ_ERR_INVALID_ARG;
}

/* "profile": name, "settings": {every option in effect}. */
static void print_settings(const ldnq_quantizer *q) {
  int64_t prof = 0;
  ldnq_quantizer_get_int(q, LDNQ_Q_PROFILE, &prof);
  printf("\"profile\": \"%s\", \"settings\": {", prof == LDNQ_PROFILE_SEED ? "seed" : "improved");
  for (int p = 0;; p++) {
    const char *name;
    int is_int = 0;
    if (ldnq_quantizer_param_name((ldnq_quant_param)p, &name)) break;
    ldnq_quantizer_param_type((ldnq_quant_param)p, &is_int);
    int64_t iv = 0;
    double dv = 0;
    if (is_int && !ldnq_quantizer_get_int(q, (ldnq_quant_param)p, &iv))
      printf("%s\"%s\": %lld", p ? ", " : "", name, (long long)iv);
    else if (!is_int && !ldnq_quantizer_get_double(q, (ldnq_quant_param)p, &dv))
      printf("%s\"%s\": %.9g", p ? ", " : "", name, dv);
  }
  printf("}");
}

static void print_json(const ldnq_quant_report *rep, const ldnq_quantizer *q, double fp_top1) {
  double top1, top5, secs;
  ldnq_quant_report_summary(rep, &top1, &top5, &secs);
  printf("{\"fp_top1\": %.4f, \"top1\": %.4f, \"top5\": %.4f, \"seconds\": %.3f, ", fp_top1,
         top1, top5, secs);
  print_settings(q);
  printf(", \"layers\": [");
  int n = 0;
  ldnq_quant_report_layer_count(rep, &n);
  for (int i = 0; i < n; i++) {
    const char *name = "";
    const ldnq_layer_result *res = NULL;
    double alpha = NAN, e0 = NAN, e = NAN, s = NAN;
    int64_t its = 0, nalpha = 0;
    const double *alphas = NULL;
    ldnq_quant_report_layer_name(rep, i, &name);
    ldnq_quant_report_layer_result(rep, i, &res);
    ldnq_quant_report_layer_double(rep, i, LDNQ_QR_SECONDS, &s);
    double ltop1 = NAN;
    ldnq_quant_report_layer_double(rep, i, LDNQ_QR_TOP1, &ltop1);
    if (res) {
      ldnq_layer_result_get_double(res, LDNQ_R_ALPHA, &alpha);
      ldnq_layer_result_get_double(res, LDNQ_R_ERROR_INITIAL, &e0);
      ldnq_layer_result_get_double(res, LDNQ_R_ERROR, &e);
      ldnq_layer_result_get_int(res, LDNQ_R_ITERATIONS, &its);
      ldnq_layer_result_alphas(res, &alphas, &nalpha);
    }
    printf("%s{\"name\": ", i ? ", " : "");
    cli_json_string(stdout, name);
    if (res)
      printf(", \"alpha\": %.9g, \"per_channel\": %s, \"error_initial\": %.9g, \"error\": %.9g, "
             "\"iterations\": %lld, \"seconds\": %.3f",
             alpha, nalpha > 1 ? "true" : "false", e0, e, (long long)its, s);
    else
      printf(", \"alpha\": null, \"per_channel\": false, \"error_initial\": null, \"error\": null, \"iterations\": 0, "
             "\"seconds\": %.3f",
             s);
    int64_t ce = 0, cb = 0, tc = 0;
    double cl = NAN;
    ldnq_quant_report_layer_int(rep, i, LDNQ_QR_CASCADE_EPOCHS, &ce);
    ldnq_quant_report_layer_int(rep, i, LDNQ_QR_CASCADE_BATCHES, &cb);
    ldnq_quant_report_layer_int(rep, i, LDNQ_QR_TEACHER_CACHED, &tc);
    ldnq_quant_report_layer_double(rep, i, LDNQ_QR_CASCADE_LOSS, &cl);
    printf(", \"cascade_epochs\": %lld, \"cascade_batches\": %lld, \"teacher_cached\": %lld, "
           "\"cascade_loss\": ",
           (long long)ce, (long long)cb, (long long)tc);
    if (isnan(cl)) printf("null");
    else printf("%.9g", cl);
    ldnq_quant_report_layer_double(rep, i, LDNQ_QR_CASCADE_LAST_LOSS, &cl);
    if (isnan(cl)) printf(", \"cascade_last_loss\": null");
    else printf(", \"cascade_last_loss\": %.9g", cl);
    if (!isnan(ltop1)) printf(", \"top1\": %.4f", ltop1); /* --eval-per-layer */
    printf("}");
  }
  printf("]}\n");
}

int cli_quantize(int argc, char **argv) {
  const char *arch_s = NULL, *weights = NULL, *spec = NULL, *out = NULL;
  /* -1: not given, the profile's default stands. */
  int levels = 0, json = 0, cascade = -1, per_channel = -1, keep_first = -1, keep_last = -1;
  int eval_each = -1, profile = -1;
  const char *sets[64];
  int nsets = 0;
  long long seed = 0, hbatches = -1, cepochs = -1, cbatch = -1;
  double ratio = 0.01, clr = -1;
  /* Flags without a value: each stores its value in its variable. */
  const struct { const char *name; int *dst, value; } flags[] = {
      {"--json", &json, 1},           {"--no-cascade", &cascade, 0},
      {"--per-channel", &per_channel, 1}, {"--keep-first", &keep_first, 1},
      {"--keep-last", &keep_last, 1}, {"--eval-per-layer", &eval_each, 1},
  };
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    size_t f = 0;
    while (f < sizeof flags / sizeof flags[0] && strcmp(a, flags[f].name)) f++;
    if (f < sizeof flags / sizeof flags[0]) {
      *flags[f].dst = flags[f].value;
    } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      usage(stdout);
      return 0;
    } else if (!v) {
      fprintf(stderr, "ldnq quantize: %s needs a value\n", a);
      return 2;
    } else {
      char *end = NULL;
      i++;
      if (!strcmp(a, "--arch")) arch_s = v;
      else if (!strcmp(a, "--weights")) weights = v;
      else if (!strcmp(a, "--data")) spec = v;
      else if (!strcmp(a, "--out")) out = v;
      else if (!strcmp(a, "--levels") || !strcmp(a, "--kbits")) levels = (int)strtol(v, &end, 10);
      else if (!strcmp(a, "--ratio")) ratio = strtod(v, &end);
      else if (!strcmp(a, "--seed")) seed = strtoll(v, &end, 10);
      else if (!strcmp(a, "--hessian-batches")) hbatches = strtoll(v, &end, 10);
      else if (!strcmp(a, "--cascade-epochs")) cepochs = strtoll(v, &end, 10);
      else if (!strcmp(a, "--cascade-batch")) cbatch = strtoll(v, &end, 10);
      else if (!strcmp(a, "--cascade-lr")) clr = strtod(v, &end);
      else if (!strcmp(a, "--set") && nsets < 64) sets[nsets++] = v;
      else if (!strcmp(a, "--profile")) {
        if (!strcmp(v, "improved")) profile = LDNQ_PROFILE_IMPROVED;
        else if (!strcmp(v, "seed")) profile = LDNQ_PROFILE_SEED;
        else {
          fprintf(stderr, "ldnq quantize: --profile: want improved or seed, not %s\n", v);
          return 2;
        }
      }
      else {
        fprintf(stderr, "ldnq quantize: unknown option %s\n", a);
        usage(stderr);
        return 2;
      }
      if (end && (*end || end == v)) {
        fprintf(stderr, "ldnq quantize: %s: not a number: %s\n", a, v);
        return 2;
      }
    }
  }
  if (!arch_s || !weights || !spec || !out || !levels) {
    fprintf(stderr, "ldnq quantize: --arch, --weights, --data, --levels and --out are required\n");
    usage(stderr);
    return 2;
  }
  ldnq_arch arch;
  ldnq_format fmt;
  ldnq_status st = ldnq_arch_from_name(arch_s, &arch);
  if (st) return cli_fail("quantize", "--arch", st, NULL);
  st = ldnq_format_from_path(out, &fmt);
  if (st) return cli_fail("quantize", "--out", st, NULL);

  int rc = 1;
  double t0 = cli_now();
  ldnq_checkpoint *ck = NULL, *qck = NULL;
  ldnq_network *net = NULL;
  ldnq_dataset *train = NULL, *test = NULL, *calib = NULL;
  ldnq_subset *sub = NULL;
  ldnq_loader *eval = NULL;
  ldnq_quantizer *q = NULL;
  ldnq_quant_report *rep = NULL;
  double fp1 = NAN, fp5 = NAN;
  const char *what = "";
#define TRY(w, call)         \
  do {                       \
    what = (w);              \
    if ((st = (call))) goto fail; \
  } while (0)
  TRY("quantizer options", ldnq_quantizer_create(&q));
  TRY("--levels", ldnq_quantizer_set_int(q, LDNQ_Q_LEVELS, levels));
  TRY("--seed", ldnq_quantizer_set_int(q, LDNQ_Q_SEED, seed));
  if (profile >= 0) TRY("--profile", ldnq_quantizer_set_int(q, LDNQ_Q_PROFILE, profile));
  if (cascade >= 0) TRY("--no-cascade", ldnq_quantizer_set_int(q, LDNQ_Q_CASCADE, cascade));
  if (per_channel >= 0) TRY("--per-channel", ldnq_quantizer_set_int(q, LDNQ_Q_PER_CHANNEL, per_channel));
  if (keep_first >= 0) TRY("--keep-first", ldnq_quantizer_set_int(q, LDNQ_Q_QUANTIZE_FIRST, !keep_first));
  if (keep_last >= 0) TRY("--keep-last", ldnq_quantizer_set_int(q, LDNQ_Q_QUANTIZE_LAST, !keep_last));
  if (eval_each >= 0) TRY("--eval-per-layer", ldnq_quantizer_set_int(q, LDNQ_Q_EVAL_PER_LAYER, eval_each));
  if (clr >= 0) TRY("--cascade-lr", ldnq_quantizer_set_double(q, LDNQ_Q_CASCADE_LR, clr));
  if (hbatches >= 0) TRY("--hessian-batches", ldnq_quantizer_set_int(q, LDNQ_Q_HESSIAN_BATCHES, hbatches));
  if (cbatch >= 0) TRY("--cascade-batch", ldnq_quantizer_set_int(q, LDNQ_Q_CASCADE_BATCH, cbatch));
  if (cepochs >= 0) TRY("--cascade-epochs", ldnq_quantizer_set_int(q, LDNQ_Q_CASCADE_MAX_EPOCHS, cepochs));
  for (int k = 0; k < nsets; k++) TRY("--set", set_by_name(q, sets[k]));
  TRY(weights, ldnq_checkpoint_load(weights, &ck));
  TRY(weights, ldnq_network_create_from_checkpoint(arch, ck, &net));
  TRY(spec, ldnq_dataset_open_spec(spec, LDNQ_SPLIT_TRAIN, &train));
  TRY(spec, ldnq_dataset_open_spec(spec, LDNQ_SPLIT_TEST, &test));
  TRY("--ratio", ldnq_subset_sample(train, ratio, 0, 0, (uint64_t)seed, &sub));
  TRY("limited set", ldnq_dataset_subset(train, sub, &calib));
  TRY("test loader", ldnq_loader_create(test, 100, &eval));
  TRY("full-precision evaluation", ldnq_evaluate(net, eval, &fp1, &fp5, NULL, NULL, NULL));
  int64_t ncal = 0;
  ldnq_subset_count(sub, &ncal);
  fprintf(stderr, "full precision: top-1 %.2f top-5 %.2f; limited set %lld images\n", fp1, fp5,
          (long long)ncal);
  TRY("quantization", ldnq_quantizer_run(q, net, calib, eval, on_progress, q, &rep));
  cli_progress_end();
  TRY("packing", ldnq_quant_report_checkpoint(rep, net, &qck));
  TRY(out, ldnq_checkpoint_save(qck, out, fmt));
  char *table = NULL;
  if (ldnq_quant_report_table(rep, &table) == LDNQ_OK) fputs(table, stderr);
  ldnq_quant_string_free(table);
  double top1, top5;
  ldnq_quant_report_summary(rep, &top1, &top5, NULL);
  fprintf(stderr, "quantized (%d levels): top-1 %.2f top-5 %.2f (full precision %.2f), %.1f s -> %s\n",
          levels, top1, top5, fp1, cli_now() - t0, out);
  if (json) print_json(rep, q, fp1);
  rc = 0;
  goto done;
fail:
  cli_progress_end();
  rc = cli_fail("quantize", what, st, NULL);
done:
#undef TRY
  ldnq_quant_report_free(rep);
  ldnq_quantizer_free(q);
  ldnq_loader_free(eval);
  ldnq_dataset_free(calib);
  ldnq_subset_free(sub);
  ldnq_dataset_free(test);
  ldnq_dataset_free(train);
  ldnq_network_free(net);
  ldnq_checkpoint_free(qck);
  ldnq_checkpoint_free(ck);
  return rc;
}
