#!/bin/bash
# collector_crash.sh -- kill -9 of the collector in the middle of ingest.
#
# Four probes post batches of one chain each, one batch after the other,
# and keep a list of the batches the collector acknowledged (a 200 with a
# receipt).  Meanwhile the collector is killed with SIGKILL at random
# moments and started again, several times; a probe whose batch got no
# answer sends it again, as the uploader does.  At the end:
#   - right after each kill (before the restart), every batch the
#     probes saw acknowledged is stored, and every chain holds whole
#     batches only (nothing half-stored);
#   - after the retries every chain is complete, in order, once, and
#     links: every record's prev is the hash of the one before;
#   - the chains have no gaps.
# On SQLite by default; CW_COLLECTOR_DB=postgresql runs it on a
# throwaway PostgreSQL cluster.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

MKBATCH="$top_builddir/tests/tools/mkbatch"
for f in "$COLLECTOR" "$MKBATCH"; do
	[ -x "$f" ] || cw_die "no $f (make check builds it)"
done
PROBES=4
BATCHES=${CW_CRASH_BATCHES:-30}	# per probe
SIZE=50				# records per batch
KILLS=${CW_CRASH_KILLS:-6}

cw_tmpdir
cw_collector_db
DB=$COLLECTOR_DB

# The probes' keys, enrolled; their batches, made beforehand.
for ((p = 0; p < PROBES; p++)); do
	seed=$(printf '%02x' $((p + 16)))
	seed=$(printf "$seed%.0s" {1..32})
	SEEDS[p]=$seed
	cw_probe_enroll "$DB" "crash-$p" "$("$MKBATCH" pubkey --seed "$seed")"
	chain=$(printf 'c%031x' "$p")
	CHAINS[p]=$chain
	prev=
	for ((b = 0; b < BATCHES; b++)); do
		prev=$("$MKBATCH" batch --seed "$seed" --chain "$chain" \
		    --from $((b * SIZE + 1)) --count "$SIZE" ${prev:+--prev "$prev"} \
		    --out "$CW_TMP/p$p.b$b.body" --auth "$CW_TMP/p$p.b$b.auth") ||
		    cw_die "mkbatch failed"
	done
done

# probe P: post the batches in order; a batch that gets no 200 is sent
# again (bounded); acknowledged ones are listed in ack.P as "b acked_seq".
# Exits 0 when every batch was acknowledged, 1 when it gave up.
probe()
{
	local p=$1 b=0 tries=0 status
	: >"$CW_TMP/ack.$p"
	while ((b < BATCHES && tries < 400)); do
		tries=$((tries + 1))
		status=$(curl -s -o "$CW_TMP/resp.$p" -w '%{http_code}' \
		    --max-time 20 -X POST "$COLLECTOR_URL/api/v1/batches" \
		    -H "Content-Type: application/x-ndjson" \
		    -H "Authorization: $(cat "$CW_TMP/p$p.b$b.auth")" \
		    --data-binary "@$CW_TMP/p$p.b$b.body" 2>/dev/null)
		if [ "$status" = 200 ]; then
			echo "$b $(jq -r .acked_seq "$CW_TMP/resp.$p")" \
			    >>"$CW_TMP/ack.$p"
			b=$((b + 1))
		else
			sleep 0.05
		fi
	done
	((b == BATCHES))
}

cw_collector_start "$CW_TMP/serve.0.log" --db "$DB"
for ((p = 0; p < PROBES; p++)); do
	probe "$p" &
	PROBE_PIDS[p]=$!
	cw_track "${PROBE_PIDS[p]}"
done
# crash_check K: right after kill K, before the restart: each chain
# holds whole batches only, and every batch acknowledged so far.
crash_check()
{
	local k=$1 p n lost b acked
	cat "$CW_TMP"/ack.* >/dev/null	# the acks as they stand now
	for ((p = 0; p < PROBES; p++))
		do cp "$CW_TMP/ack.$p" "$CW_TMP/ack.$p.at$k"; done
	"$COLLECTOR" export --db "$DB" --format jsonl >"$CW_TMP/at$k.jsonl" ||
	    cw_die "export after kill $k failed"
	for ((p = 0; p < PROBES; p++)); do
		jq -r "select(.chain == \"${CHAINS[p]}\") | .seq" \
		    "$CW_TMP/at$k.jsonl" >"$CW_TMP/at$k.seqs.$p"
		n=$(wc -l <"$CW_TMP/at$k.seqs.$p")
		cw_check "kill $k: probe $p has whole batches only ($n records)" \
		    [ $((n % SIZE)) = 0 ]
		lost=0
		while read -r b acked; do
			grep -qx "$acked" "$CW_TMP/at$k.seqs.$p" ||
			    lost=$((lost + 1))
		done <"$CW_TMP/ack.$p.at$k"
		cw_check "kill $k: probe $p lost no acknowledged batch" \
		    [ "$lost" = 0 ]
	done
}

# Kill the collector at random moments while the probes post.
for ((k = 1; k <= KILLS; k++)); do
	sleep "0.$((RANDOM % 6 + 2))"
	cw_collector_stop KILL
	cw_log "killed the collector (kill $k), acks so far: $(cat "$CW_TMP"/ack.* | wc -l)"
	crash_check "$k"
	cw_collector_restart "$CW_TMP/serve.$k.log"
done
# cw_wait returns nothing of the process (its status is CW_STATUS): a
# probe killed after 120 s has 137, one that gave up 1.
for ((p = 0; p < PROBES; p++)); do
	cw_wait "${PROBE_PIDS[p]}" 120
	[ "$CW_STATUS" = 0 ] ||
	    cw_die "probe $p did not finish its batches (exit $CW_STATUS)"
done
cw_collector_stop
cw_check "the last collector stops cleanly on SIGTERM (exit $CW_STATUS)" \
    [ "$CW_STATUS" = 0 ]

# What is stored, as the collector exports it.
"$COLLECTOR" export --db "$DB" --format jsonl >"$CW_TMP/all.jsonl" ||
    cw_die "export failed"
for ((p = 0; p < PROBES; p++)); do
	chain=${CHAINS[p]}
	acks=$(wc -l <"$CW_TMP/ack.$p")
	cw_check "probe $p: all $BATCHES batches acknowledged in the end" \
	    [ "$acks" = "$BATCHES" ]
	jq -c "select(.chain == \"$chain\") | .seq" "$CW_TMP/all.jsonl" |
	    sort -n >"$CW_TMP/seqs.$p"
	# Nothing acknowledged lost: each acked seq is stored.
	lost=0
	while read -r b acked; do
		grep -qx "$acked" "$CW_TMP/seqs.$p" || lost=$((lost + 1))
	done <"$CW_TMP/ack.$p"
	cw_check "probe $p: no acknowledged batch lost" [ "$lost" = 0 ]
	# Whole batches only, each record once, seq 1..N without a hole.
	n=$(wc -l <"$CW_TMP/seqs.$p")
	uniq_n=$(uniq "$CW_TMP/seqs.$p" | wc -l)
	cw_check "probe $p: $((BATCHES * SIZE)) records stored" \
	    [ "$n" = $((BATCHES * SIZE)) ]
	cw_check "probe $p: no record twice" [ "$n" = "$uniq_n" ]
	cw_check "probe $p: seqs from 1, nothing half-stored" \
	    [ "$(head -n 1 "$CW_TMP/seqs.$p")" = 1 ]
	cw_check "probe $p: seqs to N without a hole" \
	    [ "$(tail -n 1 "$CW_TMP/seqs.$p")" = "$n" ]
	# The chain links: recompute each record's hash from its bytes.
	cw_chain_check --chain "$chain" "$CW_TMP/all.jsonl" >"$CW_TMP/links.$p"
	cw_expect "probe $p: every prev is the hash of the record before" \
	    "$CW_TMP/links.$p" '.[0] | .first == 1 and .holes == 0 and
	    .broken == 0'
done
cw_done
