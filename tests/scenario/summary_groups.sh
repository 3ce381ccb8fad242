#!/bin/bash
# summary_groups.sh -- a summary is capped in the groups (targets and
# probes) it builds in one bucket: one probe that planted 300,000
# distinct targets within an hour makes GET /api/v1/summary a 400 that
# tells the reader to narrow the request, not gigabytes of groups and a
# collector that stops answering.  /healthz, polled meanwhile, stays
# fast (every answer under 1 s, a generous bound) and the collector's
# peak RSS small.  A summary narrowed (by name) to a bucket just under
# the default cap is served whole (the test prints how long /healthz
# waited meanwhile: the bucket is written in one piece, the stall the
# cap bounds), one narrowed to a single target too; a cap out of range
# in the configuration is refused at its line.
#
# The records are written straight into the collector's SQLite database
# (sqlite3, before the collector starts): what the summary reads is the
# stored rows, and 320,000 of them through the ingest would only make
# the test slow.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

MKBATCH="$top_builddir/tests/tools/mkbatch"
[ -x "$MKBATCH" ] || cw_die "no $MKBATCH (make check builds it)"
command -v sqlite3 >/dev/null || cw_die "no sqlite3"
SEED=0606060606060606060606060606060606060606060606060606060606060606
CAP=10000			# SUMMARY_MAX_GROUPS, the default
PLANTED=300000
NEAR=$((CAP - 100))		# targets; with the probe, under the cap
HEALTHZ_MAX_MS=1000
RSS_MAX_MB=256

cw_tmpdir
DB="sqlite:$CW_TMP/collector.db"
cw_probe_enroll "$DB" planter "$("$MKBATCH" pubkey --seed "$SEED")"
PROBE=$("$MKBATCH" id --seed "$SEED") || cw_die "mkbatch id failed"

# In one hour (2026-11-26 10h, 1795687200 s): PLANTED DNS results of
# distinct targets named "planted", NEAR more named "near", and 10 of
# one target named "root-soa".
sqlite3 "$CW_TMP/collector.db" "
    WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s
        WHERE i < $PLANTED + $NEAR + 10)
    INSERT INTO records (probe, chain, seq, hash, prev, line, received_at,
        type, time, name, addr, port, af, proto, qname, qtype, ok, rtt_ms,
        rcode)
    SELECT '$PROBE', '66666666666666666666666666666666', i, randomblob(32),
        randomblob(32), randomblob(64), 1795687200000000, 'dns',
        1795687200000000 + i * 10000,
        CASE WHEN i <= $PLANTED THEN 'planted'
            WHEN i <= $PLANTED + $NEAR THEN 'near' ELSE 'root-soa' END,
        CASE WHEN i <= $PLANTED + $NEAR THEN
            printf('2001:db8:%04x:%04x::1', i / 65536, i % 65536)
        ELSE '193.0.14.129' END,
        53, 6, 'udp', '.', 'SOA', 1, 1.5, 'NOERROR' FROM s" ||
    cw_die "cannot plant the records"

# A cap out of range is refused at its line.
printf 'db = "%s"\nsummary_max_groups = 5\n' "$DB" >"$CW_TMP/bad.conf"
"$COLLECTOR" serve -c "$CW_TMP/bad.conf" --listen 127.0.0.1:1 \
    >"$CW_TMP/bad.out" 2>&1
status=$?
cw_check "summary_max_groups = 5: refused (exit 2)" [ "$status" = 2 ]
cw_check "the error names the option and its range" \
    grep -q 'summary_max_groups.*5 is not from 100 to' "$CW_TMP/bad.out"

# The default cap.
printf 'db = "%s"\npublic_read = true\nlog_level = info\n' "$DB" \
    >"$CW_TMP/collector.conf"
cw_collector_start "$CW_TMP/collector.log" -c "$CW_TMP/collector.conf"

# /healthz polled every 50 ms until FILE.stop appears (at most 60 s):
# one line of seconds per answer into FILE, "fail" for none.
cat >"$CW_TMP/poll.sh" <<'EOF'
for ((i = 0; i < 1200; i++)); do
	[ -e "$2.stop" ] && break
	t=$(curl -sf -o /dev/null -w '%{time_total}' --max-time 10 \
	    "$1/healthz") || t=fail
	echo "$t" >>"$2"
	sleep 0.05
done
EOF
# poll_start FILE / poll_stop FILE: poll /healthz between the two; then
# POLLS is the number of answers and SLOWEST the slowest in ms.
poll_start()
{
	cw_spawn "$1.log" bash "$CW_TMP/poll.sh" "$COLLECTOR_URL" "$1"
	POLL_PID=$CW_SPAWNED
	sleep 0.5
}
poll_stop()
{
	sleep 0.5
	: >"$1.stop"
	cw_wait "$POLL_PID" 20
	POLLS=$(wc -l <"$1")
	SLOWEST=$(awk '$1 == "fail" { print 999999; next }
	    { printf "%d\n", $1 * 1000 }' "$1" | sort -n | tail -n 1)
}

# summary NAME QUERY: GET /api/v1/summary?QUERY into $CW_TMP/NAME;
# STATUS.
summary()
{
	STATUS=$(curl -sS -o "$CW_TMP/$1" -w '%{http_code}' --max-time 120 \
	    "$COLLECTOR_URL/api/v1/summary?$2")
}

poll_start "$CW_TMP/healthz.refused"
statuses=
for fmt in json csv; do
	summary "all.$fmt" "format=$fmt"
	statuses="$statuses $fmt $STATUS"
	cw_check "the whole summary ($fmt): 400" [ "$STATUS" = 400 ] ||
	    head -c 300 "$CW_TMP/all.$fmt" >&2
	cw_expect "$fmt: a JSON error that says to narrow it" \
	    "$CW_TMP/all.$fmt" '.[0].error == "bad_request" and
	    (.[0].detail | contains("more than '"$CAP"' targets and probes")
	    and contains("in one bucket: narrow it"))'
done
poll_stop "$CW_TMP/healthz.refused"
rss=$(awk '$1 == "VmHWM:" { print $2 }' "/proc/$COLLECTOR_PID/status")
cw_log "figures: $PLANTED planted targets: summary status$statuses;" \
    "/healthz polled $POLLS times meanwhile, slowest $SLOWEST ms;" \
    "collector peak RSS $((rss / 1024)) MiB"
cw_check "/healthz answered throughout ($POLLS polls)" [ "$POLLS" -ge 5 ]
cw_check "/healthz: slowest $SLOWEST ms < $HEALTHZ_MAX_MS ms" \
    [ "$SLOWEST" -lt "$HEALTHZ_MAX_MS" ]
cw_check "peak RSS $((rss / 1024)) MiB < $RSS_MAX_MB MiB" \
    [ "$rss" -lt $((RSS_MAX_MB * 1024)) ]
cw_check "the refusal is logged" \
    grep -q "summary over $CAP groups in one bucket refused" \
    "$CW_TMP/collector.log"

# Narrowed to "near": a bucket just under the cap is served whole.
poll_start "$CW_TMP/healthz.near"
summary near.json "name=near"
poll_stop "$CW_TMP/healthz.near"
cw_log "figures: a summary of $NEAR targets served: /healthz polled" \
    "$POLLS times meanwhile, slowest $SLOWEST ms"
cw_check "narrowed to $NEAR targets: 200" [ "$STATUS" = 200 ]
cw_expect "narrowed: one bucket, $NEAR targets, one probe" \
    "$CW_TMP/near.json" "length == 1 and (.[0].targets | length) == $NEAR
    and (.[0].probes | length) == 1"

# Narrowed to the real target's name.
summary one.json "name=root-soa"
cw_check "narrowed to one target: 200" [ "$STATUS" = 200 ]
cw_expect "narrowed: one bucket, one target, 10 measurements" \
    "$CW_TMP/one.json" 'length == 1 and (.[0].targets | length) == 1
    and .[0].targets[0].measurements == 10'
cw_collector_stop
cw_check "the collector stops cleanly on SIGTERM" [ "$CW_STATUS" = 0 ]
cw_done
