#!/usr/bin/env bash
# The built-in VMM's virtio-blk, proven by nesting (this host's PVM KVM cannot run Linux): an
# outer arrow (Debian's kernel + kvm-amd, under qemu TCG with -cpu EPYC,+svm) holds arrow-run,
# e2fsprogs' debugfs, two volume images and two inner arrows on the tuned kernel with `block`:
#   vol     /bin/sh with a declared volume: `arrow-run --vmm builtin -v /data.img:/data` writes a
#           file, which debugfs then finds in the image after the VMM exited; `:ro` refuses a
#           write and leaves the image's bytes unchanged;
#   writer  python3 on its EROFS root committing SQLite transactions (WAL, synchronous=FULL) to
#           a volume and printing each id: the outer guest SIGKILLs the built-in VMM right after
#           a random number of printed commits, twice, then boots it in 64M to check that every
#           printed id is there and integrity_check is ok.
# Every result is printed by the outer guest and checked here.
source "$(dirname "$0")/lib.sh"
KERNEL=${KERNEL:-/vmlinuz}
ver=$(basename "$(readlink -f "$KERNEL")" | sed 's/^vmlinuz-//')
[ -e "/lib/modules/$ver/modules.dep" ] || { echo "FAIL: /lib/modules/$ver missing (scripts/install-deps.sh installs linux-image-amd64)"; exit 1; }
cd "$TMP"

cat >vol.recipe <<'R'
name = "vol"
[app]
exec = "/bin/sh"
args = ["-c", "echo no script"]
volumes = ["/data"]
[files]
include = ["/usr/bin/cat", "/usr/bin/touch"]
R
run_capture vol.build "$ARROW_BUILD" vol.recipe -o vol.arrow --zstd-level 3
expect_eq "inner vol: build (tuned kernel with block)" 0 "$status"
writer_recipe writer.recipe
run_capture writer.build "$ARROW_BUILD" writer.recipe -o writer.arrow
expect_eq "inner writer: build" 0 "$status"
expect_contains "inner writer: python3 gets an EROFS root" writer.build "root: EROFS layer"
"$ARROW" volume create data.img --size 16M >/dev/null
"$ARROW" volume create tx.img --size 32M >/dev/null

cat >nested.sh <<'S'
#!/bin/sh
# Runs in the outer guest. Prints RESULT lines the host checks.
PATH=/usr/bin:/usr/sbin:/bin:/sbin
arrow-run /vol.arrow --vmm builtin -v /data.img:/data --timeout 300s -- -c 'echo durable > /data/proof.txt && echo wrote' >/tmp/rw.out 2>&1
echo "RESULT rw exit $?"
grep -q wrote /tmp/rw.out && echo "RESULT rw guest wrote"
echo "RESULT rw host sees: $(debugfs -R 'cat /proof.txt' /data.img 2>/dev/null)"
before=$(sha256sum /data.img | cut -d' ' -f1)
arrow-run /vol.arrow --vmm builtin -v /data.img:/data:ro --timeout 300s -- -c 'cat /data/proof.txt; cat /sys/block/vda/ro; touch /data/x || echo refused' >/tmp/ro.out 2>&1
echo "RESULT ro exit $?"
grep -q refused /tmp/ro.out && echo "RESULT ro write refused"
tr -d '\r' </tmp/ro.out | grep -qx 1 && echo "RESULT ro device is read-only"
[ "$before" = "$(sha256sum /data.img | cut -d' ' -f1)" ] && echo "RESULT ro image unchanged"
tr -d '\r' </tmp/ro.out | sed 's/^/ro: /' | grep -v '^ro: \[' | tail -n 5
: >/tmp/printed
for round in 1 2; do
  want=$(awk "BEGIN { srand($round$$); print int(rand() * 20) + 3 }")
  arrow-run /writer.arrow --vmm builtin -v /tx.img:/data --timeout 300s >/tmp/w$round.out 2>&1 &
  pid=$!
  i=0
  while [ $i -lt 1200 ] && [ "$(grep -c '^committed' /tmp/w$round.out)" -lt "$want" ]; do sleep 0.1; i=$((i + 1)); done
  [ $i -lt 1200 ] || tr -d '\r' </tmp/w$round.out | grep -v '^\[ ' | tail -n 8 | sed "s/^/w$round: /"
  kill -KILL $pid
  wait $pid
  grep '^committed' /tmp/w$round.out | tr -d '\r' | awk '{ print $2 }' >>/tmp/printed
  echo "RESULT round $round killed after $(grep -c '^committed' /tmp/w$round.out) commits (wanted $want)"
done
arrow-run /writer.arrow --vmm builtin -v /tx.img:/data --memory 64M --timeout 300s --boot-time -- /app/writer.py check >/tmp/check.out 2>&1
rc=$?
echo "RESULT check exit $rc"
[ $rc -eq 0 ] || tr -d '\r' </tmp/check.out | tail -n 12 | sed 's/^/check: /'
tr -d '\r' </tmp/check.out | grep '^integrity' | sed 's/^/RESULT /'
grep -q '(builtin)' /tmp/check.out && echo "RESULT check ran on the built-in VMM"
ids=" $(tr -d '\r' </tmp/check.out | grep '^ids ' | cut -d' ' -f2-) "
missing=0
total=0
for id in $(cat /tmp/printed); do
  total=$((total + 1))
  case "$ids" in *" $id "*) ;; *) missing=$((missing + 1)) ;; esac
done
echo "RESULT durability $missing missing of $total printed"
S
chmod +x nested.sh
cp "$BUILD_DIR/bin/arrow" arrow-run
nested_outer '["/usr/sbin/debugfs", "/usr/bin/sha256sum", "/usr/bin/cut", "/usr/bin/grep", "/usr/bin/sed",
           "/usr/bin/tail", "/usr/bin/tr", "/usr/bin/sleep", "/usr/bin/cat", "/usr/bin/awk", "/usr/bin/mawk"]' \
  '{ "/usr/bin/arrow-run" = "arrow-run", "/vol.arrow" = "vol.arrow", "/writer.arrow" = "writer.arrow", "/nested.sh" = "nested.sh", "/data.img" = "data.img", "/tx.img" = "tx.img" }' \
  300s 'RESULT|^ro: |^w[12]: |^check: '
expect_eq "nested: outer exit" 0 "$status"
expect_contains "builtin rw: the run succeeded" nested.out "RESULT rw exit 0"
expect_contains "builtin rw: the guest wrote" nested.out "RESULT rw guest wrote"
expect_contains "builtin rw: the data is in the image after exit" nested.out "RESULT rw host sees: durable"
expect_contains "builtin ro: the write is refused" nested.out "RESULT ro write refused"
expect_contains "builtin ro: the device is read-only" nested.out "RESULT ro device is read-only"
expect_contains "builtin ro: the image is unchanged" nested.out "RESULT ro image unchanged"
expect_contains "builtin durability: python3 from EROFS in 64M checks the volume" nested.out "RESULT check exit 0"
expect_contains "builtin durability: on the built-in VMM" nested.out "RESULT check ran on the built-in VMM"
expect_contains "builtin durability: integrity_check ok" nested.out "RESULT integrity ok"
expect_contains "builtin durability: no printed commit lost" nested.out "RESULT durability 0 missing of"
if grep -q "RESULT durability 0 missing of 0 printed" nested.out; then fail "builtin durability: nothing was committed"; fi
summary
