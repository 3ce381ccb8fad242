#!/bin/bash
# episodes-bench.sh -- how long `corewatch-collector episodes` takes over
# a day of results, against floors measured on the same store.  Not a
# test: it prints numbers.
#
# The day is stored by tests/tools/episodesload through store_ingest(),
# as the collector stores batches (so the episode tables are what
# ingest makes of them; it prints the ingest's records/s): PROBES probes
# in 20 countries, each measuring TARGETS targets every INTERVAL seconds
# for 24 hours, with a heartbeat each round (at most one in 300 s);
# single losses all day
# (no episode), target 0 lost for an hour in one country of twenty
# (region episodes), one probe in fifty cut off for 30 minutes (probe
# episodes and silences).  Then, three times each, on a warm cache:
#   floor 1: SELECT count(*) of the day's records (sqlite3);
#   floor 2: SELECT count(*) of the day's failed results, the least a
#            query of the records themselves would have to find;
#   episodes --from --to over the day, JSON lines to /dev/null.
#
# Usage, from a built tree (make check builds the tool):
#   contrib/bench/episodes-bench.sh [BUILD_DIR]
# Knobs: CW_BENCH_PROBES (1000), CW_BENCH_TARGETS (10),
#        CW_BENCH_INTERVAL (600 s).  The defaults store about 1.6 million
#        records: minutes of ingest on a small machine.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$src}" && pwd)
COLLECTOR=$build/src/corewatch-collector
LOAD=$build/tests/tools/episodesload
for f in "$COLLECTOR" "$LOAD"; do
	[ -x "$f" ] || { echo "no $f: run make check first" >&2; exit 2; }
done
command -v sqlite3 >/dev/null || { echo "no sqlite3" >&2; exit 2; }
PROBES=${CW_BENCH_PROBES:-1000}
TARGETS=${CW_BENCH_TARGETS:-10}
INTERVAL=${CW_BENCH_INTERVAL:-600}
TMP=$(mktemp -d /tmp/cw-episodes-bench.XXXXXX) || exit 1
trap 'rm -rf "$TMP"' EXIT
DB=$TMP/day.db
DAY0=1795651200000000 # 2026-11-26T00:00:00Z in microseconds
DAY1=$((DAY0 + 86400000000))
FROM=2026-11-26T00:00:00Z
TO=2026-11-27T00:00:00Z
say() { printf '%s\n' "$*"; }

say "== a day: $PROBES probes x $TARGETS targets every $INTERVAL s"
"$LOAD" --db "sqlite:$DB" --probes "$PROBES" --targets "$TARGETS" \
    --interval "$INTERVAL" 2>/dev/null || { echo "load failed" >&2; exit 1; }
say "   $(du -h "$DB" | cut -f1) on disk"

# ms COMMAND...: the wall-clock milliseconds of COMMAND, output dropped.
ms()
{
	local t0 t1
	t0=$(date +%s%N)
	"$@" >/dev/null || echo "failed: $*" >&2
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000000))
}

for run in 1 2 3; do
	f1=$(ms sqlite3 "$DB" "SELECT count(*) FROM records
	    WHERE time >= $DAY0 AND time < $DAY1")
	f2=$(ms sqlite3 "$DB" "SELECT count(*) FROM records
	    WHERE time >= $DAY0 AND time < $DAY1 AND ok = 0")
	e=$(ms "$COLLECTOR" episodes --db "sqlite:$DB" --from "$FROM" \
	    --to "$TO")
	say "run $run: count(*) ${f1} ms; count of failures ${f2} ms;" \
	    "episodes ${e} ms"
done
ep() { "$COLLECTOR" episodes --db "sqlite:$DB" --from "$FROM" --to "$TO" "$@"; }
say "episodes: $(ep | wc -l) ($(ep --scope region | wc -l) region," \
    "$(ep --scope probe | wc -l) probe, $(ep --scope target | wc -l)" \
    "target); records $(sqlite3 "$DB" 'SELECT count(*) FROM records')," \
    "runs kept $(sqlite3 "$DB" 'SELECT count(*) FROM episode_runs')"
