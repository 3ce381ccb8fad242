/*
 * cmd_episodes.c -- `corewatch-collector episodes`: find the episodes
 * of a window (episodes_find) and write them to stdout.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "cli.h"
#include "cmd_episodes.h"
#include "episodes.h"
#include "export.h"
#include "store.h"

enum {
	OPT_DB = 256,
	OPT_FORMAT,
	OPT_FILTER,  /* from, to, probe, name, addr, country, asn */
	OPT_EPISODE, /* scope, min-severity, min-failures, silence */
	OPT_PER_TARGET,
};

static const struct option cmd_episodes_options[] = {
	{ "db", required_argument, NULL, OPT_DB },
	{ "config", required_argument, NULL, 'c' },
	{ "format", required_argument, NULL, OPT_FORMAT },
	COLLECTOR_CMD_FILTER_OPTIONS(OPT_FILTER),
	{ "scope", required_argument, NULL, OPT_EPISODE },
	{ "min-severity", required_argument, NULL, OPT_EPISODE },
	{ "min-failures", required_argument, NULL, OPT_EPISODE },
	{ "silence", required_argument, NULL, OPT_EPISODE },
	{ "per-target", no_argument, NULL, OPT_PER_TARGET },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void
cmd_episodes_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: corewatch-collector episodes [--db URL | -c FILE] "
	    "[--format jsonl|csv] [filters]\n"
	    "  --db URL             sqlite:PATH or postgresql://...\n"
	    "  -c, --config FILE    the database of this configuration\n"
	    "  --format F           jsonl (the default) or csv\n"
	    "  --from T, --to T     from the records of this window (UTC)\n"
	    "  --probe ID, --name N, --addr A, --country CC, --asn N\n"
	    "                       episodes of this probe, measurement, "
	    "address,\n"
	    "                       declared country or AS number\n"
	    "  --scope S            target, probe or region\n"
	    "  --min-severity X     severity X or more (doc/episodes.md)\n"
	    "  --min-failures N     failures in a row that make an episode "
	    "(2)\n"
	    "  --silence S          a heartbeat gap is a probe episode when "
	    "longer\n"
	    "                       than twice the probe's interval and S "
	    "seconds (0)\n"
	    "  --per-target         a probe's cut as one episode per target\n"
	    "exit status: 0 written, 1 database or output error, 2 usage "
	    "error.\n");
}

/* The options into `q`, `db`, `conf_path`, `format`.  Returns -1 to go
 * on, or an exit status. */
static int
cmd_episodes_parse(int argc, char **argv, struct export_params *xp,
    struct episodes_query *q, const char **db, const char **conf_path,
    const char **format)
{
	char err[256], key[32];
	int ch, idx, rc;

	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "c:h", cmd_episodes_options,
	            &idx)) != -1) {
		switch (ch) {
		case 'h':
			cmd_episodes_usage(stdout);
			return CW_EXIT_OK;
		case 'c':
			*conf_path = optarg;
			break;
		case OPT_DB:
			*db = optarg;
			break;
		case OPT_FORMAT:
			*format = optarg;
			break;
		case OPT_FILTER:
			if ((rc = collector_cmd_filter("episodes", xp,
			         cmd_episodes_options[idx].name, optarg)) != -1)
				return rc;
			break;
		case OPT_PER_TARGET:
			q->per_target = true;
			break;
		case OPT_EPISODE:
			/* The option's name with '_' for '-', as the API's
			 * parameter. */
			snprintf(key, sizeof(key), "%s",
			    cmd_episodes_options[idx].name);
			for (char *s = key; *s != '\0'; s++)
				if (*s == '-')
					*s = '_';
			if (episodes_param_set(q, key, optarg, err,
			        sizeof(err)) != 1)
				return collector_cmd_error("episodes",
				    CW_EXIT_USAGE, "--%s", err);
			break;
		default:
			if (optopt >= OPT_DB || optopt == 'c')
				return collector_cmd_error("episodes",
				    CW_EXIT_USAGE,
				    "%s needs a value (try --help)",
				    argv[optind - 1]);
			return collector_cmd_error("episodes", CW_EXIT_USAGE,
			    "unknown option %s (try --help)", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return collector_cmd_error("episodes", CW_EXIT_USAGE,
		    "unexpected argument \"%s\" (try --help)", argv[optind]);
	if (*format != NULL && strcmp(*format, "jsonl") != 0 &&
	    strcmp(*format, "csv") != 0)
		return collector_cmd_error("episodes", CW_EXIT_USAGE,
		    "--format: \"%s\" is not jsonl or csv", *format);
	return collector_cmd_filter_check("episodes", xp);
}

int
collector_cmd_episodes(int argc, char **argv, cmd_export_db_fn *db_of)
{
	const char *db = NULL, *conf_path = NULL, *format = NULL;
	struct episode_list l = { 0 };
	struct export_params xp;
	struct episodes_query q;
	struct evbuffer *buf = NULL;
	struct store *st = NULL;
	char *url, err[512];
	int rc;

	export_params_init(&xp);
	episodes_query_init(&q);
	q.heartbeats = true;
	if ((rc = cmd_episodes_parse(argc, argv, &xp, &q, &db, &conf_path,
	         &format)) != -1)
		return rc;
	q.filter = xp.filter;
	if ((url = db_of("episodes", conf_path, db)) == NULL)
		return CW_EXIT_USAGE;
	rc = CW_EXIT_FAILURES;
	if (strncmp(url, "sqlite:", 7) == 0 && access(url + 7, F_OK) == -1)
		collector_cmd_error("episodes", 0, "%s: %s", url + 7,
		    strerror(errno));
	else if ((st = store_open(url, err, sizeof(err))) == NULL)
		collector_cmd_error("episodes", 0, "%s: %s", url, err);
	else if ((buf = evbuffer_new()) == NULL)
		collector_cmd_error("episodes", 0, "out of memory");
	else if ((rc = episodes_find(st, &q, &l)) != 0) {
		collector_cmd_error("episodes", 0, "%s%s",
		    rc == STORE_E_DB ? store_error_text(st) : "out of memory",
		    rc == STORE_E_DB && store_unavailable(st) ?
		        " (the database is unavailable)" :
		        "");
		rc = CW_EXIT_FAILURES;
	} else if ((format != NULL && strcmp(format, "csv") == 0 ?
	                   episodes_write_csv(&l, buf) :
	                   episodes_write_jsonl(&l, buf)) == -1)
		rc = collector_cmd_error("episodes", CW_EXIT_FAILURES,
		    "out of memory");
	else
		rc = CW_EXIT_OK;
	while (rc == CW_EXIT_OK && evbuffer_get_length(buf) > 0)
		if (evbuffer_write(buf, STDOUT_FILENO) == -1 &&
		    errno != EINTR && errno != EAGAIN)
			rc = collector_cmd_error("episodes", CW_EXIT_FAILURES,
			    "stdout: %s", strerror(errno));
	episode_list_clear(&l);
	if (buf != NULL)
		evbuffer_free(buf);
	store_close(st);
	free(url);
	return rc;
}
