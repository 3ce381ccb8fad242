#!/bin/bash
# collector_nginx.sh -- contrib/nginx-collector.conf in front of the
# collector: Debian's nginx started with that file (its port, addresses,
# certificate and log made the test's own, everything else as shipped),
# a signed batch sent through it over TLS and stored, a made-up probe
# refused by the collector behind it, a body over the limit refused by
# nginx itself, and no client address written by nginx.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

MKBATCH="$top_builddir/tests/tools/mkbatch"
SITE="$CW_SCENARIO_DIR/../../contrib/nginx-collector.conf"
[ -x "$COLLECTOR" ] || cw_die "no $COLLECTOR"
[ -x "$MKBATCH" ] || cw_die "no $MKBATCH (make check builds it)"
[ -x /usr/sbin/nginx ] || cw_die "no /usr/sbin/nginx"
[ -f "$SITE" ] || cw_die "no $SITE"

cw_tmpdir
DB="sqlite:$CW_TMP/collector.db"
SEED=0101010101010101010101010101010101010101010101010101010101010101
"$COLLECTOR" probe add --db "$DB" --name probe-a \
    --pubkey "$("$MKBATCH" pubkey --seed "$SEED")" >/dev/null ||
    cw_die "probe add failed"
cw_collector_start "$CW_TMP/collector.log" --db "$DB"

DIR="$CW_TMP/nginx"
TLS="$CW_TMP/tls"
mkdir -p "$DIR/tmp" || cw_die "cannot create $DIR"
cw_tls_ca "$TLS"
cw_tls_cert "$TLS" collector collector.test "DNS:collector.test,IP:127.0.0.1"

# site_adapt PORT: the shipped site with the test's port, upstream,
# certificate and error log; dies when one of them is not where the
# file had it.
site_adapt()
{
	sed -e "s|^\(\tlisten \)443 ssl;|\1127.0.0.1:$1 ssl;|" \
	    -e '/^\tlisten \[::\]:443 ssl;$/d' \
	    -e "s|server 127.0.0.1:8080;|server 127.0.0.1:$COLLECTOR_PORT;|" \
	    -e "s|/etc/ssl/certs/collector.example.org.pem|$TLS/collector.crt|" \
	    -e "s|/etc/ssl/private/collector.example.org.key|$TLS/collector.key|" \
	    -e "s|/var/log/nginx/corewatch-collector.error.log|$DIR/site-error.log|" \
	    "$SITE" >"$DIR/site.conf"
	for want in "listen 127.0.0.1:$1 ssl;" \
	    "server 127.0.0.1:$COLLECTOR_PORT;" "$TLS/collector.crt" \
	    "$TLS/collector.key" "$DIR/site-error.log"; do
		grep -qF "$want" "$DIR/site.conf" ||
		    cw_die "contrib/nginx-collector.conf changed: no \"$want\""
	done
	grep -q '443' "$DIR/site.conf" && cw_die "a port 443 left in the site"
	return 0
}

# nginx_conf: the main configuration, as Debian's /etc/nginx/nginx.conf
# would have it (an access log for the whole server), with the site.
nginx_conf()
{
	cw_nginx_main "$DIR"
	printf '\taccess_log %s;\n\tinclude %s;\n}\n' "$DIR/access.log" \
	    "$DIR/site.conf"
}

up=0
for ((attempt = 1; attempt <= 5 && up == 0; attempt++)); do
	PORT=$(cw_free_port) || cw_die "no free port"
	site_adapt "$PORT"
	nginx_conf >"$DIR/nginx.conf"
	/usr/sbin/nginx -t -q -p "$DIR" -e "$DIR/error.log" \
	    -c "$DIR/nginx.conf" >&2 || cw_die "nginx -t rejects the site"
	cw_spawn "$DIR/nginx.out" /usr/sbin/nginx -p "$DIR" \
	    -e "$DIR/error.log" -c "$DIR/nginx.conf"
	NGINX_PID=$CW_SPAWNED
	for ((i = 0; i < 100; i++)); do
		kill -0 "$NGINX_PID" 2>/dev/null || break
		if curl -s --noproxy '*' --cacert "$TLS/ca.crt" -o /dev/null \
		    --max-time 1 -f "https://127.0.0.1:$PORT/healthz"; then
			up=1
			break
		fi
		sleep 0.1
	done
	[ "$up" = 1 ] || cw_stop "$NGINX_PID"
done
[ "$up" = 1 ] || { cat "$DIR/error.log" >&2; cw_die "nginx did not start"; }
URL="https://127.0.0.1:$PORT"
cw_log "nginx: pid $NGINX_PID on $URL, collector $COLLECTOR_URL"

# post NAME BODY AUTH [CURL ARGS]: POST a batch through nginx; STATUS,
# and the answer in $CW_TMP/NAME.resp.
post()
{
	local name=$1 body=$2 auth=$3
	shift 3
	STATUS=$(curl -sS --noproxy '*' --cacert "$TLS/ca.crt" --max-time 20 \
	    -o "$CW_TMP/$name.resp" -w '%{http_code}' \
	    -H "Content-Type: application/x-ndjson" -H "Authorization: $auth" \
	    "$@" --data-binary "@$body" "$URL/api/v1/batches" \
	    2>"$CW_TMP/$name.err")
}

"$MKBATCH" batch --seed "$SEED" --chain 00112233445566778899aabbccddeeff \
    --from 1 --count 20 --gzip --out "$CW_TMP/good.body" \
    --auth "$CW_TMP/good.auth" >/dev/null || cw_die "mkbatch failed"
post good "$CW_TMP/good.body" "$(cat "$CW_TMP/good.auth")" \
    -H "Content-Encoding: gzip"
cw_check "a signed batch through nginx over TLS: 200 ($STATUS)" \
    [ "$STATUS" = 200 ]
cw_expect "its receipt: 20 stored, acked seq 20" "$CW_TMP/good.resp" \
    '.[0].acked_seq == 20 and .[0].stored == 20'
cw_check "the records are in the database" \
    [ "$(sqlite3 "$CW_TMP/collector.db" 'SELECT count(*) FROM records')" = 20 ]

post nobody "$CW_TMP/good.body" \
    "CW1-Ed25519 probe=0123456789abcdef0123456789abcdef,sig=$(head -c 64 \
    /dev/zero | base64 -w0)"
cw_check "a made-up probe through nginx: 401 ($STATUS)" [ "$STATUS" = 401 ]
cw_expect "the collector's JSON error comes back" "$CW_TMP/nobody.resp" \
    '.[0].error == "unauthorized"'

head -c $((5 << 20)) /dev/zero >"$CW_TMP/big.body"
post big "$CW_TMP/big.body" "$(cat "$CW_TMP/good.auth")"
cw_check "a body over 4 MiB is refused by nginx: 413 ($STATUS)" \
    [ "$STATUS" = 413 ]

cw_check "nginx logs no request of the collector's site" \
    [ ! -s "$DIR/access.log" ]
cw_check "nor any client address" \
    sh -c "! cat '$DIR/error.log' '$DIR/site-error.log' 2>/dev/null |
    grep -q '127\.0\.0\.1'"

cw_done
