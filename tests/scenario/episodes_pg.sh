#!/bin/bash
# episodes_pg.sh -- the unit tests of the episodes
# (tests/unit/collector/test_episodes) again on PostgreSQL: a throwaway
# cluster on a unix socket, wiped before every test.  The same tests run
# on SQLite in the unit suite.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

cw_tmpdir
cw_pg_start

bin="$top_builddir/tests/unit/collector/test_episodes"
[ -x "$bin" ] || cw_die "no $bin (make check builds it)"
CW_TEST_PG_URL=$CW_PG_URL "$bin" >"$CW_TMP/out" 2>&1
status=$?
cat "$CW_TMP/out" >&2
cw_check "test_episodes passes on SQLite and PostgreSQL" [ "$status" = 0 ]
# Three groups passed: the plain tests, SQLite's and PostgreSQL's.
passed=$(grep -c '^\[  PASSED  \]' "$CW_TMP/out")
cw_check "test_episodes: all three groups passed" [ "$passed" = 3 ]
cw_done
