#!/bin/sh
# build.sh -- configure and build corewatch out of the source tree, in
# _build/VARIANT, with warnings as errors:
#   gcc    gcc (the default build)
#   asan   clang with AddressSanitizer and UndefinedBehaviorSanitizer
# Further arguments go to configure (only on the first build of a
# variant; later runs just re-make).  The binary ends up in
# _build/VARIANT/src/corewatch.  CW_JOBS sets make's -j (default 2).
set -eu
usage="usage: contrib/build.sh gcc|asan [configure arguments]"
[ $# -ge 1 ] || { echo "$usage" >&2; exit 2; }
variant=$1
shift
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

sanitize="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all"
case $variant in
gcc)	set -- CC=gcc "$@" ;;
asan)	set -- CC=clang CFLAGS="-O1 -g $sanitize" LDFLAGS="$sanitize" "$@" ;;
*)	echo "$usage" >&2; exit 2 ;;
esac

if [ -f config.status ]; then
	echo "build.sh: $top is configured in the tree; run 'make distclean'" \
	    "there first (builds live in _build/)" >&2
	exit 2
fi
[ -x configure ] || ./autogen.sh
mkdir -p "_build/$variant"
cd "_build/$variant"
[ -f Makefile ] || ../../configure -q --enable-werror "$@"
make -j"${CW_JOBS:-2}"
