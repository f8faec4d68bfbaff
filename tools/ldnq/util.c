/* Helpers shared by the CLI subcommands. */
#define _POSIX_C_SOURCE 200809L
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

int cli_fail(const char *cmd, const char *what, ldnq_status st, const char *detail) {
  if (!detail) detail = ldnq_last_error();
  const char *who = ldnq_mpi_who();
  /* The library's message often names the file already: name it once. */
  if (what && *what && !strstr(detail, what))
    fprintf(ldnq_mpi_err(), "ldnq %s%s: %s: %s: %s\n", cmd, who, what, ldnq_status_string(st), detail);
  else
    fprintf(ldnq_mpi_err(), "ldnq %s%s: %s: %s\n", cmd, who, ldnq_status_string(st), detail);
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

/* Per thread: in-process ranks (--ranks) each keep their own (only rank 0
 * prints). */
static _Thread_local double last_plain, bar_t0;
static _Thread_local long bar_last = -1;
static _Thread_local int bar_open;

int cli_is_tty(void) { return isatty(STDERR_FILENO); }

void cli_progress_reset(void) { bar_last = -1; }

static void clock_str(char *b, size_t n, double s) {
  long t = (long)(s + 0.5);
  if (t >= 3600) snprintf(b, n, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
  else snprintf(b, n, "%ld:%02ld", t / 60, t % 60);
}

void cli_progress(const char *label, long done, long total) {
  if (total <= 0) total = 1;
  if (done > total) done = total;
  double t = cli_now();
  if (bar_last < 0 || done < bar_last) bar_t0 = t; /* a new bar: its own rate */
  bar_last = done;
  if (isatty(STDERR_FILENO)) {
    int width = 24, fill = (int)((double)done / (double)total * width);
    fprintf(ldnq_mpi_log(), "\r%s [", label ? label : "");
    for (int i = 0; i < width; i++) fputc(i < fill ? '#' : '.', ldnq_mpi_log());
    fprintf(ldnq_mpi_log(), "] %ld/%ld", done, total);
    double el = t - bar_t0;
    if (done >= 2 && el > 0) {
      double rate = (double)done / el;
      char left[32];
      clock_str(left, sizeof left, (double)(total - done) / rate);
      fprintf(ldnq_mpi_log(), " %.1f/s %s left", rate, left);
    }
    fputs("\033[K", ldnq_mpi_log()); /* clear what a longer previous line left */
    fflush(ldnq_mpi_log());
    bar_open = 1;
  } else {
    if (done == total || t - last_plain >= 5.0) {
      fprintf(ldnq_mpi_log(), "%s: %ld/%ld\n", label ? label : "progress", done, total);
      last_plain = t;
    }
  }
}

void cli_progress_end(void) {
  if (bar_open) fputs("\r\033[K", ldnq_mpi_log()); /* bars are transient; result lines stay */
  bar_open = 0;
  bar_last = -1;
}

int cli_ranks(const char *cmd, long long n, int (*run)(int, char **), int argc, char **argv) {
  if (n <= 1 || ldnq_mpi_ranks_thread()) return -1;
  if (ldnq_mpi_size() > 1) {
    fprintf(stderr, "ldnq %s: --ranks %lld runs the ranks as threads of one process; under "
                    "mpirun (%d ranks) the MPI processes are the ranks: give one or the other\n",
            cmd, n, ldnq_mpi_size());
    return 2;
  }
  return ldnq_mpi_run_ranks((int)n, run, argc, argv);
}
