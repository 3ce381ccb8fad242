#!/bin/bash
# log-bench.sh -- the collector's log on LEAVES leaves (the issue's
# target: an inclusion proof served in under 1 ms on a log of 10 million
# leaves).  Not a test: it prints numbers.
#
#   1. tests/tools/logbench appends leaves to a log in SQLite until it
#      holds LEAVES (lines of 900 bytes, 10,000 to a transaction, as
#      ingest appends them), then times 1,000 inclusion and consistency
#      proofs of random leaves inside one process: the database's part,
#      the floor of what the HTTP service can do;
#   2. `corewatch-collector serve` on that database answers
#      GET /api/v1/log/proof/inclusion for 200 random leaves, asked one
#      after the other by one curl process on loopback (keep-alive):
#      curl's time_total of each, median and 99th percentile, against
#      1 ms; and the checkpoint.
# With CW_BENCH_PG=1, the same on a throwaway PostgreSQL cluster.
# Usage, from a built tree (make check builds the tool):
#   contrib/bench/log-bench.sh [BUILD_DIR]
# Knobs: CW_BENCH_LEAVES (10000000), CW_BENCH_LOG_DB (keep the SQLite
#        file and reuse it: appending 10 million leaves takes minutes).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$src}" && pwd)
COLLECTOR=$build/src/corewatch-collector
LOGBENCH=$build/tests/tools/logbench
for f in "$COLLECTOR" "$LOGBENCH"; do
	[ -x "$f" ] || { echo "no $f: run make check first" >&2; exit 2; }
done
export top_builddir=$build
. "$src/tests/scenario/lib.sh"
cw_tmpdir
LEAVES=${CW_BENCH_LEAVES:-10000000}
say() { printf '%s\n' "$*"; }

# http_proofs: 200 inclusion proofs over HTTP from the collector running,
# in one curl (one connection); prints the median and p99 in us.
http_proofs()
{
	local i size=$1
	: >"$CW_TMP/urls"
	for ((i = 0; i < 200; i++)); do
		printf 'url = "%s/api/v1/log/proof/inclusion?index=%d&size=%d"\n' \
		    "$COLLECTOR_URL" $(((RANDOM * 32768 + RANDOM) % size)) \
		    "$size" >>"$CW_TMP/urls"
		printf 'output = "/dev/null"\n' >>"$CW_TMP/urls"
	done
	curl -sS -K "$CW_TMP/urls" -w '%{http_code} %{time_total}\n' \
	    >"$CW_TMP/times" || cw_die "curl failed"
	grep -vc '^200 ' "$CW_TMP/times" | grep -qx 0 ||
	    cw_die "a proof was not answered 200"
	awk '{ print $2 * 1e6 }' "$CW_TMP/times" | sort -n |
	    awk '{ v[NR] = $1 } END {
		printf "inclusion proof over HTTP: median %.0f us, p99 %.0f us " \
		    "(200 proofs, one connection); median / 1 ms = %.2f\n",
		    v[int(NR / 2) + 1], v[int(NR * 0.99)], v[int(NR / 2) + 1] / 1000 }'
}

run()
{
	local url=$1 size
	say "== $2: $LEAVES leaves"
	"$LOGBENCH" --db "$url" --leaves "$LEAVES" --proofs 1000 2>/dev/null ||
	    cw_die "logbench failed"
	cw_collector_start "$CW_TMP/serve.log" --db "$url"
	size=$(curl -sS "$COLLECTOR_URL/api/v1/log/proof/consistency?old=1&new=1" \
	    -o /dev/null -w '%{http_code}')
	[ "$size" = 200 ] || cw_die "the collector does not serve the log"
	http_proofs "$LEAVES"
	cw_collector_stop
}

run "sqlite:${CW_BENCH_LOG_DB:-$CW_TMP/log.db}" SQLite
if [ -n "${CW_BENCH_PG:-}" ]; then
	cw_pg_start
	run "$CW_PG_URL" PostgreSQL
fi
