#!/usr/bin/env bash
# The built-in VMM's NIC, proven by nesting (this host's PVM KVM cannot run Linux): an outer
# arrow (Debian's kernel + kvm-amd, under qemu TCG with -cpu EPYC,+svm) holds arrow-run, curl
# and an inner arrow: a small HTTP server (tests/e2e/httpd.c) on the tuned kernel with the net
# fragment. Inside, `arrow-run --vmm builtin -p 127.0.0.1:8080:80` boots it; curl in the outer
# guest downloads a generated 4 MB file through the built-in VMM's virtio-net and libslirp and
# compares it; then the same through --net passt (the outer guest has a NIC of its own, since
# passt refuses to start on a host without a routable interface); SIGTERM stops the inner app
# gracefully each time. Every result is printed by the outer guest and checked here.
source "$(dirname "$0")/lib.sh"
KERNEL=${KERNEL:-/vmlinuz}
ver=$(basename "$(readlink -f "$KERNEL")" | sed 's/^vmlinuz-//')
[ -e "/lib/modules/$ver/modules.dep" ] || { echo "FAIL: /lib/modules/$ver missing (scripts/install-deps.sh installs linux-image-amd64)"; exit 1; }

gcc -O2 -o "$TMP/httpd" "$SOURCE_DIR/tests/e2e/httpd.c"
head -c 4000000 /dev/urandom >"$TMP/big.bin"
cat >"$TMP/inner.recipe" <<'R'
name = "inner"
[app]
exec = "/usr/bin/httpd"
ports = [80]
[files]
map = { "/usr/bin/httpd" = "httpd", "/srv/big.bin" = "big.bin" }
R
run_capture "$TMP/inner.build" "$ARROW_BUILD" "$TMP/inner.recipe" -o "$TMP/inner.arrow"
expect_eq "inner: build (tuned kernel with net)" 0 "$status"
[ "$status" -eq 0 ] || sed 's/^/    | /' "$TMP/inner.build" | tail -n 20

cat >"$TMP/nested.sh" <<'S'
#!/bin/sh
# Runs in the outer guest. Prints RESULT lines the host checks.
# passt sandboxes itself (a user namespace, pivot_root), which neither the initramfs root
# (rootfs) nor a chroot allows: so first switch the root to a tmpfs the way an initramfs hands
# over to a real root (move the mount onto /, chroot into it) and run the rest there.
if [ "$1" != "in-tmpfs" ]; then
  /usr/bin/mkdir -p /newroot
  /usr/bin/mount -t tmpfs -o size=800m newroot /newroot
  for d in /*; do
    case "$d" in /proc|/sys|/dev|/run|/tmp|/newroot) ;; *) /usr/bin/cp -a "$d" /newroot/ ;; esac
  done
  for d in proc sys dev run tmp; do /usr/bin/mkdir -p /newroot/$d; done
  /usr/bin/mount --bind /proc /newroot/proc
  /usr/bin/mount --bind /sys /newroot/sys
  /usr/bin/mount --bind /dev /newroot/dev
  /usr/bin/mount -t tmpfs tmp /newroot/tmp
  cd /newroot
  /usr/bin/mount --move . /
  exec /usr/sbin/chroot . /nested.sh in-tmpfs
fi
fetch() {  # fetch PORT: waits for the inner server, downloads big.bin, compares
  i=0
  while [ $i -lt 240 ]; do
    /usr/bin/curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$1/" && break
    i=$((i + 1)); /usr/bin/sleep 0.5
  done
  /usr/bin/rm -f /tmp/got.bin
  /usr/bin/curl -s --max-time 120 -o /tmp/got.bin -w "RESULT curl %{http_code} %{size_download} bytes %{speed_download} B/s\n" "http://127.0.0.1:$1/big.bin"
  if /usr/bin/cmp -s /tmp/got.bin /big.bin; then echo "RESULT $2 bytes identical"; else echo "RESULT $2 bytes differ"; fi
}
for net in user passt; do
  /usr/bin/arrow-run /inner.arrow --vmm builtin --net $net -p 127.0.0.1:8080:80 --timeout 400s --boot-time >/tmp/inner-$net.log 2>&1 &
  pid=$!
  fetch 8080 $net
  kill -TERM $pid
  wait $pid
  echo "RESULT $net inner exit $?"
  /usr/bin/sed 's/^/inner-'$net': /' /tmp/inner-$net.log | /usr/bin/grep -v "^inner-$net: \[ " | /usr/bin/tail -n 12
done
S
chmod +x "$TMP/nested.sh"
cp "$BUILD_DIR/bin/arrow" "$TMP/arrow-run"
cat >"$TMP/outer.recipe" <<R
name = "outer"
[app]
exec = "/nested.sh"
[files]
include = ["/usr/bin/mkdir", "/usr/bin/mount", "/usr/bin/cp", "/usr/sbin/chroot", "/usr/bin/rm", "/usr/bin/curl", "/usr/bin/cmp", "/usr/bin/sleep", "/usr/bin/sed", "/usr/bin/grep", "/usr/bin/tail", "/usr/bin/passt"]
map = { "/usr/bin/arrow-run" = "arrow-run", "/inner.arrow" = "inner.arrow", "/nested.sh" = "nested.sh", "/big.bin" = "big.bin" }
[kernel]
image = "$KERNEL"
# virtio_net + virtio_pci: the outer guest gets a NIC (qemu's virtio-net-pci, --net user below):
# passt needs a host interface with a default route to start at all.
modules = ["kvm-amd", "virtio_net", "virtio_pci"]
[vm]
memory = "1G"
R
run_capture "$TMP/outer.build" "$ARROW_BUILD" "$TMP/outer.recipe" -o "$TMP/outer.arrow" --zstd-level 3
expect_eq "outer: build" 0 "$status"
[ "$status" -eq 0 ] || sed 's/^/    | /' "$TMP/outer.build" | tail -n 20

start=$(date +%s)
run_nested "$TMP/nested.out" "$TMP/outer.arrow" --vmm qemu --qemu-cpu EPYC,+svm --net user --timeout 300s
echo "nested run took $(( $(date +%s) - start )) s; what the outer guest reported:"
grep -E "RESULT|inner-" "$TMP/nested.out" | sed 's/^/    | /'
expect_eq "nested: outer exit" 0 "$status"
expect_contains "nested builtin+slirp: HTTP 200 with every byte" "$TMP/nested.out" "RESULT curl 200 4000000 bytes"
expect_contains "nested builtin+slirp: bytes identical" "$TMP/nested.out" "RESULT user bytes identical"
expect_contains "nested builtin+slirp: SIGTERM -> app's status" "$TMP/nested.out" "RESULT user inner exit 3"
expect_contains "nested builtin: the inner boot was the built-in VMM's" "$TMP/nested.out" "(builtin)"
expect_contains "nested builtin+passt: bytes identical" "$TMP/nested.out" "RESULT passt bytes identical"
expect_contains "nested builtin+passt: SIGTERM -> app's status" "$TMP/nested.out" "RESULT passt inner exit 3"
summary
