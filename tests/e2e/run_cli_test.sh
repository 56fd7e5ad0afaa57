#!/usr/bin/env bash
# arrow-run's flags and exit codes end to end: `-- args` and `--env` reach the app (through the
# appended override archive), --quiet/--json/--boot-time output, --timeout -> 124, a bad image
# -> 125, and the honest KVM check (`--vmm builtin` on a PVM host fails at once with the reason;
# `auto` says so in one line and falls back to qemu). Boots use the default VMM, i.e. qemu TCG
# on this project's machines.
source "$(dirname "$0")/lib.sh"

cp "$BUILD_DIR/examples/hello/hello" "$TMP/hello"
cat >"$TMP/hello.recipe" <<'R'
name = "hello"
[app]
exec = "/usr/bin/hello"
args = ["from", "recipe"]
env = { HELLO_EXIT = "0" }
[files]
map = { "/usr/bin/hello" = "hello" }
R
run_capture "$TMP/build.out" "$ARROW_BUILD" "$TMP/hello.recipe" -o "$TMP/hello.arrow"
expect_eq "build" 0 "$status"

args_case() {
  run_capture "$TMP/args.out" "$ARROW_RUN" "$TMP/hello.arrow" --timeout 300s --env HELLO_EXIT=3 -- one "two words"
  echo "$status" >"$TMP/args.status"
}
json_case() {
  set +e
  "$ARROW_RUN" "$TMP/hello.arrow" --timeout 300s --quiet --json --boot-time </dev/null >"$TMP/json.out" 2>"$TMP/json.err"
  json_status=$?
  echo "$json_status" >"$TMP/json.status"
  set -e
}
args_case & json_case & wait
expect_eq "args/env: exit status from --env" 3 "$(cat "$TMP/args.status")"
expect_contains "args: replaced" "$TMP/args.out" "arg[1]=one"
expect_contains "args: word kept whole" "$TMP/args.out" "arg[2]=two words"
if grep -q "arg\[1\]=from" "$TMP/args.out"; then fail "args: recipe args still present"; else pass "args: recipe args gone"; fi
expect_eq "json: exit status" 0 "$(cat "$TMP/json.status")"
expect_contains "json: app output" "$TMP/json.out" "Hello from an arrow!"
last=$(tail -n 1 "$TMP/json.out")
if python3 -c 'import json,sys; j=json.loads(sys.argv[1]); assert j["exit_status"]==0 and j["outcome"]=="exited" and j["run_time_ms"]>0' "$last"; then
  pass "json: last line is the result object"
else fail "json: last line is <$last>"; fi
expect_contains "boot-time: boot and run time printed (qemu too, from arrow-init's control-channel mark)" "$TMP/json.err" "arrow-run: boot "
if python3 -c 'import json,sys; j=json.loads(sys.argv[1]); assert 0 < j["boot_time_ms"] <= j["run_time_ms"]' "$last"; then
  pass "json: boot_time_ms measured and within the run"
else fail "json: boot_time_ms missing or out of range in <$last>"; fi
if grep -q "using qemu" "$TMP/json.err"; then fail "quiet: runner chatter printed"; else pass "quiet: no runner chatter"; fi

run_capture "$TMP/timeout.out" "$ARROW_RUN" "$TMP/hello.arrow" --timeout 500ms
expect_eq "timeout: 124" 124 "$status"
expect_contains "timeout: says so" "$TMP/timeout.out" "timed out"

# Exit status 127 travels back like any other; --cpus 2 gives the app two CPUs (the tuned kernel
# runs on qemu's microvm machine, whose MP table lists every vCPU).
run_capture "$TMP/e127.out" "$ARROW_RUN" "$TMP/hello.arrow" --timeout 300s --env HELLO_EXIT=127
expect_eq "exit status 127 comes back" 127 "$status"
printf 'name = "nproc"\n[app]\nexec = "/usr/bin/nproc"\n' >"$TMP/nproc.recipe"
run_capture "$TMP/nproc.build" "$ARROW_BUILD" "$TMP/nproc.recipe" -o "$TMP/nproc.arrow"
run_capture "$TMP/nproc.out" "$ARROW_RUN" "$TMP/nproc.arrow" --timeout 300s --cpus 2 --quiet
expect_eq "smp: exit" 0 "$status"
expect_eq "smp: --cpus 2 gives the app 2 CPUs" 2 "$(tr -d '\r' <"$TMP/nproc.out" | tail -n 1)"

head -c 5000 /dev/urandom >"$TMP/junk.arrow"
run_capture "$TMP/junk.out" "$ARROW_RUN" "$TMP/junk.arrow"
expect_eq "bad image: 125" 125 "$status"
expect_contains "bad image: message" "$TMP/junk.out" "arrow-run: "

run_capture "$TMP/dur.out" "$ARROW_RUN" "$TMP/hello.arrow" --timeout 5parsecs
expect_eq "bad duration: 125" 125 "$status"
expect_contains "bad duration: message" "$TMP/dur.out" "invalid duration '5parsecs' (expected e.g. 30s, 500ms, 2m)"

if [ -e /sys/module/kvm_pvm ]; then
  start=$(date +%s)
  run_capture "$TMP/builtin.out" "$ARROW_RUN" "$TMP/hello.arrow" --vmm builtin
  expect_eq "builtin on PVM: 125" 125 "$status"
  expect_contains "builtin on PVM: reason" "$TMP/builtin.out" "paravirtual KVM (kvm_pvm)"
  expect_eq "builtin on PVM: fails at once" 1 "$(( $(date +%s) - start < 5 ))"
  expect_contains "auto on PVM: one line saying why" "$TMP/args.out" "arrow-run: /dev/kvm is a paravirtual KVM (kvm_pvm) that cannot boot an unmodified Linux guest; using qemu"
fi
summary
