#!/bin/bash
# declare.sh -- what a probe declares of its methodology, through a real
# collector: the heartbeat's "config" (the full declaration at the start
# and after a reload, the hash otherwise; the hash is the SHA-256 of the
# canonical form, which jq recomputes here), and the "tld_servers"
# records of the TLD server sets it learned from NSD, at the start from
# its cache too.  The collector stores both types and exports them;
# anonymous readers get the TLD sets but no heartbeat.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

[ -x "$COLLECTOR" ] || cw_die "no $COLLECTOR"
cw_tmpdir
DB="sqlite:$CW_TMP/collector.db"
READ_TOKEN=0123456789abcdef-read
OUT="$CW_TMP/run.jsonl"

cw_nsd_start "${CW_TEST_ZONES[@]}"
PORT=$NSD_PORT
printf '%s\n' "db = \"$DB\"" "public_read = true" \
    "read_token = \"$READ_TOKEN\"" >"$CW_TMP/collector.conf"
cw_probe_key "$CW_TMP/p.key"
PROBE=$PROBE_ID
cw_probe_enroll "$DB" declare-probe "$PROBE_PUBKEY"
cw_collector_start "$CW_TMP/collector.log" -c "$CW_TMP/collector.conf"

# probe_conf TIMEOUT: the probe's configuration, the TLD measurement's
# timeout given.
probe_conf()
{
	cat >"$CW_TMP/probe.conf" <<EOF
probe {
	name = "declare-probe"
	location = "a volunteer's flat"
}
state_dir = "$CW_TMP/state"
key = "$CW_TMP/p.key"
heartbeat = 1s
output { path = "$OUT" }
spool { dir = "$CW_TMP/spool" }
upload {
	url = {"$COLLECTOR_URL"}
	batch_age = 300ms
}
tld_discovery {
	roots = {"127.0.0.1"}
	resolver = "127.0.0.1"
	port = $PORT
	refresh = 1h
}
# The root's SOA at one address.
dns "root-soa" {
	servers = {"r=127.0.0.1"}
	port = $PORT
	transport = "udp"
	interval = 1s
	timeout = 600ms
}
dns "tld-soa" {
	tlds = {"ua"}
	transport = "udp"
	port = $PORT
	interval = 1s
	timeout = $1
	late_window = 50ms
}
EOF
}

# wait_for FILTER: up to 20 s for a line of $OUT that matches.
wait_for()
{
	local i
	for ((i = 0; i < 200; i++)); do
		[ "$(jq -c "select($1)" "$OUT" 2>/dev/null | wc -l)" -ge 1 ] &&
		    return 0
		sleep 0.1
	done
	return 1
}

# canonical_hash N: SHA-256 of the N-th (1-based) declaring heartbeat's
# measurements, written as jq writes canonical JSON (compact, sorted).
canonical_hash()
{
	jq -c 'select(.type == "heartbeat" and .config.measurements)' "$OUT" |
	    sed -n "$1p" | jq -j -c -S '.config.measurements' | sha256sum |
	    cut -d' ' -f1
}

# --- a start: the declaration, the TLD set learned from NSD ---------------
probe_conf 500ms
cw_spawn "$CW_TMP/run1.log" "$COREWATCH" run -c "$CW_TMP/probe.conf"
RUN_PID=$CW_SPAWNED
cw_check "run: the ua set is recorded" \
    wait_for '.type == "tld_servers" and .tld == "ua"'
cw_check "run: heartbeats after the first" \
    wait_for '.type == "heartbeat" and (.config.measurements | not)'
cw_expect "run: the first heartbeat declares both measurements" "$OUT" \
    "[.[] | select(.type == \"heartbeat\")][0].config |
     .count == 2 and .omitted == 0 and
     ([.measurements[].name] == [\"root-soa\", \"tld-soa\"]) and
     (.measurements[0] | .kind == \"dns\" and .interval_ms == 1000 and
      .timeout_ms == 600 and .qname == \".\" and .qtype == \"SOA\" and
      .transports == [\"udp\"] and .tlds == [] and
      .targets == [{\"name\": \"r\", \"address\": \"127.0.0.1\",
                    \"port\": $PORT}]) and
     (.measurements[1] | .tlds == [\"ua\"] and .targets == [] and
      .qname == null and .timeout_ms == 500) and
     (.hash | test(\"^[0-9a-f]{64}$\"))"
HASH1=$(jq -r 'select(.type == "heartbeat") | .config.hash' "$OUT" | head -n 1)
cw_check "run: the hash is the SHA-256 of the canonical measurements" \
    [ "$(canonical_hash 1)" = "$HASH1" ]
cw_expect "run: later heartbeats carry the hash only" "$OUT" \
    "[.[] | select(.type == \"heartbeat\")][1:] | length >= 1 and
     all(.config | keys == [\"count\", \"hash\"] and
      .hash == \"$HASH1\")"
cw_expect "run: the ua set, learned from the root" "$OUT" \
    '[.[] | select(.type == "tld_servers")] | length == 1 and
     (.[0] | .tld == "ua" and .source == "discovery" and
      .root == "127.0.0.1" and .ns == ["ns1.ua", "ns2.ua"] and
      .addresses == 3 and .age_s >= 0 and (.learned | type == "string") and
      ([.servers[].addr] | sort) == ["127.0.0.1", "127.0.0.2", "::1"])'

# --- a reload with another timeout: a new declaration at once -------------
probe_conf 700ms
kill -HUP "$RUN_PID"
cw_check "reload: a new declaration" \
    wait_for ".type == \"heartbeat\" and .config.measurements and
     .config.hash != \"$HASH1\""
HASH2=$(jq -r "select(.type == \"heartbeat\" and .config.measurements and
    .config.hash != \"$HASH1\") | .config.hash" "$OUT" | head -n 1)
cw_expect "reload: the new declaration says the new timeout" "$OUT" \
    "[.[] | select(.type == \"heartbeat\" and
      .config.hash == \"$HASH2\" and .config.measurements)][0].config |
     (.measurements[] | select(.name == \"tld-soa\") | .timeout_ms == 700)"
cw_check "reload: the new hash is the canonical one too" \
    [ "$(canonical_hash 2)" = "$HASH2" ]
cw_check "reload: hash-only heartbeats go on with the new hash" \
    wait_for ".type == \"heartbeat\" and .config.hash == \"$HASH2\" and
     (.config.measurements | not)"
cw_expect "reload: the same ua set is not recorded again" "$OUT" \
    '[.[] | select(.type == "tld_servers")] | length == 1'
cw_stop "$RUN_PID"

# --- a start from the cache, NSD gone --------------------------------------
LEARNED=$(jq -r 'select(.type == "tld_servers") | .learned' "$OUT")
kill -TERM "$NSD_PID"
cw_spawn "$CW_TMP/run2.log" "$COREWATCH" run -c "$CW_TMP/probe.conf"
RUN_PID=$CW_SPAWNED
cw_check "cache: the ua set is recorded at the start" \
    wait_for '.type == "tld_servers" and .source == "cache"'
cw_expect "cache: the set as learned, with its age" "$OUT" \
    "[.[] | select(.type == \"tld_servers\" and .source == \"cache\")] |
     length == 1 and (.[0] | .tld == \"ua\" and .learned == \"$LEARNED\" and
      .root == \"127.0.0.1\" and .addresses == 3 and .age_s >= 0)"
cw_expect "cache: the restart declares the configuration again" "$OUT" \
    "[.[] | select(.type == \"heartbeat\" and .config.measurements)] |
     length == 3 and .[2].config.hash == \"$HASH2\""
# Until the collector has what the probe wrote.
for ((i = 0; i < 100; i++)); do
	"$COLLECTOR" export --db "$DB" --format jsonl --probe "$PROBE" \
	    --type tld_servers >"$CW_TMP/tld.export" 2>/dev/null
	[ "$(wc -l <"$CW_TMP/tld.export")" -ge 2 ] && break
	sleep 0.1
done
cw_stop "$RUN_PID"

# --- the collector: both types stored and exported ---------------------------
cw_expect "collector: both tld_servers records stored" "$CW_TMP/tld.export" \
    '[.[].source] == ["discovery", "cache"] and all(.tld == "ua")'
"$COLLECTOR" export --db "$DB" --format jsonl --probe "$PROBE" \
    --type heartbeat >"$CW_TMP/hb.export"
cw_expect "collector: the declarations stored with the heartbeats" \
    "$CW_TMP/hb.export" \
    "[.[] | select(.config.measurements)] | length >= 2 and
     ([.[].config.hash] | unique | sort) == ([\"$HASH1\", \"$HASH2\"] | sort)"
"$COLLECTOR" export --db "$DB" --format csv --probe "$PROBE" \
    >"$CW_TMP/all.csv" 2>"$CW_TMP/csv.err"
cw_check "collector: the CSV export takes the new type" [ $? = 0 ]
cw_check "collector: a CSV row per tld_servers record" \
    [ "$(grep -c ',tld_servers,' "$CW_TMP/all.csv")" = 2 ]
"$COLLECTOR" export --db "$DB" --format atlas --probe "$PROBE" \
    >"$CW_TMP/all.atlas" 2>"$CW_TMP/atlas.err"
cw_check "collector: the Atlas export skips it" [ $? = 0 ]
cw_check "collector: no tld_servers in Atlas results" \
    bash -c "! grep -q tld_servers '$CW_TMP/all.atlas'"
"$COLLECTOR" summary --db "$DB" --probe "$PROBE" >"$CW_TMP/summary" \
    2>"$CW_TMP/summary.err"
cw_check "collector: the summary takes the new type" [ $? = 0 ]

# Anonymous readers: the TLD sets (public data), no heartbeat, so no
# declaration and no location.
curl -sS --max-time 10 -o "$CW_TMP/anon.jsonl" \
    "$COLLECTOR_URL/api/v1/results?probe=$PROBE" 2>"$CW_TMP/curl.err"
cw_check "anonymous: the tld_servers records" \
    [ "$(grep -c '"type":"tld_servers"' "$CW_TMP/anon.jsonl")" = 2 ]
cw_check "anonymous: no heartbeat, no declaration" \
    bash -c "! grep -q -e heartbeat -e '\"config\"' -e volunteer \
        '$CW_TMP/anon.jsonl'"
curl -sS --max-time 10 -o "$CW_TMP/read.jsonl" \
    -H "Authorization: Bearer $READ_TOKEN" \
    "$COLLECTOR_URL/api/v1/results?probe=$PROBE&type=heartbeat" \
    2>"$CW_TMP/curl.err"
cw_check "the read token: the declarations" \
    grep -q '"measurements":\[' "$CW_TMP/read.jsonl"

cw_done
