#!/bin/bash
# export_pg.sh -- the unit tests of the exports, the summaries and the
# annotations (tests/unit/collector/test_export, test_summary,
# test_annotate) again on PostgreSQL: a throwaway cluster on a unix
# socket, wiped before every test.  The same tests run on SQLite in the
# unit suite.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

cw_tmpdir
cw_pg_start

for t in test_export test_summary test_annotate; do
	bin="$top_builddir/tests/unit/collector/$t"
	[ -x "$bin" ] || cw_die "no $bin (make check builds it)"
	CW_TEST_PG_URL=$CW_PG_URL "$bin" >"$CW_TMP/$t.out" 2>&1
	status=$?
	cat "$CW_TMP/$t.out" >&2
	cw_check "$t passes on SQLite and PostgreSQL" [ "$status" = 0 ]
	# Three groups passed: the plain tests, SQLite's and PostgreSQL's.
	passed=$(grep -c '^\[  PASSED  \]' "$CW_TMP/$t.out")
	cw_check "$t: all three groups passed" [ "$passed" = 3 ]
done
cw_done
