#!/usr/bin/env bash
# Detached instances under qemu TCG: `arrow run -d` (prints the id once the guest is up, serves a
# published port), `arrow ps` (running, exited with the app's status, crashed when the VMM was
# killed), `arrow logs [-f]`, `arrow stop` (SIGTERM reaches the app), `arrow rm [-f]`, unique
# names, and the failures: a guest not up within --ready-timeout, a run that fails before boot,
# unknown instances.
source "$(dirname "$0")/lib.sh" "$@"
cd "$TMP"
export ARROW_STATE_DIR="$TMP/state"
A="$ARROW"
gcc -O2 -o httpd "$SOURCE_DIR/tests/e2e/httpd.c"
echo "hello from a detached arrow" >index.html
cat >web.recipe <<'R'
name = "web"
[app]
exec = "/usr/bin/httpd"
ports = [80]
ready = "http:80/index.html"
[files]
map = { "/usr/bin/httpd" = "httpd", "/srv/index.html" = "index.html" }
R
run_capture web.build "$ARROW_BUILD" web.recipe -o web.arrow --zstd-level 3
expect_eq "web: build" 0 "$status"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

run_capture run.out "$A" run -d --vmm qemu --name site -p "127.0.0.1:$port:80" web.arrow
expect_eq "run -d: exit 0 once the guest is up" 0 "$status"
id=$(tail -n 1 run.out)
[[ "$id" =~ ^[0-9a-f]{12}$ ]] && pass "run -d: prints a 12-hex id" || fail "run -d: printed '$id'"
got=$(curl -s --max-time 5 "http://127.0.0.1:$port/index.html" || true)  # no retry: it is ready
expect_eq "run -d: returns when [app] ready (http) holds: the port serves at once" "hello from a detached arrow" "$got"
run_capture ps.out "$A" ps
expect_contains "ps: the instance is running" ps.out "site"
grep -E "^$id +site +web.arrow +127.0.0.1:$port:80 +running" ps.out >/dev/null && pass "ps: id, name, image, ports, state" \
  || { fail "ps: row"; cat ps.out; }
run_capture ps.json "$A" ps --json
expect_eq "ps --json: status" running "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["status"])' ps.json)"
run_capture clash.out "$A" run -d --vmm qemu --name site web.arrow
expect_eq "name clash: 125" 125 "$status"
expect_contains "name clash: says who has it" clash.out "the name 'site' is already used by instance $id (running)"
run_capture rm-running.out "$A" rm site
expect_eq "rm of a running instance is refused" 1 "$status"
expect_contains "rm: says to stop it" rm-running.out "site is running: arrow stop site first, or arrow rm -f"

"$A" logs -f site >follow.out 2>&1 &
follower=$!
run_capture stop.out "$A" stop --time 20 "${id:0:6}"
expect_eq "stop (by id prefix): exit 0" 0 "$status"
expect_contains "stop: prints the name" stop.out "site"
for _ in $(seq 1 50); do kill -0 "$follower" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$follower" 2>/dev/null; then fail "logs -f: still following after the instance ended"; kill "$follower"; else pass "logs -f: ends with the instance"; fi
expect_contains "logs -f: saw the app's SIGTERM" follow.out "httpd: SIGTERM, bye"
run_capture ps2.out "$A" ps
expect_contains "ps: exited with the app's status (SIGTERM -> 3)" ps2.out "exited (3)"
run_capture logs.out "$A" logs site
expect_contains "logs survive the instance" logs.out "httpd: SIGTERM, bye"
run_capture rm.out "$A" rm site
expect_eq "rm: exit 0" 0 "$status"
run_capture ps3.out "$A" ps
if grep -q site ps3.out; then fail "rm: still listed"; else pass "rm: gone from ps"; fi
run_capture logs-gone.out "$A" logs site
expect_eq "logs of a removed instance: 1" 1 "$status"

# A killed VMM shows as crashed; rm -f of a running one.
cid=$("$A" run -d --vmm qemu web.arrow --net none | tail -n 1)
pid=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["pid"])' "$ARROW_STATE_DIR/$cid/state.json")
qemu=$(pgrep -P "$pid" qemu-system || true)
[ -n "$qemu" ] && pass "the instance's VMM is a qemu child" || fail "no qemu child of $pid"
kill -KILL "$pid"
sleep 1
run_capture ps4.out "$A" ps
expect_contains "a killed VMM: exited (crashed)" ps4.out "exited (crashed)"
expect_contains "default name: image name + id" ps4.out "web-${cid:0:4}"
running() { [ -r "/proc/$1/stat" ] && ! sed 's/.*) //' "/proc/$1/stat" | grep -q '^[ZX]'; }  # zombies are dead
if [ -n "$qemu" ] && running "$qemu"; then fail "a killed arrow-run left qemu $qemu running"; kill -KILL "$qemu"; else pass "a killed arrow-run leaves no qemu behind"; fi
"$A" rm "$cid" >/dev/null
fid=$("$A" run -d --vmm qemu web.arrow --net none | tail -n 1)
run_capture rmf.out "$A" rm -f "$fid"
expect_eq "rm -f of a running instance" 0 "$status"
[ ! -e "$ARROW_STATE_DIR/$fid" ] && pass "rm -f: its state is gone" || fail "rm -f: state left"

# ready = "log:REGEX": returns only once the console has the line.
cat >logready.recipe <<'R'
name = "logready"
[app]
exec = "/bin/sh"
args = ["-c", "sleep 2; echo 'listening on 1234'; sleep 600"]
ready = "log:^listening on [0-9]+"
[files]
include = ["/usr/bin/sleep"]
R
run_capture logready.build "$ARROW_BUILD" logready.recipe -o logready.arrow --zstd-level 3
run_capture logready.out "$A" run -d --vmm qemu --name lr logready.arrow
expect_eq "ready log: exit 0" 0 "$status"
run_capture lr.log "$A" logs lr
expect_contains "ready log: the line was there when run -d returned" lr.log "listening on 1234"
"$A" rm -f lr >/dev/null

# A guest flooding its console cannot fill the disk: console.log rotates at --log-max-size into
# console.log.1, so an instance keeps at most twice that, the newest output included.
cat >flood.recipe <<'R'
name = "flood"
[app]
exec = "/bin/sh"
args = ["-c", "yes 'a line of the console flood, 0123456789' | head -c 1500000; echo; echo 'flood done'; sleep 600"]
ready = "log:^flood done"
[files]
include = ["/usr/bin/yes", "/usr/bin/head", "/usr/bin/sleep"]
R
run_capture flood.build "$ARROW_BUILD" flood.recipe -o flood.arrow --zstd-level 3
run_capture flood.out "$A" run -d --vmm qemu --name flood --log-max-size 256K --ready-timeout 300s flood.arrow --net none
expect_eq "log bound: the flooding instance came up (its last line seen through the rotation)" 0 "$status"
fdir="$ARROW_STATE_DIR/$(tail -n 1 flood.out)"
cur=$(stat -c %s "$fdir/console.log" 2>/dev/null || echo missing)
prev=$(stat -c %s "$fdir/console.log.1" 2>/dev/null || echo missing)
echo "console.log $cur bytes, console.log.1 $prev bytes after a 1.5 MB flood"
[ "$cur" != missing ] && [ "$cur" -le 262144 ] && pass "log bound: console.log within 256K" || fail "log bound: console.log is $cur"
[ "$prev" != missing ] && [ "$prev" -le 262144 ] && pass "log bound: console.log.1 within 256K" || fail "log bound: console.log.1 is $prev"
run_capture flood.log "$A" logs flood
expect_contains "log bound: logs end with the newest output" flood.log "flood done"
total=$(stat -c %s flood.log)
[ "$total" -le 524288 ] && [ "$total" -gt 262144 ] && pass "log bound: logs print both files ($total bytes)" \
  || fail "log bound: logs printed $total bytes"
"$A" rm -f flood >/dev/null
# A probe that never passes: the ready timeout stops it.
sed 's|^ready = .*|ready = "tcp:81"|' web.recipe >never.recipe
run_capture never.build "$ARROW_BUILD" never.recipe -o never.arrow --zstd-level 3
run_capture never.out "$A" run -d --vmm qemu --ready-timeout 15s --name never never.arrow --net none
expect_eq "ready never holds: 125" 125 "$status"
expect_contains "ready never holds: stopped after the timeout" never.out "was not ready after 15000 ms and was stopped"
"$A" rm never >/dev/null || true
run_capture badready.out "$ARROW_BUILD" <(printf 'name = "x"\n[app]\nexec = "/a"\nready = "udp:53"\n') -o x.arrow
expect_contains "a bad ready spec names the forms" badready.out "'ready' must be \"tcp:PORT\", \"http:PORT/PATH\" or \"log:REGEX\""

# Failures
run_capture slow.out "$A" run -d --vmm qemu --ready-timeout 300ms --name slow web.arrow --net none
expect_eq "ready timeout: 125" 125 "$status"
expect_contains "ready timeout: says so" slow.out "was not ready after 300 ms and was stopped"
run_capture ps5.out "$A" ps
grep -E " slow .*running" ps5.out >/dev/null && fail "ready timeout: still running" || pass "ready timeout: the instance was stopped"
"$A" rm slow >/dev/null || true
run_capture early.out "$A" run -d --vmm qemu -v missing.img:/data web.arrow
expect_eq "a run that fails before boot: its status" 125 "$status"
expect_contains "a run that fails before boot: the console tail" early.out "has no virtio-blk driver, so it cannot mount -v missing.img"
run_capture stop-none.out "$A" stop nosuch
expect_eq "stop of an unknown instance: 1" 1 "$status"
expect_contains "stop of an unknown instance: names it" stop-none.out "no instance named or with id 'nosuch'"
run_capture name-nod.out "$A" run --name x web.arrow
expect_eq "--name without -d: 125" 125 "$status"
summary
