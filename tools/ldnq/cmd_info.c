/* ldnq info FILE [--json]: format and tensors of a model file. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* Bits per code in the packed format, from the library's level table. */
static int bits_of(int levels) {
  int bits = 0;
  return ldnq_levels_bits(levels, &bits) == LDNQ_OK ? bits : 0;
}

/* JSON has no NaN/Infinity: non-finite sums become null. */
static void json_num(const char *key, double v) {
  if (isfinite(v)) printf(",\"%s\":%.17g", key, v);
  else printf(",\"%s\":null", key);
}

int cli_info(int argc, char **argv) {
  const char *path = NULL;
  int json = 0;
  arg_opt opts[] = {
      {"--json", ARG_FLAG, &json, NULL, "stdout holds one JSON object only", .flags = 0},
  };
  arg_spec sp = {"ldnq info", "ldnq info FILE [--json]",
                 "Prints the file's format and, per tensor, dtype, shape, sum and sum of |x|.", opts,
                 1, 1, 1, "FILE"};
  int r = args_parse(&sp, argc, argv, 1, &path, NULL);
  if (r) return r == ARGS_HELP ? 0 : 2;
  ldnq_checkpoint *ck = NULL;
  ldnq_status st = ldnq_checkpoint_load(path, &ck);
  if (st) return cli_fail("info", path, st, NULL);
  ldnq_format fmt;
  int64_t n = 0;
  ldnq_checkpoint_format(ck, &fmt);
  ldnq_checkpoint_count_v2(ck, &n);
  FILE *txt = json ? stderr : stdout; /* with --json, stdout holds the JSON only */
  fprintf(txt, "%s: %s, %lld tensors\n", path, ldnq_format_name(fmt), (long long)n);
  double packed = 0, f32 = 0;
  for (int i = 0; i < (int)n; i++) {
    const char *name;
    ldnq_dtype dt;
    int nd;
    int64_t shape[LDNQ_MAX_DIMS], numel = 1;
    double sum = 0, sabs = 0;
    ldnq_checkpoint_name(ck, i, &name);
    ldnq_checkpoint_info(ck, name, &dt, &nd, shape);
    ldnq_checkpoint_sum(ck, name, &sum, &sabs);
    fprintf(txt, "  %-40s %-9s [", name, ldnq_dtype_name(dt));
    for (int d = 0; d < nd; d++) {
      fprintf(txt, "%s%lld", d ? ", " : "", (long long)shape[d]);
      numel *= shape[d];
    }
    fprintf(txt, "]  sum %.9g  sum|x| %.9g", sum, sabs);
    f32 += 4.0 * (double)numel;
    if (dt == LDNQ_DTYPE_QUANTIZED) {
      int lv;
      float al;
      int64_t na = 1;
      ldnq_checkpoint_get_quantized(ck, name, &lv, &al, NULL, 0);
      ldnq_checkpoint_get_quantized_alphas(ck, name, &na, NULL, 0);
      if (na > 1) {
        fprintf(txt, "  levels %d per-channel alphas %lld (mean %.9g)", lv, (long long)na, al);
        packed += 4.0 * (double)na;
      } else {
        fprintf(txt, "  levels %d alpha %.9g", lv, al);
      }
      packed += (double)((numel * bits_of(lv) + 7) / 8);
    } else {
      packed += (dt == LDNQ_DTYPE_FLOAT32 || dt == LDNQ_DTYPE_FLOAT16 ||
                 dt == LDNQ_DTYPE_BFLOAT16 || dt == LDNQ_DTYPE_FLOAT64 ? 4.0 : 8.0) *
                (double)numel;
    }
    fprintf(txt, "\n");
  }
  if (fmt == LDNQ_FORMAT_LDNQ_PACKED)
    fprintf(txt, "payload: %.0f bytes packed, %.0f bytes as float32\n", packed, f32);
  int64_t nmeta = 0;
  ldnq_checkpoint_metadata_count_v2(ck, &nmeta);
  for (int i = 0; i < (int)nmeta; i++) {
    const char *k, *v;
    ldnq_checkpoint_metadata_get(ck, i, &k, &v);
    fprintf(txt, "metadata: %s = %s\n", k, v);
  }
  if (json) {
    printf("{\"format\":");
    cli_json_string(stdout, ldnq_format_name(fmt));
    printf(",\"tensors\":[");
    for (int i = 0; i < (int)n; i++) {
      const char *name;
      ldnq_dtype dt;
      int nd;
      int64_t shape[LDNQ_MAX_DIMS];
      double sum = 0, sabs = 0;
      ldnq_checkpoint_name(ck, i, &name);
      ldnq_checkpoint_info(ck, name, &dt, &nd, shape);
      ldnq_checkpoint_sum(ck, name, &sum, &sabs);
      printf("%s{\"name\":", i ? "," : "");
      cli_json_string(stdout, name);
      printf(",\"dtype\":\"%s\",\"shape\":[", ldnq_dtype_name(dt));
      for (int d = 0; d < nd; d++) printf("%s%lld", d ? "," : "", (long long)shape[d]);
      printf("]");
      json_num("sum", sum);
      json_num("sum_abs", sabs);
      if (dt == LDNQ_DTYPE_QUANTIZED) {
        int lv;
        float al;
        int64_t na = 1;
        ldnq_checkpoint_get_quantized(ck, name, &lv, &al, NULL, 0);
        ldnq_checkpoint_get_quantized_alphas(ck, name, &na, NULL, 0);
        printf(",\"levels\":%d,\"alpha\":%.9g,\"alpha_count\":%lld", lv, al, (long long)na);
      }
      printf("}");
    }
    printf("]");
    if (fmt == LDNQ_FORMAT_LDNQ_PACKED)
      printf(",\"packed_bytes\":%.0f,\"float32_bytes\":%.0f", packed, f32);
    if (nmeta) {
      printf(",\"metadata\":{");
      for (int i = 0; i < nmeta; i++) {
        const char *k, *v;
        ldnq_checkpoint_metadata_get(ck, i, &k, &v);
        if (i) printf(",");
        cli_json_string(stdout, k);
        printf(":");
        cli_json_string(stdout, v);
      }
      printf("}");
    }
    printf("}\n");
  }
  ldnq_checkpoint_free(ck);
  return 0;
}
