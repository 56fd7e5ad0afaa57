#!/usr/bin/env bash
# image_size.sh: bytes of the example hello arrow (kernel layer + initramfs layer) with Arrow's
# tuned kernels against the same app packed with Debian's stock kernel (the named baseline),
# built in the same run from the same recipe.
#
#   bench/image_size.sh BUILD_DIR [STOCK_KERNEL=/vmlinuz]
#
# Variants: tuned `microvm` (the default), tuned `microvm` + `fast` (zstd), stock kernel. The
# first build of a tuned variant compiles its kernel (minutes); later runs hit the cache.
# Reported per variant: kernel, initramfs and their sum in bytes and MiB, and the sum as a share
# of the stock variant's.
set -euo pipefail
BUILD_DIR=$(cd "${1:?usage: image_size.sh BUILD_DIR [STOCK_KERNEL]}" && pwd)
STOCK=$(readlink -f "${2:-/vmlinuz}")
ARROW="$BUILD_DIR/bin/arrow"
HELLO="$BUILD_DIR/examples/hello"
[ -x "$ARROW" ] || { echo "image_size.sh: $ARROW not found (build first)" >&2; exit 2; }
[ -f "$HELLO/hello" ] || { echo "image_size.sh: $HELLO/hello not found (build first)" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export SOURCE_DATE_EPOCH=1700000000

# variant name, then the [kernel] table lines for it
variant() {
  local name=$1 kernel=$2
  cp "$HELLO/hello" "$work/hello"
  { sed '/^\[vm\]/,$d' "$HELLO/hello.recipe"; printf '[kernel]\n%b\n' "$kernel"; } \
    > "$work/$name.recipe"
  "$ARROW" build "$work/$name.recipe" -o "$work/$name.arrow" > "$work/$name.log" 2>&1 ||
    { cat "$work/$name.log" >&2; exit 1; }
  "$ARROW" inspect --json "$work/$name.arrow" | python3 -c '
import json, sys
d = json.load(sys.stdin)
sizes = {l["mediaType"].split(".")[2]: l["size"] for l in d["manifest"]["layers"]}
print(sys.argv[1], sizes["kernel"], sizes["initramfs"])' "$name"
}

{
  variant microvm 'config = "microvm"'
  variant microvm+fast 'config = "microvm"\nfeatures = ["fast"]'
  variant stock "image = \"$STOCK\""
} > "$work/sizes"

python3 - "$work/sizes" <<'PY'
import sys
rows = [l.split() for l in open(sys.argv[1])]
stock = next(int(k) + int(i) for n, k, i in rows if n == "stock")
print(f"{'variant':14} {'kernel':>10} {'initramfs':>10} {'total':>10} {'MiB':>6} {'of stock':>9}")
for n, k, i in rows:
    t = int(k) + int(i)
    print(f"{n:14} {int(k):>10} {int(i):>10} {t:>10} {t / 2**20:>6.3f} {t / stock:>8.0%}")
PY
