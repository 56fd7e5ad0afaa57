/* init.h — what arrow_init.c shares with the other parts of arrow-init (storage.c). */
#ifndef ARROW_INIT_H
#define ARROW_INIT_H

#include "sys.h"

extern int g_debug;

void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);

/* "arrow-init: <what>[<arg>]: <errno>" to the console (fd 2). */
void report(const char *what, const char *arg, int err);
void dbg(const char *what, const char *arg);
void *alloc(size_t n);
/* A whole file, NUL-terminated; 0 with *err set on failure. */
char *read_file(const char *path, size_t *len, int *err);
/* A file of NUL-separated strings as a NULL-terminated vector; 0 with *err on failure. */
char **read_list(const char *path, int *err);
void mkdir_p(char *path);

/* The app's user from /.arrow/user ("uid:gid"); g_have_user 0 = root. */
extern int g_have_user;
extern u32 g_uid, g_gid;

/* storage.c: called after the modules are loaded, before anything else is mounted.
 * With /.arrow/rootfs in the initramfs: mounts the EROFS disk (serial arrow-root) under a
 * tmpfs overlay and makes it the root, moving /dev, /proc and /sys along. Returns 0, or -1
 * after reporting why the root could not be mounted. */
int storage_switch_root(void);
/* Mounts what /.arrow/volumes lists (read before the root switch by storage_read_volumes):
 * ext4 disks by serial, read-write or read-only, and tmpfs for declared volumes without an
 * image. Returns 0, or -1 after naming the volume that failed. */
void storage_read_volumes(void);
int storage_mount_volumes(void);
/* [files] dirs (/.arrow/dirs): read before the root switch, made after the volumes are mounted.
 * storage_make_dirs returns 0, or -1 after naming the directory it could not make. */
void storage_read_dirs(void);
int storage_make_dirs(void);
/* At exit: unmounts the mounted ext4 volumes (clean images, nothing left to replay). */
void storage_unmount_volumes(void);

/* The control channel (arrow_init.c): whether it is open, and a whole write of n bytes
 * (waits while the UART is busy, bounded; -1 if it did not go out). */
int ctl_ready(void);
int ctl_write(const char *buf, size_t n);

/* trace.c: the fanotify recorder of traced runs (arrow.trace=1). trace_start: marks the root
 * mount (after the root switch, before the app), returns the fanotify fd or -1 after sending
 * why on the channel; trace_read: sends what is queued; trace_finish: the rest, then the end
 * line. */
int trace_start(void);
int trace_fd(void);
void trace_read(void);
void trace_finish(void);

#endif
