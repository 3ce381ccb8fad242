#!/bin/bash
# http_hosts.sh -- `corewatch run` follows a change of its hosts file
# without a restart.  The configuration (in a directory of its own, the
# agent started elsewhere) names hosts_file = "hosts", a file of the
# test's own next to it, where moving.test is first 127.0.0.1 (nginx
# answers), then 127.0.0.2 (written in place: nothing listens there,
# the connection is refused, but the address is the new one and the old
# one is gone), then 127.0.0.3 (the same size, a new file renamed over
# it), then not there at all (the lookup goes to resolv_conf's server,
# 127.0.0.1 on a port where nothing answers: no address).
#
# The test runs in a network namespace of its own (loopback only), with
# its own /etc/hosts and resolv.conf, and names only a loopback
# nameserver: nothing it looks up or sends leaves the machine.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

cw_netns_isolate cwhosts $'127.0.0.1 localhost'

cw_tmpdir
cw_nginx_start
HP=$NGINX_HTTP_PORT
CONF_DIR=$CW_TMP/conf
HOSTS=$CONF_DIR/hosts
OUT=$CONF_DIR/results.jsonl
mkdir "$CONF_DIR" "$CW_TMP/elsewhere" || cw_die "mkdir failed"

# No server listens on this port: a lookup sent there gets no answer.
printf 'nameserver 127.0.0.1:%s\n' "$(cw_free_port)" >"$CW_TMP/resolv.conf"
printf '127.0.0.1 localhost\n127.0.0.1 moving.test\n' >"$HOSTS"

# File names relative to the configuration's directory (corewatch.conf(5)).
cat >"$CONF_DIR/agent.conf" <<EOF
probe {
	name = "http-hosts"
}
state_dir = "state"
resolv_conf = "$CW_TMP/resolv.conf"
hosts_file = "hosts"
output {
	path = "results.jsonl"
}
http "moving" {
	url = "http://moving.test:$HP/?moving"
	af = 4
	interval = 2s
	spread = 0
	timeout = 1500ms
}
EOF

# seen: the complete result lines so far.
seen()
{
	wc -l 2>/dev/null <"$OUT" || echo 0
}

# after N FILTER SECONDS: until a complete result line after the first N
# satisfies the jq FILTER (bounded; false at once when the agent is gone).
after()
{
	local n=$1 filter=$2 i lines
	for ((i = 0; i < $3 * 10; i++)); do
		kill -0 "$RUN_PID" 2>/dev/null || return 1
		lines=$(seen)
		head -n "$lines" "$OUT" 2>/dev/null | tail -n +"$((n + 1))" |
		    jq -e -s "any(.[]; $filter)" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

cw_spawn "$CW_TMP/run.err" bash -c 'cd "$1" && exec "$2" run -c "$3"' _ \
    "$CW_TMP/elsewhere" "$COREWATCH" "$CONF_DIR/agent.conf"
RUN_PID=$CW_SPAWNED

cw_check "hosts 127.0.0.1: nginx answers, output relative to the configuration" \
    after 0 '.ok and .status == 200 and .addr == "127.0.0.1" and
	.resolved == ["127.0.0.1"]' 10

N=$(seen)
printf '127.0.0.1 localhost\n127.0.0.2 moving.test\n' >"$HOSTS"
cw_check "hosts written in place: the new address alone" \
    after "$N" '.addr == "127.0.0.2" and .resolved == ["127.0.0.2"] and
	.failure == "connection_refused"' 10

N=$(seen)
printf '127.0.0.1 localhost\n127.0.0.3 moving.test\n' >"$HOSTS.new"
mv "$HOSTS.new" "$HOSTS"
cw_check "hosts replaced by rename: the new address alone" \
    after "$N" '.addr == "127.0.0.3" and .resolved == ["127.0.0.3"]' 10

N=$(seen)
printf '127.0.0.1 localhost\n' >"$HOSTS"
cw_check "name removed from hosts: no address (the nameserver is silent)" \
    after "$N" '.addr == null and .ok == false and .resolved == null' 10

cw_check "the agent kept running" kill -0 "$RUN_PID"
cw_check "the agent said so at each change" \
    [ "$(grep -c 'hosts changed: its names are in use' "$CW_TMP/run.err")" -ge 3 ]
kill -TERM "$RUN_PID"
cw_wait "$RUN_PID" 10
# Not 0 when it failed, crashed or hung (137: killed after 10 s); 86
# under contrib/test-all.sh when a sanitizer reported (into its files).
cw_check "SIGTERM: the agent exits 0 ($CW_STATUS)" [ "$CW_STATUS" = 0 ]
[ "$CW_FAILURES" = 0 ] || cat "$CW_TMP/run.err" "$OUT" >&2
cw_done
