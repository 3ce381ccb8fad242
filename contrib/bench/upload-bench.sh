#!/bin/bash
# upload-bench.sh -- how long a backlog takes to drain from a probe's
# spool into the collector on loopback.  Not a test: it prints numbers.
#
#   1. CW_BENCH_RECORDS records (default 1,000,000, ~270 bytes each, as
#      a DNS result is) are appended to a fresh spool with no upload
#      (the probe offline);
#   2. the uploader (tests/tools/uploadrun: the spool and src/upload.c
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

"$COREWATCH" keygen --key "$CW_TMP/probe.key" >"$CW_TMP/key.out" 2>/dev/null ||
    cw_die "keygen"
PROBE=$(awk '$1 == "probe" { print $2 }' "$CW_TMP/key.out")
"$COLLECTOR" probe add --db "$DB" --name bench --pubkey \
    "$(awk '$1 == "pubkey" { print $2 }' "$CW_TMP/key.out")" >/dev/null ||
    cw_die "probe add"
PORT=$(cw_free_port)
URL=http://127.0.0.1:$PORT
cw_spawn "$CW_TMP/serve.log" "$COLLECTOR" serve --listen "127.0.0.1:$PORT" \
    --db "$DB"
for ((i = 0; i < 100; i++)); do
	curl -sf "$URL/healthz" >/dev/null 2>&1 && break
	sleep 0.1
done

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
    --url "$URL" --timeout 3600s >"$CW_TMP/drain.json" \
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
