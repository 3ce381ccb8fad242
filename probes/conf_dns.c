/*
 * conf_dns.c -- the dns measurement kind behind probes/probe.h: its
 * section of corewatch.conf (the option table beside its checks), the
 * spec it builds (struct dns_measurement), and what the agent asks of
 * the kind: its tasks (address x transport, or a TLD's servers), their
 * names, runs and rows in the once table.
 *
 * Every problem of a section is reported with the line of its option
 * (conf_sec_error); what the sections of all kinds share (the cycle,
 * the URLs, the choices) is src/agent/conf_kind.h's.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <confuse.h>

#include "catalog.h"
#include "conf.h"
#include "conf_kind.h"
#include "confload.h"
#include "dns.h"
#include "probe.h"
#include "result.h"
#include "tld.h"

/* Durations are strings for cw_duration_parse: "5m", "250ms". */
static cfg_opt_t conf_dns_opts[] = {
	CFG_STR_LIST("servers", NULL, CFGF_NONE),
	CFG_STR_LIST("tlds", NULL, CFGF_NONE),
	CFG_STR("qname", NULL, CFGF_NODEFAULT),
	CFG_STR("qtype", NULL, CFGF_NODEFAULT),
	CFG_STR("qclass", NULL, CFGF_NODEFAULT),
	CFG_STR("chaos", NULL, CFGF_NODEFAULT),
	CFG_STR("transport", "both", CFGF_NONE),
	CFG_STR("af", "both", CFGF_NONE),
	CFG_INT("port", 53, CFGF_NONE),
	CFG_INT("edns_size", 1232, CFGF_NONE),
	CFG_BOOL("do", cfg_false, CFGF_NONE),
	CFG_BOOL("nsid", cfg_true, CFGF_NONE),
	CFG_BOOL("rd", cfg_false, CFGF_NONE),
	CFG_BOOL("tcp_on_truncation", cfg_true, CFGF_NONE),
	CFG_BOOL("authoritative", cfg_false, CFGF_NONE),
	CFG_STR("interval", NULL, CFGF_NODEFAULT),
	CFG_STR("spread", NULL, CFGF_NODEFAULT),
	CFG_STR("timeout", NULL, CFGF_NODEFAULT),
	CFG_INT("retries", 0, CFGF_NONE),
	CFG_STR("late_window", NULL, CFGF_NODEFAULT),
	CFG_END(),
};

/* conf_dns_servers: expand `servers` into m->targets; whether every one
 * of them is a root server ("@root" alone). */
static bool
conf_dns_servers(struct conf_sec *s, struct measurement *m)
{
	struct dns_measurement *d = m->spec;
	unsigned n = cfg_size(s->sec, "servers");
	bool roots = n > 0;
	char err[256];

	for (unsigned i = 0; i < n; i++) {
		const char *server = cfg_getnstr(s->sec, "servers", i);

		roots = roots && strcmp(server, "@root") == 0;
		switch (catalog_server_add(server, d->spec.port, &m->targets,
		    &m->ntargets, err, sizeof(err))) {
		case CATALOG_SERVER_OK:
			break;
		case CATALOG_SERVER_BAD_ADDRESS:
			conf_sec_error(s, "servers", i,
			    "servers: %s (write "
			    "\"ADDRESS\", \"NAME=ADDRESS\" or \"@root\")",
			    err);
			break;
		case CATALOG_SERVER_BAD_SET:
		case CATALOG_SERVER_LISTED:
			conf_sec_error(s, "servers", i, "servers: %s", err);
			break;
		case CATALOG_SERVER_NOMEM:
			s->l->oom = true;
			return false;
		}
	}
	return roots;
}

/* conf_dns_tlds: check and store `tlds`. */
static void
conf_dns_tlds(struct conf_sec *s, struct measurement *m)
{
	unsigned n = cfg_size(s->sec, "tlds");
	char tld[TLD_NAME_MAX], err[128];

	if (n == 0)
		return;
	if ((m->tlds = calloc(n, sizeof(*m->tlds))) == NULL) {
		s->l->oom = true;
		return;
	}
	for (unsigned i = 0; i < n; i++) {
		const char *v = cfg_getnstr(s->sec, "tlds", i);
		bool dup = false;

		if (tld_name_normalize(v, tld, err, sizeof(err)) == -1) {
			conf_sec_error(s, "tlds", i, "tlds: %s", err);
			continue;
		}
		for (size_t j = 0; j < m->ntlds; j++)
			dup |= strcmp(m->tlds[j], tld) == 0;
		if (dup) {
			conf_sec_error(s, "tlds", i,
			    "tlds: \"%s\" is listed "
			    "twice",
			    tld);
			continue;
		}
		if ((m->tlds[m->ntlds] = strdup(tld)) == NULL) {
			s->l->oom = true;
			return;
		}
		m->ntlds++;
	}
}

/* conf_dns_question: qname, qtype, qclass or chaos. */
static void
conf_dns_question(struct conf_sec *s, struct measurement *m)
{
	struct dns_measurement *d = m->spec;
	const char *qname = cfg_getstr(s->sec, "qname");
	const char *qtype = cfg_getstr(s->sec, "qtype");
	const char *qclass = cfg_getstr(s->sec, "qclass");
	const char *chaos = cfg_getstr(s->sec, "chaos");
	int v;

	d->spec.qtype = LDNS_RR_TYPE_SOA;
	d->spec.qclass = LDNS_RR_CLASS_IN;
	if (chaos != NULL) {
		if (qname != NULL || qtype != NULL || qclass != NULL)
			conf_sec_error(s, "chaos", 0,
			    "chaos replaces qname, "
			    "qtype and qclass: set chaos alone");
		else if (dns_spec_set_chaos(&d->spec, chaos) == -1)
			conf_sec_error(s, "chaos", 0,
			    "chaos: \"%s\" is not a "
			    "domain name (e.g. \"hostname.bind\")",
			    chaos);
		return;
	}
	if (qname != NULL) {
		if (dns_spec_set_qname(&d->spec, qname) == -1)
			conf_sec_error(s, "qname", 0,
			    "qname: \"%s\" is not a "
			    "domain name",
			    qname);
	} else if (m->ntlds > 0) {
		d->qname_from_tld = true;
	} else if (dns_spec_set_qname(&d->spec, ".") == -1) {
		conf_sec_error(s, NULL, 0, "cannot set qname \".\"");
	}
	if (qtype != NULL) {
		if ((v = dns_qtype_parse(qtype)) == -1)
			conf_sec_error(s, "qtype", 0,
			    "qtype: unknown type "
			    "\"%s\" (e.g. SOA, NS, A, AAAA, TXT, TYPE65)",
			    qtype);
		else
			d->spec.qtype = (ldns_rr_type)v;
	}
	if (qclass != NULL) {
		if ((v = dns_qclass_parse(qclass)) == -1)
			conf_sec_error(s, "qclass", 0,
			    "qclass: unknown class "
			    "\"%s\" (IN, CH, HS)",
			    qclass);
		else
			d->spec.qclass = (ldns_rr_class)v;
	}
}

/* conf_dns_wire: transport, address family, port, EDNS and flags. */
static void
conf_dns_wire(struct conf_sec *s, struct measurement *m)
{
	struct dns_measurement *d = m->spec;
	long v;

	d->spec.transports = conf_choice(s, "transport", "udp", DNS_PROTO_UDP,
	    "tcp", DNS_PROTO_TCP);
	d->spec.afs = conf_choice(s, "af", "4", DNS_AF_4, "6", DNS_AF_6);
	d->spec.port = conf_int(s, "port", 1, 65535, &v) == 0 ? (uint16_t)v :
	                                                        53;
	if (conf_int(s, "edns_size", 0, 65535, &v) == 0)
		d->spec.edns_size = (uint16_t)v;
	d->spec.do_bit = cfg_getbool(s->sec, "do");
	d->spec.nsid = cfg_getbool(s->sec, "nsid");
	d->spec.rd = cfg_getbool(s->sec, "rd");
	d->spec.tcp_on_truncation = cfg_getbool(s->sec, "tcp_on_truncation");
	/* NSID is asked for by default: without EDNS it is dropped, and
	 * refused only when asked for in so many words. */
	if (d->spec.edns_size == 0 && !conf_given(s->l, s->sec, "nsid"))
		d->spec.nsid = false;
	if (conf_int(s, "retries", 0, DNS_RETRIES_MAX, &v) == 0)
		d->spec.retries = (int)v;
}

/* conf_dns_authoritative: whether the servers serve the zone whose apex
 * is the query name.  Unless the section says, that is known of the
 * root servers asked about "." and of a TLD's servers asked about the
 * TLD itself, in class IN; the section may say so of its own servers. */
static void
conf_dns_authoritative(struct conf_sec *s, struct measurement *m, bool roots)
{
	struct dns_measurement *d = m->spec;

	if (conf_given(s->l, s->sec, "authoritative")) {
		d->spec.authoritative = cfg_getbool(s->sec, "authoritative");
		return;
	}
	d->spec.authoritative = d->spec.qclass == LDNS_RR_CLASS_IN &&
	    (d->qname_from_tld || (roots && strcmp(d->spec.qname, ".") == 0));
}

/* How the section words the problems dns_spec_check() finds (the kind's
 * spec_check): each at the line of the option it is about. */
static const struct conf_rule conf_dns_rules[DNS_SPEC_RULES] = {
	[DNS_SPEC_EDNS_SIZE] = { "edns_size", NULL, false },
	[DNS_SPEC_DO] = { "do", "do needs EDNS: set edns_size", false },
	[DNS_SPEC_NSID] = { "nsid", "nsid needs EDNS: set edns_size", false },
	[DNS_SPEC_TIMEOUT] = { "timeout", NULL, true },
	[DNS_SPEC_LATE_WINDOW] = { "late_window", NULL, true },
};

/* conf_dns_timing: interval, spread, timeout and late_window, read;
 * whether all are valid durations (their ranges are the spec's rules). */
static bool
conf_dns_timing(struct conf_sec *s, struct measurement *m)
{
	struct dns_measurement *d = m->spec;
	bool ok;

	ok = conf_cycle(s, m);
	if (conf_duration(s, "timeout", 4 * CW_USEC_PER_SEC,
	        &d->spec.timeout) == -1)
		ok = false;
	if (conf_duration(s, "late_window", 200 * CW_USEC_PER_MSEC,
	        &d->spec.late_window) == -1)
		ok = false;
	return ok;
}

/* conf_dns_cycle: a query must be over before its next cycle starts. */
static void
conf_dns_cycle(struct conf_sec *s, struct measurement *m)
{
	struct dns_measurement *d = m->spec;
	char a[CONFIG_DURATION_STRLEN], b[CONFIG_DURATION_STRLEN];
	char c[CONFIG_DURATION_STRLEN];

	if (d->spec.timeout * (d->spec.retries + 1) + d->spec.late_window >=
	    m->interval)
		conf_sec_error(s,
		    conf_given(s->l, s->sec, "timeout") ? "timeout" :
		                                          "interval",
		    0,
		    "timeout %s x (1 + retries %d) "
		    "+ late_window %s must be shorter than interval %s",
		    config_duration_format(d->spec.timeout, a, sizeof(a)),
		    d->spec.retries,
		    config_duration_format(d->spec.late_window, c, sizeof(c)),
		    config_duration_format(m->interval, b, sizeof(b)));
}

/* conf_dns_af_check: some fixed target must match the families. */
static void
conf_dns_af_check(struct conf_sec *s, struct measurement *m)
{
	struct dns_measurement *d = m->spec;
	for (size_t i = 0; i < m->ntargets; i++) {
		int af = m->targets[i].af == 4 ? DNS_AF_4 : DNS_AF_6;
		if (d->spec.afs & af)
			return;
	}
	if (m->ntargets > 0)
		conf_sec_error(s, "af", 0, "no server has an IPv%d address",
		    d->spec.afs == DNS_AF_4 ? 4 : 6);
}

/* conf_dns_build: the spec of a dns section (probe_kind.conf_build);
 * every problem is reported. */
static int
conf_dns_build(struct conf_sec *s, struct measurement *m)
{
	struct dns_measurement *d;
	unsigned refused;
	bool timing, roots;

	if ((d = calloc(1, sizeof(*d))) == NULL) {
		s->l->oom = true;
		return -1;
	}
	m->spec = d;
	dns_spec_init(&d->spec);
	d->spec.name = m->name;
	conf_dns_wire(s, m);
	timing = conf_dns_timing(s, m);
	refused = conf_spec_rules(s, m, &d->spec, conf_dns_rules);
	if (timing &&
	    !(refused & (1u << DNS_SPEC_TIMEOUT | 1u << DNS_SPEC_LATE_WINDOW)))
		conf_dns_cycle(s, m);
	conf_dns_tlds(s, m);
	roots = conf_dns_servers(s, m);
	conf_dns_question(s, m);
	conf_dns_authoritative(s, m, roots);
	if (m->ntargets == 0 && m->ntlds == 0 &&
	    cfg_size(s->sec, "servers") == 0 && cfg_size(s->sec, "tlds") == 0)
		conf_sec_error(s, NULL, 0,
		    "nothing to measure: set servers "
		    "(e.g. {\"@root\"}) or tlds (e.g. {\"ua\"})");
	if (cfg_size(s->sec, "servers") > 0 && cfg_size(s->sec, "tlds") > 0)
		conf_sec_error(s, "tlds", 0,
		    "set servers or tlds, not both "
		    "(make two measurements)");
	conf_dns_af_check(s, m);
	return 0;
}

/* --- What check-config says --- */

/* dns_queries: the queries of one cycle to the fixed servers (a TLD
 * measurement's are learned: 0). */
static size_t
dns_queries(const struct measurement *m)
{
	const struct dns_measurement *d = m->spec;
	size_t n = 0, protos = 0;

	if (d->spec.transports & DNS_PROTO_UDP)
		protos++;
	if (d->spec.transports & DNS_PROTO_TCP)
		protos++;
	for (size_t i = 0; i < m->ntargets; i++)
		if (d->spec.afs & (m->targets[i].af == 4 ? DNS_AF_4 : DNS_AF_6))
			n++;
	return n * protos;
}

/* dns_summary: check-config's line for m. */
static void
dns_summary(const struct measurement *m, char *buf, size_t len)
{
	const struct dns_measurement *d = m->spec;
	char qtype[DNS_TYPE_STRLEN], qclass[DNS_TYPE_STRLEN];
	char every[CONFIG_DURATION_STRLEN], spread[CONFIG_DURATION_STRLEN];
	char timeout[CONFIG_DURATION_STRLEN], what[160];
	const char *tp, *af;

	tp = d->spec.transports == (DNS_PROTO_UDP | DNS_PROTO_TCP) ? "udp+tcp" :
	    d->spec.transports == DNS_PROTO_UDP                    ? "udp" :
	                                                             "tcp";
	af = d->spec.afs == (DNS_AF_4 | DNS_AF_6) ? "IPv4+IPv6" :
	    d->spec.afs == DNS_AF_4               ? "IPv4" :
	                                            "IPv6";
	if (m->ntlds > 0)
		snprintf(what, sizeof(what), "the servers of %zu TLD%s",
		    m->ntlds, m->ntlds == 1 ? "" : "s");
	else
		snprintf(what, sizeof(what),
		    "%zu server address%s (%zu "
		    "queries a cycle)",
		    m->ntargets, m->ntargets == 1 ? "" : "es", dns_queries(m));
	snprintf(buf, len,
	    "dns %s: %s %s %s to %s, %s, %s, port %u; every "
	    "%s, spread %s, timeout %s",
	    m->name, d->qname_from_tld ? "<tld>" : d->spec.qname,
	    dns_qclass_name(d->spec.qclass, qclass, sizeof(qclass)),
	    dns_qtype_name(d->spec.qtype, qtype, sizeof(qtype)), what, tp, af,
	    d->spec.port,
	    config_duration_format(m->interval, every, sizeof(every)),
	    config_duration_format(m->spread, spread, sizeof(spread)),
	    config_duration_format(d->spec.timeout, timeout, sizeof(timeout)));
}

/* dns_describe: the heartbeat's declaration of m's spec (probe.h). */
static int
dns_describe(const struct measurement *m, json_t *o)
{
	const struct dns_measurement *d = m->spec;
	char qtype[DNS_TYPE_STRLEN], qclass[DNS_TYPE_STRLEN];
	json_t *tp = json_array(), *af = json_array();

	if (tp == NULL || af == NULL) {
		json_decref(tp);
		json_decref(af);
		return -1;
	}
	if (d->spec.transports & DNS_PROTO_UDP)
		json_array_append_new(tp, json_string("udp"));
	if (d->spec.transports & DNS_PROTO_TCP)
		json_array_append_new(tp, json_string("tcp"));
	if (d->spec.afs & DNS_AF_4)
		json_array_append_new(af, json_integer(4));
	if (d->spec.afs & DNS_AF_6)
		json_array_append_new(af, json_integer(6));
	/* A TLD measurement without a qname asks each TLD's own name. */
	json_object_set_new(o, "qname",
	    d->qname_from_tld ? json_null() : json_string(d->spec.qname));
	result_set_str(o, "qtype",
	    dns_qtype_name(d->spec.qtype, qtype, sizeof(qtype)));
	result_set_str(o, "qclass",
	    dns_qclass_name(d->spec.qclass, qclass, sizeof(qclass)));
	json_object_set_new(o, "transports", tp);
	json_object_set_new(o, "families", af);
	result_set_int(o, "port", d->spec.port);
	result_set_int(o, "edns_size", d->spec.edns_size);
	result_set_bool(o, "do", d->spec.do_bit);
	result_set_bool(o, "nsid", d->spec.nsid);
	result_set_bool(o, "rd", d->spec.rd);
	result_set_bool(o, "tcp_on_truncation", d->spec.tcp_on_truncation);
	result_set_bool(o, "authoritative", d->spec.authoritative);
	result_set_int(o, "timeout_ms", d->spec.timeout / CW_USEC_PER_MSEC);
	result_set_int(o, "retries", d->spec.retries);
	result_set_int(o, "late_window_ms",
	    d->spec.late_window / CW_USEC_PER_MSEC);
	return 0;
}

static void
dns_spec_free(void *spec)
{
	free(spec);
}

static int
dns_kind_spec_check(const void *spec, int rule, char *err, size_t errlen)
{
	return dns_spec_check(spec, (enum dns_spec_rule)rule, err, errlen);
}

/* --- What the agent asks --- */

/* dns_task_add: hand task t to the agent, once its query name, the
 * TLD's own when the spec has none, is known to be one. */
static int
dns_task_add(const struct measurement *m, const struct probe_task *t,
    probe_task_add_fn add, void *arg)
{
	const struct dns_measurement *d = m->spec;
	struct dns_spec spec = d->spec;

	if (t->tld != NULL && d->qname_from_tld &&
	    dns_spec_set_qname(&spec, t->tld) == -1) {
		log_warnx("%s: bad query name \"%s\"", m->name, t->tld);
		return -1;
	}
	return add(arg, t);
}

/* dns_tasks_targets: a task for every address x transport allowed. */
static int
dns_tasks_targets(const struct measurement *m, const char *tld,
    const struct target *targets, size_t n, probe_task_add_fn add, void *arg)
{
	static const enum dns_proto protos[] = { DNS_PROTO_UDP, DNS_PROTO_TCP };
	const struct dns_measurement *d = m->spec;
	struct probe_task t;

	for (size_t i = 0; i < n; i++) {
		int af = targets[i].af == 4 ? DNS_AF_4 : DNS_AF_6;
		if (!(d->spec.afs & af))
			continue;
		for (size_t p = 0; p < 2; p++) {
			if (!(d->spec.transports & (int)protos[p]))
				continue;
			memset(&t, 0, sizeof(t));
			t.tld = tld;
			t.has_target = true;
			t.target = targets[i];
			t.proto = (int)protos[p];
			t.af = targets[i].af;
			/* Learned servers are measured on the measurement's
			 * port. */
			if (tld != NULL)
				target_set_port(&t.target, d->spec.port);
			if (dns_task_add(m, &t, add, arg) == -1)
				return -1;
		}
	}
	return 0;
}

/* dns_tasks: the fixed servers' tasks, or those of each TLD's servers
 * known now; a TLD without any has one task that reports so. */
static int
dns_tasks(const struct measurement *m, probe_task_add_fn add,
    probe_tld_servers_fn servers, void *arg)
{
	const struct target *targets;
	struct probe_task t;
	size_t n;

	if (m->ntlds == 0)
		return dns_tasks_targets(m, NULL, m->targets, m->ntargets, add,
		    arg);
	for (size_t j = 0; j < m->ntlds; j++) {
		servers(arg, m->tlds[j], &targets, &n);
		memset(&t, 0, sizeof(t));
		t.tld = m->tlds[j];
		if ((n == 0 ? dns_task_add(m, &t, add, arg) :
		              dns_tasks_targets(m, m->tlds[j], targets, n, add,
		                  arg)) == -1)
			return -1;
	}
	return 0;
}

/* dns_run_max: a truncated UDP answer is followed by a TCP query. */
static cw_usec_t
dns_run_max(const struct measurement *m)
{
	const struct dns_measurement *d = m->spec;

	return 2 * d->spec.timeout * (d->spec.retries + 1) +
	    d->spec.late_window;
}

static void
dns_label(const struct measurement *m, const struct probe_task *t, char *buf,
    size_t len)
{
	if (!t->has_target)
		snprintf(buf, len, "%s %s", m->name, t->tld);
	else
		snprintf(buf, len, "%s %s%s%s %s", m->name, t->target.name,
		    t->target.name[0] ? "=" : "", t->target.addr,
		    dns_proto_name((enum dns_proto)t->proto));
}

static bool
dns_same(const struct probe_task *o, const struct probe_task *n)
{
	return n->has_target && o->proto == n->proto &&
	    (o->tld == NULL) == (n->tld == NULL) &&
	    (o->tld == NULL || strcmp(o->tld, n->tld) == 0) &&
	    strcmp(o->target.addr, n->target.addr) == 0 &&
	    target_port(&o->target) == target_port(&n->target);
}

static void
dns_failure_fields(json_t *r, const struct measurement *m,
    const struct probe_task *t)
{
	(void)m;
	/* Nothing came, so nothing was a sign (dns.h). */
	json_object_set_new(r, "anomalies", json_array());
	if (!t->has_target)
		return;
	result_set_str(r, "server",
	    t->target.name[0] != '\0' ? t->target.name : NULL);
	result_set_str(r, "addr", t->target.addr);
	result_set_int(r, "port", target_port(&t->target));
	result_set_int(r, "af", t->target.af);
	result_set_str(r, "proto", dns_proto_name((enum dns_proto)t->proto));
}

/* dns_start: the context is the event base. */
static struct probe_run *
dns_start(void *ctx, const struct measurement *m, const struct probe_task *t,
    probe_done_fn done, void *arg)
{
	const struct dns_measurement *d = m->spec;
	struct dns_spec spec = d->spec;

	/* dns_task_add() made sure the TLD is a query name. */
	if (t->tld != NULL && d->qname_from_tld &&
	    dns_spec_set_qname(&spec, t->tld) == -1)
		return NULL;
	return dns_run_start(ctx, &spec, &t->target, (enum dns_proto)t->proto,
	    done, arg);
}

/* dns_once_cells: the transport result r came over (the task's when it
 * says none; " after TC" when a truncated UDP answer sent it to TCP),
 * its rcode with the text of a TXT answer (CHAOS hostname.bind,
 * id.server ...), the NSID, and a late reply that differed from the one
 * taken (a sign of injection) as its note. */
static void
dns_once_cells(const struct measurement *m, const struct probe_task *t,
    const json_t *r, struct probe_cells *c)
{
	const char *proto = json_string_value(json_object_get(r, "proto"));
	const char *asked = json_string_value(
	    json_object_get(r, "proto_requested"));
	const char *rcode = json_string_value(json_object_get(r, "rcode"));
	size_t i, n, len = sizeof(c->answer);
	json_t *s;

	(void)m;
	if (proto == NULL)
		proto = dns_proto_name((enum dns_proto)t->proto);
	snprintf(c->buf[0], sizeof(c->buf[0]), "%s/v%d%s", proto, t->target.af,
	    asked != NULL && strcmp(asked, proto) != 0 ? " after TC" : "");
	n = (size_t)snprintf(c->answer, len, "%s", rcode != NULL ? rcode : "");
	json_array_foreach(json_object_get(r, "txt"), i, s)
		if (n < len)
			n += (size_t)snprintf(c->answer + n, len - n, " \"%s\"",
			    json_string_value(s) != NULL ?
			        json_string_value(s) :
			        "");
	c->server = t->has_target ? (t->target.name[0] ? t->target.name : "-") :
	                            t->tld;
	c->address = t->has_target ? t->target.addr : "-";
	c->via = t->has_target ? c->buf[0] : "-";
	c->ms_field = "rtt_ms";
	c->server_id = json_string_value(json_object_get(r, "nsid"));
	if (json_is_true(
	        json_object_get(json_object_get(r, "late_replies"), "differ")))
		c->note = "late reply differs";
}

const struct probe_kind dns_probe_kind = {
	.name = "dns",
	.run_name = "query",
	.conf_opts = conf_dns_opts,
	.conf_build = conf_dns_build,
	.spec_free = dns_spec_free,
	.spec_check = dns_kind_spec_check,
	.spec_rules = DNS_SPEC_RULES,
	.queries = dns_queries,
	.summary = dns_summary,
	.describe = dns_describe,
	.tasks = dns_tasks,
	.serial = true,
	.run_max = dns_run_max,
	.label = dns_label,
	.same = dns_same,
	.failure_fields = dns_failure_fields,
	.start = dns_start,
	.cancel = dns_run_cancel,
	.redirect = dns_run_redirect,
	.once_cells = dns_once_cells,
	.once_note_total = "with a late reply that differs: a sign of "
	                   "injection",
};
