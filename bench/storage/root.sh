#!/usr/bin/env bash
# bench/storage/root.sh BUILD_DIR [RUNS] [RECIPE...]: the initramfs root vs the EROFS root of the
# same app, side by side in one run under qemu TCG (this host's KVM cannot boot Linux). Each
# recipe (default: recipes/python3.recipe and recipes/sqlite3.recipe) is built twice, with
# [image] root = "initramfs" and root = "erofs", and for each arrow it measures:
#   boot            VMM start to arrow-init's start (`arrow-run --boot-time`: the guest's
#                   `arrow:init` line), RUNS runs, median, at the recipe's own --memory
#   boot-to-output  wall time of the same runs until the app printed and exited (median)
#   min memory      the smallest --memory (8 MiB steps, 32M..512M) at which the app still prints
#                   its output (bisection; one run per probe)
#   size            bytes of the .arrow
# and prints the ratios erofs / initramfs. Absolute times are TCG times; only ratios carry over.
set -euo pipefail
BUILD_DIR=$(cd "${1:?usage: $0 BUILD_DIR [RUNS] [RECIPE...]}" && pwd)
RUNS=${2:-3}
shift $(( $# >= 2 ? 2 : 1 ))
SRC=$(cd "$(dirname "$0")/../.." && pwd)
RECIPES=("$@")
[ ${#RECIPES[@]} -gt 0 ] || RECIPES=("$SRC/recipes/python3.recipe" "$SRC/recipes/sqlite3.recipe")
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
RUN=("$BUILD_DIR/bin/arrow-run" --vmm qemu -q --timeout 300s)

variant() {  # variant RECIPE ROOT OUT: the recipe with [image] root = ROOT
  local recipe=$1 root=$2 out=$3 dir
  dir=$(dirname "$recipe")
  # Relative [files] map sources stay valid: the copy lives next to the original.
  grep -v '^\[image\]' "$recipe" | sed "/^root = /d" >"$dir/.bench-$root.recipe"
  printf '\n[image]\nroot = "%s"\n' "$root" >>"$dir/.bench-$root.recipe"
  "$BUILD_DIR/bin/arrow-build" -q "$dir/.bench-$root.recipe" -o "$out"
  rm -f "$dir/.bench-$root.recipe"
}

ok_at() {  # ok_at ARROW MEMORY_MIB EXPECTED: the app prints EXPECTED with that much memory
  local out
  out=$("${RUN[@]}" "$1" --memory "$2M" 2>&1 </dev/null) || return 1
  grep -qF -- "$3" <<<"$out"
}

min_memory() {  # min_memory ARROW EXPECTED: bisection over 8 MiB steps in [32, 512]
  local lo=4 hi=64 mid  # in units of 8 MiB
  ok_at "$1" $((hi * 8)) "$2" || { echo "fails at 512"; return; }
  while [ $((hi - lo)) -gt 1 ]; do
    mid=$(((lo + hi) / 2))
    if ok_at "$1" $((mid * 8)) "$2"; then hi=$mid; else lo=$mid; fi
  done
  echo $((hi * 8))
}

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

printf '%-8s %-10s %10s %6s %12s %6s %10s %6s %10s %6s\n' app root boot ratio boot-to-out ratio "min mem" ratio ".arrow" ratio
for recipe in "${RECIPES[@]}"; do
  name=$(basename "$recipe" .recipe)
  declare -A b t m s
  for root in initramfs erofs; do
    a="$TMP/$name-$root.arrow"
    variant "$recipe" "$root" "$a"
    expected=$("${RUN[@]}" "$a" 2>&1 </dev/null | tail -n 1)
    times=() boots=()
    for _ in $(seq 1 "$RUNS"); do
      t0=$(date +%s%N)
      "${RUN[@]}" --boot-time "$a" >"$TMP/run.out" 2>&1 </dev/null
      times+=($(( ($(date +%s%N) - t0) / 1000000 )))
      boots+=($(sed -n 's/^arrow-run: boot \([0-9.]*\) ms.*/\1/p' "$TMP/run.out"))
    done
    t[$root]=$(printf '%s\n' "${times[@]}" | median)
    b[$root]=$(printf '%s\n' "${boots[@]}" | median)
    m[$root]=$(min_memory "$a" "$expected")
    s[$root]=$(stat -c %s "$a")
  done
  for root in initramfs erofs; do
    rb=$(awk -v a="${b[$root]}" -v b="${b[initramfs]}" 'BEGIN { printf "%.2f", a / b }')
    rt=$(awk -v a="${t[$root]}" -v b="${t[initramfs]}" 'BEGIN { printf "%.2f", a / b }')
    rm_=$(awk -v a="${m[$root]}" -v b="${m[initramfs]}" 'BEGIN { if (a + 0 && b + 0) printf "%.2f", a / b; else print "n/a" }')
    rs=$(awk -v a="${s[$root]}" -v b="${s[initramfs]}" 'BEGIN { printf "%.2f", a / b }')
    printf '%-8s %-10s %7.0f ms %6s %9s ms %6s %8s M %6s %10s %6s\n' "$name" "$root" "${b[$root]}" "$rb" \
      "${t[$root]}" "$rt" "${m[$root]}" "$rm_" "${s[$root]}" "$rs"
  done
  unset b t m s
done
echo "ratios: erofs / initramfs (below 1 = the EROFS root is faster or smaller)"
echo "baseline: the same recipe with root = \"initramfs\", same machine, same run; $RUNS runs per median"
