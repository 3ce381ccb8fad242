/*
 * probes.c -- the measurement kinds the probe knows: the one place that
 * names them.  A new kind is its probes/ pair and a line here.
 */
#include "config.h"

#include <stddef.h>

#include "dns.h"
#include "http.h"
#include "probe.h"

const struct probe_kind *const probe_kinds[] = {
	&dns_probe_kind,
	&http_probe_kind,
	NULL,
};
