/*
 * http_lookup.c -- the host's addresses for an HTTP run (http.h): the
 * hosts file first, then the nameservers of resolv.conf, one after the
 * other, each asked with the probe's own DNS query (probes/dns.c), so
 * that the result can tell a refusal from a silent server.  Both files
 * are read again when they change.  The addresses found start the
 * run's transfers (http.c); a lookup that fails ends the run.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/dns.h>
#include <event2/util.h>

#include "dns.h"
#include "http.h"
#include "http_int.h"
#include "log.h"
#include "target.h"

#define HTTP_DNS_TIMEOUT  (3 * CW_USEC_PER_SEC) /* per attempt */
#define HTTP_DNS_ATTEMPTS 2                     /* per nameserver */

enum cw_failure
http_failure_of_lookup(enum cw_failure dns)
{
	return dns == CW_FAIL_CONNECTION_REFUSED ? CW_FAIL_DNS_REFUSED : dns;
}

/* http_resolved_add: an address of the answer, in `family`, once. */
static void
http_resolved_add(struct http_probe *run, int family, const void *bin)
{
	char text[INET6_ADDRSTRLEN];
	size_t i;
	json_t *v;

	if (inet_ntop(family, bin, text, sizeof(text)) == NULL)
		return;
	json_array_foreach(run->resolved, i, v)
		if (strcmp(json_string_value(v), text) == 0)
			return;
	json_array_append_new(run->resolved, json_string(text));
}

/* http_lookup_addrs: the host resolved (run->resolved): a transfer to
 * every address. */
static void
http_lookup_addrs(struct http_probe *run)
{
	char detail[256];
	size_t started = 0;

	for (size_t i = 0; i < json_array_size(run->resolved); i++)
		if (http_xfer_start(run,
		        json_string_value(json_array_get(run->resolved, i))) ==
		    0)
			started++;
	if (started > 0)
		return;
	if (json_array_size(run->resolved) == 0) {
		snprintf(detail, sizeof(detail), "%s has no IPv%d address",
		    run->host, run->af);
		http_run_fail(run, CW_FAIL_DNS_NO_ANSWER, detail);
		return;
	}
	http_run_fail(run, CW_FAIL_INTERNAL, "could not start the requests");
}

static int http_lookup_ask(struct http_probe *, int);

/* http_lookup_answer: the addresses of the run's family in the answer
 * section of `reply`, in their order, into run->resolved. */
static void
http_lookup_answer(struct http_probe *run, const ldns_pkt *reply)
{
	bool v6 = run->af == 6;
	ldns_rr_list *rrs;
	ldns_rdf *rd;

	rrs = ldns_pkt_rr_list_by_type((ldns_pkt *)reply,
	    v6 ? LDNS_RR_TYPE_AAAA : LDNS_RR_TYPE_A, LDNS_SECTION_ANSWER);
	for (size_t i = 0; rrs != NULL && i < ldns_rr_list_rr_count(rrs); i++)
		if ((rd = ldns_rr_rdf(ldns_rr_list_rr(rrs, i), 0)) != NULL &&
		    ldns_rdf_size(rd) == (v6 ? 16 : 4))
			http_resolved_add(run, v6 ? AF_INET6 : AF_INET,
			    ldns_rdf_data(rd));
	ldns_rr_list_deep_free(rrs);
}

/* http_lookup_failed: no nameserver gave an answer; the last one's
 * DNS result says why. */
static void
http_lookup_failed(struct http_probe *run, json_t *dns, enum cw_failure failure)
{
	const char *why = json_string_value(
	    json_object_get(dns, "failure_detail"));
	char detail[512];

	if (why == NULL)
		why = json_string_value(json_object_get(dns, "rcode"));
	snprintf(detail, sizeof(detail), "%s: nameserver %s port %lld: %s",
	    run->host, json_string_value(json_object_get(dns, "addr")),
	    json_integer_value(json_object_get(dns, "port")),
	    why != NULL ? why : cw_failure_name(failure));
	http_run_fail(run, http_failure_of_lookup(failure), detail);
}

/* http_lookup_done: dns_done_fn: a nameserver's answer to the run's
 * question.  An answer ends the lookup (NXDOMAIN too: the name's own);
 * without one the next nameserver is asked, until none is left. */
static void
http_lookup_done(json_t *dns, const ldns_pkt *reply, void *arg)
{
	struct http_probe *run = arg;
	const char *name = json_string_value(json_object_get(dns, "failure"));
	int failure = name == NULL ? CW_OK : cw_failure_from_name(name);

	run->query = NULL;
	if (failure == -1)
		failure = CW_FAIL_DNS_LOOKUP;
	if (failure != CW_OK && failure != CW_FAIL_DNS_NXDOMAIN &&
	    http_lookup_ask(run, run->nameserver + 1) == 0) {
		json_decref(dns);
		return;
	}
	evtimer_del(run->deadline);
	run->dns_usec = cw_mono_usec() - run->t0;
	if (failure != CW_OK || reply == NULL)
		http_lookup_failed(run, dns,
		    failure != CW_OK ? (enum cw_failure)failure :
		                       CW_FAIL_DNS_LOOKUP);
	else if ((run->resolved = json_array()) == NULL)
		http_run_fail(run, CW_FAIL_INTERNAL, "out of memory");
	else {
		http_lookup_answer(run, reply);
		http_lookup_addrs(run);
	}
	json_decref(dns);
}

/* http_deadline_cb: the lookup took the run's whole time. */
void
http_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_probe *run = arg;
	char detail[256];

	(void)fd;
	(void)what;
	if (run->query == NULL)
		return;
	dns_probe_cancel(run->query);
	run->query = NULL;
	run->dns_usec = cw_mono_usec() - run->t0;
	snprintf(detail, sizeof(detail),
	    "no answer for %s within the "
	    "timeout",
	    run->host);
	http_run_fail(run, CW_FAIL_TIMEOUT, detail);
}

/* http_file_changed: whether `path` is not as *stamp says (written,
 * replaced, appeared or gone); *stamp becomes what it is now.  Taken
 * before the file is read, so that a write during the read is seen at
 * the next call. */
bool
http_file_changed(const char *path, struct http_file_stamp *stamp)
{
	struct http_file_stamp now;
	struct stat st;
	bool changed;

	memset(&now, 0, sizeof(now));
	if (stat(path, &st) == 0) {
		now.present = true;
		now.dev = st.st_dev;
		now.ino = st.st_ino;
		now.size = st.st_size;
		now.mtime = st.st_mtim;
	}
	changed = now.present != stamp->present || now.dev != stamp->dev ||
	    now.ino != stamp->ino || now.size != stamp->size ||
	    now.mtime.tv_sec != stamp->mtime.tv_sec ||
	    now.mtime.tv_nsec != stamp->mtime.tv_nsec;
	*stamp = now;
	return changed;
}

/* http_hosts_load: (re)load the hosts file, replacing what was loaded
 * before: evdns_base_load_hosts() only adds to it, so a name removed
 * from the file would stay.  A file that cannot be read leaves evdns
 * localhost alone.  Returns evdns_base_load_hosts()'s result. */
int
http_hosts_load(struct http_engine *eng)
{
	evdns_base_clear_host_addresses(eng->hosts_dns);
	return evdns_base_load_hosts(eng->hosts_dns, eng->hosts);
}

/* A look in the hosts file: what evdns_getaddrinfo() answered. */
struct http_hosts_answer {
	struct evutil_addrinfo *res;
	bool waiting; /* not in the file */
};

/* http_hosts_cb: evdns_getaddrinfo()'s answer on the hosts base: from
 * inside the call for a name in the file, else later, as the notice of
 * its cancellation, which frees the answer. */
static void
http_hosts_cb(int err, struct evutil_addrinfo *res, void *arg)
{
	struct http_hosts_answer *a = arg;

	if (a->waiting) {
		if (res != NULL)
			evutil_freeaddrinfo(res);
		free(a);
		return;
	}
	if (err == 0)
		a->res = res;
	else if (res != NULL)
		evutil_freeaddrinfo(res);
}

/*
 * http_hosts_lookup: the run's host in the hosts file; true, with
 * run->resolved set, when it is there (or when memory ran out: the run
 * then fails).  Only evdns_getaddrinfo() looks in the hosts file, and
 * it goes on to the nameservers itself, giving every failure there as
 * one EAI_FAIL (a silent server and a refusal alike); so it is asked on
 * a base of its own without nameservers, where a name not in the file
 * waits for one, no packet sent, and is cancelled at once.
 */
static bool
http_hosts_lookup(struct http_probe *run)
{
	struct evutil_addrinfo hints, *ai;
	struct evdns_getaddrinfo_request *req;
	struct http_hosts_answer *a;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return false;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = run->af == 6 ? AF_INET6 : AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	if ((req = evdns_getaddrinfo(run->engine->hosts_dns, run->host, NULL,
	         &hints, http_hosts_cb, a)) != NULL) {
		a->waiting = true;
		evdns_getaddrinfo_cancel(req);
		return false;
	}
	if (a->res == NULL) {
		free(a);
		return false;
	}
	run->dns_usec = cw_mono_usec() - run->t0;
	if ((run->resolved = json_array()) != NULL)
		for (ai = a->res; ai != NULL; ai = ai->ai_next)
			http_resolved_add(run, ai->ai_family,
			    ai->ai_family == AF_INET ?
			        (const void *)&(
			            (struct sockaddr_in *)ai->ai_addr)
			            ->sin_addr :
			        (const void *)&(
			            (struct sockaddr_in6 *)ai->ai_addr)
			            ->sin6_addr);
	evutil_freeaddrinfo(a->res);
	free(a);
	if (run->resolved == NULL)
		http_run_fail(run, CW_FAIL_INTERNAL, "out of memory");
	else
		http_lookup_addrs(run);
	return true;
}

/* http_resolver_refresh: read the nameservers again when their file
 * changed since (a laptop that moved, a router that got new servers
 * by DHCP), and the hosts file when it changed.  Lookups in flight
 * wait and go to the new servers; they have looked in the hosts file
 * already. */
static void
http_resolver_refresh(struct http_engine *eng)
{
	int rc;

	if (http_file_changed(eng->hosts, &eng->hosts_stamp)) {
		if (http_hosts_load(eng) != 0)
			log_warnx("http: %s changed and cannot be read: only "
			          "localhost is known without a lookup",
			    eng->hosts);
		else
			log_info("http: %s changed: its names are in use",
			    eng->hosts);
	}
	if (!http_file_changed(eng->resolv_conf, &eng->resolv_stamp) ||
	    !eng->resolv_stamp.present)
		return;
	evdns_base_clear_nameservers_and_suspend(eng->dns);
	rc = evdns_base_resolv_conf_parse(eng->dns, DNS_OPTION_NAMESERVERS,
	    eng->resolv_conf);
	evdns_base_resume(eng->dns);
	if (rc != 0)
		log_warnx("http: %s changed and cannot be read (evdns error "
		          "%d)",
		    eng->resolv_conf, rc);
	else
		log_info("http: %s changed: its nameservers are in use",
		    eng->resolv_conf);
}

/* http_lookup_ask: put the run's question to nameserver `idx` of
 * resolv_conf, with the probe's own DNS query (probes/dns.c: its own
 * connected socket, so that a port where nothing listens is told from
 * a silent one).  0, or -1 when there is no such nameserver or the
 * query cannot be made. */
static int
http_lookup_ask(struct http_probe *run, int idx)
{
	struct sockaddr_storage ss;
	struct dns_spec spec;
	struct target t;
	char text[INET6_ADDRSTRLEN], err[128];
	const void *bin;
	int len;
	uint16_t port;

	len = evdns_base_get_nameserver_addr(run->engine->dns, idx,
	    (struct sockaddr *)&ss, sizeof(ss));
	if (len <= 0 || (size_t)len > sizeof(ss) ||
	    (ss.ss_family != AF_INET && ss.ss_family != AF_INET6))
		return -1;
	bin = ss.ss_family == AF_INET ?
	    (const void *)&((struct sockaddr_in *)&ss)->sin_addr :
	    (const void *)&((struct sockaddr_in6 *)&ss)->sin6_addr;
	port = ntohs(ss.ss_family == AF_INET ?
	        ((struct sockaddr_in *)&ss)->sin_port :
	        ((struct sockaddr_in6 *)&ss)->sin6_port);
	dns_spec_init(&spec);
	if (inet_ntop(ss.ss_family, bin, text, sizeof(text)) == NULL ||
	    target_parse(text, port, &t, err, sizeof(err)) == -1 ||
	    dns_spec_set_qname(&spec, run->host) == -1)
		return -1;
	spec.qtype = run->af == 6 ? LDNS_RR_TYPE_AAAA : LDNS_RR_TYPE_A;
	spec.transports = DNS_PROTO_UDP;
	spec.afs = t.af == 6 ? DNS_AF_6 : DNS_AF_4;
	spec.port = port;
	spec.rd = true;
	spec.nsid = false;
	spec.timeout = HTTP_DNS_TIMEOUT;
	spec.retries = HTTP_DNS_ATTEMPTS - 1;
	spec.late_window = 0;
	run->nameserver = idx;
	run->query = dns_probe_start(run->engine->base, &spec, &t,
	    DNS_PROTO_UDP, http_lookup_done, run);
	return run->query != NULL ? 0 : -1;
}

/* http_lookup_start: resolve the run's host in its family: in the
 * hosts file, else at the nameservers, one after the other. */
int
http_lookup_start(struct http_probe *run)
{
	struct timeval tv;

	http_resolver_refresh(run->engine);
	if (http_hosts_lookup(run))
		return 0;
	if (http_lookup_ask(run, 0) == -1) {
		run->dns_usec = cw_mono_usec() - run->t0;
		http_run_fail(run, CW_FAIL_DNS_NO_SERVERS,
		    "no nameserver to "
		    "ask (resolv_conf)");
		return 0;
	}
	cw_usec_to_timeval(run->timeout, &tv);
	evtimer_add(run->deadline, &tv);
	return 0;
}
