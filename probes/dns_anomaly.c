/*
 * dns_anomaly.c -- the signs (dns.h) that an answer may not be the real
 * server's, as far as one exchange can show them: the header flags and
 * rcode of an answer from a server asked about its own zone, and the
 * first bytes of a TCP stream that was not DNS.  Pure: no sockets, no
 * clock; dns.c decides when each check applies and adds the late-reply
 * sign, which only it can see.
 *
 * Each sign is a name and its evidence, the facts that raised it; why
 * each is a sign of an impostor and when it is innocent is
 * doc/results.md's.
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <sodium.h>

#include "dns.h"

static const char *const dns_anomaly_names[DNS_ANOMALIES] = {
	[DNS_ANOMALY_NOT_AUTHORITATIVE] = "not_authoritative",
	[DNS_ANOMALY_RECURSION_OFFERED] = "recursion_offered",
	[DNS_ANOMALY_IMPOSSIBLE_ANSWER] = "impossible_answer",
	[DNS_ANOMALY_NON_DNS_ON_TCP] = "non_dns_on_tcp",
	[DNS_ANOMALY_LATE_REPLY_DIFFERS] = "late_reply_differs",
};

const char *
dns_anomaly_name(enum dns_anomaly anomaly)
{
	if ((unsigned)anomaly >= DNS_ANOMALIES)
		return "unknown";
	return dns_anomaly_names[anomaly];
}

int
dns_anomaly_add(json_t *list, enum dns_anomaly anomaly, json_t *evidence)
{
	json_t *a;

	if (evidence == NULL || (a = json_object()) == NULL) {
		json_decref(evidence);
		return -1;
	}
	if (json_object_set_new(a, "name",
	        json_string(dns_anomaly_name(anomaly))) == -1 ||
	    json_object_set_new(a, "evidence", evidence) == -1 ||
	    json_array_append_new(list, a) == -1)
		return -1;
	return 0;
}

/* dns_answer_has_soa: an SOA record owned by `qname` in the answer. */
static bool
dns_answer_has_soa(const ldns_pkt *reply, const char *qname)
{
	const ldns_rr_list *answer = ldns_pkt_answer(reply);
	ldns_rdf *name = NULL;
	bool found = false;

	if (ldns_str2rdf_dname(&name, qname) != LDNS_STATUS_OK)
		return false;
	for (size_t i = 0; i < ldns_rr_list_rr_count(answer) && !found; i++) {
		const ldns_rr *rr = ldns_rr_list_rr(answer, i);

		found = ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA &&
		    ldns_dname_compare(ldns_rr_owner(rr), name) == 0;
	}
	ldns_rdf_deep_free(name);
	return found;
}

bool
dns_reply_impossible(const struct dns_spec *spec, const ldns_pkt *reply)
{
	unsigned rcode = dns_reply_rcode(reply);

	/* A zone's apex always exists, and always has its SOA. */
	if (rcode == LDNS_RCODE_NXDOMAIN)
		return true;
	return rcode == LDNS_RCODE_NOERROR && spec->qtype == LDNS_RR_TYPE_SOA &&
	    !dns_answer_has_soa(reply, spec->qname);
}

/* dns_evidence_rcode: {"rcode": NAME} and the boolean `flag` when given. */
static json_t *
dns_evidence_rcode(unsigned rcode, const char *flag, bool value)
{
	char name[DNS_RCODE_STRLEN];
	json_t *e = json_object();

	if (e == NULL)
		return NULL;
	dns_rcode_name(rcode, name, sizeof(name));
	if ((flag != NULL &&
	        json_object_set_new(e, flag, json_boolean(value)) == -1) ||
	    json_object_set_new(e, "rcode", json_string(name)) == -1) {
		json_decref(e);
		return NULL;
	}
	return e;
}

int
dns_anomalies_reply(json_t *list, const struct dns_spec *spec,
    const ldns_pkt *reply)
{
	unsigned rcode = dns_reply_rcode(reply);
	json_t *e;

	if (!spec->authoritative)
		return 0;
	if (!ldns_pkt_aa(reply) &&
	    (rcode == LDNS_RCODE_NOERROR || rcode == LDNS_RCODE_NXDOMAIN) &&
	    dns_anomaly_add(list, DNS_ANOMALY_NOT_AUTHORITATIVE,
	        dns_evidence_rcode(rcode, "aa", false)) == -1)
		return -1;
	if (ldns_pkt_ra(reply) &&
	    dns_anomaly_add(list, DNS_ANOMALY_RECURSION_OFFERED,
	        json_pack("{s:b}", "ra", 1)) == -1)
		return -1;
	if (!dns_reply_impossible(spec, reply))
		return 0;
	if ((e = dns_evidence_rcode(rcode, NULL, false)) != NULL &&
	    json_object_set_new(e, "answer_count",
	        json_integer(ldns_pkt_ancount(reply))) == -1) {
		json_decref(e);
		e = NULL;
	}
	return dns_anomaly_add(list, DNS_ANOMALY_IMPOSSIBLE_ANSWER, e);
}

const char *
dns_bytes_looks_like(const uint8_t *head, size_t len)
{
	if (len >= 5 && memcmp(head, "HTTP/", 5) == 0)
		return "http";
	if (len >= 4 && memcmp(head, "SSH-", 4) == 0)
		return "ssh";
	/* A TLS record: alert (21) or handshake (22), version 3.x; a
	 * server that speaks TLS on the port alerts on a DNS query. */
	if (len >= 2 && (head[0] == 0x15 || head[0] == 0x16) && head[1] == 3 &&
	    (len < 3 || head[2] <= 4))
		return "tls";
	return NULL;
}

const char *
dns_tcp_non_dns(const uint8_t *head, size_t len, uint16_t id, bool parsed)
{
	const char *kind;

	bool short_prefix = len >= 2 &&
	    (head[0] << 8 | head[1]) < LDNS_HEADER_SIZE;

	if (parsed || len == 0)
		return NULL;
	/* A reply to us is a length prefix of a whole header, then our ID
	 * and flags with QR set; one cut short after that is a failure of
	 * DNS, not a sign.  Bytes of another protocol that happen to spell
	 * our ID ("HTTP" is length 0x4854 and ID "TP") have QR clear: "/",
	 * a TLS alert's 0x02, "2" of "SSH-2.0". */
	if (len >= 4 && !short_prefix &&
	    (uint16_t)(head[2] << 8 | head[3]) == id &&
	    (len == 4 || (head[4] & 0x80) != 0))
		return NULL;
	if ((kind = dns_bytes_looks_like(head, len)) != NULL)
		return kind;
	if (short_prefix || len >= 4)
		return "other";
	return NULL;
}

int
dns_anomaly_non_dns_on_tcp(json_t *list, const char *looks_like,
    const uint8_t *head, size_t len)
{
	char hex[2 * DNS_TCP_HEAD_MAX + 1];

	if (len > DNS_TCP_HEAD_MAX)
		len = DNS_TCP_HEAD_MAX;
	sodium_bin2hex(hex, sizeof(hex), head, len);
	return dns_anomaly_add(list, DNS_ANOMALY_NON_DNS_ON_TCP,
	    json_pack("{s:s,s:s}", "looks_like", looks_like, "first_bytes",
	        hex));
}
