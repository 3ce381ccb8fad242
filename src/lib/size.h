/*
 * size.h -- byte sizes written with binary suffixes ("64M", "16k").
 */
#ifndef CW_SIZE_H
#define CW_SIZE_H

#include <stddef.h>
#include <stdint.h>

/*
 * cw_size_parse: "16777216", "16M", "16MiB", "8k", "1G" (binary
 * multiples, any case, spaces allowed before the suffix) into bytes.
 * Returns 0, or -1 for anything else or a value past 2^64 - 1.
 */
int cw_size_parse(const char *text, uint64_t *out);

/* cw_size_format: `bytes` in the largest unit that divides it exactly
 * ("64M", "1536k", "100"), into buf (at least CW_SIZE_STRLEN bytes);
 * returns buf. */
#define CW_SIZE_STRLEN 32
char *cw_size_format(uint64_t bytes, char *buf, size_t len);

#endif
