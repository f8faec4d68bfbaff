/* ldnq eval: not implemented yet (placeholder until its issue lands). */
#include "cli.h"

int cli_eval(int argc, char **argv) {
  (void)argc;
  (void)argv;
  fprintf(stderr, "ldnq eval: not implemented in this build\n");
  return 2;
}
