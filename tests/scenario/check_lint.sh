#!/bin/bash
# check_lint.sh -- no check under tests/ asserts less than it says.
#
# `cw_check "a and b" [ a ] && [ b ]` prints "ok: a and b" whatever b
# is: cw_check runs [ a ] only, and the shell throws away the status of
# [ b ].  tests/tools/checklint.py finds such compounds (see there for
# the rules); this test runs it on a planted sample first, to show that
# it catches each bad form and leaves the failure actions alone, and
# then on every *.sh under tests/.

. "$(dirname "$0")/lib.sh"
cw_tmpdir

LINT="$CW_SCENARIO_DIR/../tools/checklint.py"
TESTS_DIR=$(cd "$CW_SCENARIO_DIR/.." && pwd)

# The sample: each line with "BAD" at its end must be reported, by the
# line its check starts on; nothing else.  Quoted, commented and
# here-document text that looks like a compound is not code.
cat >"$CW_TMP/sample.sh" <<'EOF'
cw_check "a and b" [ "$a" = 1 ] && [ "$b" = 2 ]	# BAD
cw_check "a and b, over lines" \
    [ "$a" = 1 ] &&
    [ "$b" = 2 ]
cw_check "a, then a group" [ "$a" = 1 ] && { [ "$b" = 2 ]; }	# BAD
cw_check "a, then grep" [ "$a" = 1 ] && grep -q b "$log"	# BAD
cw_check "a, then [[" [ "$a" = 1 ] && [[ $b == 2 ]]	# BAD
cw_check "a, then !" [ "$a" = 1 ] && ! grep -q b "$log"	# BAD
cw_check "a; b" [ "$a" = 1 ]; [ "$b" = 2 ]	# BAD
cw_check "a or b" [ "$a" = 1 ] || test "$b" = 2	# BAD
cw_check "a, or a group testing b" [ "$a" = 1 ] || { [ "$b" = 2 ]; }	# BAD
cw_expect "jq, then b" "$f" '.[0].ok' && [ "$b" = 2 ]	# BAD
cw_check "in a pipeline" [ "$a" = 1 ] | tee "$log"	# BAD
grep -c b "$log" | cw_check "piped into" read -r n	# BAD
if true; then cw_check "after then" [ "$a" = 1 ] && [ "$b" = 2 ]; fi	# BAD
cw_check "a, shown when it fails" [ "$a" = 1 ] || cat "$log" >&2
cw_check "a, a group when it fails" [ "$a" = 1 ] || {
	cat "$log" >&2
	cw_die "no a"
}
cw_check "a, then its own check of b" [ "$a" = 1 ] &&
    cw_check "b" [ "$b" = 2 ]
cw_check "a and b, in one check" eval '[ "$a" = 1 ] && [ "$b" = 2 ]'
cw_check "a and b, inside quotes" bash -c "[ 1 = 1 ] && [ 2 = 2 ]"
cw_check "a substitution" [ "$(grep -c a "$log" && [ -s "$log" ])" = 1 ]
cw_check "a comment" [ "$a" = 1 ]  # && [ "$b" = 2 ]
cw_check "a here-string" grep -q a <<<"$a && [ b ]"
cat <<'DOC'
cw_check "in a here-document" [ "$a" = 1 ] && [ "$b" = 2 ]
DOC
cw_check "then a new line" [ "$a" = 1 ]
[ "$b" = 2 ] && cw_log "b is 2"
EOF
want=$(grep -n 'BAD$' "$CW_TMP/sample.sh" | cut -d: -f1)
want=$(printf '%s\n' $want 2 | sort -n)
/usr/bin/python3 "$LINT" "$CW_TMP/sample.sh" >"$CW_TMP/sample.out" \
    2>"$CW_TMP/sample.err"
rc=$?
cw_check "sample: checklint exits 1" [ "$rc" = 1 ] ||
    cat "$CW_TMP/sample.err" >&2
got=$(cut -d: -f2 "$CW_TMP/sample.out")
cw_check "sample: exactly the bad lines reported ($(echo $want))" \
    [ "$got" = "$want" ] || cat "$CW_TMP/sample.out" >&2

# A file without any: exit 0, nothing said.
sed '2,4d' "$CW_TMP/sample.sh" | grep -v 'BAD$' >"$CW_TMP/good.sh"
/usr/bin/python3 "$LINT" "$CW_TMP/good.sh" >"$CW_TMP/good.out" 2>&1
cw_check "sample without the bad lines: exit 0" [ $? = 0 ] ||
    cat "$CW_TMP/good.out" >&2
cw_check "sample without the bad lines: nothing reported" \
    [ ! -s "$CW_TMP/good.out" ]

# A file it cannot read to the end is an error, not a pass.
printf 'cw_check "open" [ "$a = 1 ]\n' >"$CW_TMP/open.sh"
/usr/bin/python3 "$LINT" "$CW_TMP/open.sh" >/dev/null 2>&1
cw_check "an unclosed quote: exit 2" [ $? = 2 ]

# The tree.
mapfile -t SCRIPTS < <(find "$TESTS_DIR" -name '*.sh' | sort)
cw_log "linting ${#SCRIPTS[@]} scripts under $TESTS_DIR"
cw_check "the scripts include this one and lib.sh" \
    eval '[ "${#SCRIPTS[@]}" -ge 30 ] &&
    printf "%s\n" "${SCRIPTS[@]}" | grep -q "/scenario/check_lint\.sh$" &&
    printf "%s\n" "${SCRIPTS[@]}" | grep -q "/scenario/lib\.sh$"'
/usr/bin/python3 "$LINT" "${SCRIPTS[@]}" >"$CW_TMP/tree.out" 2>&1
rc=$?
cw_check "no check under tests/ asserts less than it says" [ "$rc" = 0 ] ||
    cat "$CW_TMP/tree.out" >&2

cw_done
