#!/usr/bin/env bash
# init_boot_test.sh — boots arrow-init as /init of hand-made initramfs images.
#
# End-to-end proof of the guest contract (DESIGN.md "Guest contract") without
# any other Arrow component: each case packs /init (arrow-init), the /.arrow/
# config files and a tiny static test app (compiled here from a heredoc) with
# cpio + zstd, boots it under qemu TCG with Debian's kernel and isa-debug-exit
# on port 0xf4, and checks the app's output and qemu's exit code, which is
# (status << 1) | 1. Images boot two at a time to keep the run short.
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
for tool in qemu-system-x86_64 cpio zstd gcc; do
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
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
extern char **environ;
static void on_usr1(int s) { (void)s; printf("testapp: got SIGUSR1\n"); _exit(6); }
static int loopback_ok(void) { /* UDP to ourselves over 127.0.0.1 */
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t l = sizeof a;
  char buf[8] = {0};
  if (s < 0 || bind(s, (void *)&a, sizeof a) || getsockname(s, (void *)&a, &l)) return 0;
  if (sendto(s, "ping", 4, 0, (void *)&a, sizeof a) != 4) return 0;
  return recv(s, buf, sizeof buf, 0) == 4 && !memcmp(buf, "ping", 4);
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
  const char *mode = argc > 1 ? argv[1] : "0";
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

# boot NAME [extra kernel args]: output in NAME.out, qemu's exit code in NAME.rc.
boot() {
  local t0 rc=0
  t0=$(date +%s.%N)
  timeout 120 qemu-system-x86_64 -accel tcg -M pc -m 256 -nographic -no-reboot -net none \
    -kernel "$kernel" -initrd "$tmp/$1.img" -append "console=ttyS0 quiet panic=-1 ${2:-}" \
    -device isa-debug-exit,iobase=0xf4,iosize=0x04 </dev/null >"$tmp/$1.raw" 2>&1 || rc=$?
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

start=$(date +%s)
boot basic arrow.debug=1 & boot exit3 & wait
boot missing & boot noexec & wait
boot orphan arrow.debug=1 & boot signal & wait
boot killed
echo "boots took $(( $(date +%s) - start )) s (2 in parallel); per boot:" \
  "$(for c in basic exit3 missing noexec orphan signal killed; do printf '%s=%ss ' $c "$(cat "$tmp/$c.time")"; done)"

# expect NAME QEMU_RC LINE... : qemu's exit code and exact output lines.
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
  "arrow-init: bringing up lo" "arrow-init: running /bin/testapp" "arrow-init: app exited, status 0"
if [[ $(grep -c '^testapp: env' "$tmp/basic.out") == 3 ]]; then ok "basic: env is exactly /.arrow/env"
else fail "basic: env is not exactly /.arrow/env"; fi
expect exit3 7 "testapp: argv[0]=<testapp>" "testapp: cwd=</>" "testapp: loopback ok" \
  "arrow-init: module /lib/modules/nope.ko: ENOENT (No such file or directory)"
expect missing 255 "arrow-init: cannot run /bin/nope: No such file or directory"
expect noexec 253 "arrow-init: cannot run /bin/data.txt: Permission denied"
# g2 sleeps 1000 s: if init waited for it, timeout would end qemu (exit 124).
expect orphan 11 "testapp: orphan reaped" "arrow-init: terminating leftover processes" \
  "arrow-init: app exited, status 5"
expect signal 13 "testapp: got SIGUSR1"
expect killed $(( (143 << 1 | 1) & 255 )) "testapp: hello from the app"
# On a host (PID != 1) it must refuse instead of taking over.
rc=0; "$init_bin" >"$tmp/host.out" 2>&1 || rc=$?
if [[ $rc == 2 ]] && grep -q "must run as PID 1" "$tmp/host.out"; then ok "host: refuses when not PID 1"
else fail "host: exit $rc, want 2"; fi

echo "$passed passed, $failed failed"
[[ $failed == 0 ]]
