/*
 * cmd_bundle.c -- `corewatch-collector bundle` (cmd_bundle.h): the
 * options, the log key, the database, and the file written whole or not
 * at all.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "bundle.h"
#include "cli.h"
#include "cmd_bundle.h"
#include "cmd_export.h"
#include "export.h"
#include "fileio.h"
#include "store.h"
#include "tlog.h"

#define CMD              "bundle"
#define CMD_BUNDLE_TRIES 5 /* reads of stretches that changed meanwhile */

enum { OPT_DB = 256, OPT_KEY, OPT_OUT, OPT_FILTER };

static const struct option cmd_bundle_options[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "db", required_argument, NULL, OPT_DB },
	{ "key", required_argument, NULL, OPT_KEY },
	{ "out", required_argument, NULL, OPT_OUT },
	COLLECTOR_CMD_FILTER_OPTIONS(OPT_FILTER),
	{ "type", required_argument, NULL, OPT_FILTER },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void
cmd_bundle_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: corewatch-collector bundle [--db URL | -c FILE] "
	    "[--key FILE] [filters] --out FILE.tar\n"
	    "  the whole stretches of the chains the filters touch, their "
	    "batch\n"
	    "  signatures, a new signed checkpoint and the proof that every "
	    "record\n"
	    "  is in the log, as one tar file (doc/evidence.md)\n"
	    "  --db URL             sqlite:PATH or postgresql://...\n"
	    "  -c, --config FILE    the database, log_key and log_origin of "
	    "this\n"
	    "                       configuration\n"
	    "  --key FILE           the log key (default: log_key)\n"
	    "  --out FILE.tar       the file to write (complete or not at "
	    "all)\n"
	    "  --from T, --to T     measurement time from T (inclusive) to T\n"
	    "                       (exclusive), UTC ISO 8601\n"
	    "  --probe ID           probe id (32 hex digits) or number\n"
	    "  --type T             record type: dns, http, heartbeat, loss "
	    "...\n"
	    "  --name N, --addr A, --country CC, --asn N\n"
	    "                       as export's filters\n"
	    "exit status: 0 written, 1 database, key or output error or no "
	    "record\n"
	    "matched, 2 usage error.\n");
}

/* What the command was given. */
struct cmd_bundle {
	const char *conf_path, *db, *key, *out;
	struct export_params params;
	json_t *filters;
	struct cmd_log_conf conf;
};

/* Parse argv into `c`.  Returns -1 to go on, or the exit status. */
static int
cmd_bundle_parse(struct cmd_bundle *c, int argc, char **argv)
{
	char err[256];
	int ch, idx;

	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "c:h", cmd_bundle_options,
	            &idx)) != -1) {
		switch (ch) {
		case 'h':
			cmd_bundle_usage(stdout);
			return CW_EXIT_OK;
		case 'c':
			c->conf_path = optarg;
			break;
		case OPT_DB:
			c->db = optarg;
			break;
		case OPT_KEY:
			c->key = optarg;
			break;
		case OPT_OUT:
			c->out = optarg;
			break;
		case OPT_FILTER:
			if (export_params_set(&c->params,
			        cmd_bundle_options[idx].name, optarg, err,
			        sizeof(err)) != 1)
				return collector_cmd_error(CMD, CW_EXIT_USAGE,
				    "--%s", err);
			if (json_object_set_new(c->filters,
			        cmd_bundle_options[idx].name,
			        json_string(optarg)) == -1)
				return collector_cmd_error(CMD, CW_EXIT_USAGE,
				    "--%s: not UTF-8",
				    cmd_bundle_options[idx].name);
			break;
		default:
			if (optopt >= OPT_DB || optopt == 'c')
				return collector_cmd_error(CMD, CW_EXIT_USAGE,
				    "%s needs a value (try --help)",
				    argv[optind - 1]);
			return collector_cmd_error(CMD, CW_EXIT_USAGE,
			    "unknown option %s (try --help)", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return collector_cmd_error(CMD, CW_EXIT_USAGE,
		    "unexpected argument \"%s\" (try --help)", argv[optind]);
	if (c->out == NULL || c->out[0] == '\0')
		return collector_cmd_error(CMD, CW_EXIT_USAGE,
		    "--out FILE.tar is required");
	return collector_cmd_filter_check(CMD, &c->params);
}

/* Write the bundle through a temporary file renamed over c->out. */
static int
cmd_bundle_run(struct cmd_bundle *c, struct store *st,
    const struct tlog_signer *s)
{
	struct bundle_req req = { &c->params.filter, c->filters, s };
	struct fileio_atomic fa;
	struct bundle_stats stats;
	char err[512];
	enum bundle_status bs;

	switch (fileio_atomic_begin(&fa, AT_FDCWD, c->out, 0644)) {
	case FILEIO_OK:
		break;
	case FILEIO_NAME:
		return collector_cmd_error(CMD, CW_EXIT_USAGE,
		    "--out: name too long");
	default:
		return collector_cmd_error(CMD, CW_EXIT_FAILURES, "%s: %s",
		    fa.tmp, strerror(errno));
	}
	/* A stretch that changed while it was read is read again: nothing
	 * was written to the file then. */
	for (int tries = 0; tries < CMD_BUNDLE_TRIES; tries++) {
		err[0] = '\0';
		bs = bundle_write(st, &req, fa.fd, &stats, err, sizeof(err));
		if (bs != BUNDLE_AGAIN)
			break;
	}
	if (bs != BUNDLE_OK) {
		fileio_atomic_abort(&fa);
		if (bs == BUNDLE_DB)
			return collector_cmd_error(CMD, CW_EXIT_FAILURES,
			    "%s%s", err[0] != '\0' ? err : store_error_text(st),
			    store_unavailable(st) ?
			        " (the database is unavailable)" :
			        "");
		return collector_cmd_error(CMD, CW_EXIT_FAILURES, "%s%s%s",
		    bs == BUNDLE_OUTPUT ? c->out : "",
		    bs == BUNDLE_OUTPUT ? ": " : "", err);
	}
	switch (fileio_atomic_commit(&fa)) {
	case FILEIO_OK:
		break;
	case FILEIO_DIRSYNC:
		collector_cmd_error(CMD, CW_EXIT_OK,
		    "%s: fsync of the directory: %s", c->out, strerror(errno));
		break;
	case FILEIO_RENAME:
		return collector_cmd_error(CMD, CW_EXIT_FAILURES, "%s: %s",
		    c->out, strerror(errno));
	default:
		return collector_cmd_error(CMD, CW_EXIT_FAILURES, "%s: %s",
		    fa.tmp, strerror(errno));
	}
	fprintf(stderr,
	    "corewatch-collector bundle: %s: %llu records of %zu chains, "
	    "%llu batches, checkpoint of %llu leaves, %llu proof nodes\n",
	    c->out, stats.records, stats.chains, stats.batches, stats.size,
	    stats.nodes);
	return CW_EXIT_OK;
}

int
collector_cmd_bundle(int argc, char **argv, cmd_log_conf_fn *conf_of)
{
	struct cmd_bundle c = { 0 };
	struct tlog_signer s;
	struct store *st = NULL;
	char err[512];
	int rc;

	export_params_init(&c.params);
	if ((c.filters = json_object()) == NULL)
		return collector_cmd_error(CMD, CW_EXIT_FAILURES,
		    "out of memory");
	if ((rc = cmd_bundle_parse(&c, argc, argv)) != -1)
		goto out;
	if (conf_of(CMD, c.conf_path, &c.conf) == -1) {
		rc = CW_EXIT_USAGE;
		goto out;
	}
	if (c.db != NULL) {
		free(c.conf.db);
		c.conf.db = strdup(c.db);
	}
	if (c.key != NULL) {
		free(c.conf.key);
		c.conf.key = strdup(c.key);
	}
	if (c.conf.db == NULL || c.conf.key == NULL) {
		rc = collector_cmd_error(CMD, CW_EXIT_FAILURES,
		    "out of memory");
		goto out;
	}
	/* The key first: without it no bundle can be signed, and nothing
	 * is read or written. */
	if (tlog_signer_load(&s, c.conf.key, c.conf.origin) == -1) {
		rc = collector_cmd_error(CMD, CW_EXIT_FAILURES,
		    "no log key to sign the checkpoint with (log_key, or "
		    "--key FILE)");
		goto out;
	}
	if (strncmp(c.conf.db, "sqlite:", 7) == 0 &&
	    access(c.conf.db + 7, F_OK) == -1)
		rc = collector_cmd_error(CMD, CW_EXIT_FAILURES, "%s: %s",
		    c.conf.db + 7, strerror(errno));
	else if ((st = store_open(c.conf.db, err, sizeof(err))) == NULL)
		rc = collector_cmd_error(CMD, CW_EXIT_FAILURES, "%s: %s",
		    c.conf.db, err);
	else
		rc = cmd_bundle_run(&c, st, &s);
	store_close(st);
	tlog_signer_clear(&s);
out:
	free(c.conf.db);
	free(c.conf.key);
	free(c.conf.origin);
	json_decref(c.filters);
	return rc;
}
