/*
 * cmd_dns.c -- `corewatch dns`: an ad-hoc DNS measurement of servers
 * given on the command line, printed as corewatch results.
 *
 * Every server address is measured once per transport, all at once on
 * one event loop; one JSON line per measurement goes to stdout as it
 * completes.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "catalog.h"
#include "cmd.h"
#include "cliutil.h"
#include "dns.h"
#include "log.h"
#include "output.h"
#include "result.h"
#include "sysutil.h"

/* One measurement to make: a server address over one transport. */
struct cmd_dns_job {
	const struct target *target;
	enum dns_proto proto;
};

struct cmd_dns {
	struct dns_spec spec;
	struct output *out;
	struct event_base *base;
	struct cmd_dns_job *jobs; /* every address x transport */
	size_t njobs;
	struct cli_rounds run; /* --count rounds of the jobs */
};

enum {
	OPT_QNAME = 256,
	OPT_QTYPE,
	OPT_QCLASS,
	OPT_UDP,
	OPT_TCP,
	OPT_PORT,
	OPT_NSID,
	OPT_DO,
	OPT_EDNS_SIZE,
	OPT_RD,
	OPT_TIMEOUT,
	OPT_RETRIES,
	OPT_CHAOS,
	OPT_LATE_WINDOW,
	OPT_NO_TCP_FALLBACK,
	OPT_AUTHORITATIVE,
	OPT_COUNT,
	OPT_IN_FLIGHT,
};

static const struct option cmd_dns_options[] = {
	{ "qname", required_argument, NULL, OPT_QNAME },
	{ "qtype", required_argument, NULL, OPT_QTYPE },
	{ "qclass", required_argument, NULL, OPT_QCLASS },
	{ "udp", no_argument, NULL, OPT_UDP },
	{ "tcp", no_argument, NULL, OPT_TCP },
	{ "port", required_argument, NULL, OPT_PORT },
	{ "nsid", no_argument, NULL, OPT_NSID },
	{ "do", no_argument, NULL, OPT_DO },
	{ "edns-size", required_argument, NULL, OPT_EDNS_SIZE },
	{ "rd", no_argument, NULL, OPT_RD },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "retries", required_argument, NULL, OPT_RETRIES },
	{ "chaos", required_argument, NULL, OPT_CHAOS },
	{ "late-window", required_argument, NULL, OPT_LATE_WINDOW },
	{ "no-tcp-fallback", no_argument, NULL, OPT_NO_TCP_FALLBACK },
	{ "authoritative", no_argument, NULL, OPT_AUTHORITATIVE },
	{ "count", required_argument, NULL, OPT_COUNT },
	{ "in-flight", required_argument, NULL, OPT_IN_FLIGHT },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void
cmd_dns_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: corewatch dns [options] SERVER...\n"
	    "\n"
	    "Query each SERVER (ADDRESS, [ADDRESS] or NAME=ADDRESS, numeric, or @root\n"
	    "for the root servers; each address once) once per transport and print\n"
	    "one JSON result line each (see doc/results.md).\n"
	    "\n"
	    "  --qname NAME        query name (default \".\")\n"
	    "  --qtype TYPE        query type (default SOA)\n"
	    "  --qclass CLASS      query class (default IN)\n"
	    "  --chaos NAME        CHAOS TXT query of NAME (e.g. hostname.bind)\n"
	    "  --udp, --tcp        transports; both given: both (default udp)\n"
	    "  -4, -6              only IPv4 / IPv6 servers (default both)\n"
	    "  --port N            server port (default 53)\n"
	    "  --edns-size N       EDNS UDP size, 0 for no EDNS (default 1232)\n"
	    "  --nsid              ask for the server's NSID\n"
	    "  --do                set DNSSEC OK\n"
	    "  --rd                set recursion desired\n"
	    "  --timeout TIME      per attempt: 4, 1.5, 800ms ... (default 4s)\n"
	    "  --retries N         further attempts after a timeout (default 0)\n"
	    "  --late-window TIME  wait for late UDP replies (default 200ms)\n"
	    "  --no-tcp-fallback   do not retry a truncated UDP answer over TCP\n"
	    "  --authoritative     the servers serve the zone whose apex is the\n"
	    "                      query name: check the signs of an impostor\n"
	    "                      that need this (anomalies in doc/results.md)\n"
	    "  --count N           measure every server and transport N times (default 1)\n"
	    "  --in-flight N       at most N measurements at once (default: as many\n"
	    "                      as the open-file limit allows)\n"
	    "  -v, --verbose       debug messages on stderr\n"
	    "  -h, --help          this text\n"
	    "\n"
	    "Exit status: 0 every result ok, 1 some failed, 2 usage error.\n");
}

/* What the options say beyond the spec itself. */
struct cmd_dns_args {
	const char *qname, *qtype, *qclass, *chaos;
	int transports, afs;
	long port;
};

static int
cmd_dns_option(struct cmd_dns *cmd, struct cmd_dns_args *a, int ch)
{
	struct dns_spec *spec = &cmd->spec;
	long n;

	switch (ch) {
	case OPT_QNAME:
		a->qname = optarg;
		break;
	case OPT_QTYPE:
		a->qtype = optarg;
		break;
	case OPT_QCLASS:
		a->qclass = optarg;
		break;
	case OPT_CHAOS:
		a->chaos = optarg;
		break;
	case OPT_UDP:
		a->transports |= DNS_PROTO_UDP;
		break;
	case OPT_TCP:
		a->transports |= DNS_PROTO_TCP;
		break;
	case '4':
		a->afs |= DNS_AF_4;
		break;
	case '6':
		a->afs |= DNS_AF_6;
		break;
	case OPT_PORT:
		return cli_number("dns", "port", optarg, 1, 65535, &a->port);
	case OPT_EDNS_SIZE:
		if (cli_number("dns", "edns-size", optarg, 0, 65535, &n) == -1)
			return -1;
		spec->edns_size = (uint16_t)n;
		break;
	case OPT_NSID:
		spec->nsid = true;
		break;
	case OPT_DO:
		spec->do_bit = true;
		break;
	case OPT_RD:
		spec->rd = true;
		break;
	case OPT_TIMEOUT:
		return cli_spec_duration("dns", &dns_probe_kind, spec,
		    DNS_SPEC_TIMEOUT, "timeout", optarg, &spec->timeout,
		    PROBE_TIMEOUT_MIN, PROBE_TIMEOUT_MAX);
	case OPT_LATE_WINDOW:
		return cli_spec_duration("dns", &dns_probe_kind, spec,
		    DNS_SPEC_LATE_WINDOW, "late-window", optarg,
		    &spec->late_window, 0, DNS_LATE_WINDOW_MAX);
	case OPT_RETRIES:
		if (cli_number("dns", "retries", optarg, 0, DNS_RETRIES_MAX,
		        &n) == -1)
			return -1;
		spec->retries = (int)n;
		break;
	case OPT_NO_TCP_FALLBACK:
		spec->tcp_on_truncation = false;
		break;
	case OPT_AUTHORITATIVE:
		spec->authoritative = true;
		break;
	case OPT_COUNT:
		return cli_rounds_option(&cmd->run, "dns", "count", optarg);
	case OPT_IN_FLIGHT:
		return cli_rounds_option(&cmd->run, "dns", "in-flight", optarg);
	case 'v':
		log_init("corewatch", LOG_LEVEL_DEBUG);
		break;
	default:
		return -1;
	}
	return 0;
}

/* Turn the question options into the spec. */
static int
cmd_dns_question(struct cmd_dns *cmd, const struct cmd_dns_args *a)
{
	struct dns_spec *spec = &cmd->spec;
	int v;

	if (a->chaos != NULL) {
		if (a->qname != NULL || a->qtype != NULL || a->qclass != NULL)
			return cli_error("dns",
			    "--chaos sets the whole "
			    "question; do not combine it with --qname, "
			    "--qtype or --qclass");
		if (dns_spec_set_chaos(spec, a->chaos) == -1)
			return cli_error("dns",
			    "--chaos: \"%s\" is not a "
			    "valid domain name",
			    a->chaos);
	}
	if (a->qname != NULL && dns_spec_set_qname(spec, a->qname) == -1)
		return cli_error("dns",
		    "--qname: \"%s\" is not a valid domain "
		    "name",
		    a->qname);
	if (a->qtype != NULL) {
		if ((v = dns_qtype_parse(a->qtype)) == -1)
			return cli_error("dns",
			    "--qtype: unknown or "
			    "unsupported type \"%s\" (e.g. SOA, NS, A, AAAA, "
			    "TXT, TYPE65)",
			    a->qtype);
		spec->qtype = (ldns_rr_type)v;
	}
	if (a->qclass != NULL) {
		if ((v = dns_qclass_parse(a->qclass)) == -1)
			return cli_error("dns",
			    "--qclass: unknown class "
			    "\"%s\" (IN, CH, HS, CLASS3 ...)",
			    a->qclass);
		spec->qclass = (ldns_rr_class)v;
	}
	return 0;
}

/* cmd_dns_rules: the kind's spec rules (dns_spec_check(), which the
 * configuration asks too), in the words of the options.  Where the fix
 * is another option, the words name it; else they are the check's.  The
 * durations were checked as they were read (cli_spec_duration). */
static int
cmd_dns_rules(const struct dns_spec *spec)
{
	static const char edns[] = "--nsid and --do need EDNS: do not give "
	                           "--edns-size 0 with them";
	static const struct cli_rule rules[DNS_SPEC_RULES] = {
		[DNS_SPEC_EDNS_SIZE] = { "--edns-size", NULL },
		[DNS_SPEC_DO] = { "--do", edns },
		[DNS_SPEC_NSID] = { "--nsid", edns },
		[DNS_SPEC_TIMEOUT] = { "--timeout", NULL },
		[DNS_SPEC_LATE_WINDOW] = { "--late-window", NULL },
	};

	return cli_spec_rules("dns", &dns_probe_kind, spec, rules);
}

static void cmd_dns_done(json_t *, const ldns_pkt *, void *);

/* cli_start_fn: measurement `i`, the jobs in turn. */
static int
cmd_dns_start(void *arg, unsigned long i)
{
	struct cmd_dns *cmd = arg;
	const struct cmd_dns_job *job = &cmd->jobs[i % cmd->njobs];

	return dns_probe_start(cmd->base, &cmd->spec, job->target, job->proto,
	           cmd_dns_done, cmd) == NULL ?
	    -1 :
	    0;
}

static void
cmd_dns_done(json_t *result, const ldns_pkt *reply, void *arg)
{
	struct cmd_dns *cmd = arg;

	(void)reply;
	cli_rounds_result(&cmd->run, cmd->out, result);
	cmd->run.pending--;
	cli_rounds_fill(&cmd->run, cmd_dns_start, cmd);
}

/* One job per server address and wanted transport. */
static int
cmd_dns_jobs(struct cmd_dns *cmd, const struct target *targets, size_t ntargets,
    int transports)
{
	static const enum dns_proto protos[] = { DNS_PROTO_UDP, DNS_PROTO_TCP };

	cmd->jobs = calloc(ntargets * 2, sizeof(*cmd->jobs));
	if (cmd->jobs == NULL)
		return -1;
	for (size_t i = 0; i < ntargets; i++)
		for (size_t p = 0; p < sizeof(protos) / sizeof(protos[0]); p++)
			if (transports & protos[p]) {
				cmd->jobs[cmd->njobs].target = &targets[i];
				cmd->jobs[cmd->njobs].proto = protos[p];
				cmd->njobs++;
			}
	cli_rounds_jobs(&cmd->run, cmd->njobs);
	return 0;
}

/* cmd_dns_targets: the servers, under the rules of a configuration's
 * `servers` (catalog_server_add: "@root", each address once); keep
 * those of the wanted families. */
static int
cmd_dns_targets(int argc, char **argv, const struct cmd_dns_args *a,
    struct target **targets, size_t *ntargets)
{
	struct target *all = NULL;
	size_t nall = 0;
	char err[256];
	int rc = 0;

	*targets = NULL;
	*ntargets = 0;
	if (argc == 0)
		return cli_error("dns", "no servers given (try --help)");
	for (int i = 0; i < argc && rc == 0; i++)
		switch (catalog_server_add(argv[i], (uint16_t)a->port, &all,
		    &nall, err, sizeof(err))) {
		case CATALOG_SERVER_OK:
			break;
		case CATALOG_SERVER_NOMEM:
			rc = cli_error("dns", "out of memory");
			break;
		default:
			rc = cli_error("dns", "bad server: %s", err);
			break;
		}
	for (size_t i = 0; i < nall && rc == 0; i++)
		if ((all[i].af == 4 && (a->afs & DNS_AF_4) != 0) ||
		    (all[i].af == 6 && (a->afs & DNS_AF_6) != 0))
			all[(*ntargets)++] = all[i];
	if (rc == 0 && *ntargets == 0)
		rc = cli_error("dns",
		    "no server of the address family asked "
		    "for (-4/-6)");
	if (rc != 0) {
		free(all);
		*ntargets = 0;
		return rc;
	}
	*targets = all;
	return 0;
}

static int
cmd_dns_run(struct cmd_dns *cmd, const struct target *targets, size_t ntargets,
    int transports)
{
	struct event_base *base;

	if (cmd_dns_jobs(cmd, targets, ntargets, transports) == -1) {
		log_warnx("dns: out of memory");
		return CW_EXIT_FAILURES;
	}
	if ((base = sysutil_event_base()) == NULL) {
		log_warnx("dns: cannot create an event loop");
		free(cmd->jobs);
		return CW_EXIT_FAILURES;
	}
	if ((cmd->out = output_open(NULL)) == NULL) {
		event_base_free(base);
		free(cmd->jobs);
		return CW_EXIT_FAILURES;
	}
	cmd->base = base;
	output_set_base(cmd->out, base);
	cli_rounds_fill(&cmd->run, cmd_dns_start, cmd);
	if (cmd->run.pending > 0 && event_base_dispatch(base) == -1)
		log_warnx("dns: the event loop failed");
	output_close(cmd->out);
	event_base_free(base);
	free(cmd->jobs);
	return cli_rounds_end(&cmd->run, "dns");
}

int
cmd_dns(int argc, char **argv)
{
	struct cmd_dns cmd;
	struct cmd_dns_args a;
	struct target *targets;
	size_t ntargets;
	int ch, rc;

	memset(&cmd, 0, sizeof(cmd));
	memset(&a, 0, sizeof(a));
	dns_spec_init(&cmd.spec);
	/* Like dig: UDP only and no NSID unless asked for. */
	cmd.spec.nsid = false;
	a.port = 53;
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "46hv", cmd_dns_options, NULL)) !=
	    -1) {
		if (ch == 'h') {
			cmd_dns_usage(stdout);
			return CW_EXIT_OK;
		}
		if (ch == '?' || ch == ':')
			return cli_getopt_error("dns", argv, OPT_QNAME);
		if (cmd_dns_option(&cmd, &a, ch) == -1)
			return CW_EXIT_USAGE;
	}
	if (cmd_dns_question(&cmd, &a) != 0 || cmd_dns_rules(&cmd.spec) == -1)
		return CW_EXIT_USAGE;
	cmd.spec.transports = a.transports != 0 ? a.transports : DNS_PROTO_UDP;
	cmd.spec.afs = a.afs != 0 ? a.afs : DNS_AF_4 | DNS_AF_6;
	a.afs = cmd.spec.afs;
	cmd.spec.port = (uint16_t)a.port;
	if (cmd_dns_targets(argc - optind, argv + optind, &a, &targets,
	        &ntargets) != 0)
		return CW_EXIT_USAGE;
	/* A socket per measurement; two for a moment when a truncated UDP
	 * answer is retried over TCP. */
	cli_rounds_bound(&cmd.run, "dns", sysutil_raise_nofile(), 2);
	rc = cmd_dns_run(&cmd, targets, ntargets, cmd.spec.transports);
	free(targets);
	return rc;
}
