/*
 * cmd_spool.c -- `corewatch spool status`, `corewatch spool export` and
 * `corewatch spool receipts`.
 *
 * All open the spool read-only, so they work while `corewatch run`
 * appends to it, and change nothing in it: an export is not an upload
 * (the records stay until a collector's receipt acknowledges them; the
 * collector counts the copies that arrive both ways as duplicates).
 * `receipts` reads the signed receipts the uploader kept beside the
 * spool (receipts.h), and checks them with the collector's verifier key.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "cmd.h"
#include "cliutil.h"
#include "conf.h"
#include "fileio.h"
#include "key.h"
#include "log.h"
#include "note.h"
#include "receipt.h"
#include "receipts.h"
#include "record.h"
#include "result.h"
#include "spool.h"

#define SPOOL_EXPORT_RECORDS 1000
#define SPOOL_EXPORT_BYTES   (1024 * 1024)
#define SPOOL_EXPORT_MAGIC   "CW1-BATCH"
#define SPOOL_RECEIPT_LINE   (128 * 1024) /* longer: not a receipt */

struct spool_cmd {
	const char *conf_path;
	const char *key;  /* --key */
	const char *out;  /* --out */
	const char *dir;  /* --spool: no configuration read */
	const char *vkey; /* --vkey */
	bool conf_given;  /* -c */
	bool json;
	struct config *conf;
};

/* spool_cmd_config: load the configuration (problems printed). */
static int
spool_cmd_config(struct spool_cmd *c)
{
	char *errors = NULL;

	if ((c->conf = config_load(c->conf_path, &errors)) == NULL) {
		fprintf(stderr, "%s\n",
		    errors != NULL ? errors : "configuration rejected");
		free(errors);
		return -1;
	}
	return 0;
}

/* spool_cmd_open: the configured spool, read-only; `probe` (NULL: any)
 * must own it. */
static struct spool *
spool_cmd_open(struct spool_cmd *c, const char *probe)
{
	struct spool_config sc;

	memset(&sc, 0, sizeof(sc));
	sc.dir = c->conf->spool.dir;
	sc.probe = probe;
	sc.read_only = true;
	return spool_open(&sc, NULL);
}

/* spool_time: a real time as text, "-" for 0. */
static const char *
spool_time(cw_usec_t t, char *buf, size_t len)
{
	return t == 0 ? "-" : cw_time_format(t, buf, len);
}

static void
spool_status_json(const char *dir, const struct spool_status *st, cw_usec_t now)
{
	cw_usec_t receipt = st->last_receipt;
	char t1[CW_TIME_STRLEN], t2[CW_TIME_STRLEN];
	json_t *o = json_object();
	char *line;

	if (o == NULL)
		return;
	json_object_set_new(o, "dir", json_string(dir));
	json_object_set_new(o, "chain", json_string(st->chain));
	json_object_set_new(o, "last_seq",
	    json_integer((json_int_t)st->last_seq));
	json_object_set_new(o, "acked_seq",
	    json_integer((json_int_t)st->acked_seq));
	json_object_set_new(o, "last_receipt",
	    receipt == 0 ?
	        json_null() :
	        json_string(cw_time_format(receipt, t1, sizeof(t1))));
	json_object_set_new(o, "depth", json_integer((json_int_t)st->depth));
	json_object_set_new(o, "oldest_unsent",
	    st->oldest_unsent == 0 ?
	        json_null() :
	        json_string(cw_time_format(st->oldest_unsent, t2, sizeof(t2))));
	json_object_set_new(o, "oldest_unsent_age_s",
	    st->oldest_unsent == 0 ?
	        json_null() :
	        json_real((double)(now - st->oldest_unsent) / 1e6));
	json_object_set_new(o, "bytes", json_integer((json_int_t)st->bytes));
	json_object_set_new(o, "dropped",
	    json_integer((json_int_t)st->dropped));
	json_object_set_new(o, "corrupt",
	    json_integer((json_int_t)st->corrupt));
	if ((line = result_dump(o)) != NULL)
		printf("%s\n", line);
	free(line);
	json_decref(o);
}

static void
spool_status_text(const char *dir, const struct spool_status *st, cw_usec_t now)
{
	char t[CW_TIME_STRLEN], age[CONFIG_DURATION_STRLEN];
	cw_usec_t old = st->oldest_unsent;

	printf("spool          %s\n", dir);
	printf("chain          %s\n", st->chain);
	printf("appended       %" PRIu64 " (last seq)\n", st->last_seq);
	printf("unsent         %" PRIu64 " record%s, %" PRIu64 " bytes on "
	       "disk\n",
	    st->depth, st->depth == 1 ? "" : "s", st->bytes);
	if (old != 0)
		printf("oldest unsent  %s (%s ago)\n",
		    cw_time_format(old, t, sizeof(t)),
		    config_duration_format(now > old ?
		            (now - old) / CW_USEC_PER_SEC * CW_USEC_PER_SEC :
		            0,
		        age, sizeof(age)));
	else
		printf("oldest unsent  -\n");
	printf("last receipt   seq %" PRIu64 ", %s\n", st->acked_seq,
	    spool_time(st->last_receipt, t, sizeof(t)));
	printf("dropped        %" PRIu64 " (corrupt frames %" PRIu64 ")\n",
	    st->dropped, st->corrupt);
}

static int
spool_status_cmd(struct spool_cmd *c)
{
	struct spool_status st;
	struct spool *sp;
	cw_usec_t now = cw_real_usec();

	if ((sp = spool_cmd_open(c, NULL)) == NULL)
		return CW_EXIT_FAILURES;
	spool_get_status(sp, &st);
	spool_close(sp);
	if (c->json)
		spool_status_json(c->conf->spool.dir, &st, now);
	else
		spool_status_text(c->conf->spool.dir, &st, now);
	fflush(stdout);
	return CW_EXIT_OK;
}

/*
 * spool_export_batches: every unsent record of `sp`, as signed batches
 * (doc/spool.md, "The export file") written to fd.  *records, *batches,
 * *first and *last say what went out.  Returns 0 or -1 (logged).
 */
static int
spool_export_batches(struct spool *sp, const struct key *k, int fd,
    uint64_t *records, uint64_t *batches, uint64_t *first, uint64_t *last)
{
	struct spool_status st;
	struct evbuffer *body;
	char sig[RECORD_SIG_B64 + 1], head[256];
	uint64_t after, a, b;
	int n, rc = -1;

	if ((body = evbuffer_new()) == NULL)
		return -1;
	spool_get_status(sp, &st);
	after = st.acked_seq;
	*records = *batches = *first = *last = 0;
	while ((n = spool_read(sp, after, SPOOL_EXPORT_RECORDS,
	            SPOOL_EXPORT_BYTES, body, &a, &b)) > 0) {
		size_t len = evbuffer_get_length(body);
		unsigned char *p = evbuffer_pullup(body, -1);
		if (p == NULL)
			goto done;
		batch_sign(k->sk, k->id, p, len, sig);
		snprintf(head, sizeof(head), SPOOL_EXPORT_MAGIC " %s %s %zu\n",
		    k->id, sig, len);
		if (fileio_write_all(fd, head, strlen(head)) == -1 ||
		    fileio_write_all(fd, p, len) == -1) {
			log_warn("spool export: write");
			goto done;
		}
		evbuffer_drain(body, len);
		if ((*batches)++ == 0)
			*first = a;
		*last = after = b;
		*records += (uint64_t)n;
	}
	rc = n == 0 ? 0 : -1;
done:
	evbuffer_free(body);
	return rc;
}

/* spool_export_open: the output file: `out` replaced atomically
 * (fileio.h), or stdout for "-" (then fa->tmp is empty).  0, or -1
 * (logged). */
static int
spool_export_open(const char *out, struct fileio_atomic *fa)
{
	if (strcmp(out, "-") == 0) {
		fa->fd = STDOUT_FILENO;
		fa->tmp[0] = '\0';
		return 0;
	}
	switch (fileio_atomic_begin(fa, AT_FDCWD, out, 0600)) {
	case FILEIO_OK:
		return 0;
	case FILEIO_NAME:
		log_warnx("spool export: %s: name too long", out);
		return -1;
	default:
		log_warn("spool export: %s", fa->tmp);
		return -1;
	}
}

/* spool_export_close: finish the output file (`rc` 0) or give it up.
 * Returns `rc`, or -1 when the file could not replace `out` (logged). */
static int
spool_export_close(struct fileio_atomic *fa, const char *out, int rc)
{
	if (fa->tmp[0] == '\0')
		return rc;
	if (rc != 0) {
		fileio_atomic_abort(fa);
		return rc;
	}
	switch (fileio_atomic_commit(fa)) {
	case FILEIO_OK:
		return 0;
	case FILEIO_DIRSYNC:
		/* It is there, just not sure to survive a power cut. */
		log_warn("spool export: fsync of the directory of %s", out);
		return 0;
	case FILEIO_RENAME:
		log_warn("spool export: rename to %s", out);
		return -1;
	default:
		log_warn("spool export: %s", fa->tmp);
		return -1;
	}
}

static int
spool_export_cmd(struct spool_cmd *c)
{
	uint64_t records, batches, first, last;
	struct fileio_atomic fa;
	struct spool *sp;
	struct key k;
	int rc;

	if (key_load(c->key != NULL ? c->key : c->conf->key_path, &key_probe,
	        &k) == -1)
		return CW_EXIT_FAILURES;
	if ((sp = spool_cmd_open(c, k.id)) == NULL) {
		key_clear(&k);
		return CW_EXIT_FAILURES;
	}
	if (spool_export_open(c->out, &fa) == -1) {
		spool_close(sp);
		key_clear(&k);
		return CW_EXIT_FAILURES;
	}
	rc = spool_export_batches(sp, &k, fa.fd, &records, &batches, &first,
	    &last);
	spool_close(sp);
	key_clear(&k);
	rc = spool_export_close(&fa, c->out, rc);
	if (rc != 0)
		return CW_EXIT_FAILURES;
	if (records == 0)
		log_info("spool export: nothing unsent; %s holds no batch",
		    c->out);
	else
		log_info("spool export: %" PRIu64 " record%s (seq %" PRIu64
		         " to %" PRIu64 ") in %" PRIu64 " batch%s to %s",
		    records, records == 1 ? "" : "s", first, last, batches,
		    batches == 1 ? "" : "es", c->out);
	return CW_EXIT_OK;
}

/* One line of receipts.jsonl listed: the receipt's members, and with a
 * key, its verdict; a line that is no receipt, named by its number. */
static void
spool_receipt_print(const struct spool_cmd *c, unsigned long lineno,
    const struct receipt_note *r, int ok, const char *why)
{
	char idx[24], *line;
	json_t *o;

	if (r->log_index >= 0)
		snprintf(idx, sizeof(idx), "%lld", r->log_index);
	else
		snprintf(idx, sizeof(idx), "-");
	if (!c->json) {
		if (r->probe[0] == '\0')
			printf("line %lu: BAD: %s\n", lineno, why);
		else if (ok == 0)
			printf("%-27s %s %10" PRIu64 " %10s %10" PRIu64
			       "  BAD (line %lu): %s\n",
			    r->received_at, r->chain, r->acked_seq, idx,
			    r->log_size, lineno, why);
		else
			printf("%-27s %s %10" PRIu64 " %10s %10" PRIu64 "%s\n",
			    r->received_at, r->chain, r->acked_seq, idx,
			    r->log_size, ok == 1 ? "  ok" : "");
		return;
	}
	o = json_pack("{s:I, s:s?, s:s?, s:o, s:o, s:o, s:s, s:s?}", "line",
	    (json_int_t)lineno, "received_at",
	    r->probe[0] != '\0' ? r->received_at : NULL, "chain",
	    r->probe[0] != '\0' ? r->chain : NULL, "acked_seq",
	    r->probe[0] != '\0' ? json_integer((json_int_t)r->acked_seq) :
	                          json_null(),
	    "log_index",
	    r->probe[0] != '\0' && r->log_index >= 0 ?
	        json_integer(r->log_index) :
	        json_null(),
	    "log_size",
	    r->probe[0] != '\0' ? json_integer((json_int_t)r->log_size) :
	                          json_null(),
	    "verdict", ok == 1 ? "ok" : (ok == 0 ? "BAD" : "unchecked"), "why",
	    ok == 0 ? why : NULL);
	if (o != NULL && (line = result_dump(o)) != NULL) {
		printf("%s\n", line);
		free(line);
	}
	json_decref(o);
}

/* One line of the file: a receipt (checked against `key`, NULL: not
 * checked), printed.  Returns whether it is bad. */
static bool
spool_receipt_line(const struct spool_cmd *c, const struct note_key *key,
    unsigned long lineno, const char *text, size_t len)
{
	struct receipt_note r;
	char why[JSON_ERROR_TEXT_LENGTH + 16];
	json_error_t jerr;
	json_t *o;
	int ok = -1;

	memset(&r, 0, sizeof(r));
	if ((o = json_loadb(text, len, 0, &jerr)) == NULL)
		snprintf(why, sizeof(why), "not JSON: %s", jerr.text);
	else if (receipt_members(o, &r, why, sizeof(why)) == -1)
		memset(&r, 0, sizeof(r));
	else if (key != NULL) {
		struct receipt_note signed_r;
		ok = receipt_check(o, key, &signed_r, why, sizeof(why)) == 0;
	}
	json_decref(o);
	if (r.probe[0] == '\0')
		ok = 0;
	spool_receipt_print(c, lineno, &r, ok, why);
	return ok == 0;
}

/* Read the next line of `f` into `buf` (SPOOL_RECEIPT_LINE bytes), its
 * newline cut; a longer line is skipped to its end and given as
 * *too_long.  Returns its length, or -1 at the end of the file. */
static long
spool_receipt_read(FILE *f, char *buf, bool *too_long)
{
	size_t len;
	int ch;

	*too_long = false;
	if (fgets(buf, SPOOL_RECEIPT_LINE, f) == NULL)
		return -1;
	len = strlen(buf);
	if (len > 0 && buf[len - 1] == '\n')
		buf[--len] = '\0';
	else if (!feof(f)) {
		*too_long = true;
		while ((ch = getc(f)) != EOF && ch != '\n')
			;
	}
	return (long)len;
}

static int
spool_receipts_cmd(struct spool_cmd *c)
{
	struct note_key key;
	const char *dir = c->dir != NULL ? c->dir : c->conf->spool.dir;
	char path[PATH_MAX], *buf;
	unsigned long lineno = 0, bad = 0, n = 0;
	bool too_long;
	long len;
	FILE *f;

	if (c->vkey != NULL && cli_vkey("spool", c->vkey, &key) == -1)
		return CW_EXIT_USAGE;
	if ((size_t)snprintf(path, sizeof(path), "%s/" RECEIPTS_FILE, dir) >=
	    sizeof(path))
		return cli_error("spool", "%s: name too long", dir);
	if ((f = fopen(path, "r")) == NULL) {
		if (errno == ENOENT) {
			log_info("spool receipts: %s: none kept yet", path);
			return CW_EXIT_OK;
		}
		log_warn("spool receipts: %s", path);
		return CW_EXIT_FAILURES;
	}
	if ((buf = malloc(SPOOL_RECEIPT_LINE)) == NULL) {
		fclose(f);
		log_warnx("spool receipts: out of memory");
		return CW_EXIT_FAILURES;
	}
	if (!c->json)
		printf("%-27s %-32s %10s %10s %10s%s\n", "RECEIVED_AT", "CHAIN",
		    "ACKED_SEQ", "LOG_INDEX", "LOG_SIZE",
		    c->vkey != NULL ? "  VERDICT" : "");
	while ((len = spool_receipt_read(f, buf, &too_long)) >= 0) {
		lineno++;
		if (len == 0 && !too_long)
			continue;
		n++;
		if (too_long) {
			struct receipt_note none;
			memset(&none, 0, sizeof(none));
			spool_receipt_print(c, lineno, &none, 0,
			    "longer than a receipt can be");
			bad++;
		} else if (spool_receipt_line(c, c->vkey != NULL ? &key : NULL,
		               lineno, buf, (size_t)len))
			bad++;
	}
	if (ferror(f)) {
		log_warn("spool receipts: reading %s", path);
		bad++;
	}
	fclose(f);
	free(buf);
	fflush(stdout);
	if (bad > 0)
		log_warnx("spool receipts: %lu of %lu line%s of %s bad", bad, n,
		    n == 1 ? "" : "s", path);
	return bad > 0 ? CW_EXIT_FAILURES : CW_EXIT_OK;
}

static void
spool_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: corewatch spool status [-c FILE] [--json]\n"
	    "       corewatch spool export --out FILE [-c FILE] [--key FILE]\n"
	    "       corewatch spool receipts [-c FILE | --spool DIR] "
	    "[--vkey KEY] [--json]\n"
	    "\n"
	    "status: what the spool holds: records appended and not yet\n"
	    "acknowledged by a collector, the oldest of them, the bytes on disk,\n"
	    "the last receipt, the records dropped.\n"
	    "export: the unsent records as signed batches in one file (\"-\":\n"
	    "stdout), for corewatch-collector import.  The spool is not changed.\n"
	    "receipts: the collector's signed receipts kept in the spool\n"
	    "directory, oldest first; with --vkey, each signature checked.\n"
	    "\n"
	    "  -c, --config FILE   configuration (default %s)\n"
	    "  -o, --out FILE      export: the file to write (replaced)\n"
	    "  -k, --key FILE      export: the probe's key (default: the\n"
	    "                      configuration's)\n"
	    "      --spool DIR     receipts: the spool directory (no\n"
	    "                      configuration read)\n"
	    "      --vkey KEY      receipts: the collector's verifier key, or\n"
	    "                      a file holding it\n"
	    "      --json          status: one JSON object; receipts: one a\n"
	    "                      line\n"
	    "  -h, --help          this text\n",
	    CW_DEFAULT_CONFIG);
}

enum {
	SPOOL_OPT_JSON = 256,
	SPOOL_OPT_SPOOL,
	SPOOL_OPT_VKEY,
};

static const struct option spool_options[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "out", required_argument, NULL, 'o' },
	{ "key", required_argument, NULL, 'k' },
	{ "json", no_argument, NULL, SPOOL_OPT_JSON },
	{ "spool", required_argument, NULL, SPOOL_OPT_SPOOL },
	{ "vkey", required_argument, NULL, SPOOL_OPT_VKEY },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* spool_receipts_args: `spool receipts`, its options checked. */
static int
spool_receipts_args(struct spool_cmd *c)
{
	int rc;

	if (c->out != NULL || c->key != NULL)
		return cli_error("spool", "%s is an option of export",
		    c->out != NULL ? "--out" : "--key");
	if (c->dir != NULL && c->conf_given)
		return cli_error("spool",
		    "receipts takes -c FILE or --spool DIR, not both");
	if (c->dir == NULL && spool_cmd_config(c) == -1)
		return CW_EXIT_USAGE;
	rc = spool_receipts_cmd(c);
	config_free(c->conf);
	return rc;
}

int
cmd_spool(int argc, char **argv)
{
	struct spool_cmd c;
	const char *sub;
	int ch, rc;

	memset(&c, 0, sizeof(c));
	c.conf_path = CW_DEFAULT_CONFIG;
	if (argc < 2 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "--help") == 0) {
		spool_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? CW_EXIT_USAGE : CW_EXIT_OK;
	}
	sub = argv[1];
	if (strcmp(sub, "status") != 0 && strcmp(sub, "export") != 0 &&
	    strcmp(sub, "receipts") != 0) {
		fprintf(stderr, "corewatch spool: unknown command \"%s\"\n",
		    sub);
		spool_usage(stderr);
		return CW_EXIT_USAGE;
	}
	argc--;
	argv++;
	while ((ch = getopt_long(argc, argv, "c:o:k:h", spool_options, NULL)) !=
	    -1) {
		switch (ch) {
		case 'c':
			c.conf_path = optarg;
			c.conf_given = true;
			break;
		case SPOOL_OPT_SPOOL:
			c.dir = optarg;
			break;
		case SPOOL_OPT_VKEY:
			c.vkey = optarg;
			break;
		case 'o':
			c.out = optarg;
			break;
		case 'k':
			c.key = optarg;
			break;
		case SPOOL_OPT_JSON:
			c.json = true;
			break;
		case 'h':
			spool_usage(stdout);
			return CW_EXIT_OK;
		default:
			spool_usage(stderr);
			return CW_EXIT_USAGE;
		}
	}
	if (optind != argc)
		return cli_unexpected("spool", argv[optind]);
	if (strcmp(sub, "receipts") == 0)
		return spool_receipts_args(&c);
	if (c.dir != NULL || c.vkey != NULL)
		return cli_error("spool", "%s is an option of receipts",
		    c.dir != NULL ? "--spool" : "--vkey");
	if (strcmp(sub, "export") == 0 && c.out == NULL)
		return cli_error("spool",
		    "export needs --out FILE (\"-\": "
		    "stdout)");
	if (strcmp(sub, "status") == 0 && (c.out != NULL || c.key != NULL))
		return cli_error("spool",
		    "%s is an option of export, not of "
		    "status",
		    c.out != NULL ? "--out" : "--key");
	if (strcmp(sub, "export") == 0 && c.json)
		return cli_error("spool",
		    "--json is an option of status, not "
		    "of export");
	if (spool_cmd_config(&c) == -1)
		return CW_EXIT_USAGE;
	rc = strcmp(sub, "status") == 0 ? spool_status_cmd(&c) :
	                                  spool_export_cmd(&c);
	config_free(c.conf);
	return rc;
}
