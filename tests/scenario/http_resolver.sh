#!/bin/bash
# http_resolver.sh -- what an HTTP measurement reports when the lookup
# of its host fails at the nameservers, with resolv.conf files of the
# test's own naming our fault responder (tests/fault/dnsfault.py):
#   silent: corewatch http gives generic_timeout_error with a timeout
#   shorter and longer than the lookup's own (2 attempts of 3 s), and
#   exits within its timeout and a little (it used to wait forever on
#   the resolver's timers after a long one, and call it
#   dns_servfail_error); corewatch run records generic_timeout_error
#   every cycle, never dns_servfail_error;
#   rcode-refused, and a port where nothing listens (ICMP port
#   unreachable): dns_refused_error at once; servfail:
#   dns_servfail_error; nxdomain: dns_nxdomain_error; a closed port
#   first, then a server: the second is asked;
#   libevent's own messages (a nameserver line it cannot parse) come
#   through the probe's log, not as raw "[warn]" lines.
#
# The test runs in a network namespace of its own (loopback only), with
# its own /etc/hosts and resolv.conf: nothing it looks up or sends
# leaves the machine.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

cw_netns_isolate cwresolver $'127.0.0.1 localhost'

cw_tmpdir
URL=http://www.resolver.test/

# resolver MODE: start dnsfault in MODE and write $CW_TMP/MODE.conf, a
# resolv.conf naming it.
resolver()
{
	cw_fault_start "$1" "$CW_TMP/$1.queries"
	printf 'nameserver 127.0.0.1:%s\n' "$FAULT_PORT" >"$CW_TMP/$1.conf"
}

# http MODE TIMEOUT: corewatch http -4 --timeout TIMEOUT at the resolver
# of MODE, in the background, given TIMEOUT + 20 s to exit by itself;
# its result in $CW_TMP/MODE-TIMEOUT.json, stderr in .err, status in
# CW_STATUS and the seconds it took in TOOK.
http()
{
	local out="$CW_TMP/$1-$2" t0
	t0=$(date +%s.%N)
	cw_spawn "$out.err" bash -c '"$1" http -4 --timeout "$2" \
	    --resolv-conf "$3" "$4" >"$5"' _ "$COREWATCH" "$2" \
	    "$CW_TMP/$1.conf" "$URL" "$out.json"
	cw_wait "$CW_SPAWNED" $(($2 + 20))
	TOOK=$(echo "$(date +%s.%N) - $t0" | bc)
	cw_log "http $1 --timeout $2: status $CW_STATUS after $TOOK s"
}

# within SECONDS: the last http took at most SECONDS.
within()
{
	[ "$(echo "$TOOK <= $1" | bc)" = 1 ]
}

resolver silent
http silent 9
cw_check "silent, --timeout 9: exits by itself, in 9 s and a little" \
    eval '[ "$CW_STATUS" = 1 ] && within 12'
cw_expect "silent, --timeout 9: generic_timeout_error, not SERVFAIL" \
    "$CW_TMP/silent-9.json" 'length == 1 and
	(.[0] | .failure == "generic_timeout_error" and .addr == null and
	 (.failure_detail | test("nameserver 127.0.0.1 port [0-9]+: no reply")) and
	 .dns_ms >= 5000)'
http silent 2
cw_check "silent, --timeout 2: exits by itself, in 2 s and a little" \
    eval '[ "$CW_STATUS" = 1 ] && within 5'
cw_expect "silent, --timeout 2: generic_timeout_error" \
    "$CW_TMP/silent-2.json" 'length == 1 and
	.[0].failure == "generic_timeout_error" and .[0].dns_ms >= 1900'

resolver rcode-refused
http rcode-refused 9
cw_check "REFUSED: exits at once" \
    eval '[ "$CW_STATUS" = 1 ] && within 3'
cw_expect "REFUSED: dns_refused_error" "$CW_TMP/rcode-refused-9.json" \
    'length == 1 and .[0].failure == "dns_refused_error" and
	.[0].addr == null'

# Nothing listens: the kernel's ICMP port unreachable says so at once.
printf 'nameserver 127.0.0.1:%s\n' "$(cw_free_port)" >"$CW_TMP/closed.conf"
http closed 9
cw_check "closed port: exits at once" \
    eval '[ "$CW_STATUS" = 1 ] && within 3'
cw_expect "closed port: dns_refused_error" "$CW_TMP/closed-9.json" \
    'length == 1 and .[0].failure == "dns_refused_error" and
	(.[0].failure_detail | test("Connection refused"))'

resolver servfail
http servfail 9
cw_check "SERVFAIL: exit status 1" [ "$CW_STATUS" = 1 ]
cw_expect "SERVFAIL: dns_servfail_error" "$CW_TMP/servfail-9.json" \
    'length == 1 and .[0].failure == "dns_servfail_error"'

resolver nxdomain
http nxdomain 9
cw_check "NXDOMAIN: exit status 1" [ "$CW_STATUS" = 1 ]
cw_expect "NXDOMAIN: dns_nxdomain_error" "$CW_TMP/nxdomain-9.json" \
    'length == 1 and .[0].failure == "dns_nxdomain_error"'

# A line evdns cannot read, a closed port, then the NXDOMAIN server.
printf 'nameserver not-an-address\nnameserver 127.0.0.1:%s\nnameserver 127.0.0.1:%s\n' \
    "$(cw_free_port)" "$FAULT_PORT" >"$CW_TMP/two.conf"
http two 9
cw_check "a closed port, then a server: exit status 1" [ "$CW_STATUS" = 1 ]
cw_expect "a closed port, then a server: the second answers" \
    "$CW_TMP/two-9.json" 'length == 1 and
	.[0].failure == "dns_nxdomain_error" and
	(.[0].failure_detail | test("port '"$FAULT_PORT"':"))'
cw_check "libevent's messages through the probe's log, none raw" \
    eval '! grep -q "^\[" "$CW_TMP/two-9.err" &&
	grep -q "corewatch: warning: libevent: Unable to parse nameserver address not-an-address" \
	    "$CW_TMP/two-9.err"'

# run: a cycle every 8 s at the silent resolver, 7.5 s timeout (longer
# than the resolver's own): every result a timeout.
cat >"$CW_TMP/run.conf" <<EOF
probe {
	name = "http-resolver"
}
state_dir = "$CW_TMP/state"
resolv_conf = "$CW_TMP/silent.conf"
output {
	path = "$CW_TMP/run.jsonl"
}
http "silent" {
	url = "$URL"
	af = 4
	interval = 8s
	spread = 0
	timeout = 7500ms
}
EOF
cw_spawn "$CW_TMP/run.err" "$COREWATCH" run -c "$CW_TMP/run.conf"
RUN_PID=$CW_SPAWNED
for ((i = 0; i < 300; i++)); do
	[ "$(wc -l 2>/dev/null <"$CW_TMP/run.jsonl" || echo 0)" -ge 2 ] &&
	    break
	kill -0 "$RUN_PID" 2>/dev/null || break
	sleep 0.1
done
kill -TERM "$RUN_PID"
cw_wait "$RUN_PID" 10
cw_check "run: SIGTERM, exit 0 ($CW_STATUS)" [ "$CW_STATUS" = 0 ]
cw_expect "run: every cycle a timeout, none a SERVFAIL" "$CW_TMP/run.jsonl" \
    'length >= 2 and all(.[]; .failure == "generic_timeout_error")'
# Under the sanitizers contrib/test-all.sh has a report end the program
# with status 86 (the report itself goes to its files, not to *.err):
# every exit status above is checked.
[ "$CW_FAILURES" = 0 ] || cat "$CW_TMP"/*.err >&2
cw_done
