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
/* Room for any query we build (it grows if ever needed). */
#define DNS_QUERY_BUFSIZE 512

enum dns_state {
	DNS_STATE_WAIT,		/* an attempt is in flight */
	DNS_STATE_LATE,		/* reply accepted; counting late datagrams */
	DNS_STATE_DONE,		/* outcome known; done() runs from the loop */
};

/* Bytes kept for the result: a copy, owned by the probe. */
struct dns_bytes {
	uint8_t *data;
	size_t len;
};

struct dns_probe {
	struct event_base *base;
	struct dns_spec spec;		/* spec.name points to name */
	char *name;
	struct target target;
	dns_done_fn done;		/* DNS callers */
	probe_done_fn kind_done;	/* generic callers (dns_probe_kind) */
	void *arg;

	enum dns_state state;
	enum dns_proto proto;		/* of the attempt in flight */
	enum dns_proto proto_requested;
	int fd;
	struct event *ev_io;
	struct event *ev_timer;
	uint16_t id;			/* of the attempt in flight */
	int attempts;			/* attempts, all transports */
	int proto_attempts;		/* attempts over `proto` */
	bool time_set;
	cw_usec_t time;			/* UTC of the first send/connect */
	cw_usec_t t_connect;		/* monotonic, at connect() (TCP) */
	cw_usec_t connect_us;		/* -1 until connected (TCP) */
	cw_usec_t t_send;		/* monotonic, just before send() */
	cw_usec_t rtt;			/* -1 until a reply is accepted */

	/* The query on the wire (TCP: with its length prefix). */
	uint8_t *out;
	size_t out_len, out_done;

	/* TCP reply being read: the length prefix, then the message. */
	uint8_t tcp_prefix[2];
	size_t tcp_prefix_have;
	uint8_t *in;			/* announced length + 1 spare byte */
	size_t in_len, in_have;
	bool tcp_extra;			/* more bytes than announced */

	/* The accepted reply. */
	struct dns_bytes reply;
	ldns_pkt *pkt;
	int ip_ttl;			/* -1 when unknown */

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
	struct dns_bytes late_wire;	/* the first that differed */

	/* The outcome when it is not the reply's rcode. */
	enum cw_failure failure;
	char *failure_detail;
	struct dns_bytes failure_wire;	/* partial TCP message */
};

static void dns_timer_cb(evutil_socket_t, short, void *);
static void dns_udp_read_cb(evutil_socket_t, short, void *);
static void dns_tcp_write_cb(evutil_socket_t, short, void *);
static void dns_tcp_read_cb(evutil_socket_t, short, void *);
static void dns_attempt_start(struct dns_probe *);

/* ------------------------------------------------------------------ */
/* Specs, names and text                                              */

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
dns_spec_check(const struct dns_spec *spec, enum dns_spec_rule rule,
    char *err, size_t errlen)
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
		snprintf(err, errlen, "needs EDNS, which an EDNS size of 0 "
		    "turns off");
		return -1;
	case DNS_SPEC_NSID:
		if (!spec->nsid || spec->edns_size != 0)
			return 0;
		snprintf(err, errlen, "needs EDNS, which an EDNS size of 0 "
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

int
dns_qtype_parse(const char *text)
{
	ldns_rr_type type;

	if (text == NULL || *text == '\0')
		return -1;
	type = ldns_get_rr_type_by_name(text);
	if (type == 0 || type == LDNS_RR_TYPE_AXFR ||
	    type == LDNS_RR_TYPE_IXFR)
		return -1;
	return (int)type;
}

int
dns_qclass_parse(const char *text)
{
	ldns_rr_class klass;

	if (text == NULL || *text == '\0')
		return -1;
	klass = ldns_get_rr_class_by_name(text);
	return klass == 0 ? -1 : (int)klass;
}

const char *
dns_proto_name(enum dns_proto proto)
{
	return proto == DNS_PROTO_TCP ? "tcp" : "udp";
}

char *
dns_qtype_name(ldns_rr_type type, char *buf, size_t len)
{
	char *name = ldns_rr_type2str(type);

	/* ldns says "TYPE65" for types it does not know. */
	if (name != NULL)
		snprintf(buf, len, "%s", name);
	else
		snprintf(buf, len, "TYPE%u", (unsigned)type);
	free(name);
	return buf;
}

char *
dns_qclass_name(ldns_rr_class klass, char *buf, size_t len)
{
	char *name = ldns_rr_class2str(klass);

	if (name != NULL)
		snprintf(buf, len, "%s", name);
	else
		snprintf(buf, len, "CLASS%u", (unsigned)klass);
	free(name);
	return buf;
}

char *
dns_text_escape(const uint8_t *data, size_t len)
{
	char *text, *p;

	/* Worst case: every byte becomes \DDD. */
	if ((text = malloc(len * 4 + 1)) == NULL)
		return NULL;
	p = text;
	for (size_t i = 0; i < len; i++) {
		uint8_t c = data[i];
		if (c == '\\') {
			*p++ = '\\';
			*p++ = '\\';
		} else if (c >= 0x20 && c <= 0x7e) {
			*p++ = (char)c;
		} else {
			*p++ = '\\';
			*p++ = (char)('0' + c / 100);
			*p++ = (char)('0' + c / 10 % 10);
			*p++ = (char)('0' + c % 10);
		}
	}
	*p = '\0';
	return text;
}

/* ------------------------------------------------------------------ */
/* Messages: building queries, checking replies, result fields         */

uint8_t *
dns_query_build(const struct dns_spec *spec, uint16_t id, size_t *len)
{
	ldns_edns_option_list *options = NULL;
	ldns_edns_option *nsid;
	ldns_buffer *buf;
	ldns_rdf *qname = NULL;
	ldns_pkt *pkt = NULL;
	uint8_t *wire = NULL;
	ldns_status st;

	*len = 0;
	if (ldns_str2rdf_dname(&qname, spec->qname) != LDNS_STATUS_OK) {
		log_warnx("%s: bad query name \"%s\"", __func__, spec->qname);
		return NULL;
	}
	/* The packet owns qname from here on. */
	pkt = ldns_pkt_query_new(qname, spec->qtype, spec->qclass, 0);
	if (pkt == NULL) {
		ldns_rdf_deep_free(qname);
		goto fail;
	}
	ldns_pkt_set_id(pkt, id);
	ldns_pkt_set_rd(pkt, spec->rd);
	if (spec->edns_size > 0) {
		ldns_pkt_set_edns_udp_size(pkt, spec->edns_size);
		ldns_pkt_set_edns_do(pkt, spec->do_bit);
		if (spec->nsid) {
			if ((options = ldns_edns_option_list_new()) == NULL ||
			    (nsid = ldns_edns_new(LDNS_EDNS_NSID, 0,
			    NULL)) == NULL)
				goto fail;
			if (!ldns_edns_option_list_push(options, nsid)) {
				ldns_edns_deep_free(nsid);
				goto fail;
			}
			/* The packet owns the list from here on. */
			ldns_pkt_set_edns_option_list(pkt, options);
			options = NULL;
		}
	}
	/* Not ldns_pkt2wire: it allocates 64 KiB for every query. */
	if ((buf = ldns_buffer_new(DNS_QUERY_BUFSIZE)) == NULL)
		goto fail;
	if ((st = ldns_pkt2buffer_wire(buf, pkt)) == LDNS_STATUS_OK) {
		*len = ldns_buffer_position(buf);
		wire = ldns_buffer_export(buf);
	} else
		log_warnx("%s: %s", __func__, ldns_get_errorstr_by_id(st));
	ldns_buffer_free(buf);
	ldns_pkt_free(pkt);
	return wire;
fail:
	log_warnx("%s: out of memory", __func__);
	ldns_edns_option_list_deep_free(options);
	ldns_pkt_free(pkt);
	return NULL;
}

/* Describe a question ("example.com. SOA IN") for failure details. */
static void
dns_question_format(const ldns_rdf *owner, ldns_rr_type type,
    ldns_rr_class klass, char *buf, size_t len)
{
	char tbuf[DNS_TYPE_STRLEN], cbuf[DNS_TYPE_STRLEN];
	char *name = ldns_rdf2str(owner);

	snprintf(buf, len, "%s %s %s", name != NULL ? name : "?",
	    dns_qtype_name(type, tbuf, sizeof(tbuf)),
	    dns_qclass_name(klass, cbuf, sizeof(cbuf)));
	free(name);
}

static enum cw_failure
dns_question_check(const struct dns_spec *spec, const ldns_pkt *pkt,
    char *detail, size_t detail_len)
{
	char got[DNS_QNAME_MAX + 48], want[DNS_QNAME_MAX + 48];
	ldns_rdf *qname = NULL;
	const ldns_rr *q;
	enum cw_failure failure = CW_OK;

	if (ldns_pkt_qdcount(pkt) != 1 ||
	    ldns_rr_list_rr_count(ldns_pkt_question(pkt)) != 1) {
		snprintf(detail, detail_len, "reply has %u questions, not 1",
		    (unsigned)ldns_pkt_qdcount(pkt));
		return CW_FAIL_DNS_BAD_QUESTION;
	}
	if (ldns_str2rdf_dname(&qname, spec->qname) != LDNS_STATUS_OK) {
		snprintf(detail, detail_len, "bad query name");
		return CW_FAIL_INTERNAL;
	}
	q = ldns_rr_list_rr(ldns_pkt_question(pkt), 0);
	/* ldns_dname_compare ignores case, as DNS names do. */
	if (ldns_rr_get_type(q) != spec->qtype ||
	    ldns_rr_get_class(q) != spec->qclass ||
	    ldns_dname_compare(ldns_rr_owner(q), qname) != 0) {
		dns_question_format(ldns_rr_owner(q), ldns_rr_get_type(q),
		    ldns_rr_get_class(q), got, sizeof(got));
		dns_question_format(qname, spec->qtype, spec->qclass, want,
		    sizeof(want));
		snprintf(detail, detail_len, "reply question \"%s\", asked "
		    "\"%s\"", got, want);
		failure = CW_FAIL_DNS_BAD_QUESTION;
	}
	ldns_rdf_deep_free(qname);
	return failure;
}

/*
 * The reply's bytes as an ldns packet, one record at a time with
 * ldns_wire2rr.  Not ldns_wire2pkt: in ldns 1.8.3 a second TSIG record
 * replaces the first without freeing it, a second OPT record's options
 * replace the first's the same way, and a TSIG shortens the loop over
 * the additional section while it runs.  Any server can send those
 * bytes, so each would leak memory on every reply.  Here a message with
 * more than one OPT (RFC 6891, 6.1.1), more than one TSIG or a TSIG that
 * is not the last record (RFC 8945, 5.1) is malformed; everything else
 * comes out as ldns_wire2pkt would make it.
 */
static enum cw_failure
dns_wire_parse(const uint8_t *wire, size_t len, ldns_pkt **out,
    char *detail, size_t detail_len)
{
	static const struct {
		ldns_pkt_section section;
		size_t count_off;
		ldns_status incomplete;
	} sections[] = {
		{LDNS_SECTION_QUESTION, 4, LDNS_STATUS_WIRE_INCOMPLETE_QUESTION},
		{LDNS_SECTION_ANSWER, 6, LDNS_STATUS_WIRE_INCOMPLETE_ANSWER},
		{LDNS_SECTION_AUTHORITY, 8,
		    LDNS_STATUS_WIRE_INCOMPLETE_AUTHORITY},
		{LDNS_SECTION_ADDITIONAL, 10,
		    LDNS_STATUS_WIRE_INCOMPLETE_ADDITIONAL},
	};
	unsigned opts = 0, additional = 0;
	uint8_t ttl[4];
	size_t pos = LDNS_HEADER_SIZE;
	ldns_status st = LDNS_STATUS_OK;
	ldns_pkt *pkt;
	ldns_rr *rr;

	*out = NULL;
	if ((pkt = ldns_pkt_new()) == NULL) {
		snprintf(detail, detail_len, "out of memory");
		return CW_FAIL_INTERNAL;
	}
	ldns_pkt_set_id(pkt, LDNS_ID_WIRE(wire));
	ldns_pkt_set_qr(pkt, LDNS_QR_WIRE(wire));
	ldns_pkt_set_opcode(pkt, LDNS_OPCODE_WIRE(wire));
	ldns_pkt_set_aa(pkt, LDNS_AA_WIRE(wire));
	ldns_pkt_set_tc(pkt, LDNS_TC_WIRE(wire));
	ldns_pkt_set_rd(pkt, LDNS_RD_WIRE(wire));
	ldns_pkt_set_ra(pkt, LDNS_RA_WIRE(wire));
	ldns_pkt_set_ad(pkt, LDNS_AD_WIRE(wire));
	ldns_pkt_set_cd(pkt, LDNS_CD_WIRE(wire));
	ldns_pkt_set_rcode(pkt, LDNS_RCODE_WIRE(wire));
	for (size_t s = 0; s < sizeof(sections) / sizeof(sections[0]); s++) {
		unsigned count = ldns_read_uint16(wire +
		    sections[s].count_off);
		bool is_additional =
		    sections[s].section == LDNS_SECTION_ADDITIONAL;

		for (unsigned i = 0; i < count; i++) {
			st = ldns_wire2rr(&rr, wire, len, &pos,
			    sections[s].section);
			if (st == LDNS_STATUS_PACKET_OVERFLOW)
				st = sections[s].incomplete;
			if (st != LDNS_STATUS_OK)
				goto bad;
			if (is_additional &&
			    ldns_rr_get_type(rr) == LDNS_RR_TYPE_OPT) {
				if (++opts > 1) {
					ldns_rr_free(rr);
					snprintf(detail, detail_len, "more "
					    "than one OPT record");
					goto malformed;
				}
				ldns_pkt_set_edns_udp_size(pkt,
				    ldns_rr_get_class(rr));
				ldns_write_uint32(ttl, ldns_rr_ttl(rr));
				ldns_pkt_set_edns_extended_rcode(pkt, ttl[0]);
				ldns_pkt_set_edns_version(pkt, ttl[1]);
				ldns_pkt_set_edns_z(pkt,
				    ldns_read_uint16(&ttl[2]));
				/* The options move from the record to the
				 * packet. */
				if (ldns_rr_rd_count(rr) > 0)
					ldns_pkt_set_edns_data(pkt,
					    ldns_rr_pop_rdf(rr));
				ldns_rr_free(rr);
			} else if (is_additional &&
			    ldns_rr_get_type(rr) == LDNS_RR_TYPE_TSIG) {
				if (i + 1 != count) {
					ldns_rr_free(rr);
					snprintf(detail, detail_len, "a TSIG "
					    "record that is not the last");
					goto malformed;
				}
				ldns_pkt_set_tsig(pkt, rr);
			} else if (!ldns_pkt_push_rr(pkt,
			    sections[s].section, rr)) {
				ldns_rr_free(rr);
				st = LDNS_STATUS_MEM_ERR;
				goto bad;
			} else if (is_additional)
				additional++;
		}
	}
	/* ldns_pkt_push_rr counts what it pushes: set the header's counts
	 * again, the additional section without OPT and TSIG. */
	ldns_pkt_set_qdcount(pkt, LDNS_QDCOUNT(wire));
	ldns_pkt_set_ancount(pkt, LDNS_ANCOUNT(wire));
	ldns_pkt_set_nscount(pkt, LDNS_NSCOUNT(wire));
	ldns_pkt_set_arcount(pkt, (uint16_t)additional);
	ldns_pkt_set_size(pkt, len);
	*out = pkt;
	return CW_OK;
bad:
	snprintf(detail, detail_len, "cannot parse %zu bytes: %s", len,
	    ldns_get_errorstr_by_id(st));
malformed:
	ldns_pkt_free(pkt);
	return CW_FAIL_DNS_MALFORMED;
}

enum cw_failure
dns_reply_check(const struct dns_spec *spec, uint16_t id,
    const uint8_t *wire, size_t len, ldns_pkt **reply, char *detail,
    size_t detail_len)
{
	enum cw_failure failure;
	ldns_pkt *pkt;

	*reply = NULL;
	if (detail_len > 0)
		detail[0] = '\0';
	if (wire == NULL || len < LDNS_HEADER_SIZE) {
		snprintf(detail, detail_len, "%zu bytes, shorter than a DNS "
		    "header", wire == NULL ? (size_t)0 : len);
		return CW_FAIL_DNS_MALFORMED;
	}
	if ((failure = dns_wire_parse(wire, len, &pkt, detail,
	    detail_len)) != CW_OK)
		return failure;
	if (ldns_pkt_id(pkt) != id) {
		snprintf(detail, detail_len, "reply ID %u, query ID %u",
		    (unsigned)ldns_pkt_id(pkt), (unsigned)id);
		failure = CW_FAIL_DNS_BAD_ID;
	} else if (!ldns_pkt_qr(pkt)) {
		snprintf(detail, detail_len, "QR bit not set: a query, not a "
		    "reply");
		failure = CW_FAIL_DNS_MALFORMED;
	} else
		failure = dns_question_check(spec, pkt, detail, detail_len);
	if (failure != CW_OK) {
		ldns_pkt_free(pkt);
		return failure;
	}
	*reply = pkt;
	return CW_OK;
}

/* Base64 (RFC 4648, padded) of public bytes.  libsodium's encoder is
 * constant-time, which costs more than the whole query here and buys
 * nothing for data that travels in the clear. */
static size_t
dns_base64(const uint8_t *in, size_t len, char *out)
{
	static const char abc[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *p = out;
	size_t i;

	for (i = 0; i + 2 < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 |
		    in[i + 2];
		*p++ = abc[v >> 18];
		*p++ = abc[v >> 12 & 63];
		*p++ = abc[v >> 6 & 63];
		*p++ = abc[v & 63];
	}
	if (i < len) {
		uint32_t v = (uint32_t)in[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)in[i + 1] << 8;
		*p++ = abc[v >> 18];
		*p++ = abc[v >> 12 & 63];
		*p++ = i + 1 < len ? abc[v >> 6 & 63] : '=';
		*p++ = '=';
	}
	*p = '\0';
	return (size_t)(p - out);
}

void
dns_result_add_abuf(json_t *result, const char *key, const uint8_t *wire,
    size_t len)
{
	size_t b64len;
	char *b64;

	if (wire == NULL || len == 0)
		return;
	if ((b64 = malloc((len + 2) / 3 * 4 + 1)) == NULL) {
		log_warnx("%s: out of memory", __func__);
		return;
	}
	b64len = dns_base64(wire, len, b64);
	/* Base64 is ASCII: no need for jansson to check it is UTF-8. */
	json_object_set_new(result, key, json_stringn_nocheck(b64, b64len));
	free(b64);
}

/* The rcode's name, extended rcodes (EDNS) included. */
static void
dns_rcode_name(unsigned rcode, char *buf, size_t len)
{
	const ldns_lookup_table *lt;

	if (rcode == 16) {
		snprintf(buf, len, "BADVERS");
		return;
	}
	lt = ldns_lookup_by_id(ldns_rcodes, (int)rcode);
	if (rcode < 16 && lt != NULL && lt->name != NULL)
		snprintf(buf, len, "%s", lt->name);
	else
		snprintf(buf, len, "RCODE%u", rcode);
}

static enum cw_failure
dns_rcode_failure(unsigned rcode)
{
	switch (rcode) {
	case LDNS_RCODE_NOERROR:
		return CW_OK;
	case LDNS_RCODE_SERVFAIL:
		return CW_FAIL_DNS_SERVFAIL;
	case LDNS_RCODE_NXDOMAIN:
		return CW_FAIL_DNS_NXDOMAIN;
	case LDNS_RCODE_REFUSED:
		return CW_FAIL_DNS_REFUSED;
	default:
		return CW_FAIL_DNS_RCODE;
	}
}

static void
dns_result_add_flags(json_t *result, const ldns_pkt *pkt)
{
	json_t *flags = json_object();

	json_object_set_new(flags, "qr", json_boolean(ldns_pkt_qr(pkt)));
	json_object_set_new(flags, "aa", json_boolean(ldns_pkt_aa(pkt)));
	json_object_set_new(flags, "tc", json_boolean(ldns_pkt_tc(pkt)));
	json_object_set_new(flags, "rd", json_boolean(ldns_pkt_rd(pkt)));
	json_object_set_new(flags, "ra", json_boolean(ldns_pkt_ra(pkt)));
	json_object_set_new(flags, "ad", json_boolean(ldns_pkt_ad(pkt)));
	json_object_set_new(flags, "cd", json_boolean(ldns_pkt_cd(pkt)));
	json_object_set_new(result, "flags", flags);
}

/* The counts as the header states them (ldns drops OPT from arcount). */
static void
dns_result_add_counts(json_t *result, const uint8_t *wire)
{
	static const char *const names[] = {"qd", "an", "ns", "ar"};
	json_t *counts = json_object();

	for (int i = 0; i < 4; i++)
		json_object_set_new(counts, names[i],
		    json_integer(wire[4 + 2 * i] << 8 | wire[5 + 2 * i]));
	json_object_set_new(result, "counts", counts);
}

static void
dns_result_add_soa(json_t *result, const ldns_pkt *pkt)
{
	const ldns_rr_list *answer = ldns_pkt_answer(pkt);
	const ldns_rdf *serial;

	for (size_t i = 0; i < ldns_rr_list_rr_count(answer); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(answer, i);
		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_SOA ||
		    ldns_rr_rd_count(rr) < 3)
			continue;
		serial = ldns_rr_rdf(rr, 2);
		if (serial == NULL || ldns_rdf_size(serial) != 4)
			continue;
		result_set_int(result, "soa_serial",
		    (long long)ldns_rdf2native_int32(serial));
		return;
	}
}

static void
dns_result_add_nsid(json_t *result, const ldns_pkt *pkt)
{
	const ldns_rdf *opt = ldns_pkt_edns_data(pkt);
	const uint8_t *p;
	size_t left;

	if (opt == NULL)
		return;
	p = ldns_rdf_data(opt);
	left = ldns_rdf_size(opt);
	/* OPT RDATA: a sequence of {code, length, data}. */
	while (left >= 4) {
		unsigned code = (unsigned)(p[0] << 8 | p[1]);
		size_t olen = (size_t)(p[2] << 8 | p[3]);
		if (olen > left - 4)
			return;
		if (code == LDNS_EDNS_NSID) {
			char *text = dns_text_escape(p + 4, olen);
			char *hex = malloc(olen * 2 + 1);
			if (text != NULL && hex != NULL) {
				sodium_bin2hex(hex, olen * 2 + 1, p + 4, olen);
				result_set_str(result, "nsid", text);
				result_set_str(result, "nsid_hex", hex);
			}
			free(text);
			free(hex);
			return;
		}
		p += 4 + olen;
		left -= 4 + olen;
	}
}

/* One string per TXT record: its character-strings joined. */
static void
dns_result_add_txt(json_t *result, const ldns_pkt *pkt)
{
	const ldns_rr_list *answer = ldns_pkt_answer(pkt);
	json_t *txt = NULL;

	for (size_t i = 0; i < ldns_rr_list_rr_count(answer); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(answer, i);
		size_t len = 0, total = 0;
		uint8_t *buf;
		char *text;

		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_TXT)
			continue;
		for (size_t j = 0; j < ldns_rr_rd_count(rr); j++)
			total += ldns_rdf_size(ldns_rr_rdf(rr, j));
		if ((buf = malloc(total + 1)) == NULL)
			continue;
		for (size_t j = 0; j < ldns_rr_rd_count(rr); j++) {
			const ldns_rdf *rdf = ldns_rr_rdf(rr, j);
			size_t size = ldns_rdf_size(rdf);
			/* A character-string: one length byte, then data. */
			if (size < 1)
				continue;
			memcpy(buf + len, ldns_rdf_data(rdf) + 1, size - 1);
			len += size - 1;
		}
		text = dns_text_escape(buf, len);
		free(buf);
		if (text == NULL)
			continue;
		if (txt == NULL)
			txt = json_array();
		json_array_append_new(txt, json_string(text));
		free(text);
	}
	if (txt != NULL)
		json_object_set_new(result, "txt", txt);
}

enum cw_failure
dns_result_add_reply(json_t *result, const struct dns_spec *spec,
    const ldns_pkt *reply, const uint8_t *wire, size_t len)
{
	char name[16];
	unsigned rcode;

	(void)spec;
	rcode = (unsigned)ldns_pkt_get_rcode(reply) |
	    (unsigned)ldns_pkt_edns_extended_rcode(reply) << 4;
	dns_rcode_name(rcode, name, sizeof(name));
	result_set_str(result, "rcode", name);
	dns_result_add_flags(result, reply);
	if (wire != NULL && len >= LDNS_HEADER_SIZE)
		dns_result_add_counts(result, wire);
	result_set_int(result, "size", (long long)len);
	dns_result_add_soa(result, reply);
	dns_result_add_nsid(result, reply);
	dns_result_add_txt(result, reply);
	dns_result_add_abuf(result, "abuf", wire, len);
	return dns_rcode_failure(rcode);
}

/* ------------------------------------------------------------------ */
/* The probe                                                           */

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
static void
dns_fail(struct dns_probe *p, enum cw_failure failure, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

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
	json_object_set_new(q, "do", json_boolean(s->edns_size > 0 &&
	    s->do_bit));
	json_object_set_new(q, "nsid", json_boolean(s->edns_size > 0 &&
	    s->nsid));
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
	json_object_set_new(tc, "size", json_integer((json_int_t)
	    p->tc_wire.len));
	dns_result_add_abuf(tc, "abuf", p->tc_wire.data, p->tc_wire.len);
	json_object_set_new(result, "truncated_reply", tc);
}

static void
dns_result_add_late(json_t *result, const struct dns_probe *p)
{
	json_t *late = json_object();

	json_object_set_new(late, "count", json_integer(p->late_count));
	json_object_set_new(late, "differ", json_boolean(p->late_differ));
	dns_result_add_abuf(late, "abuf", p->late_wire.data,
	    p->late_wire.len);
	json_object_set_new(result, "late_replies", late);
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
		rc = setsockopt(p->fd, IPPROTO_IP, IP_RECVTTL, &on,
		    sizeof(on));
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
	if (connect(p->fd, (struct sockaddr *)&p->target.sa,
	    p->target.salen) == -1) {
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
	if (dns_socket(p, SOCK_STREAM) == -1)
		return;
	dns_note_time(p);
	p->t_connect = cw_mono_usec();
	if (connect(p->fd, (struct sockaddr *)&p->target.sa,
	    p->target.salen) == -1 && errno != EINPROGRESS) {
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
dns_accept(struct dns_probe *p, ldns_pkt *pkt, const uint8_t *wire,
    size_t len, cw_usec_t now)
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
dns_udp_datagram(struct dns_probe *p, const uint8_t *buf, size_t len,
    int ttl, cw_usec_t now)
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
	if (!p->late_differ &&
	    dns_bytes_set(&p->late_wire, buf, len) == -1)
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
			dns_fail(p, cw_failure_from_errno(errno,
			    CW_FAIL_RECV_ERROR), "recv: %s", strerror(errno));
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

/* Read into the prefix or the message; returns bytes, 0 at EOF, -1. */
static ssize_t
dns_tcp_recv(struct dns_probe *p, uint8_t *buf, size_t len)
{
	ssize_t n = recv(p->fd, buf, len, 0);

	if (n == -1 && errno != EAGAIN && errno != EWOULDBLOCK &&
	    errno != EINTR)
		dns_fail(p, cw_failure_from_errno(errno, CW_FAIL_RECV_ERROR),
		    "recv: %s", strerror(errno));
	else if (n == 0) {
		if (p->in_have > 0 &&
		    dns_bytes_set(&p->failure_wire, p->in, p->in_have) == -1)
			log_warnx("dns: %s: out of memory", p->target.addr);
		if (p->in == NULL)
			dns_fail(p, CW_FAIL_EOF, "connection closed after %zu "
			    "of 2 length bytes", p->tcp_prefix_have);
		else
			dns_fail(p, CW_FAIL_EOF, "connection closed after %zu "
			    "of %zu bytes", p->in_have, p->in_len);
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
			dns_fail(p, CW_FAIL_DNS_MALFORMED, "announced length "
			    "%zu, shorter than a DNS header", p->in_len);
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
	p->proto = p->proto_requested =
	    proto == DNS_PROTO_TCP ? DNS_PROTO_TCP : DNS_PROTO_UDP;
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
