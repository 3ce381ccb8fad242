/*
 * fuzz_dns_reply.c -- libFuzzer target: whatever a server sends.
 *
 * The input is a DNS reply as it would arrive from the network.  It goes
 * through the checks every reply gets (dns_reply_check), the result
 * fields (dns_result_add_reply, result_dump), the signs of an impostor
 * (dns_anomalies_reply for a server asked about its own zone, and what
 * the bytes look like as a TCP stream: dns_tcp_non_dns) and, when
 * accepted, the TLD referral parser (tld_referral_parse,
 * tld_reply_addresses).  The query
 * it is checked against varies with the first input byte.  Any crash,
 * leak or undefined behaviour is a bug.
 *
 * Build and run (clang):  tests/fuzz/run.sh [SECONDS]
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "result.h"
#include "tld.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const qnames[] = { ".", "ua.", "hostname.bind.", "ns1.ua.",
	"sd." };

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dns_spec spec;
	struct tld_set set;
	char detail[256], addrs[8][INET6_ADDRSTRLEN];
	ldns_pkt *reply = NULL;
	json_t *result, *anomalies;
	const char *kind;
	uint16_t id;
	char *line;

	if (size < 3)
		return 0;
	dns_spec_init(&spec);
	dns_spec_set_qname(&spec, qnames[data[0] % 5]);
	spec.qtype = (data[0] & 0x80) ? LDNS_RR_TYPE_NS : LDNS_RR_TYPE_SOA;
	if (data[0] & 0x40)
		spec.qclass = LDNS_RR_CLASS_CH;
	spec.authoritative = (data[0] & 0x20) != 0;
	data++;
	size--;
	/* Half the time the reply carries the query's ID, so that the
	 * parser behind the ID check is reached. */
	id = (uint16_t)(data[0] << 8 | data[1]);
	if (data[size - 1] & 1)
		id ^= 0x5a5a;
	result = result_new("dns", "fuzz", 0);
	anomalies = json_array();
	if ((kind = dns_tcp_non_dns(data, size, id, (data[1] & 1) != 0)) !=
	    NULL)
		dns_anomaly_non_dns_on_tcp(anomalies, kind, data, size);
	if (dns_reply_check(&spec, id, data, size, &reply, detail,
	        sizeof(detail)) == CW_OK) {
		dns_result_add_reply(result, &spec, reply, data, size);
		dns_anomalies_reply(anomalies, &spec, reply);
		tld_referral_parse(reply, "ua", 53, (data[2] & 1) != 0, &set,
		    detail, sizeof(detail));
		tld_reply_addresses(reply, "ns1.ua", LDNS_RR_TYPE_A, true,
		    addrs, 8);
		tld_reply_addresses(reply, "ns1.ua", LDNS_RR_TYPE_AAAA, false,
		    addrs, 8);
		ldns_pkt_free(reply);
	}
	json_object_set_new(result, "anomalies", anomalies);
	if ((line = result_dump(result)) != NULL)
		free(line);
	json_decref(result);
	return 0;
}
