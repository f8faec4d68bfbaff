/* Helpers shared by the CLI subcommands. */
#define _POSIX_C_SOURCE 200809L
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

int cli_fail(const char *cmd, const char *what, ldnq_status st, const char *detail) {
  if (!detail) detail = ldnq_last_error();
  /* The library's message often names the file already: name it once. */
  if (what && *what && !strstr(detail, what))
    fprintf(stderr, "ldnq %s: %s: %s: %s\n", cmd, what, ldnq_status_string(st), detail);
  else
    fprintf(stderr, "ldnq %s: %s: %s\n", cmd, ldnq_status_string(st), detail);
  return 1;
}

void cli_json_string(FILE *f, const char *s) {
  fputc('"', f);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
    else if (*p == '\n') fputs("\\n", f);
    else if (*p < 0x20) fprintf(f, "\\u%04x", *p);
    else fputc(*p, f);
  }
  fputc('"', f);
}

double cli_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double last_plain;
static int bar_open;

void cli_progress(const char *label, long done, long total) {
  if (total <= 0) total = 1;
  if (isatty(STDERR_FILENO)) {
    int width = 30, fill = (int)((double)done / (double)total * width);
    fprintf(stderr, "\r%-24.24s [", label ? label : "");
    for (int i = 0; i < width; i++) fputc(i < fill ? '#' : '.', stderr);
    fprintf(stderr, "] %ld/%ld", done, total);
    fflush(stderr);
    bar_open = 1;
  } else {
    double t = cli_now();
    if (done == total || t - last_plain >= 5.0) {
      fprintf(stderr, "%s: %ld/%ld\n", label ? label : "progress", done, total);
      last_plain = t;
    }
  }
}

void cli_progress_end(void) {
  if (bar_open) fputc('\n', stderr);
  bar_open = 0;
}
