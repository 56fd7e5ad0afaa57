#!/usr/bin/env bash
# Build behaviour without booting: reproducibility, inspect, skopeo interop, and bad input
# (each gets a clear error, a non-zero exit and no output file).
source "$(dirname "$0")/lib.sh"
RECIPE="$BUILD_DIR/examples/hello/hello.recipe"

# Reproducible: the same recipe twice gives byte-identical arrows.
run_capture "$TMP/b1" "$ARROW_BUILD" "$RECIPE" -o "$TMP/a.arrow"
expect_eq "build 1" 0 "$status"
run_capture "$TMP/b2" "$ARROW_BUILD" "$RECIPE" -o "$TMP/b.arrow"
expect_eq "build 2" 0 "$status"
if cmp -s "$TMP/a.arrow" "$TMP/b.arrow"; then pass "reproducible: byte-identical"; else fail "reproducible: arrows differ"; fi

# inspect: manifest, config and every file with its reason.
run_capture "$TMP/inspect" "$ARROW" inspect "$TMP/a.arrow"
expect_eq "inspect: exit" 0 "$status"
expect_contains "inspect: entrypoint reason" "$TMP/inspect" "/usr/bin/hello"
expect_contains "inspect: DT_NEEDED reason" "$TMP/inspect" "DT_NEEDED of /usr/bin/hello"
expect_contains "inspect: interpreter reason" "$TMP/inspect" "interpreter of /usr/bin/hello"
expect_contains "inspect: usr-merge symlink kept" "$TMP/inspect" "/lib64"
expect_contains "inspect: init" "$TMP/inspect" "arrow-init (PID 1)"
expect_contains "inspect: kernel version" "$TMP/inspect" "kernel     6."
run_capture "$TMP/inspect.json" "$ARROW" inspect --json "$TMP/a.arrow"
expect_eq "inspect --json: exit" 0 "$status"
if python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["config"]["entrypoint"][0]=="/usr/bin/hello"; assert any(f["path"]=="/init" for f in d["config"]["files"])' "$TMP/inspect.json"; then
  pass "inspect --json: parses, has entrypoint and files"; else fail "inspect --json"; fi

# Interop: skopeo reads the archive as an OCI layout.
run_capture "$TMP/skopeo.inspect" skopeo inspect --raw "oci-archive:$TMP/a.arrow"
expect_eq "skopeo inspect --raw" 0 "$status"
expect_contains "skopeo sees our artifactType" "$TMP/skopeo.inspect" "application/vnd.arrow.image.v1"
run_capture "$TMP/skopeo.copy" skopeo copy "oci-archive:$TMP/a.arrow" "dir:$TMP/copied"
expect_eq "skopeo copy to dir:" 0 "$status"
[ "$status" -eq 0 ] || sed 's/^/    | /' "$TMP/skopeo.copy"

# Bad input. Each case: non-zero exit, the message names the problem, no output file.
bad() {  # bad NAME RECIPE_FILE NEEDLE
  rm -f "$TMP/bad.arrow"
  run_capture "$TMP/$1.err" "$ARROW_BUILD" "$2" -o "$TMP/bad.arrow"
  if [ "$status" -ne 0 ]; then pass "$1: non-zero exit"; else fail "$1: exit 0"; fi
  expect_contains "$1: message" "$TMP/$1.err" "$3"
  if [ -e "$TMP/bad.arrow" ]; then fail "$1: output file left behind"; else pass "$1: no output file"; fi
  if ls -a "$TMP" | grep -q '^\.bad\.arrow\.tmp'; then fail "$1: temporary left behind"; else pass "$1: no temporary"; fi
}
printf 'name = "x"\n[app]\nexce = "/usr/bin/true"\n' >"$TMP/broken.recipe"
bad "broken recipe" "$TMP/broken.recipe" "broken.recipe:3:1: unknown key 'exce' in [app] (did you mean 'exec'?)"
printf 'name = "x"\n[app]\nexec = "/usr/bin/does-not-exist"\n' >"$TMP/missing.recipe"
bad "missing exec" "$TMP/missing.recipe" "/usr/bin/does-not-exist"
printf 'hello\n' >"$TMP/notelf"
chmod +x "$TMP/notelf"
printf 'name = "x"\n[app]\nexec = "/app"\n[files]\nmap = { "/app" = "notelf" }\n' >"$TMP/notelf.recipe"
bad "non-ELF exec" "$TMP/notelf.recipe" "not an ELF"
# An unresolvable library: a program linked against a library that is not installed.
mkdir -p "$TMP/lib"
echo 'int ghost(void) { return 1; }' >"$TMP/ghost.c"
echo 'int ghost(void); int phantom(void); int main(void) { return ghost() + phantom(); }' >"$TMP/app.c"
echo 'int phantom(void) { return 2; }' >"$TMP/phantom.c"
gcc -shared -fPIC -Wl,-soname,libghost.so.1 -o "$TMP/lib/libghost.so.1" "$TMP/ghost.c"
gcc -shared -fPIC -Wl,-soname,libphantom.so.7 -o "$TMP/lib/libphantom.so.7" "$TMP/phantom.c"
gcc -o "$TMP/needs-ghost" "$TMP/app.c" "$TMP/lib/libghost.so.1" "$TMP/lib/libphantom.so.7"
printf 'name = "x"\n[app]\nexec = "/app"\n[files]\nmap = { "/app" = "needs-ghost" }\n' >"$TMP/ghost.recipe"
bad "unresolvable libraries" "$TMP/ghost.recipe" "libghost.so.1"
expect_contains "all missing libraries reported" "$TMP/unresolvable libraries.err" "libphantom.so.7"
# A missing kernel.
printf 'name = "x"\n[app]\nexec = "/usr/bin/true"\n[kernel]\nimage = "/nonexistent/vmlinuz"\n' >"$TMP/nokernel.recipe"
bad "missing kernel" "$TMP/nokernel.recipe" "/nonexistent/vmlinuz"

# A failed build leaves an existing output untouched (nothing lost, nothing half-written).
cp "$TMP/a.arrow" "$TMP/keep.arrow"
run_capture "$TMP/keep.err" "$ARROW_BUILD" "$TMP/ghost.recipe" -o "$TMP/keep.arrow"
if [ "$status" -ne 0 ] && cmp -s "$TMP/a.arrow" "$TMP/keep.arrow"; then
  pass "failed build keeps the previous output intact"; else fail "failed build touched the previous output"; fi

# A corrupt .arrow: inspect and run refuse it with a message naming the problem.
cp "$TMP/a.arrow" "$TMP/corrupt.arrow"
size=$(stat -c %s "$TMP/corrupt.arrow")
printf '\x55\xaa\x55\xaa' | dd of="$TMP/corrupt.arrow" bs=1 seek=$((size / 2)) conv=notrunc status=none
run_capture "$TMP/corrupt.inspect" "$ARROW" inspect "$TMP/corrupt.arrow"
if [ "$status" -ne 0 ]; then pass "corrupt arrow: inspect fails"; else fail "corrupt arrow: inspect exit 0"; fi
expect_contains "corrupt arrow: message names the file" "$TMP/corrupt.inspect" "corrupt.arrow"
run_capture "$TMP/corrupt.run" "$ARROW_RUN" "$TMP/corrupt.arrow"
expect_eq "corrupt arrow: run exits 125" 125 "$status"
head -c 1000 /dev/urandom >"$TMP/garbage.arrow"
run_capture "$TMP/garbage.inspect" "$ARROW" inspect "$TMP/garbage.arrow"
if [ "$status" -ne 0 ]; then pass "garbage arrow: inspect fails"; else fail "garbage arrow: inspect exit 0"; fi
summary
