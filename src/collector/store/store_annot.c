/*
 * store_annot.c -- the store's annotations (store_annot.h): checked
 * once here, whoever adds them (the command line or the HTTP API).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "country.h"
#include "db.h"
#include "log.h"
#include "store_annot.h"
#include "store_int.h"

#define STORE_ANNOT_COLUMNS \
	"id, time_from, time_to, created_at, text, country, asn, probe, url"
/* 9999-12-31T23:59:59.999999Z: the last time cw_time_format writes. */
#define STORE_ANNOT_TIME_MAX INT64_C(253402300799999999)

void
store_annotation_init(struct store_annotation *a)
{
	memset(a, 0, sizeof(*a));
	a->asn = -1;
}

/* store_annot_utf8_len: the length of the UTF-8 sequence at `s` (0 when
 * it is not one: overlong, a surrogate, past U+10FFFF, cut short). */
static size_t
store_annot_utf8_len(const unsigned char *s)
{
	unsigned c = s[0];
	size_t n;
	unsigned long cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		cp = c & 0x07;
	} else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

/* store_annot_text_ok: valid UTF-8 without control characters (C0,
 * DEL, C1): a text that prints as one line wherever it is shown. */
static bool
store_annot_text_ok(const char *text)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t n;

	while (*s != '\0') {
		if (*s < 0x20 || *s == 0x7f)
			return false;
		if ((n = store_annot_utf8_len(s)) == 0)
			return false;
		/* C1 controls: U+0080 .. U+009F, encoded C2 80 .. C2 9F. */
		if (n == 2 && s[0] == 0xc2 && s[1] < 0xa0)
			return false;
		s += n;
	}
	return true;
}

/* store_annot_url_ok: http:// or https://, a host, visible ASCII. */
static bool
store_annot_url_ok(const char *url)
{
	size_t skip;

	if (strncmp(url, "http://", 7) == 0)
		skip = 7;
	else if (strncmp(url, "https://", 8) == 0)
		skip = 8;
	else
		return false;
	if (url[skip] == '\0' || url[skip] == '/' || url[skip] == '?' ||
	    url[skip] == '#')
		return false;
	for (const char *p = url; *p != '\0'; p++)
		if (*p <= 0x20 || *p >= 0x7f)
			return false;
	return true;
}

int
store_annotation_check(const struct store_annotation *a, char *err,
    size_t errlen)
{
	size_t tlen = strnlen(a->text, sizeof(a->text));

	if (a->from < 0 || a->from > STORE_ANNOT_TIME_MAX || a->to < 0 ||
	    a->to > STORE_ANNOT_TIME_MAX)
		log_say(err, errlen, "from, to: times from 1970 to 9999");
	else if (a->from > a->to)
		log_say(err, errlen, "from: after to");
	else if (tlen == 0 || tlen > STORE_ANNOT_TEXT_MAX)
		log_say(err, errlen, "text: 1 to %d bytes",
		    STORE_ANNOT_TEXT_MAX);
	else if (!store_annot_text_ok(a->text))
		log_say(err, errlen,
		    "text: not valid UTF-8, or holds a control "
		    "character (a newline, a tab...)");
	else if (a->country[0] != '\0' &&
	    (!country_valid(a->country) || a->country[0] < 'A' ||
	        a->country[1] < 'A' || a->country[0] > 'Z' ||
	        a->country[1] > 'Z'))
		log_say(err, errlen,
		    "country: \"%s\" is not an ISO 3166-1 "
		    "alpha-2 code in upper case",
		    a->country);
	else if (a->asn < -1 || a->asn > STORE_ANNOT_ASN_MAX)
		log_say(err, errlen, "asn: a number from 0 to %lld",
		    STORE_ANNOT_ASN_MAX);
	else if (a->probe[0] != '\0' && !record_is_hex(a->probe, RECORD_ID_HEX))
		log_say(err, errlen, "probe: %d lower-case hex digits",
		    RECORD_ID_HEX);
	else if (a->url[0] != '\0' &&
	    (strnlen(a->url, sizeof(a->url)) > STORE_ANNOT_URL_MAX ||
	        !store_annot_url_ok(a->url)))
		log_say(err, errlen,
		    "url: an http:// or https:// URL with a host, "
		    "of visible ASCII, at most %d bytes",
		    STORE_ANNOT_URL_MAX);
	else
		return 0;
	return -1;
}

/* store_annot_opt: an optional text column: NULL when unset. */
static struct db_value
store_annot_opt(const char *s)
{
	return s[0] != '\0' ? DB_V_TEXT(s) : DB_V_NULL;
}

static int
store_annot_id_cb(void *arg, const struct db_row *row)
{
	long long *id = arg;

	if (row->n > 0)
		*id = store_col_int(&row->col[0], 0);
	return 1;
}

int
store_annotation_add(struct store *st, struct store_annotation *a, char *err,
    size_t errlen)
{
	struct db_value p[8];
	long long id = 0;

	if (store_annotation_check(a, err, errlen) == -1)
		return STORE_E_INVALID;
	a->created_at = cw_real_usec();
	p[0] = DB_V_INT(a->from);
	p[1] = DB_V_INT(a->to);
	p[2] = DB_V_INT(a->created_at);
	p[3] = DB_V_TEXT(a->text);
	p[4] = store_annot_opt(a->country);
	p[5] = a->asn >= 0 ? DB_V_INT(a->asn) : DB_V_NULL;
	p[6] = store_annot_opt(a->probe);
	p[7] = store_annot_opt(a->url);
	if (db_query(st->db,
	        "INSERT INTO annotations (time_from, time_to, created_at, "
	        "text, country, asn, probe, url) "
	        "VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
	        p, 8, store_annot_id_cb, &id) == -1 ||
	    id <= 0) {
		store_set_error(st, "annotation");
		log_say(err, errlen, "%s", st->error);
		return STORE_E_DB;
	}
	a->id = id;
	return STORE_OK;
}

struct store_annot_list {
	store_annotation_cb cb;
	void *arg;
	int n;
};

static int
store_annot_row_cb(void *arg, const struct db_row *row)
{
	struct store_annot_list *l = arg;
	struct store_annotation a;
	const struct db_value *c = row->col;

	if (row->n < 9)
		return 1;
	store_annotation_init(&a);
	a.id = store_col_int(&c[0], 0);
	a.from = store_col_int(&c[1], 0);
	a.to = store_col_int(&c[2], 0);
	a.created_at = store_col_int(&c[3], 0);
	store_col_text(&c[4], a.text, sizeof(a.text));
	store_col_text(&c[5], a.country, sizeof(a.country));
	a.asn = store_col_int(&c[6], -1);
	store_col_text(&c[7], a.probe, sizeof(a.probe));
	store_col_text(&c[8], a.url, sizeof(a.url));
	l->n++;
	return l->cb(l->arg, &a);
}

int
store_annotation_list(struct store *st, cw_usec_t from, cw_usec_t to,
    size_t limit, store_annotation_cb cb, void *arg)
{
	struct store_annot_list l = { cb, arg, 0 };
	struct db_value p[3];
	char sql[256];
	int n = 0;

	snprintf(sql, sizeof(sql),
	    "SELECT " STORE_ANNOT_COLUMNS " FROM annotations WHERE 1 = 1%s%s "
	    "ORDER BY time_from, id%s",
	    from != 0 ? " AND time_to >= ?" : "",
	    to != 0 ? " AND time_from < ?" : "", limit > 0 ? " LIMIT ?" : "");
	if (from != 0)
		p[n++] = DB_V_INT(from);
	if (to != 0)
		p[n++] = DB_V_INT(to);
	if (limit > 0)
		p[n++] = DB_V_INT((long long)limit);
	if (db_query(st->db, sql, p, n, store_annot_row_cb, &l) == -1) {
		store_set_error(st, "annotations");
		return STORE_E_DB;
	}
	return l.n;
}

int
store_annotation_delete(struct store *st, long long id)
{
	struct db_value p = DB_V_INT(id);
	long long gone = 0;

	if (db_query(st->db,
	        "DELETE FROM annotations WHERE id = ? RETURNING id", &p, 1,
	        store_annot_id_cb, &gone) == -1) {
		store_set_error(st, "annotation");
		return STORE_E_DB;
	}
	return gone > 0 ? STORE_OK : STORE_E_NOTFOUND;
}
