#!/bin/bash
# hardening.sh -- the built programs carry the hardening configure
# enables by default (README, "Building by hand"): a position-independent
# executable (ELF type DYN), full RELRO (a GNU_RELRO segment and
# BIND_NOW), the stack protector (__stack_chk_fail), and, in a build
# that optimises without AddressSanitizer, _FORTIFY_SOURCE (the glibc
# *_chk functions).  Skipped (77) in a build configured with
# --disable-hardening.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

[ "${CW_HARDENING-unset}" != unset ] ||
    cw_die "CW_HARDENING unset: run this through make check"
if [ "$CW_ENABLE_HARDENING" = no ]; then
	cw_log "built with --disable-hardening: nothing to check"
	exit 77
fi
command -v readelf >/dev/null || cw_die "no readelf (binutils)"
cw_log "configure enabled: ${CW_HARDENING# } (CFLAGS: $CW_CFLAGS)"

# Whether the build optimises without AddressSanitizer: then glibc's
# fortified functions must be in use.
fortify=no
case " $CW_CFLAGS " in
*" -O0 "*|*"-fsanitize="*address*) ;;
*" -O"[1-3sgz]" "*|*" -Ofast "*) fortify=yes ;;
esac
[ "$fortify" = no ] || cw_check "configure enabled fortify" \
    grep -qw fortify <<<"$CW_HARDENING"

cw_tmpdir
for prog in "$COREWATCH" "$COLLECTOR"; do
	name=${prog##*/}
	readelf -hdlW --dyn-syms "$prog" >"$CW_TMP/$name.elf" ||
	    cw_die "readelf $prog failed"
	cw_check "$name: a position-independent executable (DYN)" \
	    grep -Eq '^ *Type: +DYN ' "$CW_TMP/$name.elf"
	cw_check "$name: a GNU_RELRO segment" \
	    grep -Eq '^ *GNU_RELRO ' "$CW_TMP/$name.elf"
	cw_check "$name: BIND_NOW (full RELRO)" \
	    grep -Eq '\((FLAGS|FLAGS_1)\) +.*\b(BIND_NOW|NOW)\b' \
	    "$CW_TMP/$name.elf"
	cw_check "$name: the stack protector (__stack_chk_fail)" \
	    grep -q ' __stack_chk_fail' "$CW_TMP/$name.elf"
	if [ "$fortify" = yes ]; then
		cw_check "$name: _FORTIFY_SOURCE (glibc's *_chk functions)" \
		    grep -Eq ' __[a-z]+_chk(@|$)' "$CW_TMP/$name.elf"
	fi
done
cw_done
