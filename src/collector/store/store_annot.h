/*
 * store_annot.h -- annotations: what operators and researchers record of
 * the world beside the measurements (a power cut in a region, a cable
 * cut, a government shutdown), each a time window, a text and,
 * optionally, the country, AS, probe and a URL it concerns.  Written
 * once over db.h for SQLite and PostgreSQL, in the store of store.h
 * and under its error rule.
 */
#ifndef CW_STORE_ANNOT_H
#define CW_STORE_ANNOT_H

#include <stdbool.h>
#include <stddef.h>

#include "cwtime.h"
#include "record.h"
#include "store.h"

#define STORE_ANNOT_TEXT_MAX 1000 /* bytes of UTF-8 */
#define STORE_ANNOT_URL_MAX  1024
#define STORE_ANNOT_ASN_MAX  4294967295LL

/* One annotation.  Optional fields: country and probe "", asn -1, url
 * "". */
struct store_annotation {
	long long id;         /* the store's, from 1 */
	cw_usec_t from, to;   /* UTC, from <= to */
	cw_usec_t created_at; /* when it was added */
	char text[STORE_ANNOT_TEXT_MAX + 1];
	char country[3];               /* upper case */
	long long asn;                 /* 0 .. STORE_ANNOT_ASN_MAX */
	char probe[RECORD_ID_HEX + 1]; /* lower-case hex */
	char url[STORE_ANNOT_URL_MAX + 1];
};

/* store_annotation_init: an empty annotation (every option unset). */
void store_annotation_init(struct store_annotation *a);

/*
 * store_annotation_check: whether `a` may be stored: from <= to, both
 * from 1970 to 9999; a text of 1 to STORE_ANNOT_TEXT_MAX bytes of valid
 * UTF-8 without control characters; the country an assigned ISO code
 * (country.h, upper case); the ASN in range; the probe 32 lower-case
 * hex digits; the URL http:// or https:// with a host, of visible
 * ASCII, at most STORE_ANNOT_URL_MAX bytes.  Returns 0, or -1 with the
 * reason, naming the field, in `err`.
 */
int store_annotation_check(const struct store_annotation *a, char *err,
    size_t errlen);

/*
 * store_annotation_add: store `a` (checked first: STORE_E_INVALID with
 * the reason in `err`), created now; its id and created_at are set in
 * `a`.  Returns STORE_OK or STORE_E_*.
 */
int store_annotation_add(struct store *st, struct store_annotation *a,
    char *err, size_t errlen);

/* A row callback of store_annotation_list: `a` is valid during the
 * call; return non-zero to stop (not an error). */
typedef int (*store_annotation_cb)(void *arg, const struct store_annotation *a);

/*
 * store_annotation_list: the annotations whose window meets [from, to)
 * (from <= its to, its from < to; 0 for either: unbounded), ordered by
 * their from and id, at most `limit` (0: all) of them, to `cb`.
 * Returns how many were handed over, or STORE_E_DB.
 */
int store_annotation_list(struct store *st, cw_usec_t from, cw_usec_t to,
    size_t limit, store_annotation_cb cb, void *arg);

/* store_annotation_delete: remove annotation `id`.  Returns STORE_OK,
 * STORE_E_NOTFOUND or STORE_E_DB. */
int store_annotation_delete(struct store *st, long long id);

#endif /* CW_STORE_ANNOT_H */
