#!/usr/bin/env bash
# bench/net/tcg_net.sh BUILD_DIR [RUNS]: the qemu backend's network under TCG on this host, the
# same server arrow (tests' small C HTTP server, tuned kernel with `net`) two ways, back to back:
#   qemu+arrow  arrow-run --vmm qemu -p ...: qemu's virtio-net on Arrow's libslirp (frame pump)
#   qemu+user   the same qemu with its own user networking (-netdev user,hostfwd=)   <- baseline
# RUNS x (a 16 MB download with curl, `ab -n 400 -c 4` on a 1 KB file); medians and ratios.
set -euo pipefail
BUILD_DIR=$(cd "${1:?usage: $0 BUILD_DIR [RUNS]}" && pwd)
RUNS=${2:-3}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
source "$(dirname "$0")/lib.sh"
build_server_arrow "$BUILD_DIR" "$TMP"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
measure() {
  local name=$1 pid=$2 i
  for ((i = 0; i < 240; i++)); do curl --noproxy '*' -s -o /dev/null --max-time 2 "http://127.0.0.1:$PORT/" && break; sleep 0.5; done
  for ((i = 0; i < RUNS; i++)); do
    curl --noproxy '*' -s -o /dev/null --max-time 300 -w "RESULT $name mbps %{speed_download} %{size_download}\n" "http://127.0.0.1:$PORT/big.bin" >>"$TMP/results"
    ab -q -n 400 -c 4 "http://127.0.0.1:$PORT/small.bin" 2>/dev/null | sed -n "s/^Requests per second: *\([0-9.]*\).*/RESULT $name rps \1/p" >>"$TMP/results"
  done
  kill -TERM "$pid"; wait "$pid" || true
}
"$BUILD_DIR/bin/arrow-run" "$TMP/server.arrow" --vmm qemu -q --timeout 1200s -p "127.0.0.1:$PORT:80" </dev/null >/dev/null 2>&1 &
measure qemu+arrow $!
ARROW_QEMU_EXTRA="-netdev user,id=q0,hostfwd=tcp:127.0.0.1:$PORT-:80 -device virtio-net-device,netdev=q0" \
  "$BUILD_DIR/bin/arrow-run" "$TMP/server.arrow" --vmm qemu -q --timeout 1200s --net none \
  --append "arrow.ip=10.0.2.15/24 arrow.gw=10.0.2.2 arrow.dns=10.0.2.3" </dev/null >/dev/null 2>&1 &
measure qemu+user $!
python3 - "$TMP/results" <<'P'
import statistics, sys
mb, rps = {}, {}
for line in open(sys.argv[1]):
    f = line.split()
    if f[2] == "mbps" and int(f[4]) == 16000000: mb.setdefault(f[1], []).append(float(f[3]) / 1e6)
    if f[2] == "rps": rps.setdefault(f[1], []).append(float(f[3]))
bm, br = statistics.median(mb["qemu+user"]), statistics.median(rps["qemu+user"])
for name in ("qemu+arrow", "qemu+user"):
    m, r = statistics.median(mb[name]), statistics.median(rps[name])
    print(f"{name:11s} {m:8.2f} MB/s (x{m / bm:.2f})  {r:8.1f} req/s (x{r / br:.2f})  runs {len(mb[name])}/{len(rps[name])}")
print("baseline: qemu+user (qemu's own user networking), same arrow, same TCG host, same run")
P
