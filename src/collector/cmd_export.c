/*
 * cmd_export.c -- `corewatch-collector export`, `summary` and
 * `batches`: stream the stored results (or the kept batch signatures)
 * to stdout or a file, page by page, through the same exporter, summary
 * and batch reader the HTTP service uses.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "batches.h"
#include "cli.h"
#include "cmd_export.h"
#include "export.h"
#include "fileio.h"
#include "log.h"
#include "store.h"
#include "summary.h"

enum {
	OPT_DB = 256,
	OPT_FORMAT,
	OPT_OUT,
	OPT_BUCKET,
	OPT_FILTER, /* the filters: from, to, probe ... */
};

static const struct option cmd_export_options[] = {
	{ "db", required_argument, NULL, OPT_DB },
	{ "config", required_argument, NULL, 'c' },
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ "out", required_argument, NULL, OPT_OUT },
	{ "bucket", required_argument, NULL, OPT_BUCKET },
	COLLECTOR_CMD_FILTER_OPTIONS(OPT_FILTER),
	{ "type", required_argument, NULL, OPT_FILTER },  /* export, summary */
	{ "chain", required_argument, NULL, OPT_FILTER }, /* batches */
	{ "seq-from", required_argument, NULL, OPT_FILTER }, /* batches */
	{ "seq-to", required_argument, NULL, OPT_FILTER },   /* batches */
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

enum cmd_export_kind { CMD_EXPORT, CMD_SUMMARY, CMD_BATCHES };

/* What a command was asked to do. */
struct cmd_export {
	const char *cmd; /* "export", "summary" or "batches" */
	enum cmd_export_kind kind;
	const char *db;        /* --db */
	const char *conf_path; /* -c */
	char *db_url;          /* the one read; owned */
	const char *format;
	const char *out;
	const char *bucket;
	struct export_params params;
	struct batch_params batch; /* batches' filters */
};

/* One of the three streams, stepped alike. */
struct cmd_stream {
	struct exporter *e;
	struct summary *s;
	struct batch_export *b;
};

#define CMD_EXPORT_FILTER_USAGE \
	"  --from T, --to T     measurement time from T (inclusive) to T\n" \
	"                       (exclusive), UTC ISO 8601: 2026-11-26T10:00:00Z\n" \
	"  --probe ID           probe id (32 hex digits) or number\n" \
	"  --type T             record type: dns, http, heartbeat, loss ...\n" \
	"  --name N             measurement name\n" \
	"  --addr A             target address (IPv4 or IPv6)\n" \
	"  --country CC         the probe's declared country (two letters)\n" \
	"  --asn N              the probe's declared AS number\n" \
	"  --out FILE           write to FILE (complete or not at all), not to\n" \
	"                       stdout\n" \
	"exit status: 0 written, 1 database or output error, 2 usage error.\n"

static void
cmd_export_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: corewatch-collector export [--db URL | -c FILE] "
	    "--format jsonl|csv|atlas [filters] [--out FILE]\n"
	    "  --db URL             sqlite:PATH or postgresql://...\n"
	    "  -c, --config FILE    the database of this configuration\n"
	    "  --format F           jsonl: the records as stored; csv: flat "
	    "columns;\n"
	    "                       atlas: RIPE Atlas results (DNS, HTTP)\n" CMD_EXPORT_FILTER_USAGE);
}

static void
cmd_summary_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: corewatch-collector summary [--db URL | -c FILE] "
	    "[--bucket Nm|Nh|Nd] [--format json|csv] [filters] [--out FILE]\n"
	    "  --db URL             sqlite:PATH or postgresql://...\n"
	    "  -c, --config FILE    the database of this configuration\n"
	    "  --bucket B           a whole number of minutes: 1m, 7m, 1h (the\n"
	    "                       default), 1d ..., aligned in UTC\n"
	    "  --format F           json (JSON lines, one per bucket; the "
	    "default)\n"
	    "                       or csv (one row per target or probe, "
	    "type, name and bucket)\n"
	    "  groups: DNS and HTTP apart; an HTTP target per address and "
	    "host\n" CMD_EXPORT_FILTER_USAGE);
}

int
collector_cmd_error(const char *cmd, int status, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "corewatch-collector %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return status;
}

int
collector_cmd_filter(const char *cmd, struct export_params *xp,
    const char *name, const char *arg)
{
	char err[256];

	if (export_params_set(xp, name, arg, err, sizeof(err)) != 1)
		return collector_cmd_error(cmd, CW_EXIT_USAGE, "--%s", err);
	return -1;
}

int
collector_cmd_filter_check(const char *cmd, const struct export_params *xp)
{
	char err[256];

	if (export_params_check(xp, err, sizeof(err)) == -1)
		return collector_cmd_error(cmd, CW_EXIT_USAGE, "%s", err);
	return -1;
}

static void cmd_batches_usage(FILE *fp);

/* A filter option `name` of command `c`: 1 when set, 0 when the command
 * has no such filter, -1 for a bad value (the reason in err). */
static int
cmd_export_filter(struct cmd_export *c, const char *name, const char *arg,
    char *err, size_t errlen)
{
	if (c->kind != CMD_BATCHES)
		return export_params_set(&c->params, name, arg, err, errlen);
	/* --seq-from is the query's seq_from. */
	return batch_params_set(&c->batch,
	    strcmp(name, "seq-from") == 0   ? "seq_from" :
	        strcmp(name, "seq-to") == 0 ? "seq_to" :
	                                      name,
	    arg, err, errlen);
}

/* Parse the options into `c`.  Returns -1 to go on, or an exit status
 * (after --help, or a usage error reported). */
static int
cmd_export_parse(struct cmd_export *c, int argc, char **argv)
{
	bool summary = c->kind == CMD_SUMMARY;
	char err[256];
	int ch, idx, rc;

	export_params_init(&c->params);
	batch_params_init(&c->batch);
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "c:h", cmd_export_options,
	            &idx)) != -1) {
		const char *arg = optarg;
		switch (ch) {
		case 'h':
			(summary ? cmd_summary_usage :
			        c->kind == CMD_BATCHES ?
			           cmd_batches_usage :
			           cmd_export_usage)(stdout);
			return CW_EXIT_OK;
		case 'c':
			c->conf_path = arg;
			break;
		case OPT_DB:
			c->db = arg;
			break;
		case OPT_FORMAT:
			if (c->kind == CMD_BATCHES)
				return collector_cmd_error(c->cmd,
				    CW_EXIT_USAGE,
				    "--format: batches are JSON lines only");
			c->format = arg;
			break;
		case OPT_OUT:
			c->out = arg;
			break;
		case OPT_BUCKET:
			if (!summary)
				return collector_cmd_error(c->cmd,
				    CW_EXIT_USAGE,
				    "--bucket is an option of summary only");
			c->bucket = arg;
			break;
		case OPT_FILTER:
			rc = cmd_export_filter(c, cmd_export_options[idx].name,
			    arg, err, sizeof(err));
			if (rc == 0)
				return collector_cmd_error(c->cmd,
				    CW_EXIT_USAGE,
				    "--%s is not an option of %s (try --help)",
				    cmd_export_options[idx].name, c->cmd);
			if (rc == -1)
				return collector_cmd_error(c->cmd,
				    CW_EXIT_USAGE, "--%s", err);
			break;
		default:
			if (optopt >= OPT_DB || optopt == 'c')
				return collector_cmd_error(c->cmd,
				    CW_EXIT_USAGE,
				    "%s needs a value (try --help)",
				    argv[optind - 1]);
			return collector_cmd_error(c->cmd, CW_EXIT_USAGE,
			    "unknown option %s (try --help)", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return collector_cmd_error(c->cmd, CW_EXIT_USAGE,
		    "unexpected argument \"%s\" (try --help)", argv[optind]);
	if (c->out != NULL && c->out[0] == '\0')
		return collector_cmd_error(c->cmd, CW_EXIT_USAGE,
		    "--out: empty file name");
	if (export_params_check(&c->params, err, sizeof(err)) == -1 ||
	    batch_params_check(&c->batch, err, sizeof(err)) == -1)
		return collector_cmd_error(c->cmd, CW_EXIT_USAGE, "%s", err);
	return -1;
}

/* Open the database c->db_url names; a SQLite file must exist already
 * (reading creates nothing). */
static struct store *
cmd_export_store(const struct cmd_export *c)
{
	const char *db = c->db_url;
	struct store *st;
	char err[512];

	if (strncmp(db, "sqlite:", 7) == 0 && access(db + 7, F_OK) == -1) {
		collector_cmd_error(c->cmd, 0, "%s: %s", db + 7,
		    strerror(errno));
		return NULL;
	}
	if ((st = store_open(db, err, sizeof(err))) == NULL)
		collector_cmd_error(c->cmd, 0, "%s: %s", db, err);
	return st;
}

/* Write what `buf` holds to `fd`. */
static int
cmd_export_drain(struct evbuffer *buf, int fd)
{
	while (evbuffer_get_length(buf) > 0)
		if (evbuffer_write(buf, fd) == -1 && errno != EINTR &&
		    errno != EAGAIN)
			return -1;
	return 0;
}

static int
cmd_stream_step(struct cmd_stream *s, struct evbuffer *buf)
{
	if (s->b != NULL)
		return batch_export_step(s->b, buf);
	return s->e != NULL ? export_step(s->e, buf) : summary_step(s->s, buf);
}

/*
 * cmd_export_finish: the end of an export to `c->out` (`rc` its status
 * so far): the file replaces `c->out` when all went well, else it is
 * removed.  Returns the exit status.
 */
static int
cmd_export_finish(const struct cmd_export *c, struct fileio_atomic *fa, int rc)
{
	if (rc != CW_EXIT_OK) {
		fileio_atomic_abort(fa);
		return rc;
	}
	switch (fileio_atomic_commit(fa)) {
	case FILEIO_OK:
		return CW_EXIT_OK;
	case FILEIO_DIRSYNC:
		/* The file is complete and in place; only its name may not
		 * survive a power cut.  Said, not failed. */
		collector_cmd_error(c->cmd, CW_EXIT_OK,
		    "%s: fsync of the "
		    "directory: %s",
		    c->out, strerror(errno));
		return CW_EXIT_OK;
	case FILEIO_RENAME:
		return collector_cmd_error(c->cmd, CW_EXIT_FAILURES, "%s: %s",
		    c->out, strerror(errno));
	default:
		return collector_cmd_error(c->cmd, CW_EXIT_FAILURES, "%s: %s",
		    fa->tmp, strerror(errno));
	}
}

/*
 * Run the stream to `c->out` (through a temporary file renamed at the
 * end) or stdout.  Returns the exit status.
 */
static int
cmd_export_run(const struct cmd_export *c, struct store *st,
    struct cmd_stream *s)
{
	struct fileio_atomic fa = { .fd = STDOUT_FILENO };
	struct evbuffer *buf;
	int step, rc = CW_EXIT_OK;

	if ((buf = evbuffer_new()) == NULL)
		return collector_cmd_error(c->cmd, CW_EXIT_FAILURES,
		    "out of memory");
	if (c->out != NULL) {
		switch (fileio_atomic_begin(&fa, AT_FDCWD, c->out, 0644)) {
		case FILEIO_OK:
			break;
		case FILEIO_NAME:
			evbuffer_free(buf);
			return collector_cmd_error(c->cmd, CW_EXIT_USAGE,
			    "--out: name too long");
		default:
			evbuffer_free(buf);
			return collector_cmd_error(c->cmd, CW_EXIT_FAILURES,
			    "%s: %s", fa.tmp, strerror(errno));
		}
	}
	do {
		step = cmd_stream_step(s, buf);
		if (cmd_export_drain(buf, fa.fd) == -1) {
			rc = collector_cmd_error(c->cmd, CW_EXIT_FAILURES,
			    "%s: %s", c->out != NULL ? fa.tmp : "stdout",
			    strerror(errno));
			break;
		}
	} while (step == 1);
	if (step == -1 && rc == CW_EXIT_OK)
		rc = collector_cmd_error(c->cmd, CW_EXIT_FAILURES, "%s%s",
		    store_error_text(st),
		    store_unavailable(st) ? " (the database is unavailable)" :
		                            "");
	if (c->out != NULL)
		rc = cmd_export_finish(c, &fa, rc);
	evbuffer_free(buf);
	return rc;
}

int
collector_cmd_export(int argc, char **argv, cmd_export_db_fn *db_of)
{
	struct cmd_export c = { .cmd = "export", .kind = CMD_EXPORT };
	struct cmd_stream s = { 0 };
	enum export_format fmt;
	struct store *st;
	char err[256];
	int rc;

	if ((rc = cmd_export_parse(&c, argc, argv)) != -1)
		return rc;
	if (c.format == NULL)
		return collector_cmd_error(c.cmd, CW_EXIT_USAGE,
		    "--format jsonl|csv|atlas is required");
	if (export_format_parse(c.format, &fmt) == -1)
		return collector_cmd_error(c.cmd, CW_EXIT_USAGE,
		    "--format: "
		    "\"%s\" is not jsonl, csv or atlas",
		    c.format);
	if ((c.db_url = db_of(c.cmd, c.conf_path, c.db)) == NULL)
		return CW_EXIT_USAGE;
	if ((st = cmd_export_store(&c)) == NULL) {
		free(c.db_url);
		return CW_EXIT_FAILURES;
	}
	if ((s.e = export_new(st, &c.params.filter, fmt, err, sizeof(err))) ==
	    NULL)
		rc = collector_cmd_error(c.cmd, CW_EXIT_FAILURES, "%s", err);
	else
		rc = cmd_export_run(&c, st, &s);
	export_free(s.e);
	store_close(st);
	free(c.db_url);
	return rc;
}

int
collector_cmd_summary(int argc, char **argv, cmd_export_db_fn *db_of)
{
	struct cmd_export c = { .cmd = "summary", .kind = CMD_SUMMARY };
	struct cmd_stream s = { 0 };
	enum summary_format fmt = SUMMARY_JSON;
	cw_usec_t bucket = 3600 * CW_USEC_PER_SEC;
	struct store *st;
	char err[256];
	int rc;

	if ((rc = cmd_export_parse(&c, argc, argv)) != -1)
		return rc;
	if (c.format != NULL && summary_format_parse(c.format, &fmt) == -1)
		return collector_cmd_error(c.cmd, CW_EXIT_USAGE,
		    "--format: "
		    "\"%s\" is not json or csv",
		    c.format);
	if (c.bucket != NULL && summary_bucket_parse(c.bucket, &bucket) == -1)
		return collector_cmd_error(c.cmd, CW_EXIT_USAGE,
		    "--bucket: "
		    "\"%s\" is not " SUMMARY_BUCKET_RULE,
		    c.bucket);
	if ((c.db_url = db_of(c.cmd, c.conf_path, c.db)) == NULL)
		return CW_EXIT_USAGE;
	if ((st = cmd_export_store(&c)) == NULL) {
		free(c.db_url);
		return CW_EXIT_FAILURES;
	}
	if ((s.s = summary_new(st, &c.params.filter, bucket, fmt, err,
	         sizeof(err))) == NULL)
		rc = collector_cmd_error(c.cmd, CW_EXIT_FAILURES, "%s", err);
	else
		rc = cmd_export_run(&c, st, &s);
	summary_free(s.s);
	store_close(st);
	free(c.db_url);
	return rc;
}

static void
cmd_batches_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: corewatch-collector batches [--db URL | -c FILE] "
	    "[filters] [--out FILE]\n"
	    "  the kept signature of every accepted batch and what it "
	    "covers,\n"
	    "  one JSON object a line (doc/evidence.md)\n"
	    "  --out FILE           write to FILE (complete or not at all)\n"
	    "  --probe ID           probe id (32 hex digits) or number\n"
	    "  --chain C            chain id (32 hex digits)\n"
	    "  --from T, --to T     received from T (inclusive) to T "
	    "(exclusive), UTC\n"
	    "  --seq-from N, --seq-to N\n"
	    "                       batches holding a seq from N to N\n");
}

int
collector_cmd_batches(int argc, char **argv, cmd_export_db_fn *db_of)
{
	struct cmd_export c = { .cmd = "batches", .kind = CMD_BATCHES };
	struct cmd_stream s = { 0 };
	struct store *st;
	int rc;

	if ((rc = cmd_export_parse(&c, argc, argv)) != -1)
		return rc;
	if ((c.db_url = db_of(c.cmd, c.conf_path, c.db)) == NULL)
		return CW_EXIT_USAGE;
	if ((st = cmd_export_store(&c)) == NULL) {
		free(c.db_url);
		return CW_EXIT_FAILURES;
	}
	if ((s.b = batch_export_new(st, &c.batch.filter)) == NULL)
		rc = collector_cmd_error(c.cmd, CW_EXIT_FAILURES,
		    "out of memory");
	else
		rc = cmd_export_run(&c, st, &s);
	batch_export_free(s.b);
	store_close(st);
	free(c.db_url);
	return rc;
}
