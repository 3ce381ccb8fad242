#!/bin/bash
# collector-bench.sh -- figures for the collector on this machine.  Not a
# test: it prints numbers.
#
#   1. records/s ingested end to end over HTTP on loopback, signatures
#      checked and every batch durably committed before its receipt, from
#      50 concurrent probes (tests/tools/loadgen), with batches of 100
#      and of 1,000 records, on SQLite and on PostgreSQL (a throwaway
#      cluster on a unix socket, fsync and synchronous_commit on),
#      with the CPU time the collector took a record and, on
#      PostgreSQL, the server's and both together (what the two cores
#      were busy with, less swayed than the wall clock by whatever else
#      runs);
#      next to the database engine alone inserting the same number of
#      rows of the same shape (a 900-byte line, the same columns and
#      indexes) in one statement: sqlite3's and psql's INSERT ... SELECT,
#      the ceiling of any collector on this machine; and next to the
#      collector's own per-record checks alone (tests/tools/recparse:
#      jansson, the column checks, SHA-256 of body and record; no HTTP,
#      no database) on one core, the other floor;
#   2. rows/s of a CSV export of 1,000,000 records (to /dev/null), next
#      to sqlite3's own CSV output of the same rows in the same run, and
#      to SQLite alone stepping through the export's query and fetching
#      every column with nothing done with them (tests/tools/sqlscan):
#      the floor of any export from this schema.
#
# Usage, from a built tree (make check builds the tools), as root:
#   contrib/bench/collector-bench.sh [BUILD_DIR]
# Knobs: CW_BENCH_RECORDS (records per ingest run, default 200000),
#        CW_BENCH_EXPORT (records exported, default 1000000),
#        CW_BENCH_BASE (another build directory: each ingest run is made
#        twice with this build and twice with that build's
#        corewatch-collector, in the order base, this, this, base, each
#        on a fresh database, to compare two versions in one run on the
#        same load; the base runs use that build's load generator,
#        which enrolls the probes with its schema; their lines say
#        "base").
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$src}" && pwd)
COLLECTOR=$build/src/corewatch-collector
LOADGEN=$build/tests/tools/loadgen
SQLSCAN=$build/tests/tools/sqlscan
RECPARSE=$build/tests/tools/recparse
BASE_COLLECTOR= BASE_LOADGEN=
if [ -n "${CW_BENCH_BASE:-}" ]; then
	base=$(cd "$CW_BENCH_BASE" && pwd)
	BASE_COLLECTOR=$base/src/corewatch-collector
	BASE_LOADGEN=$base/tests/tools/loadgen # enrolls with its schema
fi
for f in "$COLLECTOR" "$LOADGEN" "$SQLSCAN" "$RECPARSE" $BASE_COLLECTOR \
    $BASE_LOADGEN; do
	[ -x "$f" ] || { echo "no $f: run make check first" >&2; exit 2; }
done
export top_builddir=$build
. "$src/tests/scenario/lib.sh"
cw_tmpdir
RECORDS=${CW_BENCH_RECORDS:-200000}
EXPORT_N=${CW_BENCH_EXPORT:-1000000}
PROBES=50
say() { printf '%s\n' "$*"; }

# pg_ticks: the CPU clock ticks the PostgreSQL cluster has used so far:
# the postmaster's own and those of its children that ended (its cutime
# and cstime), and each live child's.
pg_ticks()
{
	local t p
	t=$(awk '{ print $14 + $15 + $16 + $17 }' "/proc/$PG_PID/stat")
	for p in $(pgrep -P "$PG_PID"); do
		t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat" \
		    2>/dev/null || echo 0)))
	done
	echo "$t"
}

# ingest_one LABEL DBURL SIZE: one loadgen run against a fresh
# $COLLECTOR.
ingest_one()
{
	local label=$1 db=$2 size=$3 batches out cpu n server=
	local hz pg0=
	batches=$((RECORDS / PROBES / size))
	[ "$batches" -ge 1 ] || batches=1
	n=$((PROBES * batches * size))
	hz=$(getconf CLK_TCK)
	cw_collector_start "$CW_TMP/serve.log" --db "$db"
	case $db in sqlite:*) ;; *) pg0=$(pg_ticks) ;; esac
	out=$("$LOADGEN" --url "$COLLECTOR_URL" --db "$db" --probes "$PROBES" \
	    --batches "$batches" --size "$size" 2>&1 | tail -n 1)
	# Its CPU time (all its threads; SQLite works inside it, a
	# PostgreSQL server apart), less swayed than the wall clock by what
	# else the machine runs; and the PostgreSQL server's, which the
	# wall clock of a 2-core machine shares with it and the load.
	cpu=$(awk -v hz="$hz" -v n="$n" '{
		printf "%.2f CPU-s, %.0f us/record", ($14 + $15) / hz,
		    ($14 + $15) / hz / n * 1e6 }' "/proc/$COLLECTOR_PID/stat")
	if [ -n "$pg0" ]; then
		server=$(awk -v hz="$hz" -v n="$n" -v d=$(($(pg_ticks) - pg0)) \
		    -v c="$(awk '{ print $14 + $15 }' "/proc/$COLLECTOR_PID/stat")" \
		    'BEGIN { printf "; the server: %.2f CPU-s, %.0f us/record;" \
		    " both: %.0f us/record", d / hz, d / hz / n * 1e6,
		    (d + c) / hz / n * 1e6 }')
	fi
	say "  $label, batches of $size: $out; the collector: $cpu$server"
	cw_collector_stop
}

# base_one LABEL DBURL SIZE RESET N: ingest_one with the CW_BENCH_BASE
# collector and load generator, on a database of its own (RESET: the
# command that empties a PostgreSQL one; a SQLite file gets a name of
# its own, N).
base_one()
{
	local db=$2
	case $db in
	sqlite:*) db=${db%.db}-base$5.db ;;
	*) $4 ;;
	esac
	COLLECTOR=$BASE_COLLECTOR LOADGEN=$BASE_LOADGEN \
	    ingest_one "$1 (base)" "$db" "$3"
	$4
}

# ingest LABEL DBURL SIZE [RESET]: ingest_one; with CW_BENCH_BASE, in
# the order base, this build, this build, base, so that a drift of the
# machine's load over the four runs, or a run slowed by the one before
# (the disk writing back its pages), weighs on both alike.
ingest()
{
	local reset=${4:-true}
	[ -n "$BASE_COLLECTOR" ] && base_one "$1" "$2" "$3" "$reset" 1
	ingest_one "$1" "$2" "$3"
	if [ -n "$BASE_COLLECTOR" ]; then
		case $2 in
		sqlite:*) ingest_one "$1" "${2%.db}-2.db" "$3" ;;
		*) $reset; ingest_one "$1" "$2" "$3" ;;
		esac
		base_one "$1" "$2" "$3" "$reset" 2
	fi
}

# The peer: RECORDS rows of the collector's own schema, each with a
# 900-byte line, inserted by the engine itself in one transaction.
PEER_SELECT="SELECT '0123456789abcdef0123456789abcdef',
    'fedcba9876543210fedcba9876543210', i, HASH32, HASH32, LINE900,
    1795687200123456, 'dns', 1795687200123456 + i * 1000, 'root-soa', NULL,
    'k.root-servers.net', '192.0.2.1', 53, 4, 'udp', '.', 'SOA', 1, NULL,
    12.345, 'NOERROR', 'k1.ams', 2026112600, NULL, NULL, 1, NULL, NULL, 0,
    0, 0, 0, 1, NULL"
PEER_COLUMNS="probe, chain, seq, hash, prev, line, received_at, type, time,
    name, msm, server, addr, port, af, proto, qname, qtype, ok, failure,
    rtt_ms, rcode, nsid, soa_serial, country, asn, evidence, failure_detail,
    txt, late_count, late_differ, truncated, tcp_fallback, attempts,
    http_status"
# peer LABEL SECONDS: print the engine's rate.
peer()
{
	awk -v n="$RECORDS" -v t="$2" -v l="$1" 'BEGIN {
		printf "  %s: %d rows in %.2f s: %.0f rows/s\n", l, n, t, n / t }'
}
# elapsed COMMAND...: run it, print its wall-clock seconds.
elapsed()
{
	local s e
	s=$(date +%s.%N)
	"$@" >/dev/null || cw_die "peer failed: $*"
	e=$(date +%s.%N)
	awk -v s="$s" -v e="$e" 'BEGIN { printf "%.3f\n", e - s }'
}

say "== 1. ingest over HTTP, $PROBES probes, about $RECORDS records a run"
ingest "SQLite" "sqlite:$CW_TMP/b100.db" 100
ingest "SQLite" "sqlite:$CW_TMP/b1000.db" 1000
"$COLLECTOR" probe list --db "sqlite:$CW_TMP/peer.db" >/dev/null 2>&1
t=$(elapsed sqlite3 "$CW_TMP/peer.db" "PRAGMA synchronous=FULL;
    WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s
    WHERE i < $RECORDS) INSERT INTO records ($PEER_COLUMNS)
    $(echo "$PEER_SELECT" | sed 's/HASH32/randomblob(32)/g;
    s/LINE900/randomblob(900)/') FROM s")
peer "peer: sqlite3 alone, INSERT ... SELECT (WAL, synchronous FULL)" "$t"
# The other floor: the collector's own checks of each record (jansson,
# the envelope and column checks, SHA-256 of the body and of each record)
# with no HTTP and no database, on the records just ingested.
"$COLLECTOR" export --db "sqlite:$CW_TMP/b1000.db" --format jsonl \
    >"$CW_TMP/ingested.jsonl" || cw_die "export for recparse failed"
say "  peer: the collector's per-record checks alone on one core (tests/tools/recparse): $(taskset -c 1 "$RECPARSE" "$CW_TMP/ingested.jsonl" 2)"
cw_pg_start
PG_URL=$CW_PG_URL
psql_do() { cw_pg_run "$(cw_pg_bin)/psql" -q "$PG_URL" -v ON_ERROR_STOP=1 \
    -c "$1"; }
pg_reset() { psql_do "DROP SCHEMA public CASCADE; CREATE SCHEMA public" \
    >/dev/null 2>&1; }
pg_reset
ingest "PostgreSQL" "$PG_URL" 100 pg_reset
pg_reset
ingest "PostgreSQL" "$PG_URL" 1000 pg_reset
pg_reset
"$COLLECTOR" probe list --db "$PG_URL" >/dev/null 2>&1
t=$(elapsed psql_do "INSERT INTO records ($PEER_COLUMNS)
    $(echo "$PEER_SELECT" | sed "s/HASH32/sha256(i::text::bytea)/g;
    s/LINE900/decode(repeat('ab', 900), 'hex')/") FROM
    generate_series(1, $RECORDS) AS i")
peer "peer: PostgreSQL alone, INSERT ... SELECT (synchronous commit)" "$t"

say ""
say "== 2. CSV export of $EXPORT_N records (SQLite)"
DB=$CW_TMP/export.db
cw_collector_start "$CW_TMP/serve.log" --db "sqlite:$DB"
"$LOADGEN" --url "$COLLECTOR_URL" --db "sqlite:$DB" --probes 10 \
    --batches $((EXPORT_N / 10 / 1000)) --size 1000 >/dev/null 2>&1 ||
    cw_die "loading $EXPORT_N records failed"
cw_collector_stop
start=$(date +%s.%N)
rows=$("$COLLECTOR" export --db "sqlite:$DB" --format csv | wc -l)
end=$(date +%s.%N)
start2=$(date +%s.%N)
rows2=$(sqlite3 -csv "$DB" "SELECT probe, seq, received_at, type, time, \
    name, msm, server, addr, port, af, proto, qname, qtype, ok, failure, \
    rtt_ms, rcode, nsid, soa_serial, country, asn, failure_detail, txt, \
    late_count, late_differ, truncated, tcp_fallback, attempts, \
    http_status FROM records" | wc -l)
end2=$(date +%s.%N)
# The floor: SQLite alone stepping through the export's own query in one
# go and fetching every column, with no formatting and no output.
floor=$("$SQLSCAN" "$DB" "SELECT r.id, r.line, r.probe, p.num, r.chain, \
    r.seq, r.received_at, r.type, r.time, r.name, r.msm, r.server, r.addr, \
    r.proto, r.qname, r.qtype, r.port, r.af, r.ok, r.failure, r.rcode, \
    r.nsid, r.rtt_ms, r.soa_serial, r.country, r.asn, r.evidence, \
    r.failure_detail, r.txt, r.late_count, r.late_differ, r.truncated, \
    r.tcp_fallback, r.attempts, r.http_status FROM records r \
    JOIN probes p ON p.id = r.probe ORDER BY r.id" |
    awk '/rows\/s/ {print $(NF - 2)}')
awk -v r="$rows" -v s="$start" -v e="$end" -v r2="$rows2" -v s2="$start2" \
    -v e2="$end2" -v f="${floor:-0}" 'BEGIN {
	a = (r - 1) / (e - s); b = r2 / (e2 - s2)
	printf "  corewatch-collector export: %d rows in %.2f s: %.0f rows/s\n",
	    r - 1, e - s, a
	printf "  sqlite3 -csv, same columns: %d rows in %.2f s: %.0f rows/s (ratio %.2f)\n",
	    r2, e2 - s2, b, a / b
	printf "  SQLite alone stepping the export query, no output (tests/tools/sqlscan): %.0f rows/s (ratio %.2f)\n",
	    f, (f > 0 ? a / f : 0) }'
