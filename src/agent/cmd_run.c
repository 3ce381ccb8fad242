/*
 * cmd_run.c -- `corewatch run`: measure on schedule, in the foreground,
 * until SIGTERM or SIGINT (the agent: agent.h).
 */
#include "config.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

#include <event2/event.h>

#include "agent.h"
#include "cmd.h"
#include "cliutil.h"
#include "log.h"
#include "output.h"

static void
agent_run_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: corewatch run [-v] [-c FILE]\n"
	    "\n"
	    "Measure on schedule, in the foreground, until SIGTERM or SIGINT.\n"
	    "Results go to the configured output; messages go to stderr.\n"
	    "SIGHUP re-reads the configuration (a broken one is refused and the\n"
	    "running one kept).\n"
	    "\n"
	    "  -c, --config FILE   configuration (default %s)\n"
	    "  -v, --verbose       debug messages\n"
	    "  -h, --help          this text\n",
	    agent_default_config());
}

static const struct option agent_run_options[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

int
cmd_run(int argc, char **argv)
{
	const char *path = agent_default_config();
	struct agent a;
	bool verbose = false;
	int ch, status = CW_EXIT_OK;

	while ((ch = getopt_long(argc, argv, "c:vh", agent_run_options,
	            NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'v':
			verbose = true;
			break;
		case 'h':
			agent_run_usage(stdout);
			return CW_EXIT_OK;
		default:
			agent_run_usage(stderr);
			return CW_EXIT_USAGE;
		}
	}
	if (optind != argc)
		return cli_unexpected("run", argv[optind]);
	if (agent_init(&a, AGENT_RUN, path, verbose) == -1) {
		agent_free(&a);
		return CW_EXIT_USAGE;
	}
	if ((a.out = output_open(a.conf->output_path)) == NULL ||
	    agent_spool_start(&a) == -1 ||
	    agent_signals(&a, agent_run_stop, agent_run_reload) == -1 ||
	    agent_tasks_build(&a, a.conf, &a.tasks) == -1 ||
	    agent_tasks_schedule(&a, &a.tasks) == -1) {
		log_errx("run: not started");
		agent_free(&a);
		return CW_EXIT_USAGE;
	}
	/* After the heartbeat that declares the configuration. */
	agent_tld_records(&a, NULL);
	log_info("run: probe %s, %zu measurement%s, %zu task%s, results to "
	         "%s",
	    a.conf->probe.name, a.conf->nmeasurements,
	    a.conf->nmeasurements == 1 ? "" : "s", a.tasks.n,
	    a.tasks.n == 1 ? "" : "s", output_name(a.out));
	if (a.spool != NULL)
		log_info("run: probe id %s, spool %s", a.key.id,
		    a.conf->spool.dir);
	if (event_base_dispatch(a.base) == -1) {
		log_warnx("run: event loop failed");
		status = CW_EXIT_USAGE;
	}
	agent_tasks_free(&a.tasks);
	if (output_flush(a.out) == -1)
		a.write_errors++;
	log_info("run: stopped after %llu results (%llu failed, %llu cycles "
	         "skipped, %llu not written, %llu not spooled)",
	    a.results, a.failures, a.skipped, a.write_errors, a.spool_errors);
	agent_free(&a);
	return status;
}
