#!/bin/bash
# report-bench.sh -- how long `corewatch-collector report` takes for one
# day of PROBES probes (the issue's target: under 10 s for 100 probes),
# against the floor of exporting the same records.  Not a test: it
# prints numbers.
#
# The day is stored by tests/tools/episodesload through store_ingest(),
# as the collector stores batches: PROBES probes in 20 countries, each
# measuring TARGETS targets every INTERVAL seconds for 24 hours, with a
# heartbeat each round (at most one in 300 s), the losses, region and
# probe episodes that episodes-bench.sh describes.  Then, three times
# each, on a warm cache:
#   floor: export --format jsonl of the day to /dev/null (the records
#          read once, which the report must do at least);
#   report --from --to over the day to an HTML file: wall-clock and CPU
#          (user + system) seconds, and the wall time over 10 s.
# Last, whether the report's SHA-256 is that of the export's output.
# On SQLite, and with CW_BENCH_PG=1 on a throwaway PostgreSQL cluster
# too (tests/scenario/lib.sh's cw_pg_start; run as root or as the
# cluster's owner).
# Usage, from a built tree (make check builds the tool):
#   contrib/bench/report-bench.sh [BUILD_DIR]
# Knobs: CW_BENCH_PROBES (100), CW_BENCH_TARGETS (10),
#        CW_BENCH_INTERVAL (300 s: the root servers' RSSAC047 round),
#        CW_BENCH_PG (unset: SQLite only).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$src}" && pwd)
COLLECTOR=$build/src/corewatch-collector
LOAD=$build/tests/tools/episodesload
for f in "$COLLECTOR" "$LOAD"; do
	[ -x "$f" ] || { echo "no $f: run make check first" >&2; exit 2; }
done
PROBES=${CW_BENCH_PROBES:-100}
TARGETS=${CW_BENCH_TARGETS:-10}
INTERVAL=${CW_BENCH_INTERVAL:-300}
if [ -n "${CW_BENCH_PG:-}" ]; then
	top_builddir=$build
	. "$src/tests/scenario/lib.sh"
	cw_tmpdir # its EXIT trap stops the cluster and removes the directory
	TMP=$CW_TMP
else
	TMP=$(mktemp -d "${TMPDIR:-/tmp}/cw-report-bench.XXXXXX") || exit 1
	trap 'rm -rf "$TMP"' EXIT
fi
DAY=(--from 2026-11-26T00:00:00Z --to 2026-11-27T00:00:00Z)
say() { printf '%s\n' "$*"; }

# run COMMAND...: "WALL CPU" seconds of COMMAND (CPU: user + system),
# output dropped.
run()
{
	local TIMEFORMAT='%R %U %S'
	{ time "$@" >/dev/null 2>"$TMP/err"; } 2>&1 |
	    awk '{ printf "%.2f %.2f\n", $1, $2 + $3 }'
	[ -s "$TMP/err" ] && grep -v ' info: ' "$TMP/err" >&2
}

# bench DB NAME: load the day into DB, then time the report on it.
bench()
{
	local db=$1 name=$2 i fw fc rw rc sum rsum
	say "== a day: $PROBES probes x $TARGETS targets every $INTERVAL s" \
	    "($name)"
	"$LOAD" --db "$db" --probes "$PROBES" --targets "$TARGETS" \
	    --interval "$INTERVAL" 2>/dev/null ||
	    { echo "load failed" >&2; exit 1; }
	for i in 1 2 3; do
		read -r fw fc < <(run "$COLLECTOR" export --db "$db" \
		    --format jsonl "${DAY[@]}")
		read -r rw rc < <(run "$COLLECTOR" report --db "$db" \
		    "${DAY[@]}" --out "$TMP/report.html")
		say "run $i: export floor ${fw} s wall, ${fc} s CPU; report" \
		    "${rw} s wall, ${rc} s CPU ($(awk -v w="$rw" \
		    'BEGIN { printf "%.2f", w / 10 }') of the 10 s target)"
	done
	sum=$("$COLLECTOR" export --db "$db" --format jsonl "${DAY[@]}" \
	    2>/dev/null | sha256sum | cut -d' ' -f1)
	rsum=$(grep -o 'id="sha256">[0-9a-f]*' "$TMP/report.html" |
	    cut -d'>' -f2)
	say "records: $(grep -o 'id="records">[0-9]*' "$TMP/report.html" |
	    cut -d'>' -f2); report: $(du -h "$TMP/report.html" | cut -f1)," \
	    "$(grep -o 'id="episode-count">[0-9]*' "$TMP/report.html" |
	    cut -d'>' -f2) episodes; its SHA-256 $([ "$sum" = "$rsum" ] &&
	    echo "is" || echo "is NOT") the export's"
}

bench "sqlite:$TMP/day.db" SQLite
if [ -n "${CW_BENCH_PG:-}" ]; then
	cw_pg_start
	bench "$CW_PG_URL" PostgreSQL
fi
