#!/usr/bin/env bash
# tuned_vs_stock.sh: boot time to the app's first output under qemu TCG, Arrow's tuned kernel vs
# Debian's stock kernel (the named baseline), same initramfs, same run, on -M pc and -M microvm.
#
#   bench/boot/tuned_vs_stock.sh TUNED_BZIMAGE [STOCK_KERNEL=/vmlinuz] [RUNS=3]
#   env: MACHINES="pc microvm,rtc=on" (Debian's kernel hangs calibrating the TSC on microvm without rtc=on),
#         TIMEOUT=60 (seconds per boot; a hung boot shows NA, exit 124)
#
# The initramfs holds one static /init (compiled here from the heredoc) that prints a marker
# with the guest's /proc/uptime (the kernel's own clock when init ran) and exits through the
# isa-debug-exit port with status 3 (qemu exits 7). Reported per kernel and machine, medians:
#   first-output  host wall time from qemu start to the marker line (firmware included)
#   total         whole qemu run
#   guest-uptime  /proc/uptime read by /init
set -euo pipefail
TUNED=${1:?usage: tuned_vs_stock.sh TUNED_BZIMAGE [STOCK_KERNEL] [RUNS]}
STOCK=${2:-/vmlinuz}
RUNS=${3:-3}
MACHINES=${MACHINES:-pc microvm,rtc=on}
TIMEOUT=${TIMEOUT:-60}
CMDLINE="console=ttyS0 quiet panic=-1 reboot=t"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cat > "$work/init.c" <<'C'
#include <stdio.h>
#include <string.h>
#include <sys/io.h>
#include <sys/mount.h>
#include <unistd.h>
int main(void) {
  char up[64] = "?";
  mount("proc", "/proc", "proc", 0, 0);
  FILE* f = fopen("/proc/uptime", "r");
  if (f) { if (!fgets(up, sizeof up, f)) up[0] = 0; fclose(f); }
  up[strcspn(up, " \n")] = 0;
  printf("ARROW-BENCH-INIT uptime %s\n", up);
  fflush(stdout);
  if (ioperm(0xf4, 1, 1) == 0) outb(3, 0xf4);
  for (;;) pause();
}
C
mkdir -p "$work/root/proc"
gcc -static -Os -o "$work/root/init" "$work/init.c"
(cd "$work/root" && find . | cpio -o -H newc --quiet | zstd -19 -q > "$work/initrd")

now() { date +%s%N; }
# run KERNEL MACHINE -> "first_ms total_ms uptime_s rc"
run() {
  local kernel=$1 machine=$2 start first=NA up=NA line rc
  start=$(now)
  exec {out}< <(exec timeout "$TIMEOUT" qemu-system-x86_64 -accel tcg -M "$machine" -m 128 -nographic -no-reboot \
    -kernel "$kernel" -initrd "$work/initrd" -append "$CMDLINE" \
    -device isa-debug-exit,iobase=0xf4,iosize=0x04 2>&1)
  local qpid=$!
  while IFS= read -r -u "$out" line; do
    if [[ $first == NA && $line == *ARROW-BENCH-INIT* ]]; then
      first=$(( ($(now) - start) / 1000000 )); up=${line##*uptime }; up=${up%$'\r'}
    fi
  done
  exec {out}<&-
  wait "$qpid" && rc=0 || rc=$?
  echo "$first $(( ($(now) - start) / 1000000 )) $up $rc"
}
median() { { grep -v NA || true; } | sort -g | awk '{a[NR]=$1} END {print NR ? (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2) : "NA"}'; }

printf '%-6s %-15s %10s %10s %10s %8s  %s\n' kernel machine first-ms total-ms uptime-s exit runs
declare -A med
for machine in $MACHINES; do
  for which in tuned stock; do
    kernel=$TUNED; [[ $which == stock ]] && kernel=$STOCK
    : > "$work/r"
    for ((i = 0; i < RUNS; i++)); do run "$kernel" "$machine" >> "$work/r"; done
    f=$(cut -d' ' -f1 "$work/r" | median); t=$(cut -d' ' -f2 "$work/r" | median)
    u=$(cut -d' ' -f3 "$work/r" | median); rcs=$(cut -d' ' -f4 "$work/r" | sort -u | tr '\n' ' ')
    med[$which.$machine]=$f
    printf '%-6s %-15s %10s %10s %10s %8s  %s\n' "$which" "$machine" "$f" "$t" "$u" "$rcs" \
      "$(cut -d' ' -f1 "$work/r" | tr '\n' ' ')"
  done
  awk -v s="${med[stock.$machine]}" -v t="${med[tuned.$machine]}" -v m="$machine" \
    'BEGIN { if (t > 0 && s != "NA") printf "ratio  %-15s stock/tuned first output = %.2fx\n", m, s / t }'
done
printf 'sizes  tuned %s bytes, stock %s bytes, initramfs %s bytes\n' \
  "$(stat -Lc %s "$TUNED")" "$(stat -Lc %s "$STOCK")" "$(stat -c %s "$work/initrd")"
