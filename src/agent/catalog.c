/*
 * catalog.c -- the root server catalog, and the lists of DNS servers
 * that may name its sets.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"

/* https://www.iana.org/domains/root/servers (b changed in Nov 2023). */
static const struct catalog_root catalog_root_servers[CATALOG_ROOTS] = {
	{ "a.root-servers.net", "198.41.0.4", "2001:503:ba3e::2:30" },
	{ "b.root-servers.net", "170.247.170.2", "2801:1b8:10::b" },
	{ "c.root-servers.net", "192.33.4.12", "2001:500:2::c" },
	{ "d.root-servers.net", "199.7.91.13", "2001:500:2d::d" },
	{ "e.root-servers.net", "192.203.230.10", "2001:500:a8::e" },
	{ "f.root-servers.net", "192.5.5.241", "2001:500:2f::f" },
	{ "g.root-servers.net", "192.112.36.4", "2001:500:12::d0d" },
	{ "h.root-servers.net", "198.97.190.53", "2001:500:1::53" },
	{ "i.root-servers.net", "192.36.148.17", "2001:7fe::53" },
	{ "j.root-servers.net", "192.58.128.30", "2001:503:c27::2:30" },
	{ "k.root-servers.net", "193.0.14.129", "2001:7fd::1" },
	{ "l.root-servers.net", "199.7.83.42", "2001:500:9f::42" },
	{ "m.root-servers.net", "202.12.27.33", "2001:dc3::35" },
};

const struct catalog_root *
catalog_roots(size_t *n)
{
	*n = CATALOG_ROOTS;
	return catalog_root_servers;
}

int
catalog_is_set(const char *spec)
{
	return spec != NULL && spec[0] == '@';
}

/* catalog_add: parse "name=addr" into the next free slot of `out`. */
static int
catalog_add(struct target *out, const char *name, const char *addr,
    uint16_t port, char *err, size_t errlen)
{
	char spec[TARGET_NAME_MAX + INET6_ADDRSTRLEN + 2];

	snprintf(spec, sizeof(spec), "%s=%s", name, addr);
	return target_parse(spec, port, out, err, errlen);
}

int
catalog_expand(const char *spec, uint16_t port, struct target **targets,
    size_t *n, char *err, size_t errlen)
{
	struct target *grown;
	size_t i, base = *n;

	if (spec == NULL || strcmp(spec, "@root") != 0) {
		snprintf(err, errlen,
		    "unknown server set \"%s\" (known: "
		    "@root)",
		    spec != NULL ? spec : "");
		return -1;
	}
	grown = reallocarray(*targets, base + 2 * CATALOG_ROOTS,
	    sizeof(**targets));
	if (grown == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	*targets = grown;
	for (i = 0; i < CATALOG_ROOTS; i++) {
		const struct catalog_root *r = &catalog_root_servers[i];
		/* The table is ours: a parse failure is a bug in it. */
		if (catalog_add(&grown[base + 2 * i], r->name, r->v4, port, err,
		        errlen) == -1 ||
		    catalog_add(&grown[base + 2 * i + 1], r->name, r->v6, port,
		        err, errlen) == -1)
			return -1;
	}
	*n = base + 2 * CATALOG_ROOTS;
	return 0;
}

enum catalog_server
catalog_server_add(const char *spec, uint16_t port, struct target **targets,
    size_t *n, char *err, size_t errlen)
{
	size_t before = *n;
	struct target t, *grown;

	if (catalog_is_set(spec)) {
		if (catalog_expand(spec, port, targets, n, err, errlen) == -1)
			return CATALOG_SERVER_BAD_SET;
	} else {
		if (target_parse(spec, port, &t, err, errlen) == -1)
			return CATALOG_SERVER_BAD_ADDRESS;
		if ((grown = reallocarray(*targets, *n + 1, sizeof(*grown))) ==
		    NULL)
			return CATALOG_SERVER_NOMEM;
		*targets = grown;
		grown[(*n)++] = t;
	}
	for (size_t j = before; j < *n; j++)
		if (target_listed(*targets, before, &(*targets)[j])) {
			snprintf(err, errlen, "%s is listed twice",
			    (*targets)[j].addr);
			return CATALOG_SERVER_LISTED;
		}
	return CATALOG_SERVER_OK;
}
