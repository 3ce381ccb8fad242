/*
 * store_evidence.c -- the evidence of a DNS or HTTP result that the CSV
 * export shows beside its columns (store.h: struct store_evidence),
 * worked out once from the parsed record: at ingest, into the records
 * table's evidence columns, and by the exporter for rows stored before
 * those columns existed.
 */
#include "config.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "store.h"
#include "store_int.h"

/* A JSON integer not below 0, or -1. */
static long long
store_json_count(json_t *v)
{
	return json_is_integer(v) && json_integer_value(v) >= 0 ?
	    (long long)json_integer_value(v) :
	    -1;
}

/* A JSON boolean as 1 or 0; -1 for anything else. */
static int
store_json_bool(json_t *v)
{
	return json_is_boolean(v) ? json_is_true(v) : -1;
}

/* The strings of a `txt` array joined (store_words_join); NULL when it
 * has none. */
static int
store_txt_join(json_t *txt, char **text)
{
	const char **words;
	size_t n = 0, i;
	json_t *v;

	*text = NULL;
	if (!json_is_array(txt) || json_array_size(txt) == 0)
		return 0;
	if ((words = calloc(json_array_size(txt), sizeof(*words))) == NULL)
		return -1;
	json_array_foreach(txt, i, v)
		if (json_is_string(v))
			words[n++] = json_string_value(v);
	*text = store_words_join(words, n);
	free(words);
	return *text == NULL ? -1 : 0;
}

int
store_evidence_parse(json_t *rec, const char *type, struct store_evidence *ev,
    char **owned)
{
	bool dns = strcmp(type, "dns") == 0;
	json_t *late;

	ev->failure_detail = ev->txt = NULL;
	ev->late_count = ev->attempts = ev->http_status = -1;
	ev->late_differ = ev->truncated = ev->tcp_fallback = -1;
	*owned = NULL;
	if ((!dns && strcmp(type, "http") != 0) || !json_is_object(rec))
		return 0;
	late = json_object_get(rec, "late_replies");
	ev->failure_detail = store_json_str(rec, "failure_detail");
	if (store_txt_join(json_object_get(rec, "txt"), owned) == -1)
		return -1;
	ev->txt = *owned;
	ev->late_count = store_json_count(json_object_get(late, "count"));
	ev->late_differ = store_json_bool(json_object_get(late, "differ"));
	ev->truncated = store_json_bool(
	    json_object_get(rec, dns ? "truncated" : "body_truncated"));
	/* The TCP retry of a truncated UDP reply left that reply in
	 * truncated_reply. */
	if (dns)
		ev->tcp_fallback = json_object_get(rec, "truncated_reply") !=
		    NULL;
	ev->attempts = store_json_count(json_object_get(rec, "attempts"));
	if (!dns)
		ev->http_status = store_json_count(
		    json_object_get(rec, "status"));
	return 0;
}

char *
store_words_join(const char *const *words, size_t n)
{
	size_t len = 1;
	char *text, *d;

	for (size_t i = 0; i < n; i++)
		len += 4 * strlen(words[i]) + 1;
	if ((d = text = malloc(len)) == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			*d++ = ' ';
		for (const char *c = words[i]; *c != '\0'; c++) {
			if (*c == ' ') {
				memcpy(d, "\\032", 4);
				d += 4;
			} else
				*d++ = *c;
		}
	}
	*d = '\0';
	return text;
}
