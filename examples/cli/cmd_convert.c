/* ldnq convert: not implemented yet (placeholder until its issue lands). */
#include "cli.h"

int cli_convert(int argc, char **argv) {
  (void)argc;
  (void)argv;
  fprintf(stderr, "ldnq convert: not implemented in this build\n");
  return 2;
}
