#!/bin/bash
# bundle-bench.sh -- `corewatch-collector bundle` on a database of
# RECORDS real signed records (the target: a bundle of 1,000,000 records
# written in under 30 s).  Not a test: it prints numbers.
#
#   1. a real collector (`serve`) takes RECORDS records from PROBES
#      concurrent probes over HTTP (tests/tools/loadgen: signed batches
#      of realistic DNS records, 1,000 a batch), so that each probe's
#      leaves in the log interleave with the others';
#   2. `bundle` of everything, then of one probe (1/PROBES of the
#      records, its leaves spread over the whole log: the proof needs
#      many nodes), each timed (wall clock, and the command's CPU), with
#      the size of the tar and the number of proof nodes;
#   3. when this build's `corewatch` has `verify`, each bundle verified,
#      timed, in records/s.
# With CW_BENCH_PG=1, the same on a throwaway PostgreSQL cluster.
# Usage, from a built tree (make check builds loadgen):
#   contrib/bench/bundle-bench.sh [BUILD_DIR]
# Knobs: CW_BENCH_RECORDS (1000000), CW_BENCH_PROBES (50),
#        CW_BENCH_BUNDLE_DB (keep the SQLite file and reuse it when it
#        exists: ingesting a million records takes minutes).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$src}" && pwd)
COLLECTOR=$build/src/corewatch-collector
COREWATCH=$build/src/corewatch
LOADGEN=$build/tests/tools/loadgen
for f in "$COLLECTOR" "$LOADGEN"; do
	[ -x "$f" ] || { echo "no $f: run make check first" >&2; exit 2; }
done
export top_builddir=$build
. "$src/tests/scenario/lib.sh"
cw_tmpdir
RECORDS=${CW_BENCH_RECORDS:-1000000}
PROBES=${CW_BENCH_PROBES:-50}
SIZE=1000
say() { printf '%s\n' "$*"; }

"$COLLECTOR" keygen --key "$CW_TMP/log.key" >"$CW_TMP/vkey" ||
    cw_die "keygen failed"
VERIFY=
if [ -x "$COREWATCH" ] && "$COREWATCH" verify --help >/dev/null 2>&1; then
	VERIFY=1
fi

# timed LABEL RECORDS CMD...: run CMD, print its wall clock and CPU time
# and (RECORDS > 0) RECORDS per second of wall clock.
timed()
{
	local label=$1 n=$2 t0 t1
	shift 2
	t0=$(date +%s.%N)
	/usr/bin/time -f '%U %S %M' -o "$CW_TMP/time" "$@" \
	    >"$CW_TMP/cmd.out" 2>"$CW_TMP/cmd.err" || {
		tail -n 5 "$CW_TMP/cmd.err" >&2
		cw_die "$label failed"
	}
	t1=$(date +%s.%N)
	awk -v l="$label" -v n="$n" -v t0="$t0" -v t1="$t1" '{
		printf "  %s: %.2f s wall, %.2f CPU-s, max RSS %.0f MiB", l,
		    t1 - t0, $1 + $2, $3 / 1024
		if (n > 0)
			printf "; %.0f records/s", n / (t1 - t0)
		printf "\n" }' "$CW_TMP/time"
}

# one LABEL DBURL ARGS...: a bundle of what ARGS select, timed, and
# verified when this build can.
one()
{
	local label=$1 db=$2 n nodes
	shift 2
	rm -f "$CW_TMP/b.tar"
	timed "bundle $label" 0 "$COLLECTOR" bundle --db "$db" \
	    --key "$CW_TMP/log.key" "$@" --out "$CW_TMP/b.tar"
	cat "$CW_TMP/cmd.err"
	n=$(tar -xOf "$CW_TMP/b.tar" corewatch-bundle/bundle.json | jq .records)
	nodes=$(tar -xOf "$CW_TMP/b.tar" corewatch-bundle/inclusion.json |
	    jq '.nodes | length')
	say "  $label: $n records, $nodes proof nodes, $(stat -c %s \
	    "$CW_TMP/b.tar") bytes of tar"
	if [ -n "$VERIFY" ]; then
		timed "verify $label ($n records)" "$n" "$COREWATCH" verify \
		    --vkey "$(cat "$CW_TMP/vkey")" "$CW_TMP/b.tar"
	fi
}

run()
{
	local db=$1 batches
	say "== $2: $RECORDS records from $PROBES probes"
	if [ -z "${3:-}" ]; then
		batches=$((RECORDS / PROBES / SIZE))
		[ "$batches" -ge 1 ] || batches=1
		cw_collector_start "$CW_TMP/serve.log" --db "$db"
		"$LOADGEN" --url "$COLLECTOR_URL" --db "$db" --probes "$PROBES" \
		    --batches "$batches" --size "$SIZE" 2>&1 | tail -n 1
		cw_collector_stop
	fi
	one "of everything" "$db"
	one "of one probe of $PROBES" "$db" --probe 1
}

DB=${CW_BENCH_BUNDLE_DB:-$CW_TMP/bundle.db}
reuse=
[ -s "$DB" ] && reuse=1
run "sqlite:$DB" SQLite $reuse
if [ -n "${CW_BENCH_PG:-}" ]; then
	cw_pg_start
	run "$CW_PG_URL" PostgreSQL
fi
