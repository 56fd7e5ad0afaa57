/* trace.c — the recorder of traced runs (arrow.trace=1 on the kernel command line).
 *
 * Before the app starts, arrow-init marks the root mount with fanotify for FAN_OPEN,
 * FAN_OPEN_EXEC and FAN_ACCESS, directories included (FAN_ONDIR). Each event carries an open
 * descriptor of the object touched; its path (readlink of /proc/self/fd/N) and the program
 * that touched it (/proc/PID/exe) go to the host as one control-channel line:
 *
 *   arrow:trace <path>\t<exe>
 *
 * with '\\', tab, newline and other control bytes written as \xHH. Each object is sent once
 * (deduplicated by device and inode). At the end "arrow:trace-end <lines>" follows; a failure
 * sends "arrow:trace-error <what>" instead, so the host never mistakes a broken recorder for
 * an app that touched nothing. Events of PID 1 itself are skipped. Only the root mount is
 * marked: /proc, /sys, /dev and the tmpfs mounts are not the image's files.
 */
#include "init.h"

enum {
  SYS_readlink = 89, SYS_fanotify_init = 300, SYS_fanotify_mark = 301,
  FAN_ACCESS = 0x1, FAN_OPEN = 0x20, FAN_OPEN_EXEC = 0x1000, FAN_Q_OVERFLOW = 0x4000,
  FAN_ONDIR = 0x40000000,
  FAN_CLOEXEC = 0x1, FAN_NONBLOCK = 0x2, FAN_UNLIMITED_QUEUE = 0x10,
  FAN_MARK_ADD = 0x1, FAN_MARK_MOUNT = 0x10, FANOTIFY_METADATA_VERSION = 3,
  O_LARGEFILE = 0100000, AT_FDCWD = -100,
};

struct fan_event { u32 event_len; u8 vers, reserved; u16 metadata_len; u64 mask; int fd, pid; };
_Static_assert(sizeof(struct fan_event) == 24, "struct fanotify_event_metadata is 24 bytes");

static int g_fan = -1;
static int g_failed;           /* an error line was sent: nothing more goes out */
static unsigned long g_lines;  /* trace lines sent */

/* Objects already sent, by (device, inode): open addressing; when full, duplicates go out
 * too (the host deduplicates again). 256 KiB of bss, not of the file. */
#define SEEN_SLOTS (1u << 15)
static u64 g_seen[SEEN_SLOTS];

static int seen_before(u64 dev, u64 ino) {
  u64 key = (dev * 0x9e3779b97f4a7c15ull) ^ ino;
  if (!key) key = 1;
  u32 h = (u32)(key ^ (key >> 29)) & (SEEN_SLOTS - 1);
  for (u32 i = 0; i < 64; i++, h = (h + 1) & (SEEN_SLOTS - 1)) {
    if (g_seen[h] == key) return 1;
    if (!g_seen[h]) { g_seen[h] = key; return 0; }
  }
  return 0;
}

static char g_out[3 * 4096 * 4 + 64];  /* one line: two escaped paths, each at most 4x */

static size_t put_escaped(size_t n, const char *s, size_t len) {
  static const char hex[] = "0123456789abcdef";
  for (size_t i = 0; i < len; i++) {
    u8 c = (u8)s[i];
    if (c < 0x20 || c == 0x7f || c == '\\') {
      g_out[n++] = '\\'; g_out[n++] = 'x'; g_out[n++] = hex[c >> 4]; g_out[n++] = hex[c & 15];
    } else {
      g_out[n++] = (char)c;
    }
  }
  return n;
}

static size_t put_str(size_t n, const char *s) {
  while (*s) g_out[n++] = *s++;
  return n;
}

static size_t put_line(size_t n, const struct line *l) {
  for (size_t i = 0; i < l->n; i++) g_out[n++] = l->buf[i];
  return n;
}

static void fail(const char *what, int err) {
  if (g_failed) return;
  g_failed = 1;
  report("trace: ", what, err);
  size_t n = put_str(0, "arrow:trace-error ");
  n = put_str(n, what);
  if (err) {
    struct line l; l.n = 0;
    ln_str(&l, ": "); ln_errno(&l, err);
    n = put_line(n, &l);
  }
  g_out[n++] = '\n';
  ctl_write(g_out, n);
}

int trace_start(void) {
  if (!ctl_ready()) { fail("no control channel to report on (arrow.ctl)", 0); return -1; }
  int fd = (int)SC(SYS_fanotify_init, FAN_CLOEXEC | FAN_NONBLOCK | FAN_UNLIMITED_QUEUE,
                   O_RDONLY | O_LARGEFILE | O_CLOEXEC);
  if (fd < 0) {
    fail(fd == -38 ? "fanotify_init (this kernel has no fanotify: the trace image needs the trace kernel fragment)"
                   : "fanotify_init", -fd);
    return -1;
  }
  long r = SC(SYS_fanotify_mark, fd, FAN_MARK_ADD | FAN_MARK_MOUNT,
              (u64)(FAN_OPEN | FAN_OPEN_EXEC | FAN_ACCESS | FAN_ONDIR), AT_FDCWD, "/");
  if (r < 0) { sys_close(fd); fail("fanotify_mark of /", (int)-r); return -1; }
  dbg("trace: recording the root mount", 0);
  g_fan = fd;
  return fd;
}

int trace_fd(void) { return g_fan; }

/* The path behind an open fd, or of /proc/PID/exe; length, 0 if unknown. */
static size_t link_of(const char *proc, long num, const char *tail, char *buf, size_t cap) {
  struct line l; l.n = 0;
  ln_str(&l, proc); ln_num(&l, num); ln_str(&l, tail);
  l.buf[l.n] = 0;
  long r = SC(SYS_readlink, l.buf, buf, cap);
  return r > 0 && (size_t)r < cap ? (size_t)r : 0;
}

static void one_event(const struct fan_event *e) {
  static char path[4096], exe[4096];
  if (e->fd < 0) return;
  u64 st[18];
  int dup = SC(SYS_fstat, e->fd, st) == 0 && seen_before(st[0], st[1]);
  size_t plen = dup || e->pid == 1 ? 0 : link_of("/proc/self/fd/", e->fd, "", path, sizeof path);
  sys_close(e->fd);
  if (!plen || g_failed) return;
  /* Read per event, not cached per pid: an exec changes it (the first event of a new
   * program, its own FAN_OPEN_EXEC, still names the program that exec'd it). */
  size_t exe_len = link_of("/proc/", e->pid, "/exe", exe, sizeof exe);
  size_t n = put_str(0, "arrow:trace ");
  n = put_escaped(n, path, plen);
  g_out[n++] = '\t';
  n = put_escaped(n, exe, exe_len);
  g_out[n++] = '\n';
  if (ctl_write(g_out, n) < 0) { fail("the control channel stopped taking lines", 0); return; }
  g_lines++;
}

void trace_read(void) {
  static u64 buf[4096 / 8];
  while (g_fan >= 0) {
    ssize_t n = sys_read(g_fan, buf, sizeof buf);
    if (n == -EINTR) continue;
    if (n == -EAGAIN) return;
    if (n <= 0) { fail("read fanotify events", n < 0 ? (int)-n : EIO); sys_close(g_fan); g_fan = -1; return; }
    for (size_t off = 0; off + sizeof(struct fan_event) <= (size_t)n;) {
      const struct fan_event *e = (const struct fan_event *)((const char *)buf + off);
      if (e->event_len < sizeof(struct fan_event) || off + e->event_len > (size_t)n) break;
      if (e->vers != FANOTIFY_METADATA_VERSION) { fail("unknown fanotify event version", 0); return; }
      if (e->mask & FAN_Q_OVERFLOW) fail("the event queue overflowed (events were lost)", 0);
      one_event(e);
      off += e->event_len;
    }
  }
}

void trace_finish(void) {
  if (g_fan < 0 && !g_failed) return; /* not tracing */
  trace_read();
  if (g_fan >= 0) { sys_close(g_fan); g_fan = -1; }
  if (g_failed) return;
  size_t n = put_str(0, "arrow:trace-end ");
  struct line l; l.n = 0;
  ln_num(&l, (long)g_lines);
  n = put_line(n, &l);
  g_out[n++] = '\n';
  ctl_write(g_out, n);
}
