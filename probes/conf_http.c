/*
 * conf_http.c -- the http measurement kind behind probes/probe.h: its
 * section of corewatch.conf (the option table beside its checks), the
 * spec it builds (struct http_measurement), and what the agent asks of
 * the kind: its tasks (a pinned address, or an address family whose
 * host is resolved each run), their names, runs and rows in the once
 * table.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <confuse.h>

#include "conf.h"
#include "conf_kind.h"
#include "confload.h"
#include "http.h"
#include "probe.h"
#include "result.h"

static cfg_opt_t conf_http_opts[] = {
	CFG_STR("url", NULL, CFGF_NODEFAULT),
	CFG_STR("method", NULL, CFGF_NODEFAULT),
	CFG_STR("af", "both", CFGF_NONE),
	CFG_STR_LIST("addresses", NULL, CFGF_NONE),
	CFG_STR("timeout", NULL, CFGF_NODEFAULT),
	CFG_STR_LIST("expect_status", NULL, CFGF_NONE),
	CFG_STR("max_body", NULL, CFGF_NODEFAULT),
	CFG_STR("body_pattern", NULL, CFGF_NODEFAULT),
	CFG_STR_LIST("headers", NULL, CFGF_NONE),
	CFG_STR("proxy", NULL, CFGF_NODEFAULT),
	CFG_STR("cafile", NULL, CFGF_NODEFAULT),
	CFG_BOOL("follow_redirects", cfg_false, CFGF_NONE),
	CFG_INT("max_redirects", HTTP_REDIRECTS_DEFAULT, CFGF_NONE),
	CFG_STR("interval", NULL, CFGF_NODEFAULT),
	CFG_STR("spread", NULL, CFGF_NODEFAULT),
	CFG_END(),
};

/* conf_http_url: the required url into the spec.  Returns the family
 * of an address written as the URL's host (4 or 6), else 0. */
static int
conf_http_url(struct conf_sec *s, struct measurement *m)
{
	struct http_measurement *h = m->spec;
	const char *v = cfg_getstr(s->sec, "url");
	char err[256];

	if (v == NULL) {
		conf_sec_error(s, NULL, 0,
		    "url is required (e.g. url = "
		    "\"https://www.iana.org/\")");
		return 0;
	}
	if (!conf_text_ok(v, HTTP_URL_MAX)) {
		conf_sec_error(s, "url", 0,
		    "url: 1 to %d characters without "
		    "control characters",
		    HTTP_URL_MAX);
		return 0;
	}
	if (!http_url_check(v, err, sizeof(err))) {
		conf_sec_error(s, "url", 0, "url: \"%s\": %s", v, err);
		return 0;
	}
	if ((h->url = strdup(v)) == NULL) {
		s->l->oom = true;
		return 0;
	}
	h->spec.url = h->url;
	return http_url_host_af(v);
}

/* conf_http_addresses: the pinned addresses into m->targets (port 0):
 * numeric, each once, each of a family of af. */
static void
conf_http_addresses(struct conf_sec *s, struct measurement *m)
{
	struct http_measurement *h = m->spec;
	unsigned n = cfg_size(s->sec, "addresses");
	char err[256];

	if (n > 0 && (m->targets = calloc(n, sizeof(*m->targets))) == NULL) {
		s->l->oom = true;
		return;
	}
	for (unsigned i = 0; i < n; i++) {
		const char *v = cfg_getnstr(s->sec, "addresses", i);
		struct target *t = &m->targets[m->ntargets];

		if (strchr(v, '=') != NULL ||
		    target_parse(v, 0, t, err, sizeof(err)) == -1) {
			conf_sec_error(s, "addresses", i,
			    "addresses: \"%s\" is "
			    "not a numeric IPv4 or IPv6 address",
			    v);
			continue;
		}
		if (!(h->spec.afs & (t->af == 4 ? HTTP_AF_4 : HTTP_AF_6))) {
			conf_sec_error(s, "addresses", i,
			    "addresses: %s is an "
			    "IPv%d address, and af is \"%d\"",
			    t->addr, t->af, t->af == 4 ? 6 : 4);
			continue;
		}
		if (target_listed(m->targets, m->ntargets, t)) {
			conf_sec_error(s, "addresses", i,
			    "addresses: %s is "
			    "listed twice",
			    t->addr);
			continue;
		}
		m->ntargets++;
	}
}

/* conf_http_family: af and the pinned addresses.  An address as the
 * URL's host (`literal`: its family) is the one address measured. */
static void
conf_http_family(struct conf_sec *s, struct measurement *m, int literal)
{
	struct http_measurement *h = m->spec;
	int af = literal == 4 ? HTTP_AF_4 : HTTP_AF_6;

	h->spec.afs = conf_choice(s, "af", "4", HTTP_AF_4, "6", HTTP_AF_6);
	if (literal == 0) {
		conf_http_addresses(s, m);
		return;
	}
	if (conf_given(s->l, s->sec, "af") && h->spec.afs != af)
		conf_sec_error(s, "af", 0,
		    "af: the URL's host is an IPv%d "
		    "address: leave af out or write \"%d\"",
		    literal, literal);
	h->spec.afs = af;
	if (cfg_size(s->sec, "addresses") > 0)
		conf_sec_error(s, "addresses", 0,
		    "addresses: the URL's host "
		    "is an address already: leave addresses out");
}

/* conf_http_expect: expect_status into the spec. */
static void
conf_http_expect(struct conf_sec *s, struct measurement *m)
{
	struct http_measurement *h = m->spec;
	unsigned n = cfg_size(s->sec, "expect_status");

	if (n == 0)
		return;
	if ((h->expect = calloc(n, sizeof(*h->expect))) == NULL) {
		s->l->oom = true;
		return;
	}
	h->spec.expect = h->expect;
	for (unsigned i = 0; i < n; i++) {
		const char *v = cfg_getnstr(s->sec, "expect_status", i);

		if (http_status_parse(v, &h->expect[h->spec.nexpect]) == -1)
			conf_sec_error(s, "expect_status", i,
			    "expect_status: "
			    "\"%s\" is not a status from 100 to 599, a range "
			    "or a class (e.g. \"200\", \"200-299\", \"3xx\")",
			    v);
		else
			h->spec.nexpect++;
	}
}

/* conf_http_headers: headers into the spec. */
static void
conf_http_headers(struct conf_sec *s, struct measurement *m)
{
	struct http_measurement *h = m->spec;
	unsigned n = cfg_size(s->sec, "headers");
	char err[256];

	if (n == 0)
		return;
	if ((h->headers = calloc(n, sizeof(*h->headers))) == NULL) {
		s->l->oom = true;
		return;
	}
	h->spec.headers = (const char *const *)h->headers;
	for (unsigned i = 0; i < n; i++) {
		const char *v = cfg_getnstr(s->sec, "headers", i);

		/* The line itself is shown only when it holds no CR or LF,
		 * which would break the one-problem-a-line report. */
		if (http_header_check(v, err, sizeof(err)) == -1) {
			conf_sec_error(s, "headers", i, "headers: \"%s\": %s",
			    conf_text_ok(v, 200) ? v : "...", err);
			continue;
		}
		if ((h->headers[h->spec.nheaders] = strdup(v)) == NULL) {
			s->l->oom = true;
			return;
		}
		h->spec.nheaders++;
	}
}

/* conf_http_request: method, max_body, body_pattern, expect_status and
 * headers. */
static void
conf_http_request(struct conf_sec *s, struct measurement *m)
{
	struct http_measurement *h = m->spec;
	const char *v = cfg_getstr(s->sec, "method");
	char err[256];

	if (v != NULL && strcasecmp(v, "HEAD") == 0)
		h->spec.method = HTTP_HEAD;
	else if (v != NULL && strcasecmp(v, "GET") != 0)
		conf_sec_error(s, "method", 0,
		    "method: \"%s\" is not GET or "
		    "HEAD",
		    v);
	/* Its range is http_spec_check()'s (conf_spec_rules). */
	conf_size(s, "max_body", 1, HTTP_MAX_BODY_DEFAULT, &h->spec.max_body);
	if ((v = cfg_getstr(s->sec, "body_pattern")) != NULL) {
		/* Empty: http_spec_check()'s to refuse (conf_spec_rules). */
		if (*v != '\0' && http_pattern_check(v, err, sizeof(err)) == -1)
			conf_sec_error(s, "body_pattern", 0,
			    "body_pattern: "
			    "\"%s\" is not a POSIX extended regular expression: "
			    "%s",
			    v, err);
		else if ((h->body_pattern = strdup(v)) == NULL)
			s->l->oom = true;
		h->spec.body_pattern = h->body_pattern;
	}
	conf_http_expect(s, m);
	conf_http_headers(s, m);
}

/* conf_http_transport: proxy, cafile and redirects. */
static void
conf_http_transport(struct conf_sec *s, struct measurement *m)
{
	struct http_measurement *h = m->spec;
	const char *v;
	long n;

	/* Their rules are http_spec_check()'s (conf_spec_rules). */
	if ((v = cfg_getstr(s->sec, "proxy")) != NULL &&
	    (h->spec.proxy = h->proxy = strdup(v)) == NULL)
		s->l->oom = true;
	if (cfg_getstr(s->sec, "cafile") != NULL)
		conf_sec_path(s, "cafile", "file", &h->cafile);
	h->spec.cafile = h->cafile;
	h->spec.follow_redirects = cfg_getbool(s->sec, "follow_redirects");
	if (conf_int(s, "max_redirects", 0, HTTP_REDIRECTS_MAX, &n) == 0) {
		h->spec.max_redirects = n;
		if (!h->spec.follow_redirects &&
		    conf_given(s->l, s->sec, "max_redirects"))
			conf_sec_error(s, "max_redirects", 0,
			    "max_redirects "
			    "needs follow_redirects = true");
	}
}

/* conf_http_timing: interval, spread and timeout, read; whether all are
 * valid durations (the timeout's range is the spec's rule). */
static bool
conf_http_timing(struct conf_sec *s, struct measurement *m)
{
	struct http_measurement *h = m->spec;
	bool ok;

	ok = conf_cycle(s, m);
	return conf_duration(s, "timeout", HTTP_TIMEOUT_DEFAULT,
	           &h->spec.timeout) == 0 &&
	    ok;
}

/* conf_http_cycle: a request must be over before its next cycle
 * starts. */
static void
conf_http_cycle(struct conf_sec *s, struct measurement *m)
{
	struct http_measurement *h = m->spec;
	char a[CONFIG_DURATION_STRLEN], b[CONFIG_DURATION_STRLEN];

	if (h->spec.timeout >= m->interval)
		conf_sec_error(s,
		    conf_given(s->l, s->sec, "timeout") ? "timeout" :
		                                          "interval",
		    0,
		    "timeout %s must be shorter "
		    "than interval %s",
		    config_duration_format(h->spec.timeout, a, sizeof(a)),
		    config_duration_format(m->interval, b, sizeof(b)));
}

/* How the section words the problems http_spec_check() finds (the
 * kind's spec_check): each at the line of the option it is about. */
static const struct conf_rule conf_http_rules[HTTP_SPEC_RULES] = {
	[HTTP_SPEC_MAX_BODY] = { "max_body", NULL, false },
	[HTTP_SPEC_BODY_PATTERN] = { "body_pattern", NULL, false },
	[HTTP_SPEC_PROXY] = { "proxy", NULL, false },
	[HTTP_SPEC_CAFILE] = { "cafile", NULL, false },
	[HTTP_SPEC_TIMEOUT] = { "timeout", NULL, true },
};

/* conf_http_build: the spec of an http section (probe_kind.conf_build);
 * every problem is reported. */
static int
conf_http_build(struct conf_sec *s, struct measurement *m)
{
	struct http_measurement *h;
	unsigned refused;
	bool timing;
	int literal;

	if ((h = calloc(1, sizeof(*h))) == NULL) {
		s->l->oom = true;
		return -1;
	}
	m->spec = h;
	http_spec_init(&h->spec);
	h->spec.name = m->name;
	literal = conf_http_url(s, m);
	conf_http_family(s, m, literal);
	conf_http_request(s, m);
	conf_http_transport(s, m);
	timing = conf_http_timing(s, m);
	refused = conf_spec_rules(s, m, &h->spec, conf_http_rules);
	if (timing && !(refused & 1u << HTTP_SPEC_TIMEOUT))
		conf_http_cycle(s, m);
	return 0;
}

static void
http_spec_free(void *spec)
{
	struct http_measurement *h = spec;

	if (h == NULL)
		return;
	free(h->url);
	free(h->body_pattern);
	free(h->proxy);
	free(h->cafile);
	for (size_t i = 0; i < h->spec.nheaders; i++)
		free(h->headers[i]);
	free(h->headers);
	free(h->expect);
	free(h);
}

static int
http_kind_spec_check(const void *spec, int rule, char *err, size_t errlen)
{
	return http_spec_check(spec, (enum http_spec_rule)rule, err, errlen);
}

/* --- What check-config says --- */

/* http_requests: the requests of one cycle: the pinned addresses of its
 * families, else one per family (a minimum: a name may resolve to
 * several addresses). */
static size_t
http_requests(const struct measurement *m)
{
	const struct http_measurement *h = m->spec;
	size_t n = 0;

	if (m->ntargets == 0)
		return ((h->spec.afs & HTTP_AF_4) ? 1 : 0) +
		    ((h->spec.afs & HTTP_AF_6) ? 1 : 0);
	for (size_t i = 0; i < m->ntargets; i++)
		if (h->spec.afs &
		    (m->targets[i].af == 4 ? HTTP_AF_4 : HTTP_AF_6))
			n++;
	return n;
}

/* http_describe_secretless: what the declaration may say of the
 * headers and the proxy: the headers' names (a value may be a token)
 * and the proxy's scheme (its address and password are the
 * volunteer's). */
static int
http_describe_secretless(const struct http_spec *spec, json_t *o)
{
	json_t *names = json_array();
	const char *colon;

	if (names == NULL)
		return -1;
	for (size_t i = 0; i < spec->nheaders; i++) {
		colon = strchr(spec->headers[i], ':');
		json_array_append_new(names,
		    json_stringn(spec->headers[i],
		        colon != NULL ? (size_t)(colon - spec->headers[i]) :
		                        strlen(spec->headers[i])));
	}
	json_object_set_new(o, "headers", names);
	colon = spec->proxy != NULL ? strstr(spec->proxy, "://") : NULL;
	json_object_set_new(o, "proxy",
	    colon != NULL ?
	        json_stringn(spec->proxy, (size_t)(colon - spec->proxy)) :
	        json_null());
	return 0;
}

/* http_describe: the heartbeat's declaration of m's spec (probe.h). */
static int
http_describe(const struct measurement *m, json_t *o)
{
	const struct http_spec *spec =
	    &((const struct http_measurement *)m->spec)->spec;
	json_t *af = json_array(), *expect = json_array();

	if (af == NULL || expect == NULL) {
		json_decref(af);
		json_decref(expect);
		return -1;
	}
	if (spec->afs & HTTP_AF_4)
		json_array_append_new(af, json_integer(4));
	if (spec->afs & HTTP_AF_6)
		json_array_append_new(af, json_integer(6));
	for (size_t i = 0; i < spec->nexpect; i++)
		json_array_append_new(expect,
		    json_pack("[ii]", spec->expect[i].lo, spec->expect[i].hi));
	if (spec->nexpect == 0)
		json_array_append_new(expect, json_pack("[ii]", 200, 399));
	result_set_str(o, "url", spec->url);
	result_set_str(o, "method", spec->method == HTTP_HEAD ? "HEAD" : "GET");
	json_object_set_new(o, "families", af);
	result_set_int(o, "timeout_ms", spec->timeout / CW_USEC_PER_MSEC);
	json_object_set_new(o, "expect", expect);
	result_set_int(o, "max_body", (long long)spec->max_body);
	json_object_set_new(o, "body_pattern",
	    spec->body_pattern != NULL ? json_string(spec->body_pattern) :
	                                 json_null());
	result_set_bool(o, "follow_redirects", spec->follow_redirects);
	result_set_int(o, "max_redirects", spec->max_redirects);
	result_set_bool(o, "own_cafile", spec->cafile != NULL);
	return http_describe_secretless(spec, o);
}

static void
http_summary(const struct measurement *m, char *buf, size_t len)
{
	const struct http_measurement *h = m->spec;
	char every[CONFIG_DURATION_STRLEN], spread[CONFIG_DURATION_STRLEN];
	char timeout[CONFIG_DURATION_STRLEN], what[96];
	size_t n = http_requests(m);
	const char *af, *s = n == 1 ? "" : "s";

	af = h->spec.afs == (HTTP_AF_4 | HTTP_AF_6) ? "IPv4+IPv6" :
	    h->spec.afs == HTTP_AF_4                ? "IPv4" :
	                                              "IPv6";
	if (m->ntargets > 0)
		snprintf(what, sizeof(what),
		    "%zu pinned address%s (%zu "
		    "request%s a cycle)",
		    m->ntargets, m->ntargets == 1 ? "" : "es", n, s);
	else if (http_url_host_af(h->spec.url) != 0)
		snprintf(what, sizeof(what),
		    "the URL's address (1 request a "
		    "cycle)");
	else if (h->spec.proxy != NULL)
		snprintf(what, sizeof(what),
		    "through the proxy (%zu request%s "
		    "a cycle)",
		    n, s);
	else
		snprintf(what, sizeof(what),
		    "resolved each cycle (at least "
		    "%zu request%s a cycle)",
		    n, s);
	snprintf(buf, len,
	    "http %s: %s %s, %s, %s; every %s, spread %s, "
	    "timeout %s",
	    m->name, h->spec.method == HTTP_HEAD ? "HEAD" : "GET", h->spec.url,
	    af, what, config_duration_format(m->interval, every, sizeof(every)),
	    config_duration_format(m->spread, spread, sizeof(spread)),
	    config_duration_format(h->spec.timeout, timeout, sizeof(timeout)));
}

/* --- What the agent asks --- */

/* http_context_new: the engine (libcurl's multi handle, the resolver)
 * the runs of one loop share. */
static void *
http_context_new(const struct probe_env *env)
{
	return http_engine_new(env->base, env->resolv_conf, env->hosts_file);
}

static void
http_context_free(void *ctx)
{
	http_engine_free(ctx);
}

/* http_tasks: one per pinned address of a family m measures, or one per
 * family (the host is resolved each run; an address in the URL has one
 * family). */
static int
http_tasks(const struct measurement *m, probe_task_add_fn add,
    probe_tld_servers_fn servers, void *arg)
{
	const struct http_measurement *h = m->spec;
	int literal = http_url_host_af(h->spec.url);
	int afs = h->spec.afs;
	struct probe_task t;

	(void)servers;
	for (size_t i = 0; i < m->ntargets; i++) {
		if (!(afs & (m->targets[i].af == 4 ? HTTP_AF_4 : HTTP_AF_6)))
			continue;
		memset(&t, 0, sizeof(t));
		t.has_target = true;
		t.target = m->targets[i];
		t.af = m->targets[i].af;
		if (add(arg, &t) == -1)
			return -1;
	}
	if (m->ntargets > 0)
		return 0;
	if (literal != 0)
		afs = literal == 4 ? HTTP_AF_4 : HTTP_AF_6;
	for (int af = 4; af <= 6; af += 2) {
		if (!(afs & (af == 4 ? HTTP_AF_4 : HTTP_AF_6)))
			continue;
		memset(&t, 0, sizeof(t));
		t.af = af;
		if (add(arg, &t) == -1)
			return -1;
	}
	return 0;
}

/* http_run_max: the timeout bounds the whole run, resolution included. */
static cw_usec_t
http_run_max(const struct measurement *m)
{
	const struct http_measurement *h = m->spec;

	return h->spec.timeout;
}

static void
http_label(const struct measurement *m, const struct probe_task *t, char *buf,
    size_t len)
{
	const struct http_measurement *h = m->spec;

	snprintf(buf, len, "%s %s IPv%d", m->name,
	    t->has_target                          ? t->target.addr :
	        http_url_host_af(h->spec.url) != 0 ? "(in the URL)" :
	                                             "(looked up)",
	    t->af);
}

static bool
http_same(const struct probe_task *o, const struct probe_task *n)
{
	return o->af == n->af && o->has_target == n->has_target &&
	    (!o->has_target || strcmp(o->target.addr, n->target.addr) == 0);
}

static void
http_failure_fields(json_t *r, const struct measurement *m,
    const struct probe_task *t)
{
	const struct http_measurement *h = m->spec;

	result_set_str(r, "url", h->spec.url);
	json_object_set_new(r, "addr",
	    t->has_target ? json_string(t->target.addr) : json_null());
	result_set_int(r, "af", t->af);
}

/* http_start: the context is the engine. */
static struct probe_run *
http_start(void *ctx, const struct measurement *m, const struct probe_task *t,
    probe_done_fn done, void *arg)
{
	const struct http_measurement *h = m->spec;

	return (struct probe_run *)http_probe_start(ctx, &h->spec,
	    t->has_target ? &t->target : NULL, t->af, done, arg);
}

static void
http_cancel(struct probe_run *run)
{
	http_probe_cancel((struct http_probe *)run);
}

static void
http_redirect(struct probe_run *run, probe_done_fn done, void *arg)
{
	http_probe_redirect((struct http_probe *)run, done, arg);
}

/* http_once_cells: the scheme and family, the host and address the
 * result names, and the status. */
static void
http_once_cells(const struct measurement *m, const struct probe_task *t,
    const json_t *r, struct probe_cells *c)
{
	const struct http_measurement *h = m->spec;
	const json_t *status = json_object_get(r, "status");
	const char *addr = json_string_value(json_object_get(r, "addr"));

	snprintf(c->buf[0], sizeof(c->buf[0]), "%s/v%d",
	    strncmp(h->spec.url, "https:", 6) == 0 ? "https" : "http", t->af);
	c->answer[0] = '\0';
	if (json_is_integer(status))
		snprintf(c->answer, sizeof(c->answer), "HTTP %lld",
		    (long long)json_integer_value(status));
	c->server = json_string_value(json_object_get(r, "host"));
	c->address = addr != NULL ? addr : "-";
	c->via = c->buf[0];
	c->ms_field = "total_ms";
}

const struct probe_kind http_probe_kind = {
	.name = "http",
	.run_name = "measurement",
	.conf_opts = conf_http_opts,
	.conf_build = conf_http_build,
	.spec_free = http_spec_free,
	.spec_check = http_kind_spec_check,
	.spec_rules = HTTP_SPEC_RULES,
	.queries = http_requests,
	.summary = http_summary,
	.describe = http_describe,
	.context_new = http_context_new,
	.context_free = http_context_free,
	.tasks = http_tasks,
	.serial = false,
	.run_max = http_run_max,
	.label = http_label,
	.same = http_same,
	.failure_fields = http_failure_fields,
	.start = http_start,
	.cancel = http_cancel,
	.redirect = http_redirect,
	.once_cells = http_once_cells,
};
