/*
 * syscall.h — the system-call interface, shared by the kernel and the user
 * programs: `int $0x80` with the number in EAX, arguments in EBX, ECX, EDX,
 * the result in EAX (negative on failure).
 */
#ifndef XENOLITE_SYSCALL_H
#define XENOLITE_SYSCALL_H

#define SYS_write       1       /* write(fd, buf, n) -> n */
#define SYS_fork        2       /* fork() -> child's pid in the parent, 0 in the child */
#define SYS_exit        3       /* exit(status): never returns */
#define SYS_wait        4       /* wait(&status) -> pid of an exited child, or -1 */
#define SYS_getpid      5       /* getpid() -> pid */
#define SYS_yield       6       /* yield(): let the other processes run */
#define SYS_sysinfo     7       /* sysinfo(&info) -> 0: the kernel's counters */
#define SYS_poweroff    8       /* poweroff(): init only; ends the domain */
#define SYS_sleep       9       /* sleep(ms) -> 0: wake when ms of system time have passed
                                   (-1 if the clock tick is off) */
#define SYS_uptime      10      /* uptime() -> system time in microseconds */
/* The network (drivers/netfront.c): UDP over the VIF. Addresses are IPv4 numbers in host
 * order (10.0.0.1 is 0x0a000001). */
#define SYS_netinfo     11      /* netinfo(&info) -> 0, or -1 if there is no VIF */
#define SYS_netbind     12      /* netbind(port) -> 0: receive on, and send from, UDP port */
#define SYS_netsend     13      /* netsend(&to, buf, n) -> n: one datagram, or -1 */
#define SYS_netrecv     14      /* netrecv(&from, buf, n) -> the next datagram's length (at
                                   most n bytes copied), waiting for it; or -1 */
/* 15-19: free. The virtual disk (drivers/blkfront.c), and the command line: */
#define SYS_param       20      /* param(key, dflt) -> N of "key=N" on the kernel's
                                   command line, or dflt */
#define SYS_blkinfo     21      /* blkinfo(&info) -> 0, or -1 if there is no disk */
#define SYS_blkread     22      /* blkread(sector, buf, n) -> n: n sectors into buf
                                   (512-byte aligned), or -1 */
#define SYS_blkwrite    23      /* blkwrite(sector, buf, n [| BLK_BARRIER]) -> n, once the
                                   back end has the data, or -1 */
#define SYS_blkflush    24      /* blkflush() -> 0 once acknowledged writes are durable */
#define NSYSCALLS       25

/* blkwrite's count may carry this flag: the write is a reorder barrier (BLKIF_OP_WRITE_BARRIER). */
#define BLK_BARRIER     0x80000000u

/* Where a datagram goes to or came from. */
struct udp_addr {
    unsigned int ip;
    unsigned int port;
};

/* netinfo.ttcp: what "ttcp=" on the command line asks the user program to do. */
#define TTCP_TX         1
#define TTCP_RX         2
#define TTCP_ECHO       3

/* What netinfo() reports: the VIF's addresses, the network options, the driver's counters. */
struct netinfo {
    unsigned char mac[6];
    unsigned short holdoff;     /* "holdoff=K": one notification per K received packets */
    unsigned int ip;
    unsigned int ttcp;          /* TTCP_*, or 0 */
    unsigned int peer;          /* "peer=a.b.c.d", or 0 */
    unsigned int tx_packets;    /* datagrams sent */
    unsigned int tx_errors;     /* answered DROPPED (by the firewall-router) or ERROR */
    unsigned int tx_kicks;      /* notifications sent to domain 0 (both rings) */
    unsigned int rx_packets;    /* datagrams handed to netrecv */
    unsigned int rx_flips;      /* pages received by page flipping */
    unsigned int rx_waits;      /* times netrecv slept for want of a packet */
    unsigned int rx_wakeups;    /* ... and was woken by domain 0 (not by a timeout) */
    unsigned int rx_ignored;    /* frames not for our address and port, refused pages */
};

/* What blkinfo() reports. */
struct blkinfo {
    unsigned int sectors;       /* size of the disk in sectors */
    unsigned int sector_size;   /* 512 */
    unsigned int readonly;      /* 1: writes are refused */
    unsigned int requests;      /* blkif requests sent so far */
    unsigned int errors;        /* responses with an error status */
};

/* What sysinfo() reports. */
struct sysinfo {
    unsigned int page_faults;   /* #PF traps taken */
    unsigned int zero_fills;    /* demand-zero pages handed out */
    unsigned int cow_copies;    /* pages copied on a write to a shared page */
    unsigned int mmu_batches;   /* mmu_update hypercalls (queue flushes) */
    unsigned int mmu_updates;   /* page-table writes they carried */
    unsigned int free_pages;    /* pages on the free list */
    unsigned int ticks;         /* clock ticks (VIRQ_TIMER) handled */
    unsigned int preemptions;   /* processes the tick made give way */
    unsigned int upcalls;       /* event upcalls taken */
};

#endif /* XENOLITE_SYSCALL_H */
