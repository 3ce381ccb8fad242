/*
 * cliutil.h -- checking command-line values, shared by the subcommands.
 *
 * Each helper reports a bad value on stderr as "corewatch CMD: --OPT:
 * ..." and returns -1, so a subcommand can exit with CW_EXIT_USAGE.
 */
#ifndef CW_CLIUTIL_H
#define CW_CLIUTIL_H

#include <jansson.h>

#include "cwtime.h"
#include "probe.h"

struct output;
struct note_key;

/* cli_vkey: a log's verifier key given as --vkey: the key itself
 * (NAME+KEYID+BASE64), or a file whose first line it is.  Returns 0, or
 * -1 with why on stderr. */
int cli_vkey(const char *cmd, const char *arg, struct note_key *key);

/* cli_error: print "corewatch CMD: <message>" on stderr; returns
 * CW_EXIT_USAGE so that `return cli_error(...)` ends a command. */
int cli_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* cli_unexpected: report `arg`, the first argument past what command
 * `cmd` takes; returns CW_EXIT_USAGE. */
int cli_unexpected(const char *cmd, const char *arg);

/* cli_vkey: --vkey's value: a verifier key (note.h), or a file whose
 * first line is one.  0, or -1 (reported). */
struct note_key;
int cli_vkey(const char *cmd, const char *arg, struct note_key *key);

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

/* cli_rule: how an ad-hoc command words a problem with one of its
 * kind's spec rules (probe_kind.spec_check): "--OPT: WHY" with the
 * check's WHY, or, where the fix is another option, the words `says`. */
struct cli_rule {
	const char *opt; /* "--max-body" */
	const char *says;
};

/* cli_spec_rules: ask `kind` every rule of `spec` (the spec the
 * configuration would build), in the order of its rules; the first
 * refused is reported in rules[]'s words.  0, or -1 (reported). */
int cli_spec_rules(const char *cmd, const struct probe_kind *kind,
    const void *spec, const struct cli_rule *rules);

/* cli_spec_duration: `text` as a duration (cw_duration_parse) into
 * *field, a duration of `spec` that `rule` of `kind` bounds: the kind's
 * spec_check decides, and a duration it refuses is reported in
 * cli_duration()'s words, with that rule's bounds `min` and `max`.  0,
 * or -1 (reported). */
int cli_spec_duration(const char *cmd, const struct probe_kind *kind,
    const void *spec, int rule, const char *opt, const char *text,
    cw_usec_t *field, cw_usec_t min, cw_usec_t max);

/* cli_rounds: the --count / --in-flight loop of an ad-hoc command (dns,
 * http): `total` measurements started in order, at most `in_flight_max`
 * of them at once. */
struct cli_rounds {
	unsigned long rounds; /* --count: each job's runs; 0: 1 */
	unsigned long started, total;
	long in_flight_max;   /* --in-flight; 0 until bounded */
	long pending;         /* started, not reported yet */
	unsigned long failed; /* ok false, unwritten or unstarted */
};

/* cli_rounds_option: --count or --in-flight (`opt`, without its dashes)
 * of command `cmd`, whose value is `text`.  Returns 0, or -1 (reported,
 * see cli_number). */
int cli_rounds_option(struct cli_rounds *, const char *cmd, const char *opt,
    const char *text);

/* cli_rounds_jobs: `njobs` jobs, each run `rounds` times, make `total`. */
void cli_rounds_jobs(struct cli_rounds *, size_t njobs);

/* Start measurement number `i` (0 <= i < total); 0 when it is under
 * way, -1 when it could not start at all. */
typedef int cli_start_fn(void *arg, unsigned long i);

/* cli_rounds_fill: start measurements until in_flight_max are pending or
 * all have started; one that cannot start counts as failed.  Call it
 * once to begin and again whenever a measurement reports. */
void cli_rounds_fill(struct cli_rounds *, cli_start_fn *, void *);

/* cli_rounds_bound: keep the measurements at once within the descriptors
 * the process may open (`nofile`, from sysutil_raise_nofile(); <= 0 when
 * unknown), `fds_each` per measurement, less a reserve for the loop and
 * the output.  Without --in-flight that is the bound; an --in-flight
 * above it is kept and warned about on stderr (`cmd` names the
 * command). */
void cli_rounds_bound(struct cli_rounds *, const char *cmd, long nofile,
    long fds_each);

/* cli_rounds_result: write one result to `out` and count it when it
 * failed or could not be written.  Takes the caller's reference. */
void cli_rounds_result(struct cli_rounds *, struct output *, json_t *);

/* cli_rounds_end: after the loop: those still pending count as failed
 * (logged, `cmd` names the command).  Returns the command's exit
 * status: CW_EXIT_OK when every result was ok, else CW_EXIT_FAILURES. */
int cli_rounds_end(struct cli_rounds *, const char *cmd);

#endif
