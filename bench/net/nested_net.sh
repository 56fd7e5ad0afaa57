#!/usr/bin/env bash
# bench/net/nested_net.sh BUILD_DIR [RUNS]: network throughput of the same server arrow (a small
# C HTTP server, compiled here, on the tuned kernel with `net`) inside a nested-KVM guest (this
# host's PVM KVM cannot run Linux: an outer arrow, Debian's kernel + kvm-amd, runs under qemu TCG
# with -cpu EPYC,+svm), in four set-ups run back to back:
#   builtin+user   arrow-run --vmm builtin (virtio-net + libslirp in-process)   <- Arrow's default
#   builtin+passt  arrow-run --vmm builtin --net passt
#   qemu+user      qemu -accel kvm with qemu's own user networking (-netdev user,hostfwd=)  <- baseline
#   qemu+arrow     arrow-run --vmm qemu (qemu's virtio-net on Arrow's libslirp through the pump)
# For each: RUNS downloads of a 16 MB file with curl (MB/s, median) and `ab -n 400 -c 4` on a
# 1 KB file (requests/s, median). Prints the table and each ratio to qemu+user. Absolute figures
# are nested-TCG figures; only the ratios carry over.
set -euo pipefail
BUILD_DIR=$(cd "${1:?usage: $0 BUILD_DIR [RUNS]}" && pwd)
RUNS=${2:-3}
KERNEL=${KERNEL:-/vmlinuz}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
source "$(dirname "$0")/lib.sh"
build_server_arrow "$BUILD_DIR" "$TMP"
cat >"$TMP/bench.sh" <<S
#!/bin/sh
# In the outer guest: switch to a tmpfs root (passt's sandbox needs one), then measure.
if [ "\$1" != "in-tmpfs" ]; then
  mkdir -p /newroot; mount -t tmpfs -o size=900m newroot /newroot
  for d in /*; do case "\$d" in /proc|/sys|/dev|/run|/tmp|/newroot) ;; *) cp -a "\$d" /newroot/ ;; esac; done
  for d in proc sys dev run tmp; do mkdir -p /newroot/\$d; done
  mount --bind /proc /newroot/proc; mount --bind /sys /newroot/sys; mount --bind /dev /newroot/dev
  mount -t tmpfs tmp /newroot/tmp
  cd /newroot; mount --move . /; exec chroot . /bench.sh in-tmpfs
fi
VAPIC="-global kvm-apic.vapic=false"   # see bench/boot/nested_boot.sh
GUESTNET="arrow.ip=10.0.2.15/24 arrow.gw=10.0.2.2 arrow.dns=10.0.2.3"
measure() {  # measure NAME: the server is starting on 127.0.0.1:8080
  i=0
  while [ \$i -lt 240 ]; do curl -s -o /dev/null --max-time 2 http://127.0.0.1:8080/ && break; i=\$((i + 1)); sleep 0.5; done
  r=0
  while [ \$r -lt $RUNS ]; do
    curl -s -o /dev/null --max-time 300 -w "RESULT \$1 mbps %{speed_download} %{size_download}\n" http://127.0.0.1:8080/big.bin
    ab -q -n 400 -c 4 http://127.0.0.1:8080/small.bin 2>/dev/null | sed -n "s/^Requests per second: *\([0-9.]*\).*/RESULT \$1 rps \1/p"
    r=\$((r + 1))
  done
}
run() {  # run NAME ARGS...: boots the inner arrow in the background, measures, stops it
  name=\$1; shift
  arrow-run /inner.arrow --timeout 900s "\$@" >/tmp/\$name.log 2>&1 &
  pid=\$!
  measure \$name
  kill -TERM \$pid; wait \$pid
  echo "RESULT \$name exit \$?"
}
run builtin+user --vmm builtin -p 127.0.0.1:8080:80
run builtin+passt --vmm builtin --net passt -p 127.0.0.1:8080:80
ARROW_QEMU_EXTRA="\$VAPIC -netdev user,id=q0,hostfwd=tcp:127.0.0.1:8080-:80 -device virtio-net-device,netdev=q0" \
  run qemu+user --vmm qemu --net none --append "\$GUESTNET"
ARROW_QEMU_EXTRA="\$VAPIC" run qemu+arrow --vmm qemu -p 127.0.0.1:8080:80
S
chmod +x "$TMP/bench.sh"
cp "$BUILD_DIR/bin/arrow" "$TMP/arrow-run"
cat >"$TMP/outer.recipe" <<R
name = "netbench"
[app]
exec = "/bench.sh"
env = { PATH = "/usr/bin:/usr/sbin" }
[files]
include = ["/usr/bin/curl", "/usr/bin/ab", "/usr/bin/sleep", "/usr/bin/sed", "/usr/bin/mkdir", "/usr/bin/mount", "/usr/bin/cp", "/usr/sbin/chroot", "/usr/bin/passt"]
map = { "/bench.sh" = "bench.sh", "/usr/bin/arrow-run" = "arrow-run", "/inner.arrow" = "server.arrow", "/usr/bin/qemu-system-x86_64" = "/usr/bin/qemu-system-x86_64", "/usr/share/qemu/qboot.rom" = "/usr/share/qemu/qboot.rom" }
[kernel]
image = "$KERNEL"
# A NIC of its own for the outer guest: passt refuses to start without a routable interface.
modules = ["kvm-amd", "virtio_net", "virtio_pci"]
[vm]
memory = "2G"
cpus = 1
R
"$BUILD_DIR/bin/arrow-build" -q "$TMP/outer.recipe" -o "$TMP/outer.arrow" --zstd-level 3
rc=0
"$BUILD_DIR/bin/arrow-run" "$TMP/outer.arrow" --vmm qemu --qemu-cpu EPYC,+svm --net user --timeout 2400s --quiet \
  </dev/null >"$TMP/out" 2>&1 || rc=$?
[ -n "${BENCH_LOG:-}" ] && cp "$TMP/out" "$BENCH_LOG"
grep '^RESULT' "$TMP/out" >"$TMP/results" || { echo "no results (outer exit $rc):"; tail -n 30 "$TMP/out"; exit 1; }
python3 - "$TMP/results" <<'P'
import statistics, sys
mb, rps, exits = {}, {}, {}
for line in open(sys.argv[1]):
    f = line.split()
    name, kind = f[1], f[2]
    if kind == "mbps" and int(f[4]) == 16000000:
        mb.setdefault(name, []).append(float(f[3]) / 1e6)
    elif kind == "rps":
        rps.setdefault(name, []).append(float(f[3]))
    elif kind == "exit":
        exits[name] = f[3]
base = "qemu+user"
bm = statistics.median(mb[base]) if mb.get(base) else None
br = statistics.median(rps[base]) if rps.get(base) else None
print(f"{'set-up':14s} {'MB/s (16 MB)':>14s} {'ratio':>6s} {'req/s (1 KB)':>13s} {'ratio':>6s}  runs")
for name in ["builtin+user", "builtin+passt", "qemu+user", "qemu+arrow"]:
    m = statistics.median(mb[name]) if mb.get(name) else float("nan")
    r = statistics.median(rps[name]) if rps.get(name) else float("nan")
    mr = f"{m / bm:.2f}" if bm else "n/a"
    rr = f"{r / br:.2f}" if br else "n/a"
    print(f"{name:14s} {m:14.2f} {mr:>6s} {r:13.1f} {rr:>6s}  {len(mb.get(name, []))}/{len(rps.get(name, []))} (exit {exits.get(name, '?')})")
print(f"baseline: {base} (qemu -accel kvm, its own user networking), same arrow, same nested guest, same run")
P
