/*
 * tld_cache.c -- the TLD cache file: one learned set of name servers per
 * TLD, as JSON under the state directory, written atomically and read
 * back with every check a set from the network gets.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"
#include "log.h"
#include "result.h"
#include "tld.h"
#include "tld_int.h"

#define TLD_CACHE_VERSION 1
#define TLD_CACHE_MAX     (128 * 1024) /* bytes; a full set is ~40 KiB */

int
tld_cache_path(const char *state_dir, const char *tld, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/tld/%s.json", state_dir, tld);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

json_t *
tld_set_to_cache_json(const struct tld_set *set)
{
	char ts[CW_TIME_STRLEN];
	json_t *obj, *ns;

	if ((ns = json_array()) == NULL)
		return NULL;
	for (size_t i = 0; i < set->nns; i++)
		json_array_append_new(ns,
		    json_pack("{s:s, s:i}", "name", set->ns[i].name,
		        "addresses", (int)set->ns[i].naddr));
	obj = json_pack("{s:i, s:s, s:s, s:I, s:s, s:o, s:o}", "version",
	    TLD_CACHE_VERSION, "tld", set->tld, "learned",
	    cw_time_format(set->learned, ts, sizeof(ts)), "learned_usec",
	    (json_int_t)set->learned, "root", set->root, "ns", ns, "servers",
	    tld_servers_json(set));
	return obj;
}

static int
tld_cache_ns_from_json(const json_t *list, struct tld_set *set, char *err,
    size_t errlen)
{
	const char *name;
	json_int_t naddr;
	size_t i;
	json_t *v;

	if (!json_is_array(list) || json_array_size(list) > TLD_NS_MAX) {
		snprintf(err, errlen, "\"ns\" is not an array of at most %d",
		    TLD_NS_MAX);
		return -1;
	}
	json_array_foreach(list, i, v) {
		if (json_unpack(v, "{s:s, s:I !}", "name", &name, "addresses",
		        &naddr) == -1 ||
		    !tld_host_valid(name) || naddr < 0 ||
		    naddr > TLD_NS_ADDR_MAX) {
			snprintf(err, errlen, "bad \"ns\" entry %zu", i);
			return -1;
		}
		if (tld_set_add_ns(set, name) != 1) {
			snprintf(err, errlen, "duplicate NS name \"%s\"", name);
			return -1;
		}
		set->ns[set->nns - 1].naddr = (unsigned)naddr;
	}
	return 0;
}

static int
tld_cache_servers_from_json(const json_t *list, uint16_t port, bool allow_local,
    struct tld_set *set, char *err, size_t errlen)
{
	char spec[TARGET_NAME_MAX + INET6_ADDRSTRLEN + 2], terr[128];
	const char *name, *addr;
	int glue;
	size_t i;
	json_t *v;

	if (!json_is_array(list) || json_array_size(list) > TLD_SERVERS_MAX) {
		snprintf(err, errlen,
		    "\"servers\" is not an array of at "
		    "most %d",
		    TLD_SERVERS_MAX);
		return -1;
	}
	json_array_foreach(list, i, v) {
		if (json_unpack(v, "{s:s, s:s, s:b !}", "name", &name, "addr",
		        &addr, "glue", &glue) == -1 ||
		    tld_set_find_ns(set, name) == NULL) {
			snprintf(err, errlen, "bad \"servers\" entry %zu", i);
			return -1;
		}
		snprintf(spec, sizeof(spec), "%s=%s", name, addr);
		if (target_parse(spec, port, &set->servers[set->n], terr,
		        sizeof(terr)) == -1) {
			snprintf(err, errlen, "server %zu: %s", i, terr);
			return -1;
		}
		if (!tld_addr_allowed(&set->servers[set->n], allow_local)) {
			snprintf(err, errlen,
			    "server %zu: address %s not "
			    "allowed",
			    i, addr);
			return -1;
		}
		for (size_t j = 0; j < set->n; j++)
			if (strcmp(set->servers[j].addr, addr) == 0) {
				snprintf(err, errlen, "duplicate address %s",
				    addr);
				return -1;
			}
		set->glue[set->n++] = glue;
	}
	/* An NS name counts at least the addresses listed under it. */
	for (i = 0; i < set->n; i++) {
		struct tld_ns *n = tld_set_find_ns(set, set->servers[i].name);
		unsigned count = 0;

		for (size_t j = 0; j < set->n; j++)
			count += strcmp(set->servers[j].name, n->name) == 0;
		if (count > TLD_NS_ADDR_MAX) {
			snprintf(err, errlen, "more than %d addresses for %s",
			    TLD_NS_ADDR_MAX, n->name);
			return -1;
		}
		if (n->naddr < count)
			n->naddr = count;
	}
	return 0;
}

int
tld_set_from_json(const json_t *obj, const char *tld, uint16_t port,
    struct tld_set *set, char *err, size_t errlen)
{
	const char *file_tld, *learned_text, *root;
	json_int_t version, learned;
	json_t *ns, *servers;
	struct target t;
	char terr[64];

	tld_set_init(set, tld);
	if (json_unpack((json_t *)obj, "{s:I, s:s, s:s, s:I, s:s, s:o, s:o !}",
	        "version", &version, "tld", &file_tld, "learned", &learned_text,
	        "learned_usec", &learned, "root", &root, "ns", &ns, "servers",
	        &servers) == -1) {
		snprintf(err, errlen, "not a TLD cache object");
		return -1;
	}
	if (version != TLD_CACHE_VERSION) {
		snprintf(err, errlen, "version %lld, want %d",
		    (long long)version, TLD_CACHE_VERSION);
		return -1;
	}
	if (strcmp(file_tld, tld) != 0) {
		snprintf(err, errlen, "the file is for another TLD");
		return -1;
	}
	if (learned <= 0 || learned > INT64_C(1) << 53) {
		snprintf(err, errlen, "bad \"learned_usec\"");
		return -1;
	}
	if (target_parse(root, port, &t, terr, sizeof(terr)) == -1) {
		snprintf(err, errlen, "bad \"root\": %s", terr);
		return -1;
	}
	set->learned = learned;
	snprintf(set->root, sizeof(set->root), "%s", t.addr);
	/* Local addresses only in a set a local root gave (the tests). */
	if (tld_cache_ns_from_json(ns, set, err, errlen) == -1 ||
	    tld_cache_servers_from_json(servers, port,
	        tld_addr_scope(&t) == TLD_ADDR_LOCAL, set, err, errlen) == -1)
		return -1;
	tld_set_sort(set);
	return 0;
}

static int
tld_mkdir(const char *path)
{
	if (mkdir(path, 0700) == -1 && errno != EEXIST) {
		log_warn("tld cache: mkdir %s", path);
		return -1;
	}
	return 0;
}

/* tld_cache_write: write `text` and a newline to `path` (in `dir`)
 * atomically. */
static int
tld_cache_write(const char *dir, const char *path, const char *text)
{
	struct fileio_atomic fa;

	switch (fileio_atomic_begin(&fa, AT_FDCWD, path, 0600)) {
	case FILEIO_OK:
		break;
	case FILEIO_NAME:
		log_warn("tld cache: %s", path);
		return -1;
	default:
		log_warn("tld cache: %s", fa.tmp);
		return -1;
	}
	if (fileio_write_all(fa.fd, text, strlen(text)) == -1 ||
	    fileio_write_all(fa.fd, "\n", 1) == -1) {
		log_warn("tld cache: write %s", fa.tmp);
		fileio_atomic_abort(&fa);
		return -1;
	}
	switch (fileio_atomic_commit(&fa)) {
	case FILEIO_OK:
		return 0;
	case FILEIO_DIRSYNC:
		log_warn("tld cache: fsync %s", dir);
		return 0;
	case FILEIO_WRITE:
		log_warn("tld cache: write %s", fa.tmp);
		return -1;
	default:
		log_warn("tld cache: rename %s", fa.tmp);
		return -1;
	}
}

int
tld_cache_save(const char *state_dir, const struct tld_set *set)
{
	char dir[PATH_MAX], path[PATH_MAX], *text;
	json_t *obj;
	int rv;

	if (snprintf(dir, sizeof(dir), "%s/tld", state_dir) >=
	        (int)sizeof(dir) ||
	    tld_cache_path(state_dir, set->tld, path, sizeof(path)) == -1) {
		log_warnx("tld cache: state directory path too long");
		return -1;
	}
	if (tld_mkdir(state_dir) == -1 || tld_mkdir(dir) == -1)
		return -1;
	if ((obj = tld_set_to_cache_json(set)) == NULL ||
	    (text = result_dump(obj)) == NULL) {
		log_warnx("tld cache: %s: out of memory", set->tld);
		json_decref(obj);
		return -1;
	}
	rv = tld_cache_write(dir, path, text);
	free(text);
	json_decref(obj);
	return rv;
}

/* tld_cache_read: the file's bytes (NUL-terminated) in a new buffer, or
 * NULL with errno set (ENOENT: no file; EFBIG: too big). */
static char *
tld_cache_read(const char *path, size_t *len)
{
	struct stat st;
	char *buf;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return NULL;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size > TLD_CACHE_MAX) {
		close(fd);
		errno = EFBIG;
		return NULL;
	}
	if ((buf = malloc(TLD_CACHE_MAX + 1)) == NULL) {
		close(fd);
		return NULL;
	}
	*len = 0;
	/* Read to the cap even if the file grew after fstat. */
	while (*len <= TLD_CACHE_MAX) {
		n = read(fd, buf + *len, TLD_CACHE_MAX + 1 - *len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		*len += (size_t)n;
	}
	close(fd);
	if (n == -1 || *len > TLD_CACHE_MAX) {
		free(buf);
		errno = n == -1 ? errno : EFBIG;
		return NULL;
	}
	buf[*len] = '\0';
	return buf;
}

int
tld_cache_load(const char *state_dir, const char *tld, uint16_t port,
    struct tld_set *set)
{
	char path[PATH_MAX], err[160];
	json_error_t jerr;
	json_t *obj;
	size_t len;
	char *buf;
	int rv;

	tld_set_init(set, tld);
	if (tld_cache_path(state_dir, tld, path, sizeof(path)) == -1) {
		log_warnx("tld cache: state directory path too long");
		return -1;
	}
	if ((buf = tld_cache_read(path, &len)) == NULL) {
		if (errno == ENOENT)
			return 1;
		log_warn("tld cache: %s: ignored", path);
		return -1;
	}
	obj = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	free(buf);
	if (obj == NULL) {
		log_warnx("tld cache: %s: ignored: line %d: %s", path,
		    jerr.line, jerr.text);
		return -1;
	}
	rv = tld_set_from_json(obj, tld, port, set, err, sizeof(err));
	json_decref(obj);
	if (rv == -1) {
		log_warnx("tld cache: %s: ignored: %s", path, err);
		tld_set_init(set, tld);
	}
	return rv;
}
