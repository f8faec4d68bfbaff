/* The shared argument parser (args.h). */
#define _POSIX_C_SOURCE 200809L
#include "args.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int has_bounds(const arg_opt *o) { return o->lo != 0 || o->hi != 0; }

static arg_opt *find(arg_spec *s, const char *name, size_t len) {
  for (int i = 0; i < s->nopts; i++) {
    arg_opt *o = &s->opts[i];
    if ((strlen(o->name) == len && !strncmp(o->name, name, len)) ||
        (o->alias && strlen(o->alias) == len && !strncmp(o->alias, name, len)))
      return o;
  }
  return NULL;
}

/* Edit distance, capped: enough to suggest "--json" for "--jsn". */
static size_t distance(const char *a, size_t la, const char *b) {
  size_t lb = strlen(b), row[64];
  if (la >= 63 || lb >= 63) return 99;
  for (size_t j = 0; j <= lb; j++) row[j] = j;
  for (size_t i = 1; i <= la; i++) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= lb; j++) {
      size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);
      if (up + 1 < best) best = up + 1;
      if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
      diag = up;
      row[j] = best;
    }
  }
  return row[lb];
}

static void unknown(const arg_spec *s, const char *a, size_t len) {
  const char *best = NULL;
  size_t bd = 3; /* suggest only close matches */
  for (int i = 0; i < s->nopts; i++) {
    size_t d = distance(a, len, s->opts[i].name);
    if (d < bd) bd = d, best = s->opts[i].name;
  }
  fprintf(stderr, "%s: unknown option '%.*s'", s->prog, (int)len, a);
  if (best) fprintf(stderr, " (did you mean %s?)", best);
  fprintf(stderr, "; '%s --help' lists the options\n", s->prog);
}

/* Whether v is in the comma-separated list. */
static int in_choices(const char *choices, const char *v) {
  size_t n = strlen(v);
  for (const char *p = choices; *p;) {
    const char *e = strchr(p, ',');
    size_t l = e ? (size_t)(e - p) : strlen(p);
    if (l == n && !strncmp(p, v, n)) return 1;
    if (!e) break;
    p = e + 1;
  }
  return 0;
}

static void print_choices(FILE *f, const char *choices) {
  for (const char *p = choices; *p; p++) {
    if (*p == ',') fputs(", ", f);
    else fputc(*p, f);
  }
}

static int bad_value(const arg_spec *s, const arg_opt *o, const char *v, const char *why) {
  fprintf(stderr, "%s: %s '%s': %s", s->prog, o->name, v, why);
  if (o->choices) {
    fputs("; valid: ", stderr);
    print_choices(stderr, o->choices);
  } else if (has_bounds(o)) {
    fprintf(stderr, "; valid: %.15g to %.15g", o->lo, o->hi);
  }
  fputc('\n', stderr);
  return ARGS_ERROR;
}

static int store(const arg_spec *s, arg_opt *o, const char *v) {
  char *end = NULL;
  if (o->kind == ARG_STRING) {
    if (o->choices && !in_choices(o->choices, v)) return bad_value(s, o, v, "not a valid value");
    *(const char **)o->dst = v;
    return 0;
  }
  if (o->kind == ARG_LIST) {
    arg_list *l = o->dst;
    if (o->choices && !in_choices(o->choices, v)) return bad_value(s, o, v, "not a valid value");
    if (l->n >= ARG_LIST_MAX) return bad_value(s, o, v, "given too many times (at most 64)");
    l->v[l->n++] = v;
    return 0;
  }
  /* strtoll/strtod skip leading space and accept a sign; only the sign is allowed. */
  if (!*v || isspace((unsigned char)*v)) return bad_value(s, o, v, "not a number");
  errno = 0;
  if (o->kind == ARG_INT) {
    long long x = strtoll(v, &end, 10);
    if (*end) return bad_value(s, o, v, "not an integer");
    if (errno == ERANGE) return bad_value(s, o, v, "out of range");
    if (o->choices && !in_choices(o->choices, v)) return bad_value(s, o, v, "not allowed");
    if (has_bounds(o) && ((double)x < o->lo || (double)x > o->hi))
      return bad_value(s, o, v, "out of range");
    *(long long *)o->dst = x;
  } else {
    double x = strtod(v, &end);
    if (*end) return bad_value(s, o, v, "not a number");
    if (errno == ERANGE || !isfinite(x)) return bad_value(s, o, v, "out of range");
    if (has_bounds(o) && (x < o->lo || x > o->hi)) return bad_value(s, o, v, "out of range");
    *(double *)o->dst = x;
  }
  return 0;
}

static void missing_one(const arg_spec *s, const char *name, int before) {
  if (before) fprintf(stderr, ", %s", name);
  else fprintf(stderr, "%s: missing required option(s): %s", s->prog, name);
}

static int is_help(const char *a) { return !strcmp(a, "--help") || !strcmp(a, "-h"); }

int args_parse(arg_spec *s, int argc, char **argv, int first, const char **pos, int *npos) {
  int n = 0;
  for (int i = first; i < argc && strcmp(argv[i], "--"); i++)
    if (is_help(argv[i])) {
      args_help(s, stdout);
      return ARGS_HELP;
    }
  for (int i = 0; i < s->nopts; i++) s->opts[i].seen = 0;
  int dashdash = 0;
  for (int i = first; i < argc; i++) {
    const char *a = argv[i];
    if (dashdash || a[0] != '-' || !a[1]) { /* "-" alone is a positional (stdin-like) */
      if (n >= s->max_pos) {
        if (s->max_pos)
          fprintf(stderr, "%s: unexpected argument '%s' (takes %s)\n", s->prog, a, s->pos_names);
        else
          fprintf(stderr, "%s: unexpected argument '%s' (options start with --)\n", s->prog, a);
        return ARGS_ERROR;
      }
      pos[n++] = a;
      continue;
    }
    if (!strcmp(a, "--")) {
      dashdash = 1;
      continue;
    }
    const char *eq = strchr(a, '=');
    size_t len = eq ? (size_t)(eq - a) : strlen(a);
    arg_opt *o = find(s, a, len);
    if (!o) {
      unknown(s, a, len);
      return ARGS_ERROR;
    }
    o->seen = 1;
    if (o->kind == ARG_FLAG) {
      if (eq) {
        fprintf(stderr, "%s: %s takes no value\n", s->prog, o->name);
        return ARGS_ERROR;
      }
      *(int *)o->dst = 1;
      continue;
    }
    const char *v = eq ? eq + 1 : NULL;
    if (!v) {
      if (i + 1 >= argc) {
        fprintf(stderr, "%s: %s needs a value (%s)\n", s->prog, o->name, o->meta ? o->meta : "");
        return ARGS_ERROR;
      }
      v = argv[++i];
    }
    if (store(s, o, v)) return ARGS_ERROR;
  }
  if (npos) *npos = n;
  /* Missing required options, named (only those). */
  int missing = 0;
  for (int i = 0; i < s->nopts; i++)
    if ((s->opts[i].flags & ARG_REQUIRED) && !s->opts[i].seen) missing_one(s, s->opts[i].name, missing++);
  if (missing) {
    fprintf(stderr, "; '%s --help' lists the options\n", s->prog);
    return ARGS_ERROR;
  }
  if (n < s->min_pos) {
    fprintf(stderr, "%s: expected %s\n", s->prog, s->pos_names);
    return ARGS_ERROR;
  }
  return ARGS_OK;
}

int args_given(const arg_spec *s, const char *name) {
  for (int i = 0; i < s->nopts; i++)
    if (!strcmp(s->opts[i].name, name)) return s->opts[i].seen;
  return 0;
}

int args_require(const arg_spec *s, const char *const *names) {
  int missing = 0;
  for (; *names; names++)
    if (!args_given(s, *names)) missing_one(s, *names, missing++);
  if (missing) fprintf(stderr, "; '%s --help' lists the options\n", s->prog);
  return missing ? ARGS_ERROR : 0;
}

void args_help(const arg_spec *s, FILE *f) {
  fprintf(f, "usage: %s\n", s->synopsis);
  if (s->about) fprintf(f, "\n%s\n", s->about);
  if (s->nopts) fprintf(f, "\noptions:\n");
  for (int i = 0; i < s->nopts; i++) {
    const arg_opt *o = &s->opts[i];
    char head[64];
    snprintf(head, sizeof head, "%s%s%s%s%s", o->name, o->alias ? ", " : "", o->alias ? o->alias : "",
             o->kind == ARG_FLAG ? "" : " ", o->kind == ARG_FLAG ? "" : (o->meta ? o->meta : "X"));
    fprintf(f, "  %-22s", head);
    if (strlen(head) > 22) fprintf(f, "\n  %-22s", "");
    for (const char *p = o->help ? o->help : ""; *p; p++) {
      fputc(*p, f);
      if (*p == '\n') fprintf(f, "  %-22s", "");
    }
    if (o->flags & ARG_REQUIRED) fputs(" (required)", f);
    if (o->kind == ARG_LIST) fputs(" (repeatable)", f);
    if (o->choices) {
      fputs(" {", f);
      print_choices(f, o->choices);
      fputs("}", f);
    }
    if (o->def) fprintf(f, " (default %s)", o->def);
    else if (o->kind == ARG_INT) fprintf(f, " (default %lld)", *(long long *)o->dst);
    else if (o->kind == ARG_DOUBLE) fprintf(f, " (default %g)", *(double *)o->dst);
    else if (o->kind == ARG_STRING && *(const char **)o->dst)
      fprintf(f, " (default %s)", *(const char **)o->dst);
    fputc('\n', f);
  }
  fprintf(f, "  %-22s%s\n", "--help, -h", "this help");
}

int args_check_output(const char *prog, const char *what, const char *path) {
  struct stat sb;
  char dir[4096], probe[4200];
  if (!path || !*path) {
    fprintf(stderr, "%s: %s: empty path\n", prog, what);
    return 1;
  }
  if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
    fprintf(stderr, "%s: %s '%s': is a folder, not a file name\n", prog, what, path);
    return 1;
  }
  const char *slash = strrchr(path, '/');
  if (!slash) snprintf(dir, sizeof dir, ".");
  else if (slash == path) snprintf(dir, sizeof dir, "/");
  else snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
  if (stat(dir, &sb) != 0) {
    fprintf(stderr, "%s: %s '%s': folder '%s' does not exist\n", prog, what, path, dir);
    return 1;
  }
  if (!S_ISDIR(sb.st_mode)) {
    fprintf(stderr, "%s: %s '%s': '%s' is not a folder\n", prog, what, path, dir);
    return 1;
  }
  /* The same temporary name the library writes first, removed at once. */
  snprintf(probe, sizeof probe, "%s.tmp.%ld", path, (long)getpid());
  int fd = open(probe, O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0) {
    fprintf(stderr, "%s: %s '%s': cannot write in folder '%s': %s\n", prog, what, path, dir,
            strerror(errno));
    return 1;
  }
  close(fd);
  unlink(probe);
  return 0;
}
