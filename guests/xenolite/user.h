/*
 * user.h — the user side of xenolite: system-call stubs and the rules for
 * user code (included only by user_*.c).
 *
 * The user programs are linked into the kernel image (guest.ld collects
 * them between __user_start and __user_end) and the kernel copies those
 * pages into every new process at USER_TEXT, a different address from the
 * one they were linked at. So user code must be position-independent, and
 * is, by these rules (the test suite disassembles it to check):
 *
 *  - no global or static variables (the data would stay in the kernel:
 *    guest.ld discards .user.data/.user.bss/.user.rodata, so the link fails);
 *  - no string literals except through USTR(), and no switch statements
 *    (clang would place both in the kernel's .rodata and use their absolute
 *    kernel addresses);
 *  - no calls to kernel functions (memset, memcpy — beware of loops the
 *    compiler turns into them) — calls between user functions are
 *    PC-relative and so survive the move.
 */
#ifndef XENOLITE_USER_H
#define XENOLITE_USER_H

#include <stdarg.h>
#include "param.h"
#include "syscall.h"

/* Everything below, and in the file that includes this, is user code. */
#pragma clang section text=".user.text" data=".user.data" bss=".user.bss" rodata=".user.rodata"

/*
 * A string literal the position-independent way: the first asm puts the
 * string into .user.str (after the user code, inside the copied pages) at
 * local label 2; the second computes its address from the current EIP
 * (call/pop) plus the distance 2b-1b, which the linker fills in as a
 * PC-relative value. Two statements, because a format's '%' would be an
 * operand escape in an asm with operands; both volatile, so they stay in
 * order and "2b" names this string.
 */
#define USTR(s) ({                                                      \
    const char *ustr_;                                                  \
    asm volatile(".pushsection .user.str,\"a\"\n2:\t.asciz " #s "\n\t.popsection"); \
    asm volatile("call 1f\n1:\tpopl %0\n\taddl $2b-1b, %0" : "=r"(ustr_)); \
    ustr_;                                                              \
})

static inline int syscall3(int num, unsigned int a, unsigned int b, unsigned int c)
{
    int ret;

    asm volatile("int $0x80" : "=a"(ret) : "a"(num), "b"(a), "c"(b), "d"(c) : "memory");
    return ret;
}

static inline int write(int fd, const void *buf, unsigned int n)
{
    return syscall3(SYS_write, (unsigned int)fd, (unsigned int)buf, n);
}

static inline int fork(void) { return syscall3(SYS_fork, 0, 0, 0); }
static inline int getpid(void) { return syscall3(SYS_getpid, 0, 0, 0); }
static inline int yield(void) { return syscall3(SYS_yield, 0, 0, 0); }

static inline int wait(int *status)
{
    return syscall3(SYS_wait, (unsigned int)status, 0, 0);
}

static inline void exit(int status)
{
    syscall3(SYS_exit, (unsigned int)status, 0, 0);
    for (;;)
        ;
}

static inline int sysinfo(struct sysinfo *info)
{
    return syscall3(SYS_sysinfo, (unsigned int)info, 0, 0);
}

/* Sleep until ms milliseconds of system time have passed (needs the clock tick). */
static inline int sleep(unsigned int ms) { return syscall3(SYS_sleep, ms, 0, 0); }
/* System time in microseconds, from the kernel. */
static inline unsigned int uptime(void) { return (unsigned int)syscall3(SYS_uptime, 0, 0, 0); }

/* System time in ns, low 32 bits: rdtsc traps to Xen even from ring 3, and Xen emulates it. */
static inline unsigned int rdtsc_lo(void)
{
    unsigned int lo, hi;

    asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return lo;
}

static inline void poweroff(void)
{
    syscall3(SYS_poweroff, 0, 0, 0);
}

/* N of "key=N" on the kernel's command line, or dflt (key: a USTR string). */
static inline unsigned int param(const char *key, unsigned int dflt)
{
    return (unsigned int)syscall3(SYS_param, (unsigned int)key, dflt, 0);
}

/* The virtual disk: sectors of 512 bytes; buffers 512-byte aligned (the kernel hands the
 * pages themselves to domain 0); n | BLK_BARRIER makes a write a reorder barrier. */
static inline int blkinfo(struct blkinfo *info)
{
    return syscall3(SYS_blkinfo, (unsigned int)info, 0, 0);
}

static inline int blkread(unsigned int sector, void *buf, unsigned int n)
{
    return syscall3(SYS_blkread, sector, (unsigned int)buf, n);
}

static inline int blkwrite(unsigned int sector, const void *buf, unsigned int n)
{
    return syscall3(SYS_blkwrite, sector, (unsigned int)buf, n);
}

static inline int blkflush(void) { return syscall3(SYS_blkflush, 0, 0, 0); }

/* The network (UDP over the VIF): see syscall.h. */
static inline int netinfo(struct netinfo *info)
{
    return syscall3(SYS_netinfo, (unsigned int)info, 0, 0);
}

static inline int netbind(unsigned int port) { return syscall3(SYS_netbind, port, 0, 0); }

static inline int netsend(const struct udp_addr *to, const void *buf, unsigned int n)
{
    return syscall3(SYS_netsend, (unsigned int)to, (unsigned int)buf, n);
}

static inline int netrecv(struct udp_addr *from, void *buf, unsigned int n)
{
    return syscall3(SYS_netrecv, (unsigned int)from, (unsigned int)buf, n);
}

/* user_lib.c: printf to the console: %d %u %x %s %c %%, with a width and a '0' flag. */
void uprintf(const char *fmt, ...);

/* user_init.c, user_worker.c, user_probe.c, user_spin.c, user_blk.c, user_ttcp.c */
void init_main(int nworkers, int probes, int prefault_kib, int spin) __attribute__((noreturn));
void run_spin(void);
unsigned int worker(int id);
void probe(int kind);
void blk_main(void);                    /* user_blk.c: "blk=1" */
void ttcp_main(const struct netinfo *ni);   /* user_ttcp.c: "ttcp=tx|rx|echo" */
#define NPROBES 4

#endif /* XENOLITE_USER_H */
