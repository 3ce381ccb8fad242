/* test_annotate.c -- annotations: reading them from options and JSON,
 * what the store refuses, writing them as JSON lines and CSV, and the
 * store's add, list and delete on SQLite, and on PostgreSQL when
 * CW_TEST_PG_URL names a database the test may wipe
 * (tests/scenario/export_pg.sh). */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/buffer.h>
#include <sodium.h>

#include "annotate.h"
#include "store_annot.h"
#include "store_fixture.h"

#define T0        INT64_C(1795687200000000) /* 2026-11-26T10:00:00Z */
#define HOUR      (3600 * CW_USEC_PER_SEC)
#define PROBE_HEX "0123456789abcdef0123456789abcdef"

/* A valid annotation: [T0, T0 + 2h), a text and every option. */
static void
full(struct store_annotation *a)
{
	char err[256];

	store_annotation_init(a);
	assert_int_equal(annotate_set(a, "from", "2026-11-26T10:00:00Z", err,
	                     sizeof(err)),
	    0);
	assert_int_equal(annotate_set(a, "to", "2026-11-26T12:00:00.5Z", err,
	                     sizeof(err)),
	    0);
	assert_int_equal(annotate_set(a, "text",
	                     "Power cut in Kharkiv, \"oblast\" — «світло»", err,
	                     sizeof(err)),
	    0);
	assert_int_equal(annotate_set(a, "country", "ua", err, sizeof(err)), 0);
	assert_int_equal(annotate_set(a, "asn", "15895", err, sizeof(err)), 0);
	assert_int_equal(annotate_set(a, "probe", PROBE_HEX, err, sizeof(err)),
	    0);
	assert_int_equal(annotate_set(a, "url",
	                     "https://example.org/news?id=1,2", err,
	                     sizeof(err)),
	    0);
}

/* The check of `a` fails, naming `field` first in its reason. */
static void
refused(const struct store_annotation *a, const char *field)
{
	char err[256];

	err[0] = '\0';
	assert_int_equal(store_annotation_check(a, err, sizeof(err)), -1);
	if (strncmp(err, field, strlen(field)) != 0)
		fail_msg("\"%s\" does not name %s", err, field);
}

static void
test_set(void **state)
{
	struct store_annotation a;
	char err[256];

	(void)state;
	full(&a);
	assert_int_equal(a.from, T0);
	assert_int_equal(a.to, T0 + 2 * HOUR + 500000);
	assert_string_equal(a.country, "UA");
	assert_int_equal(a.asn, 15895);
	assert_int_equal(store_annotation_check(&a, err, sizeof(err)), 0);
	/* Values that do not parse, each refused naming its field. */
	assert_int_equal(annotate_set(&a, "from", "yesterday", err,
	                     sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "from"));
	assert_int_equal(annotate_set(&a, "to", "2026-02-30T00:00:00Z", err,
	                     sizeof(err)),
	    -1);
	assert_int_equal(annotate_set(&a, "asn", "AS15895", err, sizeof(err)),
	    -1);
	assert_int_equal(annotate_set(&a, "asn", "4294967296", err,
	                     sizeof(err)),
	    -1);
	assert_int_equal(annotate_set(&a, "asn", "-1", err, sizeof(err)), -1);
	assert_int_equal(annotate_set(&a, "asn", "4294967295", err,
	                     sizeof(err)),
	    0);
	assert_int_equal(annotate_set(&a, "country", "UKR", err, sizeof(err)),
	    -1);
	assert_int_equal(annotate_set(&a, "colour", "red", err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "colour"));
}

static void
test_check(void **state)
{
	struct store_annotation a;
	char big[STORE_ANNOT_URL_MAX + 2];

	(void)state;
	full(&a);
	a.to = a.from - 1;
	refused(&a, "from");
	full(&a);
	a.to = a.from; /* an instant is a window */
	assert_int_equal(store_annotation_check(&a, big, sizeof(big)), 0);
	a.from = -1;
	refused(&a, "from");
	full(&a);
	a.text[0] = '\0';
	refused(&a, "text");
	memset(a.text, 'x', STORE_ANNOT_TEXT_MAX);
	a.text[STORE_ANNOT_TEXT_MAX] = '\0';
	assert_int_equal(store_annotation_check(&a, big, sizeof(big)), 0);
	/* Control characters and broken UTF-8. */
	strcpy(a.text, "two\nlines");
	refused(&a, "text");
	strcpy(a.text, "a\tb");
	refused(&a, "text");
	strcpy(a.text, "del\x7f");
	refused(&a, "text");
	strcpy(a.text, "c1 \xc2\x85 next line");
	refused(&a, "text");
	strcpy(a.text, "cut \xd1");
	refused(&a, "text");
	strcpy(a.text, "overlong \xc0\xaf");
	refused(&a, "text");
	strcpy(a.text, "surrogate \xed\xa0\x80");
	refused(&a, "text");
	full(&a);
	strcpy(a.country, "ZZ");
	refused(&a, "country");
	strcpy(a.country, "ua");
	refused(&a, "country");
	full(&a);
	a.asn = STORE_ANNOT_ASN_MAX + 1;
	refused(&a, "asn");
	full(&a);
	strcpy(a.probe, "0123456789ABCDEF0123456789ABCDEF");
	refused(&a, "probe");
	strcpy(a.probe, "0123");
	refused(&a, "probe");
	full(&a);
	strcpy(a.url, "ftp://example.org/");
	refused(&a, "url");
	strcpy(a.url, "javascript:alert(1)");
	refused(&a, "url");
	strcpy(a.url, "https://");
	refused(&a, "url");
	strcpy(a.url, "https://example.org/a b");
	refused(&a, "url");
	strcpy(a.url, "http://example.org/\xc3\xa9");
	refused(&a, "url");
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "https://", 8);
	assert_int_equal(annotate_set(&a, "url", big, big, sizeof(big)), -1);
}

/* annotate_from_json on `text`: its return, the reason in err. */
static int
from_json(struct store_annotation *a, const char *text, char *err,
    size_t errlen)
{
	json_error_t jerr;
	/* The API's parser refuses \u0000 already; this is the check
	 * behind it. */
	json_t *j = json_loads(text, JSON_ALLOW_NUL, &jerr);
	int rc;

	assert_non_null(j);
	store_annotation_init(a);
	rc = annotate_from_json(a, j, err, errlen);
	json_decref(j);
	return rc;
}

static void
test_from_json(void **state)
{
	struct store_annotation a;
	char err[256];

	(void)state;
	assert_int_equal(from_json(&a,
	                     "{\"from\":\"2026-11-26T10:00:00Z\","
	                     "\"to\":\"2026-11-26T11:00:00Z\",\"text\":\"t\","
	                     "\"country\":null,\"asn\":64500,\"probe\":null,"
	                     "\"url\":null}",
	                     err, sizeof(err)),
	    0);
	assert_int_equal(a.from, T0);
	assert_int_equal(a.to, T0 + HOUR);
	assert_int_equal(a.asn, 64500);
	assert_string_equal(a.country, "");
	assert_int_equal(
	    from_json(&a, "{\"from\":\"2026-11-26T10:00:00Z\",\"text\":\"t\"}",
	        err, sizeof(err)),
	    -1);
	assert_string_equal(err, "to: required");
	assert_int_equal(from_json(&a,
	                     "{\"from\":\"2026-11-26T10:00:00Z\",\"to\":null,"
	                     "\"text\":\"t\"}",
	                     err, sizeof(err)),
	    -1);
	assert_int_equal(from_json(&a,
	                     "{\"from\":\"2026-11-26T10:00:00Z\","
	                     "\"to\":\"2026-11-26T11:00:00Z\",\"text\":\"t\","
	                     "\"asn\":\"64500\"}",
	                     err, sizeof(err)),
	    -1);
	assert_string_equal(err, "asn: not an integer");
	assert_int_equal(from_json(&a,
	                     "{\"from\":\"2026-11-26T10:00:00Z\","
	                     "\"to\":\"2026-11-26T11:00:00Z\",\"text\":\"t\","
	                     "\"admin\":true}",
	                     err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "admin"));
	assert_int_equal(
	    from_json(&a,
	        "{\"from\":\"2026-11-26T10:00:00Z\","
	        "\"to\":\"2026-11-26T11:00:00Z\",\"text\":\"a\\u0000b\"}",
	        err, sizeof(err)),
	    -1);
	assert_string_equal(err, "text: holds a NUL");
	assert_int_equal(from_json(&a, "[1]", err, sizeof(err)), -1);
}

/* `a` written in `fmt`, as a string the caller frees. */
static char *
written(enum annotate_format fmt, const struct store_annotation *a)
{
	struct evbuffer *b = evbuffer_new();
	size_t len;
	char *s;

	assert_non_null(b);
	assert_int_equal(annotate_write_header(b, fmt), 0);
	assert_int_equal(annotate_write(b, fmt, a), 0);
	len = evbuffer_get_length(b);
	assert_non_null(s = malloc(len + 1));
	evbuffer_remove(b, s, len);
	s[len] = '\0';
	evbuffer_free(b);
	return s;
}

static void
test_write(void **state)
{
	struct store_annotation a;
	char *s;

	(void)state;
	full(&a);
	a.id = 7;
	a.created_at = T0 + 3 * HOUR;
	s = written(ANNOTATE_JSONL, &a);
	assert_string_equal(s,
	    "{\"id\":7,\"from\":\"2026-11-26T10:00:00.000000Z\","
	    "\"to\":\"2026-11-26T12:00:00.500000Z\","
	    "\"text\":\"Power cut in Kharkiv, \\\"oblast\\\" — «світло»\","
	    "\"country\":\"UA\",\"asn\":15895,\"probe\":\"" PROBE_HEX "\","
	    "\"url\":\"https://example.org/news?id=1,2\","
	    "\"created\":\"2026-11-26T13:00:00.000000Z\"}\n");
	free(s);
	store_annotation_init(&a);
	a.id = 8;
	a.from = a.to = a.created_at = T0;
	strcpy(a.text, "=cmd|' /C calc'!A0");
	s = written(ANNOTATE_CSV, &a);
	assert_string_equal(s,
	    "id,from,to,text,country,asn,probe,url,created\r\n"
	    "8,2026-11-26T10:00:00.000000Z,2026-11-26T10:00:00.000000Z,"
	    "'=cmd|' /C calc'!A0,,,,,2026-11-26T10:00:00.000000Z\r\n");
	free(s);
	s = written(ANNOTATE_JSONL, &a);
	assert_non_null(strstr(s,
	    "\"country\":null,\"asn\":null,"
	    "\"probe\":null,\"url\":null"));
	free(s);
}

/* --- the store, on each backend --- */

/* What a list hands over, copied. */
struct got {
	struct store_annotation a[8];
	int n;
};

static int
got_cb(void *arg, const struct store_annotation *a)
{
	struct got *g = arg;

	assert_true(g->n < 8);
	g->a[g->n++] = *a;
	return 0;
}

static int
list(struct sfix_test *t, cw_usec_t from, cw_usec_t to, size_t limit,
    struct got *g)
{
	memset(g, 0, sizeof(*g));
	return store_annotation_list(t->s.st, from, to, limit, got_cb, g);
}

/* Add an annotation of [from, to) with text `text` and no option. */
static long long
add(struct sfix_test *t, cw_usec_t from, cw_usec_t to, const char *text)
{
	struct store_annotation a;
	char err[256];

	store_annotation_init(&a);
	a.from = from;
	a.to = to;
	snprintf(a.text, sizeof(a.text), "%s", text);
	assert_int_equal(store_annotation_add(t->s.st, &a, err, sizeof(err)),
	    STORE_OK);
	assert_true(a.id > 0);
	return a.id;
}

static void
test_store_round_trip(void **state)
{
	struct sfix_test *t = *state;
	struct store_annotation a, b;
	cw_usec_t before = cw_real_usec();
	struct got g;
	char err[256];

	full(&a);
	/* The longest text, in 2-byte characters, and a long URL. */
	for (int i = 0; i < STORE_ANNOT_TEXT_MAX; i += 2)
		memcpy(a.text + i, "\xd1\x97", 2);
	a.text[STORE_ANNOT_TEXT_MAX] = '\0';
	memset(a.url, 'p', STORE_ANNOT_URL_MAX);
	memcpy(a.url, "http://h/", 9);
	a.url[STORE_ANNOT_URL_MAX] = '\0';
	b = a;
	assert_int_equal(store_annotation_add(t->s.st, &a, err, sizeof(err)),
	    STORE_OK);
	assert_true(a.id >= 1);
	assert_true(a.created_at >= before && a.created_at <= cw_real_usec());
	assert_int_equal(list(t, 0, 0, 0, &g), 1);
	assert_int_equal(g.a[0].id, a.id);
	assert_int_equal(g.a[0].from, b.from);
	assert_int_equal(g.a[0].to, b.to);
	assert_int_equal(g.a[0].created_at, a.created_at);
	assert_string_equal(g.a[0].text, b.text);
	assert_string_equal(g.a[0].country, "UA");
	assert_int_equal(g.a[0].asn, 15895);
	assert_string_equal(g.a[0].probe, PROBE_HEX);
	assert_string_equal(g.a[0].url, b.url);
	/* Unset options come back unset; ASN 0 is an ASN. */
	store_annotation_init(&a);
	a.from = a.to = T0 - HOUR;
	a.asn = 0;
	strcpy(a.text, "x");
	assert_int_equal(store_annotation_add(t->s.st, &a, err, sizeof(err)),
	    STORE_OK);
	assert_int_equal(list(t, 0, 0, 0, &g), 2);
	assert_int_equal(g.a[0].id, a.id); /* the earlier: first */
	assert_int_equal(g.a[0].asn, 0);
	assert_string_equal(g.a[0].country, "");
	assert_string_equal(g.a[0].probe, "");
	assert_string_equal(g.a[0].url, "");
}

static void
test_store_refuses(void **state)
{
	struct sfix_test *t = *state;
	struct store_annotation a;
	struct got g;
	char err[256];

	full(&a);
	strcpy(a.text, "bad\rtext");
	assert_int_equal(store_annotation_add(t->s.st, &a, err, sizeof(err)),
	    STORE_E_INVALID);
	assert_non_null(strstr(err, "text"));
	full(&a);
	a.from = a.to + 1;
	assert_int_equal(store_annotation_add(t->s.st, &a, err, sizeof(err)),
	    STORE_E_INVALID);
	assert_int_equal(list(t, 0, 0, 0, &g), 0);
}

static void
test_store_window(void **state)
{
	struct sfix_test *t = *state;
	long long early, mid, late, point;
	struct got g;

	early = add(t, T0, T0 + HOUR, "early");
	mid = add(t, T0 + 2 * HOUR, T0 + 4 * HOUR, "mid");
	late = add(t, T0 + 5 * HOUR, T0 + 6 * HOUR, "late");
	point = add(t, T0 + 3 * HOUR, T0 + 3 * HOUR, "point");
	assert_int_equal(list(t, 0, 0, 0, &g), 4);
	assert_int_equal(g.a[0].id, early);
	assert_int_equal(g.a[1].id, mid);
	assert_int_equal(g.a[2].id, point);
	assert_int_equal(g.a[3].id, late);
	/* [T0 + 1h, T0 + 2h): early ends at its start (it meets it), mid
	 * starts at its end (it does not). */
	assert_int_equal(list(t, T0 + HOUR, T0 + 2 * HOUR, 0, &g), 1);
	assert_int_equal(g.a[0].id, early);
	assert_int_equal(list(t, T0 + 3 * HOUR, T0 + 3 * HOUR + 1, 0, &g), 2);
	assert_int_equal(g.a[0].id, mid);
	assert_int_equal(g.a[1].id, point);
	assert_int_equal(list(t, T0 + 4 * HOUR + 1, 0, 0, &g), 1);
	assert_int_equal(g.a[0].id, late);
	assert_int_equal(list(t, 0, T0 + 1, 0, &g), 1);
	assert_int_equal(list(t, 0, 0, 2, &g), 2);
	assert_int_equal(g.a[1].id, mid);
	assert_int_equal(list(t, T0 + 7 * HOUR, 0, 0, &g), 0);
}

static void
test_store_delete(void **state)
{
	struct sfix_test *t = *state;
	long long one, two;
	struct got g;

	one = add(t, T0, T0 + HOUR, "one");
	two = add(t, T0, T0 + HOUR, "two");
	assert_int_equal(store_annotation_delete(t->s.st, one), STORE_OK);
	assert_int_equal(store_annotation_delete(t->s.st, one),
	    STORE_E_NOTFOUND);
	assert_int_equal(store_annotation_delete(t->s.st, 999),
	    STORE_E_NOTFOUND);
	assert_int_equal(list(t, 0, 0, 0, &g), 1);
	assert_int_equal(g.a[0].id, two);
	assert_string_equal(g.a[0].text, "two");
	/* Ids are not given again. */
	assert_true(add(t, T0, T0, "three") > two);
}

#define ANNOTATE_TESTS(setup) \
	SFIX_TEST(test_store_round_trip, setup), \
	    SFIX_TEST(test_store_refuses, setup), \
	    SFIX_TEST(test_store_window, setup), \
	    SFIX_TEST(test_store_delete, setup)

int
main(void)
{
	const struct CMUnitTest plain[] = {
		cmocka_unit_test(test_set),
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_from_json),
		cmocka_unit_test(test_write),
	};
	const struct CMUnitTest sqlite_tests[] = { ANNOTATE_TESTS(
	    sfix_setup_sqlite) };
	const struct CMUnitTest pg_tests[] = { ANNOTATE_TESTS(sfix_setup_pg) };
	int failed;

	if (sodium_init() < 0)
		return 1;
	failed = cmocka_run_group_tests_name("annotate", plain, NULL, NULL);
	failed += cmocka_run_group_tests_name("annotate on sqlite",
	    sqlite_tests, NULL, NULL);
	if (sfix_pg_url() != NULL)
		failed += cmocka_run_group_tests_name("annotate on postgresql",
		    pg_tests, NULL, NULL);
	else
		printf("annotate on postgresql: not run (CW_TEST_PG_URL "
		       "unset)\n");
	return failed != 0;
}
