/*
 * drivers/blkfront.h — the virtual block device's front end (blkfront.c),
 * as the rest of the kernel (main.c, syscall.c) sees it.
 */
#ifndef XENOLITE_BLKFRONT_H
#define XENOLITE_BLKFRONT_H

#include "arch.h"

struct blkinfo;

/* Find device/vbd/<devid> in xenstore and connect to its back end: 0, or
 * -1 if there is no disk (or no xenstore: a bare Xen), quietly. */
int blkfront_init(start_info_t *si);

/* The disk's size and the driver's counters: 0, or -1 without a disk. */
int blkfront_info(struct blkinfo *info);

/*
 * Move nsect 512-byte sectors between the disk, from `sector` on, and the
 * user memory of l3 at va (512-byte aligned), straight into or out of the
 * user's own pages (no copy). write: 0 read, 1 write, 2 write whose last
 * request is a reorder barrier. Returns nsect, or -1 on any error.
 */
int blkfront_rw(int write, unsigned long sector, pte_t *l3, unsigned long va,
                unsigned long nsect);

/* BLKIF_OP_FLUSH_DISKCACHE: 0 once every acknowledged write is on stable storage. */
int blkfront_flush(void);

#endif /* XENOLITE_BLKFRONT_H */
