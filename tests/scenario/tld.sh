#!/bin/bash
# tld.sh -- TLD name server discovery against a real NSD on loopback:
# a TLD with glue (ua), one whose servers are out of bailiwick without
# glue (sd: the resolver fallback), one whose server is in bailiwick
# without glue (zz: asked of its own glued server), a TLD that does not
# exist, dead roots skipped, the cache written, and with NSD stopped the
# cached sets are loaded and used.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

cw_tmpdir
STATE="$CW_TMP/state"

# zz.: in-bailiwick NS ns.sub.zz. whose address lives in the delegated
# child sub.zz. (served by the same NSD as its own zone), so the answer
# for zz. NS carries no glue for it.
cat >"$CW_TMP/zz.zone" <<'EOF'
$ORIGIN zz.
$TTL 3600
@	IN SOA	ns1.zz. hostmaster.zz. 1 3600 900 1209600 3600
@	IN NS	ns1.zz.
@	IN NS	ns.sub.zz.
ns1	IN A	127.0.0.1
sub	IN NS	ns1.zz.
EOF
cat >"$CW_TMP/sub.zz.zone" <<'EOF'
$ORIGIN sub.zz.
$TTL 3600
@	IN SOA	ns1.zz. hostmaster.zz. 1 3600 900 1209600 3600
@	IN NS	ns1.zz.
ns	IN A	127.0.0.13
ns	IN AAAA	::1
EOF
cw_nsd_start "${CW_TEST_ZONES[@]}" zz. "$CW_TMP/zz.zone" \
    sub.zz. "$CW_TMP/sub.zz.zone"
PORT=$NSD_PORT

# tld NAME ARGS...: `corewatch tld-servers --port PORT ARGS...`, results
# in $CW_TMP/NAME.json, stderr in NAME.err, exit status in $rc.
tld()
{
	local name=$1
	shift
	timeout 120 "$COREWATCH" tld-servers --port "$PORT" --timeout 2s \
	    --wait 30s "$@" >"$CW_TMP/$name.json" 2>"$CW_TMP/$name.err"
	rc=$?
	if [ "$rc" -gt 1 ]; then
		cw_log "corewatch tld-servers $* exited $rc; stderr:"
		cat "$CW_TMP/$name.err" >&2
	fi
}

# servers TLD: the "addr/glue" list of a TLD's servers, sorted, as JSON.
servers()
{
	printf '[.[] | select(.tld == "%s" and .type == "%s") | .servers[] |
	    "\\(.name)/\\(.addr)/\\(.glue)"] | sort' "$1" "$2"
}

UA='["ns1.ua/127.0.0.1/true","ns1.ua/::1/true","ns2.ua/127.0.0.2/true"]'
SD='["ns1.nic-sd.xx/127.0.0.7/false","ns1.nic-sd.xx/::1/false","ns2.nic-sd.xx/127.0.0.8/false"]'
ZZ='["ns.sub.zz/127.0.0.13/false","ns.sub.zz/::1/false","ns1.zz/127.0.0.1/true"]'

# --- discovery with glue, without glue (resolver), in bailiwick -------
tld first --root 127.0.0.1 --resolver 127.0.0.1 --state-dir "$STATE" \
    ua sd zz
cw_check "first: exit status 0" [ "$rc" = 0 ]
cw_expect "first: one discovery and one set line per TLD" \
    "$CW_TMP/first.json" \
    '([.[] | select(.type == "tld_discovery")] | length == 3) and
     ([.[] | select(.type == "tld_servers")] | length == 3) and
     all(.[]; .ok and .failure == null)'
cw_expect "first: ua from glue" "$CW_TMP/first.json" \
    "($(servers ua tld_discovery)) == $UA and
     (.[] | select(.type == \"tld_discovery\" and .tld == \"ua\") |
      .glue == 3 and .fallback == 0 and .fallback_queries == 0 and
      .root == \"127.0.0.1\" and .ns == [\"ns1.ua\", \"ns2.ua\"] and
      .changed and .query.type == \"dns\" and
      .query.query.qname == \"ua.\" and .query.query.qtype == \"NS\" and
      .query.query.rd == false)"
cw_expect "first: sd from the resolver fallback" "$CW_TMP/first.json" \
    "($(servers sd tld_discovery)) == $SD and
     (.[] | select(.type == \"tld_discovery\" and .tld == \"sd\") |
      .glue == 0 and .fallback == 3 and .fallback_queries == 4 and
      .fallback_failed == 0 and .unresolved == [])"
cw_expect "first: zz's in-bailiwick name asked of its glued server" \
    "$CW_TMP/first.json" \
    "($(servers zz tld_discovery)) == $ZZ and
     (.[] | select(.type == \"tld_discovery\" and .tld == \"zz\") |
      .glue == 1 and .fallback == 2)"
cw_expect "first: the set lines say discovery" "$CW_TMP/first.json" \
    "($(servers sd tld_servers)) == $SD and
     all(.[] | select(.type == \"tld_servers\"); .source == \"discovery\")"
for t in ua sd zz; do
	cw_check "cache: $t.json written, mode 0600" \
	    [ "$(stat -c %a "$STATE/tld/$t.json" 2>/dev/null)" = 600 ]
done
cw_check "cache: directory mode 0700" \
    [ "$(stat -c %a "$STATE/tld" 2>/dev/null)" = 700 ]
cw_check "cache: no temporary files left" \
    [ "$(ls -A "$STATE/tld" | wc -l)" = 3 ]
cw_expect "cache: ua.json holds the set" "$STATE/tld/ua.json" \
    '.[0] | .version == 1 and .tld == "ua" and .root == "127.0.0.1" and
     (.learned_usec | type == "number") and
     ([.servers[].addr] | sort) == ["127.0.0.1", "127.0.0.2", "::1"]'

# --- without a resolver: zz's name is still asked of zz's own server,
# sd's servers stay unknown ----------------------------------------------
tld bailiwick --root 127.0.0.1 --resolver none --no-cache zz
cw_check "bailiwick: exit status 0" [ "$rc" = 0 ]
cw_expect "bailiwick: zz resolved without a resolver" "$CW_TMP/bailiwick.json" \
    "($(servers zz tld_discovery)) == $ZZ"
tld noresolver --root 127.0.0.1 --resolver none --no-cache sd
cw_check "noresolver: exit status 1" [ "$rc" = 1 ]
cw_expect "noresolver: dns_no_answer, both names unresolved" \
    "$CW_TMP/noresolver.json" \
    '(.[] | select(.type == "tld_discovery") | .ok == false and
      .failure == "dns_no_answer" and .addresses == 0 and
      .unresolved == ["ns1.nic-sd.xx", "ns2.nic-sd.xx"]) and
     (.[] | select(.type == "tld_servers") | .failure == "dns_no_servers")'

# --- a TLD that does not exist; dead roots are skipped -----------------
tld nxdomain --root 127.0.0.1 --resolver none --no-cache nope
cw_expect "nxdomain: dns_nxdomain_error" "$CW_TMP/nxdomain.json" \
    '.[] | select(.type == "tld_discovery") | .failure == "dns_nxdomain_error"'
tld deadroots --root 127.0.0.5 --root 127.0.0.6 --root 127.0.0.1 \
    --resolver none --no-cache ua
cw_check "deadroots: exit status 0" [ "$rc" = 0 ]
cw_expect "deadroots: learned from the live root" "$CW_TMP/deadroots.json" \
    '.[] | select(.type == "tld_discovery") | .ok and .root == "127.0.0.1"
     and .root_tries >= 1 and .root_tries <= 3'
cw_check "bad TLD name: usage error" \
    bash -c '"$COREWATCH" tld-servers --no-cache "u a" 2>/dev/null; [ $? = 2 ]'

# --- NSD stopped: the cache is loaded and used -------------------------
kill -TERM "$NSD_PID"
for ((i = 0; i < 50; i++)); do
	kill -0 "$NSD_PID" 2>/dev/null || break
	sleep 0.1
done
cw_check "nsd stopped" bash -c "! kill -0 $NSD_PID 2>/dev/null"

tld offline --root 127.0.0.1 --resolver 127.0.0.1 --state-dir "$STATE" \
    ua sd zz
cw_check "offline: exit status 1 (discovery failed)" [ "$rc" = 1 ]
cw_expect "offline: discovery fails, the cached sets are in use" \
    "$CW_TMP/offline.json" \
    "all(.[] | select(.type == \"tld_discovery\"); .ok == false and
      .failure == \"connection_refused\") and
     all(.[] | select(.type == \"tld_servers\"); .ok and
      .source == \"cache\") and
     ($(servers ua tld_servers)) == $UA and
     ($(servers sd tld_servers)) == $SD and
     ($(servers zz tld_servers)) == $ZZ"
cw_expect "offline: the cache survived the failed refresh" \
    "$STATE/tld/sd.json" '.[0].servers | length == 3'

tld cached --cached --state-dir "$STATE" ua sd
cw_check "cached: exit status 0" [ "$rc" = 0 ]
cw_expect "cached: sets from the cache, nothing sent" "$CW_TMP/cached.json" \
    "([.[] | select(.type == \"tld_discovery\")] | length == 0) and
     ($(servers ua tld_servers)) == $UA and ($(servers sd tld_servers)) == $SD"

# A cached set of one server is "1 server", not "1 servers".
mkdir -p "$CW_TMP/one/tld"
jq -c '.servers |= .[:1]' "$STATE/tld/ua.json" >"$CW_TMP/one/tld/ua.json"
tld one --cached --state-dir "$CW_TMP/one" ua
cw_check "one cached server: exit status 0" [ "$rc" = 0 ]
cw_check "one cached server: said in the singular" \
    grep -q "tld ua: 1 server from the cache" "$CW_TMP/one.err" ||
    cat "$CW_TMP/one.err" >&2

# --- a hostile cache file is ignored with a warning --------------------
printf '{"version":1,"tld":"ua","servers":[' >"$STATE/tld/ua.json"
head -c 200000 /dev/zero | tr '\0' ' ' >>"$STATE/tld/ua.json"
tld hostile --cached --state-dir "$STATE" ua sd
cw_check "hostile: exit status 1" [ "$rc" = 1 ]
cw_check "hostile: a warning names the file" \
    grep -q "tld/ua.json: ignored" "$CW_TMP/hostile.err"
cw_expect "hostile: ua unknown, sd still cached" "$CW_TMP/hostile.json" \
    '(.[] | select(.tld == "ua") | .failure == "dns_no_servers") and
     (.[] | select(.tld == "sd") | .ok)'

# --- the agent: once and run with a TLD measurement --------------------
# agent_conf STATE OUTPUT: a configuration measuring the SOA of ua. and
# sd. at every address of their learned servers, over UDP.
agent_conf()
{
	cat <<EOF
probe { name = "tld-scenario" }
log_level = "debug"
state_dir = "$1"
output { path = "$2" }
tld_discovery {
	roots = {"127.0.0.1"}
	resolver = "127.0.0.1"
	port = $PORT
	refresh = 2s
}
dns "tld-soa" {
	tlds = {"ua", "SD."}
	transport = "udp"
	port = $PORT
	interval = 1s
	spread = 100ms
	timeout = 500ms
	late_window = 50ms
}
EOF
}

# agent NAME ARGS...: corewatch ARGS with a time bound; status in $rc.
agent()
{
	local name=$1
	shift
	timeout 120 "$COREWATCH" "$@" >"$CW_TMP/$name.out" \
	    2>"$CW_TMP/$name.err"
	rc=$?
	if [ "$rc" -gt 1 ]; then
		cw_log "corewatch $* exited $rc; stderr:"
		cat "$CW_TMP/$name.err" >&2
	fi
}

# Of the learned addresses, NSD listens on 127.0.0.1 and ::1 only: the
# others (127.0.0.2, .7, .8) refuse.  ::1 is measured even where IPv6
# is unusable (and then fails).
UA_ADDRS='["127.0.0.1","127.0.0.2","::1"]'
SD_ADDRS='["127.0.0.7","127.0.0.8","::1"]'
cw_nsd_start "${CW_TEST_ZONES[@]}"
PORT=$NSD_PORT
agent_conf "$CW_TMP/agent-state" "$CW_TMP/once.json" >"$CW_TMP/agent.conf"
agent check check-config -c "$CW_TMP/agent.conf"
cw_check "agent: the configuration is valid" [ "$rc" = 0 ]
cat >"$CW_TMP/bad.conf" <<'EOF'
probe { name = "p" }
tld_discovery {
	roots = {"127.0.0.1", "nowhere"}
	resolver = "bogus"
	refresh = 10ms
	port = 0
}
dns "x" { tlds = {"ua"} }
EOF
timeout 60 "$COREWATCH" check-config -c "$CW_TMP/bad.conf" \
    >/dev/null 2>"$CW_TMP/bad.err"
rc=$?
cw_check "agent: a bad tld_discovery is refused" [ "$rc" = 2 ]
for line in 3 4 5 6; do
	cw_check "agent: bad tld_discovery: line $line reported" \
	    grep -q "bad.conf:$line: tld_discovery: " "$CW_TMP/bad.err"
done
agent once once -c "$CW_TMP/agent.conf" --json
cw_check "once: exit status 1 (some servers refuse)" [ "$rc" = 1 ]
cw_expect "once: discovery of ua and sd first" "$CW_TMP/once.json" \
    '([.[] | select(.type == "tld_discovery") | .tld] | sort) ==
     ["sd", "ua"] and all(.[] | select(.type == "tld_discovery"); .ok) and
     .[0].type == "tld_discovery" and .[1].type == "tld_discovery"'
cw_expect "once: every address of ua measured, SOA of ua." \
    "$CW_TMP/once.json" \
    "([.[] | select(.type == \"dns\" and .tld == \"ua\") | .addr] | sort)
      == $UA_ADDRS and
     all(.[] | select(.type == \"dns\" and .tld == \"ua\");
      .name == \"tld-soa\" and .query.qname == \"ua.\" and
      .query.qtype == \"SOA\" and .port == $PORT) and
     (.[] | select(.type == \"dns\" and .addr == \"127.0.0.1\" and
      .tld == \"ua\") | .ok and .soa_serial == $CW_SERIAL_UA)"
cw_expect "once: every address of sd measured, SOA of sd." \
    "$CW_TMP/once.json" \
    "([.[] | select(.type == \"dns\" and .tld == \"sd\") | .addr] | sort)
      == $SD_ADDRS and
     all(.[] | select(.type == \"dns\" and .tld == \"sd\");
      .query.qname == \"sd.\") and
     all(.[] | select(.type == \"dns\" and .addr == \"127.0.0.7\");
      .failure == \"connection_refused\")"
# A TLD measurement asks each server about its own zone's apex: the
# signs that need this are checked, and a real NSD raises none.
cw_expect "once: a TLD's servers answer with no anomaly" \
    "$CW_TMP/once.json" \
    '[.[] | select(.type == "dns" and .ok)] | length >= 2 and
     all(.[]; .anomalies == [])'
cw_check "once: the sets are cached" \
    [ -s "$CW_TMP/agent-state/tld/ua.json" -a \
    -s "$CW_TMP/agent-state/tld/sd.json" ]

# run: discovery, then the learned servers measured, then refreshes
# every ~2 s that change nothing.
agent_conf "$CW_TMP/run-state" "$CW_TMP/run.json" >"$CW_TMP/run.conf"
cw_spawn "$CW_TMP/run.err" "$COREWATCH" run -c "$CW_TMP/run.conf"
RUN_PID=$CW_SPAWNED
# count FILE FILTER: how many result lines of FILE match the jq filter.
count()
{
	jq -c "select($2)" "$1" 2>/dev/null | wc -l
}
for ((i = 0; i < 150; i++)); do
	[ "$(count "$CW_TMP/run.json" \
	    '.type == "tld_discovery" and .tld == "ua"')" -ge 3 ] &&
	    [ "$(count "$CW_TMP/run.json" \
	    '.type == "dns" and .tld == "ua" and .ok')" -ge 2 ] && break
	sleep 0.1
done
cw_expect "run: ua learned, its servers measured" "$CW_TMP/run.json" \
    '[.[] | select(.type == "dns" and .tld == "ua" and .ok and
      .addr == "127.0.0.1")] | length >= 2'
cw_expect "run: refreshed on the interval, unchanged" "$CW_TMP/run.json" \
    '[.[] | select(.type == "tld_discovery" and .tld == "ua")] |
     length >= 3 and .[0].changed and all(.[1:][]; .ok and
     (.changed | not))'
cw_check "run: says it learned the servers" \
    grep -q "tld ua: 3 server addresses learned" "$CW_TMP/run.err"

# NSD stops: refreshes fail, the last good set is still measured.
kill -TERM "$NSD_PID"
for ((i = 0; i < 50; i++)); do
	kill -0 "$NSD_PID" 2>/dev/null || break
	sleep 0.1
done
# Attempts sent before NSD went may still succeed or time out; those
# sent after it must be refused, so only they are checked.
gone=$(date -u +%Y-%m-%dT%H:%M:%S.%6NZ)
before=$(wc -l <"$CW_TMP/run.json")
after="$CW_TMP/run-after.json"
for ((i = 0; i < 150; i++)); do
	tail -n +"$((before + 1))" "$CW_TMP/run.json" >"$after"
	[ "$(count "$after" ".type == \"tld_discovery\" and
	    .time > \"$gone\"")" -ge 2 ] && break
	sleep 0.1
done
cw_expect "run, NSD gone: refreshes fail" "$after" \
    "[.[] | select(.type == \"tld_discovery\" and .time > \"$gone\")] |
     length >= 2 and all(.ok == false and .failure == \"connection_refused\")"
cw_expect "run, NSD gone: the last good set is still measured" "$after" \
    "[.[] | select(.type == \"dns\" and .tld == \"ua\")] as \$ua |
     (\$ua | length) > 0 and all(\$ua[]; .failure != \"dns_no_servers\")"
kill -TERM "$RUN_PID"
for ((i = 0; i < 50; i++)); do
	kill -0 "$RUN_PID" 2>/dev/null || break
	sleep 0.1
done
wait "$RUN_PID"
cw_check "run: exit status 0 after SIGTERM" [ "$?" = 0 ]

# once with NSD gone: the cached sets are used at once, without a wait.
agent_conf "$CW_TMP/agent-state" "$CW_TMP/once2.json" >"$CW_TMP/agent2.conf"
start=$(date +%s)
agent once2 once -c "$CW_TMP/agent2.conf" --json
cw_check "once, NSD gone: exit status 1" [ "$rc" = 1 ]
cw_check "once, NSD gone: no wait for discovery" \
    [ $(($(date +%s) - start)) -lt 10 ]
cw_expect "once, NSD gone: the cached servers are measured" \
    "$CW_TMP/once2.json" \
    "([.[] | select(.type == \"dns\" and .tld == \"ua\") | .addr] | sort)
      == $UA_ADDRS and
     ([.[] | select(.type == \"dns\" and .tld == \"sd\") | .addr] | sort)
      == $SD_ADDRS and
     all(.[] | select(.type == \"dns\"); .ok == false) and
     all(.[] | select(.type == \"dns\" and .af == 4);
      .failure == \"connection_refused\")"

cw_done
