/*
 * target.h -- a server to measure: an optional name and one address.
 */
#ifndef CW_TARGET_H
#define CW_TARGET_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define TARGET_NAME_MAX 256

struct target {
	char name[TARGET_NAME_MAX];  /* e.g. "a.root-servers.net"; "" if none */
	char addr[INET6_ADDRSTRLEN]; /* numeric address, canonical text */
	int af;                      /* 4 or 6 */
	struct sockaddr_storage sa;  /* address with port set */
	socklen_t salen;
};

/* target_parse: fill `t` from "ADDRESS", "[ADDRESS]" or "NAME=ADDRESS"
 * (the address numeric, IPv4 or IPv6) with `port`.  Returns 0, or -1 with
 * a reason in err (errlen bytes) for anything else; `t` is then undefined. */
int target_parse(const char *spec, uint16_t port, struct target *t, char *err,
    size_t errlen);

/* target_set_port: change the port of an already parsed target. */
void target_set_port(struct target *t, uint16_t port);

/* target_port: the target's port in host order. */
uint16_t target_port(const struct target *t);

/* target_listed: whether t's address is that of one of the first n
 * targets.  A list of servers or pinned addresses names each address
 * once, on the command line as in corewatch.conf: both ask this. */
bool target_listed(const struct target *targets, size_t n,
    const struct target *t);

#endif
