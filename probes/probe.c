/*
 * probe.c -- the rules every kind's spec shares (probe.h), apart from
 * the list of kinds (probes.c), so that a kind's code links without the
 * others (the fuzz targets build probes/dns.c alone).
 */
#include "config.h"

#include <stdio.h>

#include "probe.h"

int
probe_timeout_check(cw_usec_t timeout, char *err, size_t errlen)
{
	if (timeout >= PROBE_TIMEOUT_MIN && timeout <= PROBE_TIMEOUT_MAX)
		return 0;
	snprintf(err, errlen, "%s",
	    timeout <= 0 ? "must be above 0" : "must be from 1ms to 1h");
	return -1;
}
