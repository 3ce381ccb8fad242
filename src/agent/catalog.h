/*
 * catalog.h -- well-known server sets a configuration can name.
 *
 * A measurement's server list may contain "@root": the thirteen root
 * server identities a.root-servers.net ... m.root-servers.net, each with
 * its IPv4 and its IPv6 address (26 targets).  The addresses are
 * compiled in (from root-servers.org); a probe never resolves them, so a
 * broken resolver cannot change what is measured.
 */
#ifndef CW_CATALOG_H
#define CW_CATALOG_H

#include <stddef.h>
#include <stdint.h>

#include "target.h"

/* One root server identity. */
struct catalog_root {
	const char *name; /* "a.root-servers.net" */
	const char *v4;   /* "198.41.0.4" */
	const char *v6;   /* "2001:503:ba3e::2:30" */
};

#define CATALOG_ROOTS 13

/* catalog_roots: the thirteen root server identities, a to m; *n is set
 * to CATALOG_ROOTS.  Static data, never freed. */
const struct catalog_root *catalog_roots(size_t *n);

/* catalog_is_set: true when `spec` names a catalog set ("@root"), i.e.
 * starts with '@'; such a spec is expanded by catalog_expand, anything
 * else is a single server for target_parse. */
int catalog_is_set(const char *spec);

/* catalog_expand: append the targets of set `spec` ("@root"), with port
 * `port`, to the array *targets of *n entries (grown with realloc; the
 * caller frees it with free()).  Order: a IPv4, a IPv6, b IPv4 ...
 * Returns 0, or -1 with the reason in err for an unknown set or when out
 * of memory (the array is then unchanged). */
int catalog_expand(const char *spec, uint16_t port, struct target **targets,
    size_t *n, char *err, size_t errlen);

/* What catalog_server_add() made of one server of a list. */
enum catalog_server {
	CATALOG_SERVER_OK,
	CATALOG_SERVER_BAD_SET,     /* "@..." not a set (err) */
	CATALOG_SERVER_BAD_ADDRESS, /* target_parse refused it (err) */
	CATALOG_SERVER_LISTED,      /* an address is listed already */
	CATALOG_SERVER_NOMEM,
};

/* catalog_server_add: append the server `spec` of a list of DNS servers
 * (a catalog set, "ADDRESS" or "NAME=ADDRESS"), with `port`, to
 * *targets of *n entries (grown; the caller frees it).  The rules of a
 * server list, the same in corewatch.conf's `servers` and on `corewatch
 * dns`'s command line: a bad set or address leaves the array as it was,
 * with the reason in err; an address listed before (target_listed) is
 * appended all the same, with "ADDRESS is listed twice" in err. */
enum catalog_server catalog_server_add(const char *spec, uint16_t port,
    struct target **targets, size_t *n, char *err, size_t errlen);

#endif
