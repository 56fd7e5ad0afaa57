#!/usr/bin/env bash
# bench/kernel_registry.sh BUILD_DIR [RUNS]: a cold CI build of the hello arrow (empty kernel
# cache) that compiles its kernel vs one that pulls it from a kernel registry (docker-registry on
# loopback), same run. The compile runs once (minutes) and its kernel is then published with
# `arrow kernel push`, as a first CI job would; the registry hit runs RUNS times (median), each on
# an empty cache. Every pulled build must be byte-identical to the compiled one.
set -euo pipefail
BUILD=$(cd "${1:?usage: $0 BUILD_DIR [RUNS]}" && pwd)
RUNS=${2:-5}
A="$BUILD/bin/arrow"
HELLO="$BUILD/examples/hello/hello.recipe"
T=$(mktemp -d)
export SOURCE_DATE_EPOCH=1700000000
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$T/storage"
printf 'version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: 127.0.0.1:%s\n' \
  "$T/storage" "$PORT" > "$T/config.yml"
docker-registry serve "$T/config.yml" > "$T/registry.log" 2>&1 &
REG=$!
trap 'kill $REG 2>/dev/null; wait $REG 2>/dev/null || true; rm -rf "$T"' EXIT
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$PORT/v2/" && break; sleep 0.1; done
REPO="127.0.0.1:$PORT/arrow/kernels"
secs() { python3 -c 'import sys,time; print("%.2f" % (time.time() - float(sys.argv[1])))' "$1"; }

t0=$(date +%s.%N)
ARROW_CACHE_DIR="$T/compile" "$A" build "$HELLO" -o "$T/compiled.arrow" -q
compile=$(secs "$t0")
ARROW_CACHE_DIR="$T/compile" "$A" kernel push "$REPO" > /dev/null 2>&1
hits=()
for i in $(seq "$RUNS"); do
  t0=$(date +%s.%N)
  ARROW_CACHE_DIR="$T/hit-$i" ARROW_KERNEL_REGISTRY="$REPO" "$A" build "$HELLO" -o "$T/hit-$i.arrow" -q 2>/dev/null
  hits+=("$(secs "$t0")")
  cmp -s "$T/compiled.arrow" "$T/hit-$i.arrow" || { echo "hit $i: the arrow differs from the compiled one"; exit 1; }
done
median=$(printf '%s\n' "${hits[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
echo "| cold build of hello (empty cache) | seconds |"
echo "|---|---|"
echo "| compiling the kernel (1 run) | $compile |"
echo "| kernel from the registry (median of $RUNS: ${hits[*]}) | $median ($(python3 -c "print('%.0fx' % ($compile / $median))") faster) |"
echo "both arrows byte-identical"
