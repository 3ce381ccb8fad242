/*
 * sqlscan.c -- the CSV export benchmark's floor: SQLite alone stepping
 * through the rows of a query and fetching every column, with nothing
 * done with them (no formatting, no output).
 *
 *   sqlscan DBFILE SQL
 *
 * The database is opened read-only with the collector's own read
 * settings (mmap_size).  Prints "N rows in S s: R rows/s".
 */
#include "config.h"

#include <stdio.h>
#include <time.h>

#include <sqlite3.h>

static double
ss_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	long long rows = 0, sink = 0;
	double t0, t;
	int ncol, rc;

	if (argc != 3) {
		fprintf(stderr, "usage: sqlscan DBFILE SQL\n");
		return 2;
	}
	if (sqlite3_open_v2(argv[1], &db, SQLITE_OPEN_READONLY, NULL) !=
	        SQLITE_OK ||
	    sqlite3_exec(db, "PRAGMA mmap_size=268435456", NULL, NULL, NULL) !=
	        SQLITE_OK ||
	    sqlite3_prepare_v2(db, argv[2], -1, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "sqlscan: %s\n", sqlite3_errmsg(db));
		sqlite3_close(db);
		return 1;
	}
	ncol = sqlite3_column_count(st);
	t0 = ss_now();
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		rows++;
		/* Each column read as a collector reads it: text as text,
		 * numbers as numbers. */
		for (int i = 0; i < ncol; i++) {
			if (sqlite3_column_type(st, i) == SQLITE_TEXT ||
			    sqlite3_column_type(st, i) == SQLITE_BLOB) {
				(void)sqlite3_column_text(st, i);
				sink += sqlite3_column_bytes(st, i);
			} else
				sink += sqlite3_column_int64(st, i);
		}
	}
	t = ss_now() - t0;
	if (rc != SQLITE_DONE)
		fprintf(stderr, "sqlscan: %s\n", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	sqlite3_close(db);
	printf("%lld rows in %.4f s: %.0f rows/s (%lld)\n", rows, t,
	    t > 0 ? (double)rows / t : 0.0, sink % 10);
	return rc == SQLITE_DONE ? 0 : 1;
}
