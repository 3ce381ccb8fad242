#!/bin/bash
# collector_http.sh -- corewatch-collector serve over HTTP on loopback,
# with batches made by tests/tools/mkbatch: enrollment (token and CLI),
# a good batch and its replay, every kind of bad input (each answered
# with a JSON error and storing nothing), a chain broken across batches
# and within one, an equivocation, a gap and the loss that explains it,
# /metrics and /healthz, a client that goes away before its answer,
# slow and idle clients cut off, the connection cap, and a clean stop on
# SIGTERM.
#
# The database is SQLite in the work directory, or the test's own
# PostgreSQL cluster with CW_COLLECTOR_DB=postgresql.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

MKBATCH="$top_builddir/tests/tools/mkbatch"
[ -x "$COLLECTOR" ] || cw_die "no $COLLECTOR"
[ -x "$MKBATCH" ] || cw_die "no $MKBATCH (make check builds it)"

cw_tmpdir
cw_collector_db
DB=$COLLECTOR_DB

SEED_A=0101010101010101010101010101010101010101010101010101010101010101
SEED_B=0202020202020202020202020202020202020202020202020202020202020202
SEED_C=0303030303030303030303030303030303030303030303030303030303030303
CHAIN=00112233445566778899aabbccddeeff
ID_A=$("$MKBATCH" id --seed "$SEED_A") || cw_die "mkbatch id failed"
# Reads (/metrics) are closed without the read token.
READ_TOKEN=0123456789abcdef-read
READ_AUTH="Authorization: Bearer $READ_TOKEN"

# db_sql SQL: run SQL on the collector's database; what it selects
# goes to stdout.
db_sql()
{
	if [ "${CW_COLLECTOR_DB:-sqlite}" = postgresql ]; then
		psql "$CW_PG_URL" -Atc "$1"
	else
		sqlite3 "$CW_TMP/collector.db" "$1"
	fi
}

# db_count TABLE [WHERE]: rows of a table of the collector's database.
db_count()
{
	db_sql "SELECT count(*) FROM $1${2:+ WHERE $2}"
}

# --- the collector ---------------------------------------------------------

# collector_start: start `serve -c $CW_TMP/collector.conf` (EXTRA_CONF
# added to the file) on a free port (cw_collector_start: COLLECTOR_URL,
# COLLECTOR_PORT, COLLECTOR_PID).
collector_start()
{
	cat >"$CW_TMP/collector.conf" <<EOF
# The collector of collector_http.sh: small limits, short timeouts.
db = "$DB"
max_body = 256k
max_headers_size = 4k
timeout = 2s
request_timeout = 4s
max_connections = 8
log_level = debug
read_token = "$READ_TOKEN"
${EXTRA_CONF:-}
EOF
	cw_collector_start "$CW_TMP/collector.log" -c "$CW_TMP/collector.conf"
}

# --- requests --------------------------------------------------------------

# request METHOD PATH [curl args...]: send a request; STATUS is the HTTP
# status (000: no answer), the body is in $CW_TMP/resp.
request()
{
	local method=$1 path=$2
	shift 2
	STATUS=$(curl -sS -o "$CW_TMP/resp" -D "$CW_TMP/headers" \
	    -w '%{http_code}' --max-time 10 -X "$method" "$@" \
	    "$COLLECTOR_URL$path" 2>"$CW_TMP/curl.err")
	[ -n "$STATUS" ] || STATUS=000
}

# post_batch BODY AUTH [curl args...]: POST a batch (ndjson).
post_batch()
{
	local body=$1 auth=$2
	shift 2
	request POST /api/v1/batches -H "Content-Type: application/x-ndjson" \
	    -H "Authorization: $(cat "$auth")" --data-binary "@$body" "$@"
}

# mkb NAME ARGS...: make batch NAME ($CW_TMP/NAME.body, .auth) with
# chain $CHAIN; HASH is its last record's hash.
mkb()
{
	local name=$1
	shift
	HASH=$("$MKBATCH" batch --chain "$CHAIN" --out "$CW_TMP/$name.body" \
	    --auth "$CW_TMP/$name.auth" "$@") || cw_die "mkbatch $name failed"
}

# status_in STATUS...: whether the last answer had one of the STATUSes.
status_in()
{
	local s
	for s; do
		[ "$STATUS" = "$s" ] && return 0
	done
	return 1
}

# expect_status DESCRIPTION STATUS: the last answer had STATUS.
expect_status()
{
	cw_check "$1: status $2" [ "$STATUS" = "$2" ] || {
		cw_log "  got $STATUS:"
		cat "$CW_TMP/resp" "$CW_TMP/curl.err" >&2
	}
}

# expect_error DESCRIPTION STATUS [DETAIL-REGEX]: the last answer was a
# JSON error with STATUS (and a detail matching the regex), and the
# records, equivocations and gaps stored did not change.
expect_error()
{
	local desc=$1 status=$2 re=${3:-}
	expect_status "$desc" "$status"
	cw_expect "$desc: a JSON error" "$CW_TMP/resp" \
	    '.[0] | (.error | type == "string") and (.detail | type == "string")'
	if [ -n "$re" ]; then
		cw_expect "$desc: detail says /$re/" "$CW_TMP/resp" \
		    ".[0].detail | test(\"$re\")"
	fi
	expect_unchanged "$desc"
}

# snapshot / expect_unchanged: what is stored, before and after: the
# counts of records, equivocations and gaps.  A count that could not be
# read (sqlite3 or psql failed: an empty or other answer) is a failure,
# not a match of two empty strings.
snapshot()
{
	STORED="$(db_count records) $(db_count equivocations) $(db_count gaps)"
}

# counts_read COUNTS...: true when each is a number.
counts_read()
{
	local c
	for c; do
		[[ $c =~ ^[0-9]+$ ]] || return 1
	done
	[ $# = 3 ]
}

expect_unchanged()
{
	local now
	now="$(db_count records) $(db_count equivocations) $(db_count gaps)"
	cw_check "$1: the counts read before ($STORED)" counts_read $STORED
	cw_check "$1: the counts read after ($now)" counts_read $now
	cw_check "$1: nothing stored ($STORED)" [ "$now" = "$STORED" ] ||
	    cw_log "  now: $now"
}

# expect_clean_exit DESCRIPTION: the process waited for last (CW_STATUS)
# exited 0.  This is also the sanitizer check: contrib/test-all.sh sends
# sanitizer reports to files, not to the log, and makes a process that
# had one exit 86 (ASAN_OPTIONS exitcode=86).
expect_clean_exit()
{
	cw_check "$1: exit 0" [ "$CW_STATUS" = 0 ] || {
		cw_log "  exit $CW_STATUS"
		[ "$CW_STATUS" = 86 ] && cw_log "  86: a sanitizer report"
	}
}

# metric NAME: its value from /metrics.
metric()
{
	curl -sS --max-time 5 -H "$READ_AUTH" "$COLLECTOR_URL/metrics" |
	    awk -v n="$1" '$1 == n { print $2 }'
}

collector_start

# --- enrollment ------------------------------------------------------------

TOKEN=$("$COLLECTOR" token create -c "$CW_TMP/collector.conf" \
    --name probe-a --ttl 1h) || cw_die "token create failed"
cw_check "a token is 43 characters" [ "${#TOKEN}" = 43 ]
PK_A=$("$MKBATCH" pubkey --seed "$SEED_A")
printf '{"token":"%s","pubkey":"%s","name":"ignored"}' "$TOKEN" "$PK_A" \
    >"$CW_TMP/enroll.json"
request POST /api/v1/enroll -H "Content-Type: application/json" \
    --data-binary "@$CW_TMP/enroll.json"
expect_status "enroll with a token" 200
cw_expect "enroll: the probe's id and number" "$CW_TMP/resp" \
    ".[0].probe == \"$ID_A\" and .[0].num == 1 and .[0].name == \"probe-a\""
request POST /api/v1/enroll -H "Content-Type: application/json" \
    --data-binary "@$CW_TMP/enroll.json"
expect_status "a token used twice" 401
request POST /api/v1/enroll -H "Content-Type: application/json" \
    --data-binary '{"token": 5}'
expect_status "enroll without a token" 400
request POST /api/v1/enroll -H "Content-Type: application/json" \
    --data-binary '{"token"'
expect_status "enroll with broken JSON" 400

out=$("$COLLECTOR" probe add --db "$DB" --name probe-b \
    --pubkey "$("$MKBATCH" pubkey --seed "$SEED_B")")
cw_check "probe add prints the id and number 2" \
    [ "$out" = "$("$MKBATCH" id --seed "$SEED_B") 2" ]
"$COLLECTOR" probe add --db "$DB" --name again --pubkey "$PK_A" 2>/dev/null
cw_check "a key enrolled twice: exit 1" [ $? = 1 ]
"$COLLECTOR" probe add --db "$DB" --name bad --pubkey xyz 2>/dev/null
cw_check "a malformed key: exit 2" [ $? = 2 ]
"$COLLECTOR" probe list --db "$DB" --json >"$CW_TMP/probes.json"
cw_expect "probe list --json: two probes" "$CW_TMP/probes.json" \
    'length == 2 and .[0].name == "probe-a" and .[1].revoked == false'
"$COLLECTOR" probe list --db "$DB" >"$CW_TMP/probes.txt"
cw_check "probe list: a table" grep -q "probe-b  *active" "$CW_TMP/probes.txt"

# --- a good batch and its replay --------------------------------------------

mkb good1 --seed "$SEED_A" --from 1 --count 5
H5=$HASH
post_batch "$CW_TMP/good1.body" "$CW_TMP/good1.auth"
expect_status "a good batch" 200
cp "$CW_TMP/resp" "$CW_TMP/receipt1"
cw_expect "the receipt" "$CW_TMP/receipt1" \
    ".[0] | .probe == \"$ID_A\" and .chain == \"$CHAIN\" and
     .acked_seq == 5 and .stored == 5 and .duplicates == 0 and
     .equivocations == 0 and .gaps == 0 and
     (.received_at | test(\"^[0-9-]{10}T[0-9:]{8}\\\\.[0-9]{6}Z$\"))"
cw_check "5 records stored" [ "$(db_count records)" = 5 ]
post_batch "$CW_TMP/good1.body" "$CW_TMP/good1.auth"
expect_status "the same batch again" 200
cw_expect "a replay: same acked_seq, all duplicates" "$CW_TMP/resp" \
    '.[0] | .acked_seq == 5 and .stored == 0 and .duplicates == 5'
cw_check "still 5 records" [ "$(db_count records)" = 5 ]

mkb good2 --seed "$SEED_A" --from 6 --count 5 --prev "$H5" --gzip
H10=$HASH
post_batch "$CW_TMP/good2.body" "$CW_TMP/good2.auth" \
    -H "Content-Encoding: gzip"
expect_status "a gzip batch continuing the chain" 200
cw_expect "its receipt" "$CW_TMP/resp" \
    '.[0] | .acked_seq == 10 and .stored == 5'

# --- bad batches: each refused, nothing stored ------------------------------

snapshot
mkb unknown --seed "$SEED_C" --from 1 --count 2
post_batch "$CW_TMP/unknown.body" "$CW_TMP/unknown.auth"
expect_error "a key never enrolled" 401 "not enrolled"

mkb b_good --seed "$SEED_B" --from 1 --count 2
post_batch "$CW_TMP/b_good.body" "$CW_TMP/b_good.auth"
expect_status "probe B before its revocation" 200
snapshot
"$COLLECTOR" probe revoke --db "$DB" 2 >/dev/null
cw_check "probe revoke: exit 0" [ $? = 0 ]
"$COLLECTOR" probe revoke --db "$DB" 99 2>/dev/null
cw_check "revoking a probe that does not exist: exit 1" [ $? = 1 ]
mkb b_more --seed "$SEED_B" --from 3 --count 2 --prev "$HASH"
post_batch "$CW_TMP/b_more.body" "$CW_TMP/b_more.auth"
expect_error "a revoked probe" 403 "revoked"

mkb badsig --seed "$SEED_A" --from 11 --count 2 --prev "$H10" --tamper sig
post_batch "$CW_TMP/badsig.body" "$CW_TMP/badsig.auth"
expect_error "a bad signature" 401 "signature"
request POST /api/v1/batches -H "Content-Type: application/x-ndjson" \
    --data-binary "@$CW_TMP/good1.body"
expect_error "no Authorization" 401 "Authorization"
request POST /api/v1/batches -H "Content-Type: application/x-ndjson" \
    -H "Authorization: CW1-Ed25519 probe=$ID_A,sig=short" \
    --data-binary "@$CW_TMP/good1.body"
expect_error "a malformed Authorization" 401 "sig="

mkb badjson --seed "$SEED_A" --from 11 --count 3 --prev "$H10" \
    --tamper json --line 2
post_batch "$CW_TMP/badjson.body" "$CW_TMP/badjson.auth"
expect_error "a line that is not JSON" 400 "^line 2: "

mkb types --seed "$SEED_A" --from 11 --count 3 --prev "$H10" \
    --tamper types --line 3
post_batch "$CW_TMP/types.body" "$CW_TMP/types.auth"
expect_error "seq as a string" 400 "^line 3: .*seq"
mkb rtt --seed "$SEED_A" --from 11 --count 2 --prev "$H10" --tamper rtt
post_batch "$CW_TMP/rtt.body" "$CW_TMP/rtt.auth"
expect_error "rtt_ms as a string" 400 "^line 1: .*rtt_ms"
mkb other --seed "$SEED_A" --from 11 --count 2 --prev "$H10" --tamper probe
post_batch "$CW_TMP/other.body" "$CW_TMP/other.auth"
expect_error "records of another probe" 400 "line 1"
mkb nonl --seed "$SEED_A" --from 11 --count 2 --prev "$H10" \
    --tamper nonewline
post_batch "$CW_TMP/nonl.body" "$CW_TMP/nonl.auth"
expect_error "no newline after the last line" 400 "line 2 .*newline"

mkb big --seed "$SEED_A" --from 11 --count 2 --prev "$H10" --tamper big
post_batch "$CW_TMP/big.body" "$CW_TMP/big.auth"
expect_error "a record over 64 KiB" 413 "line 1: .*65536"

mkb huge --seed "$SEED_A" --from 11 --count 1000 --prev "$H10"
post_batch "$CW_TMP/huge.body" "$CW_TMP/huge.auth"
expect_status "a body over max_body" 413
expect_unchanged "a body over max_body"
# A batch is framed by its Content-Length: a chunked body is refused
# before it is read.
post_batch "$CW_TMP/huge.body" "$CW_TMP/huge.auth" \
    -H "Transfer-Encoding: chunked"
expect_error "a chunked body" 411 "Content-Length"

head -c 3000 /dev/urandom >"$CW_TMP/notgzip.body"
post_batch "$CW_TMP/notgzip.body" "$CW_TMP/good1.auth" \
    -H "Content-Encoding: gzip"
expect_error "gzip that does not inflate" 400 "inflate"
head -c 2000000 /dev/zero | gzip -9 >"$CW_TMP/bomb.body"
post_batch "$CW_TMP/bomb.body" "$CW_TMP/good1.auth" \
    -H "Content-Encoding: gzip"
expect_error "gzip inflating past max_body" 413 "inflates past"
post_batch "$CW_TMP/good1.body" "$CW_TMP/good1.auth" \
    -H "Content-Encoding: br"
expect_error "an unknown content encoding" 415
request POST /api/v1/batches -H "Content-Type: application/json" \
    -H "Authorization: $(cat "$CW_TMP/good1.auth")" \
    --data-binary "@$CW_TMP/good1.body"
expect_error "the wrong content type" 415 "x-ndjson"
: >"$CW_TMP/empty.body"
"$MKBATCH" sign --seed "$SEED_A" --out "$CW_TMP/empty.body" \
    --auth "$CW_TMP/empty.auth" || cw_die "mkbatch sign failed"
post_batch "$CW_TMP/empty.body" "$CW_TMP/empty.auth"
expect_error "an empty body, signed" 400 "empty"
post_batch "$CW_TMP/empty.body" "$CW_TMP/good1.auth"
expect_error "an empty body, not signed" 401 "signature"
# GET reads the kept batch signatures (evidence.sh): the read token's.
request GET /api/v1/batches
expect_error "GET on the batches without the read token" 401 "read token"
request PUT /api/v1/batches --data-binary "@$CW_TMP/good1.body"
expect_error "PUT on the batches" 405

long=$(head -c 6000 /dev/zero | tr '\0' x)
post_batch "$CW_TMP/good1.body" "$CW_TMP/good1.auth" -H "X-Long: $long"
cw_check "too large headers: 400, 413 or 431 ($STATUS)" \
    status_in 400 413 431
expect_unchanged "too large headers"
many=()
for ((i = 0; i < 120; i++)); do
	many+=(-H "X-H$i: 1")
done
post_batch "$CW_TMP/good1.body" "$CW_TMP/good1.auth" "${many[@]}"
expect_error "too many headers" 431 "header lines"

# --- the chain across batches -------------------------------------------------

mkb broken --seed "$SEED_A" --from 11 --count 2 --prev "$H10" --tamper prev
post_batch "$CW_TMP/broken.body" "$CW_TMP/broken.auth"
expect_error "a prev that does not match the stored chain" 409

mkb first2 --seed "$SEED_A" --from 1 --count 2
mkb fork --seed "$SEED_A" --from 3 --count 3 --prev "$HASH" --variant 1
post_batch "$CW_TMP/fork.body" "$CW_TMP/fork.auth"
expect_status "other records for seqs 3 to 5" 200
cw_expect "an equivocation is flagged, nothing overwritten" "$CW_TMP/resp" \
    '.[0] | .equivocations == 3 and .stored == 0 and .acked_seq == 5'
cw_check "3 equivocations kept apart" [ "$(db_count equivocations)" = 3 ]
post_batch "$CW_TMP/fork.body" "$CW_TMP/fork.auth"
expect_status "the same other records again" 200
cw_expect "an equivocation sent again is a duplicate, not a new one" \
    "$CW_TMP/resp" '.[0] | .equivocations == 0 and .duplicates == 3'
cw_check "still 3 equivocations" [ "$(db_count equivocations)" = 3 ]
cw_check "the first records stay" [ "$(db_count records)" = 12 ]

mkb late --seed "$SEED_A" --from 20 --count 2 --prev "$H10"
H21=$HASH
post_batch "$CW_TMP/late.body" "$CW_TMP/late.auth"
expect_status "a batch that skips seqs 11 to 19" 200
cw_expect "a gap in the receipt" "$CW_TMP/resp" \
    '.[0] | .gaps >= 1 and .stored == 2 and .acked_seq == 21'
cw_check "the gap recorded" \
    [ "$(db_count gaps "first_seq = 11 AND last_seq = 19")" = 1 ]
mkb loss --seed "$SEED_A" --from 22 --count 1 --prev "$H21" --loss 11:19
post_batch "$CW_TMP/loss.body" "$CW_TMP/loss.auth"
expect_status "a loss record for seqs 11 to 19" 200
cw_check "the gap is explained" \
    [ "$(db_count gaps "first_seq = 11 AND explained = 1")" = 1 ]
cw_expect "an explained gap is no longer open" "$CW_TMP/resp" \
    '.[0].gaps == 0'

# --- numbers out of their documented range (doc/results.md) ------------------

# Each refused with 400 naming the line and the key, nothing stored; a
# batch at the ends of the ranges goes through.
H22=$HASH
snapshot
while read -r key set; do
	mkb range --seed "$SEED_A" --from 23 --count 3 --prev "$H22" \
	    --line 2 --set "$set"
	post_batch "$CW_TMP/range.body" "$CW_TMP/range.auth"
	expect_error "$set" 400 "^line 2: .$key. is "
done <<'EOF'
rtt_ms {"rtt_ms":1e308}
rtt_ms {"rtt_ms":1e200}
rtt_ms {"rtt_ms":-1}
total_ms {"total_ms":-0.5}
connect_ms {"connect_ms":86400001}
port {"port":0}
port {"port":65536}
af {"af":5}
soa_serial {"soa_serial":4294967296}
soa_serial {"soa_serial":-1}
size {"size":-1}
attempts {"attempts":-1}
status {"status":1000}
body_bytes {"body_bytes":-1}
counts.an {"counts":{"qd":1,"an":70000,"ns":0,"ar":0}}
query.id {"query":{"qname":".","qtype":"SOA","id":9223372036854775807}}
EOF
chain=$CHAIN
CHAIN=ffeeddccbbaa99887766554433221100
EDGES=$CHAIN
mkb edges --seed "$SEED_A" --from 1 --count 2 --line 2 \
    --set '{"rtt_ms":86400000,"port":65535,"soa_serial":4294967295,"size":0}'
CHAIN=$chain
HASH=$H22
post_batch "$CW_TMP/edges.body" "$CW_TMP/edges.auth"
expect_status "numbers at the ends of their ranges" 200
cw_check "the ends stored as sent" [ "$(db_count records \
    "rtt_ms = 86400000 AND port = 65535 AND soa_serial = 4294967295")" = 1 ]
# A record stored before these checks with an RTT of 1e308 made every
# later CSV export crash: now the export writes it whole.
db_sql "UPDATE records SET rtt_ms = 1e308 WHERE chain = '$EDGES' AND seq = 2"
"$COLLECTOR" export --db "$DB" --format csv >"$CW_TMP/wild.csv"
cw_check "an RTT of 1e308 stored: corewatch-collector export exits 0" \
    [ $? = 0 ]
cw_check "an RTT of 1e308 stored: its CSV field is the whole number" [ \
    "$(awk -F, -v c="$EDGES" '$3 == c && $4 == 2 { print $19 }' \
    "$CW_TMP/wild.csv")" = "$(awk 'BEGIN { printf "%.3f", 1e308 }')" ]

# --- the chain within a batch ------------------------------------------------

# The collector checks each line's prev against the line before it and
# seq 1's prev against zeros (a unit test covers the store; here over
# HTTP): 400, nothing stored, and the batch made right goes through.
chain=$CHAIN
CHAIN=a1a2a3a4a5a6a7a8a9aaabacadaeaf00
ONES=1111111111111111111111111111111111111111111111111111111111111111
mkb in1 --seed "$SEED_A" --from 1 --count 2
IN2=$HASH
post_batch "$CW_TMP/in1.body" "$CW_TMP/in1.auth"
expect_status "a new chain: seqs 1 and 2" 200
snapshot
mkb inbad --seed "$SEED_A" --from 3 --count 3 --prev "$IN2" --line 2 \
    --set "{\"prev\":\"$ONES\"}"
cw_check "the bad batch's line 2 has the wrong prev" \
    [ "$(sed -n 2p "$CW_TMP/inbad.body" | jq -r .prev)" = "$ONES" ]
post_batch "$CW_TMP/inbad.body" "$CW_TMP/inbad.auth"
expect_error "line 2's prev not the hash of line 1" 400 \
    "^line 2: prev is not the hash of line 1"
cw_check "no record of seqs 3 to 5 stored" \
    [ "$(db_count records "chain = '$CHAIN' AND seq >= 3")" = 0 ]
mkb ingood --seed "$SEED_A" --from 3 --count 3 --prev "$IN2"
post_batch "$CW_TMP/ingood.body" "$CW_TMP/ingood.auth"
expect_status "the same seqs chained right" 200
cw_expect "all three stored" "$CW_TMP/resp" \
    '.[0] | .stored == 3 and .acked_seq == 5 and .equivocations == 0'
CHAIN=a1a2a3a4a5a6a7a8a9aaabacadaeaf01
snapshot
mkb seq1 --seed "$SEED_A" --from 1 --count 2 --prev "$ONES"
cw_check "the bad batch's seq 1 has a prev other than zeros" \
    [ "$(head -n 1 "$CW_TMP/seq1.body" | jq -c '[.seq, .prev]')" = \
    "[1,\"$ONES\"]" ]
post_batch "$CW_TMP/seq1.body" "$CW_TMP/seq1.auth"
expect_error "seq 1 with a prev other than zeros" 400 \
    "^line 1: seq 1 with a .prev. that is not all zeros"
cw_check "nothing of that chain stored" \
    [ "$(db_count records "chain = '$CHAIN'")" = 0 ]
mkb seq1good --seed "$SEED_A" --from 1 --count 2
post_batch "$CW_TMP/seq1good.body" "$CW_TMP/seq1good.auth"
expect_status "seq 1 with a prev of zeros" 200
cw_expect "both stored" "$CW_TMP/resp" '.[0] | .stored == 2 and .acked_seq == 2'
CHAIN=$chain
HASH=$H22

# --- the database unavailable: 503 with Retry-After, never a 200 ------------

mkb during --seed "$SEED_A" --from 23 --count 2 --prev "$HASH"
H24=$HASH
snapshot
if [ "${CW_COLLECTOR_DB:-sqlite}" = postgresql ]; then
	cw_pg_stop
	post_batch "$CW_TMP/during.body" "$CW_TMP/during.auth"
	expect_status "PostgreSQL stopped: a batch" 503
	cw_check "with Retry-After" grep -qi '^Retry-After: 5' "$CW_TMP/headers"
	request GET /healthz
	expect_status "PostgreSQL stopped: /healthz" 503
	cw_pg_start
else
	# Another process holds the write lock longer than the collector's
	# busy timeout (5 s).
	printf 'BEGIN EXCLUSIVE;\n.shell sleep 8\nCOMMIT;\n' |
	    sqlite3 "$CW_TMP/collector.db" >/dev/null &
	LOCK_PID=$!
	cw_track "$LOCK_PID"
	sleep 0.5
	post_batch "$CW_TMP/during.body" "$CW_TMP/during.auth"
	expect_status "the database locked: a batch" 503
	cw_check "with Retry-After" grep -qi '^Retry-After: 5' "$CW_TMP/headers"
	cw_expect "a JSON error" "$CW_TMP/resp" '.[0].error == "unavailable"'
	cw_wait "$LOCK_PID" 15
fi
expect_unchanged "the database unavailable"
request GET /healthz
if [ "${CW_COLLECTOR_DB:-sqlite}" = postgresql ]; then
	# The probe could not even be looked up: nothing was written.
	expect_status "the database back: /healthz" 200
else
	# The lock made a write fail: reported until a write works.
	expect_status "the database back, no write since: /healthz" 503
	cw_expect "/healthz: the write that failed, and when" "$CW_TMP/resp" \
	    '.[0] | .error == "write_failed" and
	     (.last_write_failure | test("^[0-9-]{10}T"))'
fi
post_batch "$CW_TMP/during.body" "$CW_TMP/during.auth"
expect_status "the database back: the batch" 200
cw_expect "stored now, and no gap open" "$CW_TMP/resp" \
    '.[0].stored == 2 and .[0].gaps == 0'
request GET /healthz
expect_status "a write worked: /healthz" 200

# --- a client gone before its answer ----------------------------------------------

mkb gone --seed "$SEED_A" --from 25 --count 3 --prev "$H24"
/usr/bin/python3 - "$COLLECTOR_PORT" "$CW_TMP/gone.body" \
    "$CW_TMP/gone.auth" <<'EOF'
import socket, sys
port, body, auth = int(sys.argv[1]), open(sys.argv[2], "rb").read(), \
    open(sys.argv[3]).read()
head = ("POST /api/v1/batches HTTP/1.1\r\nHost: t\r\n"
        "Content-Type: application/x-ndjson\r\nAuthorization: %s\r\n"
        "Content-Length: %d\r\n\r\n" % (auth, len(body))).encode()
for _ in range(5):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(head + body)
    s.close()
EOF
for ((i = 0; i < 50; i++)); do
	[ "$(db_count records "seq >= 25")" = 3 ] && break
	sleep 0.1
done
cw_check "a batch whose client left is stored all the same" \
    [ "$(db_count records "seq >= 25")" = 3 ]
request GET /healthz
expect_status "healthy after clients left" 200

# --- health and metrics ----------------------------------------------------

request GET /healthz
expect_status "/healthz" 200
cw_expect "/healthz names the backend" "$CW_TMP/resp" \
    '.[0].status == "ok" and (.[0].db == "sqlite" or .[0].db == "postgresql")'
request GET /metrics -H "$READ_AUTH"
expect_status "/metrics" 200
m=$CW_TMP/resp
cw_check "metrics: batches accepted" \
    grep -q '^corewatch_batches_accepted_total [1-9]' "$m"
cw_check "metrics: records stored" \
    grep -q '^corewatch_records_stored_total [1-9]' "$m"
cw_check "metrics: duplicates" \
    grep -q '^corewatch_records_duplicate_total [1-9]' "$m"
cw_check "metrics: equivocations" \
    grep -q '^corewatch_records_equivocation_total 3$' "$m"
cw_check "metrics: the one gap opened, counted once" \
    grep -q '^corewatch_gaps_total 1$' "$m"
cw_check "metrics: bad signatures" grep -q \
    '^corewatch_batches_rejected_total{reason="signature"} 2$' "$m"
cw_check "metrics: chain" grep -q \
    '^corewatch_batches_rejected_total{reason="chain"} 1$' "$m"
cw_check "metrics: latency histogram" grep -q \
    '^corewatch_ingest_latency_seconds_bucket{le="+Inf"} [1-9]' "$m"
cw_check "metrics: database size" \
    grep -q '^corewatch_db_size_bytes [1-9]' "$m"
cw_check "metrics: connections" grep -q '^corewatch_connections [1-9]' "$m"
cw_check "metrics: TYPE lines" \
    grep -q '^# TYPE corewatch_ingest_latency_seconds histogram$' "$m"

# --- slow clients, the connection cap -----------------------------------------

/usr/bin/python3 - "$COLLECTOR_PORT" "$CW_SCENARIO_DIR/../tools" \
    >"$CW_TMP/slow.out" 2>&1 <<'EOF'
import socket, sys, time
port = int(sys.argv[1])
sys.path.insert(0, sys.argv[2])
from sockwait import closed_within

# Idle: half a request head, then nothing (timeout = 2s).
s = socket.create_connection(("127.0.0.1", port), timeout=5)
s.sendall(b"POST /api/v1/batches HTTP/1.1\r\nHost: t\r\n")
t = closed_within(s, 8)
print("idle", t)
# Trickling: a header byte every 0.5 s never idles 2 s, but the request
# deadline (4 s) ends it.
s = socket.create_connection(("127.0.0.1", port), timeout=5)
s.sendall(b"POST /api/v1/batches HTTP/1.1\r\nHost: t\r\nX-Slow: ")
t = closed_within(s, 12, trickle=b"a")
print("trickle", t)
EOF
cat "$CW_TMP/slow.out" >&2
cw_check "an idle client is cut off after the timeout" \
    awk '$1 == "idle" && $2 != "None" && $2 >= 1.5 && $2 < 5 { ok = 1 }
    END { exit !ok }' "$CW_TMP/slow.out"
cw_check "a trickling client is cut off by the request deadline" \
    awk '$1 == "trickle" && $2 != "None" && $2 >= 3.5 && $2 < 8 { ok = 1 }
    END { exit !ok }' "$CW_TMP/slow.out"

/usr/bin/python3 - "$COLLECTOR_PORT" "$(cat "$CW_TMP/good1.auth")" \
    >"$CW_TMP/cap.out" 2>&1 <<'EOF'
import socket, sys, time
port, auth = int(sys.argv[1]), sys.argv[2]
def held_open(s):
    s.settimeout(0.5)
    try:
        return s.recv(100) != b""
    except socket.timeout:
        return True
# Eight idle connections fill the cap; the ninth is served at once and
# the oldest idle one is dropped for it.
held = [socket.create_connection(("127.0.0.1", port)) for _ in range(8)]
time.sleep(0.3)
s = socket.create_connection(("127.0.0.1", port), timeout=5)
s.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
s.settimeout(3)
try:
    print("idle-cap", s.recv(100).split(b"\r\n")[0].decode())
except socket.timeout:
    print("idle-cap", "waiting")
print("oldest", "open" if held_open(held[0]) else "dropped")
print("newest", "open" if held_open(held[-1]) else "dropped")
for h in held:
    h.close()
time.sleep(0.5)
# Eight connections each sending a signed batch's body are not dropped:
# the ninth waits in the kernel's queue ...
head = ("POST /api/v1/batches HTTP/1.1\r\nHost: t\r\n"
        "Content-Type: application/x-ndjson\r\nAuthorization: %s\r\n"
        "Content-Length: 100000\r\n\r\n" % auth).encode()
held = []
for _ in range(8):
    h = socket.create_connection(("127.0.0.1", port))
    h.sendall(head + b"x" * 1000)
    held.append(h)
time.sleep(0.3)
s = socket.create_connection(("127.0.0.1", port), timeout=5)
s.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
s.settimeout(0.8)
try:
    print("at-cap", "answered" if s.recv(100) else "closed")
except socket.timeout:
    print("at-cap", "waiting")
# ... until one of the eight goes.
held.pop().close()
s.settimeout(3)
try:
    print("below-cap", s.recv(100).split(b"\r\n")[0].decode())
except socket.timeout:
    print("below-cap", "waiting")
for h in held:
    h.close()
EOF
cat "$CW_TMP/cap.out" >&2
cw_check "at the cap, an idle connection makes way for a new client" \
    grep -q '^idle-cap HTTP/1.1 200' "$CW_TMP/cap.out"
cw_check "the oldest idle connection is the one dropped" \
    grep -q '^oldest dropped$' "$CW_TMP/cap.out"
cw_check "the newest idle connection stays" \
    grep -q '^newest open$' "$CW_TMP/cap.out"
cw_check "at the cap of connections sending bodies a new client waits" \
    grep -q '^at-cap waiting$' "$CW_TMP/cap.out"
cw_check "and is served once a connection closes" \
    grep -q '^below-cap HTTP/1.1 200' "$CW_TMP/cap.out"
for ((i = 0; i < 30; i++)); do
	[ "$(metric corewatch_connections)" = 1 ] && break
	sleep 0.1
done
cw_check "connections counted down again" \
    [ "$(metric corewatch_connections)" = 1 ]
cw_check "the cap was reached once or more" \
    [ "$(metric corewatch_connection_cap_reached_total)" -ge 1 ]

# --- configuration and stopping ----------------------------------------------

printf 'max_body = 12X\ntimeout = 30s\ntimeout = 1s\nbogus = 1\n' \
    >"$CW_TMP/bad.conf"
"$COLLECTOR" serve -c "$CW_TMP/bad.conf" 2>"$CW_TMP/bad.err"
cw_check "a bad configuration: exit 2" [ $? = 2 ]
cw_check "with the file and line" grep -q "bad.conf:4:" "$CW_TMP/bad.err"
# A relative sqlite: file is relative to the configuration file's
# directory, whatever the working directory (/ under systemd).
mkdir -p "$CW_TMP/etc/data" "$CW_TMP/elsewhere/data"
printf 'db = "sqlite:data/rel.db"\n' >"$CW_TMP/etc/rel.conf"
(cd "$CW_TMP/elsewhere" && "$COLLECTOR" probe list -c ../etc/rel.conf) \
    >"$CW_TMP/rel.out" 2>&1
cw_check "relative db: opened" [ $? = 0 ]
cw_check "relative db: next to the configuration file" \
    [ -s "$CW_TMP/etc/data/rel.db" ]
cw_check "relative db: not in the working directory" \
    [ ! -e "$CW_TMP/elsewhere/data/rel.db" ]
# The shipped example starts (on a free port and a database of ours) and
# stops cleanly.
sed "s|sqlite:/var/lib/corewatch-collector/collector.db|sqlite:$CW_TMP/ex.db|;
    s|127.0.0.1:8080|127.0.0.1:0|" \
    "$top_srcdir/contrib/corewatch-collector.conf" >"$CW_TMP/example.conf"
cw_spawn "$CW_TMP/example.log" "$COLLECTOR" serve -c "$CW_TMP/example.conf"
EXAMPLE_PID=$CW_SPAWNED
for ((i = 0; i < 50; i++)); do
	grep -q "serving" "$CW_TMP/example.log" && break
	sleep 0.1
done
cw_check "contrib/corewatch-collector.conf: the collector serves with it" \
    grep -q "serving" "$CW_TMP/example.log"
kill -TERM "$EXAMPLE_PID"
cw_wait "$EXAMPLE_PID" 10
expect_clean_exit "contrib/corewatch-collector.conf: a clean stop"

cw_check "no client address in the log" \
    [ "$(grep -c '127\.0\.0\.1' "$CW_TMP/collector.log")" = 1 ]
cw_collector_stop
expect_clean_exit "SIGTERM: a clean stop"
cw_check "SIGTERM: logged" grep -q "stopped" "$CW_TMP/collector.log"

# The read token: /metrics wants it, batches and /healthz do not.
collector_start
request GET /metrics
expect_status "/metrics without the read token" 401
request GET /metrics -H "Authorization: Bearer 0123456789abcdef-wrong"
expect_status "/metrics with a wrong token" 401
request GET /metrics -H "Authorization: Bearer 0123456789abcdef-read"
expect_status "/metrics with the read token" 200
request GET /healthz
expect_status "/healthz needs no token" 200
post_batch "$CW_TMP/good1.body" "$CW_TMP/good1.auth"
expect_status "batches need no read token" 200
cw_collector_stop
expect_clean_exit "SIGTERM again: a clean stop"

if [ "$CW_FAILURES" != 0 ]; then
	cw_log "collector log:"
	tail -n 60 "$CW_TMP/collector.log" >&2
fi
cw_done
