#!/usr/bin/env bash
# Kernels shared through a registry (docker-registry on loopback): `arrow kernel push` publishes the
# cached microvm kernel under its cache key; a build with an empty cache and ARROW_KERNEL_REGISTRY
# pulls it instead of compiling and writes the same .arrow bytes as a build from the local cache;
# a registry without the key, an unreachable one, and a tampered blob each give one line and a
# local compile (stopped here after that line: a compile takes minutes), never a failed lookup
# that fails the build, and never a tampered kernel in the cache.
source "$(dirname "$0")/lib.sh" "$@"
command -v docker-registry >/dev/null || { echo "FAIL: docker-registry not installed (scripts/install-deps.sh)"; exit 1; }
trap stop_servers EXIT
cd "$TMP"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
start_registry reg "$PORT"
REPO="127.0.0.1:$PORT/arrow/kernels"
HELLO="$BUILD_DIR/examples/hello/hello.recipe"

# The machine's cache has the microvm kernel (the other e2e tests use it); publish it.
run_capture push.out "$ARROW" kernel push "$REPO"
expect_eq "kernel push" 0 "$status"
KEY=$("$ARROW" kernel path 2>/dev/null | sed -n 's|.*/kernels/\([0-9a-f]\{32\}\)/bzImage$|\1|p')
expect_contains "kernel push: tagged with the cache key" push.out "$REPO:$KEY"
curl -s "http://127.0.0.1:$PORT/v2/arrow/kernels/manifests/$KEY" -H 'Accept: application/vnd.oci.image.manifest.v1+json' > manifest.json
expect_eq "the artifact's type" "application/vnd.arrow.kernel-cache.v1" "$(python3 -c 'import json; print(json.load(open("manifest.json"))["artifactType"])')"
expect_eq "the artifact's layers: bzImage, .config, vmlinux" \
  "application/vnd.arrow.kernel.v1 application/vnd.arrow.kernel.config.v1 application/vnd.arrow.kernel.v1.elf+zstd" \
  "$(python3 -c 'import json; print(" ".join(l["mediaType"] for l in json.load(open("manifest.json"))["layers"]))')"

# A cold CI runner: empty cache, the registry named in the environment.
run_capture local.out "$ARROW_BUILD" "$HELLO" -o local.arrow
expect_eq "build from the local cache" 0 "$status"
ARROW_CACHE_DIR="$TMP/cold" ARROW_KERNEL_REGISTRY="$REPO" run_capture cold.out "$ARROW_BUILD" "$HELLO" -o cold.arrow
expect_eq "cold build with the registry" 0 "$status"
expect_contains "cold build: pulled the kernel" cold.out "[kernel] pulled kernel $KEY from $REPO"
if grep -q "\[kernel\] building" cold.out; then fail "cold build compiled a kernel"; else pass "cold build: no compile"; fi
if cmp -s local.arrow cold.arrow; then pass "cold build: the same .arrow bytes as the local build"; else fail "the arrows differ"; fi
expect_eq "the pulled kernel is a normal cache entry" yes "$([ -s "$TMP/cold/kernels/$KEY/meta.json" ] && echo yes)"
if cmp -s "$TMP/cold/kernels/$KEY/vmlinux.zst" "$(dirname "$("$ARROW" kernel path)")/vmlinux.zst"; then
  pass "the pulled vmlinux.zst is the published one"; else fail "the pulled vmlinux.zst differs"; fi
ARROW_CACHE_DIR="$TMP/cold" run_capture again.out "$ARROW_BUILD" "$HELLO" -o again.arrow
if grep -q "\[kernel\]" again.out; then fail "second build went to the registry again"; else pass "second build: a cache hit"; fi

# examples/ci/ci.sh on a cold runner: the kernel from the registry, the arrow pushed next to it.
mkdir ci && cp "$BUILD_DIR/examples/hello/hello" "$HELLO" ci/
run_capture ci.out env -C ci ARROW="$ARROW" RECIPE=hello.recipe ARROW_CACHE_DIR="$TMP/ci-cache" \
  ARROW_KERNEL_REGISTRY="$REPO" APP_REF="127.0.0.1:$PORT/ci/hello:1" sh "$SOURCE_DIR/examples/ci/ci.sh"
expect_eq "examples/ci/ci.sh" 0 "$status"
expect_contains "ci.sh: no compile, the kernel pulled" ci.out "[kernel] pulled kernel $KEY from $REPO"
expect_contains "ci.sh: the arrow pushed" ci.out "pushed 127.0.0.1:$PORT/ci/hello:1"

# No such kernel, no registry, a tampered blob: one line each, then the local compile starts.
miss() {  # NAME REPO EXPECTED-LINE
  ARROW_CACHE_DIR="$TMP/$1-cache" run_capture "$1.out" timeout 20 "$ARROW_BUILD" "$HELLO" -o "$1.arrow" --kernel-registry "$2"
  expect_contains "$1: says so" "$1.out" "$3"
  expect_contains "$1: compiles locally instead" "$1.out" "[kernel] building $KEY"
  if [ -e "$TMP/$1-cache/kernels/$KEY/meta.json" ]; then fail "$1: a kernel was installed"; else pass "$1: nothing installed"; fi
}
miss missing "127.0.0.1:$PORT/arrow/other" "[kernel] kernel registry 127.0.0.1:$PORT/arrow/other has no kernel $KEY; compiling locally"
DEAD=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
miss unreachable "127.0.0.1:$DEAD/arrow/kernels" "cannot reach registry 127.0.0.1:$DEAD"
KBLOB=$(python3 -c 'import json; print(json.load(open("manifest.json"))["layers"][0]["digest"].split(":")[1])')
printf 'not a kernel' > "$TMP/reg/storage/docker/registry/v2/blobs/sha256/${KBLOB:0:2}/$KBLOB/data"
miss tampered "$REPO" "; compiling locally"
expect_contains "tampered: the digest check names it" tampered.out "$KBLOB"

summary
