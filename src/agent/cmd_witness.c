/*
 * cmd_witness.c -- `corewatch witness`: a collector's log checked from
 * outside, over time (doc/evidence.md, "Witnessing").
 *
 *   corewatch witness --vkey KEY --state DIR URL
 *
 * Fetches URL/api/v1/log/checkpoint, checks its signature with the
 * verifier key KEY (the text, or a file holding it), and compares it
 * with the last checkpoint of that log the witness kept in DIR: the same
 * size must have the same root; a larger log must come with a
 * consistency proof (URL/api/v1/log/proof/consistency) from the kept
 * one that checks; a smaller one is a log that went back.  A checkpoint
 * that holds is appended to DIR/history (one line each: when, size,
 * root) and kept as DIR/latest; one that does not is kept as
 * DIR/alarm-<time>.txt with the proof and the reason, and the history
 * is not moved on.  One check per run: run it from cron or a systemd
 * timer.  Exit status: 0 the log is consistent with everything the
 * witness saw of it, 1 it is not (the alarm names how) or the collector
 * could not be asked (nothing is kept), 2 a usage error.
 *
 * It is the probe program's, not the collector's: it needs an HTTP
 * client (libcurl, which the collector does not link: tests/scenario/
 * wings.sh), and so any volunteer's probe can witness its collector.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <sodium.h>

#include "cli.h"
#include "cliutil.h"
#include "cmd.h"
#include "cliutil.h"
#include "cwtime.h"
#include "fileio.h"
#include "merkle.h"
#include "note.h"

#define WITNESS_MAX_ANSWER (64 * 1024) /* a checkpoint or a proof */
#define WITNESS_TIMEOUT_S  30L
#define WITNESS_PATH_MAX   4096

/* What one run knows. */
struct witness {
	const char *url; /* the collector's base URL */
	const char *dir; /* the state */
	struct note_key key;
	char *note; /* the new checkpoint, as fetched */
	size_t note_len;
	struct checkpoint cp;
	char *old_note; /* the last kept one, or NULL */
	struct checkpoint old;
	char *proof; /* the consistency proof fetched, or NULL */
	char now[CW_TIME_STRLEN];
};

static void
witness_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: corewatch witness --vkey KEY --state DIR URL\n"
	    "  --vkey KEY    the log's verifier key, or a file holding it\n"
	    "  --state DIR   what this witness saw of the log (made if "
	    "missing)\n"
	    "  URL           the collector, e.g. https://collector.example.org\n");
}

/* --- Asking the collector --- */

struct witness_buf {
	char *p;
	size_t len;
	bool over;
};

static size_t
witness_write_cb(char *data, size_t size, size_t n, void *arg)
{
	struct witness_buf *b = arg;
	size_t add = size * n;
	char *p;

	if (b->len + add > WITNESS_MAX_ANSWER) {
		b->over = true;
		return 0;
	}
	if ((p = realloc(b->p, b->len + add + 1)) == NULL)
		return 0;
	memcpy(p + b->len, data, add);
	b->p = p;
	b->len += add;
	b->p[b->len] = '\0';
	return add;
}

/* GET `path` of the collector: its 200 answer (at most
 * WITNESS_MAX_ANSWER bytes) into *out, NUL-terminated, the caller frees
 * it.  Returns 0, or -1 with the reason printed. */
static int
witness_get(const struct witness *w, const char *path, char **out, size_t *len)
{
	struct witness_buf b = { NULL, 0, false };
	char url[WITNESS_PATH_MAX];
	long status = 0;
	CURLcode rc;
	CURL *c;

	*out = NULL;
	snprintf(url, sizeof(url), "%s%s", w->url, path);
	if ((c = curl_easy_init()) == NULL) {
		fprintf(stderr, "corewatch witness: out of memory\n");
		return -1;
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_TIMEOUT, WITNESS_TIMEOUT_S);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, witness_write_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_USERAGENT,
	    "corewatch-witness/" PACKAGE_VERSION);
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	if (rc != CURLE_OK || status != 200) {
		fprintf(stderr, "corewatch witness: %s: %s\n", url,
		    b.over             ? "the answer is too long" :
		        rc != CURLE_OK ? curl_easy_strerror(rc) :
		                         "not a 200 answer");
		free(b.p);
		return -1;
	}
	if (b.p == NULL && (b.p = strdup("")) == NULL)
		return -1;
	*out = b.p;
	*len = b.len;
	return 0;
}

/* --- The state --- */

static int
witness_path(const struct witness *w, const char *name, char *out)
{
	int n = snprintf(out, WITNESS_PATH_MAX, "%s/%s", w->dir, name);

	return n < 0 || n >= WITNESS_PATH_MAX ? -1 : 0;
}

/* The last checkpoint kept, when there is one: it must still open with
 * the key (a state kept for another key is a usage error). */
static int
witness_load(struct witness *w)
{
	char path[WITNESS_PATH_MAX], *text;
	size_t text_len;
	FILE *f;
	long len;

	if (witness_path(w, "latest", path) == -1)
		return -1;
	if ((f = fopen(path, "r")) == NULL)
		return errno == ENOENT ? 0 : -1;
	if (fseek(f, 0, SEEK_END) == -1 || (len = ftell(f)) < 0 ||
	    len > NOTE_MAX_BYTES || fseek(f, 0, SEEK_SET) == -1 ||
	    (text = calloc(1, (size_t)len + 1)) == NULL) {
		fclose(f);
		return -1;
	}
	if (fread(text, 1, (size_t)len, f) != (size_t)len) {
		free(text);
		fclose(f);
		return -1;
	}
	fclose(f);
	if (note_open(text, (size_t)len, &w->key, &text_len) != 0 ||
	    checkpoint_parse(text, text_len, &w->old) != 0) {
		fprintf(stderr,
		    "corewatch witness: %s does not hold a checkpoint "
		    "of this key: another log's state?\n",
		    path);
		free(text);
		return -2;
	}
	w->old_note = text;
	return 0;
}

/* Append `line` to the file `name` of the state, synced. */
static int
witness_append(const struct witness *w, const char *name, const char *line)
{
	char path[WITNESS_PATH_MAX];
	int fd, rc;

	if (witness_path(w, name, path) == -1 ||
	    (fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
	         0644)) == -1)
		return -1;
	rc = fileio_write_all(fd, line, strlen(line)) == 0 && fsync(fd) == 0 ?
	    0 :
	    -1;
	if (close(fd) == -1)
		rc = -1;
	return rc;
}

/* Keep the new checkpoint: the history moves on, `latest` replaced. */
static int
witness_keep(struct witness *w)
{
	char root[sodium_base64_ENCODED_LEN(MERKLE_HASH_LEN,
	    sodium_base64_VARIANT_ORIGINAL)],
	    line[256], path[WITNESS_PATH_MAX];

	sodium_bin2base64(root, sizeof(root), w->cp.root, MERKLE_HASH_LEN,
	    sodium_base64_VARIANT_ORIGINAL);
	snprintf(line, sizeof(line), "%s %" PRIu64 " %s\n", w->now, w->cp.size,
	    root);
	if (witness_append(w, "history", line) == -1 ||
	    witness_path(w, "latest", path) == -1 ||
	    fileio_write_atomic(AT_FDCWD, path, 0644, w->note, w->note_len) !=
	        FILEIO_OK) {
		fprintf(stderr,
		    "corewatch witness: %s: cannot keep the "
		    "checkpoint: %s\n",
		    w->dir, strerror(errno));
		return -1;
	}
	return 0;
}

/* The log does not hold: keep what shows it, say so; exit 1. */
static int
witness_alarm(struct witness *w, const char *why)
{
	char name[64], *text = NULL;
	int n;

	snprintf(name, sizeof(name), "alarm-%s.txt", w->now);
	n = asprintf(&text,
	    "%s\n\nurl: %s\n\nthe checkpoint kept before:\n%s\n"
	    "the checkpoint served now:\n%s\nthe consistency proof served:\n%s\n",
	    why, w->url, w->old_note != NULL ? w->old_note : "(none)\n",
	    w->note, w->proof != NULL ? w->proof : "(none)");
	if (n < 0 || witness_append(w, name, text) == -1)
		fprintf(stderr,
		    "corewatch witness: %s: cannot keep the "
		    "alarm: %s\n",
		    w->dir, strerror(errno));
	free(text);
	fprintf(stderr, "corewatch witness: ALARM: %s (kept in %s/%s)\n", why,
	    w->dir, name);
	return CW_EXIT_FAILURES;
}

/* --- The checks --- */

/* The consistency proof from the kept checkpoint to the new one, and
 * whether it checks against both (signed) roots. */
static int
witness_consistency(struct witness *w, bool *holds)
{
	unsigned char proof[MERKLE_MAX_PROOF][MERKLE_HASH_LEN];
	char path[128];
	json_t *j, *a, *v;
	size_t len, n = 0, i;

	*holds = false;
	snprintf(path, sizeof(path),
	    "/api/v1/log/proof/consistency?old=%" PRIu64 "&new=%" PRIu64,
	    w->old.size, w->cp.size);
	if (witness_get(w, path, &w->proof, &len) == -1)
		return -1;
	if ((j = json_loadb(w->proof, len, 0, NULL)) == NULL)
		return 0;
	a = json_object_get(j, "proof");
	if (json_integer_value(json_object_get(j, "old")) ==
	        (json_int_t)w->old.size &&
	    json_integer_value(json_object_get(j, "new")) ==
	        (json_int_t)w->cp.size &&
	    json_is_array(a) && json_array_size(a) <= MERKLE_MAX_PROOF) {
		json_array_foreach(a, i, v) {
			const char *s = json_string_value(v);
			size_t got;
			if (s == NULL ||
			    sodium_base642bin(proof[n], MERKLE_HASH_LEN, s,
			        strlen(s), NULL, &got, NULL,
			        sodium_base64_VARIANT_ORIGINAL) != 0 ||
			    got != MERKLE_HASH_LEN)
				break;
			n++;
		}
		*holds = n == json_array_size(a) &&
		    merkle_verify_consistency(w->old.size, w->cp.size,
		        w->old.root, w->cp.root, proof, n);
	}
	json_decref(j);
	return 0;
}

static int
witness_run(struct witness *w)
{
	size_t text_len;
	bool holds;
	int rc;

	if ((rc = witness_load(w)) != 0)
		return rc == -2 ? CW_EXIT_USAGE : CW_EXIT_FAILURES;
	if (witness_get(w, "/api/v1/log/checkpoint", &w->note, &w->note_len) ==
	    -1)
		return CW_EXIT_FAILURES;
	if ((rc = note_open(w->note, w->note_len, &w->key, &text_len)) != 0)
		return witness_alarm(w,
		    rc == NOTE_BAD_SIGNATURE ?
		        "the checkpoint's signature by the key does not verify" :
		        rc == NOTE_UNKNOWN_KEY ?
		        "the checkpoint is not signed by the key" :
		        "the answer is not a signed checkpoint");
	if (checkpoint_parse(w->note, text_len, &w->cp) != 0)
		return witness_alarm(w, "the signed note is not a checkpoint");
	if (strcmp(w->cp.origin, w->key.name) != 0)
		return witness_alarm(w, "the checkpoint names another log");
	if (w->old_note != NULL) {
		if (w->cp.size < w->old.size)
			return witness_alarm(w,
			    "the log is smaller than a checkpoint it signed "
			    "before: it went back");
		if (w->cp.size == w->old.size &&
		    memcmp(w->cp.root, w->old.root, MERKLE_HASH_LEN) != 0)
			return witness_alarm(w,
			    "two checkpoints of one size with different roots: "
			    "the log forked");
		if (w->cp.size > w->old.size && w->old.size > 0) {
			if (witness_consistency(w, &holds) == -1)
				return CW_EXIT_FAILURES;
			if (!holds)
				return witness_alarm(w,
				    "the log does not extend the checkpoint kept "
				    "before: its consistency proof fails");
		}
	}
	if (witness_keep(w) == -1)
		return CW_EXIT_FAILURES;
	printf("%s %" PRIu64 " consistent\n", w->cp.origin, w->cp.size);
	return CW_EXIT_OK;
}

int
cmd_witness(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "vkey", required_argument, NULL, 'k' },
		{ "state", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct witness w;
	const char *vkey = NULL;
	int ch, rc;

	memset(&w, 0, sizeof(w));
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'k':
			vkey = optarg;
			break;
		case 's':
			w.dir = optarg;
			break;
		case 'h':
			witness_usage(stdout);
			return CW_EXIT_OK;
		default:
			witness_usage(stderr);
			return CW_EXIT_USAGE;
		}
	}
	if (vkey == NULL || w.dir == NULL || optind != argc - 1) {
		witness_usage(stderr);
		return CW_EXIT_USAGE;
	}
	w.url = argv[optind];
	if ((strncmp(w.url, "http://", 7) != 0 &&
	        strncmp(w.url, "https://", 8) != 0) ||
	    strlen(w.url) > WITNESS_PATH_MAX / 2) {
		fprintf(stderr,
		    "corewatch witness: \"%s\": an http:// or "
		    "https:// URL, please\n",
		    w.url);
		return CW_EXIT_USAGE;
	}
	if (cli_vkey("witness", vkey, &w.key) == -1)
		return CW_EXIT_USAGE;
	if (mkdir(w.dir, 0755) == -1 && errno != EEXIST) {
		fprintf(stderr, "corewatch witness: %s: %s\n", w.dir,
		    strerror(errno));
		return CW_EXIT_FAILURES;
	}
	cw_time_format(cw_real_usec(), w.now, sizeof(w.now));
	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = witness_run(&w);
	curl_global_cleanup();
	free(w.note);
	free(w.old_note);
	free(w.proof);
	return rc;
}
