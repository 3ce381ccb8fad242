/* test_config.c -- loading corewatch.conf: the example file, every class
 * of mistake (each must name its file and line), includes, durations. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf.h"
#include "country.h"
#include "dns.h"
#include "http.h"
#include "upload.h"

#define SEC  CW_USEC_PER_SEC
#define MSEC CW_USEC_PER_MSEC

/* The source tree: $top_srcdir from `make check`, else this file's. */
static const char *
srcdir(void)
{
	const char *d = getenv("top_srcdir");

	return d != NULL ? d : ".";
}

/* A scratch directory for the files a test writes. */
struct scratch {
	char dir[64];
	char path[8][128];
	int n;
};

static int
scratch_setup(void **state)
{
	struct scratch *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return -1;
	snprintf(s->dir, sizeof(s->dir), "/tmp/cw-test-config.XXXXXX");
	if (mkdtemp(s->dir) == NULL) {
		free(s);
		return -1;
	}
	*state = s;
	return 0;
}

static int
scratch_teardown(void **state)
{
	struct scratch *s = *state;
	char *slash;

	for (int i = 0; i < s->n; i++) {
		unlink(s->path[i]);
		/* A file in a subdirectory ("sub/x"): the subdirectory too,
		 * once its last file is gone. */
		slash = strrchr(s->path[i], '/');
		if ((size_t)(slash - s->path[i]) > strlen(s->dir)) {
			*slash = '\0';
			rmdir(s->path[i]);
		}
	}
	rmdir(s->dir);
	free(s);
	return 0;
}

/* scratch_file: write `text` to DIR/name; returns the path. */
static const char *
scratch_file(struct scratch *s, const char *name, const char *text)
{
	char *path = NULL, full[128];
	FILE *fp;

	for (int i = 0; i < s->n; i++)
		if (strcmp(strrchr(s->path[i], '/') + 1, name) == 0)
			path = s->path[i];
	if (path == NULL) {
		assert_true(s->n < 8);
		path = s->path[s->n++];
		snprintf(full, sizeof(full), "%s/%s", s->dir, name);
		memcpy(path, full, sizeof(full));
	}
	assert_non_null(fp = fopen(path, "w"));
	fputs(text, fp);
	fclose(fp);
	return path;
}

static const struct measurement *
find(const struct config *c, const char *name)
{
	for (size_t i = 0; i < c->nmeasurements; i++)
		if (strcmp(c->measurements[i].name, name) == 0)
			return &c->measurements[i];
	fail_msg("no measurement %s", name);
	return NULL;
}

/* dns_of, http_of: the kind's own spec of measurement m, which must be
 * of that kind. */
static const struct dns_measurement *
dns_of(const struct measurement *m)
{
	assert_ptr_equal(m->kind, &dns_probe_kind);
	return m->spec;
}

static const struct http_measurement *
http_of(const struct measurement *m)
{
	assert_ptr_equal(m->kind, &http_probe_kind);
	return m->spec;
}

static void
test_example(void **state)
{
	const struct measurement *m;
	struct config *c;
	char path[512], *err = NULL;

	(void)state;
	snprintf(path, sizeof(path), "%s/contrib/corewatch-example.conf",
	    srcdir());
	c = config_load(path, &err);
	if (c == NULL)
		fail_msg("%s", err);
	assert_null(err);
	assert_string_equal(c->path, path);
	assert_string_equal(c->probe.name, "kyiv-1");
	assert_string_equal(c->probe.country, "UA");
	assert_int_equal(c->probe.asn, 15895);
	assert_string_equal(c->probe.location, "Kyiv, left bank");
	assert_int_equal(c->log_level, LOG_LEVEL_DEBUG);
	assert_string_equal(c->state_dir, "/var/lib/corewatch");
	assert_string_equal(c->output_path, "/var/lib/corewatch/results.jsonl");
	assert_int_equal(c->tld.nroots, 26);
	assert_string_equal(c->tld.roots[0].name, "a.root-servers.net");
	assert_false(c->tld.resolver_auto);
	assert_false(c->tld.have_resolver);
	assert_int_equal(c->tld.refresh, 12 * 3600 * SEC);
	assert_int_equal(c->tld.port, 53);
	assert_int_equal(c->nmeasurements, 6);
	assert_null(c->resolv_conf);
	assert_string_equal(c->key_path, "/var/lib/corewatch/probe.key");
	assert_int_equal(c->heartbeat, 600 * SEC);
	assert_true(c->spool.enabled);
	assert_string_equal(c->spool.dir, "/var/lib/corewatch/queue");
	assert_int_equal(c->spool.max_bytes, 256 << 20);
	assert_int_equal(c->spool.min_free_bytes, 32 << 20);
	assert_int_equal(c->spool.sync_interval, 2 * SEC);
	assert_int_equal(c->upload.nurls, 2);
	assert_string_equal(c->upload.urls[0], "https://collector.example.org");
	assert_string_equal(c->upload.urls[1], "https://backup.example.net/");
	assert_string_equal(c->upload.proxy, "socks5h://127.0.0.1:9050");
	assert_int_equal(c->upload.batch_records, 500);
	assert_int_equal(c->upload.batch_bytes, 512 << 10);
	assert_int_equal(c->upload.batch_age, 30 * SEC);
	assert_int_equal(c->upload.backoff_max, 1800 * SEC);
	assert_int_equal(c->upload.failback, 3600 * SEC);
	assert_int_equal(c->upload.stop_timeout, 10 * SEC);
	assert_string_equal(c->upload.dead_letter,
	    "/var/lib/corewatch/refused/refused.jsonl");
	assert_int_equal(c->upload.receipts_max, 8 << 20);

	m = find(c, "root-soa");
	assert_ptr_equal(m->kind, &dns_probe_kind);
	assert_ptr_equal(dns_of(m)->spec.name, m->name);
	assert_int_equal(m->ntargets, 26);
	assert_int_equal(m->ntlds, 0);
	assert_string_equal(m->targets[0].name, "a.root-servers.net");
	assert_string_equal(dns_of(m)->spec.qname, ".");
	assert_int_equal(dns_of(m)->spec.qtype, LDNS_RR_TYPE_SOA);
	assert_int_equal(dns_of(m)->spec.qclass, LDNS_RR_CLASS_IN);
	assert_int_equal(dns_of(m)->spec.transports,
	    DNS_PROTO_UDP | DNS_PROTO_TCP);
	assert_int_equal(dns_of(m)->spec.afs, DNS_AF_4 | DNS_AF_6);
	assert_int_equal(dns_of(m)->spec.port, 53);
	assert_int_equal(dns_of(m)->spec.edns_size, 1232);
	assert_false(dns_of(m)->spec.do_bit);
	assert_true(dns_of(m)->spec.nsid);
	assert_false(dns_of(m)->spec.rd);
	assert_true(dns_of(m)->spec.tcp_on_truncation);
	assert_int_equal(m->interval, 300 * SEC);
	assert_int_equal(m->spread, 30 * SEC);
	assert_int_equal(dns_of(m)->spec.timeout, 4 * SEC);
	assert_int_equal(dns_of(m)->spec.retries, 0);
	assert_int_equal(dns_of(m)->spec.late_window, 200 * MSEC);
	assert_int_equal(config_measurement_queries(m), 52);
	/* The root servers asked about ".": their own zone's apex. */
	assert_true(dns_of(m)->spec.authoritative);
	assert_non_null(strstr(m->file, "corewatch-example.conf"));
	assert_int_equal(m->line, 31);

	m = find(c, "root-hostname-bind");
	assert_string_equal(dns_of(m)->spec.qname, "hostname.bind.");
	assert_int_equal(dns_of(m)->spec.qtype, LDNS_RR_TYPE_TXT);
	assert_int_equal(dns_of(m)->spec.qclass, LDNS_RR_CLASS_CH);
	assert_int_equal(dns_of(m)->spec.transports, DNS_PROTO_UDP);
	assert_int_equal(dns_of(m)->spec.afs, DNS_AF_4);
	assert_int_equal(m->interval, 240 * SEC);
	assert_int_equal(m->spread, 20 * SEC);
	assert_int_equal(config_measurement_queries(m), 13);
	assert_false(dns_of(m)->spec.authoritative);

	m = find(c, "tld-soa");
	assert_int_equal(m->ntargets, 0);
	assert_int_equal(m->ntlds, 5);
	assert_string_equal(m->tlds[0], "ua");
	assert_string_equal(m->tlds[1], "sd");
	assert_string_equal(m->tlds[2], "ps");
	assert_string_equal(m->tlds[4], "mm");
	assert_true(dns_of(m)->qname_from_tld);
	assert_true(dns_of(m)->spec.authoritative);
	assert_int_equal(m->interval, 600 * SEC);
	assert_int_equal(m->spread, 120 * SEC);
	assert_int_equal(dns_of(m)->spec.timeout, 3 * SEC);
	assert_int_equal(dns_of(m)->spec.retries, 1);
	assert_int_equal(config_measurement_queries(m), 0);

	m = find(c, "lab");
	assert_int_equal(m->ntargets, 3);
	assert_string_equal(m->targets[0].name, "ns1.example");
	assert_string_equal(m->targets[0].addr, "192.0.2.53");
	assert_string_equal(m->targets[1].addr, "2001:db8::53");
	assert_string_equal(m->targets[2].addr, "2001:db8::54");
	assert_int_equal(target_port(&m->targets[2]), 5353);
	assert_string_equal(dns_of(m)->spec.qname, "example.org.");
	assert_int_equal(dns_of(m)->spec.qtype, LDNS_RR_TYPE_AAAA);
	assert_int_equal(dns_of(m)->spec.transports, DNS_PROTO_TCP);
	assert_int_equal(dns_of(m)->spec.port, 5353);
	assert_int_equal(dns_of(m)->spec.edns_size, 0);
	assert_false(dns_of(m)->spec.nsid);
	assert_false(dns_of(m)->spec.authoritative);
	assert_true(dns_of(m)->spec.rd);
	assert_int_equal(m->interval, 3600 * SEC);
	assert_int_equal(m->spread, 0);
	assert_int_equal(dns_of(m)->spec.timeout, 1500 * MSEC);
	assert_int_equal(dns_of(m)->spec.late_window, 0);

	m = find(c, "lab-web");
	assert_ptr_equal(m->kind, &http_probe_kind);
	assert_ptr_equal(http_of(m)->spec.name, m->name);
	assert_string_equal(http_of(m)->spec.url,
	    "https://www.example.org/status");
	assert_int_equal(http_of(m)->spec.method, HTTP_GET);
	assert_int_equal(http_of(m)->spec.afs, HTTP_AF_4 | HTTP_AF_6);
	assert_int_equal(m->ntargets, 2);
	assert_string_equal(m->targets[0].addr, "192.0.2.80");
	assert_string_equal(m->targets[1].addr, "2001:db8::80");
	assert_int_equal(http_of(m)->spec.nexpect, 3);
	assert_int_equal(http_of(m)->spec.expect[1].lo, 204);
	assert_int_equal(http_of(m)->spec.expect[1].hi, 206);
	assert_int_equal(http_of(m)->spec.expect[2].lo, 300);
	assert_int_equal(http_of(m)->spec.expect[2].hi, 399);
	assert_int_equal(http_of(m)->spec.max_body, 64 << 10);
	assert_string_equal(http_of(m)->spec.body_pattern, "status: (ok|up)");
	assert_int_equal(http_of(m)->spec.nheaders, 2);
	assert_string_equal(http_of(m)->spec.headers[1],
	    "User-Agent: corewatch-lab");
	assert_null(http_of(m)->spec.cafile);
	assert_null(http_of(m)->spec.proxy);
	assert_true(http_of(m)->spec.follow_redirects);
	assert_int_equal(http_of(m)->spec.max_redirects, 3);
	assert_int_equal(m->interval, 600 * SEC);
	assert_int_equal(m->spread, 120 * SEC);
	assert_int_equal(http_of(m)->spec.timeout, 15 * SEC);
	assert_int_equal(config_measurement_queries(m), 2);

	m = find(c, "iana-tor");
	assert_int_equal(http_of(m)->spec.method, HTTP_HEAD);
	assert_int_equal(http_of(m)->spec.afs, HTTP_AF_4);
	assert_string_equal(http_of(m)->spec.proxy, "socks5h://127.0.0.1:9050");
	assert_int_equal(http_of(m)->spec.timeout, 30 * SEC);
	assert_int_equal(config_measurement_queries(m), 1);
	config_free(c);
}

/* The installed default must always load. */
static void
test_default(void **state)
{
	struct config *c;
	char path[512], *err = NULL, line[512];

	(void)state;
	snprintf(path, sizeof(path), "%s/contrib/corewatch.conf", srcdir());
	c = config_load(path, &err);
	if (c == NULL)
		fail_msg("%s", err);
	assert_string_equal(c->output_path, "-");
	assert_int_equal(c->log_level, LOG_LEVEL_INFO);
	assert_int_equal(c->nmeasurements, 10);
	assert_null(c->resolv_conf);
	/* No spool section: no spool, the defaults under state_dir. */
	assert_false(c->spool.enabled);
	assert_int_equal(c->heartbeat, 300 * SEC);
	assert_non_null(strstr(c->key_path, "/key"));
	assert_non_null(strstr(c->spool.dir, "/spool"));
	assert_int_equal(config_measurement_queries(&c->measurements[0]), 52);
	assert_int_equal(c->measurements[2].ntlds, 5);
	assert_true(dns_of(&c->measurements[0])->spec.authoritative);
	assert_false(dns_of(&c->measurements[1])->spec.authoritative);
	assert_true(dns_of(&c->measurements[2])->spec.authoritative);
	config_measurement_summary(&c->measurements[0], line, sizeof(line));
	assert_non_null(strstr(line, "root-soa"));
	assert_non_null(strstr(line, "every 5m"));
	/* The web sites of IANA, the root server operators and the RIRs. */
	for (size_t i = 3; i < c->nmeasurements; i++) {
		const struct measurement *m = &c->measurements[i];

		assert_ptr_equal(m->kind, &http_probe_kind);
		assert_int_equal(strncmp(http_of(m)->spec.url, "https://", 8),
		    0);
		assert_int_equal(http_of(m)->spec.method, HTTP_GET);
		assert_int_equal(http_of(m)->spec.afs, HTTP_AF_4 | HTTP_AF_6);
		assert_int_equal(m->ntargets, 0);
		assert_int_equal(m->interval, 300 * SEC);
		assert_int_equal(m->spread, 60 * SEC);
		assert_int_equal(http_of(m)->spec.timeout, 10 * SEC);
		assert_int_equal(http_of(m)->spec.max_body, 256 << 10);
		assert_false(http_of(m)->spec.follow_redirects);
		assert_int_equal(config_measurement_queries(m), 2);
	}
	assert_string_equal(http_of(find(c, "iana"))->spec.url,
	    "https://www.iana.org/");
	config_measurement_summary(find(c, "iana"), line, sizeof(line));
	assert_string_equal(line,
	    "http iana: GET https://www.iana.org/, "
	    "IPv4+IPv6, resolved each cycle (at least 2 requests a cycle); "
	    "every 5m, spread 1m, timeout 10s");
	config_free(c);
}

/* Which measurements ask servers about their own zone's apex: the
 * defaults, and what a section says. */
static void
test_authoritative(void **state)
{
	struct scratch *s = *state;
	struct config *c;
	char *err = NULL;

	c = config_load(
	    scratch_file(s, "auth.conf",
	        "probe { name = \"p\" }\n"
	        "dns \"roots-mixed\" { servers = {\"@root\", "
	        "\"192.0.2.1\"} }\n"
	        "dns \"roots-ns\" { servers = {\"@root\"}\n"
	        " qname = \"ua\" }\n"
	        "dns \"tld-named\" { tlds = {\"ua\"}\n"
	        " qname = \"nic.ua\" }\n"
	        "dns \"roots-off\" { servers = {\"@root\"}\n"
	        " authoritative = false }\n"
	        "dns \"lab-on\" { servers = {\"192.0.2.53\"}\n"
	        " qname = \"example.org\"\n authoritative = true }\n"),
	    &err);
	if (c == NULL)
		fail_msg("%s", err);
	assert_false(dns_of(find(c, "roots-mixed"))->spec.authoritative);
	assert_false(dns_of(find(c, "roots-ns"))->spec.authoritative);
	assert_false(dns_of(find(c, "tld-named"))->spec.authoritative);
	assert_false(dns_of(find(c, "roots-off"))->spec.authoritative);
	assert_true(dns_of(find(c, "lab-on"))->spec.authoritative);
	config_free(c);
}

static void
test_durations(void **state)
{
	struct scratch *s = *state;
	const struct measurement *m;
	struct config *c;
	const char *path;
	char *err = NULL, buf[CONFIG_DURATION_STRLEN];

	path = scratch_file(s, "d.conf",
	    "probe { name = \"d\" }\n"
	    "dns \"bare\" { servers = {\"::1\"} interval = 300 }\n"
	    "dns \"frac\" { servers = {\"::1\"} interval = 1.5s "
	    "timeout = 250ms late_window = 0 }\n"
	    "dns \"hours\" { servers = {\"::1\"} interval = 2h spread = 90m "
	    "timeout = 4.5s late_window = 1s }\n"
	    "dns \"day\" { servers = {\"::1\"} interval = 1d }\n"
	    "dns \"short\" { servers = {\"::1\"} interval = 10s timeout = 1s "
	    "}\n");
	c = config_load(path, &err);
	if (c == NULL)
		fail_msg("%s", err);
	m = find(c, "bare");
	assert_int_equal(m->interval, 300 * SEC);
	assert_int_equal(m->spread, 30 * SEC);
	m = find(c, "frac");
	assert_int_equal(m->interval, 1500 * MSEC);
	assert_int_equal(m->spread, 1500 * MSEC); /* the interval */
	assert_int_equal(dns_of(m)->spec.timeout, 250 * MSEC);
	m = find(c, "hours");
	assert_int_equal(m->interval, 7200 * SEC);
	assert_int_equal(m->spread, 5400 * SEC);
	assert_int_equal(dns_of(m)->spec.timeout, 4500 * MSEC);
	assert_int_equal(dns_of(m)->spec.late_window, SEC);
	m = find(c, "day");
	assert_int_equal(m->interval, 86400 * SEC);
	m = find(c, "short");
	assert_int_equal(m->spread, 10 * SEC);
	config_free(c);
	assert_string_equal(config_duration_format(300 * SEC, buf, sizeof(buf)),
	    "5m");
	assert_string_equal(config_duration_format(1500 * MSEC, buf,
	                        sizeof(buf)),
	    "1500ms");
	assert_string_equal(config_duration_format(0, buf, sizeof(buf)), "0s");
	assert_string_equal(config_duration_format(7, buf, sizeof(buf)), "7us");
	assert_string_equal(config_duration_format(86400 * SEC, buf,
	                        sizeof(buf)),
	    "1d");
}

/* One bad file per class of mistake: the error names the file and the
 * line of the mistake and says what is wrong. */
static void
test_errors(void **state)
{
	static const struct {
		const char *text;
		int line; /* 0: no line (a whole-file problem) */
		const char *says;
	} cases[] = {
		{ "probe { name = \"p\" }\ndns \"a\" {\n servers = {\"::1\"}\n"
		  " qtype = \"BOGUS\"\n}\n",
		    4, "unknown type \"BOGUS\"" },
		{ "probe { name = \"p\" }\ndns \"a\" {\n servers = {\"::1\",\n"
		  " \"1.2.3.4.5\"}\n}\n",
		    4, "1.2.3.4.5" },
		{ "probe { name = \"p\" }\ndns \"a\" {\n servers = {\"@nope\"}\n"
		  "}\n",
		    3, "unknown server set" },
		{ "probe { name = \"p\" }\ndns \"a\" {\n servers = {\"::1\"}\n"
		  " interval = 10s\n spread = 11s\n}\n",
		    5, "spread 11s is longer than interval 10s" },
		{ "probe { name = \"p\" }\ndns \"a\" {\n servers = {\"::1\"}\n"
		  " interval = 4s\n}\n",
		    4, "must be shorter than interval" },
		{ "probe { name = \"p\" }\ndns \"a\" {\n servers = {\"::1\"}\n"
		  " interval = 5s\n timeout = 5s\n}\n",
		    5, "must be shorter than interval" },
		{ "probe {\n name = \"p\"\n country = \"Ukraine\"\n}\n"
		  "dns \"a\" { servers = {\"::1\"} }\n",
		    3, "ISO 3166-1" },
		{ "probe {\n name = \"p\"\n asn = 4294967296\n}\n"
		  "dns \"a\" { servers = {\"::1\"} }\n",
		    3, "AS number" },
		{ "probe { name = \"p\" }\ndns \"a\" { servers = {\"::1\"} }\n"
		  "dns \"a\" { servers = {\"::2\"} }\n",
		    3, "another measurement is named 'a'" },
		{ "probe { name = \"p\" }\ndns \"a\" {\n servers = {\"::1\"}\n"
		  " qtpye = \"A\"\n}\n",
		    4, "unknown key 'qtpye'" },
		{ "probe { name = \"p\" }\nfoo = 1\n", 2, "unknown key 'foo'" },
		{ "probe { name = \"p\" }\ninclude(\"missing.conf\")\n", 2,
		    "No such file" },
		{ "probe { name = \"p\" }\ndns \"a\" {\n interval = 5m\n}\n", 2,
		    "nothing to measure" },
		{ "probe { name = \"p\" }\ndns \"a\" {\n servers = {\"::1\"}\n"
		  " tlds = {\"ua\"}\n}\n",
		    4, "not both" },
		{ "probe { name = \"p\" }\ndns \"a\" {\n tlds = {\"ua\", \"u a\"}"
		  "\n}\n",
		    3, "is not allowed" },
		{ "probe { name = \"p\" }\ndns \"a\" {\n servers = {\"::1\"}\n"
		  " interval = 5 minutes\n}\n",
		    4, "unknown key 'minutes'" },
		{ "probe { name = \"p\" }\ndns \"a\" {\n servers = {\"::1\"}\n"
		  " interval = 5x\n}\n",
		    4, "not a duration" },
		{ "probe { name = \"p\" }\ndns \"a\" {\n servers = {\"::1\"}\n"
		  " interval = 500ms\n}\n",
		    4, "minimum" },
		{ "probe { name = \"p\" }\nlog_level = \"loud\"\n"
		  "dns \"a\" { servers = {\"::1\"} }\n",
		    2, "log_level" },
		{ "probe { name = \"p\" }\ndns \"a\" {\n servers = {\"::1\"}\n"
		  " transport = \"quic\"\n}\n",
		    4, "transport" },
		{ "probe { name = \"p\" }\ndns \"a\" {\n servers = {\"::1\"}\n"
		  " af = \"4\"\n}\n",
		    4, "no server has an IPv4 address" },
		{ "probe { name = \"p\" }\ndns \"a\" {\n servers = {\"::1\"}\n"
		  " port = 65536\n}\n",
		    4, "out of range" },
		{ "probe { name = \"p\" }\ndns \"a\" {\n servers = {\"::1\"}\n"
		  " edns_size = 0\n do = true\n}\n",
		    5, "EDNS" },
		{ "probe { name = \"p\" }\ndns \"a\" {\n servers = {\"::1\"}\n"
		  " chaos = \"hostname.bind\"\n qtype = \"A\"\n}\n",
		    4, "chaos replaces" },
		{ "probe { name = \"p\" }\ndns \"a\" {\n servers = {\"::1\"}\n"
		  " retries = 11\n}\n",
		    4, "retries" },
		{ "probe { name = \"p\" }\ndns \"a\" {\n servers = {\"::1\"}\n"
		  " nsid = maybe\n}\n",
		    4, "boolean" },
		{ "probe { name = \"p\" }\ndns \"a\" {\n servers = {\"::1\"}\n"
		  " timeout = 1s\n timeout = 2s\n}\n",
		    5, "set twice" },
		{ "probe { name = \"p\" }\ndns \"a\" {\n servers = {\"::1\"}\n"
		  " servers = {\"::2\"}\n}\n",
		    4, "set twice" },
		{ "probe { name = \"p\" }\ndns \"a\" {\n servers = {\"::1\"}\n\n",
		    2, "never closed" },
		{ "probe { name = \"p\" }\n}\n", 2, "without a matching" },
		{ "probe { name = \"p\" }\ndns \"a\" {\n servers = {\"::1\"}\n"
		  " qname = \"a..b\"\n}\n",
		    4, "not a domain name" },
		{ "probe { name = \"p\" }\ndns \"bad name\" {\n servers = "
		  "{\"::1\"}\n}\n",
		    2, "name must be" },
		{ "probe { name = \"p\" }\ndns \"a\" {\n servers = {\"::1\", "
		  "\"x=::1\"}\n}\n",
		    3, "listed twice" },
		{ "probe { name = \"p\" }\ndns \"a\" {\n servers = {\"::1\"}\n"
		  " qname = \"x\n}\n",
		    4, "string never closed" },
		{ "probe { name = \"p\" }\ninclude(\"a\") dns \"a\" {}\n", 2,
		    "include" },
		{ "probe {\n country = \"UA\"\n}\ndns \"a\" { servers = {\"::1\"} "
		  "}\n",
		    1, "name is required" },
		{ "dns \"a\" { servers = {\"::1\"} }\n", 0,
		    "a probe section with a name is required" },
		{ "probe { name = \"p\" }\ntld_discovery {\n roots = {\"x\"}\n"
		  "}\ndns \"a\" { servers = {\"::1\"} }\n",
		    3, "roots" },
		{ "probe { name = \"p\" }\ntld_discovery {\n resolver = "
		  "\"nobody\"\n}\ndns \"a\" { servers = {\"::1\"} }\n",
		    3, "resolver" },
		{ "probe { name = \"p\" }\ntld_discovery {\n\n refresh = 1ms\n"
		  "}\ndns \"a\" { servers = {\"::1\"} }\n",
		    4, "refresh" },
		{ "probe { name = \"p\" }\n", 0, "no measurement" },
		{ "", 0, "probe section" },
	};
	struct scratch *s = *state;
	char want[256], *err;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *path = scratch_file(s, "bad.conf", cases[i].text);
		struct config *c;

		err = NULL;
		c = config_load(path, &err);
		if (c != NULL)
			fail_msg("case %zu loaded:\n%s", i, cases[i].text);
		assert_non_null(err);
		if (cases[i].line > 0)
			snprintf(want, sizeof(want), "%s:%d: ", path,
			    cases[i].line);
		else
			snprintf(want, sizeof(want), "%s: ", path);
		if (strncmp(err, want, strlen(want)) != 0 ||
		    strstr(err, cases[i].says) == NULL)
			fail_msg("case %zu: want \"%s...%s\", got:\n%s", i,
			    want, cases[i].says, err);
		free(err);
	}
}

/* Every problem of a file that parses is reported, in file order, and
 * comments (which libconfuse 3.3 miscounts) do not shift line numbers. */
static void
test_all_errors_and_lines(void **state)
{
	struct scratch *s = *state;
	const char *path;
	char want[256], *err = NULL, *p;
	const int lines[] = { 6, 13, 18, 23 };

	path = scratch_file(s, "many.conf",
	    "# line 1\n"
	    "# line 2\n"
	    "// line 3\n"
	    "probe {\n"
	    "\tname = \"p\"\t# line 5\n"
	    "\tcountry = \"ZZ\"\n" /* 6 */
	    "}\n"
	    "/* a comment over\n"
	    "   two lines */\n"
	    "dns \"a\" {\n" /* 10 */
	    "\tservers = {\"::1\",\t# a comment in a list\n"
	    "\t\t\"127.0.0.1\", // another\n"
	    "\t\t\"nonsense\"}\n" /* 13 */
	    "}\n"
	    "\n"
	    "dns \"b\" {\n"
	    "\tservers = {\"::1\"}\n"
	    "\tqtype = \"NOPE\"\n" /* 18 */
	    "}\n"
	    "dns \"c\" {\n"
	    "\tservers = {\"::1\"}\n"
	    "\tinterval = \"10s\"\n"
	    "\tspread = 1m\n" /* 23 */
	    "}\n");
	assert_null(config_load(path, &err));
	assert_non_null(err);
	p = err;
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		snprintf(want, sizeof(want), "%s:%d: ", path, lines[i]);
		if (strncmp(p, want, strlen(want)) != 0)
			fail_msg("error %zu: want %s, got:\n%s", i, want, err);
		p = strchr(p, '\n');
		if (i + 1 < sizeof(lines) / sizeof(lines[0]))
			assert_non_null(p++);
	}
	assert_null(p);
	free(err);
}

static void
test_includes(void **state)
{
	struct scratch *s = *state;
	const struct measurement *m;
	struct config *c;
	char path[512], *err = NULL;
	const char *main_path;

	/* A file in the source tree including its neighbour. */
	snprintf(path, sizeof(path), "%s/tests/unit/conf/good-include.conf",
	    srcdir());
	c = config_load(path, &err);
	if (c == NULL)
		fail_msg("%s", err);
	assert_int_equal(c->nmeasurements, 2);
	assert_int_equal(c->log_level, LOG_LEVEL_WARNING);
	m = find(c, "from-include");
	assert_non_null(strstr(m->file, "tests/unit/conf/included.conf"));
	assert_int_equal(m->line, 5);
	assert_int_equal(dns_of(m)->spec.afs, DNS_AF_6);
	m = find(c, "main-one");
	assert_string_equal(m->file, path);
	assert_int_equal(m->line, 9);
	config_free(c);

	/* An error inside an included file names that file and line. */
	scratch_file(s, "inc.conf",
	    "# inc\n\ndns \"x\" {\n qtype = \"Q\"\n"
	    " servers = {\"::1\"}\n}\n");
	main_path = scratch_file(s, "main.conf",
	    "probe { name = \"p\" }\n"
	    "  include( \"inc.conf\" )  # relative to main.conf\n"
	    "foo = 1\n");
	assert_null(config_load(main_path, &err));
	snprintf(path, sizeof(path), "%s/inc.conf:4: dns \"x\": qtype", s->dir);
	if (strstr(err, path) == NULL)
		fail_msg("want %s in:\n%s", path, err);
	free(err);
	/* And after the include, lines count in the including file again. */
	scratch_file(s, "inc.conf",
	    "# inc\n\ndns \"x\" {\n"
	    " servers = {\"::1\"}\n}\n");
	assert_null(config_load(main_path, &err));
	snprintf(path, sizeof(path), "%s:3: unknown key 'foo'", main_path);
	if (strcmp(err, path) != 0)
		fail_msg("want %s, got:\n%s", path, err);
	free(err);

	/* A loop of includes is refused. */
	scratch_file(s, "inc.conf", "include(\"main.conf\")\n");
	assert_null(config_load(main_path, &err));
	assert_non_null(strstr(err, "includes itself"));
	free(err);
}

/* paths_check: `got` is DIR/rel (a path the loader joined). */
static void
paths_check(const char *got, const char *dir, const char *rel)
{
	char want[512];

	snprintf(want, sizeof(want), "%s/%s", dir, rel);
	assert_string_equal(got, want);
}

/* paths_load: load `path` with the working directory `cwd`, the test's
 * own put back afterwards; check every relative name came out joined to
 * the directory of the file it is written in, `dir`. */
static void
paths_load(const char *cwd, const char *path, const char *dir)
{
	struct config *c;
	char *err = NULL, was[512];

	assert_non_null(getcwd(was, sizeof(was)));
	assert_int_equal(chdir(cwd), 0);
	c = config_load(path, &err);
	assert_int_equal(chdir(was), 0);
	if (c == NULL)
		fail_msg("%s", err);
	paths_check(c->state_dir, dir, "state");
	paths_check(c->key_path, dir, "keys/probe.key");
	paths_check(c->output_path, dir, "out/results.jsonl");
	paths_check(c->spool.dir, dir, "../spool");
	paths_check(c->upload.dead_letter, dir, "dl/dead.jsonl");
	/* Written in sub/inc.conf: relative to sub/. */
	paths_check(c->resolv_conf, dir, "sub/resolv.conf");
	paths_check(c->hosts_file, dir, "sub/hosts");
	paths_check(http_of(find(c, "web"))->spec.cafile, dir, "sub/./ca.pem");
	config_free(c);
}

/* Relative file and directory names are relative to the directory of the
 * file they are written in, whatever the working directory. */
static void
test_relative_paths(void **state)
{
	struct scratch *s = *state;
	struct config *c;
	char sub[128], rel[128], want[512], *err = NULL, *longname, *text;
	const char *main_path;

	snprintf(sub, sizeof(sub), "%s/sub", s->dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	scratch_file(s, "sub/ca.pem", "not checked\n");
	scratch_file(s, "sub/resolv.conf", "nameserver 127.0.0.1\n");
	scratch_file(s, "sub/hosts", "127.0.0.1 localhost\n");
	scratch_file(s, "sub/inc.conf",
	    "resolv_conf = \"resolv.conf\"\n"
	    "hosts_file = \"hosts\"\n"
	    "http \"web\" {\n url = \"https://web.test/\"\n"
	    " cafile = \"./ca.pem\"\n}\n");
	main_path = scratch_file(s, "main.conf",
	    "probe { name = \"p\" }\n"
	    "state_dir = \"state\"\nkey = \"keys/probe.key\"\n"
	    "output { path = \"out/results.jsonl\" }\n"
	    "spool { dir = \"../spool\" }\n"
	    "upload {\n url = {\"https://collector.example.org\"}\n"
	    " dead_letter = \"dl/dead.jsonl\"\n}\n"
	    "include(\"sub/inc.conf\")\n");

	/* The file named absolute, relative, and relative with "./". */
	paths_load("/", main_path, s->dir);
	snprintf(rel, sizeof(rel), "%s/main.conf", strrchr(s->dir, '/') + 1);
	paths_load("/tmp", rel, s->dir);
	snprintf(rel, sizeof(rel), "./%s/main.conf", strrchr(s->dir, '/') + 1);
	paths_load("/tmp", rel, s->dir);

	/* Absolute names stay, "-" too; defaults follow a relative
	 * state_dir. */
	main_path = scratch_file(s, "main.conf",
	    "probe { name = \"p\" }\n"
	    "state_dir = \"st\"\noutput { path = \"-\" }\n"
	    "spool { }\nupload { url = {\"https://c.example.org\"} }\n"
	    "resolv_conf = \"/dev/null\"\n"
	    "dns \"d\" { servers = {\"127.0.0.1\"} }\n");
	if ((c = config_load(main_path, &err)) == NULL)
		fail_msg("%s", err);
	paths_check(c->state_dir, s->dir, "st");
	paths_check(c->key_path, s->dir, "st/key");
	paths_check(c->spool.dir, s->dir, "st/spool");
	paths_check(c->upload.dead_letter, s->dir,
	    "st/dead-letter/dead-letter.jsonl");
	assert_string_equal(c->output_path, "-");
	assert_string_equal(c->resolv_conf, "/dev/null");
	config_free(c);

	/* A missing file of an included file: its resolved name, at the
	 * included file's line. */
	scratch_file(s, "sub/inc.conf",
	    "hosts_file = \"nohosts\"\n"
	    "http \"web\" {\n url = \"https://web.test/\"\n"
	    " cafile = \"nope.pem\"\n}\n");
	main_path = scratch_file(s, "main.conf",
	    "probe { name = \"p\" }\n"
	    "include(\"sub/inc.conf\")\n");
	assert_null(config_load(main_path, &err));
	snprintf(want, sizeof(want),
	    "%s/sub/inc.conf:4: http \"web\": "
	    "cafile: %s/sub/nope.pem: No such file",
	    s->dir, s->dir);
	if (strstr(err, want) == NULL)
		fail_msg("want %s in:\n%s", want, err);
	snprintf(want, sizeof(want),
	    "%s/sub/inc.conf:1: hosts_file: "
	    "%s/sub/nohosts: No such file",
	    s->dir, s->dir);
	if (strstr(err, want) == NULL)
		fail_msg("want %s in:\n%s", want, err);
	free(err);

	/* Joined, a name longer than PATH_MAX is an error at its line. */
	assert_non_null(longname = calloc(1, PATH_MAX));
	memset(longname, 'a', PATH_MAX - 2);
	assert_true(
	    asprintf(&text,
	        "probe { name = \"p\" }\n"
	        "dns \"d\" { servers = {\"127.0.0.1\"} }\nkey = \"%s\"\n",
	        longname) > 0);
	main_path = scratch_file(s, "main.conf", text);
	free(text);
	free(longname);
	assert_null(config_load(main_path, &err));
	snprintf(want, sizeof(want), "%s:3: key: \"aaaa", main_path);
	if (strncmp(err, want, strlen(want)) != 0 ||
	    strstr(err, "is longer than") == NULL)
		fail_msg("want %s... is longer than, got:\n%s", want, err);
	free(err);
}

static void
test_identity(void **state)
{
	struct scratch *s = *state;
	struct config *c;
	const char *path;
	char *err = NULL;

	path = scratch_file(s, "id.conf",
	    "probe {\n name = \"gaza_2.b\"\n country = \"ps\"\n"
	    " asn = \"AS4294967295\"\n}\n"
	    "dns \"a\" { servers = {\"::1\"} }\n");
	c = config_load(path, &err);
	if (c == NULL)
		fail_msg("%s", err);
	assert_string_equal(c->probe.name, "gaza_2.b");
	assert_string_equal(c->probe.country, "PS");
	assert_int_equal(c->probe.asn, 4294967295u);
	assert_null(c->probe.location);
	assert_string_equal(c->output_path, "-");
	assert_string_equal(c->state_dir, CW_STATE_DIR);
	/* No tld_discovery section: the defaults. */
	assert_int_equal(c->tld.nroots, 26);
	assert_true(c->tld.resolver_auto);
	assert_int_equal(c->tld.refresh, 86400 * SEC);
	assert_int_equal(c->tld.port, 53);
	config_free(c);
	assert_true(country_valid("UA"));
	assert_true(country_valid("sd"));
	assert_true(country_valid("XK"));
	assert_false(country_valid("ZZ"));
	assert_false(country_valid("UKR"));
	assert_false(country_valid(""));
	assert_false(country_valid(NULL));
}

/* The upload section: values, defaults, and what is refused. */
static void
test_upload_section(void **state)
{
	static const struct {
		const char *body; /* of the upload section */
		int line;
		const char *says;
	} bad[] = {
		{ " url = {\"ftp://a\"}\n", 4,
		    "upload: url: \"ftp://a\" is not "
		    "an http:// or https:// URL" },
		{ " url = {\"https://a\"}\n proxy = \"tor\"\n", 5,
		    "upload: "
		    "proxy: \"tor\"" },
		{ " url = {\"https://a\"}\n batch_records = 0\n", 5,
		    "batch_records: 0 is out of range" },
		{ " url = {\"https://a\"}\n batch_bytes = 64k\n", 5,
		    "batch_bytes" },
		{ " url = {\"https://a\"}\n batch_age = 50ms\n", 5,
		    "batch_age: from 100ms" },
		{ " url = {\"https://a\"}\n failback = 2d\n", 5,
		    "failback: from 1s to 1d" },
		{ " url = {\"https://a\"}\n stop_timeout = 11m\n", 5,
		    "stop_timeout: from 0 to 10m" },
		{ " url = {\"https://a\"}\n receipts_max_size = 512\n", 5,
		    "receipts_max_size: \"512\" is not a size of at least" },
		{ " url = {\"https://a\"}\n receipts_max_size = 1G\n", 5,
		    "receipts_max_size: at most 256M" },
		{ " batch_age = 1s\n", 3, "upload: no url" },
		{ " url = {\"1\", \"2\", \"3\", \"4\", \"5\", \"6\", \"7\", "
		  "\"8\", \"9\"}\n",
		    4, "at most 8 URLs" },
	};
	struct scratch *s = *state;
	struct config *c;
	const char *path;
	char *err = NULL, text[1024], want[256];

	path = scratch_file(s, "up.conf",
	    "probe { name = \"p\" }\nstate_dir = \"/st\"\nspool { }\n"
	    "upload {\n url = {\"https://a.example/\", \"http://b.example:8080\"}"
	    "\n proxy = \"socks5h://127.0.0.1:9050\"\n batch_records = 500\n"
	    " batch_bytes = 2M\n batch_age = 30s\n backoff_max = 1h\n"
	    " failback = 5m\n stop_timeout = 0\n}\n"
	    "dns \"a\" { servers = {\"::1\"} }\n");
	c = config_load(path, &err);
	if (c == NULL)
		fail_msg("%s", err);
	assert_int_equal(c->upload.nurls, 2);
	assert_string_equal(c->upload.urls[0], "https://a.example/");
	assert_string_equal(c->upload.urls[1], "http://b.example:8080");
	assert_string_equal(c->upload.proxy, "socks5h://127.0.0.1:9050");
	assert_int_equal(c->upload.batch_records, 500);
	assert_int_equal(c->upload.batch_bytes, 2 << 20);
	assert_int_equal(c->upload.batch_age, 30 * SEC);
	assert_int_equal(c->upload.backoff_max, 3600 * SEC);
	assert_int_equal(c->upload.failback, 300 * SEC);
	assert_int_equal(c->upload.stop_timeout, 0);
	assert_string_equal(c->upload.dead_letter,
	    "/st/dead-letter/dead-letter.jsonl");
	/* receipts_max_size not given: 4 MiB. */
	assert_int_equal(c->upload.receipts_max, 4 << 20);
	config_free(c);
	/* stop_timeout not given: a few seconds, not none. */
	path = scratch_file(s, "up.conf",
	    "probe { name = \"p\" }\n"
	    "spool { }\nupload { url = {\"https://a\"} }\n"
	    "dns \"a\" { servers = {\"::1\"} }\n");
	assert_non_null(c = config_load(path, &err));
	assert_int_equal(c->upload.stop_timeout, UPLOAD_STOP_TIMEOUT);
	config_free(c);
	/* No section: no upload; without a spool section: refused. */
	path = scratch_file(s, "up.conf",
	    "probe { name = \"p\" }\n"
	    "dns \"a\" { servers = {\"::1\"} }\n");
	assert_non_null(c = config_load(path, &err));
	assert_int_equal(c->upload.nurls, 0);
	assert_null(c->upload.urls);
	config_free(c);
	path = scratch_file(s, "up.conf",
	    "probe { name = \"p\" }\n"
	    "upload { url = {\"https://a\"} }\n"
	    "dns \"a\" { servers = {\"::1\"} }\n");
	assert_null(c = config_load(path, &err));
	assert_non_null(strstr(err,
	    "up.conf:2: upload: uploads are made "
	    "from the spool"));
	free(err);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text),
		    "probe { name = \"p\" }\n"
		    "spool { }\nupload {\n%s}\ndns \"a\" { servers = "
		    "{\"::1\"} }\n",
		    bad[i].body);
		path = scratch_file(s, "up.conf", text);
		err = NULL;
		c = config_load(path, &err);
		if (c != NULL)
			fail_msg("accepted: %s", bad[i].body);
		snprintf(want, sizeof(want), "up.conf:%d: ", bad[i].line);
		if (strstr(err, want) == NULL ||
		    strstr(err, bad[i].says) == NULL)
			fail_msg("case %zu: want line %d, \"%s\"; got: %s", i,
			    bad[i].line, bad[i].says, err);
		free(err);
	}
	/* A refused url is reported once: not also as "no url". */
	path = scratch_file(s, "up.conf",
	    "probe { name = \"p\" }\n"
	    "spool { }\nupload { url = {\"ftp://a\"} }\n"
	    "dns \"a\" { servers = {\"::1\"} }\n");
	err = NULL;
	assert_null(c = config_load(path, &err));
	if (strchr(err, '\n') != NULL || strstr(err, "ftp://a") == NULL)
		fail_msg("want one problem, the ftp:// URL; got: %s", err);
	free(err);
}

/* http sections: every key (tests/unit/conf/http.conf), the defaults,
 * an address as the URL's host, and the top-level resolv_conf. */
static void
test_http_sections(void **state)
{
	const struct measurement *m;
	struct config *c;
	char path[512], want[512], *err = NULL, line[512];

	(void)state;
	snprintf(path, sizeof(path), "%s/tests/unit/conf/http.conf", srcdir());
	c = config_load(path, &err);
	if (c == NULL)
		fail_msg("%s", err);
	assert_int_equal(c->nmeasurements, 7);
	snprintf(want, sizeof(want), "%s/tests/unit/conf/http-resolv.conf",
	    srcdir());
	assert_string_equal(c->resolv_conf, want);

	m = find(c, "full");
	assert_ptr_equal(m->kind, &http_probe_kind);
	assert_ptr_equal(http_of(m)->spec.name, m->name);
	assert_int_equal(m->line, 11);
	assert_string_equal(http_of(m)->spec.url,
	    "https://www.example.org:8443/status?x=1");
	assert_int_equal(http_of(m)->spec.method, HTTP_GET);
	assert_int_equal(http_of(m)->spec.afs, HTTP_AF_4 | HTTP_AF_6);
	assert_int_equal(m->ntargets, 3);
	assert_string_equal(m->targets[0].addr, "192.0.2.80");
	assert_int_equal(m->targets[0].af, 4);
	assert_string_equal(m->targets[1].addr, "2001:db8::80");
	assert_int_equal(m->targets[1].af, 6);
	assert_string_equal(m->targets[2].addr, "198.51.100.80");
	assert_int_equal(target_port(&m->targets[2]), 0);
	assert_int_equal(http_of(m)->spec.nexpect, 3);
	assert_ptr_equal(http_of(m)->spec.expect, http_of(m)->expect);
	assert_int_equal(http_of(m)->spec.expect[0].lo, 200);
	assert_int_equal(http_of(m)->spec.expect[0].hi, 200);
	assert_int_equal(http_of(m)->spec.expect[1].lo, 204);
	assert_int_equal(http_of(m)->spec.expect[1].hi, 206);
	assert_int_equal(http_of(m)->spec.expect[2].lo, 300);
	assert_int_equal(http_of(m)->spec.expect[2].hi, 399);
	assert_true(http_status_expected(&http_of(m)->spec, 205));
	assert_false(http_status_expected(&http_of(m)->spec, 201));
	assert_int_equal(http_of(m)->spec.max_body, 64 << 10);
	assert_string_equal(http_of(m)->spec.body_pattern, "status: (ok|up)");
	assert_int_equal(http_of(m)->spec.nheaders, 2);
	assert_string_equal(http_of(m)->spec.headers[0], "Accept: text/html");
	assert_string_equal(http_of(m)->spec.headers[1], "X-Probe:corewatch");
	snprintf(want, sizeof(want), "%s/tests/unit/conf/http-ca.pem",
	    srcdir());
	assert_string_equal(http_of(m)->spec.cafile, want);
	assert_null(http_of(m)->spec.proxy);
	assert_true(http_of(m)->spec.follow_redirects);
	assert_int_equal(http_of(m)->spec.max_redirects, 0);
	assert_int_equal(m->interval, 600 * SEC);
	assert_int_equal(m->spread, 120 * SEC);
	assert_int_equal(http_of(m)->spec.timeout, 15 * SEC);
	assert_int_equal(config_measurement_queries(m), 3);
	config_measurement_summary(m, line, sizeof(line));
	assert_string_equal(line,
	    "http full: GET "
	    "https://www.example.org:8443/status?x=1, IPv4+IPv6, 3 pinned "
	    "addresses (3 requests a cycle); every 10m, spread 2m, timeout "
	    "15s");

	/* Only a URL: every default. */
	m = find(c, "defaults");
	assert_string_equal(http_of(m)->spec.url, "https://www.example.org/");
	assert_int_equal(http_of(m)->spec.method, HTTP_GET);
	assert_int_equal(http_of(m)->spec.afs, HTTP_AF_4 | HTTP_AF_6);
	assert_int_equal(m->ntargets, 0);
	assert_null(m->targets);
	assert_int_equal(http_of(m)->spec.nexpect, 0);
	assert_null(http_of(m)->spec.expect);
	assert_true(http_status_expected(&http_of(m)->spec, 301));
	assert_false(http_status_expected(&http_of(m)->spec, 404));
	assert_int_equal(http_of(m)->spec.max_body, HTTP_MAX_BODY_DEFAULT);
	assert_int_equal(http_of(m)->spec.max_body, 1 << 20);
	assert_null(http_of(m)->spec.body_pattern);
	assert_int_equal(http_of(m)->spec.nheaders, 0);
	assert_null(http_of(m)->spec.proxy);
	assert_null(http_of(m)->spec.cafile);
	assert_false(http_of(m)->spec.follow_redirects);
	assert_int_equal(http_of(m)->spec.max_redirects, 5);
	assert_int_equal(m->interval, 300 * SEC);
	assert_int_equal(m->spread, 30 * SEC);
	assert_int_equal(http_of(m)->spec.timeout, 10 * SEC);
	assert_int_equal(config_measurement_queries(m), 2);
	config_measurement_summary(m, line, sizeof(line));
	assert_non_null(strstr(line,
	    "resolved each cycle (at least 2 "
	    "requests a cycle)"));

	m = find(c, "v4-only");
	assert_int_equal(http_of(m)->spec.method, HTTP_HEAD);
	assert_int_equal(http_of(m)->spec.afs, HTTP_AF_4);
	assert_int_equal(m->ntargets, 2);
	assert_int_equal(m->interval, 20 * SEC);
	assert_int_equal(m->spread, 20 * SEC); /* the interval */
	assert_int_equal(http_of(m)->spec.timeout, 19500 * MSEC);
	assert_int_equal(config_measurement_queries(m), 2);

	/* An address as the host: that address, in its family. */
	m = find(c, "literal4");
	assert_int_equal(http_of(m)->spec.afs, HTTP_AF_4);
	assert_int_equal(m->ntargets, 0);
	assert_int_equal(config_measurement_queries(m), 1);
	config_measurement_summary(m, line, sizeof(line));
	assert_non_null(strstr(line,
	    "IPv4, the URL's address (1 request a "
	    "cycle)"));
	m = find(c, "literal6");
	assert_int_equal(http_of(m)->spec.afs, HTTP_AF_6);
	assert_string_equal(http_of(m)->spec.proxy, "http://127.0.0.1:3128");
	assert_int_equal(config_measurement_queries(m), 1);

	m = find(c, "tor");
	assert_string_equal(http_of(m)->spec.proxy, "socks5h://127.0.0.1:9050");
	assert_int_equal(http_of(m)->spec.afs, HTTP_AF_4);
	config_measurement_summary(m, line, sizeof(line));
	assert_non_null(strstr(line, "through the proxy (1 request a cycle)"));

	m = find(c, "dns-too");
	assert_ptr_equal(m->kind, &dns_probe_kind);
	assert_ptr_equal(dns_of(m)->spec.name, m->name);
	config_free(c);
}

/* Each bad value of an http section: refused, with its file and line. */
static void
test_http_errors(void **state)
{
	static const struct {
		const char *body; /* of http "w", which opens on line 2 */
		int line;
		const char *says;
	} bad[] = {
		{ " method = \"GET\"\n", 2, "http \"w\": url is required" },
		{ " url = \"ftp://a.example/\"\n", 3,
		    "url: \"ftp://a.example/\"" },
		{ " url = \"https://user:pw@a.example/\"\n", 3,
		    "no user name or password" },
		{ " url = \"https://\"\n", 3, "url: \"https://\"" },
		{ " url = \"https://a.example/\"\n method = \"POST\"\n", 4,
		    "method: \"POST\" is not GET or HEAD" },
		{ " url = \"https://a.example/\"\n af = \"7\"\n", 4,
		    "af: \"7\" is not 4, 6 or both" },
		{ " url = \"https://a.example/\"\n addresses = {\"::1\",\n"
		  " \"a.example\"}\n",
		    5,
		    "addresses: \"a.example\" is not a "
		    "numeric" },
		{ " url = \"https://a.example/\"\n addresses = {\"x=192.0.2.1\"}"
		  "\n",
		    4, "addresses: \"x=192.0.2.1\" is not a numeric" },
		{ " url = \"https://a.example/\"\n af = \"4\"\n addresses = "
		  "{\"192.0.2.1\",\n \"2001:db8::1\"}\n",
		    6,
		    "addresses: 2001:db8::1 is an IPv6 address, and af is \"4\"" },
		{ " url = \"https://a.example/\"\n af = \"6\"\n addresses = "
		  "{\"192.0.2.1\"}\n",
		    5, "192.0.2.1 is an IPv4 address" },
		{ " url = \"https://a.example/\"\n addresses = {\"192.0.2.1\", "
		  "\"[192.0.2.1]\"}\n",
		    4, "192.0.2.1 is listed twice" },
		{ " url = \"http://192.0.2.1/\"\n addresses = {\"192.0.2.1\"}\n",
		    4, "addresses: the URL's host is an address already" },
		{ " url = \"http://192.0.2.1/\"\n af = \"6\"\n", 4,
		    "af: the URL's host is an IPv4 address" },
		{ " url = \"http://[2001:db8::1]:8080/\"\n af = \"both\"\n", 4,
		    "af: the URL's host is an IPv6 address" },
		{ " url = \"https://a.example/\"\n timeout = 0\n", 4,
		    "timeout must be above 0" },
		{ " url = \"https://a.example/\"\n timeout = 10 s\n", 4,
		    "unknown key 's'" },
		{ " url = \"https://a.example/\"\n timeout = \"soon\"\n", 4,
		    "timeout: \"soon\" is not a duration" },
		{ " url = \"https://a.example/\"\n interval = 10s\n timeout = "
		  "10s\n",
		    5, "timeout 10s must be shorter than interval 10s" },
		{ " url = \"https://a.example/\"\n interval = 5s\n", 4,
		    "timeout 10s must be shorter than interval 5s" },
		{ " url = \"https://a.example/\"\n interval = 100ms\n", 4,
		    "interval: 100ms is shorter than the minimum" },
		{ " url = \"https://a.example/\"\n interval = 1m\n spread = 2m\n",
		    5, "spread 2m is longer than interval 1m" },
		{ " url = \"https://a.example/\"\n expect_status = {\"200\",\n"
		  " \"600\"}\n",
		    5, "expect_status: \"600\" is not a status" },
		{ " url = \"https://a.example/\"\n expect_status = {\"ok\"}\n",
		    4, "expect_status: \"ok\"" },
		{ " url = \"https://a.example/\"\n expect_status = {\"299-200\"}"
		  "\n",
		    4, "expect_status: \"299-200\"" },
		{ " url = \"https://a.example/\"\n max_body = 0\n", 4,
		    "max_body: from 1 byte to 1G" },
		{ " url = \"https://a.example/\"\n max_body = 2G\n", 4,
		    "max_body: from 1 byte to 1G" },
		{ " url = \"https://a.example/\"\n max_body = \"lots\"\n", 4,
		    "max_body: \"lots\" is not a size" },
		{ " url = \"https://a.example/\"\n body_pattern = \"(\"\n", 4,
		    "body_pattern: \"(\" is not a POSIX extended regular" },
		{ " url = \"https://a.example/\"\n body_pattern = \"\"\n", 4,
		    "body_pattern: empty" },
		{ " url = \"https://a.example/\"\n method = \"HEAD\"\n"
		  " body_pattern = \"ok\"\n",
		    5, "a HEAD request reads no body" },
		{ " url = \"https://a.example/\"\n headers = {\"Accept: */*\",\n"
		  " \"no colon\"}\n",
		    5, "headers: \"no colon\": a header is" },
		{ " url = \"https://a.example/\"\n headers = {\"X-A: 1\\nX-B: 2\"}"
		  "\n",
		    4, "headers: \"...\": a header may not hold CR or LF" },
		{ " url = \"https://a.example/\"\n proxy = \"tor\"\n", 4,
		    "proxy: \"tor\" is not an" },
		{ " url = \"https://a.example/\"\n proxy = \"ftp://p.example\"\n",
		    4, "proxy: \"ftp://p.example\"" },
		{ " url = \"https://a.example/\"\n cafile = \"/nonexistent/ca.pem\""
		  "\n",
		    4, "cafile: /nonexistent/ca.pem: No such file" },
		{ " url = \"https://a.example/\"\n cafile = \"/\"\n", 4,
		    "cafile: /: Is a directory" },
		{ " url = \"https://a.example/\"\n follow_redirects = perhaps\n",
		    4, "boolean" },
		{ " url = \"https://a.example/\"\n follow_redirects = true\n"
		  " max_redirects = 51\n",
		    5,
		    "max_redirects: 51 is out of "
		    "range (0 to 50)" },
		{ " url = \"https://a.example/\"\n max_redirects = 2\n", 4,
		    "max_redirects needs follow_redirects = true" },
		{ " url = \"https://a.example/\"\n servers = {\"::1\"}\n", 4,
		    "unknown key 'servers'" },
		{ " url = \"https://a.example/\"\n url = \"https://b.example/\"\n",
		    4, "url is set twice" },
	};
	struct scratch *s = *state;
	struct config *c;
	const char *path;
	char *err = NULL, text[1024], want[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text),
		    "probe { name = \"p\" }\n"
		    "http \"w\" {\n%s}\n",
		    bad[i].body);
		path = scratch_file(s, "h.conf", text);
		err = NULL;
		c = config_load(path, &err);
		if (c != NULL)
			fail_msg("case %zu accepted: %s", i, bad[i].body);
		snprintf(want, sizeof(want), "%s:%d: ", path, bad[i].line);
		if (strncmp(err, want, strlen(want)) != 0 ||
		    strstr(err, bad[i].says) == NULL)
			fail_msg("case %zu: want %s...\"%s\"; got: %s", i, want,
			    bad[i].says, err);
		free(err);
	}
}

/* Names are unique across dns and http sections; every problem of an
 * http section is reported at once, in file order; resolv_conf must be
 * readable. */
static void
test_http_names_and_all_errors(void **state)
{
	static const struct {
		const char *text;
		int line;
		const char *says;
	} bad[] = {
		{ "probe { name = \"p\" }\ndns \"a\" { servers = {\"::1\"} }\n"
		  "http \"a\" {\n url = \"http://127.0.0.1/\"\n}\n",
		    3, "http \"a\": another measurement is named 'a' (" },
		{ "probe { name = \"p\" }\nhttp \"a\" { url = "
		  "\"http://127.0.0.1/\" }\n\ndns \"a\" { servers = "
		  "{\"::1\"} }\n",
		    4,
		    "dns \"a\": another measurement is "
		    "named 'a' (" },
		{ "probe { name = \"p\" }\nhttp \"a\" { url = "
		  "\"http://127.0.0.1/\" }\nhttp \"a\" { url = "
		  "\"http://127.0.0.2/\" }\n",
		    3,
		    "another measurement is "
		    "named 'a'" },
		{ "probe { name = \"p\" }\nhttp \"bad name\" { url = "
		  "\"http://127.0.0.1/\" }\n",
		    2, "the name must be" },
		{ "probe { name = \"p\" }\nresolv_conf = \"/nonexistent/r\"\n"
		  "http \"a\" { url = \"http://127.0.0.1/\" }\n",
		    2, "resolv_conf: /nonexistent/r: No such file" },
	};
	struct scratch *s = *state;
	const char *path;
	char want[256], *err = NULL, *p;
	const int lines[] = { 5, 6, 8, 9, 11, 12, 13, 14 };
	struct config *c;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		path = scratch_file(s, "n.conf", bad[i].text);
		err = NULL;
		c = config_load(path, &err);
		if (c != NULL)
			fail_msg("case %zu accepted:\n%s", i, bad[i].text);
		snprintf(want, sizeof(want), "%s:%d: ", path, bad[i].line);
		if (strstr(err, want) == NULL ||
		    strstr(err, bad[i].says) == NULL)
			fail_msg("case %zu: want %s...\"%s\"; got: %s", i, want,
			    bad[i].says, err);
		free(err);
	}

	/* One section, many mistakes: all of them, each at its line. */
	path = scratch_file(s, "many.conf",
	    "probe { name = \"p\" }\n"
	    "# a comment\n"
	    "http \"many\" {\n"
	    "\turl = \"https://a.example/\"\t# fine\n"
	    "\tmethod = \"PUT\"\n" /* 5 */
	    "\taf = \"5\"\n"       /* 6 */
	    "\taddresses = {\"192.0.2.1\",\n"
	    "\t\t\"nowhere\"}\t// a comment in a list\n"         /* 8 */
	    "\texpect_status = {\"99\"}\n"                       /* 9 */
	    "\t/* two lines\n\t   of comment */ max_body = -1\n" /* 11 */
	    "\tbody_pattern = \"[\"\n"                           /* 12 */
	    "\theaders = {\": x\"}\n"                            /* 13 */
	    "\tcafile = \"/nonexistent\"\n"                      /* 14 */
	    "}\n");
	assert_null(config_load(path, &err));
	assert_non_null(err);
	p = err;
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		snprintf(want, sizeof(want), "%s:%d: http \"many\": ", path,
		    lines[i]);
		if (p == NULL || strncmp(p, want, strlen(want)) != 0)
			fail_msg("error %zu: want %s, got:\n%s", i, want, err);
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	if (p != NULL)
		fail_msg("more errors than expected:\n%s", err);
	free(err);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_upload_section,
		    scratch_setup, scratch_teardown),
		cmocka_unit_test(test_example),
		cmocka_unit_test(test_default),
		cmocka_unit_test_setup_teardown(test_authoritative,
		    scratch_setup, scratch_teardown),
		cmocka_unit_test_setup_teardown(test_durations, scratch_setup,
		    scratch_teardown),
		cmocka_unit_test_setup_teardown(test_errors, scratch_setup,
		    scratch_teardown),
		cmocka_unit_test_setup_teardown(test_all_errors_and_lines,
		    scratch_setup, scratch_teardown),
		cmocka_unit_test_setup_teardown(test_includes, scratch_setup,
		    scratch_teardown),
		cmocka_unit_test_setup_teardown(test_identity, scratch_setup,
		    scratch_teardown),
		cmocka_unit_test_setup_teardown(test_relative_paths,
		    scratch_setup, scratch_teardown),
		cmocka_unit_test(test_http_sections),
		cmocka_unit_test_setup_teardown(test_http_errors, scratch_setup,
		    scratch_teardown),
		cmocka_unit_test_setup_teardown(test_http_names_and_all_errors,
		    scratch_setup, scratch_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
