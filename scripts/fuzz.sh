#!/usr/bin/env bash
# The fuzz campaign: builds every libFuzzer target (clang, ASan + UBSan) in $FUZZ_BUILD_DIR and
# runs each for SECONDS (default 60) on a working copy of its seed corpus; prints execs and
# findings per target. A crash, leak or timeout input is copied to fuzz-findings/TARGET/; put it
# into the target's corpus directory once fixed and the suite replays it for good
# (tests/fuzz_replay.sh).
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]     e.g. scripts/fuzz.sh 600 fuzz_virtio_net
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SECONDS_EACH=${1:-60}
shift || true
BUILD=${FUZZ_BUILD_DIR:-build-fuzz}
WORK=${FUZZ_WORK_DIR:-$BUILD/campaign}

# target -> seed corpus (relative to the repository)
declare -A CORPUS=(
  [fuzz_port_io]=runner/fuzz/corpus/port_io
  [fuzz_virtio_mmio]=runner/fuzz/corpus/virtio_mmio
  [fuzz_virtio_net]=runner/fuzz/corpus/virtio_net
  [fuzz_virtio_blk]=runner/fuzz/corpus/virtio_blk
  [fuzz_registry_reply]=registry/fuzz/corpus
  [fuzz_read_arrow]=packer/fuzz/corpus/read_arrow
  [fuzz_read_initramfs]=packer/fuzz/corpus/read_initramfs
  [fuzz_read_erofs]=packer/fuzz/corpus/read_erofs
  [fuzz_recipe]=builder/fuzz/corpus/recipe
  [elf_fuzz]=builder/fuzz/corpus/elf
  [ldcache_fuzz]=builder/fuzz/corpus/ldcache
  [trace_fuzz]=builder/fuzz/corpus/trace
)
ORDER=(fuzz_port_io fuzz_virtio_mmio fuzz_virtio_net fuzz_virtio_blk fuzz_registry_reply
       fuzz_read_arrow fuzz_read_initramfs fuzz_read_erofs fuzz_recipe elf_fuzz ldcache_fuzz
       trace_fuzz)
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=("${ORDER[@]}")
for t in "${TARGETS[@]}"; do
  [ -n "${CORPUS[$t]:-}" ] || { echo "fuzz.sh: unknown target $t (known: ${ORDER[*]})" >&2; exit 2; }
done

command -v clang++ >/dev/null || { echo "fuzz.sh: needs clang (scripts/install-deps.sh)" >&2; exit 2; }
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DARROW_FUZZ=ON \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ >/dev/null
ninja -C "$BUILD" "${TARGETS[@]}" >/dev/null

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
failed=0
printf '%-22s %10s %12s %9s %s\n' target seconds execs findings corpus
for t in "${TARGETS[@]}"; do
  bin=$(find "$BUILD" -type f -name "$t" -perm -u+x | head -n 1)
  work="$WORK/$t" findings="$ROOT/fuzz-findings/$t"
  rm -rf "$work" && mkdir -p "$work/corpus" "$work/artifacts"
  cp "$ROOT/${CORPUS[$t]}"/* "$work/corpus/" 2>/dev/null || true
  set +e
  "$bin" -max_total_time="$SECONDS_EACH" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$work/artifacts/" "$work/corpus" >"$work/log" 2>&1
  rc=$?
  set -e
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -n 1)
  n=$(find "$work/artifacts" -type f | wc -l)
  if [ "$n" -gt 0 ] || [ "$rc" -ne 0 ]; then
    failed=1
    mkdir -p "$findings" && cp "$work/artifacts"/* "$findings/" 2>/dev/null || true
    [ "$n" -gt 0 ] || n="exit $rc"
  fi
  printf '%-22s %10s %12s %9s %s\n' "$t" "$SECONDS_EACH" "${execs:-?}" "$n" "$(ls "$work/corpus" | wc -l) inputs"
  [ "$failed" -eq 0 ] || tail -n 30 "$work/log" | sed 's/^/    | /'
done
exit "$failed"
