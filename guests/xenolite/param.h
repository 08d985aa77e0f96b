/*
 * param.h — xenolite's sizes and its memory map.
 *
 * Virtual memory of every process (32-bit PAE, paper §3.3.3):
 *
 *   0x00000000 ┌──────────────────────┐ L3 slots 0-2: this process's own L2s and L1s
 *   0x00400000 │ user text (copied)   │ USER_TEXT: the user programs, read-only
 *   0x00700000 │ user stack           │ demand-zero, grows down from USER_STACK_TOP
 *   0x00800000 │                      │
 *   0x01000000 │ user heap            │ demand-zero window [USER_HEAP, USER_HEAP_END)
 *   0x01400000 │                      │
 *   0xC0000000 ├──────────────────────┤ L3 slot 3: the kernel's top L2, the SAME frame
 *              │ direct map           │ in every address space (KERNBASE + pfn * 4096,
 *              │                      │ supervisor-only)
 *   0xF5800000 │ Xen's hole           │ L2 slots 428-511, filled by Xen
 *              └──────────────────────┘
 */
#ifndef XENOLITE_PARAM_H
#define XENOLITE_PARAM_H

#define NPROC           16              /* size of the process table */
#define KSTACKSIZE      4096            /* one page of kernel stack per process */
#define DEFAULT_WORKERS 3               /* init's workers unless "workers=N" */
#define MAXWORKERS      (NPROC - 2)

#define KERNBASE        0xC0000000UL    /* VIRT_BASE: the kernel half starts here */
#define MAX_PAGES       32768           /* the direct map covers at most 128 MiB */

#define USER_TEXT       0x00400000UL
#define USER_STACK_LOW  0x00700000UL
#define USER_STACK_TOP  0x00800000UL
#define USER_HEAP       0x01000000UL
#define USER_HEAP_END   0x01400000UL
#define USER_TOP        KERNBASE        /* user addresses are below the kernel */

#endif /* XENOLITE_PARAM_H */
