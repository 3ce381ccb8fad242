/*
 * cmd_once.c -- `corewatch once`: every configured measurement once,
 * all at the same time, then a table of the results (the agent:
 * agent.h; each kind fills its own cells, probe_kind.once_cells).
 */
#include "config.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "agent.h"
#include "cmd.h"
#include "cliutil.h"
#include "log.h"
#include "output.h"
#include "result.h"
#include "table.h"
#include "tld.h"

#define AGENT_ONCE_GRACE (5 * CW_USEC_PER_SEC)
#define AGENT_TLD_WAIT   (30 * CW_USEC_PER_SEC) /* for new TLDs */

static void
agent_once_stop(evutil_socket_t sig, short what, void *arg)
{
	struct agent *a = arg;

	(void)what;
	log_warnx("once: %s, stopping", strsignal((int)sig));
	a->interrupted = true;
	event_base_loopbreak(a->base);
}

/* agent_once_deadline: a query that never reported (a bug, not a
 * network failure: the probe has its own timeouts). */
static void
agent_once_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct agent *a = arg;

	(void)fd;
	(void)what;
	for (size_t i = 0; i < a->tasks.n; i++) {
		struct task *t = &a->tasks.v[i];
		if (t->run == NULL && !t->queued)
			continue;
		if (t->run != NULL)
			t->m->kind->cancel(t->run);
		t->run = NULL;
		t->queued = false;
		agent_result_failure(t, CW_FAIL_INTERNAL,
		    "no result within the deadline");
	}
	event_base_loopbreak(a->base);
}

/* agent_once_busy: the longest any run may take, times the runs of the
 * largest group for a kind whose runs take turns, plus a grace. */
static cw_usec_t
agent_once_busy(const struct config *conf, size_t max_group)
{
	cw_usec_t busy = 0;

	for (size_t i = 0; i < conf->nmeasurements; i++) {
		const struct measurement *m = &conf->measurements[i];
		cw_usec_t b = m->kind->run_max(m);
		if (m->kind->serial)
			b *= (cw_usec_t)(max_group > 0 ? max_group : 1);
		if (b > busy)
			busy = b;
	}
	return busy + AGENT_ONCE_GRACE;
}

/* agent_once_row: one table row from result r of task t (NULL: it
 * never reported); the kind fills the cells that are its own.  Returns
 * whether the row is an ok result with the kind's note. */
static bool
agent_once_row(struct table *tab, const struct task *t, const json_t *r)
{
	const char *failure = json_string_value(json_object_get(r, "failure"));
	const json_t *rtt;
	struct probe_cells c;
	char ms[32], result[96];
	const char *cells[8];
	bool noted;

	memset(&c, 0, sizeof(c));
	t->m->kind->once_cells(t->m, &t->pt, r, &c);
	noted = r != NULL && c.note != NULL && result_failure(r) == CW_OK;
	rtt = json_object_get(r, c.ms_field);
	if (json_is_number(rtt))
		snprintf(ms, sizeof(ms), "%.1f", json_number_value(rtt));
	else
		snprintf(ms, sizeof(ms), "-");
	snprintf(result, sizeof(result), "ok%s%s", noted ? ", " : "",
	    noted ? c.note : "");
	cells[0] = t->m->name;
	cells[1] = c.server;
	cells[2] = c.address;
	cells[3] = c.via;
	cells[4] = r == NULL ? "(no result)" :
	    failure != NULL  ? failure :
	                       result;
	cells[5] = ms;
	cells[6] = c.answer[0] != '\0' ? c.answer : NULL;
	cells[7] = c.server_id;
	table_add_row(tab, cells);
	return noted;
}

/* agent_once_kind: the index of kind k in probe_kinds. */
static size_t
agent_once_kind(const struct probe_kind *k)
{
	size_t i;

	for (i = 0; probe_kinds[i] != NULL && probe_kinds[i] != k; i++)
		;
	return i;
}

/* agent_once_table: the readable summary on stdout. */
static void
agent_once_table(struct agent *a)
{
	static const char *headers[] = { "MEASUREMENT", "SERVER", "ADDRESS",
		"VIA", "RESULT", "MS", "ANSWER", "NSID" };
	struct table *tab;
	size_t nkinds = agent_once_kind(NULL), *noted;

	if ((noted = calloc(nkinds, sizeof(*noted))) == NULL)
		return;
	if ((tab = table_new(8, headers)) == NULL) {
		free(noted);
		return;
	}
	table_set_align(tab, 5, TABLE_RIGHT);
	for (size_t i = 0; i < a->tasks.n; i++) {
		const struct task *t = &a->tasks.v[i];
		size_t j, k = agent_once_kind(t->m->kind);
		json_t *r;
		if (json_array_size(t->results) == 0)
			agent_once_row(tab, t, NULL);
		json_array_foreach(t->results, j, r)
			noted[k] += agent_once_row(tab, t, r);
	}
	table_print(tab, stdout);
	table_free(tab);
	printf("\n%llu of %llu ok", a->results - a->failures, a->results);
	for (size_t k = 0; k < nkinds; k++)
		if (noted[k] > 0 && probe_kinds[k]->once_note_total != NULL)
			printf(" (%zu %s)", noted[k],
			    probe_kinds[k]->once_note_total);
	free(noted);
	if (a->out != NULL)
		printf("; full results (JSON lines) appended to %s\n",
		    output_name(a->out));
	else
		printf("; full results not kept: use --json, or -o FILE (or "
		       "output { path = FILE })\n");
	fflush(stdout);
}

static void
agent_once_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: corewatch once [-v] [-c FILE] [-o PATH] [--table | --json]\n"
	    "\n"
	    "Run every configured measurement once, all at the same time, and exit.\n"
	    "\n"
	    "  -c, --config FILE   configuration (default %s)\n"
	    "  -o, --output PATH   write the results here (\"-\": stdout) instead of\n"
	    "                      the configured output\n"
	    "      --table         print a readable table on stdout (the default\n"
	    "                      when stdout is a terminal)\n"
	    "      --json          no table, only JSON lines to the output\n"
	    "  -v, --verbose       debug messages\n"
	    "  -h, --help          this text\n"
	    "\n"
	    "With a table, results still go to the output when it is a file; when\n"
	    "it is stdout they are left out, so the table stays readable.\n"
	    "\n"
	    "Exit status: 0 every measurement ok, 1 some failed, 2 usage or\n"
	    "configuration error.\n",
	    agent_default_config());
}

enum {
	AGENT_OPT_TABLE = 256,
	AGENT_OPT_JSON,
};

static const struct option agent_once_options[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "output", required_argument, NULL, 'o' },
	{ "table", no_argument, NULL, AGENT_OPT_TABLE },
	{ "json", no_argument, NULL, AGENT_OPT_JSON },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void
agent_once_tld_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct agent *a = arg;

	(void)fd;
	(void)what;
	event_base_loopbreak(a->base);
}

/* agent_once_tld_wait: TLDs without a cached set get up to
 * AGENT_TLD_WAIT to be discovered before the tasks are built. */
static int
agent_once_tld_wait(struct agent *a)
{
	struct event *timer;
	struct timeval tv;
	int rc;

	if (a->tld == NULL || tld_discovery_settled(a->tld))
		return 0;
	if ((timer = evtimer_new(a->base, agent_once_tld_timeout, a)) == NULL)
		return -1;
	cw_usec_to_timeval(AGENT_TLD_WAIT, &tv);
	a->tld_waiting = true;
	rc = evtimer_add(timer, &tv) == -1 ? -1 : event_base_dispatch(a->base);
	a->tld_waiting = false;
	event_free(timer);
	if (rc != -1 && !a->interrupted && !tld_discovery_settled(a->tld))
		log_warnx("once: TLD discovery did not finish within %lld s",
		    (long long)(AGENT_TLD_WAIT / CW_USEC_PER_SEC));
	return rc == -1 ? -1 : 0;
}

/* agent_once_run: start everything and wait for every result. */
static int
agent_once_run(struct agent *a)
{
	struct timeval tv;

	if (agent_signals(a, agent_once_stop, NULL) == -1 ||
	    agent_once_tld_wait(a) == -1)
		return -1;
	if (a->interrupted)
		return 0;
	if (agent_tasks_build(a, a->conf, &a->tasks) == -1)
		return -1;
	for (size_t i = 0; i < a->tasks.n; i++)
		agent_task_start(&a->tasks.v[i]);
	if (a->pending == 0)
		return 0;
	if ((a->deadline = evtimer_new(a->base, agent_once_deadline, a)) ==
	    NULL)
		return -1;
	cw_usec_to_timeval(agent_once_busy(a->conf, a->tasks.max_group), &tv);
	if (evtimer_add(a->deadline, &tv) == -1 ||
	    event_base_dispatch(a->base) == -1) {
		log_warnx("once: event loop failed");
		return -1;
	}
	return 0;
}

int
cmd_once(int argc, char **argv)
{
	const char *path = agent_default_config(), *output = NULL;
	struct agent a;
	bool verbose = false;
	int ch, table = -1, status;

	while ((ch = getopt_long(argc, argv, "c:o:vh", agent_once_options,
	            NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'o':
			output = optarg;
			break;
		case AGENT_OPT_TABLE:
			table = 1;
			break;
		case AGENT_OPT_JSON:
			table = 0;
			break;
		case 'v':
			verbose = true;
			break;
		case 'h':
			agent_once_usage(stdout);
			return CW_EXIT_OK;
		default:
			agent_once_usage(stderr);
			return CW_EXIT_USAGE;
		}
	}
	if (optind != argc)
		return cli_unexpected("once", argv[optind]);
	if (table == -1)
		table = isatty(STDOUT_FILENO);
	if (agent_init(&a, AGENT_ONCE, path, verbose) == -1) {
		agent_free(&a);
		return CW_EXIT_USAGE;
	}
	if (output == NULL)
		output = a.conf->output_path;
	/* A table and JSON lines on one stdout would be unreadable. */
	if (((!table || strcmp(output, "-") != 0) &&
	        (a.out = output_open(output)) == NULL) ||
	    agent_once_run(&a) == -1) {
		log_errx("once: not completed");
		agent_free(&a);
		return CW_EXIT_USAGE;
	}
	if (a.out != NULL && output_flush(a.out) == -1)
		a.write_errors++;
	if (table)
		agent_once_table(&a);
	status = a.failures == 0 && a.write_errors == 0 && !a.interrupted &&
	        a.settled == a.tasks.n ?
	    CW_EXIT_OK :
	    CW_EXIT_FAILURES;
	if (a.write_errors > 0)
		log_warnx("once: %llu results could not be written to %s",
		    a.write_errors, output_name(a.out));
	agent_free(&a);
	return status;
}
