/* arrow_init.c — arrow-init, the static PID 1 of every Arrow image.
 *
 * The kernel unpacks the initramfs and runs /init = this program. It prepares
 * the minimum an ordinary Linux app expects (proc, sys, dev, tmpfs, a console
 * on fds 0-2, loopback networking, kernel modules), runs the entrypoint the
 * builder recorded in /.arrow/{argv,env,workdir}, and then acts as a tiny
 * "docker-init": reaps zombies, forwards signals to the app, and when the app
 * exits reports its status through I/O port 0xf4 (QEMU isa-debug-exit and
 * Arrow's own VMM both understand it) before resetting the machine.
 *
 * Freestanding on purpose: no libc at run time (see sys.h), so it works in
 * images whose app is a static Go binary or uses musl/glibc alike.
 * The full contract is in /work/shared/DESIGN.md ("Guest contract").
 */
#include "sys.h"

/* Our own entry point: the kernel leaves argc/argv/envp on the stack. */
__asm__(".text\n.global _start\n_start:\n"
        "  xor %rbp, %rbp\n"
        "  mov %rsp, %rdi\n"
        "  and $-16, %rsp\n"
        "  call arrow_main\n"
        "  hlt\n");

/* Compilers may emit calls to these even when freestanding (struct zeroing).
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

static int g_debug;

/* "arrow-init: <what>[<arg>]: <errno>" to the console (fd 2). */
static void report(const char *what, const char *arg, int err) {
  struct line l; l.n = 0;
  ln_str(&l, "arrow-init: "); ln_str(&l, what);
  if (arg) ln_str(&l, arg);
  if (err) { ln_str(&l, ": "); ln_errno(&l, err); }
  ln_flush(&l, 2);
}
static void dbg(const char *what, const char *arg) {
  if (g_debug) report(what, arg, 0);
}

/* ---- memory: files are small, so one anonymous mmap each is plenty ---- */
static void *alloc(size_t n) {
  long p = SC(SYS_mmap, 0, (n + 4095) & ~4095UL, 3 /* RW */, 0x22 /* PRIVATE|ANON */, -1, 0);
  return p < 0 && p > -4096 ? 0 : (void *)p;
}

/* Reads a whole file, NUL-terminated. Returns 0 and sets *err on failure. */
static char *read_file(const char *path, size_t *len, int *err) {
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

static char **read_list(const char *path, int *err) {
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

static int has_debug_token(const char *s, char sep) {
  while (*s) {
    if (str_has_prefix(s, "arrow.debug=1") && (s[13] == 0 || s[13] == sep || s[13] == '\n'))
      return 1;
    while (*s && *s != sep) s++;
    while (*s == sep) s++;
  }
  return 0;
}

struct ifreq_in {
  char name[16];
  union {
    struct { u16 family, port; u32 addr; u8 zero[8]; } sin;
    short flags;
    char pad[24];
  } u;
};

/* Apps expect 127.0.0.1 to work; the kernel leaves lo down until someone ups it. */
static void loopback_up(void) {
  dbg("bringing up lo", 0);
  int s = sys_socket(2 /* AF_INET */, 2 /* SOCK_DGRAM */ | O_CLOEXEC, 0);
  if (s < 0) { report("socket(AF_INET)", 0, -s); return; }
  struct ifreq_in ifr = {0};
  memcpy(ifr.name, "lo", 3);
  int r = sys_ioctl(s, 0x8913 /* SIOCGIFFLAGS */, &ifr);
  if (r == 0) {
    ifr.u.flags |= 0x1 /* IFF_UP */ | 0x40 /* IFF_RUNNING */;
    r = sys_ioctl(s, 0x8914 /* SIOCSIFFLAGS */, &ifr);
  }
  if (r < 0) report("bring up lo", 0, -r);
  /* Normally the kernel assigns 127.0.0.1/8 when lo goes up; set it anyway. */
  ifr.u.sin.family = 2; ifr.u.sin.port = 0;
  ifr.u.sin.addr = 0x0100007f; /* 127.0.0.1, network byte order */
  memset(ifr.u.sin.zero, 0, 8);
  r = sys_ioctl(s, 0x8916 /* SIOCSIFADDR */, &ifr);
  if (r < 0) report("set lo address", 0, -r);
  ifr.u.sin.addr = 0x000000ff; /* 255.0.0.0 */
  r = sys_ioctl(s, 0x891c /* SIOCSIFNETMASK */, &ifr);
  if (r < 0) report("set lo netmask", 0, -r);
  sys_close(s);
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

static void mkdir_p(char *path) {
  for (char *p = path + 1; *p; p++)
    if (*p == '/') { *p = 0; sys_mkdir(path, 0755); *p = '/'; }
  sys_mkdir(path, 0755);
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
  sys_sync();
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
    if (cmd && has_debug_token(cmd, ' ')) g_debug = 1;
  }
  dbg("started; debug output enabled", 0);
  mount_fs("sysfs", "/sys", MS_NOSUID | MS_NODEV | MS_NOEXEC, 0);
  mount_fs("tmpfs", "/tmp", MS_NOSUID | MS_NODEV, "mode=1777");
  mount_fs("tmpfs", "/run", MS_NOSUID | MS_NODEV, "mode=0755");
  mount_fs("devpts", "/dev/pts", MS_NOSUID | MS_NOEXEC, "gid=5,mode=0620,ptmxmode=0666");
  mount_fs("tmpfs", "/dev/shm", MS_NOSUID | MS_NODEV, "mode=1777");
  /* Ctrl-Alt-Del would hard-reset the VM; make it a SIGINT to us (forwarded to the app). */
  SC(SYS_reboot, 0xfee1dead, 672274793, 0 /* CAD_OFF */, 0);
  loopback_up();
  load_modules();

  int err;
  char **argv = read_list("/.arrow/argv", &err);
  if (!argv || !argv[0]) {
    report("no entrypoint: /.arrow/argv", 0, argv ? ENOENT : err);
    finish(127);
  }
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

  /* Tell the runner's boot timer that init is up (ignored by QEMU). */
  int r = sys_ioperm(0x4f0, 1, 1);
  if (r == 0) outb(0x4f0, 1);
  else report("ioperm(0x4f0)", 0, -r);

  /* Block everything before fork so no signal slips in between; PID 1 then
   * takes signals synchronously with sigtimedwait, the child unblocks. */
  u64 all = ~0UL;
  sys_sigprocmask(SIG_SETMASK, &all, 0);
  dbg("running ", argv[0]);
  int app = sys_fork();
  if (app < 0) { report("fork", 0, -app); finish(126); }
  if (app == 0) child(argv, env, workdir);

  int status = 0, app_done = 0;
  for (;;) {
    struct k_siginfo info;
    int sig = sys_sigtimedwait(&all, &info, 0);
    if (sig < 0) continue;
    if (sig == SIGCHLD) {
      reap(app, &status, &app_done);
      if (app_done) finish(status);
    } else {
      if (g_debug) { struct line l; l.n = 0; ln_str(&l, "arrow-init: forwarding signal "); ln_num(&l, sig); ln_flush(&l, 2); }
      sys_kill(app, sig);
    }
  }
}
