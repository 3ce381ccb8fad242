#!/bin/bash
# store_pg.sh -- the store's unit tests (tests/unit/collector/test_store) again on
# PostgreSQL: a throwaway cluster on a unix socket, wiped before every
# test.  The same tests run on SQLite in the unit suite.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

TEST_STORE="$top_builddir/tests/unit/collector/test_store"
[ -x "$TEST_STORE" ] || cw_die "no $TEST_STORE (make check builds it)"

cw_tmpdir
cw_pg_start

CW_TEST_PG_URL=$CW_PG_URL "$TEST_STORE" >"$CW_TMP/test_store.out" 2>&1
status=$?
cat "$CW_TMP/test_store.out" >&2
cw_check "test_store passes on SQLite and PostgreSQL" [ "$status" = 0 ]
# Two groups passed: SQLite's and PostgreSQL's.
passed=$(grep -c '^\[  PASSED  \]' "$CW_TMP/test_store.out")
cw_check "both groups (SQLite, PostgreSQL) passed" [ "$passed" = 2 ]
cw_done
