/* Shared helpers of the ldnq command-line tool (public API only). */
#ifndef LDNQ_CLI_H
#define LDNQ_CLI_H

#include <stdio.h>

#include "ldnq/ldnq.h"
#include "args.h"

/* Values shared by several commands' help. */
#define CLI_ARCHS "resnet20,resnet32,resnet56,resnet18,resnet34,resnet50"
#define CLI_SPECS "fashion-mnist[:DIR], mnist:DIR, cifar10:DIR,\ncifar10-py:DIR, imagefolder:DIR"

/* Each subcommand: argv[0] is the subcommand name. Returns the exit code:
 * 0 success, 1 failure, 2 usage error. */
int cli_info(int argc, char **argv);
int cli_convert(int argc, char **argv);
int cli_eval(int argc, char **argv);
int cli_quantize(int argc, char **argv);
int cli_train(int argc, char **argv);

/* Prints "ldnq <cmd>: <what>: <status string>: <detail>" to stderr and
 * returns 1. `detail` may be NULL (then ldnq_last_error() is used). */
int cli_fail(const char *cmd, const char *what, ldnq_status st, const char *detail);
/* Writes s as a JSON string literal (with quotes) to f. */
void cli_json_string(FILE *f, const char *s);
/* Wall-clock seconds since an arbitrary origin. */
double cli_now(void);
/* Progress display: a bar on a terminal (stderr), periodic plain lines
 * otherwise. `label` may be NULL. done <= total. */
void cli_progress(const char *label, long done, long total);
/* Ends a progress display line. */
void cli_progress_end(void);

#endif
