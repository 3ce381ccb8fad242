/*
 * test_db.c -- the db.h contract, run over both backends: SQLite always
 * (a temporary file), PostgreSQL when CW_TEST_PG_URL names a database
 * (tests/scenario/db_pg.sh starts one and sets it).
 *
 * CW_TEST_DB_MODE=postgresql runs the PostgreSQL tests only.
 * With CW_TEST_DB_MODE=reconnect the program is instead a small driver
 * for that scenario: it opens CW_TEST_PG_URL and runs one command per
 * line of stdin ("query" or "ping"), answering one line per command
 * ("ok", "unavailable" or "error: ..."), so the script can stop and
 * start the server between commands.
 */
#include "config.h"

#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "db.h"

#define ROWS_MAX 16
#define COLS_MAX 8

/* One backend's connection, shared by the tests of its group. */
struct fixture {
	struct db *db;
	char path[64]; /* the SQLite file, or "" */
};

/* Rows copied out of the row callback. */
struct rows {
	int n;
	int ncol;
	int stop_after; /* stop after this many; 0: never */
	struct db_value v[ROWS_MAX][COLS_MAX];
};

static int
rows_collect(void *arg, const struct db_row *row)
{
	struct rows *rows = arg;

	assert_true(row->n <= COLS_MAX);
	if (rows->n < ROWS_MAX) {
		rows->ncol = row->n;
		for (int c = 0; c < row->n; c++) {
			struct db_value *v = &rows->v[rows->n][c];
			char *copy = NULL;

			*v = row->col[c];
			if (v->type == DB_TEXT || v->type == DB_BLOB) {
				assert_non_null(copy = malloc(v->len + 1));
				if (v->len > 0)
					memcpy(copy, v->p, v->len);
				copy[v->len] = '\0';
			}
			v->p = copy;
		}
	}
	rows->n++;
	return rows->stop_after > 0 && rows->n >= rows->stop_after;
}

static void
rows_free(struct rows *rows)
{
	for (int r = 0; r < rows->n && r < ROWS_MAX; r++)
		for (int c = 0; c < rows->ncol; c++)
			free((void *)rows->v[r][c].p);
	memset(rows, 0, sizeof(*rows));
}

/* The one value of a one-row, one-column integer query. */
static long long
query_int(struct db *db, const char *sql, const struct db_value *params,
    int nparams)
{
	struct rows rows = { 0 };
	long long i;

	if (db_query(db, sql, params, nparams, rows_collect, &rows) != 0)
		fail_msg("%s: %s", sql, db_error(db));
	assert_int_equal(rows.n, 1);
	assert_int_equal(rows.ncol, 1);
	assert_int_equal(rows.v[0][0].type, DB_INT);
	i = rows.v[0][0].i;
	rows_free(&rows);
	return i;
}

static void
exec_ok(struct db *db, const char *sql, const struct db_value *params,
    int nparams)
{
	if (db_exec(db, sql, params, nparams) != 0)
		fail_msg("%s: %s", sql, db_error(db));
}

static bool
is_pg(struct db *db)
{
	return strcmp(db_backend(db), "postgresql") == 0;
}

/* CREATE TABLE text with the backend's name for a blob column. */
static void
create_table(struct db *db, const char *name, const char *columns)
{
	char sql[512], drop[128];
	const char *blob = is_pg(db) ? "BYTEA" : "BLOB";
	const char *at;

	snprintf(drop, sizeof(drop), "DROP TABLE IF EXISTS %s", name);
	exec_ok(db, drop, NULL, 0);
	/* "@BLOB" in `columns` stands for the blob type. */
	if ((at = strstr(columns, "@BLOB")) != NULL)
		snprintf(sql, sizeof(sql), "CREATE TABLE %s (%.*s%s%s)", name,
		    (int)(at - columns), columns, blob, at + 5);
	else
		snprintf(sql, sizeof(sql), "CREATE TABLE %s (%s)", name,
		    columns);
	exec_ok(db, sql, NULL, 0);
}

static void
assert_bytes(const struct db_value *v, enum db_type type, const void *p,
    size_t len)
{
	assert_int_equal(v->type, type);
	assert_int_equal(v->len, len);
	if (len > 0)
		assert_memory_equal(v->p, p, len);
}

static void
test_roundtrip(void **state)
{
	struct fixture *fx = *state;
	static const unsigned char blob1[] = { 'a', 0, 'b', 0xff, 0 };
	unsigned char blob2[1000];
	char *big;
	struct rows rows = { 0 };
	size_t bigsize = 60 * 1024;

	for (size_t i = 0; i < sizeof(blob2); i++)
		blob2[i] = (unsigned char)(i * 7);
	assert_non_null(big = malloc(bigsize + 1));
	for (size_t i = 0; i < bigsize; i++)
		big[i] = (char)('a' + i % 26);
	big[bigsize] = '\0';
	create_table(fx->db, "t_rt",
	    "id BIGINT PRIMARY KEY, n INTEGER, "
	    "big BIGINT, r DOUBLE PRECISION, s TEXT, b @BLOB");
	const char *ins = "INSERT INTO t_rt (id, n, big, r, s, b) "
	                  "VALUES (?, ?, ?, ?, ?, ?)";
	struct db_value p1[] = { DB_V_INT(1), DB_V_INT(42), DB_V_INT(LLONG_MIN),
		DB_V_REAL(0.1), DB_V_TEXT("h\xc3\xa9llo ?"),
		DB_V_BLOB(blob1, sizeof(blob1)) };
	struct db_value p2[] = { DB_V_INT(2), DB_V_INT(-7), DB_V_INT(LLONG_MAX),
		DB_V_REAL(-1e300), DB_V_TEXTN(big, bigsize),
		DB_V_BLOB(blob2, sizeof(blob2)) };
	struct db_value p3[] = { DB_V_INT(3), DB_V_NULL, DB_V_NULL, DB_V_NULL,
		DB_V_NULL, DB_V_NULL };
	struct db_value p4[] = { DB_V_INT(4), DB_V_INT(0), DB_V_INT(0),
		DB_V_REAL(0), DB_V_TEXT(""), DB_V_BLOB("", 0) };
	exec_ok(fx->db, ins, p1, 6);
	exec_ok(fx->db, ins, p2, 6);
	exec_ok(fx->db, ins, p3, 6);
	exec_ok(fx->db, ins, p4, 6);

	assert_int_equal(db_query(fx->db,
	                     "SELECT id, n, big, r, s, b FROM t_rt "
	                     "ORDER BY id",
	                     NULL, 0, rows_collect, &rows),
	    0);
	assert_int_equal(rows.n, 4);
	assert_int_equal(rows.ncol, 6);

	assert_int_equal(rows.v[0][0].type, DB_INT);
	assert_int_equal(rows.v[0][0].i, 1);
	assert_int_equal(rows.v[0][1].i, 42);
	assert_true(rows.v[0][2].type == DB_INT && rows.v[0][2].i == LLONG_MIN);
	assert_int_equal(rows.v[0][3].type, DB_REAL);
	assert_true(rows.v[0][3].r == 0.1);
	assert_bytes(&rows.v[0][4], DB_TEXT, "h\xc3\xa9llo ?", 8);
	assert_bytes(&rows.v[0][5], DB_BLOB, blob1, sizeof(blob1));

	assert_int_equal(rows.v[1][1].i, -7);
	assert_true(rows.v[1][2].i == LLONG_MAX);
	assert_true(rows.v[1][3].r == -1e300);
	assert_bytes(&rows.v[1][4], DB_TEXT, big, bigsize);
	assert_bytes(&rows.v[1][5], DB_BLOB, blob2, sizeof(blob2));

	for (int c = 1; c < 6; c++)
		assert_int_equal(rows.v[2][c].type, DB_NULL);

	/* Empty is not NULL. */
	assert_int_equal(rows.v[3][1].type, DB_INT);
	assert_int_equal(rows.v[3][3].type, DB_REAL);
	assert_bytes(&rows.v[3][4], DB_TEXT, "", 0);
	assert_bytes(&rows.v[3][5], DB_BLOB, "", 0);
	rows_free(&rows);

	/* Parameters in WHERE: a blob and a long text find their rows. */
	struct db_value kb[] = { DB_V_BLOB(blob1, sizeof(blob1)) };
	assert_int_equal(query_int(fx->db, "SELECT id FROM t_rt WHERE b = ?",
	                     kb, 1),
	    1);
	struct db_value kt[] = { DB_V_TEXTN(big, bigsize) };
	assert_int_equal(query_int(fx->db, "SELECT id FROM t_rt WHERE s = ?",
	                     kt, 1),
	    2);
	free(big);
}

static void
test_stop_early(void **state)
{
	struct fixture *fx = *state;
	struct rows rows = { .stop_after = 3 };

	create_table(fx->db, "t_stop", "id BIGINT PRIMARY KEY, s TEXT");
	exec_ok(fx->db, "BEGIN", NULL, 0);
	for (int i = 0; i < 50; i++) {
		struct db_value p[] = { DB_V_INT(i), DB_V_TEXT("row") };
		exec_ok(fx->db, "INSERT INTO t_stop (id, s) VALUES (?, ?)", p,
		    2);
	}
	exec_ok(fx->db, "COMMIT", NULL, 0);

	/* Stopping is not an error, and the connection goes on. */
	assert_int_equal(db_query(fx->db,
	                     "SELECT id, s FROM t_stop ORDER BY id", NULL, 0,
	                     rows_collect, &rows),
	    0);
	assert_int_equal(rows.n, 3);
	assert_int_equal(rows.v[2][0].i, 2);
	rows_free(&rows);
	assert_int_equal(query_int(fx->db, "SELECT count(*) FROM t_stop", NULL,
	                     0),
	    50);

	/* Inside a transaction, a stop leaves the transaction usable. */
	exec_ok(fx->db, "BEGIN", NULL, 0);
	rows.stop_after = 1;
	assert_int_equal(db_query(fx->db, "SELECT id FROM t_stop", NULL, 0,
	                     rows_collect, &rows),
	    0);
	assert_int_equal(rows.n, 1);
	rows_free(&rows);
	struct db_value p[] = { DB_V_INT(100), DB_V_NULL };
	exec_ok(fx->db, "INSERT INTO t_stop (id, s) VALUES (?, ?)", p, 2);
	exec_ok(fx->db, "COMMIT", NULL, 0);
	assert_int_equal(query_int(fx->db, "SELECT count(*) FROM t_stop", NULL,
	                     0),
	    51);

	/* A write with RETURNING is whole even when its rows are not read. */
	rows.stop_after = 1;
	struct db_value q[] = { DB_V_INT(200), DB_V_INT(201), DB_V_INT(202) };
	assert_int_equal(db_query(fx->db,
	                     "INSERT INTO t_stop (id) VALUES (?), "
	                     "(?), (?) RETURNING id",
	                     q, 3, rows_collect, &rows),
	    0);
	assert_int_equal(rows.n, 1);
	rows_free(&rows);
	assert_int_equal(query_int(fx->db, "SELECT count(*) FROM t_stop", NULL,
	                     0),
	    54);
}

static void
test_sql_error(void **state)
{
	struct fixture *fx = *state;

	assert_int_equal(db_query(fx->db, "SELEKT 1", NULL, 0, NULL, NULL), -1);
	assert_true(db_error(fx->db)[0] != '\0');
	assert_false(db_unavailable(fx->db));
	assert_int_equal(query_int(fx->db, "SELECT 1", NULL, 0), 1);

	create_table(fx->db, "t_err", "id BIGINT PRIMARY KEY");
	struct db_value p[] = { DB_V_INT(1) };
	exec_ok(fx->db, "INSERT INTO t_err (id) VALUES (?)", p, 1);
	assert_int_equal(db_exec(fx->db, "INSERT INTO t_err (id) VALUES (?)", p,
	                     1),
	    -1);
	assert_true(db_error(fx->db)[0] != '\0');
	assert_false(db_unavailable(fx->db));
	assert_int_equal(db_exec(fx->db, "SELECT * FROM t_no_such_table", NULL,
	                     0),
	    -1);
	assert_false(db_unavailable(fx->db));
	assert_int_equal(query_int(fx->db, "SELECT count(*) FROM t_err", NULL,
	                     0),
	    1);
	/* ON CONFLICT DO NOTHING, as store.c uses it. */
	exec_ok(fx->db,
	    "INSERT INTO t_err (id) VALUES (?) "
	    "ON CONFLICT DO NOTHING",
	    p, 1);
}

static void
test_literal_placeholder(void **state)
{
	struct fixture *fx = *state;
	struct rows rows = { 0 };

	create_table(fx->db, "t_q", "id BIGINT, s TEXT, \"odd?name\" TEXT");
	struct db_value p[] = { DB_V_INT(7), DB_V_TEXT("x?") };
	exec_ok(fx->db,
	    "INSERT INTO t_q (id, s, \"odd?name\") "
	    "VALUES (?, 'it''s ?', ?)",
	    p, 2);
	struct db_value k[] = { DB_V_INT(7) };
	assert_int_equal(
	    db_query(fx->db,
	        "SELECT s, \"odd?name\", '?' "
	        "FROM t_q /* ? */ WHERE id = ? AND s <> '?' -- why?\n",
	        k, 1, rows_collect, &rows),
	    0);
	assert_int_equal(rows.n, 1);
	assert_bytes(&rows.v[0][0], DB_TEXT, "it's ?", 6);
	assert_bytes(&rows.v[0][1], DB_TEXT, "x?", 2);
	assert_bytes(&rows.v[0][2], DB_TEXT, "?", 1);
	rows_free(&rows);
}

static void
test_script_and_size(void **state)
{
	struct fixture *fx = *state;

	assert_int_equal(
	    db_exec_script(fx->db,
	        "DROP TABLE IF EXISTS t_script;\n"
	        "CREATE TABLE t_script (id BIGINT PRIMARY KEY, s TEXT);\n"
	        "INSERT INTO t_script (id, s) VALUES (1, 'a;b');\n"
	        "INSERT INTO t_script (id, s) VALUES (2, '?');\n"),
	    0);
	assert_int_equal(query_int(fx->db, "SELECT count(*) FROM t_script",
	                     NULL, 0),
	    2);
	assert_int_equal(db_exec_script(fx->db, "SELEKT 1;"), -1);
	assert_true(db_error(fx->db)[0] != '\0');
	assert_false(db_unavailable(fx->db));
	assert_true(db_size(fx->db) > 0);
	assert_int_equal(db_ping(fx->db), 0);
}

/* PostgreSQL only: text with a NUL cannot go as a text parameter. */
static void
test_pg_nul_text(void **state)
{
	struct fixture *fx = *state;

	struct db_value p[] = { DB_V_TEXTN("a\0b", 3) };
	assert_int_equal(db_query(fx->db, "SELECT CAST(? AS TEXT)", p, 1, NULL,
	                     NULL),
	    -1);
	assert_non_null(strstr(db_error(fx->db), "NUL"));
	assert_false(db_unavailable(fx->db));
	struct db_value q[] = { DB_V_TEXT("ab") };
	assert_int_equal(db_query(fx->db, "SELECT CAST(? AS TEXT)", q, 1, NULL,
	                     NULL),
	    0);
}

/* PostgreSQL only: the number of placeholders is checked. */
static void
test_pg_param_count(void **state)
{
	struct fixture *fx = *state;

	struct db_value p[] = { DB_V_INT(1), DB_V_INT(2) };
	assert_int_equal(db_exec(fx->db, "SELECT CAST(? AS BIGINT)", p, 2), -1);
	assert_non_null(strstr(db_error(fx->db), "placeholders"));
	assert_false(db_unavailable(fx->db));
	assert_int_equal(query_int(fx->db, "SELECT CAST(? AS BIGINT) + 1", p,
	                     1),
	    2);
	/* bool and numeric come out as numbers. */
	struct rows rows = { 0 };
	assert_int_equal(db_query(fx->db,
	                     "SELECT true, false, "
	                     "CAST(2.5 AS NUMERIC), CAST(7 AS SMALLINT)",
	                     NULL, 0, rows_collect, &rows),
	    0);
	assert_int_equal(rows.v[0][0].type, DB_INT);
	assert_int_equal(rows.v[0][0].i, 1);
	assert_int_equal(rows.v[0][1].i, 0);
	assert_int_equal(rows.v[0][2].type, DB_REAL);
	assert_true(rows.v[0][2].r == 2.5);
	assert_int_equal(rows.v[0][3].type, DB_INT);
	assert_int_equal(rows.v[0][3].i, 7);
	rows_free(&rows);
}

/* Without a server: failures to open say why, and never the password. */
static void
test_pg_open_fails(void **state)
{
	static const char *const urls[] = {
		("postgresql://cwuser:s3cretpw@/nodb?host=/nonexistent-cw"
		 "&connect_timeout=2"),
		"postgresql://cwuser:s3cretpw@[::1/nodb",
		"postgres:///nodb?host=/nonexistent-cw&password=s3cretpw%zz",
		"postgresql:///nodb?host=/nonexistent-cw&no_such_option=1",
	};
	char err[512];

	(void)state;
	for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		err[0] = '\0';
		assert_null(db_open(urls[i], err, sizeof(err)));
		assert_non_null(strstr(err, "postgresql"));
		if (strstr(err, "s3cret") != NULL)
			fail_msg("password in \"%s\"", err);
		assert_null(strchr(err, '\n'));
	}
	assert_null(db_open("mysql://x", err, sizeof(err)));
}

static int
setup_sqlite(void **state)
{
	static struct fixture fx;
	char url[128], err[512];
	int fd;

	snprintf(fx.path, sizeof(fx.path), "/tmp/cw-test-db.XXXXXX");
	if ((fd = mkstemp(fx.path)) == -1)
		return -1;
	close(fd);
	snprintf(url, sizeof(url), "sqlite:%s", fx.path);
	if ((fx.db = db_open(url, err, sizeof(err))) == NULL) {
		print_error("sqlite: %s\n", err);
		unlink(fx.path);
		return -1;
	}
	*state = &fx;
	return 0;
}

static int
setup_pg(void **state)
{
	static struct fixture fx;
	char err[512];

	if ((fx.db = db_open(getenv("CW_TEST_PG_URL"), err, sizeof(err))) ==
	    NULL) {
		print_error("postgresql: %s\n", err);
		return -1;
	}
	*state = &fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;
	char path[80];

	db_close(fx->db);
	if (fx->path[0] != '\0') {
		unlink(fx->path);
		snprintf(path, sizeof(path), "%s-wal", fx->path);
		unlink(path);
		snprintf(path, sizeof(path), "%s-shm", fx->path);
		unlink(path);
		snprintf(path, sizeof(path), "%s-journal", fx->path);
		unlink(path);
	}
	return 0;
}

/* The driver of tests/scenario/db_pg.sh (see the top of the file). */
static int
reconnect_driver(void)
{
	struct db *db;
	char err[512], line[64];
	const char *url = getenv("CW_TEST_PG_URL");
	int rc;

	if (url == NULL || (db = db_open(url, err, sizeof(err))) == NULL) {
		printf("error: %s\n", url == NULL ? "no CW_TEST_PG_URL" : err);
		return 1;
	}
	printf("open\n");
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (strcmp(line, "query") == 0)
			rc = db_exec(db, "SELECT 1", NULL, 0);
		else if (strcmp(line, "ping") == 0)
			rc = db_ping(db);
		else if (strcmp(line, "quit") == 0)
			break;
		else {
			printf("error: unknown command \"%s\"\n", line);
			fflush(stdout);
			continue;
		}
		if (rc == 0)
			printf("ok\n");
		else if (db_unavailable(db))
			printf("unavailable\n");
		else
			printf("error: %s\n", db_error(db));
		fflush(stdout);
	}
	db_close(db);
	return 0;
}

#define COMMON_TESTS \
	cmocka_unit_test(test_roundtrip), cmocka_unit_test(test_stop_early), \
	    cmocka_unit_test(test_sql_error), \
	    cmocka_unit_test(test_literal_placeholder), \
	    cmocka_unit_test(test_script_and_size)

int
main(void)
{
	const struct CMUnitTest sqlite_tests[] = {
		COMMON_TESTS,
	};
	const struct CMUnitTest pg_tests[] = {
		COMMON_TESTS,
		cmocka_unit_test(test_pg_nul_text),
		cmocka_unit_test(test_pg_param_count),
	};
	const struct CMUnitTest offline_tests[] = {
		cmocka_unit_test(test_pg_open_fails),
	};
	const char *mode = getenv("CW_TEST_DB_MODE");
	int failed = 0;

	if (mode != NULL && strcmp(mode, "reconnect") == 0)
		return reconnect_driver();
	/* CW_TEST_DB_MODE=postgresql: the PostgreSQL groups only. */
	if (mode == NULL || strcmp(mode, "postgresql") != 0)
		failed += cmocka_run_group_tests_name("sqlite", sqlite_tests,
		    setup_sqlite, teardown);
	failed += cmocka_run_group_tests_name("postgresql-offline",
	    offline_tests, NULL, NULL);
	if (getenv("CW_TEST_PG_URL") != NULL)
		failed += cmocka_run_group_tests_name("postgresql", pg_tests,
		    setup_pg, teardown);
	else if (mode != NULL) {
		print_error("CW_TEST_PG_URL is not set\n");
		failed++;
	} else
		printf("postgresql: CW_TEST_PG_URL is not set; the server "
		       "tests run in tests/scenario/db_pg.sh\n");
	return failed != 0;
}
