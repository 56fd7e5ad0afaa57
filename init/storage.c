/* storage.c — arrow-init's disks: the read-only EROFS root of a large app and the volumes.
 *
 * Disks are virtio-blk devices found by their serial (/sys/block/vdX/serial), never by probe
 * order: the runner names the root "arrow-root" and volume i "arrow-vol<i>", and passes the
 * mounts in /.arrow/volumes as records "rw|ro|tmpfs\0serial\0path\0name\0".
 */
#include "init.h"

/* Finds the disk with this serial; writes "/dev/vdX" into dev. A disk driver that is still
 * probing gets ~1 s. Returns 0 or -ENODEV. */
static int find_disk(const char *serial, char dev[16]) {
  char sys[32];
  for (int round = 0; round < 50; round++) {
    for (char c = 'a'; c <= 'z'; c++) {
      memcpy(sys, "/sys/block/vd?/serial", 22);
      sys[13] = c;
      size_t n = 0;
      int err;
      char *s = read_file(sys, &n, &err);
      if (!s) continue;
      while (n && (s[n - 1] == '\n' || s[n - 1] == ' ')) s[--n] = 0;
      if (str_eq(s, serial)) {
        memcpy(dev, "/dev/vd?", 9);
        dev[7] = c;
        return 0;
      }
    }
    sleep_ms(20);
  }
  return -ENODEV;
}

static void no_disk(const char *what, const char *serial) {
  struct line l; l.n = 0;
  ln_str(&l, "arrow-init: "); ln_str(&l, what); ln_str(&l, ": no disk with serial "); ln_str(&l, serial);
  ln_str(&l, sys_access("/sys/bus/virtio/drivers/virtio_blk", F_OK) == 0
                 ? " (the runner did not attach it)"
                 : " (this kernel has no virtio-blk driver: build the arrow with [kernel] features = [\"block\"])");
  ln_flush(&l, 2);
}

/* "arrow-init: <what>: cannot mount <dev> as <type> at <dir>: <errno><hint>" */
static void mount_failed(const char *what, const char *dev, const char *type, const char *dir,
                         int err, const char *hint) {
  struct line l; l.n = 0;
  ln_str(&l, "arrow-init: "); ln_str(&l, what); ln_str(&l, ": cannot mount "); ln_str(&l, dev);
  ln_str(&l, " as "); ln_str(&l, type); ln_str(&l, " at "); ln_str(&l, dir); ln_str(&l, ": ");
  ln_errno(&l, err);
  if (hint) ln_str(&l, hint);
  ln_flush(&l, 2);
}

static int mount_at(const char *src, const char *dir, const char *type, unsigned long flags,
                    const char *data, const char *what) {
  char path[256];
  size_t n = str_len(dir);
  if (n >= sizeof(path)) { report(what, ": path too long", 0); return -1; }
  memcpy(path, dir, n + 1);
  mkdir_p(path);
  dbg("mounting ", dir);
  int r = sys_mount(src, dir, type, flags, data);
  if (r < 0) {
    const char *hint = 0;
    if (r == -EUCLEAN || r == -EINVAL || r == -EBADMSG)
      hint = " (a corrupt or foreign filesystem: check it on the host with e2fsck -f)";
    else if (r == -EROFS)
      hint = " (its journal needs replaying: attach it read-write once)";
    else if (r == -ENODEV)
      hint = " (this kernel lacks the filesystem: build the arrow with [kernel] features = [\"block\"])";
    mount_failed(what, src, type, dir, -r, hint);
    return -1;
  }
  return 0;
}

int storage_switch_root(void) {
  int err;
  size_t n;
  char *kind = read_file("/.arrow/rootfs", &n, &err);
  if (!kind) return 0; /* the app is in the initramfs itself */
  while (n && kind[n - 1] == '\n') kind[--n] = 0;
  if (!str_eq(kind, "erofs")) { report("/.arrow/rootfs: unknown root kind ", kind, 0); return -1; }
  char dev[16];
  if (find_disk("arrow-root", dev) < 0) { no_disk("root layer", "arrow-root"); return -1; }
  if (mount_at(dev, "/.arrow/lower", "erofs", MS_RDONLY, 0, "root layer") < 0) return -1;
  /* Writes go to RAM: a tmpfs upper layer, like a container's writable layer. */
  if (mount_at("tmpfs", "/.arrow/rw", "tmpfs", 0, "mode=0755", "root layer") < 0) return -1;
  sys_mkdir("/.arrow/rw/upper", 0755);
  sys_mkdir("/.arrow/rw/work", 0755);
  if (mount_at("overlay", "/.arrow/root", "overlay", 0,
               "lowerdir=/.arrow/lower,upperdir=/.arrow/rw/upper,workdir=/.arrow/rw/work",
               "root overlay") < 0)
    return -1;
  static const char *const keep[] = {"/dev", "/proc", "/sys"};
  for (int i = 0; i < 3; i++) {
    char to[32] = "/.arrow/root";
    memcpy(to + 12, keep[i], str_len(keep[i]) + 1);
    sys_mkdir(to, 0755);
    int r = sys_mount(keep[i], to, 0, MS_MOVE, 0);
    if (r < 0) { report("move mount ", keep[i], -r); return -1; }
  }
  /* switch_root: the overlay becomes /. The initramfs stays underneath, unreachable; it
   * holds only this program and its configuration. */
  int r = sys_chdir("/.arrow/root");
  if (r == 0) r = sys_mount(".", "/", 0, MS_MOVE, 0);
  if (r == 0) r = sys_chroot(".");
  if (r == 0) r = sys_chdir("/");
  if (r < 0) { report("switch to the root layer", 0, -r); return -1; }
  dbg("root: EROFS layer ", dev);
  return 0;
}

static char **g_vol;
static int g_mounted; /* ext4 volumes mounted so far */

void storage_read_volumes(void) {
  int err;
  g_vol = read_list("/.arrow/volumes", &err);
  if (!g_vol && err != ENOENT) report("/.arrow/volumes", 0, err);
}

int storage_mount_volumes(void) {
  for (char **v = g_vol; v && v[0] && v[1] && v[2] && v[3]; v += 4) {
    const char *kind = v[0], *serial = v[1], *path = v[2], *name = v[3];
    char what[200];
    struct line l; l.n = 0;
    ln_str(&l, "volume "); ln_str(&l, name);
    if (l.n < sizeof(what)) { memcpy(what, l.buf, l.n); what[l.n] = 0; }
    if (path[0] != '/') { report(what, ": not an absolute path", 0); return -1; }
    if (str_eq(kind, "tmpfs")) {
      struct line o; o.n = 0;
      ln_str(&o, "mode=0755,uid="); ln_num(&o, g_uid); ln_str(&o, ",gid="); ln_num(&o, g_gid);
      o.buf[o.n] = 0;
      if (mount_at("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, o.buf, what) < 0) return -1;
      continue;
    }
    int ro = str_eq(kind, "ro");
    if (!ro && !str_eq(kind, "rw")) { report(what, ": unknown volume kind", 0); return -1; }
    char dev[16];
    if (find_disk(serial, dev) < 0) { no_disk(what, serial); return -1; }
    if (mount_at(dev, path, "ext4", ro ? MS_RDONLY : 0, 0, what) < 0) return -1;
    g_mounted++;
    /* A fresh volume's root belongs to root; hand it to the app's user (as docker does for a
     * new named volume). A volume someone already gave an owner keeps it. */
    u64 st[18]; /* struct stat: st_uid at byte 28, st_gid at 32 */
    if (!ro && g_have_user && SC(SYS_stat, path, st) == 0 && (u32)(st[3] >> 32) == 0 && (u32)st[4] == 0) {
      int r = (int)SC(SYS_chown, path, g_uid, g_gid);
      if (r < 0) report("chown volume root ", path, -r);
    }
  }
  return 0;
}

void storage_unmount_volumes(void) {
  /* Every process is gone; unmount in reverse order so ext4 writes its last metadata and
   * marks the image clean (a journal left to replay would make a later :ro mount fail). A
   * volume that cannot be unmounted is at least remounted read-only, which does the same. */
  int n = 0;
  char **v = g_vol;
  for (; v && v[0] && v[1] && v[2] && v[3] && n < g_mounted; v += 4) n += !str_eq(v[0], "tmpfs");
  for (char **r = v; r > g_vol;) {
    r -= 4;
    if (str_eq(r[0], "tmpfs")) continue;
    dbg("unmounting ", r[2]);
    int e = sys_umount2(r[2], 0);
    if (e < 0) e = sys_mount(0, r[2], 0, MS_REMOUNT | MS_RDONLY, 0);
    if (e < 0) report("unmount volume ", r[3], -e);
  }
}

static char **g_dirs;

void storage_read_dirs(void) {
  int err;
  g_dirs = read_list("/.arrow/dirs", &err);
  if (!g_dirs && err != ENOENT) report("/.arrow/dirs", 0, err);
}

static u32 parse_num(const char *s, int base) {
  u32 v = 0;
  for (; *s >= '0' && *s <= '0' + (base == 8 ? 7 : 9); s++) v = v * (u32)base + (u32)(*s - '0');
  return v;
}

/* [files] dirs: "path\0mode(octal)\0uid\0gid\0" records; created (with parents), then given
 * their mode and owner even if they existed (a volume or the image may hold them already). */
int storage_make_dirs(void) {
  for (char **d = g_dirs; d && d[0] && d[1] && d[2] && d[3]; d += 4) {
    char path[256];
    size_t n = str_len(d[0]);
    if (d[0][0] != '/' || n >= sizeof(path)) { report("[files] dirs: bad path ", d[0], 0); return -1; }
    memcpy(path, d[0], n + 1);
    mkdir_p(path);
    int r = (int)SC(SYS_chown, d[0], parse_num(d[2], 10), parse_num(d[3], 10));
    if (r == 0) r = (int)SC(SYS_chmod, d[0], parse_num(d[1], 8));
    if (r < 0) { report("[files] dirs: ", d[0], -r); return -1; }
    dbg("created ", d[0]);
  }
  return 0;
}
