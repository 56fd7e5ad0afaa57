#!/usr/bin/env bash
# Traced runs under qemu TCG: a Python script using json, sqlite3 and lib-dynload extensions built
# with --trace prints exactly what the static build prints, from an arrow at most a third its
# size; a #!/bin/sh wrapper that execs "$0.bin" works after --trace (and the static build warns
# about it); a server app traced with HTTP probes still serves its page; a library's
# .note.dlopen packs its recommended dependency without any trace; and every way a trace can
# go wrong (timeout, crash, a recorder that cannot start, a failing probe, a missing keep path)
# is an error naming it, with no arrow written.
source "$(dirname "$0")/lib.sh" "$@"
# The apps live outside /tmp: arrow-init mounts a tmpfs over the guest's /tmp.
W=$(mktemp -d /var/tmp/arrow-trace-e2e.XXXXXX)
export ARROW_STATE_DIR="$TMP/state"
trap 'rm -rf "$TMP" "$W"' EXIT
cd "$TMP"
A="$ARROW"
layer_bytes() {  # ARROW: the sum of its layers (kernel excluded)
  "$A" inspect "$1" --json | python3 -c '
import json, sys
j = json.load(sys.stdin)
print(sum(l["size"] for l in j["layers"] if "kernel" not in l["mediaType"]))'
}
files_of() { "$A" inspect "$1" --json | python3 -c 'import json,sys; [print(f["path"], "|", f["reason"]) for f in json.load(sys.stdin)["config"]["files"]]'; }

# 1. Python: json, sqlite3 (_sqlite3 and _json come from lib-dynload).
cat > py.recipe <<EOF
name = "py"
[app]
exec = "/usr/bin/python3"
args = ["-c", "import json, sqlite3, sys; db = sqlite3.connect(':memory:'); db.execute('create table t (x)'); db.execute('insert into t values (42)'); print(json.dumps({'x': db.execute('select x from t').fetchone()[0], 'sqlite': sqlite3.sqlite_version, 'c_json': json.scanner.c_make_scanner is not None}))"]
env = { LANG = "C.UTF-8" }
[files]
include = ["/usr/lib/python3.11"]
exclude = ["/usr/lib/python3.11/test", "/usr/lib/python3.11/test/*", "*/tests", "*/tests/*"]
[vm]
memory = "256M"
EOF
run_capture static.build "$ARROW_BUILD" py.recipe -o static.arrow
expect_eq "python: static build" 0 "$status"
run_capture traced.build "$ARROW_BUILD" py.recipe --trace --vmm qemu -o traced.arrow
expect_eq "python: --trace build" 0 "$status"
expect_contains "python: the build reports the trace" traced.build "trace: 1 run(s)"
run_capture static.out "$ARROW_RUN" -q --vmm qemu static.arrow
run_capture traced.out "$ARROW_RUN" -q --vmm qemu traced.arrow
expect_eq "python: traced arrow exits 0" 0 "$status"
expect_contains "python: traced arrow prints the result" traced.out '{"x": 42, "sqlite": "3.'
if cmp -s static.out traced.out; then pass "python: output identical to the static build's"; else
  fail "python: outputs differ"; diff static.out traced.out | sed 's/^/    | /' | head; fi
s=$(layer_bytes static.arrow); t=$(layer_bytes traced.arrow)
echo "python: layers static $s B, traced $t B"
if [ $((t * 3)) -le "$s" ]; then pass "python: traced layers at most a third of the static ones"; else fail "python: traced $t B vs static $s B"; fi
files_of traced.arrow > traced.files
expect_contains "python: lib-dynload's _sqlite3 traced" traced.files "_sqlite3.cpython-311-x86_64-linux-gnu.so | traced run (opened by /usr/bin/python3.11)"
expect_contains "python: libsqlite3 comes with it (its ELF closure)" traced.files "libsqlite3.so.0"
expect_contains "python: a module's source comes with its bytecode" traced.files "/usr/lib/python3.11/json/decoder.py | source of"
if grep -q "^/usr/lib/python3.11/xml/" traced.files; then fail "python: unused xml package packed"; else pass "python: unused packages dropped"; fi
run_capture report.json "$A" trace py.recipe --vmm qemu --json -q
expect_eq "arrow trace --json" 0 "$status"
expect_eq "arrow trace: what a static list needs" yes "$(python3 -c '
import json, sys
j = json.load(open("report.json"))
ok = j["traced"]["files"] < j["static"]["files"] and "/usr/lib/python3.11/json/__init__.py" in j["include"] \
     and any(p.startswith("/usr/lib/python3.11/xml/") for p in j["dropped"])
print("yes" if ok else j)')"

# 2. A wrapper script that execs "$0.bin" (as Debian's /usr/bin/valgrind does).
mkdir -p "$W/opt/hello"
printf '#!/bin/sh\nexec "$0.bin" "$@"\n' > "$W/opt/hello/hello"
chmod +x "$W/opt/hello/hello"
cp /usr/bin/printf "$W/opt/hello/hello.bin"
head -c 300000 /dev/urandom > "$W/opt/hello/unused.dat"
cat > wrap.recipe <<EOF
name = "wrap"
[app]
exec = "$W/opt/hello/hello"
args = ["wrapped %s\\\\n", "ok"]
[files]
include = ["$W/opt/hello"]
EOF
grep -v -e '^\[files\]' -e '^include' wrap.recipe > wrap-static.recipe
run_capture wrap-static.build "$ARROW_BUILD" wrap-static.recipe -o wrap-static.arrow
expect_contains "wrapper: the static build names the exec it cannot follow" wrap-static.build \
  "$W/opt/hello/hello: \`exec \$0.bin\` runs a program named at run time"
run_capture wrap-static.out "$ARROW_RUN" -q --vmm qemu wrap-static.arrow
expect_eq "wrapper: ... and without the program the guest cannot run it (127)" 127 "$status"
run_capture wrap.build "$ARROW_BUILD" wrap.recipe --trace --vmm qemu -o wrap.arrow
expect_eq "wrapper: --trace build" 0 "$status"; [ "$status" = 0 ] || sed "s/^/    | /" wrap.build
run_capture wrap.out "$ARROW_RUN" -q --vmm qemu wrap.arrow
expect_eq "wrapper: runs after --trace" "wrapped ok" "$(tr -d '\r' < wrap.out)"
files_of wrap.arrow > wrap.files
expect_contains "wrapper: the exec'd program was traced" wrap.files "$W/opt/hello/hello.bin | traced run (opened by /usr/bin/dash)"
if grep -q unused.dat wrap.files; then fail "wrapper: unused file packed"; else pass "wrapper: unused file dropped"; fi

# 3. A server traced with HTTP probes, then checked by its own [verify].
run_capture web.build "$ARROW_BUILD" "$SOURCE_DIR/examples/python-web/app.recipe" --trace --verify --vmm qemu -o web.arrow
expect_eq "server: --trace --verify" 0 "$status"
expect_contains "server: still serves its page after slimming" web.build "verify: PASS http :8000/ -> 200"
files_of web.arrow > web.files
expect_contains "server: http.server was traced" web.files "/usr/lib/python3.11/http/server.py"
if grep -q "^/usr/lib/python3.11/sqlite3/" web.files; then fail "server: sqlite3 packed"; else pass "server: modules it never imports dropped"; fi

# 4. .note.dlopen without any trace: the library recommends libz.so.1, the program dlopen()s it.
mkdir -p "$W/opt/plug/lib" "$W/opt/plug/bin"
json='[{"feature":"compression","priority":"recommended","soname":["libz.so.1"]}]'
esc=${json//\"/\\\"}
cat > plug.c <<EOF
__attribute__((used, section(".note.dlopen"), aligned(4))) static const struct {
  unsigned n, d, t; char name[4]; char desc[$(( (${#json} + 4) / 4 * 4 ))];
} note = {4, $(( ${#json} + 1 )), 0x407c0c0a, "FDO", "$esc"};
int plug(void) { return 1; }
EOF
cat > app.c <<'EOF'
#include <dlfcn.h>
#include <stdio.h>
int plug(void);
int main(void) {
  void *z = dlopen("libz.so.1", RTLD_NOW);
  const char *(*ver)(void) = z ? (const char *(*)(void))dlsym(z, "zlibVersion") : 0;
  printf("plug %d zlib %s\n", plug(), ver ? ver() : dlerror());
  return ver ? 0 : 1;
}
EOF
gcc -shared -fPIC -o "$W/opt/plug/lib/libplug.so" plug.c
gcc -o "$W/opt/plug/bin/app" app.c -L"$W/opt/plug/lib" -lplug -Wl,-rpath,"$W/opt/plug/lib"
cat > plug.recipe <<EOF
name = "plug"
[app]
exec = "$W/opt/plug/bin/app"
EOF
run_capture plug.build "$ARROW_BUILD" plug.recipe -o plug.arrow
expect_eq "dlopen note: static build" 0 "$status"
files_of plug.arrow > plug.files
expect_contains "dlopen note: libz packed for its note" plug.files \
  "recommended dlopen dependency of $W/opt/plug/lib/libplug.so (feature compression), .note.dlopen"
run_capture plug.out "$ARROW_RUN" -q --vmm qemu plug.arrow
expect_eq "dlopen note: the program dlopen()s it in the guest" 0 "$status"
expect_contains "dlopen note: ... and calls into it" plug.out "plug 1 zlib 1."

# 5. Bad input: each an error naming the run, no arrow left behind.
bad() {  # NAME RECIPE-BODY EXPECTED-MESSAGE
  printf '%s\n' "$2" > "$1.recipe"
  run_capture "$1.build" "$ARROW_BUILD" "$1.recipe" --trace --vmm qemu -o "$1.arrow"
  expect_eq "$1: the build fails" 1 "$status"
  expect_contains "$1: says why" "$1.build" "$3"
  if [ -e "$1.arrow" ]; then fail "$1: an arrow was written"; else pass "$1: no arrow written"; fi
}
bad timeout $'name = "slow"\n[app]\nexec = "/usr/bin/sleep"\nargs = ["600"]\n[trace]\ntimeout = "5s"' \
  'traced run 1/1 (the recipe'"'"'s args): timed out after 5s ([trace] timeout)'
bad crash $'name = "crash"\n[app]\nexec = "/bin/sh"\nargs = ["-c", "kill -SEGV $$"]' \
  'traced run 1/1 (the recipe'"'"'s args): the app was killed by signal 11 (it crashed)'
bad keep $'name = "keep"\n[app]\nexec = "/usr/bin/true"\n[trace]\nkeep = ["/no/such/dir"]' \
  '[trace] keep: /no/such/dir is not in /'
bad probe $'name = "probe"\n[app]\nexec = "/usr/bin/python3"\nargs = ["-m", "http.server", "8000"]\nports = [8000, 8001]\nready = "tcp:8000"\n[files]\ninclude = ["/usr/lib/python3.11"]\n[trace]\nhttp = [{ port = 8001, path = "/" }]\n[vm]\nmemory = "256M"' \
  'traced run 1/1 (the recipe'"'"'s args): probe http :8001/ got no HTTP answer'
# The recorder fails loudly: a normal arrow's kernel has no fanotify.
run_capture plain.build "$ARROW_BUILD" wrap-static.recipe -o plain.arrow
run_capture plain.run "$ARROW_RUN" -q --vmm qemu --trace-out "$TMP/plain.trace" plain.arrow
expect_eq "recorder without fanotify: the run fails (125)" 125 "$status"
expect_contains "recorder without fanotify: the host gets the reason" plain.trace \
  "arrow:trace-error fanotify_init (this kernel has no fanotify: the trace image needs the trace kernel fragment): ENOSYS"

summary
