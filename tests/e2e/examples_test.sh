#!/usr/bin/env bash
# The README's "package your own service" walkthrough under qemu TCG: examples/python-web and
# examples/node-web built from their recipes, run detached, answered over HTTP with curl, passing
# their own [verify]; and two arrows composed over the network — the Python app counting visits in
# the catalog's redis arrow through redis's published port, which it reaches only with
# --allow-host-loopback.
source "$(dirname "$0")/lib.sh" "$@"
cd "$TMP"
export ARROW_STATE_DIR="$TMP/state" ARROW_CATALOG_CACHE="$TMP/catalog"
A="$ARROW"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
cleanup() { for n in web node cache web-isolated; do "$A" rm -f "$n" >/dev/null 2>&1 || true; done; rm -rf "$TMP"; }
trap cleanup EXIT

for ex in python-web node-web; do
  run_capture "$ex.build" "$ARROW_BUILD" "$SOURCE_DIR/examples/$ex/app.recipe" -o "$ex.arrow" --verify
  expect_eq "$ex: arrow-build --verify" 0 "$status"
  expect_contains "$ex: its [verify] check passed" "$ex.build" "verify: PASS http"
done

# python-web alone: the page, its health check, a 404, and it runs as nobody.
p=$(free_port)
run_capture web.out "$A" run -d --vmm qemu --name web -p "127.0.0.1:$p:8000" python-web.arrow
expect_eq "python-web: run -d" 0 "$status"
expect_eq "python-web: /healthz" ok "$(curl -s --max-time 10 "http://127.0.0.1:$p/healthz")"
page=$(curl -s --max-time 10 "http://127.0.0.1:$p/")
case "$page" in '{"hello": "from Python in an arrow", "python": "3.'*) pass "python-web: curl gets its JSON";; *) fail "python-web: page was '$page'";; esac
expect_eq "python-web: unknown path is 404" 404 "$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "http://127.0.0.1:$p/nope")"
run_capture web.logs "$A" logs web
expect_contains "python-web: its log has the requests" web.logs '"GET / HTTP/1.1" 200'
if grep -q "Connection reset by peer" web.logs; then fail "python-web: the readiness probe reset a connection"; else pass "python-web: the readiness probe reads the whole response"; fi
"$A" rm -f web >/dev/null

# node-web: the page, and SIGTERM (arrow stop) ends it with status 0.
p=$(free_port)
run_capture node.out "$A" run -d --vmm qemu --name node -p "127.0.0.1:$p:3000" node-web.arrow
expect_eq "node-web: run -d" 0 "$status"
page=$(curl -s --max-time 10 "http://127.0.0.1:$p/")
case "$page" in '{"hello":"from Node.js in an arrow","node":"v'*) pass "node-web: curl gets its JSON";; *) fail "node-web: page was '$page'";; esac
"$A" stop node >/dev/null
run_capture nodeps.out "$A" ps
expect_contains "node-web: stopped cleanly" nodeps.out "exited (0)"
"$A" rm node >/dev/null

# Composition: redis from the catalog, python-web counting visits in it via 10.0.2.2:<published port>.
rp=$(free_port)
run_capture redis.out "$A" run -d --vmm qemu --name cache -p "127.0.0.1:$rp:6379" redis
expect_eq "compose: redis runs" 0 "$status"
wp=$(free_port)
run_capture web2.out "$A" run -d --vmm qemu --name web -p "127.0.0.1:$wp:8000" --allow-host-loopback \
  --env "REDIS_ADDR=10.0.2.2:$rp" python-web.arrow
expect_eq "compose: python-web runs beside it" 0 "$status"
v1=$(curl -s --max-time 10 "http://127.0.0.1:$wp/" | python3 -c 'import json,sys; print(json.load(sys.stdin)["visits"])' 2>&1)
v2=$(curl -s --max-time 10 "http://127.0.0.1:$wp/" | python3 -c 'import json,sys; print(json.load(sys.stdin)["visits"])' 2>&1)
expect_eq "compose: the first visit is counted in redis" 1 "$v1"
expect_eq "compose: the second visit too" 2 "$v2"
expect_eq "compose: redis-cli sees the app's counter" 2 "$(redis-cli -p "$rp" GET visits)"
# Without --allow-host-loopback the app cannot reach the host's loopback, so not redis either.
ip=$(free_port)
run_capture web3.out "$A" run -d --vmm qemu --name web-isolated -p "127.0.0.1:$ip:8000" --env "REDIS_ADDR=10.0.2.2:$rp" python-web.arrow
expect_eq "compose: an isolated python-web runs" 0 "$status"
curl -s --max-time 10 "http://127.0.0.1:$ip/" >isolated.page || true
expect_contains "compose: without --allow-host-loopback redis is refused" isolated.page "redis at 10.0.2.2:$rp: [Errno 111] Connection refused"
expect_eq "compose: and the counter did not move" 2 "$(redis-cli -p "$rp" GET visits)"
summary
