/*
 * xenbus.h — talking to xenstore from a guest (Xen 3; Mini-OS's xenbus.c).
 *
 * The store is domain 0's shared directory tree: a guest reads its own
 * name and id there at boot, and split front/back drivers find each other
 * through it. Messages (io/xs_wire.h: a 16-byte header, then a payload)
 * travel through the page start_info.store_mfn names, one byte ring each
 * way, with the event channel start_info.store_evtchn.
 *
 * Every call waits for its reply (yielding the CPU meanwhile: domain 0's
 * xenstored runs between other domains' slices). Errors are -errno, from
 * the name xenstored sends ("ENOENT" -> -2).
 */
#ifndef __XENBUS_H__
#define __XENBUS_H__

#include <xen/xen.h>

/* Connect to the store: 0, or -1 on a host with no xenstored. */
int xenbus_init(const start_info_t *si);

/* Read path's value into buf (NUL-terminated): its length, or -errno. */
int xenbus_read(const char *path, char *buf, int len);
/* Write value at path (parents are created): 0 or -errno. */
int xenbus_write(const char *path, const char *value);
int xenbus_mkdir(const char *path);
int xenbus_rm(const char *path);
/* The children of path, each NUL-terminated, into buf: how many, or -errno. */
int xenbus_directory(const char *path, char *buf, int len);
/* Read an unsigned number (decimal) from path: 0 or -errno. */
int xenbus_read_ulong(const char *path, unsigned long *value);

/* The same under a device directory: dir/key. */
int xenbus_read_key(const char *dir, const char *key, char *buf, int len);
int xenbus_read_key_ulong(const char *dir, const char *key, unsigned long *value);
int xenbus_write_key_ulong(const char *dir, const char *key, unsigned long value);

/*
 * A front end's last step of the handshake: wait until the back end at
 * `backend` says Connected (xen/io/xenbus.h). 0, or -1 if it closed instead
 * (its "error" key is printed, prefixed with `who`).
 */
int xenbus_wait_connected(const char *backend, const char *who);

/* Watch path (and everything below it), naming the watch with token. */
int xenbus_watch(const char *path, const char *token);
int xenbus_unwatch(const char *path, const char *token);
/* Wait for the next watch event: the changed path and its token. */
int xenbus_wait_watch(char *path, int plen, char *token, int tlen);

#endif /* __XENBUS_H__ */
