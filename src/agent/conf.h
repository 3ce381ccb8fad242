/*
 * conf.h -- the configuration file (corewatch.conf(5)).
 *
 * (The file is conf.h, not config.h, because "config.h" is the header
 * autoconf generates and every .c file includes first.)
 *
 * config_load() reads a libconfuse file, with its include()s, and turns
 * it into plain structs that nothing else needs libconfuse to read.  It
 * checks everything it can before the agent starts: every problem is
 * reported as "FILE:LINE: message", all of them when the file parses at
 * all (a syntax error stops libconfuse at the first one).
 */
#ifndef CW_CONF_H
#define CW_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <confuse.h>

#include "cwtime.h"
#include "log.h"
#include "probe.h"
#include "target.h"

#define CONFIG_NAME_MAX 64 /* probe and measurement names */

/* Who runs the probe, as the volunteer chooses to declare it. */
struct config_identity {
	char *name;      /* required: "kyiv-1" */
	char country[3]; /* ISO 3166-1 alpha-2, upper; "": unset */
	uint32_t asn;    /* 0 if unset */
	char *location;  /* free text; NULL if unset */
};

/*
 * measurement: one measurement section, `KIND "NAME" { ... }` (names are
 * unique across the kinds).  `spec` is the kind's own (struct
 * dns_measurement, struct http_measurement), built by kind->conf_build
 * and freed with the measurement.  What every kind shares is here:
 * the cycle, and the fixed targets or the TLDs whose servers are
 * learned (DNS: `servers`, port applied, catalog sets expanded, or
 * `tlds`, never both; HTTP: the pinned `addresses`, port 0, none when
 * the host is resolved each cycle).
 */
struct measurement {
	char *name; /* the section's title, unique */
	const struct probe_kind *kind;
	void *spec;             /* the kind's; its name points at name */
	cw_usec_t interval;     /* cycle length */
	cw_usec_t spread;       /* offsets drawn from [0, spread) */
	struct target *targets; /* every address, all families */
	size_t ntargets;
	char **tlds; /* lower case, no final dot */
	size_t ntlds;
	char *file; /* where the section starts */
	int line;
};

/* How the servers of TLDs are learned: `tld_discovery { ... }`. */
struct config_tld {
	struct target *roots; /* asked for referrals; default @root */
	size_t nroots;
	bool resolver_auto; /* "auto": /etc/resolv.conf's first */
	bool have_resolver; /* an address was given */
	struct target resolver;
	cw_usec_t refresh; /* default TLD_REFRESH_DEFAULT (1d) */
	uint16_t port;     /* of the roots and the resolver */
};

/* The spool: `spool { ... }` (doc/spool.md); in use when the section
 * is there. */
struct config_spool {
	bool enabled;
	char *dir;               /* default state_dir/spool */
	uint64_t max_bytes;      /* default CONFIG_SPOOL_MAX */
	uint64_t min_free_bytes; /* default CONFIG_SPOOL_MIN_FREE; 1
				  * when written as 0 (no floor) */
	cw_usec_t sync_interval; /* default 1s */
};

#define CONFIG_SPOOL_MAX      (UINT64_C(64) << 20)
#define CONFIG_SPOOL_MIN_FREE (UINT64_C(16) << 20)
#define CONFIG_HEARTBEAT      (300 * CW_USEC_PER_SEC)

/* The uploader: `upload { ... }` (corewatch.conf(5)); none without a
 * url.  Sizes and times are 0 where upload.h's defaults apply. */
struct config_upload {
	char **urls; /* collectors' base URLs, in order */
	size_t nurls;
	char *proxy; /* NULL: none */
	size_t batch_records;
	size_t batch_bytes;
	cw_usec_t batch_age;
	cw_usec_t backoff_max;
	cw_usec_t failback;
	cw_usec_t stop_timeout; /* default UPLOAD_STOP_TIMEOUT; 0:
				 * none */
	char *dead_letter;      /* default
				 * state_dir/dead-letter/dead-letter.jsonl */
	uint64_t receipts_max;  /* receipts_max_size: the bound of the
				 * spool's receipts.jsonl; 0: none kept */
};

struct config {
	char *path; /* the file loaded */
	struct config_identity probe;
	enum log_level log_level;
	char *state_dir;   /* TLD server sets are cached here */
	char *output_path; /* "-" for stdout */
	struct config_tld tld;
	struct measurement *measurements;
	size_t nmeasurements;
	char *key_path;      /* the probe's key; default
			      * state_dir/key */
	cw_usec_t heartbeat; /* 0: none; default 5m */
	struct config_spool spool;
	struct config_upload upload;
	char *resolv_conf; /* HTTP host lookups; NULL:
			    * /etc/resolv.conf */
	char *hosts_file;  /* HTTP host lookups, first; NULL:
			    * /etc/hosts */
};

/*
 * config_load: read and check `path`.  Returns a config the caller frees
 * with config_free(), or NULL: then *errors (when errors is not NULL) is
 * a string the caller frees, one "FILE:LINE: message" per line, without
 * a final newline.  Logs nothing itself.
 */
struct config *config_load(const char *path, char **errors);

/* config_free: free a config and everything in it; NULL is fine. */
void config_free(struct config *conf);

/* config_measurement_queries: how many queries one cycle of `m` sends to
 * its fixed targets, as its kind counts them (probe_kind.queries).
 * DNS: targets matching the address families, times the transports; 0
 * for a TLD measurement, whose servers are learned.  HTTP: the pinned
 * addresses of its families; 1 for an address in the URL; else one per
 * family, a minimum (a name may resolve to several addresses) except
 * through a proxy, which resolves the name itself. */
size_t config_measurement_queries(const struct measurement *m);

/* config_measurement_summary: one line describing `m` for check-config
 * ("dns root-soa: SOA . IN, 26 servers ... every 5m"), into buf, as its
 * kind writes it (probe_kind.summary). */
void config_measurement_summary(const struct measurement *m, char *buf,
    size_t len);

/* config_duration_format: "5m", "30s", "200ms", "1500ms" ... into buf
 * (at least CONFIG_DURATION_STRLEN bytes); returns buf. */
#define CONFIG_DURATION_STRLEN 32
char *config_duration_format(cw_usec_t usec, char *buf, size_t len);

/* config_name_valid: whether `name` may name a probe or a measurement:
 * 1 to CONFIG_NAME_MAX letters, digits, '.', '_' or '-' (a section's
 * title, and `corewatch http --name`, alike). */
bool config_name_valid(const char *name);

#endif
