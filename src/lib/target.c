/*
 * target.c -- parsing "name=address" server specifications.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "target.h"

/* A server name is a host name: letters, digits, '-', '_' and dots. */
static int
target_name_valid(const char *name, size_t len)
{
	if (len == 0 || len >= TARGET_NAME_MAX)
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		if (!isalnum(c) && c != '-' && c != '_' && c != '.')
			return 0;
	}
	return 1;
}

int
target_parse(const char *spec, uint16_t port, struct target *t, char *err,
    size_t errlen)
{
	char addr[INET6_ADDRSTRLEN + 2];
	const char *eq, *a;
	size_t alen;

	memset(t, 0, sizeof(*t));
	if (spec == NULL || *spec == '\0') {
		snprintf(err, errlen, "empty server");
		return -1;
	}
	a = spec;
	if ((eq = strchr(spec, '=')) != NULL) {
		if (!target_name_valid(spec, (size_t)(eq - spec))) {
			snprintf(err, errlen, "bad server name in \"%s\"",
			    spec);
			return -1;
		}
		memcpy(t->name, spec, (size_t)(eq - spec));
		a = eq + 1;
	}
	alen = strlen(a);
	if (alen >= 2 && a[0] == '[' && a[alen - 1] == ']') {
		a++;
		alen -= 2;
	}
	if (alen == 0 || alen >= sizeof(addr)) {
		snprintf(err, errlen, "bad address in \"%s\"", spec);
		return -1;
	}
	memcpy(addr, a, alen);
	addr[alen] = '\0';

	struct sockaddr_in *sin = (struct sockaddr_in *)&t->sa;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&t->sa;
	if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		t->salen = sizeof(*sin);
		t->af = 4;
	} else if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		t->salen = sizeof(*sin6);
		t->af = 6;
	} else {
		snprintf(err, errlen,
		    "\"%s\" is not a numeric IPv4 or IPv6 address", addr);
		return -1;
	}
	target_set_port(t, port);
	/* Store the canonical text, so "2001:DB8::0:1" reads "2001:db8::1". */
	if (t->af == 4)
		inet_ntop(AF_INET, &sin->sin_addr, t->addr, sizeof(t->addr));
	else
		inet_ntop(AF_INET6, &sin6->sin6_addr, t->addr, sizeof(t->addr));
	return 0;
}

void
target_set_port(struct target *t, uint16_t port)
{
	if (t->af == 4)
		((struct sockaddr_in *)&t->sa)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *)&t->sa)->sin6_port = htons(port);
}

uint16_t
target_port(const struct target *t)
{
	if (t->af == 4)
		return ntohs(((const struct sockaddr_in *)&t->sa)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)&t->sa)->sin6_port);
}

bool
target_listed(const struct target *targets, size_t n, const struct target *t)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(targets[i].addr, t->addr) == 0)
			return true;
	return false;
}
