/*
 * tld_int.h -- what the two halves of the TLD module share, and nothing
 * outside them includes: the checks of names and addresses and the
 * helpers of a set that tld.c defines and the cache file's reader
 * (tld_cache.c) uses.
 */
#ifndef CW_TLD_INT_H
#define CW_TLD_INT_H

#include <stdbool.h>

#include <jansson.h>

#include "target.h"
#include "tld.h"

enum tld_addr_scope {
	TLD_ADDR_GLOBAL,
	TLD_ADDR_LOCAL, /* loopback, private, link-local */
	TLD_ADDR_BOGUS, /* unspecified, multicast, reserved */
};

/* tld_host_valid: whether `name` is a host name as we keep it:
 * lower-case labels of letters, digits, '-' and '_', 1..63 each, no
 * final dot, shorter than TARGET_NAME_MAX. */
int tld_host_valid(const char *name);

/* tld_addr_scope: whether a learned address is global, local (loopback,
 * private, link-local) or one never to measure. */
enum tld_addr_scope tld_addr_scope(const struct target *t);

/* tld_addr_allowed: whether a learned address may be measured: a
 * global one, or a local one when `allow_local` (a root itself is
 * local: the tests). */
int tld_addr_allowed(const struct target *t, bool allow_local);

/* tld_set_find_ns: the NS `name` of `set` (set keeps it), or NULL. */
struct tld_ns *tld_set_find_ns(struct tld_set *set, const char *name);

/* tld_set_add_ns: add NS `name` to `set`: 1 added, 0 already there, -1
 * cap reached. */
int tld_set_add_ns(struct tld_set *set, const char *name);

/* tld_servers_json: the servers of `set` as a JSON array of {name,
 * addr, glue}; the caller owns it; NULL when out of memory. */
json_t *tld_servers_json(const struct tld_set *set);

#endif /* CW_TLD_INT_H */
