/* ldnq info: not implemented yet (placeholder until its issue lands). */
#include "cli.h"

int cli_info(int argc, char **argv) {
  (void)argc;
  (void)argv;
  fprintf(stderr, "ldnq info: not implemented in this build\n");
  return 2;
}
