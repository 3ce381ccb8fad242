/* test_spec.c -- the rules of a measurement spec are decided once, in
 * probes/ (http_spec_check, dns_spec_check): the configuration and the
 * ad-hoc commands refuse the same spec with the same words, each
 * written its own way ("FILE:LINE: ... max_body: WHY" and "corewatch
 * http: --max-body: WHY", exit status 2). */
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
	const char *kind;	/* "http" or "dns" */
	const char *body;	/* the section's options */
	int line;		/* of the option refused */
	const char *opt;	/* its name in the configuration */
	const char *argv[8];	/* the command, NULL-terminated */
	const char *cli_opt;	/* the option's name on the command line */
	/* Where the fix is another option, each caller's own words: */
	const char *conf_says, *cli_says;
};

static const struct spec_case cases[] = {
	{"http", " url = \"http://127.0.0.1/\"\n max_body = 0\n", 4,
	    "max_body", {"http", "--max-body", "0", "http://127.0.0.1/"},
	    "--max-body", NULL, NULL},
	{"http", " url = \"http://127.0.0.1/\"\n max_body = 2G\n", 4,
	    "max_body", {"http", "--max-body", "2G", "http://127.0.0.1/"},
	    "--max-body", NULL, NULL},
	{"http", " url = \"http://127.0.0.1/\"\n max_body = 1073741825\n", 4,
	    "max_body", {"http", "--max-body", "1073741825",
	    "http://127.0.0.1/"}, "--max-body", NULL, NULL},
	{"http", " url = \"http://127.0.0.1/\"\n method = \"HEAD\"\n"
	    " body_pattern = \"ok\"\n", 5, "body_pattern", {"http", "--method",
	    "HEAD", "--pattern", "ok", "http://127.0.0.1/"}, "--pattern",
	    NULL, NULL},
	{"http", " url = \"http://127.0.0.1/\"\n body_pattern = \"\"\n", 4,
	    "body_pattern", {"http", "--pattern", "", "http://127.0.0.1/"},
	    "--pattern", NULL, NULL},
	{"http", " url = \"http://127.0.0.1/\"\n proxy = \"ftp://127.0.0.1:21\"\n",
	    4, "proxy", {"http", "--proxy", "ftp://127.0.0.1:21",
	    "http://127.0.0.1/"}, "--proxy", NULL, NULL},
	{"http", " url = \"http://127.0.0.1/\"\n proxy = \"socks5h://\"\n", 4,
	    "proxy", {"http", "--proxy", "socks5h://", "http://127.0.0.1/"},
	    "--proxy", NULL, NULL},
	/* A directory is no CA file, though it may be read. */
	{"http", " url = \"https://127.0.0.1/\"\n cafile = \"/\"\n", 4,
	    "cafile", {"http", "--cacert", "/", "https://127.0.0.1/"},
	    "--cacert", NULL, NULL},
	{"http", " url = \"https://127.0.0.1/\"\n"
	    " cafile = \"/nonexistent/ca.pem\"\n", 4, "cafile", {"http",
	    "--cacert", "/nonexistent/ca.pem", "https://127.0.0.1/"},
	    "--cacert", NULL, NULL},
	{"dns", " servers = {\"127.0.0.1\"}\n edns_size = 511\n", 4,
	    "edns_size", {"dns", "--edns-size", "511", "127.0.0.1"},
	    "--edns-size", NULL, NULL},
	{"dns", " servers = {\"127.0.0.1\"}\n edns_size = 1\n", 4,
	    "edns_size", {"dns", "--edns-size", "1", "127.0.0.1"},
	    "--edns-size", NULL, NULL},
	{"dns", " servers = {\"127.0.0.1\"}\n edns_size = 0\n do = true\n", 5,
	    "do", {"dns", "--edns-size", "0", "--do", "127.0.0.1"}, "--do",
	    "do needs EDNS: set edns_size", "--nsid and --do need EDNS: do "
	    "not give --edns-size 0 with them"},
	{"dns", " servers = {\"127.0.0.1\"}\n edns_size = 0\n nsid = true\n",
	    5, "nsid", {"dns", "--nsid", "--edns-size", "0", "127.0.0.1"},
	    "--nsid", "nsid needs EDNS: set edns_size", "--nsid and --do need "
	    "EDNS: do not give --edns-size 0 with them"},
};

/* conf_error: load a configuration of the case's section; its one
 * problem (the loader's whole report) into buf. */
static void
conf_error(const struct spec_case *c, char *path, size_t pathlen,
    char *buf, size_t len)
{
	struct config *conf;
	char *err = NULL;
	int fd;
	FILE *fp;

	snprintf(path, pathlen, "/tmp/cw-test-spec.XXXXXX");
	assert_true((fd = mkstemp(path)) != -1);
	assert_non_null(fp = fdopen(fd, "w"));
	fprintf(fp, "probe { name = \"p\" }\n%s \"m\" {\n%s}\n", c->kind,
	    c->body);
	assert_int_equal(fclose(fp), 0);
	conf = config_load(path, &err);
	unlink(path);
	if (conf != NULL)
		fail_msg("the configuration accepted: %s", c->body);
	assert_non_null(err);
	snprintf(buf, len, "%s", err);
	free(err);
}

/* cli_error_of: run the case's command; its exit status, and what it
 * wrote on stderr into buf. */
static int
cli_error_of(const struct spec_case *c, char *buf, size_t len)
{
	char path[] = "/tmp/cw-test-spec.XXXXXX", *argv[8];
	int argc = 0, fd, saved, rc;
	ssize_t n;

	while (c->argv[argc] != NULL) {
		argv[argc] = (char *)c->argv[argc];
		argc++;
	}
	argv[argc] = NULL;
	assert_true((fd = mkstemp(path)) != -1);
	unlink(path);
	fflush(stderr);
	assert_true((saved = dup(STDERR_FILENO)) != -1);
	assert_true(dup2(fd, STDERR_FILENO) != -1);
	rc = strcmp(c->kind, "http") == 0 ? cmd_http(argc, argv) :
	    cmd_dns(argc, argv);
	fflush(stderr);
	assert_true(dup2(saved, STDERR_FILENO) != -1);
	close(saved);
	n = pread(fd, buf, len - 1, 0);
	close(fd);
	assert_true(n >= 0);
	buf[n] = '\0';
	return rc;
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
			fail_msg("case %zu: the command did not exit %d: %s",
			    i, CW_EXIT_USAGE, cli);
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
			fail_msg("case %zu: the configuration says\n%s\nnot\n%s",
			    i, conf, want);
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
	    sizeof(err)), 0);
	h.max_body = UINT64_C(1) << 30;
	assert_int_equal(http_spec_check(&h, HTTP_SPEC_MAX_BODY, err,
	    sizeof(err)), 0);
	h.max_body++;
	assert_int_equal(http_spec_check(&h, HTTP_SPEC_MAX_BODY, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "from 1 byte to 1G");
	h.method = HTTP_HEAD;
	assert_int_equal(http_spec_check(&h, HTTP_SPEC_BODY_PATTERN, err,
	    sizeof(err)), 0);
	h.proxy = "SOCKS5H://proxy.example:1080";
	assert_int_equal(http_spec_check(&h, HTTP_SPEC_PROXY, err,
	    sizeof(err)), 0);
	h.proxy = "http://";
	assert_int_equal(http_spec_check(&h, HTTP_SPEC_PROXY, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "\"http://\" is not an http://, https://, "
	    "socks4://, socks4a://, socks5:// or socks5h:// URL");
	h.cafile = "/";
	assert_int_equal(http_spec_check(&h, HTTP_SPEC_CAFILE, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "/: Is a directory");

	dns_spec_init(&d);
	for (int r = 0; r < DNS_SPEC_RULES; r++)
		assert_int_equal(dns_spec_check(&d, r, err, sizeof(err)), 0);
	d.edns_size = 512;
	assert_int_equal(dns_spec_check(&d, DNS_SPEC_EDNS_SIZE, err,
	    sizeof(err)), 0);
	d.edns_size = 511;
	assert_int_equal(dns_spec_check(&d, DNS_SPEC_EDNS_SIZE, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "511 is below 512 (0 turns EDNS off)");
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
		cmocka_unit_test(test_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
