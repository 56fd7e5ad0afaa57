#!/usr/bin/env bash
# bench/net/nic_cost.sh BUILD_DIR [RUNS]: what a NIC costs. The example hello built with the `net`
# kernel fragment boots under qemu TCG (arrow-run --vmm qemu) RUNS times with its NIC (the
# default) and RUNS times with --net none, alternating; prints the median boot time (to
# arrow-init's start) and run time of each and the ratio. Also the size of the default kernel vs
# the `net` one, and of the two arrows.
set -euo pipefail
BUILD_DIR=$(cd "${1:?usage: $0 BUILD_DIR [RUNS]}" && pwd)
RUNS=${2:-5}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
cp "$BUILD_DIR/examples/hello/hello" "$TMP/hello"
for v in plain net; do
  {
    echo "name = \"hello-$v\""
    echo '[app]'
    echo 'exec = "/usr/bin/hello"'
    echo '[files]'
    echo 'map = { "/usr/bin/hello" = "hello" }'
    [ "$v" = net ] && printf '[kernel]\nfeatures = ["net"]\n'
  } >"$TMP/$v.recipe"
  "$BUILD_DIR/bin/arrow-build" -q "$TMP/$v.recipe" -o "$TMP/$v.arrow"
done
for ((i = 0; i < RUNS; i++)); do
  for mode in nic none; do
    flags=(); [ "$mode" = none ] && flags=(--net none)
    "$BUILD_DIR/bin/arrow-run" "$TMP/net.arrow" --vmm qemu --quiet --json --timeout 120s "${flags[@]}" </dev/null 2>/dev/null |
      grep '^{' | sed "s/^{/{\"mode\":\"$mode\",/" >>"$TMP/results"
  done
done
python3 - "$TMP/results" "$(stat -c %s "$("$BUILD_DIR/bin/arrow" kernel path)")" \
  "$(stat -c %s "$("$BUILD_DIR/bin/arrow" kernel path --features net)")" \
  "$(stat -c %s "$TMP/plain.arrow")" "$(stat -c %s "$TMP/net.arrow")" <<'P'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
med = {}
for mode in ("nic", "none"):
    ok = [r for r in rows if r["mode"] == mode and r["exit_status"] == 0]
    boot = statistics.median(r["boot_time_ms"] for r in ok)
    run = statistics.median(r["run_time_ms"] for r in ok)
    med[mode] = (boot, run)
    print(f"{mode:5s} runs={len(ok)} median boot {boot:.0f} ms, median run {run:.0f} ms")
print(f"NIC cost: boot x{med['nic'][0] / med['none'][0]:.3f} ({med['nic'][0] - med['none'][0]:+.0f} ms), "
      f"run x{med['nic'][1] / med['none'][1]:.3f} ({med['nic'][1] - med['none'][1]:+.0f} ms); baseline --net none, same arrow, same run")
k0, k1, a0, a1 = (int(x) for x in sys.argv[2:6])
print(f"kernel: microvm {k0} B, microvm+net {k1} B ({k1 - k0:+d} B); hello arrow {a0} B vs with net {a1} B ({a1 - a0:+d} B)")
P
