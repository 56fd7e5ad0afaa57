#!/usr/bin/env bash
# init_boot_test.sh — boots arrow-init as /init of hand-made initramfs images.
#
# End-to-end proof of the guest contract (docs/architecture.md, "Guest
# contract") without any other Arrow component: each case packs /init
# (arrow-init), the /.arrow/
# config files and a tiny static test app (compiled here from a heredoc) with
# cpio + zstd, boots it under qemu TCG with Debian's kernel and isa-debug-exit
# on port 0xf4, and checks the app's output and qemu's exit code, which is
# (status << 1) | 1. Images boot two at a time to keep the run short.
# The net case uses qemu's user network, where 10.0.2.2 is the host's
# loopback: the guest's only traffic is one TCP connection from the test app
# to a listener on the host's 127.0.0.1 (restrict=on would enforce that, but
# slirp refuses a guestfwd on 10.0.2.2). The control-channel case puts the
# second serial port on a unix socket where a python3 script plays the runner.
#
# Usage: tests/e2e/init_boot_test.sh [path/to/arrow-init]
#   default: build*/init/out/arrow-init under the repo.
#   Env: KERNEL (default /vmlinuz); KEEP_TMP=1 keeps images and serial logs.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
init_bin=${1:-}
if [[ -z $init_bin ]]; then
  init_bin=$(ls -t "$repo"/build*/init/out/arrow-init 2>/dev/null | head -1 || true)
fi
[[ -n $init_bin && -x $init_bin ]] || { echo "arrow-init not found; pass its path as \$1" >&2; exit 2; }
kernel=${KERNEL:-/vmlinuz}
for tool in qemu-system-x86_64 cpio zstd gcc python3 od; do
  command -v "$tool" >/dev/null || { echo "missing tool: $tool" >&2; exit 2; }
done

tmp=$(mktemp -d)
if [[ -n ${KEEP_TMP:-} ]]; then echo "keeping $tmp"; else trap 'rm -rf "$tmp"' EXIT; fi
passed=0 failed=0
ok()   { echo "PASS: $1"; passed=$((passed + 1)); }
fail() { echo "FAIL: $1"; failed=$((failed + 1)); }

# The test app: reports what it was given, then behaves as argv[1] says.
cat >"$tmp/testapp.c" <<'EOF'
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>
extern char **environ;
static void on_usr1(int s) { (void)s; printf("testapp: got SIGUSR1\n"); _exit(6); }
static volatile sig_atomic_t got_term;
static void on_term(int s) { (void)s; got_term = 1; }
static void show_file(const char *label, const char *path) { /* one output line per line */
  char line[256];
  FILE *f = fopen(path, "r");
  if (!f) { printf("testapp: %s: %s\n", label, strerror(errno)); return; }
  while (fgets(line, sizeof line, f)) { line[strcspn(line, "\n")] = 0; printf("testapp: %s <%s>\n", label, line); }
  fclose(f);
}
static void show_net(const char *port) { /* what init configured; then one TCP exchange */
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  struct ifreq ifr = {0};
  strcpy(ifr.ifr_name, "eth0");
  if (ioctl(s, SIOCGIFADDR, &ifr)) printf("testapp: eth0 address: %s\n", strerror(errno));
  else printf("testapp: eth0 address %s\n", inet_ntoa(((struct sockaddr_in *)&ifr.ifr_addr)->sin_addr));
  if (!ioctl(s, SIOCGIFNETMASK, &ifr))
    printf("testapp: eth0 netmask %s\n", inet_ntoa(((struct sockaddr_in *)&ifr.ifr_netmask)->sin_addr));
  close(s);
  char host[128] = "?", line[256], dev[32], dst[32], gw[32];
  gethostname(host, sizeof host);
  printf("testapp: hostname <%s>\n", host);
  show_file("/etc/hostname", "/etc/hostname");
  show_file("/etc/resolv.conf", "/etc/resolv.conf");
  show_file("/etc/hosts", "/etc/hosts");
  FILE *f = fopen("/proc/net/route", "r"); /* hex, network byte order: 10.0.2.2 = 0202000A */
  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "%31s %31s %31s", dev, dst, gw) == 3 && !strcmp(dst, "00000000"))
      printf("testapp: default route via %s dev %s\n", gw, dev);
  if (f) fclose(f);
  if (!port) return;
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(atoi(port))};
  struct timeval tv = {.tv_sec = 20};
  char buf[64] = "";
  inet_pton(AF_INET, "10.0.2.2", &a.sin_addr);
  s = socket(AF_INET, SOCK_STREAM, 0);
  setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv); /* bounds connect() too */
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (connect(s, (void *)&a, sizeof a) || write(s, "ping\n", 5) != 5) {
    printf("testapp: tcp to 10.0.2.2:%s failed: %s\n", port, strerror(errno));
  } else {
    ssize_t n, got = 0;
    while (got < (ssize_t)sizeof buf - 1 && (n = read(s, buf + got, sizeof buf - 1 - got)) > 0) got += n;
    buf[got] = 0;
    buf[strcspn(buf, "\n")] = 0;
    printf("testapp: tcp read <%s>\n", buf);
  }
  close(s);
}
static void show_fds(void) { /* init's own fds (signalfd, control channel) must not leak in */
  char list[256] = "";
  DIR *d = opendir("/proc/self/fd");
  for (struct dirent *e; d && (e = readdir(d));)
    if (e->d_name[0] != '.' && atoi(e->d_name) > 2 && atoi(e->d_name) != dirfd(d))
      snprintf(list + strlen(list), sizeof list - strlen(list), " %s", e->d_name);
  if (d) closedir(d);
  printf("testapp: fds beyond stdio:%s\n", *list ? list : " none");
}
static int loopback_ok(void) { /* UDP to ourselves over 127.0.0.1 */
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t l = sizeof a;
  char buf[8] = {0};
  int ok = s >= 0 && !bind(s, (void *)&a, sizeof a) && !getsockname(s, (void *)&a, &l) &&
           sendto(s, "ping", 4, 0, (void *)&a, sizeof a) == 4 && recv(s, buf, sizeof buf, 0) == 4 &&
           !memcmp(buf, "ping", 4);
  if (s >= 0) close(s);
  return ok;
}
int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  char cwd[256] = "?";
  printf("testapp: hello from the app\n");
  for (int i = 0; i < argc; i++) printf("testapp: argv[%d]=<%s>\n", i, argv[i]);
  for (char **e = environ; *e; e++) printf("testapp: env <%s>\n", *e);
  printf("testapp: cwd=<%s>\n", getcwd(cwd, sizeof cwd) ? cwd : "?");
  const char *mnt[] = {"/proc/self", "/sys/class", "/dev/null", "/dev/pts/ptmx"};
  for (int i = 0; i < 4; i++) printf("testapp: %s %s\n", mnt[i], access(mnt[i], F_OK) ? "missing" : "present");
  printf("testapp: loopback %s\n", loopback_ok() ? "ok" : "broken");
  show_fds();
  const char *mode = argc > 1 ? argv[1] : "0";
  if (!strcmp(mode, "net")) { show_net(argc > 2 ? argv[2] : NULL); return 0; }
  if (!strcmp(mode, "waitterm")) { /* the control channel's "stop" must arrive as SIGTERM */
    signal(SIGTERM, on_term);
    printf("testapp: waiting for SIGTERM\n");
    for (int i = 0; i < 600 && !got_term; i++) usleep(100000);
    printf(got_term ? "testapp: got SIGTERM\n" : "testapp: no SIGTERM arrived\n");
    return got_term ? 0 : 97;
  }
  if (!strcmp(mode, "signal")) { /* PID 1 must forward this back to us */
    signal(SIGUSR1, on_usr1);
    kill(1, SIGUSR1);
    sleep(20);
    printf("testapp: no signal arrived\n");
    return 99;
  }
  if (!strcmp(mode, "sigterm")) { kill(getpid(), SIGTERM); sleep(20); return 98; }
  if (!strcmp(mode, "orphan")) { /* orphans: g1 exits soon, g2 outlives the app */
    int p[2]; pid_t g1 = 0;
    if (pipe(p)) return 98;
    pid_t c = fork();
    if (c == 0) {
      pid_t g = fork();
      if (g == 0) { usleep(300000); _exit(0); }
      if (fork() == 0) { setsid(); sleep(1000); _exit(0); } /* a daemon: init must kill it */
      write(p[1], &g, sizeof g);
      _exit(0);
    }
    read(p[0], &g1, sizeof g1);
    waitpid(c, NULL, 0);
    sleep(2);
    char path[64], st[256] = "";
    snprintf(path, sizeof path, "/proc/%d/stat", (int)g1);
    FILE *f = fopen(path, "r");
    if (f) { fgets(st, sizeof st, f); fclose(f); }
    printf("testapp: orphan %s\n", f ? (strstr(st, ") Z ") ? "zombie" : "alive") : "reaped");
    return 5;
  }
  return atoi(mode);
}
EOF
gcc -static -O2 -o "$tmp/testapp" "$tmp/testapp.c"

# new_image NAME: a staging root with /init and the app; fill /.arrow/ after.
new_image() {
  local r="$tmp/$1/root"
  mkdir -p "$r/.arrow" "$r/bin" "$r/dev"
  install -m 755 "$init_bin" "$r/init"
  install -m 755 "$tmp/testapp" "$r/bin/testapp"
  mknod "$r/dev/console" c 5 1
  echo "$r"
}
nul_list() { printf '%s\0' "$@"; }  # the /.arrow/{argv,env,modules} format
pack() { (cd "$tmp/$1/root" && find . | cpio -o -H newc -R 0:0 --quiet | zstd -19 -q -o "$tmp/$1.img"); }

# The kernel's own modules: its version string is at 0x200 + the 16-bit pointer
# at 0x20e of a bzImage (this host's uname -r may name another kernel).
kver=$(dd if="$kernel" bs=1 skip=$(( $(od -An -tu2 -j526 -N2 "$kernel") + 512 )) count=64 2>/dev/null \
  | tr '\0' ' ' | cut -d' ' -f1)
moddir=/lib/modules/$kver
# add_net_modules ROOT: virtio-net and what it needs, in load order, decompressed
# (finit_module without flags takes plain .ko). One missing from modules.dep is
# built in or, for the pci helpers, absent in that kernel version; a kernel
# really lacking the driver fails the net case with init's eth0 message.
add_net_modules() {
  local r=$1 m f list=()
  [[ -f $moddir/modules.dep ]] || { echo "note: no $moddir/modules.dep; packing no modules" >&2; return 0; }
  mkdir -p "$r/lib/modules"
  for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci failover net_failover virtio_net; do
    f=$(awk -F: -v m="$m" '{ n = $1; sub(/.*\//, "", n); sub(/\.ko.*/, "", n) } n == m { print $1; exit }' \
      "$moddir/modules.dep")
    [[ -n $f ]] || continue
    case $f in
      *.ko.xz) xz -dc "$moddir/$f" >"$r/lib/modules/$m.ko" ;;
      *.ko.zst) zstd -dcq "$moddir/$f" >"$r/lib/modules/$m.ko" ;;
      *) cp "$moddir/$f" "$r/lib/modules/$m.ko" ;;
    esac
    list+=("/lib/modules/$m.ko")
  done
  (( ${#list[@]} == 0 )) || nul_list "${list[@]}" >"$r/.arrow/modules"
}

# boot NAME [kernel args [qemu args...]]: output in NAME.out, qemu's exit code in NAME.rc.
boot() {
  local t0 rc=0
  t0=$(date +%s.%N)
  timeout 120 qemu-system-x86_64 -accel tcg -M pc -m 256 -nographic -no-reboot -net none \
    -kernel "$kernel" -initrd "$tmp/$1.img" -append "console=ttyS0 quiet panic=-1 ${2:-}" \
    -device isa-debug-exit,iobase=0xf4,iosize=0x04 "${@:3}" </dev/null >"$tmp/$1.raw" 2>&1 || rc=$?
  tr -d '\r' <"$tmp/$1.raw" >"$tmp/$1.out"
  echo "$rc" >"$tmp/$1.rc"
  awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f\n", b - a }' >"$tmp/$1.time"
}

# --- the cases ---
r=$(new_image basic)            # argv/env/workdir as configured, exit 0, debug on
mkdir -p "$r/srv/work"
nul_list /bin/testapp 0 "two words" "" >"$r/.arrow/argv"
nul_list PATH=/bin "GREETING=hello world" EMPTY= >"$r/.arrow/env"
printf /srv/work >"$r/.arrow/workdir"
pack basic

r=$(new_image exit3)            # PATH lookup, no workdir, no /dev/console, a bad module
rm "$r/dev/console"
nul_list testapp 3 >"$r/.arrow/argv"
nul_list PATH=/usr/bin:/bin >"$r/.arrow/env"
nul_list /lib/modules/nope.ko >"$r/.arrow/modules"
pack exit3

r=$(new_image missing)          # entrypoint does not exist -> 127
nul_list /bin/nope >"$r/.arrow/argv"; : >"$r/.arrow/env"
pack missing

r=$(new_image noexec)           # entrypoint not executable -> 126
echo "just data" >"$r/bin/data.txt"; chmod 644 "$r/bin/data.txt"
nul_list /bin/data.txt >"$r/.arrow/argv"; : >"$r/.arrow/env"
pack noexec

r=$(new_image orphan)           # orphans are reaped; a leftover is killed; status is the app's
nul_list /bin/testapp orphan >"$r/.arrow/argv"; : >"$r/.arrow/env"
pack orphan

r=$(new_image signal)           # a signal sent to PID 1 reaches the app
nul_list /bin/testapp signal >"$r/.arrow/argv"; : >"$r/.arrow/env"
pack signal

r=$(new_image killed)           # app killed by SIGTERM -> status 128+15 = 143
nul_list /bin/testapp sigterm >"$r/.arrow/argv"; : >"$r/.arrow/env"
pack killed

# net: eth0, route, hostname, DNS from arrow.*; one TCP exchange with the host.
# The listener (one connection, bounded waits) records what the guest sent; it
# starts right before its boot, which gets its port into /.arrow/argv.
cat >"$tmp/listener.py" <<'PY'
import os, socket, sys
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(1)
srv.settimeout(120)
with open(sys.argv[1] + ".tmp", "w") as f: f.write(str(srv.getsockname()[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
conn, _ = srv.accept()
conn.settimeout(30)
data = b""
while b"\n" not in data and len(data) < 64:
    d = conn.recv(64)
    if not d: break
    data += d
open(sys.argv[2], "wb").write(data)
conn.sendall(b"pong\n")
conn.close()
PY
r=$(new_image net)
add_net_modules "$r"
mkdir -p "$r/etc"                # stale files the runner's values must replace
ln -s ../run/systemd/resolve/stub-resolv.conf "$r/etc/resolv.conf"
printf '1.2.3.4\tstale\n' >"$r/etc/hosts"
: >"$r/.arrow/env"

r=$(new_image nonic)            # arrow.ip, but no driver, no NIC, no /etc, no second serial port
nul_list /bin/testapp net >"$r/.arrow/argv"; : >"$r/.arrow/env"
pack nonic

r=$(new_image nodev)            # the driver is loaded, but the VM has no NIC
add_net_modules "$r"
nul_list /bin/testapp 0 >"$r/.arrow/argv"; : >"$r/.arrow/env"
pack nodev

# ctl: the runner's side of the control channel (a unix socket qemu serves as
# ttyS1): wait for arrow:init and for the app to be ready (its line on the
# console log), send garbage then stop, record all it gets until qemu exits.
cat >"$tmp/ctl_host.py" <<'PY'
import socket, sys, time
deadline = time.monotonic() + 110
s = socket.socket(socket.AF_UNIX)
while True:
    try:
        s.connect(sys.argv[1]); break
    except OSError:
        if time.monotonic() > deadline: sys.exit("ctl_host: cannot connect to " + sys.argv[1])
        time.sleep(0.05)
got = b""
def read_until(token):  # None: until EOF (qemu exited)
    global got
    while token is None or token not in got:
        s.settimeout(max(0.1, deadline - time.monotonic()))
        try: d = s.recv(4096)
        except OSError: return False
        if not d: return False
        got += d
    return True
def app_ready():  # "stop" before the app's handler is set would just kill it (status 143)
    while time.monotonic() < deadline:
        try:
            if b"testapp: waiting for SIGTERM" in open(sys.argv[3], "rb").read(): return True
        except OSError: pass
        time.sleep(0.1)
    return False
if read_until(b"arrow:init\n") and app_ready():
    # An unknown line, an empty one, overlong ones ending in "stop" (each must be dropped whole:
    # lengths around likely buffer sizes, so a reader that restarts mid-line sees a bare "stop"), stop.
    s.sendall(b"hello\r\n\n" + b"".join(b"x" * n + b"stop\n" for n in (64, 65, 127, 128, 129, 255, 256, 257, 1000))
              + b"stop\n")
    read_until(None)
open(sys.argv[2], "wb").write(got)
PY
r=$(new_image ctl)
nul_list /bin/testapp waitterm >"$r/.arrow/argv"; : >"$r/.arrow/env"
pack ctl

start=$(date +%s)
boot basic arrow.debug=1 &
boot exit3 "arrow.ip=10.0.2.15/33 arrow.gw=10.0.2.256 arrow.dns=1.2.3 arrow.hostname=bad/name arrow.ctl=../ttyS1" &
wait
boot missing & boot noexec & wait
boot orphan arrow.debug=1 & boot signal & wait
boot killed & boot nodev "arrow.ip=10.0.2.15/24" & wait
# The wait also waits for ctl_host, which ends when qemu closes the socket (or at its deadline).
python3 "$tmp/ctl_host.py" "$tmp/ctl.sock" "$tmp/ctl.host" "$tmp/ctl.raw" &
boot ctl "arrow.ctl=ttyS1 arrow.debug=1" \
  -chardev "socket,id=ctl,path=$tmp/ctl.sock,server=on,wait=off" -serial mon:stdio -serial chardev:ctl &
boot nonic "arrow.ip=10.0.2.15/24 arrow.gw=10.0.2.2 arrow.dns=10.0.2.3 arrow.hostname=solo arrow.ctl=ttyS1" &
wait
python3 "$tmp/listener.py" "$tmp/port" "$tmp/listener.got" & listener=$!
for _ in $(seq 100); do [[ -s $tmp/port ]] && break; sleep 0.1; done
port=$(cat "$tmp/port" 2>/dev/null || echo 0)
nul_list /bin/testapp net "$port" >"$tmp/net/root/.arrow/argv"
pack net
boot net "arrow.ip=10.0.2.15/24 arrow.gw=10.0.2.2 arrow.dns=10.0.2.3 arrow.hostname=testhost" \
  -netdev user,id=n0,ipv6=off -device virtio-net-pci,netdev=n0,romfile=  # no iPXE ROM: nothing but the app talks
kill "$listener" 2>/dev/null || true  # still running only if the guest never connected
wait "$listener" 2>/dev/null || true
cases=(basic exit3 missing noexec orphan signal killed ctl net nonic nodev)
echo "boots took $(( $(date +%s) - start )) s (2 in parallel); per boot:" \
  "$(for c in "${cases[@]}"; do printf '%s=%ss ' $c "$(cat "$tmp/$c.time")"; done)"

# expect NAME QEMU_RC LINE... : qemu's exit code and exact output lines
# (awk -v turns a \t in LINE into a tab).
expect() {
  local name=$1 want=$2 got line bad=""
  shift 2
  got=$(cat "$tmp/$name.rc")
  [[ $got == "$want" ]] || bad="qemu exit $got, want $want"
  for line in "$@"; do
    # A line may end one that BIOS output started (quiet kernel): match line ends.
    awk -v s="$line" 'substr($0, length($0) - length(s) + 1) == s { f = 1 } END { exit !f }' \
      "$tmp/$name.out" || bad="${bad:+$bad; }missing line <$line>"
  done
  if [[ -z $bad ]]; then ok "$name"; else fail "$name: $bad"; sed 's/^/    | /' "$tmp/$name.out" | tail -40; fi
}

expect basic 1 "testapp: hello from the app" "testapp: argv[0]=</bin/testapp>" \
  "testapp: argv[1]=<0>" "testapp: argv[2]=<two words>" "testapp: argv[3]=<>" \
  "testapp: env <PATH=/bin>" "testapp: env <GREETING=hello world>" "testapp: env <EMPTY=>" \
  "testapp: cwd=</srv/work>" "testapp: /proc/self present" "testapp: /sys/class present" \
  "testapp: /dev/null present" "testapp: /dev/pts/ptmx present" "testapp: loopback ok" \
  "testapp: fds beyond stdio: none" "arrow-init: bringing up lo" "arrow-init: running /bin/testapp" "arrow-init: app exited, status 0"
if [[ $(grep -c '^testapp: env' "$tmp/basic.out") == 3 ]]; then ok "basic: env is exactly /.arrow/env"
else fail "basic: env is not exactly /.arrow/env"; fi
if ! grep -q eth0 "$tmp/basic.out"; then ok "basic: no arrow.ip, no eth0 setup"
else fail "basic: eth0 mentioned without arrow.ip"; fi
expect exit3 7 "testapp: argv[0]=<testapp>" "testapp: cwd=</>" "testapp: loopback ok" \
  "arrow-init: module /lib/modules/nope.ko: ENOENT (No such file or directory)" \
  "arrow-init: arrow.ip=10.0.2.15/33: not an IPv4 address/prefix such as 10.0.2.15/24; eth0 not configured" \
  "arrow-init: arrow.gw=10.0.2.256: not an IPv4 address such as 10.0.2.2; ignored" \
  "arrow-init: arrow.dns=1.2.3: not an IPv4 address such as 10.0.2.2; ignored" \
  "arrow-init: arrow.hostname=bad/name: want 1-64 letters, digits, '-', '.' or '_'; ignored" \
  "arrow-init: arrow.ctl=../ttyS1: want a device name in /dev such as ttyS1; no control channel"
expect missing 255 "arrow-init: cannot run /bin/nope: No such file or directory"
expect noexec 253 "arrow-init: cannot run /bin/data.txt: Permission denied"
# g2 sleeps 1000 s: if init waited for it, timeout would end qemu (exit 124).
expect orphan 11 "testapp: orphan reaped" "arrow-init: terminating leftover processes" \
  "arrow-init: app exited, status 5"
expect signal 13 "testapp: got SIGUSR1"
expect killed $(( (143 << 1 | 1) & 255 )) "testapp: hello from the app"

expect net 1 "testapp: eth0 address 10.0.2.15" "testapp: eth0 netmask 255.255.255.0" \
  "testapp: hostname <testhost>" "testapp: /etc/hostname <testhost>" \
  "testapp: /etc/resolv.conf <nameserver 10.0.2.3>" "testapp: /etc/hosts <127.0.0.1\tlocalhost>" \
  "testapp: /etc/hosts <::1\tlocalhost ip6-localhost ip6-loopback>" "testapp: /etc/hosts <10.0.2.15\ttesthost>" \
  "testapp: default route via 0202000A dev eth0" "testapp: tcp read <pong>"
if [[ $(grep -c '^testapp: /etc/\(hosts\|resolv.conf\) <' "$tmp/net.out") == 4 ]]; then ok "net: the image's stale /etc files replaced"
else fail "net: /etc/hosts + /etc/resolv.conf are not exactly the runner's 4 lines"; fi
if [[ $(cat "$tmp/listener.got" 2>/dev/null) == ping ]]; then ok "net: the host's listener got the guest's ping"
else fail "net: the host's listener got <$(cat "$tmp/listener.got" 2>/dev/null)>, want <ping>"; fi
expect nonic 1 "testapp: hello from the app" \
  "arrow-init: eth0 not found: this kernel has no virtio-net driver (build the arrow with [kernel] features = [\"net\"])" \
  "arrow-init: raw mode for control channel /dev/ttyS1: EIO (Input/output error)" \
  "testapp: eth0 address: No such device" "testapp: hostname <solo>" "testapp: /etc/hosts <127.0.1.1\tsolo>" \
  "testapp: /etc/resolv.conf <nameserver 10.0.2.3>"
if [[ $(grep -c 'arrow-init: .*eth0' "$tmp/nonic.out") == 1 ]]; then ok "nonic: exactly one eth0 line"
else fail "nonic: $(grep -c 'arrow-init: .*eth0' "$tmp/nonic.out") eth0 lines from init, want 1"; fi
expect nodev 1 "testapp: hello from the app" \
  "arrow-init: eth0 not found: the VM has no network device (the virtio-net driver is loaded)"

expect ctl 1 "testapp: waiting for SIGTERM" "testapp: got SIGTERM" "testapp: fds beyond stdio: none" \
  "arrow-init: control: ignoring hello" "arrow-init: control: discarded an overlong line"
# Exactly what init sent: in raw mode nothing the host wrote is echoed back.
if [[ $(cat "$tmp/ctl.host" 2>/dev/null) == $'arrow:init\narrow:exit 0' ]]; then ok "ctl: the host got arrow:init, arrow:exit 0, nothing else"
else fail "ctl: the host got <$(cat -A "$tmp/ctl.host" 2>/dev/null | tr '\n' ' ')>, want <arrow:init\\narrow:exit 0\\n>"; fi
if [[ $(grep -c 'arrow-init: control: stop' "$tmp/ctl.out") == 1 ]]; then ok "ctl: exactly one stop acted on"
else fail "ctl: $(grep -c 'arrow-init: control: stop' "$tmp/ctl.out") stops acted on, want 1 (overlong lines must not count)"; fi
# On a host (PID != 1) it must refuse instead of taking over.
rc=0; "$init_bin" >"$tmp/host.out" 2>&1 || rc=$?
if [[ $rc == 2 ]] && grep -q "must run as PID 1" "$tmp/host.out"; then ok "host: refuses when not PID 1"
else fail "host: exit $rc, want 2"; fi

echo "$passed passed, $failed failed"
[[ $failed == 0 ]]
