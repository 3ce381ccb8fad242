#!/bin/bash
# spool-bench.sh -- figures for the probe's spool on this machine.  Not a
# test: it prints numbers.
#
#   1. appends/s with the default sync policy (a write(2) per record,
#      fdatasync every second from the spool's timer on a libevent
#      loop), DNS-like records of about 450 bytes (tests/tools/spoolbench);
#   2. RSS of `corewatch run` with an empty spool, and with 1,000,000
#      records queued (nothing acknowledged), 10 s after its start, and
#      how long its start (the spool's recovery scan) took.  The run
#      measures one closed port on 127.0.0.1 only.
#
# Usage, from a built tree (make check builds the tools):
#   contrib/bench/spool-bench.sh [BUILD_DIR]
# Knobs: CW_BENCH_APPENDS (records of run 1, default 200000, three
#        runs), CW_BENCH_QUEUED (records queued for 2, default 1000000).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$src}" && pwd)
COREWATCH=$build/src/corewatch
BENCH=$build/tests/tools/spoolbench
for f in "$COREWATCH" "$BENCH"; do
	[ -x "$f" ] || { echo "no $f: run make check first" >&2; exit 2; }
done
export top_builddir=$build COREWATCH
. "$src/tests/scenario/lib.sh"
cw_tmpdir
APPENDS=${CW_BENCH_APPENDS:-200000}
QUEUED=${CW_BENCH_QUEUED:-1000000}
say() { printf '%s\n' "$*"; }

"$COREWATCH" keygen --key "$CW_TMP/key" >"$CW_TMP/pub" 2>/dev/null ||
    cw_die "keygen failed"
PROBE=$(awk '$1 == "probe" {print $2}' "$CW_TMP/pub")

say "== 1. spool appends/s, default sync policy ($APPENDS records, 3 runs)"
for i in 1 2 3; do
	"$BENCH" append "$CW_TMP/s$i" "$PROBE" "$APPENDS" ||
	    cw_die "spoolbench failed"
	rm -rf "$CW_TMP/s$i"
done

# rss_of DIR: start run on the spool in DIR, wait for its start, then
# 10 s, and print "start_s rss_kib hwm_kib depth".
rss_of()
{
	local dir=$1 t0 t1 i pid rss hwm depth
	cat >"$CW_TMP/run.conf" <<EOF
probe { name = "bench" }
state_dir = "$CW_TMP/state"
key = "$CW_TMP/key"
output { path = "/dev/null" }
spool {
	dir = "$dir"
	max_size = 8G
	min_free = 0
}
dns "closed" {
	servers = {"127.0.0.1"}
	port = 9
	transport = "udp"
	interval = 1s
	timeout = 200ms
}
EOF
	t0=$(date +%s.%N)
	cw_spawn "$CW_TMP/run.log" "$COREWATCH" run -c "$CW_TMP/run.conf"
	pid=$CW_SPAWNED
	for ((i = 0; i < 1200; i++)); do
		grep -q "run: probe id" "$CW_TMP/run.log" && break
		kill -0 "$pid" 2>/dev/null || cw_die "run failed: $(cat \
		    "$CW_TMP/run.log")"
		sleep 0.05
	done
	t1=$(date +%s.%N)
	sleep 10
	rss=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")
	hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$pid/status")
	depth=$("$COREWATCH" spool status -c "$CW_TMP/run.conf" --json |
	    jq .depth)
	cw_stop "$pid"
	echo "$(awk "BEGIN { printf \"%.2f\", $t1 - $t0 }") $rss $hwm $depth"
}

say "== 2. RSS of corewatch run"
read -r start rss hwm depth < <(rss_of "$CW_TMP/empty")
say "empty spool:        start ${start}s, RSS ${rss} KiB (peak ${hwm} KiB), depth $depth"
"$BENCH" append "$CW_TMP/full" "$PROBE" "$QUEUED" >"$CW_TMP/fill.json" ||
    cw_die "spoolbench failed"
say "filling: $(cat "$CW_TMP/fill.json"), $(du -sh "$CW_TMP/full" | cut -f1) on disk"
read -r start rss hwm depth < <(rss_of "$CW_TMP/full")
say "$QUEUED queued: start ${start}s, RSS ${rss} KiB (peak ${hwm} KiB), depth $depth"
