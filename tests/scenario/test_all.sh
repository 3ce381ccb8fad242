#!/bin/bash
# test_all.sh -- contrib/test-all.sh counts one result for every test it
# asked for, fails a step that fails or times out, and leaves nothing
# running.  It runs, whole, against a fake suite: a tiny automake
# project generated into the work directory and autoreconf'd (a second
# or two), so that the .trs files are written by automake's own parallel
# harness, test-driver and tap-driver.sh, exactly as in the real suite,
# each test under `timeout` in a process group of its own.  Its tests:
#   pass.sh     passes
#   crash.sh    kills itself with SIGSEGV
#   skip.sh     exits 77
#   two.tap     two TAP results, both ok: one test, counted once
#   hang.sh     ignores TERM and sleeps, with two children that ignore
#               TERM too: one in a session of its own, one in a process
#               group of its own with an empty environment
#   missing.sh  would pass, but comes after hang.sh (make -j1)
# The fake asan build fails (status 3) and the fake fuzzer exits 1,
# leaving a child in a process group of its own.  With a step timeout of
# $T seconds test-all must print "2 passed, 8 failed", exit 1, name each
# failure, and leave no process of the fake suite alive: none with the
# variable this test puts in test-all's environment (distcheck's
# included), none of those that wrote their pid and start time.
# Then the same suite with everything fixed (CW_FAKE_GOOD) must give
# "15 passed, 0 failed" and exit 0: the count can pass, too.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

: "${top_srcdir:=$(cd "$CW_SCENARIO_DIR/../.." && pwd)}"
TEST_ALL="$top_srcdir/contrib/test-all.sh"
[ -r "$TEST_ALL" ] || cw_die "no $TEST_ALL"
command -v autoreconf >/dev/null || cw_die "no autoreconf (autoconf)"
# The step timeout of the first run: long enough for the fake build
# (configure, a second or two) and the quick tests before hang.sh, even
# on a busy machine.  The second run, where nothing hangs, gets 120 s.
T=20

cw_tmpdir
SRC="$CW_TMP/src"
mkdir -p "$SRC" || cw_die "mkdir failed"

cat >"$SRC/configure.ac" <<'EOF'
AC_INIT([fake], [1])
AC_CONFIG_AUX_DIR([build-aux])
AM_INIT_AUTOMAKE([foreign])
AC_REQUIRE_AUX_FILE([tap-driver.sh])
AC_PROG_AWK
AC_CONFIG_FILES([Makefile])
AC_OUTPUT
EOF
{
	cat <<'EOF'
TESTS = pass.sh crash.sh skip.sh two.tap hang.sh missing.sh
EXTRA_DIST = $(TESTS)
TEST_EXTENSIONS = .sh .tap
SH_LOG_COMPILER = timeout -k 1 600 $(SHELL)
TAP_LOG_COMPILER = timeout -k 1 600 $(SHELL)
TAP_LOG_DRIVER = env AM_TAP_AWK='$(AWK)' $(SHELL) \
	$(top_srcdir)/build-aux/tap-driver.sh
EOF
	# corewatch's own list-tests rule, the one under test.
	sed -n '/^\.PHONY: list-tests$/,/^$/p' "$top_srcdir/Makefile.am"
} >"$SRC/Makefile.am"
grep -q '^list-tests:' "$SRC/Makefile.am" ||
    cw_die "no list-tests rule in $top_srcdir/Makefile.am"

cat >"$SRC/pass.sh" <<'EOF'
exit 0
EOF
cp "$SRC/pass.sh" "$SRC/missing.sh"
cat >"$SRC/crash.sh" <<'EOF'
[ -n "${CW_FAKE_GOOD:-}" ] && exit 0
kill -SEGV $$
EOF
cat >"$SRC/skip.sh" <<'EOF'
[ -n "${CW_FAKE_GOOD:-}" ] && exit 0
exit 77
EOF
cat >"$SRC/two.tap" <<'EOF'
echo 1..2
echo ok 1 - first
echo ok 2 - second
EOF
# Each process to look for writes "PID STARTTIME" to a file of its own.
cat >"$SRC/hang.sh" <<'EOF'
[ -n "${CW_FAKE_GOOD:-}" ] && exit 0
trap '' TERM
me='echo "$$ $(cut -d" " -f22 /proc/$$/stat)"'
eval "$me" >"$CW_FAKE_PIDS/hang.$$"
# A child in a session of its own: test-all finds it by the variable in
# its environment.
setsid sh -c "$me"' >"$CW_FAKE_PIDS/escaper.$$"; exec sleep 600' &
# A child in a process group of its own (job control) with an empty
# environment: test-all finds it by its session.
set -m
env -i sh -c "$me"' >"$1.$$"; exec sleep 600' sh "$CW_FAKE_PIDS/blind" &
sleep 600
EOF
(cd "$SRC" && autoreconf -fi) >"$CW_TMP/autoreconf.log" 2>&1 || {
	cat "$CW_TMP/autoreconf.log" >&2
	cw_die "autoreconf of the fake suite failed"
}

# CW_BUILD: configure and make the fake suite; the variant named in
# CW_FAKE_BROKEN fails.
cat >"$CW_TMP/build" <<EOF
#!/bin/sh
set -e
if [ "\$1" = "\${CW_FAKE_BROKEN:-}" ]; then
	echo "fake build of \$1: broken" >&2
	exit 3
fi
mkdir -p "\$CW_BUILD_DIR/\$1"
cd "\$CW_BUILD_DIR/\$1"
[ -f Makefile ] || "$SRC/configure" -q
make
EOF
# CW_FUZZ: leaves a child in a process group of its own; fails unless
# CW_FAKE_GOOD.
cat >"$CW_TMP/fuzz" <<'EOF'
#!/bin/sh
timeout 600 sh -c \
    'echo "$$ $(cut -d" " -f22 /proc/$$/stat)" >"$CW_FAKE_PIDS/fuzz.$$"
    exec sleep 600' &
[ -n "${CW_FAKE_GOOD:-}" ]
EOF
chmod +x "$CW_TMP/build" "$CW_TMP/fuzz"

# run NAME TIMEOUT [VAR=VALUE...]: test-all.sh on the fake suite with a
# step timeout of TIMEOUT seconds, in builds of its own ($CW_TMP/NAME),
# output in $CW_TMP/NAME.out, exit status in RUN_STATUS.  Every process it starts has CW_FAKE_MARK=$CW_TMP/NAME in
# its environment; nothing of the make check running this test leaks
# in.
run()
{
	local name=$1 timeout=$2
	shift 2
	mkdir -p "$CW_TMP/$name.pids"
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
	    CW_FAKE_MARK="$CW_TMP/$name" CW_FAKE_PIDS="$CW_TMP/$name.pids" \
	    CW_BUILD_DIR="$CW_TMP/$name" CW_BUILD="$CW_TMP/build" \
	    CW_FUZZ="$CW_TMP/fuzz" CW_STAGE_TIMEOUT=$timeout CW_JOBS=1 "$@" \
	    "$TEST_ALL" >"$CW_TMP/$name.out" 2>&1 </dev/null
	RUN_STATUS=$?
	cw_log "test-all on the fake suite ($name): status $RUN_STATUS;" \
	    "its output:"
	sed 's/^/  | /' "$CW_TMP/$name.out" >&2
}

# survivors NAME: the processes of run NAME still alive.
survivors()
{
	grep -lzx "CW_FAKE_MARK=$CW_TMP/$1" /proc/[0-9]*/environ 2>/dev/null |
	    sed 's|^/proc/||; s|/environ$||'
}

# pids_gone NAME WHAT: run NAME wrote at least one WHAT.PID file, and
# none of those processes is still alive (the same pid and start time,
# not a zombie: an init may be slow to reap the orphans).
pids_gone()
{
	local f pid start n=0
	for f in "$CW_TMP/$1.pids/$2".*; do
		[ -f "$f" ] || continue
		n=$((n + 1))
		read -r pid start <"$f"
		if [ "$(awk '$3 != "Z" { print $22 }' "/proc/$pid/stat" \
		    2>/dev/null)" = "$start" ]; then
			cw_log "$2 $pid still running"
			return 1
		fi
	done
	[ "$n" -gt 0 ]
}

# --- everything goes wrong ---------------------------------------------
run bad "$T" CW_FAKE_BROKEN=asan
cw_check "bad: exit status 1" [ "$RUN_STATUS" = 1 ]
cw_check "bad: last line '2 passed, 8 failed'" \
    [ "$(tail -n 1 "$CW_TMP/bad.out")" = "2 passed, 8 failed" ]
sort >"$CW_TMP/bad.expected" <<EOF
FAILED: gcc: make check (timed out after $T s)
FAILED: gcc: crash (FAIL)
FAILED: gcc: skip (SKIP)
FAILED: gcc: hang (no result)
FAILED: gcc: missing (no result)
FAILED: asan: build (status 3)
FAILED: distcheck (timed out after $T s)
FAILED: fuzz (status 1)
EOF
grep '^FAILED: ' "$CW_TMP/bad.out" | sort >"$CW_TMP/bad.failed"
cw_check "bad: each failure named, nothing else" \
    diff -u "$CW_TMP/bad.expected" "$CW_TMP/bad.failed"
cw_check "bad: the crash's log shown" \
    grep -q '^---- gcc: crash: FAIL; its log:' "$CW_TMP/bad.out"
cw_check "bad: the hanging test gone" pids_gone bad hang
cw_check "bad: its child in a session of its own gone" \
    pids_gone bad escaper
cw_check "bad: its child with an empty environment gone" \
    pids_gone bad blind
cw_check "bad: the fuzzer's child gone" pids_gone bad fuzz
cw_check "bad: no process of the fake suite left" \
    [ -z "$(survivors bad)" ]

# --- everything fixed ---------------------------------------------------
# gcc: 6 tests; asan: 6 tests and no sanitizer reports; distcheck; fuzz.
run good 120 CW_FAKE_GOOD=1
cw_check "good: exit status 0" [ "$RUN_STATUS" = 0 ]
cw_check "good: last line '15 passed, 0 failed'" \
    [ "$(tail -n 1 "$CW_TMP/good.out")" = "15 passed, 0 failed" ]
grep '^FAILED: ' "$CW_TMP/good.out" >"$CW_TMP/good.failed"
cw_check "good: no failure named" [ ! -s "$CW_TMP/good.failed" ]
cw_check "good: the fuzzer's child reported and gone" \
    grep -q '^== fuzz: .*: stopping what it left running:' \
    "$CW_TMP/good.out"
cw_check "good: the fuzzer's child gone" pids_gone good fuzz
cw_check "good: no process of the fake suite left" \
    [ -z "$(survivors good)" ]

cw_done
