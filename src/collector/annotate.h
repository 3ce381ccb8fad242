/*
 * annotate.h -- annotations as the collector takes and gives them:
 * fields read from text (command-line options) or from a JSON object
 * (the API), and an annotation written as one JSON line or one CSV row
 * (doc/export.md, "Annotations").  What may be stored is checked by the
 * store (store_annot.h); this is the reading and writing around it.
 */
#ifndef CW_ANNOTATE_H
#define CW_ANNOTATE_H

#include <stddef.h>

#include <jansson.h>

#include "store_annot.h"

struct evbuffer;

/* How a list of annotations is written. */
enum annotate_format {
	ANNOTATE_JSONL, /* one JSON object a line */
	ANNOTATE_CSV,   /* a header row, then one row each (CRLF) */
};

/* annotate_format_parse: "jsonl" or "csv" into *out.  Returns 0 or
 * -1. */
int annotate_format_parse(const char *text, enum annotate_format *out);

/*
 * annotate_set: field `key` of `a` ("from", "to", "text", "country",
 * "asn", "probe" or "url") from the text `value`: times UTC ISO 8601
 * (cw_time_parse), a country two letters of either case (kept in upper
 * case), an ASN decimal digits.  Returns 0, or -1 with the reason,
 * naming the field, in `err` (an unknown key, a value that does not
 * parse or does not fit).  The whole annotation is checked by
 * store_annotation_check() when it is stored.
 */
int annotate_set(struct store_annotation *a, const char *key, const char *value,
    char *err, size_t errlen);

/*
 * annotate_from_json: `a` from the JSON object `obj` as the API takes
 * it: "from", "to" and "text" strings (required); "country", "probe",
 * "url" strings and "asn" an integer, each optional (absent or null);
 * no other key.  Returns 0, or -1 with the reason in `err`.
 */
int annotate_from_json(struct store_annotation *a, const json_t *obj, char *err,
    size_t errlen);

/* annotate_json: `a` as a JSON object, keys id, from, to, text,
 * country, asn, probe, url (null when unset), created; the caller owns
 * it; NULL when out of memory. */
json_t *annotate_json(const struct store_annotation *a);

/* annotate_write_header: what starts a list in `fmt` (the CSV header;
 * nothing for JSON lines).  annotate_write: `a` as one line of `fmt`.
 * Both return 0, or -1 when out of memory. */
int annotate_write_header(struct evbuffer *out, enum annotate_format fmt);
int annotate_write(struct evbuffer *out, enum annotate_format fmt,
    const struct store_annotation *a);

#endif /* CW_ANNOTATE_H */
