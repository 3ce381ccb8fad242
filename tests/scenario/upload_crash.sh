#!/bin/bash
# upload_crash.sh -- kill -9 of the probe in a loop while it measures and
# uploads to the real collector, then the count.
#
# `corewatch run` measures (quickly failing queries to a closed port on
# loopback: many results), spools every result and uploads batches to
# `corewatch-collector serve` as it goes.  It is killed with SIGKILL at
# random moments, again and again; just before each kill the spool's
# unsent records are exported (what is on disk then).  Finally a run is
# left to drain the spool and stopped with SIGTERM.  Then, at the
# collector:
#   - the chain is complete: seq 1..N, each once, every prev the hash of
#     the record before (so nothing was taken twice or lost in between);
#   - every record exported before a kill is there, byte for byte
#     (nothing that was on disk was lost, nothing was changed);
#   - no measurement is there twice under two seqs;
#   - the collector received batches while the kills went on.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

for f in "$COREWATCH" "$COLLECTOR"; do
	[ -x "$f" ] || cw_die "no $f (make builds it)"
done
KILLS=${CW_CRASH_KILLS:-10}

cw_tmpdir
DB="sqlite:$CW_TMP/collector.db"
cw_collector_start "$CW_TMP/collector.log" --db "$DB"

KEY="$CW_TMP/probe.key"
cw_probe_key "$KEY"
PROBE=$PROBE_ID
cw_probe_enroll "$DB" crash "$PROBE_PUBKEY"

# Twenty loopback addresses, a closed port: every query fails at once
# with connection_refused, so results come fast.
CLOSED=$(cw_free_port) || cw_die "no free port"
servers='"127.0.0.1"'
for ((i = 2; i <= 20; i++)); do
	servers="$servers, \"127.0.0.$i\""
done
cat >"$CW_TMP/run.conf" <<EOF
probe {
	name = "crash"
}
state_dir = "$CW_TMP/state"
key = "$KEY"
heartbeat = 1s
output {
	path = "$CW_TMP/out.jsonl"
}
spool {
	dir = "$CW_TMP/spool"
	sync = 200ms
}
upload {
	url = {"$COLLECTOR_URL"}
	batch_age = 200ms
	batch_records = 25
	backoff_max = 1s
}
dns "loop" {
	servers = {$servers}
	port = $CLOSED
	af = 4
	interval = 1s
	# Results all through the cycle, so that a snapshot before a kill
	# holds the last 200 ms (batch_age) unsent: with the queries in the
	# first 300 ms, most snapshots came after the upload and were empty,
	# and once all ten were (checked 0).
	spread = 1s
	timeout = 300ms
}
EOF
"$COREWATCH" check-config -c "$CW_TMP/run.conf" >/dev/null 2>"$CW_TMP/cc.err" ||
    { cat "$CW_TMP/cc.err" >&2; cw_die "the run configuration is refused"; }

MUSTS=()
for ((k = 1; k <= KILLS; k++)); do
	cw_spawn "$CW_TMP/run.$k.log" "$COREWATCH" run -c "$CW_TMP/run.conf"
	RUN_PID=$CW_SPAWNED
	sleep "$((RANDOM % 2)).$((RANDOM % 10))"
	sleep 0.3
	if "$COREWATCH" spool export -c "$CW_TMP/run.conf" \
	    --out "$CW_TMP/snap.$k" 2>>"$CW_TMP/export.err"; then
		MUSTS+=("$CW_TMP/snap.$k")
	fi
	kill -KILL "$RUN_PID"
	cw_wait "$RUN_PID" 5
done
cw_check "every snapshot before a kill exported" [ "${#MUSTS[@]}" = "$KILLS" ]
"$COLLECTOR" export --db "$DB" --format jsonl --probe "$PROBE" \
    >"$CW_TMP/during.jsonl" || cw_die "export failed"
cw_check "the collector took batches while the kills went on" \
    [ "$(wc -l <"$CW_TMP/during.jsonl")" -gt 0 ]

# A last run: measure a little, drain, stop properly.
cw_spawn "$CW_TMP/run.last.log" "$COREWATCH" run -c "$CW_TMP/run.conf"
RUN_PID=$CW_SPAWNED
sleep 1
for ((i = 0; i < 100; i++)); do
	"$COREWATCH" spool status -c "$CW_TMP/run.conf" --json \
	    >"$CW_TMP/status.json" 2>/dev/null &&
	    jq -e '.[0]? // . | .depth <= 40' "$CW_TMP/status.json" \
	    >/dev/null && break
	sleep 0.2
done
kill -TERM "$RUN_PID"
cw_wait "$RUN_PID" 15
cw_check "the last run stops on SIGTERM, exit 0" [ "$CW_STATUS" = 0 ]
# What the last run left unsent goes by hand, as a volunteer would.
"$COREWATCH" spool export -c "$CW_TMP/run.conf" --out "$CW_TMP/rest" ||
    cw_die "the last spool export failed"
if [ -s "$CW_TMP/rest" ]; then
	"$COLLECTOR" import --db "$DB" "$CW_TMP/rest" >"$CW_TMP/import.out" \
	    2>&1 || { cat "$CW_TMP/import.out" >&2; cw_die "import failed"; }
fi
cw_collector_stop

"$COLLECTOR" export --db "$DB" --format jsonl --probe "$PROBE" \
    >"$CW_TMP/final.jsonl" || cw_die "export failed"
cw_chain_check "$CW_TMP/final.jsonl" "${MUSTS[@]}" >"$CW_TMP/check.json" ||
    cw_die "cannot check the chain"
cat "$CW_TMP/check.json" >&2
cw_expect "many records, seq 1..N without a hole" "$CW_TMP/check.json" \
    '.[0] | .first == 1 and .last > 100 and .holes == 0 and .losses == 0'
cw_expect "no seq twice, no measurement twice" "$CW_TMP/check.json" \
    '.[0] | .twice == 0 and .dups == 0'
cw_expect "the chain links throughout" "$CW_TMP/check.json" \
    '.[0] | .broken == 0'
cw_expect "everything on disk before a kill arrived, byte for byte" \
    "$CW_TMP/check.json" \
    '.[0] | .checked > 0 and .missing == 0 and .changed == 0'
cw_done
