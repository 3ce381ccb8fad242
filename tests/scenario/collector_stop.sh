#!/bin/bash
# collector_stop.sh -- SIGTERM while batches are being checked.
#
# One probe sends BATCHES batches at once, each its own chain, each a
# gzip body that inflates to about 4 MB: checking them (inflating,
# hashing, parsing every record on the checking thread) takes seconds,
# one after the other.  Once every connection is open and the first
# batch is answered, the collector gets SIGTERM.  Its stop drains the
# checking thread (collector_http_shutdown): a batch checked in time is
# stored and answered 200, one whose check was cut short is answered
# 503 and not stored.  So:
#   - every batch sent before the stop is answered, 200 or 503: none is
#     left without an answer (before the drain, the checks still queued
#     when the two seconds of grace ended were dropped unanswered, and
#     some checked meanwhile were stored without an answer);
#   - a batch answered 200 is stored whole, one answered 503 not at all;
#   - the collector exits 0.
# On SQLite by default; CW_COLLECTOR_DB=postgresql runs it on a
# throwaway PostgreSQL cluster.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

MKBATCH="$top_builddir/tests/tools/mkbatch"
for f in "$COLLECTOR" "$MKBATCH"; do
	[ -x "$f" ] || cw_die "no $f (make check builds it)"
done
BATCHES=32
SIZE=62			# records per batch
PAD=64000		# bytes of padding per record: ~4 MB a batch

cw_tmpdir
cw_collector_db
DB=$COLLECTOR_DB

SEED=$(printf '5a%.0s' {1..32})
cw_probe_enroll "$DB" stop "$("$MKBATCH" pubkey --seed "$SEED")"
for ((b = 0; b < BATCHES; b++)); do
	CHAINS[b]=$(printf 'e%031x' "$b")
	"$MKBATCH" batch --seed "$SEED" --chain "${CHAINS[b]}" --from 1 \
	    --count "$SIZE" --pad "$PAD" --gzip --out "$CW_TMP/b$b.body" \
	    --auth "$CW_TMP/b$b.auth" >/dev/null || cw_die "mkbatch failed"
done

cw_collector_start "$CW_TMP/collector.log" --db "$DB" -v

# post B: send batch B once; its status (000: no answer) in status.B.
post()
{
	local b=$1 status
	status=$(curl -s -o "$CW_TMP/resp.$b" -w '%{http_code}' \
	    --max-time 60 -X POST "$COLLECTOR_URL/api/v1/batches" \
	    -H "Content-Type: application/x-ndjson" \
	    -H "Content-Encoding: gzip" \
	    -H "Authorization: $(cat "$CW_TMP/b$b.auth")" \
	    --data-binary "@$CW_TMP/b$b.body" 2>/dev/null)
	echo "${status:-000}" >"$CW_TMP/status.$b.tmp"
	mv "$CW_TMP/status.$b.tmp" "$CW_TMP/status.$b"
}

for ((b = 0; b < BATCHES; b++)); do
	post "$b" &
	POSTS[b]=$!
	cw_track "${POSTS[b]}"
done
# answered: how many posts have their status.
answered()
{
	local n=0 b
	for ((b = 0; b < BATCHES; b++)); do
		[ -e "$CW_TMP/status.$b" ] && n=$((n + 1))
	done
	echo "$n"
}
# Every connection open (the collector's loop accepts at once: the
# checks run on their own thread), then the first answer: the others
# are being checked or wait for their commit.
for ((i = 0; i < 300; i++)); do
	open=$(ss -Htn state established "( sport = :$COLLECTOR_PORT )" |
	    wc -l)
	[ "$open" -ge "$BATCHES" ] && break
	sleep 0.1
done
[ "$open" -ge "$BATCHES" ] ||
    cw_die "only $open of $BATCHES connections open, $(answered) answered"
for ((i = 0; i < 600; i++)); do
	[ "$(answered)" -ge 1 ] && break
	sleep 0.05
done
before=$(answered)
cw_log "SIGTERM with $before of $BATCHES batches answered"
cw_check "the stop comes while batches are in flight ($before answered)" \
    [ "$before" -lt "$BATCHES" ]
kill -TERM "$COLLECTOR_PID"
# The drain (2 s), the commit and the answers: well within 60 s.
cw_wait "$COLLECTOR_PID" 60
COLLECTOR_PID=
cw_check "the collector stops cleanly on SIGTERM (exit $CW_STATUS)" \
    [ "$CW_STATUS" = 0 ]
for ((b = 0; b < BATCHES; b++)); do
	cw_wait "${POSTS[b]}" 70
done

"$COLLECTOR" export --db "$DB" --format jsonl >"$CW_TMP/all.jsonl" ||
    cw_die "export failed"
ok=0 cut=0
for ((b = 0; b < BATCHES; b++)); do
	status=$(cat "$CW_TMP/status.$b" 2>/dev/null)
	n=$(jq -r "select(.chain == \"${CHAINS[b]}\") | .seq" \
	    "$CW_TMP/all.jsonl" | wc -l)
	case $status in
	200)
		ok=$((ok + 1))
		cw_check "batch $b: answered 200 and stored whole ($n records)" \
		    [ "$n" = "$SIZE" ]
		cw_check "batch $b: its receipt acknowledges seq $SIZE" \
		    [ "$(jq -r .acked_seq "$CW_TMP/resp.$b")" = "$SIZE" ]
		;;
	503)
		cut=$((cut + 1))
		cw_check "batch $b: answered 503 and not stored ($n records)" \
		    [ "$n" = 0 ]
		cw_check "batch $b: the 503 says the collector is stopping" \
		    grep -q "stopping" "$CW_TMP/resp.$b"
		;;
	*)
		cw_check "batch $b: answered 200 or 503 (got ${status:-none}, $n records stored)" \
		    false
		;;
	esac
done
cw_log "$ok batches stored and acknowledged, $cut answered 503"
cw_check "the collector logged its stop" grep -q "stopped" \
    "$CW_TMP/collector.log"
if [ "$CW_FAILURES" != 0 ]; then
	cw_log "collector log:"
	tail -n 40 "$CW_TMP/collector.log" >&2
fi
cw_done
