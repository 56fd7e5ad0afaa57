#!/usr/bin/env bash
# An interactive app on the console: a shell arrow run with a terminal on stdin (a pty made by
# script(1)). Typed lines reach the guest shell, Ctrl-C interrupts the app's foreground command
# instead of killing the VM, and the shell's own exit status comes back as arrow-run's.
source "$(dirname "$0")/lib.sh"
printf 'name = "sh"\n[app]\nexec = "/bin/sh"\nargs = ["-i"]\n' >"$TMP/sh.recipe"
run_capture "$TMP/build" "$ARROW_BUILD" "$TMP/sh.recipe" -o "$TMP/sh.arrow"
expect_eq "shell arrow: build" 0 "$status"

# Input is paced generously: the boot takes ~2 s here, much longer on a loaded machine.
{
  sleep 20
  printf 'echo typed-$((6 * 7))\n'
  sleep 2
  printf 'read line\n'
  sleep 2
  printf '\003'
  sleep 2
  printf 'echo after-interrupt-$((1 + 1))\n'
  sleep 2
  printf 'exit 5\n'
  sleep 5
} | {
  set +e
  script -qfec "$ARROW_RUN $TMP/sh.arrow --timeout 120s" /dev/null >"$TMP/out" 2>&1
  echo $? >"$TMP/status"
}
tr -d '\r' <"$TMP/out" >"$TMP/out.txt"
expect_contains "typed line ran in the guest" "$TMP/out.txt" "typed-42"
expect_contains "Ctrl-C interrupted read, the shell lives on" "$TMP/out.txt" "after-interrupt-2"
if grep -q "terminating on signal" "$TMP/out.txt"; then fail "Ctrl-C killed qemu"; else pass "Ctrl-C did not kill the VM"; fi
expect_eq "the shell's exit status comes back" 5 "$(cat "$TMP/status")"
summary
