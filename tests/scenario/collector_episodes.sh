#!/bin/bash
# collector_episodes.sh -- episodes from the real collector over HTTP and
# on the command line.  Two probes of Ukraine post signed batches: both
# reach a.root throughout; k.root fails for probe A from 10:02 to 10:04
# and for probe B from 10:03 to 10:05 (overlapping: a region's episode
# for each), B once more alone at 10:08 (one failure: no episode); A's
# heartbeats, which declare an interval of 60 s, stop after 10:01 (a
# silence of the probe: a gap of more than twice that, to the end of the
# window at 10:20), B's go on every minute to 10:19.  /api/v1/episodes gives the read token all three, an
# anonymous reader (public_read) the two region episodes and no
# silence; the filters, CSV and a bad parameter; the episodes command
# gives what the API gives the read token.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

MKBATCH="$top_builddir/tests/tools/mkbatch"
[ -x "$COLLECTOR" ] || cw_die "no $COLLECTOR"
[ -x "$MKBATCH" ] || cw_die "no $MKBATCH (make check builds it)"

cw_tmpdir
SEED_A=1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a
SEED_B=2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b
PROBE_A=$("$MKBATCH" id --seed "$SEED_A") || cw_die "mkbatch id failed"
PROBE_B=$("$MKBATCH" id --seed "$SEED_B") || cw_die "mkbatch id failed"
READ_TOKEN=0123456789abcdef-read
READ_AUTH="Authorization: Bearer $READ_TOKEN"
DB=sqlite:$CW_TMP/collector.db
WINDOW="from=2026-11-26T10:00:00Z&to=2026-11-26T10:20:00Z"

# chain PROBE FAILING-MINUTES HEARTBEAT-MINUTES: the chain's lines, a
# k.root and an a.root result each minute from 10:00 to 10:09, and
# heartbeats at half past the minutes given (10:00 to 10:19).
chain()
{
	/usr/bin/python3 - "$@" <<'EOF'
import hashlib, sys
probe, failing, beats = sys.argv[1], sys.argv[2].split(), sys.argv[3].split()
dns = ('"type":"dns","time":"2026-11-26T10:%02d:%02dZ","name":"root-soa",'
       '"server":"%s","addr":"%s","port":53,"af":4,"proto":"udp",'
       '"query":{"qname":".","qtype":"SOA"},%s')
ok = '"ok":true,"failure":null,"rtt_ms":12.5,"rcode":"NOERROR"'
bad = '"ok":false,"failure":"generic_timeout_error","rtt_ms":null'
hb = ('"type":"heartbeat","time":"2026-11-26T10:%02d:30Z","interval_s":60.0,'
      '"identity":{"name":"n","country":"UA","asn":15895,"location":"Kyiv"},'
      '"queue":0')
bodies = []
for m in range(20):
    if m < 10:
        bodies.append(dns % (m, 0, "k.root-servers.net", "193.0.14.129",
                             bad if str(m) in failing else ok))
        bodies.append(dns % (m, 1, "a.root-servers.net", "198.41.0.4", ok))
    if str(m) in beats:
        bodies.append(hb % m)
prev = "0" * 64
for seq, b in enumerate(bodies, 1):
    line = '{"probe":"%s","chain":"%s","seq":%d,"prev":"%s",%s}' % (
        probe, "ab" * 16, seq, prev, b)
    prev = hashlib.sha256(line.encode()).hexdigest()
    print(line)
EOF
}

chain "$PROBE_A" "2 3 4" "0 1" >"$CW_TMP/a" || cw_die "cannot build chain A"
chain "$PROBE_B" "3 4 5 8" "$(seq -s ' ' 0 19)" >"$CW_TMP/b" ||
    cw_die "cannot build chain B"
for p in a b; do
	seed=$SEED_A
	[ "$p" = b ] && seed=$SEED_B
	"$MKBATCH" sign --seed "$seed" --out "$CW_TMP/$p" \
	    --auth "$CW_TMP/$p.auth" || cw_die "mkbatch sign failed"
	cw_probe_enroll "$DB" "probe-$p" \
	    "$("$MKBATCH" pubkey --seed "$seed")"
done

# get PATH OUT [curl args...]: GET into OUT; STATUS is the HTTP status.
get()
{
	local path=$1 out=$2
	shift 2
	STATUS=$(curl -sS -o "$out" -w '%{http_code}' --max-time 10 "$@" \
	    "$COLLECTOR_URL$path" 2>"$CW_TMP/curl.err")
	[ -n "$STATUS" ] || STATUS=000
}

printf '%s\n' "db = \"$DB\"" "public_read = true" \
    "read_token = \"$READ_TOKEN\"" >"$CW_TMP/collector.conf"
cw_collector_start "$CW_TMP/collector.log" -c "$CW_TMP/collector.conf"
for p in a b; do
	cw_batch_post "$CW_TMP/$p" "$CW_TMP/$p.auth"
	cw_check "batch of probe $p stored" [ "$CW_HTTP_STATUS" = 200 ] ||
	    cw_die "batch $p: $CW_HTTP_STATUS $(cat "$CW_TMP/resp")"
done

get "/api/v1/episodes?$WINDOW" "$CW_TMP/token.jsonl" -H "$READ_AUTH"
cw_check "the read token: 200" [ "$STATUS" = 200 ]
cw_expect "the read token: two region episodes and A's silence" \
    "$CW_TMP/token.jsonl" 'length == 3 and
    ([.[] | select(.scope == "region")] | length == 2) and
    ([.[] | select(.silence)] | length == 1)'
cw_expect "A's episode: 10:02 to 10:05, bracketed by 10:01 and 10:05" \
    "$CW_TMP/token.jsonl" ".[] | select(.probe == \"$PROBE_A\" and
    (.silence | not)) | .addr == \"193.0.14.129\" and .failures == 3 and
    .last_ok.time == \"2026-11-26T10:01:00.000000Z\" and
    .first_failure.time == \"2026-11-26T10:02:00.000000Z\" and
    .last_failure.time == \"2026-11-26T10:04:00.000000Z\" and
    .first_ok.time == \"2026-11-26T10:05:00.000000Z\" and
    .failure_names.generic_timeout_error == 3 and .region_probes == 2 and
    .country == \"UA\" and .asn == 15895 and .targets == [{
    \"name\": \"root-soa\", \"server\": \"k.root-servers.net\",
    \"addr\": \"193.0.14.129\", \"proto\": \"udp\", \"af\": 4}]"
cw_expect "B's episode: 10:03 to 10:06, its single failure at 10:08 none" \
    "$CW_TMP/token.jsonl" "[.[] | select(.probe == \"$PROBE_B\")] |
    length == 1 and .[0].first_failure.time ==
    \"2026-11-26T10:03:00.000000Z\" and .[0].first_ok.time ==
    \"2026-11-26T10:06:00.000000Z\""
cw_expect "A's silence: from its heartbeat at 10:01:30 to the window's end" \
    "$CW_TMP/token.jsonl" ".[] | select(.silence) | .probe == \"$PROBE_A\"
    and .scope == \"probe\" and .last_ok.time ==
    \"2026-11-26T10:01:30.000000Z\" and .ongoing and .duration_s == 1110"

get "/api/v1/episodes?$WINDOW" "$CW_TMP/anon.jsonl"
cw_check "anonymous (public_read): 200" [ "$STATUS" = 200 ]
cw_expect "anonymous: the region episodes, no silence" "$CW_TMP/anon.jsonl" \
    'length == 2 and all(.[]; .scope == "region" and (.silence | not))'
cw_check "anonymous: no probe name, no location" \
    [ "$(grep -c -i -e probe-a -e kyiv "$CW_TMP/anon.jsonl")" = 0 ]

get "/api/v1/episodes?$WINDOW&probe=$PROBE_B&scope=region" \
    "$CW_TMP/b.jsonl" -H "$READ_AUTH"
cw_expect "probe=B&scope=region: B's episode" "$CW_TMP/b.jsonl" \
    "length == 1 and .[0].probe == \"$PROBE_B\""
get "/api/v1/episodes?$WINDOW&addr=198.41.0.4" "$CW_TMP/a.root" \
    -H "$READ_AUTH"
cw_check "addr=198.41.0.4: none ($STATUS)" [ "$STATUS" = 200 ] &&
    cw_check "addr=198.41.0.4: an empty answer" [ ! -s "$CW_TMP/a.root" ]
get "/api/v1/episodes?$WINDOW&min_severity=1000" "$CW_TMP/severe" \
    -H "$READ_AUTH"
cw_expect "min_severity=1000: none but the silence" "$CW_TMP/severe" \
    'length == 1 and .[0].silence'
get "/api/v1/episodes?$WINDOW&min_failures=4&scope=region" \
    "$CW_TMP/four" -H "$READ_AUTH"
cw_check "min_failures=4: no region episode" [ ! -s "$CW_TMP/four" ]
get "/api/v1/episodes?$WINDOW&format=csv" "$CW_TMP/anon.csv"
cw_check "format=csv: a header and two rows" \
    [ "$(wc -l <"$CW_TMP/anon.csv")" = 3 ]
cw_check "format=csv: the header names the brackets" \
    grep -q '^scope,silence,probe,.*,first_failure_id,first_failure_time,' \
    "$CW_TMP/anon.csv"
get "/api/v1/episodes?scope=world" "$CW_TMP/bad"
cw_check "scope=world: 400 ($STATUS)" [ "$STATUS" = 400 ]
cw_check "scope=world: the answer names the parameter" \
    grep -q scope "$CW_TMP/bad"
get "/api/v1/episodes?$WINDOW&per_target=true" "$CW_TMP/per" \
    -H "$READ_AUTH"
cw_check "per_target=true: the same episodes (no cut here)" \
    cmp "$CW_TMP/per" "$CW_TMP/token.jsonl"
get "/api/v1/episodes?per_target=maybe" "$CW_TMP/bad"
cw_check "per_target=maybe: 400 ($STATUS)" [ "$STATUS" = 400 ]
get "/api/v1/episodes?$WINDOW&silence=1200" "$CW_TMP/long" -H "$READ_AUTH"
cw_expect "silence=1200: A's gap of 1110 s is no silence" "$CW_TMP/long" \
    'length == 2 and all(.[]; .silence | not)'
get "/api/v1/episodes?type=dns" "$CW_TMP/bad"
cw_check "type=dns: 400, episodes have no type ($STATUS)" [ "$STATUS" = 400 ]
cw_collector_stop
cw_check "the collector stops cleanly ($CW_STATUS)" [ "$CW_STATUS" = 0 ]

"$COLLECTOR" episodes --db "$DB" --from 2026-11-26T10:00:00Z \
    --to 2026-11-26T10:20:00Z >"$CW_TMP/cli.jsonl"
cw_check "episodes: exit 0 ($?)" [ -s "$CW_TMP/cli.jsonl" ]
cw_check "episodes: what the API gives the read token" \
    cmp "$CW_TMP/cli.jsonl" "$CW_TMP/token.jsonl"
"$COLLECTOR" episodes --db "$DB" --format csv --scope region \
    --from 2026-11-26T10:00:00Z --to 2026-11-26T10:20:00Z >"$CW_TMP/cli.csv"
cw_check "episodes --format csv --scope region: what anonymous got" \
    cmp "$CW_TMP/cli.csv" "$CW_TMP/anon.csv"
"$COLLECTOR" episodes --db "$DB" --per-target --from 2026-11-26T10:00:00Z \
    --to 2026-11-26T10:20:00Z >"$CW_TMP/cli-per.jsonl"
cw_check "episodes --per-target: what the API gives per_target=true" \
    cmp "$CW_TMP/cli-per.jsonl" "$CW_TMP/per"
"$COLLECTOR" episodes --db "$DB" --scope world 2>"$CW_TMP/usage.err"
cw_check "episodes --scope world: exit 2" [ "$?" = 2 ]
cw_done
