#!/usr/bin/env bash
# The built-in VMM boots real Linux, proven by nesting. This host's /dev/kvm is
# a paravirtual PVM that cannot run Linux, so: an outer arrow, built by Arrow from Debian's kernel,
# holds arrow-run, kvm/kvm-amd and two inner hello arrows; it boots under `arrow-run --vmm qemu`
# (TCG, -cpu EPYC,+svm); inside, the modules give a real KVM and `arrow-run --vmm builtin` boots
# first the arrow on the tuned kernel (an ELF vmlinux layer: PT_LOAD segments loaded by the VMM),
# then the one on Debian's prebuilt bzImage with `-- args` and `--env HELLO_EXIT=7`. The inner
# apps' output and the last one's exit status 7 must reach this shell through both runners.
# The outer recipe uses `[kernel] image` + `modules = ["kvm-amd"]`; arrow-init loads them.
source "$(dirname "$0")/lib.sh"
KERNEL=${KERNEL:-/vmlinuz}
ver=$(basename "$(readlink -f "$KERNEL")" | sed 's/^vmlinuz-//')
[ -e "/lib/modules/$ver/modules.dep" ] || { echo "FAIL: /lib/modules/$ver missing (scripts/install-deps.sh installs linux-image-amd64)"; exit 1; }

cp "$BUILD_DIR/examples/hello/hello" "$TMP/hello"
cat >"$TMP/inner.recipe" <<'R'
name = "inner"
[app]
exec = "/usr/bin/hello"
args = ["from", "recipe"]
[files]
map = { "/usr/bin/hello" = "hello" }
R
run_capture "$TMP/inner.build" "$ARROW_BUILD" "$TMP/inner.recipe" -o "$TMP/inner.arrow" --kernel "$KERNEL"
expect_eq "inner: build" 0 "$status"

run_capture "$TMP/tuned.build" "$ARROW_BUILD" "$TMP/inner.recipe" -o "$TMP/tuned.arrow"
expect_eq "tuned inner: build" 0 "$status"
expect_contains "tuned inner: its kernel layer is the vmlinux" "$TMP/tuned.build" "vmlinux.zst"

cat >"$TMP/nested.sh" <<'S'
#!/bin/sh
/usr/bin/arrow-run /tuned.arrow --vmm builtin --timeout 240s --boot-time -- vmlinux proof
echo "RESULT vmlinux exit $?"
exec /usr/bin/arrow-run /inner.arrow --vmm builtin --timeout 240s --boot-time --env HELLO_EXIT=7 -- nested proof
S
chmod +x "$TMP/nested.sh"
cp "$BUILD_DIR/bin/arrow" "$TMP/arrow-run"
cat >"$TMP/outer.recipe" <<R
name = "outer"
[app]
exec = "/nested.sh"
[files]
map = { "/usr/bin/arrow-run" = "arrow-run", "/inner.arrow" = "inner.arrow", "/tuned.arrow" = "tuned.arrow", "/nested.sh" = "nested.sh" }
[kernel]
image = "$KERNEL"
modules = ["kvm-amd"]
[vm]
memory = "1G"
R
run_capture "$TMP/outer.build" "$ARROW_BUILD" "$TMP/outer.recipe" -o "$TMP/outer.arrow" --zstd-level 3
expect_eq "outer: build" 0 "$status"
[ "$status" -eq 0 ] || sed 's/^/    | /' "$TMP/outer.build" | tail -n 20

start=$(date +%s)
run_nested "$TMP/nested.out" "$TMP/outer.arrow" --vmm qemu --qemu-cpu EPYC,+svm --timeout 300s
echo "nested run took $(( $(date +%s) - start )) s; what the outermost terminal got:"
sed 's/^/    | /' "$TMP/nested.out"
expect_eq "nested: inner app's exit status reaches the host" 7 "$status"
expect_contains "nested: inner app's output" "$TMP/nested.out" "Hello from an arrow!"
expect_contains "nested: -- args replaced the recipe's" "$TMP/nested.out" "arg[1]=nested"
expect_contains "nested: the built-in VMM measured the boot" "$TMP/nested.out" "(builtin)"
expect_contains "nested: the vmlinux-layer arrow ran under the built-in VMM" "$TMP/nested.out" "arg[1]=vmlinux"
expect_contains "nested: ... and exited 0" "$TMP/nested.out" "RESULT vmlinux exit 0"
expect_eq "nested: both inner boots were the built-in VMM's" 2 "$(grep -c "(builtin)" "$TMP/nested.out")"
grep "arrow-run: boot" "$TMP/nested.out" || true
summary
