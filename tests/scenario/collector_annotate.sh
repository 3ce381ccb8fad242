#!/bin/bash
# collector_annotate.sh -- annotations over HTTP and on the command line,
# against a real collector.  Without a write token configured, every
# write is refused (401); a write token equal to the read token is a
# configuration error.  With one, a write without it (none, the read
# token, a wrong one) is 401, decided on the head; a body over 16 KiB is
# 413 by its Content-Length, with the token or without; each bad field is 400 naming it; the
# values of an annotation come back exactly, from the API and from
# `annotate list`, which write the same bytes.  Reads take the read
# token; deletes the write token (404 for an id that is not there).
# On SQLite; collector_annotate_pg.sh runs it on PostgreSQL.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

[ -x "$COLLECTOR" ] || cw_die "no $COLLECTOR"
command -v jq >/dev/null || cw_die "no jq"

cw_tmpdir
cw_collector_db
DB=$COLLECTOR_DB
READ_TOKEN=0123456789abcdef-read
WRITE_TOKEN=fedcba9876543210-write
READ_AUTH="Authorization: Bearer $READ_TOKEN"
WRITE_AUTH="Authorization: Bearer $WRITE_TOKEN"
PROBE=0123456789abcdef0123456789abcdef
# Quotes, a backslash, non-ASCII, commas: all must come back as sent.
TEXT='Power cut in Kharkiv: "oblast" \ «світло», 2 h'

# serve CONF-LINES...: start the collector with these options.
serve()
{
	printf '%s\n' "db = \"$DB\"" "log_level = debug" "$@" \
	    >"$CW_TMP/collector.conf"
	cw_collector_start "$CW_TMP/collector.log" -c "$CW_TMP/collector.conf"
}

# req METHOD PATH OUT [curl args...]: a request; STATUS is its status.
req()
{
	local method=$1 path=$2 out=$3
	shift 3
	STATUS=$(curl -sS -X "$method" -o "$out" -w '%{http_code}' \
	    --max-time 10 "$@" "$COLLECTOR_URL$path" 2>"$CW_TMP/curl.err")
	[ -n "$STATUS" ] || STATUS=000
}

# post JSON [curl args...]: POST JSON to /api/v1/annotations, answer in
# $CW_TMP/resp.
post()
{
	local body=$1
	shift
	req POST /api/v1/annotations "$CW_TMP/resp" \
	    -H 'Content-Type: application/json' --data-binary "$body" "$@"
}

# annotation FIELDS: a valid annotation's JSON with FIELDS (JSON members)
# in place of the defaults.
annotation()
{
	jq -c -n --arg text "$TEXT" --arg probe "$PROBE" \
	    "{from: \"2026-11-26T10:00:00Z\", to: \"2026-11-26T12:00:00Z\",
	    text: \$text, country: \"UA\", asn: 15895, probe: \$probe,
	    url: \"https://example.org/news?id=1,2\"} + {$1}"
}

# --- no write token configured: no writes ------------------------------------

serve "read_token = \"$READ_TOKEN\""
post "$(annotation)" -H "$WRITE_AUTH"
cw_check "no write token configured: a write is 401 ($STATUS)" \
    [ "$STATUS" = 401 ]
post "$(annotation)" -H "$READ_AUTH"
cw_check "no write token configured: the read token cannot write" \
    [ "$STATUS" = 401 ]
req GET /api/v1/annotations "$CW_TMP/none" -H "$READ_AUTH"
cw_check "reads work: 200 ($STATUS)" [ "$STATUS" = 200 ]
cw_check "nothing was stored" [ ! -s "$CW_TMP/none" ]
cw_collector_stop

printf '%s\n' "db = \"$DB\"" "read_token = \"$READ_TOKEN\"" \
    "write_token = \"$READ_TOKEN\"" >"$CW_TMP/same.conf"
timeout 10 "$COLLECTOR" serve -c "$CW_TMP/same.conf" \
    --listen 127.0.0.1:0 >"$CW_TMP/same.out" 2>&1
status=$?
cw_check "write_token = read_token: refused at start ($status)" \
    [ "$status" = 2 ]
cw_check "... saying why" grep -q "write_token.*must differ" \
    "$CW_TMP/same.out"

# --- with a write token ---------------------------------------------------------

serve "read_token = \"$READ_TOKEN\"" "write_token = \"$WRITE_TOKEN\""

post "$(annotation)"
cw_check "no Authorization: 401 ($STATUS)" [ "$STATUS" = 401 ]
post "$(annotation)" -H "$READ_AUTH"
cw_check "the read token: 401 ($STATUS)" [ "$STATUS" = 401 ]
post "$(annotation)" -H "Authorization: Bearer ${WRITE_TOKEN}x"
cw_check "a wrong token: 401 ($STATUS)" [ "$STATUS" = 401 ]
post "$(annotation)" -H "Authorization: Bearer ${WRITE_TOKEN%?}"
cw_check "a token one character short: 401 ($STATUS)" [ "$STATUS" = 401 ]
head -c 3000000 /dev/zero | tr '\0' x >"$CW_TMP/big"
head -c 10000 "$CW_TMP/big" >"$CW_TMP/medium"
req POST /api/v1/annotations "$CW_TMP/resp" --data-binary @"$CW_TMP/medium"
cw_check "10 kB without the token: 401 ($STATUS)" [ "$STATUS" = 401 ]
cw_check "... asking for the write token" grep -q "write token" "$CW_TMP/resp"
req POST /api/v1/annotations "$CW_TMP/resp" --data-binary @"$CW_TMP/big"
cw_check "3 MB without the token: 413, by its length ($STATUS)" \
    [ "$STATUS" = 413 ]
req POST /api/v1/annotations "$CW_TMP/resp" --data-binary @"$CW_TMP/big" \
    -H "$WRITE_AUTH"
cw_check "a body over 16 KiB with the token: 413 ($STATUS)" \
    [ "$STATUS" = 413 ]
req GET /api/v1/annotations "$CW_TMP/resp"
cw_check "a read without the read token: 401 ($STATUS)" [ "$STATUS" = 401 ]
req GET /api/v1/annotations "$CW_TMP/resp" -H "$WRITE_AUTH"
cw_check "the write token is not a read token: 401 ($STATUS)" \
    [ "$STATUS" = 401 ]

# Each bad value: 400, the answer naming the field.
long=$(head -c 1001 /dev/zero | tr '\0' a)
while IFS='|' read -r field change; do
	post "$(annotation "$change")" -H "$WRITE_AUTH"
	cw_check "bad $field ($change): 400 ($STATUS)" [ "$STATUS" = 400 ] ||
	    cat "$CW_TMP/resp" >&2
	cw_check "bad $field: the answer names it" \
	    grep -q "\"detail\":\"[^\"]*$field" "$CW_TMP/resp"
done <<EOF2
from|from: "2026-11-26T13:00:00Z"
from|from: "yesterday"
to|to: "2026-02-30T00:00:00Z"
to|to: null
text|text: ""
text|text: "two\nlines"
text|text: "a\ttab"
text|text: "$long"
country|country: "ZZ"
country|country: "UKR"
asn|asn: 4294967296
asn|asn: "15895"
asn|asn: -1
probe|probe: "0123456789ABCDEF0123456789ABCDEF"
probe|probe: "xyz"
url|url: "ftp://example.org/"
url|url: "javascript:alert(1)"
url|url: "https://example.org/a b"
colour|colour: "red"
EOF2
post '{"from": "2026-11-26T10:00:00Z", "to": "2026-11-26T12:00:00Z"}' \
    -H "$WRITE_AUTH"
cw_check "no text: 400 ($STATUS)" [ "$STATUS" = 400 ]
post 'not json' -H "$WRITE_AUTH"
cw_check "not JSON: 400 ($STATUS)" [ "$STATUS" = 400 ]
post '{"text": "a", "text": "b", "from": "2026-11-26T10:00:00Z",
    "to": "2026-11-26T12:00:00Z"}' -H "$WRITE_AUTH"
cw_check "a key twice: 400 ($STATUS)" [ "$STATUS" = 400 ]
req GET /api/v1/annotations "$CW_TMP/refused" -H "$READ_AUTH"
cw_check "nothing refused was stored" [ ! -s "$CW_TMP/refused" ]

# A good one, and what comes back.
post "$(annotation)" -H "$WRITE_AUTH"
cw_check "a good annotation: 201 ($STATUS)" [ "$STATUS" = 201 ] ||
    cat "$CW_TMP/resp" >&2
cp "$CW_TMP/resp" "$CW_TMP/added"
cw_expect "the answer: every value as sent, an id" "$CW_TMP/added" \
    ".[0] | .id >= 1 and .text == \"$(jq -n --arg t "$TEXT" '$t' |
    sed 's/^"//; s/"$//')\" and
    .from == \"2026-11-26T10:00:00.000000Z\" and
    .to == \"2026-11-26T12:00:00.000000Z\" and .country == \"UA\" and
    .asn == 15895 and .probe == \"$PROBE\" and
    .url == \"https://example.org/news?id=1,2\""
ID=$(jq -r .id "$CW_TMP/added")
cw_check "the text is the same bytes" \
    [ "$(jq -r .text "$CW_TMP/added")" = "$TEXT" ]
post "$(annotation 'from: "2026-11-27T00:00:00Z", to: "2026-11-27T00:00:00Z",
    text: "an instant", country: null, asn: null, probe: null, url: null')" \
    -H "$WRITE_AUTH"
cw_check "an instant, no options: 201 ($STATUS)" [ "$STATUS" = 201 ]
ID2=$(jq -r .id "$CW_TMP/resp")
cw_expect "the options come back null" "$CW_TMP/resp" \
    '.[0] | .country == null and .asn == null and .probe == null and
    .url == null'

req GET /api/v1/annotations "$CW_TMP/all.jsonl" -H "$READ_AUTH"
cw_check "list: 200 ($STATUS)" [ "$STATUS" = 200 ]
cw_expect "list: both, in time order, the first as added" "$CW_TMP/all.jsonl" \
    "length == 2 and .[0].id == $ID and .[1].id == $ID2"
cw_check "list: the first line is the add's answer, byte for byte" \
    [ "$(head -n 1 "$CW_TMP/all.jsonl")" = "$(cat "$CW_TMP/added")" ]
req GET "/api/v1/annotations?from=2026-11-26T12:30:00Z" "$CW_TMP/late" \
    -H "$READ_AUTH"
cw_expect "list from 12:30: only the instant" "$CW_TMP/late" \
    "length == 1 and .[0].id == $ID2"
req GET "/api/v1/annotations?from=2026-11-26T11:00:00Z&to=2026-11-26T11:30:00Z" \
    "$CW_TMP/mid" -H "$READ_AUTH"
cw_expect "list 11:00 to 11:30: only the power cut" "$CW_TMP/mid" \
    "length == 1 and .[0].id == $ID"
req GET "/api/v1/annotations?format=csv" "$CW_TMP/all.csv" -H "$READ_AUTH"
cw_check "csv: 200 ($STATUS)" [ "$STATUS" = 200 ]
cw_check "csv: the header and two rows" \
    [ "$(head -n 1 "$CW_TMP/all.csv" | tr -d '\r')" = \
    "id,from,to,text,country,asn,probe,url,created" ]
cw_check "csv: three lines" [ "$(wc -l <"$CW_TMP/all.csv")" = 3 ]
for q in "from=soon" "colour=red" "format=xml" \
    "from=2026-11-27T00:00:00Z&to=2026-11-26T00:00:00Z"; do
	req GET "/api/v1/annotations?$q" "$CW_TMP/resp" -H "$READ_AUTH"
	cw_check "list ?$q: 400 ($STATUS)" [ "$STATUS" = 400 ]
done

# --- the command line, on the same database ------------------------------------

"$COLLECTOR" annotate list --db "$DB" >"$CW_TMP/cli.jsonl"
cw_check "annotate list: the API's bytes" \
    cmp "$CW_TMP/cli.jsonl" "$CW_TMP/all.jsonl"
"$COLLECTOR" annotate list --db "$DB" --format csv >"$CW_TMP/cli.csv"
cw_check "annotate list --format csv: the API's bytes" \
    cmp "$CW_TMP/cli.csv" "$CW_TMP/all.csv"
ID3=$("$COLLECTOR" annotate add --db "$DB" --from 2026-11-28T08:00:00Z \
    --to 2026-11-28T09:00:00Z --text "$TEXT" --country ua --asn 0 \
    --probe "$PROBE" --url http://example.net/)
cw_check "annotate add: prints the new id ($ID3)" [ "$ID3" -gt "$ID2" ]
req GET "/api/v1/annotations?from=2026-11-28T00:00:00Z" "$CW_TMP/cli-added" \
    -H "$READ_AUTH"
cw_expect "the CLI's annotation over the API, as given" "$CW_TMP/cli-added" \
    "length == 1 and .[0].id == $ID3 and .[0].country == \"UA\" and
    .[0].asn == 0 and .[0].probe == \"$PROBE\" and
    .[0].url == \"http://example.net/\""
cw_check "the CLI's text, the same bytes" \
    [ "$(jq -r .text "$CW_TMP/cli-added")" = "$TEXT" ]
"$COLLECTOR" annotate add --db "$DB" --from 2026-11-28T10:00:00Z \
    --to 2026-11-28T09:00:00Z --text x 2>"$CW_TMP/cli.err"
status=$?
cw_check "annotate add, from after to: exit 2 ($status)" [ "$status" = 2 ]
"$COLLECTOR" annotate add --db "$DB" --from 2026-11-28T08:00:00Z \
    --to 2026-11-28T09:00:00Z --text x --url ftp://x/ 2>"$CW_TMP/cli.err"
status=$?
cw_check "annotate add, an ftp URL: exit 2 ($status)" [ "$status" = 2 ]
cw_check "... naming --url" grep -q -- "--url" "$CW_TMP/cli.err"
"$COLLECTOR" annotate add --db "$DB" --from 2026-11-28T08:00:00Z \
    --text x 2>"$CW_TMP/cli.err"
status=$?
cw_check "annotate add without --to: exit 2 ($status)" [ "$status" = 2 ]
"$COLLECTOR" annotate list --db "$DB" --from 2026-11-28T00:00:00Z \
    >"$CW_TMP/cli-late"
cw_check "annotate list --from: only the CLI's" \
    [ "$(jq -r .id "$CW_TMP/cli-late")" = "$ID3" ]

# --- delete ----------------------------------------------------------------------

req POST /api/v1/annotations/delete "$CW_TMP/resp" --data "{\"id\": $ID}"
cw_check "delete without a token: 401 ($STATUS)" [ "$STATUS" = 401 ]
req POST /api/v1/annotations/delete "$CW_TMP/resp" --data "{\"id\": $ID}" \
    -H "$READ_AUTH"
cw_check "delete with the read token: 401 ($STATUS)" [ "$STATUS" = 401 ]
req GET /api/v1/annotations/delete "$CW_TMP/resp" -H "$WRITE_AUTH"
cw_check "delete with GET: 405 ($STATUS)" [ "$STATUS" = 405 ]
req POST /api/v1/annotations/delete "$CW_TMP/resp" --data '{"id": "1"}' \
    -H "$WRITE_AUTH"
cw_check "delete of a string id: 400 ($STATUS)" [ "$STATUS" = 400 ]
req POST /api/v1/annotations/delete "$CW_TMP/resp" --data '{"id": 999}' \
    -H "$WRITE_AUTH"
cw_check "delete of an id not there: 404 ($STATUS)" [ "$STATUS" = 404 ]
req POST /api/v1/annotations/delete "$CW_TMP/resp" --data "{\"id\": $ID}" \
    -H "$WRITE_AUTH"
cw_check "delete: 200 ($STATUS)" [ "$STATUS" = 200 ]
req POST /api/v1/annotations/delete "$CW_TMP/resp" --data "{\"id\": $ID}" \
    -H "$WRITE_AUTH"
cw_check "delete again: 404 ($STATUS)" [ "$STATUS" = 404 ]
"$COLLECTOR" annotate delete --db "$DB" "$ID3" >"$CW_TMP/cli.out"
status=$?
cw_check "annotate delete: exit 0 ($status)" [ "$status" = 0 ]
"$COLLECTOR" annotate delete --db "$DB" "$ID3" 2>"$CW_TMP/cli.err"
status=$?
cw_check "annotate delete again: exit 1 ($status)" [ "$status" = 1 ]
req GET /api/v1/annotations "$CW_TMP/left" -H "$READ_AUTH"
cw_expect "only the instant is left" "$CW_TMP/left" \
    "length == 1 and .[0].id == $ID2"

cw_collector_stop
cw_check "the collector stops cleanly ($CW_STATUS)" [ "$CW_STATUS" = 0 ]
cw_done
