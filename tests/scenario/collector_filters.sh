#!/bin/bash
# collector_filters.sh -- the filters that export, summary, episodes and
# report share (--from, --to, --probe, --name, --addr, --country, --asn:
# one option table and one parser) refuse a bad value, or a window that
# ends before it starts, alike: exit 2, nothing on stdout, and on stderr
# the same one line but for the command's name.  A good value passes the
# parser in every command (it then stops at the missing database, exit
# 1); --type is export's and summary's only.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

[ -x "$COLLECTOR" ] || cw_die "no $COLLECTOR"
cw_tmpdir
DB=sqlite:$CW_TMP/missing.db

# cmd_args CMD: what CMD needs beside the filters to get past its own
# checks.
cmd_args()
{
	case $1 in
	export) echo "--format csv" ;;
	report) echo "--from 2026-11-26T10:00:00Z --to 2026-11-26T11:00:00Z" \
	    "--out $CW_TMP/r.html" ;;
	*) ;;
	esac
}

# refuses STATUS MESSAGE CMD ARGS...: `$COLLECTOR CMD --db $DB ARGS...`
# (with cmd_args CMD first) exits STATUS with nothing on stdout and
# exactly "corewatch-collector CMD: MESSAGE" on stderr.
refuses()
{
	local want=$1 text=$2 cmd=$3 got
	shift 3
	# shellcheck disable=SC2046  # cmd_args: words
	"$COLLECTOR" "$cmd" --db "$DB" $(cmd_args "$cmd") "$@" \
	    >"$CW_TMP/out" 2>"$CW_TMP/err"
	got=$?
	cw_check "$cmd $*: exit $want ($got)" [ "$got" = "$want" ]
	cw_check "$cmd $*: nothing on stdout" [ ! -s "$CW_TMP/out" ]
	cw_check "$cmd $*: says \"$text\"" \
	    [ "$(cat "$CW_TMP/err")" = "corewatch-collector $cmd: $text" ] ||
	    cat "$CW_TMP/err" >&2
}

notime='is not a UTC time (YYYY-MM-DDTHH:MM:SS[.uuuuuu]Z)'
noprobe='is neither a probe id (32 hex digits) nor a probe number'
for cmd in export summary episodes report; do
	refuses 2 "--from: \"yesterday\" $notime" "$cmd" --from yesterday
	refuses 2 "--to: \"2026-11-26\" $notime" "$cmd" --to 2026-11-26
	refuses 2 "--probe: \"xyz\" $noprobe" "$cmd" --probe xyz
	refuses 2 '--addr: "example.org" is not an IPv4 or IPv6 address' \
	    "$cmd" --addr example.org
	refuses 2 '--country: "UKR" is not a two-letter country code' \
	    "$cmd" --country UKR
	refuses 2 '--asn: "AS64500" is not an AS number (0 to 4294967295)' \
	    "$cmd" --asn AS64500
	refuses 2 "from must be before to" "$cmd" \
	    --from 2026-11-26T10:00:00Z --to 2026-11-26T09:00:00Z
	refuses 1 "$CW_TMP/missing.db: No such file or directory" "$cmd" \
	    --probe 7 --name root-soa --addr ::1 --country UA --asn 64500
	"$COLLECTOR" "$cmd" --help >"$CW_TMP/help"
	for opt in from to probe name addr country asn; do
		cw_check "$cmd --help: --$opt" grep -q -- "--$opt " \
		    "$CW_TMP/help"
	done
done
refuses 1 "$CW_TMP/missing.db: No such file or directory" export \
    --type dns
refuses 1 "$CW_TMP/missing.db: No such file or directory" summary \
    --type dns
refuses 2 "unknown option --type (try --help)" episodes --type dns
refuses 2 "unknown option or missing value --type (try --help)" report \
    --type dns
cw_check "no database was created" [ ! -e "$CW_TMP/missing.db" ]
cw_done
