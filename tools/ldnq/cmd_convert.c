/* ldnq convert IN OUT: rewrites a model file in the format OUT's extension
 * names (.pth/.pt zip checkpoint, .safetensors, .ldnq). */
#include <string.h>

#include "cli.h"

int cli_convert(int argc, char **argv) {
  const char *pos[2];
  arg_spec sp = {"ldnq convert", "ldnq convert IN OUT",
                 "IN: any model file libldnq reads (torch zip or legacy, safetensors, .ldnq).\n"
                 "OUT's extension picks the format: .pth/.pt (torch zip), .safetensors, .ldnq\n"
                 "(.ldnq keeps quantized tensors packed; other formats store them as floats).",
                 NULL, 0, 2, 2, "IN OUT"};
  int r = args_parse(&sp, argc, argv, 1, pos, NULL);
  if (r) return r == ARGS_HELP ? 0 : 2;
  const char *in = pos[0], *outp = pos[1];
  ldnq_format fmt;
  ldnq_status st = ldnq_format_from_path(outp, &fmt);
  if (st) return cli_fail("convert", outp, st, NULL);
  if (args_check_output("ldnq convert", "OUT", outp)) return 1;
  ldnq_checkpoint *ck = NULL;
  st = ldnq_checkpoint_load(in, &ck);
  if (st) return cli_fail("convert", in, st, NULL);
  st = ldnq_checkpoint_save(ck, outp, fmt);
  if (st) {
    int rc = cli_fail("convert", outp, st, ldnq_checkpoint_errmsg(ck));
    ldnq_checkpoint_free(ck);
    return rc;
  }
  int64_t n = 0;
  ldnq_checkpoint_count_v2(ck, &n);
  fprintf(stderr, "ldnq convert: wrote %lld tensors to %s (%s)\n", (long long)n, outp,
          ldnq_format_name(fmt));
  ldnq_checkpoint_free(ck);
  return 0;
}
