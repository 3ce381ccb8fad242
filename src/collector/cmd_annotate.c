/*
 * cmd_annotate.c -- the annotate commands (cmd_annotate.h): options
 * read into an annotation, checked as the store checks it, and the list
 * written as the HTTP API writes it (annotate.h).
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "annotate.h"
#include "cli.h"
#include "cmd_annotate.h"
#include "store_annot.h"

enum {
	OPT_DB = 256,
	OPT_FORMAT,
	OPT_FIELD, /* from, to, text, country, asn, probe, url */
};

static const struct option cmd_annotate_options[] = {
	{ "db", required_argument, NULL, OPT_DB },
	{ "config", required_argument, NULL, 'c' },
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ "from", required_argument, NULL, OPT_FIELD },
	{ "to", required_argument, NULL, OPT_FIELD },
	{ "text", required_argument, NULL, OPT_FIELD },
	{ "country", required_argument, NULL, OPT_FIELD },
	{ "asn", required_argument, NULL, OPT_FIELD },
	{ "probe", required_argument, NULL, OPT_FIELD },
	{ "url", required_argument, NULL, OPT_FIELD },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* What one command was asked. */
struct cmd_annotate {
	const char *cmd; /* "annotate add" ... */
	const char *usage;
	const char *allowed; /* the fields it takes, "from,to,..." */
	const char *db, *conf_path, *format;
	struct store_annotation a;
	bool given[3]; /* from, to, text */
};

#define CMD_ANNOTATE_ADD_USAGE \
	"usage: corewatch-collector annotate add --from T --to T --text TEXT\n" \
	"           [--country CC] [--asn N] [--probe ID] [--url URL]\n" \
	"           [--db URL | -c FILE]\n" \
	"  --from T, --to T     the window, UTC ISO 8601 " \
	"(2026-11-26T10:00:00Z)\n" \
	"  --text TEXT          what happened: 1 to 1000 bytes, one line\n" \
	"  --country CC         the country it concerns (ISO 3166-1)\n" \
	"  --asn N              the AS it concerns\n" \
	"  --probe ID           the probe it concerns (32 hex digits)\n" \
	"  --url URL            a source (http:// or https://)\n" \
	"prints the new annotation's id.\n"
#define CMD_ANNOTATE_LIST_USAGE \
	"usage: corewatch-collector annotate list [--from T] [--to T]\n" \
	"           [--format jsonl|csv] [--db URL | -c FILE]\n" \
	"  --from T, --to T     the annotations whose window meets [T, T)\n" \
	"  --format F           jsonl (the default) or csv\n"
#define CMD_ANNOTATE_DELETE_USAGE \
	"usage: corewatch-collector annotate delete [--db URL | -c FILE] ID\n"

/* cmd_annotate_allowed: whether field `name` is in the comma list. */
static bool
cmd_annotate_allowed(const char *allowed, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = allowed; *p != '\0';) {
		if (strncmp(p, name, n) == 0 && (p[n] == ',' || p[n] == '\0'))
			return true;
		p += strcspn(p, ",");
		p += *p == ',';
	}
	return false;
}

/* Parse the options into `c`.  Returns -1 to go on, or an exit status
 * (after --help, or a usage error reported). */
static int
cmd_annotate_parse(struct cmd_annotate *c, int argc, char **argv)
{
	char err[256];
	int ch, idx;

	store_annotation_init(&c->a);
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "c:h", cmd_annotate_options,
	            &idx)) != -1) {
		const char *name;
		switch (ch) {
		case 'h':
			fputs(c->usage, stdout);
			return CW_EXIT_OK;
		case 'c':
			c->conf_path = optarg;
			break;
		case OPT_DB:
			c->db = optarg;
			break;
		case OPT_FORMAT:
			if (!cmd_annotate_allowed(c->allowed, "format"))
				goto unknown;
			c->format = optarg;
			break;
		case OPT_FIELD:
			name = cmd_annotate_options[idx].name;
			if (!cmd_annotate_allowed(c->allowed, name))
				goto unknown;
			if (annotate_set(&c->a, name, optarg, err,
			        sizeof(err)) == -1)
				return collector_cmd_error(c->cmd,
				    CW_EXIT_USAGE, "--%s", err);
			c->given[0] |= strcmp(name, "from") == 0;
			c->given[1] |= strcmp(name, "to") == 0;
			c->given[2] |= strcmp(name, "text") == 0;
			break;
		default:
			if (optopt >= OPT_DB || optopt == 'c')
				return collector_cmd_error(c->cmd,
				    CW_EXIT_USAGE,
				    "%s needs a value (try --help)",
				    argv[optind - 1]);
			goto unknown;
		}
	}
	return -1;
unknown:
	return collector_cmd_error(c->cmd, CW_EXIT_USAGE,
	    "unknown option %s (try --help)", argv[optind - 1]);
}

/* Open the database the options name.  NULL when it cannot (said). */
static struct store *
cmd_annotate_store(const struct cmd_annotate *c, cmd_export_db_fn *db_of)
{
	struct store *st;
	char *url, err[512];

	if ((url = db_of(c->cmd, c->conf_path, c->db)) == NULL)
		return NULL;
	if ((st = store_open(url, err, sizeof(err))) == NULL)
		collector_cmd_error(c->cmd, 0, "%s: %s", url, err);
	free(url);
	return st;
}

int
collector_cmd_annotate_add(int argc, char **argv, cmd_export_db_fn *db_of)
{
	struct cmd_annotate c = { .cmd = "annotate add",
		.usage = CMD_ANNOTATE_ADD_USAGE,
		.allowed = "from,to,text,country,asn,probe,url" };
	struct store *st;
	char err[512];
	int rc;

	if ((rc = cmd_annotate_parse(&c, argc, argv)) != -1)
		return rc;
	if (optind < argc || !c.given[0] || !c.given[1] || !c.given[2]) {
		fputs(CMD_ANNOTATE_ADD_USAGE, stderr);
		return CW_EXIT_USAGE;
	}
	if (store_annotation_check(&c.a, err, sizeof(err)) == -1)
		return collector_cmd_error(c.cmd, CW_EXIT_USAGE, "--%s", err);
	if ((st = cmd_annotate_store(&c, db_of)) == NULL)
		return CW_EXIT_FAILURES;
	if ((rc = store_annotation_add(st, &c.a, err, sizeof(err))) == STORE_OK)
		printf("%lld\n", c.a.id);
	else
		collector_cmd_error(c.cmd, 0, "%s", err);
	store_close(st);
	return rc == STORE_OK ? CW_EXIT_OK : CW_EXIT_FAILURES;
}

/* What the list callback writes to. */
struct cmd_annotate_out {
	struct evbuffer *buf;
	enum annotate_format fmt;
	bool failed;
};

/* cmd_annotate_flush: write what `buf` holds to stdout. */
static int
cmd_annotate_flush(struct evbuffer *buf)
{
	while (evbuffer_get_length(buf) > 0)
		if (evbuffer_write(buf, STDOUT_FILENO) == -1 &&
		    errno != EINTR && errno != EAGAIN)
			return -1;
	return 0;
}

static int
cmd_annotate_one(void *arg, const struct store_annotation *a)
{
	struct cmd_annotate_out *o = arg;

	if (annotate_write(o->buf, o->fmt, a) == -1 ||
	    (evbuffer_get_length(o->buf) >= 65536 &&
	        cmd_annotate_flush(o->buf) == -1)) {
		o->failed = true;
		return 1;
	}
	return 0;
}

int
collector_cmd_annotate_list(int argc, char **argv, cmd_export_db_fn *db_of)
{
	struct cmd_annotate c = { .cmd = "annotate list",
		.usage = CMD_ANNOTATE_LIST_USAGE,
		.allowed = "from,to,format" };
	struct cmd_annotate_out o = { .fmt = ANNOTATE_JSONL };
	struct store *st;
	int rc;

	if ((rc = cmd_annotate_parse(&c, argc, argv)) != -1)
		return rc;
	if (optind < argc) {
		fputs(CMD_ANNOTATE_LIST_USAGE, stderr);
		return CW_EXIT_USAGE;
	}
	if (c.format != NULL && annotate_format_parse(c.format, &o.fmt) == -1)
		return collector_cmd_error(c.cmd, CW_EXIT_USAGE,
		    "--format: \"%s\" is not jsonl or csv", c.format);
	if (c.given[0] && c.given[1] && c.a.from >= c.a.to)
		return collector_cmd_error(c.cmd, CW_EXIT_USAGE,
		    "--from must be before --to");
	if ((o.buf = evbuffer_new()) == NULL)
		return collector_cmd_error(c.cmd, CW_EXIT_FAILURES,
		    "out of memory");
	if ((st = cmd_annotate_store(&c, db_of)) == NULL) {
		evbuffer_free(o.buf);
		return CW_EXIT_FAILURES;
	}
	rc = CW_EXIT_OK;
	if (annotate_write_header(o.buf, o.fmt) == -1)
		o.failed = true;
	else if (store_annotation_list(st, c.given[0] ? c.a.from : 0,
	             c.given[1] ? c.a.to : 0, 0, cmd_annotate_one, &o) < 0)
		rc = collector_cmd_error(c.cmd, CW_EXIT_FAILURES, "%s",
		    store_error_text(st));
	if (rc == CW_EXIT_OK && (o.failed || cmd_annotate_flush(o.buf) == -1))
		rc = collector_cmd_error(c.cmd, CW_EXIT_FAILURES, "stdout: %s",
		    strerror(errno));
	evbuffer_free(o.buf);
	store_close(st);
	return rc;
}

int
collector_cmd_annotate_delete(int argc, char **argv, cmd_export_db_fn *db_of)
{
	struct cmd_annotate c = { .cmd = "annotate delete",
		.usage = CMD_ANNOTATE_DELETE_USAGE,
		.allowed = "" };
	struct store *st;
	long long id;
	char *end;
	int rc;

	if ((rc = cmd_annotate_parse(&c, argc, argv)) != -1)
		return rc;
	if (optind + 1 != argc) {
		fputs(CMD_ANNOTATE_DELETE_USAGE, stderr);
		return CW_EXIT_USAGE;
	}
	errno = 0;
	id = strtoll(argv[optind], &end, 10);
	if (errno != 0 || end == argv[optind] || *end != '\0' || id < 1)
		return collector_cmd_error(c.cmd, CW_EXIT_USAGE,
		    "\"%s\" is not an annotation's id (a number from 1)",
		    argv[optind]);
	if ((st = cmd_annotate_store(&c, db_of)) == NULL)
		return CW_EXIT_FAILURES;
	rc = store_annotation_delete(st, id);
	if (rc == STORE_OK)
		printf("annotation %lld deleted\n", id);
	else
		collector_cmd_error(c.cmd, 0, "%lld: %s", id,
		    rc == STORE_E_NOTFOUND ? "no such annotation" :
		                             store_error_text(st));
	store_close(st);
	return rc == STORE_OK ? CW_EXIT_OK : CW_EXIT_FAILURES;
}
