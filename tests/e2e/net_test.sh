#!/usr/bin/env bash
# Networking through arrow-run under qemu TCG (the built-in VMM's NIC is proven in the nested
# test): a Python arrow serves a generated multi-MB file over HTTP on a published port (bytes
# compared), echoes UDP, refuses an unserved published port quickly, stops gracefully on
# SIGTERM with its own exit status; -P publishes the declared ports; the guest reaches the
# host's loopback only with --allow-host-loopback; the passt backend serves the same file; a
# tap device in a test-made network namespace reaches the guest at 10.0.2.15; bad
# -p, a busy port, --net none and a kernel without a NIC driver are one-line errors before boot.
# Traffic goes only to 127.0.0.1 and to the guest's own user-mode network.
source "$(dirname "$0")/lib.sh"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# wait_http PORT SECONDS: polls until the guest answers (bounded).
wait_http() {
  local i
  for ((i = 0; i < $2 * 2; i++)); do
    curl --noproxy '*' -s -o /dev/null --max-time 2 "http://127.0.0.1:$1/" && return 0
    sleep 0.5
  done
  return 1
}

# start_run NAME ARGS...: arrow-run in the background; its pid in $run_pid.
start_run() {
  local name=$1; shift
  ( set +e; exec "$ARROW_RUN" "$TMP/web.arrow" --vmm qemu --timeout 240s "$@" >"$TMP/$name.out" 2>&1 </dev/null ) &
  run_pid=$!
}
# stop_run: SIGTERM to the run started last (arrow-run asks the app to stop).
stop_run() {
  kill -TERM "$run_pid" 2>/dev/null || echo "    (arrow-run had already exited)"
}
# finish_run NAME: waits for the run started last; its status in $status; shows the tail of
# its output when it failed.
finish_run() {
  set +e
  wait "$run_pid"
  status=$?
  set -e
  echo "    ($1: arrow-run exited $status)"
  [ "$status" -eq 0 ] || [ "$status" -eq 3 ] || sed 's/^/    | /' "$TMP/$1.out" | tail -n 15
}

cat >"$TMP/server.py" <<'PY'
import http.server, os, signal, socket, socketserver, sys, threading

mode = sys.argv[1]
if mode == "probe":  # one TCP connection to the host's loopback through the gateway
    s = socket.socket()
    s.settimeout(10)
    try:
        s.connect(("10.0.2.2", int(sys.argv[2])))
        print("probe: connected:", s.recv(100).decode().strip(), flush=True)
    except OSError as e:
        print("probe: failed:", e.__class__.__name__, flush=True)
    sys.exit(0)

def on_term(sig, frame):
    print("server: graceful stop on SIGTERM", flush=True)
    os._exit(3)
signal.signal(signal.SIGTERM, on_term)

def udp_echo():
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("0.0.0.0", 53))
    while True:
        data, peer = u.recvfrom(2048)
        u.sendto(b"echo:" + data, peer)
threading.Thread(target=udp_echo, daemon=True).start()

with open("/etc/resolv.conf") as f:
    print("server: resolv.conf:", f.read().strip(), flush=True)
print("server: hostname", socket.gethostname(), flush=True)
handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(*a, directory="/srv", **k)
socketserver.TCPServer.allow_reuse_address = True
with socketserver.ThreadingTCPServer(("0.0.0.0", 80), handler) as httpd:
    print("server: listening on 80", flush=True)
    httpd.serve_forever()
PY
head -c 6000000 /dev/urandom >"$TMP/big.bin"
echo "hello from the arrow" >"$TMP/index.html"
cat >"$TMP/web.recipe" <<'R'
name = "web"
[app]
exec = "/usr/bin/python3"
args = ["/app/server.py", "serve"]
ports = [80, "53/udp"]
[files]
include = ["/usr/lib/python3.11"]
exclude = ["/usr/lib/python3.11/test", "/usr/lib/python3.11/test/*", "*/tests", "*/tests/*",
           "/usr/lib/python3.11/idlelib*", "/usr/lib/python3.11/tkinter*", "/usr/lib/python3.11/turtledemo*",
           "/usr/lib/python3.11/ensurepip*", "/usr/lib/python3.11/lib2to3*", "/usr/lib/python3.11/config-3.11-x86_64-linux-gnu*"]
map = { "/app/server.py" = "server.py", "/srv/big.bin" = "big.bin", "/srv/index.html" = "index.html" }
[vm]
memory = "256M"
R
run_capture "$TMP/web.build" "$ARROW_BUILD" "$TMP/web.recipe" -o "$TMP/web.arrow" --zstd-level 3
expect_eq "web: build" 0 "$status"
[ "$status" -eq 0 ] || sed 's/^/    | /' "$TMP/web.build" | tail -n 20
run_capture "$TMP/web.inspect" "$ARROW" inspect "$TMP/web.arrow"
expect_contains "inspect: declared ports" "$TMP/web.inspect" "ports      80/tcp 53/udp"
expect_contains "inspect: ports gave the kernel its NIC driver" "$TMP/web.inspect" "network    virtio-net"
expect_contains "inspect: net fragment added" "$TMP/web.inspect" "microvm+net"

# --- 1. -p: HTTP download, UDP echo, an unserved port, graceful SIGTERM ---
P_HTTP=$(free_port); P_UDP=$(free_port); P_NONE=$(free_port)
start_run run1 -p "127.0.0.1:$P_HTTP:80" -p "127.0.0.1:$P_UDP:53/udp" -p "127.0.0.1:$P_NONE:81" --stop-timeout 20s
if wait_http "$P_HTTP" 180; then pass "run1: the guest serves on the published port"; else fail "run1: no answer on $P_HTTP"; fi
curl --noproxy '*' -s --max-time 60 -o "$TMP/got.bin" "http://127.0.0.1:$P_HTTP/big.bin" || true
if cmp -s "$TMP/big.bin" "$TMP/got.bin"; then pass "run1: 6 MB file downloaded intact"; else fail "run1: downloaded file differs ($(stat -c %s "$TMP/got.bin" 2>/dev/null) bytes)"; fi
udp=$(python3 - "$P_UDP" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
for _ in range(5):
    s.sendto(b"ping-udp", ("127.0.0.1", int(sys.argv[1])))
    try:
        print(s.recvfrom(100)[0].decode()); break
    except socket.timeout:
        pass
PY
)
expect_eq "run1: UDP echo through -p .../udp" "echo:ping-udp" "$udp"
set +e
t0=$(date +%s%N)
curl --noproxy '*' -s --max-time 20 -o /dev/null "http://127.0.0.1:$P_NONE/"
rc=$?
t1=$(date +%s%N)
set -e
if [ "$rc" -ne 0 ] && [ "$rc" -ne 28 ]; then pass "run1: unserved guest port fails (curl $rc), no hang"; else fail "run1: unserved guest port: curl exit $rc"; fi
echo "    (refusal took $(( (t1 - t0) / 1000000 )) ms)"
stop_run
finish_run run1
expect_eq "run1: SIGTERM -> app's own exit status" 3 "$status"
expect_contains "run1: the app got SIGTERM" "$TMP/run1.out" "server: graceful stop on SIGTERM"
expect_contains "run1: resolv.conf from arrow-init" "$TMP/run1.out" "server: resolv.conf: nameserver 10.0.2.3"
expect_contains "run1: hostname is the recipe name" "$TMP/run1.out" "server: hostname web"

# --- 2. -P publishes the declared ports on free host ports and says which ---
start_run run2 -P
p80=""
for ((i = 0; i < 60; i++)); do
  p80=$(sed -n 's/^arrow-run: publishing 0\.0\.0\.0:\([0-9]*\)->80\/tcp$/\1/p' "$TMP/run2.out")
  [ -n "$p80" ] && break
  sleep 0.5
done
expect_contains "run2: -P prints the UDP mapping" "$TMP/run2.out" "->53/udp"
if [ -n "$p80" ] && wait_http "$p80" 180; then
  got=$(curl --noproxy '*' -s --max-time 20 "http://127.0.0.1:$p80/index.html")
  expect_eq "run2: -P mapping serves the page" "hello from the arrow" "$got"
else
  fail "run2: no -P mapping for 80/tcp answered ('$p80')"; sed 's/^/    | /' "$TMP/run2.out" | tail -n 20
fi
stop_run
finish_run run2
expect_eq "run2: stopped gracefully" 3 "$status"

# --- 3. the host's loopback: closed by default, open with --allow-host-loopback ---
P_HOST=$(free_port)
python3 - "$P_HOST" >"$TMP/listener.log" 2>&1 <<'PY' &
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(4)
s.settimeout(600)
while True:
    c, _ = s.accept()
    c.sendall(b"pong\n")
    c.close()
PY
listener=$!
start_run run3 -- /app/server.py probe "$P_HOST"
finish_run run3
expect_eq "run3: probe exit" 0 "$status"
expect_contains "run3: host loopback unreachable by default" "$TMP/run3.out" "probe: failed:"
start_run run4 --allow-host-loopback -- /app/server.py probe "$P_HOST"
finish_run run4
expect_contains "run4: --allow-host-loopback reaches the host's 127.0.0.1" "$TMP/run4.out" "probe: connected: pong"
kill "$listener" 2>/dev/null || true

# --- 4. passt backend ---
if command -v passt >/dev/null; then
  P_PASST=$(free_port)
  start_run run5 --net passt -p "127.0.0.1:$P_PASST:80"
  if wait_http "$P_PASST" 180; then
    curl --noproxy '*' -s --max-time 60 -o "$TMP/got5.bin" "http://127.0.0.1:$P_PASST/big.bin" || true
    if cmp -s "$TMP/big.bin" "$TMP/got5.bin"; then pass "run5: passt backend serves the file intact"; else fail "run5: passt download differs"; fi
  else
    fail "run5: passt: no answer"; sed 's/^/    | /' "$TMP/run5.out" | tail -n 20
  fi
  stop_run
  finish_run run5
  expect_eq "run5: passt run stopped gracefully" 3 "$status"
else
  fail "passt is not installed (scripts/install-deps.sh installs it)"
fi

# --- 5. a tap device, in a network namespace made for this test (traffic stays inside it) ---
NS=arrowtest$$
if ip netns add "$NS" 2>/dev/null; then
  ip netns exec "$NS" ip link set lo up
  ip netns exec "$NS" ip tuntap add arrowtap0 mode tap
  ip netns exec "$NS" ip addr add 10.0.2.2/24 dev arrowtap0
  ip netns exec "$NS" ip link set arrowtap0 up
  ( set +e; exec ip netns exec "$NS" "$ARROW_RUN" "$TMP/web.arrow" --vmm qemu --net tap:arrowtap0 --timeout 240s >"$TMP/run6.out" 2>&1 </dev/null ) &
  run_pid=$!
  got=""
  for ((i = 0; i < 360; i++)); do
    got=$(ip netns exec "$NS" curl --noproxy '*' -s --max-time 2 http://10.0.2.15/index.html || true)
    [ -n "$got" ] && break
    sleep 0.5
  done
  expect_eq "run6: --net tap: the host reaches the guest at 10.0.2.15" "hello from the arrow" "$got"
  stop_run
  finish_run run6
  expect_eq "run6: tap run stopped gracefully" 3 "$status"
  ip netns del "$NS"
else
  fail "cannot create a network namespace for the tap test (needs root)"
fi
run_capture "$TMP/e6.out" "$ARROW_RUN" "$TMP/web.arrow" --vmm qemu --net tap:arrowtap0 -p 8080:80
expect_contains "tap with -p: message" "$TMP/e6.out" "ports are not published on a tap device"
run_capture "$TMP/e7.out" "$ARROW_RUN" "$TMP/web.arrow" --vmm qemu --net tap:this-name-is-far-too-long
expect_contains "tap name too long: message" "$TMP/e7.out" "a device name of 1 to 15 characters is expected"

# --- 6. errors before boot ---
python3 -c 'import socket,sys,time; s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(1); print(s.getsockname()[1], flush=True); time.sleep(60)' >"$TMP/busy.port" &
busy=$!
for ((i = 0; i < 50; i++)); do [ -s "$TMP/busy.port" ] && break; sleep 0.1; done
P_BUSY=$(cat "$TMP/busy.port")
run_capture "$TMP/e1.out" "$ARROW_RUN" "$TMP/web.arrow" --vmm qemu -p "127.0.0.1:$P_BUSY:80"
expect_eq "busy port: exit 125" 125 "$status"
expect_contains "busy port: message" "$TMP/e1.out" "-p 127.0.0.1:$P_BUSY->80/tcp: cannot listen on 127.0.0.1:$P_BUSY/tcp: the port is already in use"
run_capture "$TMP/e1p.out" "$ARROW_RUN" "$TMP/web.arrow" --vmm qemu --net passt -p "127.0.0.1:$P_BUSY:80"
expect_contains "busy port (passt): message" "$TMP/e1p.out" "the port is already in use"
kill "$busy" 2>/dev/null || true
run_capture "$TMP/e2.out" "$ARROW_RUN" "$TMP/web.arrow" --vmm qemu -p 80:http
expect_eq "malformed -p: exit 125" 125 "$status"
expect_contains "malformed -p: message" "$TMP/e2.out" "-p '80:http': guest port 'http' is not a number in 1..65535"
run_capture "$TMP/e3.out" "$ARROW_RUN" "$TMP/web.arrow" --vmm qemu --net none -p 8080:80
expect_contains "--net none with -p: message" "$TMP/e3.out" "--net none has no network to publish ports on"
for f in e1 e2 e3; do
  if grep -q "Linux version" "$TMP/$f.out"; then fail "$f: booted before failing"; else pass "$f: failed before boot"; fi
done
cp "$BUILD_DIR/examples/hello/hello" "$TMP/hello"
cat >"$TMP/hello.recipe" <<'R'
name = "hello"
[app]
exec = "/usr/bin/hello"
[files]
map = { "/usr/bin/hello" = "hello" }
R
run_capture "$TMP/hello.build" "$ARROW_BUILD" "$TMP/hello.recipe" -o "$TMP/hello.arrow"
run_capture "$TMP/e4.out" "$ARROW_RUN" "$TMP/hello.arrow" --vmm qemu -p 8080:80
expect_eq "no NIC driver: exit 125" 125 "$status"
expect_contains "no NIC driver: says how to rebuild" "$TMP/e4.out" "this arrow's kernel has no network driver"
run_capture "$TMP/e5.out" "$ARROW_RUN" "$TMP/web.arrow" --vmm qemu --net none --timeout 120s -- /app/server.py probe 1
expect_contains "--net none: no route out" "$TMP/e5.out" "probe: failed:"
if grep -q "eth0" "$TMP/e5.out"; then fail "--net none: eth0 mentioned"; sed 's/^/    | /' "$TMP/e5.out" | grep eth0; else pass "--net none: no NIC, no eth0 message"; fi
summary
