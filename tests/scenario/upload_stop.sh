#!/bin/bash
# upload_stop.sh -- what `corewatch run` does with the records it has not
# uploaded yet when it is stopped (SIGTERM), against the real collector
# (corewatch-collector serve, SQLite in the work directory).  The probe
# measures a closed loopback port every second and would send a batch
# only after an hour (batch_age), so whatever reaches the collector was
# sent at the stop:
#   collector up: every record of the spool, those measured just before
#   the signal included, is at the collector when the process has
#   exited, the chain intact, the spool's cursor at its last seq;
#   collector stopped (connection refused): the process exits within
#   stop_timeout (default 5 s) and a little, and the records stay in the
#   spool, every one (the next start sends them);
#   collector hung (SIGSTOP: it accepts, never answers), stop_timeout
#   2s: the same within 2 s and a little;
#   stop_timeout 0: exits at once, nothing sent.
# Everything listens on 127.0.0.1.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

[ -x "$COLLECTOR" ] || cw_die "no $COLLECTOR"

cw_tmpdir
DB="sqlite:$CW_TMP/collector.db"
cw_collector_start "$CW_TMP/collector.log" --db "$DB"
cw_probe_key "$CW_TMP/p.key"
PROBE=$PROBE_ID
cw_probe_enroll "$DB" p "$PROBE_PUBKEY"

# conf FILE [UPLOAD-LINES]: the probe's configuration, uploading to the
# collector with the extra lines given.
conf()
{
	cat >"$1" <<EOF
probe {
	name = "p"
}
state_dir = "$CW_TMP/state"
key = "$CW_TMP/p.key"
output {
	path = "$CW_TMP/p.out"
}
spool {
	dir = "$CW_TMP/p.spool"
}
upload {
	url = {"$COLLECTOR_URL"}
	batch_age = 1h
	${2:-}
}
dns "closed" {
	servers = {"127.0.0.1"}
	port = 9
	interval = 1s
	timeout = 200ms
}
EOF
}

# status FIELD: a field of `corewatch spool status --json`.
status()
{
	"$COREWATCH" spool status -c "$CW_TMP/p.conf" --json | jq -r ".$1"
}

# run_and_stop NAME SECONDS: corewatch run for SECONDS, then SIGTERM;
# given 20 s to exit by itself.  Sets CW_STATUS and TOOK (seconds from
# the signal to the exit).
run_and_stop()
{
	local t0
	cw_spawn "$CW_TMP/$1.log" "$COREWATCH" run -c "$CW_TMP/p.conf"
	sleep "$2"
	t0=$(date +%s.%N)
	kill -TERM "$CW_SPAWNED"
	cw_wait "$CW_SPAWNED" 20
	TOOK=$(echo "$(date +%s.%N) - $t0" | bc)
	cw_log "$1: exit $CW_STATUS, $TOOK s after SIGTERM"
}

# within SECONDS: the last stop took at most SECONDS.
within()
{
	[ "$(echo "$TOOK <= $1" | bc)" = 1 ]
}

# --- the collector up: everything is sent before the exit ---------------------

conf "$CW_TMP/p.conf"
run_and_stop up 3.5
LAST=$(status last_seq)
"$COLLECTOR" export --db "$DB" --format jsonl --probe "$PROBE" \
    >"$CW_TMP/up.export"
cw_log "up: spool last_seq $LAST, acked $(status acked_seq)"
cw_check "up: exit 0, within stop_timeout" \
    eval '[ "$CW_STATUS" = 0 ] && within 8'
cw_check "up: results measured before the signal" [ "$LAST" -ge 4 ]
cw_check "up: the spool's cursor at its last seq" \
    [ "$(status acked_seq)" = "$LAST" ]
cw_chain_check --probe "$PROBE" "$CW_TMP/up.export" >"$CW_TMP/up.sum" ||
    cw_die "the export is not one chain"
cw_expect "up: every record at the collector, once, chain intact" \
    "$CW_TMP/up.sum" ".[0] | .records == $LAST and .first == 1 and
	.last == $LAST and .twice == 0 and .broken == 0 and .holes == 0"
cw_check "up: says it sent everything" \
    grep -q "upload: every record acknowledged (seq $LAST)" "$CW_TMP/up.log"

# --- the collector stopped: the bound, nothing lost --------------------------

cw_collector_stop
cw_check "the collector stops cleanly on SIGTERM ($CW_STATUS)" \
    [ "$CW_STATUS" = 0 ]
run_and_stop down 3
cw_check "down: exit 0 within stop_timeout (5 s) and a little" \
    eval '[ "$CW_STATUS" = 0 ] && within 8'
cw_check "down: the new records stay in the spool, every one" \
    eval '[ "$(status last_seq)" -ge $((LAST + 3)) ] &&
	[ "$(status acked_seq)" = "$LAST" ] &&
	[ "$(status depth)" = $(($(status last_seq) - LAST)) ]'
cw_check "down: says what stays" \
    grep -q "not acknowledged within 5.000 s stay in the spool" \
    "$CW_TMP/down.log"

# --- the collector hung: the bound of stop_timeout ----------------------------

cw_collector_restart "$CW_TMP/collector2.log"
kill -STOP "$COLLECTOR_PID"
conf "$CW_TMP/p.conf" 'stop_timeout = 2s'
BEFORE=$(status acked_seq)
run_and_stop hung 3
kill -CONT "$COLLECTOR_PID"
cw_check "hung: exit 0 within stop_timeout (2 s) and a little, not at once" \
    eval '[ "$CW_STATUS" = 0 ] && within 5 && ! within 1.5'
cw_check "hung: nothing acknowledged, nothing lost" \
    eval '[ "$(status acked_seq)" = "$BEFORE" ] &&
	[ "$(status depth)" = $(($(status last_seq) - BEFORE)) ]'

# --- stop_timeout 0: no last sending ----------------------------------------

conf "$CW_TMP/p.conf" 'stop_timeout = 0'
BEFORE=$(status acked_seq)
run_and_stop zero 2
cw_check "stop_timeout 0: exit 0 at once" \
    eval '[ "$CW_STATUS" = 0 ] && within 1.5'
conf "$CW_TMP/bad.conf" "stop_timeout = 11m"
"$COREWATCH" check-config -c "$CW_TMP/bad.conf" 2>"$CW_TMP/bad.err"
cw_check "check-config refuses a stop_timeout out of range: exit 2" [ $? = 2 ]
cw_check "check-config refuses a stop_timeout out of range: says the range" \
    grep -q "stop_timeout: from 0 to 10m" "$CW_TMP/bad.err"

# The collector continued after SIGSTOP and SIGCONT: a clean stop too.
# (Every exit status is checked: under contrib/test-all.sh a sanitizer's
# report ends a program with status 86, the report goes to its files.)
cw_collector_stop
cw_check "the restarted collector stops cleanly on SIGTERM ($CW_STATUS)" \
    [ "$CW_STATUS" = 0 ]
[ "$CW_FAILURES" = 0 ] || tail -n 30 "$CW_TMP"/*.log >&2
cw_done
