#!/bin/bash
# http_agent.sh -- HTTP measurements through the agent and on to the
# collector, against the real nginx fixture (cw_nginx_start):
#   once: http sections (pinned addresses, a name from /etc/hosts, a
#   name from the test's NSD, HTTPS with the test CA as cafile, a 503, a
#   body_pattern, a name that does not exist) beside a dns section;
#   every measurement reports, exit status 1, the documented keys; the
#   table has a row per HTTP result with its status;
#   run: SIGHUP while a request is in flight (the same file, then the
#   measurement renamed): no result lost or doubled; SIGTERM while in
#   flight: the result is written before the exit; twice: at once;
#   run with spool and upload to a real corewatch-collector: the jsonl
#   export holds the spool's http records byte for byte, csv and atlas
#   say what doc/export.md says, a record with addr null is accepted;
#   corewatch http --proxy through tests/fault/socks5.py (socks5h://
#   and socks5://) and tests/fault/httpproxy.py (http://: a GET in
#   absolute form, HTTPS through CONNECT, a CONNECT the proxy refuses),
#   and a proxy that is down.
#
# The whole test runs in a network namespace of its own (loopback only)
# with its own /etc/hosts and a resolv.conf naming 127.0.0.1; the
# measurements use the test's NSD for names /etc/hosts lacks: nothing
# is looked up or sent beyond the machine.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

cw_netns_isolate cwhttpag $'127.0.0.1 localhost good.test\n::1 localhost good.test'

SOCKS5="$CW_SCENARIO_DIR/../fault/socks5.py"
HTTPPROXY="$CW_SCENARIO_DIR/../fault/httpproxy.py"
[ -x "$COLLECTOR" ] || cw_die "no $COLLECTOR"

cw_tmpdir
cw_nginx_start
HP=$NGINX_HTTP_PORT SP=$NGINX_HTTPS_PORT
NADDR=1 ADDRS='["127.0.0.1"]' PINNED='"127.0.0.1"'
if [ "$CW_HAVE_V6" = 1 ]; then
	NADDR=2 ADDRS='["127.0.0.1","::1"]' PINNED='"127.0.0.1", "::1"'
fi
BODY_SHA=$(printf '%s' "$CW_NGINX_BODY" | sha256sum | cut -d' ' -f1)

# NSD: the root zone for the dns section, web.test for names.
cw_web_zone "$CW_TMP/web.zone"
cw_nsd_start . root.zone web.test. "$CW_TMP/web.zone"
printf 'nameserver 127.0.0.1:%s\n' "$NSD_PORT" >"$CW_TMP/resolv.conf"

# Every exit status of a corewatch or corewatch-collector run, a line
# "WHAT STATUS" each.  Under the sanitizers contrib/test-all.sh sends
# the reports to files and has a report end the program with status 86:
# the status is all a test sees of one (the end of this test checks).
STATUSES=$CW_TMP/statuses
: >"$STATUSES"
# exited WHAT STATUS: record an exit status.
exited()
{
	printf '%s %s\n' "$1" "$2" >>"$STATUSES"
}

# cw ARGS...: corewatch with a time bound; status in $rc.
cw()
{
	timeout 60 "$COREWATCH" "$@"
	rc=$?
	exited "corewatch $1" "$rc"
}

# logged TEXT: the number of nginx access log lines holding TEXT.
logged()
{
	grep -cF -- "$1" "$NGINX_ACCESS_LOG"
}

# Every HTTP result: the keys of doc/results.md, typed; a result whose
# host did not resolve (addr null) has them too, null or 0, like a
# refused connection's.
SHAPE='
    (.type == "http" and
     (.time | test("^[0-9-]{10}T[0-9:]{8}\\.[0-9]{6}Z$")) and
     ((.name | type) == "string" or (has("name") | not)) and
     (.url | type) == "string" and
     (.method == "GET" or .method == "HEAD") and
     (.host | type) == "string" and (.port | type) == "number" and
     has("addr") and (.af == 4 or .af == 6) and
     (.ok | type) == "boolean" and (.ok == (.failure == null)) and
     (if .ok then has("failure_detail") | not
      else (.failure_detail | type) == "string" end) and
     has("dns_ms") and has("status") and (.total_ms | type) == "number" and
     (if .addr == null and .proxied != true then .status == null
      else true end) and
     has("connect_ms") and has("tls_ms") and has("ttfb_ms") and
     has("http_version") and (.header_bytes | type) == "number" and
     (.body_bytes | type) == "number" and
     (.body_truncated | type) == "boolean" and
     (if .status != null then (.body_sha256 | test("^[0-9a-f]{64}$"))
      else true end))'

# --- once: every kind of http section, and a dns one ------------------------

cat >"$CW_TMP/once.conf" <<EOF
probe {
	name = "http-agent"
}
state_dir = "$CW_TMP/state"
resolv_conf = "$CW_TMP/resolv.conf"
http "pinned" {
	url = "http://good.test:$HP/?pinned"
	addresses = {$PINNED}
	timeout = 5s
}
http "hosts" {
	url = "http://localhost:$HP/?hosts"
	timeout = 5s
}
http "dnsname" {
	url = "http://www.web.test:$HP/?dnsname"
	timeout = 5s
}
http "tls" {
	url = "https://good.test:$SP/?tls"
	cafile = "$NGINX_CA"
	body_pattern = "test pa[g]e"
	expect_status = {"200"}
	timeout = 5s
}
http "down" {
	url = "http://127.0.0.1:$HP/503"
	timeout = 5s
}
http "nohost" {
	url = "http://nx.web.test:$HP/?nohost"
	af = 4
	timeout = 5s
}
dns "soa" {
	servers = {"127.0.0.1"}
	port = $NSD_PORT
	transport = "udp"
	timeout = 2s
}
EOF
cw check-config -c "$CW_TMP/once.conf" >"$CW_TMP/check.out" 2>&1
cw_check "check-config: the http sections are valid" [ "$rc" = 0 ] ||
    cat "$CW_TMP/check.out" >&2
cw once -c "$CW_TMP/once.conf" --json >"$CW_TMP/once.json" \
    2>"$CW_TMP/once.err"
cw_check "once: exit status 1 (the 503 and nx.web.test failed)" [ "$rc" = 1 ] ||
    cat "$CW_TMP/once.err" >&2
cw_expect "once: every http result has the documented keys" \
    "$CW_TMP/once.json" "[.[] | select(.type == \"http\")] |
    length > 0 and all(.[]; $SHAPE)"
cw_expect "once: every measurement reported, as many results as addresses" \
    "$CW_TMP/once.json" "
    def of(n): [.[] | select(.name == n)];
    (of(\"pinned\") | length) == $NADDR and
    (of(\"hosts\") | length) == $NADDR and
    (of(\"dnsname\") | length) == $NADDR and
    (of(\"tls\") | length) == $NADDR and
    (of(\"down\") | length) == 1 and
    (of(\"nohost\") | length) == 1 and
    (of(\"soa\") | length) == 1 and
    length == 4 * $NADDR + 3"
cw_expect "once: pinned: each address once, no lookup, Host kept" \
    "$CW_TMP/once.json" "[.[] | select(.name == \"pinned\")] |
    ([.[].addr] | sort) == $ADDRS and
    all(.[]; .ok and .status == 200 and .dns_ms == null and
	.host == \"good.test\" and (has(\"resolved\") | not) and
	.body_sha256 == \"$BODY_SHA\")"
cw_expect "once: localhost from /etc/hosts, one result per address" \
    "$CW_TMP/once.json" "[.[] | select(.name == \"hosts\")] |
    ([.[].addr] | sort) == $ADDRS and
    all(.[]; .ok and .status == 200 and (.dns_ms | type) == \"number\" and
	. as \$r | any(.resolved[]; . == \$r.addr))"
cw_expect "once: www.web.test from the test's NSD" \
    "$CW_TMP/once.json" "[.[] | select(.name == \"dnsname\")] |
    ([.[].addr] | sort) == $ADDRS and
    all(.[]; .ok and .status == 200 and .host == \"www.web.test\" and
	(.dns_ms | type) == \"number\")"
cw_expect "once: https with the test CA: verified, the pattern found" \
    "$CW_TMP/once.json" "[.[] | select(.name == \"tls\")] |
    ([.[].addr] | sort) == $ADDRS and
    all(.[]; .ok and .status == 200 and .tls.verified == true and
	.tls.verify_error == null and (.tls_ms | type) == \"number\" and
	(.tls.certs[0].issuer | contains(\"corewatch test CA\")) and
	.pattern_matched == true)"
cw_expect "once: /503: http_unexpected_status" "$CW_TMP/once.json" '
    [.[] | select(.name == "down")][0] |
    .ok == false and .failure == "http_unexpected_status" and
    .status == 503 and .addr == "127.0.0.1" and .dns_ms == null'
cw_expect "once: nx.web.test: dns_nxdomain_error, addr null" \
    "$CW_TMP/once.json" '[.[] | select(.name == "nohost")][0] |
    .ok == false and .failure == "dns_nxdomain_error" and .addr == null and
    .af == 4 and .status == null'
cw_expect "once: the dns section beside them" "$CW_TMP/once.json" "
    [.[] | select(.name == \"soa\")][0] |
    .type == \"dns\" and .ok and .soa_serial == $CW_SERIAL_ROOT"
cw_check "once: nginx answered pinned once per address" \
    [ "$(logged "\"GET /?pinned HTTP/1.1\" 200")" = "$NADDR" ]
cw_check "once: nginx saw Host good.test once per address" \
    [ "$(logged "\"good.test:$HP\"")" = "$NADDR" ]
cw_check "once: nginx saw Host www.web.test once per address" \
    [ "$(logged "\"www.web.test:$HP\"")" = "$NADDR" ]
cw_check "once: nginx answered tls once per address" \
    [ "$(logged "\"GET /?tls HTTP/1.1\" 200")" = "$NADDR" ]

# The table: a row per HTTP result, its status in ANSWER.
cw once -c "$CW_TMP/once.conf" --table -o "$CW_TMP/table.json" \
    >"$CW_TMP/table.out" 2>"$CW_TMP/table.err"
cw_check "once --table: exit status 1" [ "$rc" = 1 ]
# row NAME: the table's rows of measurement NAME.
row()
{
	grep -E "^$1 " "$CW_TMP/table.out"
}
for name in pinned hosts dnsname tls; do
	cw_check "once --table: one row per address of $name" \
	    [ "$(row "$name" | wc -l)" = "$NADDR" ]
done
cw_check "once --table: HTTP 200 in their ANSWER column" \
    [ "$(grep -E '^(pinned|hosts|dnsname|tls) ' "$CW_TMP/table.out" |
    grep -cE ' ok +[0-9.]+ +HTTP 200 ')" = $((4 * NADDR)) ]
cw_check "once --table: the address 127.0.0.1 in one hosts row" \
    [ "$(row hosts | grep -c ' 127\.0\.0\.1 ')" = 1 ]
if [ "$CW_HAVE_V6" = 1 ]; then
	cw_check "once --table: the address ::1 in one hosts row" \
	    [ "$(row hosts | grep -c ' ::1 ')" = 1 ]
fi
cw_check "once --table: the 503 row" \
    eval "row down | grep -qE ' http_unexpected_status +[0-9.]+ +HTTP 503 '"
cw_check "once --table: the name that did not resolve" \
    eval "row nohost | grep -q ' dns_nxdomain_error '"
cw_check "once --table: $((4 * NADDR + 1)) of $((4 * NADDR + 3)) ok" \
    grep -q "^$((4 * NADDR + 1)) of $((4 * NADDR + 3)) ok" "$CW_TMP/table.out"
[ "$CW_FAILURES" = 0 ] || cat "$CW_TMP/table.out" >&2

# --- run: reloads and stops while a request is in flight ---------------------

# /slow answers after 3 s (nginx in front of the slow responder, which
# logs each request it gets in $SLOW_LOG).  The interval is 5 s: one
# request a cycle, each in flight for 3 s of it.
RUNOUT="$CW_TMP/run.jsonl"
# slow_conf NAME: the run's configuration, one measurement NAME of /slow.
slow_conf()
{
	cat >"$CW_TMP/run.conf" <<EOF
probe {
	name = "http-agent-run"
}
state_dir = "$CW_TMP/state"
resolv_conf = "$CW_TMP/resolv.conf"
output {
	path = "$RUNOUT"
}
http "$1" {
	url = "http://127.0.0.1:$HP/slow?$1"
	interval = 5s
	spread = 0
	timeout = 4500ms
}
EOF
}

# requests N SECONDS: until the slow responder has had N requests since
# this part began (bounded).
SLOW_BASE=$(grep -c ' /slow$' "$SLOW_LOG")
requests()
{
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		[ "$(grep -c ' /slow$' "$SLOW_LOG")" -ge \
		    $((SLOW_BASE + $1)) ] && return 0
		sleep 0.1
	done
	return 1
}

# count NAME: the complete result lines of NAME so far.
count()
{
	local n=0
	[ -f "$RUNOUT" ] && n=$(wc -l <"$RUNOUT")
	head -n "$n" "$RUNOUT" 2>/dev/null | grep -cF "\"name\":\"$1\""
}

# results NAME N SECONDS: until NAME has N results (bounded).
results()
{
	local i
	for ((i = 0; i < $3 * 10; i++)); do
		[ "$(count "$1")" -ge "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

# stopped PID SECONDS: wait for PID to exit (cw_wait: at most SECONDS,
# then KILL); the time it took in $ms, its status in $rc.
stopped()
{
	local start
	start=$(date +%s%N)
	cw_wait "$1" "$2"
	rc=$CW_STATUS
	exited "corewatch run (pid $1)" "$rc"
	ms=$((($(date +%s%N) - start) / 1000000))
}

slow_conf slow-a
cw_spawn "$CW_TMP/run.err" "$COREWATCH" run -v -c "$CW_TMP/run.conf"
RUN_PID=$CW_SPAWNED
cw_check "run: the first request is sent" requests 1 5
# The same file again: the task is handed over with its request.
kill -HUP "$RUN_PID"
cw_check "run: the request in flight reports after the reload" \
    results slow-a 1 5
cw_check "run: the reload sent no second request" \
    [ "$(grep -c ' /slow$' "$SLOW_LOG")" = $((SLOW_BASE + 1)) ]
cw_check "run: the handed-over task skipped its cycle" \
    grep -q "previous query still running, cycle skipped" "$CW_TMP/run.err"
cw_check "run: the next cycle's request" requests 2 6
# The measurement renamed: slow-a's request finishes and is written,
# slow-b starts at once.
slow_conf slow-b
kill -HUP "$RUN_PID"
cw_check "run: the renamed measurement sends its request" requests 3 3
cw_check "run: the renamed-away request still reports" results slow-a 2 5
cw_check "run: the renamed measurement reports" results slow-b 1 5
cw_check "run: slow-b's next cycle" requests 4 6
sleep 0.3
# SIGTERM while slow-b's request is on the wire: it is written first.
kill -TERM "$RUN_PID"
stopped "$RUN_PID" 8
cw_check "run: SIGTERM in flight: exit status 0" [ "$rc" = 0 ]
cw_check "run: SIGTERM in flight: only after the reply ($ms ms)" \
    [ "$ms" -ge 1500 ]
cw_expect "run: one result per request, none lost, none doubled" \
    "$RUNOUT" '
    ([.[] | select(.name == "slow-a")] | length) == 2 and
    ([.[] | select(.name == "slow-b")] | length) == 2 and length == 4 and
    all(.[]; .ok and .status == 200 and .ttfb_ms >= 2900 and
	.body_bytes == 20)'
cw_check "run: four requests in all" \
    [ "$(grep -c ' /slow$' "$SLOW_LOG")" = $((SLOW_BASE + 4)) ]
cw_check "run: nginx answered slow-a's two requests" \
    [ "$(logged '"GET /slow?slow-a HTTP/1.1" 200')" = 2 ]
cw_check "run: nginx answered slow-b's two requests" \
    [ "$(logged '"GET /slow?slow-b HTTP/1.1" 200')" = 2 ]
cw_check "run: the log says nothing failed" \
    grep -q "stopped after 4 results (0 failed, .* 0 not written" \
    "$CW_TMP/run.err"
cw_check "run: the log has no warning" \
    eval "! grep -Eiq 'warn|error|fail[^e]|cannot|rejected' '$CW_TMP/run.err'"
[ "$CW_FAILURES" = 0 ] || cat "$CW_TMP/run.err" >&2

# SIGTERM twice: out at once, without waiting for the reply.
slow_conf slow-c
rm -f "$RUNOUT"
cw_spawn "$CW_TMP/run2.err" "$COREWATCH" run -c "$CW_TMP/run.conf"
RUN_PID=$CW_SPAWNED
cw_check "run: SIGTERM twice: the request is sent" requests 5 5
kill -TERM "$RUN_PID"
sleep 0.2
kill -TERM "$RUN_PID"
stopped "$RUN_PID" 5
cw_check "run: SIGTERM twice: exit status 0" [ "$rc" = 0 ]
cw_check "run: SIGTERM twice: at once ($ms ms)" [ "$ms" -lt 900 ]
cw_check "run: SIGTERM twice: says so" \
    grep -q "again, stopping now" "$CW_TMP/run2.err"

# --- run with a spool, uploading to the collector ----------------------------

DB="sqlite:$CW_TMP/collector.db"
cw_collector_start "$CW_TMP/collector.log" --db "$DB"
cw_probe_key "$CW_TMP/up.key"
PROBE=$PROBE_ID
cw_probe_enroll "$DB" http-agent-up "$PROBE_PUBKEY"

UPOUT="$CW_TMP/up.jsonl" SPOOL="$CW_TMP/up.spool"
cat >"$CW_TMP/up.conf" <<EOF
probe {
	name = "http-agent-up"
}
state_dir = "$CW_TMP/state"
key = "$CW_TMP/up.key"
resolv_conf = "$CW_TMP/resolv.conf"
heartbeat = 1s
output {
	path = "$UPOUT"
}
spool {
	dir = "$SPOOL"
}
upload {
	url = {"$COLLECTOR_URL"}
	batch_age = 300ms
	batch_records = 20
}
http "up-plain" {
	url = "http://localhost:$HP/?up-plain"
	interval = 1s
	spread = 100ms
	timeout = 900ms
}
http "up-tls" {
	url = "https://good.test:$SP/?up-tls"
	addresses = {"127.0.0.1"}
	cafile = "$NGINX_CA"
	interval = 1s
	spread = 100ms
	timeout = 900ms
}
http "up-503" {
	url = "http://127.0.0.1:$HP/503"
	interval = 1s
	spread = 100ms
	timeout = 900ms
}
http "up-nohost" {
	url = "http://nx.web.test:$HP/?up-nohost"
	af = 4
	interval = 1s
	spread = 100ms
	timeout = 900ms
}
EOF
PER_CYCLE=$((NADDR + 3))
# stored: the number of http records the collector holds.
stored()
{
	"$COLLECTOR" export --db "$DB" --format jsonl --type http 2>/dev/null |
	    wc -l
}
cw_spawn "$CW_TMP/up.err" "$COREWATCH" run -c "$CW_TMP/up.conf"
UP_PID=$CW_SPAWNED
for ((i = 0; i < 150; i++)); do
	[ "$(stored)" -ge $((3 * PER_CYCLE)) ] && break
	kill -0 "$UP_PID" 2>/dev/null || break
	sleep 0.1
done
kill -TERM "$UP_PID"
stopped "$UP_PID" 5
cw_check "upload: corewatch run exits 0" [ "$rc" = 0 ] ||
    cat "$CW_TMP/up.err" >&2
for format in jsonl csv atlas; do
	"$COLLECTOR" export --db "$DB" --format "$format" \
	    --out "$CW_TMP/export.$format" 2>"$CW_TMP/export.$format.err"
	rc=$?
	exited "corewatch-collector export --format $format" "$rc"
	cw_check "export --format $format: exit 0" [ "$rc" = 0 ] ||
	    cat "$CW_TMP/export.$format.err" >&2
done
cw_log "upload: $(grep -c '"type":"http"' "$CW_TMP/export.jsonl") http" \
    "records at the collector"
cw_expect "upload: three cycles of every measurement at the collector" \
    "$CW_TMP/export.jsonl" "[.[] | select(.type == \"http\")] |
    length >= $((3 * PER_CYCLE)) and all(.[]; $SHAPE) and
    ([.[] | select(.name == \"up-plain\")] | length) >= $((3 * NADDR)) and
    ([.[] | select(.name == \"up-tls\")] | length) >= 3 and
    ([.[] | select(.name == \"up-503\")] | length) >= 3 and
    ([.[] | select(.name == \"up-nohost\")] | length) >= 3 and
    all(.[] | select(.name == \"up-nohost\"); .addr == null and
	.failure == \"dns_nxdomain_error\") and
    all(.[]; .probe == \"$PROBE\")"

# The summary: HTTP in groups of their own, an HTTP target per host (one
# address and port serve localhost and 127.0.0.1: two targets).
"$COLLECTOR" summary --db "$DB" --bucket 1d >"$CW_TMP/summary.json"
rc=$?
exited "corewatch-collector summary" "$rc"
cw_check "summary: exit 0" [ "$rc" = 0 ]
cw_expect "summary: type http, no NSIDs, 127.0.0.1:$HP once per host" \
    "$CW_TMP/summary.json" "[.[].targets[]] as \$t | [.[].probes[]] as \$p |
    (\$t | length) > 0 and all(\$t[], \$p[]; .type == \"http\" and
	.nsids == null and .soa_measurements == null) and
    all(\$t[]; .host == .server) and
    ([\$t[] | select(.addr == \"127.0.0.1\" and .port == $HP and
	.proto == \"http\") | .host] | sort) == [\"127.0.0.1\", \"localhost\"]"

# The jsonl export against the spool's frames (doc/spool.md) and the
# output's lines: the same bytes.
/usr/bin/python3 - "$CW_TMP/export.jsonl" "$SPOOL" "$UPOUT" \
    >"$CW_TMP/bytes.out" 2>&1 <<'EOF'
import glob, os, re, struct, sys, zlib
export, spool, output = sys.argv[1:4]
frames = {}
for seg in sorted(glob.glob(os.path.join(spool, "seg-*.log"))):
    data = open(seg, "rb").read()
    off = 0
    while off + 16 <= len(data):
        magic, n, seq = struct.unpack(">4sIQ", data[off:off + 16])
        if magic != b"CWR1" or off + 16 + n + 4 > len(data):
            sys.exit("%s: bad frame at %d" % (seg, off))
        line = data[off + 16:off + 16 + n]
        crc, = struct.unpack(">I", data[off + 16 + n:off + 20 + n])
        if crc != zlib.crc32(data[off + 8:off + 16 + n]):
            sys.exit("%s: bad CRC at %d" % (seg, off))
        frames[seq] = line
        off += 20 + n
outlines = set(open(output, "rb").read().split(b"\n"))
envelope = re.compile(rb'^\{"probe":"[0-9a-f]{32}","chain":"[0-9a-f]{32}",'
                      rb'"seq":([0-9]+),"prev":"[0-9a-f]{64}",("type":.*)$')
http = 0
for line in open(export, "rb").read().split(b"\n")[:-1]:
    m = envelope.match(line)
    if not m:
        sys.exit("no envelope: %r" % line[:200])
    seq = int(m.group(1))
    if frames.get(seq) != line:
        sys.exit("seq %d: not the spool's bytes" % seq)
    if b'"type":"http"' in line[:200]:
        http += 1
        if b"{" + m.group(2) not in outlines:
            sys.exit("seq %d: not an output line" % seq)
print("ok", http, "http records,", len(frames), "frames")
EOF
cw_check "upload: the jsonl export is the spool's bytes and the output's" \
    grep -q '^ok ' "$CW_TMP/bytes.out"
cat "$CW_TMP/bytes.out" >&2
cw_check "upload: nothing refused (no dead letter)" \
    [ ! -e "$SPOOL/dead-letter.jsonl" ]
# up-503 and up-nohost fail by design: run says so once each, as a
# target that starts failing.
cw_check "upload: the two failing targets logged once each" \
    [ "$(grep -Ec ' up-503 .*: failing: http_unexpected_status| up-nohost .*: failing: dns_nxdomain_error' \
    "$CW_TMP/up.err")" = "$(grep -Ec '^http "up-(503|nohost)"' \
    "$CW_TMP/up.conf")" ]
cw_check "upload: the probe logged no other failure, no refusal" \
    eval "! grep -Ev ' up-(503|nohost) .*: failing: ' '$CW_TMP/up.err' |
    grep -Eiq 'dead letter|refused|rejected|fail[^e]|error|warn'"
cw_check "upload: every result written and spooled" \
    grep -q "0 not written, 0 not spooled" "$CW_TMP/up.err"
cw_expect "upload: the heartbeats say every upload went through" \
    "$CW_TMP/export.jsonl" '
    [.[] | select(.type == "heartbeat")] | length >= 2 and
    all(.[]; .upload.dead_letters == 0 and .upload.failures == 0 and
	.upload.failing_since == null) and .[-1].upload.batches >= 1'
[ "$CW_FAILURES" = 0 ] || cat "$CW_TMP/up.err" >&2

# csv: server = host, proto = the scheme, rtt_ms = total_ms.
/usr/bin/python3 - "$CW_TMP/export.csv" "$CW_TMP/export.jsonl" \
    >"$CW_TMP/csv.out" 2>&1 <<'EOF'
import csv, json, sys
recs = {}
for line in open(sys.argv[2], "rb"):
    r = json.loads(line)
    recs[(r["chain"], r["seq"])] = r
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
http = [row for row in rows if row["type"] == "http"]
if len(rows) != len(recs) or not http:
    sys.exit("%d rows, %d records, %d http" % (len(rows), len(recs), len(http)))
for row in http:
    r = recs[(row["chain"], int(row["seq"]))]
    want = {"server": r["host"], "proto": r["url"].split(":", 1)[0],
            "name": r["name"], "addr": r["addr"] or "",
            "af": str(r["af"]), "port": str(r["port"]),
            "ok": "true" if r["ok"] else "false",
            "failure": r["failure"] or ""}
    for k, v in want.items():
        if row[k] != v:
            sys.exit("seq %s: %s is %r, not %r" % (row["seq"], k, row[k], v))
    if row["rtt_ms"] != "%.3f" % r["total_ms"]:
        sys.exit("seq %s: rtt_ms %r, total_ms %r" % (
            row["seq"], row["rtt_ms"], r["total_ms"]))
print("ok", len(http), "http rows")
EOF
cw_check "upload: csv: server = host, proto = http/https, rtt_ms = total_ms" \
    grep -q '^ok ' "$CW_TMP/csv.out"
cat "$CW_TMP/csv.out" >&2

# atlas: type http, uri, res, rt, ttc, ttfb, hsize, bsize.  Records
# without an address (the host did not resolve) have no dst_addr and
# give their failure as dnserr, as Atlas does.
/usr/bin/python3 - "$CW_TMP/export.atlas" "$CW_TMP/export.jsonl" \
    >"$CW_TMP/atlas.out" 2>&1 <<'EOF'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[2], "rb")]
recs = [r for r in recs if r["type"] == "http"]
if not any(r["addr"] is None for r in recs):
    sys.exit("no http record without an address to check")
atlas = [json.loads(l) for l in open(sys.argv[1], "rb")]
atlas = [a for a in atlas if a.get("type") == "http"]
if len(atlas) != len(recs) or not recs:
    sys.exit("%d atlas http results, %d http records" % (
        len(atlas), len(recs)))
keys = {"res": "status", "rt": "total_ms", "ttc": "connect_ms",
        "ttfb": "ttfb_ms", "hsize": "header_bytes", "bsize": "body_bytes",
        "ver": "http_version", "dst_addr": "addr", "af": "af",
        "method": "method"}
for a, r in zip(atlas, recs):
    if a["uri"] != r["url"] or a["msm_name"] != "HTTPGet" or \
            a["fw"] != 5020 or len(a["result"]) != 1:
        sys.exit("not an Atlas http result of %s: %r" % (r["url"], a))
    res = a["result"][0]
    for k, rk in keys.items():
        if res.get(k) != r[rk] or (r[rk] is None) == (k in res):
            sys.exit("%s: %s %r, record %r" % (r["url"], k, res.get(k), r[rk]))
    err = "dnserr" if r["addr"] is None else "err"
    if r["ok"] == (err in res) or ("err" in res and "dnserr" in res):
        sys.exit("%s: %s %r, ok %r" % (r["url"], err, res.get(err), r["ok"]))
print("ok", len(atlas), "atlas http results")
EOF
cw_check "upload: atlas: uri, res, rt, ttc, ttfb, hsize, bsize" \
    grep -q '^ok ' "$CW_TMP/atlas.out"
cat "$CW_TMP/atlas.out" >&2
cw_collector_stop
exited "corewatch-collector serve" "$CW_STATUS"
cw_check "the collector stops cleanly on SIGTERM" [ "$CW_STATUS" = 0 ]

# --- corewatch http --proxy ------------------------------------------------

# http NAME ARGS...: corewatch http ARGS..., results in $CW_TMP/NAME.json,
# stderr in NAME.err, exit status in $rc.
http()
{
	local name=$1
	shift
	timeout 60 "$COREWATCH" http "$@" >"$CW_TMP/$name.json" \
	    2>"$CW_TMP/$name.err"
	rc=$?
	exited "corewatch http ($name)" "$rc"
	[ "$rc" -le 1 ] || cat "$CW_TMP/$name.err" >&2
}

cw_spawn_port socks5.py "$CW_TMP/socks.out" /usr/bin/python3 "$SOCKS5" \
    --map good.test=127.0.0.1 --log "$CW_TMP/socks.log" --lifetime 120
SOCKS="127.0.0.1:$CW_PORT"

# socks5h: the proxy is given the name and resolves it.
http socks5h "http://good.test:$HP/?socks5h" -4 --proxy "socks5h://$SOCKS"
cw_check "socks5h: exit status 0" [ "$rc" = 0 ]
cw_expect "socks5h: proxied, ok, 200, no address of our own" \
    "$CW_TMP/socks5h.json" "
    length == 1 and (.[0] | .proxied == true and .ok and .status == 200 and
	.addr == null and .host == \"good.test\" and .dns_ms == null and
	.body_sha256 == \"$BODY_SHA\" and $SHAPE)"
cw_check "socks5h: the proxy was given the name" \
    grep -qx "name good.test $HP" "$CW_TMP/socks.log"
cw_check "socks5h: the request reached nginx" \
    [ "$(logged "\"GET /?socks5h HTTP/1.1\" 200")" = 1 ]
http socks5hs "https://good.test:$SP/?socks5hs" -4 --cacert "$NGINX_CA" \
    --proxy "socks5h://$SOCKS"
cw_expect "socks5h, https: proxied, verified" "$CW_TMP/socks5hs.json" '
    length == 1 and (.[0] | .proxied == true and .ok and .status == 200 and
	.tls.verified == true)'
cw_check "socks5h, https: SNI good.test at nginx" \
    [ "$(logged "\"GET /?socks5hs HTTP/1.1\" 200 ${#CW_NGINX_BODY} \"TLSv1.3\" \"good.test\"")" = 1 ]

# socks5: the name is resolved here (/etc/hosts), the proxy is given the
# address (socks5.py takes IPv4 addresses only: -4).
http socks5 "http://good.test:$HP/?socks5" -4 --proxy "socks5://$SOCKS"
cw_check "socks5: exit status 0" [ "$rc" = 0 ]
cw_expect "socks5: proxied, ok, 200" "$CW_TMP/socks5.json" "
    length == 1 and (.[0] | .proxied == true and .ok and .status == 200 and
	.host == \"good.test\" and $SHAPE)"
cw_check "socks5: the proxy was given the address" \
    grep -qx "ipv4 127.0.0.1 $HP" "$CW_TMP/socks.log"
cw_check "socks5: the request reached nginx" \
    [ "$(logged "\"GET /?socks5 HTTP/1.1\" 200")" = 1 ]

# A proxy that is down: proxy_error (the site was never tried), with the
# proxy's address in the detail.
CLOSED=$(cw_free_port) || cw_die "no free port"
for scheme in socks5h socks5 http; do
	http "down-$scheme" "http://good.test:$HP/?down-$scheme" -4 \
	    --proxy "$scheme://127.0.0.1:$CLOSED"
	cw_check "proxy down ($scheme): exit status 1" [ "$rc" = 1 ]
	cw_expect "proxy down ($scheme): proxy_error, proxied" \
	    "$CW_TMP/down-$scheme.json" "
	    length == 1 and (.[0] | .proxied == true and .ok == false and
		.failure == \"proxy_error\" and .status == null and
		(.failure_detail | contains(\"$CLOSED\")))"
	cw_check "proxy down ($scheme): nothing reached nginx" \
	    [ "$(logged "?down-$scheme")" = 0 ]
done
# The proxy up, the site's port closed: the proxy says so (SOCKS reply
# 5), a finding about the site.
http siteclosed "http://good.test:$CLOSED/" -4 --proxy "socks5h://$SOCKS"
cw_expect "proxy up, site closed: connection_refused" \
    "$CW_TMP/siteclosed.json" '
    length == 1 and .[0].proxied == true and .[0].ok == false and
    .[0].failure == "connection_refused"'

# An HTTP proxy (httpproxy.py): a GET for an http:// URL in absolute
# form, which the proxy sends on in origin form; an https:// URL through
# a CONNECT tunnel, TLS end to end with nginx.
cw_spawn_port httpproxy.py "$CW_TMP/hproxy.out" /usr/bin/python3 \
    "$HTTPPROXY" --map good.test=127.0.0.1 --log "$CW_TMP/hproxy.log" \
    --lifetime 120
HPROXY="http://127.0.0.1:$CW_PORT"

http hpget "http://good.test:$HP/?hpget" -4 --proxy "$HPROXY"
cw_check "http proxy, GET: exit status 0" [ "$rc" = 0 ]
cw_expect "http proxy, GET: proxied, ok, 200, no address of our own" \
    "$CW_TMP/hpget.json" "
    length == 1 and (.[0] | .proxied == true and .ok and .status == 200 and
	.addr == null and .host == \"good.test\" and .dns_ms == null and
	.tls_ms == null and .body_sha256 == \"$BODY_SHA\" and $SHAPE)"
cw_check "http proxy, GET: the proxy was asked for good.test" \
    grep -qx "GET good.test $HP 200" "$CW_TMP/hproxy.log"
cw_check "http proxy, GET: nginx got it in origin form, with its Host" \
    [ "$(logged "\"GET /?hpget HTTP/1.1\" 200 ${#CW_NGINX_BODY} \"-\" \"-\" \"good.test:$HP\"")" = 1 ]

# The certificate nginx's good one: its dates (`openssl x509` prints
# "Nov 27 03:29:08 2026 GMT"), as the probe writes them.
cert_date()
{
	date -u -d "$(openssl x509 -in "$NGINX_TLS_DIR/good.crt" -noout \
	    "-$1" | cut -d= -f2)" +%Y-%m-%dT%H:%M:%SZ
}
GOOD_FROM=$(cert_date startdate) && GOOD_UNTIL=$(cert_date enddate) ||
    cw_die "cannot read the dates of good.crt"
http hptls "https://good.test:$SP/?hptls" -4 --cacert "$NGINX_CA" \
    --proxy "$HPROXY"
cw_check "http proxy, CONNECT: exit status 0" [ "$rc" = 0 ]
cw_expect "http proxy, CONNECT: proxied, ok, 200, verified end to end" \
    "$CW_TMP/hptls.json" "
    length == 1 and (.[0] | .proxied == true and .ok and .status == 200 and
	.proxy_status == 200 and
	.addr == null and .dns_ms == null and (.tls_ms | type) == \"number\" and
	.tls.verified == true and .tls.verify_error == null and
	.body_sha256 == \"$BODY_SHA\" and $SHAPE)"
cw_expect "http proxy, CONNECT: the certificate is nginx's good one" \
    "$CW_TMP/hptls.json" "
    .[0].tls.certs[0] | (.subject | contains(\"CN=good.test\")) and
    (.issuer | contains(\"CN=corewatch test CA\")) and
    .not_before == \"$GOOD_FROM\" and .not_after == \"$GOOD_UNTIL\""
cw_check "http proxy, CONNECT: the proxy opened the tunnel" \
    grep -qx "CONNECT good.test $SP 200" "$CW_TMP/hproxy.log"
cw_check "http proxy, CONNECT: SNI good.test at nginx" \
    [ "$(logged "\"GET /?hptls HTTP/1.1\" 200 ${#CW_NGINX_BODY} \"TLSv1.3\" \"good.test\"")" = 1 ]

# An HTTP proxy that is down, for an https:// URL (the http:// one is
# above): proxy_error, nothing tunnelled.
http hpdown "https://good.test:$SP/?hpdown" -4 --cacert "$NGINX_CA" \
    --proxy "http://127.0.0.1:$CLOSED"
cw_expect "http proxy down, https: proxy_error" "$CW_TMP/hpdown.json" "
    length == 1 and (.[0] | .proxied == true and .ok == false and
	.failure == \"proxy_error\" and .status == null and
	(.failure_detail | contains(\"$CLOSED\")))"

# The proxy refuses the CONNECT: 502 when the site's port is closed, 403
# for a target it may not connect to.  That is the proxy's finding, not
# the site's: proxy_error, with the proxy's answer as proxy_status and no
# status (libcurl 7.88 itself says CURLE_RECV_ERROR, "CONNECT tunnel
# failed, response 502").
http hprefused "https://good.test:$CLOSED/" -4 --proxy "$HPROXY"
cw_check "http proxy, CONNECT refused: exit status 1" [ "$rc" = 1 ]
cw_check "http proxy, CONNECT refused: the proxy answered 502" \
    grep -qx "CONNECT good.test $CLOSED 502" "$CW_TMP/hproxy.log"
cw_expect "http proxy, CONNECT refused: proxy_error, proxy_status 502" \
    "$CW_TMP/hprefused.json" '
    length == 1 and (.[0] | .proxied == true and .ok == false and
	.failure == "proxy_error" and .proxy_status == 502 and
	.status == null and .tls == null and
	(.failure_detail | contains("CONNECT tunnel failed, response 502")))'
http hpforbidden "https://other.test:$SP/?hpforbidden" -4 --proxy "$HPROXY"
cw_check "http proxy, CONNECT forbidden: the proxy answered 403" \
    grep -qx "CONNECT other.test $SP 403" "$CW_TMP/hproxy.log"
cw_expect "http proxy, CONNECT forbidden: proxy_error, proxy_status 403" \
    "$CW_TMP/hpforbidden.json" '
    length == 1 and (.[0] | .proxied == true and .ok == false and
	.failure == "proxy_error" and .proxy_status == 403 and
	.status == null and
	(.failure_detail | contains("CONNECT tunnel failed, response 403")))'
cw_check "http proxy, CONNECT forbidden: nothing reached nginx" \
    [ "$(logged "?hpforbidden")" = 0 ]
# A GET whose site is closed: the proxy's own 502 is the answer the
# probe gets, so it is the status reported.
http hpgetclosed "http://good.test:$CLOSED/?hpgetclosed" -4 --proxy "$HPROXY"
cw_check "http proxy, GET, site closed: the proxy answered 502" \
    grep -qx "GET good.test $CLOSED 502" "$CW_TMP/hproxy.log"
cw_expect "http proxy, GET, site closed: the proxy's 502" \
    "$CW_TMP/hpgetclosed.json" '
    length == 1 and (.[0] | .proxied == true and .ok == false and
	.failure == "http_unexpected_status" and .status == 502)'
cw_check "http proxy: one log line per request" \
    [ "$(wc -l <"$CW_TMP/hproxy.log")" = 5 ]
[ "$CW_FAILURES" = 0 ] || cat "$CW_TMP/hproxy.log" >&2

# --- --max-body: the configuration's range, 1 byte to 1G ---------------------
# The command once took 0 and anything above 1G that max_body refuses;
# both now ask http_spec_check().  Refused before any request is made.
for size in 0 2G; do
	timeout 60 "$COREWATCH" http --max-body "$size" \
	    "http://127.0.0.1:$CLOSED/?maxbody" >"$CW_TMP/maxbody.json" \
	    2>"$CW_TMP/maxbody.err"
	rc=$?
	exited "corewatch http (--max-body $size)" "$rc"
	cw_check "http --max-body $size: exit status 2" [ "$rc" = 2 ]
	cw_check "http --max-body $size: the configuration's words" \
	    grep -qx "corewatch http: --max-body: from 1 byte to 1G" \
	    "$CW_TMP/maxbody.err" || cat "$CW_TMP/maxbody.err" >&2
	cw_check "http --max-body $size: no result" [ ! -s "$CW_TMP/maxbody.json" ]
done

# Under the sanitizers (contrib/test-all.sh): no program ended on a
# report, including those whose status 1 was expected.  (The reports
# themselves are in test-all's files, which it checks after the suite.)
cw_check "exit statuses recorded ($(wc -l <"$STATUSES"))" \
    [ "$(wc -l <"$STATUSES")" -ge 20 ]
cw_check "no program exited 86 (a sanitizer's report)" \
    [ "$(grep -c ' 86$' "$STATUSES")" = 0 ] || grep ' 86$' "$STATUSES" >&2

cw_done
