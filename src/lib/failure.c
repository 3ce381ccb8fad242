/*
 * failure.c -- failure names and errno classification.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "failure.h"

static const char *const failure_names[CW_FAIL_MAX] = {
	[CW_OK] = NULL,
	[CW_FAIL_TIMEOUT] = "generic_timeout_error",
	[CW_FAIL_CONNECTION_REFUSED] = "connection_refused",
	[CW_FAIL_CONNECTION_RESET] = "connection_reset",
	[CW_FAIL_HOST_UNREACHABLE] = "host_unreachable",
	[CW_FAIL_NETWORK_UNREACHABLE] = "network_unreachable",
	[CW_FAIL_SEND_ERROR] = "send_error",
	[CW_FAIL_RECV_ERROR] = "recv_error",
	[CW_FAIL_EOF] = "eof_error",
	[CW_FAIL_DNS_BAD_ID] = "dns_bad_id",
	[CW_FAIL_DNS_BAD_QUESTION] = "dns_bad_question",
	[CW_FAIL_DNS_MALFORMED] = "dns_malformed_response",
	[CW_FAIL_DNS_OVERSIZED] = "dns_oversized_response",
	[CW_FAIL_DNS_SERVFAIL] = "dns_servfail_error",
	[CW_FAIL_DNS_NXDOMAIN] = "dns_nxdomain_error",
	[CW_FAIL_DNS_REFUSED] = "dns_refused_error",
	[CW_FAIL_DNS_RCODE] = "dns_rcode_error",
	[CW_FAIL_DNS_NO_ANSWER] = "dns_no_answer",
	[CW_FAIL_DNS_TRUNCATED] = "dns_truncated",
	[CW_FAIL_DNS_NO_SERVERS] = "dns_no_servers",
	[CW_FAIL_ADDRESS_FAMILY] = "address_family_unsupported",
	[CW_FAIL_INTERNAL] = "internal_error",
	[CW_FAIL_CONNECT] = "connect_error",
	[CW_FAIL_DNS_LOOKUP] = "dns_lookup_error",
	[CW_FAIL_SSL_INVALID_CERTIFICATE] = "ssl_invalid_certificate",
	[CW_FAIL_SSL_UNKNOWN_AUTHORITY] = "ssl_unknown_authority",
	[CW_FAIL_SSL_INVALID_HOSTNAME] = "ssl_invalid_hostname",
	[CW_FAIL_SSL_HANDSHAKE] = "ssl_failed_handshake",
	[CW_FAIL_HTTP_STATUS] = "http_unexpected_status",
	[CW_FAIL_HTTP_BODY] = "http_body_mismatch",
	[CW_FAIL_HTTP_PROTOCOL] = "http_protocol_error",
	[CW_FAIL_HTTP_REDIRECTS] = "http_too_many_redirects",
	[CW_FAIL_PROXY] = "proxy_error",
	[CW_FAIL_HTTP_OVERSIZED_HEADER] = "http_oversized_header",
};

const char *
cw_failure_name(enum cw_failure failure)
{
	if (failure == CW_OK)
		return NULL;
	if ((int)failure < 0 || failure >= CW_FAIL_MAX)
		return failure_names[CW_FAIL_INTERNAL];
	return failure_names[failure];
}

int
cw_failure_from_name(const char *name)
{
	if (name == NULL)
		return -1;
	for (int i = 1; i < CW_FAIL_MAX; i++)
		if (strcmp(failure_names[i], name) == 0)
			return i;
	return -1;
}

enum cw_failure
cw_failure_from_errno(int err, enum cw_failure fallback)
{
	switch (err) {
	case ECONNREFUSED:
		return CW_FAIL_CONNECTION_REFUSED;
	case ECONNRESET:
	case EPIPE:
		return CW_FAIL_CONNECTION_RESET;
	case EHOSTUNREACH:
	case EHOSTDOWN:
		return CW_FAIL_HOST_UNREACHABLE;
	case ENETUNREACH:
	case ENETDOWN:
	case EADDRNOTAVAIL:
		return CW_FAIL_NETWORK_UNREACHABLE;
	case EAFNOSUPPORT:
	case EPROTONOSUPPORT:
		return CW_FAIL_ADDRESS_FAMILY;
	case ETIMEDOUT:
		return CW_FAIL_TIMEOUT;
	default:
		return fallback;
	}
}
