/* Helper of torch_network.sh (compiled by it against the build tree):
 *   io_net_helper logits ARCH WEIGHTS INPUT N C H W OUT   forward pass -> raw float32 logits
 *   io_net_helper resave ARCH WEIGHTS OUT                 load, then ldnq_network_save */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldnq/ldnq.h>

static int fail(const char *what, ldnq_status st) {
  fprintf(stderr, "io_net_helper: %s: %s: %s\n", what, ldnq_status_string(st), ldnq_last_error());
  return 1;
}

int main(int argc, char **argv) {
  if (argc < 5) return 2;
  ldnq_arch arch;
  ldnq_status st = ldnq_arch_from_name(argv[2], &arch);
  if (st) return fail("arch", st);
  ldnq_checkpoint *ck = NULL;
  ldnq_network *net = NULL;
  if ((st = ldnq_checkpoint_load(argv[3], &ck))) return fail("load", st);
  if ((st = ldnq_network_create_from_checkpoint(arch, ck, &net))) return fail("create", st);
  ldnq_checkpoint_free(ck);
  if (!strcmp(argv[1], "resave")) {
    ldnq_format fmt;
    if ((st = ldnq_format_from_path(argv[4], &fmt))) return fail("format", st);
    if ((st = ldnq_network_save(net, argv[4], fmt))) return fail("save", st);
    ldnq_network_free(net);
    return 0;
  }
  if (argc != 10) return 2;
  int64_t shape[4] = {atoll(argv[5]), atoll(argv[6]), atoll(argv[7]), atoll(argv[8])};
  int64_t n = shape[0] * shape[1] * shape[2] * shape[3];
  float *x = malloc((size_t)n * sizeof *x);
  FILE *f = fopen(argv[4], "rb");
  if (!f || fread(x, sizeof *x, (size_t)n, f) != (size_t)n) return 1;
  fclose(f);
  int classes;
  ldnq_network_describe(net, NULL, NULL, &classes);
  ldnq_tensor *in = NULL, *out = NULL;
  int64_t oshape[2] = {shape[0], classes};
  if ((st = ldnq_tensor_wrap(x, 4, shape, &in)) || (st = ldnq_tensor_create(2, oshape, &out)))
    return fail("tensor", st);
  if ((st = ldnq_network_forward(net, in, out))) return fail("forward", st);
  const float *y;
  ldnq_tensor_data_const(out, &y);
  f = fopen(argv[9], "wb");
  if (!f || fwrite(y, sizeof *y, (size_t)(shape[0] * classes), f) != (size_t)(shape[0] * classes))
    return 1;
  fclose(f);
  ldnq_tensor_free(in);
  ldnq_tensor_free(out);
  ldnq_network_free(net);
  free(x);
  return 0;
}
