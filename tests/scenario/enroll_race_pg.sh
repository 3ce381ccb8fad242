#!/bin/bash
# enroll_race_pg.sh -- one-time enrollment tokens redeemed through two
# collectors sharing one PostgreSQL database (the test's own throwaway
# cluster on a unix socket), as behind a load balancer: each token is
# sent to both collectors at the same moment, with a different key to
# each.  Every token must enroll exactly one key: one 200 and one 401
# per token, one probe per token in the database, and each token's row
# naming the probe that won.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

MKBATCH="$top_builddir/tests/tools/mkbatch"
[ -x "$COLLECTOR" ] || cw_die "no $COLLECTOR"
[ -x "$MKBATCH" ] || cw_die "no $MKBATCH (make check builds it)"
NTOKENS=40

cw_tmpdir
cw_pg_start
DB=$CW_PG_URL

# Two collectors on the one database (the first creates the schema).
cw_collector_start "$CW_TMP/a.log" --db "$DB"
URL_A=$COLLECTOR_URL PID_A=$COLLECTOR_PID
cw_collector_start "$CW_TMP/b.log" --db "$DB"
URL_B=$COLLECTOR_URL PID_B=$COLLECTOR_PID

# tokens: "TOKEN KEY-FOR-A KEY-FOR-B" per line.
: >"$CW_TMP/tokens"
for ((i = 1; i <= NTOKENS; i++)); do
	token=$("$COLLECTOR" token create --db "$DB" --name "race-$i" \
	    --ttl 1h) || cw_die "token create failed"
	ka=$("$MKBATCH" pubkey --seed "$(printf '%064x' $((2 * i)))") ||
	    cw_die "mkbatch pubkey failed"
	kb=$("$MKBATCH" pubkey --seed "$(printf '%064x' $((2 * i + 1)))") ||
	    cw_die "mkbatch pubkey failed"
	printf '%s %s %s\n' "$token" "$ka" "$kb" >>"$CW_TMP/tokens"
done

# Both requests of a token leave together (a barrier of two threads),
# one token after the other; each line of the output: token number,
# the status from A, the status from B.
/usr/bin/python3 - "$URL_A" "$URL_B" "$CW_TMP/tokens" \
    >"$CW_TMP/race.out" 2>"$CW_TMP/race.err" <<'EOF' ||
import json, sys, threading, urllib.request, urllib.error
url_a, url_b, path = sys.argv[1:4]

def enroll(url, token, key, out, i, barrier):
    body = json.dumps({"token": token, "pubkey": key}).encode()
    req = urllib.request.Request(url + "/api/v1/enroll", data=body,
        headers={"Content-Type": "application/json"})
    barrier.wait(timeout=10)
    try:
        with urllib.request.urlopen(req, timeout=15) as r:
            out[i] = r.status
    except urllib.error.HTTPError as e:
        out[i] = e.code

for n, line in enumerate(open(path), 1):
    token, ka, kb = line.split()
    out = [0, 0]
    barrier = threading.Barrier(2)
    ts = [threading.Thread(target=enroll, args=(u, token, k, out, i,
          barrier)) for i, (u, k) in enumerate(((url_a, ka), (url_b, kb)))]
    for t in ts:
        t.start()
    for t in ts:
        t.join(timeout=30)
    print(n, out[0], out[1])
EOF
    { cat "$CW_TMP/race.err" >&2; cw_die "the racing client failed"; }

cw_check "every token answered twice" \
    [ "$(awk 'NF == 3' "$CW_TMP/race.out" | wc -l)" = "$NTOKENS" ]
one=$(awk '($2 == 200) + ($3 == 200) == 1 &&
    ($2 == 401 || $3 == 401)' "$CW_TMP/race.out" | wc -l)
cw_check "each token enrolled through one collector and refused by the other ($one of $NTOKENS)" \
    [ "$one" = "$NTOKENS" ] ||
    awk '($2 == 200) + ($3 == 200) != 1' "$CW_TMP/race.out" >&2
# Both collectors won some: the race was run, not one side first.
cw_check "both collectors enrolled some" \
    awk '$2 == 200 { a++ } $3 == 200 { b++ } END { exit !(a && b) }' \
    "$CW_TMP/race.out"
probes=$(psql "$DB" -Atc "SELECT count(*) FROM probes")
cw_check "one probe per token ($probes for $NTOKENS)" \
    [ "$probes" = "$NTOKENS" ]
twice=$(psql "$DB" -Atc "SELECT count(*) FROM (SELECT name FROM probes
    GROUP BY name HAVING count(*) > 1) t")
cw_check "no token's name enrolled twice" [ "$twice" = 0 ]
named=$(psql "$DB" -Atc "SELECT count(*) FROM tokens t JOIN probes p ON
    p.id = t.probe AND p.name = t.name WHERE t.used_at IS NOT NULL")
cw_check "each token names the probe it enrolled" [ "$named" = "$NTOKENS" ]

for pid in "$PID_A" "$PID_B"; do
	kill -TERM "$pid"
	cw_wait "$pid" 10
	cw_check "collector $pid: a clean stop" [ "$CW_STATUS" = 0 ]
done
cw_done
