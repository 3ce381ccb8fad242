/*
 * cliutil.c -- checking command-line values.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "cliutil.h"

int
cli_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "corewatch %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	return CW_EXIT_USAGE;
}

int
cli_getopt_error(const char *cmd, char **argv, int first_long)
{
	/* getopt_long sets optopt to the option's value when only its
	 * argument is missing, to 0 for an unknown long option, and to the
	 * letter of an unknown one. */
	if (optopt >= first_long)
		return cli_error(cmd, "%s needs a value (try --help)",
		    argv[optind - 1]);
	if (optopt != 0)
		return cli_error(cmd, "unknown option -%c (try --help)",
		    optopt);
	return cli_error(cmd, "unknown option %s (try --help)",
	    argv[optind - 1]);
}

int
cli_number(const char *cmd, const char *opt, const char *text, long min,
    long max, long *out)
{
	char *end;
	long value;

	errno = 0;
	value = strtol(text, &end, 10);
	if (*text == '\0' || *end != '\0' || errno != 0 || value < min ||
	    value > max) {
		cli_error(cmd, "--%s: \"%s\" is not a number from %ld to %ld",
		    opt, text, min, max);
		return -1;
	}
	*out = value;
	return 0;
}

int
cli_duration(const char *cmd, const char *opt, const char *text,
    cw_usec_t min, cw_usec_t max, cw_usec_t *out)
{
	cw_usec_t value;

	if (cw_duration_parse(text, &value) == -1 || value < min ||
	    value > max) {
		cli_error(cmd, "--%s: \"%s\" is not a duration from %g s to "
		    "%g s (e.g. 4, 1.5s, 800ms)", opt, text, (double)min / 1e6,
		    (double)max / 1e6);
		return -1;
	}
	*out = value;
	return 0;
}
