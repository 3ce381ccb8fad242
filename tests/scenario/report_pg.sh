#!/bin/bash
# report_pg.sh -- the unit tests of the report
# (tests/unit/collector/test_report) again on PostgreSQL: a throwaway
# cluster on a unix socket, wiped before every test.  The same tests run
# on SQLite in the unit suite.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

cw_tmpdir
cw_pg_start

bin="$top_builddir/tests/unit/collector/test_report"
[ -x "$bin" ] || cw_die "no $bin (make check builds it)"
CW_TEST_PG_URL=$CW_PG_URL "$bin" >"$CW_TMP/out" 2>&1
status=$?
cat "$CW_TMP/out" >&2
cw_check "test_report passes on SQLite and PostgreSQL" [ "$status" = 0 ]
# Two groups passed: SQLite's and PostgreSQL's.
passed=$(grep -c '^\[  PASSED  \]' "$CW_TMP/out")
cw_check "test_report: both groups passed" [ "$passed" = 2 ]
cw_done
