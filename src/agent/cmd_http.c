/*
 * cmd_http.c -- `corewatch http`: an ad-hoc HTTP measurement of one URL,
 * printed as corewatch results.
 *
 * The URL is measured in each address family asked for, at every
 * address its host resolves to (or at the --addr addresses); one JSON
 * line per address goes to stdout as it completes.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <strings.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "cmd.h"
#include "cliutil.h"
#include "conf.h"
#include "http.h"
#include "log.h"
#include "output.h"
#include "result.h"
#include "size.h"
#include "sysutil.h"

#define CMD_HTTP_LIST_MAX 64 /* --addr, --header, status ranges */
/* Descriptors a run of a host name may take: one per address measured. */
#define CMD_HTTP_FDS_PER_NAME 8

/* One run to make: a family, or a pinned address. */
struct cmd_http_job {
	int af;
	const struct target *pinned;
};

struct cmd_http {
	struct http_spec spec;
	struct event_base *base;
	struct http_engine *engine;
	struct output *out;
	struct cmd_http_job jobs[CMD_HTTP_LIST_MAX + 2];
	size_t njobs;
	struct cli_rounds run; /* --count rounds of the jobs */
};

/* What the options say beyond the spec itself. */
struct cmd_http_args {
	int afs;
	struct target addrs[CMD_HTTP_LIST_MAX];
	size_t naddrs;
	const char *headers[CMD_HTTP_LIST_MAX];
	size_t nheaders;
	struct http_status_range expect[CMD_HTTP_LIST_MAX];
	size_t nexpect;
	const char *resolv_conf;
	bool max_redirects_given;
};

enum {
	OPT_ADDR = 256,
	OPT_METHOD,
	OPT_TIMEOUT,
	OPT_EXPECT,
	OPT_CACERT,
	OPT_PROXY,
	OPT_MAX_BODY,
	OPT_PATTERN,
	OPT_HEADER,
	OPT_FOLLOW,
	OPT_MAX_REDIRECTS,
	OPT_NAME,
	OPT_RESOLV_CONF,
	OPT_COUNT,
	OPT_IN_FLIGHT,
};

static const struct option cmd_http_options[] = {
	{ "addr", required_argument, NULL, OPT_ADDR },
	{ "method", required_argument, NULL, OPT_METHOD },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "expect-status", required_argument, NULL, OPT_EXPECT },
	{ "cacert", required_argument, NULL, OPT_CACERT },
	{ "proxy", required_argument, NULL, OPT_PROXY },
	{ "max-body", required_argument, NULL, OPT_MAX_BODY },
	{ "pattern", required_argument, NULL, OPT_PATTERN },
	{ "header", required_argument, NULL, OPT_HEADER },
	{ "follow", no_argument, NULL, OPT_FOLLOW },
	{ "max-redirects", required_argument, NULL, OPT_MAX_REDIRECTS },
	{ "name", required_argument, NULL, OPT_NAME },
	{ "resolv-conf", required_argument, NULL, OPT_RESOLV_CONF },
	{ "count", required_argument, NULL, OPT_COUNT },
	{ "in-flight", required_argument, NULL, OPT_IN_FLIGHT },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void
cmd_http_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: corewatch http [options] URL\n"
	    "\n"
	    "Measure URL (http:// or https://) once at every address its host resolves\n"
	    "to, or at each --addr, with a fresh connection each time, and print one\n"
	    "JSON result line per address (see doc/results.md).\n"
	    "\n"
	    "  --addr ADDRESS      measure this address (Host and SNI stay the URL's);\n"
	    "                      repeat for more\n"
	    "  -4, -6              only IPv4 / IPv6 (default both)\n"
	    "  --method GET|HEAD   request method (default GET)\n"
	    "  --timeout TIME      the whole measurement: 10, 2.5, 800ms ... (default 10s)\n"
	    "  --expect-status L   accepted statuses: 200,301-302,2xx ... (default 200-399)\n"
	    "  --cacert FILE       trust the CAs in FILE (default: the system's)\n"
	    "  --proxy URL         through this proxy (http://, socks5h:// ...)\n"
	    "  --max-body SIZE     read at most SIZE body bytes: 64k, 1m ... (default 1m)\n"
	    "  --pattern REGEX     the body read must match REGEX (POSIX extended)\n"
	    "  --header 'N: V'     an extra request header; repeat for more\n"
	    "  --follow            follow redirects (default: report the Location)\n"
	    "  --max-redirects N   at most N redirects followed (default 5)\n"
	    "  --name NAME         the results' name\n"
	    "  --resolv-conf FILE  nameservers for the lookup (default /etc/resolv.conf)\n"
	    "  --count N           measure N times (default 1)\n"
	    "  --in-flight N       at most N measurements at once (default: as many\n"
	    "                      as the open-file limit allows)\n"
	    "  -v, --verbose       debug messages on stderr\n"
	    "  -h, --help          this text\n"
	    "\n"
	    "Exit status: 0 every result ok, 1 some failed, 2 usage error.\n");
}

/* cmd_http_expect: a comma-separated list of status ranges. */
static int
cmd_http_expect(struct cmd_http_args *a, const char *text)
{
	char *copy, *item, *save = NULL;
	int rc = 0;

	if ((copy = strdup(text)) == NULL)
		return cli_error("http", "out of memory");
	for (item = strtok_r(copy, ",", &save); item != NULL && rc == 0;
	     item = strtok_r(NULL, ",", &save)) {
		if (a->nexpect == CMD_HTTP_LIST_MAX)
			rc = cli_error("http",
			    "--expect-status: at most %d "
			    "ranges",
			    CMD_HTTP_LIST_MAX);
		else if (http_status_parse(item, &a->expect[a->nexpect++]) ==
		    -1)
			rc = cli_error("http",
			    "--expect-status: \"%s\" is not "
			    "a status (100-599), a range (200-299) or a class "
			    "(2xx)",
			    item);
	}
	free(copy);
	if (rc == 0 && a->nexpect == 0)
		rc = cli_error("http", "--expect-status: no status given");
	return rc;
}

static int
cmd_http_option(struct cmd_http *cmd, struct cmd_http_args *a, int ch)
{
	struct http_spec *spec = &cmd->spec;
	char err[256];
	uint64_t size;
	long n;

	switch (ch) {
	case OPT_ADDR:
		if (a->naddrs == CMD_HTTP_LIST_MAX)
			return cli_error("http", "at most %d --addr",
			    CMD_HTTP_LIST_MAX);
		if (target_parse(optarg, 0, &a->addrs[a->naddrs], err,
		        sizeof(err)) == -1 ||
		    strchr(optarg, '=') != NULL)
			return cli_error("http",
			    "--addr: \"%s\" is not a "
			    "numeric IPv4 or IPv6 address",
			    optarg);
		/* Each once, as a configuration's `addresses`. */
		if (target_listed(a->addrs, a->naddrs, &a->addrs[a->naddrs]))
			return cli_error("http", "--addr: %s is listed twice",
			    a->addrs[a->naddrs].addr);
		a->naddrs++;
		break;
	case '4':
		a->afs |= HTTP_AF_4;
		break;
	case '6':
		a->afs |= HTTP_AF_6;
		break;
	case OPT_METHOD:
		if (strcasecmp(optarg, "GET") == 0)
			spec->method = HTTP_GET;
		else if (strcasecmp(optarg, "HEAD") == 0)
			spec->method = HTTP_HEAD;
		else
			return cli_error("http",
			    "--method: GET or HEAD, not "
			    "\"%s\"",
			    optarg);
		break;
	case OPT_TIMEOUT:
		return cli_spec_duration("http", &http_probe_kind, spec,
		    HTTP_SPEC_TIMEOUT, "timeout", optarg, &spec->timeout,
		    PROBE_TIMEOUT_MIN, PROBE_TIMEOUT_MAX);
	case OPT_EXPECT:
		return cmd_http_expect(a, optarg);
	case OPT_CACERT:
		spec->cafile = optarg;
		break;
	case OPT_PROXY:
		spec->proxy = optarg;
		break;
	case OPT_MAX_BODY:
		if (cw_size_parse(optarg, &size) == -1)
			return cli_error("http",
			    "--max-body: \"%s\" is not a "
			    "size (65536, 64k, 1m ...)",
			    optarg);
		spec->max_body = size;
		break;
	case OPT_PATTERN:
		/* Empty: http_spec_check()'s to refuse (cmd_http_rules). */
		if (*optarg != '\0' &&
		    http_pattern_check(optarg, err, sizeof(err)) == -1)
			return cli_error("http", "--pattern: %s", err);
		spec->body_pattern = optarg;
		break;
	case OPT_HEADER:
		if (a->nheaders == CMD_HTTP_LIST_MAX)
			return cli_error("http", "at most %d --header",
			    CMD_HTTP_LIST_MAX);
		if (http_header_check(optarg, err, sizeof(err)) == -1)
			return cli_error("http", "--header: %s", err);
		a->headers[a->nheaders++] = optarg;
		break;
	case OPT_FOLLOW:
		spec->follow_redirects = true;
		break;
	case OPT_MAX_REDIRECTS:
		if (cli_number("http", "max-redirects", optarg, 0,
		        HTTP_REDIRECTS_MAX, &n) == -1)
			return -1;
		spec->max_redirects = n;
		a->max_redirects_given = true;
		break;
	case OPT_NAME:
		if (!config_name_valid(optarg))
			return cli_error("http",
			    "--name: \"%s\" must be 1 to %d "
			    "letters, digits, '.', '_' or '-'",
			    optarg, CONFIG_NAME_MAX);
		spec->name = optarg;
		break;
	case OPT_RESOLV_CONF:
		a->resolv_conf = optarg;
		break;
	case OPT_COUNT:
		return cli_rounds_option(&cmd->run, "http", "count", optarg);
	case OPT_IN_FLIGHT:
		return cli_rounds_option(&cmd->run, "http", "in-flight",
		    optarg);
	case 'v':
		log_init("corewatch", LOG_LEVEL_DEBUG);
		break;
	default:
		return -1;
	}
	return 0;
}

/* cmd_http_rules: the kind's spec rules (http_spec_check(), which the
 * configuration asks too), in the words of the options.  The timeout
 * was checked as it was read (cli_spec_duration). */
static int
cmd_http_rules(const struct http_spec *spec)
{
	static const struct cli_rule rules[HTTP_SPEC_RULES] = {
		[HTTP_SPEC_MAX_BODY] = { "--max-body", NULL },
		[HTTP_SPEC_BODY_PATTERN] = { "--pattern", NULL },
		[HTTP_SPEC_PROXY] = { "--proxy", NULL },
		[HTTP_SPEC_CAFILE] = { "--cacert", NULL },
		[HTTP_SPEC_TIMEOUT] = { "--timeout", NULL },
	};

	return cli_spec_rules("http", &http_probe_kind, spec, rules);
}

static void cmd_http_done(json_t *, bool, void *);

/* cli_start_fn: run `i`, the jobs in turn. */
static int
cmd_http_start(void *arg, unsigned long i)
{
	struct cmd_http *cmd = arg;
	const struct cmd_http_job *job = &cmd->jobs[i % cmd->njobs];

	return http_probe_start(cmd->engine, &cmd->spec, job->pinned, job->af,
	           cmd_http_done, cmd) == NULL ?
	    -1 :
	    0;
}

static void
cmd_http_done(json_t *result, bool last, void *arg)
{
	struct cmd_http *cmd = arg;

	cli_rounds_result(&cmd->run, cmd->out, result);
	if (!last)
		return;
	cmd->run.pending--;
	cli_rounds_fill(&cmd->run, cmd_http_start, cmd);
	/* The resolver may keep timers of its own (it probes a nameserver
	 * that failed): they must not keep the command running. */
	if (cmd->run.pending == 0)
		event_base_loopexit(cmd->base, NULL);
}

/* cmd_http_jobs: one run per pinned address, each of a family asked
 * for (as a configuration's `addresses` must be of its `af`), or one per
 * family asked for. */
static int
cmd_http_jobs(struct cmd_http *cmd, const struct cmd_http_args *a)
{
	for (size_t i = 0; i < a->naddrs; i++) {
		int af = a->addrs[i].af;

		if (!(a->afs & (af == 4 ? HTTP_AF_4 : HTTP_AF_6)))
			return cli_error("http",
			    "--addr: %s is an IPv%d "
			    "address, and -%d is given",
			    a->addrs[i].addr, af, af == 4 ? 6 : 4);
		cmd->jobs[cmd->njobs].af = af;
		cmd->jobs[cmd->njobs++].pinned = &a->addrs[i];
	}
	if (a->naddrs == 0) {
		if (a->afs & HTTP_AF_4)
			cmd->jobs[cmd->njobs++].af = 4;
		if (a->afs & HTTP_AF_6)
			cmd->jobs[cmd->njobs++].af = 6;
	}
	cli_rounds_jobs(&cmd->run, cmd->njobs);
	return 0;
}

static int
cmd_http_run(struct cmd_http *cmd, const char *resolv_conf)
{
	struct event_base *base;

	if ((base = sysutil_event_base()) == NULL) {
		log_warnx("http: cannot create an event loop");
		return CW_EXIT_FAILURES;
	}
	cmd->base = base;
	if ((cmd->engine = http_engine_new(base, resolv_conf, NULL)) == NULL) {
		event_base_free(base);
		return resolv_conf != NULL ? CW_EXIT_USAGE : CW_EXIT_FAILURES;
	}
	if ((cmd->out = output_open(NULL)) == NULL) {
		http_engine_free(cmd->engine);
		event_base_free(base);
		return CW_EXIT_FAILURES;
	}
	output_set_base(cmd->out, base);
	cli_rounds_fill(&cmd->run, cmd_http_start, cmd);
	if (cmd->run.pending > 0 && event_base_dispatch(base) == -1)
		log_warnx("http: the event loop failed");
	output_close(cmd->out);
	http_engine_free(cmd->engine);
	event_base_free(base);
	return cli_rounds_end(&cmd->run, "http");
}

int
cmd_http(int argc, char **argv)
{
	struct cmd_http cmd;
	struct cmd_http_args a;
	char err[256];
	int ch, literal;

	memset(&cmd, 0, sizeof(cmd));
	memset(&a, 0, sizeof(a));
	http_spec_init(&cmd.spec);
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "46hv", cmd_http_options, NULL)) !=
	    -1) {
		if (ch == 'h') {
			cmd_http_usage(stdout);
			return CW_EXIT_OK;
		}
		if (ch == '?' || ch == ':')
			return cli_getopt_error("http", argv, OPT_ADDR);
		if (cmd_http_option(&cmd, &a, ch) != 0)
			return CW_EXIT_USAGE;
	}
	if (argc - optind != 1)
		return cli_error("http", "%s",
		    argc == optind ? "no URL given "
		                     "(try --help)" :
		                     "one URL only");
	/* Not echoed: it may hold a password. */
	if (!http_url_check(argv[optind], err, sizeof(err)))
		return cli_error("http", "bad URL: %s", err);
	if (a.max_redirects_given && !cmd.spec.follow_redirects)
		return cli_error("http",
		    "--max-redirects applies only with "
		    "--follow");
	cmd.spec.url = argv[optind];
	cmd.spec.expect = a.expect;
	cmd.spec.nexpect = a.nexpect;
	cmd.spec.headers = a.headers;
	cmd.spec.nheaders = a.nheaders;
	if (cmd_http_rules(&cmd.spec) == -1)
		return CW_EXIT_USAGE;
	/* As a configuration's `addresses`: not with an address as the
	 * URL's host. */
	if ((literal = http_url_host_af(cmd.spec.url)) != 0 && a.naddrs > 0)
		return cli_error("http",
		    "--addr: the URL's host is an address "
		    "already: leave --addr out");
	if (literal != 0) {
		/* An address in the URL has one family. */
		if (a.afs != 0 &&
		    !(a.afs & (literal == 4 ? HTTP_AF_4 : HTTP_AF_6)))
			return cli_error("http",
			    "the URL's host is an IPv%d "
			    "address: -%d does not apply",
			    literal, literal == 4 ? 6 : 4);
		a.afs = literal == 4 ? HTTP_AF_4 : HTTP_AF_6;
	}
	if (a.afs == 0)
		a.afs = HTTP_AF_4 | HTTP_AF_6;
	cmd.spec.afs = a.afs;
	if (cmd_http_jobs(&cmd, &a) != 0)
		return CW_EXIT_USAGE;
	/* A connection per address measured: one for a pinned address or a
	 * literal, up to CMD_HTTP_FDS_PER_NAME for a name with several. */
	cli_rounds_bound(&cmd.run, "http", sysutil_raise_nofile(),
	    a.naddrs > 0 || literal != 0 ? 1 : CMD_HTTP_FDS_PER_NAME);
	return cmd_http_run(&cmd, a.resolv_conf);
}
