#!/bin/sh
# run.sh -- build the fuzz targets with clang (libFuzzer, ASan, UBSan)
# against the sources and run each for SECONDS (default 60), starting
# from the seeds in tests/fuzz/seeds/.  Not part of `make check`: a
# fuzzing run is open-ended; this is for developers and for a nightly
# job.  Exit status non-zero when a target found a crash (the input is
# kept in the work directory named in the output, which is otherwise
# removed).  The seed is fixed (CW_FUZZ_SEED, default 1) so that a short
# run in the test suite takes the same path every time; a developer
# hunting for bugs sets CW_FUZZ_SEED=0 (random) and a longer time, and
# CW_FUZZ_TARGETS to run only some targets.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
secs=${1:-60}
seed=${CW_FUZZ_SEED:-1}
work=$(mktemp -d "${TMPDIR:-/tmp}/cw-fuzz.XXXXXX")
echo "fuzz: work directory $work"
cd "$work"
cat >config.h <<'H'
#define PACKAGE_VERSION "fuzz"
#define _GNU_SOURCE 1
H
flags="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
  -I$work -I$top/src/lib -I$top/src/agent -I$top/src/collector
  -I$top/src/collector/store -I$top/probes -DCW_STATE_DIR=\"/nonexistent\""
libs=$(pkg-config --libs libevent ldns jansson libsodium libcrypto)
lib=$top/src/lib
store=$top/src/collector/store
srcs="$lib/log.c $lib/cwtime.c $lib/failure.c $lib/result.c $lib/target.c
  $lib/fileio.c $top/probes/dns.c $top/probes/dns_wire.c
  $top/probes/dns_anomaly.c
  $top/probes/probe.c
  $top/src/agent/tld.c $top/src/agent/tld_cache.c"
# The collector's batch path adds its store (for the checks that need no
# database) and gzip.
batch_libs="$libs $(pkg-config --libs sqlite3 libpq zlib)"
batch_srcs="$lib/log.c $lib/cwtime.c $lib/record.c $lib/sha256.c $lib/gzip.c
  $store/db.c $store/store.c $store/store_probe.c $store/store_read.c
  $store/store_evidence.c $store/store_episodes.c $store/store_annot.c
  $store/store_sqlite.c $store/store_pg.c $store/store_log.c $lib/merkle.c
  $store/store_batches.c $store/store_bundle.c
  $lib/country.c"
# The collector's readers of stored records (the exporter's CSV, Atlas
# and JSON lines, the summary) add themselves to the store.
reader_srcs="$batch_srcs $lib/result.c $lib/failure.c
  $top/src/collector/export.c $top/src/collector/summary.c"
# The collector's head reader, against libevent's own parser.
head_srcs="$top/src/collector/collector_head.c"
# The log's notes, checkpoints, proofs and signed receipts, as a verifier
# reads them.
note_srcs="$lib/note.c $lib/merkle.c $lib/receipt.c $lib/record.c $lib/sha256.c
  $lib/cwtime.c $lib/log.c"
# The offline verifier of evidence bundles, on a directory or a tar.
bundle_srcs="$lib/bundle_verify.c $lib/multiproof.c $lib/merkle.c
  $lib/record.c $lib/sha256.c $lib/note.c $lib/cwtime.c $lib/log.c"
bundle_libs="$(pkg-config --libs libevent jansson libsodium libcrypto libarchive) -lpthread"
status=0
for target in ${CW_FUZZ_TARGETS:-fuzz_dns_reply fuzz_tld_cache fuzz_batch \
    fuzz_export fuzz_summary fuzz_head fuzz_note fuzz_bundle}; do
	max_len=4096
	case $target in
	fuzz_batch)	t_srcs=$batch_srcs t_libs=$batch_libs ;;
	fuzz_export|fuzz_summary)
		t_srcs=$reader_srcs t_libs=$batch_libs ;;
	fuzz_head)	t_srcs=$head_srcs t_libs=$libs ;;
	fuzz_note)	t_srcs=$note_srcs t_libs=$libs ;;
	fuzz_bundle)	t_srcs=$bundle_srcs t_libs=$bundle_libs max_len=65536 ;;
	*)		t_srcs=$srcs t_libs=$libs ;;
	esac
	# shellcheck disable=SC2086
	clang $flags $(pkg-config --cflags libpq) -o "$target" \
	    "$top/tests/fuzz/$target.c" $t_srcs $t_libs -lm
	mkdir -p "corpus-$target"
	cp "$top/tests/fuzz/seeds/$target"/* "corpus-$target/" 2>/dev/null || :
	./"$target" -max_total_time="$secs" -max_len="$max_len" -seed="$seed" \
	    -print_final_stats=1 "corpus-$target" >"$target.log" 2>&1 ||
	    { status=1; tail -n 40 "$target.log"; }
	grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb)" \
	    "$target.log" | sed "s/^/$target: /"
done
# Keep the work directory only when it holds a crash to look at.
[ "$status" = 0 ] && rm -rf "$work"
exit $status
