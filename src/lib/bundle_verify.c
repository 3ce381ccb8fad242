/*
 * bundle_verify.c -- `corewatch verify`: an evidence bundle checked
 * offline (doc/evidence.md, "What `corewatch verify` checks").
 *
 * The bundle is read in two passes.  The first reads every file but
 * records.jsonl into memory (each under its limit) and hashes it; the
 * second streams records.jsonl, which may hold millions of lines, once:
 * each line is parsed once and hashed twice, its record hash (SHA-256
 * of the line: the chain link) and its leaf hash (SHA-256(0x00 ||
 * line): the log), and its bytes go into the running body digest of
 * each batch that holds its seq, the batches of a chain waiting in a
 * heap on the next seq each needs.  So the batches and the probes' keys
 * are known before the first record, and nothing of a record is kept
 * but its seq, whether a good batch covers it, and its leaf.  A tar
 * file is read twice from the same descriptor (records.jsonl may come
 * before batches.jsonl in it); a directory's files are opened with
 * O_NOFOLLOW and must be regular files.
 *
 * Verdicts are gathered per check (the first BUNDLE_MAX_PROBLEMS
 * problems named, the rest counted) and per chain, then printed.
 */
#include "config.h"

#include "bundle_verify.h"

#include <sys/stat.h>

#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <sodium.h>

#include "cwtime.h"
#include "merkle.h"
#include "multiproof.h"
#include "record.h"

#define READ_CHUNK     (1u << 20)
#define BLOCK_BYTES    (4u << 20) /* records.jsonl is parsed a block at a time */
#define BLOCK_LINES    8192
#define CHUNK_LINES    128 /* a worker's share of a block, taken at once */
#define MAX_WORKERS    7
#define CHAIN_PROBLEMS 5

/* --- Verdicts --- */

enum check {
	CK_MANIFEST,
	CK_KEYS,
	CK_RECORDS,
	CK_SIGS,
	CK_CHAINS,
	CK_CHECKPOINT,
	CK_INCLUSION,
	CK_OTHERS,
	CK_N
};

static const char *const check_name[CK_N] = { "manifest", "probe keys",
	"records", "signatures", "chains", "checkpoint", "inclusion",
	"other checkpoints" };

struct verdict {
	unsigned long nprob;
	char *prob[BUNDLE_MAX_PROBLEMS];
	char summary[512];
};

/* --- The files --- */

enum file {
	F_README,
	F_MANIFEST,
	F_BUNDLE,
	F_RECORDS,
	F_BATCHES,
	F_PROBES,
	F_VKEY,
	F_CHECKPOINT,
	F_INCLUSION,
	F_KNOWN
};

static const struct {
	const char *name;
	uint64_t max;
} known[F_KNOWN] = {
	{ "README.txt", BUNDLE_SMALL_MAX },
	{ "MANIFEST", BUNDLE_SMALL_MAX },
	{ "bundle.json", BUNDLE_SMALL_MAX },
	{ "records.jsonl", BUNDLE_MEMBER_MAX },
	{ "batches.jsonl", BUNDLE_LARGE_MAX },
	{ "probes.jsonl", BUNDLE_SMALL_MAX },
	{ "collector.vkey", BUNDLE_SMALL_MAX },
	{ "checkpoint", BUNDLE_SMALL_MAX },
	{ "inclusion.json", BUNDLE_LARGE_MAX },
};

struct bfile {
	char name[256];
	int kind;   /* an enum file, or -1 */
	char *data; /* NUL-terminated; NULL for records.jsonl */
	size_t len;
	unsigned char sha[crypto_hash_sha256_BYTES];
};

/* --- Probes, batches, chains --- */

struct probe {
	char id[RECORD_ID_HEX + 1];
	unsigned char pk[RECORD_PUBKEY_LEN];
	bool good;  /* the key is the id's */
	bool named; /* a record without... said once */
};

struct range {
	uint64_t a, b;
};

struct fork {
	uint64_t seq;
	char *line;
	size_t len;
	unsigned char hash[RECORD_HASH_LEN];
};

/* A line a batch of the chain at hand names in `forks`: a record the
 * probe equivocated with, which the next seq may go on from. */
struct forked {
	uint64_t seq;
	size_t line; /* of batches.jsonl */
	const unsigned char *hash;
};

struct batch {
	size_t line; /* of batches.jsonl, from 1 */
	char probe[RECORD_ID_HEX + 1];
	char chain[RECORD_ID_HEX + 1];
	uint64_t first, last, count;
	struct range *r;
	size_t nr, ri;
	struct fork *forks;
	size_t nforks, fi;
	uint64_t need; /* the next seq its body takes */
	bool done;     /* every seq fed, or the batch is broken */
	bool bad;      /* malformed, or a record missing: fails */
	bool holds;    /* its signature holds */
	unsigned char body_sha[RECORD_HASH_LEN];
	char sig[RECORD_SIG_B64 + 1];
	const struct probe *key;
	EVP_MD_CTX *st; /* the body's digest so far */
};

struct chain {
	char probe[RECORD_ID_HEX + 1];
	char chain[RECORD_ID_HEX + 1];
	uint64_t first, last, count;
	size_t ostart, oend; /* its records in bv->oseq */
	struct range *holes, *losses;
	uint64_t went_on; /* a seq that went on from an equivocation, or 0 */
	size_t nwent_on;
	size_t nholes, nlosses, explained;
	unsigned long nprob;
	char *prob[CHAIN_PROBLEMS];
};

struct bv {
	const struct bundle_verify_opts *o;
	const char *path;
	struct verdict v[CK_N];

	struct bfile files[BUNDLE_MAX_FILES];
	size_t nfiles;
	struct bfile *f[F_KNOWN]; /* the known ones present, or NULL */

	struct probe *probes;
	size_t nprobes;
	struct batch *batches;
	size_t nbatches;
	struct batch **sorted;          /* by probe, chain, first, last */
	char no_key[RECORD_ID_HEX + 1]; /* the last probe said to lack one */

	/* records.jsonl as it streams */
	EVP_MD *md;       /* SHA-256, fetched once */
	EVP_MD_CTX *rsha; /* the file's, for MANIFEST */
	EVP_MD_CTX *lctx; /* the main thread's leaf hashes */
	struct block *fill, *parsed, *spare;
	bool in_overlong; /* the line being read is too long: skipped */
	bool no_newline;  /* the last line did not end in one */
	size_t submitted; /* lines given to the workers so far */
	struct pool *pool;
	size_t nlines;
	struct multiproof_leaf *leaves; /* by line */
	size_t cap_lines;
	uint64_t *oseq; /* the records in order, chain after chain */
	size_t *oline;
	unsigned char *ocov; /* covered by a batch that holds */
	size_t nord, cap_ord;
	struct chain *chains;
	size_t nchains, cap_chains;
	struct chain *cur;
	unsigned char cur_hash[RECORD_HASH_LEN]; /* of cur's last record */
	struct batch **heap; /* cur's batches, by the seq each needs */
	size_t nheap;
	struct forked *forked; /* cur's batches' forks, by seq */
	size_t nforked, cap_forked;

	/* the checkpoint */
	struct note_key key; /* the key its signature is checked with */
	bool have_key, key_from_bundle;
	struct checkpoint cp;
	bool have_cp;
	cw_usec_t t0, cpu0; /* when the phase began */
};

static void
phase(struct bv *bv, const char *what)
{
	cw_usec_t t = cw_mono_usec(), cpu = cw_cpu_usec();

	if (bv->o->timing && bv->o->err != NULL)
		fprintf(bv->o->err, "verify: %-28s %8.3f s (CPU %8.3f s)\n",
		    what, (double)(t - bv->t0) / 1e6,
		    (double)(cpu - bv->cpu0) / 1e6);
	bv->t0 = t;
	bv->cpu0 = cpu;
}

static char *__attribute__((format(printf, 1, 0)))
vformat(const char *fmt, va_list ap)
{
	char *s = NULL;

	if (vasprintf(&s, fmt, ap) < 0)
		return NULL;
	/* What a problem quotes comes from the bundle: no control
	 * character reaches the reader's terminal. */
	for (char *p = s; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return s;
}

/* fail: a problem of check `ck`, named in the words of `fmt`. */
static void __attribute__((format(printf, 3, 4)))
fail(struct bv *bv, enum check ck, const char *fmt, ...)
{
	struct verdict *v = &bv->v[ck];
	va_list ap;

	if (v->nprob < BUNDLE_MAX_PROBLEMS) {
		va_start(ap, fmt);
		v->prob[v->nprob] = vformat(fmt, ap);
		va_end(ap);
	}
	v->nprob++;
}

/* chain_fail: a problem of one chain (check 5). */
static void __attribute__((format(printf, 2, 3)))
chain_fail(struct chain *c, const char *fmt, ...)
{
	va_list ap;

	if (c->nprob < CHAIN_PROBLEMS) {
		va_start(ap, fmt);
		c->prob[c->nprob] = vformat(fmt, ap);
		va_end(ap);
	}
	c->nprob++;
}

static void __attribute__((format(printf, 3, 4)))
summary(struct bv *bv, enum check ck, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(bv->v[ck].summary, sizeof(bv->v[ck].summary), fmt, ap);
	va_end(ap);
}

static void __attribute__((format(printf, 2, 3)))
unreadable(struct bv *bv, const char *fmt, ...)
{
	va_list ap;

	if (bv->o->err == NULL)
		return;
	fprintf(bv->o->err, "corewatch verify: %s: ", bv->path);
	va_start(ap, fmt);
	vfprintf(bv->o->err, fmt, ap);
	va_end(ap);
	fputc('\n', bv->o->err);
}

/* --- Reading the bundle --- */

/* member_name: whether `name` may be a file of the bundle: a plain name
 * of letters, digits, dots, dashes and underscores, not "." nor "..". */
static bool
member_name(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > 255 || strstr(name, "..") != NULL ||
	    strcmp(name, ".") == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = name[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		        (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' ||
		        ch == '_'))
			return false;
	}
	return true;
}

/* file_add: a file of the bundle, by its name.  NULL (said) when the
 * name is not allowed, is there twice or there are too many. */
static struct bfile *
file_add(struct bv *bv, const char *name, uint64_t size)
{
	struct bfile *bf;

	if (!member_name(name)) {
		unreadable(bv, "\"%s\": not a plain file name; refused", name);
		return NULL;
	}
	for (size_t i = 0; i < bv->nfiles; i++) {
		if (strcmp(bv->files[i].name, name) == 0) {
			unreadable(bv, "%s is in the bundle twice; refused",
			    name);
			return NULL;
		}
	}
	if (bv->nfiles == BUNDLE_MAX_FILES) {
		unreadable(bv, "more than %d files; refused", BUNDLE_MAX_FILES);
		return NULL;
	}
	bf = &bv->files[bv->nfiles++];
	snprintf(bf->name, sizeof(bf->name), "%s", name);
	bf->kind = -1;
	for (int k = 0; k < F_KNOWN; k++)
		if (strcmp(known[k].name, name) == 0)
			bf->kind = k;
	if (size > (bf->kind >= 0 ? known[bf->kind].max : BUNDLE_SMALL_MAX)) {
		unreadable(bv,
		    "%s is %" PRIu64 " bytes, over its limit; refused", name,
		    size);
		return NULL;
	}
	if (bf->kind >= 0)
		bv->f[bf->kind] = bf;
	return bf;
}

/* file_fill: keep a small file's bytes (the reader's) and hash them. */
static void
file_fill(struct bfile *bf, char *data, size_t len)
{
	bf->data = data;
	bf->len = len;
	crypto_hash_sha256(bf->sha, (const unsigned char *)data, len);
}

/* The tar's member name under corewatch-bundle/, or NULL (said). */
static const char *
tar_member(struct bv *bv, struct archive_entry *e, bool *skip)
{
	const char *p = archive_entry_pathname(e);
	const char *dirp = BUNDLE_DIR "/";
	size_t dl = strlen(dirp);

	*skip = false;
	if (p == NULL) {
		unreadable(bv, "a member without a name; refused");
		return NULL;
	}
	if (archive_entry_filetype(e) == AE_IFDIR &&
	    (strcmp(p, BUNDLE_DIR) == 0 || strcmp(p, dirp) == 0)) {
		*skip = true; /* the folder itself, as tar writes it first */
		return p;
	}
	if (archive_entry_filetype(e) != AE_IFREG ||
	    archive_entry_hardlink(e) != NULL ||
	    archive_entry_symlink(e) != NULL) {
		unreadable(bv, "member \"%s\" is not a regular file; refused",
		    p);
		return NULL;
	}
	if (strncmp(p, dirp, dl) != 0 || strchr(p + dl, '/') != NULL ||
	    !member_name(p + dl)) {
		unreadable(bv,
		    "member \"%s\" is not a file directly under %s; refused", p,
		    dirp);
		return NULL;
	}
	if (!archive_entry_size_is_set(e) || archive_entry_size(e) < 0 ||
	    (uint64_t)archive_entry_size(e) > BUNDLE_MEMBER_MAX) {
		unreadable(bv, "member \"%s\" is over 4 GiB; refused", p);
		return NULL;
	}
	return p + dl;
}

static struct archive *
tar_open(struct bv *bv, int fd)
{
	struct archive *a = archive_read_new();

	if (a == NULL)
		return NULL;
	archive_read_support_format_tar(a);
	if (lseek(fd, 0, SEEK_SET) == -1 ||
	    archive_read_open_fd(a, fd, 64 * 1024) != ARCHIVE_OK) {
		unreadable(bv, "not a tar file: %s", archive_error_string(a));
		archive_read_free(a);
		return NULL;
	}
	return a;
}

/* tar_read_all: the data of the member at hand, exactly `size` bytes,
 * into a NUL-terminated buffer. */
static char *
tar_read_all(struct bv *bv, struct archive *a, const char *name, uint64_t size)
{
	char *buf = malloc(size + 1);
	size_t got = 0;
	la_ssize_t n;

	if (buf == NULL) {
		unreadable(bv, "%s: out of memory", name);
		return NULL;
	}
	while (
	    got < size && (n = archive_read_data(a, buf + got, size - got)) > 0)
		got += (size_t)n;
	if (got != size) {
		unreadable(bv, "%s: the tar file ends inside it: %s", name,
		    archive_error_string(a));
		free(buf);
		return NULL;
	}
	buf[size] = '\0';
	return buf;
}

static void records_feed(struct bv *bv, const char *p, size_t n);

/* tar_pass: pass 1 (records == false) reads every member but
 * records.jsonl; pass 2 streams records.jsonl.  Returns 0 or -1
 * (said). */
static int
tar_pass(struct bv *bv, int fd, bool records)
{
	struct archive *a = tar_open(bv, fd);
	struct archive_entry *e;
	int r, rc = -1;

	if (a == NULL)
		return -1;
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		bool skip;
		const char *name = tar_member(bv, e, &skip);
		uint64_t size;

		if (name == NULL)
			goto out;
		if (skip)
			continue;
		size = (uint64_t)archive_entry_size(e);
		if (records) {
			if (strcmp(name, known[F_RECORDS].name) == 0) {
				char *buf = malloc(READ_CHUNK);
				uint64_t got = 0;
				la_ssize_t n;

				if (buf == NULL)
					goto out;
				while ((n = archive_read_data(a, buf,
				            READ_CHUNK)) > 0) {
					records_feed(bv, buf, (size_t)n);
					got += (uint64_t)n;
				}
				free(buf);
				if (n < 0 || got != size) {
					unreadable(bv, "%s: %s", name,
					    archive_error_string(a));
					goto out;
				}
				rc = 0;
				goto out;
			}
			continue;
		}
		struct bfile *bf = file_add(bv, name, size);

		if (bf == NULL)
			goto out;
		if (bf->kind == F_RECORDS)
			continue; /* pass 2 */
		char *data = tar_read_all(bv, a, name, size);

		if (data == NULL)
			goto out;
		file_fill(bf, data, size);
	}
	if (r != ARCHIVE_EOF) {
		unreadable(bv, "not a readable tar file: %s",
		    archive_error_string(a));
		goto out;
	}
	rc = 0;
out:
	archive_read_free(a);
	return rc;
}

/* dir_open_file: a file of the directory, refusing what is not a
 * regular file (a symbolic link, a fifo, a device). */
static int
dir_open_file(struct bv *bv, int dfd, const char *name, struct stat *st)
{
	int fd = openat(dfd, name,
	    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

	if (fd == -1) {
		unreadable(bv, "%s: %s%s", name, strerror(errno),
		    errno == ELOOP ? " (a symbolic link; refused)" : "");
		return -1;
	}
	if (fstat(fd, st) == -1 || !S_ISREG(st->st_mode) ||
	    (uint64_t)st->st_size > BUNDLE_MEMBER_MAX) {
		unreadable(bv, "%s: not a regular file under 4 GiB; refused",
		    name);
		close(fd);
		return -1;
	}
	return fd;
}

static int
read_full(int fd, char *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

static int
dir_pass1(struct bv *bv, int dfd)
{
	DIR *d;
	struct dirent *de;
	int dup_fd = dup(dfd), rc = 0;

	if (dup_fd == -1 || (d = fdopendir(dup_fd)) == NULL) {
		if (dup_fd != -1)
			close(dup_fd);
		unreadable(bv, "%s", strerror(errno));
		return -1;
	}
	while (rc == 0 && (de = readdir(d)) != NULL) {
		struct stat st;
		struct bfile *bf;
		char *data;
		int fd;

		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if ((fd = dir_open_file(bv, dfd, de->d_name, &st)) == -1) {
			rc = -1;
			break;
		}
		if ((bf = file_add(bv, de->d_name, (uint64_t)st.st_size)) ==
		    NULL)
			rc = -1;
		else if (bf->kind != F_RECORDS) {
			if ((data = malloc((size_t)st.st_size + 1)) == NULL ||
			    read_full(fd, data, (size_t)st.st_size) == -1) {
				unreadable(bv, "%s: cannot read it",
				    de->d_name);
				free(data);
				rc = -1;
			} else {
				data[st.st_size] = '\0';
				file_fill(bf, data, (size_t)st.st_size);
			}
		}
		close(fd);
	}
	closedir(d);
	return rc;
}

static int
dir_pass2(struct bv *bv, int dfd)
{
	struct stat st;
	char *buf;
	ssize_t n;
	int fd;

	if ((fd = dir_open_file(bv, dfd, known[F_RECORDS].name, &st)) == -1)
		return -1;
	if ((buf = malloc(READ_CHUNK)) == NULL) {
		close(fd);
		return -1;
	}
	while ((n = read(fd, buf, READ_CHUNK)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			unreadable(bv, "records.jsonl: %s", strerror(errno));
			break;
		}
		records_feed(bv, buf, (size_t)n);
	}
	free(buf);
	close(fd);
	return n == 0 ? 0 : -1;
}

/* --- JSON fields --- */

static const char *
jstr(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* jhex: o[key] as exactly `len` lower-case hex digits, or NULL. */
static const char *
jhex(json_t *o, const char *key, size_t len)
{
	json_t *v = json_object_get(o, key);
	const char *s = json_string_value(v);

	if (s == NULL || json_string_length(v) != len || !record_is_hex(s, len))
		return NULL;
	return s;
}

/* juint: o[key] as a non-negative integer into *out. */
static bool
juint(json_t *o, const char *key, uint64_t *out)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return false;
	*out = (uint64_t)json_integer_value(v);
	return true;
}

static int
hex_decode(const char *hex, unsigned char *out, size_t len)
{
	size_t bin_len;

	return sodium_hex2bin(out, len, hex, len * 2, NULL, &bin_len, NULL) ==
	            0 &&
	        bin_len == len ?
	    0 :
	    -1;
}

/* next_line: the line at *pos of `data` (`len` bytes), without its
 * newline, into *line and *n; false at the end.  A last line without a
 * newline is a line too; *complete says whether it had one. */
static bool
next_line(const char *data, size_t len, size_t *pos, const char **line,
    size_t *n, bool *complete)
{
	const char *nl;

	if (*pos >= len)
		return false;
	*line = data + *pos;
	nl = memchr(*line, '\n', len - *pos);
	*complete = nl != NULL;
	*n = nl != NULL ? (size_t)(nl - *line) : len - *pos;
	*pos += *n + 1;
	return true;
}

/* --- 1. The manifest --- */

/* manifest_hex: whether a MANIFEST line begins with 64 hex digits. */
static bool
manifest_hex(const char *line)
{
	char h[RECORD_HASH_HEX + 1];

	memcpy(h, line, RECORD_HASH_HEX);
	h[RECORD_HASH_HEX] = '\0';
	return record_is_hex(h, RECORD_HASH_HEX);
}

static void
check_manifest(struct bv *bv)
{
	struct bfile *m = bv->f[F_MANIFEST];
	bool listed[BUNDLE_MAX_FILES] = { false };
	const char *line, *prev = NULL;
	size_t pos = 0, n, ln = 0, prevn = 0;
	bool complete;

	if (m == NULL) {
		fail(bv, CK_MANIFEST, "MANIFEST is missing");
		return;
	}
	while (next_line(m->data, m->len, &pos, &line, &n, &complete)) {
		unsigned char sha[crypto_hash_sha256_BYTES];
		char name[256];
		struct bfile *bf = NULL;

		ln++;
		if (!complete || n < 67 || n - 66 >= sizeof(name) ||
		    !manifest_hex(line) || line[64] != ' ' || line[65] != ' ') {
			fail(bv, CK_MANIFEST,
			    "MANIFEST line %zu: not \"<64 hex digits>  <file>\"",
			    ln);
			continue;
		}
		memcpy(name, line + 66, n - 66);
		name[n - 66] = '\0';
		if (prev != NULL &&
		    (strncmp(prev, name, prevn) > 0 ||
		        (strncmp(prev, name, prevn) == 0 &&
		            prevn >= strlen(name))))
			fail(bv, CK_MANIFEST,
			    "MANIFEST line %zu: %s is out of order or listed twice",
			    ln, name);
		prev = line + 66;
		prevn = n - 66;
		for (size_t i = 0; i < bv->nfiles; i++)
			if (strcmp(bv->files[i].name, name) == 0)
				bf = &bv->files[i];
		if (bf == NULL || bf->kind == F_MANIFEST) {
			fail(bv, CK_MANIFEST,
			    "MANIFEST line %zu: %s is listed but not in the bundle",
			    ln, name);
			continue;
		}
		hex_decode(line, sha, sizeof(sha));
		if (listed[bf - bv->files])
			continue; /* named as out of order above */
		listed[bf - bv->files] = true;
		if (memcmp(sha, bf->sha, sizeof(sha)) != 0)
			fail(bv, CK_MANIFEST,
			    "%s: its SHA-256 is not the one MANIFEST line %zu "
			    "gives (the file was changed)",
			    name, ln);
	}
	for (size_t i = 0; i < bv->nfiles; i++)
		if (!listed[i] && bv->files[i].kind != F_MANIFEST)
			fail(bv, CK_MANIFEST,
			    "%s is in the bundle but not in "
			    "MANIFEST",
			    bv->files[i].name);
	for (int k = 0; k < F_KNOWN; k++)
		if (bv->f[k] == NULL && k != F_MANIFEST)
			fail(bv, CK_MANIFEST, "%s is missing from the bundle",
			    known[k].name);
	summary(bv, CK_MANIFEST, "%zu files, each listed once with its SHA-256",
	    bv->nfiles - 1);
}

/* --- 2. The probes' keys --- */

static int
probe_cmp(const void *x, const void *y)
{
	return strcmp(((const struct probe *)x)->id,
	    ((const struct probe *)y)->id);
}

static struct probe *
probe_find(struct bv *bv, const char *id)
{
	struct probe key;

	snprintf(key.id, sizeof(key.id), "%s", id);
	if (bv->nprobes == 0)
		return NULL;
	return bsearch(&key, bv->probes, bv->nprobes, sizeof(*bv->probes),
	    probe_cmp);
}

static void
load_probes(struct bv *bv)
{
	struct bfile *f = bv->f[F_PROBES];
	const char *line;
	size_t pos = 0, n, ln = 0, cap = 0;
	bool complete;

	if (f == NULL) {
		fail(bv, CK_KEYS, "probes.jsonl is missing");
		return;
	}
	while (next_line(f->data, f->len, &pos, &line, &n, &complete)) {
		json_t *o = json_loadb(line, n, JSON_REJECT_DUPLICATES, NULL);
		const char *id = jhex(o, "probe", RECORD_ID_HEX);
		const char *b64 = jstr(o, "pubkey");
		char derived[RECORD_ID_HEX + 1];
		struct probe *p;

		ln++;
		if (!complete || id == NULL || b64 == NULL) {
			fail(bv, CK_KEYS,
			    "probes.jsonl line %zu: not {\"probe\":<32 hex>,"
			    "\"pubkey\":<base64>}",
			    ln);
			json_decref(o);
			continue;
		}
		if (bv->nprobes == cap) {
			cap = cap ? cap * 2 : 16;
			p = realloc(bv->probes, cap * sizeof(*p));
			if (p == NULL) {
				json_decref(o);
				break;
			}
			bv->probes = p;
		}
		p = &bv->probes[bv->nprobes];
		memset(p, 0, sizeof(*p));
		memcpy(p->id, id, RECORD_ID_HEX + 1);
		if (bv->nprobes > 0 && strcmp(p[-1].id, p->id) >= 0)
			fail(bv, CK_KEYS,
			    "probes.jsonl line %zu: probe %s is out of order or "
			    "twice",
			    ln, id);
		else
			bv->nprobes++;
		if (strlen(b64) != 44 || record_pubkey_parse(b64, p->pk) != 0) {
			fail(bv, CK_KEYS,
			    "probes.jsonl line %zu: probe %s: its pubkey is not "
			    "32 bytes in base64",
			    ln, id);
		} else {
			record_probe_id(p->pk, derived);
			p->good = strcmp(derived, id) == 0;
			if (!p->good)
				fail(bv, CK_KEYS,
				    "probes.jsonl line %zu: probe %s: the key's "
				    "SHA-256 begins %s, not the probe's id (another "
				    "probe's key)",
				    ln, id, derived);
		}
		json_decref(o);
	}
}

/* --- 6. The checkpoint --- */

/* three_lines: whether a note's text is three lines (no extension). */
static bool
three_lines(const char *text, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		n += text[i] == '\n';
	return n == 3;
}

static void
check_checkpoint(struct bv *bv)
{
	struct note_key bk;
	bool bk_ok = false;
	size_t text_len;
	int r;

	if (bv->f[F_VKEY] != NULL) {
		char line[NOTE_NAME_MAX + 128];
		size_t n = strcspn(bv->f[F_VKEY]->data, "\n");

		if (n < sizeof(line)) {
			memcpy(line, bv->f[F_VKEY]->data, n);
			line[n] = '\0';
			bk_ok = note_vkey_parse(line, &bk) == 0;
		}
		if (!bk_ok)
			fail(bv, CK_CHECKPOINT,
			    "collector.vkey: not a verifier key (NAME+KEYID+BASE64)");
	} else {
		fail(bv, CK_CHECKPOINT, "collector.vkey is missing");
	}
	if (bv->o->vkey != NULL) {
		bv->key = *bv->o->vkey;
		bv->have_key = true;
		if (bk_ok &&
		    (strcmp(bk.name, bv->key.name) != 0 ||
		        bk.id != bv->key.id ||
		        memcmp(bk.pub, bv->key.pub, sizeof(bk.pub)) != 0))
			fail(bv, CK_CHECKPOINT,
			    "collector.vkey is not the key given with --vkey: "
			    "the bundle names another key (%s+%08x)",
			    bk.name, bk.id);
	} else if (bk_ok) {
		bv->key = bk;
		bv->have_key = bv->key_from_bundle = true;
	}
	if (bv->f[F_CHECKPOINT] == NULL) {
		fail(bv, CK_CHECKPOINT, "checkpoint is missing");
		return;
	}
	if (!bv->have_key)
		return;
	r = note_open(bv->f[F_CHECKPOINT]->data, bv->f[F_CHECKPOINT]->len,
	    &bv->key, &text_len);
	if (r == NOTE_OK &&
	    checkpoint_parse(bv->f[F_CHECKPOINT]->data, text_len, &bv->cp) != 0)
		r = NOTE_MALFORMED;
	if (r == NOTE_OK && !three_lines(bv->f[F_CHECKPOINT]->data, text_len)) {
		fail(bv, CK_CHECKPOINT,
		    "checkpoint: not exactly the three lines of a checkpoint "
		    "(an extension line)");
		return;
	}
	if (r == NOTE_OK && strcmp(bv->cp.origin, bv->key.name) != 0) {
		fail(bv, CK_CHECKPOINT,
		    "checkpoint: its origin is not the key's name (%s)",
		    bv->key.name);
		return;
	}
	if (r != NOTE_OK) {
		fail(bv, CK_CHECKPOINT, "checkpoint: %s",
		    r == NOTE_UNKNOWN_KEY ?
		        "no signature by the key (it was signed by another key)" :
		        r == NOTE_BAD_SIGNATURE ?
		        "its signature by the key does not verify (the text "
		        "was changed)" :
		        "not a well-formed checkpoint");
		return;
	}
	bv->have_cp = true;
	summary(bv, CK_CHECKPOINT, "%s, size %" PRIu64 ", signed by %s+%08x%s",
	    bv->cp.origin, bv->cp.size, bv->key.name, bv->key.id,
	    bv->key_from_bundle ?
	        "; the key was taken from the bundle itself (no --vkey): this "
	        "proves only that the bundle agrees with itself" :
	        ", the key given with --vkey");
}

/* --- 4. The batches --- */

static int
range_parse(struct batch *b, const char *seqs)
{
	const char *p = seqs;
	size_t cap = 0;

	while (*p != '\0') {
		char *end;
		unsigned long long a, c;

		if (*p < '0' || *p > '9')
			return -1;
		errno = 0;
		a = strtoull(p, &end, 10);
		c = a;
		if (*end == '-') {
			if (end[1] < '0' || end[1] > '9')
				return -1;
			c = strtoull(end + 1, &end, 10);
		}
		if (errno != 0 || a == 0 || c < a ||
		    (b->nr > 0 && a <= b->r[b->nr - 1].b + 1))
			return -1;
		if (b->nr == cap) {
			struct range *r;

			cap = cap ? cap * 2 : 4;
			if ((r = realloc(b->r, cap * sizeof(*r))) == NULL)
				return -1;
			b->r = r;
		}
		b->r[b->nr].a = a;
		b->r[b->nr].b = c;
		b->nr++;
		if (*end == ',')
			end++;
		else if (*end != '\0')
			return -1;
		p = end;
	}
	return 0;
}

/* batch_seqs: whether seq s is one of the batch's. */
static bool
batch_has(const struct batch *b, uint64_t s)
{
	size_t lo = 0, hi = b->nr;

	while (lo < hi) {
		size_t m = lo + (hi - lo) / 2;

		if (b->r[m].b < s)
			lo = m + 1;
		else
			hi = m;
	}
	return lo < b->nr && b->r[lo].a <= s;
}

/* batch_parse: one line of batches.jsonl; a reason, or NULL. */
static const char *
batch_parse(struct bv *bv, struct batch *b, json_t *o)
{
	const char *probe = jhex(o, "probe", RECORD_ID_HEX);
	const char *chain = jhex(o, "chain", RECORD_ID_HEX);
	const char *sha = jhex(o, "body_sha256", RECORD_HASH_HEX);
	const char *sig = jstr(o, "sig");
	const char *pk = jstr(o, "pubkey");
	json_t *seqs = json_object_get(o, "seqs");
	json_t *forks = json_object_get(o, "forks");
	unsigned char sigbin[RECORD_SIG_LEN], pkbin[RECORD_PUBKEY_LEN];
	uint64_t total = 0;
	size_t i;
	json_t *fe;

	if (probe == NULL || chain == NULL)
		return "no probe or chain of 32 hex digits";
	memcpy(b->probe, probe, RECORD_ID_HEX + 1);
	memcpy(b->chain, chain, RECORD_ID_HEX + 1);
	if (!juint(o, "first_seq", &b->first) ||
	    !juint(o, "last_seq", &b->last) || !juint(o, "count", &b->count) ||
	    b->first == 0 || b->last < b->first)
		return "no first_seq, last_seq and count";
	if (sha == NULL || hex_decode(sha, b->body_sha, RECORD_HASH_LEN) != 0)
		return "no body_sha256 of 64 hex digits";
	if (sig == NULL || batch_sig_decode(sig, sigbin) != 0)
		return "no sig of 64 bytes in base64";
	snprintf(b->sig, sizeof(b->sig), "%s", sig);
	if (json_is_null(seqs) || seqs == NULL) {
		if ((b->r = malloc(sizeof(*b->r))) == NULL)
			return "out of memory";
		b->r[0].a = b->first;
		b->r[0].b = b->last;
		b->nr = 1;
	} else if (!json_is_string(seqs) ||
	    range_parse(b, json_string_value(seqs)) != 0) {
		return "seqs is not ascending ranges \"a-b,c\"";
	}
	for (i = 0; i < b->nr; i++)
		if (__builtin_add_overflow(total, b->r[i].b - b->r[i].a + 1,
		        &total))
			return "its seqs are more than can be counted";
	if (total != b->count || b->r[0].a != b->first ||
	    b->r[b->nr - 1].b != b->last)
		return "its seqs do not agree with first_seq, last_seq and count";
	if (forks != NULL && !json_is_array(forks))
		return "forks is not an array";
	if (json_array_size(forks) > 0) {
		b->forks = calloc(json_array_size(forks), sizeof(*b->forks));
		if (b->forks == NULL)
			return "out of memory";
	}
	json_array_foreach(forks, i, fe) {
		struct fork *f = &b->forks[b->nforks];
		const char *hash = jhex(fe, "hash", RECORD_HASH_HEX);
		json_t *line = json_object_get(fe, "line");
		unsigned char want[RECORD_HASH_LEN], got[RECORD_HASH_LEN];

		if (!juint(fe, "seq", &f->seq) || !json_is_string(line) ||
		    hash == NULL || hex_decode(hash, want, sizeof(want)) != 0)
			return "a forks entry is not {seq, hash, line}";
		if (!batch_has(b, f->seq) ||
		    (b->nforks > 0 && f->seq <= b->forks[b->nforks - 1].seq))
			return "a forks entry's seq is not one of the batch's, "
			       "or is out of order";
		f->len = json_string_length(line);
		if ((f->line = malloc(f->len + 1)) == NULL)
			return "out of memory";
		memcpy(f->line, json_string_value(line), f->len + 1);
		b->nforks++;
		record_hash(f->line, f->len, got);
		memcpy(f->hash, got, sizeof(got));
		if (memcmp(want, got, sizeof(got)) != 0)
			return "a forks entry's hash is not that of its line";
	}
	b->key = probe_find(bv, probe);
	if (b->key == NULL && strcmp(bv->no_key, probe) == 0)
		; /* said for the batch before, of the same probe */
	else if (b->key == NULL &&
	    snprintf(bv->no_key, sizeof(bv->no_key), "%s", probe) > 0)
		fail(bv, CK_KEYS,
		    "batches.jsonl line %zu: probe %s has no key in probes.jsonl",
		    b->line, probe);
	else if (pk == NULL || record_pubkey_parse(pk, pkbin) != 0 ||
	    memcmp(pkbin, b->key->pk, sizeof(pkbin)) != 0)
		fail(bv, CK_KEYS,
		    "batches.jsonl line %zu: probe %s: its pubkey is not the one "
		    "of probes.jsonl",
		    b->line, probe);
	b->need = b->first;
	if ((b->st = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(b->st, bv->md, NULL) != 1)
		return "out of memory";
	return NULL;
}

static int
batch_cmp(const void *x, const void *y)
{
	const struct batch *a = *(struct batch *const *)x;
	const struct batch *b = *(struct batch *const *)y;
	int c;

	if ((c = strcmp(a->probe, b->probe)) != 0 ||
	    (c = strcmp(a->chain, b->chain)) != 0)
		return c;
	if (a->first != b->first)
		return a->first < b->first ? -1 : 1;
	if (a->last != b->last)
		return a->last < b->last ? -1 : 1;
	return a->line < b->line ? -1 : a->line > b->line;
}

static void
batch_name(const struct batch *b, char *out, size_t size)
{
	snprintf(out, size,
	    "batches.jsonl line %zu (probe %s, chain %s, seq %" PRIu64
	    "-%" PRIu64 ")",
	    b->line, b->probe, b->chain, b->first, b->last);
}

static void
load_batches(struct bv *bv)
{
	struct bfile *f = bv->f[F_BATCHES];
	const char *line;
	size_t pos = 0, n, ln = 0, cap = 0;
	bool complete;

	if (f == NULL) {
		fail(bv, CK_SIGS, "batches.jsonl is missing");
		return;
	}
	while (next_line(f->data, f->len, &pos, &line, &n, &complete)) {
		struct batch *b;
		const char *why;
		json_t *o;

		ln++;
		if (bv->nbatches == cap) {
			cap = cap ? cap * 2 : 64;
			b = realloc(bv->batches, cap * sizeof(*b));
			if (b == NULL)
				break;
			bv->batches = b;
		}
		b = &bv->batches[bv->nbatches++];
		memset(b, 0, sizeof(*b));
		b->line = ln;
		o = n <= BUNDLE_BATCH_LINE ?
		    json_loadb(line, n, JSON_REJECT_DUPLICATES, NULL) :
		    NULL;
		why = !complete        ? "the file does not end in a newline" :
		    !json_is_object(o) ? "not a JSON object" :
		                         batch_parse(bv, b, o);
		json_decref(o);
		if (why != NULL) {
			fail(bv, CK_SIGS, "batches.jsonl line %zu: %s", ln,
			    why);
			b->bad = b->done = true;
		}
	}
	if ((bv->sorted = calloc(bv->nbatches + 1, sizeof(*bv->sorted))) ==
	    NULL)
		return;
	for (size_t i = 0; i < bv->nbatches; i++)
		bv->sorted[i] = &bv->batches[i];
	qsort(bv->sorted, bv->nbatches, sizeof(*bv->sorted), batch_cmp);
}

/* A line of records.jsonl as a worker parsed it. */
struct pline {
	size_t off, len;
	bool overlong; /* its bytes were not kept */
	bool ok;       /* a record */
	bool loss;     /* a loss record naming seqs lf..ll */
	char *err;     /* why it is not a record */
	char probe[RECORD_ID_HEX + 1], chain[RECORD_ID_HEX + 1];
	uint64_t seq, lf, ll;
	unsigned char prev_hash[RECORD_HASH_LEN], hash[RECORD_HASH_LEN];
};

/* --- Batches fed as the records stream --- */

static void
heap_down(struct bv *bv, size_t i)
{
	struct batch **h = bv->heap;

	for (;;) {
		size_t l = 2 * i + 1, m = i;

		if (l < bv->nheap && h[l]->need < h[m]->need)
			m = l;
		if (l + 1 < bv->nheap && h[l + 1]->need < h[m]->need)
			m = l + 1;
		if (m == i)
			return;
		struct batch *t = h[i];

		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

/* batch_finish: every seq of the batch was fed: its digest and its
 * signature. */
static void
batch_finish(struct bv *bv, struct batch *b)
{
	unsigned char digest[RECORD_HASH_LEN];
	char name[160];

	b->done = true;
	if (b->bad)
		return;
	EVP_DigestFinal_ex(b->st, digest, NULL);
	batch_name(b, name, sizeof(name));
	if (memcmp(digest, b->body_sha, sizeof(digest)) != 0) {
		fail(bv, CK_SIGS,
		    "%s: the body rebuilt from the records does not hash to its "
		    "body_sha256 (a record of it was changed)",
		    name);
	} else if (b->key == NULL) {
		fail(bv, CK_SIGS, "%s: no key for its probe", name);
	} else if (!batch_verify_digest(b->key->pk, b->probe, digest, b->sig)) {
		fail(bv, CK_SIGS,
		    "%s: sig does not verify with the probe's key over this "
		    "body (a signature of another body, or another key)",
		    name);
	} else {
		b->holds = b->key->good;
	}
}

/* batch_take: give the batch its line for b->need (`line`, or the
 * fork's line, or nothing: the record is missing), then move on. */
static void
batch_take(struct bv *bv, struct batch *b, const char *line, size_t len)
{
	while (b->fi < b->nforks && b->forks[b->fi].seq < b->need)
		b->fi++;
	if (b->fi < b->nforks && b->forks[b->fi].seq == b->need) {
		line = b->forks[b->fi].line;
		len = b->forks[b->fi].len;
	}
	if (line == NULL) {
		char name[160];

		if (!b->bad) {
			batch_name(b, name, sizeof(name));
			fail(bv, CK_SIGS,
			    "%s: needs the record of seq %" PRIu64
			    ", which the bundle lacks",
			    name, b->need);
		}
		/* Nothing more of it matters: done now, rather than walk
		 * every seq a hostile batch may claim. */
		b->bad = true;
		batch_finish(bv, b);
		return;
	} else if (!b->bad) {
		EVP_DigestUpdate(b->st, line, len);
		EVP_DigestUpdate(b->st, "\n", 1);
	}
	if (b->need < b->r[b->ri].b) {
		b->need++;
	} else if (++b->ri < b->nr) {
		b->need = b->r[b->ri].a;
	} else {
		batch_finish(bv, b);
	}
}

/* heap_feed: the record of seq s (`line`; NULL to drain every batch
 * of the chain, s being UINT64_MAX) to the chain's batches. */
static void
heap_feed(struct bv *bv, uint64_t s, const char *line, size_t len)
{
	while (bv->nheap > 0 && bv->heap[0]->need <= s) {
		struct batch *b = bv->heap[0];

		batch_take(bv, b, b->need == s ? line : NULL, len);
		if (b->done)
			bv->heap[0] = bv->heap[--bv->nheap];
		heap_down(bv, 0);
	}
}

static int
chain_key_cmp(const char *probe, const char *chain, const struct batch *b)
{
	int c = strcmp(probe, b->probe);

	return c != 0 ? c : strcmp(chain, b->chain);
}

/* heap_load: the batches of the chain now beginning. */
static int
forked_cmp(const void *x, const void *y)
{
	const struct forked *a = x, *b = y;

	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static void
heap_load(struct bv *bv, const char *probe, const char *chain)
{
	size_t lo = 0, hi = bv->nbatches;

	bv->nheap = 0;
	while (lo < hi) {
		size_t m = lo + (hi - lo) / 2;

		if (chain_key_cmp(probe, chain, bv->sorted[m]) > 0)
			lo = m + 1;
		else
			hi = m;
	}
	bv->nforked = 0;
	for (; lo < bv->nbatches &&
	     chain_key_cmp(probe, chain, bv->sorted[lo]) == 0;
	     lo++) {
		struct batch *b = bv->sorted[lo];

		if (!b->done)
			bv->heap[bv->nheap++] = b;
		for (size_t f = 0; f < b->nforks; f++) {
			if (bv->nforked == bv->cap_forked) {
				size_t cap = bv->cap_forked ?
				    bv->cap_forked * 2 :
				    8;
				struct forked *p = realloc(bv->forked,
				    cap * sizeof(*p));

				if (p == NULL)
					break;
				bv->forked = p;
				bv->cap_forked = cap;
			}
			bv->forked[bv->nforked].seq = b->forks[f].seq;
			bv->forked[bv->nforked].line = b->line;
			bv->forked[bv->nforked++].hash = b->forks[f].hash;
		}
	}
	if (bv->nforked > 1)
		qsort(bv->forked, bv->nforked, sizeof(*bv->forked), forked_cmp);
	for (size_t i = bv->nheap / 2; i-- > 0;)
		heap_down(bv, i);
}

/* went_on: whether `prev` is the hash of a line a batch of the chain
 * names in `forks` for seq s: the probe equivocated at s and went on
 * from its other record (doc/evidence.md, check 5). */
static bool
went_on(const struct bv *bv, uint64_t s, const unsigned char *prev)
{
	size_t lo = 0, hi = bv->nforked;

	while (lo < hi) {
		size_t m = lo + (hi - lo) / 2;

		if (bv->forked[m].seq < s)
			lo = m + 1;
		else
			hi = m;
	}
	for (; lo < bv->nforked && bv->forked[lo].seq == s; lo++)
		if (memcmp(bv->forked[lo].hash, prev, RECORD_HASH_LEN) == 0)
			return true;
	return false;
}

/* --- 3 and 5. The records, and their chains --- */

static int
range_cmp(const void *x, const void *y)
{
	const struct range *a = x, *b = y;

	return a->a < b->a ? -1 : a->a > b->a;
}

/* chain_close: the chain's holes against its loss records. */
static void
chain_close(struct bv *bv)
{
	struct chain *c = bv->cur;
	uint64_t *maxlast;

	if (c == NULL)
		return;
	heap_feed(bv, UINT64_MAX, NULL, 0);
	c->oend = bv->nord;
	if (c->nholes == 0)
		goto out;
	if (c->nlosses > 1)
		qsort(c->losses, c->nlosses, sizeof(*c->losses), range_cmp);
	/* maxlast[i]: the furthest any of the first i + 1 losses reaches,
	 * so that a hole is explained when the losses starting at or
	 * before it reach its end. */
	maxlast = malloc((c->nlosses + 1) * sizeof(*maxlast));
	for (size_t i = 0; maxlast != NULL && i < c->nlosses; i++)
		maxlast[i] = i > 0 && maxlast[i - 1] > c->losses[i].b ?
		    maxlast[i - 1] :
		    c->losses[i].b;
	for (size_t h = 0; h < c->nholes; h++) {
		const struct range *hole = &c->holes[h];
		size_t lo = 0, hi = c->nlosses;

		while (lo < hi) { /* the losses with first <= hole's */
			size_t m = lo + (hi - lo) / 2;

			if (c->losses[m].a <= hole->a)
				lo = m + 1;
			else
				hi = m;
		}
		if (maxlast != NULL && lo > 0 && maxlast[lo - 1] >= hole->b)
			c->explained++;
		else
			chain_fail(c,
			    "seq %" PRIu64 "-%" PRIu64
			    " missing, and no loss record of the chain covers it",
			    hole->a, hole->b);
	}
	free(maxlast);
out:
	bv->cur = NULL;
}

static int
range_push(struct range **r, size_t *n, uint64_t a, uint64_t b)
{
	if ((*n & (*n - 1)) == 0 || *n == 0) { /* at 0, 1, 2, 4, ... */
		struct range *p = realloc(*r, (*n ? *n * 2 : 1) * sizeof(**r));

		if (p == NULL)
			return -1;
		*r = p;
	}
	(*r)[*n].a = a;
	(*r)[*n].b = b;
	(*n)++;
	return 0;
}

static struct chain *
chain_open(struct bv *bv, const struct pline *rec, size_t ln)
{
	struct chain *c;
	struct probe *p;

	chain_close(bv);
	if (bv->nchains == bv->cap_chains) {
		size_t cap = bv->cap_chains ? bv->cap_chains * 2 : 16;

		if ((c = realloc(bv->chains, cap * sizeof(*c))) == NULL)
			return NULL;
		bv->chains = c;
		bv->cap_chains = cap;
	}
	c = &bv->chains[bv->nchains++];
	memset(c, 0, sizeof(*c));
	memcpy(c->probe, rec->probe, sizeof(c->probe));
	memcpy(c->chain, rec->chain, sizeof(c->chain));
	c->first = rec->seq;
	c->ostart = bv->nord;
	p = probe_find(bv, rec->probe);
	if (p == NULL || !p->good) {
		if (p == NULL) /* one problem for the chain, not one a line */
			fail(bv, CK_KEYS,
			    "records.jsonl line %zu: probe %s has no key in "
			    "probes.jsonl",
			    ln, rec->probe);
	}
	bv->cur = c;
	heap_load(bv, rec->probe, rec->chain);
	return c;
}

static int
grow_lines(struct bv *bv)
{
	size_t cap = bv->cap_lines ? bv->cap_lines * 2 : 4096;
	struct multiproof_leaf *l = realloc(bv->leaves, cap * sizeof(*l));

	if (l == NULL)
		return -1;
	bv->leaves = l;
	bv->cap_lines = cap;
	return 0;
}

static int
grow_ord(struct bv *bv)
{
	size_t cap = bv->cap_ord ? bv->cap_ord * 2 : 4096;
	uint64_t *s = realloc(bv->oseq, cap * sizeof(*s));
	size_t *l;

	if (s != NULL)
		bv->oseq = s;
	l = s != NULL ? realloc(bv->oline, cap * sizeof(*l)) : NULL;
	if (l == NULL)
		return -1;
	bv->oline = l;
	bv->cap_ord = cap;
	return 0;
}

/* A block of records.jsonl's lines: read by the main thread, parsed by
 * the workers (each taking CHUNK_LINES lines at a time), then taken in
 * order by the main thread while the workers parse the next one. */
struct block {
	char *buf;
	size_t len, cap;
	size_t line_start; /* where the line being read begins in buf */
	struct pline *l;
	size_t n, cap_l;
	size_t first; /* the number (from 0) of its first line */
	size_t nchunks;
	atomic_size_t next_chunk, done_chunks;
};

struct pool {
	pthread_t th[MAX_WORKERS];
	int n;
	pthread_mutex_t mu;
	pthread_cond_t work, done;
	struct block *job;
	unsigned long gen;
	bool quit;
	struct bv *bv;
};

/* leaf_hash: SHA-256(0x00 || line), with OpenSSL (SHA extensions where
 * the processor has them: three times libsodium's speed). */
static void
leaf_hash(EVP_MD_CTX *ctx, const EVP_MD *md, const char *line, size_t len,
    unsigned char out[MERKLE_HASH_LEN])
{
	static const unsigned char zero = 0;

	if (EVP_DigestInit_ex(ctx, md, NULL) != 1 ||
	    EVP_DigestUpdate(ctx, &zero, 1) != 1 ||
	    EVP_DigestUpdate(ctx, line, len) != 1 ||
	    EVP_DigestFinal_ex(ctx, out, NULL) != 1)
		merkle_leaf_hash(line, len, out);
}

/* parse_chunk: a worker's share: each line parsed (record_parse, which
 * also gives its hash) and its leaf hash. */
static void
parse_chunk(struct bv *bv, struct block *b, size_t c, EVP_MD_CTX *ctx)
{
	size_t end = (c + 1) * CHUNK_LINES < b->n ? (c + 1) * CHUNK_LINES :
	                                            b->n;

	for (size_t i = c * CHUNK_LINES; i < end; i++) {
		struct pline *pl = &b->l[i];
		const char *line = b->buf + pl->off;
		struct record rec;
		char err[256];
		json_t *lost;

		leaf_hash(ctx, bv->md, line, pl->len,
		    bv->leaves[b->first + i].hash);
		bv->leaves[b->first + i].index = UINT64_MAX;
		if (pl->overlong)
			continue;
		if (record_parse(line, pl->len, &rec, err, sizeof(err)) != 0) {
			pl->err = strdup(err);
			record_clear(&rec);
			continue;
		}
		pl->ok = true;
		memcpy(pl->probe, rec.probe, sizeof(pl->probe));
		memcpy(pl->chain, rec.chain, sizeof(pl->chain));
		pl->seq = rec.seq;
		memcpy(pl->prev_hash, rec.prev_hash, RECORD_HASH_LEN);
		memcpy(pl->hash, rec.hash, RECORD_HASH_LEN);
		pl->loss = strcmp(rec.type, "loss") == 0 &&
		    (lost = json_object_get(rec.json, "lost")) != NULL &&
		    juint(lost, "first_seq", &pl->lf) &&
		    juint(lost, "last_seq", &pl->ll) && pl->lf <= pl->ll;
		record_clear(&rec);
	}
}

static void
block_work(struct pool *p, struct block *b, EVP_MD_CTX *ctx)
{
	size_t c;

	while ((c = atomic_fetch_add(&b->next_chunk, 1)) < b->nchunks) {
		parse_chunk(p->bv, b, c, ctx);
		if (atomic_fetch_add(&b->done_chunks, 1) + 1 == b->nchunks) {
			pthread_mutex_lock(&p->mu);
			pthread_cond_signal(&p->done);
			pthread_mutex_unlock(&p->mu);
		}
	}
}

static void *
worker(void *arg)
{
	struct pool *p = arg;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned long seen = 0;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->quit && p->gen == seen)
			pthread_cond_wait(&p->work, &p->mu);
		if (p->quit || ctx == NULL)
			break;
		seen = p->gen;
		struct block *b = p->job;

		pthread_mutex_unlock(&p->mu);
		block_work(p, b, ctx);
		pthread_mutex_lock(&p->mu);
	}
	pthread_mutex_unlock(&p->mu);
	EVP_MD_CTX_free(ctx);
	return NULL;
}

/* pool_start: one worker a processor but the main thread's (at least
 * one); the main thread works too when it has nothing else to do. */
static struct pool *
pool_start(struct bv *bv)
{
	struct pool *p = calloc(1, sizeof(*p));
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int want = ncpu > 1 ? (int)(ncpu - 1) : 1;

	if (p == NULL)
		return NULL;
	p->bv = bv;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->done, NULL);
	if (want > MAX_WORKERS)
		want = MAX_WORKERS;
	for (; p->n < want; p->n++)
		if (pthread_create(&p->th[p->n], NULL, worker, p) != 0)
			break;
	return p;
}

static void
pool_stop(struct pool *p)
{
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	p->quit = true;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->mu);
	for (int i = 0; i < p->n; i++)
		pthread_join(p->th[i], NULL);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->done);
	free(p);
}

static void
pool_submit(struct pool *p, struct block *b)
{
	b->nchunks = (b->n + CHUNK_LINES - 1) / CHUNK_LINES;
	atomic_store(&b->next_chunk, 0);
	atomic_store(&b->done_chunks, 0);
	pthread_mutex_lock(&p->mu);
	p->job = b;
	p->gen++;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->mu);
}

/* pool_finish: work on the block until every chunk of it is done. */
static void
pool_finish(struct pool *p, struct block *b, EVP_MD_CTX *ctx)
{
	block_work(p, b, ctx);
	pthread_mutex_lock(&p->mu);
	while (atomic_load(&b->done_chunks) < b->nchunks)
		pthread_cond_wait(&p->done, &p->mu);
	pthread_mutex_unlock(&p->mu);
}

/* record_accept: the record of line `ln` (from 1), in order: it joins
 * its chain, is linked to the one before, and goes to the batches. */
static void
record_accept(struct bv *bv, const struct pline *rec, const char *line,
    size_t ln)
{
	struct chain *c = bv->cur;

	if (c != NULL && c->last + 1 == rec->seq) {
		if (memcmp(rec->prev_hash, bv->cur_hash, RECORD_HASH_LEN) == 0)
			; /* linked */
		else if (went_on(bv, c->last, rec->prev_hash)) {
			if (c->nwent_on++ == 0)
				c->went_on = rec->seq;
		} else
			chain_fail(c,
			    "seq %" PRIu64
			    " (records.jsonl line %zu): its prev "
			    "is not the hash of seq %" PRIu64
			    " (that record was changed, or this one)",
			    rec->seq, ln, c->last);
	} else if (c != NULL &&
	    range_push(&c->holes, &c->nholes, c->last + 1, rec->seq - 1) != 0) {
		return;
	}
	if (c == NULL && (c = chain_open(bv, rec, ln)) == NULL)
		return;
	if (bv->nord == bv->cap_ord && grow_ord(bv) != 0)
		return;
	bv->oseq[bv->nord] = rec->seq;
	bv->oline[bv->nord] = ln - 1;
	bv->nord++;
	c->last = rec->seq;
	c->count++;
	memcpy(bv->cur_hash, rec->hash, RECORD_HASH_LEN);
	if (rec->loss)
		range_push(&c->losses, &c->nlosses, rec->lf, rec->ll);
	heap_feed(bv, rec->seq, line, rec->len);
}

/* record_line: one parsed line of records.jsonl, in order. */
static void
record_line(struct bv *bv, const struct block *b, struct pline *pl)
{
	size_t ln = ++bv->nlines;
	int c = 0;

	if (pl->overlong) {
		fail(bv, CK_RECORDS,
		    "records.jsonl line %zu: longer than a record may be "
		    "(%d bytes)",
		    ln, RECORD_MAX_LEN);
		return;
	}
	if (!pl->ok) {
		fail(bv, CK_RECORDS, "records.jsonl line %zu: not a record: %s",
		    ln, pl->err != NULL ? pl->err : "out of memory");
		free(pl->err);
		pl->err = NULL;
		return;
	}
	if (bv->cur != NULL) {
		c = strcmp(pl->probe, bv->cur->probe);
		if (c == 0)
			c = strcmp(pl->chain, bv->cur->chain);
		if (c == 0 && pl->seq <= bv->cur->last)
			c = -1;
	}
	if (c < 0) {
		fail(bv, CK_RECORDS,
		    "records.jsonl line %zu (probe %s, chain %s, seq %" PRIu64
		    "): out of order or twice (after probe %s, chain %s, "
		    "seq %" PRIu64 ")",
		    ln, pl->probe, pl->chain, pl->seq, bv->cur->probe,
		    bv->cur->chain, bv->cur->last);
		return;
	}
	if (c > 0)
		chain_close(bv);
	record_accept(bv, pl, b->buf + pl->off, ln);
}

static struct block *
block_new(void)
{
	struct block *b = calloc(1, sizeof(*b));

	if (b == NULL)
		return NULL;
	b->cap = BLOCK_BYTES + RECORD_MAX_LEN + READ_CHUNK;
	b->cap_l = BLOCK_LINES;
	b->buf = malloc(b->cap);
	b->l = malloc(b->cap_l * sizeof(*b->l));
	if (b->buf == NULL || b->l == NULL) {
		free(b->buf);
		free(b->l);
		free(b);
		return NULL;
	}
	return b;
}

static void
block_free(struct block *b)
{
	if (b == NULL)
		return;
	for (size_t i = 0; i < b->n; i++)
		free(b->l[i].err);
	free(b->buf);
	free(b->l);
	free(b);
}

/* block_turn: the block being filled goes to the workers; the one
 * they parsed before is taken in order meanwhile.  With `last`, the
 * one just filled is taken too.  Returns 0, or -1 out of memory. */
static int
block_turn(struct bv *bv, bool last)
{
	struct block *f = bv->fill, *prev = bv->parsed;

	f->first = bv->submitted;
	bv->submitted += f->n;
	while (bv->cap_lines < bv->submitted)
		if (grow_lines(bv) != 0)
			return -1;
	pool_submit(bv->pool, f);
	if (prev != NULL) {
		for (size_t i = 0; i < prev->n; i++)
			record_line(bv, prev, &prev->l[i]);
		prev->n = prev->len = prev->line_start = 0;
	}
	pool_finish(bv->pool, f, bv->lctx);
	bv->parsed = f;
	if (prev == NULL && (prev = bv->spare) == NULL &&
	    (prev = block_new()) == NULL)
		return -1;
	bv->spare = NULL;
	bv->fill = prev;
	if (last) {
		for (size_t i = 0; i < f->n; i++)
			record_line(bv, f, &f->l[i]);
		f->n = f->len = f->line_start = 0;
	}
	return 0;
}

/* line_end: the line being read ends here (or was too long). */
static void
line_end(struct bv *bv)
{
	struct block *f = bv->fill;
	struct pline *pl = &f->l[f->n++];

	memset(pl, 0, sizeof(*pl));
	pl->off = f->line_start;
	pl->len = bv->in_overlong ? 0 : f->len - f->line_start;
	pl->overlong = bv->in_overlong;
	f->line_start = f->len;
	bv->in_overlong = false;
}

/* records_feed: bytes of records.jsonl as they are read: hashed for
 * MANIFEST, cut into lines in the block being filled (a line longer than
 * a record can be is not kept), the block turned when full. */
static void
records_feed(struct bv *bv, const char *p, size_t n)
{
	const char *end = p + n;

	EVP_DigestUpdate(bv->rsha, p, n);
	while (p < end && bv->fill != NULL) {
		struct block *f = bv->fill;
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t take = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);

		if (!bv->in_overlong &&
		    f->len - f->line_start + take > RECORD_MAX_LEN) {
			bv->in_overlong = true;
			f->len = f->line_start;
		}
		if (!bv->in_overlong) {
			memcpy(f->buf + f->len, p, take);
			f->len += take;
		}
		p += take;
		if (nl == NULL)
			break;
		p++;
		line_end(bv);
		if ((f->len >= BLOCK_BYTES || f->n == f->cap_l) &&
		    block_turn(bv, false) != 0)
			bv->fill = NULL; /* out of memory: said at the end */
	}
}

/* records_end: the last line (said when it lacks its newline), and the
 * blocks not taken yet. */
static int
records_end(struct bv *bv)
{
	if (bv->fill == NULL)
		return -1;
	if (bv->fill->len > bv->fill->line_start || bv->in_overlong) {
		bv->no_newline = true;
		line_end(bv);
	}
	return block_turn(bv, true);
}

/* --- After the records --- */

static struct chain *
chain_find(struct bv *bv, const char *probe, const char *chain)
{
	size_t lo = 0, hi = bv->nchains;

	while (lo < hi) {
		size_t m = lo + (hi - lo) / 2;
		int c = strcmp(bv->chains[m].probe, probe);

		if (c == 0)
			c = strcmp(bv->chains[m].chain, chain);
		if (c == 0)
			return &bv->chains[m];
		if (c < 0)
			lo = m + 1;
		else
			hi = m;
	}
	return NULL;
}

/* The records a batch that holds covers: its seqs, but not those whose
 * line it took from `forks` (that is another line than the record's). */
static void
cover(struct bv *bv, const struct batch *b)
{
	const struct chain *c = chain_find(bv, b->probe, b->chain);
	size_t fi = 0;

	if (c == NULL)
		return;
	for (size_t r = 0; r < b->nr; r++) {
		size_t lo = c->ostart, hi = c->oend;

		while (lo < hi) {
			size_t m = lo + (hi - lo) / 2;

			if (bv->oseq[m] < b->r[r].a)
				lo = m + 1;
			else
				hi = m;
		}
		for (; lo < c->oend && bv->oseq[lo] <= b->r[r].b; lo++) {
			while (
			    fi < b->nforks && b->forks[fi].seq < bv->oseq[lo])
				fi++;
			if (fi < b->nforks && b->forks[fi].seq == bv->oseq[lo])
				continue;
			bv->ocov[lo] = 1;
		}
	}
}

static void
check_coverage(struct bv *bv)
{
	size_t holds = 0;

	/* Batches of chains the bundle has no record of: all missing. */
	for (size_t i = 0; i < bv->nbatches; i++) {
		struct batch *b = &bv->batches[i];

		while (!b->done)
			batch_take(bv, b, NULL, 0);
	}
	if ((bv->ocov = calloc(bv->nord + 1, 1)) == NULL)
		return;
	for (size_t i = 0; i < bv->nbatches; i++) {
		if (bv->batches[i].holds) {
			holds++;
			cover(bv, &bv->batches[i]);
		}
	}
	for (size_t ci = 0; ci < bv->nchains; ci++) {
		const struct chain *c = &bv->chains[ci];

		for (size_t o = c->ostart; o < c->oend; o++) {
			size_t e = o;

			if (bv->ocov[o])
				continue;
			while (e + 1 < c->oend && !bv->ocov[e + 1])
				e++;
			fail(bv, CK_SIGS,
			    "probe %s, chain %s: seq %" PRIu64 "-%" PRIu64
			    " (records.jsonl lines %zu-%zu): no batch whose "
			    "signature holds covers %s",
			    c->probe, c->chain, bv->oseq[o], bv->oseq[e],
			    bv->oline[o] + 1, bv->oline[e] + 1,
			    e == o ? "it" : "them");
			o = e;
		}
	}
	summary(bv, CK_SIGS,
	    "%zu batches hold; each of the %zu records is covered by one",
	    holds, bv->nord);
}

static void
check_bundle_json(struct bv *bv)
{
	struct bfile *f = bv->f[F_BUNDLE];
	json_t *o, *chains, *e;
	const char *fmt, *origin;
	uint64_t n = 0;
	size_t i;

	if (f == NULL) {
		fail(bv, CK_RECORDS, "bundle.json is missing");
		return;
	}
	o = json_loadb(f->data, f->len, JSON_REJECT_DUPLICATES, NULL);
	fmt = jstr(o, "format");
	if (fmt == NULL || strcmp(fmt, "corewatch-bundle-v1") != 0) {
		fail(bv, CK_RECORDS,
		    "bundle.json: not an object of format corewatch-bundle-v1");
		json_decref(o);
		return;
	}
	if (!juint(o, "records", &n) || n != bv->nlines)
		fail(bv, CK_RECORDS,
		    "bundle.json: \"records\" is %" PRIu64
		    ", records.jsonl has %zu lines",
		    n, bv->nlines);
	chains = json_object_get(o, "chains");
	if (json_array_size(chains) != bv->nchains)
		fail(bv, CK_RECORDS,
		    "bundle.json: \"chains\" lists %zu chains, records.jsonl "
		    "has %zu",
		    json_array_size(chains), bv->nchains);
	json_array_foreach(chains, i, e) {
		const struct chain *c = i < bv->nchains ? &bv->chains[i] : NULL;
		uint64_t a = 0, b = 0, k = 0;
		const char *p = jstr(e, "probe"), *ch = jstr(e, "chain");

		if (c == NULL)
			break;
		if (p == NULL || ch == NULL || strcmp(p, c->probe) != 0 ||
		    strcmp(ch, c->chain) != 0 || !juint(e, "first_seq", &a) ||
		    !juint(e, "last_seq", &b) || !juint(e, "count", &k) ||
		    a != c->first || b != c->last || k != c->count)
			fail(bv, CK_RECORDS,
			    "bundle.json: chains[%zu] is not probe %s, chain %s, "
			    "seq %" PRIu64 "-%" PRIu64 ", %" PRIu64
			    " records, as records.jsonl has it",
			    i, c->probe, c->chain, c->first, c->last, c->count);
	}
	origin = jstr(o, "origin");
	if (bv->have_cp &&
	    (origin == NULL || strcmp(origin, bv->cp.origin) != 0))
		fail(bv, CK_CHECKPOINT,
		    "bundle.json: its origin is not the checkpoint's (%s)",
		    bv->cp.origin);
	json_decref(o);
}

/* line_name: "records.jsonl line N (probe, chain, seq)" for line i. */
static void
line_name(struct bv *bv, const size_t *lineord, size_t i, char *out,
    size_t size)
{
	size_t o = lineord != NULL ? lineord[i] : SIZE_MAX;
	const struct chain *c = NULL;

	for (size_t lo = 0, hi = bv->nchains; o != SIZE_MAX && lo < hi;) {
		size_t m = lo + (hi - lo) / 2;

		if (bv->chains[m].oend <= o) {
			lo = m + 1;
		} else if (bv->chains[m].ostart > o) {
			hi = m;
		} else {
			c = &bv->chains[m];
			break;
		}
	}
	if (c == NULL)
		snprintf(out, size, "records.jsonl line %zu", i + 1);
	else
		snprintf(out, size,
		    "records.jsonl line %zu (probe %s, chain %s, seq %" PRIu64
		    ")",
		    i + 1, c->probe, c->chain, bv->oseq[o]);
}

static struct multiproof_node *
parse_nodes(struct bv *bv, json_t *arr, size_t *n)
{
	struct multiproof_node *nodes = calloc(json_array_size(arr) + 1,
	    sizeof(*nodes));
	json_t *e;
	size_t i;

	*n = 0;
	if (nodes == NULL)
		return NULL;
	json_array_foreach(arr, i, e) {
		json_t *l = json_array_get(e, 0), *x = json_array_get(e, 1);
		const char *h = json_string_value(json_array_get(e, 2));
		size_t blen;

		if (json_array_size(e) != 3 || !json_is_integer(l) ||
		    !json_is_integer(x) || json_integer_value(l) < 0 ||
		    json_integer_value(l) >= 64 || json_integer_value(x) < 0 ||
		    h == NULL ||
		    sodium_base642bin(nodes[i].hash, MERKLE_HASH_LEN, h,
		        strlen(h), NULL, &blen, NULL,
		        sodium_base64_VARIANT_ORIGINAL) != 0 ||
		    blen != MERKLE_HASH_LEN) {
			fail(bv, CK_INCLUSION,
			    "inclusion.json: nodes[%zu] is not [level, index, "
			    "base64 of 32 bytes]",
			    i);
			free(nodes);
			return NULL;
		}
		nodes[i].level = (unsigned)json_integer_value(l);
		nodes[i].index = (uint64_t)json_integer_value(x);
	}
	*n = json_array_size(arr);
	return nodes;
}

static void
check_inclusion(struct bv *bv)
{
	struct bfile *f = bv->f[F_INCLUSION];
	struct multiproof_node *nodes = NULL;
	size_t *lineord = NULL, nn = 0, k = 0;
	unsigned char root[MERKLE_HASH_LEN];
	json_t *o, *leaves;
	uint64_t size = 0;
	char err[200], name[200];

	if (f == NULL) {
		fail(bv, CK_INCLUSION, "inclusion.json is missing");
		return;
	}
	o = json_loadb(f->data, f->len, JSON_REJECT_DUPLICATES, NULL);
	leaves = json_object_get(o, "leaves");
	if (!juint(o, "size", &size) || !json_is_array(leaves) ||
	    !json_is_array(json_object_get(o, "nodes"))) {
		fail(bv, CK_INCLUSION,
		    "inclusion.json: not {\"size\", \"leaves\", \"nodes\"}");
		goto out;
	}
	if (bv->have_cp && size != bv->cp.size)
		fail(bv, CK_INCLUSION,
		    "inclusion.json: size %" PRIu64
		    " is not the checkpoint's (%" PRIu64 ")",
		    size, bv->cp.size);
	if (json_array_size(leaves) != bv->nlines) {
		fail(bv, CK_INCLUSION,
		    "inclusion.json: %zu leaves for the %zu lines of "
		    "records.jsonl",
		    json_array_size(leaves), bv->nlines);
		goto out;
	}
	if ((lineord = malloc((bv->nlines + 1) * sizeof(*lineord))) != NULL) {
		for (size_t i = 0; i < bv->nlines; i++)
			lineord[i] = SIZE_MAX;
		for (size_t i = 0; i < bv->nord; i++)
			lineord[bv->oline[i]] = i;
	}
	for (size_t i = 0; i < bv->nlines; i++) {
		json_t *v = json_array_get(leaves, i);

		if (json_is_integer(v) && json_integer_value(v) >= 0 &&
		    (uint64_t)json_integer_value(v) < size) {
			bv->leaves[k] = bv->leaves[i];
			bv->leaves[k++].index = (uint64_t)json_integer_value(v);
			continue;
		}
		line_name(bv, lineord, i, name, sizeof(name));
		fail(bv, CK_INCLUSION, "%s: %s", name,
		    json_is_null(v) ?
		        "no leaf (stored before the collector kept a log)" :
		        "its leaf is not an index below the size");
	}
	nodes = parse_nodes(bv, json_object_get(o, "nodes"), &nn);
	if (nodes == NULL && nn == 0 &&
	    json_array_size(json_object_get(o, "nodes")) > 0)
		goto out;
	if (multiproof_root(size, bv->leaves, k, nodes, nn, root, err,
	        sizeof(err)) != 0) {
		fail(bv, CK_INCLUSION, "inclusion.json: %s", err);
	} else if (!bv->have_cp) {
		fail(bv, CK_INCLUSION,
		    "no checkpoint to compare the root with");
	} else if (memcmp(root, bv->cp.root, MERKLE_HASH_LEN) != 0) {
		fail(bv, CK_INCLUSION,
		    "the root computed from the records and inclusion.json "
		    "is not the checkpoint's (a record or a node was changed)");
	}
	summary(bv, CK_INCLUSION,
	    "the %zu records are leaves of the checkpoint's tree of %" PRIu64
	    " (%zu nodes)",
	    k, size, nn);
out:
	free(nodes);
	free(lineord);
	json_decref(o);
}

static void
check_others(struct bv *bv)
{
	size_t same = 0, other = 0;

	for (size_t i = 0; i < bv->o->ncheckpoints; i++) {
		const char *path = bv->o->checkpoints[i];
		char *buf = malloc(NOTE_MAX_BYTES + 1);
		struct checkpoint cp;
		size_t text_len;
		ssize_t n = -1;
		int fd, r;

		if (buf != NULL &&
		    (fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) !=
		        -1) {
			n = read(fd, buf, NOTE_MAX_BYTES + 1);
			close(fd);
		}
		if (n < 0 || n > NOTE_MAX_BYTES) {
			fail(bv, CK_OTHERS,
			    "%s: cannot be read, or is too long", path);
			free(buf);
			continue;
		}
		r = bv->have_key ?
		    note_open(buf, (size_t)n, &bv->key, &text_len) :
		    NOTE_UNKNOWN_KEY;
		if (r == NOTE_OK && checkpoint_parse(buf, text_len, &cp) != 0)
			r = NOTE_MALFORMED;
		free(buf);
		if (r != NOTE_OK) {
			fail(bv, CK_OTHERS, "%s: %s", path,
			    r == NOTE_MALFORMED ?
			        "not a well-formed checkpoint" :
			        "not signed by the collector's key");
		} else if (!bv->have_cp || cp.size != bv->cp.size) {
			other++; /* reported as not compared */
		} else if (memcmp(cp.root, bv->cp.root, MERKLE_HASH_LEN) != 0) {
			fail(bv, CK_OTHERS,
			    "%s: size %" PRIu64 " with another root than the "
			    "bundle's checkpoint: the log forked",
			    path, cp.size);
		} else {
			same++;
		}
	}
	if (bv->o->ncheckpoints == 0)
		summary(bv, CK_OTHERS, "none given");
	else
		summary(bv, CK_OTHERS,
		    "%zu given: %zu of the bundle's size agree with it, %zu of "
		    "another size not compared",
		    bv->o->ncheckpoints, same, other);
}

static void
check_chains(struct bv *bv)
{
	unsigned long holes = 0;

	for (size_t c = 0; c < bv->nchains; c++) {
		const struct chain *ch = &bv->chains[c];

		holes += ch->nholes;
		if (ch->nprob > 0)
			fail(bv, CK_CHAINS, "probe %s, chain %s: %lu problem%s",
			    ch->probe, ch->chain, ch->nprob,
			    ch->nprob == 1 ? "" : "s");
	}
	summary(bv, CK_CHAINS,
	    "%zu chains linked; %lu holes, each explained by a loss record",
	    bv->nchains, holes);
}

/* --- Verdicts out --- */

static void
print_text(struct bv *bv, FILE *out, int failed)
{
	for (int ck = 0; ck < CK_N; ck++) {
		const struct verdict *v = &bv->v[ck];

		if (v->nprob == 0)
			fprintf(out, "ok    %s: %s\n", check_name[ck],
			    v->summary);
		else
			fprintf(out, "FAIL  %s: %lu problem%s\n",
			    check_name[ck], v->nprob, v->nprob == 1 ? "" : "s");
		for (unsigned long i = 0;
		     i < v->nprob && i < BUNDLE_MAX_PROBLEMS; i++)
			fprintf(out, "      %s\n",
			    v->prob[i] ? v->prob[i] : "?");
		if (v->nprob > BUNDLE_MAX_PROBLEMS)
			fprintf(out, "      ... and %lu more\n",
			    v->nprob - BUNDLE_MAX_PROBLEMS);
		if (ck != CK_CHAINS)
			continue;
		for (size_t c = 0; c < bv->nchains; c++) {
			const struct chain *ch = &bv->chains[c];

			fprintf(out,
			    "      %-4s  probe %s chain %s: seq %" PRIu64
			    "-%" PRIu64 ", %" PRIu64 " records",
			    ch->nprob ? "FAIL" : "ok", ch->probe, ch->chain,
			    ch->first, ch->last, ch->count);
			if (ch->nwent_on > 0)
				fprintf(out,
				    ", seq %" PRIu64
				    " goes on from an equivocation "
				    "at seq %" PRIu64
				    " (a line of a batch's forks)%s",
				    ch->went_on, ch->went_on - 1,
				    ch->nwent_on > 1 ? " and more" : "");
			if (ch->nholes > 0)
				fprintf(out, ", %zu hole%s (%zu explained)",
				    ch->nholes, ch->nholes == 1 ? "" : "s",
				    ch->explained);
			fputc('\n', out);
			for (unsigned long i = 0;
			     i < ch->nprob && i < CHAIN_PROBLEMS; i++)
				fprintf(out, "            %s\n",
				    ch->prob[i] ? ch->prob[i] : "?");
			if (ch->nprob > CHAIN_PROBLEMS)
				fprintf(out, "            ... and %lu more\n",
				    ch->nprob - CHAIN_PROBLEMS);
		}
	}
	if (failed == 0)
		fprintf(out, "verified: every check holds%s\n",
		    bv->key_from_bundle ? " (with the key the bundle itself "
		                          "names: give --vkey for more)" :
		                          "");
	else
		fprintf(out, "NOT verified: %d of %d checks fail\n", failed,
		    CK_N);
}

static json_t *
problems_json(char *const *prob, unsigned long n, unsigned long max)
{
	json_t *a = json_array();

	for (unsigned long i = 0; i < n && i < max; i++)
		json_array_append_new(a, json_string(prob[i] ? prob[i] : "?"));
	return a;
}

static void
print_json(struct bv *bv, FILE *out, int failed)
{
	json_t *o = json_object(), *checks = json_array(),
	       *chains = json_array();

	for (int ck = 0; ck < CK_N; ck++) {
		const struct verdict *v = &bv->v[ck];

		json_array_append_new(checks,
		    json_pack("{s:s, s:b, s:s, s:I, s:o}", "check",
		        check_name[ck], "ok", v->nprob == 0, "summary",
		        v->summary, "problems", (json_int_t)v->nprob, "named",
		        problems_json(v->prob, v->nprob, BUNDLE_MAX_PROBLEMS)));
	}
	for (size_t c = 0; c < bv->nchains; c++) {
		const struct chain *ch = &bv->chains[c];

		json_array_append_new(chains,
		    json_pack(
		        "{s:s, s:s, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:o}",
		        "probe", ch->probe, "chain", ch->chain, "ok",
		        ch->nprob == 0, "first_seq", (json_int_t)ch->first,
		        "last_seq", (json_int_t)ch->last, "count",
		        (json_int_t)ch->count, "holes", (json_int_t)ch->nholes,
		        "explained", (json_int_t)ch->explained, "went_on",
		        (json_int_t)ch->went_on, "problems",
		        problems_json(ch->prob, ch->nprob, CHAIN_PROBLEMS)));
	}
	json_object_set_new(o, "bundle", json_string(bv->path));
	json_object_set_new(o, "ok", json_boolean(failed == 0));
	json_object_set_new(o, "key_from_bundle",
	    json_boolean(bv->key_from_bundle));
	json_object_set_new(o, "checks", checks);
	json_object_set_new(o, "chains", chains);
	json_dumpf(o, out, JSON_COMPACT);
	fputc('\n', out);
	json_decref(o);
}

static void
bv_free(struct bv *bv)
{
	for (int ck = 0; ck < CK_N; ck++)
		for (unsigned long i = 0;
		     i < bv->v[ck].nprob && i < BUNDLE_MAX_PROBLEMS; i++)
			free(bv->v[ck].prob[i]);
	for (size_t i = 0; i < bv->nfiles; i++)
		free(bv->files[i].data);
	for (size_t i = 0; i < bv->nbatches; i++) {
		free(bv->batches[i].r);
		for (size_t j = 0; j < bv->batches[i].nforks; j++)
			free(bv->batches[i].forks[j].line);
		free(bv->batches[i].forks);
		EVP_MD_CTX_free(bv->batches[i].st);
	}
	for (size_t c = 0; c < bv->nchains; c++) {
		free(bv->chains[c].holes);
		free(bv->chains[c].losses);
		for (unsigned long i = 0;
		     i < bv->chains[c].nprob && i < CHAIN_PROBLEMS; i++)
			free(bv->chains[c].prob[i]);
	}
	free(bv->chains);
	free(bv->batches);
	free(bv->sorted);
	free(bv->heap);
	free(bv->forked);
	free(bv->probes);
	pool_stop(bv->pool);
	block_free(bv->fill);
	block_free(bv->parsed);
	block_free(bv->spare);
	EVP_MD_CTX_free(bv->rsha);
	EVP_MD_CTX_free(bv->lctx);
	EVP_MD_free(bv->md);
	free(bv->leaves);
	free(bv->oseq);
	free(bv->oline);
	free(bv->ocov);
}

/* read_bundle: pass 1, every file but records.jsonl; *fd and *is_tar
 * for pass 2.  Returns 0 or -1 (said). */
static int
read_bundle(struct bv *bv, int *fd, bool *is_tar)
{
	struct stat st;
	int sub;

	if ((*fd = open(bv->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1 ||
	    fstat(*fd, &st) == -1) {
		unreadable(bv, "%s", strerror(errno));
		return -1;
	}
	*is_tar = S_ISREG(st.st_mode);
	if (*is_tar)
		return tar_pass(bv, *fd, false);
	if (!S_ISDIR(st.st_mode)) {
		unreadable(bv, "neither a tar file nor a directory");
		return -1;
	}
	/* The folder `tar x` made, or the files themselves. */
	sub = openat(*fd, BUNDLE_DIR,
	    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (sub != -1) {
		close(*fd);
		*fd = sub;
	}
	return dir_pass1(bv, *fd);
}

int
bundle_verify(const char *path, const struct bundle_verify_opts *o)
{
	struct bv *bv = calloc(1, sizeof(*bv));
	bool is_tar = false;
	int fd = -1, rc = 2, failed = 0;

	if (bv == NULL)
		return 2;
	bv->o = o;
	bv->path = path;
	bv->t0 = cw_mono_usec();
	bv->cpu0 = cw_cpu_usec();
	if ((bv->md = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL ||
	    (bv->rsha = EVP_MD_CTX_new()) == NULL ||
	    (bv->lctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(bv->rsha, bv->md, NULL) != 1 ||
	    read_bundle(bv, &fd, &is_tar) != 0)
		goto out;
	phase(bv, "read (all but records)");
	check_checkpoint(bv);
	load_probes(bv);
	load_batches(bv);
	if ((bv->heap = calloc(bv->nbatches + 1, sizeof(*bv->heap))) == NULL)
		goto out;
	phase(bv, "keys, checkpoint, batches");
	if (bv->f[F_RECORDS] == NULL) {
		fail(bv, CK_RECORDS, "records.jsonl is missing");
	} else {
		if ((bv->fill = block_new()) == NULL ||
		    (bv->pool = pool_start(bv)) == NULL) {
			unreadable(bv, "out of memory");
			goto out;
		}
		if ((is_tar ? tar_pass(bv, fd, true) : dir_pass2(bv, fd)) != 0)
			goto out;
		if (records_end(bv) != 0) {
			unreadable(bv, "records.jsonl: out of memory");
			goto out;
		}
		if (bv->no_newline)
			fail(bv, CK_RECORDS,
			    "records.jsonl: the last line does not end in a "
			    "newline");
		EVP_DigestFinal_ex(bv->rsha, bv->f[F_RECORDS]->sha, NULL);
	}
	chain_close(bv);
	phase(bv, "records (stream)");
	summary(bv, CK_RECORDS, "%zu records in %zu chains, in order",
	    bv->nlines, bv->nchains);
	check_coverage(bv);
	check_manifest(bv);
	check_bundle_json(bv);
	summary(bv, CK_KEYS, "%zu probes, each key its probe's", bv->nprobes);
	check_chains(bv);
	phase(bv, "coverage, manifest");
	check_inclusion(bv);
	phase(bv, "inclusion");
	check_others(bv);
	for (int ck = 0; ck < CK_N; ck++)
		failed += bv->v[ck].nprob > 0;
	if (o->json)
		print_json(bv, o->out, failed);
	else
		print_text(bv, o->out, failed);
	rc = failed ? 1 : 0;
out:
	if (fd != -1)
		close(fd);
	bv_free(bv);
	free(bv);
	return rc;
}
