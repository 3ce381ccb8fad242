/*
 * export.c -- stored records streamed out as JSON lines, CSV or RIPE
 * Atlas results, one page of store_results() per step (doc/export.md).
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <jansson.h>

#include "export.h"
#include "log.h"
#include "result.h"

/* A growing byte string: one output row is built here, then added to
 * the evbuffer whole. */
struct export_text {
	char *p;
	size_t len, cap;
	bool oom;
};

struct exporter {
	struct store *st;
	struct store_filter f;
	enum export_format fmt;
	size_t page; /* rows, at most */
	size_t page_bytes;
	size_t fit;              /* rows to ask: export_rows */
	size_t step_start;       /* of the output, this step */
	bool full;               /* page_bytes reached */
	long long last;          /* id of the last record read */
	struct store_cursor cur; /* with a time range */
	int state;               /* 1, 0 or -1: export_step */
	bool started;            /* the CSV header is out */
	unsigned long long records;
	struct evbuffer *out; /* during a step */
	struct export_text text;
	bool oom;
};

static const char *const export_format_names[] = {
	[EXPORT_JSONL] = "jsonl",
	[EXPORT_CSV] = "csv",
	[EXPORT_ATLAS] = "atlas",
};

#define EXPORT_CSV_HEADER \
	"probe,probe_num,chain,seq,received_at,time,type,name,msm," \
	"server,addr,port,af,proto,qname,qtype,ok,failure,rtt_ms," \
	"rcode,nsid,soa_serial,country,asn,failure_detail,txt," \
	"late_count,late_differ,truncated,tcp_fallback,attempts," \
	"http_status\r\n"

int
export_format_parse(const char *text, enum export_format *out)
{
	for (size_t i = 0;
	     i < sizeof(export_format_names) / sizeof(export_format_names[0]);
	     i++)
		if (strcmp(text, export_format_names[i]) == 0) {
			*out = (enum export_format)i;
			return 0;
		}
	return -1;
}

const char *
export_format_name(enum export_format fmt)
{
	return export_format_names[fmt];
}

const char *
export_content_type(enum export_format fmt)
{
	switch (fmt) {
	case EXPORT_CSV:
		return "text/csv; charset=utf-8; header=present";
	case EXPORT_JSONL:
	case EXPORT_ATLAS:
		break;
	}
	return "application/x-ndjson";
}

/* --- Filter parameters --- */

void
export_params_init(struct export_params *p)
{
	memset(p, 0, sizeof(*p));
	store_filter_init(&p->filter);
}

static bool
export_word_ok(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n > max)
		return false;
	for (; *s != '\0'; s++)
		if (!islower((unsigned char)*s) &&
		    !isdigit((unsigned char)*s) && *s != '_' && *s != '-')
			return false;
	return true;
}

static bool
export_probe_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == RECORD_ID_HEX) {
		for (; *s != '\0'; s++)
			if (!isdigit((unsigned char)*s) &&
			    (*s < 'a' || *s > 'f'))
				return false;
		return true;
	}
	if (n == 0 || n > 18 || s[0] == '0')
		return false;
	for (; *s != '\0'; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

/* An address in canonical text (inet_ntop's) into `out`. */
static int
export_addr_canon(const char *s, char *out, size_t size)
{
	unsigned char bin[16];

	if (inet_pton(AF_INET, s, bin) == 1)
		return inet_ntop(AF_INET, bin, out, size) != NULL ? 0 : -1;
	if (inet_pton(AF_INET6, s, bin) == 1)
		return inet_ntop(AF_INET6, bin, out, size) != NULL ? 0 : -1;
	return -1;
}

static int
export_asn_parse(const char *s, long long *out)
{
	unsigned long long v;
	char *end;

	if (!isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > UINT32_MAX)
		return -1;
	*out = (long long)v;
	return 0;
}

int
export_params_set(struct export_params *p, const char *key, const char *value,
    char *err, size_t errlen)
{
	struct store_filter *f = &p->filter;

	if (strcmp(key, "from") == 0 || strcmp(key, "to") == 0) {
		cw_usec_t t;
		if (cw_time_parse(value, &t) == -1 || t <= 0) {
			log_say(err, errlen,
			    "%s: \"%s\" is not a UTC time "
			    "(YYYY-MM-DDTHH:MM:SS[.uuuuuu]Z)",
			    key, value);
			return -1;
		}
		*(key[0] == 'f' ? &f->from : &f->to) = t;
	} else if (strcmp(key, "probe") == 0) {
		if (!export_probe_ok(value)) {
			log_say(err, errlen,
			    "probe: \"%s\" is neither a "
			    "probe id (32 hex digits) nor a probe number",
			    value);
			return -1;
		}
		f->probe = value;
	} else if (strcmp(key, "type") == 0) {
		if (!export_word_ok(value, RECORD_TYPE_MAX - 1)) {
			log_say(err, errlen,
			    "type: \"%s\" is not a record "
			    "type (dns, http, heartbeat, loss ...)",
			    value);
			return -1;
		}
		f->type = value;
	} else if (strcmp(key, "name") == 0) {
		if (value[0] == '\0' || strlen(value) > 255) {
			log_say(err, errlen,
			    "name: empty or longer than "
			    "255 bytes");
			return -1;
		}
		f->name = value;
	} else if (strcmp(key, "addr") == 0) {
		if (export_addr_canon(value, p->addr, sizeof(p->addr)) == -1) {
			log_say(err, errlen,
			    "addr: \"%s\" is not an IPv4 "
			    "or IPv6 address",
			    value);
			return -1;
		}
		f->addr = p->addr;
	} else if (strcmp(key, "country") == 0) {
		if (strlen(value) != 2 || !isalpha((unsigned char)value[0]) ||
		    !isalpha((unsigned char)value[1]) ||
		    !isascii((unsigned char)value[0]) ||
		    !isascii((unsigned char)value[1])) {
			log_say(err, errlen,
			    "country: \"%s\" is not a "
			    "two-letter country code",
			    value);
			return -1;
		}
		p->country[0] = (char)toupper((unsigned char)value[0]);
		p->country[1] = (char)toupper((unsigned char)value[1]);
		p->country[2] = '\0';
		f->country = p->country;
	} else if (strcmp(key, "asn") == 0) {
		if (export_asn_parse(value, &f->asn) == -1) {
			log_say(err, errlen,
			    "asn: \"%s\" is not an AS "
			    "number (0 to 4294967295)",
			    value);
			return -1;
		}
	} else
		return 0;
	return 1;
}

int
export_params_check(const struct export_params *p, char *err, size_t errlen)
{
	const struct store_filter *f = &p->filter;

	if (f->from != 0 && f->to != 0 && f->from >= f->to) {
		log_say(err, errlen, "from must be before to");
		return -1;
	}
	return 0;
}

static int
export_strdup(const char **dst, const char *src)
{
	char *s;

	*dst = NULL;
	if (src == NULL)
		return 0;
	if ((s = strdup(src)) == NULL)
		return -1;
	*dst = s;
	return 0;
}

int
export_filter_copy(struct store_filter *dst, const struct store_filter *src)
{
	*dst = *src;
	if (export_strdup(&dst->probe, src->probe) == -1 ||
	    export_strdup(&dst->type, src->type) == -1 ||
	    export_strdup(&dst->name, src->name) == -1 ||
	    export_strdup(&dst->addr, src->addr) == -1 ||
	    export_strdup(&dst->country, src->country) == -1) {
		export_filter_clear(dst);
		return -1;
	}
	return 0;
}

void
export_filter_clear(struct store_filter *f)
{
	free((char *)f->probe);
	free((char *)f->type);
	free((char *)f->name);
	free((char *)f->addr);
	free((char *)f->country);
	store_filter_init(f);
}

/* --- Building a row --- */

static bool
export_text_reserve(struct export_text *t, size_t more)
{
	size_t cap;
	char *p;

	if (t->oom)
		return false;
	if (t->len + more <= t->cap)
		return true;
	for (cap = t->cap != 0 ? t->cap : 1024; cap < t->len + more; cap *= 2)
		;
	if ((p = realloc(t->p, cap)) == NULL) {
		t->oom = true;
		return false;
	}
	t->p = p;
	t->cap = cap;
	return true;
}

static void
export_text_add(struct export_text *t, const char *s, size_t n)
{
	/* Nothing to add (an empty line from the database) before the
	 * first row: t->p is still NULL, and NULL + 0 is undefined. */
	if (n == 0 || !export_text_reserve(t, n))
		return;
	memcpy(t->p + t->len, s, n);
	t->len += n;
}

/* One CSV field (see export_csv_field) onto `t`. */
static void
export_text_csv(struct export_text *t, const char *s, size_t n)
{
	bool guard, quote = false;
	char *d;

	if (s == NULL || n == 0)
		return;
	guard = s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' ||
	    s[0] == '\t' || s[0] == '\r';
	for (size_t i = 0; i < n && !quote; i++)
		quote = s[i] == ',' || s[i] == '"' || s[i] == '\r' ||
		    s[i] == '\n';
	if (!quote && !guard) {
		export_text_add(t, s, n);
		return;
	}
	if (!export_text_reserve(t, 2 * n + 3))
		return;
	d = t->p + t->len;
	if (quote)
		*d++ = '"';
	if (guard)
		*d++ = '\'';
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '"')
			*d++ = '"';
		*d++ = s[i];
	}
	if (quote)
		*d++ = '"';
	t->len = (size_t)(d - t->p);
}

int
export_csv_field(struct evbuffer *out, const char *text, size_t len)
{
	struct export_text t = { 0 };
	int ret = 0;

	export_text_csv(&t, text, len);
	if (t.oom || (t.len > 0 && evbuffer_add(out, t.p, t.len) == -1))
		ret = -1;
	free(t.p);
	return ret;
}

static void
export_csv_str(struct export_text *t, const char *s, bool last)
{
	if (s != NULL)
		export_text_csv(t, s, strlen(s));
	export_text_add(t, last ? "\r\n" : ",", last ? 2 : 1);
}

/* The decimal digits of `v` into `buf` (at least 20 bytes, not
 * terminated); returns their number.  (printf costs more than the rest
 * of a CSV row.) */
static size_t
export_fmt_uint(char *buf, unsigned long long v)
{
	char tmp[20];
	size_t n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	for (size_t i = 0; i < n; i++)
		buf[i] = tmp[n - 1 - i];
	return n;
}

/* `width` digits of `v`, zero-padded, into `buf`. */
static void
export_fmt_digits(char *buf, unsigned v, int width)
{
	while (width-- > 0) {
		buf[width] = (char)('0' + v % 10);
		v /= 10;
	}
}

size_t
export_time_format(cw_usec_t t, char buf[CW_TIME_STRLEN])
{
	long long secs, days, rem, z, era, doe, yoe, doy, mp, y, m, d;

	/* Years 1970 to 9999; cw_time_format for anything else. */
	if (t < 0 || t >= INT64_C(253402300800) * CW_USEC_PER_SEC)
		return strlen(cw_time_format(t, buf, CW_TIME_STRLEN));
	secs = t / CW_USEC_PER_SEC;
	days = secs / 86400;
	rem = secs % 86400;
	/* The civil date of a day count, in 400-year eras of 146097 days
	 * that start on March 1st (so that leap days end a year). */
	z = days + 719468;
	era = z / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	m = mp < 10 ? mp + 3 : mp - 9;
	y = yoe + era * 400 + (m <= 2);
	export_fmt_digits(buf, (unsigned)y, 4);
	buf[4] = '-';
	export_fmt_digits(buf + 5, (unsigned)m, 2);
	buf[7] = '-';
	export_fmt_digits(buf + 8, (unsigned)d, 2);
	buf[10] = 'T';
	export_fmt_digits(buf + 11, (unsigned)(rem / 3600), 2);
	buf[13] = ':';
	export_fmt_digits(buf + 14, (unsigned)(rem / 60 % 60), 2);
	buf[16] = ':';
	export_fmt_digits(buf + 17, (unsigned)(rem % 60), 2);
	buf[19] = '.';
	export_fmt_digits(buf + 20, (unsigned)(t % CW_USEC_PER_SEC), 6);
	buf[26] = 'Z';
	buf[27] = '\0';
	return 27;
}

/* A number and its separator, or only the separator for -1 (absent). */
static void
export_csv_int(struct export_text *t, long long v, bool last)
{
	char buf[24];
	size_t n = 0;

	if (v >= 0)
		n = export_fmt_uint(buf, (unsigned long long)v);
	if (last) {
		buf[n++] = '\r';
		buf[n++] = '\n';
	} else
		buf[n++] = ',';
	export_text_add(t, buf, n);
}

static void
export_csv_time(struct export_text *t, long long v)
{
	char buf[CW_TIME_STRLEN];
	size_t n = 0;

	if (v >= 0)
		n = export_time_format(v, buf);
	buf[n++] = ',';
	export_text_add(t, buf, n);
}

/* printf onto `t`, however long the text: "%.3f" of 1e308 is over 300
 * bytes, so the length is measured first and the room made for it. */
static void export_text_printf(struct export_text *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
export_text_printf(struct export_text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !export_text_reserve(t, (size_t)n + 1))
		return;
	va_start(ap, fmt);
	vsnprintf(t->p + t->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	t->len += (size_t)n;
}

/* Milliseconds with three decimals (the RTT rounded to the
 * microsecond), or an empty field.  Ingest keeps RTTs within 0 to
 * RECORD_MS_MAX (doc/results.md); a record stored before it did may hold
 * any double: written whole, or empty when it is not finite. */
static void
export_csv_ms(struct export_text *t, bool has, double ms)
{
	char buf[32];
	long long us;
	size_t n = 0;

	if (has && ms >= 0 && ms < 1e12) {
		us = llround(ms * 1000.0);
		n = export_fmt_uint(buf, (unsigned long long)(us / 1000));
		buf[n++] = '.';
		export_fmt_digits(buf + n, (unsigned)(us % 1000), 3);
		n += 3;
	} else if (has && isfinite(ms))
		export_text_printf(t, "%.3f", ms);
	buf[n++] = ',';
	export_text_add(t, buf, n);
}

/* 1, 0, -1 (store_evidence) as "true", "false" or an empty field. */
static const char *
export_bool_text(int v)
{
	return v < 0 ? NULL : v ? "true" : "false";
}

/*
 * The evidence columns (failure_detail to http_status, doc/export.md),
 * the last with the row's end: the columns ingest stored, or for a
 * record stored before them, the same values read from its line.
 */
static void
export_csv_evidence(struct exporter *e, const struct store_row *r)
{
	struct export_text *t = &e->text;
	struct store_evidence ev = r->ev;
	json_t *rec = NULL;
	char *owned = NULL;

	if (!r->has_evidence) {
		if (strcmp(r->type, "dns") == 0 || strcmp(r->type, "http") == 0)
			rec = json_loadb(r->line, r->len, 0, NULL);
		if (store_evidence_parse(rec, r->type, &ev, &owned) == -1)
			e->oom = true;
	}
	export_csv_str(t, ev.failure_detail, false);
	export_csv_str(t, ev.txt, false);
	export_csv_int(t, ev.late_count, false);
	export_csv_str(t, export_bool_text(ev.late_differ), false);
	export_csv_str(t, export_bool_text(ev.truncated), false);
	export_csv_str(t, export_bool_text(ev.tcp_fallback), false);
	export_csv_int(t, ev.attempts, false);
	export_csv_int(t, ev.http_status, true);
	free(owned);
	json_decref(rec);
}

static void
export_row_csv(struct exporter *e, const struct store_row *r)
{
	struct export_text *t = &e->text;

	export_csv_str(t, r->probe, false);
	export_csv_int(t, r->probe_num, false);
	export_csv_str(t, r->chain, false);
	export_csv_int(t, r->seq, false);
	export_csv_time(t, r->received_at);
	export_csv_time(t, r->time);
	export_csv_str(t, r->type, false);
	export_csv_str(t, r->name, false);
	export_csv_int(t, r->msm, false);
	export_csv_str(t, r->server, false);
	export_csv_str(t, r->addr, false);
	export_csv_int(t, r->port, false);
	export_csv_int(t, r->af, false);
	export_csv_str(t, r->proto, false);
	export_csv_str(t, r->qname, false);
	export_csv_str(t, r->qtype, false);
	export_csv_str(t, r->ok < 0 ? NULL : r->ok ? "true" : "false", false);
	export_csv_str(t, r->failure, false);
	export_csv_ms(t, r->has_rtt, r->rtt_ms);
	export_csv_str(t, r->rcode, false);
	export_csv_str(t, r->nsid, false);
	export_csv_int(t, r->soa_serial, false);
	export_csv_str(t, r->country, false);
	export_csv_int(t, r->asn, false);
	export_csv_evidence(e, r);
}

/* --- RIPE Atlas --- */

static void
export_json_copy(json_t *dst, const char *dkey, json_t *src, const char *skey)
{
	json_t *v = json_object_get(src, skey);

	if (v != NULL && !json_is_null(v))
		json_object_set(dst, dkey, v);
}

/* The keys every Atlas result has. */
static void
export_atlas_common(json_t *o, const struct store_row *r, const char *type,
    const char *msm_name, const char *proto)
{
	long long msm = r->msm > 0 ? r->msm : 0;
	long long when = r->time >= 0 ? r->time : r->received_at;

	json_object_set_new(o, "fw", json_integer(EXPORT_ATLAS_FW));
	if (r->af == 4 || r->af == 6)
		json_object_set_new(o, "af", json_integer(r->af));
	if (r->addr != NULL)
		json_object_set_new(o, "dst_addr", json_string(r->addr));
	if (r->server != NULL || r->addr != NULL)
		json_object_set_new(o, "dst_name",
		    json_string(r->server != NULL ? r->server : r->addr));
	if (proto != NULL)
		json_object_set_new(o, "proto", json_string(proto));
	json_object_set_new(o, "from", json_string(""));
	json_object_set_new(o, "msm_id", json_integer(msm));
	json_object_set_new(o, "prb_id", json_integer(r->probe_num));
	json_object_set_new(o, "timestamp",
	    json_integer(when < 0 ? 0 : when / CW_USEC_PER_SEC));
	json_object_set_new(o, "type", json_string(type));
	json_object_set_new(o, "msm_name", json_string(msm_name));
	json_object_set_new(o, "group_id", json_integer(msm));
}

/* "<failure>: <failure_detail>", or the failure alone. */
static json_t *
export_failure_text(json_t *rec)
{
	const char *failure = json_string_value(
	    json_object_get(rec, "failure"));
	const char *detail = json_string_value(
	    json_object_get(rec, "failure_detail"));

	if (failure == NULL)
		failure = "unknown";
	if (detail == NULL)
		return json_string(failure);
	return json_sprintf("%s: %s", failure, detail);
}

/* The timeout of a generic_timeout_error in ms, from its detail ("no
 * reply within 4.000 s"); 0 when the detail does not say. */
static long long
export_timeout_ms(json_t *rec)
{
	const char *d = json_string_value(
	    json_object_get(rec, "failure_detail"));
	const char *w;
	double secs;
	char unit;

	if (d == NULL || (w = strstr(d, "within ")) == NULL ||
	    sscanf(w + 7, "%lf %c", &secs, &unit) != 2 || unit != 's' ||
	    !(secs >= 0) || secs > 86400)
		return 0;
	return llround(secs * 1000);
}

/*
 * The record's evidence that the Atlas format has no key for, under
 * "corewatch" (doc/export.md): the failure and its detail, and for DNS
 * the attempts, the truncation and the TCP retry, the late replies and
 * the TXT answer; for HTTP the cut body.  Atlas tools ignore keys they
 * do not know.
 */
static json_t *
export_atlas_evidence(json_t *rec, bool dns)
{
	json_t *o = json_object(), *late, *l;

	if (o == NULL)
		return NULL;
	export_json_copy(o, "failure", rec, "failure");
	export_json_copy(o, "failure_detail", rec, "failure_detail");
	if (!dns) {
		export_json_copy(o, "body_truncated", rec, "body_truncated");
		return o;
	}
	export_json_copy(o, "attempts", rec, "attempts");
	export_json_copy(o, "truncated", rec, "truncated");
	json_object_set_new(o, "tcp_fallback",
	    json_boolean(json_object_get(rec, "truncated_reply") != NULL));
	late = json_object_get(rec, "late_replies");
	if (json_is_object(late) && (l = json_object()) != NULL) {
		export_json_copy(l, "count", late, "count");
		export_json_copy(l, "differ", late, "differ");
		json_object_set_new(o, "late_replies", l);
	}
	export_json_copy(o, "txt", rec, "txt");
	return o;
}

static json_t *
export_atlas_dns(const struct store_row *r, json_t *rec)
{
	json_t *o = json_object(), *res, *counts;
	char proto[8];
	size_t i;

	if (o == NULL)
		return NULL;
	proto[0] = '\0';
	if (r->proto != NULL && strlen(r->proto) < sizeof(proto)) {
		for (i = 0; r->proto[i] != '\0'; i++)
			proto[i] = (char)toupper((unsigned char)r->proto[i]);
		proto[i] = '\0';
	}
	export_atlas_common(o, r, "dns", "Tdig",
	    proto[0] != '\0' ? proto : NULL);
	if (json_is_string(json_object_get(rec, "rcode"))) {
		/* A reply was accepted (whatever its rcode). */
		res = json_object();
		export_json_copy(res, "rt", rec, "rtt_ms");
		export_json_copy(res, "size", rec, "size");
		export_json_copy(res, "abuf", rec, "abuf");
		export_json_copy(res, "ID", json_object_get(rec, "query"),
		    "id");
		counts = json_object_get(rec, "counts");
		export_json_copy(res, "ANCOUNT", counts, "an");
		export_json_copy(res, "QDCOUNT", counts, "qd");
		export_json_copy(res, "NSCOUNT", counts, "ns");
		export_json_copy(res, "ARCOUNT", counts, "ar");
		json_object_set_new(o, "result", res);
	} else {
		const char *failure = json_string_value(
		    json_object_get(rec, "failure"));
		res = json_object();
		if (failure != NULL &&
		    strcmp(failure, "generic_timeout_error") == 0)
			json_object_set_new(res, "timeout",
			    json_integer(export_timeout_ms(rec)));
		else
			json_object_set_new(res, "socket",
			    export_failure_text(rec));
		json_object_set_new(o, "error", res);
	}
	/* Atlas's "retry" counts the attempts after the first. */
	if (json_integer_value(json_object_get(rec, "attempts")) > 0)
		json_object_set_new(o, "retry",
		    json_integer(
		        json_integer_value(json_object_get(rec, "attempts")) -
		        1));
	json_object_set_new(o, "corewatch", export_atlas_evidence(rec, true));
	return o;
}

static json_t *
export_atlas_http(const struct store_row *r, json_t *rec)
{
	json_t *o = json_object(), *res = json_object(), *list = json_array();
	json_t *method = json_object_get(rec, "method");

	if (o == NULL || res == NULL || list == NULL) {
		json_decref(o);
		json_decref(res);
		json_decref(list);
		return NULL;
	}
	export_atlas_common(o, r, "http", "HTTPGet", NULL);
	export_json_copy(o, "uri", rec, "url");
	json_object_set_new(res, "method",
	    json_is_string(method) ? json_incref(method) : json_string("GET"));
	if (r->af == 4 || r->af == 6)
		json_object_set_new(res, "af", json_integer(r->af));
	if (r->addr != NULL)
		json_object_set_new(res, "dst_addr", json_string(r->addr));
	export_json_copy(res, "res", rec, "status");
	export_json_copy(res, "rt", rec, "total_ms");
	export_json_copy(res, "ttc", rec, "connect_ms");
	export_json_copy(res, "ttfb", rec, "ttfb_ms");
	export_json_copy(res, "ver", rec, "http_version");
	export_json_copy(res, "hsize", rec, "header_bytes");
	export_json_copy(res, "bsize", rec, "body_bytes");
	if (r->ok != 1)
		json_object_set_new(res, r->addr == NULL ? "dnserr" : "err",
		    export_failure_text(rec));
	json_array_append_new(list, res);
	json_object_set_new(o, "result", list);
	json_object_set_new(o, "corewatch", export_atlas_evidence(rec, false));
	return o;
}

/* A record in Atlas form onto e->text; nothing for the kinds Atlas has
 * no form for. */
static void
export_row_atlas(struct exporter *e, const struct store_row *r)
{
	struct export_text *t = &e->text;
	json_error_t jerr;
	json_t *rec, *o = NULL;
	size_t n;

	if (strcmp(r->type, "dns") != 0 && strcmp(r->type, "http") != 0)
		return;
	/* A DNS result without an address measured nothing
	 * (dns_no_servers); an HTTP one is a failed lookup of the host,
	 * which Atlas has a key for (dnserr). */
	if (r->addr == NULL && r->type[0] == 'd')
		return;
	if ((rec = json_loadb(r->line, r->len, 0, &jerr)) == NULL) {
		log_warnx("export: record %lld: %s", r->id, jerr.text);
		return;
	}
	if (r->type[0] == 'd')
		o = export_atlas_dns(r, rec);
	else
		o = export_atlas_http(r, rec);
	json_decref(rec);
	if (o == NULL) {
		e->oom = true;
		return;
	}
	while (export_text_reserve(t, 512)) {
		n = result_dumpb(o, t->p + t->len, t->cap - t->len);
		if (n == 0) {
			e->oom = true;
			break;
		}
		if (t->len + n < t->cap) {
			t->len += n;
			export_text_add(t, "\n", 1);
			break;
		}
		if (!export_text_reserve(t, n + 1))
			break;
	}
	json_decref(o);
}

/* --- The exporter --- */

struct exporter *
export_new(struct store *st, const struct store_filter *f,
    enum export_format fmt, char *err, size_t errlen)
{
	struct exporter *e;

	if ((e = calloc(1, sizeof(*e))) == NULL ||
	    export_filter_copy(&e->f, f) == -1) {
		free(e);
		log_say(err, errlen, "export: out of memory");
		return NULL;
	}
	e->st = st;
	e->fmt = fmt;
	e->page = EXPORT_PAGE_ROWS;
	e->page_bytes = EXPORT_PAGE_BYTES;
	e->fit = EXPORT_FIRST_ROWS;
	e->cur = STORE_CURSOR_START;
	e->state = 1;
	return e;
}

void
export_set_page_rows(struct exporter *e, size_t rows)
{
	e->page = rows > 0 ? rows : 1;
}

void
export_set_page_bytes(struct exporter *e, size_t bytes)
{
	e->page_bytes = bytes;
}

static int
export_row_cb(void *arg, const struct store_row *r)
{
	struct exporter *e = arg;
	struct export_text *t = &e->text;

	t->len = 0;
	switch (e->fmt) {
	case EXPORT_JSONL:
		export_text_add(t, r->line, r->len);
		export_text_add(t, "\n", 1);
		break;
	case EXPORT_CSV:
		export_row_csv(e, r);
		break;
	case EXPORT_ATLAS:
		export_row_atlas(e, r);
		break;
	}
	if (t->oom)
		e->oom = true;
	if (e->oom)
		return 1;
	if (t->len == 0)
		return 0;
	if (evbuffer_add(e->out, t->p, t->len) == -1) {
		e->oom = true;
		return 1;
	}
	e->records++;
	if (evbuffer_get_length(e->out) - e->step_start >= e->page_bytes) {
		e->full = true;
		return 1;
	}
	return 0;
}

/* export_rows: how many records to ask the store for (export.h): a
 * page that ended on its bytes after k records tells how many fit, and
 * the next asks for twice that (records may be smaller further on). */
static size_t
export_rows(const struct exporter *e)
{
	return e->fit < e->page ? e->fit : e->page;
}

int
export_step(struct exporter *e, struct evbuffer *out)
{
	size_t rows = export_rows(e);
	long long n;

	if (e->state != 1)
		return e->state;
	if (!e->started) {
		e->started = true;
		if (e->fmt == EXPORT_CSV &&
		    evbuffer_add(out, EXPORT_CSV_HEADER,
		        sizeof(EXPORT_CSV_HEADER) - 1) == -1) {
			e->state = -1;
			return -1;
		}
	}
	e->out = out;
	e->step_start = evbuffer_get_length(out);
	e->full = false;
	/* A time range is read in time order along the time index; without
	 * one, in ingest order: either way no page sorts what it skips. */
	if (e->f.from != 0 || e->f.to != 0)
		n = store_results_by_time(e->st, &e->f, &e->cur, rows,
		    export_row_cb, e);
	else
		n = store_results(e->st, &e->f, e->last, rows, export_row_cb, e,
		    &e->last);
	e->out = NULL;
	if (n < 0 || e->oom) {
		if (e->oom)
			log_warnx("export: out of memory");
		e->state = -1;
	} else if (!e->full && (size_t)n < rows)
		e->state = 0;
	else
		e->fit = e->full ? 2 * (size_t)n : 2 * rows;
	return e->state;
}

unsigned long long
export_records(const struct exporter *e)
{
	return e->records;
}

void
export_free(struct exporter *e)
{
	if (e == NULL)
		return;
	export_filter_clear(&e->f);
	free(e->text.p);
	free(e);
}
