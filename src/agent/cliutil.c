/*
 * cliutil.c -- checking command-line values.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "cliutil.h"
#include "failure.h"
#include "log.h"
#include "note.h"
#include "output.h"
#include "result.h"

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
cli_unexpected(const char *cmd, const char *arg)
{
	return cli_error(cmd, "unexpected argument \"%s\" (try --help)", arg);
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

/* cli_duration_error: the words of a duration outside [min, max]. */
static int
cli_duration_error(const char *cmd, const char *opt, const char *text,
    cw_usec_t min, cw_usec_t max)
{
	cli_error(cmd,
	    "--%s: \"%s\" is not a duration from %g s to %g s "
	    "(e.g. 4, 1.5s, 800ms)",
	    opt, text, (double)min / 1e6, (double)max / 1e6);
	return -1;
}

int
cli_duration(const char *cmd, const char *opt, const char *text, cw_usec_t min,
    cw_usec_t max, cw_usec_t *out)
{
	cw_usec_t value;

	if (cw_duration_parse(text, &value) == -1 || value < min || value > max)
		return cli_duration_error(cmd, opt, text, min, max);
	*out = value;
	return 0;
}

int
cli_spec_duration(const char *cmd, const struct probe_kind *kind,
    const void *spec, int rule, const char *opt, const char *text,
    cw_usec_t *field, cw_usec_t min, cw_usec_t max)
{
	char err[256];

	if (cw_duration_parse(text, field) == -1 ||
	    kind->spec_check(spec, rule, err, sizeof(err)) == -1)
		return cli_duration_error(cmd, opt, text, min, max);
	return 0;
}

int
cli_spec_rules(const char *cmd, const struct probe_kind *kind, const void *spec,
    const struct cli_rule *rules)
{
	char err[1280];

	for (int r = 0; r < kind->spec_rules; r++) {
		if (kind->spec_check(spec, r, err, sizeof(err)) == 0)
			continue;
		if (rules[r].says != NULL)
			cli_error(cmd, "%s", rules[r].says);
		else
			cli_error(cmd, "%s: %s", rules[r].opt, err);
		return -1;
	}
	return 0;
}

/* The largest --count and --in-flight. */
#define CLI_COUNT_MAX     100000000L
#define CLI_IN_FLIGHT_MAX 1000000L

int
cli_rounds_option(struct cli_rounds *r, const char *cmd, const char *opt,
    const char *text)
{
	long n;

	if (strcmp(opt, "in-flight") == 0)
		return cli_number(cmd, opt, text, 1, CLI_IN_FLIGHT_MAX,
		    &r->in_flight_max);
	if (cli_number(cmd, opt, text, 1, CLI_COUNT_MAX, &n) == -1)
		return -1;
	r->rounds = (unsigned long)n;
	return 0;
}

void
cli_rounds_jobs(struct cli_rounds *r, size_t njobs)
{
	r->total = (r->rounds != 0 ? r->rounds : 1) * njobs;
}

void
cli_rounds_fill(struct cli_rounds *r, cli_start_fn *start, void *arg)
{
	while (r->started < r->total &&
	    (r->in_flight_max == 0 || r->pending < r->in_flight_max)) {
		if (start(arg, r->started++) == -1) {
			r->failed++;
			continue;
		}
		r->pending++;
	}
}

/* Descriptors kept back for the event loop, the output, logging, a
 * resolver's sockets and libraries that open files of their own. */
#define CLI_NOFILE_RESERVE 64

void
cli_rounds_bound(struct cli_rounds *r, const char *cmd, long nofile,
    long fds_each)
{
	long fit;

	if (nofile <= 0 || fds_each <= 0)
		return;
	fit = nofile > CLI_NOFILE_RESERVE ?
	    (nofile - CLI_NOFILE_RESERVE) / fds_each :
	    0;
	if (fit < 1)
		fit = 1;
	if (r->in_flight_max == 0)
		r->in_flight_max = fit;
	else if (r->in_flight_max > fit)
		fprintf(stderr,
		    "corewatch %s: --in-flight %ld needs more "
		    "descriptors than the limit of %ld open files gives "
		    "(about %ld at once); measurements that cannot open a "
		    "socket fail with internal_error\n",
		    cmd, r->in_flight_max, nofile, fit);
}

void
cli_rounds_result(struct cli_rounds *r, struct output *out, json_t *result)
{
	if (result_failure(result) != CW_OK)
		r->failed++;
	if (output_write(out, result) == -1)
		r->failed++;
	json_decref(result);
}

int
cli_rounds_end(struct cli_rounds *r, const char *cmd)
{
	if (r->pending > 0) {
		log_warnx("%s: %ld measurements did not report", cmd,
		    r->pending);
		r->failed += (unsigned long)r->pending;
	}
	return r->failed > 0 ? CW_EXIT_FAILURES : CW_EXIT_OK;
}

int
cli_vkey(const char *cmd, const char *arg, struct note_key *key)
{
	char line[NOTE_NAME_MAX + 128];
	FILE *f;

	if (note_vkey_parse(arg, key) == 0)
		return 0;
	if ((f = fopen(arg, "r")) == NULL) {
		fprintf(stderr,
		    "corewatch %s: --vkey \"%s\": neither a verifier key nor a "
		    "file\n",
		    cmd, arg);
		return -1;
	}
	if (fgets(line, sizeof(line), f) == NULL)
		line[0] = '\0';
	fclose(f);
	line[strcspn(line, "\r\n")] = '\0';
	if (note_vkey_parse(line, key) != 0) {
		fprintf(stderr,
		    "corewatch %s: %s: not a verifier key (NAME+KEYID+BASE64, as "
		    "`corewatch-collector log key` prints it)\n",
		    cmd, arg);
		return -1;
	}
	return 0;
}
