#!/bin/bash
# summary_groups.sh -- a summary is capped in the groups (targets and
# probes) it builds in one bucket: one probe that planted 300,000
# distinct targets within an hour makes GET /api/v1/summary a 400 that
# tells the reader to narrow the request, not gigabytes of groups and a
# collector that stops answering; /healthz, polled meanwhile, stays fast
# (every answer under 1 s, a generous bound) and the collector's peak
# RSS small.  A narrowed summary (by name) is then served, and a cap out of
# range in the configuration is refused at its line.
#
# The planted records are written straight into the collector's SQLite
# database (sqlite3, before the collector starts): what the summary
# reads is the stored rows, and 300,000 of them through the ingest would
# only make the test slow.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

MKBATCH="$top_builddir/tests/tools/mkbatch"
[ -x "$MKBATCH" ] || cw_die "no $MKBATCH (make check builds it)"
command -v sqlite3 >/dev/null || cw_die "no sqlite3"
SEED=0606060606060606060606060606060606060606060606060606060606060606
PLANTED=300000
HEALTHZ_MAX_MS=1000
RSS_MAX_MB=256

cw_tmpdir
DB="sqlite:$CW_TMP/collector.db"
cw_probe_enroll "$DB" planter "$("$MKBATCH" pubkey --seed "$SEED")"
PROBE=$("$MKBATCH" id --seed "$SEED") || cw_die "mkbatch id failed"

# 300,000 DNS results of distinct targets in one hour (2026-11-26 10h,
# 1795687200 s), then 10 of one real target under another name.
sqlite3 "$CW_TMP/collector.db" "
    WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s
        WHERE i < $PLANTED + 10)
    INSERT INTO records (probe, chain, seq, hash, prev, line, received_at,
        type, time, name, addr, port, af, proto, qname, qtype, ok, rtt_ms,
        rcode)
    SELECT '$PROBE', '66666666666666666666666666666666', i, randomblob(32),
        randomblob(32), randomblob(64), 1795687200000000, 'dns',
        1795687200000000 + i * 10000,
        CASE WHEN i <= $PLANTED THEN 'planted' ELSE 'root-soa' END,
        CASE WHEN i <= $PLANTED THEN
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

# The default cap (50,000 groups a bucket).
printf 'db = "%s"\nlog_level = info\n' "$DB" >"$CW_TMP/collector.conf"
cw_collector_start "$CW_TMP/collector.log" -c "$CW_TMP/collector.conf"

# /healthz polled every 50 ms until $CW_TMP/stop appears (at most 60 s):
# one line of milliseconds per answer, "fail" for none.
cat >"$CW_TMP/poll.sh" <<'EOF'
for ((i = 0; i < 1200; i++)); do
	[ -e "$2.stop" ] && break
	t=$(curl -sf -o /dev/null -w '%{time_total}' --max-time 10 \
	    "$1/healthz") || t=fail
	echo "$t" >>"$2"
	sleep 0.05
done
EOF
cw_spawn "$CW_TMP/poll.log" bash "$CW_TMP/poll.sh" "$COLLECTOR_URL" \
    "$CW_TMP/healthz"
POLL_PID=$CW_SPAWNED
sleep 0.5

statuses=
for fmt in json csv; do
	status=$(curl -sS -o "$CW_TMP/summary.$fmt" -w '%{http_code}' \
	    --max-time 120 "$COLLECTOR_URL/api/v1/summary?format=$fmt")
	statuses="$statuses $fmt $status"
	cw_check "the whole summary ($fmt): 400" [ "$status" = 400 ] ||
	    head -c 300 "$CW_TMP/summary.$fmt" >&2
	cw_expect "$fmt: a JSON error that says to narrow it" \
	    "$CW_TMP/summary.$fmt" '.[0].error == "bad_request" and
	    (.[0].detail | contains("more than 50000 targets and probes")
	    and contains("in one bucket: narrow it"))'
done
rss=$(awk '$1 == "VmHWM:" { print $2 }' "/proc/$COLLECTOR_PID/status")
sleep 0.5
: >"$CW_TMP/healthz.stop"
cw_wait "$POLL_PID" 20

polls=$(wc -l <"$CW_TMP/healthz")
slowest=$(awk '$1 == "fail" { print 999999; next } { print $1 * 1000 }' \
    "$CW_TMP/healthz" | sort -n | tail -n 1)
cw_log "figures: $PLANTED planted targets: summary status$statuses; /healthz" \
    "polled $polls times, slowest $slowest ms; collector peak RSS" \
    "$((rss / 1024)) MiB"
cw_check "/healthz answered throughout ($polls polls)" [ "$polls" -ge 5 ]
cw_check "/healthz: slowest $slowest ms < $HEALTHZ_MAX_MS ms" \
    awk -v s="$slowest" -v m="$HEALTHZ_MAX_MS" 'BEGIN { exit !(s < m) }'
cw_check "peak RSS $((rss / 1024)) MiB < $RSS_MAX_MB MiB" \
    [ "$rss" -lt $((RSS_MAX_MB * 1024)) ]

# Narrowed to the real target's name, the summary is served.
status=$(curl -sS -o "$CW_TMP/narrow.json" -w '%{http_code}' \
    --max-time 60 "$COLLECTOR_URL/api/v1/summary?name=root-soa")
cw_check "narrowed by name: 200" [ "$status" = 200 ]
cw_expect "narrowed: one bucket, one target, 10 measurements" \
    "$CW_TMP/narrow.json" 'length == 1 and (.[0].targets | length) == 1
    and .[0].targets[0].measurements == 10'
cw_check "the refusal is logged" \
    grep -q 'summary over 50000 groups in one bucket refused' \
    "$CW_TMP/collector.log"
cw_collector_stop
cw_check "the collector stops cleanly on SIGTERM" [ "$CW_STATUS" = 0 ]
cw_done
