#!/usr/bin/env bash
# bench/storage/nested_io.sh BUILD_DIR [RUNS]: volume throughput inside the guest, the built-in
# VMM's virtio-blk vs qemu's, in one nested-KVM guest (this host's PVM KVM cannot run Linux: an
# outer arrow, Debian's kernel + kvm-amd, runs under qemu TCG with -cpu EPYC,+svm). The inner
# arrow is /bin/sh + dd on the tuned kernel with `block`, a 192 MiB ext4 volume attached with
# `-v`; per run, in the inner guest:
#   write  dd 64 MiB of zeros with conv=fdatasync (sequential write, ended by a FLUSH)
#   read   drop the guest's page cache, dd the file back (sequential read)
# Set-ups, back to back on the same volume image:
#   builtin  arrow-run --vmm builtin (Arrow's virtio-blk: preadv/pwritev, FLUSH = fdatasync)
#   qemu     arrow-run --vmm qemu -accel kvm (qemu's virtio-blk-device, cache=writeback)  <- baseline
# Prints MB/s medians and the ratios to qemu. Absolute figures are nested-TCG figures.
set -euo pipefail
BUILD_DIR=$(cd "${1:?usage: $0 BUILD_DIR [RUNS]}" && pwd)
RUNS=${2:-3}
KERNEL=${KERNEL:-/vmlinuz}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
cd "$TMP"
cat >io.recipe <<'R'
name = "io"
[app]
exec = "/bin/sh"
volumes = ["/data"]
[files]
include = ["/usr/bin/dd", "/usr/bin/rm", "/usr/bin/tail", "/usr/bin/sed"]
R
"$BUILD_DIR/bin/arrow-build" -q io.recipe -o io.arrow
"$BUILD_DIR/bin/arrow" volume create vol.img --size 192M >/dev/null
cat >bench.sh <<S
#!/bin/sh
PATH=/usr/bin:/usr/sbin
VAPIC="-global kvm-apic.vapic=false"   # see bench/boot/nested_boot.sh
IO='rm -f /data/f; dd if=/dev/zero of=/data/f bs=1M count=64 conv=fdatasync 2>&1 | tail -n 1 | sed "s/^/W /";
    echo 3 > /proc/sys/vm/drop_caches; dd if=/data/f of=/dev/null bs=1M 2>&1 | tail -n 1 | sed "s/^/R /"'
for setup in builtin qemu; do
  r=0
  while [ \$r -lt $RUNS ]; do
    if [ \$setup = qemu ]; then export ARROW_QEMU_EXTRA="\$VAPIC"; else unset ARROW_QEMU_EXTRA; fi
    arrow-run /io.arrow --vmm \$setup -v /vol.img:/data --timeout 900s -q -- -c "\$IO" >/tmp/run.log 2>&1
    tr -d '\r' </tmp/run.log | sed -n "s/^\([WR]\) .*copied, \([0-9.]*\) s.*/RESULT \$setup \1 \2/p" >/tmp/res
    cat /tmp/res
    [ -s /tmp/res ] || tail -n 8 /tmp/run.log | sed "s/^/LOG \$setup: /"
    r=\$((r + 1))
  done
done
S
chmod +x bench.sh
cp "$BUILD_DIR/bin/arrow" arrow-run
cat >outer.recipe <<R
name = "iobench"
[app]
exec = "/bench.sh"
[files]
include = ["/usr/bin/sed", "/usr/bin/tr", "/usr/bin/tail", "/usr/bin/cat"]
map = { "/bench.sh" = "bench.sh", "/usr/bin/arrow-run" = "arrow-run", "/io.arrow" = "io.arrow", "/vol.img" = "vol.img", "/usr/bin/qemu-system-x86_64" = "/usr/bin/qemu-system-x86_64", "/usr/share/qemu/qboot.rom" = "/usr/share/qemu/qboot.rom" }
[kernel]
image = "$KERNEL"
modules = ["kvm-amd"]
[vm]
memory = "2G"
cpus = 1
R
"$BUILD_DIR/bin/arrow-build" -q outer.recipe -o outer.arrow --zstd-level 3
rc=0
"$BUILD_DIR/bin/arrow-run" outer.arrow --vmm qemu --qemu-cpu EPYC,+svm --net none --timeout 2400s --quiet \
  </dev/null >out 2>&1 || rc=$?
[ -n "${BENCH_LOG:-}" ] && cp out "$BENCH_LOG"
grep '^LOG' out || true
grep '^RESULT' out >results || { echo "no results (outer exit $rc):"; grep -v "TCG doesn't support" out | tail -n 30; exit 1; }
python3 - results <<'P'
import statistics, sys
secs = {}
for line in open(sys.argv[1]):
    _, setup, kind, s = line.split()
    secs.setdefault((setup, kind), []).append(float(s))
mbps = {k: 64 * 1.048576 / statistics.median(v) for k, v in secs.items()}
print(f"{'set-up':8s} {'write+fdatasync MB/s':>21s} {'ratio':>6s} {'read MB/s':>10s} {'ratio':>6s}  runs")
for setup in ["builtin", "qemu"]:
    w, r = mbps.get((setup, "W")), mbps.get((setup, "R"))
    bw, br = mbps.get(("qemu", "W")), mbps.get(("qemu", "R"))
    fmt = lambda v: f"{v:.1f}" if v else "n/a"
    ratio = lambda a, b: f"{a / b:.2f}" if a and b else "n/a"
    print(f"{setup:8s} {fmt(w):>21s} {ratio(w, bw):>6s} {fmt(r):>10s} {ratio(r, br):>6s}  {len(secs.get((setup, 'W'), []))}/{len(secs.get((setup, 'R'), []))}")
print("baseline: qemu -accel kvm with its own virtio-blk (cache=writeback), same arrow, same volume, same nested guest, same run")
P
