#!/bin/bash
# dns-bench.sh -- figures for the DNS probe on this machine.  Not a test:
# it prints numbers, next to a named peer measured in the same run, so
# that ratios mean something on a noisy shared machine.
#
#   1. measurements/s on one core through the whole path (query, parse,
#      JSON out) of `corewatch dns`, next to dnsperf, against one NSD, and
#      next to the ceiling of a fresh socket per query with nothing else
#      (tests/tools/udpcycle: the system calls corewatch cannot avoid);
#   2. the error of rtt_ms against the wire RTT in a packet capture
#      (tcpdump on lo), median and p99, next to kdig's;
#   3. RSS of `corewatch run` idle on the default config (in a network
#      namespace of its own with only lo: nothing leaves the machine),
#      and with 10,000 measurements in flight to a loopback sink.
#
# Usage, from a built tree after `make check` (which builds udpcycle), as
# root (tcpdump, taskset, namespaces):
#   contrib/bench/dns-bench.sh [BUILD_DIR]
# Knobs: CW_BENCH_N (queries per corewatch rate run, default 100000),
#        CW_BENCH_RTT_N (exchanges for the RTT error, default 2000).
#
# Every packet goes to 127.0.0.1 or stays inside the namespace.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$src}
COREWATCH=$(cd "$build" && pwd)/src/corewatch
[ -x "$COREWATCH" ] || { echo "no $COREWATCH: build first" >&2; exit 2; }
export COREWATCH top_builddir=$build
. "$src/tests/scenario/lib.sh"
cw_tmpdir
N=${CW_BENCH_N:-100000}
RTT_N=${CW_BENCH_RTT_N:-2000}
say() { printf '%s\n' "$*"; }

# Pin the server to core 0 and the clients to core 1: "one core" each.
cw_nsd_start "${CW_TEST_ZONES[@]}"
PORT=$NSD_PORT
taskset -a -p -c 0 "$NSD_PID" >/dev/null

say "== 1. measurements/s on one core (NSD on core 0, client on core 1)"
printf '. SOA\n' >"$CW_TMP/queries"
# dnsperf_rate: one 5 s dnsperf run, queries/s.
dnsperf_rate()
{
	taskset -c 1 dnsperf -s 127.0.0.1 -p "$PORT" -d "$CW_TMP/queries" \
	    -l 5 -c 1 -T 1 -q 500 -e -D 2>&1 |
	    awk '/Queries per second/ {print $4}'
}
# run_rate LABEL ARGS...: one `corewatch dns --count N` run; prints the
# wall-clock rate and leaves "LABEL: ..." details in $CW_TMP/rate.txt.
# --count repeats the measurement, --in-flight bounds concurrency; JSON
# lines go to a file.
run_rate()
{
	local label=$1 start end cpu ok lines
	shift
	start=$(date +%s.%N)
	/usr/bin/time -f '%U %S' -o "$CW_TMP/time" taskset -c 1 \
	    "$COREWATCH" dns --port "$PORT" --count "$N" "$@" 127.0.0.1 \
	    >"$CW_TMP/rate.jsonl" 2>"$CW_TMP/rate.err"
	end=$(date +%s.%N)
	cpu=$(awk '{print $1 + $2}' "$CW_TMP/time")
	ok=$(grep -c '"ok":true' "$CW_TMP/rate.jsonl")
	lines=$(wc -l <"$CW_TMP/rate.jsonl")
	awk -v n="$N" -v s="$start" -v e="$end" -v c="$cpu" -v ok="$ok" \
	    -v lines="$lines" -v label="$label" 'BEGIN {
		printf "%s: %d results (%d ok) in %.2f s, %.0f per CPU-second\n",
		    label, lines, ok, e - s, (c > 0 ? n / c : 0) >"/dev/stderr"
		printf "%.0f\n", n / (e - s) }' 2>>"$CW_TMP/rate.txt"
}
# The machine is shared and noisy: three rounds, each tool right after
# the other, and the ratio of each round.
: >"$CW_TMP/rate.txt"
# udpcycle_rate [--reuse]: the kernel's ceiling, a fresh socket per query
# (socket, connect, send, recv, close) and nothing else; --reuse keeps
# the sockets, as dnsperf does.
UDPCYCLE=$(cd "$build" && pwd)/tests/tools/udpcycle
udpcycle_rate()
{
	taskset -c 1 "$UDPCYCLE" --port "$PORT" --count "$N" --in-flight 500 \
	    "$@" 127.0.0.1 2>/dev/null || echo 0
}
[ -x "$UDPCYCLE" ] || { echo "no $UDPCYCLE: run make check first" >&2; exit 2; }
for round in 1 2 3; do
	dp=$(dnsperf_rate)
	fresh=$(udpcycle_rate)
	a=$(run_rate "round $round, 500 in flight, no late window" \
	    --in-flight 500 --late-window 0)
	b=$(run_rate "round $round, 10000 in flight, NSID, 200 ms late window" \
	    --in-flight 10000 --nsid)
	awk -v r="$round" -v dp="$dp" -v f="$fresh" -v a="$a" -v b="$b" 'BEGIN {
		printf "round %d: dnsperf %.0f q/s; a fresh socket per query and nothing else %.0f/s (%.2fx dnsperf); corewatch %.0f/s (%.2fx dnsperf, %.2fx the fresh-socket ceiling), with NSID and late window %.0f/s (%.2fx)\n",
		    r, dp, f, f / dp, a, a / dp, a / f, b, b / dp }'
done
sed 's/^/  /' "$CW_TMP/rate.txt"

say ""
say "== 2. rtt_ms error against the wire (tcpdump on lo), sequential queries"
cw_spawn "$CW_TMP/tcpdump.log" tcpdump -i lo -n -U -w "$CW_TMP/cap.pcap" \
    "udp port $PORT"
tcpdump_pid=$CW_SPAWNED
for ((i = 0; i < 50; i++)); do
	grep -q "listening on" "$CW_TMP/tcpdump.log" 2>/dev/null && break
	sleep 0.1
done
taskset -c 1 "$COREWATCH" dns --port "$PORT" --count "$RTT_N" --in-flight 1 \
    --late-window 0 127.0.0.1 >"$CW_TMP/rtt.jsonl" 2>/dev/null
kdig_n=$((RTT_N / 4))
for ((i = 0; i < kdig_n; i++)); do
	taskset -c 1 kdig @127.0.0.1 -p "$PORT" +notcp +retry=0 +timeout=2 \
	    . SOA 2>/dev/null
done >"$CW_TMP/kdig.txt"
sleep 0.5
kill -INT "$tcpdump_pid" 2>/dev/null
wait "$tcpdump_pid" 2>/dev/null
"$src/contrib/bench/pcap_rtt.py" "$CW_TMP/cap.pcap" "$PORT" >"$CW_TMP/wire.txt"
/usr/bin/python3 - "$CW_TMP/wire.txt" "$CW_TMP/rtt.jsonl" "$CW_TMP/kdig.txt" <<'PY'
import json, re, sys
wire = {}
for line in open(sys.argv[1]):
    i, port, us = map(int, line.split())
    wire.setdefault(i, []).append(us)
def errors(pairs):
    out = []
    for i, reported_us in pairs:
        w = wire.get(i)
        if w and len(w) == 1:       # an ID seen twice is ambiguous: skip
            out.append(reported_us - w[0])
    return sorted(out)
def show(label, errs, resolution):
    if not errs:
        print("%s: no matched exchanges" % label)
        return
    med = errs[len(errs) // 2]
    p99 = errs[min(len(errs) - 1, int(len(errs) * 0.99))]
    absolute = sorted(abs(e) for e in errs)
    print("%s: %d exchanges; error (reported - wire) median %+d us, p99 %+d us;"
          " |error| median %d us, p99 %d us%s" % (label, len(errs), med, p99,
          absolute[len(absolute) // 2],
          absolute[min(len(absolute) - 1, int(len(absolute) * 0.99))],
          resolution))
    return absolute
cw = []
for line in open(sys.argv[2]):
    r = json.loads(line)
    if r.get("ok") and r.get("rtt_ms") is not None:
        cw.append((r["query"]["id"], round(r["rtt_ms"] * 1000)))
kd, cur = [], None
for line in open(sys.argv[3]):
    m = re.search(r"id: (\d+)", line)
    if m:
        cur = int(m.group(1))
    m = re.search(r"\(UDP\) in ([0-9.]+) ms", line)
    if m and cur is not None:
        kd.append((cur, round(float(m.group(1)) * 1000)))
        cur = None
a = show("corewatch", errors(cw), "")
b = show("kdig     ", errors(kd), " (kdig prints 0.1 ms steps)")
if a and b:
    print("ratio of median |error| kdig/corewatch: %.1fx" %
          (b[len(b) // 2] / max(1, a[len(a) // 2])))
PY

say ""
say "== 3. RSS of corewatch run"
# rss PID: "VmRSS VmHWM" in kB.
rss() { awk '/^VmRSS/ {r=$2} /^VmHWM/ {h=$2} END {print r, h}' "/proc/$1/status"; }
cw_netns_create cwbench
mkdir -p "$CW_TMP/state"
sed -e "s|^state_dir = .*|state_dir = \"$CW_TMP/state\"|" \
    -e 's|path = "-"|path = "/dev/null"|' \
    "$src/contrib/corewatch.conf" >"$CW_TMP/default.conf"
cw_spawn "$CW_TMP/idle.log" ip netns exec "$CW_NS" "$COREWATCH" run \
    -c "$CW_TMP/default.conf"
idle_pid=$CW_SPAWNED
sleep 10
read -r r h < <(rss "$idle_pid")
anon=$(awk '/^RssAnon/ {print $2}' "/proc/$idle_pid/status")
say "idle on the default config (after 10 s, empty namespace): RSS $r kB, peak $h kB; of it anonymous (the probe's own memory) $anon kB, the rest shared library pages"
kill -TERM "$idle_pid"; wait "$idle_pid" 2>/dev/null
# What linking Debian's libcurl costs by itself (its dependencies:
# OpenSSL, GnuTLS through librtmp, Kerberos, LDAP ... load and run
# their constructors): a program that does nothing else.
printf 'int main(void) { return 0; }\n' >"$CW_TMP/empty.c"
if cc -o "$CW_TMP/empty" "$CW_TMP/empty.c" &&
    cc -o "$CW_TMP/empty-curl" "$CW_TMP/empty.c" -Wl,--no-as-needed \
    $(pkg-config --libs libcurl); then
	e0=$(/usr/bin/time -f %M "$CW_TMP/empty" 2>&1 >/dev/null)
	e1=$(/usr/bin/time -f %M "$CW_TMP/empty-curl" 2>&1 >/dev/null)
	say "for scale: an empty program peaks at $e0 kB, the same linked with libcurl at $e1 kB"
fi

# A sink on loopback that reads every datagram and never answers, so
# 10,000 measurements stay in flight until their 30 s timeout.
sink_port=$(cw_free_port)
cw_spawn "$CW_TMP/sink.log" /usr/bin/python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
s.bind(("0.0.0.0", int(sys.argv[1])))
s.settimeout(1)
end = time.time() + 120
while time.time() < end:
    try:
        s.recv(2048)
    except socket.timeout:
        pass
' "$sink_port"
{
	printf 'probe { name = "bench" }\nstate_dir = "%s"\n' "$CW_TMP/state"
	printf 'output { path = "/dev/null" }\n'
	printf 'dns "inflight" {\n\tport = %s\n\ttransport = "udp"\n\taf = "4"\n' "$sink_port"
	printf '\tinterval = 1h\n\tspread = 0s\n\ttimeout = 30s\n\tservers = {'
	for ((i = 0; i < 10000; i++)); do
		[ "$i" -gt 0 ] && printf ','
		printf '"127.%d.%d.%d"' $((2 + i / 62500)) $((i / 250 % 250)) $((i % 250 + 1))
	done
	printf '}\n}\n'
} >"$CW_TMP/inflight.conf"
cw_spawn "$CW_TMP/inflight.log" "$COREWATCH" run -c "$CW_TMP/inflight.conf"
busy_pid=$CW_SPAWNED
max=0 fds=0
for ((i = 0; i < 20; i++)); do
	sleep 0.5
	read -r r h < <(rss "$busy_pid")
	[ "$r" -gt "$max" ] && max=$r
	f=$(ls "/proc/$busy_pid/fd" | wc -l)
	[ "$f" -gt "$fds" ] && fds=$f
done
read -r r h < <(rss "$busy_pid")
say "10,000 in flight: RSS $r kB (max sampled $max kB, peak $h kB), open fds up to $fds"
kill -TERM "$busy_pid"; wait "$busy_pid" 2>/dev/null
