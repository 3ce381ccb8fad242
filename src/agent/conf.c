/*
 * conf.c -- the probe's corewatch.conf: its sections, their checks and
 * the struct config they build (conf.h).
 *
 * The file is read by the loader both programs share (confload.h: the
 * preprocessor, problems with FILE:LINE, where every option was set).
 * Checks run in libconfuse's validation callbacks: the callback of each
 * section builds the section's struct as the section closes, reporting
 * every problem with its line.  The callbacks return 0 even after a
 * problem, so one run reports them all.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <confuse.h>

#include "catalog.h"
#include "conf.h"
#include "confload.h"
#include "size.h"
#include "tld.h"
#include "upload.h"

#define CONF_INTERVAL_MIN CW_USEC_PER_SEC
#define CONF_SPREAD_DEFAULT (30 * CW_USEC_PER_SEC)
#define CONF_INTERVAL_DEFAULT (300 * CW_USEC_PER_SEC)
#define CONF_LOCATION_MAX 256

/* A measurement's title and the line of its section, for names unique
 * across dns and http sections. */
struct conf_name {
	const char *name;	/* the title, owned by libconfuse's tree */
	int line;		/* in the preprocessed text */
};

/* The probe's load: the shared loader and what the sections build. */
struct conf_build {
	struct conf_loader l;	/* first: conf_build() finds the rest */
	struct conf_name *names;	/* of every measurement section */
	size_t nnames;

	struct config *conf;
	int probe_line;		/* of the probe section; 0: none */
	int output_line;
	int tld_line;		/* line of the tld_discovery section */
	int spool_line;
	int upload_line;
};

/* conf_build: the probe's load that `l` is part of. */
static struct conf_build *
conf_build(struct conf_loader *l)
{
	return (struct conf_build *)(void *)((char *)l -
	    offsetof(struct conf_build, l));
}

char *
config_duration_format(cw_usec_t usec, char *buf, size_t len)
{
	static const struct {
		cw_usec_t unit;
		const char *suffix;
	} units[] = {
		{86400 * CW_USEC_PER_SEC, "d"}, {3600 * CW_USEC_PER_SEC, "h"},
		{60 * CW_USEC_PER_SEC, "m"}, {CW_USEC_PER_SEC, "s"},
		{CW_USEC_PER_MSEC, "ms"},
	};

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (usec != 0 && usec % units[i].unit == 0) {
			snprintf(buf, len, "%lld%s",
			    (long long)(usec / units[i].unit), units[i].suffix);
			return buf;
		}
	snprintf(buf, len, usec == 0 ? "0s" : "%lldus", (long long)usec);
	return buf;
}

bool
config_country_valid(const char *code)
{
	/* ISO 3166-1 alpha-2, as assigned (the tz database's iso3166.tab). */
	static const char codes[] =
	    "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE "
	    "BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD "
	    "CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM "
	    "DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF "
	    "GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU "
	    "ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN "
	    "KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME "
	    "MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA "
	    "NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM "
	    "PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI "
	    "SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK "
	    "TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI "
	    "VN VU WF WS YE YT ZA ZM ZW XK";
	char up[3];

	if (code == NULL || strlen(code) != 2 ||
	    !isalpha((unsigned char)code[0]) ||
	    !isalpha((unsigned char)code[1]))
		return false;
	up[0] = (char)toupper((unsigned char)code[0]);
	up[1] = (char)toupper((unsigned char)code[1]);
	up[2] = '\0';
	for (const char *p = codes; *p != '\0'; p += 3) {
		if (p[0] == up[0] && p[1] == up[1])
			return true;
		if (p[2] == '\0')
			break;
	}
	return false;
}

/* conf_asn_parse: "15895" or "AS15895" to 1..4294967295; -1 if bad. */
static int
conf_asn_parse(const char *text, uint32_t *asn)
{
	unsigned long long v;
	char *end;

	if (strncasecmp(text, "AS", 2) == 0)
		text += 2;
	if (!isdigit((unsigned char)*text))
		return -1;
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno != 0 || *end != '\0' || v == 0 || v > UINT32_MAX)
		return -1;
	*asn = (uint32_t)v;
	return 0;
}

/* --- Sections --- */

static int
conf_probe_section(cfg_t *root, cfg_opt_t *opt)
{
	struct conf_loader *l = conf_loading();
	struct config_identity *id;
	struct conf_sec s;
	const char *v;

	if (l == NULL)
		return 0;
	conf_section(l, root, opt, &s);
	s.what = "probe";
	if (conf_build(l)->probe_line != 0) {
		conf_sec_error(&s, NULL, 0, "a second probe section (the "
		    "first is on line %d)", l->origin[conf_build(l)->probe_line - 1].line);
		return 0;
	}
	conf_build(l)->probe_line = s.line;
	id = &conf_build(l)->conf->probe;
	if ((v = cfg_getstr(s.sec, "name")) == NULL)
		conf_sec_error(&s, NULL, 0, "name is required "
		    "(e.g. name = \"kyiv-1\")");
	else if (!conf_token_ok(v, CONFIG_NAME_MAX))
		conf_sec_error(&s, "name", 0, "name: \"%s\" must be 1 to %d "
		    "letters, digits, '.', '_' or '-'", v, CONFIG_NAME_MAX);
	else if ((id->name = strdup(v)) == NULL)
		l->oom = true;
	if ((v = cfg_getstr(s.sec, "country")) != NULL) {
		if (!config_country_valid(v))
			conf_sec_error(&s, "country", 0, "country: \"%s\" is "
			    "not an ISO 3166-1 alpha-2 code (e.g. \"UA\")", v);
		else {
			id->country[0] = (char)toupper((unsigned char)v[0]);
			id->country[1] = (char)toupper((unsigned char)v[1]);
			id->country[2] = '\0';
		}
	}
	if ((v = cfg_getstr(s.sec, "asn")) != NULL &&
	    conf_asn_parse(v, &id->asn) == -1)
		conf_sec_error(&s, "asn", 0, "asn: \"%s\" is not an AS number "
		    "(1 to 4294967295)", v);
	if ((v = cfg_getstr(s.sec, "location")) != NULL) {
		if (!conf_text_ok(v, CONF_LOCATION_MAX))
			conf_sec_error(&s, "location", 0, "location: 1 to %d "
			    "characters without control characters",
			    CONF_LOCATION_MAX);
		else if ((id->location = strdup(v)) == NULL)
			l->oom = true;
	}
	return 0;
}

static int
conf_output_section(cfg_t *root, cfg_opt_t *opt)
{
	struct conf_loader *l = conf_loading();
	struct conf_sec s;
	const char *path;

	if (l == NULL)
		return 0;
	conf_section(l, root, opt, &s);
	s.what = "output";
	if (conf_build(l)->output_line != 0) {
		conf_sec_error(&s, NULL, 0, "a second output section (the "
		    "first is on line %d)", l->origin[conf_build(l)->output_line - 1].line);
		return 0;
	}
	conf_build(l)->output_line = s.line;
	path = cfg_getstr(s.sec, "path");
	if (path == NULL || !conf_text_ok(path, PATH_MAX - 1)) {
		conf_sec_error(&s, "path", 0, "path: \"-\" (stdout) or a file "
		    "name");
		return 0;
	}
	if (strcmp(path, "-") != 0) {
		conf_sec_path(&s, "path", "file",
		    &conf_build(l)->conf->output_path);
		return 0;
	}
	free(conf_build(l)->conf->output_path);
	if ((conf_build(l)->conf->output_path = strdup(path)) == NULL)
		l->oom = true;
	return 0;
}

/* conf_size: option `opt` of a section as a size from `min`; `dflt`
 * when not set.  Returns 0, or -1 (reported). */
static int
conf_size(struct conf_sec *s, const char *opt, uint64_t min, uint64_t dflt,
    uint64_t *out)
{
	const char *text = cfg_getstr(s->sec, opt);
	char m[CW_SIZE_STRLEN];

	*out = dflt;
	if (text == NULL)
		return 0;
	if (cw_size_parse(text, out) == -1 || (*out < min && *out != 0)) {
		conf_sec_error(s, opt, 0, "%s: \"%s\" is not a size of at "
		    "least %s (write e.g. 64M, 512k)", opt, text,
		    cw_size_format(min, m, sizeof(m)));
		*out = dflt;
		return -1;
	}
	return 0;
}

static int
conf_spool_section(cfg_t *root, cfg_opt_t *opt)
{
	struct conf_loader *l = conf_loading();
	struct config_spool *sp;
	struct conf_sec s;

	if (l == NULL)
		return 0;
	conf_section(l, root, opt, &s);
	s.what = "spool";
	if (conf_build(l)->spool_line != 0) {
		conf_sec_error(&s, NULL, 0, "a second spool section (the "
		    "first is on line %d)", l->origin[conf_build(l)->spool_line - 1].line);
		return 0;
	}
	conf_build(l)->spool_line = s.line;
	sp = &conf_build(l)->conf->spool;
	sp->enabled = true;
	if (cfg_getstr(s.sec, "dir") != NULL)
		conf_sec_path(&s, "dir", "directory", &sp->dir);
	if (conf_size(&s, "max_size", UINT64_C(64) << 10, CONFIG_SPOOL_MAX,
	    &sp->max_bytes) == 0 && sp->max_bytes == 0) {
		conf_sec_error(&s, "max_size", 0, "max_size: must be above 0");
		sp->max_bytes = CONFIG_SPOOL_MAX;
	}
	if (conf_size(&s, "min_free", 0, CONFIG_SPOOL_MIN_FREE,
	    &sp->min_free_bytes) == 0 && sp->min_free_bytes == 0)
		sp->min_free_bytes = 1;
	if (conf_duration(&s, "sync", CW_USEC_PER_SEC,
	    &sp->sync_interval) == 0 && (sp->sync_interval <
	    10 * CW_USEC_PER_MSEC || sp->sync_interval >
	    3600 * CW_USEC_PER_SEC)) {
		conf_sec_error(&s, "sync", 0, "sync: from 10ms to 1h");
		sp->sync_interval = CW_USEC_PER_SEC;
	}
	return 0;
}

/* conf_upload_url: a collector's base URL (or a proxy's, `proxy`).
 * Returns a copy, or NULL (reported). */
static char *
conf_upload_url(struct conf_sec *s, const char *opt, unsigned idx,
    const char *v, bool proxy)
{
	static const char *const schemes[] = {
		"http://", "https://", "socks4://", "socks4a://", "socks5://",
		"socks5h://",
	};
	size_t n = proxy ? sizeof(schemes) / sizeof(schemes[0]) : 2;
	char *copy;

	for (size_t i = 0; i < n && v != NULL; i++) {
		if (strncasecmp(v, schemes[i], strlen(schemes[i])) != 0 ||
		    strlen(v) == strlen(schemes[i]) || !conf_text_ok(v, 1024))
			continue;
		if ((copy = strdup(v)) == NULL)
			s->l->oom = true;
		return copy;
	}
	conf_sec_error(s, opt, idx, "%s: \"%s\" is not an %s URL", opt,
	    v != NULL ? v : "", proxy ? "http://, https://, socks4://, "
	    "socks4a://, socks5:// or socks5h://" : "http:// or https://");
	return NULL;
}

/* conf_upload_limits: the batches and the backoff of `upload`. */
static void
conf_upload_limits(struct conf_sec *s, struct config_upload *up)
{
	uint64_t bytes;
	cw_usec_t t;
	long n;

	if (conf_int(s, "batch_records", 1, 100000, &n) == 0)
		up->batch_records = (size_t)n;
	if (conf_size(s, "batch_bytes", UPLOAD_BATCH_BYTES_MIN,
	    UPLOAD_BATCH_BYTES, &bytes) == 0) {
		if (bytes == 0 || bytes > (UINT64_C(16) << 20)) {
			conf_sec_error(s, "batch_bytes", 0, "batch_bytes: from "
			    "%d bytes to 16M", UPLOAD_BATCH_BYTES_MIN);
			bytes = UPLOAD_BATCH_BYTES;
		}
		up->batch_bytes = (size_t)bytes;
	}
	if (conf_duration(s, "batch_age", UPLOAD_BATCH_AGE, &t) == 0) {
		if (t < 100 * CW_USEC_PER_MSEC || t > 86400 * CW_USEC_PER_SEC)
			conf_sec_error(s, "batch_age", 0, "batch_age: from "
			    "100ms to 1d");
		else
			up->batch_age = t;
	}
	if (conf_duration(s, "backoff_max", UPLOAD_BACKOFF_MAX, &t) == 0) {
		if (t < CW_USEC_PER_SEC || t > 86400 * CW_USEC_PER_SEC)
			conf_sec_error(s, "backoff_max", 0, "backoff_max: from "
			    "1s to 1d");
		else
			up->backoff_max = t;
	}
	if (conf_duration(s, "failback", UPLOAD_FAILBACK, &t) == 0) {
		if (t < CW_USEC_PER_SEC || t > 86400 * CW_USEC_PER_SEC)
			conf_sec_error(s, "failback", 0, "failback: from 1s to "
			    "1d");
		else
			up->failback = t;
	}
	up->stop_timeout = UPLOAD_STOP_TIMEOUT;
	if (conf_duration(s, "stop_timeout", UPLOAD_STOP_TIMEOUT, &t) == 0) {
		if (t < 0 || t > 600 * CW_USEC_PER_SEC)
			conf_sec_error(s, "stop_timeout", 0, "stop_timeout: "
			    "from 0 to 10m");
		else
			up->stop_timeout = t;
	}
}

static int
conf_upload_section(cfg_t *root, cfg_opt_t *opt)
{
	struct conf_loader *l = conf_loading();
	struct config_upload *up;
	struct conf_sec s;
	const char *v;
	unsigned n;

	if (l == NULL)
		return 0;
	conf_section(l, root, opt, &s);
	s.what = "upload";
	if (conf_build(l)->upload_line != 0) {
		conf_sec_error(&s, NULL, 0, "a second upload section (the "
		    "first is on line %d)", l->origin[conf_build(l)->upload_line - 1].line);
		return 0;
	}
	conf_build(l)->upload_line = s.line;
	up = &conf_build(l)->conf->upload;
	if ((n = cfg_size(s.sec, "url")) > UPLOAD_URLS_MAX) {
		conf_sec_error(&s, "url", 0, "url: at most %d URLs",
		    UPLOAD_URLS_MAX);
		n = UPLOAD_URLS_MAX;
	}
	if (n > 0 && (up->urls = calloc(n, sizeof(*up->urls))) == NULL)
		l->oom = true;
	for (unsigned i = 0; i < n && up->urls != NULL; i++)
		if ((up->urls[up->nurls] = conf_upload_url(&s, "url", i,
		    cfg_getnstr(s.sec, "url", i), false)) != NULL)
			up->nurls++;
	if ((v = cfg_getstr(s.sec, "proxy")) != NULL)
		up->proxy = conf_upload_url(&s, "proxy", 0, v, true);
	if (cfg_getstr(s.sec, "dead_letter") != NULL)
		conf_sec_path(&s, "dead_letter", "file", &up->dead_letter);
	conf_upload_limits(&s, up);
	return 0;
}

/* conf_tld_roots: `roots` of tld_discovery into the config's tld. */
static void
conf_tld_roots(struct conf_sec *s, struct config_tld *tld)
{
	unsigned n = cfg_size(s->sec, "roots");
	struct target *grown;
	char err[256];

	for (unsigned i = 0; i < n; i++) {
		const char *spec = cfg_getnstr(s->sec, "roots", i);

		if (catalog_is_set(spec)) {
			if (catalog_expand(spec, tld->port, &tld->roots,
			    &tld->nroots, err, sizeof(err)) == -1)
				conf_sec_error(s, "roots", i, "roots: %s", err);
			continue;
		}
		grown = reallocarray(tld->roots, tld->nroots + 1,
		    sizeof(*grown));
		if (grown == NULL) {
			s->l->oom = true;
			return;
		}
		tld->roots = grown;
		if (target_parse(spec, tld->port, &tld->roots[tld->nroots],
		    err, sizeof(err)) == -1)
			conf_sec_error(s, "roots", i, "roots: %s (write "
			    "\"ADDRESS\", \"NAME=ADDRESS\" or \"@root\")", err);
		else
			tld->nroots++;
	}
}

static int
conf_tld_section(cfg_t *root, cfg_opt_t *opt)
{
	struct conf_loader *l = conf_loading();
	struct config_tld *tld;
	struct conf_sec s;
	const char *v;
	char err[256];
	long port;

	if (l == NULL)
		return 0;
	conf_section(l, root, opt, &s);
	s.what = "tld_discovery";
	if (conf_build(l)->tld_line != 0) {
		conf_sec_error(&s, NULL, 0, "a second tld_discovery section "
		    "(the first is on line %d)",
		    l->origin[conf_build(l)->tld_line - 1].line);
		return 0;
	}
	conf_build(l)->tld_line = s.line;
	tld = &conf_build(l)->conf->tld;
	if (conf_int(&s, "port", 1, 65535, &port) == 0)
		tld->port = (uint16_t)port;
	conf_tld_roots(&s, tld);
	v = cfg_getstr(s.sec, "resolver");
	tld->resolver_auto = v == NULL || strcmp(v, "auto") == 0;
	if (v != NULL && !tld->resolver_auto && strcmp(v, "none") != 0) {
		if (target_parse(v, tld->port, &tld->resolver, err,
		    sizeof(err)) == -1)
			conf_sec_error(&s, "resolver", 0, "resolver: %s (write "
			    "an address, \"auto\" or \"none\")", err);
		else
			tld->have_resolver = true;
	}
	if (conf_duration(&s, "refresh", TLD_REFRESH_DEFAULT,
	    &tld->refresh) == 0 && tld->refresh < CW_USEC_PER_SEC)
		conf_sec_error(&s, "refresh", 0, "refresh: at least 1s");
	return 0;
}

/* conf_tld_defaults: tld_discovery without the section, or without
 * roots: the root server catalog. */
static void
conf_tld_defaults(struct conf_loader *l)
{
	struct config_tld *tld = &conf_build(l)->conf->tld;
	char err[256];

	if (conf_build(l)->tld_line == 0) {
		tld->port = 53;
		tld->resolver_auto = true;
		tld->refresh = TLD_REFRESH_DEFAULT;
	}
	if (tld->nroots == 0 && catalog_expand("@root", tld->port,
	    &tld->roots, &tld->nroots, err, sizeof(err)) == -1)
		l->oom = true;
}

static void
conf_measurement_clear(struct measurement *m)
{
	free(m->name);
	free(m->targets);
	for (size_t i = 0; i < m->ntlds; i++)
		free(m->tlds[i]);
	free(m->tlds);
	free(m->http_url);
	free(m->http_body_pattern);
	free(m->http_proxy);
	free(m->http_cafile);
	for (size_t i = 0; i < m->http.nheaders; i++)
		free(m->http_headers[i]);
	free(m->http_headers);
	free(m->http_expect);
	free(m->file);
	memset(m, 0, sizeof(*m));
}

/* conf_target_dup: whether t's address is already in the first n
 * targets. */
static bool
conf_target_dup(const struct target *targets, size_t n,
    const struct target *t)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(targets[i].addr, t->addr) == 0)
			return true;
	return false;
}

/* conf_dns_servers: expand `servers` into m->targets. */
static void
conf_dns_servers(struct conf_sec *s, struct measurement *m)
{
	unsigned n = cfg_size(s->sec, "servers");
	char err[256];

	for (unsigned i = 0; i < n; i++) {
		const char *spec = cfg_getnstr(s->sec, "servers", i);
		size_t before = m->ntargets;

		if (catalog_is_set(spec)) {
			if (catalog_expand(spec, m->dns.port, &m->targets,
			    &m->ntargets, err, sizeof(err)) == -1)
				conf_sec_error(s, "servers", i, "servers: %s",
				    err);
		} else {
			struct target t, *grown;
			if (target_parse(spec, m->dns.port, &t, err,
			    sizeof(err)) == -1) {
				conf_sec_error(s, "servers", i, "servers: %s "
				    "(write \"ADDRESS\", \"NAME=ADDRESS\" or "
				    "\"@root\")", err);
				continue;
			}
			grown = reallocarray(m->targets, m->ntargets + 1,
			    sizeof(*grown));
			if (grown == NULL) {
				s->l->oom = true;
				return;
			}
			m->targets = grown;
			m->targets[m->ntargets++] = t;
		}
		for (size_t j = before; j < m->ntargets; j++)
			if (conf_target_dup(m->targets, before,
			    &m->targets[j])) {
				conf_sec_error(s, "servers", i, "servers: %s "
				    "is listed twice", m->targets[j].addr);
				break;
			}
	}
}

/* conf_dns_tlds: check and store `tlds`. */
static void
conf_dns_tlds(struct conf_sec *s, struct measurement *m)
{
	unsigned n = cfg_size(s->sec, "tlds");
	char tld[TLD_NAME_MAX], err[128];

	if (n == 0)
		return;
	if ((m->tlds = calloc(n, sizeof(*m->tlds))) == NULL) {
		s->l->oom = true;
		return;
	}
	for (unsigned i = 0; i < n; i++) {
		const char *v = cfg_getnstr(s->sec, "tlds", i);
		bool dup = false;

		if (tld_name_normalize(v, tld, err, sizeof(err)) == -1) {
			conf_sec_error(s, "tlds", i, "tlds: %s", err);
			continue;
		}
		for (size_t j = 0; j < m->ntlds; j++)
			dup |= strcmp(m->tlds[j], tld) == 0;
		if (dup) {
			conf_sec_error(s, "tlds", i, "tlds: \"%s\" is listed "
			    "twice", tld);
			continue;
		}
		if ((m->tlds[m->ntlds] = strdup(tld)) == NULL) {
			s->l->oom = true;
			return;
		}
		m->ntlds++;
	}
}

/* conf_dns_question: qname, qtype, qclass or chaos. */
static void
conf_dns_question(struct conf_sec *s, struct measurement *m)
{
	const char *qname = cfg_getstr(s->sec, "qname");
	const char *qtype = cfg_getstr(s->sec, "qtype");
	const char *qclass = cfg_getstr(s->sec, "qclass");
	const char *chaos = cfg_getstr(s->sec, "chaos");
	int v;

	m->dns.qtype = LDNS_RR_TYPE_SOA;
	m->dns.qclass = LDNS_RR_CLASS_IN;
	if (chaos != NULL) {
		if (qname != NULL || qtype != NULL || qclass != NULL)
			conf_sec_error(s, "chaos", 0, "chaos replaces qname, "
			    "qtype and qclass: set chaos alone");
		else if (dns_spec_set_chaos(&m->dns, chaos) == -1)
			conf_sec_error(s, "chaos", 0, "chaos: \"%s\" is not a "
			    "domain name (e.g. \"hostname.bind\")", chaos);
		return;
	}
	if (qname != NULL) {
		if (dns_spec_set_qname(&m->dns, qname) == -1)
			conf_sec_error(s, "qname", 0, "qname: \"%s\" is not a "
			    "domain name", qname);
	} else if (m->ntlds > 0) {
		m->qname_from_tld = true;
	} else if (dns_spec_set_qname(&m->dns, ".") == -1) {
		conf_sec_error(s, NULL, 0, "cannot set qname \".\"");
	}
	if (qtype != NULL) {
		if ((v = dns_qtype_parse(qtype)) == -1)
			conf_sec_error(s, "qtype", 0, "qtype: unknown type "
			    "\"%s\" (e.g. SOA, NS, A, AAAA, TXT, TYPE65)",
			    qtype);
		else
			m->dns.qtype = (ldns_rr_type)v;
	}
	if (qclass != NULL) {
		if ((v = dns_qclass_parse(qclass)) == -1)
			conf_sec_error(s, "qclass", 0, "qclass: unknown class "
			    "\"%s\" (IN, CH, HS)", qclass);
		else
			m->dns.qclass = (ldns_rr_class)v;
	}
}

/* conf_dns_choice: transport or af: `both` or one of two names. */
static int
conf_dns_choice(struct conf_sec *s, const char *opt, const char *a, int va,
    const char *b, int vb)
{
	const char *v = cfg_getstr(s->sec, opt);

	if (v == NULL || strcasecmp(v, "both") == 0)
		return va | vb;
	if (strcasecmp(v, a) == 0)
		return va;
	if (strcasecmp(v, b) == 0)
		return vb;
	conf_sec_error(s, opt, 0, "%s: \"%s\" is not %s, %s or both", opt, v,
	    a, b);
	return va | vb;
}

/* conf_dns_wire: transport, address family, port, EDNS and flags. */
static void
conf_dns_wire(struct conf_sec *s, struct measurement *m)
{
	long v;

	m->dns.transports = conf_dns_choice(s, "transport", "udp",
	    DNS_PROTO_UDP, "tcp", DNS_PROTO_TCP);
	m->dns.afs = conf_dns_choice(s, "af", "4", DNS_AF_4, "6", DNS_AF_6);
	m->dns.port = conf_int(s, "port", 1, 65535, &v) == 0 ?
	    (uint16_t)v : 53;
	if (conf_int(s, "edns_size", 0, 65535, &v) == 0)
		m->dns.edns_size = (uint16_t)v;
	m->dns.do_bit = cfg_getbool(s->sec, "do");
	m->dns.nsid = cfg_getbool(s->sec, "nsid");
	m->dns.rd = cfg_getbool(s->sec, "rd");
	m->dns.tcp_on_truncation = cfg_getbool(s->sec, "tcp_on_truncation");
	/* NSID is asked for by default: without EDNS it is dropped, and
	 * refused only when asked for in so many words. */
	if (m->dns.edns_size == 0 && !conf_given(s->l, s->sec, "nsid"))
		m->dns.nsid = false;
	if (conf_int(s, "retries", 0, DNS_RETRIES_MAX, &v) == 0)
		m->dns.retries = (int)v;
}

/* conf_dns_rules: what dns_spec_check() decides, each problem at the
 * line of the option it is about.  Where the fix is another option,
 * the words name it (`says`); else they are the check's. */
static void
conf_dns_rules(struct conf_sec *s, const struct measurement *m)
{
	static const struct {
		const char *opt, *says;
	} rules[DNS_SPEC_RULES] = {
		[DNS_SPEC_EDNS_SIZE] = {"edns_size", NULL},
		[DNS_SPEC_DO] = {"do", "do needs EDNS: set edns_size"},
		[DNS_SPEC_NSID] = {"nsid", "nsid needs EDNS: set edns_size"},
	};
	char err[256];

	for (int r = 0; r < DNS_SPEC_RULES; r++) {
		if (dns_spec_check(&m->dns, (enum dns_spec_rule)r, err,
		    sizeof(err)) == 0)
			continue;
		if (rules[r].says != NULL)
			conf_sec_error(s, rules[r].opt, 0, "%s", rules[r].says);
		else
			conf_sec_error(s, rules[r].opt, 0, "%s: %s",
			    rules[r].opt, err);
	}
}

/* conf_cycle: interval and spread, the same for every kind of
 * measurement.  Returns whether interval is valid (cross-checks are
 * made only between values that are valid themselves). */
static bool
conf_cycle(struct conf_sec *s, struct measurement *m)
{
	char a[CONFIG_DURATION_STRLEN], b[CONFIG_DURATION_STRLEN];
	bool ok;

	ok = conf_duration(s, "interval", CONF_INTERVAL_DEFAULT,
	    &m->interval) == 0;
	if (ok && m->interval < CONF_INTERVAL_MIN) {
		conf_sec_error(s, "interval", 0, "interval: %s is shorter "
		    "than the minimum, 1s", config_duration_format(m->interval,
		    a, sizeof(a)));
		ok = false;
	}
	m->spread = m->interval < CONF_SPREAD_DEFAULT ? m->interval :
	    CONF_SPREAD_DEFAULT;
	if (conf_duration(s, "spread", m->spread, &m->spread) == 0 && ok &&
	    m->spread > m->interval)
		conf_sec_error(s, "spread", 0, "spread %s is longer than "
		    "interval %s", config_duration_format(m->spread, a,
		    sizeof(a)), config_duration_format(m->interval, b,
		    sizeof(b)));
	return ok;
}

/* conf_dns_timing: interval, spread, timeout and late_window. */
static void
conf_dns_timing(struct conf_sec *s, struct measurement *m)
{
	char a[CONFIG_DURATION_STRLEN], b[CONFIG_DURATION_STRLEN];
	char c[CONFIG_DURATION_STRLEN];
	bool ok;

	ok = conf_cycle(s, m);
	if (conf_duration(s, "timeout", 4 * CW_USEC_PER_SEC,
	    &m->dns.timeout) == -1)
		ok = false;
	else if (m->dns.timeout == 0) {
		conf_sec_error(s, "timeout", 0, "timeout must be above 0");
		ok = false;
	}
	if (conf_duration(s, "late_window", 200 * CW_USEC_PER_MSEC,
	    &m->dns.late_window) == -1)
		ok = false;
	/* A query must be over before its next cycle starts. */
	if (ok && m->dns.timeout * (m->dns.retries + 1) + m->dns.late_window >=
	    m->interval)
		conf_sec_error(s, conf_given(s->l, s->sec, "timeout") ?
		    "timeout" : "interval", 0, "timeout %s x (1 + retries %d) "
		    "+ late_window %s must be shorter than interval %s",
		    config_duration_format(m->dns.timeout, a, sizeof(a)),
		    m->dns.retries, config_duration_format(m->dns.late_window,
		    c, sizeof(c)), config_duration_format(m->interval, b,
		    sizeof(b)));
}

/* conf_dns_af_check: some fixed target must match the families. */
static void
conf_dns_af_check(struct conf_sec *s, struct measurement *m)
{
	for (size_t i = 0; i < m->ntargets; i++) {
		int af = m->targets[i].af == 4 ? DNS_AF_4 : DNS_AF_6;
		if (m->dns.afs & af)
			return;
	}
	if (m->ntargets > 0)
		conf_sec_error(s, "af", 0, "no server has an IPv%d address",
		    m->dns.afs == DNS_AF_4 ? 4 : 6);
}

/* conf_measurement_start: what every measurement has: its kind, name
 * and where it is.  -1 when out of memory (noted). */
static int
conf_measurement_start(struct conf_sec *s, struct measurement *m,
    enum measurement_kind kind)
{
	const struct conf_origin *o = &s->l->origin[s->line - 1];
	const char *title = cfg_title(s->sec);

	m->kind = kind;
	m->line = o->line;
	if ((m->name = strdup(title != NULL ? title : "")) == NULL ||
	    (m->file = strdup(s->l->files[o->file])) == NULL) {
		s->l->oom = true;
		return -1;
	}
	if (!conf_token_ok(m->name, CONFIG_NAME_MAX))
		conf_sec_error(s, NULL, 0, "the name must be 1 to %d letters, "
		    "digits, '.', '_' or '-'", CONFIG_NAME_MAX);
	return 0;
}

/* conf_dns_build: the measurement of a dns section; every problem is
 * reported.  Returns 0 when `m` is complete. */
static int
conf_dns_build(struct conf_sec *s, struct measurement *m)
{
	size_t before = s->l->nerrors;

	dns_spec_init(&m->dns);
	if (conf_measurement_start(s, m, MEASUREMENT_DNS) == -1)
		return -1;
	m->dns.name = m->name;
	conf_dns_wire(s, m);
	conf_dns_rules(s, m);
	conf_dns_timing(s, m);
	conf_dns_tlds(s, m);
	conf_dns_servers(s, m);
	conf_dns_question(s, m);
	if (m->ntargets == 0 && m->ntlds == 0 &&
	    cfg_size(s->sec, "servers") == 0 && cfg_size(s->sec, "tlds") == 0)
		conf_sec_error(s, NULL, 0, "nothing to measure: set servers "
		    "(e.g. {\"@root\"}) or tlds (e.g. {\"ua\"})");
	if (cfg_size(s->sec, "servers") > 0 && cfg_size(s->sec, "tlds") > 0)
		conf_sec_error(s, "tlds", 0, "set servers or tlds, not both "
		    "(make two measurements)");
	conf_dns_af_check(s, m);
	return s->l->nerrors == before ? 0 : -1;
}

/* conf_readable: 0 when `path` is a file this process can read; else -1
 * with the reason in err. */
static int
conf_readable(const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (stat(path, &st) == -1 || access(path, R_OK) == -1) {
		snprintf(err, errlen, "%s", strerror(errno));
		return -1;
	}
	if (S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s", strerror(EISDIR));
		return -1;
	}
	return 0;
}

/* conf_http_url: the required url into m->http.url.  Returns the family
 * of an address written as the URL's host (4 or 6), else 0. */
static int
conf_http_url(struct conf_sec *s, struct measurement *m)
{
	const char *v = cfg_getstr(s->sec, "url");
	char err[256];

	if (v == NULL) {
		conf_sec_error(s, NULL, 0, "url is required (e.g. url = "
		    "\"https://www.iana.org/\")");
		return 0;
	}
	if (!conf_text_ok(v, HTTP_URL_MAX)) {
		conf_sec_error(s, "url", 0, "url: 1 to %d characters without "
		    "control characters", HTTP_URL_MAX);
		return 0;
	}
	if (!http_url_check(v, err, sizeof(err))) {
		conf_sec_error(s, "url", 0, "url: \"%s\": %s", v, err);
		return 0;
	}
	if ((m->http_url = strdup(v)) == NULL) {
		s->l->oom = true;
		return 0;
	}
	m->http.url = m->http_url;
	return http_url_host_af(v);
}

/* conf_http_addresses: the pinned addresses into m->targets (port 0):
 * numeric, each once, each of a family of af. */
static void
conf_http_addresses(struct conf_sec *s, struct measurement *m)
{
	unsigned n = cfg_size(s->sec, "addresses");
	char err[256];

	if (n > 0 && (m->targets = calloc(n, sizeof(*m->targets))) == NULL) {
		s->l->oom = true;
		return;
	}
	for (unsigned i = 0; i < n; i++) {
		const char *v = cfg_getnstr(s->sec, "addresses", i);
		struct target *t = &m->targets[m->ntargets];

		if (strchr(v, '=') != NULL || target_parse(v, 0, t, err,
		    sizeof(err)) == -1) {
			conf_sec_error(s, "addresses", i, "addresses: \"%s\" is "
			    "not a numeric IPv4 or IPv6 address", v);
			continue;
		}
		if (!(m->http.afs & (t->af == 4 ? HTTP_AF_4 : HTTP_AF_6))) {
			conf_sec_error(s, "addresses", i, "addresses: %s is an "
			    "IPv%d address, and af is \"%d\"", t->addr, t->af,
			    t->af == 4 ? 6 : 4);
			continue;
		}
		if (conf_target_dup(m->targets, m->ntargets, t)) {
			conf_sec_error(s, "addresses", i, "addresses: %s is "
			    "listed twice", t->addr);
			continue;
		}
		m->ntargets++;
	}
}

/* conf_http_family: af and the pinned addresses.  An address as the
 * URL's host (`literal`: its family) is the one address measured. */
static void
conf_http_family(struct conf_sec *s, struct measurement *m, int literal)
{
	int af = literal == 4 ? HTTP_AF_4 : HTTP_AF_6;

	m->http.afs = conf_dns_choice(s, "af", "4", HTTP_AF_4, "6",
	    HTTP_AF_6);
	if (literal == 0) {
		conf_http_addresses(s, m);
		return;
	}
	if (conf_given(s->l, s->sec, "af") && m->http.afs != af)
		conf_sec_error(s, "af", 0, "af: the URL's host is an IPv%d "
		    "address: leave af out or write \"%d\"", literal, literal);
	m->http.afs = af;
	if (cfg_size(s->sec, "addresses") > 0)
		conf_sec_error(s, "addresses", 0, "addresses: the URL's host "
		    "is an address already: leave addresses out");
}

/* conf_http_expect: expect_status into m->http.expect. */
static void
conf_http_expect(struct conf_sec *s, struct measurement *m)
{
	unsigned n = cfg_size(s->sec, "expect_status");

	if (n == 0)
		return;
	if ((m->http_expect = calloc(n, sizeof(*m->http_expect))) == NULL) {
		s->l->oom = true;
		return;
	}
	m->http.expect = m->http_expect;
	for (unsigned i = 0; i < n; i++) {
		const char *v = cfg_getnstr(s->sec, "expect_status", i);

		if (http_status_parse(v, &m->http_expect[m->http.nexpect]) ==
		    -1)
			conf_sec_error(s, "expect_status", i, "expect_status: "
			    "\"%s\" is not a status from 100 to 599, a range "
			    "or a class (e.g. \"200\", \"200-299\", \"3xx\")", v);
		else
			m->http.nexpect++;
	}
}

/* conf_http_headers: headers into m->http.headers. */
static void
conf_http_headers(struct conf_sec *s, struct measurement *m)
{
	unsigned n = cfg_size(s->sec, "headers");
	char err[256];

	if (n == 0)
		return;
	if ((m->http_headers = calloc(n, sizeof(*m->http_headers))) ==
	    NULL) {
		s->l->oom = true;
		return;
	}
	m->http.headers = (const char *const *)m->http_headers;
	for (unsigned i = 0; i < n; i++) {
		const char *v = cfg_getnstr(s->sec, "headers", i);

		/* The line itself is shown only when it holds no CR or LF,
		 * which would break the one-problem-a-line report. */
		if (http_header_check(v, err, sizeof(err)) == -1) {
			conf_sec_error(s, "headers", i, "headers: \"%s\": %s",
			    conf_text_ok(v, 200) ? v : "...", err);
			continue;
		}
		if ((m->http_headers[m->http.nheaders] = strdup(v)) == NULL) {
			s->l->oom = true;
			return;
		}
		m->http.nheaders++;
	}
}

/* conf_http_request: method, max_body, body_pattern, expect_status and
 * headers. */
static void
conf_http_request(struct conf_sec *s, struct measurement *m)
{
	const char *v = cfg_getstr(s->sec, "method");
	char err[256];

	if (v != NULL && strcasecmp(v, "HEAD") == 0)
		m->http.method = HTTP_HEAD;
	else if (v != NULL && strcasecmp(v, "GET") != 0)
		conf_sec_error(s, "method", 0, "method: \"%s\" is not GET or "
		    "HEAD", v);
	/* Its range is http_spec_check()'s (conf_http_rules). */
	conf_size(s, "max_body", 1, HTTP_MAX_BODY_DEFAULT, &m->http.max_body);
	if ((v = cfg_getstr(s->sec, "body_pattern")) != NULL) {
		/* Empty: http_spec_check()'s to refuse (conf_http_rules). */
		if (*v != '\0' && http_pattern_check(v, err, sizeof(err)) == -1)
			conf_sec_error(s, "body_pattern", 0, "body_pattern: "
			    "\"%s\" is not a POSIX extended regular expression: "
			    "%s", v, err);
		else if ((m->http_body_pattern = strdup(v)) == NULL)
			s->l->oom = true;
		m->http.body_pattern = m->http_body_pattern;
	}
	conf_http_expect(s, m);
	conf_http_headers(s, m);
}

/* conf_http_transport: proxy, cafile and redirects. */
static void
conf_http_transport(struct conf_sec *s, struct measurement *m)
{
	const char *v;
	char err[256];
	long n;

	if ((v = cfg_getstr(s->sec, "proxy")) != NULL)
		m->http.proxy = m->http_proxy = conf_upload_url(s, "proxy", 0,
		    v, true);
	if (cfg_getstr(s->sec, "cafile") != NULL &&
	    conf_sec_path(s, "cafile", "file", &m->http_cafile) == 0 &&
	    conf_readable(m->http_cafile, err, sizeof(err)) == -1)
		conf_sec_error(s, "cafile", 0, "cafile: %s: %s",
		    m->http_cafile, err);
	m->http.cafile = m->http_cafile;
	m->http.follow_redirects = cfg_getbool(s->sec, "follow_redirects");
	if (conf_int(s, "max_redirects", 0, HTTP_REDIRECTS_MAX,
	    &n) == 0) {
		m->http.max_redirects = n;
		if (!m->http.follow_redirects &&
		    conf_given(s->l, s->sec, "max_redirects"))
			conf_sec_error(s, "max_redirects", 0, "max_redirects "
			    "needs follow_redirects = true");
	}
}

/* conf_http_timing: interval, spread and timeout. */
static void
conf_http_timing(struct conf_sec *s, struct measurement *m)
{
	char a[CONFIG_DURATION_STRLEN], b[CONFIG_DURATION_STRLEN];
	bool ok;

	ok = conf_cycle(s, m);
	if (conf_duration(s, "timeout", HTTP_TIMEOUT_DEFAULT,
	    &m->http.timeout) == -1)
		return;
	if (m->http.timeout == 0) {
		conf_sec_error(s, "timeout", 0, "timeout must be above 0");
		return;
	}
	/* A request must be over before its next cycle starts. */
	if (ok && m->http.timeout >= m->interval)
		conf_sec_error(s, conf_given(s->l, s->sec, "timeout") ?
		    "timeout" : "interval", 0, "timeout %s must be shorter "
		    "than interval %s", config_duration_format(m->http.timeout,
		    a, sizeof(a)), config_duration_format(m->interval, b,
		    sizeof(b)));
}

/* conf_http_rules: what http_spec_check() decides, each problem at the
 * line of the option it is about. */
static void
conf_http_rules(struct conf_sec *s, const struct measurement *m)
{
	static const char *const opts[HTTP_SPEC_RULES] = {
		[HTTP_SPEC_MAX_BODY] = "max_body",
		[HTTP_SPEC_BODY_PATTERN] = "body_pattern",
	};
	char err[256];

	for (int r = 0; r < HTTP_SPEC_RULES; r++)
		if (http_spec_check(&m->http, (enum http_spec_rule)r, err,
		    sizeof(err)) == -1)
			conf_sec_error(s, opts[r], 0, "%s: %s", opts[r], err);
}

/* conf_http_build: the measurement of an http section; every problem
 * is reported.  Returns 0 when `m` is complete. */
static int
conf_http_build(struct conf_sec *s, struct measurement *m)
{
	size_t before = s->l->nerrors;
	int literal;

	http_spec_init(&m->http);
	if (conf_measurement_start(s, m, MEASUREMENT_HTTP) == -1)
		return -1;
	m->http.name = m->name;
	literal = conf_http_url(s, m);
	conf_http_family(s, m, literal);
	conf_http_request(s, m);
	conf_http_transport(s, m);
	conf_http_rules(s, m);
	conf_http_timing(s, m);
	return s->l->nerrors == before ? 0 : -1;
}

/* conf_name_unique: note the title of measurement section `s`, and
 * report it when a section of the other kind has it already (libconfuse
 * refuses a title twice within one kind itself). */
static void
conf_name_unique(struct conf_sec *s, const char *title)
{
	struct conf_loader *l = s->l;
	struct conf_name *grown;

	for (size_t i = 0; i < conf_build(l)->nnames; i++) {
		const struct conf_origin *o;

		if (strcmp(conf_build(l)->names[i].name, title) != 0)
			continue;
		o = &l->origin[conf_build(l)->names[i].line - 1];
		conf_sec_error(s, NULL, 0, "another measurement is named '%s' "
		    "(%s:%d)", title, l->files[o->file], o->line);
		return;
	}
	if ((grown = reallocarray(conf_build(l)->names, conf_build(l)->nnames + 1,
	    sizeof(*grown))) == NULL) {
		l->oom = true;
		return;
	}
	conf_build(l)->names = grown;
	conf_build(l)->names[conf_build(l)->nnames].name = title;
	conf_build(l)->names[conf_build(l)->nnames].line = s->line;
	conf_build(l)->nnames++;
}

/* conf_measurement_add: append `m`, which the config takes over (or
 * which is cleared when out of memory). */
static void
conf_measurement_add(struct conf_loader *l, struct measurement *m)
{
	struct config *conf = conf_build(l)->conf;
	struct measurement *grown;

	grown = reallocarray(conf->measurements, conf->nmeasurements + 1,
	    sizeof(*grown));
	if (grown == NULL) {
		l->oom = true;
		conf_measurement_clear(m);
		return;
	}
	conf->measurements = grown;
	conf->measurements[conf->nmeasurements++] = *m;
	/* The array moved: point every spec at its own name again. */
	for (size_t i = 0; i < conf->nmeasurements; i++) {
		struct measurement *mi = &conf->measurements[i];
		if (mi->kind == MEASUREMENT_HTTP)
			mi->http.name = mi->name;
		else
			mi->dns.name = mi->name;
	}
}

/* conf_measurement_section: the dns or http section just closed. */
static int
conf_measurement_section(cfg_t *root, cfg_opt_t *opt,
    enum measurement_kind kind)
{
	struct conf_loader *l = conf_loading();
	struct measurement m;
	struct conf_sec s;
	const char *title;
	char what[CONFIG_NAME_MAX + 16];
	int rc;

	if (l == NULL)
		return 0;
	conf_section(l, root, opt, &s);
	title = cfg_title(s.sec) != NULL ? cfg_title(s.sec) : "";
	snprintf(what, sizeof(what), "%s \"%.*s\"", kind == MEASUREMENT_HTTP ?
	    "http" : "dns", CONFIG_NAME_MAX, title);
	s.what = what;
	conf_name_unique(&s, title);
	memset(&m, 0, sizeof(m));
	rc = kind == MEASUREMENT_HTTP ? conf_http_build(&s, &m) :
	    conf_dns_build(&s, &m);
	if (rc == -1)
		conf_measurement_clear(&m);
	else
		conf_measurement_add(l, &m);
	return 0;
}

static int
conf_dns_section(cfg_t *root, cfg_opt_t *opt)
{
	return conf_measurement_section(root, opt, MEASUREMENT_DNS);
}

static int
conf_http_section(cfg_t *root, cfg_opt_t *opt)
{
	return conf_measurement_section(root, opt, MEASUREMENT_HTTP);
}

/* --- Top-level options --- */

static int
conf_log_level(cfg_t *root, cfg_opt_t *opt)
{
	struct conf_loader *l = conf_loading();
	const char *v = cfg_opt_getnstr(opt, 0);
	int level;

	conf_record(root, opt);
	if (l == NULL)
		return 0;
	if (v == NULL || (level = log_level_parse(v)) == -1)
		conf_error(l, root->line, "log_level: \"%s\" is not error, "
		    "warning, info or debug", v != NULL ? v : "");
	else
		conf_build(l)->conf->log_level = (enum log_level)level;
	return 0;
}

/* conf_path_option: a top-level option that names a `kind` of file,
 * into *out (conf_sec_path()).  Returns 0, or -1 (reported). */
static int
conf_path_option(cfg_t *root, cfg_opt_t *opt, const char *kind, char **out)
{
	struct conf_sec s;

	s.l = conf_loading();
	s.sec = root;
	s.what = NULL;
	s.line = root->line;
	return conf_sec_path(&s, opt->name, kind, out);
}

static int
conf_state_dir(cfg_t *root, cfg_opt_t *opt)
{
	conf_record(root, opt);
	if (conf_loading() != NULL)
		conf_path_option(root, opt, "directory",
		    &conf_build(conf_loading())->conf->state_dir);
	return 0;
}

static int
conf_key(cfg_t *root, cfg_opt_t *opt)
{
	conf_record(root, opt);
	if (conf_loading() != NULL)
		conf_path_option(root, opt, "file",
		    &conf_build(conf_loading())->conf->key_path);
	return 0;
}

/* conf_lookup_file: resolv_conf or hosts_file, a file that HTTP
 * measurements' lookups read, which must be readable now. */
static int
conf_lookup_file(cfg_t *root, cfg_opt_t *opt)
{
	struct conf_loader *l = conf_loading();
	char err[128], **out;

	conf_record(root, opt);
	if (l == NULL)
		return 0;
	out = strcmp(opt->name, "hosts_file") == 0 ?
	    &conf_build(l)->conf->hosts_file : &conf_build(l)->conf->resolv_conf;
	if (conf_path_option(root, opt, "file", out) == 0 &&
	    conf_readable(*out, err, sizeof(err)) == -1)
		conf_error(l, root->line, "%s: %s: %s", opt->name, *out, err);
	return 0;
}

static int
conf_heartbeat(cfg_t *root, cfg_opt_t *opt)
{
	struct conf_loader *l = conf_loading();
	const char *v = cfg_opt_getnstr(opt, 0);
	cw_usec_t t;

	conf_record(root, opt);
	if (l == NULL)
		return 0;
	if (v == NULL || cw_duration_parse(v, &t) == -1 || (t != 0 &&
	    t < CW_USEC_PER_SEC))
		conf_error(l, root->line, "heartbeat: \"%s\" is not 0 (none) "
		    "or a duration of at least 1s (e.g. 5m)", v != NULL ? v :
		    "");
	else
		conf_build(l)->conf->heartbeat = t;
	return 0;
}

/* conf_include_misplaced: include() that the preprocessor did not see
 * because it shares its line with something else. */
static int
conf_include_misplaced(cfg_t *cfg, cfg_opt_t *opt, int argc,
    const char **argv)
{
	(void)opt;
	(void)argc;
	(void)argv;
	cfg_error(cfg, "write include(\"FILE\") alone on its line");
	return -1;
}

/* --- Loading --- */

static cfg_opt_t conf_probe_opts[] = {
	CFG_STR("name", NULL, CFGF_NODEFAULT),
	CFG_STR("country", NULL, CFGF_NODEFAULT),
	CFG_STR("asn", NULL, CFGF_NODEFAULT),	/* string: 32-bit long */
	CFG_STR("location", NULL, CFGF_NODEFAULT),
	CFG_END()
};

static cfg_opt_t conf_output_opts[] = {
	CFG_STR("path", "-", CFGF_NONE),
	CFG_END()
};

/* Durations are strings for cw_duration_parse: "5m", "250ms". */
static cfg_opt_t conf_dns_opts[] = {
	CFG_STR_LIST("servers", NULL, CFGF_NONE),
	CFG_STR_LIST("tlds", NULL, CFGF_NONE),
	CFG_STR("qname", NULL, CFGF_NODEFAULT),
	CFG_STR("qtype", NULL, CFGF_NODEFAULT),
	CFG_STR("qclass", NULL, CFGF_NODEFAULT),
	CFG_STR("chaos", NULL, CFGF_NODEFAULT),
	CFG_STR("transport", "both", CFGF_NONE),
	CFG_STR("af", "both", CFGF_NONE),
	CFG_INT("port", 53, CFGF_NONE),
	CFG_INT("edns_size", 1232, CFGF_NONE),
	CFG_BOOL("do", cfg_false, CFGF_NONE),
	CFG_BOOL("nsid", cfg_true, CFGF_NONE),
	CFG_BOOL("rd", cfg_false, CFGF_NONE),
	CFG_BOOL("tcp_on_truncation", cfg_true, CFGF_NONE),
	CFG_STR("interval", NULL, CFGF_NODEFAULT),
	CFG_STR("spread", NULL, CFGF_NODEFAULT),
	CFG_STR("timeout", NULL, CFGF_NODEFAULT),
	CFG_INT("retries", 0, CFGF_NONE),
	CFG_STR("late_window", NULL, CFGF_NODEFAULT),
	CFG_END()
};

static cfg_opt_t conf_http_opts[] = {
	CFG_STR("url", NULL, CFGF_NODEFAULT),
	CFG_STR("method", NULL, CFGF_NODEFAULT),
	CFG_STR("af", "both", CFGF_NONE),
	CFG_STR_LIST("addresses", NULL, CFGF_NONE),
	CFG_STR("timeout", NULL, CFGF_NODEFAULT),
	CFG_STR_LIST("expect_status", NULL, CFGF_NONE),
	CFG_STR("max_body", NULL, CFGF_NODEFAULT),
	CFG_STR("body_pattern", NULL, CFGF_NODEFAULT),
	CFG_STR_LIST("headers", NULL, CFGF_NONE),
	CFG_STR("proxy", NULL, CFGF_NODEFAULT),
	CFG_STR("cafile", NULL, CFGF_NODEFAULT),
	CFG_BOOL("follow_redirects", cfg_false, CFGF_NONE),
	CFG_INT("max_redirects", HTTP_REDIRECTS_DEFAULT, CFGF_NONE),
	CFG_STR("interval", NULL, CFGF_NODEFAULT),
	CFG_STR("spread", NULL, CFGF_NODEFAULT),
	CFG_END()
};

static cfg_opt_t conf_spool_opts[] = {
	CFG_STR("dir", NULL, CFGF_NODEFAULT),
	CFG_STR("max_size", NULL, CFGF_NODEFAULT),
	CFG_STR("min_free", NULL, CFGF_NODEFAULT),
	CFG_STR("sync", NULL, CFGF_NODEFAULT),
	CFG_END()
};

static cfg_opt_t conf_upload_opts[] = {
	CFG_STR_LIST("url", NULL, CFGF_NONE),
	CFG_STR("proxy", NULL, CFGF_NODEFAULT),
	CFG_INT("batch_records", UPLOAD_BATCH_RECORDS, CFGF_NONE),
	CFG_STR("batch_bytes", NULL, CFGF_NODEFAULT),
	CFG_STR("batch_age", NULL, CFGF_NODEFAULT),
	CFG_STR("backoff_max", NULL, CFGF_NODEFAULT),
	CFG_STR("failback", NULL, CFGF_NODEFAULT),
	CFG_STR("stop_timeout", NULL, CFGF_NODEFAULT),
	CFG_STR("dead_letter", NULL, CFGF_NODEFAULT),
	CFG_END()
};

static cfg_opt_t conf_tld_opts[] = {
	CFG_STR_LIST("roots", NULL, CFGF_NONE),
	CFG_STR("resolver", "auto", CFGF_NONE),
	CFG_STR("refresh", NULL, CFGF_NODEFAULT),
	CFG_INT("port", 53, CFGF_NONE),
	CFG_END()
};

static cfg_opt_t conf_root_opts[] = {
	CFG_SEC("probe", conf_probe_opts, CFGF_NONE),
	CFG_STR("log_level", "info", CFGF_NONE),
	CFG_STR("state_dir", CW_STATE_DIR, CFGF_NONE),
	CFG_SEC("output", conf_output_opts, CFGF_NONE),
	CFG_STR("key", NULL, CFGF_NODEFAULT),
	CFG_STR("heartbeat", NULL, CFGF_NODEFAULT),
	CFG_SEC("spool", conf_spool_opts, CFGF_NONE),
	CFG_SEC("upload", conf_upload_opts, CFGF_NONE),
	CFG_SEC("tld_discovery", conf_tld_opts, CFGF_NONE),
	CFG_SEC("dns", conf_dns_opts,
	    CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES),
	CFG_SEC("http", conf_http_opts,
	    CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES),
	CFG_STR("resolv_conf", NULL, CFGF_NODEFAULT),
	CFG_STR("hosts_file", NULL, CFGF_NODEFAULT),
	CFG_FUNC("include", conf_include_misplaced),
	CFG_END()
};

/* conf_validators: record the line of every section option. */
static void
conf_validators(cfg_t *cfg)
{
	static const struct {
		const char *sec;
		cfg_opt_t *opts;
	} secs[] = {
		{"probe", conf_probe_opts},
		{"output", conf_output_opts},
		{"spool", conf_spool_opts},
		{"upload", conf_upload_opts},
		{"tld_discovery", conf_tld_opts},
		{"dns", conf_dns_opts},
		{"http", conf_http_opts},
	};
	char path[64];

	for (size_t i = 0; i < sizeof(secs) / sizeof(secs[0]); i++)
		for (cfg_opt_t *o = secs[i].opts; o->name != NULL; o++) {
			snprintf(path, sizeof(path), "%s|%s", secs[i].sec,
			    o->name);
			cfg_set_validate_func(cfg, path, conf_record);
		}
	cfg_set_validate_func(cfg, "probe", conf_probe_section);
	cfg_set_validate_func(cfg, "output", conf_output_section);
	cfg_set_validate_func(cfg, "spool", conf_spool_section);
	cfg_set_validate_func(cfg, "upload", conf_upload_section);
	cfg_set_validate_func(cfg, "key", conf_key);
	cfg_set_validate_func(cfg, "heartbeat", conf_heartbeat);
	cfg_set_validate_func(cfg, "tld_discovery", conf_tld_section);
	cfg_set_validate_func(cfg, "dns", conf_dns_section);
	cfg_set_validate_func(cfg, "http", conf_http_section);
	cfg_set_validate_func(cfg, "resolv_conf", conf_lookup_file);
	cfg_set_validate_func(cfg, "hosts_file", conf_lookup_file);
	cfg_set_validate_func(cfg, "log_level", conf_log_level);
	cfg_set_validate_func(cfg, "state_dir", conf_state_dir);
}

/* conf_state_path: "<state_dir>/<name>" in a new string (NULL: out of
 * memory, noted). */
static char *
conf_state_path(struct conf_loader *l, const char *dir, const char *name)
{
	char *p;

	if (asprintf(&p, "%s/%s", dir, name) == -1) {
		l->oom = true;
		return NULL;
	}
	return p;
}

/* conf_spool_defaults: the key's path, and the spool's settings when
 * its section is not there or leaves them out. */
static void
conf_spool_defaults(struct conf_loader *l, const char *state)
{
	struct config *conf = conf_build(l)->conf;

	if (conf->key_path == NULL &&
	    (conf->key_path = conf_state_path(l, state, "key")) == NULL)
		l->oom = true;
	if (conf->spool.dir == NULL &&
	    (conf->spool.dir = conf_state_path(l, state, "spool")) == NULL)
		l->oom = true;
	if (conf_build(l)->spool_line == 0) {
		conf->spool.max_bytes = CONFIG_SPOOL_MAX;
		conf->spool.min_free_bytes = CONFIG_SPOOL_MIN_FREE;
		conf->spool.sync_interval = CW_USEC_PER_SEC;
	}
}

/* conf_upload_defaults: the dead-letter file; an upload needs the
 * spool it uploads from. */
static void
conf_upload_defaults(struct conf_loader *l, const char *state)
{
	struct config_upload *up = &conf_build(l)->conf->upload;

	if (conf_build(l)->upload_line == 0)
		return;
	/* urls is allocated for every url written: one that was refused
	 * has been reported already. */
	if (up->urls == NULL)
		conf_error(l, conf_build(l)->upload_line, "upload: no url (write e.g. "
		    "url = {\"https://collector.example.org\"}; leave the "
		    "section out for no upload)");
	else if (!conf_build(l)->conf->spool.enabled)
		conf_error(l, conf_build(l)->upload_line, "upload: uploads are made from "
		    "the spool: add a spool section (spool { })");
	if (up->dead_letter == NULL &&
	    (up->dead_letter = conf_state_path(l, state,
	    "dead-letter/dead-letter.jsonl")) == NULL)
		l->oom = true;
}

/* conf_finish: what only the whole file can say. */
static int
conf_finish(struct conf_loader *l)
{
	struct config *conf = conf_build(l)->conf;

	if (conf_build(l)->probe_line == 0)
		conf_error(l, 0, "a probe section with a name is required "
		    "(probe { name = \"kyiv-1\" })");
	if (conf->nmeasurements == 0 && l->nerrors == 0)
		conf_error(l, 0, "no measurement configured (add e.g. "
		    "dns \"root-soa\" { servers = {\"@root\"} })");
	conf_tld_defaults(l);
	if ((conf->state_dir == NULL &&
	    (conf->state_dir = strdup(CW_STATE_DIR)) == NULL) ||
	    (conf->path = strdup(l->files[0])) == NULL ||
	    (conf->output_path == NULL &&
	    (conf->output_path = strdup("-")) == NULL)) {
		l->oom = true;
		return -1;
	}
	conf_spool_defaults(l, conf->state_dir);
	conf_upload_defaults(l, conf->state_dir);
	return l->nerrors == 0 && !l->oom ? 0 : -1;
}

/* conf_build_free: free what b holds (not b itself). */
static void
conf_build_free(struct conf_build *b)
{
	free(b->names);
	config_free(b->conf);
	conf_loader_release(&b->l);
}

/* conf_parse: preprocess and parse into b->conf. */
static int
conf_parse(struct conf_build *b, const char *path)
{
	cfg_t *cfg;
	int rc;

	if ((cfg = cfg_init(conf_root_opts, CFGF_NONE)) == NULL) {
		b->l.oom = true;
		return -1;
	}
	conf_validators(cfg);
	rc = conf_loader_parse(&b->l, path, cfg);
	if (rc == 0)
		rc = conf_finish(&b->l);
	cfg_free(cfg);
	return rc;
}

struct config *
config_load(const char *path, char **errors)
{
	struct conf_build b;
	struct config *conf = NULL;

	if (errors != NULL)
		*errors = NULL;
	memset(&b, 0, sizeof(b));
	if ((b.conf = calloc(1, sizeof(*b.conf))) == NULL)
		b.l.oom = true;
	else {
		b.conf->log_level = LOG_LEVEL_INFO;
		b.conf->heartbeat = CONFIG_HEARTBEAT;
	}
	if (!b.l.oom && conf_parse(&b, path) == 0) {
		conf = b.conf;
		b.conf = NULL;
	}
	if (conf == NULL && errors != NULL) {
		if (b.l.oom)
			conf_error_file(&b.l, path, 0, "out of memory");
		*errors = conf_problems_text(&b.l);
	}
	conf_build_free(&b);
	return conf;
}

void
config_free(struct config *conf)
{
	if (conf == NULL)
		return;
	for (size_t i = 0; i < conf->nmeasurements; i++)
		conf_measurement_clear(&conf->measurements[i]);
	free(conf->measurements);
	free(conf->tld.roots);
	free(conf->path);
	free(conf->probe.name);
	free(conf->probe.location);
	free(conf->state_dir);
	free(conf->output_path);
	free(conf->key_path);
	free(conf->spool.dir);
	for (size_t i = 0; i < conf->upload.nurls; i++)
		free(conf->upload.urls[i]);
	free(conf->upload.urls);
	free(conf->upload.proxy);
	free(conf->upload.dead_letter);
	free(conf->resolv_conf);
	free(conf->hosts_file);
	free(conf);
}

/* conf_http_requests: config_measurement_queries() of an http
 * measurement. */
static size_t
conf_http_requests(const struct measurement *m)
{
	size_t n = 0;

	if (m->ntargets == 0)
		return ((m->http.afs & HTTP_AF_4) ? 1 : 0) +
		    ((m->http.afs & HTTP_AF_6) ? 1 : 0);
	for (size_t i = 0; i < m->ntargets; i++)
		if (m->http.afs & (m->targets[i].af == 4 ? HTTP_AF_4 :
		    HTTP_AF_6))
			n++;
	return n;
}

size_t
config_measurement_queries(const struct measurement *m)
{
	size_t n = 0, protos = 0;

	if (m->kind == MEASUREMENT_HTTP)
		return conf_http_requests(m);
	if (m->dns.transports & DNS_PROTO_UDP)
		protos++;
	if (m->dns.transports & DNS_PROTO_TCP)
		protos++;
	for (size_t i = 0; i < m->ntargets; i++)
		if (m->dns.afs & (m->targets[i].af == 4 ? DNS_AF_4 : DNS_AF_6))
			n++;
	return n * protos;
}

/* conf_http_summary: config_measurement_summary() of an http
 * measurement. */
static void
conf_http_summary(const struct measurement *m, char *buf, size_t len)
{
	char every[CONFIG_DURATION_STRLEN], spread[CONFIG_DURATION_STRLEN];
	char timeout[CONFIG_DURATION_STRLEN], what[96];
	size_t n = config_measurement_queries(m);
	const char *af, *s = n == 1 ? "" : "s";

	af = m->http.afs == (HTTP_AF_4 | HTTP_AF_6) ? "IPv4+IPv6" :
	    m->http.afs == HTTP_AF_4 ? "IPv4" : "IPv6";
	if (m->ntargets > 0)
		snprintf(what, sizeof(what), "%zu pinned address%s (%zu "
		    "request%s a cycle)", m->ntargets, m->ntargets == 1 ? "" :
		    "es", n, s);
	else if (http_url_host_af(m->http.url) != 0)
		snprintf(what, sizeof(what), "the URL's address (1 request a "
		    "cycle)");
	else if (m->http.proxy != NULL)
		snprintf(what, sizeof(what), "through the proxy (%zu request%s "
		    "a cycle)", n, s);
	else
		snprintf(what, sizeof(what), "resolved each cycle (at least "
		    "%zu request%s a cycle)", n, s);
	snprintf(buf, len, "http %s: %s %s, %s, %s; every %s, spread %s, "
	    "timeout %s", m->name, m->http.method == HTTP_HEAD ? "HEAD" :
	    "GET", m->http.url, af, what,
	    config_duration_format(m->interval, every, sizeof(every)),
	    config_duration_format(m->spread, spread, sizeof(spread)),
	    config_duration_format(m->http.timeout, timeout, sizeof(timeout)));
}

void
config_measurement_summary(const struct measurement *m, char *buf,
    size_t len)
{
	char qtype[DNS_TYPE_STRLEN], qclass[DNS_TYPE_STRLEN];
	char every[CONFIG_DURATION_STRLEN], spread[CONFIG_DURATION_STRLEN];
	char timeout[CONFIG_DURATION_STRLEN], what[160];
	const char *tp, *af;

	if (m->kind == MEASUREMENT_HTTP) {
		conf_http_summary(m, buf, len);
		return;
	}
	tp = m->dns.transports == (DNS_PROTO_UDP | DNS_PROTO_TCP) ?
	    "udp+tcp" : m->dns.transports == DNS_PROTO_UDP ? "udp" : "tcp";
	af = m->dns.afs == (DNS_AF_4 | DNS_AF_6) ? "IPv4+IPv6" :
	    m->dns.afs == DNS_AF_4 ? "IPv4" : "IPv6";
	if (m->ntlds > 0)
		snprintf(what, sizeof(what), "the servers of %zu TLD%s",
		    m->ntlds, m->ntlds == 1 ? "" : "s");
	else
		snprintf(what, sizeof(what), "%zu server address%s (%zu "
		    "queries a cycle)", m->ntargets, m->ntargets == 1 ? "" :
		    "es", config_measurement_queries(m));
	snprintf(buf, len, "dns %s: %s %s %s to %s, %s, %s, port %u; every "
	    "%s, spread %s, timeout %s", m->name,
	    m->qname_from_tld ? "<tld>" : m->dns.qname,
	    dns_qclass_name(m->dns.qclass, qclass, sizeof(qclass)),
	    dns_qtype_name(m->dns.qtype, qtype, sizeof(qtype)), what, tp, af,
	    m->dns.port,
	    config_duration_format(m->interval, every, sizeof(every)),
	    config_duration_format(m->spread, spread, sizeof(spread)),
	    config_duration_format(m->dns.timeout, timeout, sizeof(timeout)));
}
