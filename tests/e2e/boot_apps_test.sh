#!/usr/bin/env bash
# Builds the example hello and the ready recipes (sqlite3, python3, curl, perl) and boots each
# under qemu TCG (their kernel is the default vmlinux layer, booted through its PVH note): the
# app prints what it should and its exit status comes back as arrow-run's.
# Also: an app exiting 3 gives 3, a timeout gives 124.
source "$(dirname "$0")/lib.sh"

# Boots run two at a time: start_boot in the background, then check_boot in this shell (so the
# pass/fail counters stay in this process).
start_boot() {  # start_boot NAME ARROW
  ( set +e; "$ARROW_RUN" "$2" --timeout 300 >"$TMP/$1.out" 2>&1 </dev/null; echo $? >"$TMP/$1.status" ) &
}
check_boot() {  # check_boot NAME EXPECTED_STATUS NEEDLE
  expect_eq "$1: exit status" "$2" "$(cat "$TMP/$1.status")"
  expect_contains "$1: output" "$TMP/$1.out" "$3"
}

run_capture "$TMP/hello.build" "$ARROW_BUILD" "$BUILD_DIR/examples/hello/hello.recipe" -o "$TMP/hello.arrow"
expect_eq "hello: build" 0 "$status"
expect_contains "hello: build summary" "$TMP/hello.build" "compressed (ratio"

# hello, exiting 3 through the recipe's environment
cp "$BUILD_DIR/examples/hello/hello" "$TMP/hello"
cat >"$TMP/exit3.recipe" <<'R'
name = "exit3"
[app]
exec = "/usr/bin/hello"
env = { HELLO_EXIT = "3" }
[files]
map = { "/usr/bin/hello" = "hello" }
R
run_capture "$TMP/exit3.build" "$ARROW_BUILD" "$TMP/exit3.recipe" -o "$TMP/exit3.arrow"
expect_eq "exit3: build" 0 "$status"

for r in sqlite3 python3 curl perl; do
  run_capture "$TMP/$r.build" "$ARROW_BUILD" "$SOURCE_DIR/recipes/$r.recipe" -o "$TMP/$r.arrow"
  expect_eq "$r: build" 0 "$status"
  [ "$status" -eq 0 ] || sed 's/^/    | /' "$TMP/$r.build" | tail -n 20
done

# Every default arrow carries its kernel as the ELF vmlinux layer (no decompression at boot).
for a in hello sqlite3 python3; do
  expect_eq "$a: kernel layer is the vmlinux" "application/vnd.arrow.kernel.v1.elf+zstd" \
    "$("$ARROW" inspect --json "$TMP/$a.arrow" | python3 -c 'import json,sys; print([l["mediaType"] for l in json.load(sys.stdin)["layers"] if ".kernel." in l["mediaType"]][0])')"
done

start_boot hello "$TMP/hello.arrow"
start_boot exit3 "$TMP/exit3.arrow"
wait
check_boot hello 0 "Hello from an arrow!"
check_boot exit3 3 "Hello from an arrow!"
expect_contains "hello: args reach the app" "$TMP/hello.out" "arg[2]=Arrow"
start_boot sqlite3 "$TMP/sqlite3.arrow"
start_boot python3 "$TMP/python3.arrow"
wait
check_boot sqlite3 0 "sqlite 3.40.1 answers 42"
check_boot python3 0 "python 3.11"
expect_contains "python3: stdlib json + sqlite3 extension" "$TMP/python3.out" '{"sqlite": "3.40.1"}'
start_boot curl "$TMP/curl.arrow"
start_boot perl "$TMP/perl.arrow"
wait
check_boot curl 0 "Protocols:"
check_boot perl 0 "sum=55"

# A guest that never ends is stopped by the host-side timeout: 124.
cat >"$TMP/sleep.recipe" <<'R'
name = "sleeper"
[app]
exec = "/usr/bin/sleep"
args = ["600"]
R
run_capture "$TMP/sleep.build" "$ARROW_BUILD" "$TMP/sleep.recipe" -o "$TMP/sleep.arrow"
run_capture "$TMP/sleep.out" "$ARROW_RUN" "$TMP/sleep.arrow" --timeout 20
expect_eq "timeout: exit status 124" 124 "$status"
expect_contains "timeout: message" "$TMP/sleep.out" "timed out"
summary
