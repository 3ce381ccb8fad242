/* test_spec.c -- the rules of a measurement spec are decided once, in
 * probes/ (http_spec_check, dns_spec_check, asked through the kind's
 * spec_check), and those of a list of servers or addresses once
 * (catalog_server_add, target_listed): the configuration and the
 * ad-hoc commands refuse the same spec with the same words, each
 * written its own way ("FILE:LINE: ... max_body: WHY" and "corewatch
 * http: --max-body: WHY", exit status 2), or, where the words have
 * always been each one's own, with those; and they accept the same. */
#include "config.h"

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cmd.h"
#include "conf.h"
#include "dns.h"
#include "http.h"

/* One spec refused both ways: a section body and its command line. */
struct spec_case {
	const char *kind;    /* "http" or "dns" */
	const char *body;    /* the section's options */
	int line;            /* of the option refused */
	const char *opt;     /* its name in the configuration */
	const char *argv[8]; /* the command, NULL-terminated */
	const char *cli_opt; /* the option's name on the command line */
	/* Where the fix is another option, each caller's own words: */
	const char *conf_says, *cli_says;
};

static const struct spec_case cases[] = {
	{ "http", " url = \"http://127.0.0.1/\"\n max_body = 0\n", 4,
	    "max_body", { "http", "--max-body", "0", "http://127.0.0.1/" },
	    "--max-body", NULL, NULL },
	{ "http", " url = \"http://127.0.0.1/\"\n max_body = 2G\n", 4,
	    "max_body", { "http", "--max-body", "2G", "http://127.0.0.1/" },
	    "--max-body", NULL, NULL },
	{ "http", " url = \"http://127.0.0.1/\"\n max_body = 1073741825\n", 4,
	    "max_body",
	    { "http", "--max-body", "1073741825", "http://127.0.0.1/" },
	    "--max-body", NULL, NULL },
	{ "http",
	    " url = \"http://127.0.0.1/\"\n method = \"HEAD\"\n"
	    " body_pattern = \"ok\"\n",
	    5, "body_pattern",
	    { "http", "--method", "HEAD", "--pattern", "ok",
	        "http://127.0.0.1/" },
	    "--pattern", NULL, NULL },
	{ "http", " url = \"http://127.0.0.1/\"\n body_pattern = \"\"\n", 4,
	    "body_pattern", { "http", "--pattern", "", "http://127.0.0.1/" },
	    "--pattern", NULL, NULL },
	{ "http",
	    " url = \"http://127.0.0.1/\"\n proxy = \"ftp://127.0.0.1:21\"\n",
	    4, "proxy",
	    { "http", "--proxy", "ftp://127.0.0.1:21", "http://127.0.0.1/" },
	    "--proxy", NULL, NULL },
	{ "http", " url = \"http://127.0.0.1/\"\n proxy = \"socks5h://\"\n", 4,
	    "proxy", { "http", "--proxy", "socks5h://", "http://127.0.0.1/" },
	    "--proxy", NULL, NULL },
	/* A directory is no CA file, though it may be read. */
	{ "http", " url = \"https://127.0.0.1/\"\n cafile = \"/\"\n", 4,
	    "cafile", { "http", "--cacert", "/", "https://127.0.0.1/" },
	    "--cacert", NULL, NULL },
	{ "http",
	    " url = \"https://127.0.0.1/\"\n"
	    " cafile = \"/nonexistent/ca.pem\"\n",
	    4, "cafile",
	    { "http", "--cacert", "/nonexistent/ca.pem", "https://127.0.0.1/" },
	    "--cacert", NULL, NULL },
	{ "dns", " servers = {\"127.0.0.1\"}\n edns_size = 511\n", 4,
	    "edns_size", { "dns", "--edns-size", "511", "127.0.0.1" },
	    "--edns-size", NULL, NULL },
	{ "dns", " servers = {\"127.0.0.1\"}\n edns_size = 1\n", 4, "edns_size",
	    { "dns", "--edns-size", "1", "127.0.0.1" }, "--edns-size", NULL,
	    NULL },
	{ "dns", " servers = {\"127.0.0.1\"}\n edns_size = 0\n do = true\n", 5,
	    "do", { "dns", "--edns-size", "0", "--do", "127.0.0.1" }, "--do",
	    "do needs EDNS: set edns_size",
	    "--nsid and --do need EDNS: do "
	    "not give --edns-size 0 with them" },
	{ "dns", " servers = {\"127.0.0.1\"}\n edns_size = 0\n nsid = true\n",
	    5, "nsid", { "dns", "--nsid", "--edns-size", "0", "127.0.0.1" },
	    "--nsid", "nsid needs EDNS: set edns_size",
	    "--nsid and --do need "
	    "EDNS: do not give --edns-size 0 with them" },
	/* The durations: the spec's ranges, in each caller's words. */
	{ "dns", " servers = {\"127.0.0.1\"}\n timeout = 0\n", 4, "timeout",
	    { "dns", "--timeout", "0", "127.0.0.1" }, "--timeout",
	    "timeout must be above 0",
	    "--timeout: \"0\" is not a duration "
	    "from 0.001 s to 3600 s (e.g. 4, 1.5s, 800ms)" },
	{ "dns", " servers = {\"127.0.0.1\"}\n interval = 1d\n timeout = 2h\n",
	    5, "timeout", { "dns", "--timeout", "2h", "127.0.0.1" },
	    "--timeout", "timeout must be from 1ms to 1h",
	    "--timeout: \"2h\" "
	    "is not a duration from 0.001 s to 3600 s (e.g. 4, 1.5s, 800ms)" },
	{ "dns", " servers = {\"127.0.0.1\"}\n timeout = 500us\n", 4, "timeout",
	    { "dns", "--timeout", "500us", "127.0.0.1" }, "--timeout",
	    "timeout must be from 1ms to 1h",
	    "--timeout: "
	    "\"500us\" is not a duration from 0.001 s to 3600 s (e.g. 4, "
	    "1.5s, 800ms)" },
	{ "dns",
	    " servers = {\"127.0.0.1\"}\n interval = 1d\n"
	    " late_window = 61s\n",
	    5, "late_window", { "dns", "--late-window", "61s", "127.0.0.1" },
	    "--late-window", "late_window must be from 0 to 1m",
	    "--late-window: \"61s\" is "
	    "not a duration from 0 s to 60 s (e.g. 4, 1.5s, 800ms)" },
	{ "http", " url = \"http://127.0.0.1/\"\n timeout = 0\n", 4, "timeout",
	    { "http", "--timeout", "0", "http://127.0.0.1/" }, "--timeout",
	    "timeout must be above 0",
	    "--timeout: \"0\" is not a duration "
	    "from 0.001 s to 3600 s (e.g. 4, 1.5s, 800ms)" },
	{ "http",
	    " url = \"http://127.0.0.1/\"\n interval = 1d\n"
	    " timeout = 90m\n",
	    5, "timeout", { "http", "--timeout", "90m", "http://127.0.0.1/" },
	    "--timeout",
	    "timeout must be from 1ms to "
	    "1h",
	    "--timeout: \"90m\" is not a duration from 0.001 s to "
	    "3600 s (e.g. 4, 1.5s, 800ms)" },
	/* Each server address once, "@root" included. */
	{ "dns", " servers = {\"127.0.0.1\", \"x=127.0.0.1\"}\n", 3, "servers",
	    { "dns", "127.0.0.1", "x=127.0.0.1" }, NULL,
	    "servers: 127.0.0.1 is listed twice",
	    "bad server: 127.0.0.1 is "
	    "listed twice" },
	{ "dns", " servers = {\"@root\", \"198.41.0.4\"}\n", 3, "servers",
	    { "dns", "@root", "198.41.0.4" }, NULL,
	    "servers: 198.41.0.4 is "
	    "listed twice",
	    "bad server: 198.41.0.4 is listed twice" },
	{ "dns", " servers = {\"@roots\"}\n", 3, "servers", { "dns", "@roots" },
	    NULL, "servers: unknown server set \"@roots\" (known: @root)",
	    "bad server: unknown server set \"@roots\" (known: @root)" },
	/* The pinned addresses: each once, of the families measured, not
	 * with an address as the URL's host. */
	{ "http",
	    " url = \"http://a.example/\"\n addresses = {\"::1\", "
	    "\"[::1]\"}\n",
	    4, "addresses",
	    { "http", "--addr", "::1", "--addr", "[::1]", "http://a.example/" },
	    "--addr", NULL, NULL },
	{ "http",
	    " url = \"http://a.example/\"\n af = \"4\"\n"
	    " addresses = {\"127.0.0.1\", \"::1\"}\n",
	    5, "addresses",
	    { "http", "-4", "--addr", "127.0.0.1", "--addr", "::1",
	        "http://a.example/" },
	    "--addr", "addresses: ::1 is an IPv6 address, and af is \"4\"",
	    "--addr: ::1 is an IPv6 address, and -4 is given" },
	{ "http",
	    " url = \"http://127.0.0.1/\"\n addresses = {\"127.0.0.2\"}"
	    "\n",
	    4, "addresses",
	    { "http", "--addr", "127.0.0.2", "http://127.0.0.1/" }, "--addr",
	    "addresses: the URL's host is an "
	    "address already: leave addresses out",
	    "--addr: the URL's host "
	    "is an address already: leave --addr out" },
};

/* One spec accepted both ways: the configuration loads, and the command
 * measures (a closed port on loopback: exit 1, not 2). */
struct spec_accepted {
	const char *kind;
	const char *body;
	const char *argv[12];
};

static const struct spec_accepted accepted[] = {
	{ "dns",
	    " servers = {\"127.0.0.1\"}\n interval = 1d\n timeout = 1h\n"
	    " late_window = 1m\n transport = \"tcp\"\n port = 1\n",
	    { "dns", "--tcp", "--port", "1", "--timeout", "1h", "--late-window",
	        "1m", "127.0.0.1" } },
	{ "dns",
	    " servers = {\"127.0.0.1\"}\n timeout = 1ms\n"
	    " late_window = 0\n transport = \"tcp\"\n port = 1\n",
	    { "dns", "--tcp", "--port", "1", "--timeout", "1ms",
	        "--late-window", "0", "127.0.0.1" } },
	{ "http",
	    " url = \"http://a.example:1/\"\n interval = 1d\n"
	    " timeout = 1h\n af = \"4\"\n addresses = {\"127.0.0.1\"}\n",
	    { "http", "--timeout", "1h", "-4", "--addr", "127.0.0.1",
	        "http://a.example:1/" } },
	{ "http", " url = \"http://127.0.0.1:1/\"\n timeout = 1ms\n",
	    { "http", "--timeout", "1ms", "http://127.0.0.1:1/" } },
};

/* conf_of: load a configuration of a probe section and `text`, written
 * to a file at path (pathlen bytes), which is gone again on return: the
 * config, or NULL and the loader's report in *err (freed by the
 * caller). */
static struct config *
conf_of(const char *text, char *path, size_t pathlen, char **err)
{
	struct config *conf;
	int fd;
	FILE *fp;

	*err = NULL;
	snprintf(path, pathlen, "/tmp/cw-test-spec.XXXXXX");
	assert_true((fd = mkstemp(path)) != -1);
	assert_non_null(fp = fdopen(fd, "w"));
	fprintf(fp, "probe { name = \"p\" }\n%s", text);
	assert_int_equal(fclose(fp), 0);
	conf = config_load(path, err);
	unlink(path);
	return conf;
}

/* conf_error: load a configuration of the case's section; its one
 * problem (the loader's whole report) into buf. */
static void
conf_error(const struct spec_case *c, char *path, size_t pathlen, char *buf,
    size_t len)
{
	struct config *conf;
	char text[512], *err;

	snprintf(text, sizeof(text), "%s \"m\" {\n%s}\n", c->kind, c->body);
	if ((conf = conf_of(text, path, pathlen, &err)) != NULL)
		fail_msg("the configuration accepted: %s", c->body);
	assert_non_null(err);
	snprintf(buf, len, "%s", err);
	free(err);
}

/* cli_run: run command `args` of `kind`; its exit status, and what it
 * wrote on stderr into buf (its results on stdout are dropped). */
static int
cli_run(const char *kind, const char *const *args, char *buf, size_t len)
{
	char path[] = "/tmp/cw-test-spec.XXXXXX", *argv[12];
	int argc = 0, fd, null, saved, saved_out, rc;
	ssize_t n;

	while (args[argc] != NULL) {
		argv[argc] = (char *)args[argc];
		argc++;
	}
	argv[argc] = NULL;
	assert_true((fd = mkstemp(path)) != -1);
	unlink(path);
	assert_true((null = open("/dev/null", O_WRONLY)) != -1);
	fflush(stdout);
	fflush(stderr);
	assert_true((saved = dup(STDERR_FILENO)) != -1);
	assert_true((saved_out = dup(STDOUT_FILENO)) != -1);
	assert_true(dup2(fd, STDERR_FILENO) != -1);
	assert_true(dup2(null, STDOUT_FILENO) != -1);
	rc = strcmp(kind, "http") == 0 ? cmd_http(argc, argv) :
	                                 cmd_dns(argc, argv);
	fflush(stdout);
	fflush(stderr);
	assert_true(dup2(saved, STDERR_FILENO) != -1);
	assert_true(dup2(saved_out, STDOUT_FILENO) != -1);
	close(saved);
	close(saved_out);
	close(null);
	n = pread(fd, buf, len - 1, 0);
	close(fd);
	assert_true(n >= 0);
	buf[n] = '\0';
	return rc;
}

/* cli_error_of: run the case's command: cli_run(). */
static int
cli_error_of(const struct spec_case *c, char *buf, size_t len)
{
	return cli_run(c->kind, c->argv, buf, len);
}

/* Each case: the configuration says "PATH:LINE: kind "m": opt: WHY",
 * the command "corewatch kind: --opt: WHY" and exits 2, with one WHY
 * (or, where the fix is another option, the words each has always
 * had, at the same line and exit status). */
static void
test_refused_alike(void **state)
{
	char path[64], conf[1024], cli[1024], want[1024];
	const char *why;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct spec_case *c = &cases[i];

		conf_error(c, path, sizeof(path), conf, sizeof(conf));
		if (cli_error_of(c, cli, sizeof(cli)) != CW_EXIT_USAGE)
			fail_msg("case %zu: the command did not exit %d: %s", i,
			    CW_EXIT_USAGE, cli);
		if (c->cli_says != NULL) {
			snprintf(want, sizeof(want), "corewatch %s: %s\n",
			    c->kind, c->cli_says);
			assert_string_equal(cli, want);
			snprintf(want, sizeof(want), "%s:%d: %s \"m\": %s",
			    path, c->line, c->kind, c->conf_says);
			goto conf;
		}
		snprintf(want, sizeof(want), "corewatch %s: %s: ", c->kind,
		    c->cli_opt);
		if (strncmp(cli, want, strlen(want)) != 0 ||
		    strchr(cli, '\n') != cli + strlen(cli) - 1)
			fail_msg("case %zu: want one line \"%s...\"; got: %s",
			    i, want, cli);
		why = cli + strlen(want);
		snprintf(want, sizeof(want), "%s:%d: %s \"m\": %s: %.*s", path,
		    c->line, c->kind, c->opt, (int)strlen(why) - 1, why);
conf:
		if (strncmp(conf, want, strlen(want)) != 0 ||
		    (conf[strlen(want)] != '\0' && conf[strlen(want)] != '\n'))
			fail_msg(
			    "case %zu: the configuration says\n%s\nnot\n%s", i,
			    conf, want);
	}
}

/* Each accepted case: the configuration loads it, and the command runs
 * the measurement (which fails: nothing listens on port 1). */
static void
test_accepted_alike(void **state)
{
	char path[64], text[512], cli[1024], *err;
	struct config *conf;
	int rc;

	(void)state;
	for (size_t i = 0; i < sizeof(accepted) / sizeof(accepted[0]); i++) {
		const struct spec_accepted *c = &accepted[i];

		snprintf(text, sizeof(text), "%s \"m\" {\n%s}\n", c->kind,
		    c->body);
		if ((conf = conf_of(text, path, sizeof(path), &err)) == NULL)
			fail_msg("case %zu: the configuration refused: %s", i,
			    err);
		config_free(conf);
		rc = cli_run(c->kind, c->argv, cli, sizeof(cli));
		if (rc != CW_EXIT_FAILURES)
			fail_msg("case %zu: the command exited %d, not %d: %s",
			    i, rc, CW_EXIT_FAILURES, cli);
	}
}

/* The uploads' proxy and a measurement's are one rule: refused with the
 * same words, accepted alike. */
static void
test_proxy_alike(void **state)
{
	static const char *const proxies[] = { "tor", "socks5h://",
		"ftp://127.0.0.1:21", "SOCKS4A://127.0.0.1:1080",
		"http://127.0.0.1:3128" };
	/* The uploads' proxy, and a measurement's: the text around it. */
	static const char *const sections[2][2] = {
		{ "spool { dir = \"/tmp\" }\nupload {\n url = {\"https://a\"}\n"
		  " proxy = \"",
		    "\"\n}\ndns \"m\" { servers = {\"::1\"} }\n" },
		{ "http \"m\" {\n url = \"http://a.example/\"\n proxy = \"",
		    "\"\n}\n" },
	};
	char path[64], text[256], *words[2], *err;
	struct config *conf;

	(void)state;
	for (size_t i = 0; i < sizeof(proxies) / sizeof(proxies[0]); i++) {
		for (int which = 0; which < 2; which++) {
			snprintf(text, sizeof(text), "%s%s%s",
			    sections[which][0], proxies[i], sections[which][1]);
			conf = conf_of(text, path, sizeof(path), &err);
			config_free(conf);
			/* "PATH:LINE: SECTION: proxy: WHY": from "proxy: ". */
			words[which] = err != NULL &&
			        strstr(err, "proxy: ") != NULL ?
			    strdup(strstr(err, "proxy: ")) :
			    NULL;
			if (conf == NULL && words[which] == NULL)
				fail_msg("%s: refused for another reason: %s",
				    proxies[i], err);
			free(err);
		}
		if ((words[0] == NULL) != (words[1] == NULL) ||
		    (words[0] != NULL && strcmp(words[0], words[1]) != 0))
			fail_msg("%s: the upload says \"%s\", the measurement "
			         "\"%s\"",
			    proxies[i], words[0] != NULL ? words[0] : "(ok)",
			    words[1] != NULL ? words[1] : "(ok)");
		free(words[0]);
		free(words[1]);
	}
}

/* The bounds themselves, straight from the checks. */
static void
test_bounds(void **state)
{
	struct http_spec h;
	struct dns_spec d;
	char err[128];

	(void)state;
	http_spec_init(&h);
	for (int r = 0; r < HTTP_SPEC_RULES; r++)
		assert_int_equal(http_spec_check(&h, r, err, sizeof(err)), 0);
	h.max_body = 1;
	assert_int_equal(http_spec_check(&h, HTTP_SPEC_MAX_BODY, err,
	                     sizeof(err)),
	    0);
	h.max_body = UINT64_C(1) << 30;
	assert_int_equal(http_spec_check(&h, HTTP_SPEC_MAX_BODY, err,
	                     sizeof(err)),
	    0);
	h.max_body++;
	assert_int_equal(http_spec_check(&h, HTTP_SPEC_MAX_BODY, err,
	                     sizeof(err)),
	    -1);
	assert_string_equal(err, "from 1 byte to 1G");
	h.method = HTTP_HEAD;
	assert_int_equal(http_spec_check(&h, HTTP_SPEC_BODY_PATTERN, err,
	                     sizeof(err)),
	    0);
	h.proxy = "SOCKS5H://proxy.example:1080";
	assert_int_equal(http_spec_check(&h, HTTP_SPEC_PROXY, err, sizeof(err)),
	    0);
	h.proxy = "http://";
	assert_int_equal(http_spec_check(&h, HTTP_SPEC_PROXY, err, sizeof(err)),
	    -1);
	assert_string_equal(err,
	    "\"http://\" is not an http://, https://, "
	    "socks4://, socks4a://, socks5:// or socks5h:// URL");
	h.cafile = "/";
	assert_int_equal(http_spec_check(&h, HTTP_SPEC_CAFILE, err,
	                     sizeof(err)),
	    -1);
	assert_string_equal(err, "/: Is a directory");
	h.timeout = PROBE_TIMEOUT_MIN;
	assert_int_equal(http_spec_check(&h, HTTP_SPEC_TIMEOUT, err,
	                     sizeof(err)),
	    0);
	h.timeout = PROBE_TIMEOUT_MAX;
	assert_int_equal(http_spec_check(&h, HTTP_SPEC_TIMEOUT, err,
	                     sizeof(err)),
	    0);
	h.timeout++;
	assert_int_equal(http_spec_check(&h, HTTP_SPEC_TIMEOUT, err,
	                     sizeof(err)),
	    -1);
	assert_string_equal(err, "must be from 1ms to 1h");
	h.timeout = PROBE_TIMEOUT_MIN - 1;
	assert_int_equal(http_spec_check(&h, HTTP_SPEC_TIMEOUT, err,
	                     sizeof(err)),
	    -1);

	dns_spec_init(&d);
	for (int r = 0; r < DNS_SPEC_RULES; r++)
		assert_int_equal(dns_spec_check(&d, r, err, sizeof(err)), 0);
	d.edns_size = 512;
	assert_int_equal(dns_spec_check(&d, DNS_SPEC_EDNS_SIZE, err,
	                     sizeof(err)),
	    0);
	d.edns_size = 511;
	assert_int_equal(dns_spec_check(&d, DNS_SPEC_EDNS_SIZE, err,
	                     sizeof(err)),
	    -1);
	assert_string_equal(err, "511 is below 512 (0 turns EDNS off)");
	d.timeout = PROBE_TIMEOUT_MIN;
	d.late_window = DNS_LATE_WINDOW_MAX;
	assert_int_equal(dns_spec_check(&d, DNS_SPEC_TIMEOUT, err, sizeof(err)),
	    0);
	assert_int_equal(dns_spec_check(&d, DNS_SPEC_LATE_WINDOW, err,
	                     sizeof(err)),
	    0);
	d.timeout = PROBE_TIMEOUT_MAX + 1;
	d.late_window++;
	assert_int_equal(dns_spec_check(&d, DNS_SPEC_TIMEOUT, err, sizeof(err)),
	    -1);
	assert_int_equal(dns_spec_check(&d, DNS_SPEC_LATE_WINDOW, err,
	                     sizeof(err)),
	    -1);
	assert_string_equal(err, "must be from 0 to 1m");
	d.timeout = 0;
	assert_int_equal(dns_spec_check(&d, DNS_SPEC_TIMEOUT, err, sizeof(err)),
	    -1);
	assert_string_equal(err, "must be above 0");
	dns_spec_init(&d);
	d.edns_size = 0;
	d.nsid = false;
	for (int r = 0; r < DNS_SPEC_RULES; r++)
		assert_int_equal(dns_spec_check(&d, r, err, sizeof(err)), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refused_alike),
		cmocka_unit_test(test_accepted_alike),
		cmocka_unit_test(test_proxy_alike),
		cmocka_unit_test(test_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
