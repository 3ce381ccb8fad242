/*
 * cmd_tld.c -- `corewatch tld-servers`: learn the name servers of TLDs
 * from a root server now, as the agent does, and print them.
 *
 * One discovery attempt per TLD (its "tld_discovery" result is printed
 * as it completes), then one "tld_servers" line per TLD with the set in
 * use: the one just learned or, when the attempt failed, the one cached
 * under the state directory.  --cached prints the cache without sending
 * anything.
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
#include "log.h"
#include "output.h"
#include "result.h"
#include "sysutil.h"
#include "tld.h"

#define CMD_TLD_TIMEOUT_MAX  (60 * CW_USEC_PER_SEC)
#define CMD_TLD_WAIT_MAX     (3600 * CW_USEC_PER_SEC)
#define CMD_TLD_WAIT_DEFAULT (60 * CW_USEC_PER_SEC)
#define CMD_TLD_RESOLV_CONF  "/etc/resolv.conf"

struct cmd_tld {
	const char *state_dir; /* NULL: no cache */
	const char *resolver;  /* NULL: resolv.conf; "none" */
	char **root_specs;     /* --root, in order */
	size_t nroot_specs;
	long port;
	cw_usec_t timeout, wait;
	bool cached_only;

	struct output *out;
	struct event_base *base;
	struct tld_discovery *d;
	size_t expected, reported; /* discovery results */
	int failed;
};

enum {
	OPT_ROOT = 256,
	OPT_RESOLVER,
	OPT_STATE_DIR,
	OPT_NO_CACHE,
	OPT_CACHED,
	OPT_PORT,
	OPT_TIMEOUT,
	OPT_WAIT,
};

static const struct option cmd_tld_options[] = {
	{ "root", required_argument, NULL, OPT_ROOT },
	{ "resolver", required_argument, NULL, OPT_RESOLVER },
	{ "state-dir", required_argument, NULL, OPT_STATE_DIR },
	{ "no-cache", no_argument, NULL, OPT_NO_CACHE },
	{ "cached", no_argument, NULL, OPT_CACHED },
	{ "port", required_argument, NULL, OPT_PORT },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "wait", required_argument, NULL, OPT_WAIT },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void
cmd_tld_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: corewatch tld-servers [options] TLD...\n"
	    "\n"
	    "Ask a root server for the name servers of each TLD (\"ua\", \"sd\" ...),\n"
	    "look up the addresses of those without glue, update the cache and print\n"
	    "one \"tld_discovery\" result per TLD, then one \"tld_servers\" line with the\n"
	    "set in use (the new one, or the cached one when discovery failed).\n"
	    "\n"
	    "  --root SERVER      a root server to ask (ADDRESS, NAME=ADDRESS or @root;\n"
	    "                     repeatable; default @root, the compiled-in catalog)\n"
	    "  --resolver ADDRESS for NS names without glue outside their TLD (default\n"
	    "                     the first nameserver of /etc/resolv.conf; \"none\")\n"
	    "  --state-dir DIR    cache directory (default " CW_STATE_DIR ")\n"
	    "  --no-cache         neither read nor write the cache\n"
	    "  --cached           print the cached sets only; send nothing\n"
	    "  --port N           port of every server asked and learned (default 53)\n"
	    "  --timeout TIME     per query (default 4s)\n"
	    "  --wait TIME        give up on discovery after TIME (default 60s)\n"
	    "  -v, --verbose      debug messages on stderr\n"
	    "  -h, --help         this text\n"
	    "\n"
	    "Exit status: 0 every TLD discovered (or, with --cached, cached), 1 some\n"
	    "failed, 2 usage error.\n");
}

static int
cmd_tld_option(struct cmd_tld *cmd, int ch)
{
	char **grown;

	switch (ch) {
	case OPT_ROOT:
		grown = realloc(cmd->root_specs,
		    (cmd->nroot_specs + 1) * sizeof(*grown));
		if (grown == NULL)
			return cli_error("tld-servers", "out of memory");
		cmd->root_specs = grown;
		cmd->root_specs[cmd->nroot_specs++] = optarg;
		break;
	case OPT_RESOLVER:
		cmd->resolver = optarg;
		break;
	case OPT_STATE_DIR:
		cmd->state_dir = optarg;
		break;
	case OPT_NO_CACHE:
		cmd->state_dir = NULL;
		break;
	case OPT_CACHED:
		cmd->cached_only = true;
		break;
	case OPT_PORT:
		return cli_number("tld-servers", "port", optarg, 1, 65535,
		    &cmd->port);
	case OPT_TIMEOUT:
		return cli_duration("tld-servers", "timeout", optarg,
		    CW_USEC_PER_MSEC, CMD_TLD_TIMEOUT_MAX, &cmd->timeout);
	case OPT_WAIT:
		return cli_duration("tld-servers", "wait", optarg,
		    CW_USEC_PER_MSEC, CMD_TLD_WAIT_MAX, &cmd->wait);
	case 'v':
		log_init("corewatch", LOG_LEVEL_DEBUG);
		break;
	default:
		return -1;
	}
	return 0;
}

/* cmd_tld_roots: the --root servers (or @root) as targets. */
static int
cmd_tld_roots(const struct cmd_tld *cmd, struct target **roots, size_t *nroots)
{
	static char *catalog[] = { "@root" };
	char *const *specs = cmd->nroot_specs > 0 ? cmd->root_specs : catalog;
	size_t n = cmd->nroot_specs > 0 ? cmd->nroot_specs : 1;
	struct target *grown;
	char err[256];

	*roots = NULL;
	*nroots = 0;
	for (size_t i = 0; i < n; i++) {
		if (catalog_is_set(specs[i])) {
			if (catalog_expand(specs[i], (uint16_t)cmd->port, roots,
			        nroots, err, sizeof(err)) == -1)
				return cli_error("tld-servers", "--root: %s",
				    err);
			continue;
		}
		if ((grown = realloc(*roots, (*nroots + 1) * sizeof(*grown))) ==
		    NULL)
			return cli_error("tld-servers", "out of memory");
		*roots = grown;
		if (target_parse(specs[i], (uint16_t)cmd->port,
		        &(*roots)[*nroots], err, sizeof(err)) == -1)
			return cli_error("tld-servers", "--root: %s", err);
		(*nroots)++;
	}
	return 0;
}

/* cmd_tld_resolver: the resolver to use, or NULL for none. */
static const struct target *
cmd_tld_resolver(const struct cmd_tld *cmd, struct target *t, int *bad)
{
	char err[256];

	*bad = 0;
	if (cmd->resolver == NULL) {
		if (tld_resolver_from_file(CMD_TLD_RESOLV_CONF,
		        (uint16_t)cmd->port, t) == 0)
			return t;
		log_info("tld-servers: no resolver in %s: NS names without "
		         "glue outside their TLD stay unresolved",
		    CMD_TLD_RESOLV_CONF);
		return NULL;
	}
	if (strcmp(cmd->resolver, "none") == 0)
		return NULL;
	if (target_parse(cmd->resolver, (uint16_t)cmd->port, t, err,
	        sizeof(err)) == -1) {
		*bad = cli_error("tld-servers", "--resolver: %s", err);
		return NULL;
	}
	return t;
}

static void
cmd_tld_print(struct cmd_tld *cmd, json_t *result)
{
	if (output_write(cmd->out, result) == -1)
		cmd->failed++;
	json_decref(result);
}

static void
cmd_tld_result(json_t *result, void *arg)
{
	struct cmd_tld *cmd = arg;

	if (result_failure(result) != CW_OK)
		cmd->failed++;
	cmd_tld_print(cmd, result);
	if (++cmd->reported == cmd->expected)
		event_base_loopexit(cmd->base, NULL);
}

/* cmd_tld_report: the "tld_servers" line of one TLD. */
static void
cmd_tld_report(struct cmd_tld *cmd, const char *tld, bool fresh)
{
	const struct tld_set *set = tld_discovery_get(cmd->d, tld);
	json_t *r;

	if (set != NULL) {
		if ((r = tld_servers_record(set, !fresh, NULL,
		         cw_real_usec())) != NULL)
			cmd_tld_print(cmd, r);
		return;
	}
	if ((r = result_new("tld_servers", NULL, cw_real_usec())) == NULL)
		return;
	result_set_str(r, "tld", tld);
	result_set_failure(r, CW_FAIL_DNS_NO_SERVERS, "no set known for %s",
	    tld);
	if (cmd->cached_only)
		cmd->failed++;
	cmd_tld_print(cmd, r);
}

static int
cmd_tld_run(struct cmd_tld *cmd, char **tlds, int ntlds,
    const struct target *roots, size_t nroots, const struct target *resolver)
{
	struct timeval tv;
	cw_usec_t started = cw_real_usec();
	int i;

	if ((cmd->base = sysutil_event_base()) == NULL ||
	    (cmd->out = output_open(NULL)) == NULL) {
		log_warnx("tld-servers: cannot set up");
		if (cmd->base != NULL)
			event_base_free(cmd->base);
		return CW_EXIT_FAILURES;
	}
	cmd->d = tld_discovery_new(cmd->base, cmd->state_dir, roots, nroots,
	    resolver, 0, NULL, cmd->cached_only ? NULL : cmd_tld_result, cmd);
	if (cmd->d == NULL) {
		output_close(cmd->out);
		event_base_free(cmd->base);
		return CW_EXIT_FAILURES;
	}
	tld_discovery_set_port(cmd->d, (uint16_t)cmd->port);
	tld_discovery_set_timeout(cmd->d, cmd->timeout);
	for (i = 0; i < ntlds; i++)
		if (tld_discovery_add(cmd->d, tlds[i]) == -1)
			cmd->failed++;
	if (!cmd->cached_only) {
		cmd->expected = tld_discovery_refresh_now(cmd->d);
		cw_usec_to_timeval(cmd->wait, &tv);
		event_base_loopexit(cmd->base, &tv);
		if (cmd->expected > 0)
			event_base_dispatch(cmd->base);
		if (cmd->reported < cmd->expected) {
			log_warnx("tld-servers: %zu discoveries did not finish "
			          "in time",
			    cmd->expected - cmd->reported);
			cmd->failed += (int)(cmd->expected - cmd->reported);
		}
	}
	for (i = 0; i < ntlds; i++) {
		char name[TLD_NAME_MAX], err[160];
		const struct tld_set *set;

		if (tld_name_normalize(tlds[i], name, err, sizeof(err)) == -1)
			continue;
		set = tld_discovery_get(cmd->d, name);
		cmd_tld_report(cmd, name,
		    set != NULL && !cmd->cached_only &&
		        set->learned >= started);
	}
	tld_discovery_free(cmd->d);
	output_close(cmd->out);
	event_base_free(cmd->base);
	return cmd->failed > 0 ? CW_EXIT_FAILURES : CW_EXIT_OK;
}

int
cmd_tld_servers(int argc, char **argv)
{
	struct target *roots = NULL, resolver_buf;
	const struct target *resolver;
	struct cmd_tld cmd;
	char name[TLD_NAME_MAX], err[160];
	size_t nroots;
	int ch, rc, bad;

	memset(&cmd, 0, sizeof(cmd));
	cmd.state_dir = CW_STATE_DIR;
	cmd.port = 53;
	cmd.timeout = 4 * CW_USEC_PER_SEC;
	cmd.wait = CMD_TLD_WAIT_DEFAULT;
	optind = 1;
	opterr = 0;
	while (
	    (ch = getopt_long(argc, argv, "hv", cmd_tld_options, NULL)) != -1) {
		if (ch == 'h') {
			cmd_tld_usage(stdout);
			free(cmd.root_specs);
			return CW_EXIT_OK;
		}
		if (ch == '?' || ch == ':' || cmd_tld_option(&cmd, ch) != 0) {
			if (ch == '?' || ch == ':')
				cli_error("tld-servers",
				    "option \"%s\": "
				    "unknown or missing its value (try "
				    "--help)",
				    argv[optind - 1]);
			free(cmd.root_specs);
			return CW_EXIT_USAGE;
		}
	}
	rc = CW_EXIT_USAGE;
	if (optind == argc) {
		cli_error("tld-servers", "no TLD given (try --help)");
		goto out;
	}
	for (int i = optind; i < argc; i++)
		if (tld_name_normalize(argv[i], name, err, sizeof(err)) == -1) {
			cli_error("tld-servers", "%s", err);
			goto out;
		}
	if (cmd.cached_only && cmd.state_dir == NULL) {
		cli_error("tld-servers",
		    "--cached needs the cache (not "
		    "--no-cache)");
		goto out;
	}
	if (cmd_tld_roots(&cmd, &roots, &nroots) != 0)
		goto out;
	resolver = cmd_tld_resolver(&cmd, &resolver_buf, &bad);
	if (bad)
		goto out;
	rc = cmd_tld_run(&cmd, argv + optind, argc - optind, roots, nroots,
	    resolver);
out:
	free(roots);
	free(cmd.root_specs);
	return rc;
}
