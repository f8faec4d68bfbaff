/* ldnq quantize: L-DNQ on a trained network with a limited calibration set. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* Every quantizer option with its default under each profile (from the
 * library, so --help cannot drift from it), for the help's last part. */
static void profile_table(char *buf, size_t size) {
  size_t k = (size_t)snprintf(buf, size,
                              "L-DNQ on a trained network with a limited calibration set.\n\n"
                              "quantizer settings by profile (library option: improved / seed):");
  for (int p = 0; k < size; p++) {
    const char *name;
    double vi = 0, vs = 0;
    if (ldnq_quantizer_param_name((ldnq_quant_param)p, &name)) break;
    ldnq_quantizer_profile_default(LDNQ_PROFILE_IMPROVED, (ldnq_quant_param)p, &vi);
    ldnq_quantizer_profile_default(LDNQ_PROFILE_SEED, (ldnq_quant_param)p, &vs);
    k += (size_t)snprintf(buf + k, size - k, "\n  %-24s %10g %10g", name, vi, vs);
  }
}

/* --set NAME=VALUE: the option called NAME (ldnq_quantizer_param_name),
 * the value checked by the library. A usage error (exit 2) when NAME is
 * unknown, VALUE is not a number of the option's type, or out of bounds. */
static int set_by_name(ldnq_quantizer *q, const char *arg) {
  const char *eq = strchr(arg, '=');
  for (int p = 0; eq; p++) {
    const char *name;
    int is_int = 0;
    if (ldnq_quantizer_param_name((ldnq_quant_param)p, &name)) break;
    if (strlen(name) != (size_t)(eq - arg) || strncmp(name, arg, (size_t)(eq - arg))) continue;
    ldnq_quantizer_param_type((ldnq_quant_param)p, &is_int);
    char *end = NULL;
    double v = strtod(eq + 1, &end);
    if (end == eq + 1 || *end || !isfinite(v) || (is_int && v != floor(v))) {
      fprintf(ldnq_mpi_log(), "ldnq quantize: --set '%s': not %s number\n", arg,
              is_int ? "an integer" : "a");
      return 2;
    }
    ldnq_status st = is_int ? ldnq_quantizer_set_int(q, (ldnq_quant_param)p, (int64_t)v)
                            : ldnq_quantizer_set_double(q, (ldnq_quant_param)p, v);
    if (st) {
      fprintf(ldnq_mpi_log(), "ldnq quantize: --set '%s': %s\n", arg, ldnq_quantizer_errmsg(q));
      return 2;
    }
    return 0;
  }
  fprintf(ldnq_mpi_log(), "ldnq quantize: --set '%s': want NAME=NUMBER with NAME from the table of "
                  "'ldnq quantize --help'\n", arg);
  return 2;
}

/* "profile": name, "settings": {every option in effect}. */
static void print_settings(const ldnq_quantizer *q) {
  int64_t prof = 0;
  ldnq_quantizer_get_int(q, LDNQ_Q_PROFILE, &prof);
  fprintf(ldnq_mpi_out(), "\"profile\": \"%s\", \"settings\": {", prof == LDNQ_PROFILE_SEED ? "seed" : "improved");
  for (int p = 0;; p++) {
    const char *name;
    int is_int = 0;
    if (ldnq_quantizer_param_name((ldnq_quant_param)p, &name)) break;
    ldnq_quantizer_param_type((ldnq_quant_param)p, &is_int);
    int64_t iv = 0;
    double dv = 0;
    if (is_int && !ldnq_quantizer_get_int(q, (ldnq_quant_param)p, &iv))
      fprintf(ldnq_mpi_out(), "%s\"%s\": %lld", p ? ", " : "", name, (long long)iv);
    else if (!is_int && !ldnq_quantizer_get_double(q, (ldnq_quant_param)p, &dv))
      fprintf(ldnq_mpi_out(), "%s\"%s\": %.9g", p ? ", " : "", name, dv);
  }
  fprintf(ldnq_mpi_out(), "}");
}

static void print_json(const ldnq_quant_report *rep, const ldnq_quantizer *q, double fp_top1) {
  double top1, top5, secs;
  ldnq_quant_report_summary(rep, &top1, &top5, &secs);
  fprintf(ldnq_mpi_out(), "{\"fp_top1\": %.4f, \"top1\": %.4f, \"top5\": %.4f, \"seconds\": %.3f, ", fp_top1,
         top1, top5, secs);
  print_settings(q);
  fprintf(ldnq_mpi_out(), ", \"layers\": [");
  int64_t n = 0;
  ldnq_quant_report_layer_count_v2(rep, &n);
  for (int i = 0; i < (int)n; i++) {
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
    fprintf(ldnq_mpi_out(), "%s{\"name\": ", i ? ", " : "");
    cli_json_string(ldnq_mpi_out(), name);
    if (res)
      fprintf(ldnq_mpi_out(), ", \"alpha\": %.9g, \"per_channel\": %s, \"error_initial\": %.9g, \"error\": %.9g, "
             "\"iterations\": %lld, \"seconds\": %.3f",
             alpha, nalpha > 1 ? "true" : "false", e0, e, (long long)its, s);
    else
      fprintf(ldnq_mpi_out(), ", \"alpha\": null, \"per_channel\": false, \"error_initial\": null, \"error\": null, \"iterations\": 0, "
             "\"seconds\": %.3f",
             s);
    int64_t ce = 0, cb = 0, tc = 0;
    double cl = NAN;
    ldnq_quant_report_layer_int(rep, i, LDNQ_QR_CASCADE_EPOCHS, &ce);
    ldnq_quant_report_layer_int(rep, i, LDNQ_QR_CASCADE_BATCHES, &cb);
    ldnq_quant_report_layer_int(rep, i, LDNQ_QR_TEACHER_CACHED, &tc);
    ldnq_quant_report_layer_double(rep, i, LDNQ_QR_CASCADE_LOSS, &cl);
    fprintf(ldnq_mpi_out(), ", \"cascade_epochs\": %lld, \"cascade_batches\": %lld, \"teacher_cached\": %lld, "
           "\"cascade_loss\": ",
           (long long)ce, (long long)cb, (long long)tc);
    if (isnan(cl)) fprintf(ldnq_mpi_out(), "null");
    else fprintf(ldnq_mpi_out(), "%.9g", cl);
    cl = NAN;
    ldnq_quant_report_layer_double(rep, i, LDNQ_QR_CASCADE_LAST_LOSS, &cl);
    if (isnan(cl)) fprintf(ldnq_mpi_out(), ", \"cascade_last_loss\": null");
    else fprintf(ldnq_mpi_out(), ", \"cascade_last_loss\": %.9g", cl);
    if (!isnan(ltop1)) fprintf(ldnq_mpi_out(), ", \"top1\": %.4f", ltop1); /* --eval-per-layer */
    fprintf(ldnq_mpi_out(), "}");
  }
  fprintf(ldnq_mpi_out(), "]}\n");
}

int cli_quantize(int argc, char **argv) {
  const char *arch_s = NULL, *weights = NULL, *spec = NULL, *out = NULL;
  int json = 0, no_cascade = 0, per_channel = 0, keep_first = 0, keep_last = 0, eval_each = 0;
  int resume = 0;
  long long levels = 3, seed = 0, hbatches = -1, cepochs = -1, cbatch = -1, ranks = 1;
  double ratio = 0.01, clr = -1;
  const char *profile_s = NULL;
  arg_list sets = {{0}, 0};
  arg_opt opts[] = {
      {"--arch", ARG_STRING, &arch_s, "ARCH", "network", .flags = ARG_REQUIRED, .choices = CLI_ARCHS},
      {"--weights", ARG_STRING, &weights, "FILE", "trained model (.pth, .safetensors, .ldnq)", .flags = ARG_REQUIRED},
      {"--data", ARG_STRING, &spec, "SPEC",
       "dataset spec (" CLI_SPECS ");\nthe limited set comes from its train split, accuracy from\nits test split",
       .flags = ARG_REQUIRED},
      {"--levels", ARG_INT, &levels, "L", "quantization levels", .choices = "3,5,7,9,11", .alias = "--kbits"},
      {"--out", ARG_STRING, &out, "FILE", ".ldnq (packed codes), .pth or .safetensors (floats)", .flags = ARG_REQUIRED},
      {"--ratio", ARG_DOUBLE, &ratio, "R", "fraction of the training set used", 1e-9, 1, .flags = 0},
      {"--seed", ARG_INT, &seed, "N", "subset, shuffling and augmentation seed", 0, 9007199254740992.0, .flags = 0},
      {"--hessian-batches", ARG_INT, &hbatches, "N", "batches of 2 images for each Hessian", 1, 1000000,
       .def = "the paper's 101"},
      {"--cascade-epochs", ARG_INT, &cepochs, "N", "cascade epochs per layer: the budget (improved)\n"
       "or the cap on the paper's early stop (seed)", 0, 1000000, .def = "the profile's, see the table above"},
      {"--cascade-batch", ARG_INT, &cbatch, "N", "cascade batch size", 1, 65536, .def = "128"},
      {"--cascade-lr", ARG_DOUBLE, &clr, "X", "cascade learning rate", 0, 10, .def = "the profile's, see the table above"},
      {"--no-cascade", ARG_FLAG, &no_cascade, NULL, "no cascade (soft update) after each layer", .flags = 0},
      {"--keep-first", ARG_FLAG, &keep_first, NULL, "leave the first weight layer in float32", .flags = 0},
      {"--keep-last", ARG_FLAG, &keep_last, NULL, "leave the last weight layer in float32\n(the paper quantizes both)", .flags = 0},
      {"--eval-per-layer", ARG_FLAG, &eval_each, NULL, "top-1 on the test split after every layer (slow)", .flags = 0},
      {"--per-channel", ARG_FLAG, &per_channel, NULL,
       "one scale per output channel (an improved profile, not the\npaper's one scale per layer; .ldnq stores the scales)", .flags = 0},
      {"--profile", ARG_STRING, &profile_s, "P", "improved or seed (the published procedure exactly);\n"
       "a profile sets defaults, the options above and --set\noverride them",
       .def = "improved", .choices = "improved,seed"},
      {"--set", ARG_LIST, &sets, "NAME=VALUE", "any quantizer option by its library name (the\n"
       "table above), e.g. --set final_epochs=4", .flags = 0},
      {"--resume", ARG_FLAG, &resume, NULL,
       "continue a stopped run (Ctrl-C, a crash) from FILE.state,\nthe state --out FILE keeps after every layer; the\nsame weights, data and options are required; the\nresult is the uninterrupted run's", .flags = 0},
      {"--json", ARG_FLAG, &json, NULL, "stdout holds one JSON summary only; text goes to stderr", .flags = 0},
      {"--ranks", ARG_INT, &ranks, "N", CLI_RANKS_HELP, 1, 64, .flags = 0},
  };
  char about[4096];
  profile_table(about, sizeof about);
  arg_spec spec_ = {"ldnq quantize",
                    "ldnq quantize --arch ARCH --weights FILE --data SPEC --out FILE [options]",
                    about,
                    opts, (int)(sizeof opts / sizeof opts[0]), 0, 0, NULL};
  int r = args_parse(&spec_, argc, argv, 1, NULL, NULL);
  if (r) return r == ARGS_HELP ? 0 : 2;
  int cascade = !no_cascade;
  ldnq_arch arch;
  ldnq_format fmt;
  ldnq_status st = ldnq_arch_from_name(arch_s, &arch);
  if (st) return cli_fail("quantize", "--arch", st, NULL);
  st = ldnq_format_from_path(out, &fmt);
  if (st) return cli_fail("quantize", "--out", st, NULL);
  if (!ldnq_mpi_ranks_thread() && args_check_output("ldnq quantize", "--out", out)) return 1;
  if ((r = cli_ranks("quantize", ranks, cli_quantize, argc, argv)) >= 0) return r;
  /* The run's state after each layer, next to the output (--resume). */
  char state[4200];
  if ((size_t)snprintf(state, sizeof state, "%s.state", out) >= sizeof state) {
    fprintf(ldnq_mpi_log(), "ldnq quantize: --out '%s': path too long\n", out);
    return 2;
  }

  int rc = 1, layers_done = -1; /* -1: the run did not start */
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
  TRY("communicator", ldnq_quantizer_set_comm(q, ldnq_mpi_comm())); /* mpirun: data parallel */
  TRY("--levels", ldnq_quantizer_set_int(q, LDNQ_Q_LEVELS, levels));
  TRY("--seed", ldnq_quantizer_set_int(q, LDNQ_Q_SEED, seed));
  /* Options not given keep the profile's defaults: only given ones are set
   * (explicit settings win over the profile in either order). */
  if (profile_s)
    TRY("--profile", ldnq_quantizer_set_int(q, LDNQ_Q_PROFILE,
                                            strcmp(profile_s, "seed") ? LDNQ_PROFILE_IMPROVED : LDNQ_PROFILE_SEED));
  if (args_given(&spec_, "--no-cascade"))
    TRY("--no-cascade", ldnq_quantizer_set_int(q, LDNQ_Q_CASCADE, cascade));
  if (args_given(&spec_, "--per-channel"))
    TRY("--per-channel", ldnq_quantizer_set_int(q, LDNQ_Q_PER_CHANNEL, per_channel));
  if (args_given(&spec_, "--keep-first"))
    TRY("--keep-first", ldnq_quantizer_set_int(q, LDNQ_Q_QUANTIZE_FIRST, !keep_first));
  if (args_given(&spec_, "--keep-last"))
    TRY("--keep-last", ldnq_quantizer_set_int(q, LDNQ_Q_QUANTIZE_LAST, !keep_last));
  if (args_given(&spec_, "--eval-per-layer"))
    TRY("--eval-per-layer", ldnq_quantizer_set_int(q, LDNQ_Q_EVAL_PER_LAYER, eval_each));
  if (clr >= 0) TRY("--cascade-lr", ldnq_quantizer_set_double(q, LDNQ_Q_CASCADE_LR, clr));
  if (hbatches >= 0) TRY("--hessian-batches", ldnq_quantizer_set_int(q, LDNQ_Q_HESSIAN_BATCHES, hbatches));
  if (cbatch >= 0) TRY("--cascade-batch", ldnq_quantizer_set_int(q, LDNQ_Q_CASCADE_BATCH, cbatch));
  if (cepochs >= 0) TRY("--cascade-epochs", ldnq_quantizer_set_int(q, LDNQ_Q_CASCADE_MAX_EPOCHS, cepochs));
  for (int k = 0; k < sets.n; k++) /* a usage error, before any work */
    if (set_by_name(q, sets.v[k])) {
      rc = 2;
      goto done;
    }
  /* KEEP: the state goes only once --out is written (below). */
  TRY("--resume", ldnq_quantizer_set_state_path(
                      q, state, LDNQ_STATE_KEEP | (resume ? LDNQ_STATE_RESUME : 0u)));
  FILE *old_state = fopen(state, "rb");
  if (old_state) {
    fclose(old_state);
    if (!resume)
      fprintf(ldnq_mpi_log(), "ldnq quantize: note: %s of an earlier stopped run is replaced after the "
                      "first layer (--resume continues it instead)\n", state);
  } else if (resume) {
    fprintf(ldnq_mpi_log(), "ldnq quantize: --resume: no %s; starting at the first layer\n", state);
  }
  TRY(weights, ldnq_checkpoint_load(weights, &ck));
  TRY(weights, ldnq_network_create_from_checkpoint(arch, ck, &net));
  TRY(spec, ldnq_dataset_open_spec(spec, LDNQ_SPLIT_TRAIN, &train));
  TRY(spec, ldnq_dataset_open_spec(spec, LDNQ_SPLIT_TEST, &test));
  TRY("--ratio", ldnq_subset_sample(train, ratio, 0, 0, (uint64_t)seed, &sub));
  TRY("limited set", ldnq_dataset_subset(train, sub, &calib));
  TRY("test loader", ldnq_loader_create(test, 100, &eval));
  TRY("test loader", ldnq_loader_set_comm(eval, ldnq_mpi_comm())); /* sharded evaluations */
  cli_catch_interrupt(); /* Ctrl-C stops cleanly: nothing is written before the end */
  double te = cli_now();
  TRY("test loader",
      ldnq_loader_set_progress(eval, cli_eval_progress_fn, "full-precision evaluation"));
  TRY("full-precision evaluation", ldnq_evaluate_v2(net, eval, &fp1, &fp5, NULL));
  TRY("test loader", ldnq_loader_set_progress(eval, NULL, NULL)); /* the run reports its own */
  cli_progress_end();
  int64_t ncal = 0;
  ldnq_subset_count(sub, &ncal);
  fprintf(ldnq_mpi_log(), "full precision: top-1 %.2f top-5 %.2f (%.1f s); limited set %lld images\n", fp1, fp5,
          cli_now() - te, (long long)ncal);
  cli_qprogress prog = {.q = q, .net = net, .calib_count = ncal, .tty = cli_is_tty(),
                        .state_path = state};
  ldnq_loader_num_batches(eval, &prog.eval_batches);
  what = "quantization";
  TRY("quantization", ldnq_quantizer_set_progress(q, cli_qprogress_fn, &prog));
  st = ldnq_quantizer_run_v2(q, net, calib, eval, &rep);
  if (st && resume && !prog.started && strstr(ldnq_quantizer_errmsg(q), state))
    what = "--resume"; /* the state was refused */
  layers_done = prog.layers_done;
  if (!prog.started) {
    int64_t resumed = 0;
    if (ldnq_quantizer_resumed_layers_v2(q, &resumed) == LDNQ_OK) layers_done = (int)resumed;
  }
  if (st) goto fail;
  cli_progress_end();
  /* The summary first: a failed write below must not lose the results. */
  char *table = NULL;
  if (ldnq_quant_report_table(rep, &table) == LDNQ_OK) fputs(table, ldnq_mpi_log());
  ldnq_quant_string_free(table);
  double top1, top5;
  ldnq_quant_report_summary(rep, &top1, &top5, NULL);
  fprintf(ldnq_mpi_log(), "quantized (%lld levels): top-1 %.2f top-5 %.2f (full precision %.2f), %.1f s\n",
          levels, top1, top5, fp1, cli_now() - t0);
  if (json) print_json(rep, q, fp1);
  fflush(ldnq_mpi_out());
  TRY("packing", ldnq_quant_report_checkpoint(rep, net, &qck));
  if (ldnq_mpi_rank() == 0) { /* one writer in a data-parallel run */
    TRY("--out", ldnq_checkpoint_save(qck, out, fmt));
    remove(state); /* the run is complete */
    fprintf(ldnq_mpi_log(), "saved %s\n", out);
  }
  rc = 0;
  goto done;
fail:
  cli_progress_end();
  /* --ranks: the rank that saw Ctrl-C first cancels, the others' sums fail. */
  if ((st == LDNQ_ERR_CANCELLED || ldnq_mpi_ranks_thread()) && cli_interrupted()) {
    fprintf(ldnq_mpi_log(), "ldnq quantize: interrupted during the %s; nothing was written to %s\n", what,
            out);
    rc = 130;
  } else {
    rc = cli_fail("quantize", what, st, NULL);
  }
  /* How to go on from the state that stays. */
  FILE *kept = q ? fopen(state, "rb") : NULL;
  if (kept) {
    fclose(kept);
    int64_t nl = 0;
    if (net) ldnq_network_layer_count_v2(net, &nl);
    if (strcmp(what, "--resume") && layers_done > 0)
      fprintf(ldnq_mpi_log(), "ldnq quantize: %s holds the run after layer %d/%d; the same command with "
                      "--resume continues from there\n", state, layers_done, (int)nl);
    else if (strcmp(what, "--resume"))
      fprintf(ldnq_mpi_log(), "ldnq quantize: %s holds an earlier stopped run; the same command with "
                      "--resume continues it\n", state);
  }
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
