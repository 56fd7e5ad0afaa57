#!/usr/bin/env bash
# A hostile guest gets nothing, proven by nesting (this host's PVM KVM cannot run Linux). Inside
# an outer arrow (Debian's kernel + kvm-amd under qemu TCG with nested SVM), as root:
#  1. `arrow-run --vmm builtin` boots tests/e2e/hostile.c, which attacks the control channel,
#     the console, the NIC (raw frames into libslirp), every virtio-mmio window (/dev/mem: a
#     test-only kernel fragment, tests/e2e/hostile.config) and every I/O port, then exits
#     through port 0xf4 with 42. The VMM must serve it all and end with exactly that status.
#  2. While it runs, the outer guest reads the VMM process's /proc status: unprivileged
#     (nobody), no capabilities, no new privileges, every thread under a seccomp filter, an
#     empty root, only its own descriptors.
#  3. The next arrow (hello) boots normally on the same host, and --no-seccomp warns.
# Not in scripts/test.sh (label "hostile"): under qemu TCG's emulated SVM the outer guest stalls
# in most attempts (docs/security.md has the record). The hostile arrow runs without a disk,
# since every attempt with a volume attached stalled; its kernel still has the block fragment
# (the recipe declares a volume, which becomes a tmpfs).
source "$(dirname "$0")/lib.sh"
KERNEL=${KERNEL:-/vmlinuz}
ver=$(basename "$(readlink -f "$KERNEL")" | sed 's/^vmlinuz-//')
[ -e "/lib/modules/$ver/modules.dep" ] || { echo "FAIL: /lib/modules/$ver missing (scripts/install-deps.sh installs linux-image-amd64)"; exit 1; }

cd "$TMP"
gcc -O2 -static -o hostile "$SOURCE_DIR/tests/e2e/hostile.c"
cat >hostile.recipe <<R
name = "hostile"
[app]
exec = "/usr/bin/hostile"
volumes = ["/data"]
[files]
map = { "/usr/bin/hostile" = "hostile" }
[kernel]
features = ["net", "$SOURCE_DIR/tests/e2e/hostile.config"]
R
run_capture hostile.build "$ARROW_BUILD" hostile.recipe -o hostile.arrow
expect_eq "hostile: build (tuned kernel with net, block and /dev/mem)" 0 "$status"
[ "$status" -eq 0 ] || sed 's/^/    | /' hostile.build | tail -n 20
cp "$BUILD_DIR/examples/hello/hello" hello
cat >hello.recipe <<'R'
name = "hello"
[app]
exec = "/usr/bin/hello"
[files]
map = { "/usr/bin/hello" = "hello" }
R
run_capture hello.build "$ARROW_BUILD" hello.recipe -o hello.arrow
expect_eq "hello: build" 0 "$status"

cat >nested.sh <<'S'
#!/bin/sh
# Runs in the outer guest as root; prints RESULT lines the host checks.
/usr/bin/arrow-run /hostile.arrow --vmm builtin --timeout 230s >/tmp/hostile.log 2>&1 &
A=$!
V=""
i=0
while [ -z "$V" ] && [ $i -lt 300 ]; do  # the VMM: arrow-run's child
  for s in /proc/[0-9]*/stat; do
    read -r p c st pp rest <"$s" 2>/dev/null || continue
    [ "$pp" = "$A" ] && V=$p
  done
  i=$((i + 1))
  /usr/bin/sleep 0.1
done
i=0  # until every thread has started (and so installed its profile): vmm, vcpu, virtio-net
while [ $i -lt 300 ] && [ "$(/usr/bin/cat /proc/$V/task/*/comm 2>/dev/null | /usr/bin/grep -c -E '^(vcpu|virtio-net|vmm)$')" -lt 3 ]; do
  i=$((i + 1))
  /usr/bin/sleep 0.1
done
echo "RESULT vmm pid $V (arrow-run $A)"
/usr/bin/grep -E '^(Uid|Gid|Groups|NoNewPrivs|Seccomp|CapEff|CapPrm|CapBnd):' /proc/$V/status | /usr/bin/sed 's/^/RESULT status /'
for t in /proc/$V/task/*; do
  echo "RESULT task $(/usr/bin/cat $t/comm) $(/usr/bin/grep '^Seccomp:' $t/status | /usr/bin/tr -d '\t')"
done
echo "RESULT root entries: $(/usr/bin/ls -A /proc/$V/root/ | /usr/bin/tr '\n' ' ')."
for f in /proc/$V/fd/*; do echo "RESULT fd $(/usr/bin/readlink $f)"; done
# A watchdog: should the run outlive its budget, say where every thread of both processes is
# and what the guest printed last, then stop it.
( /usr/bin/sleep 240
  [ -d /proc/$A ] || exit 0
  echo "STUCK: arrow-run still running after 240 s"
  for t in /proc/$A/task/* /proc/$V/task/*; do
    echo "STUCK: $t $(/usr/bin/cat $t/comm) state $(/usr/bin/cut -d' ' -f3 $t/stat) wchan $(/usr/bin/cat $t/wchan) syscall $(/usr/bin/cut -d' ' -f1 $t/syscall)"
  done
  /usr/bin/grep -a -E '^RESULT|arrow-run' /tmp/hostile.log | /usr/bin/tail -n 8 | /usr/bin/sed 's/^/STUCK: log: /'
  kill -TERM $A; /usr/bin/sleep 15; kill -KILL $A $V ) &
W=$!
( while [ -d /proc/$A ]; do  # progress: the phase the guest has reached, every 15 s
    /usr/bin/sleep 15
    echo "PROGRESS $(/usr/bin/grep -a '^RESULT' /tmp/hostile.log | /usr/bin/tail -n 1)"
  done ) &
P=$!
wait $A
echo "RESULT hostile exit $?"
kill $W $P 2>/dev/null
/usr/bin/grep -a -E '^RESULT|arrow-run' /tmp/hostile.log | /usr/bin/sed 's/^/hostile: /' | /usr/bin/tail -n 20
/usr/bin/arrow-run /hello.arrow --vmm builtin --timeout 200s >/tmp/hello.log 2>&1
echo "RESULT hello exit $?"
/usr/bin/grep -a -v '^\[' /tmp/hello.log | /usr/bin/sed 's/^/hello: /' | /usr/bin/tail -n 5
/usr/bin/arrow-run /hello.arrow --vmm builtin --no-seccomp --timeout 200s >/tmp/noseccomp.log 2>&1
echo "RESULT no-seccomp exit $?"
/usr/bin/grep -a 'warning' /tmp/noseccomp.log | /usr/bin/sed 's/^/no-seccomp: /'
S
chmod +x nested.sh
cp "$BUILD_DIR/bin/arrow" arrow-run
nested_outer '["/usr/bin/sleep", "/usr/bin/cut", "/usr/bin/cat", "/usr/bin/grep", "/usr/bin/sed", "/usr/bin/tr", "/usr/bin/ls", "/usr/bin/readlink", "/usr/bin/tail"]' \
  '{ "/usr/bin/arrow-run" = "arrow-run", "/hostile.arrow" = "hostile.arrow", "/hello.arrow" = "hello.arrow", "/nested.sh" = "nested.sh" }' \
  420s '^(RESULT|STUCK|PROGRESS|hostile:|hello:|no-seccomp:)'
out=nested.out
expect_eq "nested: outer exit" 0 "$status"
# 42 comes only after the port phase, the last one (its own report line may be lost: COM1 has
# just been attacked too).
expect_contains "hostile: the VMM served every attack and the guest's own exit status came through" "$out" "RESULT hostile exit 42"
expect_contains "hostile: the control-channel attack ran" "$out" "hostile: RESULT control sent"
grep -a -qE "hostile: RESULT nic sent [1-9][0-9]* frames" "$out" && pass "hostile: random frames reached libslirp" || fail "hostile: no frames sent"
expect_contains "hostile: /dev/mem reached the virtio-mmio windows (the NIC's, and empty ones)" "$out" "hostile: RESULT mmio devices 1,"
expect_contains "hostile: no host bytes in the windows" "$out" "leak-check odd words 0"
grep -a -qE "hostile: RESULT mmio did [1-9][0-9]* accesses" "$out" && pass "hostile: random MMIO accesses ran" || fail "hostile: no MMIO accesses"
expect_contains "VMM: runs as nobody" "$out" "RESULT status Uid:	65534	65534	65534	65534"
expect_contains "VMM: nobody's group" "$out" "RESULT status Gid:	65534	65534	65534	65534"
expect_contains "VMM: no supplementary groups" "$out" "RESULT status Groups:	"
expect_contains "VMM: no effective capabilities" "$out" "RESULT status CapEff:	0000000000000000"
expect_contains "VMM: no permitted capabilities" "$out" "RESULT status CapPrm:	0000000000000000"
expect_contains "VMM: no new privileges" "$out" "RESULT status NoNewPrivs:	1"
expect_contains "VMM: seccomp filter mode" "$out" "RESULT status Seccomp:	2"
for role in vmm vcpu virtio-net; do
  expect_contains "VMM: the $role thread is filtered" "$out" "RESULT task $role Seccomp:2"
done
unfiltered=$(grep -a "^RESULT task" "$out" | grep -vc "Seccomp:2" || true)
expect_eq "VMM: no thread without a filter" 0 "$unfiltered"
expect_contains "VMM: an empty root (resolv.conf at most, for libslirp)" "$out" "RESULT root entries: ."
fds=$(grep -a "^RESULT fd " "$out" | tr -d '\r' | grep -vE "RESULT fd (/dev/kvm|anon_inode:|socket:|pipe:|/dev/null|/tmp/hostile.log)$|RESULT fd (anon_inode:|socket:|pipe:)" || true)
expect_eq "VMM: holds only KVM, its eventfds, sockets and stdio" "" "$fds"
expect_contains "after the attack: the next arrow boots normally" "$out" "RESULT hello exit 0"
expect_contains "after the attack: its output" "$out" "hello: Hello from an arrow!"
expect_contains "--no-seccomp: runs" "$out" "RESULT no-seccomp exit 0"
expect_contains "--no-seccomp: warns" "$out" "no-seccomp: arrow-run: warning: --no-seccomp"
summary
