/* ldnq quantize: not implemented yet (placeholder until its issue lands). */
#include "cli.h"

int cli_quantize(int argc, char **argv) {
  (void)argc;
  (void)argv;
  fprintf(stderr, "ldnq quantize: not implemented in this build\n");
  return 2;
}
