/*
 * bench_syscall — the system-call bounce of paper §2.1.2: a user program in
 * ring 3 makes `n` null system calls with int $0x80; each traps into Xen,
 * which bounces it to the kernel's handler in ring 1 (the trap table entry
 * has DPL 3), which returns straight to ring 3 with iret.  A final
 * int $0x81 ends the run.  With "bounce=1" the entry also asks for events
 * to be masked on entry, which only Xen can do: every call then takes
 * Xen's bounce instead of the direct gate (xen/traps.py).
 */
#include <cmdline.h>
#include <console.h>
#include <hypercall.h>
#include <hypervisor.h>

void syscall_entry(void);
void exit_entry(void);
void user_loop(void);
static unsigned long kernel_stack[1024];
static unsigned long user_stack[256];
unsigned long iterations;

asm(".text\n"
    "syscall_entry:\n"
    "    iret\n"                       /* the null system call */
    "exit_entry:\n"
    "    call bench_done\n"
    "user_loop:\n"                     /* ring 3 */
    "    movl iterations, %ecx\n"
    "1:  int $0x80\n"
    "    loop 1b\n"
    "    int $0x81\n");

void bench_done(void)
{
    printk("%lu system calls from ring 3\n", iterations);
    shutdown(SHUTDOWN_poweroff);
}

void start_kernel(start_info_t *si)
{
    static struct trap_info traps[] = {
        { 0x80, 3, FLAT_RING1_CS, (unsigned long)syscall_entry },
        { 0x81, 3, FLAT_RING1_CS, (unsigned long)exit_entry },
        { 0, 0, 0, 0 },
    };

    iterations = cmdline_ulong((const char *)si->cmd_line, "n", 100000);
    if (cmdline_ulong((const char *)si->cmd_line, "bounce", 0))
        traps[0].flags |= 4;  /* TI_SET_IF: "clear the event mask on entry" */
    HYPERVISOR_set_trap_table(traps);
    HYPERVISOR_stack_switch(FLAT_RING1_SS, (unsigned long)&kernel_stack[1024]);
    asm volatile("pushl %0\n\tpushl %1\n\tpushl $0x202\n\tpushl %2\n\tpushl %3\n\tiret"
                 : : "i"(FLAT_RING3_SS), "r"(&user_stack[256]), "i"(FLAT_RING3_CS), "r"(user_loop)
                 : "memory");
}
