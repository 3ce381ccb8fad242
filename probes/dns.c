/*
 * dns.c -- the DNS measurement engine.
 *
 * One probe sends one query to one server address and reports one
 * result.  The life of a probe:
 *
 *   start -> attempt (UDP or TCP) -> reply accepted -> [late window] -> done
 *                  |  timeout: retry with a new ID and a new socket
 *                  |  TC=1 over UDP: one attempt over TCP
 *                  +- error / final timeout -> done (a failure result)
 *
 * Everything the network sends is untrusted: datagrams that do not match
 * the query are remembered as evidence but never accepted, and what the
 * probe could not parse is reported with its raw bytes.
 *
 * The messages themselves -- the query's bytes, parsing and checking a
 * reply, the reply's result fields -- are dns_wire.c's.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "dns.h"
#include "log.h"
#include "result.h"

/* The largest DNS message: TCP's length prefix and a UDP datagram. */
#define DNS_MSG_MAX 65535

enum dns_state {
	DNS_STATE_WAIT, /* an attempt is in flight */
	DNS_STATE_LATE, /* reply accepted; counting late datagrams */
	DNS_STATE_DONE, /* outcome known; done() runs from the loop */
};

/* Bytes kept for the result: a copy, owned by the probe. */
struct dns_bytes {
	uint8_t *data;
	size_t len;
};

struct dns_probe {
	struct event_base *base;
	struct dns_spec spec; /* spec.name points to name */
	char *name;
	struct target target;
	dns_done_fn done;        /* DNS callers */
	probe_done_fn kind_done; /* generic callers (dns_probe_kind) */
	void *arg;

	enum dns_state state;
	enum dns_proto proto; /* of the attempt in flight */
	enum dns_proto proto_requested;
	int fd;
	struct event *ev_io;
	struct event *ev_timer;
	uint16_t id;        /* of the attempt in flight */
	int attempts;       /* attempts, all transports */
	int proto_attempts; /* attempts over `proto` */
	bool time_set;
	cw_usec_t time;       /* UTC of the first send/connect */
	cw_usec_t t_connect;  /* monotonic, at connect() (TCP) */
	cw_usec_t connect_us; /* -1 until connected (TCP) */
	cw_usec_t t_send;     /* monotonic, just before send() */
	cw_usec_t rtt;        /* -1 until a reply is accepted */

	/* The query on the wire (TCP: with its length prefix). */
	uint8_t *out;
	size_t out_len, out_done;

	/* TCP reply being read: the length prefix, then the message. */
	uint8_t tcp_prefix[2];
	size_t tcp_prefix_have;
	uint8_t *in; /* announced length + 1 spare byte */
	size_t in_len, in_have;
	bool tcp_extra; /* more bytes than announced */

	/* The first bytes of the TCP attempt's stream, prefix included, and
	 * whether a whole message of it parsed as DNS: what a stream that
	 * gave no reply looked like (non_dns_on_tcp). */
	uint8_t tcp_head[DNS_TCP_HEAD_MAX];
	size_t tcp_head_len;
	bool tcp_parsed;

	/* The accepted reply. */
	struct dns_bytes reply;
	ldns_pkt *pkt;
	int ip_ttl; /* -1 when unknown */

	/* The first datagram or message that was not accepted. */
	enum cw_failure rejected;
	char *rejected_detail;
	struct dns_bytes rejected_wire;
	int rejected_count;

	/* A UDP reply with TC=1 that was retried over TCP. */
	bool truncated;
	struct dns_bytes tc_wire;
	cw_usec_t tc_rtt;
	uint16_t tc_id;

	/* Datagrams after the accepted one, within spec.late_window. */
	int late_count;
	bool late_differ;
	struct dns_bytes late_wire; /* the first that differed */

	/* The outcome when it is not the reply's rcode. */
	enum cw_failure failure;
	char *failure_detail;
	struct dns_bytes failure_wire; /* partial TCP message */
};

static void dns_timer_cb(evutil_socket_t, short, void *);
static void dns_udp_read_cb(evutil_socket_t, short, void *);
static void dns_tcp_write_cb(evutil_socket_t, short, void *);
static void dns_tcp_read_cb(evutil_socket_t, short, void *);
static void dns_attempt_start(struct dns_probe *);

/* --- The spec and its rules --- */

void
dns_spec_init(struct dns_spec *spec)
{
	memset(spec, 0, sizeof(*spec));
	spec->name = NULL;
	snprintf(spec->qname, sizeof(spec->qname), ".");
	spec->qtype = LDNS_RR_TYPE_SOA;
	spec->qclass = LDNS_RR_CLASS_IN;
	spec->transports = DNS_PROTO_UDP | DNS_PROTO_TCP;
	spec->afs = DNS_AF_4 | DNS_AF_6;
	spec->port = 53;
	spec->edns_size = 1232;
	spec->do_bit = false;
	spec->nsid = true;
	spec->rd = false;
	spec->tcp_on_truncation = true;
	spec->timeout = 4 * CW_USEC_PER_SEC;
	spec->retries = 0;
	spec->late_window = 200 * CW_USEC_PER_MSEC;
}

int
dns_spec_check(const struct dns_spec *spec, enum dns_spec_rule rule, char *err,
    size_t errlen)
{
	switch (rule) {
	case DNS_SPEC_EDNS_SIZE:
		if (spec->edns_size == 0 ||
		    spec->edns_size >= DNS_EDNS_SIZE_MIN)
			return 0;
		snprintf(err, errlen, "%u is below %d (0 turns EDNS off)",
		    (unsigned)spec->edns_size, DNS_EDNS_SIZE_MIN);
		return -1;
	case DNS_SPEC_DO:
		if (!spec->do_bit || spec->edns_size != 0)
			return 0;
		snprintf(err, errlen,
		    "needs EDNS, which an EDNS size of 0 "
		    "turns off");
		return -1;
	case DNS_SPEC_NSID:
		if (!spec->nsid || spec->edns_size != 0)
			return 0;
		snprintf(err, errlen,
		    "needs EDNS, which an EDNS size of 0 "
		    "turns off");
		return -1;
	case DNS_SPEC_TIMEOUT:
		return probe_timeout_check(spec->timeout, err, errlen);
	case DNS_SPEC_LATE_WINDOW:
		if (spec->late_window >= 0 &&
		    spec->late_window <= DNS_LATE_WINDOW_MAX)
			return 0;
		snprintf(err, errlen, "must be from 0 to 1m");
		return -1;
	case DNS_SPEC_RULES:
		break;
	}
	snprintf(err, errlen, "no such rule");
	return -1;
}

int
dns_spec_set_qname(struct dns_spec *spec, const char *qname)
{
	ldns_rdf *rdf = NULL;
	char *text;
	int rc = -1;

	if (qname == NULL || *qname == '\0')
		return -1;
	if (ldns_str2rdf_dname(&rdf, qname) != LDNS_STATUS_OK)
		return -1;
	/* Store the canonical presentation form ("example.com."). */
	if ((text = ldns_rdf2str(rdf)) != NULL &&
	    strlen(text) < sizeof(spec->qname)) {
		snprintf(spec->qname, sizeof(spec->qname), "%s", text);
		rc = 0;
	}
	free(text);
	ldns_rdf_deep_free(rdf);
	return rc;
}

int
dns_spec_set_chaos(struct dns_spec *spec, const char *name)
{
	if (dns_spec_set_qname(spec, name) == -1)
		return -1;
	spec->qtype = LDNS_RR_TYPE_TXT;
	spec->qclass = LDNS_RR_CLASS_CH;
	return 0;
}

/* --- The probe --- */

static int
dns_bytes_set(struct dns_bytes *b, const uint8_t *data, size_t len)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
	if (len == 0)
		return 0;
	if ((b->data = malloc(len)) == NULL)
		return -1;
	memcpy(b->data, data, len);
	b->len = len;
	return 0;
}

static void
dns_bytes_clear(struct dns_bytes *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
}

/* Close the attempt's socket and forget its transport state. */
static void
dns_attempt_close(struct dns_probe *p)
{
	if (p->ev_io != NULL) {
		event_free(p->ev_io);
		p->ev_io = NULL;
	}
	if (p->fd != -1) {
		close(p->fd);
		p->fd = -1;
	}
	free(p->out);
	p->out = NULL;
	p->out_len = p->out_done = 0;
	free(p->in);
	p->in = NULL;
	p->in_len = p->in_have = 0;
	p->tcp_prefix_have = 0;
	p->tcp_extra = false;
}

static void
dns_probe_free(struct dns_probe *p)
{
	dns_attempt_close(p);
	if (p->ev_timer != NULL)
		event_free(p->ev_timer);
	if (p->pkt != NULL)
		ldns_pkt_free(p->pkt);
	dns_bytes_clear(&p->reply);
	dns_bytes_clear(&p->rejected_wire);
	dns_bytes_clear(&p->tc_wire);
	dns_bytes_clear(&p->late_wire);
	dns_bytes_clear(&p->failure_wire);
	free(p->rejected_detail);
	free(p->failure_detail);
	free(p->name);
	free(p);
}

/* Arm the probe's one timer; a zero delay runs it on the next loop pass. */
static void
dns_timer_set(struct dns_probe *p, cw_usec_t delay)
{
	struct timeval tv;

	cw_usec_to_timeval(delay, &tv);
	evtimer_del(p->ev_timer);
	if (evtimer_add(p->ev_timer, &tv) == -1)
		log_warnx("dns: %s: cannot add timer", p->target.addr);
}

/* Record the outcome as `failure` and finish from the loop. */
static void dns_fail(struct dns_probe *p, enum cw_failure failure,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
dns_fail(struct dns_probe *p, enum cw_failure failure, const char *fmt, ...)
{
	va_list ap;

	free(p->failure_detail);
	p->failure_detail = NULL;
	p->failure = failure;
	if (fmt != NULL) {
		va_start(ap, fmt);
		if (vasprintf(&p->failure_detail, fmt, ap) == -1)
			p->failure_detail = NULL;
		va_end(ap);
	}
	dns_attempt_close(p);
	p->state = DNS_STATE_DONE;
	dns_timer_set(p, 0);
}

/* Keep the first datagram or message that was not accepted as evidence. */
static void
dns_reject(struct dns_probe *p, enum cw_failure failure, const char *detail,
    const uint8_t *wire, size_t len)
{
	if (p->rejected_count++ > 0)
		return;
	p->rejected = failure;
	free(p->rejected_detail);
	p->rejected_detail = strdup(detail);
	if (dns_bytes_set(&p->rejected_wire, wire, len) == -1)
		log_warnx("dns: %s: out of memory", p->target.addr);
}

static json_t *
dns_result_query(const struct dns_probe *p)
{
	char tbuf[DNS_TYPE_STRLEN], cbuf[DNS_TYPE_STRLEN];
	const struct dns_spec *s = &p->spec;
	json_t *q = json_object();

	json_object_set_new(q, "qname", json_string(s->qname));
	json_object_set_new(q, "qtype",
	    json_string(dns_qtype_name(s->qtype, tbuf, sizeof(tbuf))));
	json_object_set_new(q, "qclass",
	    json_string(dns_qclass_name(s->qclass, cbuf, sizeof(cbuf))));
	json_object_set_new(q, "id", json_integer(p->id));
	json_object_set_new(q, "rd", json_boolean(s->rd));
	json_object_set_new(q, "do",
	    json_boolean(s->edns_size > 0 && s->do_bit));
	json_object_set_new(q, "nsid",
	    json_boolean(s->edns_size > 0 && s->nsid));
	json_object_set_new(q, "edns_size", json_integer(s->edns_size));
	return q;
}

static void
dns_result_add_truncated(json_t *result, const struct dns_probe *p)
{
	json_t *tc;

	result_set_bool(result, "truncated", p->truncated);
	if (p->tc_wire.len == 0)
		return;
	tc = json_object();
	json_object_set_new(tc, "id", json_integer(p->tc_id));
	result_set_ms(tc, "rtt_ms", p->tc_rtt);
	json_object_set_new(tc, "size",
	    json_integer((json_int_t)p->tc_wire.len));
	dns_result_add_abuf(tc, "abuf", p->tc_wire.data, p->tc_wire.len);
	json_object_set_new(result, "truncated_reply", tc);
}

static void
dns_result_add_late(json_t *result, const struct dns_probe *p)
{
	json_t *late = json_object();

	json_object_set_new(late, "count", json_integer(p->late_count));
	json_object_set_new(late, "differ", json_boolean(p->late_differ));
	dns_result_add_abuf(late, "abuf", p->late_wire.data, p->late_wire.len);
	json_object_set_new(result, "late_replies", late);
}

/* The signs of an impostor this exchange shows (dns.h); every result
 * has the list, empty when there is none. */
static void
dns_result_add_anomalies(json_t *result, const struct dns_probe *p)
{
	json_t *list = json_array();
	const char *looks_like;
	int rc = 0;

	if (list == NULL) {
		log_warnx("dns: %s: out of memory", p->target.addr);
		return;
	}
	if (p->pkt != NULL)
		rc = dns_anomalies_reply(list, &p->spec, p->pkt);
	if (rc == 0 && p->late_differ)
		rc = dns_anomaly_add(list, DNS_ANOMALY_LATE_REPLY_DIFFERS,
		    json_pack("{s:i}", "count", p->late_count));
	if (rc == 0 && p->pkt == NULL && p->proto == DNS_PROTO_TCP &&
	    (looks_like = dns_tcp_non_dns(p->tcp_head, p->tcp_head_len, p->id,
	         p->tcp_parsed)) != NULL)
		rc = dns_anomaly_non_dns_on_tcp(list, looks_like, p->tcp_head,
		    p->tcp_head_len);
	if (rc == -1)
		log_warnx("dns: %s: out of memory", p->target.addr);
	json_object_set_new(result, "anomalies", list);
}

static json_t *
dns_result_build(const struct dns_probe *p)
{
	enum cw_failure failure = p->failure;
	const char *detail = p->failure_detail;
	json_t *r;

	if ((r = result_new("dns", p->spec.name, p->time)) == NULL)
		return NULL;
	if (p->target.name[0] != '\0')
		result_set_str(r, "server", p->target.name);
	result_set_str(r, "addr", p->target.addr);
	result_set_int(r, "port", target_port(&p->target));
	result_set_int(r, "af", p->target.af);
	result_set_str(r, "proto", dns_proto_name(p->proto));
	result_set_str(r, "proto_requested",
	    dns_proto_name(p->proto_requested));
	json_object_set_new(r, "query", dns_result_query(p));
	result_set_ms(r, "rtt_ms", p->pkt != NULL ? p->rtt : -1);
	if (p->proto == DNS_PROTO_TCP)
		result_set_ms(r, "connect_ms", p->connect_us);
	result_set_int(r, "attempts", p->attempts);
	if (p->ip_ttl >= 0)
		result_set_int(r, "ip_ttl", p->ip_ttl);
	else
		json_object_set_new(r, "ip_ttl", json_null());
	dns_result_add_truncated(r, p);
	if (p->pkt != NULL) {
		enum cw_failure rc = dns_result_add_reply(r, &p->spec, p->pkt,
		    p->reply.data, p->reply.len);
		dns_result_add_late(r, p);
		/* A transport anomaly outranks the rcode. */
		if (failure == CW_OK)
			failure = rc;
	} else if (p->rejected_count > 0 && failure == CW_FAIL_TIMEOUT) {
		/* Only non-matching answers came: that is the finding. */
		failure = p->rejected;
		detail = p->rejected_detail;
		dns_result_add_abuf(r, "abuf", p->rejected_wire.data,
		    p->rejected_wire.len);
	} else
		dns_result_add_abuf(r, "abuf", p->failure_wire.data,
		    p->failure_wire.len);
	if (p->rejected_count > 0)
		result_set_int(r, "rejected", p->rejected_count);
	dns_result_add_anomalies(r, p);
	if (failure == CW_OK)
		result_set_ok(r);
	else if (detail != NULL)
		result_set_failure(r, failure, "%s", detail);
	else
		result_set_failure(r, failure, NULL);
	return r;
}

static void
dns_finish(struct dns_probe *p)
{
	json_t *result;

	dns_attempt_close(p);
	if ((result = dns_result_build(p)) == NULL)
		log_warnx("dns: %s: cannot build a result", p->target.addr);
	else if (p->done != NULL)
		p->done(result, p->pkt, p->arg);
	else
		p->kind_done(result, true, p->arg);
	dns_probe_free(p);
}

static void
dns_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dns_probe *p = arg;

	(void)fd;
	(void)what;
	switch (p->state) {
	case DNS_STATE_LATE:
	case DNS_STATE_DONE:
		dns_finish(p);
		return;
	case DNS_STATE_WAIT:
		break;
	}
	if (p->proto_attempts <= p->spec.retries) {
		dns_attempt_close(p);
		dns_attempt_start(p);
		return;
	}
	if (p->proto == DNS_PROTO_TCP && p->connect_us < 0)
		dns_fail(p, CW_FAIL_TIMEOUT, "no TCP connection within %.3f s",
		    (double)p->spec.timeout / 1e6);
	else if (p->proto == DNS_PROTO_TCP && p->in_len > 0) {
		if (dns_bytes_set(&p->failure_wire, p->in, p->in_have) == -1)
			log_warnx("dns: %s: out of memory", p->target.addr);
		dns_fail(p, CW_FAIL_TIMEOUT, "%zu of %zu bytes within %.3f s",
		    p->in_have, p->in_len, (double)p->spec.timeout / 1e6);
	} else
		dns_fail(p, CW_FAIL_TIMEOUT, "no reply within %.3f s",
		    (double)p->spec.timeout / 1e6);
}

/* Replace the I/O event with one for `what` calling `cb`. */
static int
dns_io_set(struct dns_probe *p, short what, event_callback_fn cb)
{
	if (p->ev_io != NULL)
		event_free(p->ev_io);
	p->ev_io = event_new(p->base, p->fd, what | EV_PERSIST, cb, p);
	if (p->ev_io == NULL || event_add(p->ev_io, NULL) == -1) {
		dns_fail(p, CW_FAIL_INTERNAL, "cannot add a socket event");
		return -1;
	}
	return 0;
}

/* A new query (new ID) for the attempt; 0 or -1 (failed, finishing). */
static int
dns_query_prepare(struct dns_probe *p)
{
	uint8_t *wire;
	size_t len;

	p->id = (uint16_t)randombytes_uniform(65536);
	if ((wire = dns_query_build(&p->spec, p->id, &len)) == NULL) {
		dns_fail(p, CW_FAIL_INTERNAL, "cannot build the query");
		return -1;
	}
	if (p->proto == DNS_PROTO_UDP) {
		p->out = wire;
		p->out_len = len;
		return 0;
	}
	if ((p->out = malloc(len + 2)) == NULL) {
		free(wire);
		dns_fail(p, CW_FAIL_INTERNAL, "out of memory");
		return -1;
	}
	p->out[0] = (uint8_t)(len >> 8);
	p->out[1] = (uint8_t)len;
	memcpy(p->out + 2, wire, len);
	p->out_len = len + 2;
	free(wire);
	return 0;
}

static int
dns_socket(struct dns_probe *p, int type)
{
	int domain = p->target.af == 6 ? AF_INET6 : AF_INET;

	p->fd = socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (p->fd == -1) {
		dns_fail(p, cw_failure_from_errno(errno, CW_FAIL_INTERNAL),
		    "socket: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* Ask for the IP TTL / hop limit of received datagrams. */
static void
dns_udp_want_ttl(struct dns_probe *p)
{
	int on = 1, rc;

	if (p->target.af == 6)
		rc = setsockopt(p->fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &on,
		    sizeof(on));
	else
		rc = setsockopt(p->fd, IPPROTO_IP, IP_RECVTTL, &on, sizeof(on));
	if (rc == -1)
		log_debug("dns: %s: cannot ask for the reply TTL: %s",
		    p->target.addr, strerror(errno));
}

/* The result's time: when the first attempt went to the network. */
static void
dns_note_time(struct dns_probe *p)
{
	if (p->time_set)
		return;
	p->time = cw_real_usec();
	p->time_set = true;
}

static void
dns_udp_start(struct dns_probe *p)
{
	ssize_t n;

	if (dns_socket(p, SOCK_DGRAM) == -1)
		return;
	dns_udp_want_ttl(p);
	/* Connected, so ICMP errors reach us and only the server's
	 * datagrams are delivered. */
	if (connect(p->fd, (struct sockaddr *)&p->target.sa, p->target.salen) ==
	    -1) {
		dns_fail(p, cw_failure_from_errno(errno, CW_FAIL_SEND_ERROR),
		    "connect: %s", strerror(errno));
		return;
	}
	if (dns_query_prepare(p) == -1 ||
	    dns_io_set(p, EV_READ, dns_udp_read_cb) == -1)
		return;
	dns_note_time(p);
	p->t_send = cw_mono_usec();
	n = send(p->fd, p->out, p->out_len, 0);
	if (n == -1) {
		dns_fail(p, cw_failure_from_errno(errno, CW_FAIL_SEND_ERROR),
		    "send: %s", strerror(errno));
		return;
	}
	if ((size_t)n != p->out_len) {
		dns_fail(p, CW_FAIL_SEND_ERROR, "send: %zd of %zu bytes", n,
		    p->out_len);
		return;
	}
	dns_timer_set(p, p->spec.timeout);
}

static void
dns_tcp_start(struct dns_probe *p)
{
	p->connect_us = -1;
	p->tcp_head_len = 0;
	p->tcp_parsed = false;
	if (dns_socket(p, SOCK_STREAM) == -1)
		return;
	dns_note_time(p);
	p->t_connect = cw_mono_usec();
	if (connect(p->fd, (struct sockaddr *)&p->target.sa, p->target.salen) ==
	        -1 &&
	    errno != EINPROGRESS) {
		dns_fail(p, cw_failure_from_errno(errno, CW_FAIL_SEND_ERROR),
		    "connect: %s", strerror(errno));
		return;
	}
	if (dns_query_prepare(p) == -1 ||
	    dns_io_set(p, EV_WRITE, dns_tcp_write_cb) == -1)
		return;
	dns_timer_set(p, p->spec.timeout);
}

static void
dns_attempt_start(struct dns_probe *p)
{
	p->state = DNS_STATE_WAIT;
	p->attempts++;
	p->proto_attempts++;
	if (p->proto == DNS_PROTO_TCP)
		dns_tcp_start(p);
	else
		dns_udp_start(p);
}

/* The reply is accepted (pkt and its bytes now belong to the probe). */
static void
dns_accept(struct dns_probe *p, ldns_pkt *pkt, const uint8_t *wire, size_t len,
    cw_usec_t now)
{
	p->rtt = now - p->t_send;
	if (dns_bytes_set(&p->reply, wire, len) == -1) {
		ldns_pkt_free(pkt);
		dns_fail(p, CW_FAIL_INTERNAL, "out of memory");
		return;
	}
	p->pkt = pkt;
}

/* A TC=1 reply over UDP: keep it and ask again over TCP. */
static void
dns_retry_tcp(struct dns_probe *p)
{
	p->truncated = true;
	p->tc_id = p->id;
	p->tc_rtt = p->rtt;
	p->tc_wire = p->reply;
	p->reply.data = NULL;
	p->reply.len = 0;
	ldns_pkt_free(p->pkt);
	p->pkt = NULL;
	p->rtt = -1;
	p->ip_ttl = -1;
	dns_attempt_close(p);
	p->proto = DNS_PROTO_TCP;
	p->proto_attempts = 0;
	dns_attempt_start(p);
}

/* A datagram while waiting: accept it or keep it as evidence. */
static void
dns_udp_datagram(struct dns_probe *p, const uint8_t *buf, size_t len, int ttl,
    cw_usec_t now)
{
	enum cw_failure failure;
	char detail[256];
	ldns_pkt *pkt;

	failure = dns_reply_check(&p->spec, p->id, buf, len, &pkt, detail,
	    sizeof(detail));
	if (failure != CW_OK) {
		log_debug("dns: %s: ignoring a datagram: %s", p->target.addr,
		    detail);
		dns_reject(p, failure, detail, buf, len);
		return;
	}
	dns_accept(p, pkt, buf, len, now);
	if (p->state == DNS_STATE_DONE)
		return;
	p->ip_ttl = ttl;
	if (ldns_pkt_tc(pkt)) {
		if (p->spec.tcp_on_truncation) {
			dns_retry_tcp(p);
			return;
		}
		p->truncated = true;
		p->failure = CW_FAIL_DNS_TRUNCATED;
		p->failure_detail = strdup("TC=1 and no retry over TCP");
	}
	if (p->spec.late_window <= 0) {
		dns_finish(p);
		return;
	}
	p->state = DNS_STATE_LATE;
	dns_timer_set(p, p->spec.late_window);
}

static void
dns_udp_late(struct dns_probe *p, const uint8_t *buf, size_t len)
{
	p->late_count++;
	if (len == p->reply.len && memcmp(buf, p->reply.data, len) == 0)
		return;
	if (!p->late_differ && dns_bytes_set(&p->late_wire, buf, len) == -1)
		log_warnx("dns: %s: out of memory", p->target.addr);
	p->late_differ = true;
}

static int
dns_cmsg_ttl(struct msghdr *msg)
{
	struct cmsghdr *c;
	int ttl;

	for (c = CMSG_FIRSTHDR(msg); c != NULL; c = CMSG_NXTHDR(msg, c)) {
		if ((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TTL) ||
		    (c->cmsg_level == IPPROTO_IPV6 &&
		        c->cmsg_type == IPV6_HOPLIMIT)) {
			if (c->cmsg_len < CMSG_LEN(sizeof(int)))
				continue;
			memcpy(&ttl, CMSG_DATA(c), sizeof(ttl));
			return ttl;
		}
	}
	return -1;
}

static void
dns_udp_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dns_probe *p = arg;
	uint8_t buf[DNS_MSG_MAX];
	union {
		struct cmsghdr align;
		uint8_t buf[CMSG_SPACE(sizeof(int)) * 2];
	} control;
	struct iovec iov;
	struct msghdr msg;
	cw_usec_t now;
	ssize_t n;

	/* One datagram per call: the event is level-triggered, so more
	 * queued datagrams call again, and a flood on one socket cannot
	 * starve the loop nor cost a recvmsg() that finds nothing. */
	(void)what;
	iov.iov_base = buf;
	iov.iov_len = sizeof(buf);
	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = control.buf;
	msg.msg_controllen = sizeof(control.buf);
	n = recvmsg(fd, &msg, 0);
	now = cw_mono_usec();
	if (n == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		/* An ICMP error after the reply changes nothing. */
		if (p->state == DNS_STATE_WAIT)
			dns_fail(p,
			    cw_failure_from_errno(errno, CW_FAIL_RECV_ERROR),
			    "recv: %s", strerror(errno));
		return;
	}
	if (p->state == DNS_STATE_LATE)
		dns_udp_late(p, buf, (size_t)n);
	else
		dns_udp_datagram(p, buf, (size_t)n, dns_cmsg_ttl(&msg), now);
}

static void
dns_tcp_connected(struct dns_probe *p)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	if (err != 0) {
		dns_fail(p, cw_failure_from_errno(err, CW_FAIL_SEND_ERROR),
		    "connect: %s", strerror(err));
		return;
	}
	p->connect_us = cw_mono_usec() - p->t_connect;
}

static void
dns_tcp_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dns_probe *p = arg;
	ssize_t n;

	(void)what;
	if (p->connect_us < 0) {
		dns_tcp_connected(p);
		if (p->state == DNS_STATE_DONE)
			return;
	}
	if (p->out_done == 0)
		p->t_send = cw_mono_usec();
	n = send(fd, p->out + p->out_done, p->out_len - p->out_done,
	    MSG_NOSIGNAL);
	if (n == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		dns_fail(p, cw_failure_from_errno(errno, CW_FAIL_SEND_ERROR),
		    "send: %s", strerror(errno));
		return;
	}
	p->out_done += (size_t)n;
	if (p->out_done < p->out_len)
		return;
	dns_io_set(p, EV_READ, dns_tcp_read_cb);
}

/* The whole message is in p->in: judge it. */
static void
dns_tcp_message(struct dns_probe *p, cw_usec_t now)
{
	enum cw_failure failure;
	char detail[256];
	ldns_pkt *pkt;

	failure = dns_reply_check(&p->spec, p->id, p->in, p->in_len, &pkt,
	    detail, sizeof(detail));
	p->tcp_parsed = failure != CW_FAIL_DNS_MALFORMED;
	if (failure != CW_OK) {
		/* Over TCP nothing else will come: the answer is wrong. */
		if (dns_bytes_set(&p->failure_wire, p->in, p->in_len) == -1)
			log_warnx("dns: %s: out of memory", p->target.addr);
		dns_fail(p, failure, "%s", detail);
		return;
	}
	dns_accept(p, pkt, p->in, p->in_len, now);
	if (p->state == DNS_STATE_DONE)
		return;
	if (p->tcp_extra) {
		p->failure = CW_FAIL_DNS_OVERSIZED;
		p->failure_detail = strdup("more bytes than the announced "
		                           "length");
	}
	dns_finish(p);
}

/* Keep the stream's first bytes, whatever they turn out to be. */
static void
dns_tcp_head_note(struct dns_probe *p, const uint8_t *buf, size_t len)
{
	size_t room = sizeof(p->tcp_head) - p->tcp_head_len;

	if (len > room)
		len = room;
	memcpy(p->tcp_head + p->tcp_head_len, buf, len);
	p->tcp_head_len += len;
}

/* Read into the prefix or the message; returns bytes, 0 at EOF, -1. */
static ssize_t
dns_tcp_recv(struct dns_probe *p, uint8_t *buf, size_t len)
{
	ssize_t n = recv(p->fd, buf, len, 0);

	if (n > 0)
		dns_tcp_head_note(p, buf, (size_t)n);

	if (n == -1 && errno != EAGAIN && errno != EWOULDBLOCK &&
	    errno != EINTR)
		dns_fail(p, cw_failure_from_errno(errno, CW_FAIL_RECV_ERROR),
		    "recv: %s", strerror(errno));
	else if (n == 0) {
		if (p->in_have > 0 &&
		    dns_bytes_set(&p->failure_wire, p->in, p->in_have) == -1)
			log_warnx("dns: %s: out of memory", p->target.addr);
		if (p->in == NULL)
			dns_fail(p, CW_FAIL_EOF,
			    "connection closed after %zu "
			    "of 2 length bytes",
			    p->tcp_prefix_have);
		else
			dns_fail(p, CW_FAIL_EOF,
			    "connection closed after %zu "
			    "of %zu bytes",
			    p->in_have, p->in_len);
	}
	return n;
}

static void
dns_tcp_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dns_probe *p = arg;
	cw_usec_t now = 0;
	ssize_t n;

	(void)fd;
	(void)what;
	while (p->in == NULL) {
		n = dns_tcp_recv(p, p->tcp_prefix + p->tcp_prefix_have,
		    2 - p->tcp_prefix_have);
		if (n <= 0)
			return;
		if ((p->tcp_prefix_have += (size_t)n) < 2)
			continue;
		p->in_len = (size_t)(p->tcp_prefix[0] << 8 | p->tcp_prefix[1]);
		if (p->in_len < LDNS_HEADER_SIZE) {
			dns_fail(p, CW_FAIL_DNS_MALFORMED,
			    "announced length "
			    "%zu, shorter than a DNS header",
			    p->in_len);
			return;
		}
		/* One spare byte reveals a peer sending more than it said. */
		if ((p->in = malloc(p->in_len + 1)) == NULL) {
			dns_fail(p, CW_FAIL_INTERNAL, "out of memory");
			return;
		}
	}
	for (;;) {
		n = dns_tcp_recv(p, p->in + p->in_have,
		    p->in_len + 1 - p->in_have);
		now = cw_mono_usec();
		if (n <= 0)
			return;
		p->in_have += (size_t)n;
		if (p->in_have >= p->in_len)
			break;
	}
	if (p->in_have > p->in_len)
		p->tcp_extra = true;
	dns_tcp_message(p, now);
}

static struct dns_probe *
dns_probe_new(struct event_base *base, const struct dns_spec *spec,
    const struct target *target, enum dns_proto proto)
{
	struct dns_probe *p;

	if ((p = calloc(1, sizeof(*p))) == NULL) {
		log_warn("%s: calloc", __func__);
		return NULL;
	}
	p->base = base;
	p->spec = *spec;
	/* The caller may free its spec (a configuration reload) at once. */
	if (spec->name != NULL &&
	    (p->spec.name = p->name = strdup(spec->name)) == NULL) {
		log_warn("%s: strdup", __func__);
		free(p);
		return NULL;
	}
	p->target = *target;
	p->fd = -1;
	p->proto = p->proto_requested = proto == DNS_PROTO_TCP ? DNS_PROTO_TCP :
	                                                         DNS_PROTO_UDP;
	p->connect_us = -1;
	p->rtt = -1;
	p->ip_ttl = -1;
	p->time = cw_real_usec();
	if ((p->ev_timer = evtimer_new(base, dns_timer_cb, p)) == NULL) {
		log_warnx("%s: cannot create a timer", __func__);
		free(p->name);
		free(p);
		return NULL;
	}
	return p;
}

struct dns_probe *
dns_probe_start(struct event_base *base, const struct dns_spec *spec,
    const struct target *target, enum dns_proto proto, dns_done_fn done,
    void *arg)
{
	struct dns_probe *p;

	if ((p = dns_probe_new(base, spec, target, proto)) == NULL)
		return NULL;
	p->done = done;
	p->arg = arg;
	dns_attempt_start(p);
	return p;
}

void
dns_probe_cancel(struct dns_probe *probe)
{
	if (probe != NULL)
		dns_probe_free(probe);
}

void
dns_probe_redirect(struct dns_probe *probe, dns_done_fn done, void *arg)
{
	probe->done = done;
	probe->kind_done = NULL;
	probe->arg = arg;
}

/* The generic interface (probes/probe.h): a struct probe_run is a
 * struct dns_probe under another name. */
struct probe_run *
dns_run_start(struct event_base *base, const struct dns_spec *spec,
    const struct target *target, enum dns_proto proto, probe_done_fn done,
    void *arg)
{
	struct dns_probe *p;

	if ((p = dns_probe_new(base, spec, target, proto)) == NULL)
		return NULL;
	p->kind_done = done;
	p->arg = arg;
	dns_attempt_start(p);
	return (struct probe_run *)p;
}

void
dns_run_cancel(struct probe_run *run)
{
	dns_probe_cancel((struct dns_probe *)run);
}

void
dns_run_redirect(struct probe_run *run, probe_done_fn done, void *arg)
{
	struct dns_probe *p = (struct dns_probe *)run;

	p->done = NULL;
	p->kind_done = done;
	p->arg = arg;
}
