#!/bin/bash
# dashboard-bench.sh -- how long each request of the dashboard takes on a
# collector database of about 10 million records, against the 500 ms the
# pages must answer in, and against the database engine alone running
# the same SQL (the floor).  Not a test: it prints numbers.
#
# The database: tests/tools/episodesload stores, through store_ingest()
# as the collector stores batches (episodes included), PROBES probes in
# 20 countries each measuring TARGETS targets every INTERVAL seconds for
# DAYS days, with a heartbeat each round (defaults: 250 x 20 every 300 s
# for 7 days, 10.6 million records, about 10 GB on SQLite: a dashboard
# looking at its last 24 hours of a database that holds a week), plus one
# annotation a day.  Loading it takes 10 to 20 minutes here: with
# CW_BENCH_DB=FILE it is kept in FILE and reused by the next runs.
#
# Then `corewatch-collector serve` on loopback (the read token), and for
# each request the dashboard makes, on a collector started afresh (so
# its first answer is "cold": the process's SQLite cache is empty; the
# kernel's page cache is left as it is), the first answer (cold) and the
# median of CW_BENCH_RUNS more (warm), wall time from curl's time_total
# (the whole answer read), and the collector's CPU time per warm answer
# (utime + stime from /proc, 10 ms ticks).  The window is the last 24
# hours of the data (its newest record, rounded up to the hour), as the
# dashboard's default; then the hostile ones: 7 days, and no probe or
# target filter.  The floor is the SQL the collector runs for the
# request (its rows, all pages at once) stepped through by SQLite alone,
# every column fetched and nothing done with it (tests/tools/sqlscan).
#
# On PostgreSQL (CW_BENCH_BACKENDS="sqlite postgresql", as root: a
# throwaway cluster on a unix socket, as collector-bench.sh starts it,
# loaded afresh on each run, then VACUUM ANALYZE as autovacuum would
# leave it) the floor is the executor's own time for the same SQL
# (EXPLAIN (ANALYZE, TIMING OFF)'s execution time), rows not sent.
#
# Usage, from a built tree (make check builds the tools):
#   contrib/bench/dashboard-bench.sh [BUILD_DIR]
# Knobs: CW_BENCH_DB (keep/reuse the SQLite file), CW_BENCH_PG_DIR
#        (keep/reuse the PostgreSQL cluster in this directory; its
#        parents must let the postgres user through), CW_BENCH_PROBES (250),
#        CW_BENCH_TARGETS (20), CW_BENCH_INTERVAL (300 s), CW_BENCH_DAYS
#        (7), CW_BENCH_RUNS (5 warm answers per request),
#        CW_BENCH_BACKENDS (sqlite), CW_BENCH_ONLY (a regular expression:
#        the requests whose label it matches, e.g. '^[^h]' leaves out
#        the hostile ones).
# doc/performance.md gives the method and the figures measured.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$src}" && pwd)
COLLECTOR=$build/src/corewatch-collector
LOAD=$build/tests/tools/episodesload
SQLSCAN=$build/tests/tools/sqlscan
for f in "$COLLECTOR" "$LOAD" "$SQLSCAN"; do
	[ -x "$f" ] || { echo "no $f: run make check first" >&2; exit 2; }
done
for c in sqlite3 curl jq; do
	command -v $c >/dev/null || { echo "no $c" >&2; exit 2; }
done
export top_builddir=$build
. "$src/tests/scenario/lib.sh"
cw_tmpdir
# Quiet about each collector started: the table is what counts.
cw_log()
{
	case $* in
	"collector: pid"*) ;;
	*) printf '%s: %s\n' "${0##*/}" "$*" >&2 ;;
	esac
}
PROBES=${CW_BENCH_PROBES:-250}
TARGETS=${CW_BENCH_TARGETS:-20}
INTERVAL=${CW_BENCH_INTERVAL:-300}
DAYS=${CW_BENCH_DAYS:-7}
RUNS=${CW_BENCH_RUNS:-5}
TOKEN=bench-read-token-0123456789abcdef
HZ=$(getconf CLK_TCK)
US=1000000
say() { printf '%s\n' "$*"; }
# iso USEC: RFC 3339 with microseconds.
iso()
{
	printf '%s.%06dZ\n' "$(date -u -d "@$(($1 / US))" +%Y-%m-%dT%H:%M:%S)" \
	    $(($1 % US))
}
usec() { date -u -d "$1" +%s%6N; }

# --- the database ----------------------------------------------------------

# open_sqlite: DBURL and q() (one query, its rows) for the SQLite file,
# loaded unless CW_BENCH_DB holds it already.
open_sqlite()
{
	DB=${CW_BENCH_DB:-$CW_TMP/bench.db}
	DBURL=sqlite:$DB
	q() { sqlite3 "$DB" "$1"; }
	if [ -s "$DB" ] && [ "$(q 'SELECT count(*) FROM probes' \
	    2>/dev/null)" -gt 0 ] 2>/dev/null; then
		say "== SQLite: reusing $DB"
	else
		say "== SQLite: loading into $DB"
		load
	fi
}

# open_pg: a throwaway cluster (or CW_BENCH_PG_DIR's), loaded unless it
# holds records already, vacuumed and analysed.
open_pg()
{
	PG_DIR=${CW_BENCH_PG_DIR:-}
	cw_pg_start
	DBURL=$CW_PG_URL
	q() { cw_pg_run "$(cw_pg_bin)/psql" -qAt -v ON_ERROR_STOP=1 \
	    "$CW_PG_URL" -c "$1"; }
	if [ "$(q 'SELECT count(*) FROM probes' 2>/dev/null)" -gt 0 ] \
	    2>/dev/null; then
		say "== PostgreSQL: reusing $PG_DIR"
	else
		say "== PostgreSQL: loading"
		load
	fi
	q "VACUUM (ANALYZE) " >/dev/null || cw_die "VACUUM failed"
}

load()
{
	say "   $PROBES probes x $TARGETS targets every $INTERVAL s for $DAYS days"
	local t0=$SECONDS
	"$LOAD" --db "$DBURL" --probes "$PROBES" --targets "$TARGETS" \
	    --interval "$INTERVAL" --days "$DAYS" 2>/dev/null ||
	    cw_die "load failed"
	say "   loaded in $((SECONDS - t0)) s"
}

# floor SQL: the engine alone on SQL, warm: the best of three, in ms.
floor()
{
	local i best= t
	for i in 1 2 3; do
		if [ "$BACKEND" = sqlite ]; then
			t=$("$SQLSCAN" "$DB" "$1" |
			    awk '{ printf "%.1f", $4 * 1000 }')
		else
			t=$(q "EXPLAIN (ANALYZE, TIMING OFF) $1" |
			    awk '/^Execution Time/ { printf "%.1f", $3 }')
		fi
		[ -n "$t" ] || { echo "?"; return; }
		if [ -z "$best" ] || awk -v a="$t" -v b="$best" \
		    'BEGIN { exit !(a < b) }'; then
			best=$t
		fi
	done
	echo "$best"
}

# --- the collector -----------------------------------------------------------

# get PATH: one answer to stdout.
get()
{
	curl -sf --noproxy '*' -H "Authorization: Bearer $TOKEN" \
	    "$COLLECTOR_URL$1"
}
# cpu: the collector's CPU time so far, in clock ticks.
cpu() { awk '{ print $14 + $15 }' "/proc/$COLLECTOR_PID/stat"; }
# timed PATH: the answer's wall time in ms (curl's time_total) and its
# size in bytes; dies on an HTTP error.
timed()
{
	curl -sf --noproxy '*' -o /dev/null -w '%{time_total} %{size_download}\n' \
	    -H "Authorization: Bearer $TOKEN" "$COLLECTOR_URL$1" |
	    awk '{ printf "%.1f %d\n", $1 * 1000, $2 }' | grep . ||
	    cw_die "GET $1 failed"
}

# --- the SQL the collector runs for each request ---------------------------

COLS="r.id, r.line, r.probe, p.num, r.chain, r.seq, r.received_at, r.type,
    r.time, r.name, r.msm, r.server, r.addr, r.proto, r.qname, r.qtype,
    r.port, r.af, r.ok, r.failure, r.rcode, r.nsid, r.rtt_ms, r.soa_serial,
    r.country, r.asn, r.evidence, r.failure_detail, r.txt, r.late_count,
    r.late_differ, r.truncated, r.tcp_fallback, r.attempts, r.http_status"
MSM_COLS="r.id, r.probe, p.num, r.type, r.time, r.name, r.server, r.addr,
    r.proto, r.qname, r.port, r.af, r.ok, r.nsid, r.rtt_ms, r.soa_serial"
# rows T0 T1 CONDITION: what an export of [T0, T1) reads (all its pages).
rows()
{
	echo "SELECT $COLS FROM records r JOIN probes p ON p.id = r.probe
	    WHERE r.time >= $1 AND r.time < $2 $3 ORDER BY r.time, r.id"
}
# What PostgreSQL's covering indexes hold (store_int.h's
# STORE_COVER_FITS, schema version 6).
PG_FITS="(coalesce(octet_length(r.name), 0) +
    coalesce(octet_length(r.server), 0) + coalesce(octet_length(r.addr), 0) +
    coalesce(octet_length(r.proto), 0) + coalesce(octet_length(r.qname), 0) +
    coalesce(octet_length(r.nsid), 0) <= 2048)"
# msm T0 T1 CONDITION: what a summary of [T0, T1) reads; on PostgreSQL
# as store_read() asks it since version 6 of a probe or an address, the
# records that fit the covering indexes and the others apart, the probe
# by the record's column (all pages at once: no LIMIT).
msm()
{
	local arm="SELECT ${MSM_COLS/p.num, /} FROM records r
	    WHERE r.time >= $1 AND r.time < $2 ${3//p.id =/r.probe =} AND
	    r.ok IS NOT NULL AND r.type IN ('dns', 'http')"
	if [ "$BACKEND" = postgresql ] && [ -n "$3" ]; then
		echo "SELECT $MSM_COLS FROM (($arm AND $PG_FITS ORDER BY r.time,
		    r.id) UNION ALL ($arm AND NOT $PG_FITS ORDER BY r.time,
		    r.id)) r JOIN probes p ON p.id = r.probe
		    ORDER BY r.time, r.id"
	else
		echo "SELECT $MSM_COLS FROM records r JOIN probes p ON
		    p.id = r.probe WHERE r.time >= $1 AND r.time < $2 $3 AND
		    r.ok IS NOT NULL AND r.type IN ('dns', 'http')
		    ORDER BY r.time, r.id"
	fi
}
# episodes T0 T1: the runs an episodes request reads (store_episode_runs;
# the counts of each episode's measurements are left out: they are few).
episodes()
{
	local c="silence, probe, name, server, addr, proto, af, country, asn,
	    last_ok_id, last_ok_time, first_id, first_time, last_id, last_time,
	    first_ok_id, first_ok_time, failures, names"
	echo "SELECT $c FROM episode_runs WHERE end_time > $1 AND
	    start_time < $2 AND (silence = 1 OR failures >= 2) UNION ALL
	    SELECT $c FROM episode_runs WHERE end_time IS NULL AND
	    start_time < $2 AND (silence = 1 OR failures >= 2)"
}

# --- one backend -------------------------------------------------------------

bench()
{
	local last first t records probe ep ev0 ev1 from to wfrom w ww tgt r
	local label rest path sql cold bytes c0 c1 warm med fl i
	# A collector of this build opens it once: a migration the database
	# lacks runs here, not in the first timed answer.
	t=$SECONDS
	"$COLLECTOR" probe list --db "$DBURL" >/dev/null 2>&1 ||
	    cw_die "the collector cannot open $DBURL"
	say "   opened by the collector (and migrated) in $((SECONDS - t)) s"
	last=$(q 'SELECT max(time) FROM records')
	first=$(q 'SELECT min(time) FROM records')
	[ -n "$last" ] || cw_die "no records in $DBURL"
	T1=$(((last / 3600 / US + 1) * 3600 * US))
	T0=$((T1 - 86400 * US))
	W0=$((T1 - 7 * 86400 * US))
	from=$(iso "$T0") to=$(iso "$T1") wfrom=$(iso "$W0")
	if [ "$(q 'SELECT count(*) FROM annotations')" = 0 ]; then
		for ((t = first / US / 86400 * 86400; t < T1 / US; t += 86400)); do
			"$COLLECTOR" annotate add --db "$DBURL" \
			    --from "$(iso $(((t + 36000) * US)))" \
			    --to "$(iso $(((t + 39600) * US)))" --country UA \
			    --text "bench: a cable cut" >/dev/null ||
			    cw_die "annotate add failed"
		done
	fi
	records=$(q 'SELECT count(*) FROM records')
	# The probe cut off every day (episodesload: one in fifty) and
	# target 0, lost for an hour by one country in twenty.
	probe=$(q "SELECT id FROM probes WHERE name = 'load-7'")
	[ -n "$probe" ] || probe=$(q 'SELECT id FROM probes LIMIT 1')
	ADDR=192.0.2.1 NAME=root-soa
	say "   $records records; window $from to $to" \
	    "(7 days from $wfrom)"
	printf '%s\n' "db = \"$DBURL\"" "read_token = \"$TOKEN\"" \
	    >"$CW_TMP/collector.conf"

	# The evidence of an episode of the probe in the window: its records
	# from the last success before it to the first success after it.
	cw_collector_start "$CW_TMP/serve.log" -c "$CW_TMP/collector.conf"
	ep=$(get "/api/v1/episodes?from=$from&to=$to&probe=$probe" |
	    jq -r 'select(.silence == false and .last_ok != null and
	    .first_ok != null) | "\(.last_ok.time) \(.first_ok.time)"' |
	    head -n 1)
	cw_collector_stop
	[ -n "$ep" ] || cw_die "no episode of $probe in the window"
	ev0=$(usec "${ep% *}") ev1=$(($(usec "${ep#* }") + 1))

	w="from=$from&to=$to"
	ww="from=$wfrom&to=$to"
	tgt="addr=$ADDR&name=$NAME"
	REQS=(
	"probes|/api/v1/probes|SELECT * FROM probes ORDER BY num"
	"episodes, 24 h|/api/v1/episodes?$w|$(episodes "$T0" "$T1")"
	"episodes, 24 h, a probe|/api/v1/episodes?$w&probe=$probe|$(episodes "$T0" "$T1")"
	"episodes, 24 h, a target|/api/v1/episodes?$w&$tgt|$(episodes "$T0" "$T1")"
	"annotations, 24 h|/api/v1/annotations?$w|SELECT * FROM annotations WHERE time_to >= $T0 AND time_from < $T1 ORDER BY time_from, id"
	"summary 10m, a probe, 24 h|/api/v1/summary?probe=$probe&$w&bucket=10m|$(msm "$T0" "$T1" "AND p.id = '$probe'")"
	"summary 10m, a target, 24 h|/api/v1/summary?$tgt&$w&bucket=10m|$(msm "$T0" "$T1" "AND r.addr = '$ADDR' AND r.name = '$NAME'")"
	"results, an episode's evidence|/api/v1/results?probe=$probe&from=$(iso "$ev0")&to=$(iso "$ev1")|$(rows "$ev0" "$ev1" "AND p.id = '$probe'")"
	"hostile: episodes, 7 d|/api/v1/episodes?$ww|$(episodes "$W0" "$T1")"
	"hostile: summary 10m, a probe, 7 d|/api/v1/summary?probe=$probe&$ww&bucket=10m|$(msm "$W0" "$T1" "AND p.id = '$probe'")"
	"hostile: summary 10m, a target, 7 d|/api/v1/summary?$tgt&$ww&bucket=10m|$(msm "$W0" "$T1" "AND r.addr = '$ADDR' AND r.name = '$NAME'")"
	"hostile: summary 1h, no filter, 24 h|/api/v1/summary?$w&bucket=1h|$(msm "$T0" "$T1" "")"
	)
	say ""
	say "warm: median of $RUNS; CPU: the collector's, per warm answer;" \
	    "floor: the engine alone, the same SQL"
	printf '%-38s %9s %8s %8s %7s %7s %8s %7s\n' request bytes "cold ms" \
	    "warm ms" "CPU ms" "/500ms" "floor ms" "/floor"
	for r in "${REQS[@]}"; do
		label=${r%%|*} rest=${r#*|}
		path=${rest%%|*} sql=${rest#*|}
		[[ $label =~ ${CW_BENCH_ONLY:-.} ]] || continue
		cw_collector_start "$CW_TMP/serve.log" -c "$CW_TMP/collector.conf"
		read -r cold bytes < <(timed "$path")
		c0=$(cpu)
		warm=()
		for ((i = 0; i < RUNS; i++)); do
			read -r t _ < <(timed "$path")
			warm+=("$t")
		done
		c1=$(cpu)
		cw_collector_stop
		med=$(printf '%s\n' "${warm[@]}" | sort -n |
		    awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
		fl=$(floor "$sql")
		printf '%-38s %9s %8s %8s %7s %7s %8s %7s\n' "$label" "$bytes" \
		    "$cold" "$med" \
		    "$(awk -v a="$c0" -v b="$c1" -v n="$RUNS" -v hz="$HZ" \
		        'BEGIN { printf "%.0f", (b - a) * 1000 / hz / n }')" \
		    "$(awk -v t="$med" 'BEGIN { printf "%.2f", t / 500 }')" \
		    "$fl" \
		    "$(awk -v t="$med" -v f="$fl" 'BEGIN {
		        if (f > 0) printf "%.1f", t / f; else print "-" }')"
	done
	say ""
	say "probe $probe, target $ADDR $NAME, evidence $(iso "$ev0")" \
	    "to $(iso "$ev1")"
}

for BACKEND in ${CW_BENCH_BACKENDS:-sqlite}; do
	case $BACKEND in
	sqlite) open_sqlite ;;
	postgresql) open_pg ;;
	*) cw_die "CW_BENCH_BACKENDS: '$BACKEND' is not sqlite or postgresql" ;;
	esac
	bench
	say ""
done
