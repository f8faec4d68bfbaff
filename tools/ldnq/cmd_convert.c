/* ldnq convert IN OUT: rewrites a model file in the format OUT's extension
 * names (.pth/.pt zip checkpoint, .safetensors, .ldnq). */
#include <string.h>

#include "cli.h"

static void usage(FILE *f) {
  fprintf(f, "usage: ldnq convert IN OUT\n"
             "  IN: any model file libldnq reads (torch zip or legacy, safetensors, .ldnq).\n"
             "  OUT's extension picks the format: .pth/.pt (torch zip), .safetensors, .ldnq\n"
             "  (.ldnq keeps quantized tensors packed; other formats store them as floats).\n");
}

int cli_convert(int argc, char **argv) {
  if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
    usage(stdout);
    return 0;
  }
  if (argc != 3 || argv[1][0] == '-' || argv[2][0] == '-') {
    usage(stderr);
    return 2;
  }
  ldnq_format fmt;
  ldnq_status st = ldnq_format_from_path(argv[2], &fmt);
  if (st) return cli_fail("convert", argv[2], st, NULL);
  ldnq_checkpoint *ck = NULL;
  st = ldnq_checkpoint_load(argv[1], &ck);
  if (st) return cli_fail("convert", argv[1], st, NULL);
  st = ldnq_checkpoint_save(ck, argv[2], fmt);
  if (st) {
    int rc = cli_fail("convert", argv[2], st, ldnq_checkpoint_errmsg(ck));
    ldnq_checkpoint_free(ck);
    return rc;
  }
  int n = 0;
  ldnq_checkpoint_count(ck, &n);
  fprintf(stderr, "ldnq convert: wrote %d tensors to %s (%s)\n", n, argv[2], ldnq_format_name(fmt));
  ldnq_checkpoint_free(ck);
  return 0;
}
