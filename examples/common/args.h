/* One small argument parser for the ldnq tool and the example programs.
 *
 * Options are described by a table; the parser handles `--opt value`,
 * `--opt=value`, `--` (everything after it is positional), strict numbers
 * (the whole text must be a number inside the option's bounds, no overflow),
 * the unknown option named (with a close match suggested), the missing
 * required options named, and `--help` / `-h` (the table printed with each
 * option's default). It is not part of libldnq: it is compiled into each
 * program, so a user's copy of an example needs only this file and libldnq. */
#ifndef LDNQ_EXAMPLES_ARGS_H
#define LDNQ_EXAMPLES_ARGS_H

#include <stdio.h>

typedef enum {
  ARG_FLAG,   /* no value; *(int *)dst = 1 */
  ARG_STRING, /* *(const char **)dst = the value (a pointer into argv) */
  ARG_INT,    /* *(long long *)dst, within [lo, hi] (and in `choices` if set) */
  ARG_DOUBLE, /* *(double *)dst, finite, within [lo, hi] */
  ARG_LIST    /* repeatable: each value appended to *(arg_list *)dst */
} arg_kind;

/* Values of an ARG_LIST option, in command-line order (pointers into argv). */
#define ARG_LIST_MAX 64
typedef struct {
  const char *v[ARG_LIST_MAX];
  int n;
} arg_list;

enum { ARG_REQUIRED = 1 };

typedef struct {
  const char *name;    /* "--levels" */
  arg_kind kind;
  void *dst;
  const char *meta;    /* value placeholder in the help: "N", "FILE" */
  const char *help;    /* description; may contain '\n' for more lines */
  double lo, hi;       /* numeric bounds (both 0: no bounds) */
  unsigned flags;      /* ARG_REQUIRED */
  const char *def;     /* default shown in the help; NULL: taken from *dst
                          (nothing for flags and unset strings) */
  const char *choices; /* ARG_INT/ARG_STRING: allowed values, "3,5,7,9,11" */
  const char *alias;   /* another accepted name, "--kbits" */
  int seen;            /* set by args_parse when the option was given */
} arg_opt;

typedef struct {
  const char *prog;     /* "ldnq quantize": prefix of every message */
  const char *synopsis; /* usage line(s) after "usage: " */
  const char *about;    /* optional paragraph after the options */
  arg_opt *opts;
  int nopts;
  int min_pos, max_pos; /* positional arguments accepted */
  const char *pos_names; /* in messages: "FILE", "IN OUT" */
} arg_spec;

/* Parses argv[first..argc-1]. Positional arguments go to pos[] (at most
 * spec->max_pos; *npos gets their count; pos and npos may be NULL when
 * max_pos is 0). Returns 0 to go on, ARGS_HELP when the help was printed
 * to stdout (exit 0), ARGS_ERROR after a message on stderr (exit 2). The
 * help is printed before any value is stored, so it shows the defaults. */
enum { ARGS_OK = 0, ARGS_HELP = -1, ARGS_ERROR = 2 };
int args_parse(arg_spec *spec, int argc, char **argv, int first, const char **pos, int *npos);

/* Prints the usage and the option table (with defaults) to f. */
void args_help(const arg_spec *spec, FILE *f);

/* Whether option `name` was given on the command line (after args_parse). */
int args_given(const arg_spec *spec, const char *name);

/* Prints "<prog>: missing required option(s): a, b" listing those of the
 * NULL-terminated names that were not given, and returns ARGS_ERROR; returns
 * 0 when all were given. For requirements that depend on a mode. */
int args_require(const arg_spec *spec, const char *const *names);

/* Checks, before any work, that `path` can be written the way libldnq
 * writes files (a temporary file next to it, then a rename): its folder
 * exists and is writable and `path` is not a folder. Prints
 * "<prog>: <what> '<path>': <reason>" and returns 1 when not; 0 when it can. */
int args_check_output(const char *prog, const char *what, const char *path);

#endif
