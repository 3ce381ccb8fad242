#!/bin/bash
# wings.sh -- the two programs link only their own wing and src/lib
# (doc/hacking.md): corewatch-collector holds nothing of the probe
# (src/agent, probes/) and needs neither libcurl nor ldns, even through
# another library; corewatch holds nothing of the collector and needs
# neither SQLite nor libpq.
#
# Symbols are compared by name: every global symbol the wing's library
# (libcwagent.a, libcwcollector.a in the build tree) defines must be
# absent from the other program.  A check that finds no symbols at all
# in a library fails too, so that a renamed library cannot pass it.

. "$(dirname "$0")/lib.sh"
cw_tmpdir

COLLECTOR="$top_builddir/src/corewatch-collector"
for f in "$COREWATCH" "$COLLECTOR" "$top_builddir/libcwagent.a" \
    "$top_builddir/libcwcollector.a"; do
	[ -e "$f" ] || cw_die "no $f (make builds it)"
done

# defined NAME.a OUT: the global symbols the library defines.
defined() {
	nm -g --defined-only "$1" 2>/dev/null | awk 'NF == 3 { print $3 }' |
	    sort -u >"$2"
}
# in_program PROGRAM OUT: the global symbols the program defines.
in_program() {
	nm --defined-only "$1" | awk 'NF == 3 { print $3 }' | sort -u >"$2"
}
defined "$top_builddir/libcwagent.a" "$CW_TMP/agent.syms"
defined "$top_builddir/libcwcollector.a" "$CW_TMP/collector.syms"
in_program "$COREWATCH" "$CW_TMP/corewatch.in"
in_program "$COLLECTOR" "$CW_TMP/collector.in"

n=$(wc -l <"$CW_TMP/agent.syms")
cw_check "libcwagent.a defines symbols ($n)" [ "$n" -gt 50 ]
n=$(wc -l <"$CW_TMP/collector.syms")
cw_check "libcwcollector.a defines symbols ($n)" [ "$n" -gt 50 ]
# The probe program does hold its own wing: the comparison can see it.
comm -12 "$CW_TMP/agent.syms" "$CW_TMP/corewatch.in" >"$CW_TMP/own"
cw_check "corewatch holds symbols of its own wing" \
    grep -qx dns_probe_start "$CW_TMP/own"

comm -12 "$CW_TMP/agent.syms" "$CW_TMP/collector.in" >"$CW_TMP/leak1"
cw_check "corewatch-collector holds nothing of src/agent or probes/" \
    [ ! -s "$CW_TMP/leak1" ] || cat "$CW_TMP/leak1" >&2
comm -12 "$CW_TMP/collector.syms" "$CW_TMP/corewatch.in" >"$CW_TMP/leak2"
cw_check "corewatch holds nothing of src/collector" \
    [ ! -s "$CW_TMP/leak2" ] || cat "$CW_TMP/leak2" >&2

# Dynamic libraries, direct (NEEDED) and through others (ldd).
ldd "$COLLECTOR" >"$CW_TMP/collector.ldd" ||
    cw_die "ldd $COLLECTOR failed"
ldd "$COREWATCH" >"$CW_TMP/corewatch.ldd" || cw_die "ldd $COREWATCH failed"
cw_check "ldd sees libevent in corewatch-collector" \
    grep -q 'libevent' "$CW_TMP/collector.ldd"
cw_check "corewatch-collector needs no libcurl" \
    [ "$(grep -c 'libcurl' "$CW_TMP/collector.ldd")" = 0 ]
cw_check "corewatch-collector needs no ldns" \
    [ "$(grep -c 'libldns' "$CW_TMP/collector.ldd")" = 0 ]
cw_check "ldd sees libcurl and ldns in corewatch" \
    [ "$(grep -c -E 'libcurl|libldns' "$CW_TMP/corewatch.ldd")" = 2 ]
cw_check "corewatch needs no SQLite" \
    [ "$(grep -c 'libsqlite3' "$CW_TMP/corewatch.ldd")" = 0 ]
cw_check "corewatch needs no libpq" \
    [ "$(grep -c 'libpq' "$CW_TMP/corewatch.ldd")" = 0 ]

cw_done
