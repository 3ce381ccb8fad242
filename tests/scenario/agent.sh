#!/bin/bash
# agent.sh -- the agent commands against a real NSD on loopback:
#   check-config on good and broken files (FILE:LINE messages, exit 0/2),
#   once (exit 0 all ok, 1 some failed, 2 usage or configuration error;
#   JSON lines; the table), and run (results on schedule, SIGHUP with a
#   broken file keeps the old configuration, SIGHUP with a valid changed
#   file switches to it, SIGTERM stops promptly with status 0).
# Every server is on 127.0.0.1 or ::1; no root or TLD catalog is used.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

CONF_SRC="$CW_SCENARIO_DIR/conf"

cw_tmpdir
cw_nsd_start "${CW_TEST_ZONES[@]}"
PORT=$NSD_PORT

SERVERS='"127.0.0.1"'
NADDR=1
if [ "$CW_HAVE_V6" = 1 ]; then
	SERVERS='"127.0.0.1", "v6=::1"'
	NADDR=2
fi

# make_conf TEMPLATE OUT OUTPUT [PORT]: fill in a template.
make_conf()
{
	sed -e "s|@SERVERS@|$SERVERS|g" -e "s|@PORT@|${4:-$PORT}|g" \
	    -e "s|@STATE@|$CW_TMP/state|g" -e "s|@OUTPUT@|$3|g" \
	    "$CONF_SRC/$1" >"$2" || cw_die "cannot write $2"
}

# cw: run corewatch with a time bound; status in $rc.
cw()
{
	timeout 60 "$COREWATCH" "$@"
	rc=$?
}

make_conf good.conf.in "$CW_TMP/good.conf" -

# --- check-config ---
cw check-config -c "$CW_TMP/good.conf" >"$CW_TMP/check.out" \
    2>"$CW_TMP/check.err"
cw_check "check-config good: exit 0" [ "$rc" = 0 ]
cw_check "check-config good: FILE: OK" \
    grep -qx "$CW_TMP/good.conf: OK" "$CW_TMP/check.out"
cw_check "check-config good: one line per measurement" \
    [ "$(grep -c '^  dns ' "$CW_TMP/check.out")" = 2 ]
cw_check "check-config good: nothing on stderr" [ ! -s "$CW_TMP/check.err" ]

BROKEN="$CONF_SRC/broken.conf"
cw check-config "$BROKEN" >"$CW_TMP/broken.out" 2>"$CW_TMP/broken.err"
cw_check "check-config broken: exit 2" [ "$rc" = 2 ]
for want in "$BROKEN:5: probe: country" "$BROKEN:9: dns \"a\": qtype" \
    "$BROKEN:11: dns \"a\": spread"; do
	cw_check "check-config broken: reports '$want'" \
	    grep -qF "$want" "$CW_TMP/broken.err"
done
cw_check "check-config broken: nothing on stdout" [ ! -s "$CW_TMP/broken.out" ]
cw check-config -c "$CW_TMP/missing.conf" 2>"$CW_TMP/missing.err"
cw_check "check-config missing file: exit 2" [ "$rc" = 2 ]
cw_check "check-config missing file: says so" \
    grep -q "missing.conf: No such file" "$CW_TMP/missing.err"

# --- check-config and run agree ---
# What run refuses once the file has loaded (an output it cannot open, a
# spool without a usable key or directory), check-config refuses too, at
# error level; neither measures.
cw_probe_key "$CW_TMP/agree.key"
: >"$CW_TMP/afile"
# agree NAME OUTPUT WANT [LINES...]: good.conf.in writing to OUTPUT, with
# LINES added; check-config and run must both exit 2, send no query and
# say WANT in an error-level line (stderr is a file: timestamped).
agree()
{
	local name=$1 output=$2 want=$3 f="$CW_TMP/agree-$1.conf" which
	shift 3
	make_conf good.conf.in "$f" "$output" "$DEAD_PORT"
	printf '%s\n' "$@" >>"$f"
	for which in check-config run; do
		timeout 10 "$COREWATCH" "$which" -c "$f" \
		    >"$CW_TMP/agree-$name.$which.out" \
		    2>"$CW_TMP/agree-$name.$which.err"
		rc=$?
		cw_check "$name: $which exits 2 (got $rc)" [ "$rc" = 2 ]
		cw_check "$name: $which says '$want' as an error" grep -Eq \
		    "^[0-9T:.-]+Z corewatch: error: .*$want" \
		    "$CW_TMP/agree-$name.$which.err" ||
		    cat "$CW_TMP/agree-$name.$which.err" >&2
	done
	cw_check "$name: check-config does not say OK" \
	    eval "! grep -q OK '$CW_TMP/agree-$name.check-config.out'"
	cw_check "$name: run measured nothing" \
	    [ ! -s "$CW_TMP/agree-$name.run.out" ]
}
# A port that nothing answers on: a run that wrongly started would only
# time out, never pass.
DEAD_PORT=$(cw_free_port) || cw_die "no free port"
agree nokey - "key $CW_TMP/no.key cannot be used" \
    "key = \"$CW_TMP/no.key\"" "spool { dir = \"$CW_TMP/spool-a\" }"
agree outdir "$CW_TMP/no/such/dir/out.jsonl" \
    "output $CW_TMP/no/such/dir/out.jsonl: directory $CW_TMP/no/such/dir"
agree outisdir "$CW_TMP" "output $CW_TMP: is a directory"
agree spoolfile - "spool $CW_TMP/afile/spool: $CW_TMP/afile is not a dir" \
    "key = \"$CW_TMP/agree.key\"" "spool { dir = \"$CW_TMP/afile/spool\" }"
# And where run would start, check-config says OK.
make_conf good.conf.in "$CW_TMP/agree-ok.conf" "$CW_TMP/agree-ok.jsonl"
printf '%s\n' "key = \"$CW_TMP/agree.key\"" \
    "spool { dir = \"$CW_TMP/afile-dir/spool\" }" >>"$CW_TMP/agree-ok.conf"
cw check-config -c "$CW_TMP/agree-ok.conf" >"$CW_TMP/agree-ok.out" 2>&1
cw_check "spool with a key: check-config exit 0" [ "$rc" = 0 ] ||
    cat "$CW_TMP/agree-ok.out" >&2
cw_check "check-config created nothing" \
    [ ! -e "$CW_TMP/afile-dir" -a ! -e "$CW_TMP/agree-ok.jsonl" ]

# --- once ---
NGOOD=$((NADDR * 2 + NADDR))	# root-soa over udp+tcp, hostname over udp
cw once -c "$CW_TMP/good.conf" --json >"$CW_TMP/once.json" \
    2>"$CW_TMP/once.err"
cw_check "once good: exit 0" [ "$rc" = 0 ]
cw_expect "once good: every result ok" "$CW_TMP/once.json" "
    length == $NGOOD and all(.[]; .type == \"dns\" and .ok == true and
    .failure == null)"
cw_expect "once good: root-soa has the zone's serial and the NSID" \
    "$CW_TMP/once.json" "
    [.[] | select(.name == \"root-soa\")] | length == $((NADDR * 2)) and
    all(.[]; .soa_serial == $CW_SERIAL_ROOT and
    .nsid == \"$NSD_NSID\" and .port == $PORT)"
cw_expect "once good: hostname.bind is the identity" "$CW_TMP/once.json" "
    [.[] | select(.name == \"hostname\")] | length == $NADDR and
    all(.[]; .txt == [\"$NSD_IDENTITY\"] and .proto == \"udp\")"

# A port nothing listens on: every query fails, exit 1.
DEAD=$(cw_free_port) || cw_die "no free port"
make_conf good.conf.in "$CW_TMP/dead.conf" - "$DEAD"
cw once -c "$CW_TMP/dead.conf" --json >"$CW_TMP/dead.json" \
    2>"$CW_TMP/dead.err"
cw_check "once unreachable: exit 1" [ "$rc" = 1 ]
cw_expect "once unreachable: every result a failure" "$CW_TMP/dead.json" "
    length == $NGOOD and all(.[]; .ok == false and
    (.failure | type) == \"string\")"

cw once -c "$BROKEN" --json >"$CW_TMP/once-broken.json" \
    2>"$CW_TMP/once-broken.err"
cw_check "once broken config: exit 2" [ "$rc" = 2 ]
cw_check "once broken config: no results" [ ! -s "$CW_TMP/once-broken.json" ]
cw_check "once broken config: FILE:LINE on stderr" \
    grep -qF "$BROKEN:9:" "$CW_TMP/once-broken.err"
cw once --no-such-flag >/dev/null 2>&1
cw_check "once bad flag: exit 2" [ "$rc" = 2 ]

# Usage errors say what is wrong, not only how the command is used.
# usage_says NAME WANT ARGS...: corewatch ARGS exits 2, WANT on stderr.
usage_says()
{
	local name=$1 want=$2
	shift 2
	cw "$@" >"$CW_TMP/usage-$name.out" 2>"$CW_TMP/usage-$name.err"
	cw_check "$name: exit 2 (got $rc)" [ "$rc" = 2 ]
	cw_check "$name: says '$want'" grep -qF "$want" \
	    "$CW_TMP/usage-$name.err" || cat "$CW_TMP/usage-$name.err" >&2
}
usage_says "once extra" 'corewatch once: unexpected argument "extra"' \
    once -c "$CW_TMP/good.conf" extra
usage_says "run extra" 'corewatch run: unexpected argument "extra"' \
    run -c "$CW_TMP/good.conf" extra
usage_says "check-config two files" \
    'corewatch check-config: unexpected argument "b.conf"' \
    check-config a.conf b.conf
usage_says "enroll without a token" 'corewatch enroll: no TOKEN given' \
    enroll --key "$CW_TMP/agree.key" http://127.0.0.1:9/
usage_says "enroll without anything" 'corewatch enroll: no URL and TOKEN' \
    enroll
usage_says "enroll extra" 'corewatch enroll: unexpected argument "x"' \
    enroll http://127.0.0.1:9/ token x
usage_says "pubkey extra" 'corewatch pubkey: unexpected argument "x"' \
    pubkey --key "$CW_TMP/agree.key" x
usage_says "spool export without --out" \
    'corewatch spool: export needs --out FILE' \
    spool export -c "$CW_TMP/good.conf"
usage_says "once -o into a missing directory" \
    'corewatch: error: once: not completed' \
    once -c "$CW_TMP/good.conf" --json -o "$CW_TMP/no/such/dir/x.jsonl"
usage_says "spool status --key" \
    'corewatch spool: --key is an option of export' \
    spool status -c "$CW_TMP/good.conf" --key "$CW_TMP/agree.key"

# The table on stdout, the full records in a file.
cw once -c "$CW_TMP/good.conf" --table -o "$CW_TMP/table.json" \
    >"$CW_TMP/table.out" 2>"$CW_TMP/table.err"
cw_check "once --table: exit 0" [ "$rc" = 0 ]
cw_check "once --table: a header" grep -q '^MEASUREMENT  *SERVER' \
    "$CW_TMP/table.out"
cw_check "once --table: one row per query" \
    [ "$(grep -c ' ok ' "$CW_TMP/table.out")" = "$NGOOD" ]
cw_check "once --table: the CHAOS TXT answer shows its text" \
    [ "$(grep -c "^hostname .* NOERROR \"$NSD_IDENTITY\"" \
    "$CW_TMP/table.out")" = "$NADDR" ] || cat "$CW_TMP/table.out" >&2
cw_check "once --table: says where the records went" \
    grep -q "appended to $CW_TMP/table.json" "$CW_TMP/table.out"
cw_expect "once --table: records in the output file" "$CW_TMP/table.json" \
    "length == $NGOOD"
cw once -c "$CW_TMP/good.conf" --table >"$CW_TMP/table2.out" 2>&1
cw_check "once --table to stdout: no JSON mixed in" \
    eval "! grep -q '^{' '$CW_TMP/table2.out'"
cw_check "once --table to stdout: points to --json" \
    grep -q -- "--json" "$CW_TMP/table2.out"

# --- run ---
RUNOUT="$CW_TMP/run.jsonl"
make_conf good.conf.in "$CW_TMP/run.conf" "$RUNOUT"
cw_spawn "$CW_TMP/run.err" "$COREWATCH" run -c "$CW_TMP/run.conf"
RUN_PID=$CW_SPAWNED

# snapshot: the complete lines of the results so far, in $CW_TMP/snap
# (the agent may be half-way through writing the last one).
snapshot()
{
	local n=0
	[ -f "$RUNOUT" ] && n=$(wc -l <"$RUNOUT")
	head -n "$n" "$RUNOUT" >"$CW_TMP/snap" 2>/dev/null
}

# count NAME: results of measurement NAME so far.
count()
{
	snapshot
	jq -c "select(.name == \"$1\")" "$CW_TMP/snap" | wc -l
}

# wait_for NAME N SECONDS: until NAME has N results (bounded).
wait_for()
{
	local i
	for ((i = 0; i < $3 * 10; i++)); do
		[ "$(count "$1")" -ge "$2" ] && return 0
		kill -0 "$RUN_PID" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# Three cycles of every task: 3 x NGOOD results within about 3 s.
cw_check "run: results arrive" wait_for root-soa $((3 * NADDR * 2)) 8
wait_for hostname $((3 * NADDR)) 4
snapshot
cw_expect "run: all ok" "$CW_TMP/snap" "all(.[]; .ok == true)"
# On schedule: successive results of one task are one interval apart,
# give or take the 200 ms spread and some scheduling noise.
/usr/bin/python3 - "$CW_TMP/snap" >"$CW_TMP/gaps.txt" <<'EOF'
import collections, datetime, json, sys
times = collections.defaultdict(list)
for line in open(sys.argv[1]):
    r = json.loads(line)
    t = datetime.datetime.strptime(r["time"], "%Y-%m-%dT%H:%M:%S.%fZ")
    times[(r["name"], r["addr"], r["proto"])].append(t.timestamp())
bad = 0
for task, ts in times.items():
    ts.sort()
    for a, b in zip(ts, ts[1:]):
        gap = b - a
        print(task, round(gap, 3))
        if not 0.7 <= gap <= 1.35:
            bad += 1
sys.exit(1 if bad else 0)
EOF
cw_check "run: one result per task per second" [ $? = 0 ] ||
    cat "$CW_TMP/gaps.txt" >&2

# SIGHUP with a broken file: refused, the old measurements go on.
cp "$BROKEN" "$CW_TMP/run.conf"
before=$(count root-soa)
kill -HUP "$RUN_PID"
cw_check "run: still producing after a broken reload" \
    wait_for root-soa $((before + 2 * NADDR * 2)) 5
cw_check "run: the broken reload was logged with FILE:LINE" \
    grep -qF "run.conf:9:" "$CW_TMP/run.err"
cw_check "run: ... and refused" grep -q "rejected, still running" \
    "$CW_TMP/run.err"

# SIGHUP with a valid changed file: the new measurement replaces them.
make_conf changed.conf.in "$CW_TMP/run.conf" "$RUNOUT"
kill -HUP "$RUN_PID"
cw_check "run: the new measurement after a valid reload" \
    wait_for changed-soa $((2 * NADDR)) 5
sleep 1.5
old=$(count root-soa)
sleep 1.5
cw_check "run: the old measurements stopped" [ "$(count root-soa)" = "$old" ]
cw_expect "run: the new one is TCP only and ok" "$RUNOUT" "
    [.[] | select(.name == \"changed-soa\")] | length > 0 and
    all(.[]; .proto == \"tcp\" and .ok == true)"

# SIGTERM: out within a few seconds, status 0.
kill -TERM "$RUN_PID"
stopped=0
for ((i = 0; i < 50; i++)); do
	if ! kill -0 "$RUN_PID" 2>/dev/null; then
		stopped=1
		break
	fi
	sleep 0.1
done
cw_check "run: SIGTERM stops it within 5 s" [ "$stopped" = 1 ]
wait "$RUN_PID"
status=$?
cw_check "run: exit status 0 after SIGTERM" [ "$status" = 0 ]
cw_check "run: says it stopped" grep -q "stopped after" "$CW_TMP/run.err"
cw_expect "run: every line is a whole record" "$RUNOUT" "length > 0"

# --- run: a query still in flight makes its next cycle be skipped ---
# dnsfault answers UDP with TC=1 after 600 ms and TCP after another
# 600 ms: each query takes ~1.2 s, longer than the 1 s interval (allowed:
# the timeout, 700 ms, is per attempt).  Cycles 0, 2, 4 ... query; 1, 3
# ... are skipped, and there is never a second query in flight.
cw_fault_start slow-truncated "$CW_TMP/fault.log" --delay-ms 600 --addrs 127.0.0.1
FPORT=$FAULT_PORT
printf '%s\n' 'probe { name = "slow" }' \
    "output { path = \"$CW_TMP/slow.jsonl\" }" \
    'dns "slow" {' '	servers = {"127.0.0.1"}' "	port = $FPORT" \
    '	transport = "udp"' '	interval = 1s' '	spread = 0' \
    '	timeout = 700ms' '	late_window = 0' '}' >"$CW_TMP/slow.conf"
cw_spawn "$CW_TMP/slow.err" "$COREWATCH" run -v -c "$CW_TMP/slow.conf"
SLOW_PID=$CW_SPAWNED
sleep 4.5
kill -TERM "$SLOW_PID"
wait "$SLOW_PID"
cw_check "run, slow server: exit 0" [ $? = 0 ]
cw_check "run, slow server: skipped cycles are logged" \
    grep -q "previous query still running, cycle skipped" "$CW_TMP/slow.err"
cw_check "run, slow server: and counted" \
    grep -Eq "stopped after .*, [1-9][0-9]* cycles skipped" "$CW_TMP/slow.err"
cw_expect "run, slow server: 1 to 3 results, truncated then TCP, ok" \
    "$CW_TMP/slow.jsonl" "
    length >= 1 and length <= 3 and
    all(.[]; .ok == true and .truncated == true)"
# One UDP query per cycle that ran (the last one may have been cut by
# SIGTERM), none while one was in flight: 3 at most in 4.5 s, not 5.
nq=$(grep -c '^udp ' "$CW_TMP/fault.log")
nr=$(wc -l <"$CW_TMP/slow.jsonl")
cw_check "run, slow server: one query per cycle run ($nq for $nr results)" \
    [ "$nq" -le 3 -a "$nq" -ge "$nr" -a "$nq" -le $((nr + 1)) ]
kill -TERM "$FAULT_PID" 2>/dev/null

# --- run: a reload loses no query that is on the wire ---
# dnsfault answers after 1.5 s.  A reload that drops the measurement
# lets its query finish (the result is still written); a reload that
# keeps it hands the query to the new task, which sends no second one.
cw_fault_start slow "$CW_TMP/fault2.log" --delay-ms 1500 --addrs 127.0.0.1
FPORT=$FAULT_PORT
# inflight_conf NAME: a 10 s measurement of the slow server.
inflight_conf()
{
	printf '%s\n' 'probe { name = "inflight" }' \
	    "output { path = \"$CW_TMP/inflight.jsonl\" }" \
	    "dns \"$1\" {" '	servers = {"127.0.0.1"}' "	port = $FPORT" \
	    '	transport = "udp"' '	interval = 10s' '	spread = 0' \
	    '	timeout = 4s' '	late_window = 0' '}' >"$CW_TMP/inflight.conf"
}
# queries N: until dnsfault has logged N queries (bounded, 3 s).
queries()
{
	local i
	for ((i = 0; i < 30; i++)); do
		[ "$(grep -c '^udp ' "$CW_TMP/fault2.log" 2>/dev/null)" -ge "$1" ] &&
		    return 0
		sleep 0.1
	done
	return 1
}
inflight_conf inflight-a
cw_spawn "$CW_TMP/inflight.err" "$COREWATCH" run -v -c "$CW_TMP/inflight.conf"
INFLIGHT_PID=$CW_SPAWNED
cw_check "reload in flight: the first query is sent" queries 1
inflight_conf inflight-b
kill -HUP "$INFLIGHT_PID"
cw_check "reload in flight: the new measurement sends its query" queries 2
kill -HUP "$INFLIGHT_PID"	# the same file again: a handover
sleep 2.5
kill -TERM "$INFLIGHT_PID"
wait "$INFLIGHT_PID"
cw_check "reload in flight: exit 0" [ $? = 0 ]
cw_check "reload in flight: two queries in all, none sent twice" \
    [ "$(grep -c '^udp ' "$CW_TMP/fault2.log")" = 2 ]
cw_expect "reload in flight: both results written, answered after 1.5 s" \
    "$CW_TMP/inflight.jsonl" '
    length == 2 and
    ([.[].name] | sort) == ["inflight-a", "inflight-b"] and
    all(.[]; .ok == true and .rtt_ms >= 1500)'
cw_check "reload in flight: the handed-over task skipped its cycle" \
    grep -q "previous query still running, cycle skipped" \
    "$CW_TMP/inflight.err"

# SIGTERM with a query on the wire: it finishes, its result is written,
# then the probe exits 0.  A second SIGTERM stops at once.
# gone PID: until PID has exited (bounded, 5 s); its status in $rc.
gone()
{
	local i
	for ((i = 0; i < 50; i++)); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$1" 2>/dev/null && return 1
	wait "$1"
	rc=$?
	return 0
}
inflight_conf term-a
rm -f "$CW_TMP/inflight.jsonl"
cw_spawn "$CW_TMP/term.err" "$COREWATCH" run -c "$CW_TMP/inflight.conf"
TERM_PID=$CW_SPAWNED
cw_check "SIGTERM in flight: the query is sent" queries 3
kill -TERM "$TERM_PID"
start=$(date +%s%N)
cw_check "SIGTERM in flight: exits" gone "$TERM_PID"
cw_check "SIGTERM in flight: exit status 0" [ "$rc" = 0 ]
cw_check "SIGTERM in flight: only after the reply (1.5 s)" \
    [ $((($(date +%s%N) - start) / 1000000)) -ge 900 ]
cw_expect "SIGTERM in flight: the result is written" \
    "$CW_TMP/inflight.jsonl" '
    length == 1 and .[0].name == "term-a" and .[0].ok and
    .[0].rtt_ms >= 1500'
inflight_conf term-b
rm -f "$CW_TMP/inflight.jsonl"
cw_spawn "$CW_TMP/term2.err" "$COREWATCH" run -c "$CW_TMP/inflight.conf"
TERM_PID=$CW_SPAWNED
cw_check "SIGTERM twice: the query is sent" queries 4
kill -TERM "$TERM_PID"
sleep 0.2
kill -TERM "$TERM_PID"
start=$(date +%s%N)
cw_check "SIGTERM twice: exits" gone "$TERM_PID"
cw_check "SIGTERM twice: exit status 0" [ "$rc" = 0 ]
cw_check "SIGTERM twice: at once, without waiting for the reply" \
    [ $((($(date +%s%N) - start) / 1000000)) -lt 900 ]
cw_check "SIGTERM twice: says so" grep -q "again, stopping now" \
    "$CW_TMP/term2.err"
kill -TERM "$FAULT_PID" 2>/dev/null

# --- One query at a time per measurement and server address ---
# With a server that answers after 300 ms, the UDP and TCP queries of a
# measurement to one address go one after the other: they never overlap
# in time.  (Another measurement may query the address meanwhile.)
cw_fault_start slow "$CW_TMP/fault3.log" --delay-ms 300
FPORT=$FAULT_PORT
printf '%s\n' 'probe { name = "serial" }' \
    "output { path = \"$CW_TMP/serial.jsonl\" }" \
    'dns "serial" {' "	servers = {$SERVERS}" "	port = $FPORT" \
    '	transport = "both"' '	timeout = 2s' '	late_window = 0' '}' \
    'dns "other" {' "	servers = {$SERVERS}" "	port = $FPORT" \
    '	transport = "udp"' '	timeout = 2s' '	late_window = 0' '}' \
    >"$CW_TMP/serial.conf"
cw once -c "$CW_TMP/serial.conf" --json >/dev/null 2>"$CW_TMP/serial.err"
cw_check "serial: once exits 0" [ "$rc" = 0 ] || cat "$CW_TMP/serial.err" >&2
/usr/bin/python3 - "$CW_TMP/serial.jsonl" "$NADDR" >"$CW_TMP/serial.txt" <<'EOF'
import collections, datetime, json, sys
spans = collections.defaultdict(list)
n = 0
for line in open(sys.argv[1]):
    r = json.loads(line)
    t = datetime.datetime.strptime(r["time"], "%Y-%m-%dT%H:%M:%S.%fZ")
    start = t.timestamp()
    spans[(r["name"], r["addr"])].append((start, start + r["rtt_ms"] / 1e3))
    n += 1
bad = 0
for key, s in spans.items():
    s.sort()
    for a, b in zip(s, s[1:]):
        if b[0] < a[1]:
            print("overlap", key, a, b)
            bad += 1
print(n, "results,", bad, "overlaps")
sys.exit(1 if bad or n != 3 * int(sys.argv[2]) else 0)
EOF
cw_check "serial: no two queries of a measurement to one address overlap" \
    [ $? = 0 ] || cat "$CW_TMP/serial.txt" >&2
kill -TERM "$FAULT_PID" 2>/dev/null

# --- run: a target that fails, then recovers, is logged once each way ---
# A second NSD of the test's own is stopped while run measures it, then
# started again on the same port: one "failing" line with the failure's
# name, one "recovered" line, however many results failed in between.
# stderr is a file here: every line starts with its UTC time.
cw_nsd_start "${CW_TEST_ZONES[@]}"
HEALTH_PORT=$NSD_PORT HEALTH_PID=$NSD_PID HEALTH_DIR=$NSD_DIR
printf '%s\n' 'probe { name = "health" }' \
    "output { path = \"$CW_TMP/health.jsonl\" }" \
    'dns "health" {' '	servers = {"127.0.0.1"}' "	port = $HEALTH_PORT" \
    '	transport = "udp"' '	interval = 1s' '	spread = 0' \
    '	timeout = 300ms' '	late_window = 0' '}' >"$CW_TMP/health.conf"
cw_spawn "$CW_TMP/health.err" "$COREWATCH" run -c "$CW_TMP/health.conf"
HRUN_PID=$CW_SPAWNED
# health_results FILTER N SECONDS: until N results match (bounded).
health_results()
{
	local i
	for ((i = 0; i < $3 * 10; i++)); do
		[ "$(jq -c "select($1)" "$CW_TMP/health.jsonl" 2>/dev/null |
		    wc -l)" -ge "$2" ] && return 0
		sleep 0.1
	done
	return 1
}
cw_check "health: answers while NSD runs" health_results .ok 2 10
kill -TERM "$HEALTH_PID"
wait "$HEALTH_PID" 2>/dev/null
cw_check "health: three failures with NSD stopped" \
    health_results '.ok == false' 3 10
cw_spawn "$HEALTH_DIR/nsd.again" nsd -d -c "$HEALTH_DIR/nsd.conf"
HEALTH_PID=$CW_SPAWNED
for ((i = 0; i < 100; i++)); do
	cw_dns_answers 127.0.0.1 "$HEALTH_PORT" && break
	sleep 0.1
done
nok=$(jq -c 'select(.ok)' "$CW_TMP/health.jsonl" | wc -l)
cw_check "health: answers again once NSD is back" \
    health_results .ok $((nok + 2)) 10
kill -TERM "$HRUN_PID"
wait "$HRUN_PID"
cw_check "health: run exit 0" [ $? = 0 ]
kill -TERM "$HEALTH_PID"
nfail=$(jq -c 'select(.ok == false)' "$CW_TMP/health.jsonl" | wc -l)
failure=$(jq -r 'select(.ok == false) | .failure' "$CW_TMP/health.jsonl" |
    head -n 1)
cw_log "health: $nfail failed results, the first $failure"
cw_check "health: one 'failing' line, naming the target and $failure" \
    [ "$(grep -c "warning: health 127.0.0.1 udp: failing: $failure" \
    "$CW_TMP/health.err")" = 1 ] || cat "$CW_TMP/health.err" >&2
cw_check "health: one 'recovered' line, with the failed runs" \
    [ "$(grep -c "info: health 127.0.0.1 udp: recovered after $nfail failed runs since" \
    "$CW_TMP/health.err")" = 1 ]
# A loaded machine may see a timeout before NSD's port is closed, then
# the refusal: each change of the failure's name is a line of its own.
changes=$(jq -rs '[.[] | select(.ok == false) | .failure] as $f |
    [range(1; $f | length) | select($f[.] != $f[. - 1])] | length' \
    "$CW_TMP/health.jsonl")
cw_check "health: one 'still failing' line per change of failure ($changes)" \
    [ "$(grep -c 'warning: health 127.0.0.1 udp: still failing, now with' \
    "$CW_TMP/health.err")" = "$changes" ]
cw_check "health: no other line about the target" \
    [ "$(grep -c 'health 127.0.0.1 udp:' "$CW_TMP/health.err")" = \
    $((2 + changes)) ]
cw_check "health: every line begins with its UTC time" \
    eval "! grep -Ev '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z corewatch: ' \
    '$CW_TMP/health.err'"

# --- Where log lines go decides their form ---
# A terminal: a level word.  The journal (JOURNAL_STREAM names stderr's
# device and inode, as systemd sets it): "<3>" and no time, journald
# keeps both.  A file that JOURNAL_STREAM does not name: the time.
: >"$CW_TMP/journal.err"
JOURNAL_STREAM=$(stat -c '%d:%i' "$CW_TMP/journal.err") \
    "$COREWATCH" run -c "$CW_TMP/agree-nokey.conf" 2>>"$CW_TMP/journal.err"
cw_check "journal: the level as <3>, no time" \
    grep -q '^<3>corewatch: spool: the probe.s key' "$CW_TMP/journal.err" ||
    cat "$CW_TMP/journal.err" >&2
JOURNAL_STREAM=1:1 "$COREWATCH" run -c "$CW_TMP/agree-nokey.conf" \
    2>"$CW_TMP/notjournal.err"
cw_check "another stream than the journal's: the time" \
    grep -Eq '^[0-9-]+T[0-9:.]+Z corewatch: error: spool: the probe.s key' \
    "$CW_TMP/notjournal.err"
script -qec "'$COREWATCH' run -c '$CW_TMP/agree-nokey.conf'" /dev/null \
    >"$CW_TMP/tty.out" 2>&1 </dev/null
cw_check "a terminal: a level word, no time" \
    grep -q '^corewatch: error: spool: the probe.s key' "$CW_TMP/tty.out" ||
    cat "$CW_TMP/tty.out" >&2

# --- An ordinary user: nothing needs root ---
# As nobody, with a state directory it could not create (only TLD
# measurements need one): the measurements run all the same.
chmod 0755 "$CW_TMP"
sed -e "s|$CW_TMP/state|/nonexistent/corewatch-state|" \
    "$CW_TMP/good.conf" >"$CW_TMP/user.conf"
chmod 0644 "$CW_TMP/user.conf"
timeout 60 setpriv --reuid=65534 --regid=65534 --clear-groups \
    "$COREWATCH" once -c "$CW_TMP/user.conf" --json \
    >"$CW_TMP/user.json" 2>"$CW_TMP/user.err"
rc=$?
cw_check "as nobody: once exits 0" [ "$rc" = 0 ] || cat "$CW_TMP/user.err" >&2
cw_expect "as nobody: every measurement made and ok" "$CW_TMP/user.json" "
    length == $((NADDR * 3)) and all(.[]; .ok == true)"
timeout 60 setpriv --reuid=65534 --regid=65534 --clear-groups \
    "$COREWATCH" dns --port "$PORT" --udp --tcp --nsid 127.0.0.1 \
    >"$CW_TMP/user-dns.json" 2>"$CW_TMP/user-dns.err"
cw_check "as nobody: dns exits 0" [ $? = 0 ]
cw_expect "as nobody: dns over UDP and TCP" "$CW_TMP/user-dns.json" '
    length == 2 and all(.[]; .ok) and ([.[].proto] | sort) == ["tcp", "udp"]'
chmod 0700 "$CW_TMP"

# --- The shipped configuration, where nothing can leave ---
# In an empty network namespace every send to a root server fails
# locally: the real addresses are exercised without a packet leaving.
sed -e "s|^state_dir = .*|state_dir = \"$CW_TMP/state-default\"|" \
    "$CW_SCENARIO_DIR/../../contrib/corewatch.conf" >"$CW_TMP/default.conf"
cw_netns_create cw-agent
timeout 60 ip netns exec "$CW_NS" "$COREWATCH" once \
    -c "$CW_TMP/default.conf" --table -o "$CW_TMP/default.json" \
    >"$CW_TMP/default.out" 2>"$CW_TMP/default.err"
rc=$?
cw_check "default config, no network: exit 1" [ "$rc" = 1 ]
cw_expect "default config, no network: 52 + 26 root queries, all failed" \
    "$CW_TMP/default.json" "
    [.[] | select(.name == \"root-soa\")] as \$soa |
    [.[] | select(.name == \"root-hostname-bind\")] as \$hb |
    (\$soa | length) == 52 and (\$hb | length) == 26 and
    ([\$soa[], \$hb[]] | all(.ok == false and .failure != null)) and
    ([\$soa[].addr] | unique | length) == 26"
cw_check "default config, no network: a table row per query" \
    [ "$(grep -c 'root-servers.net' "$CW_TMP/default.out")" = 78 ]
cw_netns_destroy "$CW_NS"

cw_done
