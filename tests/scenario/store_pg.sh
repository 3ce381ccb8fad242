#!/bin/bash
# store_pg.sh -- the store's unit tests (tests/unit/collector/test_store),
# its log's (test_store_log) and a bundle's reads (test_store_bundle)
# again on PostgreSQL: a throwaway cluster on a unix socket, wiped before
# every test.  The same tests run
# on SQLite in the unit suite.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

cw_tmpdir
cw_pg_start

for name in test_store test_store_log test_store_bundle; do
	bin="$top_builddir/tests/unit/collector/$name"
	[ -x "$bin" ] || cw_die "no $bin (make check builds it)"
	CW_TEST_PG_URL=$CW_PG_URL "$bin" >"$CW_TMP/$name.out" 2>&1
	status=$?
	cat "$CW_TMP/$name.out" >&2
	cw_check "$name passes on SQLite and PostgreSQL" [ "$status" = 0 ]
	# Two groups passed: SQLite's and PostgreSQL's.
	passed=$(grep -c '^\[  PASSED  \]' "$CW_TMP/$name.out")
	cw_check "$name: both groups (SQLite, PostgreSQL) passed" \
	    [ "$passed" = 2 ]
done
cw_done
