/* dns.c -- placeholder until the DNS probe lands. */
#include "config.h"
#include "dns.h"

const struct probe_kind dns_probe_kind = {"dns", NULL, NULL};
