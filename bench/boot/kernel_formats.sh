#!/usr/bin/env bash
# bench/boot/kernel_formats.sh BUILD_DIR [RUNS=5] [tcg|nested|all]: the hello arrow with its kernel
# stored three ways, booted in the same run, RUNS runs each, interleaved, medians:
#   xz-bzimage    the self-decompressing xz bzImage (`--kernel-format bzimage`: the old default)
#   zstd-bzimage  the same with the `fast` fragment (zstd kernel compression)
#   vmlinux       the stripped ELF vmlinux layer (the default): no decompression in the guest
# tcg:    through `arrow-run --vmm qemu` on this host (qemu microvm, TCG): time from starting
#         arrow-run to the app's first output line, and `--json` boot_time_ms (VMM start to
#         arrow-init's mark on the control channel, the same mechanism in both VMMs).
# nested: inside a nested-KVM guest (qemu TCG -cpu EPYC,+svm; this host's PVM KVM cannot boot
#         Linux): the built-in VMM on each format, and qemu -M microvm (-accel kvm) on the vmlinux
#         arrow, by `--json` boot_time_ms and run_time_ms. Only ratios carry over from nested runs.
# Ratios are against xz-bzimage (tcg) and against qemu microvm on the same arrow (nested).
set -euo pipefail
BUILD_DIR=$(cd "${1:?usage: $0 BUILD_DIR [RUNS] [tcg|nested|all]}" && pwd)
RUNS=${2:-5}
WHAT=${3:-all}
KERNEL=${KERNEL:-/vmlinuz}  # the nested outer guest's (needs its kvm-amd modules)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
cp "$BUILD_DIR/examples/hello/hello" "$TMP/hello"
recipe() {  # recipe NAME [FEATURES]: a hello recipe
  printf 'name = "%s"\n[app]\nexec = "/usr/bin/hello"\n[files]\nmap = { "/usr/bin/hello" = "hello" }\n' "$1"
  [ -n "${2:-}" ] && printf '[kernel]\nfeatures = [%s]\n' "$2"
  return 0
}
recipe hello >"$TMP/hello.recipe"
recipe hello-fast '"fast"' >"$TMP/fast.recipe"
B="$BUILD_DIR/bin/arrow-build"
"$B" -q "$TMP/hello.recipe" -o "$TMP/xz-bzimage.arrow" --kernel-format bzimage
"$B" -q "$TMP/fast.recipe" -o "$TMP/zstd-bzimage.arrow" --kernel-format bzimage
"$B" -q "$TMP/hello.recipe" -o "$TMP/vmlinux.arrow"
FORMATS=(xz-bzimage zstd-bzimage vmlinux)
echo "kernel layers: $(for f in "${FORMATS[@]}"; do "$BUILD_DIR/bin/arrow" inspect --json "$TMP/$f.arrow" |
  python3 -c 'import json,sys; l=[l for l in json.load(sys.stdin)["layers"] if ".kernel." in l["mediaType"]][0]; print(sys.argv[1], l["size"], "B;", end=" ")' "$f"; done)"

if [ "$WHAT" = tcg ] || [ "$WHAT" = all ]; then
  echo "== qemu microvm, TCG, through arrow-run: $RUNS runs each, interleaved"
  for i in $(seq "$RUNS"); do
    for f in "${FORMATS[@]}"; do
      python3 - "$BUILD_DIR/bin/arrow-run" "$TMP/$f.arrow" "$f" >>"$TMP/tcg.rows" <<'P'
import json, subprocess, sys, time
t0 = time.monotonic()
p = subprocess.Popen([sys.argv[1], sys.argv[2], "--vmm", "qemu", "--json", "--timeout", "120"],
                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
first = None
last = b""
for line in p.stdout:
    if first is None and b"Hello from an arrow" in line:
        first = (time.monotonic() - t0) * 1000
    last = line
p.wait()
j = json.loads(last)
assert j["exit_status"] == 0 and first is not None, j
print(json.dumps({"format": sys.argv[3], "first_output_ms": first, "boot_ms": j["boot_time_ms"], "run_ms": j["run_time_ms"]}))
P
    done
  done
  python3 - "$TMP/tcg.rows" <<'P'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
med = {}
for f in ("xz-bzimage", "zstd-bzimage", "vmlinux"):
    rs = [r for r in rows if r["format"] == f]
    med[f] = {k: statistics.median(r[k] for r in rs) for k in ("first_output_ms", "boot_ms", "run_ms")}
    print(f"{f:13s} first output {med[f]['first_output_ms']:6.0f} ms  boot (--json) {med[f]['boot_ms']:6.0f} ms  "
          f"run {med[f]['run_ms']:6.0f} ms  (first output per run: {' '.join('%.0f' % r['first_output_ms'] for r in rs)})")
base = med["xz-bzimage"]
for f in ("zstd-bzimage", "vmlinux"):
    print(f"{f} vs xz-bzimage: first output {base['first_output_ms'] / med[f]['first_output_ms']:.2f}x, "
          f"boot {base['boot_ms'] / med[f]['boot_ms']:.2f}x faster")
P
fi

if [ "$WHAT" = nested ] || [ "$WHAT" = all ]; then
  echo "== nested KVM guest: built-in VMM on each format, qemu microvm (-accel kvm) on the vmlinux"
  cp "$BUILD_DIR/bin/arrow" "$TMP/arrow-run"
  {
    echo '#!/bin/sh'
    echo 'i=0'
    echo "while [ \$i -lt $RUNS ]; do"
    for f in "${FORMATS[@]}"; do
      echo "  printf 'FORMAT $f builtin '; /usr/bin/arrow-run /$f.arrow --vmm builtin --json --timeout 120s </dev/null | /usr/bin/tail -n 1"
    done
    echo "  printf 'FORMAT vmlinux qemu '; /usr/bin/arrow-run /vmlinux.arrow --vmm qemu --json --timeout 120s </dev/null | /usr/bin/tail -n 1"
    echo '  i=$((i + 1))'
    echo 'done'
  } >"$TMP/bench.sh"
  chmod +x "$TMP/bench.sh"
  cat >"$TMP/outer.recipe" <<R
name = "bench"
[app]
exec = "/bench.sh"
env = { PATH = "/usr/bin:/usr/sbin" }
[files]
include = ["/usr/bin/tail"]
map = { "/bench.sh" = "bench.sh", "/usr/bin/arrow-run" = "arrow-run", "/xz-bzimage.arrow" = "xz-bzimage.arrow", "/zstd-bzimage.arrow" = "zstd-bzimage.arrow", "/vmlinux.arrow" = "vmlinux.arrow", "/usr/bin/qemu-system-x86_64" = "/usr/bin/qemu-system-x86_64", "/usr/share/qemu/qboot.rom" = "$(readlink -f /usr/share/qemu/qboot.rom)", "/usr/share/qemu/pvh.bin" = "/usr/share/qemu/pvh.bin" }
[kernel]
image = "$KERNEL"
modules = ["kvm-amd"]
[vm]
memory = "1536M"
R
  "$B" -q "$TMP/outer.recipe" -o "$TMP/outer.arrow" --zstd-level 3
  rc=0
  "$BUILD_DIR/bin/arrow-run" "$TMP/outer.arrow" --vmm qemu --qemu-cpu EPYC,+svm --timeout 1800s --quiet \
    </dev/null >"$TMP/nested.out" 2>&1 || rc=$?
  [ -n "${BENCH_LOG:-}" ] && cp "$TMP/nested.out" "$BENCH_LOG"
  grep -a '^FORMAT .* {' "$TMP/nested.out" >"$TMP/nested.rows" || { echo "no results (outer exit $rc):"; tail -n 30 "$TMP/nested.out"; exit 1; }
  python3 - "$TMP/nested.rows" <<'P'
import json, statistics, sys
by = {}
for line in open(sys.argv[1]):
    _, f, vmm, js = line.split(" ", 3)
    j = json.loads(js)
    if j["exit_status"] == 0 and j["boot_time_ms"] is not None:
        by.setdefault((f, vmm), []).append(j)
med = {}
for key, rs in sorted(by.items()):
    boot = statistics.median(r["boot_time_ms"] for r in rs)
    run = statistics.median(r["run_time_ms"] for r in rs)
    med[key] = (boot, run)
    print(f"{key[0]:13s} {key[1]:8s} ok={len(rs)} median boot {boot:6.0f} ms, run {run:6.0f} ms "
          f"(boots: {' '.join('%.0f' % r['boot_time_ms'] for r in rs)})")
q = med.get(("vmlinux", "qemu"))
for f in ("xz-bzimage", "zstd-bzimage", "vmlinux"):
    b = med.get((f, "builtin"))
    if q and b:
        print(f"builtin on {f} vs qemu microvm on vmlinux: boot-to-init {q[0] / b[0]:.2f}x, run {q[1] / b[1]:.2f}x faster")
P
fi
