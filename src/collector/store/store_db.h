/*
 * store_db.h -- the database connection under a store, for the store's
 * own tests and fuzzers, which set up and break rows with SQL of their
 * own.  Nothing in src/ but store.c includes it: the collector goes
 * through store.h, which says all it may do with the database.
 */
#ifndef CW_STORE_DB_H
#define CW_STORE_DB_H

#include "db.h"
#include "store.h"

/* store_db: the connection `st` holds; `st` keeps it. */
struct db *store_db(struct store *st);

#endif /* CW_STORE_DB_H */
