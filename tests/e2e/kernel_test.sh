#!/usr/bin/env bash
# Kernels through arrow-build itself: the tuned default (cached), its record in the config, and
# Debian's prebuilt kernel with `modules = ["kvm-amd"]`: the modules and their dependencies are
# packed, arrow-init loads them in order, and /dev/kvm exists inside a guest booted under
# `qemu -accel tcg -cpu EPYC,+svm`.
source "$(dirname "$0")/lib.sh"
cp "$BUILD_DIR/examples/hello/hello" "$TMP/hello"

# The tuned default: nothing about the kernel in the recipe.
run_capture "$TMP/tuned.build" "$ARROW_BUILD" "$BUILD_DIR/examples/hello/hello.recipe" -o "$TMP/tuned.arrow"
expect_eq "tuned: build" 0 "$status"
expect_contains "tuned: summary names the tuned kernel" "$TMP/tuned.build" "(tuned: microvm)"
run_capture "$TMP/tuned.inspect" "$ARROW" inspect "$TMP/tuned.arrow"
expect_contains "tuned: inspect shows the config digest" "$TMP/tuned.inspect" "(tuned: microvm), config sha256:"
run_capture "$TMP/kpath" "$ARROW" kernel path
expect_eq "kernel path: exit" 0 "$status"
if [ -f "$(cat "$TMP/kpath")" ]; then pass "kernel path: names a file"; else fail "kernel path: $(cat "$TMP/kpath")"; fi
run_capture "$TMP/klist" "$ARROW" kernel list
expect_contains "kernel list: shows the cached microvm kernel" "$TMP/klist" "microvm"
# The kernel layer: the stripped ELF vmlinux, compressed only as the blob (zstd), with the PVH
# note qemu boots it through; `--kernel-format bzimage` keeps the self-decompressing bzImage.
layer() {  # layer ARROW -> "mediaType size digest" of the kernel layer
  "$ARROW" inspect --json "$1" | python3 -c 'import json,sys; l=[l for l in json.load(sys.stdin)["layers"] if ".kernel." in l["mediaType"]][0]; print(l["mediaType"], l["size"], l["digest"])'
}
read -r ktype size kdigest < <(layer "$TMP/tuned.arrow")
expect_eq "tuned: the kernel layer is a zstd ELF vmlinux" "application/vnd.arrow.kernel.v1.elf+zstd" "$ktype"
if [ "$size" -le 1572864 ]; then pass "tuned vmlinux layer <= 1.5 MiB ($size bytes)"; else fail "tuned vmlinux layer is $size bytes"; fi
tar -xOf "$TMP/tuned.arrow" "blobs/sha256/${kdigest#sha256:}" | zstd -dc > "$TMP/vmlinux"
expect_eq "the layer holds an x86-64 ELF executable" "ELF64 EXEC X86-64" \
  "$(readelf -h "$TMP/vmlinux" | awk '/Class:/{c=$2} /Type:/{t=$2} /Machine:/{m=$NF} END{print c, t, m}')"
if readelf -n "$TMP/vmlinux" | grep -q "Xen.*0x00000012"; then pass "the vmlinux has the PVH entry note"; else fail "no PVH note"; fi
if readelf -S "$TMP/vmlinux" | grep -q "\.symtab"; then fail "the vmlinux is not stripped"; else pass "the vmlinux is stripped"; fi
run_capture "$TMP/bz.build" "$ARROW_BUILD" "$BUILD_DIR/examples/hello/hello.recipe" -o "$TMP/bz.arrow" --kernel-format bzimage
expect_eq "bzimage format: build" 0 "$status"
read -r bztype bzsize _ < <(layer "$TMP/bz.arrow")
expect_eq "bzimage format: the kernel layer is the bzImage" "application/vnd.arrow.kernel.v1" "$bztype"
total() { "$ARROW" inspect --json "$1" | python3 -c 'import json,sys; print(sum(l["size"] for l in json.load(sys.stdin)["layers"]))'; }
vm_total=$(total "$TMP/tuned.arrow"); bz_total=$(total "$TMP/bz.arrow")
if [ "$vm_total" -le 2097152 ]; then pass "hello with the vmlinux layer <= 2 MiB ($vm_total bytes)"; else fail "hello with the vmlinux layer is $vm_total bytes"; fi
if [ "$bz_total" -le 2097152 ]; then pass "hello with the bzImage layer <= 2 MiB ($bz_total bytes)"; else fail "hello with the bzImage layer is $bz_total bytes"; fi

# IPv4 only where a program can use it: hello calls no socket(), so its kernel has none (not even
# lo); a program that imports socket gets the `inet` fragment, with the reason in the summary,
# and its loopback works.
expect_not_contains "hello: no inet fragment" "$TMP/tuned.build" "+inet"
expect_contains "hello: inspect says there is no IPv4" "$TMP/tuned.inspect" "network    none, not even loopback (kernel has no IPv4"
cat >"$TMP/udp.c" <<'C'
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
int main(void) { /* UDP to itself over 127.0.0.1 */
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t l = sizeof a;
  char buf[8] = {0};
  int ok = s >= 0 && !bind(s, (void *)&a, sizeof a) && !getsockname(s, (void *)&a, &l) &&
           sendto(s, "ping", 4, 0, (void *)&a, sizeof a) == 4 && recv(s, buf, sizeof buf, 0) == 4;
  printf("loopback %s\n", ok && !memcmp(buf, "ping", 4) ? "ok" : "broken");
  return !ok;
}
C
gcc -O2 -s -o "$TMP/udp" "$TMP/udp.c"
printf 'name = "udp"\n[app]\nexec = "/usr/bin/udp"\n[files]\nmap = { "/usr/bin/udp" = "udp" }\n' >"$TMP/udp.recipe"
run_capture "$TMP/udp.build" "$ARROW_BUILD" "$TMP/udp.recipe" -o "$TMP/udp.arrow"
expect_eq "udp: build" 0 "$status"
expect_contains "udp: the summary names the tuned kernel with inet" "$TMP/udp.build" "(tuned: microvm+inet)"
expect_contains "udp: ...and why" "$TMP/udp.build" "+inet: /usr/bin/udp imports socket"
run_capture "$TMP/udp.inspect" "$ARROW" inspect "$TMP/udp.arrow"
expect_contains "udp: inspect says loopback only" "$TMP/udp.inspect" "network    loopback only (kernel has IPv4, no virtio-net driver)"
run_capture "$TMP/udp.run" "$ARROW_RUN" "$TMP/udp.arrow" --vmm qemu --timeout 300
expect_eq "udp: exit 0" 0 "$status"
expect_contains "udp: 127.0.0.1 works in the guest" "$TMP/udp.run" "loopback ok"

# Both formats boot under qemu (TCG here); the vmlinux is decompressed once into the host cache
# (by layer digest) and read from there afterwards; a damaged cache file is replaced.
RC="$TMP/run-cache"
for a in tuned bz; do
  ARROW_CACHE_DIR="$RC" run_capture "$TMP/$a.run" "$ARROW_RUN" "$TMP/$a.arrow" --vmm qemu --timeout 300 --json
  expect_eq "$a: boots and exits 0" 0 "$status"
  expect_contains "$a: the app ran" "$TMP/$a.run" "Hello from an arrow!"
  expect_contains "$a: --json has the boot time" "$TMP/$a.run" '"boot_time_ms":'
  expect_not_contains "$a: arrow-init reports nothing (no IPv4 is no error)" "$TMP/$a.run" "arrow-init:"
done
cached="$RC/vmlinux/${kdigest#sha256:}.elf"
if cmp -s "$cached" "$TMP/vmlinux"; then pass "the decompressed vmlinux is cached by layer digest"; else fail "no cached vmlinux at $cached"; fi
expect_eq "the bzImage arrow adds nothing to that cache" 1 "$(ls "$RC/vmlinux" | wc -l)"
before=$(stat -c %i:%Y "$cached")
ARROW_CACHE_DIR="$RC" run_capture "$TMP/tuned.run2" "$ARROW_RUN" "$TMP/tuned.arrow" --vmm qemu --timeout 300
expect_eq "second run: exit 0" 0 "$status"
expect_eq "second run: the cached file was used, not rewritten" "$before" "$(stat -c %i:%Y "$cached")"
head -c 4096 "$TMP/vmlinux" > "$cached"
ARROW_CACHE_DIR="$RC" run_capture "$TMP/tuned.run3" "$ARROW_RUN" "$TMP/tuned.arrow" --vmm qemu --timeout 300
expect_eq "damaged cache: still boots" 0 "$status"
if cmp -s "$cached" "$TMP/vmlinux"; then pass "damaged cache: the file was replaced"; else fail "damaged cache: not repaired"; fi

# The db fragment: SysV IPC (PostgreSQL's shmget) is there with it and absent (ENOSYS) without.
for k in default db; do
  { printf 'name = "shm-%s"
[app]
exec = "/usr/bin/perl"
' "$k"
    printf 'args = ["-e", "my $i = shmget(0, 4096, 0600); print defined $i ? qq(shm ok\\n) : qq(shm: $!\\n)"]
'
    [ "$k" = db ] && printf '[kernel]
features = ["db"]
'; } >"$TMP/shm-$k.recipe"
  run_capture "$TMP/shm-$k.build" "$ARROW_BUILD" "$TMP/shm-$k.recipe" -o "$TMP/shm-$k.arrow"
  expect_eq "db fragment: $k build" 0 "$status"
  [ "$status" -eq 0 ] || tail -n 20 "$TMP/shm-$k.build" | sed 's/^/    | /'
  run_capture "$TMP/shm-$k.out" "$ARROW_RUN" "$TMP/shm-$k.arrow" --timeout 300
  expect_eq "db fragment: $k boots" 0 "$status"
done
expect_contains "db fragment: shmget works with db" "$TMP/shm-db.out" "shm ok"
expect_contains "db fragment: shmget is ENOSYS without" "$TMP/shm-default.out" "shm: Function not implemented"

# Bad kernel input: an unknown fragment, an unknown module, a non-bzImage.
printf 'name = "x"\n[app]\nexec = "/usr/bin/true"\n[kernel]\nfeatures = ["no-such-fragment"]\n' >"$TMP/badfrag.recipe"
run_capture "$TMP/badfrag.err" "$ARROW_BUILD" "$TMP/badfrag.recipe" -o "$TMP/bad.arrow"
if [ "$status" -ne 0 ] && [ ! -e "$TMP/bad.arrow" ]; then pass "unknown fragment fails, no output"; else fail "unknown fragment"; fi
expect_contains "unknown fragment: message" "$TMP/badfrag.err" "no-such-fragment"
printf 'name = "x"\n[app]\nexec = "/usr/bin/true"\n[kernel]\nimage = "/vmlinuz"\nmodules = ["kvm-amd", "no_such_mod"]\n' >"$TMP/badmod.recipe"
run_capture "$TMP/badmod.err" "$ARROW_BUILD" "$TMP/badmod.recipe" -o "$TMP/bad.arrow"
if [ "$status" -ne 0 ] && [ ! -e "$TMP/bad.arrow" ]; then pass "unknown module fails, no output"; else fail "unknown module"; fi
expect_contains "unknown module: message" "$TMP/badmod.err" "no_such_mod"
printf 'name = "x"\n[app]\nexec = "/usr/bin/true"\n[kernel]\nimage = "/etc/passwd"\n' >"$TMP/badimg.recipe"
run_capture "$TMP/badimg.err" "$ARROW_BUILD" "$TMP/badimg.recipe" -o "$TMP/bad.arrow"
expect_contains "non-bzImage kernel: message" "$TMP/badimg.err" "/etc/passwd: not a Linux bzImage"

# Debian's kernel + kvm-amd, booted with SVM exposed: the app lists /dev/kvm.
cat >"$TMP/kvm.recipe" <<'R'
name = "kvm-check"
[app]
exec = "/usr/bin/ls"
args = ["-l", "/dev/kvm"]
[kernel]
image = "/vmlinuz"
modules = ["kvm-amd"]
[vm]
memory = "512M"
R
run_capture "$TMP/kvm.build" "$ARROW_BUILD" "$TMP/kvm.recipe" -o "$TMP/kvm.arrow" --list
expect_eq "modules: build" 0 "$status"
expect_contains "modules: kvm-amd packed" "$TMP/kvm.build" "kernel module kvm_amd"
order=$("$ARROW" inspect --json "$TMP/kvm.arrow" | python3 -c 'import json,sys; print(" ".join(m.rsplit("/",1)[1] for m in json.load(sys.stdin)["config"]["kernel"]["modules"]))')
case " $order " in
  *" kvm.ko "*"kvm-amd.ko "*) pass "modules: dependency kvm.ko loads before kvm-amd.ko ($order)" ;;
  *) fail "modules: load order is '$order'" ;;
esac
expect_contains "modules: load order recorded" "$TMP/kvm.build" "/.arrow/modules"
# Take the kernel and initramfs layers out of the OCI archive and boot them with SVM.
python3 - "$TMP/kvm.arrow" "$TMP" <<'PY'
import json, sys, tarfile
t = tarfile.open(sys.argv[1])
blob = lambda d: t.extractfile("blobs/sha256/" + d.split(":")[1]).read()
idx = json.loads(t.extractfile("index.json").read())
man = json.loads(blob(idx["manifests"][0]["digest"]))
cfg = json.loads(blob(man["config"]["digest"]))
for l in man["layers"]:
    name = "kvm.kernel" if l["mediaType"].endswith("kernel.v1") else "kvm.initrd"
    open(sys.argv[2] + "/" + name, "wb").write(blob(l["digest"]))
open(sys.argv[2] + "/kvm.cmdline", "w").write(cfg["kernel"]["cmdline"])
PY
set +e
timeout 300 qemu-system-x86_64 -accel tcg -M pc -cpu EPYC,+svm -m 512 -nodefaults -no-user-config \
  -display none -serial stdio -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
  -kernel "$TMP/kvm.kernel" -initrd "$TMP/kvm.initrd" -append "$(cat "$TMP/kvm.cmdline")" \
  >"$TMP/kvm.out" 2>&1 </dev/null
qemu_status=$?
set -e
expect_eq "modules: app exit 0 through port 0xf4 (qemu 1)" 1 "$qemu_status"
expect_contains "modules: /dev/kvm exists in the guest" "$TMP/kvm.out" "/dev/kvm"
expect_contains "modules: /dev/kvm is the KVM char device" "$TMP/kvm.out" "10, 232"
summary
