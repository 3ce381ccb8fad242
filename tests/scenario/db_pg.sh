#!/bin/bash
# db_pg.sh -- the PostgreSQL backend of db.h against a real server (a
# throwaway cluster on a unix socket): the db.h contract tests of
# tests/unit/collector/test_db, then the server lost and back: a query on the lost
# connection fails as "unavailable", db_ping() fails while the server is
# down and reconnects once it is up again, also when the server came
# back before anything noticed it had gone.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

TEST_DB="$top_builddir/tests/unit/collector/test_db"
[ -x "$TEST_DB" ] || cw_die "no $TEST_DB (make check builds it)"
# A driver that died must make this script fail, not kill it.
trap '' PIPE

cw_tmpdir
cw_pg_start

CW_TEST_DB_MODE=postgresql CW_TEST_PG_URL=$CW_PG_URL "$TEST_DB" \
    >"$CW_TMP/test_db.out" 2>&1
status=$?
cat "$CW_TMP/test_db.out" >&2
cw_check "test_db passes against PostgreSQL" [ "$status" = 0 ]

# The driver (test_db in reconnect mode) reads one command per line and
# answers one line; it runs on through the server's stop and start.
mkfifo "$CW_TMP/drv.in" "$CW_TMP/drv.out" || cw_die "mkfifo failed"
CW_TEST_DB_MODE=reconnect CW_TEST_PG_URL=$CW_PG_URL "$TEST_DB" \
    <"$CW_TMP/drv.in" >"$CW_TMP/drv.out" 2>"$CW_TMP/drv.err" &
DRIVER_PID=$!
cw_track "$DRIVER_PID"
exec 3>"$CW_TMP/drv.in" 4<"$CW_TMP/drv.out"

# drv_expect ANSWER DESCRIPTION: the driver's next line must be ANSWER
# (within 30 s: a reset waits at most connect_timeout, 5 s).
drv_expect()
{
	local answer
	read -r -t 30 answer <&4 || answer="(no answer)"
	cw_check "$2: $1" [ "$answer" = "$1" ] || cw_log "  got: $answer"
}

# drv COMMAND ANSWER DESCRIPTION
drv()
{
	printf '%s\n' "$1" >&3 2>/dev/null
	drv_expect "$2" "$3"
}

drv_expect open "driver connected"
drv query ok "query with the server up"
drv ping ok "ping with the server up"

cw_pg_stop
drv query unavailable "query after the server stopped"
drv ping unavailable "ping while the server is down"
drv query unavailable "query while the server is down"

cw_pg_start
drv ping ok "ping once the server is back"
drv query ok "query after the reconnect"

# Down and up again while the driver was idle: its connection looks
# fine until used; ping must find out and reconnect.
cw_pg_stop
cw_pg_start
drv ping ok "ping after an unnoticed restart"
drv query ok "query after that reconnect"

printf 'quit\n' >&3 2>/dev/null
exec 3>&- 4<&-
cw_wait "$DRIVER_PID" 20
cw_check "driver exits cleanly (status $CW_STATUS)" [ "$CW_STATUS" = 0 ]
if [ -s "$CW_TMP/drv.err" ]; then
	cw_log "driver stderr:"
	cat "$CW_TMP/drv.err" >&2
fi

cw_done
