#!/bin/bash
# run-fuzz.sh [SECONDS] — build the libFuzzer harnesses (clang, ASan + UBSan) with the core
# sources and run each reader's harness for SECONDS (default 60) on its seed corpus.
# Not part of meson test or CI. Crashes are written to tests/fuzz/crash-*/ (git-ignored by name).
set -eu
SECONDS_EACH=${1:-60}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT=${FUZZ_BUILD:-$ROOT/build-fuzz}
mkdir -p "$OUT"
CORE="$ROOT/core/tb-volume.c $ROOT/core/io/tb-io.c $ROOT/core/io/io-pixels.c $ROOT/core/io/io-tiff-read.c
      $ROOT/core/io/io-tiff-write.c $ROOT/core/io/io-nifti.c $ROOT/core/io/io-metaimage.c $ROOT/core/io/io-dicom.c"
FLAGS="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -DTB_VERSION=\"fuzz\"
       -I$ROOT/core -I/usr/include/nifti $(pkg-config --cflags glib-2.0 gio-2.0 libtiff-4)"
LIBS="$(pkg-config --libs glib-2.0 gio-2.0 libtiff-4) -lnifti2 -lznz -lz -lm"
for r in ${READERS:-tiff nifti metaimage dicom}; do
  case $r in tiff) ext=tif ;; nifti) ext=nii ;; metaimage) ext=mhd ;; dicom) ext=dcm ;; *) continue ;; esac
  echo "== building fuzz-$r"
  clang $FLAGS -DFUZZ_EXT="\"$ext\"" -Wno-unknown-pragmas "$HERE/fuzz-reader.c" $CORE $LIBS -o "$OUT/fuzz-$r"
  mkdir -p "$OUT/corpus-$r" "$HERE/crash-$r"
  echo "== running fuzz-$r for ${SECONDS_EACH}s"
  nice -n 10 "$OUT/fuzz-$r" -max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 -timeout=10 \
      -artifact_prefix="$HERE/crash-$r/" -print_final_stats=1 \
      "$OUT/corpus-$r" "$HERE/corpus-$r" 2>&1 | grep -E "^#[0-9]+ +(DONE|INITED)|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error|SUMMARY|stat::number_of_executed_units|stat::peak_rss|Test unit written" || true
  ls "$HERE/crash-$r" | sed "s/^/crash: /"
  rmdir "$HERE/crash-$r" 2>/dev/null || true
done
