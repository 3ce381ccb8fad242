/*
 * failure.h -- the one vocabulary of measurement failures.
 *
 * A failure is a finding about the network, never an error of the probe:
 * it becomes the `failure` field of a result (its name below) with the
 * errno or library text as `failure_detail`.  doc/results.md documents
 * every name; names are stable, so add new ones at the end.
 */
#ifndef CW_FAILURE_H
#define CW_FAILURE_H

enum cw_failure {
	CW_OK = 0,
	CW_FAIL_TIMEOUT,             /* generic_timeout_error */
	CW_FAIL_CONNECTION_REFUSED,  /* connection_refused */
	CW_FAIL_CONNECTION_RESET,    /* connection_reset */
	CW_FAIL_HOST_UNREACHABLE,    /* host_unreachable */
	CW_FAIL_NETWORK_UNREACHABLE, /* network_unreachable */
	CW_FAIL_SEND_ERROR,          /* send_error */
	CW_FAIL_RECV_ERROR,          /* recv_error */
	CW_FAIL_EOF,                 /* eof_error: peer closed early */
	CW_FAIL_DNS_BAD_ID,          /* dns_bad_id */
	CW_FAIL_DNS_BAD_QUESTION,    /* dns_bad_question */
	CW_FAIL_DNS_MALFORMED,       /* dns_malformed_response */
	CW_FAIL_DNS_OVERSIZED,       /* dns_oversized_response */
	CW_FAIL_DNS_SERVFAIL,        /* dns_servfail_error */
	CW_FAIL_DNS_NXDOMAIN,        /* dns_nxdomain_error */
	CW_FAIL_DNS_REFUSED,         /* dns_refused_error */
	CW_FAIL_DNS_RCODE,           /* dns_rcode_error: another bad rcode */
	CW_FAIL_DNS_NO_ANSWER,       /* dns_no_answer: expected data missing */
	CW_FAIL_DNS_TRUNCATED,       /* dns_truncated: TC and no TCP retry */
	CW_FAIL_DNS_NO_SERVERS,      /* dns_no_servers: nothing to query */
	CW_FAIL_ADDRESS_FAMILY,      /* address_family_unsupported */
	CW_FAIL_INTERNAL,            /* internal_error: the probe's own */
	CW_FAIL_CONNECT,    /* connect_error: another connect failure */
	CW_FAIL_DNS_LOOKUP, /* dns_lookup_error: a host name lookup
			     * failed otherwise */
	CW_FAIL_SSL_INVALID_CERTIFICATE, /* ssl_invalid_certificate */
	CW_FAIL_SSL_UNKNOWN_AUTHORITY,   /* ssl_unknown_authority */
	CW_FAIL_SSL_INVALID_HOSTNAME,    /* ssl_invalid_hostname */
	CW_FAIL_SSL_HANDSHAKE,           /* ssl_failed_handshake */
	CW_FAIL_HTTP_STATUS,             /* http_unexpected_status */
	CW_FAIL_HTTP_BODY,               /* http_body_mismatch */
	CW_FAIL_HTTP_PROTOCOL,           /* http_protocol_error */
	CW_FAIL_HTTP_REDIRECTS,          /* http_too_many_redirects */
	CW_FAIL_PROXY,                   /* proxy_error */
	CW_FAIL_HTTP_OVERSIZED_HEADER,   /* http_oversized_header */
	CW_FAIL_MAX
};

/* cw_failure_name: the stable name of a failure ("generic_timeout_error");
 * NULL for CW_OK, "internal_error" for values out of range. */
const char *cw_failure_name(enum cw_failure failure);

/* cw_failure_from_name: the inverse; -1 when the name is unknown. */
int cw_failure_from_name(const char *name);

/* cw_failure_from_errno: classify a socket errno (ECONNREFUSED,
 * EHOSTUNREACH, ENETUNREACH, ...); `fallback` for anything unrecognised
 * (e.g. CW_FAIL_SEND_ERROR for a failed send). */
enum cw_failure cw_failure_from_errno(int err, enum cw_failure fallback);

#endif
