#!/bin/bash
# collector_log.sh -- the collector's log against a real collector: its
# key (keygen, never over an existing file), signed checkpoints anyone
# may read, inclusion proofs of every stored record and consistency
# proofs between checkpoints, each checked here by a verifier of the
# test's own (Python, hashlib and nacl) against the records' exact
# lines as the export gives them; a replay adds nothing; the log
# survives kill -9; a checkpoint is made on the timer while the log
# grows; bad requests are 400, writes 405; without a key, checkpoints
# are 503 and proofs still served; the command line gives the same.
# On SQLite; collector_log_pg.sh runs it on PostgreSQL.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

[ -x "$COLLECTOR" ] || cw_die "no $COLLECTOR"
command -v jq >/dev/null || cw_die "no jq"
MKBATCH="$top_builddir/tests/tools/mkbatch"
[ -x "$MKBATCH" ] || cw_die "no $MKBATCH (make check builds it)"

cw_tmpdir
cw_collector_db
DB=$COLLECTOR_DB
READ_TOKEN=0123456789abcdef-read
SEED=0505050505050505050505050505050505050505050505050505050505050505
CHAIN=0badc0de0badc0de0badc0de0badc0de
KEY=$CW_TMP/log.key

# db_sql SQL: what SQL selects from the collector's database.
db_sql()
{
	if [ "${CW_COLLECTOR_DB:-sqlite}" = postgresql ]; then
		psql "$CW_PG_URL" -Atc "$1"
	else
		sqlite3 "$CW_TMP/collector.db" "$1"
	fi
}

# fails COMMAND...: true when COMMAND fails (for cw_check).
fails()
{
	! "$@"
}

# verify WHAT ARGS...: the test's own verifier (below); true when it
# says "ok".
verify()
{
	/usr/bin/python3 "$CW_SCENARIO_DIR/log_verify.py" "$@" \
	    >"$CW_TMP/verify.out" \
	    2>&1 && grep -qx ok "$CW_TMP/verify.out"
}

# --- The key ---
"$COLLECTOR" keygen --key "$KEY" >"$CW_TMP/vkey" 2>"$CW_TMP/keygen.err"
cw_check "keygen makes a key and prints its verifier key" \
    grep -qE '^corewatch-collector/[0-9a-f]{16}\+[0-9a-f]{8}\+[A-Za-z0-9+/]{44}$' \
    "$CW_TMP/vkey"
cw_check "the key file is private (0600)" \
    [ "$(stat -c %a "$KEY")" = 600 ]
cp "$KEY" "$CW_TMP/key.before"
"$COLLECTOR" keygen --key "$KEY" >/dev/null 2>"$CW_TMP/keygen2.err"
cw_check "keygen never writes over a key (exit 1)" [ $? = 1 ]
cw_check "... and the key is unchanged" cmp -s "$KEY" "$CW_TMP/key.before"
cw_check "... and says why" grep -q "never overwritten" "$CW_TMP/keygen2.err"

# --- A collector with the key ---
printf '%s\n' "db = \"$DB\"" "read_token = \"$READ_TOKEN\"" \
    "log_key = \"$KEY\"" "checkpoint_interval = 1s" \
    >"$CW_TMP/collector.conf"
cw_collector_start "$CW_TMP/collector.log" -c "$CW_TMP/collector.conf"
cw_probe_enroll "$DB" probe-log "$("$MKBATCH" pubkey --seed "$SEED")"

cw_get /api/v1/log/key "$CW_TMP/served.vkey"
cw_check "the key is served to anyone: 200" [ "$STATUS" = 200 ]
cw_check "... the same verifier key" cmp -s "$CW_TMP/vkey" "$CW_TMP/served.vkey"
cw_get /api/v1/log/checkpoint "$CW_TMP/cp0"
cw_check "a checkpoint, no read token: 200" [ "$STATUS" = 200 ]
cw_check "the empty log's checkpoint verifies, size 0" \
    verify checkpoint "$CW_TMP/vkey" "$CW_TMP/cp0" 0

# batch N FROM COUNT: batch N of the chain, seqs FROM.., posted.
PREV=
batch()
{
	local name=b$1 args=()
	[ -n "$PREV" ] && args=(--prev "$PREV")
	PREV=$("$MKBATCH" batch --seed "$SEED" --chain "$CHAIN" --from "$2" \
	    --count "$3" "${args[@]}" --out "$CW_TMP/$name.body" \
	    --auth "$CW_TMP/$name.auth") || cw_die "mkbatch $name failed"
	cw_batch_post "$CW_TMP/$name.body" "$CW_TMP/$name.auth"
	[ "$CW_HTTP_STATUS" = 200 ] ||
	    cw_die "batch $name: $CW_HTTP_STATUS $(cat "$CW_TMP/resp")"
}

batch 1 1 5
cw_expect "the receipt names the last record's leaf and the log's size" \
    "$CW_TMP/resp" '.[0].log_index == 4 and .[0].log_size == 5'
cw_get /api/v1/log/checkpoint "$CW_TMP/cp5"
cw_check "the checkpoint of 5 records verifies" \
    verify checkpoint "$CW_TMP/vkey" "$CW_TMP/cp5" 5
batch 2 6 7
cw_batch_post "$CW_TMP/b1.body" "$CW_TMP/b1.auth"
cw_expect "a replay stores nothing, and names the same leaf" "$CW_TMP/resp" \
    '.[0].stored == 0 and .[0].log_index == 4 and .[0].log_size == 12'
batch 3 13 3
cw_get /api/v1/log/checkpoint "$CW_TMP/cp15"
cw_check "the checkpoint of 15 records verifies: the replay added none" \
    verify checkpoint "$CW_TMP/vkey" "$CW_TMP/cp15" 15

# Every record's inclusion in the checkpoint of 15, from its exact
# line as the export gives it (in the order of storing).
cw_get "/api/v1/results?format=jsonl" "$CW_TMP/records.jsonl" \
    -H "Authorization: Bearer $READ_TOKEN"
cw_check "the export: 200" [ "$STATUS" = 200 ]
mkdir -p "$CW_TMP/proofs"
for ((i = 0; i < 15; i++)); do
	cw_get "/api/v1/log/proof/inclusion?index=$i&size=15" \
	    "$CW_TMP/proofs/$i.json"
	[ "$STATUS" = 200 ] || break
done
cw_check "15 inclusion proofs served to anyone" [ "$STATUS" = 200 ]
cw_check "every record is in the checkpoint of 15, at its place" \
    verify inclusion "$CW_TMP/vkey" "$CW_TMP/cp15" \
    "$CW_TMP/records.jsonl" "$CW_TMP/proofs"
# The verifier can fail: one byte of one record changed.
sed '7s/"seq":7/"seq":8/' "$CW_TMP/records.jsonl" >"$CW_TMP/changed.jsonl"
cw_check "... and a record with one byte changed is not" \
    fails verify inclusion "$CW_TMP/vkey" "$CW_TMP/cp15" \
    "$CW_TMP/changed.jsonl" "$CW_TMP/proofs"
cw_check "... named by the verifier" grep -q "leaf 6" "$CW_TMP/verify.out"

cw_get "/api/v1/log/proof/consistency?old=5&new=15" "$CW_TMP/c5_15.json"
cw_check "a consistency proof: 200" [ "$STATUS" = 200 ]
cw_check "the log of 15 extends the log of 5" \
    verify consistency "$CW_TMP/vkey" "$CW_TMP/cp5" "$CW_TMP/cp15" \
    "$CW_TMP/c5_15.json"
cw_check "... and not a checkpoint of 15 taken as one of 5" \
    fails verify consistency "$CW_TMP/vkey" "$CW_TMP/cp15" "$CW_TMP/cp15" \
    "$CW_TMP/c5_15.json"

# --- Requests refused ---
expect_400()
{
	cw_get "$1" "$CW_TMP/bad"
	cw_check "$2: 400" [ "$STATUS" = 400 ]
}
expect_400 "/api/v1/log/proof/inclusion?index=15&size=15" "index = size"
expect_400 "/api/v1/log/proof/inclusion?index=0&size=16" \
    "a size beyond the log"
expect_400 "/api/v1/log/proof/inclusion?index=x&size=3" "index not a number"
expect_400 "/api/v1/log/proof/inclusion?index=-1&size=3" "a negative index"
expect_400 "/api/v1/log/proof/inclusion?index=1&size=99999999999999999999" \
    "a size past 2^63"
expect_400 "/api/v1/log/proof/inclusion?index=1" "no size"
expect_400 "/api/v1/log/proof/inclusion?index=1&size=3&size=4" "size twice"
expect_400 "/api/v1/log/proof/inclusion?index=1&size=3&foo=1" \
    "an unknown parameter"
expect_400 "/api/v1/log/proof/consistency?old=0&new=3" "old = 0"
expect_400 "/api/v1/log/proof/consistency?old=4&new=3" "old > new"
expect_400 "/api/v1/log/checkpoint?size=3" "a checkpoint with a parameter"
cw_expect "... a bad request" "$CW_TMP/bad" '.[0].error == "bad_request"'
# (A POST with a body is refused before it is read: 401, no signature.)
STATUS=$(curl -sS -o /dev/null -w '%{http_code}' -X POST \
    "$COLLECTOR_URL/api/v1/log/checkpoint")
cw_check "POST to the checkpoint: 405" [ "$STATUS" = 405 ]

# --- A checkpoint on the timer, kept ---
batch 4 16 2
for ((i = 0; i < 50; i++)); do
	[ "$(db_sql "SELECT count(*) FROM log_checkpoints WHERE size = 17")" = 1 ] &&
	    break
	sleep 0.1
done
cw_check "the timer made a checkpoint of 17 within 5 s" \
    [ "$(db_sql "SELECT count(*) FROM log_checkpoints WHERE size = 17")" = 1 ]

# --- kill -9, and the log goes on ---
cw_get /api/v1/log/checkpoint "$CW_TMP/cp17"
cw_collector_stop KILL
cw_collector_restart "$CW_TMP/collector2.log"
cw_get /api/v1/log/checkpoint "$CW_TMP/cp17b"
cw_check "after kill -9, the same checkpoint" cmp -s "$CW_TMP/cp17" \
    "$CW_TMP/cp17b"
batch 5 18 4
cw_get /api/v1/log/checkpoint "$CW_TMP/cp21"
cw_get "/api/v1/log/proof/consistency?old=17&new=21" "$CW_TMP/c17_21.json"
cw_check "the log after the restart extends the one before" \
    verify consistency "$CW_TMP/vkey" "$CW_TMP/cp17" "$CW_TMP/cp21" \
    "$CW_TMP/c17_21.json"

# --- The command line, on the same database ---
"$COLLECTOR" log checkpoint -c "$CW_TMP/collector.conf" >"$CW_TMP/cli.cp" \
    2>"$CW_TMP/cli.err"
cw_check "log checkpoint: the same tree as served" \
    [ "$(sed -n 2,3p "$CW_TMP/cli.cp")" = "$(sed -n 2,3p "$CW_TMP/cp21")" ]
cw_check "... signed by the key" \
    verify checkpoint "$CW_TMP/vkey" "$CW_TMP/cli.cp" 21
"$COLLECTOR" log inclusion -c "$CW_TMP/collector.conf" --index 20 \
    --size 21 >"$CW_TMP/cli.inc"
cw_get "/api/v1/log/proof/inclusion?index=20&size=21" "$CW_TMP/http.inc"
cw_check "log inclusion: the proof served" cmp -s "$CW_TMP/cli.inc" \
    "$CW_TMP/http.inc"
"$COLLECTOR" log consistency -c "$CW_TMP/collector.conf" --old 3 --new 21 \
    >/dev/null 2>&1
cw_check "log consistency: exit 0" [ $? = 0 ]
"$COLLECTOR" log inclusion -c "$CW_TMP/collector.conf" --index 21 \
    --size 21 >/dev/null 2>"$CW_TMP/cli.err"
cw_check "log inclusion out of range: exit 2" [ $? = 2 ]
"$COLLECTOR" log key -c "$CW_TMP/collector.conf" >"$CW_TMP/cli.vkey"
cw_check "log key: the verifier key" cmp -s "$CW_TMP/vkey" "$CW_TMP/cli.vkey"
cw_collector_stop

# --- Without a key ---
printf '%s\n' "db = \"$DB\"" "log_key = \"$CW_TMP/none.key\"" \
    >"$CW_TMP/nokey.conf"
cw_collector_start "$CW_TMP/nokey.log" -c "$CW_TMP/nokey.conf"
cw_check "without a key the collector says so as it starts" \
    grep -q "no log key" "$CW_TMP/nokey.log"
cw_get /api/v1/log/checkpoint "$CW_TMP/nokey.cp"
cw_check "without a key, a checkpoint is 503" [ "$STATUS" = 503 ]
cw_get "/api/v1/log/proof/inclusion?index=0&size=21" "$CW_TMP/nokey.inc"
cw_check "... and proofs are served" [ "$STATUS" = 200 ]
cw_collector_stop

# --- Backfill: a database whose records came before the log ---
# The log is emptied as migration 7 would find an older database: every
# record without a leaf.  Appended in the order stored, they give the
# tree the collector had built as they came: the same root.
if [ "${CW_COLLECTOR_DB:-sqlite}" = postgresql ]; then
	empty="'\\x'::bytea"
else
	empty="X''"
fi
db_sql "UPDATE records SET log_index = NULL; DELETE FROM log_nodes;
    DELETE FROM log_checkpoints;
    UPDATE log_state SET size = 0, frontier = $empty;" >/dev/null
"$COLLECTOR" log backfill -c "$CW_TMP/collector.conf" >"$CW_TMP/backfill" \
    2>&1
cw_check "log backfill: exit 0, naming the leaves" \
    grep -q '^21 records appended to the log, leaves 0 to 20;' \
    "$CW_TMP/backfill"
cw_check "... every record has its leaf" \
    [ "$(db_sql "SELECT count(*) FROM records WHERE log_index IS NULL")" = 0 ]
"$COLLECTOR" log checkpoint -c "$CW_TMP/collector.conf" \
    >"$CW_TMP/backfill.cp" 2>&1
cw_check "... and the log's root is the one it had" \
    [ "$(sed -n 2,3p "$CW_TMP/backfill.cp")" = "$(sed -n 2,3p "$CW_TMP/cp21")" ]
"$COLLECTOR" log backfill -c "$CW_TMP/collector.conf" >"$CW_TMP/backfill2" \
    2>&1
cw_check "a second backfill appends nothing" \
    grep -qx 'every record is in the log already' "$CW_TMP/backfill2"

# A key others can read is refused at the start.
chmod 644 "$KEY"
"$COLLECTOR" serve -c "$CW_TMP/collector.conf" --listen 127.0.0.1:1 \
    >"$CW_TMP/badkey.log" 2>&1
cw_check "a key readable by others stops the start (exit 2)" [ $? = 2 ]
cw_check "... saying why" grep -q "chmod 600" "$CW_TMP/badkey.log"
cw_done
