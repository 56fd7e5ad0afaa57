#!/usr/bin/env bash
# Builds the example hello and the ready recipes (sqlite3, python3, curl, perl) and boots each
# under qemu TCG: the app prints what it should and its exit status comes back as arrow-run's.
# Also: an app exiting 3 gives 3, a timeout gives 124.
source "$(dirname "$0")/lib.sh"

boot() {  # boot NAME ARROW EXPECTED_STATUS NEEDLE
  run_capture "$TMP/$1.out" "$ARROW_RUN" "$2" --timeout 300
  expect_eq "$1: exit status" "$3" "$status"
  expect_contains "$1: output" "$TMP/$1.out" "$4"
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

boot hello "$TMP/hello.arrow" 0 "Hello from an arrow!" &
boot exit3 "$TMP/exit3.arrow" 3 "Hello from an arrow!" &
wait
expect_contains "hello: args reach the app" "$TMP/hello.out" "arg[2]=Arrow"
boot sqlite3 "$TMP/sqlite3.arrow" 0 "sqlite 3.40.1 answers 42" &
boot python3 "$TMP/python3.arrow" 0 "python 3.11" &
wait
expect_contains "python3: stdlib json + sqlite3 extension" "$TMP/python3.out" '{"sqlite": "3.40.1"}'
boot curl "$TMP/curl.arrow" 0 "Protocols:" &
boot perl "$TMP/perl.arrow" 0 "sum=55" &
wait

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
