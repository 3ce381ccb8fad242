#!/bin/bash
# collector_gzip.sh -- a legitimate probe's batches keep their latency
# while 64 connections post gzip bombs in its name: bodies that inflate
# to max_body (16 MiB here), with a made-up signature, as anyone who
# knows a probe id can send them.  The signature covers the inflated
# body, so every bomb must be inflated and hashed before it is refused;
# the checking thread does that in slices, taking turns, and the probe's
# small batches pass between them.
#
# tests/tools/loadgen runs the probe (gzip batches of 10 records, one
# after the other) alone, then during the flood; the test prints both
# latencies and asserts that the flood's median stays under 10 times the
# quiet one or under 100 ms, that its p99 stays under 1 s, that every
# batch was acknowledged, and that the bombs were really inflated and
# refused (401, counted as "signature" in /metrics) while the
# collector's RSS stayed small (nothing is kept inflated before the
# signature holds).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

LOADGEN="$top_builddir/tests/tools/loadgen"
[ -x "$LOADGEN" ] || cw_die "no $LOADGEN (make check builds it)"
BOMBS=64

cw_tmpdir
cw_collector_db
cat >"$CW_TMP/collector.conf" <<EOF
db = "$COLLECTOR_DB"
max_body = 16M
max_connections = 256
# The bombs and the probe come from one address; this test is about the
# work of inflating, not the connections one address may hold.
max_connections_per_address = 1000
# /metrics without a token.
public_read = true
log_level = info
EOF
cw_collector_start "$CW_TMP/collector.log" -c "$CW_TMP/collector.conf"

# probe_run OUT [loadgen args...]: one probe posting BATCHES gzip batches
# of 10 records; sets P50 and P99 (ms) from loadgen's line.
probe_run()
{
	local out=$1
	shift
	"$LOADGEN" --url "$COLLECTOR_URL" --db "$COLLECTOR_DB" --probes 1 \
	    --size 10 --gzip "$@" >"$out" 2>&1
	LOADGEN_STATUS=$?
	cat "$out" >&2
	P50=$(sed -n 's/.*latency median \([0-9.]*\) ms.*/\1/p' "$out")
	P99=$(sed -n 's/.*ms, p99 \([0-9.]*\) ms.*/\1/p' "$out")
	[ -n "$P50" ] && [ -n "$P99" ] || cw_die "no latency from loadgen"
}

# metric NAME-AND-LABELS: its value in /metrics now.
metric()
{
	curl -sS --max-time 10 "$COLLECTOR_URL/metrics" |
	    awk -v m="$1" '$1 == m { print $2 }'
}

# rss_kb: the collector's resident set now.
rss_kb()
{
	awk '$1 == "VmRSS:" { print $2 }' "/proc/$COLLECTOR_PID/status"
}

SIG='corewatch_batches_rejected_total{reason="signature"}'

probe_run "$CW_TMP/quiet.out" --batches 100
cw_check "quiet: every batch acknowledged" [ "$LOADGEN_STATUS" = 0 ]
QUIET_P50=$P50 QUIET_P99=$P99
sig_before=$(metric "$SIG")

# The flood: the bombs are under way a second before the probe starts.
probe_run "$CW_TMP/flood.out" --batches 30 --bombs "$BOMBS"
cw_check "flood: every batch acknowledged" [ "$LOADGEN_STATUS" = 0 ]
FLOOD_P50=$P50 FLOOD_P99=$P99
RSS_FLOOD=$(rss_kb)

cw_log "figures: a probe's gzip batch of 10 records, latency quiet" \
    "p50 $QUIET_P50 ms p99 $QUIET_P99 ms; during $BOMBS concurrent" \
    "16 MiB gzip bombs p50 $FLOOD_P50 ms p99 $FLOOD_P99 ms;" \
    "collector RSS $((RSS_FLOOD / 1024)) MiB"
cw_check "flood: p50 $FLOOD_P50 ms under 10 x $QUIET_P50 ms or 100 ms" \
    awk -v f="$FLOOD_P50" -v q="$QUIET_P50" \
    'BEGIN { exit !(f < 10 * q || f < 100) }'
cw_check "flood: p99 $FLOOD_P99 ms under 1 s" \
    awk -v f="$FLOOD_P99" 'BEGIN { exit !(f < 1000) }'

# Every bomb sent (the ones loadgen left behind included) is inflated to
# the end, hashed and refused: at least one per connection.
for ((i = 0; i < 1200; i++)); do
	sig=$(metric "$SIG")
	[ $((sig - sig_before)) -ge "$BOMBS" ] && break
	sleep 0.1
done
refused=$((sig - sig_before))
cw_check "the bombs were inflated and refused: $refused >= $BOMBS" \
    [ "$refused" -ge "$BOMBS" ]
cw_check "nothing else refused them" \
    [ "$(metric 'corewatch_batches_rejected_total{reason="too_large"}')" = 0 ]
cw_check "RSS during the flood $((RSS_FLOOD / 1024)) MiB < 256 MiB" \
    [ "$RSS_FLOOD" -lt $((256 * 1024)) ]
cw_collector_stop
cw_done
