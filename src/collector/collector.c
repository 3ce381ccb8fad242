/*
 * collector.c -- corewatch-collector: the HTTP service (serve) and the
 * commands that enroll, list and revoke probes and make enrollment
 * tokens (corewatch-collector(8)).
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <event2/event.h>
#include <jansson.h>
#include <sodium.h>

#include "annotate_http.h"
#include "cli.h"
#include "cmd_annotate.h"
#include "cmd_episodes.h"
#include "cmd_export.h"
#include "cmd_import.h"
#include "cmd_bundle.h"
#include "cmd_log.h"
#include "cmd_report.h"
#include "collector_http.h"
#include "confload.h"
#include "export_http.h"
#include "log.h"
#include "log_http.h"
#include "result.h"
#include "size.h"
#include "store.h"
#include "summary.h"
#include "sysutil.h"
#include "table.h"
#include "tlog.h"
#include "web_http.h"

#define COLLECTOR_LISTEN_DEFAULT "127.0.0.1:8080"
/* The one default database: corewatch-collector(8), the README and
 * contrib/corewatch-collector.conf name it (with --localstatedir=/var),
 * and contrib/corewatch-collector.service makes its directory. */
#define COLLECTOR_DB_DEFAULT "sqlite:" CW_COLLECTOR_STATE_DIR "/collector.db"
/* The log key (corewatch-collector keygen), and how often the log gets
 * a checkpoint while it grows (log_http.h). */
#define COLLECTOR_LOG_KEY_DEFAULT    CW_COLLECTOR_STATE_DIR "/log.key"
#define COLLECTOR_CHECKPOINT_DEFAULT (60 * CW_USEC_PER_SEC)
#define COLLECTOR_TTL_DEFAULT        (7 * 86400 * CW_USEC_PER_SEC)
#define COLLECTOR_TTL_MAX            (366 * 86400 * CW_USEC_PER_SEC)
#define COLLECTOR_STOP_GRACE         (2 * CW_USEC_PER_SEC)
#define COLLECTOR_STOP_POLL          (20 * CW_USEC_PER_MSEC)
#define COLLECTOR_TOKEN_MAX          256 /* bytes of read_token */
#define COLLECTOR_NOFILE_SPARE       64  /* descriptors not for clients */
#define COLLECTOR_GROUPS_MIN         100 /* summary_max_groups */
#define COLLECTOR_GROUPS_MAX         10000000

/* Bytes of write_token: "Bearer " and the token fit in what the head
 * reader keeps of an Authorization (CHEAD_AUTH_MAX). */
#define COLLECTOR_WRITE_TOKEN_MAX 128

/* What the configuration file and the command line set. */
struct collector_conf {
	char *listen;
	char *db;
	enum log_level log_level;
	struct collector_http_conf http;
	char *read_token; /* http.read_token */
	size_t summary_max_groups;
	char *write_token; /* http.write_token */
	char *web_dir;     /* the dashboard's files (web_http.h) */
	char *chartjs;     /* the Chart.js file */
	char *log_key;     /* the log key file (tlog.h) */
	char *log_origin;  /* NULL: from the key */
	cw_usec_t checkpoint_interval;
};

/* A running `serve`. */
struct collector_serve {
	struct event_base *base;
	struct store *st;
	struct collector_http *h;
	struct export_http *x;
	struct annotate_http *an;
	struct web_http *web;
	struct log_http *log;
	struct tlog_signer signer;
	bool has_signer;
	struct event *sig_term, *sig_int, *drain;
	bool stopping;
	cw_usec_t stop_by; /* monotonic */
};

/* --- Configuration --- */

/* collector_conf_init: the defaults. */
static int
collector_conf_init(struct collector_conf *c)
{
	memset(c, 0, sizeof(*c));
	collector_http_conf_init(&c->http);
	c->log_level = LOG_LEVEL_INFO;
	c->summary_max_groups = SUMMARY_MAX_GROUPS;
	c->checkpoint_interval = COLLECTOR_CHECKPOINT_DEFAULT;
	if ((c->listen = strdup(COLLECTOR_LISTEN_DEFAULT)) == NULL ||
	    (c->log_key = strdup(COLLECTOR_LOG_KEY_DEFAULT)) == NULL ||
	    (c->db = strdup(COLLECTOR_DB_DEFAULT)) == NULL ||
	    (c->web_dir = strdup(CW_WEB_DIR)) == NULL ||
	    (c->chartjs = strdup(CW_CHARTJS)) == NULL)
		return -1;
	return 0;
}

static void
collector_conf_clear(struct collector_conf *c)
{
	free(c->listen);
	free(c->db);
	free(c->web_dir);
	free(c->chartjs);
	free(c->log_key);
	free(c->log_origin);
	if (c->read_token != NULL)
		sodium_memzero(c->read_token, strlen(c->read_token));
	free(c->read_token);
	if (c->write_token != NULL)
		sodium_memzero(c->write_token, strlen(c->write_token));
	free(c->write_token);
	memset(c, 0, sizeof(*c));
}

/* collector_set: replace the string *field with a copy of `value`. */
static int
collector_set(char **field, const char *value)
{
	char *copy;

	if ((copy = strdup(value)) == NULL)
		return -1;
	free(*field);
	*field = copy;
	return 0;
}

static cfg_opt_t collector_opts[] = {
	CFG_STR("listen", NULL, CFGF_NODEFAULT),
	CFG_STR("db", NULL, CFGF_NODEFAULT),
	CFG_STR("max_body", NULL, CFGF_NODEFAULT),
	CFG_STR("max_headers_size", NULL, CFGF_NODEFAULT),
	CFG_STR("body_budget", NULL, CFGF_NODEFAULT),
	CFG_STR("header_timeout", NULL, CFGF_NODEFAULT),
	CFG_STR("timeout", NULL, CFGF_NODEFAULT),
	CFG_STR("request_timeout", NULL, CFGF_NODEFAULT),
	CFG_INT("max_connections", COLLECTOR_HTTP_MAX_CONNECTIONS, CFGF_NONE),
	CFG_INT("max_connections_per_address", COLLECTOR_HTTP_MAX_PER_ADDRESS,
	    CFGF_NONE),
	CFG_STR("read_token", NULL, CFGF_NODEFAULT),
	CFG_BOOL("public_read", cfg_false, CFGF_NONE),
	CFG_STR("write_token", NULL, CFGF_NODEFAULT),
	CFG_INT("summary_max_groups", SUMMARY_MAX_GROUPS, CFGF_NONE),
	CFG_STR("log_level", "info", CFGF_NONE),
	CFG_STR("web_dir", NULL, CFGF_NODEFAULT),
	CFG_STR("chartjs", NULL, CFGF_NODEFAULT),
	CFG_STR("log_key", NULL, CFGF_NODEFAULT),
	CFG_STR("log_origin", NULL, CFGF_NODEFAULT),
	CFG_STR("checkpoint_interval", NULL, CFGF_NODEFAULT),
	CFG_END(),
};

/* collector_conf_size: option `opt` as a size within [min, max]. */
static void
collector_conf_size(struct conf_file *f, const char *opt, size_t min,
    size_t max, size_t *out)
{
	const char *v = cfg_getstr(conf_file_cfg(f), opt);
	uint64_t n;

	if (v == NULL)
		return;
	if (cw_size_parse(v, &n) == -1 || n < min || n > max)
		conf_file_error(f, opt,
		    "\"%s\" is not a size from %zu to %zu "
		    "bytes (e.g. 16M, 8k, 65536)",
		    v, min, max);
	else
		*out = (size_t)n;
}

/* collector_conf_duration: option `opt` as a duration within [min, max]. */
static void
collector_conf_duration(struct conf_file *f, const char *opt, cw_usec_t min,
    cw_usec_t max, cw_usec_t *out)
{
	const char *v = cfg_getstr(conf_file_cfg(f), opt);

	if (v == NULL)
		return;
	if (cw_duration_parse(v, out) == -1 || *out < min || *out > max)
		conf_file_error(f, opt,
		    "\"%s\" is not a duration from %g s to "
		    "%g s (e.g. 30s, 2m)",
		    v, (double)min / 1e6, (double)max / 1e6);
}

/* collector_conf_count: option `opt` as a count of connections, from 1
 * to 1000000. */
static void
collector_conf_count(struct conf_file *f, const char *opt, unsigned *out)
{
	long n = cfg_getint(conf_file_cfg(f), opt);

	if (n < 1 || n > 1000000)
		conf_file_error(f, opt, "%ld is not from 1 to 1000000", n);
	else
		*out = (unsigned)n;
}

/* collector_conf_db: the `db` URL; the file of a relative sqlite:PATH is
 * relative to the directory of the configuration file, not to the
 * working directory (which is / under systemd).  Returns -1 only when
 * out of memory; a problem with the name is noted in `f`. */
static int
collector_conf_db(struct conf_file *f, const char *v, struct collector_conf *c)
{
	static const char scheme[] = "sqlite:";
	const char *path = v + sizeof(scheme) - 1;
	char *full, *url;
	int rc;

	if (strncmp(v, scheme, sizeof(scheme) - 1) != 0 || path[0] == '/' ||
	    path[0] == '\0')
		return collector_set(&c->db, v);
	if ((full = conf_file_join(f, "db", path)) == NULL)
		return 0;
	if (asprintf(&url, "%s%s", scheme, full) == -1) {
		free(full);
		return -1;
	}
	free(full);
	rc = collector_set(&c->db, url);
	free(url);
	return rc;
}

/* collector_conf_path: option `opt` of `f`, a file or directory name
 * (relative: to the configuration file's directory), into *out when
 * set; a problem (or no memory) is noted in `f`.  Half of what
 * web_http.h takes, so that the configuration's directory in front and
 * a name after fit. */
static void
collector_conf_path(struct conf_file *f, const char *opt, char **out)
{
	const char *v = cfg_getstr(conf_file_cfg(f), opt);
	char *full;

	if (v == NULL)
		return;
	if (v[0] == '\0' || strlen(v) > WEB_HTTP_PATH_MAX / 2) {
		conf_file_error(f, opt, "a name of 1 to %d bytes",
		    WEB_HTTP_PATH_MAX / 2);
		return;
	}
	if ((full = conf_file_join(f, opt, v)) == NULL)
		return;
	free(*out);
	*out = full;
}

/* collector_conf_values: check and copy every option of `f` into `c`. */
static int
collector_conf_values(struct conf_file *f, struct collector_conf *c)
{
	cfg_t *cfg = conf_file_cfg(f);
	const char *v;
	long n;
	int level;

	if ((v = cfg_getstr(cfg, "listen")) != NULL) {
		if (!collector_http_addr_valid(v))
			conf_file_error(f, "listen",
			    "\"%s\" is not a numeric "
			    "ADDRESS:PORT (127.0.0.1:8080, [::1]:8080)",
			    v);
		else if (collector_set(&c->listen, v) == -1)
			return -1;
	}
	if ((v = cfg_getstr(cfg, "db")) != NULL &&
	    collector_conf_db(f, v, c) == -1)
		return -1;
	collector_conf_path(f, "web_dir", &c->web_dir);
	collector_conf_path(f, "chartjs", &c->chartjs);
	collector_conf_path(f, "log_key", &c->log_key);
	if ((v = cfg_getstr(cfg, "log_origin")) != NULL) {
		struct note_key nk;
		unsigned char pk[NOTE_PUBKEY_LEN] = { 0 };
		if (note_key_make(&nk, v, pk) != 0)
			conf_file_error(f, "log_origin",
			    "\"%s\" cannot name a log: 1 to %d bytes of UTF-8, "
			    "no spaces, no '+' (e.g. collector.example.org/log)",
			    v, NOTE_NAME_MAX);
		else if (collector_set(&c->log_origin, v) == -1)
			return -1;
	}
	collector_conf_duration(f, "checkpoint_interval", CW_USEC_PER_SEC,
	    86400 * CW_USEC_PER_SEC, &c->checkpoint_interval);
	collector_conf_size(f, "max_body", 1024, 1024UL * 1024 * 1024,
	    &c->http.max_body);
	collector_conf_size(f, "max_headers_size", 1024, 1024 * 1024,
	    &c->http.max_headers_size);
	collector_conf_size(f, "body_budget", 1024 * 1024,
	    64UL * 1024 * 1024 * 1024, &c->http.body_budget);
	if (c->http.body_budget < c->http.max_body)
		conf_file_error(f, "body_budget",
		    "%zu bytes: less than "
		    "max_body (%zu), so the largest batch could never be "
		    "received",
		    c->http.body_budget, c->http.max_body);
	collector_conf_duration(f, "header_timeout", CW_USEC_PER_SEC,
	    3600 * CW_USEC_PER_SEC, &c->http.header_timeout);
	collector_conf_duration(f, "timeout", CW_USEC_PER_SEC,
	    3600 * CW_USEC_PER_SEC, &c->http.timeout);
	collector_conf_duration(f, "request_timeout", CW_USEC_PER_SEC,
	    3600 * CW_USEC_PER_SEC, &c->http.request_timeout);
	collector_conf_count(f, "max_connections", &c->http.max_connections);
	collector_conf_count(f, "max_connections_per_address",
	    &c->http.max_per_address);
	n = cfg_getint(cfg, "summary_max_groups");
	if (n < COLLECTOR_GROUPS_MIN || n > COLLECTOR_GROUPS_MAX)
		conf_file_error(f, "summary_max_groups",
		    "%ld is not from %d "
		    "to %d",
		    n, COLLECTOR_GROUPS_MIN, COLLECTOR_GROUPS_MAX);
	else
		c->summary_max_groups = (size_t)n;
	if ((v = cfg_getstr(cfg, "read_token")) != NULL) {
		if (strlen(v) < 16 || strlen(v) > COLLECTOR_TOKEN_MAX)
			conf_file_error(f, "read_token",
			    "a token of 16 to %d "
			    "characters",
			    COLLECTOR_TOKEN_MAX);
		else if (collector_set(&c->read_token, v) == -1)
			return -1;
	}
	c->http.public_read = cfg_getbool(cfg, "public_read");
	/* The write token: annotations (annotate_http.h).  Never the read
	 * token: a researcher who reads must not be able to write. */
	if ((v = cfg_getstr(cfg, "write_token")) != NULL) {
		if (strlen(v) < 16 || strlen(v) > COLLECTOR_WRITE_TOKEN_MAX)
			conf_file_error(f, "write_token",
			    "a token of 16 to %d characters",
			    COLLECTOR_WRITE_TOKEN_MAX);
		else if (c->read_token != NULL && strcmp(v, c->read_token) == 0)
			conf_file_error(f, "write_token",
			    "must differ from read_token");
		else if (collector_set(&c->write_token, v) == -1)
			return -1;
	}
	v = cfg_getstr(cfg, "log_level");
	if (v == NULL || (level = log_level_parse(v)) == -1)
		conf_file_error(f, "log_level",
		    "\"%s\" is not error, warning, "
		    "info or debug",
		    v != NULL ? v : "");
	else
		c->log_level = (enum log_level)level;
	return 0;
}

/* collector_conf_load: read `path` into `c` (defaults already set).
 * Prints every problem; returns 0 or -1. */
static int
collector_conf_load(const char *path, struct collector_conf *c)
{
	struct conf_file *f;
	char *errors = NULL;
	int rc;

	if ((f = conf_file_load(path, collector_opts, &errors)) == NULL) {
		fprintf(stderr, "%s\n",
		    errors != NULL ? errors : "configuration rejected");
		free(errors);
		return -1;
	}
	rc = collector_conf_values(f, c);
	if ((errors = conf_file_errors(f)) != NULL) {
		fprintf(stderr, "%s\n", errors);
		free(errors);
		rc = -1;
	}
	conf_file_free(f);
	return rc;
}

/* collector_store: open the database of `conf`; prints why not. */
static struct store *
collector_store(const char *cmd, const struct collector_conf *c)
{
	struct store *st;
	char err[512];

	if ((st = store_open(c->db, err, sizeof(err))) == NULL)
		fprintf(stderr, "corewatch-collector %s: %s: %s\n", cmd, c->db,
		    err);
	return st;
}

/* --- serve --- */

static void
serve_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: corewatch-collector serve [-v] [-c FILE] "
	    "[--listen ADDR:PORT] [--db URL] [--web-dir DIR]\n"
	    "  -c, --config FILE    the configuration file\n"
	    "  -l, --listen ADDR    listen on ADDR:PORT (default %s)\n"
	    "  -d, --db URL         sqlite:PATH or postgresql://... "
	    "(default %s)\n"
	    "  -w, --web-dir DIR    the dashboard's files (default %s)\n"
	    "  -v, --verbose        log debug messages\n",
	    COLLECTOR_LISTEN_DEFAULT, COLLECTOR_DB_DEFAULT, CW_WEB_DIR);
}

/* serve_drain: while stopping, end the loop once every answer is out
 * (or the grace time is over). */
static void
serve_drain(evutil_socket_t fd, short what, void *arg)
{
	struct collector_serve *s = arg;
	struct timeval tv;

	(void)fd;
	(void)what;
	if (!collector_http_busy(s->h) || cw_mono_usec() >= s->stop_by) {
		event_base_loopbreak(s->base);
		return;
	}
	cw_usec_to_timeval(COLLECTOR_STOP_POLL, &tv);
	evtimer_add(s->drain, &tv);
}

/* serve_stop: SIGTERM or SIGINT: store what waits, answer, exit; a
 * second signal exits at once. */
static void
serve_stop(evutil_socket_t sig, short what, void *arg)
{
	struct collector_serve *s = arg;

	(void)what;
	if (s->stopping) {
		log_info("collector: signal %d again: stopping now", (int)sig);
		event_base_loopbreak(s->base);
		return;
	}
	log_info("collector: signal %d: stopping", (int)sig);
	s->stopping = true;
	collector_http_shutdown(s->h);
	s->stop_by = cw_mono_usec() + COLLECTOR_STOP_GRACE;
	serve_drain(-1, 0, s);
}

/* serve_signer: the log key, when there is one; a key that is there but
 * cannot be used stops the start (the operator must see it). */
static int
serve_signer(struct collector_serve *s, const struct collector_conf *c)
{
	if (access(c->log_key, F_OK) == -1 && errno == ENOENT) {
		log_warnx("collector: no log key %s: the log is kept but its "
		          "checkpoints are not signed (corewatch-collector "
		          "keygen makes one)",
		    c->log_key);
		return CW_EXIT_OK;
	}
	if (tlog_signer_load(&s->signer, c->log_key, c->log_origin) == -1)
		return CW_EXIT_USAGE;
	s->has_signer = true;
	log_info("collector: log %s, key %s", s->signer.nk.name, c->log_key);
	return CW_EXIT_OK;
}

static int
serve_setup(struct collector_serve *s, const struct collector_conf *c)
{
	int rc;

	if ((s->st = collector_store("serve", c)) == NULL)
		return CW_EXIT_FAILURES;
	if ((s->base = sysutil_event_base()) == NULL ||
	    (s->h = collector_http_new(s->base, s->st, &c->http)) == NULL ||
	    (s->x = export_http_new(s->h, s->base, s->st,
	         c->summary_max_groups)) == NULL ||
	    (s->an = annotate_http_new(s->h, s->st)) == NULL ||
	    (s->web = web_http_new(s->h, c->web_dir, c->chartjs)) == NULL)
		return CW_EXIT_FAILURES;
	if ((rc = serve_signer(s, c)) != CW_EXIT_OK)
		return rc;
	if ((s->log = log_http_new(s->h, s->base, s->st,
	         s->has_signer ? &s->signer : NULL, c->checkpoint_interval)) ==
	    NULL)
		return CW_EXIT_FAILURES;
	if ((rc = collector_http_listen(s->h, c->listen)) != 0)
		return rc == -2 ? CW_EXIT_USAGE : CW_EXIT_FAILURES;
	s->sig_term = evsignal_new(s->base, SIGTERM, serve_stop, s);
	s->sig_int = evsignal_new(s->base, SIGINT, serve_stop, s);
	s->drain = evtimer_new(s->base, serve_drain, s);
	if (s->sig_term == NULL || s->sig_int == NULL || s->drain == NULL ||
	    evsignal_add(s->sig_term, NULL) == -1 ||
	    evsignal_add(s->sig_int, NULL) == -1) {
		log_warnx("collector: cannot install signal handlers");
		return CW_EXIT_FAILURES;
	}
	return CW_EXIT_OK;
}

static void
serve_free(struct collector_serve *s)
{
	export_http_free(s->x);
	collector_http_free(s->h);
	annotate_http_free(s->an);
	web_http_free(s->web);
	log_http_free(s->log);
	if (s->has_signer)
		tlog_signer_clear(&s->signer);
	if (s->sig_term != NULL)
		event_free(s->sig_term);
	if (s->sig_int != NULL)
		event_free(s->sig_int);
	if (s->drain != NULL)
		event_free(s->drain);
	if (s->base != NULL)
		event_base_free(s->base);
	store_close(s->st);
}

/* serve_nofile: keep the connection cap below the file descriptors the
 * process may open (an accept() failing with EMFILE spins). */
static void
serve_nofile(struct collector_conf *c)
{
	long nofile = sysutil_raise_nofile();

	if (nofile > 0 &&
	    (long)c->http.max_connections > nofile - COLLECTOR_NOFILE_SPARE) {
		unsigned cap = nofile > 2 * COLLECTOR_NOFILE_SPARE ?
		    (unsigned)(nofile - COLLECTOR_NOFILE_SPARE) :
		    1;
		log_warnx("collector: max_connections %u: only %ld open "
		          "files are allowed; using %u",
		    c->http.max_connections, nofile, cap);
		c->http.max_connections = cap;
	}
}

/* serve_reads: who may use the read endpoints, for the log. */
static const char *
serve_reads(const struct collector_conf *c)
{
	if (c->http.public_read)
		return c->read_token != NULL ?
		    "read endpoints open to anyone, "
		    "probes' locations and heartbeats to the read token" :
		    "read endpoints open to anyone, probes' locations and "
		    "heartbeats to nobody (no read_token)";
	return c->read_token != NULL ?
	    "read endpoints need the read token" :
	    "read endpoints closed: no read_token, and public_read is off";
}

static int
serve_run(struct collector_conf *c)
{
	struct collector_serve s;
	int rc;

	memset(&s, 0, sizeof(s));
	signal(SIGPIPE, SIG_IGN);
	serve_nofile(c);
	/* A batch is thousands of small JSON trees, all freed together when
	 * it is stored; with glibc's fast bins, every large free after that
	 * first merges them all (malloc_consolidate: a tenth of the ingest
	 * time).  Without fast bins the chunks merge as they are freed.
	 * Measured with contrib/bench/collector-bench.sh: about 10% more
	 * records/s. */
#ifdef M_MXFAST
	if (mallopt(M_MXFAST, 0) != 1)
		log_debug("collector: mallopt M_MXFAST refused");
#endif
	if ((rc = serve_setup(&s, c)) == CW_EXIT_OK) {
		log_info("collector: serving, database %s (%s)",
		    store_backend(s.st), serve_reads(c));
		if (event_base_dispatch(s.base) == -1) {
			log_warnx("collector: the event loop failed");
			rc = CW_EXIT_FAILURES;
		}
		collector_http_shutdown(s.h);
		log_info("collector: stopped");
	}
	serve_free(&s);
	return rc;
}

static const struct option serve_options[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "listen", required_argument, NULL, 'l' },
	{ "db", required_argument, NULL, 'd' },
	{ "web-dir", required_argument, NULL, 'w' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int
cmd_serve(int argc, char **argv)
{
	struct collector_conf c;
	const char *path = NULL, *listen = NULL, *db = NULL, *web = NULL;
	bool verbose = false;
	int ch, rc;

	while ((ch = getopt_long(argc, argv, "c:l:d:w:vh", serve_options,
	            NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'l':
			listen = optarg;
			break;
		case 'd':
			db = optarg;
			break;
		case 'w':
			web = optarg;
			break;
		case 'v':
			verbose = true;
			break;
		case 'h':
			serve_usage(stdout);
			return CW_EXIT_OK;
		default:
			serve_usage(stderr);
			return CW_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		serve_usage(stderr);
		return CW_EXIT_USAGE;
	}
	if (listen != NULL && !collector_http_addr_valid(listen))
		return collector_cmd_error("serve", CW_EXIT_USAGE,
		    "--listen: "
		    "\"%s\" is not a numeric ADDRESS:PORT (127.0.0.1:8080, "
		    "[::1]:8080)",
		    listen);
	if (collector_conf_init(&c) == -1 ||
	    (path != NULL && collector_conf_load(path, &c) == -1) ||
	    (listen != NULL && collector_set(&c.listen, listen) == -1) ||
	    (db != NULL && collector_set(&c.db, db) == -1) ||
	    (web != NULL && collector_set(&c.web_dir, web) == -1)) {
		collector_conf_clear(&c);
		return CW_EXIT_USAGE;
	}
	c.http.read_token = c.read_token;
	c.http.write_token = c.write_token;
	log_init(NULL, verbose ? LOG_LEVEL_DEBUG : c.log_level);
	rc = serve_run(&c);
	collector_conf_clear(&c);
	return rc;
}

/* --- probe and token --- */

/* The options every database command takes. */
struct collector_dbopts {
	const char *path; /* -c */
	const char *db;   /* --db */
	const char *name;
	const char *pubkey;
	const char *ttl;
	bool json;
};

static const struct option dbcmd_options[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "db", required_argument, NULL, 'd' },
	{ "name", required_argument, NULL, 'n' },
	{ "pubkey", required_argument, NULL, 'k' },
	{ "ttl", required_argument, NULL, 't' },
	{ "json", no_argument, NULL, 'j' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* dbcmd_parse: the options of a database command; `allowed` lists the
 * short letters it takes beyond c and d.  Returns -1 (usage printed),
 * 1 for --help (printed), 0 otherwise. */
static int
dbcmd_parse(int argc, char **argv, const char *allowed, const char *usage,
    struct collector_dbopts *o)
{
	int ch;

	memset(o, 0, sizeof(*o));
	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:d:h", dbcmd_options, NULL)) !=
	    -1) {
		if (ch != 'c' && ch != 'd' && ch != 'h' &&
		    strchr(allowed, ch) == NULL)
			ch = '?';
		switch (ch) {
		case 'c':
			o->path = optarg;
			break;
		case 'd':
			o->db = optarg;
			break;
		case 'n':
			o->name = optarg;
			break;
		case 'k':
			o->pubkey = optarg;
			break;
		case 't':
			o->ttl = optarg;
			break;
		case 'j':
			o->json = true;
			break;
		case 'h':
			printf("usage: %s\n", usage);
			return 1;
		default:
			fprintf(stderr, "usage: %s\n", usage);
			return -1;
		}
	}
	return 0;
}

/* collector_db_url: the database named by --db (`db`), the `db` of
 * configuration `path` (-c), or the default (cmd_export_db_fn). */
static char *
collector_db_url(const char *cmd, const char *path, const char *db)
{
	struct collector_conf c;
	char *url = NULL;

	if (collector_conf_init(&c) == -1) {
		fprintf(stderr, "corewatch-collector %s: out of memory\n", cmd);
		collector_conf_clear(&c);
		return NULL;
	}
	/* A configuration's problems are printed as it loads. */
	if ((path == NULL || collector_conf_load(path, &c) == 0) &&
	    ((db != NULL && collector_set(&c.db, db) == -1) ||
	        (url = strdup(c.db)) == NULL))
		fprintf(stderr, "corewatch-collector %s: out of memory\n", cmd);
	collector_conf_clear(&c);
	return url;
}

/* dbcmd_store: open the database named by --db, -c or the default. */
static int
dbcmd_store(const char *cmd, const struct collector_dbopts *o,
    struct store **st)
{
	struct collector_conf c;
	char *url;
	int rc = CW_EXIT_OK;

	*st = NULL;
	if ((url = collector_db_url(cmd, o->path, o->db)) == NULL)
		return CW_EXIT_USAGE;
	if (collector_conf_init(&c) == -1 || collector_set(&c.db, url) == -1)
		rc = CW_EXIT_USAGE;
	else if ((*st = collector_store(cmd, &c)) == NULL)
		rc = CW_EXIT_FAILURES;
	collector_conf_clear(&c);
	free(url);
	return rc;
}

/* dbcmd_name_ok: a probe name: 1 to STORE_NAME_MAX printable bytes. */
static bool
dbcmd_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > STORE_NAME_MAX)
		return false;
	for (const unsigned char *p = (const void *)name; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

#define PROBE_ADD_USAGE \
	"corewatch-collector probe add --name NAME " \
	"--pubkey KEY [--db URL | -c FILE]"

static int
probe_add(int argc, char **argv)
{
	struct collector_dbopts o;
	unsigned char pk[RECORD_PUBKEY_LEN];
	struct store_probe p;
	struct store *st;
	char err[512];
	int rc;

	if ((rc = dbcmd_parse(argc, argv, "nk", PROBE_ADD_USAGE, &o)) != 0)
		return rc == 1 ? CW_EXIT_OK : CW_EXIT_USAGE;
	if (optind != argc || o.name == NULL || o.pubkey == NULL) {
		fprintf(stderr, "usage: %s\n", PROBE_ADD_USAGE);
		return CW_EXIT_USAGE;
	}
	if (!dbcmd_name_ok(o.name))
		return collector_cmd_error("probe add", CW_EXIT_USAGE,
		    "--name: 1 to %d printable characters", STORE_NAME_MAX);
	if (record_pubkey_parse(o.pubkey, pk) == -1)
		return collector_cmd_error("probe add", CW_EXIT_USAGE,
		    "--pubkey: an Ed25519 public key in 64 hex digits or 44 "
		    "base64 characters");
	if ((rc = dbcmd_store("probe add", &o, &st)) != CW_EXIT_OK)
		return rc;
	memset(&p, 0, sizeof(p));
	err[0] = '\0';
	if ((rc = store_probe_add(st, o.name, pk, &p, err, sizeof(err))) ==
	    STORE_OK)
		printf("%s %lld\n", p.id, p.num);
	else
		fprintf(stderr, "corewatch-collector probe add: %s\n",
		    rc == STORE_E_EXISTS ? "this key is enrolled already" :
		        err[0] != '\0'   ? err :
		                           store_error_text(st));
	store_probe_clear(&p);
	store_close(st);
	return rc == STORE_OK     ? CW_EXIT_OK :
	    rc == STORE_E_INVALID ? CW_EXIT_USAGE :
	                            CW_EXIT_FAILURES;
}

/* probe_json: one probe as a JSON object. */
static json_t *
probe_json(const struct store_probe *p)
{
	char key[sodium_base64_ENCODED_LEN(RECORD_PUBKEY_LEN,
	    sodium_base64_VARIANT_ORIGINAL)];
	char created[CW_TIME_STRLEN], revoked[CW_TIME_STRLEN];
	char first[CW_TIME_STRLEN], last[CW_TIME_STRLEN];

	sodium_bin2base64(key, sizeof(key), p->pubkey, RECORD_PUBKEY_LEN,
	    sodium_base64_VARIANT_ORIGINAL);
	return json_pack("{s:I, s:s, s:s, s:s, s:b, s:s, s:s?, s:s?, s:s?, "
	                 "s:s?, s:o}",
	    "num", (json_int_t)p->num, "id", p->id, "name", p->name, "pubkey",
	    key, "revoked", p->revoked, "created_at",
	    cw_time_format(p->created_at, created, sizeof(created)),
	    "revoked_at",
	    p->revoked_at != 0 ?
	        cw_time_format(p->revoked_at, revoked, sizeof(revoked)) :
	        NULL,
	    "first_seen",
	    p->first_seen != 0 ?
	        cw_time_format(p->first_seen, first, sizeof(first)) :
	        NULL,
	    "last_seen",
	    p->last_seen != 0 ?
	        cw_time_format(p->last_seen, last, sizeof(last)) :
	        NULL,
	    "country", p->country[0] != '\0' ? p->country : NULL, "asn",
	    p->asn >= 0 ? json_integer(p->asn) : json_null());
}

struct probe_list_ctx {
	bool json;
	struct table *table;
	int failed;
};

static int
probe_list_one(void *arg, const struct store_probe *p)
{
	struct probe_list_ctx *ctx = arg;
	char num[24], asn[24], created[CW_TIME_STRLEN], last[CW_TIME_STRLEN];
	const char *cells[8];
	json_t *j;
	char *line;

	if (ctx->json) {
		j = probe_json(p);
		if (j == NULL || (line = result_dump(j)) == NULL) {
			json_decref(j);
			ctx->failed = 1;
			return 1;
		}
		printf("%s\n", line);
		free(line);
		json_decref(j);
		return 0;
	}
	snprintf(num, sizeof(num), "%lld", p->num);
	snprintf(asn, sizeof(asn), "%lld", p->asn);
	cells[0] = num;
	cells[1] = p->id;
	cells[2] = p->name;
	cells[3] = p->revoked ? "revoked" : "active";
	cells[4] = cw_time_format(p->created_at, created, sizeof(created));
	cells[5] = p->last_seen != 0 ?
	    cw_time_format(p->last_seen, last, sizeof(last)) :
	    NULL;
	cells[6] = p->country[0] != '\0' ? p->country : NULL;
	cells[7] = p->asn >= 0 ? asn : NULL;
	if (table_add_row(ctx->table, cells) == -1) {
		ctx->failed = 1;
		return 1;
	}
	return 0;
}

#define PROBE_LIST_USAGE \
	"corewatch-collector probe list [--json] " \
	"[--db URL | -c FILE]"

static int
probe_list(int argc, char **argv)
{
	static const char *const headers[] = { "NUM", "ID", "NAME", "STATUS",
		"CREATED", "LAST SEEN", "COUNTRY", "ASN" };
	struct probe_list_ctx ctx;
	struct collector_dbopts o;
	struct store *st;
	int rc;

	if ((rc = dbcmd_parse(argc, argv, "j", PROBE_LIST_USAGE, &o)) != 0)
		return rc == 1 ? CW_EXIT_OK : CW_EXIT_USAGE;
	if (optind != argc) {
		fprintf(stderr, "usage: %s\n", PROBE_LIST_USAGE);
		return CW_EXIT_USAGE;
	}
	if ((rc = dbcmd_store("probe list", &o, &st)) != CW_EXIT_OK)
		return rc;
	memset(&ctx, 0, sizeof(ctx));
	ctx.json = o.json;
	if (!ctx.json && (ctx.table = table_new(8, headers)) == NULL) {
		store_close(st);
		return CW_EXIT_FAILURES;
	}
	if (ctx.table != NULL) {
		table_set_align(ctx.table, 0, TABLE_RIGHT);
		table_set_align(ctx.table, 7, TABLE_RIGHT);
	}
	rc = store_probe_list(st, probe_list_one, &ctx);
	if (rc != STORE_OK)
		fprintf(stderr, "corewatch-collector probe list: %s\n",
		    store_error_text(st));
	else if (ctx.table != NULL)
		table_print(ctx.table, stdout);
	table_free(ctx.table);
	store_close(st);
	return rc != STORE_OK || ctx.failed ? CW_EXIT_FAILURES : CW_EXIT_OK;
}

#define PROBE_REVOKE_USAGE \
	"corewatch-collector probe revoke " \
	"[--db URL | -c FILE] ID"

static int
probe_revoke(int argc, char **argv)
{
	struct collector_dbopts o;
	struct store *st;
	char err[512];
	int rc;

	if ((rc = dbcmd_parse(argc, argv, "", PROBE_REVOKE_USAGE, &o)) != 0)
		return rc == 1 ? CW_EXIT_OK : CW_EXIT_USAGE;
	if (optind + 1 != argc) {
		fprintf(stderr, "usage: %s\n", PROBE_REVOKE_USAGE);
		return CW_EXIT_USAGE;
	}
	if ((rc = dbcmd_store("probe revoke", &o, &st)) != CW_EXIT_OK)
		return rc;
	err[0] = '\0';
	rc = store_probe_revoke(st, argv[optind], err, sizeof(err));
	if (rc == STORE_OK)
		printf("probe %s revoked\n", argv[optind]);
	else
		fprintf(stderr, "corewatch-collector probe revoke: %s: %s\n",
		    argv[optind],
		    rc == STORE_E_NOTFOUND ? "no such probe" :
		        err[0] != '\0'     ? err :
		                             store_error_text(st));
	store_close(st);
	return rc == STORE_OK ? CW_EXIT_OK : CW_EXIT_FAILURES;
}

#define TOKEN_CREATE_USAGE \
	"corewatch-collector token create --name NAME " \
	"[--ttl 7d] [--db URL | -c FILE]"

static int
token_create(int argc, char **argv)
{
	struct collector_dbopts o;
	char token[STORE_TOKEN_LEN + 1], err[512];
	cw_usec_t ttl = COLLECTOR_TTL_DEFAULT;
	struct store *st;
	int rc;

	if ((rc = dbcmd_parse(argc, argv, "nt", TOKEN_CREATE_USAGE, &o)) != 0)
		return rc == 1 ? CW_EXIT_OK : CW_EXIT_USAGE;
	if (optind != argc || o.name == NULL) {
		fprintf(stderr, "usage: %s\n", TOKEN_CREATE_USAGE);
		return CW_EXIT_USAGE;
	}
	if (!dbcmd_name_ok(o.name))
		return collector_cmd_error("token create", CW_EXIT_USAGE,
		    "--name: 1 to %d printable characters", STORE_NAME_MAX);
	if (o.ttl != NULL &&
	    (cw_duration_parse(o.ttl, &ttl) == -1 ||
	        ttl < 60 * CW_USEC_PER_SEC || ttl > COLLECTOR_TTL_MAX))
		return collector_cmd_error("token create", CW_EXIT_USAGE,
		    "--ttl: \"%s\" is not a duration from 1m to 366d (e.g. "
		    "7d, 12h)",
		    o.ttl);
	if ((rc = dbcmd_store("token create", &o, &st)) != CW_EXIT_OK)
		return rc;
	err[0] = '\0';
	rc = store_token_create(st, o.name, ttl, token, err, sizeof(err));
	if (rc == STORE_OK)
		printf("%s\n", token);
	else
		fprintf(stderr, "corewatch-collector token create: %s\n",
		    err[0] != '\0' ? err : store_error_text(st));
	sodium_memzero(token, sizeof(token));
	store_close(st);
	return rc == STORE_OK ? CW_EXIT_OK : CW_EXIT_FAILURES;
}

/* --- import --- */

#define IMPORT_USAGE \
	"corewatch-collector import [--db URL | -c FILE] " \
	"FILE..."

/* import_cmd: files of batches carried by hand (cmd_import.h). */
static int
import_cmd(int argc, char **argv)
{
	struct collector_dbopts o;
	struct collector_conf c;
	struct import_totals t;
	struct store *st;
	bool failed = false;
	int rc;

	if ((rc = dbcmd_parse(argc, argv, "", IMPORT_USAGE, &o)) != 0)
		return rc == 1 ? CW_EXIT_OK : CW_EXIT_USAGE;
	if (optind >= argc) {
		fprintf(stderr, "usage: %s\n", IMPORT_USAGE);
		return CW_EXIT_USAGE;
	}
	if (collector_conf_init(&c) == -1 ||
	    (o.path != NULL && collector_conf_load(o.path, &c) == -1) ||
	    (o.db != NULL && collector_set(&c.db, o.db) == -1)) {
		collector_conf_clear(&c);
		return CW_EXIT_USAGE;
	}
	if ((st = collector_store("import", &c)) == NULL) {
		collector_conf_clear(&c);
		return CW_EXIT_FAILURES;
	}
	for (int i = optind; i < argc; i++) {
		if (import_file(st, argv[i], c.http.max_body, &t) == -1)
			failed = true;
		printf("%s: %llu batches: %llu accepted (%llu records stored, "
		       "%llu duplicates, %llu equivocations), %llu refused\n",
		    argv[i], (unsigned long long)t.batches,
		    (unsigned long long)t.accepted,
		    (unsigned long long)t.stored,
		    (unsigned long long)t.duplicates,
		    (unsigned long long)t.equivocations,
		    (unsigned long long)t.refused);
		if (t.refused > 0)
			failed = true;
	}
	store_close(st);
	collector_conf_clear(&c);
	return failed ? CW_EXIT_FAILURES : CW_EXIT_OK;
}

/* --- export and summary (cmd_export.c), with -c as everywhere --- */

static int
export_cmd(int argc, char **argv)
{
	return collector_cmd_export(argc, argv, collector_db_url);
}

static int
summary_cmd(int argc, char **argv)
{
	return collector_cmd_summary(argc, argv, collector_db_url);
}

static int
batches_cmd(int argc, char **argv)
{
	return collector_cmd_batches(argc, argv, collector_db_url);
}

/* --- annotate (cmd_annotate.c) --- */

static int
annotate_add(int argc, char **argv)
{
	return collector_cmd_annotate_add(argc, argv, collector_db_url);
}

static int
annotate_list(int argc, char **argv)
{
	return collector_cmd_annotate_list(argc, argv, collector_db_url);
}

static int
annotate_delete(int argc, char **argv)
{
	return collector_cmd_annotate_delete(argc, argv, collector_db_url);
}

/* --- episodes (cmd_episodes.c) --- */

static int
episodes_cmd(int argc, char **argv)
{
	return collector_cmd_episodes(argc, argv, collector_db_url);
}

/* --- report (cmd_report.c) --- */

static int
report_cmd(int argc, char **argv)
{
	return collector_cmd_report(argc, argv, collector_db_url);
}

/* log_conf: what the log commands take from the configuration
 * (cmd_log_conf_fn). */
static int
log_conf(const char *cmd, const char *path, struct cmd_log_conf *out)
{
	struct collector_conf c;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (collector_conf_init(&c) == -1) {
		fprintf(stderr, "corewatch-collector %s: out of memory\n", cmd);
		collector_conf_clear(&c);
		return -1;
	}
	if (path == NULL || collector_conf_load(path, &c) == 0) {
		out->db = strdup(c.db);
		out->key = strdup(c.log_key);
		out->origin = c.log_origin != NULL ? strdup(c.log_origin) :
		                                     NULL;
		if (out->db == NULL || out->key == NULL ||
		    (c.log_origin != NULL && out->origin == NULL))
			fprintf(stderr,
			    "corewatch-collector %s: out of memory\n", cmd);
		else
			rc = 0;
	}
	collector_conf_clear(&c);
	return rc;
}

static int
keygen_cmd(int argc, char **argv)
{
	return collector_cmd_keygen(argc, argv, log_conf);
}

static int
log_cmd(int argc, char **argv)
{
	return collector_cmd_log(argc, argv, log_conf);
}

static int
bundle_cmd(int argc, char **argv)
{
	return collector_cmd_bundle(argc, argv, log_conf);
}

/* --- Dispatch --- */

static const struct {
	const char *group, *name;
	int (*fn)(int, char **);
	const char *summary;
} commands[] = {
	{ "serve", NULL, cmd_serve, "serve the HTTP API in the foreground" },
	{ "probe", "add", probe_add, "enroll a probe's public key" },
	{ "probe", "list", probe_list, "list the enrolled probes" },
	{ "probe", "revoke", probe_revoke,
	    "refuse a probe's batches from now" },
	{ "token", "create", token_create, "make a one-time enrollment token" },
	{ "export", NULL, export_cmd,
	    "write stored records as JSON lines, CSV or RIPE Atlas results" },
	{ "batches", NULL, batches_cmd,
	    "the kept signature of every accepted batch, as JSON lines" },
	{ "summary", NULL, summary_cmd,
	    "availability and RTT per target and probe, in time buckets" },
	{ "episodes", NULL, episodes_cmd,
	    "outage episodes of the stored results, with their evidence" },
	{ "report", NULL, report_cmd,
	    "a case-study report of a window: one HTML file, PDF, figures" },
	{ "import", NULL, import_cmd,
	    "ingest files of batches carried by hand (spool export)" },
	{ "annotate", "add", annotate_add,
	    "record what happened in the world, for a time window" },
	{ "annotate", "list", annotate_list,
	    "list annotations as JSON lines or CSV" },
	{ "annotate", "delete", annotate_delete, "delete an annotation" },
	{ "keygen", NULL, keygen_cmd,
	    "make the key that signs the log's checkpoints" },
	{ "log", NULL, log_cmd,
	    "the log of stored records: checkpoint, key, proofs" },
	{ "bundle", NULL, bundle_cmd,
	    "an evidence bundle: records, signatures, checkpoint, proof" },
};

static void
usage(FILE *fp)
{
	char what[32];

	fprintf(fp,
	    "usage: corewatch-collector COMMAND [options]\n\n"
	    "commands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		snprintf(what, sizeof(what), "%s%s%s", commands[i].group,
		    commands[i].name != NULL ? " " : "",
		    commands[i].name != NULL ? commands[i].name : "");
		fprintf(fp, "  %-16s %s\n", what, commands[i].summary);
	}
	fprintf(fp,
	    "\n'corewatch-collector COMMAND --help' describes a "
	    "command; see corewatch-collector(8).\n");
}

int
main(int argc, char **argv)
{
	int status;

	log_init("corewatch-collector", LOG_LEVEL_INFO);
	if (sodium_init() < 0)
		fatalx("libsodium cannot be initialised");
	if ((status = cli_main_flags("corewatch-collector", argc, argv,
	         usage)) != -1)
		return status;
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[1], commands[i].group) != 0)
			continue;
		if (commands[i].name == NULL)
			return commands[i].fn(argc - 1, argv + 1);
		if (argc >= 3 && strcmp(argv[2], commands[i].name) == 0)
			return commands[i].fn(argc - 2, argv + 2);
	}
	fprintf(stderr, "corewatch-collector: unknown command \"%s%s%s\"\n",
	    argv[1], argc >= 3 ? " " : "", argc >= 3 ? argv[2] : "");
	usage(stderr);
	return CW_EXIT_USAGE;
}
