/*
 * result.c -- building and serialising measurement results.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "result.h"

json_t *
result_new(const char *type, const char *name, cw_usec_t when)
{
	char ts[CW_TIME_STRLEN];
	json_t *result;

	if ((result = json_object()) == NULL)
		return NULL;
	json_object_set_new(result, "type", json_string(type));
	json_object_set_new(result, "time",
	    json_string(cw_time_format(when, ts, sizeof(ts))));
	if (name != NULL)
		json_object_set_new(result, "name", json_string(name));
	json_object_set_new(result, "ok", json_false());
	json_object_set_new(result, "failure", json_null());
	return result;
}

void
result_set_ok(json_t *result)
{
	json_object_set_new(result, "ok", json_true());
	json_object_set_new(result, "failure", json_null());
	json_object_del(result, "failure_detail");
}

void
result_set_failure(json_t *result, enum cw_failure failure, const char *detail,
    ...)
{
	char text[512];
	va_list ap;

	if (failure == CW_OK) {
		result_set_ok(result);
		return;
	}
	json_object_set_new(result, "ok", json_false());
	json_object_set_new(result, "failure",
	    json_string(cw_failure_name(failure)));
	if (detail == NULL) {
		json_object_del(result, "failure_detail");
		return;
	}
	va_start(ap, detail);
	vsnprintf(text, sizeof(text), detail, ap);
	va_end(ap);
	/* Details may quote bytes from the network: keep them valid UTF-8. */
	json_t *s = json_string(text);
	if (s == NULL)
		s = json_string("(detail not valid UTF-8)");
	json_object_set_new(result, "failure_detail", s);
}

enum cw_failure
result_failure(const json_t *result)
{
	const char *name;
	int failure;

	name = json_string_value(json_object_get(result, "failure"));
	if (name == NULL)
		return CW_OK;
	failure = cw_failure_from_name(name);
	return failure < 0 ? CW_FAIL_INTERNAL : (enum cw_failure)failure;
}

void
result_set_ms(json_t *result, const char *key, cw_usec_t usec)
{
	if (usec < 0) {
		json_object_set_new(result, key, json_null());
		return;
	}
	json_object_set_new(result, key, json_real((double)usec / 1000.0));
}

void
result_set_str(json_t *result, const char *key, const char *value)
{
	if (value != NULL)
		json_object_set_new(result, key, json_string(value));
}

void
result_set_int(json_t *result, const char *key, long long value)
{
	json_object_set_new(result, key, json_integer(value));
}

void
result_set_bool(json_t *result, const char *key, int value)
{
	json_object_set_new(result, key, json_boolean(value));
}

/* 15 significant digits print 12.345 as 12.345, not 12.3450000001. */
#define RESULT_DUMP_FLAGS \
	(JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15))

char *
result_dump(const json_t *result)
{
	return json_dumps(result, RESULT_DUMP_FLAGS);
}

size_t
result_dumpb(const json_t *result, char *buf, size_t size)
{
	return json_dumpb(result, buf, size, RESULT_DUMP_FLAGS);
}
