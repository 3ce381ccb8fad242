#!/bin/sh
# format-check.sh -- is the C source formatted as .clang-format says?
#
#   usage: contrib/format-check.sh [SRCDIR]
#
# Formats a copy of every C file (*.c, *.h) of SRCDIR (default: the tree
# this script is in) with SRCDIR/.clang-format: src/ and tests/unit/ with
# their subdirectories, probes/, tests/fuzz/ and tests/tools/.  Prints the
# name of each file that would change, relative to SRCDIR, on stdout, and
# changes nothing.  The files are found with find(1), not with git: `make
# distcheck` runs this on an unpacked tarball.
#
# Only clang-format 14 (Debian 12's) is accepted.  .clang-format was tuned
# with it, and other major versions format the same file differently (new
# defaults, changed line-breaking heuristics, options they read otherwise),
# so with another version a difference would be about the tool, not the
# code.  CLANG_FORMAT names the binary; without it clang-format-14 is
# used when installed, else clang-format.
#
# Exit status: 0 every file formatted, 1 some file would change, 2 the
# check could not be made (no clang-format 14, no .clang-format, no C file
# found, clang-format failed on a file).
set -u
prog=format-check.sh
want_major=14

die()
{
	echo "$prog: $*" >&2
	exit 2
}

case $# in
0)	top=$(cd "$(dirname "$0")/.." && pwd) || exit 2 ;;
1)	top=$(cd "$1" 2>/dev/null && pwd) || die "$1: not a directory" ;;
*)	echo "usage: contrib/format-check.sh [SRCDIR]" >&2; exit 2 ;;
esac
[ -d "$top/src" ] || die "$top: no src/ there; give the source tree"
[ -f "$top/.clang-format" ] || die "$top/.clang-format: missing"

if [ -n "${CLANG_FORMAT:-}" ]; then
	cf=$CLANG_FORMAT
elif command -v "clang-format-$want_major" >/dev/null 2>&1; then
	cf=clang-format-$want_major
else
	cf=clang-format
fi
command -v "$cf" >/dev/null 2>&1 ||
    die "$cf: not found; install clang-format $want_major" \
    "(Debian 12: apt-get install clang-format), or set CLANG_FORMAT"
version=$("$cf" --version 2>/dev/null) || die "$cf --version failed"
major=$(printf '%s\n' "$version" |
    sed -n 's/.*clang-format version \([0-9][0-9]*\).*/\1/p' | head -n 1)
[ "$major" = "$want_major" ] ||
    die "$cf is \"$version\"; .clang-format is tuned for clang-format" \
    "$want_major and other versions format differently: set CLANG_FORMAT" \
    "to a clang-format $want_major"

# One name a line; no name in the tree has a newline.
files=$(cd "$top" && {
	for d in src tests/unit; do
		[ ! -d "$d" ] ||
		    find "$d" -type f \( -name '*.c' -o -name '*.h' \)
	done
	for d in probes tests/fuzz tests/tools; do
		[ ! -d "$d" ] || find "$d" -maxdepth 1 -type f \
		    \( -name '*.c' -o -name '*.h' \)
	done
} | LC_ALL=C sort) || die "$top: cannot list the C files"
[ -n "$files" ] || die "$top: no C file found"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/format-check.XXXXXX") ||
    die "mktemp failed"
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Copies are formatted in one run of clang-format (one run per file costs
# a start-up each, seconds in all), then compared with the originals.
set -f
IFS='
'
for f in $files; do
	if ! mkdir -p "$tmp/tree/$(dirname "$f")" ||
	    ! cp "$top/$f" "$tmp/tree/$f"; then
		die "$f: cannot copy it to $tmp"
	fi
done
# $files unquoted: split at newlines only (IFS), no globbing (set -f).
# shellcheck disable=SC2086
(cd "$tmp/tree" && "$cf" -i --style="file:$top/.clang-format" $files) \
    2>"$tmp/err" || {
	cat "$tmp/err" >&2
	die "$cf failed"
}

differ=0
checked=0
for f in $files; do
	checked=$((checked + 1))
	if ! cmp -s "$tmp/tree/$f" "$top/$f"; then
		echo "$f"
		differ=$((differ + 1))
	fi
done

if [ "$differ" -gt 0 ]; then
	echo "$prog: $differ of $checked files differ from .clang-format;" \
	    "clang-format -i FILE (version $want_major) formats one" >&2
	exit 1
fi
exit 0
