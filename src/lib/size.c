/*
 * size.c -- parsing and writing byte sizes.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include "size.h"

static const struct {
	const char *suffix;
	unsigned shift;
} size_units[] = {
	{ "", 0 },
	{ "b", 0 },
	{ "k", 10 },
	{ "kb", 10 },
	{ "kib", 10 },
	{ "m", 20 },
	{ "mb", 20 },
	{ "mib", 20 },
	{ "g", 30 },
	{ "gb", 30 },
	{ "gib", 30 },
	{ "t", 40 },
	{ "tb", 40 },
	{ "tib", 40 },
};

int
cw_size_parse(const char *text, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (text == NULL || !isdigit((unsigned char)*text))
		return -1;
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno != 0)
		return -1;
	while (*end == ' ')
		end++;
	for (size_t i = 0; i < sizeof(size_units) / sizeof(size_units[0]);
	     i++) {
		if (strcasecmp(end, size_units[i].suffix) != 0)
			continue;
		if (v > (UINT64_MAX >> size_units[i].shift))
			return -1;
		*out = (uint64_t)v << size_units[i].shift;
		return 0;
	}
	return -1;
}

char *
cw_size_format(uint64_t bytes, char *buf, size_t len)
{
	static const char units[] = "TGMk";
	unsigned shift = 40;

	for (const char *u = units; *u != '\0'; u++, shift -= 10)
		if (bytes != 0 && bytes % ((uint64_t)1 << shift) == 0) {
			snprintf(buf, len, "%llu%c",
			    (unsigned long long)(bytes >> shift), *u);
			return buf;
		}
	snprintf(buf, len, "%llu", (unsigned long long)bytes);
	return buf;
}
