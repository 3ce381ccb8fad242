#!/bin/bash
# format_check.sh -- the C source is formatted as .clang-format says.
#
# contrib/format-check.sh formats a copy of each C file with clang-format
# 14 and names the files that would change.  This test runs it on a
# planted tree first, to show that it passes a file written in our style,
# names each badly formatted file in the folders it covers (src/ and
# tests/unit/ at any depth), leaves alone the files it does not cover, and
# refuses to judge without clang-format 14; then on the source tree.

. "$(dirname "$0")/lib.sh"
cw_tmpdir

: "${top_srcdir:=$(cd "$CW_SCENARIO_DIR/../.." && pwd)}"
CHECK="$top_srcdir/contrib/format-check.sh"
T="$CW_TMP/tree"

# The planted tree: our .clang-format, one file in the style of the code.
mkdir -p "$T/src/lib" "$T/probes/sub" "$T/tests/unit/deep" \
    "$T/tests/fuzz" "$T/tests/tools" "$T/tests/scenario" "$T/doc"
cp "$top_srcdir/.clang-format" "$T/"
cat >"$T/src/good.c" <<'EOF'
/* good.c -- formatted as .clang-format says. */
#include <sys/queue.h>

#include <stdio.h>

#define GOOD_MAX  16 /* entries */
#define GOOD_NAME "good"

struct good {
	const char *name; /* owned by the table */
	int value;        /* 0: unset */
	TAILQ_ENTRY(good) entries;
};
TAILQ_HEAD(good_list, good);

static const struct good good_table[] = {
	{ "one", 1 },
	{ "two", 2 },
};

int
good_lookup(const struct good_list *list, const char *name, int fallback,
    char *err, size_t errlen)
{
	const struct good *g;
	size_t i;

	for (i = 0; i < sizeof(good_table) / sizeof(good_table[0]); i++) {
		switch (good_table[i].value) {
		case 1:
			break;
		default:
			goto fail;
		}
	}
	TAILQ_FOREACH(g, list, entries) {
		if (name != NULL && g->name[0] == name[0] &&
		    g->value != fallback)
			return g->value;
	}
	return fallback;
fail:
	snprintf(err, errlen, "%s: no value for %s", GOOD_NAME,
	    name != NULL ? name : "(none)");
	return -1;
}
EOF

"$CHECK" "$T" >"$CW_TMP/good.out" 2>"$CW_TMP/good.err"
rc=$?
cw_check "a tree in our style: exit 0" [ "$rc" = 0 ] ||
    cat "$CW_TMP/good.out" "$CW_TMP/good.err" >&2
cw_check "a tree in our style: nothing named" [ ! -s "$CW_TMP/good.out" ]

# One fault a file, in each folder covered; the same faults where the
# check does not look (probes/ and tests/fuzz/ are flat folders).
printf 'int\nf(void)\n{\n    return 0;\n}\n' >"$T/src/lib/spaces.c"
printf 'static int f(void) {\n\treturn 0;\n}\n' >"$T/tests/unit/deep/brace.h"
printf 'long\nf(int x)\n{\n\treturn (long) x;\n}\n' >"$T/probes/cast.c"
printf 'int  x;\n' >"$T/tests/fuzz/double_space.c"
printf 'int\nf(int aaaaaaaaaaaaaaaaaaaaaaaa, int bbbbbbbbbbbbbbbbbbbbbbbbbb, int cccccccccccc)\n{\n\treturn 0;\n}\n' \
    >"$T/tests/tools/long.c"
for f in probes/sub/x.c tests/scenario/x.c doc/x.c src/x.txt; do
	printf 'int  x;\n' >"$T/$f"
done
want=$(printf '%s\n' probes/cast.c src/lib/spaces.c tests/fuzz/double_space.c \
    tests/tools/long.c tests/unit/deep/brace.h)
"$CHECK" "$T" >"$CW_TMP/bad.out" 2>"$CW_TMP/bad.err"
rc=$?
cw_check "badly formatted files: exit 1" [ "$rc" = 1 ] ||
    cat "$CW_TMP/bad.err" >&2
got=$(sort "$CW_TMP/bad.out")
cw_check "exactly the badly formatted files covered are named" \
    [ "$got" = "$want" ] || cat "$CW_TMP/bad.out" >&2
cw_check "the files are left as they were" \
    grep -q '^    return 0;$' "$T/src/lib/spaces.c"

# Without clang-format 14 there is no verdict: exit 2, said why.
CLANG_FORMAT="$CW_TMP/no-such-clang-format" "$CHECK" "$T" \
    >"$CW_TMP/none.out" 2>"$CW_TMP/none.err"
rc=$?
cw_check "no clang-format: exit 2" [ "$rc" = 2 ]
cw_check "no clang-format: it says so" \
    grep -q 'no-such-clang-format: not found' "$CW_TMP/none.err"
printf '#!/bin/sh\necho "clang-format version 15.0.7"\n' >"$CW_TMP/cf15"
chmod +x "$CW_TMP/cf15"
CLANG_FORMAT="$CW_TMP/cf15" "$CHECK" "$T" >"$CW_TMP/v15.out" \
    2>"$CW_TMP/v15.err"
rc=$?
cw_check "clang-format 15: exit 2" [ "$rc" = 2 ]
cw_check "clang-format 15: it says which version it wants" \
    grep -q 'tuned for clang-format 14' "$CW_TMP/v15.err"
cw_check "clang-format 15: no file named" [ ! -s "$CW_TMP/v15.out" ]

# The tree.
"$CHECK" "$top_srcdir" >"$CW_TMP/tree.out" 2>"$CW_TMP/tree.err"
rc=$?
cw_check "the source tree is formatted as .clang-format says" \
    [ "$rc" = 0 ] || cat "$CW_TMP/tree.out" "$CW_TMP/tree.err" >&2

cw_done
