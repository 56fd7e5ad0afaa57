/* sys.h — the tiny freestanding runtime arrow-init is built on.
 *
 * arrow-init is PID 1 of every Arrow image and must not depend on any libc at
 * run time (the image may hold no libc at all, or a different one). So this
 * header provides just what init needs: raw x86_64 syscalls via inline asm,
 * a handful of string helpers, port I/O, errno names and a line printer.
 * Everything is static inline so unused pieces vanish at -Os.
 */
#ifndef ARROW_INIT_SYS_H
#define ARROW_INIT_SYS_H

typedef unsigned long size_t;
typedef long ssize_t;
typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long u64;

/* ---- syscall numbers (x86_64) ---- */
enum {
  SYS_read = 0, SYS_write = 1, SYS_open = 2, SYS_close = 3, SYS_fstat = 5,
  SYS_poll = 7, SYS_mmap = 9, SYS_rt_sigprocmask = 14, SYS_ioctl = 16, SYS_access = 21,
  SYS_pause = 34, SYS_nanosleep = 35, SYS_getpid = 39, SYS_socket = 41,
  SYS_fork = 57, SYS_execve = 59, SYS_exit = 60, SYS_wait4 = 61, SYS_kill = 62,
  SYS_fcntl = 72, SYS_chdir = 80, SYS_mkdir = 83, SYS_unlink = 87, SYS_symlink = 88, SYS_setsid = 112,
  SYS_rt_sigtimedwait = 128, SYS_mount = 165, SYS_sync = 162, SYS_reboot = 169,
  SYS_sethostname = 170, SYS_ioperm = 173, SYS_dup2 = 33, SYS_signalfd4 = 289,
  SYS_finit_module = 313, SYS_chroot = 161, SYS_umount2 = 166,
  SYS_setuid = 105, SYS_setgid = 106, SYS_setgroups = 116, SYS_chown = 92, SYS_stat = 4, SYS_chmod = 90, SYS_connect = 42,
};

static inline long sc6(long n, long a, long b, long c, long d, long e, long f) {
  long ret;
  register long r10 __asm__("r10") = d;
  register long r8 __asm__("r8") = e;
  register long r9 __asm__("r9") = f;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                   : "rcx", "r11", "memory");
  return ret;
}
#define SC(n, ...) sc6_args(n, __VA_ARGS__, 0, 0, 0, 0, 0, 0)
#define sc6_args(n, a, b, c, d, e, f, ...) \
  sc6((n), (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), (long)(f))
#define SC0(n) sc6((n), 0, 0, 0, 0, 0, 0)

/* Syscalls return -errno on failure; these helpers keep that convention. */
static inline ssize_t sys_write(int fd, const void *b, size_t n) { return SC(SYS_write, fd, b, n); }
static inline ssize_t sys_read(int fd, void *b, size_t n) { return SC(SYS_read, fd, b, n); }
static inline int sys_open(const char *p, int fl, int mode) { return (int)SC(SYS_open, p, fl, mode); }
static inline int sys_close(int fd) { return (int)SC(SYS_close, fd); }
static inline int sys_dup2(int a, int b) { return (int)SC(SYS_dup2, a, b); }
static inline int sys_fcntl(int fd, int cmd, long arg) { return (int)SC(SYS_fcntl, fd, cmd, arg); }
static inline int sys_ioctl(int fd, unsigned long req, void *arg) { return (int)SC(SYS_ioctl, fd, req, arg); }
static inline int sys_mkdir(const char *p, int mode) { return (int)SC(SYS_mkdir, p, mode); }
static inline int sys_chdir(const char *p) { return (int)SC(SYS_chdir, p); }
static inline int sys_chroot(const char *p) { return (int)SC(SYS_chroot, p); }
static inline int sys_umount2(const char *p, int flags) { return (int)SC(SYS_umount2, p, flags); }
static inline int sys_mount(const char *src, const char *dst, const char *type, unsigned long fl, const void *data) {
  return (int)SC(SYS_mount, src, dst, type, fl, data);
}
static inline int sys_getpid(void) { return (int)SC0(SYS_getpid); }
static inline int sys_fork(void) { return (int)SC0(SYS_fork); }
static inline int sys_setsid(void) { return (int)SC0(SYS_setsid); }
static inline int sys_kill(int pid, int sig) { return (int)SC(SYS_kill, pid, sig); }
static inline int sys_wait4(int pid, int *st, int opt) { return (int)SC(SYS_wait4, pid, st, opt, 0); }
static inline int sys_execve(const char *p, char *const *av, char *const *ev) { return (int)SC(SYS_execve, p, av, ev); }
static inline int sys_sigprocmask(int how, const u64 *set, u64 *old) { return (int)SC(SYS_rt_sigprocmask, how, set, old, 8); }
static inline int sys_socket(int d, int t, int p) { return (int)SC(SYS_socket, d, t, p); }
static inline int sys_ioperm(unsigned long from, unsigned long n, int on) { return (int)SC(SYS_ioperm, from, n, on); }
static inline int sys_finit_module(int fd, const char *params, int flags) { return (int)SC(SYS_finit_module, fd, params, flags); }
static inline int sys_access(const char *p, int mode) { return (int)SC(SYS_access, p, mode); }
static inline int sys_unlink(const char *p) { return (int)SC(SYS_unlink, p); }
static inline void sys_sync(void) { SC0(SYS_sync); }
static inline __attribute__((noreturn)) void sys_exit(int code) {
  for (;;) SC(SYS_exit, code);
}

struct k_timespec { long sec, nsec; };
struct k_siginfo { int signo, errno_, code, pad_; int pid, uid; int rest[26]; };
static inline int sys_sigtimedwait(const u64 *set, struct k_siginfo *info, const struct k_timespec *ts) {
  return (int)SC(SYS_rt_sigtimedwait, set, info, ts, 8);
}
static inline void sleep_ms(long ms) {
  struct k_timespec ts = {0, ms * 1000 * 1000};
  SC(SYS_nanosleep, &ts, 0);
}
/* struct signalfd_siginfo is 128 bytes; only the signal number matters here. */
struct k_sfd_siginfo { u32 signo; int rest[31]; };
static inline int sys_signalfd(const u64 *set, int flags) { return (int)SC(SYS_signalfd4, -1, set, 8, flags); }
struct k_pollfd { int fd; short events, revents; };
static inline int sys_poll(struct k_pollfd *fds, unsigned long n, int timeout_ms) {
  return (int)SC(SYS_poll, fds, n, timeout_ms);
}

/* ---- constants (from linux uapi headers, which we deliberately don't include) ---- */
#define O_RDONLY 0
#define O_WRONLY 1
#define O_RDWR 2
#define O_CREAT 0100
#define O_EXCL 0200
#define O_NOCTTY 0400
#define O_NONBLOCK 04000
#define O_CLOEXEC 02000000
#define F_OK 0
#define POLLIN 1
#define F_GETFD 1
#define MS_RDONLY 1
#define MS_NOSUID 2
#define MS_NODEV 4
#define MS_NOEXEC 8
#define MS_MOVE 8192
#define MS_REMOUNT 32
#define EROFS 30
#define EINVAL 22
#define EBADMSG 74
#define EUCLEAN 117
#define WNOHANG 1
#define SIG_BLOCK 0
#define SIG_SETMASK 2
#define SIGHUP 1
#define SIGKILL 9
#define SIGTERM 15
#define SIGCHLD 17
#define SIGSTOP 19
#define TIOCSCTTY 0x540E
#define EINTR 4
#define EAGAIN 11
#define ENOENT 2
#define ENOTDIR 20
#define EACCES 13
#define EEXIST 17
#define ECHILD 10
#define ESRCH 3
#define ENODEV 19
#define EIO 5
#define EAFNOSUPPORT 97

/* ---- port I/O (needs ioperm first) ---- */
static inline void outb(u16 port, u8 v) { __asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(port)); }

/* ---- strings ---- */
static inline size_t str_len(const char *s) { size_t n = 0; while (s[n]) n++; return n; }
static inline int str_eq(const char *a, const char *b) {
  while (*a && *a == *b) a++, b++;
  return *a == *b;
}
static inline int str_has_prefix(const char *s, const char *p) {
  while (*p) if (*s++ != *p++) return 0;
  return 1;
}
static inline const char *str_chr(const char *s, char c) {
  for (; *s; s++) if (*s == c) return s;
  return 0;
}

/* errno -> "ENAME (text)". Only errnos init can plausibly meet are named. */
struct errno_desc { short num; const char *name; const char *text; };
static const struct errno_desc k_errnos[] = {
  {1, "EPERM", "Operation not permitted"}, {2, "ENOENT", "No such file or directory"},
  {3, "ESRCH", "No such process"}, {4, "EINTR", "Interrupted system call"},
  {5, "EIO", "Input/output error"}, {6, "ENXIO", "No such device or address"},
  {7, "E2BIG", "Argument list too long"}, {8, "ENOEXEC", "Exec format error"},
  {9, "EBADF", "Bad file descriptor"}, {10, "ECHILD", "No child processes"},
  {11, "EAGAIN", "Resource temporarily unavailable"}, {12, "ENOMEM", "Cannot allocate memory"},
  {13, "EACCES", "Permission denied"}, {14, "EFAULT", "Bad address"},
  {16, "EBUSY", "Device or resource busy"}, {17, "EEXIST", "File exists"},
  {19, "ENODEV", "No such device"}, {20, "ENOTDIR", "Not a directory"},
  {21, "EISDIR", "Is a directory"}, {22, "EINVAL", "Invalid argument"},
  {24, "EMFILE", "Too many open files"}, {25, "ENOTTY", "Inappropriate ioctl for device"},
  {26, "ETXTBSY", "Text file busy"}, {28, "ENOSPC", "No space left on device"},
  {30, "EROFS", "Read-only file system"}, {36, "ENAMETOOLONG", "File name too long"},
  {38, "ENOSYS", "Function not implemented"}, {40, "ELOOP", "Too many levels of symbolic links"},
  {61, "ENODATA", "No data available"}, {74, "EBADMSG", "Bad message"},
  {95, "EOPNOTSUPP", "Operation not supported"}, {97, "EAFNOSUPPORT", "Address family not supported"},
  {99, "EADDRNOTAVAIL", "Cannot assign requested address"}, {100, "ENETDOWN", "Network is down"},
  {101, "ENETUNREACH", "Network is unreachable"}, {117, "EUCLEAN", "Structure needs cleaning"},
  {126, "ENOKEY", "Required key not available"}, {129, "EKEYREJECTED", "Key was rejected by service"},
};

/* ---- message building: one write() per line so lines never interleave ---- */
struct line { char buf[512]; size_t n; };
static inline void ln_str(struct line *l, const char *s) {
  while (*s && l->n < sizeof(l->buf) - 1) l->buf[l->n++] = *s++;
}
static inline void ln_num(struct line *l, long v) {
  char tmp[24]; int i = 0;
  unsigned long u = v < 0 ? -(unsigned long)v : (unsigned long)v;
  do tmp[i++] = (char)('0' + u % 10); while ((u /= 10) && i < 23);
  if (v < 0) tmp[i++] = '-';
  while (i && l->n < sizeof(l->buf) - 1) l->buf[l->n++] = tmp[--i];
}
/* Appends "ENAME (text)" for a positive errno, "errno N" if unknown. */
static inline void ln_errno(struct line *l, int e) {
  for (size_t i = 0; i < sizeof(k_errnos) / sizeof(k_errnos[0]); i++)
    if (k_errnos[i].num == e) {
      ln_str(l, k_errnos[i].name); ln_str(l, " ("); ln_str(l, k_errnos[i].text); ln_str(l, ")");
      return;
    }
  ln_str(l, "errno "); ln_num(l, e);
}
static inline void ln_flush(struct line *l, int fd) {
  l->buf[l->n++] = '\n';
  sys_write(fd, l->buf, l->n);
  l->n = 0;
}

#endif
