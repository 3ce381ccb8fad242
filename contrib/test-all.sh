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
#      batches, and the export and summary of arbitrary stored records,
#      CW_FUZZ_SECONDS (default 30) per target (counts as one test)
#
# Needs the packages in contrib/debian-packages (contrib/install-deps.sh).
# Some scenario tests create network namespaces, so run it as root.
# Build and test output goes to _build/logs/; the logs of failing tests
# are printed.  The last line is "N passed, N failed", counting every
# test of every build; the exit status is 0 only when nothing failed.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 2
export CW_JOBS=${CW_JOBS:-2}
logs="$top/_build/logs"
mkdir -p "$logs" || exit 2

# Each test has its own timeout (CW_TEST_TIMEOUT in Makefile.am); a
# whole `make check` or distcheck stage is cut off after this long.
stage_timeout=${CW_STAGE_TIMEOUT:-1500}
passed=0
failed=0
failures=()

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

# step NAME LOG COMMAND...: run COMMAND with its output in LOG; on
# failure show the end of LOG.  Returns COMMAND's status.
step()
{
	local name=$1 log=$2 start status
	shift 2
	start=$(date +%s)
	say "== $name"
	"$@" >"$log" 2>&1 </dev/null
	status=$?
	if [ "$status" = 0 ]; then
		say "== $name: ok ($(elapsed "$start") s)"
	else
		say "== $name: FAILED (status $status, $(elapsed "$start") s);" \
		    "end of $log:"
		tail -n 60 "$log"
	fi
	return "$status"
}

# count_results BUILD DIR STAMP: count the .trs files under DIR written
# after STAMP (stale results of an earlier run are ignored) and print the
# log of every test that did not pass.  Sets $counted to their number.
count_results()
{
	local build=$1 dir=$2 stamp=$3 trs res name
	counted=0
	while IFS= read -r trs; do
		name=${trs#"$dir"/}
		name=${name%.trs}
		while IFS= read -r res; do
			counted=$((counted + 1))
			case $res in
			PASS|XFAIL)
				record "$build: $name" 1 ;;
			*)
				record "$build: $name ($res)" 0
				say "---- $build: $name: $res; its log:"
				tail -c 65536 "${trs%.trs}.log"
				say "---- end of $build: $name"
				;;
			esac
		done < <(sed -n 's/^:test-result: *//p' "$trs")
	done < <(find "$dir" -path "$dir/corewatch-*" -prune -o \
	    -name '*.trs' -newer "$stamp" -print | sort)
}

# suite BUILD [ENV...]: build variant BUILD, run make check in it and
# count the results.  A build or check failure without test results
# counts as one failed test.
suite()
{
	local build=$1 dir="$top/_build/$1" stamp
	shift
	if ! step "$build: build" "$logs/$build-build.log" \
	    contrib/build.sh "$build"; then
		record "$build: build" 0
		return 1
	fi
	stamp="$logs/$build-check.stamp"
	touch "$stamp"
	sleep 1		# .trs files must be strictly newer than the stamp
	step "$build: make check" "$logs/$build-check.log" \
	    env "$@" timeout -k 30 "$stage_timeout" \
	    make -C "$dir" -j"$CW_JOBS" check
	local status=$?
	count_results "$build" "$dir" "$stamp"
	say "== $build: $counted test results"
	if [ "$status" != 0 ] && [ "$counted" = 0 ]; then
		record "$build: make check" 0
	fi
	return 0
}

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
	    timeout -k 30 "$stage_timeout" \
	    make -C "$top/_build/gcc" -j"$CW_JOBS" distcheck; then
		record "distcheck" 1
	else
		record "distcheck" 0
		while IFS= read -r f; do
			say "---- $f:"
			cat "$f"
		done < <(find "$top/_build/gcc" -path '*/corewatch-*/*' \
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
    timeout -k 30 "$stage_timeout" tests/fuzz/run.sh "${CW_FUZZ_SECONDS:-30}"
then
	record "fuzz" 1
else
	record "fuzz" 0
fi

say ""
say "== total time $(elapsed "$start_all") s; logs in $logs"
for f in "${failures[@]}"; do
	say "FAILED: $f"
done
say "$passed passed, $failed failed"
[ "$failed" = 0 ]
