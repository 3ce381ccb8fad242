/*
 * store_pg.c -- the PostgreSQL backend of db.h, through libpq.
 *
 * `?` placeholders become $1..$n.  Parameters go as text (integers,
 * reals, text) or binary (blobs); results come back as text, one row at
 * a time (single-row mode, so a large result is never held whole), with
 * bytea columns unescaped into raw bytes.
 *
 * A row callback that stops early does not cancel the statement: the
 * remaining rows are read and dropped.  A cancel would abort the
 * enclosing transaction, or undo an INSERT ... RETURNING, where SQLite
 * keeps both.
 *
 * Numbers are formatted and parsed with the C library in the "C" locale
 * (corewatch never calls setlocale()), which is what PostgreSQL expects.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "db.h"
#include "log.h"

/* Type oids, from the server's catalog/pg_type.h (not in libpq-dev). */
#define PG_OID_BOOL    16
#define PG_OID_BYTEA   17
#define PG_OID_INT8    20
#define PG_OID_INT2    21
#define PG_OID_INT4    23
#define PG_OID_FLOAT4  700
#define PG_OID_FLOAT8  701
#define PG_OID_NUMERIC 1700

/* Seconds to wait for a connection, unless the URI says otherwise. */
#define PG_CONNECT_TIMEOUT "5"
/* The protocol's limit on parameters per statement. */
#define PG_MAX_PARAMS 65535

/* Statements prepared on the server, by their SQL: parsed and planned
 * once per session instead of at every call (a multi-row INSERT takes
 * the server longer to parse than to run). */
#define PG_STMT_CACHE 64

struct pg_stmt {
	char *sql; /* as the caller wrote it */
	char name[16];
};

struct pg_db {
	struct db db;
	PGconn *conn;
	bool unavailable; /* the last failure lost the server */
	char err[512];
	struct pg_stmt stmt[PG_STMT_CACHE];
	int nstmt;
	int evict;       /* the slot to reuse when full */
	unsigned serial; /* for statement names */
};

/* A statement's parameters in libpq's form. */
struct pg_params {
	Oid *types;
	const char **values;
	int *lengths;
	int *formats;
	char **owned; /* text we made for values[i], or NULL */
	int n;
};

/* The columns of the row being delivered. */
struct pg_row {
	struct db_value *col;
	unsigned char **owned; /* unescaped bytea, freed per row */
	int n;
};

/*
 * Copy a libpq message into `buf`: line breaks (and the tabs that indent
 * libpq's hint lines) become "; ", trailing white space goes.
 */
static void
pg_message_copy(char *buf, size_t size, const char *msg)
{
	size_t o = 0;

	while (*msg != '\0' && o + 1 < size) {
		if (*msg == '\n') {
			while (*msg == '\n' || *msg == '\t' || *msg == ' ')
				msg++;
			if (*msg != '\0' && o + 3 < size) {
				buf[o++] = ';';
				buf[o++] = ' ';
			}
			continue;
		}
		buf[o++] = *msg++;
	}
	while (o > 0 && (buf[o - 1] == ' ' || buf[o - 1] == '\t'))
		o--;
	buf[o] = '\0';
}

static void __attribute__((format(printf, 2, 3)))
pg_error_set(struct pg_db *pg, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(pg->err, sizeof(pg->err), fmt, ap);
	va_end(ap);
}

/* A failure of the connection itself: libpq's message, and whether the
 * server is gone. */
static int
pg_fail_conn(struct pg_db *pg)
{
	pg_message_copy(pg->err, sizeof(pg->err), PQerrorMessage(pg->conn));
	if (pg->err[0] == '\0')
		pg_error_set(pg, "postgresql: unknown libpq failure");
	pg->unavailable = PQstatus(pg->conn) != CONNECTION_OK;
	return -1;
}

/* A failed result (which may be NULL): its message, else the
 * connection's. */
static int
pg_fail_result(struct pg_db *pg, const PGresult *res)
{
	const char *msg = res != NULL ? PQresultErrorMessage(res) : "";

	if (msg[0] == '\0')
		return pg_fail_conn(pg);
	pg_message_copy(pg->err, sizeof(pg->err), msg);
	pg->unavailable = PQstatus(pg->conn) != CONNECTION_OK;
	return -1;
}

/*
 * Replace every occurrence of the `len` bytes at `secret` in `buf` (a
 * string of at most `size` bytes) with "***".
 */
static void
pg_redact(char *buf, size_t size, const char *secret, size_t len)
{
	char out[1024];
	size_t o = 0;
	const char *s = buf;

	if (len == 0)
		return;
	while (*s != '\0' && o + 1 < sizeof(out)) {
		if (strncmp(s, secret, len) == 0) {
			if (o + 4 >= sizeof(out))
				break;
			memcpy(out + o, "***", 3);
			o += 3;
			s += len;
		} else
			out[o++] = *s++;
	}
	if (o >= size)
		o = size - 1;
	memcpy(buf, out, o);
	buf[o] = '\0';
}

/*
 * Remove the passwords written in a connection URI from a message about
 * it: "user:PASSWORD@" in the authority and "password=PASSWORD" in the
 * query.  libpq never prints a password itself, but its URI syntax errors
 * quote pieces of the URI.
 */
static void
pg_redact_uri(char *buf, size_t size, const char *uri)
{
	const char *auth, *end, *at, *colon, *q, *v;

	if ((auth = strstr(uri, "://")) != NULL) {
		auth += 3;
		end = auth + strcspn(auth, "/?");
		at = NULL;
		for (const char *c = auth; c < end; c++)
			if (*c == '@')
				at = c;
		colon = at != NULL ? memchr(auth, ':', at - auth) : NULL;
		if (colon != NULL)
			pg_redact(buf, size, colon + 1, at - colon - 1);
	}
	for (q = strchr(uri, '?'); q != NULL; q = strchr(q + 1, '&')) {
		if (strncmp(q + 1, "password=", 9) != 0)
			continue;
		v = q + 10;
		pg_redact(buf, size, v, strcspn(v, "&"));
	}
}

/* Notices (e.g. "table does not exist, skipping") go to the debug log,
 * not to libpq's default, stderr. */
static void
pg_notice(void *arg, const char *message)
{
	char msg[512];

	(void)arg;
	pg_message_copy(msg, sizeof(msg), message);
	log_debug("postgresql: %s", msg);
}

/* What every new session (first connection or reset) needs. */
static int
pg_session_setup(struct pg_db *pg)
{
	PGresult *res;
	int rc = 0;

	res = PQexec(pg->conn, "SET synchronous_commit = on");
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		rc = pg_fail_result(pg, res);
	PQclear(res);
	return rc;
}

/* Forget the prepared statements (the session that had them is gone,
 * or is going). */
static void
pg_stmt_forget(struct pg_db *pg)
{
	for (int i = 0; i < pg->nstmt; i++)
		free(pg->stmt[i].sql);
	pg->nstmt = 0;
	pg->evict = 0;
}

static void
pg_close(struct db *db)
{
	struct pg_db *pg = (struct pg_db *)db;

	pg_stmt_forget(pg);
	PQfinish(pg->conn);
	free(pg);
}

/*
 * Connect to `target`, a postgresql:// URI.  connect_timeout is 5 s unless
 * the URI sets it (the keywords after the expanded URI override it, the
 * ones before are overridden); client_encoding is always UTF8.
 */
static struct db *
pg_open(const char *target, char *err, size_t errlen)
{
	static const char *const keys[] = { "connect_timeout", "dbname",
		"client_encoding", NULL };
	const char *vals[] = { PG_CONNECT_TIMEOUT, target, "UTF8", NULL };
	struct pg_db *pg;
	PGconn *conn;

	if ((conn = PQconnectdbParams(keys, vals, 1)) == NULL) {
		snprintf(err, errlen, "postgresql: out of memory");
		return NULL;
	}
	if (PQstatus(conn) != CONNECTION_OK) {
		char msg[512];

		pg_message_copy(msg, sizeof(msg), PQerrorMessage(conn));
		pg_redact_uri(msg, sizeof(msg), target);
		snprintf(err, errlen, "postgresql: cannot connect: %s", msg);
		PQfinish(conn);
		return NULL;
	}
	PQsetErrorVerbosity(conn, PQERRORS_TERSE);
	PQsetNoticeProcessor(conn, pg_notice, NULL);
	if ((pg = calloc(1, sizeof(*pg))) == NULL) {
		snprintf(err, errlen, "postgresql: out of memory");
		PQfinish(conn);
		return NULL;
	}
	pg->db.ops = &db_pg_ops;
	pg->conn = conn;
	if (pg_session_setup(pg) == -1) {
		snprintf(err, errlen, "postgresql: session setup: %s", pg->err);
		pg_close(&pg->db);
		return NULL;
	}
	return &pg->db;
}

/*
 * Scan `sql` for `?` placeholders outside quoted literals, identifiers
 * and comments ('' inside a literal is two quotes, which the scan reads
 * as closing and opening again; E'...' escapes and $$ quoting are not
 * understood: do not put a `?` in them).  With `out` non-NULL, write the statement there with
 * $1..$n instead.  Returns the number of placeholders.
 */
static int
pg_placeholders(const char *sql, char *out)
{
	const char *s = sql;
	char quote = 0;
	int n = 0;

	while (*s != '\0') {
		if (quote != 0) {
			if (*s == quote)
				quote = 0;
		} else if (*s == '\'' || *s == '"') {
			quote = *s;
		} else if (s[0] == '-' && s[1] == '-') {
			size_t len = strcspn(s, "\n");

			if (out != NULL)
				out += sprintf(out, "%.*s", (int)len, s);
			s += len;
			continue;
		} else if (s[0] == '/' && s[1] == '*') {
			const char *e = strstr(s + 2, "*/");
			size_t len = e != NULL ? (size_t)(e + 2 - s) :
			                         strlen(s);

			if (out != NULL)
				out += sprintf(out, "%.*s", (int)len, s);
			s += len;
			continue;
		} else if (*s == '?') {
			n++;
			if (out != NULL)
				out += sprintf(out, "$%d", n);
			s++;
			continue;
		}
		if (out != NULL)
			*out++ = *s;
		s++;
	}
	if (out != NULL)
		*out = '\0';
	return n;
}

/* `sql` with numbered placeholders (free it), or NULL when their number
 * is not `nparams`. */
static char *
pg_number(struct pg_db *pg, const char *sql, int nparams)
{
	int n;
	char *out;

	n = pg_placeholders(sql, NULL);
	if (n != nparams) {
		pg_error_set(pg,
		    "postgresql: statement has %d placeholders "
		    "but %d parameters",
		    n, nparams);
		return NULL;
	}
	/* "$65535" is 6 bytes where "?" was 1. */
	if ((out = malloc(strlen(sql) + (size_t)n * 5 + 1)) == NULL) {
		pg_error_set(pg, "postgresql: out of memory");
		return NULL;
	}
	pg_placeholders(sql, out);
	return out;
}

static void
pg_params_free(struct pg_params *pp)
{
	for (int i = 0; i < pp->n && pp->owned != NULL; i++)
		free(pp->owned[i]);
	free(pp->owned);
	free(pp->types);
	free(pp->values);
	free(pp->lengths);
	free(pp->formats);
	memset(pp, 0, sizeof(*pp));
}

/* Parameter `i` as text in pp->owned[i]. */
static int
pg_param_text(struct pg_db *pg, struct pg_params *pp, int i,
    const struct db_value *v)
{
	char *s;

	switch (v->type) {
	case DB_INT:
		if ((s = malloc(24)) != NULL)
			snprintf(s, 24, "%lld", v->i);
		break;
	case DB_REAL:
		if ((s = malloc(32)) != NULL)
			snprintf(s, 32, "%.17g", v->r);
		break;
	default:
		/* libpq takes the length of a text parameter from its NUL. */
		if (v->len > 0 && memchr(v->p, '\0', v->len) != NULL) {
			pg_error_set(pg,
			    "postgresql: text parameter %d "
			    "contains a NUL byte",
			    i + 1);
			return -1;
		}
		if ((s = malloc(v->len + 1)) != NULL) {
			if (v->len > 0)
				memcpy(s, v->p, v->len);
			s[v->len] = '\0';
		}
		break;
	}
	if (s == NULL) {
		pg_error_set(pg, "postgresql: out of memory");
		return -1;
	}
	pp->owned[i] = s;
	pp->values[i] = s;
	pp->lengths[i] = (int)strlen(s);
	return 0;
}

static int
pg_params_build(struct pg_db *pg, struct pg_params *pp,
    const struct db_value *params, int n)
{
	memset(pp, 0, sizeof(*pp));
	if (n == 0)
		return 0;
	pp->n = n;
	pp->types = calloc(n, sizeof(*pp->types));
	pp->values = calloc(n, sizeof(*pp->values));
	pp->lengths = calloc(n, sizeof(*pp->lengths));
	pp->formats = calloc(n, sizeof(*pp->formats));
	pp->owned = calloc(n, sizeof(*pp->owned));
	if (pp->types == NULL || pp->values == NULL || pp->lengths == NULL ||
	    pp->formats == NULL || pp->owned == NULL) {
		pg_error_set(pg, "postgresql: out of memory");
		goto fail;
	}
	for (int i = 0; i < n; i++) {
		const struct db_value *v = &params[i];

		switch (v->type) {
		case DB_NULL:
			break;
		case DB_INT:
		case DB_REAL:
		case DB_TEXT:
			/* The type is left to the server to infer. */
			if (pg_param_text(pg, pp, i, v) == -1)
				goto fail;
			break;
		case DB_BLOB:
			if (v->len > (size_t)0x7fffffff) {
				pg_error_set(pg,
				    "postgresql: blob parameter "
				    "%d too large",
				    i + 1);
				goto fail;
			}
			pp->types[i] = PG_OID_BYTEA;
			pp->values[i] = v->len > 0 ? v->p : "";
			pp->lengths[i] = (int)v->len;
			pp->formats[i] = 1;
			break;
		default:
			pg_error_set(pg,
			    "postgresql: parameter %d has an "
			    "unknown type %d",
			    i + 1, (int)v->type);
			goto fail;
		}
	}
	return 0;
fail:
	pg_params_free(pp);
	return -1;
}

/* Free the bytea buffers of the row just delivered. */
static void
pg_row_release(struct pg_row *row)
{
	for (int c = 0; c < row->n; c++) {
		if (row->owned[c] != NULL)
			PQfreemem(row->owned[c]);
		row->owned[c] = NULL;
	}
}

/* Convert row `r` of `res` into row->col. */
static int
pg_row_fill(struct pg_db *pg, const PGresult *res, int r, struct pg_row *row)
{
	for (int c = 0; c < row->n; c++) {
		struct db_value *v = &row->col[c];
		const char *text = PQgetvalue(res, r, c);

		memset(v, 0, sizeof(*v));
		if (PQgetisnull(res, r, c)) {
			v->type = DB_NULL;
			continue;
		}
		switch (PQftype(res, c)) {
		case PG_OID_INT2:
		case PG_OID_INT4:
		case PG_OID_INT8:
			v->type = DB_INT;
			v->i = strtoll(text, NULL, 10);
			break;
		case PG_OID_FLOAT4:
		case PG_OID_FLOAT8:
		case PG_OID_NUMERIC:
			v->type = DB_REAL;
			v->r = strtod(text, NULL);
			break;
		case PG_OID_BOOL:
			v->type = DB_INT;
			v->i = text[0] == 't';
			break;
		case PG_OID_BYTEA:
			row->owned[c] = PQunescapeBytea(
			    (const unsigned char *)text, &v->len);
			if (row->owned[c] == NULL) {
				pg_row_release(row);
				pg_error_set(pg, "postgresql: out of memory");
				return -1;
			}
			v->type = DB_BLOB;
			v->p = row->owned[c];
			break;
		default:
			v->type = DB_TEXT;
			v->p = text;
			v->len = (size_t)PQgetlength(res, r, c);
			break;
		}
	}
	return 0;
}

/* Hand the rows of `res` to `cb` until it asks to stop. */
static int
pg_deliver(struct pg_db *pg, const PGresult *res, struct pg_row *row,
    db_row_cb cb, void *arg, bool *stopped)
{
	struct db_row out;
	int nt = PQntuples(res);

	if (nt == 0)
		return 0;
	if (row->col == NULL) {
		row->n = PQnfields(res);
		row->col = calloc(row->n + 1, sizeof(*row->col));
		row->owned = calloc(row->n + 1, sizeof(*row->owned));
		if (row->col == NULL || row->owned == NULL) {
			pg_error_set(pg, "postgresql: out of memory");
			return -1;
		}
	}
	for (int r = 0; r < nt && !*stopped; r++) {
		if (pg_row_fill(pg, res, r, row) == -1)
			return -1;
		out.col = row->col;
		out.n = row->n;
		if (cb(arg, &out) != 0)
			*stopped = true;
		pg_row_release(row);
	}
	return 0;
}

/*
 * Read every result of the statement sent, rows to `cb`.  All results
 * are read even after a failure or a stop, so the connection is ready
 * for the next statement.  Returns 0 or -1 (the first failure).
 */
static int
pg_results(struct pg_db *pg, db_row_cb cb, void *arg)
{
	struct pg_row row = { 0 };
	PGresult *res;
	bool stopped = cb == NULL;
	int rc = 0;
	char *copy;

	while ((res = PQgetResult(pg->conn)) != NULL) {
		switch (PQresultStatus(res)) {
		case PGRES_SINGLE_TUPLE:
		case PGRES_TUPLES_OK:
			if (rc == 0 && !stopped &&
			    pg_deliver(pg, res, &row, cb, arg, &stopped) == -1)
				rc = -1;
			break;
		case PGRES_COMMAND_OK:
		case PGRES_EMPTY_QUERY:
			break;
		case PGRES_COPY_IN:
			/* Not supported: end it; the server then fails it. */
			PQputCopyEnd(pg->conn,
			    "COPY FROM STDIN is not "
			    "supported here");
			break;
		case PGRES_COPY_OUT:
			while (PQgetCopyData(pg->conn, &copy, 0) > 0)
				PQfreemem(copy);
			break;
		default:
			if (rc == 0)
				rc = pg_fail_result(pg, res);
			break;
		}
		PQclear(res);
	}
	free(row.col);
	free(row.owned);
	if (rc == -1)
		pg->unavailable = PQstatus(pg->conn) != CONNECTION_OK;
	return rc;
}

/*
 * The name of the statement prepared for `sql`, preparing it now if
 * needed (evicting the oldest when the cache is full).  NULL when it
 * cannot be prepared: the caller then reports the error.
 */
static const char *
pg_stmt_get(struct pg_db *pg, const char *sql, const char *numbered,
    const struct pg_params *pp, int nparams)
{
	struct pg_stmt *st = NULL;
	PGresult *res;
	char name[16];

	for (int i = 0; i < pg->nstmt; i++)
		if (strcmp(pg->stmt[i].sql, sql) == 0)
			return pg->stmt[i].name;
	snprintf(name, sizeof(name), "cw%u", ++pg->serial);
	res = PQprepare(pg->conn, name, numbered, nparams, pp->types);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		pg_fail_result(pg, res);
		PQclear(res);
		return NULL;
	}
	PQclear(res);
	if (pg->nstmt < PG_STMT_CACHE)
		st = &pg->stmt[pg->nstmt++];
	else {
		char dealloc[48];
		st = &pg->stmt[pg->evict];
		pg->evict = (pg->evict + 1) % PG_STMT_CACHE;
		snprintf(dealloc, sizeof(dealloc), "DEALLOCATE %s", st->name);
		PQclear(PQexec(pg->conn, dealloc));
		free(st->sql);
		st->sql = NULL;
	}
	if ((st->sql = strdup(sql)) == NULL) {
		/* Forget the slot; the statement stays on the server. */
		*st = pg->stmt[--pg->nstmt];
		pg_error_set(pg, "postgresql: out of memory");
		return NULL;
	}
	memcpy(st->name, name, sizeof(name));
	return st->name;
}

static int
pg_query(struct db *db, const char *sql, const struct db_value *params,
    int nparams, db_row_cb cb, void *arg)
{
	struct pg_db *pg = (struct pg_db *)db;
	struct pg_params pp;
	char *numbered;
	int rc;

	pg->unavailable = false;
	if (nparams < 0 || nparams > PG_MAX_PARAMS) {
		pg_error_set(pg, "postgresql: %d parameters", nparams);
		return -1;
	}
	if ((numbered = pg_number(pg, sql, nparams)) == NULL)
		return -1;
	if (pg_params_build(pg, &pp, params, nparams) == -1) {
		free(numbered);
		return -1;
	}
	const char *name = pg_stmt_get(pg, sql, numbered, &pp, nparams);
	if (name == NULL) {
		if (PQstatus(pg->conn) != CONNECTION_OK)
			pg->unavailable = true;
		rc = -1;
	} else if (!PQsendQueryPrepared(pg->conn, name, nparams, pp.values,
	               pp.lengths, pp.formats, 0))
		rc = pg_fail_conn(pg);
	else {
		/* Should it fail, the rows come in one result: still right. */
		(void)PQsetSingleRowMode(pg->conn);
		rc = pg_results(pg, cb, arg);
	}
	pg_params_free(&pp);
	free(numbered);
	return rc;
}

static int
pg_exec_script(struct db *db, const char *sql)
{
	struct pg_db *pg = (struct pg_db *)db;
	PGresult *res;
	int rc = 0;

	pg->unavailable = false;
	res = PQexec(pg->conn, sql);
	switch (PQresultStatus(res)) {
	case PGRES_COMMAND_OK:
	case PGRES_TUPLES_OK:
	case PGRES_EMPTY_QUERY:
		break;
	default:
		rc = pg_fail_result(pg, res);
		break;
	}
	PQclear(res);
	return rc;
}

static const char *
pg_error(struct db *db)
{
	return ((struct pg_db *)db)->err;
}

static bool
pg_unavailable(struct db *db)
{
	return ((struct pg_db *)db)->unavailable;
}

/*
 * A connection that looks fine may have lost its server since it was
 * last used: try an empty statement (one round trip) first, and reset
 * the connection when that fails.
 */
static int
pg_ping(struct db *db)
{
	struct pg_db *pg = (struct pg_db *)db;
	PGresult *res;
	bool ok;

	if (PQstatus(pg->conn) == CONNECTION_OK) {
		res = PQexec(pg->conn, "");
		ok = PQresultStatus(res) == PGRES_EMPTY_QUERY;
		if (!ok && PQstatus(pg->conn) == CONNECTION_OK) {
			pg_fail_result(pg, res);
			PQclear(res);
			return -1;
		}
		PQclear(res);
		if (ok) {
			pg->unavailable = false;
			return 0;
		}
	}
	pg_stmt_forget(pg);
	PQreset(pg->conn);
	if (PQstatus(pg->conn) != CONNECTION_OK)
		return pg_fail_conn(pg);
	pg->unavailable = false;
	return pg_session_setup(pg);
}

static int
pg_size_row(void *arg, const struct db_row *row)
{
	long long *size = arg;

	if (row->n == 1 && row->col[0].type == DB_INT)
		*size = row->col[0].i;
	return 0;
}

static long long
pg_size(struct db *db)
{
	long long size = -1;

	if (pg_query(db, "SELECT pg_database_size(current_database())", NULL, 0,
	        pg_size_row, &size) == -1)
		return -1;
	return size;
}

const struct db_ops db_pg_ops = {
	.name = "postgresql",
	.open = pg_open,
	.close = pg_close,
	.query = pg_query,
	.exec_script = pg_exec_script,
	.error = pg_error,
	.unavailable = pg_unavailable,
	.ping = pg_ping,
	.size = pg_size,
};
