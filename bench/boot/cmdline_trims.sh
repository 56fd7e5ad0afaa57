#!/usr/bin/env bash
# bench/boot/cmdline_trims.sh BUILD_DIR [RUNS] [OPTION...]: each kernel command-line trim measured
# on its own, the hello arrow through `arrow-run --vmm qemu` (qemu microvm, TCG): RUNS runs
# alternating without / with the option, medians of the boot time (`--json` boot_time_ms: VMM
# start to arrow-init's mark on the control channel) and of the whole run, and the ratio
# (> 1 = the option is faster). Default options: the Firecracker-style set.
set -euo pipefail
BUILD=$(cd "${1:?usage: $0 BUILD_DIR [RUNS] [OPTION...]}" && pwd)
RUNS=${2:-7}
shift $(( $# >= 2 ? 2 : $# ))
OPTS=("$@")
[ ${#OPTS[@]} -gt 0 ] || OPTS=(tsc=reliable no_timer_check i8042.noaux 8250.nr_uarts=2 cryptomgr.notests random.trust_cpu=on loglevel=0)
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
"$BUILD/bin/arrow-build" "$BUILD/examples/hello/hello.recipe" -o "$T/hello.arrow" -q
run() {  # run [OPTION]: prints "boot_ms run_ms"
  local extra=()
  [ -n "${1:-}" ] && extra=(--append "$1")
  "$BUILD/bin/arrow-run" --vmm qemu --json "${extra[@]}" "$T/hello.arrow" 2>/dev/null | tail -n 1 |
    python3 -c 'import json,sys; j=json.load(sys.stdin); assert j["exit_status"] == 0; print(j["boot_time_ms"], j["run_time_ms"])'
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "| option | boot without | boot with | ratio | run without | run with | ratio |"
echo "|---|---|---|---|---|---|---|"
for opt in "${OPTS[@]}"; do
  : > "$T/base"; : > "$T/with"
  for _ in $(seq "$RUNS"); do run >> "$T/base"; run "$opt" >> "$T/with"; done
  b0=$(cut -d' ' -f1 "$T/base" | median); b1=$(cut -d' ' -f1 "$T/with" | median)
  r0=$(cut -d' ' -f2 "$T/base" | median); r1=$(cut -d' ' -f2 "$T/with" | median)
  python3 -c "import sys; b0,b1,r0,r1=map(float,sys.argv[2:]); print('| \`%s\` | %.0f ms | %.0f ms | %.3f | %.0f ms | %.0f ms | %.3f |' % (sys.argv[1], b0, b1, b0/b1, r0, r1, r0/r1))" "$opt" "$b0" "$b1" "$r0" "$r1"
done
