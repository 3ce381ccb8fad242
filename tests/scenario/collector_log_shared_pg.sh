#!/bin/bash
# collector_log_shared_pg.sh -- two collectors sharing one PostgreSQL
# database keep one log: six probes post their batches at once, each
# batch to one collector or the other; every stored record is in the
# log once, at its own leaf; both collectors sign the same checkpoint;
# every record's inclusion proof from one collector and the consistency
# proof from the other check (tests/scenario/log_verify.py).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

[ -x "$COLLECTOR" ] || cw_die "no $COLLECTOR"
MKBATCH="$top_builddir/tests/tools/mkbatch"
[ -x "$MKBATCH" ] || cw_die "no $MKBATCH (make check builds it)"

cw_tmpdir
cw_pg_start
DB=$CW_PG_URL
KEY=$CW_TMP/log.key
READ_TOKEN=0123456789abcdef-read
PROBES=6 BATCHES=4 SIZE=25
TOTAL=$((PROBES * BATCHES * SIZE))

"$COLLECTOR" keygen --key "$KEY" >"$CW_TMP/vkey" || cw_die "keygen failed"
printf '%s\n' "db = \"$DB\"" "log_key = \"$KEY\"" \
    "read_token = \"$READ_TOKEN\"" >"$CW_TMP/collector.conf"
cw_collector_start "$CW_TMP/a.log" -c "$CW_TMP/collector.conf"
URL_A=$COLLECTOR_URL PID_A=$COLLECTOR_PID
cw_collector_start "$CW_TMP/b.log" -c "$CW_TMP/collector.conf"
URL_B=$COLLECTOR_URL PID_B=$COLLECTOR_PID

# seed_of N: probe N's key seed (64 hex digits).
seed_of()
{
	local byte
	byte=$(printf '%02x' $(($1 + 16)))
	printf "$byte%.0s" {1..32}
}

# probe N: probe N's batches, one after the other (a chain links them),
# each to collector A or B in turn; the statuses in $CW_TMP/pN.status.
probe()
{
	local n=$1 seed chain prev=() i url hash
	seed=$(seed_of "$n")
	chain=$(printf "c%031x" "$n")
	for ((i = 0; i < BATCHES; i++)); do
		hash=$("$MKBATCH" batch --seed "$seed" --chain "$chain" \
		    --from $((i * SIZE + 1)) --count "$SIZE" "${prev[@]}" \
		    --out "$CW_TMP/p$n.$i" --auth "$CW_TMP/p$n.$i.auth") ||
		    { echo mkbatch >>"$CW_TMP/p$n.status"; return; }
		prev=(--prev "$hash")
		url=$URL_A
		[ $(((n + i) % 2)) = 1 ] && url=$URL_B
		curl -sS -o "$CW_TMP/p$n.$i.resp" -w '%{http_code}\n' \
		    --max-time 60 -H "Content-Type: application/x-ndjson" \
		    -H "Authorization: $(cat "$CW_TMP/p$n.$i.auth")" \
		    --data-binary "@$CW_TMP/p$n.$i" "$url/api/v1/batches" \
		    >>"$CW_TMP/p$n.status" 2>/dev/null
	done
}

for ((n = 0; n < PROBES; n++)); do
	cw_probe_enroll "$DB" "probe-$n" \
	    "$("$MKBATCH" pubkey --seed "$(seed_of "$n")")"
done
pids=()
for ((n = 0; n < PROBES; n++)); do
	probe "$n" &
	pids+=($!)
done
wait "${pids[@]}"
cw_check "every batch of every probe stored by one collector or the other" \
    [ "$(cat "$CW_TMP"/p*.status | grep -c '^200$')" = $((PROBES * BATCHES)) ]

q() { psql "$DB" -Atc "$1"; }
cw_check "$TOTAL records stored" [ "$(q 'SELECT count(*) FROM records')" = "$TOTAL" ]
cw_check "each at its own leaf, 0 to $((TOTAL - 1))" \
    [ "$(q 'SELECT count(DISTINCT log_index), min(log_index), max(log_index) FROM records')" = \
    "$TOTAL|0|$((TOTAL - 1))" ]
cw_check "the log holds $TOTAL leaves" \
    [ "$(q 'SELECT size FROM log_state')" = "$TOTAL" ]

cw_get_from()
{
	COLLECTOR_URL=$1 cw_get "${@:2}"
}
cw_get_from "$URL_A" /api/v1/log/checkpoint "$CW_TMP/cp.a"
cw_get_from "$URL_B" /api/v1/log/checkpoint "$CW_TMP/cp.b"
cw_check "both collectors sign the same checkpoint" cmp -s "$CW_TMP/cp.a" \
    "$CW_TMP/cp.b"
cw_check "... of the $TOTAL records, and it verifies" \
    /usr/bin/python3 "$CW_SCENARIO_DIR/log_verify.py" checkpoint \
    "$CW_TMP/vkey" "$CW_TMP/cp.a" "$TOTAL"

cw_get_from "$URL_A" "/api/v1/results?format=jsonl" "$CW_TMP/records.jsonl" \
    -H "Authorization: Bearer $READ_TOKEN"
mkdir -p "$CW_TMP/proofs"
: >"$CW_TMP/urls"
for ((i = 0; i < TOTAL; i++)); do
	printf 'url = "%s/api/v1/log/proof/inclusion?index=%d&size=%d"\noutput = "%s/proofs/%d.json"\n' \
	    "$URL_B" "$i" "$TOTAL" "$CW_TMP" "$i" >>"$CW_TMP/urls"
done
curl -sS -K "$CW_TMP/urls" -w '%{http_code}\n' >"$CW_TMP/proofs.status"
cw_check "$TOTAL inclusion proofs served" \
    [ "$(grep -c '^200$' "$CW_TMP/proofs.status")" = "$TOTAL" ]
cw_check "every record is in the log, at its place in the order stored" \
    /usr/bin/python3 "$CW_SCENARIO_DIR/log_verify.py" inclusion \
    "$CW_TMP/vkey" "$CW_TMP/cp.a" "$CW_TMP/records.jsonl" "$CW_TMP/proofs"

# One more batch through A; B proves the log grew from the checkpoint.
# (The same arguments make the same records: the hash of probe 0's seq
# BATCHES * SIZE is its batch's --prev.)
hash=$("$MKBATCH" batch --seed "$(seed_of 0)" --chain "$(printf "c%031x" 0)" \
    --from 1 --count $((BATCHES * SIZE)) --out "$CW_TMP/all0" \
    --auth "$CW_TMP/all0.auth") || cw_die "mkbatch failed"
"$MKBATCH" batch --seed "$(seed_of 0)" --chain "$(printf "c%031x" 0)" \
    --from $((BATCHES * SIZE + 1)) --count 5 --prev "$hash" \
    --out "$CW_TMP/more" --auth "$CW_TMP/more.auth" >/dev/null ||
    cw_die "mkbatch failed"
COLLECTOR_URL=$URL_A cw_batch_post "$CW_TMP/more" "$CW_TMP/more.auth"
cw_check "a batch more, through A: stored" [ "$CW_HTTP_STATUS" = 200 ]
cw_get_from "$URL_B" /api/v1/log/checkpoint "$CW_TMP/cp.more"
cw_get_from "$URL_B" "/api/v1/log/proof/consistency?old=$TOTAL&new=$((TOTAL + 5))" \
    "$CW_TMP/cons.json"
cw_check "B proves the log grew from the checkpoint both signed" \
    /usr/bin/python3 "$CW_SCENARIO_DIR/log_verify.py" consistency \
    "$CW_TMP/vkey" "$CW_TMP/cp.a" "$CW_TMP/cp.more" "$CW_TMP/cons.json"
cw_stop "$PID_A"
cw_stop "$PID_B"
cw_done
