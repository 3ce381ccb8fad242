#!/bin/bash
# witness.sh -- `corewatch witness` against real collectors
# sharing one log key: a log that grows is followed (its consistency
# proofs check, the history grows); a copy of the database that went
# its own way is caught as a fork (same size, another root), and when it
# grows, by its failing consistency proof; an older copy as a log that
# went back; a checkpoint of another key is refused; an alarm keeps what
# shows it and does not move the history on; a collector that does not
# answer changes nothing.  SQLite (the test copies the database file).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

[ -x "$COLLECTOR" ] || cw_die "no $COLLECTOR"
[ -x "$COREWATCH" ] || cw_die "no $COREWATCH"
MKBATCH="$top_builddir/tests/tools/mkbatch"
[ -x "$MKBATCH" ] || cw_die "no $MKBATCH (make check builds it)"

cw_tmpdir
KEY=$CW_TMP/log.key
STATE=$CW_TMP/witness
SEED=0606060606060606060606060606060606060606060606060606060606060606
CHAIN=feedfacefeedfacefeedfacefeedface

"$COLLECTOR" keygen --key "$KEY" >"$CW_TMP/vkey" || cw_die "keygen failed"
"$COLLECTOR" keygen --key "$CW_TMP/other.key" >"$CW_TMP/other.vkey" ||
    cw_die "keygen failed"

# start NAME: a collector on database NAME.db with the log key.
start()
{
	printf '%s\n' "db = \"sqlite:$CW_TMP/$1.db\"" "log_key = \"$KEY\"" \
	    >"$CW_TMP/$1.conf"
	cw_collector_start "$CW_TMP/$1.log" -c "$CW_TMP/$1.conf"
}

# post NAME FROM COUNT [ARGS...]: batch NAME of the chain, seqs FROM..,
# posted to the collector running; PREV goes on.
PREV=
post()
{
	local name=$1 from=$2 count=$3 prev=()
	shift 3
	[ "$from" -gt 1 ] && prev=(--prev "$PREV")
	PREV=$("$MKBATCH" batch --seed "$SEED" --chain "$CHAIN" --from "$from" \
	    --count "$count" "${prev[@]}" "$@" --out "$CW_TMP/$name.body" \
	    --auth "$CW_TMP/$name.auth") || cw_die "mkbatch $name failed"
	cw_batch_post "$CW_TMP/$name.body" "$CW_TMP/$name.auth"
	[ "$CW_HTTP_STATUS" = 200 ] ||
	    cw_die "batch $name: $CW_HTTP_STATUS $(cat "$CW_TMP/resp")"
}

# witness [VKEY]: one run against the collector running; STATUS its
# exit status, its output in $CW_TMP/w.out and .err.
witness()
{
	"$COREWATCH" witness --vkey "${1:-$CW_TMP/vkey}" --state "$STATE" \
	    "$COLLECTOR_URL" >"$CW_TMP/w.out" 2>"$CW_TMP/w.err"
	STATUS=$?
}

history_lines()
{
	wc -l <"$STATE/history"
}

alarms()
{
	find "$STATE" -name 'alarm-*' | wc -l
}

start a
"$COLLECTOR" probe add --db "sqlite:$CW_TMP/a.db" --name p \
    --pubkey "$("$MKBATCH" pubkey --seed "$SEED")" >/dev/null ||
    cw_die "probe add failed"
witness
cw_check "the empty log: consistent (exit 0)" [ "$STATUS" = 0 ]
cw_check "... said so" grep -q " 0 consistent$" "$CW_TMP/w.out"
post b1 1 5
PREV5=$PREV
witness
cw_check "5 records later: consistent" [ "$STATUS" = 0 ]
cw_collector_stop
cp "$CW_TMP/a.db" "$CW_TMP/snapshot5.db"
cw_collector_restart "$CW_TMP/a2.log"
post b2 6 3
witness
cw_check "8 records, the proof from 5 checks: consistent" [ "$STATUS" = 0 ]
cw_check "the history holds the three checkpoints" [ "$(history_lines)" = 3 ]
cw_check "... of sizes 0, 5, 8" \
    [ "$(awk '{ printf "%s ", $2 }' "$STATE/history")" = "0 5 8 " ]
cp "$STATE/latest" "$CW_TMP/latest8"
cw_collector_stop

# A copy of the log at 5 records, gone its own way with the same key.
cp "$CW_TMP/snapshot5.db" "$CW_TMP/fork.db"
start fork
PREV=$PREV5
post f2 6 3 --variant 1
witness
cw_check "a fork (8 records, another root): exit 1" [ "$STATUS" = 1 ]
cw_check "... named" grep -q "the log forked" "$CW_TMP/w.err"
cw_check "... kept as an alarm" [ "$(alarms)" = 1 ]
cw_check "... holding both checkpoints" \
    [ "$(cat "$STATE"/alarm-* | grep -c "^corewatch-collector/")" = 2 ]
cw_check "... and the history did not move" [ "$(history_lines)" = 3 ]
cw_check "... nor the latest checkpoint" cmp -s "$STATE/latest" \
    "$CW_TMP/latest8"
post f3 9 2
witness
cw_check "the fork grown to 10: its consistency proof fails: exit 1" \
    [ "$STATUS" = 1 ]
cw_check "... named" grep -q "consistency proof fails" "$CW_TMP/w.err"
cw_check "... a second alarm" [ "$(alarms)" = 2 ]
cw_collector_stop

cp "$CW_TMP/snapshot5.db" "$CW_TMP/old.db"
start old
witness
cw_check "the log at 5 again after 8: exit 1" [ "$STATUS" = 1 ]
cw_check "... named: it went back" grep -q "went back" "$CW_TMP/w.err"
witness "$CW_TMP/other.vkey"
cw_check "another key's state: exit 2" [ "$STATUS" = 2 ]
"$COREWATCH" witness --vkey "$CW_TMP/other.vkey" --state "$CW_TMP/w2" \
    "$COLLECTOR_URL" >/dev/null 2>"$CW_TMP/w2.err"
cw_check "a checkpoint not signed by the key given: exit 1" [ $? = 1 ]
cw_check "... named" grep -q "not signed by the key" "$CW_TMP/w2.err"
cw_collector_stop
cw_check "the history is still the log's three checkpoints" \
    [ "$(history_lines)" = 3 ]

# Nobody answers: nothing kept, exit 1.
witness
cw_check "a collector that does not answer: exit 1" [ "$STATUS" = 1 ]
cw_check "... no new alarm" [ "$(alarms)" = 3 ]
cw_check "... no new history" [ "$(history_lines)" = 3 ]
"$COREWATCH" witness --vkey "$CW_TMP/vkey" --state "$STATE" \
    ftp://127.0.0.1/ >/dev/null 2>&1
cw_check "an URL that is not http(s): exit 2" [ $? = 2 ]
"$COREWATCH" witness --vkey "not-a-key" --state "$STATE" \
    http://127.0.0.1:1 >/dev/null 2>&1
cw_check "a --vkey that is no key: exit 2" [ $? = 2 ]
cw_done
