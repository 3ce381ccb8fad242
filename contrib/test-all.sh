#!/bin/bash
# test-all.sh -- the whole corewatch test suite, exactly as CI runs it.
#
#   1. gcc build, warnings as errors (_build/gcc), then `make check`
#   2. clang build with AddressSanitizer + UndefinedBehaviorSanitizer
#      (_build/asan), then `make check` again with LeakSanitizer on; a
#      sanitizer report anywhere fails the check "asan: no sanitizer
#      reports"
#   3. `make distcheck` from the gcc build (counts as one test)
#   4. tests/fuzz/run.sh: libFuzzer on DNS replies, TLD cache files,
#      batches, the export and summary of arbitrary stored records, and
#      the log's signed notes, checkpoints and proofs,
#      CW_FUZZ_SECONDS (default 30) per target (counts as one test)
#
# Needs the packages in contrib/debian-packages (contrib/install-deps.sh).
# Some scenario tests create network namespaces, so run it as root.
# Build and test output goes to _build/logs/; the logs of failing tests
# are printed.  The last line is "N passed, N failed"; the exit status
# is 0 only when nothing failed.
#
# What counts.  Each build's `make check` gives exactly one count per
# test it was asked to run (`make list-tests` names them): passed when
# its .trs, written in this run, holds only PASS or XFAIL results (a
# .trs of several results, as a TAP driver writes, is still one test);
# failed, by name, otherwise: "(FAIL)", "(SKIP)" (nothing skips in CI,
# so a skip is a check that did not happen), or "(no result)" for a test
# cut off or never started.  On top of that, every step (a build, make
# check, distcheck, fuzz) that exits non-zero or runs longer than
# CW_STAGE_TIMEOUT seconds is a failure of its own: "gcc: make check
# (timed out after 1500 s)", "fuzz (status 1)".
#
# Each step runs in a session of its own (setsid) with a variable named
# after it in its environment.  When it ends or times out, whatever is
# left in that session (tests in the process groups of their per-test
# timeout(1), the servers they started) or carries that variable (a
# PostgreSQL that started a session of its own) gets TERM, then KILL
# 10 s later, so nothing a step started runs on after it.
#
# For its own test (tests/scenario/test_all.sh) three variables point it
# at a fake suite; CI sets none of them:
#   CW_BUILD_DIR  the directory of the builds and of logs/ (_build)
#   CW_BUILD      the command that builds VARIANT (gcc, asan) in
#                 $CW_BUILD_DIR/VARIANT (contrib/build.sh)
#   CW_FUZZ       the fuzzing command, given the seconds per target
#                 (tests/fuzz/run.sh)
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 2
export CW_JOBS=${CW_JOBS:-2}
builds=${CW_BUILD_DIR:-$top/_build}
build_cmd=${CW_BUILD:-contrib/build.sh}
fuzz_cmd=${CW_FUZZ:-tests/fuzz/run.sh}
logs="$builds/logs"
mkdir -p "$logs" || exit 2

# Each test has its own timeout (CW_TEST_TIMEOUT in Makefile.am); a
# whole step is cut off after this long.
step_timeout=${CW_STAGE_TIMEOUT:-1500}
passed=0
failed=0
failures=()
# The step running: its session id, the variable that marks its
# processes, and how many steps have run.
step_sid=
step_mark=
steps=0

say()
{
	printf '%s\n' "$*"
}

# elapsed START: seconds since START (date +%s).
elapsed()
{
	echo $(($(date +%s) - $1))
}

# record NAME OK: count one pass or failure named NAME.
record()
{
	if [ "$2" = 1 ]; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		failures+=("$1")
	fi
}

# step_pids: the live processes of the current step: those in its
# session and those with its variable in their environment.
step_pids()
{
	{
		ps -o pid=,stat= -s "$step_sid" | awk '$2 !~ /^Z/ { print $1 }'
		grep -lz "^$step_mark=" /proc/[0-9]*/environ 2>/dev/null |
		    sed 's|^/proc/||; s|/environ$||'
	} | sort -un
}

# step_stop NAME: stop every process of the current step: TERM (a
# test's EXIT trap stops its servers), up to 10 s for them to go, then
# KILL, a few rounds for anything forked meanwhile.  Returns 1 when
# some would not go.
step_stop()
{
	local name=$1 pids i
	[ -n "$step_sid" ] || return 0
	pids=$(step_pids)
	[ -n "$pids" ] || return 0
	say "== $name: stopping what it left running:"
	ps -o pid=,args= -p "$(echo $pids | tr ' ' ,)"
	kill -TERM $pids 2>/dev/null
	for ((i = 0; i < 20; i++)); do
		pids=$(step_pids)
		[ -z "$pids" ] && return 0
		sleep 0.5
	done
	for ((i = 0; i < 5; i++)); do
		kill -KILL $pids 2>/dev/null
		sleep 0.5
		pids=$(step_pids)
		[ -z "$pids" ] && return 0
	done
	say "== $name: still running after KILL:"
	ps -o pid=,stat=,args= -p "$(echo $pids | tr ' ' ,)"
	return 1
}

# step NAME LOG COMMAND...: run COMMAND with its output in LOG, for at
# most $step_timeout seconds, then stop whatever it left running; on
# failure show the end of LOG.  Sets $step_failure to "" when COMMAND
# exited 0 and left nothing that would not stop, else to "status N" or
# "timed out after N s" (with ", left processes running"); returns 0
# when it is empty.
step()
{
	local name=$1 log=$2 start pid status
	shift 2
	start=$(date +%s)
	say "== $name"
	steps=$((steps + 1))
	step_mark=CW_TEST_ALL_STEP_$$_$steps
	# A background job of a non-interactive shell leads no process
	# group, so setsid(1) does not fork: its pid is the session's id.
	env "$step_mark=1" setsid "$@" >"$log" 2>&1 </dev/null &
	pid=$!
	step_sid=$pid
	while kill -0 "$pid" 2>/dev/null &&
	    [ "$(elapsed "$start")" -lt "$step_timeout" ]; do
		sleep 1
	done
	step_failure=
	if kill -0 "$pid" 2>/dev/null; then
		step_failure="timed out after $step_timeout s"
		if step_stop "$name"; then
			wait "$pid"
		else
			step_failure+=", left processes running"
		fi
	else
		wait "$pid"
		status=$?
		[ "$status" = 0 ] || step_failure="status $status"
		step_stop "$name" ||
		    step_failure="${step_failure:-status 0}, left processes running"
	fi
	step_sid=
	if [ -z "$step_failure" ]; then
		say "== $name: ok ($(elapsed "$start") s)"
		return 0
	fi
	say "== $name: FAILED ($step_failure, $(elapsed "$start") s);" \
	    "end of $log:"
	tail -n 60 "$log"
	return 1
}

# show_log NAME LOG: print LOG (its last 64 KiB) between markers.
show_log()
{
	say "---- $1; its log:"
	tail -c 65536 "$2"
	say "---- end of $1"
}

# count_results BUILD DIR STAMP TESTS: count each test of TESTS (.log
# stems, from make list-tests) once, from its .trs in DIR if written
# after STAMP (a stale .trs of an earlier run is no result), and print
# the log of every test that did not pass.
count_results()
{
	local build=$1 dir=$2 stamp=$3 tests=$4 name results bad
	for name in $tests; do
		results=
		if [ "$dir/$name.trs" -nt "$stamp" ]; then
			results=$(sed -n 's/^:test-result: *//p' \
			    "$dir/$name.trs" | sort -u)
		fi
		bad=$(printf '%s\n' "$results" | grep -vx 'PASS\|XFAIL')
		if [ -z "$results" ]; then
			record "$build: $name (no result)" 0
			# make deletes the log of a test it was running
			# when stopped.
			if [ "$dir/$name.log" -nt "$stamp" ]; then
				show_log "$build: $name: no result" \
				    "$dir/$name.log"
			else
				say "---- $build: $name: no result, no log"
			fi
		elif [ -n "$bad" ]; then
			bad=$(echo $bad | sed 's/ /, /g')
			record "$build: $name ($bad)" 0
			show_log "$build: $name: $bad" "$dir/$name.log"
		else
			record "$build: $name" 1
		fi
	done
}

# suite BUILD [ENV...]: build variant BUILD, run make check in it with
# ENV and count the results: one per test it was asked to run, and a
# failure for a build or check step that failed.  Returns 1 when the
# build failed.
suite()
{
	local build=$1 dir="$builds/$1" stamp tests
	shift
	if ! step "$build: build" "$logs/$build-build.log" \
	    "$build_cmd" "$build"; then
		record "$build: build ($step_failure)" 0
		return 1
	fi
	# The tests check is asked to run, as make itself expands them
	# (TESTS, or a TESTS= on its command line).
	if ! tests=$(env "$@" make -s --no-print-directory -C "$dir" \
	    list-tests) || [ -z "$tests" ]; then
		record "$build: make list-tests (no list of tests)" 0
		return 0
	fi
	stamp="$logs/$build-check.stamp"
	touch "$stamp"
	sleep 1		# .trs files must be strictly newer than the stamp
	step "$build: make check" "$logs/$build-check.log" \
	    env "$@" make -C "$dir" -j"$CW_JOBS" check ||
	    record "$build: make check ($step_failure)" 0
	count_results "$build" "$dir" "$stamp" "$tests"
	say "== $build: $(echo $tests | wc -w) tests"
	return 0
}

trap 'step_stop interrupted; exit 130' INT
trap 'step_stop interrupted; exit 143' TERM
start_all=$(date +%s)
say "corewatch test-all: $(date -u '+%Y-%m-%d %H:%M:%S UTC'), $(uname -srm)"

# 1. gcc, warnings as errors.
suite gcc
gcc_ok=$?

# 2. clang with sanitizers.  Reports go to files so that none is lost in
# a test's captured stderr; exitcode 86 keeps a sanitizer failure apart
# from corewatch's own exit statuses.
sanlogs="$logs/sanitizer"
rm -rf "$sanlogs"
mkdir -p "$sanlogs"
san_common="exitcode=86:log_path=$sanlogs/report:print_stacktrace=1"
suite asan \
    ASAN_OPTIONS="$san_common:detect_leaks=1:halt_on_error=1:abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1" \
    UBSAN_OPTIONS="$san_common:halt_on_error=1" \
    LSAN_OPTIONS="exitcode=86:log_path=$sanlogs/report" \
    ASAN_SYMBOLIZER_PATH="$(command -v llvm-symbolizer || echo /usr/bin/llvm-symbolizer)"
asan_ok=$?
if [ "$asan_ok" = 0 ]; then
	reports=$(find "$sanlogs" -type f | sort)
	if [ -z "$reports" ]; then
		record "asan: no sanitizer reports" 1
	else
		record "asan: no sanitizer reports" 0
		for r in $reports; do
			say "---- sanitizer report $r:"
			cat "$r"
		done
	fi
fi

# 3. distcheck (its configure gets --enable-werror from
# AM_DISTCHECK_CONFIGURE_FLAGS).
if [ "$gcc_ok" = 0 ]; then
	if step "gcc: make distcheck" "$logs/distcheck.log" \
	    make -C "$builds/gcc" -j"$CW_JOBS" distcheck; then
		record "distcheck" 1
	else
		record "distcheck ($step_failure)" 0
		while IFS= read -r f; do
			say "---- $f:"
			cat "$f"
		done < <(find "$builds/gcc" -path '*/corewatch-*/*' \
		    -name test-suite.log 2>/dev/null)
	fi
else
	record "distcheck (not run: gcc build failed)" 0
fi

# 4. A short fuzzing run of what the network and the state directory
# hand the probe (DNS replies, TLD cache files), what a client posts to
# the collector (batches), and of the collector's readers of whatever
# its database holds (exports, summaries): no crash, no leak.
if step "fuzz: ${CW_FUZZ_SECONDS:-30} s per target" "$logs/fuzz.log" \
    "$fuzz_cmd" "${CW_FUZZ_SECONDS:-30}"
then
	record "fuzz" 1
else
	record "fuzz ($step_failure)" 0
fi

say ""
say "== total time $(elapsed "$start_all") s; logs in $logs"
for f in "${failures[@]}"; do
	say "FAILED: $f"
done
say "$passed passed, $failed failed"
[ "$failed" = 0 ]
