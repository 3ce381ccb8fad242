/*
 * summary.c -- measurements, availability, RTT percentiles, NSIDs and
 * SOA serial lag per target and per probe in time buckets, each type of
 * measurement (DNS, HTTP) apart, from one time-ordered pass over the
 * stored results (doc/export.md).
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <jansson.h>

#include "export.h"
#include "log.h"
#include "result.h"
#include "summary.h"

enum summary_kind {
	SUMMARY_TARGET,
	SUMMARY_PROBE,
};

/* What one target or one probe did within the current bucket, for
 * one type of measurement. */
struct summary_group {
	char *type;                  /* "dns", "http" */
	char *name;                  /* the measurement's, or NULL */
	char *addr, *proto, *server; /* targets */
	long long port, af;
	char *host;  /* non-DNS targets */
	char *probe; /* probes */
	long long probe_num;
	unsigned long long n, ok;
	struct summary_rtts rtt; /* of successes */
	char **nsid;             /* sorted, distinct */
	size_t nnsid;
	unsigned long long soa_n, soa_behind;
	cw_usec_t lag_max;
};

struct summary_groups {
	struct summary_group **v; /* sorted by key */
	size_t n, cap;
};

/* A serial of a zone and when any target first reported it. */
struct summary_serial {
	uint32_t serial;
	cw_usec_t first;
};

/* The serials seen of one zone, oldest first; each newer (RFC 1982)
 * than the one before, so the last is the newest. */
struct summary_zone {
	char *qname;
	struct summary_serial *hist;
	size_t n, cap;
};

struct summary {
	struct store *st;
	struct store_filter f;
	cw_usec_t bucket;
	enum summary_format fmt;
	size_t page;
	size_t max_groups; /* of a bucket; 0: no cap */
	struct store_cursor cur;
	int state;
	bool started;  /* the CSV header is out */
	bool too_many; /* groups: over max_groups */
	bool have_bucket;
	cw_usec_t start; /* of the current bucket */
	struct summary_groups targets, probes;
	struct summary_zone *zones;
	size_t nzones;
	struct evbuffer *out;
	bool oom;
};

#define SUMMARY_CSV_HEADER \
	"start,end,kind,type,probe,probe_num,addr,port,proto,af," \
	"server,host,measurements," \
	"successes,availability_pct,rtt_median_ms,rtt_p95_ms,nsids," \
	"soa_measurements,soa_behind,soa_lag_max_s,name\r\n"

int
summary_bucket_parse(const char *text, cw_usec_t *out)
{
	unsigned long long n, unit;
	char *end;

	if (!isdigit((unsigned char)text[0]))
		return -1;
	errno = 0;
	n = strtoull(text, &end, 10);
	if (errno != 0 || end[0] == '\0' || end[1] != '\0')
		return -1;
	switch (end[0]) {
	case 's':
		unit = 1;
		break;
	case 'm':
		unit = 60;
		break;
	case 'h':
		unit = 3600;
		break;
	case 'd':
		unit = 86400;
		break;
	default:
		return -1;
	}
	if (n == 0 || n > SUMMARY_BUCKET_MAX_S / unit ||
	    n * unit % SUMMARY_BUCKET_MIN_S != 0)
		return -1;
	*out = (cw_usec_t)(n * unit) * CW_USEC_PER_SEC;
	return 0;
}

int
summary_format_parse(const char *text, enum summary_format *out)
{
	if (strcmp(text, "json") == 0)
		*out = SUMMARY_JSON;
	else if (strcmp(text, "csv") == 0)
		*out = SUMMARY_CSV;
	else
		return -1;
	return 0;
}

const char *
summary_content_type(enum summary_format fmt)
{
	return fmt == SUMMARY_CSV ? "text/csv; charset=utf-8; header=present" :
	                            "application/x-ndjson";
}

int
summary_serial_cmp(uint32_t a, uint32_t b)
{
	if (a == b)
		return 0;
	if ((a < b && b - a < UINT32_C(0x80000000)) ||
	    (a > b && a - b > UINT32_C(0x80000000)))
		return -1;
	if ((a < b && b - a > UINT32_C(0x80000000)) ||
	    (a > b && a - b < UINT32_C(0x80000000)))
		return 1;
	return 2;
}

/* --- Groups --- */

static void
summary_group_free(struct summary_group *g)
{
	if (g == NULL)
		return;
	free(g->type);
	free(g->name);
	free(g->addr);
	free(g->proto);
	free(g->server);
	free(g->host);
	free(g->probe);
	summary_rtts_clear(&g->rtt);
	for (size_t i = 0; i < g->nnsid; i++)
		free(g->nsid[i]);
	free(g->nsid);
	free(g);
}

static void
summary_groups_clear(struct summary_groups *gs)
{
	for (size_t i = 0; i < gs->n; i++)
		summary_group_free(gs->v[i]);
	free(gs->v);
	memset(gs, 0, sizeof(*gs));
}

static int
summary_strcmp(const char *a, const char *b)
{
	return strcmp(a != NULL ? a : "", b != NULL ? b : "");
}

/* Whether measurements of `type` are DNS: only those have NSIDs and
 * SOA serials, and only their targets are their addresses alone. */
static bool
summary_is_dns(const char *type)
{
	return type != NULL && strcmp(type, "dns") == 0;
}

/*
 * Order of groups: by type, then targets by address text, port,
 * transport, family and (not DNS) host; probes by number.
 *
 * A DNS target is its address: a query does not name the server it is
 * sent to, so what answers there is the same whatever name the probe
 * knows it by (an alias, a catalog's label), and keying by that name
 * would split one server's figures.  An HTTP request names its site
 * (Host, SNI), and one address (a CDN's) serves many sites: each host
 * is a target of its own.
 */
static int
summary_group_cmp(enum summary_kind kind, const struct summary_group *g,
    const struct store_row *r)
{
	int c;

	if ((c = summary_strcmp(g->type, r->type)) != 0)
		return c;
	/* A measurement without a name comes before every name. */
	if ((g->name == NULL) != (r->name == NULL))
		return g->name == NULL ? -1 : 1;
	if (g->name != NULL && (c = strcmp(g->name, r->name)) != 0)
		return c;
	if (kind == SUMMARY_PROBE)
		return g->probe_num < r->probe_num ?
		    -1 :
		    g->probe_num > r->probe_num;
	if ((c = summary_strcmp(g->addr, r->addr)) != 0)
		return c;
	if (g->port != r->port)
		return g->port < r->port ? -1 : 1;
	if ((c = summary_strcmp(g->proto, r->proto)) != 0)
		return c;
	if (g->af != r->af)
		return g->af < r->af ? -1 : 1;
	return summary_is_dns(r->type) ? 0 : summary_strcmp(g->host, r->server);
}

static char *
summary_strdup(struct summary *s, const char *text)
{
	char *p;

	if (text == NULL)
		return NULL;
	if ((p = strdup(text)) == NULL)
		s->oom = true;
	return p;
}

/* The group of `r` in `gs`, made when new; NULL when out of memory. */
static struct summary_group *
summary_group_get(struct summary *s, struct summary_groups *gs,
    enum summary_kind kind, const struct store_row *r)
{
	struct summary_group *g;
	size_t lo = 0, hi = gs->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = summary_group_cmp(kind, gs->v[mid], r);
		if (c == 0)
			return gs->v[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (s->max_groups > 0 && s->targets.n + s->probes.n >= s->max_groups) {
		s->too_many = true;
		return NULL;
	}
	if (gs->n == gs->cap) {
		size_t cap = gs->cap == 0 ? 16 : gs->cap * 2;
		struct summary_group **v = reallocarray(gs->v, cap, sizeof(*v));
		if (v == NULL) {
			s->oom = true;
			return NULL;
		}
		gs->v = v;
		gs->cap = cap;
	}
	if ((g = calloc(1, sizeof(*g))) == NULL) {
		s->oom = true;
		return NULL;
	}
	g->type = summary_strdup(s, r->type);
	g->name = summary_strdup(s, r->name);
	if (kind == SUMMARY_TARGET) {
		g->addr = summary_strdup(s, r->addr);
		g->proto = summary_strdup(s, r->proto);
		g->port = r->port;
		g->af = r->af;
		if (!summary_is_dns(r->type))
			g->host = summary_strdup(s, r->server);
	} else {
		g->probe = summary_strdup(s, r->probe);
		g->probe_num = r->probe_num;
	}
	if (s->oom) {
		summary_group_free(g);
		return NULL;
	}
	memmove(&gs->v[lo + 1], &gs->v[lo], (gs->n - lo) * sizeof(*gs->v));
	gs->v[lo] = g;
	gs->n++;
	return g;
}

static void
summary_nsid_add(struct summary *s, struct summary_group *g, const char *nsid)
{
	size_t lo = 0, hi = g->nnsid;
	char **v, *copy;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(g->nsid[mid], nsid);
		if (c == 0)
			return;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (g->nnsid == SUMMARY_NSID_MAX)
		return;
	if ((v = reallocarray(g->nsid, g->nnsid + 1, sizeof(*v))) == NULL) {
		s->oom = true;
		return;
	}
	g->nsid = v;
	if ((copy = summary_strdup(s, nsid)) == NULL)
		return;
	memmove(&v[lo + 1], &v[lo], (g->nnsid - lo) * sizeof(*v));
	v[lo] = copy;
	g->nnsid++;
}

int
summary_rtts_add(struct summary_rtts *r, double ms)
{
	double us = ms * 1000.0;

	if (r->n == r->cap) {
		size_t cap = r->cap == 0 ? 64 : r->cap * 2;
		uint32_t *v = reallocarray(r->v, cap, sizeof(*v));
		if (v == NULL)
			return -1;
		r->v = v;
		r->cap = cap;
	}
	if (!(us >= 0))
		us = 0;
	else if (us > (double)UINT32_MAX)
		us = (double)UINT32_MAX;
	r->v[r->n++] = (uint32_t)llround(us);
	return 0;
}

static int
summary_u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

void
summary_rtts_sort(struct summary_rtts *r)
{
	if (r->n > 1)
		qsort(r->v, r->n, sizeof(*r->v), summary_u32_cmp);
}

uint32_t
summary_rtts_percentile(const struct summary_rtts *r, unsigned q)
{
	size_t n = r->n, rank;

	if (q == 50 && n % 2 == 0) {
		uint64_t sum = (uint64_t)r->v[n / 2 - 1] + r->v[n / 2];
		return (uint32_t)((sum + 1) / 2);
	}
	/* Whole numbers: a rank in floating point can land one above. */
	rank = (q * n + 99) / 100;
	return r->v[rank == 0 ? 0 : rank > n ? n - 1 : rank - 1];
}

void
summary_rtts_clear(struct summary_rtts *r)
{
	free(r->v);
	memset(r, 0, sizeof(*r));
}

/* What the SOA serial of one measurement says (summary_soa). */
struct summary_soa {
	bool seen;     /* it reported a serial */
	bool behind;   /* an older one than the newest */
	cw_usec_t lag; /* since a newer one was first seen */
};

static void
summary_account(struct summary *s, struct summary_group *g,
    const struct store_row *r, const struct summary_soa *soa)
{
	g->n++;
	if (r->ok == 1) {
		g->ok++;
		if (r->has_rtt && summary_rtts_add(&g->rtt, r->rtt_ms) == -1)
			s->oom = true;
	}
	if (r->nsid != NULL && summary_is_dns(r->type))
		summary_nsid_add(s, g, r->nsid);
	if (soa->seen) {
		g->soa_n++;
		if (soa->behind) {
			g->soa_behind++;
			if (soa->lag > g->lag_max)
				g->lag_max = soa->lag;
		}
	}
	if (g->server == NULL && r->server != NULL && g->addr != NULL)
		g->server = summary_strdup(s, r->server);
}

/* --- SOA serials --- */

static struct summary_zone *
summary_zone_get(struct summary *s, const char *qname)
{
	struct summary_zone *z;

	for (size_t i = 0; i < s->nzones; i++)
		if (strcasecmp(s->zones[i].qname, qname) == 0)
			return &s->zones[i];
	z = reallocarray(s->zones, s->nzones + 1, sizeof(*z));
	if (z == NULL) {
		s->oom = true;
		return NULL;
	}
	s->zones = z;
	z = &s->zones[s->nzones];
	memset(z, 0, sizeof(*z));
	if ((z->qname = summary_strdup(s, qname)) == NULL)
		return NULL;
	s->nzones++;
	return z;
}

static void
summary_zone_append(struct summary *s, struct summary_zone *z, uint32_t serial,
    cw_usec_t t)
{
	if (z->n == SUMMARY_SERIAL_HISTORY) {
		memmove(&z->hist[0], &z->hist[1],
		    (z->n - 1) * sizeof(*z->hist));
		z->n--;
	}
	if (z->n == z->cap) {
		size_t cap = z->cap == 0 ? 8 : z->cap * 2;
		struct summary_serial *v = reallocarray(z->hist, cap,
		    sizeof(*v));
		if (v == NULL) {
			s->oom = true;
			return;
		}
		z->hist = v;
		z->cap = cap;
	}
	z->hist[z->n].serial = serial;
	z->hist[z->n].first = t;
	z->n++;
}

/*
 * A DNS measurement of zone `qname` reporting `serial` at `t`: a serial
 * newer than every one seen becomes the zone's newest; an older one is
 * behind, by the time since the first serial newer than it was first
 * seen.  Other types have no zone: whatever serial a record of theirs
 * carries is not theirs to report, and must not move a zone's newest.
 */
static void
summary_soa(struct summary *s, const struct store_row *r,
    struct summary_soa *soa)
{
	struct summary_zone *z;
	uint32_t serial;
	size_t k;

	memset(soa, 0, sizeof(*soa));
	if (!summary_is_dns(r->type) || r->soa_serial < 0 ||
	    r->soa_serial > (long long)UINT32_MAX || r->qname == NULL ||
	    (z = summary_zone_get(s, r->qname)) == NULL)
		return;
	serial = (uint32_t)r->soa_serial;
	soa->seen = true;
	if (z->n == 0 ||
	    summary_serial_cmp(serial, z->hist[z->n - 1].serial) == 1) {
		summary_zone_append(s, z, serial, r->time);
		return;
	}
	if (serial == z->hist[z->n - 1].serial)
		return;
	soa->behind = true;
	for (k = 0; k < z->n - 1; k++)
		if (summary_serial_cmp(z->hist[k].serial, serial) == 1)
			break;
	soa->lag = r->time - z->hist[k].first;
}

/* --- Output --- */

/* The median and the 95th percentile of g's RTTs
 * (summary_rtts_percentile), in microseconds; false when there are
 * none. */
static bool
summary_rtt_stats(struct summary_group *g, uint32_t *median, uint32_t *p95)
{
	if (g->rtt.n == 0)
		return false;
	summary_rtts_sort(&g->rtt);
	*median = summary_rtts_percentile(&g->rtt, 50);
	*p95 = summary_rtts_percentile(&g->rtt, 95);
	return true;
}

/* Rounded to three decimals, as JSON writes it. */
static double
summary_round3(double v)
{
	return round(v * 1000.0) / 1000.0;
}

double
summary_availability_pct(unsigned long long ok, unsigned long long n)
{
	return n > 0 ? summary_round3(100.0 * (double)ok / (double)n) : 0.0;
}

static json_t *
summary_json_str(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

/* The key of a group: its type and measurement name, then what makes a
 * target or a probe. */
static void
summary_key_json(json_t *o, enum summary_kind kind,
    const struct summary_group *g)
{
	json_object_set_new(o, "type", summary_json_str(g->type));
	json_object_set_new(o, "name", summary_json_str(g->name));
	if (kind == SUMMARY_TARGET) {
		json_object_set_new(o, "addr", summary_json_str(g->addr));
		json_object_set_new(o, "port",
		    g->port >= 0 ? json_integer(g->port) : json_null());
		json_object_set_new(o, "proto", summary_json_str(g->proto));
		json_object_set_new(o, "af",
		    g->af >= 0 ? json_integer(g->af) : json_null());
		json_object_set_new(o, "server", summary_json_str(g->server));
		json_object_set_new(o, "host", summary_json_str(g->host));
	} else {
		json_object_set_new(o, "probe", json_string(g->probe));
		json_object_set_new(o, "probe_num", json_integer(g->probe_num));
	}
}

/* NSIDs and SOA serial lag: DNS only, null for other types.  -1 when
 * out of memory. */
static int
summary_dns_json(json_t *o, const struct summary_group *g)
{
	json_t *nsids = json_null();
	bool dns = summary_is_dns(g->type);

	if (dns && (nsids = json_array()) == NULL)
		return -1;
	for (size_t i = 0; i < g->nnsid; i++)
		json_array_append_new(nsids, json_string(g->nsid[i]));
	json_object_set_new(o, "nsids", nsids);
	json_object_set_new(o, "soa_measurements",
	    dns ? json_integer((json_int_t)g->soa_n) : json_null());
	json_object_set_new(o, "soa_behind",
	    dns ? json_integer((json_int_t)g->soa_behind) : json_null());
	json_object_set_new(o, "soa_lag_max_s",
	    dns && g->soa_n > 0 ?
	        json_real(summary_round3((double)g->lag_max / 1e6)) :
	        json_null());
	return 0;
}

static json_t *
summary_group_json(enum summary_kind kind, struct summary_group *g)
{
	json_t *o = json_object();
	uint32_t median, p95;
	bool have_rtt = summary_rtt_stats(g, &median, &p95);

	if (o == NULL)
		return NULL;
	summary_key_json(o, kind, g);
	json_object_set_new(o, "measurements", json_integer((json_int_t)g->n));
	json_object_set_new(o, "successes", json_integer((json_int_t)g->ok));
	json_object_set_new(o, "availability_pct",
	    json_real(summary_availability_pct(g->ok, g->n)));
	json_object_set_new(o, "rtt_median_ms",
	    have_rtt ? json_real(median / 1000.0) : json_null());
	json_object_set_new(o, "rtt_p95_ms",
	    have_rtt ? json_real(p95 / 1000.0) : json_null());
	if (summary_dns_json(o, g) == -1) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static int
summary_emit_json(struct summary *s)
{
	char start[CW_TIME_STRLEN], end[CW_TIME_STRLEN], *line;
	json_t *o = json_object(), *list;
	int ret = -1;

	if (o == NULL)
		return -1;
	json_object_set_new(o, "start",
	    json_string(cw_time_format(s->start, start, sizeof(start))));
	json_object_set_new(o, "end",
	    json_string(
	        cw_time_format(s->start + s->bucket, end, sizeof(end))));
	for (int kind = SUMMARY_TARGET; kind <= SUMMARY_PROBE; kind++) {
		struct summary_groups *gs = kind == SUMMARY_TARGET ?
		    &s->targets :
		    &s->probes;
		if ((list = json_array()) == NULL)
			goto out;
		json_object_set_new(o,
		    kind == SUMMARY_TARGET ? "targets" : "probes", list);
		for (size_t i = 0; i < gs->n; i++) {
			json_t *g = summary_group_json(kind, gs->v[i]);
			if (g == NULL || json_array_append_new(list, g) == -1)
				goto out;
		}
	}
	if ((line = result_dump(o)) == NULL)
		goto out;
	if (evbuffer_add(s->out, line, strlen(line)) == 0 &&
	    evbuffer_add(s->out, "\n", 1) == 0)
		ret = 0;
	free(line);
out:
	json_decref(o);
	return ret;
}

/* A CSV field of text, with the separator after it. */
static int
summary_csv(struct evbuffer *out, const char *text, bool last)
{
	if (text != NULL && export_csv_field(out, text, strlen(text)) == -1)
		return -1;
	return evbuffer_add(out, last ? "\r\n" : ",", last ? 2 : 1);
}

static int summary_csv_fmt(struct evbuffer *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
summary_csv_fmt(struct evbuffer *out, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = evbuffer_add_vprintf(out, fmt, ap);
	va_end(ap);
	return n < 0 ? -1 : 0;
}

/* The NSIDs joined by spaces (store_words_join). */
static char *
summary_nsid_join(const struct summary_group *g)
{
	return store_words_join((const char *const *)g->nsid, g->nnsid);
}

/* The key columns of a group (type to host), each with its comma. */
static int
summary_key_csv(struct evbuffer *out, enum summary_kind kind,
    const struct summary_group *g)
{
	int ret = 0;

	ret |= summary_csv(out, g->type, false);
	if (kind == SUMMARY_PROBE) {
		ret |= summary_csv(out, g->probe, false);
		return ret | summary_csv_fmt(out, "%lld,,,,,,,", g->probe_num);
	}
	ret |= summary_csv_fmt(out, ",,");
	ret |= summary_csv(out, g->addr, false);
	if (g->port >= 0)
		ret |= summary_csv_fmt(out, "%lld", g->port);
	ret |= summary_csv(out, NULL, false);
	ret |= summary_csv(out, g->proto, false);
	if (g->af >= 0)
		ret |= summary_csv_fmt(out, "%lld", g->af);
	ret |= summary_csv(out, NULL, false);
	ret |= summary_csv(out, g->server, false);
	return ret | summary_csv(out, g->host, false);
}

/* The NSID and SOA columns, each with its comma: empty for types other
 * than DNS. */
static int
summary_dns_csv(struct evbuffer *out, const struct summary_group *g)
{
	char *nsids;
	int ret = 0;

	if (!summary_is_dns(g->type))
		return summary_csv_fmt(out, ",,,,");
	if ((nsids = summary_nsid_join(g)) == NULL)
		return -1;
	ret |= summary_csv(out, nsids, false);
	free(nsids);
	ret |= summary_csv_fmt(out, "%llu,%llu,", g->soa_n, g->soa_behind);
	if (g->soa_n > 0)
		ret |= summary_csv_fmt(out, "%.3f",
		    summary_round3((double)g->lag_max / 1e6));
	return ret | summary_csv(out, NULL, false);
}

static int
summary_group_csv(struct summary *s, enum summary_kind kind,
    struct summary_group *g, const char *start, const char *end)
{
	struct evbuffer *out = s->out;
	uint32_t median, p95;
	bool have_rtt = summary_rtt_stats(g, &median, &p95);
	int ret = 0;

	ret |= summary_csv_fmt(out, "%s,%s,%s,", start, end,
	    kind == SUMMARY_TARGET ? "target" : "probe");
	ret |= summary_key_csv(out, kind, g);
	ret |= summary_csv_fmt(out, "%llu,%llu,%.3f,", g->n, g->ok,
	    summary_availability_pct(g->ok, g->n));
	if (have_rtt)
		ret |= summary_csv_fmt(out, "%.3f,%.3f,", median / 1000.0,
		    p95 / 1000.0);
	else
		ret |= summary_csv_fmt(out, ",,");
	ret |= summary_dns_csv(out, g);
	/* The name came after the other columns: appended, not inserted. */
	ret |= summary_csv(out, g->name, true);
	return ret != 0 ? -1 : 0;
}

static int
summary_emit_csv(struct summary *s)
{
	char start[CW_TIME_STRLEN], end[CW_TIME_STRLEN];

	cw_time_format(s->start, start, sizeof(start));
	cw_time_format(s->start + s->bucket, end, sizeof(end));
	for (size_t i = 0; i < s->targets.n; i++)
		if (summary_group_csv(s, SUMMARY_TARGET, s->targets.v[i], start,
		        end) == -1)
			return -1;
	for (size_t i = 0; i < s->probes.n; i++)
		if (summary_group_csv(s, SUMMARY_PROBE, s->probes.v[i], start,
		        end) == -1)
			return -1;
	return 0;
}

/* The CSV header, once, before the first bucket (or alone). */
static void
summary_header(struct summary *s)
{
	if (s->started || s->fmt != SUMMARY_CSV)
		return;
	s->started = true;
	if (evbuffer_add(s->out, SUMMARY_CSV_HEADER,
	        sizeof(SUMMARY_CSV_HEADER) - 1) == -1)
		s->oom = true;
}

/* Write the current bucket and forget its groups. */
static void
summary_emit(struct summary *s)
{
	int ret;

	if (!s->have_bucket)
		return;
	summary_header(s);
	ret = s->fmt == SUMMARY_JSON ? summary_emit_json(s) :
	                               summary_emit_csv(s);
	if (ret == -1)
		s->oom = true;
	summary_groups_clear(&s->targets);
	summary_groups_clear(&s->probes);
	s->have_bucket = false;
}

/* --- The pass --- */

static int
summary_row_cb(void *arg, const struct store_row *r)
{
	struct summary *s = arg;
	struct summary_group *g;
	struct summary_soa soa;
	cw_usec_t start;

	if (r->time < 0)
		return 0;
	start = r->time - r->time % s->bucket;
	if (!s->have_bucket || start != s->start) {
		summary_emit(s);
		s->start = start;
		s->have_bucket = true;
	}
	summary_soa(s, r, &soa);
	if (r->addr != NULL &&
	    (g = summary_group_get(s, &s->targets, SUMMARY_TARGET, r)) != NULL)
		summary_account(s, g, r, &soa);
	if ((g = summary_group_get(s, &s->probes, SUMMARY_PROBE, r)) != NULL)
		summary_account(s, g, r, &soa);
	return s->oom || s->too_many ? 1 : 0;
}

struct summary *
summary_new(struct store *st, const struct store_filter *f, cw_usec_t bucket,
    enum summary_format fmt, char *err, size_t errlen)
{
	struct summary *s;

	if (bucket <= 0) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "summary: bucket not positive");
		return NULL;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    export_filter_copy(&s->f, f) == -1) {
		free(s);
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "summary: out of memory");
		return NULL;
	}
	s->st = st;
	s->bucket = bucket;
	s->fmt = fmt;
	s->page = SUMMARY_PAGE_ROWS;
	s->cur = STORE_CURSOR_START;
	s->state = 1;
	return s;
}

void
summary_set_page_rows(struct summary *s, size_t rows)
{
	s->page = rows > 0 ? rows : 1;
}

void
summary_set_max_groups(struct summary *s, size_t groups)
{
	s->max_groups = groups;
}

int
summary_step(struct summary *s, struct evbuffer *out)
{
	long long n;

	if (s->state != 1)
		return s->state;
	s->out = out;
	n = store_measurements_by_time(s->st, &s->f, &s->cur, s->page,
	    summary_row_cb, s);
	if (s->too_many) {
		/* Nothing of the bucket was written: let it go now. */
		summary_groups_clear(&s->targets);
		summary_groups_clear(&s->probes);
		s->state = SUMMARY_E_GROUPS;
	} else if (n >= 0 && (size_t)n < s->page && !s->oom) {
		summary_emit(s);
		summary_header(s);
		s->state = 0;
	} else if (n < 0)
		s->state = -1;
	if (s->oom) {
		log_warnx("summary: out of memory");
		s->state = -1;
	}
	s->out = NULL;
	return s->state;
}

void
summary_free(struct summary *s)
{
	if (s == NULL)
		return;
	summary_groups_clear(&s->targets);
	summary_groups_clear(&s->probes);
	for (size_t i = 0; i < s->nzones; i++) {
		free(s->zones[i].qname);
		free(s->zones[i].hist);
	}
	free(s->zones);
	export_filter_clear(&s->f);
	free(s);
}
