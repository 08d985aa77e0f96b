/*
 * syscall.c — the system calls, dispatched through one table by the number
 * in EAX (syscall.h). Arguments come from the trap frame's EBX, ECX, EDX;
 * the result goes back in EAX. Pointers are user addresses: the kernel
 * reaches them only through copyin/copyout.
 */
#include <console.h>
#include <hypervisor.h>
#include "defs.h"
#include "proc.h"
#include "syscall.h"

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
