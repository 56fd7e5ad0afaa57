# Shared helpers of the end-to-end tests: where the binaries are, a scratch directory removed on
# exit, and check/summary functions. Each test script prints "N passed, M failed" and exits
# non-zero when anything failed.
set -euo pipefail

BUILD_DIR=${1:?usage: $0 BUILD_DIR}
BUILD_DIR=$(cd "$BUILD_DIR" && pwd)
SOURCE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
ARROW="$BUILD_DIR/bin/arrow"
ARROW_BUILD="$BUILD_DIR/bin/arrow-build"
ARROW_RUN="$BUILD_DIR/bin/arrow-run"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1700000000}
passed=0
failed=0

pass() { echo "PASS: $*"; passed=$((passed + 1)); }
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }

# expect_eq WHAT EXPECTED ACTUAL
expect_eq() {
  if [ "$2" = "$3" ]; then pass "$1"; else fail "$1: expected '$2', got '$3'"; fi
}

# expect_contains WHAT FILE NEEDLE
expect_contains() {
  if grep -qF -- "$3" "$2"; then pass "$1"; else
    fail "$1: '$3' not in output:"; sed 's/^/    | /' "$2" | tail -n 30
  fi
}

# expect_not_contains WHAT FILE NEEDLE
expect_not_contains() {
  if ! grep -qF -- "$3" "$2"; then pass "$1"; else
    fail "$1: '$3' in output:"; grep -F -- "$3" "$2" | sed 's/^/    | /' | head -n 5
  fi
}

# run_capture OUTFILE CMD...: runs CMD, stdout+stderr to OUTFILE, sets $status.
run_capture() {
  local out=$1; shift
  set +e
  "$@" >"$out" 2>&1 </dev/null
  status=$?
  set -e
}

# run_nested OUTFILE ARGS...: boots a nested-KVM outer arrow (arrow-run ARGS), console to OUTFILE,
# sets $status. An outer guest that neither finishes nor fails within its --timeout (exit 124)
# stalled: under qemu TCG with emulated SVM the outer guest sometimes stops making progress
# altogether (qemu busy, no more console output), always right around an inner VM's start or
# stop. Such a run is reported, with where its script had got to, and repeated, at most twice;
# a third stall, like any other failure, fails the test.
run_nested() {
  local out=$1 try
  shift
  for try in 1 2 3; do
    run_capture "$out" "$ARROW_RUN" "$@"
    [ "$status" = 124 ] && [ $try -lt 3 ] || break
    echo "NOTE: the outer guest stalled (no exit within its timeout, attempt $try); its last lines:"
    grep -vE '^\[ *[0-9]|qemu-system' "$out" | tail -n 8 | sed 's/^/    | /'
    echo "NOTE: running it again"
  done
}

# nested_outer INCLUDE MAP TIMEOUT SHOWN: in the current directory, builds outer.arrow (exec
# /nested.sh, Debian's $KERNEL with kvm-amd, 1G; INCLUDE and MAP are the [files] TOML values),
# boots it with run_nested (no NIC) into nested.out, and shows the console lines matching SHOWN.
nested_outer() {
  cat >outer.recipe <<R
name = "outer"
[app]
exec = "/nested.sh"
[files]
include = $1
map = $2
[kernel]
image = "$KERNEL"
modules = ["kvm-amd"]
[vm]
memory = "1G"
R
  run_capture outer.build "$ARROW_BUILD" outer.recipe -o outer.arrow --zstd-level 3
  expect_eq "outer: build" 0 "$status"
  [ "$status" -eq 0 ] || sed 's/^/    | /' outer.build | tail -n 20
  local start
  start=$(date +%s)
  run_nested nested.out outer.arrow --vmm qemu --qemu-cpu EPYC,+svm --net none --timeout "$3"
  echo "nested run took $(( $(date +%s) - start )) s; what the outer guest reported:"
  grep -E "$4" nested.out | sed 's/^/    | /'
}

summary() {
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ]
}

# writer_recipe OUT: the python3 recipe running tests/e2e/sqlite_writer.py with a volume at /data.
writer_recipe() {
  sed -e "s|^\[vm\]|[files.map]\n\"/app/writer.py\" = \"$SOURCE_DIR/tests/e2e/sqlite_writer.py\"\n\n[vm]|" \
      -e 's|^args = .*|args = ["/app/writer.py", "write"]\nvolumes = ["/data"]|' \
      "$SOURCE_DIR/recipes/python3.recipe" >"$1"
}

# The registry tests' loopback docker-registry. Background servers' pids go to PIDS; a test that
# starts any sets `trap stop_servers EXIT` (they are stopped, then $TMP removed).
PIDS=()
stop_servers() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$TMP"
}
wait_http() {  # wait_http URL: until the server answers (any status)
  for _ in $(seq 100); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done
  echo "server at $1 did not come up"; return 1
}
# start_registry NAME PORT [HTPASSWD_FILE] [AUTH_YAML]: storage in $TMP/NAME, served on 127.0.0.1:PORT;
# its pid goes to REG_PID and the caller's PIDS array (which the caller kills on exit).
start_registry() {
  local dir="$TMP/$1" auth=""
  mkdir -p "$dir/storage"
  [ -n "${3:-}" ] && auth="auth:
  htpasswd:
    realm: arrow-test
    path: $3"
  [ -n "${4:-}" ] && auth=$4
  cat >"$dir/config.yml" <<YML
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $dir/storage
$auth
http:
  addr: 127.0.0.1:$2
YML
  docker-registry serve "$dir/config.yml" >>"$dir/log" 2>&1 &
  REG_PID=$!
  PIDS+=("$REG_PID")
  wait_http "http://127.0.0.1:$2/v2/"
}
