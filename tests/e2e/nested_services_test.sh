#!/usr/bin/env bash
# The Arrow System on the built-in VMM, proven by nesting (this host's PVM KVM cannot run Linux):
# an outer arrow (Debian's kernel + kvm-amd, under qemu TCG with -cpu EPYC,+svm) holds the `arrow`
# binary, curl, redis-cli and the catalog's nginx and redis arrows. Inside, with --vmm builtin:
# `arrow run -d` nginx and curl its page, `arrow ps`, `arrow stop` (the app's exit status
# recorded), `arrow logs`; redis on a volume: SET/SAVE, stop, a new instance on the same volume
# GETs the value; a SIGKILLed VMM shows as "exited (crashed)"; a name clash is refused.
# Every result is printed by the outer guest and checked here.
source "$(dirname "$0")/lib.sh"
KERNEL=${KERNEL:-/vmlinuz}
ver=$(basename "$(readlink -f "$KERNEL")" | sed 's/^vmlinuz-//')
[ -e "/lib/modules/$ver/modules.dep" ] || { echo "FAIL: /lib/modules/$ver missing (scripts/install-deps.sh installs linux-image-amd64)"; exit 1; }
cd "$TMP"

for app in nginx redis; do
  run_capture "$app.build" "$ARROW_BUILD" "$SOURCE_DIR/recipes/$app.recipe" -o "$app.arrow" --zstd-level 3
  expect_eq "inner $app: built from the catalog recipe" 0 "$status"
done
"$ARROW" volume create redis.img --size 16M >/dev/null

cat >nested.sh <<'S'
#!/bin/sh
# Runs in the outer guest. Prints RESULT lines the host checks.
PATH=/usr/bin:/usr/sbin:/bin:/sbin
export ARROW_STATE_DIR=/state
step() { echo "STEP $(cut -d' ' -f1 /proc/uptime) $*"; }  # where a stuck run stopped
wait_for() {  # wait_for CMD...: up to 60 s
  i=0
  while [ $i -lt 120 ] && ! "$@" >/dev/null 2>&1; do sleep 0.5; i=$((i + 1)); done
}
id=$(arrow run -d --vmm builtin --boot-time --name web -p 127.0.0.1:8080:80 /nginx.arrow 2>/tmp/web.err)
echo "RESULT web run -d exit $? id ${id:-none}"
[ -n "$id" ] || sed 's/^/web: /' /tmp/web.err
curl -s --max-time 20 http://127.0.0.1:8080/ | grep -o '<title>.*</title>' | sed 's/^/RESULT web page /'
arrow ps | grep '^[0-9a-f]* *web ' | sed 's/  */ /g; s/^/RESULT ps /'
arrow run -d --vmm builtin --name web /nginx.arrow >/dev/null 2>/tmp/clash.err
echo "RESULT clash exit $?"
sed 's/^/RESULT clash says /' /tmp/clash.err | head -n 1
step stop web
arrow stop web >/dev/null
step stopped web
arrow ps | grep ' web ' | sed 's/  */ /g; s/^/RESULT stopped /'
arrow logs web | grep -c '"GET / HTTP/1.1" 200' | sed 's/^/RESULT logs requests /'
arrow logs web | grep -q '(builtin)' && echo "RESULT web ran on the built-in VMM"
arrow rm web

arrow run -d --vmm builtin --name cache -p 127.0.0.1:6379:6379 -v /redis.img:/data /redis.arrow >/dev/null 2>/tmp/r1.err
echo "RESULT redis run -d exit $?"
echo "RESULT redis SET $(redis-cli SET k nested-builtin) SAVE $(redis-cli SAVE)"
step stop cache
arrow stop cache >/dev/null
arrow rm cache
step run cache again
arrow run -d --vmm builtin --name cache -p 127.0.0.1:6379:6379 -v /redis.img:/data /redis.arrow >/dev/null 2>/tmp/r2.err
echo "RESULT redis again exit $?"
echo "RESULT redis GET after restart $(redis-cli GET k)"
pid=$(arrow ps --json | grep -o '"pid": *[0-9]*' | head -n 1 | grep -o '[0-9]*$')
step kill "$pid"
kill -KILL "$pid"
wait_for sh -c 'arrow ps | grep -q "exited (crashed)"'
arrow ps | grep ' cache ' | sed 's/  */ /g; s/^/RESULT killed /'
arrow rm cache
S
chmod +x nested.sh
cp "$BUILD_DIR/bin/arrow" arrow
nested_outer '["/usr/bin/curl", "/usr/bin/redis-cli", "/usr/bin/grep", "/usr/bin/sed", "/usr/bin/head", "/usr/bin/sleep", "/usr/bin/cut"]' \
  '{ "/usr/bin/arrow" = "arrow", "/nginx.arrow" = "nginx.arrow", "/redis.arrow" = "redis.arrow", "/redis.img" = "redis.img", "/nested.sh" = "nested.sh" }' \
  240s 'RESULT|STEP|^web: '
expect_eq "nested: outer exit" 0 "$status"
if grep -qE "RESULT web run -d exit 0 id [0-9a-f]{12}" nested.out; then pass "builtin nginx: run -d prints an id"; else fail "builtin nginx: run -d"; fi
expect_contains "builtin nginx: curl gets its page" nested.out "RESULT web page <title>Welcome to nginx!</title>"
expect_contains "builtin nginx: ps shows it running with its port" nested.out "web /nginx.arrow 127.0.0.1:8080:80 running"
expect_contains "builtin nginx: a name clash is refused" nested.out "RESULT clash exit 125"
expect_contains "builtin nginx: the clash names the holder" nested.out "RESULT clash says"
expect_contains "builtin nginx: stop records the app's exit status" nested.out "127.0.0.1:8080:80 exited (0)"
expect_contains "builtin nginx: logs hold its requests" nested.out "RESULT logs requests 1"
expect_contains "builtin nginx: on the built-in VMM" nested.out "RESULT web ran on the built-in VMM"
expect_contains "builtin redis: run -d with a volume" nested.out "RESULT redis run -d exit 0"
expect_contains "builtin redis: SET and SAVE" nested.out "RESULT redis SET OK SAVE OK"
expect_contains "builtin redis: the value survived the restart" nested.out "RESULT redis GET after restart nested-builtin"
expect_contains "builtin redis: a SIGKILLed VMM shows as crashed" nested.out "exited (crashed)"
summary
