/*
 * probes.c -- the measurement kinds the probe knows: the one place that
 * names them.  A new kind is its probes/ pair and a line here.  And the
 * rules every kind's spec shares.
 */
#include "config.h"

#include <stddef.h>
#include <stdio.h>

#include "dns.h"
#include "http.h"
#include "probe.h"

const struct probe_kind *const probe_kinds[] = {
	&dns_probe_kind,
	&http_probe_kind,
	NULL,
};

int
probe_timeout_check(cw_usec_t timeout, char *err, size_t errlen)
{
	if (timeout >= PROBE_TIMEOUT_MIN && timeout <= PROBE_TIMEOUT_MAX)
		return 0;
	snprintf(err, errlen, "%s",
	    timeout <= 0 ? "must be above 0" : "must be from 1ms to 1h");
	return -1;
}
