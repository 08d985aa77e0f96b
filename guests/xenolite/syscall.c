/*
 * syscall.c — the system calls, dispatched through one table by the number
 * in EAX (syscall.h). Arguments come from the trap frame's EBX, ECX, EDX;
 * the result goes back in EAX. Pointers are user addresses: the kernel
 * reaches them only through copyin/copyout.
 */
#include <cmdline.h>
#include <console.h>
#include <hypervisor.h>
#include "defs.h"
#include "proc.h"
#include "syscall.h"
#include "drivers/blkfront.h"
#include "drivers/netfront.h"

/* write(fd, buf, n): fd 1 and 2 are the Xen console. */
static int sys_write(struct trapframe *tf)
{
    unsigned long va = tf->ecx, n = tf->edx, done = 0;
    char buf[128];

    if (tf->ebx != 1 && tf->ebx != 2)
        return -1;
    while (done < n) {
        unsigned long chunk = n - done < sizeof(buf) ? n - done : sizeof(buf);

        if (copyin(curproc->l3, buf, va + done, chunk) < 0)
            return -1;
        xen_console_write(buf, (int)chunk);
        done += chunk;
    }
    return (int)n;
}

static int sys_fork(struct trapframe *tf)
{
    return fork();
}

static int sys_exit(struct trapframe *tf)
{
    exit((int)tf->ebx);
}

static int sys_wait(struct trapframe *tf)
{
    return wait(tf->ebx);
}

static int sys_getpid(struct trapframe *tf)
{
    return curproc->pid;
}

static int sys_yield(struct trapframe *tf)
{
    yield();
    return 0;
}

static int sys_sysinfo(struct trapframe *tf)
{
    struct sysinfo info = {
        .page_faults = nr_page_faults,
        .zero_fills = vm_stats.zero_fills,
        .cow_copies = vm_stats.cow_copies,
        .mmu_batches = mmu_stats.batches,
        .mmu_updates = mmu_stats.updates,
        .free_pages = kfree_count(),
        .ticks = nr_ticks,
        .preemptions = nr_preemptions,
        .upcalls = nr_event_upcalls,
    };

    return copyout(curproc->l3, tf->ebx, &info, sizeof(info));
}

static int sys_sleep(struct trapframe *tf)
{
    return sleep_ms(tf->ebx);
}

static int sys_uptime(struct trapframe *tf)
{
    return (int)(uint32_t)(arch_system_time() / 1000);
}

/* param(key, dflt): a number from the kernel's command line (init's "argv"). */
static int sys_param(struct trapframe *tf)
{
    char key[32];
    unsigned int i;

    for (i = 0; i < sizeof(key); i++) {
        if (copyin(curproc->l3, &key[i], tf->ebx + i, 1) < 0)
            return (int)tf->ecx;
        if (!key[i])
            return (int)cmdline_ulong(boot_cmdline, key, tf->ecx);
    }
    return (int)tf->ecx;                /* no key is that long */
}

static int sys_blkinfo(struct trapframe *tf)
{
    struct blkinfo info;

    if (blkfront_info(&info) < 0)
        return -1;
    return copyout(curproc->l3, tf->ebx, &info, sizeof(info));
}

static int sys_blkread(struct trapframe *tf)
{
    return blkfront_rw(0, tf->ebx, curproc->l3, tf->ecx, tf->edx);
}

static int sys_blkwrite(struct trapframe *tf)
{
    int barrier = (tf->edx & BLK_BARRIER) != 0;

    return blkfront_rw(barrier ? 2 : 1, tf->ebx, curproc->l3, tf->ecx, tf->edx & ~BLK_BARRIER);
}

static int sys_blkflush(struct trapframe *tf)
{
    return blkfront_flush();
}

static int sys_netinfo(struct trapframe *tf)
{
    struct netinfo info;

    if (netfront_info(&info) < 0)
        return -1;
    return copyout(curproc->l3, tf->ebx, &info, sizeof(info));
}

static int sys_netbind(struct trapframe *tf)
{
    netfront_bind(tf->ebx);
    return 0;
}

static int sys_netsend(struct trapframe *tf)
{
    struct udp_addr to;

    if (copyin(curproc->l3, &to, tf->ebx, sizeof(to)) < 0)
        return -1;
    return netfront_send(&to, curproc->l3, tf->ecx, tf->edx);
}

static int sys_netrecv(struct trapframe *tf)
{
    struct udp_addr from;
    int n = netfront_recv(&from, curproc->l3, tf->ecx, tf->edx);

    if (n >= 0 && copyout(curproc->l3, tf->ebx, &from, sizeof(from)) < 0)
        return -1;
    return n;
}

/* poweroff(): init's last word. The kernel's own account, then SHUTDOWN_poweroff. */
static int sys_poweroff(struct trapframe *tf)
{
    if (curproc->pid != 1)
        return -1;
    printk("kernel: %u page faults: %u zero-filled, %u copied on write, "
           "%u reclaimed by the last sharer\n",
           nr_page_faults, vm_stats.zero_fills, vm_stats.cow_copies, vm_stats.cow_reuses);
    printk("kernel: %u mmu_update batches carried %u page-table updates (largest %u)\n",
           mmu_stats.batches, mmu_stats.updates, mmu_stats.largest);
    printk("kernel: power off\n");
    shutdown(SHUTDOWN_poweroff);
}

static int (*const syscalls[NSYSCALLS])(struct trapframe *) = {
    [SYS_write]    = sys_write,
    [SYS_fork]     = sys_fork,
    [SYS_exit]     = sys_exit,
    [SYS_wait]     = sys_wait,
    [SYS_getpid]   = sys_getpid,
    [SYS_yield]    = sys_yield,
    [SYS_sysinfo]  = sys_sysinfo,
    [SYS_poweroff] = sys_poweroff,
    [SYS_sleep]    = sys_sleep,
    [SYS_uptime]   = sys_uptime,
    [SYS_netinfo]  = sys_netinfo,
    [SYS_netbind]  = sys_netbind,
    [SYS_netsend]  = sys_netsend,
    [SYS_netrecv]  = sys_netrecv,
    [SYS_param]    = sys_param,
    [SYS_blkinfo]  = sys_blkinfo,
    [SYS_blkread]  = sys_blkread,
    [SYS_blkwrite] = sys_blkwrite,
    [SYS_blkflush] = sys_blkflush,
};

void syscall(struct trapframe *tf)
{
    uint32_t num = tf->eax;

    if (num < NSYSCALLS && syscalls[num])
        tf->eax = (uint32_t)syscalls[num](tf);
    else {
        printk("pid %d: unknown system call %u\n", curproc->pid, num);
        tf->eax = (uint32_t)-1;
    }
}
