/* ldnq: command-line front end of libldnq. */
#include <string.h>

#include "cli.h"

static const struct {
  const char *name;
  int (*run)(int, char **);
  const char *help;
} commands[] = {
    {"info", cli_info, "FILE [--json]            formats and tensors of a model file"},
    {"convert", cli_convert, "IN OUT                 convert between .pth/.safetensors/.ldnq"},
    {"eval", cli_eval, "--arch A --weights F --data SPEC   top-1/top-5 accuracy"},
    {"quantize", cli_quantize, "--arch A --weights F --data SPEC --out F [--levels L]"},
    {"train", cli_train, "--arch A --data SPEC --epochs N --out F"},
};

static void usage(FILE *f) {
  fprintf(f, "usage: ldnq <command> [options]   (libldnq %s)\n\ncommands:\n",
          ldnq_version_string());
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].help);
  fprintf(f, "\n'ldnq <command> --help' or 'ldnq help <command>' describes a command's options.\n");
}

static int run(int argc, char **argv);

int main(int argc, char **argv) { return ldnq_mpi_main(argc, argv, run); }

static int run(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  if (!strcmp(argv[1], "help") && argc > 2) { /* ldnq help CMD: that command's help */
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
      if (!strcmp(argv[2], commands[i].name)) {
        char *sub[] = {argv[2], "--help", NULL};
        return commands[i].run(2, sub);
      }
    fprintf(stderr, "ldnq help: unknown command '%s'\n\n", argv[2]);
    usage(stderr);
    return 2;
  }
  if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
    usage(stdout);
    return 0;
  }
  if (!strcmp(argv[1], "--version")) {
    printf("ldnq %s%s\n", ldnq_version_string(), ldnq_mpi_built() ? " (MPI)" : "");
    return 0;
  }
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    if (!strcmp(argv[1], commands[i].name)) return commands[i].run(argc - 1, argv + 1);
  fprintf(stderr, "ldnq: unknown command '%s'\n\n", argv[1]);
  usage(stderr);
  return 2;
}
