#!/usr/bin/env bash
# Volumes and the EROFS root, end to end under qemu TCG: `arrow volume create|inspect`, -v
# read-write (data on the host image afterwards) and :ro (the device refuses writes, the image
# is unchanged), the lock against a second run, declared volumes as tmpfs, the app's user
# owning a fresh volume, every bad-input error; python3 from an EROFS root in 64M, rebuilt
# byte-identical and readable by skopeo; and durability: SIGKILL of the VMM right after a
# commit was printed, at random points, loses no printed commit.
source "$(dirname "$0")/lib.sh" "$@"
cd "$TMP"
RUN=("$ARROW_RUN" --vmm qemu --timeout 120s)

# ---- arrow volume create / inspect ----
run_capture create-small.out "$ARROW" volume create small.img --size 4M
expect_eq "create: below the minimum fails" 1 "$status"
expect_contains "create: says the minimum" create-small.out "below the minimum of 8M"
[ ! -e small.img ] && pass "create: nothing left behind" || fail "create: small.img exists"
run_capture create.out "$ARROW" volume create data.img --size 32M
expect_eq "create: data.img" 0 "$status"
expect_contains "create: reports ext4" create.out "created data.img: ext4"
cp data.img data.before
run_capture create-again.out "$ARROW" volume create data.img --size 64M
expect_eq "create: an existing file is refused" 1 "$status"
expect_contains "create: says it exists" create-again.out "already exists; refusing to overwrite"
cmp -s data.img data.before && pass "create: the existing image is untouched" || fail "create: data.img changed"
run_capture create-from.out "$ARROW" volume create bad.img --size 16M --from ./nonexistent
expect_eq "create: --from a missing dir fails" 1 "$status"
expect_contains "create: names --from" create-from.out "is not a directory"
mkdir public && echo "hello from the site volume" >public/index.html
run_capture create-site.out "$ARROW" volume create site.img --size 16M --from public --owner 1000:1000
expect_eq "create: site.img from a directory" 0 "$status"
run_capture inspect.out "$ARROW" volume inspect site.img
expect_contains "inspect: ext4 with a journal" inspect.out "filesystem ext4 (journal), 16.0 MiB"
expect_contains "inspect: label from the file name" inspect.out "label      site"
expect_contains "inspect: clean" inspect.out "state      clean"
expect_contains "inspect: not locked" inspect.out "lock       free"

# ---- a shell arrow with a declared volume, running as uid 1000 ----
cat >vol.recipe <<'R'
name = "vol"
[app]
exec = "/bin/sh"
args = ["-c", "echo no script"]
volumes = ["/data"]
user = "1000:1000"
[files]
include = ["/usr/bin/cat", "/usr/bin/id", "/usr/bin/stat", "/usr/bin/touch", "/usr/bin/sleep", "/usr/bin/ls"]
R
run_capture vol.build "$ARROW_BUILD" vol.recipe -o vol.arrow --zstd-level 3
expect_eq "vol: build" 0 "$status"
run_capture vol.inspect "$ARROW" inspect vol.arrow
expect_contains "inspect: declared volume" vol.inspect "volumes    /data"
expect_contains "inspect: kernel has virtio-blk" vol.inspect "storage    virtio-blk (kernel has the driver)"
# coreutils' id and ls load libselinux, which imports socket: the kernel gets IPv4 (inet) too.
expect_contains "inspect: block feature added" vol.inspect "tuned: microvm+inet+block"
expect_contains "build: why block" vol.build "+block: the recipe declares volumes"
expect_contains "build: why inet" vol.build "+inet: /usr/lib/x86_64-linux-gnu/libselinux.so.1 imports socket"

run_capture tmpfs.out "${RUN[@]}" vol.arrow -- -c 'echo uid=$(id -u); stat -f -c %T /data; stat -c owner=%u:%g /data'
expect_eq "no -v: exit 0" 0 "$status"
expect_contains "no -v: one line says tmpfs" tmpfs.out "volume /data has no -v: it is an ephemeral tmpfs"
expect_contains "no -v: /data is a tmpfs" tmpfs.out "tmpfs"
expect_contains "the app runs as uid 1000" tmpfs.out "uid=1000"
expect_contains "the tmpfs belongs to the app's user" tmpfs.out "owner=1000:1000"

run_capture rw1.out "${RUN[@]}" vol.arrow -v data.img:/data -- -c \
  'stat -c owner=%u:%g /data; echo persisted-$((6*7)) > /data/hello.txt && echo wrote'
expect_eq "rw: exit 0" 0 "$status"
expect_contains "rw: the guest wrote" rw1.out "wrote"
expect_contains "rw: a fresh volume is given to the app's user" rw1.out "owner=1000:1000"
host_copy=$(debugfs -R "cat /hello.txt" data.img 2>/dev/null || true)
expect_eq "rw: the data is in the host image after exit" "persisted-42" "$host_copy"
run_capture inspect2.out "$ARROW" volume inspect data.img
expect_contains "rw: cleanly unmounted at exit" inspect2.out "state      clean"
run_capture rw2.out "${RUN[@]}" vol.arrow -v data.img:/data -- -c 'cat /data/hello.txt'
expect_contains "rw: a second boot reads it" rw2.out "persisted-42"

# ---- [app] user by name, its accounts in /etc, [files] dirs made at boot ----
cat >acct.recipe <<'R'
name = "acct"
[app]
exec = "/bin/sh"
args = ["-c", "id; cat /etc/passwd /etc/group; stat -c 'dir %n %U:%G %a' /run/app /var/cache/x /data/sub; touch /run/app/ok && echo writable"]
user = "nobody"
volumes = ["/data"]
[files]
include = ["/usr/bin/id", "/usr/bin/cat", "/usr/bin/stat", "/usr/bin/touch"]
dirs = [{ path = "/run/app", mode = "0700" }, { path = "/var/cache/x", owner = "daemon", mode = "2775" }, "/data/sub"]
R
run_capture acct.build "$ARROW_BUILD" acct.recipe -o acct.arrow --zstd-level 3
expect_eq "accounts: build" 0 "$status"
run_capture acct.out "${RUN[@]}" -q acct.arrow
expect_contains "accounts: the app is nobody, by name" acct.out "uid=65534(nobody) gid=65534(nogroup)"
expect_eq "accounts: /etc/passwd holds root, daemon, nobody only" 3 "$(grep -c ':x:.*:.*:.*:/' acct.out)"
expect_contains "accounts: the dir owner's group is there" acct.out "daemon:x:1:"
expect_contains "dirs: owned by the app's user by default, with its mode" acct.out "dir /run/app nobody:nogroup 700"
expect_contains "dirs: an explicit owner and setgid mode" acct.out "dir /var/cache/x daemon:daemon 2775"
expect_contains "dirs: made on a volume after it is mounted" acct.out "dir /data/sub nobody:nogroup 755"
expect_contains "dirs: writable by the app" acct.out "writable"
printf 'name = "x"\n[app]\nexec = "/bin/sh"\n[files]\ndirs = [{ path = "/a", owner = "nosuchuser" }]\n' >badowner.recipe
run_capture badowner.out "$ARROW_BUILD" badowner.recipe -o badowner.arrow
expect_eq "dirs: an unknown owner fails the build" 1 "$status"
expect_contains "dirs: and names it" badowner.out "[files] dirs /a: owner: user 'nosuchuser': no user 'nosuchuser'"

# ---- :ro is the device's ----
sha_before=$(sha256sum site.img | cut -d' ' -f1)
run_capture ro.out "${RUN[@]}" vol.arrow -v site.img:/srv:ro -- -c \
  'cat /srv/index.html; stat -c owner=%u /srv; for d in /sys/block/vd*; do echo "$d ro=$(cat $d/ro)"; done;
   touch /srv/new 2>&1 || echo write-refused'
expect_contains "ro: reads the site" ro.out "hello from the site volume"
expect_contains "ro: the user could write if it were not read-only" ro.out "owner=1000"
expect_contains "ro: the kernel sees a read-only device" ro.out "/sys/block/vda ro=1"
expect_contains "ro: the write fails with EROFS" ro.out "Read-only file system"
expect_contains "ro: the write is refused" ro.out "write-refused"
expect_eq "ro: the image is unchanged" "$sha_before" "$(sha256sum site.img | cut -d' ' -f1)"

# ---- the lock: a second read-write run of the same image is refused ----
"${RUN[@]}" vol.arrow -v data.img:/data -- -c 'echo holder-up; sleep 60' >holder.out 2>&1 &
holder=$!
for _ in $(seq 1 600); do grep -q holder-up holder.out 2>/dev/null && break; sleep 0.1; done
run_capture lock.out "${RUN[@]}" vol.arrow -v data.img:/data -- -c 'echo should-not-run'
expect_eq "lock: the second run fails with 125" 125 "$status"
expect_contains "lock: it says the volume is in use" lock.out "volume data.img is in use by another arrow-run"
run_capture lock-ro.out "${RUN[@]}" vol.arrow -v data.img:/data:ro -- -c 'echo should-not-run'
expect_eq "lock: a read-only run while it is written is refused too" 125 "$status"
run_capture lock-inspect.out "$ARROW" volume inspect data.img
expect_contains "lock: inspect shows it in use" lock-inspect.out "in use by an arrow-run"
kill -TERM "$holder" 2>/dev/null || true
wait "$holder" || true
run_capture after.out "${RUN[@]}" vol.arrow -v data.img:/data -- -c 'cat /data/hello.txt'
expect_contains "lock: released when the holder stops" after.out "persisted-42"

# ---- bad input: one clear line each, nothing boots ----
bad() {  # bad NAME EXPECTED-TEXT -v-ARGS...
  local name=$1 text=$2; shift 2
  run_capture "bad-$name.out" "${RUN[@]}" vol.arrow "$@" -- -c 'echo booted'
  expect_eq "bad input ($name): exit 125" 125 "$status"
  expect_contains "bad input ($name): message" "bad-$name.out" "$text"
  if grep -q booted "bad-$name.out"; then fail "bad input ($name): the guest booted"; fi
}
bad missing "volume nope.img: No such file or directory" -v nope.img:/data
bad directory "is a directory; a volume is an ext4 image file" -v public:/data
head -c 1048576 data.img >trunc.img
bad truncated "is smaller than its filesystem" -v trunc.img:/data
head -c 1048576 /dev/urandom >random.img
bad not-ext4 "not an ext4 image" -v random.img:/data
bad nested "is inside -v data.img at /data; volumes cannot nest" -v data.img:/data -v site.img:/data/www:ro
bad twice "is mounted twice" -v data.img:/data -v site.img:/data:ro
bad reserved "/proc belongs to the kernel or to arrow-init" -v data.img:/proc/x
bad syntax "expected IMAGE:/guest/path[:ro]" -v data.img
bad relative "the guest path must be absolute" -v data.img:data
cp site.img corrupt.img
dd if=/dev/urandom of=corrupt.img bs=1024 seek=2 count=2 conv=notrunc status=none  # group descriptors
run_capture corrupt.out "${RUN[@]}" vol.arrow -v corrupt.img:/data -- -c 'echo booted'
expect_eq "corrupt fs: the run fails with 125" 125 "$status"
expect_contains "corrupt fs: the guest names the volume" corrupt.out "arrow-init: volume corrupt.img: cannot mount /dev/vda as ext4 at /data"
if grep -q booted corrupt.out; then fail "corrupt fs: the app ran"; else pass "corrupt fs: the app did not run"; fi
printf 'name = "noblk"\n[app]\nexec = "/bin/sh"\n' >noblk.recipe
run_capture noblk.build "$ARROW_BUILD" noblk.recipe -o noblk.arrow --zstd-level 3
run_capture noblk.out "${RUN[@]}" noblk.arrow -v data.img:/data
expect_eq "a kernel without virtio-blk: 125" 125 "$status"
expect_contains "a kernel without virtio-blk: says how to rebuild" noblk.out 'features = ["block"]'

# ---- python3 from an EROFS root ----
run_capture py.build "$ARROW_BUILD" "$SOURCE_DIR/recipes/python3.recipe" -o py.arrow
expect_eq "python3: build" 0 "$status"
expect_contains "python3: auto picks the EROFS root" py.build "root: EROFS layer"
run_capture py.inspect "$ARROW" inspect py.arrow
expect_contains "python3: inspect shows the root layer" py.inspect "application/vnd.arrow.rootfs.v1.erofs"
expect_contains "python3: inspect says why" py.inspect "root       EROFS layer"
run_capture py.out "${RUN[@]}" py.arrow --memory 64M
expect_eq "python3: boots in 64M" 0 "$status"
expect_contains "python3: prints its versions" py.out 'python 3.11'
expect_contains "python3: sqlite works from the EROFS root" py.out '{"sqlite": "3.'
run_capture py.build2 "$ARROW_BUILD" "$SOURCE_DIR/recipes/python3.recipe" -o py2.arrow
cmp -s py.arrow py2.arrow && pass "python3: a rebuild is byte-identical" || fail "python3: rebuild differs"
run_capture py.skopeo skopeo copy "oci-archive:py.arrow" "dir:$TMP/py-dir"
expect_eq "python3: skopeo copy reads it" 0 "$status"
erofs_digest=$(python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print([l["digest"] for l in m["layers"] if l["mediaType"].endswith("erofs")][0].split(":")[1])' "$TMP/py-dir/manifest.json")
[ -f "$TMP/py-dir/$erofs_digest" ] && pass "python3: skopeo copied the EROFS layer" || fail "python3: no EROFS layer in the skopeo copy"

# ---- durability: SIGKILL of the VMM after a printed commit loses nothing ----
writer_recipe writer.recipe
run_capture writer.build "$ARROW_BUILD" writer.recipe -o writer.arrow
expect_eq "durability: build the writer" 0 "$status"
[ "$status" -eq 0 ] || sed 's/^/    | /' writer.build | tail -n 20
"$ARROW" volume create tx.img --size 32M >/dev/null
: >printed.txt
for round in 1 2 3; do
  want=$((RANDOM % 20 + 3))  # kill after this many commits were printed in this round
  "${RUN[@]}" writer.arrow -v tx.img:/data >"round$round.out" 2>&1 &
  runner=$!
  for _ in $(seq 1 1200); do
    [ "$(grep -c '^committed ' "round$round.out" 2>/dev/null || true)" -ge "$want" ] && break
    sleep 0.1
  done
  qemu=$(pgrep -P "$runner" qemu-system || true)
  if [ -n "$qemu" ]; then kill -KILL "$qemu"; fi
  wait "$runner" || true
  grep '^committed ' "round$round.out" | tr -d '\r' | awk '{print $2}' >>printed.txt
  n=$(grep -c '^committed ' "round$round.out" || true)
  [ "$n" -ge "$want" ] && pass "durability round $round: killed the VMM after $n printed commits" \
    || fail "durability round $round: only $n of $want commits printed before the kill"
done
run_capture check.out "${RUN[@]}" writer.arrow -v tx.img:/data -- /app/writer.py check
expect_contains "durability: integrity_check is ok" check.out "integrity ok"
stored=" $(grep '^ids ' check.out | cut -d' ' -f2- | tr -d '\r') "
missing=0
while read -r id; do
  case "$stored" in *" $id "*) ;; *) missing=$((missing + 1)); echo "    missing id $id" ;; esac
done <printed.txt
expect_eq "durability: every printed commit ($(wc -l <printed.txt) ids) survived" 0 "$missing"

summary
