#!/usr/bin/env bash
# bench/boot/nested_boot.sh BUILD_DIR [RUNS]: the built-in VMM vs qemu (-accel kvm, -M pc, -cpu
# host) booting the same arrow (hello + $INNER_KERNEL, default Debian's) inside a nested-KVM
# guest: this host's PVM KVM cannot run Linux, so an outer arrow (Debian kernel, kvm-amd,
# arrow-run, qemu) runs under
# qemu TCG with -cpu EPYC,+svm and does RUNS boots with each VMM. Prints each VMM's median run
# time (VMM start -> app exit), median boot time (builtin: VMM start -> init), peak RSS, and the
# qemu/builtin ratio. Absolute figures are nested-TCG figures: only the ratio carries over.
set -euo pipefail
BUILD_DIR=$(cd "${1:?usage: $0 BUILD_DIR [RUNS]}" && pwd)
RUNS=${2:-5}
# Inner qemu without kvmvapic: with it, arrow-init's `out` to port 0x4f0 takes a #GP right after
# a successful ioperm() in the innermost guest (seen here under TCG's nested SVM; the built-in
# VMM is not affected), so qemu's runs would end in a kernel panic.
QEMU_EXTRA=${QEMU_EXTRA-"-global kvm-apic.vapic=false"}
KERNEL=${KERNEL:-/vmlinuz}              # the outer guest's (needs its kvm-amd modules)
INNER_KERNEL=${INNER_KERNEL:-$KERNEL}   # the benchmarked guest's (e.g. a tuned bzImage)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
cp "$BUILD_DIR/examples/hello/hello" "$TMP/hello"
cp "$BUILD_DIR/bin/arrow" "$TMP/arrow-run"
cat >"$TMP/inner.recipe" <<'R'
name = "inner"
[app]
exec = "/usr/bin/hello"
[files]
map = { "/usr/bin/hello" = "hello" }
R
"$BUILD_DIR/bin/arrow-build" -q "$TMP/inner.recipe" -o "$TMP/inner.arrow" --kernel "$INNER_KERNEL"
cat >"$TMP/bench.sh" <<S
#!/bin/sh
for vmm in builtin qemu; do
  i=0
  while [ \$i -lt $RUNS ]; do
    /usr/bin/arrow-run /inner.arrow --vmm \$vmm ${BENCH_INNER_FLAGS---quiet} --json --timeout 120s </dev/null
    i=\$((i + 1))
  done
done
S
chmod +x "$TMP/bench.sh"
cat >"$TMP/outer.recipe" <<R
name = "bench"
[app]
exec = "/bench.sh"
env = { PATH = "/usr/bin:/usr/sbin", ARROW_QEMU_EXTRA = "$QEMU_EXTRA" }
[files]
map = { "/bench.sh" = "bench.sh", "/usr/bin/arrow-run" = "arrow-run", "/inner.arrow" = "inner.arrow", "/usr/bin/qemu-system-x86_64" = "/usr/bin/qemu-system-x86_64", "/usr/share/qemu/bios-256k.bin" = "/usr/share/seabios/bios-256k.bin", "/usr/share/qemu/linuxboot_dma.bin" = "/usr/share/qemu/linuxboot_dma.bin", "/usr/share/qemu/kvmvapic.bin" = "/usr/share/qemu/kvmvapic.bin" }
[kernel]
image = "$KERNEL"
modules = ["kvm-amd"]
[vm]
memory = "1536M"
R
"$BUILD_DIR/bin/arrow-build" -q "$TMP/outer.recipe" -o "$TMP/outer.arrow" --zstd-level 3
rc=0
"$BUILD_DIR/bin/arrow-run" "$TMP/outer.arrow" --vmm qemu --qemu-cpu EPYC,+svm --timeout 1800s --quiet \
  </dev/null >"$TMP/out" 2>&1 || rc=$?
[ -n "${BENCH_LOG:-}" ] && cp "$TMP/out" "$BENCH_LOG"
grep '^{' "$TMP/out" >"$TMP/results" || { echo "no results (outer exit $rc):"; tail -n 30 "$TMP/out"; exit 1; }
python3 - "$TMP/results" <<'P'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
by = {}
for r in rows:
    by.setdefault(r["vmm"], []).append(r)
med = {}
for vmm, rs in by.items():
    ok = [r for r in rs if r["exit_status"] == 0]
    run = statistics.median(r["run_time_ms"] for r in ok) if ok else float("nan")
    boots = [r["boot_time_ms"] for r in ok if r["boot_time_ms"] is not None]
    boot = f"{statistics.median(boots):.0f} ms" if boots else "n/a"
    rss = statistics.median(r["max_rss_kb"] for r in ok) / 1024 if ok else float("nan")
    med[vmm] = run
    runs = " ".join(f"{r['run_time_ms']:.0f}" for r in ok)
    print(f"{vmm:8s} runs={len(rs)} ok={len(ok)} median run {run:.0f} ms, median boot {boot}, peak RSS {rss:.1f} MiB (runs: {runs})")
if "builtin" in med and "qemu" in med:
    print(f"qemu/builtin run-time ratio: {med['qemu'] / med['builtin']:.2f} (baseline: qemu -accel kvm -M pc, same arrow, same guest)")
P
