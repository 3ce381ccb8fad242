#!/bin/bash
# dashboard.sh -- the dashboard (doc/dashboard.md) in a real browser:
# Debian's chromium headless through chromium-driver and python3-selenium
# (tests/browser/dashboard_check.py) against a collector on loopback
# loaded with a fixture whose values are known.
#
# Two probes post signed batches of one hour, two hours ago (BASE, on a
# 10-minute boundary): kyiv-1 (UA, AS15895, backlog 7) and khartoum-1
# (SD, AS15706, backlog 3) measure k.root and a.root each minute.
# k.root fails for kyiv-1 at minutes 21-25 and for khartoum-1 at 22-24:
# in the 10-minute bucket BASE+20m its availability is 50 % for kyiv-1,
# 70 % for khartoum-1 and 60 % for both; a.root's RTT at minutes 0-9 is
# 10-19 ms from kyiv-1 (median 14.5, p95 19) and 30-39 ms from
# khartoum-1 (median of both 24.5).  k.root answers NSID k1.ams before
# minute 40 and k2.fra after; its serial changes at minute 30, a.root's
# at 35 (a.root lags).  An annotation covers BASE+20m to BASE+30m.  The
# browser checks, through the page: no console error on any view; the
# probes table; the heatmap cells; the RTT median; the episodes table,
# sorted by severity; an episode's evidence records; the filters; the
# annotation drawn on every chart; an anonymous reader (public_read)
# seeing what anonymous API readers see; a closed API's 401 and a
# collector gone, shown on the page; then the rules of a collector of
# more than 20 probes (below).  Screenshots of each view stay in
# $top_builddir/tests/browser-shots/ (named in the log).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

MKBATCH="$top_builddir/tests/tools/mkbatch"
LOAD="$top_builddir/tests/tools/episodesload"
CHECK="$top_srcdir/tests/browser/dashboard_check.py"
SHOTS="$top_srcdir/tests/browser/dashboard_shots.py"
SHOT_DIR="$top_builddir/tests/browser-shots"
[ -x "$COLLECTOR" ] || cw_die "no $COLLECTOR"
[ -x "$MKBATCH" ] || cw_die "no $MKBATCH (make check builds it)"
[ -x "$LOAD" ] || cw_die "no $LOAD (make check builds it)"
command -v chromium >/dev/null || cw_die "no chromium (contrib/debian-packages)"
command -v chromedriver >/dev/null || cw_die "no chromedriver (chromium-driver)"
/usr/bin/python3 -c 'import selenium' 2>/dev/null ||
    cw_die "no python3-selenium"
CHARTJS=/usr/share/javascript/chart.js/chart.min.js
[ -r "$CHARTJS" ] || cw_die "no $CHARTJS (libjs-chart.js)"

cw_tmpdir
export TMPDIR=$CW_TMP
# Each browser the scripts start leads a process group of its own,
# noted here: the exit trap stops whatever of them is left (a script
# killed by its timeout), then does what lib.sh's trap does.
export CW_BROWSER_PGIDS=$CW_TMP/browser.pgids
browsers_stop()
{
	local status=$? pgid
	if [ -f "$CW_BROWSER_PGIDS" ]; then
		while read -r pgid; do
			kill -KILL -- "-$pgid" 2>/dev/null
		done <"$CW_BROWSER_PGIDS"
	fi
	(exit "$status")
	cw_cleanup
}
trap browsers_stop EXIT
SEED_A=1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a
SEED_B=2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b
PROBE_A=$("$MKBATCH" id --seed "$SEED_A") || cw_die "mkbatch id failed"
PROBE_B=$("$MKBATCH" id --seed "$SEED_B") || cw_die "mkbatch id failed"
READ_TOKEN=0123456789abcdef-read
DB=sqlite:$CW_TMP/collector.db
NOW=$(date -u +%s)
BASE=$(( NOW / 600 * 600 - 7200 ))

# chain PROBE NAME COUNTRY ASN BACKLOG RTT0 FAILING: the chain's lines.
chain()
{
	/usr/bin/python3 - "$BASE" "$@" <<'PY'
import hashlib, sys, time
base = int(sys.argv[1])
probe, name, country, asn, backlog, rtt0 = sys.argv[2:8]
failing = [int(m) for m in sys.argv[8].split()]
def at(m, s=0):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(base + 60 * m + s))
dns = ('"type":"dns","time":"%s","name":"root-soa","server":"%s",'
       '"addr":"%s","port":53,"af":4,"proto":"udp",'
       '"query":{"qname":".","qtype":"SOA"},%s')
ok = ('"ok":true,"failure":null,"rtt_ms":%d.0,"rcode":"NOERROR",'
      '"nsid":"%s","soa_serial":%d')
bad = ('"ok":false,"failure":"generic_timeout_error",'
       '"failure_detail":"no reply within 4.000 s","rtt_ms":null')
hb = ('"type":"heartbeat","time":"%s","version":"0.1.0","interval_s":300.0,'
      '"identity":{"name":"%s","country":"%s","asn":%s},'
      '"spool":{"depth":%s},"upload":{"failing_since":null}')
bodies = []
for m in range(60):
    if m % 5 == 0:
        bodies.append(hb % (at(m, 30), name, country, asn, backlog))
    k = bad if m in failing else ok % (
        int(rtt0) + 10 + m % 10, "k1.ams" if m < 40 else "k2.fra",
        2026112600 if m < 30 else 2026112601)
    bodies.append(dns % (at(m), "k.root-servers.net", "193.0.14.129", k))
    a = ok % (int(rtt0) + m % 10, "a1.iad",
              2026112600 if m < 35 else 2026112601)
    bodies.append(dns % (at(m, 1), "a.root-servers.net", "198.41.0.4", a))
prev = "0" * 64
for seq, b in enumerate(bodies, 1):
    line = '{"probe":"%s","chain":"%s","seq":%d,"prev":"%s",%s}' % (
        probe, "cd" * 16, seq, prev, b)
    prev = hashlib.sha256(line.encode()).hexdigest()
    print(line)
PY
}

chain "$PROBE_A" kyiv-1 UA 15895 7 10 "21 22 23 24 25" >"$CW_TMP/a" ||
    cw_die "cannot build chain A"
chain "$PROBE_B" khartoum-1 SD 15706 3 30 "22 23 24" >"$CW_TMP/b" ||
    cw_die "cannot build chain B"
for p in a b; do
	seed=$SEED_A name=kyiv-1
	[ "$p" = b ] && seed=$SEED_B name=khartoum-1
	"$MKBATCH" sign --seed "$seed" --out "$CW_TMP/$p" \
	    --auth "$CW_TMP/$p.auth" || cw_die "mkbatch sign failed"
	cw_probe_enroll "$DB" "$name" \
	    "$("$MKBATCH" pubkey --seed "$seed")"
done
ANNOT_FROM=$(date -u -d "@$((BASE + 1200))" +%Y-%m-%dT%H:%M:%SZ)
ANNOT_TO=$(date -u -d "@$((BASE + 1800))" +%Y-%m-%dT%H:%M:%SZ)
"$COLLECTOR" annotate add --db "$DB" --from "$ANNOT_FROM" --to "$ANNOT_TO" \
    --text "Power cut in Kyiv" --country UA >/dev/null ||
    cw_die "annotate add failed"

printf '%s\n' "db = \"$DB\"" "public_read = true" \
    "read_token = \"$READ_TOKEN\"" "web_dir = \"$top_srcdir/web\"" \
    "chartjs = \"$CHARTJS\"" >"$CW_TMP/collector.conf"
cw_collector_start "$CW_TMP/collector.log" -c "$CW_TMP/collector.conf"
for p in a b; do
	cw_batch_post "$CW_TMP/$p" "$CW_TMP/$p.auth"
	cw_check "batch of probe $p stored" [ "$CW_HTTP_STATUS" = 200 ] ||
	    cw_die "batch $p: $CW_HTTP_STATUS $(cat "$CW_TMP/resp")"
done

# page_checks LABEL RESULTS ARGS...: dashboard_check.py with ARGS; it
# writes one line a check into RESULTS, "ok NAME" or "FAIL NAME: why",
# and "ok finished" last (none when the browser does not start or a wait
# runs out); each becomes a check of this test.
page_checks()
{
	local label=$1 results=$2
	shift 2
	timeout -k 5 200 /usr/bin/python3 "$CHECK" --url "$COLLECTOR_URL" \
	    --shots "$SHOT_DIR" --results "$results" "$@" 2>"$results.err"
	cat "$results.err" >&2
	cw_check "$label: dashboard_check.py ran to its end" \
	    grep -q '^ok finished' "$results"
	while read -r verdict name; do
		cw_check "$label: $name" [ "$verdict" = ok ]
	done <"$results"
}

rm -rf "$SHOT_DIR"
mkdir -p "$SHOT_DIR" || cw_die "cannot make $SHOT_DIR"
page_checks page "$CW_TMP/checks" --token "$READ_TOKEN" --base "$BASE" \
    --probe-a "$PROBE_A" --probe-b "$PROBE_B"
for v in probes heatmap rtt episodes evidence anonymous-probes; do
	cw_check "screenshot $SHOT_DIR/$v.png" [ -s "$SHOT_DIR/$v.png" ]
done

timeout -k 5 120 /usr/bin/python3 "$SHOTS" --url "$COLLECTOR_URL" \
    --token "$READ_TOKEN" --out "$SHOT_DIR/shots" >"$CW_TMP/shots.out" \
    2>"$CW_TMP/shots.err"
SHOTS_STATUS=$?
cat "$CW_TMP/shots.out" "$CW_TMP/shots.err" >&2
cw_check "dashboard_shots.py: no console error, exit 0 ($SHOTS_STATUS)" \
    [ "$SHOTS_STATUS" = 0 ]
cw_check "dashboard_shots.py: five screenshots named" \
    [ "$(grep -c '\.png$' "$CW_TMP/shots.out")" = 5 ]

# The page answers without the token even when the API is closed.
cw_collector_stop
printf '%s\n' "db = \"$DB\"" "read_token = \"$READ_TOKEN\"" \
    "web_dir = \"$top_srcdir/web\"" "chartjs = \"$CHARTJS\"" \
    >"$CW_TMP/closed.conf"
cw_collector_start "$CW_TMP/closed.log" -c "$CW_TMP/closed.conf"
page_checks "closed API" "$CW_TMP/closed" --closed \
    --collector-pid "$COLLECTOR_PID"
COLLECTOR_PID=

# More than 20 probes: MANY probes (tests/tools/episodesload, through
# store_ingest) measure 192.0.2.1 and 192.0.2.2 every 10 minutes over
# the last day (up to the hour begun); countries by number modulo 20 (AA:
# probes 0, 20, 40).  The availability and RTT views show the first
# probe unless a probe, target or country is chosen, probe=all shows
# them all; a target from all of them (more than 55) gets 15-minute
# cells, not 10-minute ones (over 8,000 cells).
MANY=60
MANY_DB=sqlite:$CW_TMP/many.db
"$LOAD" --db "$MANY_DB" --probes "$MANY" \
    --targets 2 --interval 600 --days 1 \
    --start "$(date -u -d "@$((NOW / 3600 * 3600 - 86400))" +%Y-%m-%dT%H:%M:%SZ)" \
    >"$CW_TMP/many.load" 2>&1 || cw_die "episodesload: $(cat "$CW_TMP/many.load")"
printf '%s\n' "db = \"$MANY_DB\"" "read_token = \"$READ_TOKEN\"" \
    "web_dir = \"$top_srcdir/web\"" "chartjs = \"$CHARTJS\"" \
    >"$CW_TMP/many.conf"
cw_collector_start "$CW_TMP/many.log" -c "$CW_TMP/many.conf"
page_checks "$MANY probes" "$CW_TMP/many" --token "$READ_TOKEN" \
    --many "$MANY" --many-addr 192.0.2.1
cw_collector_stop

# web_dir relative to the configuration's directory; --web-dir wins.
mkdir -p "$CW_TMP/etc/web" "$CW_TMP/other" || cw_die "mkdir failed"
echo '<!doctype html><title>from etc/web</title>' >"$CW_TMP/etc/web/index.html"
echo '<!doctype html><title>from other</title>' >"$CW_TMP/other/index.html"
printf '%s\n' "db = \"$DB\"" 'web_dir = "web"' >"$CW_TMP/etc/collector.conf"
cw_collector_start "$CW_TMP/relative.log" -c "$CW_TMP/etc/collector.conf"
cw_check "web_dir = \"web\": the page of the configuration's directory" \
    grep -q 'from etc/web' <(curl -sS --max-time 10 "$COLLECTOR_URL/")
cw_check "a missing dashboard.js: 404" [ "$(curl -sS -o /dev/null \
    -w '%{http_code}' --max-time 10 "$COLLECTOR_URL/web/dashboard.js")" = 404 ]
cw_collector_stop
cw_collector_start "$CW_TMP/other.log" -c "$CW_TMP/etc/collector.conf" \
    --web-dir "$CW_TMP/other"
cw_check "--web-dir: its page" \
    grep -q 'from other' <(curl -sS --max-time 10 "$COLLECTOR_URL/")
cw_collector_stop
printf '%s\n' "db = \"$DB\"" 'web_dir = ""' >"$CW_TMP/etc/bad.conf"
timeout 10 "$COLLECTOR" serve -c "$CW_TMP/etc/bad.conf" \
    --listen 127.0.0.1:0 >"$CW_TMP/bad.out" 2>&1
cw_check "web_dir = \"\": a configuration error (exit 2)" [ "$?" = 2 ]
cw_check "web_dir = \"\": the error names the option" \
    grep -q 'web_dir' "$CW_TMP/bad.out"
cw_log "screenshots: $(ls "$SHOT_DIR"/*.png "$SHOT_DIR"/shots/*.png | tr '\n' ' ')"
cw_done
