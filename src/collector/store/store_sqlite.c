/*
 * store_sqlite.c -- the SQLite backend of db.h: one file, WAL, every
 * commit synced (synchronous=FULL), statements prepared once and kept.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "db.h"
#include "log.h"

#define SQ_CACHE_MAX 64 /* prepared statements kept */

struct sq_stmt {
	char *sql;
	sqlite3_stmt *stmt;
};

struct sq_db {
	struct db db; /* first: what db.c sees */
	sqlite3 *conn;
	char *path;
	char error[512];
	int last_code;
	struct sq_stmt cache[SQ_CACHE_MAX];
	size_t ncache;
};

static void
sq_set_error(struct sq_db *s, const char *what)
{
	s->last_code = sqlite3_extended_errcode(s->conn);
	snprintf(s->error, sizeof(s->error), "%s: %s", what,
	    sqlite3_errmsg(s->conn));
}

/*
 * A new database file is made readable by its owner only: it holds what
 * volunteers declare of themselves.  SQLite gives its -wal and -shm
 * files the database file's mode, so they follow.  An existing file
 * keeps the mode its operator gave it (0640 for a group of readers).
 */
static int
sq_create(const char *path, char *err, size_t errlen)
{
	int fd;

	if ((fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) !=
	    -1) {
		close(fd);
		return 0;
	}
	if (errno == EEXIST)
		return 0;
	snprintf(err, errlen, "%s: %s", path, strerror(errno));
	return -1;
}

static struct db *
sq_open(const char *path, char *err, size_t errlen)
{
	struct sq_db *s;
	int rc;

	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->path = strdup(path)) == NULL) {
		free(s);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->db.ops = &db_sqlite_ops;
	if (strcmp(path, ":memory:") != 0 &&
	    sq_create(path, err, errlen) == -1) {
		free(s->path);
		free(s);
		return NULL;
	}
	rc = sqlite3_open_v2(path, &s->conn,
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
	    NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path,
		    s->conn != NULL ? sqlite3_errmsg(s->conn) :
		                      sqlite3_errstr(rc));
		goto fail;
	}
	sqlite3_extended_result_codes(s->conn, 1);
	/* WAL: readers do not block the writer.  FULL: a commit is on disk
	 * before the collector answers, power loss included.  A busy
	 * database (another collector process) is waited on for a while. */
	sqlite3_busy_timeout(s->conn, 5000);
	/* Reads (exports) through a memory map rather than a read(2) per
	 * page.  A page cache of 64 MiB rather than 2: a group commit of
	 * many batches otherwise spills dirty pages into the WAL in the
	 * middle of its transaction (a few % of ingest time). */
	if (sqlite3_exec(s->conn,
	        "PRAGMA journal_mode=WAL;"
	        "PRAGMA synchronous=FULL;PRAGMA foreign_keys=ON;"
	        "PRAGMA mmap_size=268435456;PRAGMA cache_size=-65536;",
	        NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(s->conn));
		goto fail;
	}
	return &s->db;
fail:
	sqlite3_close(s->conn);
	free(s->path);
	free(s);
	return NULL;
}

static void
sq_close(struct db *db)
{
	struct sq_db *s = (struct sq_db *)db;

	for (size_t i = 0; i < s->ncache; i++) {
		sqlite3_finalize(s->cache[i].stmt);
		free(s->cache[i].sql);
	}
	sqlite3_close(s->conn);
	free(s->path);
	free(s);
}

/* The prepared statement for `sql`, from the cache or made now. */
static sqlite3_stmt *
sq_prepare(struct sq_db *s, const char *sql)
{
	sqlite3_stmt *stmt = NULL;

	for (size_t i = 0; i < s->ncache; i++)
		if (strcmp(s->cache[i].sql, sql) == 0)
			return s->cache[i].stmt;
	if (sqlite3_prepare_v3(s->conn, sql, -1, SQLITE_PREPARE_PERSISTENT,
	        &stmt, NULL) != SQLITE_OK) {
		sq_set_error(s, "prepare");
		return NULL;
	}
	if (s->ncache < SQ_CACHE_MAX &&
	    (s->cache[s->ncache].sql = strdup(sql)) != NULL) {
		s->cache[s->ncache++].stmt = stmt;
	}
	return stmt;
}

/* Done with `stmt`: keep it when cached, finalize it when not. */
static void
sq_release(struct sq_db *s, sqlite3_stmt *stmt)
{
	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
	for (size_t i = 0; i < s->ncache; i++)
		if (s->cache[i].stmt == stmt)
			return;
	sqlite3_finalize(stmt);
}

static int
sq_bind(struct sq_db *s, sqlite3_stmt *stmt, const struct db_value *params,
    int nparams)
{
	int rc = SQLITE_OK;

	if (sqlite3_bind_parameter_count(stmt) != nparams) {
		snprintf(s->error, sizeof(s->error),
		    "statement takes %d "
		    "parameters, given %d",
		    sqlite3_bind_parameter_count(stmt), nparams);
		s->last_code = SQLITE_MISUSE;
		return -1;
	}
	for (int i = 0; i < nparams && rc == SQLITE_OK; i++) {
		const struct db_value *v = &params[i];
		switch (v->type) {
		case DB_NULL:
			rc = sqlite3_bind_null(stmt, i + 1);
			break;
		case DB_INT:
			rc = sqlite3_bind_int64(stmt, i + 1, v->i);
			break;
		case DB_REAL:
			rc = sqlite3_bind_double(stmt, i + 1, v->r);
			break;
		case DB_TEXT:
			rc = sqlite3_bind_text64(stmt, i + 1, v->p, v->len,
			    SQLITE_STATIC, SQLITE_UTF8);
			break;
		case DB_BLOB:
			/* A zero-length blob must not become NULL. */
			rc = v->len == 0 ?
			    sqlite3_bind_zeroblob(stmt, i + 1, 0) :
			    sqlite3_bind_blob64(stmt, i + 1, v->p, v->len,
			        SQLITE_STATIC);
			break;
		}
	}
	if (rc != SQLITE_OK) {
		sq_set_error(s, "bind");
		return -1;
	}
	return 0;
}

static void
sq_column(sqlite3_stmt *stmt, int i, struct db_value *v)
{
	memset(v, 0, sizeof(*v));
	switch (sqlite3_column_type(stmt, i)) {
	case SQLITE_INTEGER:
		v->type = DB_INT;
		v->i = sqlite3_column_int64(stmt, i);
		break;
	case SQLITE_FLOAT:
		v->type = DB_REAL;
		v->r = sqlite3_column_double(stmt, i);
		break;
	case SQLITE_TEXT:
		v->type = DB_TEXT;
		v->p = sqlite3_column_text(stmt, i);
		v->len = (size_t)sqlite3_column_bytes(stmt, i);
		break;
	case SQLITE_BLOB:
		v->type = DB_BLOB;
		v->p = sqlite3_column_blob(stmt, i);
		v->len = (size_t)sqlite3_column_bytes(stmt, i);
		if (v->p == NULL)
			v->p = "";
		break;
	default:
		v->type = DB_NULL;
	}
}

#define SQ_COLUMNS_MAX 64

static int
sq_query(struct db *db, const char *sql, const struct db_value *params,
    int nparams, db_row_cb cb, void *arg)
{
	struct sq_db *s = (struct sq_db *)db;
	struct db_value cols[SQ_COLUMNS_MAX];
	struct db_row row;
	sqlite3_stmt *stmt;
	int rc, ret = 0;

	s->error[0] = '\0';
	s->last_code = SQLITE_OK;
	if ((stmt = sq_prepare(s, sql)) == NULL)
		return -1;
	if (sq_bind(s, stmt, params, nparams) == -1) {
		sq_release(s, stmt);
		return -1;
	}
	row.col = cols;
	row.n = sqlite3_column_count(stmt);
	if (row.n > SQ_COLUMNS_MAX)
		row.n = SQ_COLUMNS_MAX;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (cb == NULL)
			continue;
		for (int i = 0; i < row.n; i++)
			sq_column(stmt, i, &cols[i]);
		if (cb(arg, &row) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	if (rc != SQLITE_DONE) {
		sq_set_error(s, "step");
		ret = -1;
	}
	sq_release(s, stmt);
	return ret;
}

static int
sq_exec_script(struct db *db, const char *sql)
{
	struct sq_db *s = (struct sq_db *)db;
	char *msg = NULL;

	s->error[0] = '\0';
	s->last_code = SQLITE_OK;
	if (sqlite3_exec(s->conn, sql, NULL, NULL, &msg) != SQLITE_OK) {
		s->last_code = sqlite3_extended_errcode(s->conn);
		snprintf(s->error, sizeof(s->error), "%s",
		    msg != NULL ? msg : "error");
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static const char *
sq_error(struct db *db)
{
	return ((struct sq_db *)db)->error;
}

/* A full disk, an I/O error or a lock held too long: the database cannot
 * take the batch now, but may later; not the client's fault. */
static bool
sq_unavailable(struct db *db)
{
	switch (((struct sq_db *)db)->last_code & 0xff) {
	case SQLITE_IOERR:
	case SQLITE_FULL:
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
	case SQLITE_CANTOPEN:
	case SQLITE_READONLY:
	case SQLITE_NOMEM:
		return true;
	default:
		return false;
	}
}

static int
sq_ping(struct db *db)
{
	return sq_query(db, "SELECT 1", NULL, 0, NULL, NULL);
}

static long long
sq_size(struct db *db)
{
	struct sq_db *s = (struct sq_db *)db;
	char wal[4096];
	struct stat sb;
	long long total;

	if (stat(s->path, &sb) == -1)
		return -1;
	total = (long long)sb.st_size;
	snprintf(wal, sizeof(wal), "%s-wal", s->path);
	if (stat(wal, &sb) == 0)
		total += (long long)sb.st_size;
	return total;
}

const struct db_ops db_sqlite_ops = {
	.name = "sqlite",
	.open = sq_open,
	.close = sq_close,
	.query = sq_query,
	.exec_script = sq_exec_script,
	.error = sq_error,
	.unavailable = sq_unavailable,
	.ping = sq_ping,
	.size = sq_size,
};
