#!/bin/bash
# episodes-bench.sh -- how long `corewatch-collector episodes` takes over
# a day of results, against a floor measured on the same rows.  Not a
# test: it prints numbers.
#
# The day is a direct SQL fixture in a SQLite store (the schema made by
# the collector itself): PROBES probes in 20 countries, each measuring
# TARGETS targets every INTERVAL seconds for 24 hours; every target
# fails now and then alone (one result in 97: mostly single losses, no
# episode), target 0 is lost for an hour by the probes of one country
# (region episodes), and one probe in fifty is cut off for 30 minutes
# (probe episodes).  Then, each three times:
#   floor 1: SELECT count(*) over the window (the rows, no columns);
#   floor 2: the same columns episodes reads, in its order, to
#            /dev/null through sqlite3 (the read alone);
#   episodes --from --to over the day, JSON lines to /dev/null.
#
# Usage, from a built tree:
#   contrib/bench/episodes-bench.sh [BUILD_DIR]
# Knobs: CW_BENCH_PROBES (1000), CW_BENCH_TARGETS (20),
#        CW_BENCH_INTERVAL (300 s).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$src}" && pwd)
COLLECTOR=$build/src/corewatch-collector
[ -x "$COLLECTOR" ] || { echo "no $COLLECTOR: build first" >&2; exit 2; }
command -v sqlite3 >/dev/null || { echo "no sqlite3" >&2; exit 2; }
PROBES=${CW_BENCH_PROBES:-1000}
TARGETS=${CW_BENCH_TARGETS:-20}
INTERVAL=${CW_BENCH_INTERVAL:-300}
TMP=$(mktemp -d /tmp/cw-episodes-bench.XXXXXX) || exit 1
trap 'rm -rf "$TMP"' EXIT
DB=$TMP/day.db
DAY0=1795651200000000 # 2026-11-26T00:00:00Z in microseconds
FROM=2026-11-26T00:00:00Z
TO=2026-11-27T00:00:00Z
say() { printf '%s\n' "$*"; }

# The schema, as the collector makes it.
"$COLLECTOR" probe list --db "sqlite:$DB" >/dev/null 2>&1 ||
    { echo "the collector cannot make $DB" >&2; exit 1; }
ROUNDS=$((86400 / INTERVAL))
say "== a day: $PROBES probes x $TARGETS targets x $ROUNDS rounds" \
    "($((PROBES * TARGETS * ROUNDS)) results)"
start=$(date +%s)
sqlite3 "$DB" <<EOF || exit 1
PRAGMA journal_mode = OFF;
PRAGMA synchronous = OFF;
BEGIN;
WITH RECURSIVE p(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM p
    WHERE n < $PROBES)
INSERT INTO probes (num, id, name, pubkey, created_at, country, asn)
SELECT n, printf('%032x', n), 'p' || n, randomblob(32), $DAY0,
    char(65 + n % 20, 65 + n % 7), 64500 + n % 50 FROM p;
WITH RECURSIVE
    p(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM p WHERE n < $PROBES),
    t(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM t WHERE k < $TARGETS - 1),
    r(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM r WHERE i < $ROUNDS - 1),
    m AS (SELECT n, k, i, $DAY0 + (i * $INTERVAL + k) * 1000000 AS time,
        CASE
          WHEN k = 0 AND n % 20 = 3 AND i * $INTERVAL BETWEEN 36000
              AND 39600 THEN 0
          WHEN n % 50 = 7 AND i * $INTERVAL BETWEEN 50000 AND 51800 THEN 0
          WHEN (n * 31 + k * 17 + i * 13) % 97 = 0 THEN 0
          ELSE 1 END AS ok
        FROM p, t, r)
INSERT INTO records (probe, chain, seq, hash, prev, line, received_at, type,
    time, name, server, addr, port, af, proto, ok, failure, rtt_ms,
    country, asn)
SELECT printf('%032x', n), 'c', i * $TARGETS + k + 1, zeroblob(32),
    zeroblob(32), '{}', time, 'dns', time, 'root-soa',
    'r' || k || '.example', '192.0.2.' || k, 53, 4, 'udp', ok,
    CASE ok WHEN 0 THEN 'generic_timeout_error' END,
    CASE ok WHEN 1 THEN 12.5 END, char(65 + n % 20, 65 + n % 7),
    64500 + n % 50
FROM m ORDER BY n, i, k;
COMMIT;
ANALYZE;
EOF
say "   loaded in $(($(date +%s) - start)) s, $(du -h "$DB" | cut -f1)"

# ms COMMAND...: the wall-clock milliseconds of COMMAND, output dropped.
ms()
{
	local t0 t1
	t0=$(date +%s%N)
	"$@" >/dev/null || echo "failed: $*" >&2
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000000))
}

WHERE="time >= $DAY0 AND time < $((DAY0 + 86400000000))"
for run in 1 2 3; do
	f1=$(ms sqlite3 "$DB" "SELECT count(*) FROM records WHERE $WHERE")
	f2=$(ms sqlite3 "$DB" "SELECT id, time, probe, type, name, server,
	    addr, proto, af, ok, failure, country, asn FROM records
	    WHERE $WHERE AND ((type IN ('dns', 'http') AND ok IS NOT NULL)
	    OR type = 'heartbeat') ORDER BY probe, time, id")
	e=$(ms "$COLLECTOR" episodes --db "sqlite:$DB" --from "$FROM" \
	    --to "$TO")
	say "run $run: count(*) ${f1} ms; the read alone ${f2} ms;" \
	    "episodes ${e} ms"
done
n=$("$COLLECTOR" episodes --db "sqlite:$DB" --from "$FROM" --to "$TO" |
    wc -l)
say "episodes found: $n ($("$COLLECTOR" episodes --db "sqlite:$DB" \
    --from "$FROM" --to "$TO" --scope region | wc -l) region," \
    "$("$COLLECTOR" episodes --db "sqlite:$DB" --from "$FROM" --to "$TO" \
    --scope probe | wc -l) probe)"
