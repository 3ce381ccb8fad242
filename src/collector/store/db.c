/*
 * db.c -- choosing a backend by URL and calling it.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "db.h"

struct db *
db_open(const char *url, char *err, size_t errlen)
{
	if (strncmp(url, "sqlite:", 7) == 0) {
		if (url[7] == '\0') {
			snprintf(err, errlen, "sqlite: URL without a path");
			return NULL;
		}
		return db_sqlite_ops.open(url + 7, err, errlen);
	}
	if (strncmp(url, "postgresql://", 13) == 0 ||
	    strncmp(url, "postgres://", 11) == 0)
		return db_pg_ops.open(url, err, errlen);
	snprintf(err, errlen,
	    "database URL \"%s\" is neither sqlite:PATH nor "
	    "postgresql://...",
	    url);
	return NULL;
}

void
db_close(struct db *db)
{
	if (db != NULL)
		db->ops->close(db);
}

int
db_query(struct db *db, const char *sql, const struct db_value *params,
    int nparams, db_row_cb cb, void *arg)
{
	return db->ops->query(db, sql, params, nparams, cb, arg);
}

int
db_exec(struct db *db, const char *sql, const struct db_value *params,
    int nparams)
{
	return db->ops->query(db, sql, params, nparams, NULL, NULL);
}

int
db_exec_script(struct db *db, const char *sql)
{
	return db->ops->exec_script(db, sql);
}

const char *
db_error(struct db *db)
{
	return db->ops->error(db);
}

bool
db_unavailable(struct db *db)
{
	return db->ops->unavailable(db);
}

int
db_ping(struct db *db)
{
	return db->ops->ping(db);
}

long long
db_size(struct db *db)
{
	return db->ops->size(db);
}

const char *
db_backend(const struct db *db)
{
	return db->ops->name;
}
