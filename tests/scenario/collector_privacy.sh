#!/bin/bash
# collector_privacy.sh -- what the collector gives to whom, and what it
# leaves on disk.  A probe's first batch declares where its volunteer is
# (a heartbeat with country, ASN and a location).  Without a read token
# configured and without public_read, every read endpoint is closed;
# with public_read, an anonymous reader gets the measurements but never
# the heartbeats (which carry the location) nor the probe's name,
# declared identity or times of sight; the read token gets everything.
# The first batch's records, the heartbeat included, are tagged with the
# country it declares (an export filtered by country has them all).
# /healthz tells an anonymous caller only ok or not, with a generic
# reason: with PostgreSQL stopped, the socket path goes only to the
# token.  The SQLite database and its -wal and -shm files are created
# 0600 under the usual umask, and the default database is the one the
# README, the man page and contrib/ name.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

MKBATCH="$top_builddir/tests/tools/mkbatch"
[ -x "$COLLECTOR" ] || cw_die "no $COLLECTOR"
[ -x "$MKBATCH" ] || cw_die "no $MKBATCH (make check builds it)"

cw_tmpdir
umask 022	# the usual one: the collector must not rely on a stricter
SEED=0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b
CHAIN=aabbccddeeff00112233445566778899
PROBE=$("$MKBATCH" id --seed "$SEED") || cw_die "mkbatch id failed"
PUBKEY=$("$MKBATCH" pubkey --seed "$SEED") || cw_die "mkbatch pubkey failed"
LOCATION="Kyiv, Obolon district"
READ_TOKEN=0123456789abcdef-read
READ_AUTH="Authorization: Bearer $READ_TOKEN"
mkdir -p "$CW_TMP/db" || cw_die "mkdir failed"
DBFILE=$CW_TMP/db/collector.db
DB=sqlite:$DBFILE

# The chain: a first batch of a measurement, the heartbeat that
# declares the probe's identity, another measurement; then a second
# batch of one measurement.
/usr/bin/python3 - "$PROBE" "$CHAIN" "$LOCATION" >"$CW_TMP/body" <<'EOF' ||
import hashlib, sys
probe, chain, location = sys.argv[1:4]
dns = ('"type":"dns","time":"2026-11-26T10:0%d:00Z","name":"root-soa",'
       '"server":"k.root-servers.net","addr":"193.0.14.129","port":53,'
       '"af":4,"proto":"udp","query":{"qname":".","qtype":"SOA"},'
       '"ok":true,"failure":null,"rtt_ms":12.5,"rcode":"NOERROR"')
hb = ('"type":"heartbeat","time":"2026-11-26T10:01:30Z","identity":'
      '{"name":"obolon","country":"UA","asn":15895,"location":"%s"},'
      '"queue":0' % location)
bodies = [dns % 1, hb, dns % 2, dns % 3]
prev = "0" * 64
for seq, b in enumerate(bodies, 1):
    line = '{"probe":"%s","chain":"%s","seq":%d,"prev":"%s",%s}' % (
        probe, chain, seq, prev, b)
    prev = hashlib.sha256(line.encode()).hexdigest()
    print(line)
EOF
    cw_die "cannot build the chain"
head -n 3 "$CW_TMP/body" >"$CW_TMP/body1"
tail -n 1 "$CW_TMP/body" >"$CW_TMP/body2"
for b in body1 body2; do
	"$MKBATCH" sign --seed "$SEED" --out "$CW_TMP/$b" \
	    --auth "$CW_TMP/$b.auth" || cw_die "mkbatch sign failed"
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

# mode FILE: its permission bits in octal.
mode()
{
	stat -c %a "$1"
}

# serve CONF-LINES...: (re)start the collector with these options.
serve()
{
	printf '%s\n' "db = \"$DB\"" "log_level = debug" "$@" \
	    >"$CW_TMP/collector.conf"
	cw_collector_start "$CW_TMP/collector.log" -c "$CW_TMP/collector.conf"
}

# --- the database on disk ------------------------------------------------------

cw_probe_enroll "$DB" kyiv-obolon "$PUBKEY"
cw_check "the database is created 0600 ($(mode "$DBFILE"))" \
    [ "$(mode "$DBFILE")" = 600 ]

# --- no read token, no public_read: reads are closed --------------------------

serve
for b in body1 body2; do
	cw_batch_post "$CW_TMP/$b" "$CW_TMP/$b.auth"
	cw_check "batch $b stored" [ "$CW_HTTP_STATUS" = 200 ] ||
	    cw_die "batch $b: $CW_HTTP_STATUS $(cat "$CW_TMP/resp")"
done
for f in "$DBFILE" "$DBFILE-wal" "$DBFILE-shm"; do
	cw_check "${f##*/}: 0600 ($(mode "$f"))" [ "$(mode "$f")" = 600 ]
done
for path in /api/v1/results /api/v1/summary /api/v1/probes \
    /api/v1/batches /metrics; do
	get "$path" "$CW_TMP/closed"
	cw_check "no read token configured: $path is closed ($STATUS)" \
	    [ "$STATUS" = 401 ]
	get "$path" "$CW_TMP/closed" -H "$READ_AUTH"
	cw_check "no read token configured: $path with a token ($STATUS)" \
	    [ "$STATUS" = 401 ]
done
get /healthz "$CW_TMP/health"
cw_check "/healthz stays open" [ "$STATUS" = 200 ]
cw_collector_stop
cw_check "closed reads: the collector stops cleanly ($CW_STATUS)" \
    [ "$CW_STATUS" = 0 ]

# --- public_read: measurements for anyone, the volunteer for the token ------

serve "public_read = true" "read_token = \"$READ_TOKEN\""
get "/api/v1/results" "$CW_TMP/anon.jsonl"
cw_check "public_read: results for anyone" [ "$STATUS" = 200 ]
cw_check "anonymous results: the 3 measurements, not the heartbeat" \
    [ "$(grep -c '"type":"dns"' "$CW_TMP/anon.jsonl")" = 3 ] &&
    cw_check "anonymous results: 3 lines" \
    [ "$(wc -l <"$CW_TMP/anon.jsonl")" = 3 ]
get "/api/v1/results?type=heartbeat" "$CW_TMP/anon.hb"
cw_check "anonymous, asking for heartbeats: none" [ ! -s "$CW_TMP/anon.hb" ]
get "/api/v1/results?format=csv" "$CW_TMP/anon.csv"
get "/api/v1/probes" "$CW_TMP/anon.probes"
cw_check "anonymous probes: 200" [ "$STATUS" = 200 ]
cw_expect "anonymous probes: number, id, enrollment, revocation only" \
    "$CW_TMP/anon.probes" ".[0].probes | length == 1 and (.[0] | keys ==
    [\"created_at\", \"id\", \"num\", \"pubkey\", \"revoked\",
    \"revoked_at\"] and .id == \"$PROBE\")"
# The key the id is derived from, which checks the batches: public.
PUBKEY_B64=$(/usr/bin/python3 -c 'import base64, sys
print(base64.b64encode(bytes.fromhex(sys.argv[1])).decode())' "$PUBKEY")
cw_expect "anonymous probes: the public key, base64" "$CW_TMP/anon.probes" \
    ".[0].probes[0].pubkey == \"$PUBKEY_B64\""
# The first batch carried the heartbeat, whose bytes are the token's:
# an anonymous reader gets the second batch's signature only.
get "/api/v1/batches" "$CW_TMP/anon.batches"
cw_check "public_read: the batches for anyone" [ "$STATUS" = 200 ]
cw_expect "anonymous batches: the one without a heartbeat" \
    "$CW_TMP/anon.batches" "length == 1 and .[0].first_seq == 4 and
    .[0].sig == \"$(sed 's/.*sig=//' "$CW_TMP/body2.auth")\""
get "/api/v1/batches" "$CW_TMP/batches" -H "$READ_AUTH"
cw_expect "the read token: both batches" "$CW_TMP/batches" \
    "length == 2 and .[0].first_seq == 1 and .[0].last_seq == 3"
for f in anon.jsonl anon.hb anon.csv anon.probes anon.batches; do
	cw_check "$f: no location, no probe name" \
	    [ "$(grep -c -i -e obolon -e kyiv "$CW_TMP/$f")" = 0 ]
done
get "/api/v1/summary" "$CW_TMP/anon.summary"
cw_check "public_read: the summary for anyone" [ "$STATUS" = 200 ]
get "/metrics" "$CW_TMP/anon.metrics"
cw_check "public_read: /metrics for anyone" [ "$STATUS" = 200 ]

get "/api/v1/probes" "$CW_TMP/probes" -H "$READ_AUTH"
cw_expect "the read token: the probe's name, identity and heartbeat" \
    "$CW_TMP/probes" ".[0].probes[0] | .name == \"kyiv-obolon\" and
    .country == \"UA\" and .asn == 15895 and .last_seen != null and
    .last_heartbeat.identity.location == \"$LOCATION\""
get "/api/v1/results" "$CW_TMP/all.jsonl" -H "$READ_AUTH"
cw_check "the read token: every record, the heartbeat too" \
    cmp "$CW_TMP/all.jsonl" "$CW_TMP/body"

# The first batch carries the country its own heartbeat declares.
get "/api/v1/results?country=UA" "$CW_TMP/ua.jsonl" -H "$READ_AUTH"
cw_check "country=UA: every record, the first batch's included" \
    cmp "$CW_TMP/ua.jsonl" "$CW_TMP/body"
"$COLLECTOR" export --db "$DB" --format jsonl --country UA --asn 15895 \
    >"$CW_TMP/ua.cli"
cw_check "export --country UA --asn 15895: every record" \
    cmp "$CW_TMP/ua.cli" "$CW_TMP/body"
cw_collector_stop
# Not 0 when it crashed or hung; 86 under contrib/test-all.sh when a
# sanitizer reported (into its files, not the collector's log).
cw_check "public reads: the collector stops cleanly ($CW_STATUS)" \
    [ "$CW_STATUS" = 0 ]

# --- /healthz: no path, no library message for anonymous callers -----------

cw_pg_start
DB=$CW_PG_URL
serve "read_token = \"$READ_TOKEN\""
cw_pg_stop
get /healthz "$CW_TMP/health.anon"
cw_check "PostgreSQL stopped: /healthz 503" [ "$STATUS" = 503 ]
cw_expect "anonymous: a generic reason" "$CW_TMP/health.anon" \
    '.[0] | .status == "unavailable" and .error == "unavailable" and
    (.detail | type == "string") and .db_error == null'
cw_check "anonymous: no socket path ($PG_DIR)" \
    [ "$(grep -c -F "$PG_DIR" "$CW_TMP/health.anon")" = 0 ]
get /healthz "$CW_TMP/health.token" -H "$READ_AUTH"
cw_check "the read token: the database's own message, with its socket" \
    grep -q -F "$PG_DIR" "$CW_TMP/health.token"
cw_collector_stop
cw_check "database down: the collector stops cleanly ($CW_STATUS)" \
    [ "$CW_STATUS" = 0 ]

# --- one default database -------------------------------------------------------

default=$("$COLLECTOR" serve --help | sed -n 's/.*(default \(sqlite:[^)]*\)).*/\1/p')
cw_check "serve --help names the default database ($default)" \
    [ "${default%/lib/corewatch-collector/collector.db}" != "$default" ]
for f in README.md doc/corewatch-collector.8 contrib/corewatch-collector.conf \
    contrib/corewatch-collector.service; do
	cw_check "$f names /var/lib/corewatch-collector/collector.db" \
	    grep -q /var/lib/corewatch-collector/collector.db "$top_srcdir/$f"
	cw_check "$f names no other collector.db" \
	    [ "$(grep -o '[^ ":]*/collector\.db' "$top_srcdir/$f" |
	    grep -v -c '^/var/lib/corewatch-collector/collector\.db$')" = 0 ]
done
cw_done
