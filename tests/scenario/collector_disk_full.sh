#!/bin/bash
# collector_disk_full.sh -- a full disk under the collector's SQLite
# database.  The collector runs in a mount namespace of its own with a
# small tmpfs (made here, gone with the namespace) holding the database;
# the test fills that file system.  The database still answers a ping
# but every write fails: batches get 503, and /healthz must say so (503,
# "write_failed", the time of the last failure) instead of "ok", and
# keep saying so after space is freed, until a write works again.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

MKBATCH="$top_builddir/tests/tools/mkbatch"
REAL_COLLECTOR=$COLLECTOR
[ -x "$COLLECTOR" ] || cw_die "no $COLLECTOR"
[ -x "$MKBATCH" ] || cw_die "no $MKBATCH (make check builds it)"
[ "$(id -u)" = 0 ] || cw_die "needs root (a mount namespace and a tmpfs)"

cw_tmpdir
SMALL=$CW_TMP/small
mkdir -p "$SMALL" || cw_die "mkdir failed"
DB=sqlite:$SMALL/collector.db
SEED=0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c
CHAIN=0f0e0d0c0b0a09080706050403020100

# The collector in a new mount namespace, on a 2 MiB tmpfs at $SMALL;
# `exec` all the way keeps its pid the one cw_collector_start tracks.
cat >"$CW_TMP/in-small.sh" <<EOF
#!/bin/sh
exec unshare -m sh -c 'mount -t tmpfs -o size=2m,mode=0700 tmpfs "\$0" &&
    exec "\$@"' "$SMALL" "$REAL_COLLECTOR" "\$@"
EOF
chmod +x "$CW_TMP/in-small.sh"
COLLECTOR=$CW_TMP/in-small.sh
cat >"$CW_TMP/collector.conf" <<EOF
db = "$DB"
log_level = debug
EOF
cw_collector_start "$CW_TMP/collector.log" -c "$CW_TMP/collector.conf"
COLLECTOR=$REAL_COLLECTOR

# in_ns COMMAND...: run COMMAND in the collector's mount namespace.
in_ns()
{
	nsenter -t "$COLLECTOR_PID" -m -- "$@"
}

in_ns "$COLLECTOR" probe add --db "$DB" --name full-disk \
    --pubkey "$("$MKBATCH" pubkey --seed "$SEED")" >/dev/null ||
    cw_die "probe add failed"
cw_check "the database is on the small file system" \
    in_ns test -s "$SMALL/collector.db"
cw_check "which is not visible outside the namespace" \
    [ ! -e "$SMALL/collector.db" ]

# post NAME: POST batch NAME; STATUS, and the answer in $CW_TMP/resp.
post()
{
	cw_batch_post "$CW_TMP/$1.body" "$CW_TMP/$1.auth"
	STATUS=$CW_HTTP_STATUS
}

# health: GET /healthz into $CW_TMP/health; HSTATUS.
health()
{
	HSTATUS=$(curl -sS -o "$CW_TMP/health" -w '%{http_code}' \
	    --max-time 10 "$COLLECTOR_URL/healthz" 2>"$CW_TMP/curl.err")
}

# mkb NAME FROM [PREV]: 50 records from seq FROM; HASH: the last one's.
mkb()
{
	HASH=$("$MKBATCH" batch --seed "$SEED" --chain "$CHAIN" --from "$2" \
	    --count 50 ${3:+--prev "$3"} --out "$CW_TMP/$1.body" \
	    --auth "$CW_TMP/$1.auth") || cw_die "mkbatch $1 failed"
}

mkb first 1
post first
cw_check "a batch with room on the disk: 200" [ "$STATUS" = 200 ]
health
cw_check "/healthz: ok" [ "$HSTATUS" = 200 ]

# Fill the file system (dd stops at ENOSPC).
in_ns dd if=/dev/zero of="$SMALL/filler" bs=64k 2>/dev/null
cw_check "the file system is full" \
    [ "$(in_ns df --output=avail -B1 "$SMALL" | tail -n 1 | tr -d ' ')" = 0 ]
mkb second 51 "$HASH"
post second
cw_check "a full disk: the batch is refused with 503 ($STATUS)" \
    [ "$STATUS" = 503 ]
health
cw_check "a full disk: /healthz is not ok ($HSTATUS)" [ "$HSTATUS" = 503 ]
cw_expect "/healthz: the write that failed, when, and nothing more" \
    "$CW_TMP/health" '.[0] | .status == "failing" and
    .error == "write_failed" and .db_error == null and
    (.last_write_failure | test("^[0-9-]{10}T[0-9:]{8}\\.[0-9]{6}Z$"))'
cw_check "no path in the answer" \
    [ "$(grep -c -F "$SMALL" "$CW_TMP/health")" = 0 ]

# Room again: still reported until a write works.
in_ns rm -f "$SMALL/filler"
health
cw_check "space freed, no write yet: /healthz still 503 ($HSTATUS)" \
    [ "$HSTATUS" = 503 ]
post second
cw_check "room again: the batch is stored ($STATUS)" [ "$STATUS" = 200 ]
cw_expect "all of it" "$CW_TMP/resp" '.[0].stored == 50'
health
cw_check "a write worked: /healthz ok again ($HSTATUS)" [ "$HSTATUS" = 200 ]

cw_collector_stop
cw_check "a clean stop" [ "$CW_STATUS" = 0 ]
cw_done
