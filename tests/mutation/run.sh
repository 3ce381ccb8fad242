#!/bin/bash
# run.sh -- the mutation check: does the test suite catch a planted bug?
#
#   tests/mutation/run.sh [-k] [-l] [MUTANT...]
#
# Each mutant below plants one small, realistic bug against one
# invariant the suite claims to guard.  The check copies the source
# tree (tracked files plus uncommitted changes, not _build/) into a
# work directory, configures and builds the copy once with
# contrib/build.sh gcc, runs every selected test once on the unmutated
# copy (a test that fails there could "catch" anything), then for each
# mutant in turn: applies it, rebuilds, runs only its tests with
# `make check TESTS=...`, and restores the file.  It prints one line
# per mutant:
#
#   caught    at least one of its tests failed (marked [x] in the list)
#   MISSED    all its tests passed with the bug in place
#   INVALID   the mutant did not build (a mutant must compile)
#
# The exit status is 0 only when every mutant is caught; 1 when one is
# missed or invalid; 2 when the check itself cannot run (a mutant whose
# text is not found exactly once, a test that does not exist, a build or
# a baseline test that fails).
#
# Not part of `make check` or CI: it builds a dozen times and runs
# scenario tests, which takes 20-40 minutes on a small machine.  Run it
# (as root, like the scenario tests) when tests or the code of one of
# these invariants change, and report its table.
#
#   -k   keep the work directory (default: removed at the end)
#   -l   list the mutants and exit
#   MUTANT...  run only these (by name)
#
# CW_MUTATION_DIR sets the work directory (default: a new one under
# /tmp); CW_JOBS is make's -j (default 2).
#
# The mutants.  One record per mutant, a blank line between records;
# each line is a key, white space, and a value:
#   mutant     its name
#   invariant  what the bug breaks, in a few words
#   file       the file it edits, relative to the top of the tree
#   old, new   the text replaced and its replacement; \n is a newline,
#              \t a tab, \\ a backslash.  `old` must occur exactly once
#              in `file`, so that a mutant fails loudly, rather than
#              silently planting nothing, when the code around it moves.
#   tests      the tests that should catch it (as in TESTS: unit tests
#              by program name, scenario tests by script); keep it small
# A line starting with # is a comment.
# When a test is added that should catch a mutant, add it to its list.
read -r -d '' CW_MUTANTS <<'EOF'
mutant     chain_across
invariant  a record's prev is the hash of the stored record before it (across batches)
file       src/collector/store/store.c
old        (before = store_near_find(near, r->seq - 1)) != NULL &&
new        (before = store_near_find(near, r->seq)) != NULL &&
tests      tests/unit/collector/test_store tests/scenario/collector_http.sh

mutant     chain_in_batch
invariant  within a batch, a record's prev is the hash of the line before it
file       src/collector/store/store.c
old        if (r->seq != b->recs[i - 1].seq + 1)\n\t\t\tcontinue;
new        if (r->seq != b->recs[i - 1].seq)\n\t\t\tcontinue;
tests      tests/unit/collector/test_store tests/scenario/collector_http.sh

mutant     chain_spool
invariant  the spool writes the previous record's hash as prev (only seq 1 has zeros)
file       src/agent/spool.c
old        if (seq == 1)\n\t\tmemcpy(prev, SPOOL_ZERO_HASH
new        if (seq <= 2)\n\t\tmemcpy(prev, SPOOL_ZERO_HASH
tests      tests/unit/agent/test_spool tests/scenario/upload.sh

mutant     crc
invariant  the spool checks each frame's CRC-32 when it reads it
file       src/agent/spool_frame.c
old        \tif (spool_crc(p, len) != spool_get32(p + SPOOL_HDR + len))\n\t\treturn SPOOL_FRAME_BAD;\n
new        
tests      tests/unit/agent/test_spool tests/scenario/spool.sh

mutant     duplicates
invariant  a record already stored is counted as a duplicate, not as stored
file       src/collector/store/store.c
old        RECORD_HASH_LEN) == 0) {\n\t\t\trc->duplicates++;
new        RECORD_HASH_LEN) == 0) {\n\t\t\trc->stored++;
tests      tests/unit/collector/test_store tests/scenario/collector_http.sh

mutant     csv_order
invariant  every CSV row has its columns in the header's order
file       src/collector/export.c
old        export_csv_str(t, r->server, false);\n\texport_csv_str(t, r->addr, false);
new        export_csv_str(t, r->addr, false);\n\texport_csv_str(t, r->server, false);
tests      tests/unit/collector/test_export tests/scenario/export_atlas.sh

mutant     nsid
invariant  the NSID is recorded with every byte the server sent
file       probes/dns_wire.c
old        char *text = dns_text_escape(p + 4, olen);
new        char *text = dns_text_escape(p + 4, olen - 1);
tests      tests/unit/probes/test_dns tests/scenario/dns_nsd.sh

mutant     connect_time
invariant  HTTP connect_ms is the time from name lookup to connected
file       probes/http_result.c
old        http_set_phase(r, "connect_ms", dns, conn);
new        http_set_phase(r, "connect_ms", conn, conn);
# Only a test of a known delay catches it.
tests      tests/unit/probes/test_http tests/scenario/http_timing.sh

mutant     signature
invariant  the collector refuses a batch whose signature does not verify
file       src/lib/record.c
old        return crypto_sign_verify_detached(s, msg, n, pk) == 0;
new        return crypto_sign_verify_detached(s, msg, n, pk) <= 0;
tests      tests/unit/lib/test_record tests/scenario/collector_http.sh

mutant     receipt_seq
invariant  the probe takes as an ack only a receipt naming the batch's last seq
file       src/agent/upload.c
old        (uint64_t)json_integer_value(acked) == up->b.last;
new        (uint64_t)json_integer_value(acked) >= up->b.last;
tests      tests/unit/agent/test_upload tests/scenario/upload.sh

mutant     loss_gap
invariant  a loss record closes (explains) only a gap it covers whole
file       src/collector/store/store.c
old        "l.first_seq <= gaps.first_seq AND l.last_seq >= gaps.last_seq)",
new        "l.first_seq <= gaps.last_seq AND l.last_seq >= gaps.last_seq)",
tests      tests/unit/collector/test_store tests/scenario/collector_http.sh

mutant     rtt_clock
invariant  DNS rtt_ms is measured on the monotonic clock, send to reply
file       probes/dns.c
old        n = recvmsg(fd, &msg, 0);\n\tnow = cw_mono_usec();
new        n = recvmsg(fd, &msg, 0);\n\tnow = cw_real_usec();
tests      tests/unit/probes/test_dns tests/scenario/dns_nsd.sh

mutant     apex_soa_owner
invariant  an SOA query of a zone's apex answered without its SOA is impossible_answer
file       probes/dns_anomaly.c
old        found = ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA &&
new        found = ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA ||
tests      tests/unit/probes/test_dns tests/scenario/dns_faults.sh

mutant     non_dns_parsed
invariant  a TCP message that parsed as DNS is never non_dns_on_tcp
file       probes/dns.c
old        p->tcp_parsed = failure != CW_FAIL_DNS_MALFORMED;
new        p->tcp_parsed = false;
tests      tests/scenario/dns_faults.sh
EOF

# The rest is one block, read whole before it runs, so that editing this
# file while a check is running cannot change what that check does.
{
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
keep=0
list=0
while getopts kl opt; do
	case $opt in
	k)	keep=1 ;;
	l)	list=1 ;;
	*)	echo "usage: $0 [-k] [-l] [MUTANT...]" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))

die()
{
	echo "mutation: $*" >&2
	exit 2
}

# --- the table ---

M_NAME=() M_INV=() M_FILE=() M_OLD=() M_NEW=() M_TESTS=()
n=-1
while IFS= read -r line; do
	[ -n "${line//[[:space:]]/}" ] || continue
	case $line in
	\#*)	continue ;;
	esac
	read -r key value <<<"$line"
	case $key in
	mutant)	n=$((n + 1)); M_NAME[n]=$value ;;
	invariant|file|old|new|tests)
		[ "$n" -ge 0 ] || die "table: '$key' before any 'mutant'"
		case $key in
		invariant)	M_INV[n]=$value ;;
		file)		M_FILE[n]=$value ;;
		old)		M_OLD[n]=$value ;;
		new)		M_NEW[n]=$value ;;
		tests)		M_TESTS[n]=$value ;;
		esac ;;
	*)	die "table: unknown key '$key'" ;;
	esac
done <<<"$CW_MUTANTS"
for i in "${!M_NAME[@]}"; do
	for v in M_INV M_FILE M_OLD M_TESTS; do
		eval "[ -n \"\${$v[i]:-}\" ]" ||
		    die "table: mutant ${M_NAME[i]} has no ${v#M_}"
	done
	: "${M_NEW[i]:=}"
done

if [ "$list" = 1 ]; then
	for i in "${!M_NAME[@]}"; do
		printf '%-15s %s\n%15s (%s; %s)\n' "${M_NAME[i]}" \
		    "${M_INV[i]}" "" "${M_FILE[i]}" "${M_TESTS[i]}"
	done
	exit 0
fi

# The mutants to run: all, or those named.
SEL=()
if [ $# -eq 0 ]; then
	SEL=("${!M_NAME[@]}")
else
	for want; do
		found=
		for i in "${!M_NAME[@]}"; do
			[ "${M_NAME[i]}" = "$want" ] && found=$i
		done
		[ -n "$found" ] || die "no mutant named '$want' (-l lists them)"
		SEL+=("$found")
	done
fi

# mutate FILE OLD NEW: replace OLD, which must occur exactly once in
# FILE, by NEW (both with \n, \t and \\ escapes).  The file is
# rewritten, so its mtime moves and make rebuilds what depends on it.
mutate()
{
	/usr/bin/python3 - "$@" <<'PY'
import re, sys
path, old, new = sys.argv[1:4]
def unescape(s):
    return re.sub(r"\\([nt\\])",
                  lambda m: {"n": "\n", "t": "\t", "\\": "\\"}[m.group(1)], s)
old, new = unescape(old), unescape(new)
with open(path, encoding="utf-8") as f:
    text = f.read()
count = text.count(old)
if count != 1:
    sys.exit("mutation: %s: the text to replace occurs %d times, not once: %r"
             % (path, count, old))
with open(path, "w", encoding="utf-8") as f:
    f.write(text.replace(old, new, 1))
PY
}

# --- the copy ---

work=${CW_MUTATION_DIR:-$(mktemp -d /tmp/cw-mutation.XXXXXX)} ||
    die "cannot make a work directory"
mkdir -p "$work" || die "cannot make $work"
tree="$work/tree"
build="$tree/_build/gcc"
logs="$work/logs"
cleanup()
{
	if [ "$keep" = 1 ]; then
		echo "mutation: work directory kept: $work"
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
trap 'exit 2' INT TERM HUP
rm -rf "$tree" "$logs"
mkdir -p "$tree" "$logs" || die "cannot make $tree"

if git -C "$top" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	# Tracked and untracked-but-not-ignored files, as they are on disk
	# now (a tracked file deleted in the work tree is left out).
	(cd "$top" && git ls-files -z --cached --others --exclude-standard |
	    tar --null --no-recursion --ignore-failed-read -T - -cf - \
	    2>/dev/null) | tar -xf - -C "$tree" || die "cannot copy the tree"
else
	(cd "$top" && tar --exclude=./_build -cf - .) | tar -xf - -C "$tree" ||
	    die "cannot copy the tree"
fi

# Every mutant's text is there exactly once, and every test exists,
# before anything slow starts.
for i in "${SEL[@]}"; do
	f="$tree/${M_FILE[i]}"
	[ -f "$f" ] || die "mutant ${M_NAME[i]}: no file ${M_FILE[i]}"
	cp "$f" "$work/probe.tmp" || die "cannot copy $f"
	mutate "$work/probe.tmp" "${M_OLD[i]}" "${M_NEW[i]}" ||
	    die "mutant ${M_NAME[i]} does not apply to ${M_FILE[i]}"
	for t in ${M_TESTS[i]}; do
		[ -f "$tree/$t" ] || [ -f "$tree/$t.c" ] ||
		    die "mutant ${M_NAME[i]}: no test $t"
		grep -q "^[[:space:]]*${t//./\\.}[[:space:]\\]*\$" \
		    "$tree/Makefile.am" ||
		    die "mutant ${M_NAME[i]}: $t is not in Makefile.am's tests"
	done
done
rm -f "$work/probe.tmp"

echo "mutation: building a copy of $top in $tree"
start=$(date +%s)
(cd "$tree" && CW_JOBS=${CW_JOBS:-2} contrib/build.sh gcc) \
    >"$logs/build.log" 2>&1 ||
    die "the unmutated copy does not build (see $logs/build.log; -k keeps it)"
# The check programs (the unit tests and the scenarios' tools) too: a
# build failure of a mutant must show as such, not as a failing test.
CHECK_PROGRAMS=$(printf 'cw-list:\n\t@echo $(check_PROGRAMS)\n' |
    make -s -C "$build" -f Makefile -f - cw-list) ||
    die "cannot list check_PROGRAMS"
make -C "$build" -j"${CW_JOBS:-2}" $CHECK_PROGRAMS >>"$logs/build.log" 2>&1 ||
    die "the unmutated copy's tests do not build (see $logs/build.log)"

# run_tests TAG TEST...: make check on these tests; sets RESULT to the
# list with [x] after each test that failed (FAIL, ERROR, XPASS or no
# result at all), [skip] after each skipped, and FAILED to the number
# of failures.  Their logs are kept under $logs/TAG/.
run_tests()
{
	local tag=$1 t res
	shift
	# automake's logs: foo.sh's are foo.log and foo.trs.
	for t; do
		rm -f "$build/${t%.sh}.log" "$build/${t%.sh}.trs"
	done
	make -C "$build" check TESTS="$*" >"$logs/$tag.check.log" 2>&1
	mkdir -p "$logs/$tag"
	RESULT=
	FAILED=0
	for t; do
		res=$(sed -n 's/^:test-result: //p' "$build/${t%.sh}.trs" \
		    2>/dev/null | sort -u | tr '\n' ' ')
		cp "$build/${t%.sh}.log" "$logs/$tag/${t##*/}.log" 2>/dev/null
		case $res in
		"PASS ")	RESULT+="${t##*/} " ;;
		"SKIP ")	RESULT+="${t##*/}[skip] " ;;
		*)		RESULT+="${t##*/}[x] "; FAILED=$((FAILED + 1)) ;;
		esac
	done
	RESULT=${RESULT% }
}

# --- the baseline ---

ALL=()
for i in "${SEL[@]}"; do
	for t in ${M_TESTS[i]}; do
		case " ${ALL[*]} " in
		*" $t "*)	;;
		*)		ALL+=("$t") ;;
		esac
	done
done
echo "mutation: the unmutated copy, ${#ALL[@]} tests"
run_tests baseline "${ALL[@]}"
echo "mutation: baseline: $RESULT ($(( $(date +%s) - start )) s so far)"
[ "$FAILED" = 0 ] ||
    die "a test fails without any mutant ([x] above; logs in" \
    "$logs/baseline/, -k keeps them): no mutant can be judged by it"
case " $RESULT " in
*"[skip]"*)	echo "mutation: warning: a skipped test catches nothing" >&2 ;;
esac

# --- the mutants ---

TABLE=()
missed=0
for i in "${SEL[@]}"; do
	name=${M_NAME[i]}
	f="$tree/${M_FILE[i]}"
	t0=$(date +%s)
	cp "$f" "$work/orig.tmp" || die "cannot copy $f"
	mutate "$f" "${M_OLD[i]}" "${M_NEW[i]}" || die "mutant $name: no apply"
	# `all` first, on its own: it recurses, and a parallel build of
	# the check programs beside it would compile the same objects.
	if ! { make -C "$build" -j"${CW_JOBS:-2}" all &&
	    make -C "$build" -j"${CW_JOBS:-2}" $CHECK_PROGRAMS; } \
	    >"$logs/$name.build.log" 2>&1; then
		result=INVALID
		RESULT="(not run: see $name.build.log)"
		missed=$((missed + 1))
	else
		# shellcheck disable=SC2086
		run_tests "$name" ${M_TESTS[i]}
		if [ "$FAILED" -gt 0 ]; then
			result=caught
		else
			result=MISSED
			missed=$((missed + 1))
		fi
	fi
	# Restore by rewriting (a new mtime), so the next build undoes it.
	cat "$work/orig.tmp" >"$f" || die "cannot restore $f"
	line=$(printf '%-15s %-8s %s' "$name" "$result" "$RESULT")
	TABLE+=("$line" "$(printf '%24s%s (%s)' '' "${M_INV[i]}" \
	    "${M_FILE[i]}")")
	echo "mutation: $line ($(( $(date +%s) - t0 )) s)"
done
rm -f "$work/orig.tmp"

echo
printf '%-15s %-8s %s\n' mutant result "tests run ([x] failed: caught it)"
printf '%s\n' "${TABLE[@]}"
echo
echo "mutation: ${#SEL[@]} mutants, $(( ${#SEL[@]} - missed )) caught," \
    "$missed missed or invalid, in $(( $(date +%s) - start )) s"
[ "$missed" = 0 ] || exit 1
exit 0
}
