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
size=$(python3 -c 'import json,sys; d=json.load(sys.stdin); print([l["size"] for l in d["layers"] if l["mediaType"].endswith("kernel.v1")][0])' < <("$ARROW" inspect --json "$TMP/tuned.arrow"))
if [ "$size" -le 1572864 ]; then pass "tuned bzImage <= 1.5 MiB ($size bytes)"; else fail "tuned bzImage is $size bytes"; fi
total=$("$ARROW" inspect --json "$TMP/tuned.arrow" | python3 -c 'import json,sys; print(sum(l["size"] for l in json.load(sys.stdin)["layers"]))')
if [ "$total" -lt 2097152 ]; then pass "hello arrow kernel + initramfs < 2 MiB ($total bytes)"; else fail "hello arrow kernel + initramfs is $total bytes"; fi

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
