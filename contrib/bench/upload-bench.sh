#!/bin/bash
# upload-bench.sh -- how long a backlog takes to drain from a probe's
# spool into the collector on loopback.  Not a test: it prints numbers.
#
#   1. CW_BENCH_RECORDS records (default 1,000,000, ~270 bytes each, as
#      a DNS result is) are appended to a fresh spool with no upload
#      (the probe offline);
#   2. the uploader (tests/tools/uploadrun: the spool and src/agent/upload.c
#      on one event loop) sends them with the default batches (1,000
#      records or 1 MiB, gzipped, signed, the spool synced before each)
#      to `corewatch-collector serve` (SQLite, WAL, synchronous FULL)
#      until every record is acknowledged; the time, records/s, the
#      probe's peak RSS and its CPU time are printed;
#   3. the collector's export is counted: every record once.
#
# Usage, from a built tree (make check builds the tools), as root or
# not: contrib/bench/upload-bench.sh [BUILD_DIR]
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$src}" && pwd)
COREWATCH=$build/src/corewatch
COLLECTOR=$build/src/corewatch-collector
UPLOADRUN=$build/tests/tools/uploadrun
for f in "$COREWATCH" "$COLLECTOR" "$UPLOADRUN"; do
	[ -x "$f" ] || { echo "no $f: run make check first" >&2; exit 2; }
done
export top_builddir=$build COREWATCH
. "$src/tests/scenario/lib.sh"
cw_tmpdir
N=${CW_BENCH_RECORDS:-1000000}
DB="sqlite:$CW_TMP/collector.db"
say() { printf '%s\n' "$*"; }

cw_probe_key "$CW_TMP/probe.key"
PROBE=$PROBE_ID
cw_probe_enroll "$DB" bench "$PROBE_PUBKEY"
cw_collector_start "$CW_TMP/serve.log" --db "$DB"

say "upload-bench: $(uname -srm), $(nproc) CPUs, $N records"
# 1. the backlog: a DNS result's size of padding.
/usr/bin/time -f '%e s, %M KiB max RSS' -o "$CW_TMP/append.time" \
    "$UPLOADRUN" --spool "$CW_TMP/spool" --key "$CW_TMP/probe.key" \
    --append "$N" --pad 200 --timeout 3600s >/dev/null 2>"$CW_TMP/append.err" ||
    { cat "$CW_TMP/append.err"; cw_die "append"; }
say "backlog: $N records appended in $(cat "$CW_TMP/append.time"); spool" \
    "$(du -sh "$CW_TMP/spool" | cut -f1)"
# 2. the drain.
/usr/bin/time -f '%e %U %S %M' -o "$CW_TMP/drain.time" \
    "$UPLOADRUN" --spool "$CW_TMP/spool" --key "$CW_TMP/probe.key" \
    --url "$COLLECTOR_URL" --timeout 3600s >"$CW_TMP/drain.json" \
    2>"$CW_TMP/drain.err" || { tail "$CW_TMP/drain.err"; cw_die "drain"; }
read -r wall user sys rss <"$CW_TMP/drain.time"
secs=$(jq -r .seconds "$CW_TMP/drain.json")
say "drain: $N records in $secs s ($(jq -r --argjson n "$N" \
    '$n / .seconds | floor' "$CW_TMP/drain.json") records/s), \
$(jq -r '.paths[0].sent' "$CW_TMP/drain.json") batches; probe: ${rss} KiB \
max RSS, CPU ${user} s user ${sys} s system"
# 3. everything there once.
got=$("$COLLECTOR" export --db "$DB" --format jsonl --probe "$PROBE" |
    jq -r .seq | sort -n | uniq | wc -l)
say "collector: $got distinct records of the probe stored" \
    "($(du -sh "$CW_TMP/collector.db" | cut -f1) database)"
[ "$got" = "$N" ] || cw_die "expected $N records"
