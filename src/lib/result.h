/*
 * result.h -- building measurement results, the one JSON writer.
 *
 * A result is a jansson object.  Every module builds its results with
 * these helpers so the common keys (type, time, name, ok, failure,
 * failure_detail) are always present and spelled the same way, and
 * every result is serialised by result_dump() alone.  doc/results.md
 * documents the keys.
 */
#ifndef CW_RESULT_H
#define CW_RESULT_H

#include <jansson.h>

#include "cwtime.h"
#include "failure.h"

/* result_new: a new object with "type", "time" (the UTC time `when`,
 * formatted with microseconds) and "name" (omitted when NULL).  "ok" is
 * false and "failure" is null until result_set_ok/result_set_failure.
 * Caller owns the reference; NULL only when out of memory. */
json_t *result_new(const char *type, const char *name, cw_usec_t when);

/* result_set_ok: "ok": true, "failure": null, no failure_detail. */
void result_set_ok(json_t *result);

/* result_set_failure: "ok": false, "failure": the vocabulary name and
 * "failure_detail": `detail` (printf-style; NULL for none).  Replaces an
 * earlier failure. */
void result_set_failure(json_t *result, enum cw_failure failure,
    const char *detail, ...) __attribute__((format(printf, 3, 4)));

/* result_failure: the failure currently recorded (CW_OK when ok). */
enum cw_failure result_failure(const json_t *result);

/* result_set_ms: store a duration in milliseconds with microsecond
 * resolution (12.345).  Negative durations store null. */
void result_set_ms(json_t *result, const char *key, cw_usec_t usec);

/* result_set_str / result_set_int / result_set_bool: shorthands that
 * ignore a NULL string (key left out). */
void result_set_str(json_t *result, const char *key, const char *value);
void result_set_int(json_t *result, const char *key, long long value);
void result_set_bool(json_t *result, const char *key, int value);

/* result_dump: the result as one line of compact UTF-8 JSON, keys in
 * insertion order, without a trailing newline.  Caller frees with free().
 * NULL when out of memory. */
char *result_dump(const json_t *result);

/* result_dumpb: the same line into buf (size bytes, not terminated).
 * Returns its length; a length above `size` means buf was too small and
 * holds nothing useful; 0 on error. */
size_t result_dumpb(const json_t *result, char *buf, size_t size);

#endif
