/*
 * fuzz_tld_cache.c -- libFuzzer target: a TLD cache file.
 *
 * The input is the content of STATE_DIR/tld/ua.json: parsed as JSON and
 * read with tld_set_from_json, which must reject anything malformed
 * without crashing, leaking or overflowing the fixed-size set.
 *
 * Build and run (clang):  tests/fuzz/run.sh [SECONDS]
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>

#include <jansson.h>

#include "tld.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tld_set set;
	json_error_t error;
	char err[256];
	json_t *obj;

	obj = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES,
	    &error);
	if (obj == NULL)
		return 0;
	if (tld_set_from_json(obj, "ua", 53, &set, err, sizeof(err)) == 0) {
		json_t *back = tld_set_to_cache_json(&set);
		json_decref(back);
	}
	json_decref(obj);
	return 0;
}
