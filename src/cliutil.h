/*
 * cliutil.h -- checking command-line values, shared by the subcommands.
 *
 * Each helper reports a bad value on stderr as "corewatch CMD: --OPT:
 * ..." and returns -1, so a subcommand can exit with CW_EXIT_USAGE.
 */
#ifndef CW_CLIUTIL_H
#define CW_CLIUTIL_H

#include "cwtime.h"

/* cli_error: print "corewatch CMD: <message>" on stderr; returns
 * CW_EXIT_USAGE so that `return cli_error(...)` ends a command. */
int cli_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* cli_number: `text` as a whole decimal number within [min, max] into
 * *out; -1 (reported, *out untouched) for anything else. */
/* cli_getopt_error: report what getopt_long() refused (it returned '?'
 * or ':'): a missing value, an unknown letter or an unknown long
 * option.  `first_long` is the lowest value of the command's long-only
 * options.  Returns CW_EXIT_USAGE. */
int cli_getopt_error(const char *cmd, char **argv, int first_long);

int cli_number(const char *cmd, const char *opt, const char *text, long min,
    long max, long *out);

/* cli_duration: `text` as a duration (cw_duration_parse: 4, 1.5s,
 * 800ms ...) within [min, max] into *out; -1 (reported) otherwise. */
int cli_duration(const char *cmd, const char *opt, const char *text,
    cw_usec_t min, cw_usec_t max, cw_usec_t *out);

#endif
