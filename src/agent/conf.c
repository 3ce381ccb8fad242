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
#include "conf_kind.h"
#include "confload.h"
#include "country.h"
#include "fileio.h"
#include "http.h"
#include "probe.h"
#include "size.h"
#include "tld.h"
#include "receipts.h"
#include "upload.h"

#define CONF_INTERVAL_MIN     CW_USEC_PER_SEC
#define CONF_SPREAD_DEFAULT   (30 * CW_USEC_PER_SEC)
#define CONF_INTERVAL_DEFAULT (300 * CW_USEC_PER_SEC)
#define CONF_LOCATION_MAX     256

/* A measurement's title and the line of its section, for names unique
 * across dns and http sections. */
struct conf_name {
	const char *name; /* the title, owned by libconfuse's tree */
	int line;         /* in the preprocessed text */
};

/* The probe's load: the shared loader and what the sections build. */
struct conf_build {
	struct conf_loader l;    /* first: conf_build() finds the rest */
	struct conf_name *names; /* of every measurement section */
	size_t nnames;

	struct config *conf;
	int probe_line; /* of the probe section; 0: none */
	int output_line;
	int tld_line; /* line of the tld_discovery section */
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
		{ 86400 * CW_USEC_PER_SEC, "d" },
		{ 3600 * CW_USEC_PER_SEC, "h" },
		{ 60 * CW_USEC_PER_SEC, "m" },
		{ CW_USEC_PER_SEC, "s" },
		{ CW_USEC_PER_MSEC, "ms" },
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
config_name_valid(const char *name)
{
	return conf_token_ok(name, CONFIG_NAME_MAX);
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

/* The probe section's options; conf_probe_section() checks them. */
static cfg_opt_t conf_probe_opts[] = {
	CFG_STR("name", NULL, CFGF_NODEFAULT),
	CFG_STR("country", NULL, CFGF_NODEFAULT),
	CFG_STR("asn", NULL, CFGF_NODEFAULT), /* string: 32-bit long */
	CFG_STR("location", NULL, CFGF_NODEFAULT),
	CFG_END(),
};

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
		conf_sec_error(&s, NULL, 0,
		    "a second probe section (the "
		    "first is on line %d)",
		    l->origin[conf_build(l)->probe_line - 1].line);
		return 0;
	}
	conf_build(l)->probe_line = s.line;
	id = &conf_build(l)->conf->probe;
	if ((v = cfg_getstr(s.sec, "name")) == NULL)
		conf_sec_error(&s, NULL, 0,
		    "name is required "
		    "(e.g. name = \"kyiv-1\")");
	else if (!config_name_valid(v))
		conf_sec_error(&s, "name", 0,
		    "name: \"%s\" must be 1 to %d "
		    "letters, digits, '.', '_' or '-'",
		    v, CONFIG_NAME_MAX);
	else if ((id->name = strdup(v)) == NULL)
		l->oom = true;
	if ((v = cfg_getstr(s.sec, "country")) != NULL) {
		if (!country_valid(v))
			conf_sec_error(&s, "country", 0,
			    "country: \"%s\" is "
			    "not an ISO 3166-1 alpha-2 code (e.g. \"UA\")",
			    v);
		else {
			id->country[0] = (char)toupper((unsigned char)v[0]);
			id->country[1] = (char)toupper((unsigned char)v[1]);
			id->country[2] = '\0';
		}
	}
	if ((v = cfg_getstr(s.sec, "asn")) != NULL &&
	    conf_asn_parse(v, &id->asn) == -1)
		conf_sec_error(&s, "asn", 0,
		    "asn: \"%s\" is not an AS number "
		    "(1 to 4294967295)",
		    v);
	if ((v = cfg_getstr(s.sec, "location")) != NULL) {
		if (!conf_text_ok(v, CONF_LOCATION_MAX))
			conf_sec_error(&s, "location", 0,
			    "location: 1 to %d "
			    "characters without control characters",
			    CONF_LOCATION_MAX);
		else if ((id->location = strdup(v)) == NULL)
			l->oom = true;
	}
	return 0;
}

/* The output section's options; conf_output_section() checks them. */
static cfg_opt_t conf_output_opts[] = {
	CFG_STR("path", "-", CFGF_NONE),
	CFG_END(),
};

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
		conf_sec_error(&s, NULL, 0,
		    "a second output section (the "
		    "first is on line %d)",
		    l->origin[conf_build(l)->output_line - 1].line);
		return 0;
	}
	conf_build(l)->output_line = s.line;
	path = cfg_getstr(s.sec, "path");
	if (path == NULL || !conf_text_ok(path, PATH_MAX - 1)) {
		conf_sec_error(&s, "path", 0,
		    "path: \"-\" (stdout) or a file "
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
int
conf_size(struct conf_sec *s, const char *opt, uint64_t min, uint64_t dflt,
    uint64_t *out)
{
	const char *text = cfg_getstr(s->sec, opt);
	char m[CW_SIZE_STRLEN];

	*out = dflt;
	if (text == NULL)
		return 0;
	if (cw_size_parse(text, out) == -1 || (*out < min && *out != 0)) {
		conf_sec_error(s, opt, 0,
		    "%s: \"%s\" is not a size of at "
		    "least %s (write e.g. 64M, 512k)",
		    opt, text, cw_size_format(min, m, sizeof(m)));
		*out = dflt;
		return -1;
	}
	return 0;
}

/* The spool section's options; conf_spool_section() checks them. */
static cfg_opt_t conf_spool_opts[] = {
	CFG_STR("dir", NULL, CFGF_NODEFAULT),
	CFG_STR("max_size", NULL, CFGF_NODEFAULT),
	CFG_STR("min_free", NULL, CFGF_NODEFAULT),
	CFG_STR("sync", NULL, CFGF_NODEFAULT),
	CFG_END(),
};

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
		conf_sec_error(&s, NULL, 0,
		    "a second spool section (the "
		    "first is on line %d)",
		    l->origin[conf_build(l)->spool_line - 1].line);
		return 0;
	}
	conf_build(l)->spool_line = s.line;
	sp = &conf_build(l)->conf->spool;
	sp->enabled = true;
	if (cfg_getstr(s.sec, "dir") != NULL)
		conf_sec_path(&s, "dir", "directory", &sp->dir);
	if (conf_size(&s, "max_size", UINT64_C(64) << 10, CONFIG_SPOOL_MAX,
	        &sp->max_bytes) == 0 &&
	    sp->max_bytes == 0) {
		conf_sec_error(&s, "max_size", 0, "max_size: must be above 0");
		sp->max_bytes = CONFIG_SPOOL_MAX;
	}
	if (conf_size(&s, "min_free", 0, CONFIG_SPOOL_MIN_FREE,
	        &sp->min_free_bytes) == 0 &&
	    sp->min_free_bytes == 0)
		sp->min_free_bytes = 1;
	if (conf_duration(&s, "sync", CW_USEC_PER_SEC, &sp->sync_interval) ==
	        0 &&
	    (sp->sync_interval < 10 * CW_USEC_PER_MSEC ||
	        sp->sync_interval > 3600 * CW_USEC_PER_SEC)) {
		conf_sec_error(&s, "sync", 0, "sync: from 10ms to 1h");
		sp->sync_interval = CW_USEC_PER_SEC;
	}
	return 0;
}

/* conf_url: a collector's base URL.  Returns a copy, or NULL
 * (reported). */
static char *
conf_url(struct conf_sec *s, const char *opt, unsigned idx, const char *v)
{
	static const char *const schemes[] = { "http://", "https://" };
	char *copy;

	for (size_t i = 0; i < 2; i++) {
		if (strncasecmp(v, schemes[i], strlen(schemes[i])) != 0 ||
		    strlen(v) == strlen(schemes[i]) || !conf_text_ok(v, 1024))
			continue;
		if ((copy = strdup(v)) == NULL)
			s->l->oom = true;
		return copy;
	}
	conf_sec_error(s, opt, idx,
	    "%s: \"%s\" is not an http:// or https:// "
	    "URL",
	    opt, v);
	return NULL;
}

/* conf_proxy: the uploads' proxy, under the rule of a measurement's
 * (http_spec_check, HTTP_SPEC_PROXY).  Returns a copy, or NULL
 * (reported). */
static char *
conf_proxy(struct conf_sec *s, const char *v)
{
	struct http_spec spec;
	char err[640], *copy;

	http_spec_init(&spec);
	spec.proxy = v;
	if (http_spec_check(&spec, HTTP_SPEC_PROXY, err, sizeof(err)) == -1) {
		conf_sec_error(s, "proxy", 0, "proxy: %s", err);
		return NULL;
	}
	if ((copy = strdup(v)) == NULL)
		s->l->oom = true;
	return copy;
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
			conf_sec_error(s, "batch_bytes", 0,
			    "batch_bytes: from "
			    "%d bytes to 16M",
			    UPLOAD_BATCH_BYTES_MIN);
			bytes = UPLOAD_BATCH_BYTES;
		}
		up->batch_bytes = (size_t)bytes;
	}
	if (conf_duration(s, "batch_age", UPLOAD_BATCH_AGE, &t) == 0) {
		if (t < 100 * CW_USEC_PER_MSEC || t > 86400 * CW_USEC_PER_SEC)
			conf_sec_error(s, "batch_age", 0,
			    "batch_age: from "
			    "100ms to 1d");
		else
			up->batch_age = t;
	}
	if (conf_duration(s, "backoff_max", UPLOAD_BACKOFF_MAX, &t) == 0) {
		if (t < CW_USEC_PER_SEC || t > 86400 * CW_USEC_PER_SEC)
			conf_sec_error(s, "backoff_max", 0,
			    "backoff_max: from "
			    "1s to 1d");
		else
			up->backoff_max = t;
	}
	if (conf_duration(s, "failback", UPLOAD_FAILBACK, &t) == 0) {
		if (t < CW_USEC_PER_SEC || t > 86400 * CW_USEC_PER_SEC)
			conf_sec_error(s, "failback", 0,
			    "failback: from 1s to "
			    "1d");
		else
			up->failback = t;
	}
	up->stop_timeout = UPLOAD_STOP_TIMEOUT;
	if (conf_duration(s, "stop_timeout", UPLOAD_STOP_TIMEOUT, &t) == 0) {
		if (t < 0 || t > 600 * CW_USEC_PER_SEC)
			conf_sec_error(s, "stop_timeout", 0,
			    "stop_timeout: "
			    "from 0 to 10m");
		else
			up->stop_timeout = t;
	}
}

/* The upload section's options; conf_upload_section() checks them. */
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
	CFG_STR("receipts_max_size", NULL, CFGF_NODEFAULT),
	CFG_END(),
};

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
		conf_sec_error(&s, NULL, 0,
		    "a second upload section (the "
		    "first is on line %d)",
		    l->origin[conf_build(l)->upload_line - 1].line);
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
		if ((up->urls[up->nurls] = conf_url(&s, "url", i,
		         cfg_getnstr(s.sec, "url", i))) != NULL)
			up->nurls++;
	if ((v = cfg_getstr(s.sec, "proxy")) != NULL)
		up->proxy = conf_proxy(&s, v);
	if (cfg_getstr(s.sec, "dead_letter") != NULL)
		conf_sec_path(&s, "dead_letter", "file", &up->dead_letter);
	/* 0 keeps no receipt; a bound too large for a rewrite to read
	 * back at once is refused. */
	if (conf_size(&s, "receipts_max_size", RECEIPTS_MAX_MIN,
	        RECEIPTS_MAX_DEFAULT, &up->receipts_max) == 0 &&
	    up->receipts_max > RECEIPTS_MAX_MAX) {
		conf_sec_error(&s, "receipts_max_size", 0,
		    "receipts_max_size: at most 256M");
		up->receipts_max = RECEIPTS_MAX_DEFAULT;
	}
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
		if (target_parse(spec, tld->port, &tld->roots[tld->nroots], err,
		        sizeof(err)) == -1)
			conf_sec_error(s, "roots", i,
			    "roots: %s (write "
			    "\"ADDRESS\", \"NAME=ADDRESS\" or \"@root\")",
			    err);
		else
			tld->nroots++;
	}
}

/* The tld_discovery section's options; conf_tld_section() checks them. */
static cfg_opt_t conf_tld_opts[] = {
	CFG_STR_LIST("roots", NULL, CFGF_NONE),
	CFG_STR("resolver", "auto", CFGF_NONE),
	CFG_STR("refresh", NULL, CFGF_NODEFAULT),
	CFG_INT("port", 53, CFGF_NONE),
	CFG_END(),
};

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
		conf_sec_error(&s, NULL, 0,
		    "a second tld_discovery section "
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
			conf_sec_error(&s, "resolver", 0,
			    "resolver: %s (write "
			    "an address, \"auto\" or \"none\")",
			    err);
		else
			tld->have_resolver = true;
	}
	if (conf_duration(&s, "refresh", TLD_REFRESH_DEFAULT, &tld->refresh) ==
	        0 &&
	    tld->refresh < CW_USEC_PER_SEC)
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
	if (tld->nroots == 0 &&
	    catalog_expand("@root", tld->port, &tld->roots, &tld->nroots, err,
	        sizeof(err)) == -1)
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
	if (m->kind != NULL)
		m->kind->spec_free(m->spec);
	free(m->file);
	memset(m, 0, sizeof(*m));
}

unsigned
conf_spec_rules(struct conf_sec *s, const struct measurement *m,
    const void *spec, const struct conf_rule *rules)
{
	const struct probe_kind *kind = m->kind;
	char err[640]; /* conf_sec_error()'s */
	unsigned refused = 0;

	for (int r = 0; r < kind->spec_rules; r++) {
		const struct conf_rule *w = &rules[r];

		if (kind->spec_check(spec, r, err, sizeof(err)) == 0)
			continue;
		refused |= 1u << r;
		if (w->says != NULL)
			conf_sec_error(s, w->opt, 0, "%s", w->says);
		else
			conf_sec_error(s, w->opt, 0, "%s%s%s", w->opt,
			    w->sentence ? " " : ": ", err);
	}
	return refused;
}

/* conf_choice: transport or af: `both` or one of two names. */
int
conf_choice(struct conf_sec *s, const char *opt, const char *a, int va,
    const char *b, int vb)
{
	const char *v = cfg_getstr(s->sec, opt);

	if (v == NULL || strcasecmp(v, "both") == 0)
		return va | vb;
	if (strcasecmp(v, a) == 0)
		return va;
	if (strcasecmp(v, b) == 0)
		return vb;
	conf_sec_error(s, opt, 0, "%s: \"%s\" is not %s, %s or both", opt, v, a,
	    b);
	return va | vb;
}

/* conf_cycle: interval and spread, the same for every kind of
 * measurement.  Returns whether interval is valid (cross-checks are
 * made only between values that are valid themselves). */
bool
conf_cycle(struct conf_sec *s, struct measurement *m)
{
	char a[CONFIG_DURATION_STRLEN], b[CONFIG_DURATION_STRLEN];
	bool ok;

	ok = conf_duration(s, "interval", CONF_INTERVAL_DEFAULT,
	         &m->interval) == 0;
	if (ok && m->interval < CONF_INTERVAL_MIN) {
		conf_sec_error(s, "interval", 0,
		    "interval: %s is shorter "
		    "than the minimum, 1s",
		    config_duration_format(m->interval, a, sizeof(a)));
		ok = false;
	}
	m->spread = m->interval < CONF_SPREAD_DEFAULT ? m->interval :
	                                                CONF_SPREAD_DEFAULT;
	if (conf_duration(s, "spread", m->spread, &m->spread) == 0 && ok &&
	    m->spread > m->interval)
		conf_sec_error(s, "spread", 0,
		    "spread %s is longer than "
		    "interval %s",
		    config_duration_format(m->spread, a, sizeof(a)),
		    config_duration_format(m->interval, b, sizeof(b)));
	return ok;
}

/* conf_measurement_start: what every measurement has: its kind, name
 * and where it is.  -1 when out of memory (noted). */
static int
conf_measurement_start(struct conf_sec *s, struct measurement *m,
    const struct probe_kind *kind)
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
	if (!config_name_valid(m->name))
		conf_sec_error(s, NULL, 0,
		    "the name must be 1 to %d letters, "
		    "digits, '.', '_' or '-'",
		    CONFIG_NAME_MAX);
	return 0;
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
		conf_sec_error(s, NULL, 0,
		    "another measurement is named '%s' "
		    "(%s:%d)",
		    title, l->files[o->file], o->line);
		return;
	}
	if ((grown = reallocarray(conf_build(l)->names,
	         conf_build(l)->nnames + 1, sizeof(*grown))) == NULL) {
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
}

/* conf_kind_of: the kind whose section is named `name`. */
static const struct probe_kind *
conf_kind_of(const char *name)
{
	for (size_t i = 0; probe_kinds[i] != NULL; i++)
		if (strcmp(probe_kinds[i]->name, name) == 0)
			return probe_kinds[i];
	return NULL;
}

/* conf_measurement_section: a measurement section (dns, http ...) just
 * closed: what every kind has, then the kind's own spec. */
static int
conf_measurement_section(cfg_t *root, cfg_opt_t *opt)
{
	struct conf_loader *l = conf_loading();
	const struct probe_kind *kind = conf_kind_of(opt->name);
	struct measurement m;
	struct conf_sec s;
	const char *title;
	char what[CONFIG_NAME_MAX + 16];
	size_t before;

	if (l == NULL || kind == NULL)
		return 0;
	conf_section(l, root, opt, &s);
	title = cfg_title(s.sec) != NULL ? cfg_title(s.sec) : "";
	snprintf(what, sizeof(what), "%s \"%.*s\"", kind->name, CONFIG_NAME_MAX,
	    title);
	s.what = what;
	conf_name_unique(&s, title);
	memset(&m, 0, sizeof(m));
	before = l->nerrors;
	if (conf_measurement_start(&s, &m, kind) == -1 ||
	    kind->conf_build(&s, &m) == -1 || l->nerrors != before)
		conf_measurement_clear(&m);
	else
		conf_measurement_add(l, &m);
	return 0;
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
		conf_error(l, root->line,
		    "log_level: \"%s\" is not error, "
		    "warning, info or debug",
		    v != NULL ? v : "");
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
	char **out;

	conf_record(root, opt);
	if (l == NULL)
		return 0;
	out = strcmp(opt->name, "hosts_file") == 0 ?
	    &conf_build(l)->conf->hosts_file :
	    &conf_build(l)->conf->resolv_conf;
	if (conf_path_option(root, opt, "file", out) == 0 &&
	    fileio_readable(*out) == -1)
		conf_error(l, root->line, "%s: %s: %s", opt->name, *out,
		    strerror(errno));
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
	if (v == NULL || cw_duration_parse(v, &t) == -1 ||
	    (t != 0 && t < CW_USEC_PER_SEC))
		conf_error(l, root->line,
		    "heartbeat: \"%s\" is not 0 (none) "
		    "or a duration of at least 1s (e.g. 5m)",
		    v != NULL ? v : "");
	else
		conf_build(l)->conf->heartbeat = t;
	return 0;
}

/* conf_include_misplaced: include() that the preprocessor did not see
 * because it shares its line with something else. */
static int
conf_include_misplaced(cfg_t *cfg, cfg_opt_t *opt, int argc, const char **argv)
{
	(void)opt;
	(void)argc;
	(void)argv;
	cfg_error(cfg, "write include(\"FILE\") alone on its line");
	return -1;
}

/* --- Loading --- */

/* The top level; each kind's section (probe_kinds) is added to it. */
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
	CFG_STR("resolv_conf", NULL, CFGF_NODEFAULT),
	CFG_STR("hosts_file", NULL, CFGF_NODEFAULT),
	CFG_FUNC("include", conf_include_misplaced),
	CFG_END(),
};

/* conf_validators: record the line of every section option. */
static void
conf_validators(cfg_t *cfg)
{
	static const struct {
		const char *sec;
		cfg_opt_t *opts;
	} secs[] = {
		{ "probe", conf_probe_opts },
		{ "output", conf_output_opts },
		{ "spool", conf_spool_opts },
		{ "upload", conf_upload_opts },
		{ "tld_discovery", conf_tld_opts },
	};
	char path[64];

	for (size_t i = 0; i < sizeof(secs) / sizeof(secs[0]); i++)
		for (cfg_opt_t *o = secs[i].opts; o->name != NULL; o++) {
			snprintf(path, sizeof(path), "%s|%s", secs[i].sec,
			    o->name);
			cfg_set_validate_func(cfg, path, conf_record);
		}
	for (size_t i = 0; probe_kinds[i] != NULL; i++) {
		for (cfg_opt_t *o = probe_kinds[i]->conf_opts; o->name != NULL;
		     o++) {
			snprintf(path, sizeof(path), "%s|%s",
			    probe_kinds[i]->name, o->name);
			cfg_set_validate_func(cfg, path, conf_record);
		}
		cfg_set_validate_func(cfg, probe_kinds[i]->name,
		    conf_measurement_section);
	}
	cfg_set_validate_func(cfg, "probe", conf_probe_section);
	cfg_set_validate_func(cfg, "output", conf_output_section);
	cfg_set_validate_func(cfg, "spool", conf_spool_section);
	cfg_set_validate_func(cfg, "upload", conf_upload_section);
	cfg_set_validate_func(cfg, "key", conf_key);
	cfg_set_validate_func(cfg, "heartbeat", conf_heartbeat);
	cfg_set_validate_func(cfg, "tld_discovery", conf_tld_section);
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
		conf_error(l, conf_build(l)->upload_line,
		    "upload: no url (write e.g. "
		    "url = {\"https://collector.example.org\"}; leave the "
		    "section out for no upload)");
	else if (!conf_build(l)->conf->spool.enabled)
		conf_error(l, conf_build(l)->upload_line,
		    "upload: uploads are made from "
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
		conf_error(l, 0,
		    "a probe section with a name is required "
		    "(probe { name = \"kyiv-1\" })");
	if (conf->nmeasurements == 0 && l->nerrors == 0)
		conf_error(l, 0,
		    "no measurement configured (add e.g. "
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

/* conf_opts_new: the top level's options and a section for each kind,
 * in an array the caller frees; NULL when out of memory. */
static cfg_opt_t *
conf_opts_new(void)
{
	size_t nroot = sizeof(conf_root_opts) / sizeof(conf_root_opts[0]) - 1;
	size_t nkinds = 0;
	cfg_opt_t *opts;

	while (probe_kinds[nkinds] != NULL)
		nkinds++;
	if ((opts = calloc(nroot + nkinds + 1, sizeof(*opts))) == NULL)
		return NULL;
	memcpy(opts, conf_root_opts, nroot * sizeof(*opts));
	for (size_t i = 0; i < nkinds; i++) {
		cfg_opt_t sec = CFG_SEC(probe_kinds[i]->name,
		    probe_kinds[i]->conf_opts,
		    CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES);
		opts[nroot + i] = sec;
	}
	opts[nroot + nkinds] = conf_root_opts[nroot]; /* CFG_END() */
	return opts;
}

/* conf_parse: preprocess and parse into b->conf. */
static int
conf_parse(struct conf_build *b, const char *path)
{
	cfg_opt_t *opts;
	cfg_t *cfg;
	int rc;

	if ((opts = conf_opts_new()) == NULL ||
	    (cfg = cfg_init(opts, CFGF_NONE)) == NULL) {
		free(opts);
		b->l.oom = true;
		return -1;
	}
	conf_validators(cfg);
	rc = conf_loader_parse(&b->l, path, cfg);
	if (rc == 0)
		rc = conf_finish(&b->l);
	cfg_free(cfg);
	free(opts);
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

size_t
config_measurement_queries(const struct measurement *m)
{
	return m->kind->queries(m);
}

void
config_measurement_summary(const struct measurement *m, char *buf, size_t len)
{
	m->kind->summary(m, buf, len);
}
