/* arrow_init.c — arrow-init, the static PID 1 of every Arrow image.
 *
 * The kernel unpacks the initramfs and runs /init = this program. It prepares
 * the minimum an ordinary Linux app expects (proc, sys, dev, tmpfs, a console
 * on fds 0-2, loopback networking, kernel modules, and the static eth0 /
 * hostname / DNS setup the runner passes as arrow.* kernel parameters), runs
 * the entrypoint the builder recorded in /.arrow/{argv,env,workdir}, and then
 * acts as a tiny "docker-init": reaps zombies, forwards signals to the app,
 * and when the app exits reports its status through I/O port 0xf4 (QEMU
 * isa-debug-exit and Arrow's own VMM both understand it) before resetting the
 * machine. With arrow.ctl=<tty> a serial line is the runner's control channel:
 * "arrow:init" / "arrow:exit N" go out on it, "stop" comes in (SIGTERM the app).
 * With arrow.trace=1 as well, trace.c records what the app touches (a traced run).
 *
 * Freestanding on purpose: no libc at run time (see sys.h), so it works in
 * images whose app is a static Go binary or uses musl/glibc alike.
 * The full contract is in docs/architecture.md ("Guest contract").
 */
#include "init.h"

/* Our own entry point: the kernel leaves argc/argv/envp on the stack. */
__asm__(".text\n.global _start\n_start:\n"
        "  xor %rbp, %rbp\n"
        "  mov %rsp, %rdi\n"
        "  and $-16, %rsp\n"
        "  call arrow_main\n"
        "  hlt\n");

/* Compilers may emit calls to these even when freestanding (struct zeroing); storage.c uses them too.
 * rep stos/movs in asm: a C loop could itself be "optimized" into a memset call. */
void *memset(void *d, int c, size_t n) {
  void *p = d;
  __asm__ volatile("rep stosb" : "+D"(p), "+c"(n) : "a"(c) : "memory");
  return d;
}
void *memcpy(void *d, const void *s, size_t n) {
  void *p = d;
  __asm__ volatile("rep movsb" : "+D"(p), "+S"(s), "+c"(n) : : "memory");
  return d;
}

int g_debug;
int g_have_user;
u32 g_uid, g_gid;
static int g_ctl = -1;     /* the control channel (arrow.ctl), -1 without one */
static char g_ctl_path[40];

/* "arrow-init: <what>[<arg>]: <errno>" to the console (fd 2). */
void report(const char *what, const char *arg, int err) {
  struct line l; l.n = 0;
  ln_str(&l, "arrow-init: "); ln_str(&l, what);
  if (arg) ln_str(&l, arg);
  if (err) { ln_str(&l, ": "); ln_errno(&l, err); }
  ln_flush(&l, 2);
}
void dbg(const char *what, const char *arg) {
  if (g_debug) report(what, arg, 0);
}

/* ---- memory: files are small, so one anonymous mmap each is plenty ---- */
void *alloc(size_t n) {
  long p = SC(SYS_mmap, 0, (n + 4095) & ~4095UL, 3 /* RW */, 0x22 /* PRIVATE|ANON */, -1, 0);
  return p < 0 && p > -4096 ? 0 : (void *)p;
}

/* Reads a whole file, NUL-terminated. Returns 0 and sets *err on failure. */
char *read_file(const char *path, size_t *len, int *err) {
  int fd = sys_open(path, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) { *err = -fd; return 0; }
  u64 st[18]; /* struct stat is 144 bytes on x86_64; st_size at offset 48 */
  long r = SC(SYS_fstat, fd, st);
  size_t cap = (r == 0 && (long)st[6] > 0 ? st[6] : 0) + 4096; /* /proc files say 0 */
  char *buf = alloc(cap + 1);
  size_t n = 0;
  if (!buf) { sys_close(fd); *err = 12; return 0; }
  for (;;) {
    if (n == cap) break; /* bounded: a config file that grew while read is cut */
    r = sys_read(fd, buf + n, cap - n);
    if (r == -EINTR) continue;
    if (r < 0) { sys_close(fd); *err = (int)-r; return 0; }
    if (r == 0) break;
    n += (size_t)r;
  }
  sys_close(fd);
  buf[n] = 0;
  *len = n;
  return buf;
}

/* Splits "a\0b\0c\0" into a NULL-terminated vector (a missing final NUL is tolerated). */
static char **split_nul(char *buf, size_t len) {
  size_t count = 0;
  for (size_t i = 0; i < len; i++) if (buf[i] == 0) count++;
  if (len && buf[len - 1] != 0) count++;
  char **v = alloc((count + 1) * sizeof(char *));
  if (!v) return 0;
  size_t k = 0;
  for (size_t i = 0; i < len;) {
    v[k++] = buf + i;
    while (i < len && buf[i]) i++;
    i++;
  }
  v[k] = 0;
  return v;
}

char **read_list(const char *path, int *err) {
  size_t len = 0;
  *err = 0;
  char *buf = read_file(path, &len, err);
  return buf ? split_nul(buf, len) : 0;
}

/* ---- early system setup ---- */
static void mount_fs(const char *type, const char *dir, unsigned long flags, const char *data) {
  int r = sys_mkdir(dir, 0755);
  if (r < 0 && r != -EEXIST) report("mkdir ", dir, -r);
  dbg("mount ", dir);
  r = sys_mount(type, dir, type, flags, data);
  if (r < 0) report("mount ", dir, -r);
}

/* What udev (and every container runtime) gives programs beside devtmpfs' nodes: /dev/fd and
 * /dev/std{in,out,err}. Without them, nginx's `access_log /dev/stdout` silently creates a
 * regular file in /dev instead of writing to the console. */
static void dev_links(void) {
  static const char *const links[][2] = {{"/proc/self/fd", "/dev/fd"}, {"/proc/self/fd/0", "/dev/stdin"},
                                         {"/proc/self/fd/1", "/dev/stdout"}, {"/proc/self/fd/2", "/dev/stderr"}};
  for (unsigned i = 0; i < sizeof links / sizeof links[0]; i++) {
    int r = (int)SC(SYS_symlink, links[i][0], links[i][1]);
    if (r < 0 && r != -EEXIST) report("symlink ", links[i][1], -r);
  }
}

/* The kernel opens /dev/console as fds 0-2 only if it exists in the initramfs.
 * Otherwise do it ourselves once devtmpfs is mounted. */
static void ensure_console(void) {
  int missing = 0;
  for (int fd = 0; fd < 3; fd++)
    if (sys_fcntl(fd, F_GETFD, 0) < 0) missing |= 1 << fd;
  if (!missing) return;
  int c = sys_open("/dev/console", O_RDWR | O_NOCTTY, 0);
  if (c < 0) return; /* nowhere to even report it */
  for (int fd = 0; fd < 3; fd++)
    if ((missing & (1 << fd)) && fd != c) sys_dup2(c, fd);
  if (c > 2) sys_close(c);
}

/* Kernel parameters meant for init. Dotted names are never passed to init as
 * argv/env, so they come from /proc/cmdline; the last occurrence wins, as it
 * does for the kernel's own parameters. */
enum { K_IP, K_GW, K_DNS, K_HOSTNAME, K_CTL, K_TRACE, K_COUNT };
static const char *const k_params[K_COUNT] = {
  "arrow.ip=", "arrow.gw=", "arrow.dns=", "arrow.hostname=", "arrow.ctl=", "arrow.trace=",
};
static const char *g_param[K_COUNT];

/* Splits the command line into tokens in place and picks out ours. */
static void parse_cmdline(char *s) {
  while (*s) {
    char *t = s;
    while (*s && *s != ' ' && *s != '\t' && *s != '\n') s++;
    if (*s) *s++ = 0;
    if (str_eq(t, "arrow.debug=1")) g_debug = 1;
    for (int k = 0; k < K_COUNT; k++)
      if (str_has_prefix(t, k_params[k])) g_param[k] = t + str_len(k_params[k]);
  }
}

/* "arrow-init: arrow.ip=<value>: <why>" for a value init cannot use. */
static void bad_param(int k, const char *why) {
  struct line l; l.n = 0;
  ln_str(&l, "arrow-init: "); ln_str(&l, k_params[k]); ln_str(&l, g_param[k]);
  ln_str(&l, ": "); ln_str(&l, why);
  ln_flush(&l, 2);
}

static int has_debug_token(const char *s, char sep) {
  while (*s) {
    if (str_has_prefix(s, "arrow.debug=1") && (s[13] == 0 || s[13] == sep || s[13] == '\n'))
      return 1;
    while (*s && *s != sep) s++;
    while (*s == sep) s++;
  }
  return 0;
}

/* ---- networking: lo always, eth0 statically from arrow.ip/gw/dns/hostname ---- */
struct k_sin { u16 family, port; u32 addr; u8 zero[8]; }; /* struct sockaddr_in */
struct ifreq_in {
  char name[16];
  union { struct k_sin sin; short flags; char pad[24]; } u;
};
/* struct rtentry exactly as x86_64 Linux lays it out (SIOCADDRT reads 120 bytes). */
struct k_rtentry {
  u64 pad1;
  struct k_sin dst, gateway, genmask;
  u16 flags; short pad2; u64 pad3; void *pad4; short metric;
  char *dev; u64 mtu, window; u16 irtt;
};
_Static_assert(sizeof(struct k_rtentry) == 120 && __builtin_offsetof(struct k_rtentry, flags) == 56 &&
                   __builtin_offsetof(struct k_rtentry, dev) == 88,
               "struct rtentry must match the x86_64 kernel's");

/* "a.b.c.d" (decimal, each 0-255) -> the address in network byte order.
 * Returns the character after it, or 0 if s does not start with one. */
static const char *parse_quad(const char *s, u32 *addr) {
  u32 a = 0;
  for (int i = 0; i < 4; i++) {
    if (i && *s++ != '.') return 0;
    u32 v = 0, digits = 0;
    for (; *s >= '0' && *s <= '9'; s++)
      if (++digits > 3 || (v = v * 10 + (u32)(*s - '0')) > 255) return 0;
    if (!digits) return 0;
    a |= v << (8 * i);
  }
  *addr = a;
  return s;
}

static void ln_quad(struct line *l, u32 a) {
  for (int i = 0; i < 4; i++) { if (i) ln_str(l, "."); ln_num(l, (a >> (8 * i)) & 0xff); }
}

/* arrow.gw / arrow.dns: 1 with *addr set if given and well-formed. */
static int param_addr(int k, u32 *addr) {
  if (!g_param[k]) return 0;
  const char *e = parse_quad(g_param[k], addr);
  if (e && !*e) return 1;
  bad_param(k, "not an IPv4 address such as 10.0.2.2; ignored");
  return 0;
}

/* arrow.ip=a.b.c.d/prefix: 1 with address and netmask set if well-formed. */
static int param_ip(u32 *addr, u32 *mask) {
  if (!g_param[K_IP]) return 0;
  const char *e = parse_quad(g_param[K_IP], addr);
  u32 prefix = 0, digits = 0;
  if (e && *e == '/')
    for (e++; *e >= '0' && *e <= '9' && digits < 3; e++, digits++) prefix = prefix * 10 + (u32)(*e - '0');
  if (!e || *e || !digits || prefix > 32) {
    bad_param(K_IP, "not an IPv4 address/prefix such as 10.0.2.15/24; eth0 not configured");
    return 0;
  }
  *mask = prefix ? __builtin_bswap32(~0u << (32 - prefix)) : 0;
  return 1;
}

/* arrow.hostname: it also goes into /etc/hosts, so only name characters. */
static int param_hostname(void) {
  const char *h = g_param[K_HOSTNAME];
  if (!h) return 0;
  size_t n = 0;
  for (char c; (c = h[n]); n++)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          c == '-' || c == '.' || c == '_')) break;
  if (n && !h[n] && n <= 64) return 1;
  bad_param(K_HOSTNAME, "want 1-64 letters, digits, '-', '.' or '_'; ignored");
  return 0;
}

/* Brings an interface up with addr/mask. Returns 0 when all of it worked,
 * -ENODEV if the interface is still missing after ~1 s (a NIC driver loaded
 * just before may still be probing), another -errno (reported) otherwise. */
static int if_config(int s, const char *ifname, u32 addr, u32 mask) {
  struct ifreq_in ifr = {0};
  memcpy(ifr.name, ifname, str_len(ifname) + 1);
  int r, first = 0;
  for (int i = 0; (r = sys_ioctl(s, 0x8913 /* SIOCGIFFLAGS */, &ifr)) == -ENODEV; i++) {
    if (i == 50) return r;
    sleep_ms(20);
  }
  if (r == 0) {
    ifr.u.flags |= 0x1 /* IFF_UP */ | 0x40 /* IFF_RUNNING */;
    r = sys_ioctl(s, 0x8914 /* SIOCSIFFLAGS */, &ifr);
  }
  if (r < 0) { report("bring up ", ifname, -r); first = r; }
  ifr.u.sin = (struct k_sin){2 /* AF_INET */, 0, addr, {0}};
  r = sys_ioctl(s, 0x8916 /* SIOCSIFADDR */, &ifr);
  if (r < 0) { report("set address of ", ifname, -r); if (!first) first = r; }
  ifr.u.sin.addr = mask;
  r = sys_ioctl(s, 0x891c /* SIOCSIFNETMASK */, &ifr);
  if (r < 0) { report("set netmask of ", ifname, -r); if (!first) first = r; }
  return first;
}

static int inet_socket(void) {
  int s = sys_socket(2 /* AF_INET */, 2 /* SOCK_DGRAM */ | O_CLOEXEC, 0);
  if (s < 0) report("socket(AF_INET)", 0, -s);
  return s;
}

/* Like docker: any user may bind ports below 1024 (the VM is the app's alone), so a service
 * that drops to its own user can still listen on 80. Without IPv4 the file is absent. */
static void low_ports_for_all(void) {
  int fd = sys_open("/proc/sys/net/ipv4/ip_unprivileged_port_start", O_WRONLY | O_CLOEXEC, 0);
  if (fd < 0) return;
  if (sys_write(fd, "0\n", 2) != 2) report("ip_unprivileged_port_start", 0, EIO);
  sys_close(fd);
}

/* Apps expect 127.0.0.1 to work; the kernel leaves lo down until someone ups it. A kernel
 * without IPv4 (arrow-build found nothing packed that opens a socket) has nothing to bring up. */
static void loopback_up(void) {
  dbg("bringing up lo", 0);
  int s = sys_socket(2 /* AF_INET */, 2 /* SOCK_DGRAM */ | O_CLOEXEC, 0);
  if (s == -EAFNOSUPPORT) { dbg("no IPv4 in this kernel: lo stays down", 0); return; }
  if (s < 0) { report("socket(AF_INET)", 0, -s); return; }
  /* Normally the kernel assigns 127.0.0.1/8 when lo goes up; set it anyway. */
  if_config(s, "lo", 0x0100007f /* 127.0.0.1, network byte order */, 0x000000ff /* 255.0.0.0 */);
  sys_close(s);
}

/* eth0 with the runner's address and default route (no DHCP client: the
 * runner knows its network). Returns 1 if eth0 got its address. */
static int eth0_up(u32 addr, u32 mask, const u32 *gw) {
  dbg("configuring eth0 ", g_param[K_IP]);
  int s = inet_socket();
  if (s < 0) return 0;
  int r = if_config(s, "eth0", addr, mask);
  if (r == -ENODEV) /* one line saying what to do; the app still runs, offline */
    report(sys_access("/sys/bus/virtio/drivers/virtio_net", F_OK) == 0
               ? "eth0 not found: the VM has no network device (the virtio-net driver is loaded)"
               : "eth0 not found: this kernel has no virtio-net driver"
                 " (build the arrow with [kernel] features = [\"net\"])",
           0, 0);
  if (r == 0 && gw) {
    struct k_rtentry rt = {0};
    rt.dst.family = rt.gateway.family = rt.genmask.family = 2; /* 0.0.0.0/0 */
    rt.gateway.addr = *gw;
    rt.flags = 0x1 /* RTF_UP */ | 0x2 /* RTF_GATEWAY */;
    rt.dev = (char *)"eth0";
    int e = sys_ioctl(s, 0x890b /* SIOCADDRT */, &rt);
    if (e < 0) report("default route via ", g_param[K_GW], -e);
  }
  sys_close(s);
  return r == 0;
}

/* Replaces an /etc file: the runner's values are authoritative, as docker's
 * are. Unlinked first so that a symlink in the image (resolv.conf ->
 * ../run/systemd/...) is replaced rather than followed. */
static void write_etc(const char *path, const struct line *l) {
  int r = sys_unlink(path);
  if (r < 0 && r != -ENOENT) { report("replace ", path, -r); return; }
  int fd = sys_open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) { report("create ", path, -fd); return; }
  ssize_t w = sys_write(fd, l->buf, l->n);
  if (w != (ssize_t)l->n) report("write ", path, w < 0 ? (int)-w : EIO);
  sys_close(fd);
}

/* arrow.ip/gw/dns/hostname -> eth0, the hostname and the /etc files naming
 * them. After load_modules: a distro kernel has virtio_net as a module. */
static void net_setup(void) {
  u32 addr = 0, mask = 0, gw = 0, dns = 0;
  int have_ip = param_ip(&addr, &mask), have_gw = param_addr(K_GW, &gw);
  int have_dns = param_addr(K_DNS, &dns), have_host = param_hostname();
  const char *host = g_param[K_HOSTNAME];
  if (have_ip) have_ip = eth0_up(addr, mask, have_gw ? &gw : 0);
  if (!g_param[K_IP] && !have_host && !have_dns) return; /* no network config: the image's /etc stays */
  int r = sys_mkdir("/etc", 0755);
  if (r < 0 && r != -EEXIST) report("mkdir /etc", 0, -r);
  struct line l;
  if (have_host) {
    r = (int)SC(SYS_sethostname, host, str_len(host));
    if (r < 0) report("sethostname ", host, -r);
    l.n = 0; ln_str(&l, host); ln_str(&l, "\n");
    write_etc("/etc/hostname", &l);
  }
  if (have_dns) {
    l.n = 0; ln_str(&l, "nameserver "); ln_quad(&l, dns); ln_str(&l, "\n");
    write_etc("/etc/resolv.conf", &l);
  }
  if (g_param[K_IP] || have_host) {
    l.n = 0;
    ln_str(&l, "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");
    if (have_host) { /* without a working eth0 the name still resolves, as on Debian */
      if (have_ip) ln_quad(&l, addr); else ln_str(&l, "127.0.1.1");
      ln_str(&l, "\t"); ln_str(&l, host); ln_str(&l, "\n");
    }
    write_etc("/etc/hosts", &l);
  }
}

/* ---- readiness ([app] ready = "tcp:PORT" | "http:PORT/PATH", from /.arrow/ready) ----
 * Probed from PID 1 every 100 ms once the app runs; the first success sends "arrow:ready" on
 * the control channel (the runner's `arrow run -d` waits for it). */
static int g_ready_port, g_ready_http, g_ready_done;
static const char *g_ready_path = "/";

static void read_ready(void) {
  int err;
  size_t n;
  char *s = read_file("/.arrow/ready", &n, &err);
  if (!s) { if (err != ENOENT) report("/.arrow/ready", 0, err); return; }
  const char *p = s;
  if (str_has_prefix(p, "tcp:")) p += 4;
  else if (str_has_prefix(p, "http:")) { p += 5; g_ready_http = 1; }
  else { report("/.arrow/ready: unknown probe ", s, 0); return; }
  int port = 0;
  for (; *p >= '0' && *p <= '9' && port <= 65535; p++) port = port * 10 + (*p - '0');
  if (port < 1 || port > 65535 || (*p && *p != '/') || (!g_ready_http && *p)) {
    report("/.arrow/ready: bad probe ", s, 0);
    return;
  }
  if (*p) g_ready_path = p;
  g_ready_port = port;
}

static int probe_ready(void) {
  int s = sys_socket(2 /* AF_INET */, 1 /* SOCK_STREAM */ | O_CLOEXEC, 0);
  if (s < 0) return 0;
  struct k_sin a = {2, (u16)((g_ready_port >> 8) | ((g_ready_port & 0xff) << 8)), 0x0100007f, {0}};
  int ok = SC(SYS_connect, s, &a, sizeof a) == 0;
  if (ok && g_ready_http) {
    struct line l; l.n = 0;
    ln_str(&l, "GET "); ln_str(&l, g_ready_path); ln_str(&l, " HTTP/1.0\r\nHost: localhost\r\n\r\n");
    char buf[16];
    struct k_pollfd p = {s, POLLIN, 0};
    ok = sys_write(s, l.buf, l.n) == (ssize_t)l.n && sys_poll(&p, 1, 500) == 1 &&
         sys_read(s, buf, sizeof buf) >= 12 && str_has_prefix(buf, "HTTP/1.") && (buf[9] == '2' || buf[9] == '3');
    /* Read the rest of the response (up to the server's close, bounded): closing a socket with
     * unread data sends a reset, which the app would see (and log) as a failed write. */
    char rest[512];
    for (int i = 0; ok && i < 128 && sys_poll(&p, 1, 200) == 1 && sys_read(s, rest, sizeof rest) > 0; i++) {
    }
  }
  sys_close(s);
  return ok;
}

/* ---- the control channel (arrow.ctl=ttyS1): a serial line of the runner ----
 * init -> host: "arrow:init" once init is up, "arrow:exit <status>" right
 * before the exit port. host -> init: "stop" = SIGTERM to the app. Lines end
 * in \n. The fd is O_CLOEXEC: the channel is the host's, never the app's. */
struct k_termios { u32 iflag, oflag, cflag, lflag; u8 line, cc[19]; }; /* the kernel's, 36 bytes */

static void ctl_open(void) {
  const char *name = g_param[K_CTL];
  if (!name) return;
  size_t n = 0;
  for (char c; (c = name[n]); n++)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
      break;
  if (!n || name[n] || n + 6 > sizeof(g_ctl_path)) {
    bad_param(K_CTL, "want a device name in /dev such as ttyS1; no control channel");
    return;
  }
  memcpy(g_ctl_path, "/dev/", 5);
  memcpy(g_ctl_path + 5, name, n + 1);
  int fd = sys_open(g_ctl_path, O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK, 0);
  if (fd < 0) { report("open control channel ", g_ctl_path, -fd); return; }
  /* cfmakeraw: bytes pass untouched both ways and nothing echoes back to the host. */
  struct k_termios t;
  int r = sys_ioctl(fd, 0x5401 /* TCGETS */, &t);
  if (r == 0) {
    t.iflag &= ~(01u | 02 | 010 | 040 | 0100 | 0200 | 0400 | 02000); /* IGNBRK BRKINT PARMRK ISTRIP INLCR IGNCR ICRNL IXON */
    t.oflag &= ~01u;                                                /* OPOST */
    t.lflag &= ~(010u | 0100 | 02 | 01 | 0100000);                  /* ECHO ECHONL ICANON ISIG IEXTEN */
    /* CS8 without parity; CREAD to receive; CLOCAL: no modem lines to wait for or hang up on. */
    t.cflag = (t.cflag & ~(060u | 0400)) | 060 | 0200 | 04000;
    t.cc[6] = 1; t.cc[5] = 0; /* VMIN, VTIME */
    r = sys_ioctl(fd, 0x5402 /* TCSETS */, &t);
  }
  if (r < 0) { report("raw mode for control channel ", g_ctl_path, -r); sys_close(fd); return; }
  dbg("control channel ", g_ctl_path);
  g_ctl = fd;
}

static void ctl_close(const char *why, int err) {
  report(why, g_ctl_path, err);
  sys_close(g_ctl);
  g_ctl = -1;
}

/* One line to the host; status < 0: none. */
static void ctl_send(const char *msg, int status) {
  if (g_ctl < 0) return;
  struct line l; l.n = 0;
  ln_str(&l, msg);
  if (status >= 0) { ln_str(&l, " "); ln_num(&l, status); }
  l.buf[l.n++] = '\n';
  ssize_t r = sys_write(g_ctl, l.buf, l.n);
  if (r < 0) report("write to control channel ", g_ctl_path, (int)-r);
}

int ctl_ready(void) { return g_ctl >= 0; }

int ctl_write(const char *buf, size_t n) {
  for (int waits = 0; g_ctl >= 0 && n;) {
    ssize_t r = sys_write(g_ctl, buf, n);
    if (r > 0) { buf += r; n -= (size_t)r; waits = 0; continue; }
    if (r == -EINTR) continue;
    if (r != -EAGAIN || ++waits > 50) return -1; /* ~5 s without progress: the host stopped reading */
    struct k_pollfd p = {g_ctl, 4 /* POLLOUT */, 0};
    sys_poll(&p, 1, 100);
  }
  return n ? -1 : 0;
}

/* The exit port ends the VM at once, so first let the UART send what is
 * queued; bounded (~1 s) in case the host stopped reading. */
static void ctl_drain(void) {
  for (int i = 0; g_ctl >= 0 && i < 50; i++) {
    int v = 0;
    if (sys_ioctl(g_ctl, 0x5459 /* TIOCSERGETLSR */, &v) == 0) {
      if (v & 1 /* TIOCSER_TEMT: queue and transmitter empty */) return;
    } else if (sys_ioctl(g_ctl, 0x5411 /* TIOCOUTQ */, &v) < 0 || v == 0) {
      return; /* not a UART: the tty queue is all we can see */
    }
    sleep_ms(20);
  }
}

static char g_ctl_buf[64];
static size_t g_ctl_len; /* of the line so far; sizeof(g_ctl_buf) = too long, being discarded */

/* Reads what the host sent and acts on each complete line. Only the host
 * writes here, but it may send garbage: a line that does not fit the buffer
 * is dropped whole. revents: poll's, for the channel. */
static void ctl_input(int app, int revents) {
  char buf[64];
  for (;;) {
    ssize_t n = sys_read(g_ctl, buf, sizeof(buf));
    if (n == -EINTR) continue;
    if (n == -EAGAIN) { /* drained; an error/hangup poll keeps reporting would make the loop spin */
      if (revents & ~POLLIN) ctl_close("control channel hung up, no longer read: ", 0);
      return;
    }
    if (n == 0) { ctl_close("control channel hung up, no longer read: ", 0); return; }
    if (n < 0) { ctl_close("read control channel ", (int)-n); return; }
    for (ssize_t i = 0; i < n; i++) {
      char c = buf[i];
      if (c != '\n' && c != '\r') {
        if (g_ctl_len < sizeof(g_ctl_buf) - 1) g_ctl_buf[g_ctl_len++] = c;
        else g_ctl_len = sizeof(g_ctl_buf);
        continue;
      }
      if (g_ctl_len == sizeof(g_ctl_buf)) dbg("control: discarded an overlong line", 0);
      else if (g_ctl_len) {
        g_ctl_buf[g_ctl_len] = 0;
        if (str_eq(g_ctl_buf, "stop")) { dbg("control: stop, sending SIGTERM to the app", 0); sys_kill(app, SIGTERM); }
        else dbg("control: ignoring ", g_ctl_buf);
      }
      g_ctl_len = 0;
    }
  }
}

static void load_modules(void) {
  int err;
  char **mods = read_list("/.arrow/modules", &err);
  if (!mods) { if (err != ENOENT) report("/.arrow/modules", 0, err); return; }
  for (char **m = mods; *m; m++) {
    if (!**m) continue;
    dbg("loading module ", *m);
    int fd = sys_open(*m, O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0) { report("module ", *m, -fd); continue; }
    int r = sys_finit_module(fd, "", 0);
    if (r < 0) report("module ", *m, -r);
    sys_close(fd);
  }
}

/* ---- the app ---- */
static const char *env_get(char **env, const char *key) {
  size_t k = str_len(key);
  for (; env && *env; env++)
    if (str_has_prefix(*env, key) && (*env)[k] == '=') return *env + k + 1;
  return 0;
}

/* execve with execvp-like PATH search for names without '/'. Returns the errno. */
static int exec_app(char **argv, char **env) {
  const char *name = argv[0];
  if (!*name) return ENOENT;
  if (str_chr(name, '/')) return -sys_execve(name, argv, env);
  const char *path = env_get(env, "PATH");
  if (!path) path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  size_t nlen = str_len(name);
  int err = ENOENT, seen_eacces = 0;
  char buf[4096];
  for (const char *p = path;; p++) {
    const char *end = p;
    while (*end && *end != ':') end++;
    size_t dlen = (size_t)(end - p);
    if (dlen + nlen + 2 <= sizeof(buf)) {
      memcpy(buf, p, dlen);
      if (dlen == 0) buf[dlen++] = '.'; /* empty PATH entry means cwd */
      buf[dlen] = '/';
      memcpy(buf + dlen + 1, name, nlen + 1);
      int r = -sys_execve(buf, argv, env);
      if (r == EACCES) seen_eacces = 1;
      else if (r != ENOENT && r != ENOTDIR) err = r; /* e.g. ENOEXEC: keep the real cause */
    }
    if (!*end) break;
    p = end;
  }
  return seen_eacces && err == ENOENT ? EACCES : err;
}

void mkdir_p(char *path) {
  for (char *p = path + 1; *p; p++)
    if (*p == '/') { *p = 0; sys_mkdir(path, 0755); *p = '/'; }
  sys_mkdir(path, 0755);
}

/* /.arrow/user = "uid:gid" ([app] user); absent = root. */
static void read_user(void) {
  int err;
  size_t n;
  char *s = read_file("/.arrow/user", &n, &err);
  if (!s) { if (err != ENOENT) report("/.arrow/user", 0, err); return; }
  u32 v[2] = {0, 0};
  int k = 0, digits = 0;
  for (char *p = s; *p && *p != '\n'; p++) {
    if (*p == ':' && k == 0 && digits) { k = 1; digits = 0; continue; }
    if (*p < '0' || *p > '9' || ++digits > 10) { report("/.arrow/user: not uid:gid: ", s, 0); return; }
    v[k] = v[k] * 10 + (u32)(*p - '0');
  }
  if (k != 1 || !digits) { report("/.arrow/user: not uid:gid: ", s, 0); return; }
  g_uid = v[0]; g_gid = v[1]; g_have_user = 1;
}

/* Runs in the forked child: becomes the app. Never returns. */
static __attribute__((noreturn)) void child(char **argv, char **env, char *workdir) {
  u64 none = 0;
  sys_sigprocmask(SIG_SETMASK, &none, 0); /* PID 1 blocked everything; the app must not inherit that */
  sys_setsid();
  sys_ioctl(0, TIOCSCTTY, 0); /* ^C on the console should reach the app; failure is harmless */
  int r = sys_chdir(workdir);
  if (r == -ENOENT) { mkdir_p(workdir); r = sys_chdir(workdir); } /* like docker: create WORKDIR */
  if (r < 0) { report("cannot chdir to ", workdir, -r); sys_exit(126); }
  if (g_have_user) { /* groups first: after setuid we could not drop them */
    r = (int)SC(SYS_setgroups, 0, 0);
    if (r == 0) r = (int)SC(SYS_setgid, g_gid);
    if (r == 0) r = (int)SC(SYS_setuid, g_uid);
    if (r < 0) { report("cannot become the app's user", 0, -r); sys_exit(126); }
  }
  int err = exec_app(argv, env);
  struct line l; l.n = 0;
  ln_str(&l, "arrow-init: cannot run "); ln_str(&l, argv[0]); ln_str(&l, ": ");
  int named = 0; /* like sh/docker: plain text, e.g. "No such file or directory" */
  for (size_t i = 0; i < sizeof(k_errnos) / sizeof(k_errnos[0]); i++)
    if (k_errnos[i].num == err) { ln_str(&l, k_errnos[i].text); named = 1; break; }
  if (!named) ln_errno(&l, err);
  ln_flush(&l, 2);
  sys_exit(err == ENOENT || err == ENOTDIR ? 127 : 126);
}

/* Reaps every zombie; returns 1 once no children are left at all. */
static int reap(int app, int *status, int *app_done) {
  for (;;) {
    int st = 0;
    int p = sys_wait4(-1, &st, WNOHANG);
    if (p == -ECHILD) return 1;
    if (p <= 0) return 0;
    if (p == app) {
      *app_done = 1;
      *status = (st & 0x7f) == 0 ? (st >> 8) & 0xff : 128 + (st & 0x7f);
    }
  }
}

/* After the app exited: give leftovers a short SIGTERM grace, then SIGKILL. */
static void kill_leftovers(void) {
  int st, done = 0;
  u64 chld = 1UL << (SIGCHLD - 1);
  struct k_siginfo info;
  struct k_timespec tick = {0, 20 * 1000 * 1000};
  if (reap(0, &st, &done)) return;
  dbg("terminating leftover processes", 0);
  sys_kill(-1, SIGTERM); /* -1 from PID 1 = everyone but us */
  sys_kill(-1, 18 /* SIGCONT: stopped processes must run to die */);
  for (int i = 0; i < 25; i++) { /* 0.5 s */
    if (reap(0, &st, &done)) return;
    sys_sigtimedwait(&chld, &info, &tick);
  }
  sys_kill(-1, SIGKILL);
  for (int i = 0; i < 50; i++) {
    if (reap(0, &st, &done)) return;
    sys_sigtimedwait(&chld, &info, &tick);
  }
}

static __attribute__((noreturn)) void finish(int status) {
  struct line l; l.n = 0;
  if (g_debug) { ln_str(&l, "arrow-init: app exited, status "); ln_num(&l, status); ln_flush(&l, 2); }
  kill_leftovers();
  trace_finish(); /* after the leftovers: what they touched counts too */
  storage_unmount_volumes();
  sys_sync();
  ctl_send("arrow:exit", status);
  ctl_drain();
  /* The exit port: QEMU's isa-debug-exit exits with (status<<1)|1; Arrow's VMM reads it. */
  int r = sys_ioperm(0xf4, 1, 1);
  if (r == 0) outb(0xf4, (u8)status);
  else report("ioperm(0xf4)", 0, -r);
  /* Fallback: a reset without status is reported as an error by the runner. */
  SC(SYS_reboot, 0xfee1dead, 672274793, 0x01234567 /* RESTART */, 0);
  for (;;) SC0(SYS_pause);
}

__attribute__((noreturn, used)) void arrow_main(long *sp) {
  int argc = (int)sp[0];
  char **iargv = (char **)(sp + 1);
  char **ienvp = iargv + argc + 1;

  if (sys_getpid() != 1) {
    report("must run as PID 1 (it is the /init of an Arrow image); refusing to run", 0, 0);
    sys_exit(2);
  }
  for (int i = 1; i < argc; i++) if (has_debug_token(iargv[i], ' ')) g_debug = 1;
  for (char **e = ienvp; *e; e++) if (has_debug_token(*e, ' ')) g_debug = 1;

  /* devtmpfs first: it provides /dev/console when the initramfs lacks it. */
  mount_fs("devtmpfs", "/dev", MS_NOSUID, "mode=0755");
  ensure_console();
  mount_fs("proc", "/proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, 0);
  {
    /* Dotted kernel parameters are never passed to init, so read the cmdline. */
    int err; size_t n;
    char *cmd = read_file("/proc/cmdline", &n, &err);
    if (cmd) parse_cmdline(cmd);
    else report("/proc/cmdline", 0, err);
  }
  dbg("started; debug output enabled", 0);
  mount_fs("sysfs", "/sys", MS_NOSUID | MS_NODEV | MS_NOEXEC, 0);
  /* Ctrl-Alt-Del would hard-reset the VM; make it a SIGINT to us (forwarded to the app). */
  SC(SYS_reboot, 0xfee1dead, 672274793, 0 /* CAD_OFF */, 0);
  load_modules(); /* a distro kernel may need its disk, filesystem or NIC drivers first */

  /* Everything init reads from the initramfs, before the root may change. */
  int err;
  char **argv = read_list("/.arrow/argv", &err);
  int argv_err = err;
  char **env = read_list("/.arrow/env", &err);
  if (!env) {
    if (err != ENOENT) report("/.arrow/env", 0, err);
    static char *empty[1];
    env = empty;
  }
  size_t wlen = 0;
  char *workdir = read_file("/.arrow/workdir", &wlen, &err);
  while (workdir && wlen && (workdir[wlen - 1] == '\n' || workdir[wlen - 1] == 0)) workdir[--wlen] = 0;
  if (!workdir || !wlen) workdir = "/";
  read_user();
  read_ready();
  storage_read_volumes();
  storage_read_dirs();
  if (storage_switch_root() < 0) finish(125);

  mount_fs("tmpfs", "/tmp", MS_NOSUID | MS_NODEV, "mode=1777");
  mount_fs("tmpfs", "/run", MS_NOSUID | MS_NODEV, "mode=0755");
  mount_fs("devpts", "/dev/pts", MS_NOSUID | MS_NOEXEC, "gid=5,mode=0620,ptmxmode=0666");
  mount_fs("tmpfs", "/dev/shm", MS_NOSUID | MS_NODEV, "mode=1777");
  dev_links();
  if (storage_mount_volumes() < 0) finish(125);
  if (storage_make_dirs() < 0) finish(125);
  loopback_up();
  low_ports_for_all();
  net_setup();
  ctl_open(); /* after the modules: its tty may come from one */

  if (!argv || !argv[0]) {
    report("no entrypoint: /.arrow/argv", 0, argv ? ENOENT : argv_err);
    finish(127);
  }

  /* Tell the runner's boot timer that init is up (ignored by QEMU); the
   * control channel tells runners that cannot see I/O ports. */
  int r = sys_ioperm(0x4f0, 1, 1);
  if (r == 0) outb(0x4f0, 1);
  else report("ioperm(0x4f0)", 0, -r);
  ctl_send("arrow:init", -1);

  /* Block everything before fork so no signal slips in between; PID 1 then
   * takes signals synchronously from a signalfd, polled together with the
   * control channel; the child unblocks. */
  u64 all = ~0UL;
  sys_sigprocmask(SIG_SETMASK, &all, 0);
  int sfd = sys_signalfd(&all, O_CLOEXEC | O_NONBLOCK);
  if (sfd < 0) /* a kernel without CONFIG_SIGNALFD: signals still work, the channel is not read */
    report("signalfd (falling back to sigtimedwait; control channel not read)", 0, -sfd);
  if (g_param[K_TRACE] && str_eq(g_param[K_TRACE], "1") && trace_start() < 0) finish(125);
  dbg("running ", argv[0]);
  int app = sys_fork();
  if (app < 0) { report("fork", 0, -app); finish(126); }
  if (app == 0) child(argv, env, workdir);

  int status = 0, app_done = 0;
  struct k_pollfd pfd[3] = {{sfd, POLLIN, 0}, {-1, POLLIN, 0}, {-1, POLLIN, 0}};
  for (;;) {
    int sig;
    if (sfd < 0) {
      struct k_siginfo info;
      sig = sys_sigtimedwait(&all, &info, 0);
      if (sig < 0) continue;
    } else {
      pfd[1].fd = g_ctl; /* -1 (ignored by poll) without a channel or once it hung up */
      const int probing = g_ready_port && !g_ready_done;
      pfd[2].fd = trace_fd(); /* -1 unless tracing */
      int n = sys_poll(pfd, 3, probing ? 100 : -1);
      if (probing && probe_ready()) {
        g_ready_done = 1;
        dbg("ready: the probe passed", 0);
        ctl_send("arrow:ready", -1);
      }
      if (n <= 0) continue;
      if (pfd[1].revents) ctl_input(app, pfd[1].revents);
      if (pfd[2].revents) trace_read();
      struct k_sfd_siginfo si;
      if (!pfd[0].revents || sys_read(sfd, &si, sizeof(si)) != sizeof(si)) continue;
      sig = (int)si.signo;
    }
    if (sig == SIGCHLD) {
      reap(app, &status, &app_done);
      if (app_done) finish(status);
    } else {
      if (g_debug) { struct line l; l.n = 0; ln_str(&l, "arrow-init: forwarding signal "); ln_num(&l, sig); ln_flush(&l, 2); }
      sys_kill(app, sig);
    }
  }
}
