/*
 * db.h -- the collector's one door to SQL, with two backends: SQLite
 * (store_sqlite.c, the embedded default) and PostgreSQL (store_pg.c,
 * through libpq).  Everything above it (store.c) is written once.
 *
 * SQL is written once, with `?` placeholders; the PostgreSQL backend
 * numbers them ($1, $2, ...).  Keep to the SQL both understand: INTEGER
 * and BIGINT, TEXT, BLOB (BYTEA on PostgreSQL: write the type as
 * DB_BLOB_TYPE in schema text, see store.c), no AUTOINCREMENT (use
 * explicit ids), ON CONFLICT DO NOTHING, SAVEPOINT.
 *
 * Errors: every call returns 0 on success and -1 on failure, with the
 * reason in db_error() and db_unavailable() true when the database
 * could not be reached at all (the caller answers 503, not 4xx).
 */
#ifndef CW_DB_H
#define CW_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

enum db_type {
	DB_NULL,
	DB_INT, /* 64-bit integer */
	DB_REAL,
	DB_TEXT, /* UTF-8, not NUL-terminated necessarily: use len */
	DB_BLOB,
};

/* A parameter or a column value.  For TEXT and BLOB, `p` points to
 * `len` bytes owned by the caller (parameters) or by the backend until
 * the row callback returns (columns).  A TEXT column's bytes are followed
 * by a NUL (p[len] == '\0'), so it can be used as a C string. */
struct db_value {
	enum db_type type;
	long long i;
	double r;
	const void *p;
	size_t len;
};

#define DB_V_NULL    ((struct db_value){ .type = DB_NULL })
#define DB_V_INT(v)  ((struct db_value){ .type = DB_INT, .i = (v) })
#define DB_V_REAL(v) ((struct db_value){ .type = DB_REAL, .r = (v) })
#define DB_V_TEXT(s) \
	((struct db_value){ .type = DB_TEXT, \
	    .p = (s), \
	    .len = (s) != NULL ? strlen(s) : 0 })
#define DB_V_TEXTN(s, n) \
	((struct db_value){ .type = DB_TEXT, .p = (s), .len = (n) })
#define DB_V_BLOB(b, n) \
	((struct db_value){ .type = DB_BLOB, .p = (b), .len = (n) })

/* One row: `n` columns.  Column values are valid only during the call. */
struct db_row {
	const struct db_value *col;
	int n;
};

/* A row callback: return 0 to go on, non-zero to stop (db_query then
 * returns 0: stopping is not an error). */
typedef int (*db_row_cb)(void *arg, const struct db_row *row);

struct db;

/* The operations a backend provides.  `sql` uses `?` placeholders. */
struct db_ops {
	const char *name; /* "sqlite" or "postgresql" */
	/* Open `target` (a path, or a libpq connection URI). */
	struct db *(*open)(const char *target, char *err, size_t errlen);
	void (*close)(struct db *);
	/* Run one statement; rows (if any) go to `cb` (may be NULL). */
	int (*query)(struct db *, const char *sql,
	    const struct db_value *params, int nparams, db_row_cb cb,
	    void *arg);
	/* Run several statements without parameters (schema text). */
	int (*exec_script)(struct db *, const char *sql);
	const char *(*error)(struct db *);
	bool (*unavailable)(struct db *);
	/* Reconnect if the connection was lost; 0 when usable. */
	int (*ping)(struct db *);
	/* Bytes the database takes on disk, or -1. */
	long long (*size)(struct db *);
};

/* The backends.  A backend's struct db starts with this header. */
struct db {
	const struct db_ops *ops;
};

extern const struct db_ops db_sqlite_ops;
extern const struct db_ops db_pg_ops;

/*
 * db_open: "sqlite:PATH" or a "postgresql://" / "postgres://" URI.
 * Returns NULL with a reason in `err`.  Close with db_close().
 */
struct db *db_open(const char *url, char *err, size_t errlen);
void db_close(struct db *db);

/* See struct db_ops. */
int db_query(struct db *db, const char *sql, const struct db_value *params,
    int nparams, db_row_cb cb, void *arg);
int db_exec(struct db *db, const char *sql, const struct db_value *params,
    int nparams);
int db_exec_script(struct db *db, const char *sql);
const char *db_error(struct db *db);
bool db_unavailable(struct db *db);
int db_ping(struct db *db);
long long db_size(struct db *db);
const char *db_backend(const struct db *db);

#endif /* CW_DB_H */
