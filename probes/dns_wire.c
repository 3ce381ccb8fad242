/*
 * dns_wire.c -- DNS messages (dns.h): the names of types, classes and
 * transports, building a query, parsing and checking a reply, and the
 * fields a reply adds to a result.  Pure: no sockets, no clock, no
 * event loop, so that the unit tests, the fuzzer and the TLD discovery
 * use it as the probe does (dns.c runs the query).
 *
 * Everything here reads bytes from the network: a reply that cannot be
 * parsed or does not answer the query is a failure value with a
 * detail, never a crash.
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "dns.h"
#include "log.h"
#include "result.h"

/* Room for any query we build (it grows if ever needed). */
#define DNS_QUERY_BUFSIZE 512

/* --- Names and text --- */

int
dns_qtype_parse(const char *text)
{
	ldns_rr_type type;

	if (text == NULL || *text == '\0')
		return -1;
	type = ldns_get_rr_type_by_name(text);
	if (type == 0 || type == LDNS_RR_TYPE_AXFR || type == LDNS_RR_TYPE_IXFR)
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

/* dns_name_copy: ldns's `name` for a value into buf, and frees it;
 * `prefix` and the number when ldns gave none ("TYPE65", "CLASS3").
 * Returns buf. */
static char *
dns_name_copy(char *name, const char *prefix, unsigned value, char *buf,
    size_t len)
{
	if (name != NULL)
		snprintf(buf, len, "%s", name);
	else
		snprintf(buf, len, "%s%u", prefix, value);
	free(name);
	return buf;
}

char *
dns_qtype_name(ldns_rr_type type, char *buf, size_t len)
{
	/* ldns says "TYPE65" for types it does not know. */
	return dns_name_copy(ldns_rr_type2str(type), "TYPE", (unsigned)type,
	    buf, len);
}

char *
dns_qclass_name(ldns_rr_class klass, char *buf, size_t len)
{
	return dns_name_copy(ldns_rr_class2str(klass), "CLASS", (unsigned)klass,
	    buf, len);
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

/* --- Messages: building queries, checking replies, result fields --- */

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
			    (nsid = ldns_edns_new(LDNS_EDNS_NSID, 0, NULL)) ==
			        NULL)
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
		snprintf(detail, detail_len,
		    "reply question \"%s\", asked "
		    "\"%s\"",
		    got, want);
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
dns_wire_parse(const uint8_t *wire, size_t len, ldns_pkt **out, char *detail,
    size_t detail_len)
{
	static const struct {
		ldns_pkt_section section;
		size_t count_off;
		ldns_status incomplete;
	} sections[] = {
		{ LDNS_SECTION_QUESTION, 4,
		    LDNS_STATUS_WIRE_INCOMPLETE_QUESTION },
		{ LDNS_SECTION_ANSWER, 6, LDNS_STATUS_WIRE_INCOMPLETE_ANSWER },
		{ LDNS_SECTION_AUTHORITY, 8,
		    LDNS_STATUS_WIRE_INCOMPLETE_AUTHORITY },
		{ LDNS_SECTION_ADDITIONAL, 10,
		    LDNS_STATUS_WIRE_INCOMPLETE_ADDITIONAL },
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
		unsigned count = ldns_read_uint16(wire + sections[s].count_off);
		bool is_additional = sections[s].section ==
		    LDNS_SECTION_ADDITIONAL;

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
					snprintf(detail, detail_len,
					    "more "
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
					snprintf(detail, detail_len,
					    "a TSIG "
					    "record that is not the last");
					goto malformed;
				}
				ldns_pkt_set_tsig(pkt, rr);
			} else if (!ldns_pkt_push_rr(pkt, sections[s].section,
			               rr)) {
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
dns_reply_check(const struct dns_spec *spec, uint16_t id, const uint8_t *wire,
    size_t len, ldns_pkt **reply, char *detail, size_t detail_len)
{
	enum cw_failure failure;
	ldns_pkt *pkt;

	*reply = NULL;
	if (detail_len > 0)
		detail[0] = '\0';
	if (wire == NULL || len < LDNS_HEADER_SIZE) {
		snprintf(detail, detail_len,
		    "%zu bytes, shorter than a DNS "
		    "header",
		    wire == NULL ? (size_t)0 : len);
		return CW_FAIL_DNS_MALFORMED;
	}
	if ((failure = dns_wire_parse(wire, len, &pkt, detail, detail_len)) !=
	    CW_OK)
		return failure;
	if (ldns_pkt_id(pkt) != id) {
		snprintf(detail, detail_len, "reply ID %u, query ID %u",
		    (unsigned)ldns_pkt_id(pkt), (unsigned)id);
		failure = CW_FAIL_DNS_BAD_ID;
	} else if (!ldns_pkt_qr(pkt)) {
		snprintf(detail, detail_len,
		    "QR bit not set: a query, not a "
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

void
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

unsigned
dns_reply_rcode(const ldns_pkt *reply)
{
	return (unsigned)ldns_pkt_get_rcode(reply) |
	    (unsigned)ldns_pkt_edns_extended_rcode(reply) << 4;
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
	static const char *const names[] = { "qd", "an", "ns", "ar" };
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
	char name[DNS_RCODE_STRLEN];
	unsigned rcode;

	(void)spec;
	rcode = dns_reply_rcode(reply);
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
