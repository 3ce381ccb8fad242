/*
 * annotate.c -- annotations read from options and JSON, written as JSON
 * lines and CSV (annotate.h).
 */
#include "config.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "annotate.h"
#include "export.h"
#include "log.h"
#include "result.h"

#define ANNOTATE_CSV_HEADER "id,from,to,text,country,asn,probe,url,created\r\n"

int
annotate_format_parse(const char *text, enum annotate_format *out)
{
	if (strcmp(text, "jsonl") == 0)
		*out = ANNOTATE_JSONL;
	else if (strcmp(text, "csv") == 0)
		*out = ANNOTATE_CSV;
	else
		return -1;
	return 0;
}

/* annotate_copy: `value` into a field of `size` bytes, when it fits. */
static int
annotate_copy(char *field, size_t size, const char *key, const char *value,
    char *err, size_t errlen)
{
	size_t len = strlen(value);

	if (len >= size) {
		log_say(err, errlen, "%s: longer than %zu bytes", key,
		    size - 1);
		return -1;
	}
	memcpy(field, value, len + 1);
	return 0;
}

/* annotate_asn: decimal digits, 0 to STORE_ANNOT_ASN_MAX. */
static int
annotate_asn(const char *value, long long *asn)
{
	long long n = 0;

	if (*value == '\0' || strlen(value) > 10)
		return -1;
	for (const char *p = value; *p != '\0'; p++) {
		if (!isdigit((unsigned char)*p))
			return -1;
		n = n * 10 + (*p - '0');
	}
	if (n > STORE_ANNOT_ASN_MAX)
		return -1;
	*asn = n;
	return 0;
}

int
annotate_set(struct store_annotation *a, const char *key, const char *value,
    char *err, size_t errlen)
{
	if (strcmp(key, "from") == 0 || strcmp(key, "to") == 0) {
		if (cw_time_parse(value, key[0] == 'f' ? &a->from : &a->to) ==
		    -1) {
			log_say(err, errlen,
			    "%s: \"%.64s\" is not a UTC time "
			    "(2026-11-26T10:00:00Z)",
			    key, value);
			return -1;
		}
		return 0;
	}
	if (strcmp(key, "text") == 0)
		return annotate_copy(a->text, sizeof(a->text), key, value, err,
		    errlen);
	if (strcmp(key, "url") == 0)
		return annotate_copy(a->url, sizeof(a->url), key, value, err,
		    errlen);
	if (strcmp(key, "probe") == 0)
		return annotate_copy(a->probe, sizeof(a->probe), key, value,
		    err, errlen);
	if (strcmp(key, "country") == 0) {
		if (annotate_copy(a->country, sizeof(a->country), key, value,
		        err, errlen) == -1)
			return -1;
		for (char *p = a->country; *p != '\0'; p++)
			*p = (char)toupper((unsigned char)*p);
		return 0;
	}
	if (strcmp(key, "asn") == 0) {
		if (annotate_asn(value, &a->asn) == -1) {
			log_say(err, errlen,
			    "asn: \"%.32s\" is not a number from 0 "
			    "to %lld",
			    value, STORE_ANNOT_ASN_MAX);
			return -1;
		}
		return 0;
	}
	log_say(err, errlen, "%.32s: not a field of an annotation", key);
	return -1;
}

/* annotate_field: whether `key` names a field of an annotation; *required
 * whether it must be given. */
static bool
annotate_field(const char *key, bool *required)
{
	static const char *const fields[] = { "from", "to", "text", "country",
		"asn", "probe", "url" };

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (strcmp(key, fields[i]) == 0) {
			*required = i < 3;
			return true;
		}
	return false;
}

int
annotate_from_json(struct store_annotation *a, const json_t *obj, char *err,
    size_t errlen)
{
	const char *key;
	bool required;
	json_t *v;
	char num[24];

	if (!json_is_object(obj)) {
		log_say(err, errlen, "the body is not a JSON object");
		return -1;
	}
	for (const char *k = "from\0to\0text\0"; *k != '\0'; k += strlen(k) + 1)
		if (json_object_get(obj, k) == NULL) {
			log_say(err, errlen, "%s: required", k);
			return -1;
		}
	json_object_foreach((json_t *)obj, key, v) {
		if (!annotate_field(key, &required)) {
			log_say(err, errlen,
			    "%.32s: not a field of an annotation", key);
			return -1;
		}
		if (json_is_null(v) && !required)
			continue;
		if (strcmp(key, "asn") == 0) {
			if (!json_is_integer(v)) {
				log_say(err, errlen, "asn: not an integer");
				return -1;
			}
			snprintf(num, sizeof(num), "%lld",
			    (long long)json_integer_value(v));
			if (annotate_set(a, key, num, err, errlen) == -1)
				return -1;
			continue;
		}
		if (!json_is_string(v)) {
			log_say(err, errlen, "%s: not a string", key);
			return -1;
		}
		/* A NUL inside the string would end it early here. */
		if (strlen(json_string_value(v)) != json_string_length(v)) {
			log_say(err, errlen, "%s: holds a NUL", key);
			return -1;
		}
		if (annotate_set(a, key, json_string_value(v), err, errlen) ==
		    -1)
			return -1;
	}
	return 0;
}

/* annotate_opt: an optional text value: null when unset. */
static json_t *
annotate_opt(const char *s)
{
	return s[0] != '\0' ? json_string(s) : json_null();
}

json_t *
annotate_json(const struct store_annotation *a)
{
	char from[CW_TIME_STRLEN], to[CW_TIME_STRLEN], created[CW_TIME_STRLEN];

	return json_pack("{s:I, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:s}", "id",
	    (json_int_t)a->id, "from",
	    cw_time_format(a->from, from, sizeof(from)), "to",
	    cw_time_format(a->to, to, sizeof(to)), "text", a->text, "country",
	    annotate_opt(a->country), "asn",
	    a->asn >= 0 ? json_integer(a->asn) : json_null(), "probe",
	    annotate_opt(a->probe), "url", annotate_opt(a->url), "created",
	    cw_time_format(a->created_at, created, sizeof(created)));
}

int
annotate_write_header(struct evbuffer *out, enum annotate_format fmt)
{
	if (fmt != ANNOTATE_CSV)
		return 0;
	return evbuffer_add(out, ANNOTATE_CSV_HEADER,
	    sizeof(ANNOTATE_CSV_HEADER) - 1);
}

/* annotate_csv: `a` as one CSV row, in the header's order. */
static int
annotate_csv(struct evbuffer *out, const struct store_annotation *a)
{
	char id[24], asn[24], from[CW_TIME_STRLEN], to[CW_TIME_STRLEN],
	    created[CW_TIME_STRLEN];
	const char *cells[9];

	snprintf(id, sizeof(id), "%lld", a->id);
	snprintf(asn, sizeof(asn), "%lld", a->asn);
	cells[0] = id;
	cells[1] = cw_time_format(a->from, from, sizeof(from));
	cells[2] = cw_time_format(a->to, to, sizeof(to));
	cells[3] = a->text;
	cells[4] = a->country[0] != '\0' ? a->country : NULL;
	cells[5] = a->asn >= 0 ? asn : NULL;
	cells[6] = a->probe[0] != '\0' ? a->probe : NULL;
	cells[7] = a->url[0] != '\0' ? a->url : NULL;
	cells[8] = cw_time_format(a->created_at, created, sizeof(created));
	for (size_t i = 0; i < 9; i++)
		if ((i > 0 && evbuffer_add(out, ",", 1) == -1) ||
		    export_csv_field(out, cells[i],
		        cells[i] != NULL ? strlen(cells[i]) : 0) == -1)
			return -1;
	return evbuffer_add(out, "\r\n", 2);
}

int
annotate_write(struct evbuffer *out, enum annotate_format fmt,
    const struct store_annotation *a)
{
	json_t *j;
	char *line;
	int rc;

	if (fmt == ANNOTATE_CSV)
		return annotate_csv(out, a);
	if ((j = annotate_json(a)) == NULL)
		return -1;
	line = result_dump(j);
	json_decref(j);
	if (line == NULL)
		return -1;
	rc = evbuffer_add_printf(out, "%s\n", line) < 0 ? -1 : 0;
	free(line);
	return rc;
}
