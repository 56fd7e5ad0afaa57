#!/usr/bin/env bash
# registry_throughput.sh: push and pull throughput of `arrow push/pull` on loopback against
# `skopeo copy` (the named baseline) for the same arrows, same registry, same run.
#
#   bench/registry_throughput.sh BUILD_DIR [RUNS=3]
#   env: BIG_MB=128 (size of the incompressible file packed into the "big" arrow)
#
# Two arrows: examples/hello (kernel + small initramfs, ~9 MB) and "big" (hello plus BIG_MB of
# random bytes, zstd level 1). Each push goes to a freshly started Debian docker-registry (free
# 127.0.0.1 port, storage in a temp dir); both tools then pull what skopeo pushed, arrow from an
# empty cache, so all bytes cross the wire each time. Reported: median seconds and MB/s, and
# arrow's speed as a ratio of skopeo's (>1 = arrow faster).
#   push: arrow push X.arrow R/app:N        vs  skopeo copy oci-archive:X.arrow docker://R/app:N
#   pull: arrow pull R/app:N -o out.arrow   vs  skopeo copy docker://R/app:N oci-archive:out.tar
set -euo pipefail
BUILD_DIR=$(cd "${1:?usage: registry_throughput.sh BUILD_DIR [RUNS]}" && pwd)
RUNS=${2:-3}
BIG_MB=${BIG_MB:-128}
ARROW="$BUILD_DIR/bin/arrow"
work=$(mktemp -d)
REG_PID=""
trap '[ -n "$REG_PID" ] && kill "$REG_PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
export SOURCE_DATE_EPOCH=1700000000

# A fresh registry (new storage, new port) for every push, so neither tool finds the blobs
# already there (skopeo would otherwise mount them from another repository, via its blob-info
# cache, instead of uploading).
fresh_registry() {
  [ -n "$REG_PID" ] && { kill "$REG_PID"; wait "$REG_PID" 2>/dev/null || true; }
  local port dir
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  dir=$(mktemp -d "$work/reg.XXXXXX")
  R="127.0.0.1:$port"
  printf 'version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: %s\n' \
    "$dir/storage" "$R" >"$dir/config.yml"
  docker-registry serve "$dir/config.yml" >"$dir/registry.log" 2>&1 &
  REG_PID=$!
  for _ in $(seq 100); do curl -s -o /dev/null "http://$R/v2/" && return 0; sleep 0.1; done
  echo "registry did not start" >&2; exit 1
}

echo "building arrows..." >&2
"$ARROW" build -q "$BUILD_DIR/examples/hello/hello.recipe" -o "$work/hello.arrow"
mkdir -p "$work/big"
cp "$BUILD_DIR/examples/hello/hello" "$work/big/hello"
head -c "$((BIG_MB << 20))" /dev/urandom >"$work/big/blob.bin"
cat >"$work/big/big.recipe" <<'TOML'
name = "big"
version = "1.0.0"
[app]
exec = "/usr/bin/hello"
[files]
map = { "/usr/bin/hello" = "hello", "/data/blob.bin" = "blob.bin" }
TOML
"$ARROW" build -q --zstd-level 1 "$work/big/big.recipe" -o "$work/big.arrow"

now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
n=0
bench() {  # bench NAME FILE
  local name=$1 file=$2 bytes ap=() sp=() al=() sl=()
  bytes=$(stat -c %s "$file")
  for run in $(seq "$RUNS"); do
    n=$((n + 1))
    fresh_registry
    t0=$(now); "$ARROW" push -q "$file" "$R/app:$n"; t1=$(now)
    fresh_registry
    t1b=$(now); skopeo copy -q --dest-tls-verify=false "oci-archive:$file" "docker://$R/app:$n"; t2=$(now)
    rm -rf "$work/cache" "$work/out.arrow" "$work/out.tar"
    t3=$(now); ARROW_CACHE_DIR="$work/cache" "$ARROW" pull -q "$R/app:$n" -o "$work/out.arrow"; t4=$(now)
    skopeo copy -q --src-tls-verify=false "docker://$R/app:$n" "oci-archive:$work/out.tar"; t5=$(now)
    cmp -s "$file" "$work/out.arrow" || { echo "pulled arrow differs from $file" >&2; exit 1; }
    ap+=("$(echo "$t1 - $t0" | bc -l)"); sp+=("$(echo "$t2 - $t1b" | bc -l)")
    al+=("$(echo "$t4 - $t3" | bc -l)"); sl+=("$(echo "$t5 - $t4" | bc -l)")
  done
  local a_push s_push a_pull s_pull
  a_push=$(printf '%s\n' "${ap[@]}" | median); s_push=$(printf '%s\n' "${sp[@]}" | median)
  a_pull=$(printf '%s\n' "${al[@]}" | median); s_pull=$(printf '%s\n' "${sl[@]}" | median)
  mbs() { echo "scale=1; $bytes / 1048576 / $1" | bc -l; }
  printf '%-6s %7.1f MiB  push: arrow %6.3f s (%6s MiB/s)  skopeo %6.3f s (%6s MiB/s)  ratio %5.2fx\n' \
    "$name" "$(echo "$bytes / 1048576" | bc -l)" "$a_push" "$(mbs "$a_push")" "$s_push" "$(mbs "$s_push")" \
    "$(echo "$s_push / $a_push" | bc -l)"
  printf '%-6s %7s      pull: arrow %6.3f s (%6s MiB/s)  skopeo %6.3f s (%6s MiB/s)  ratio %5.2fx\n' \
    "" "" "$a_pull" "$(mbs "$a_pull")" "$s_pull" "$(mbs "$s_pull")" "$(echo "$s_pull / $a_pull" | bc -l)"
}
echo "registry throughput on loopback (127.0.0.1), median of $RUNS runs; ratio = skopeo time / arrow time"
bench hello "$work/hello.arrow"
bench big "$work/big.arrow"
