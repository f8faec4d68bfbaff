/* ldnq train: not implemented yet (placeholder until its issue lands). */
#include "cli.h"

int cli_train(int argc, char **argv) {
  (void)argc;
  (void)argv;
  fprintf(stderr, "ldnq train: not implemented in this build\n");
  return 2;
}
