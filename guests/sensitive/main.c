/*
 * sensitive — the instructions Popek and Goldberg would call "sensitive
 * but unprivileged": they expose or change machine state a hypervisor
 * must control, yet in ring 1 they neither fault nor do what a kernel
 * expects. A trap-and-emulate monitor never sees them (paper §2.1.2:
 * this is why Xen paravirtualizes instead). Each line below prints what
 * the instruction observed. rdtsc is the contrast: CR4.TSD makes it
 * privileged, so it traps and Xen emulates it.
 *
 * Last, the system-call path: from ring 3, int $0x80 reaches the guest
 * kernel only because its trap-table entry has DPL 3; int $0x81 has no
 * entry and becomes #GP (error code 0x81 << 3 | 2).
 */
#include <console.h>
#include <hypercall.h>
#include <hypervisor.h>
#include <lib.h>

#define EFLAGS_IF   (1UL << 9)
#define EFLAGS_IOPL (3UL << 12)

struct __attribute__((packed)) dtr {
    unsigned short limit;
    unsigned long base;
};

static unsigned long read_eflags(void)
{
    unsigned long flags;

    asm volatile("pushfl\n\tpopl %0" : "=r"(flags) : : "memory");
    return flags;
}

static void write_eflags(unsigned long flags)
{
    asm volatile("pushl %0\n\tpopfl" : : "r"(flags) : "memory", "cc");
}

static void try_sgdt(void)
{
    struct dtr gdt = { 0, 0 };

    asm volatile("sgdt %0" : "=m"(gdt));
    printk("sgdt: base=0x%08lx limit=0x%04x (%s)\n", gdt.base, gdt.limit,
           gdt.base >= HYPERVISOR_VIRT_START ? "Xen's GDT, in the hypervisor hole"
                                             : "below the hole");
}

static void try_sidt(void)
{
    struct dtr idt = { 0, 0 };

    asm volatile("sidt %0" : "=m"(idt));
    printk("sidt: base=0x%08lx limit=0x%04x (not the guest's trap table)\n", idt.base, idt.limit);
}

static void try_smsw(void)
{
    unsigned long msw = 0;

    asm volatile("smsw %0" : "=r"(msw));
    msw &= 0xffff;
    printk("smsw: cr0[15:0]=0x%04lx PE=%lu (the real CR0: protected mode on)\n", msw, msw & 1);
}

static void try_popf(void)
{
    unsigned long before = read_eflags(), after;

    write_eflags(before & ~EFLAGS_IF);      /* "cli" by popf: no #GP in ring 1 ... */
    after = read_eflags();
    printk("popf: IOPL=%lu IF before=%lu, popf with IF=0, IF after=%lu (%s)\n",
           (before & EFLAGS_IOPL) >> 12, (before & EFLAGS_IF) >> 9, (after & EFLAGS_IF) >> 9,
           after & EFLAGS_IF ? "change silently ignored" : "IF cleared");
}

static void try_rdtsc(void)
{
    unsigned long lo0, hi0, lo1, hi1;

    asm volatile("rdtsc" : "=a"(lo0), "=d"(hi0));
    asm volatile("rdtsc" : "=a"(lo1), "=d"(hi1));
    printk("rdtsc: %lu then %lu (trapped and emulated: virtual ns, %lu apart)\n",
           lo0, lo1, lo1 - lo0);
}

void user_code(void);
void syscall_entry(void);
void gp_entry(void);

static unsigned long user_stack[256];
static unsigned long kernel_stack[1024];

/* Called by syscall_entry in ring 1 with Xen's bounce frame: EIP CS EFLAGS ESP SS. */
void on_syscall(long nr, unsigned long *frame)
{
    printk("int $0x80 from ring 3: handler ran, eax=%ld, saved cs=0x%04lx ss=0x%04lx\n",
           nr, frame[1] & 0xffff, frame[4] & 0xffff);
}

/* Called by gp_entry with the frame: error code, EIP, CS, EFLAGS, ESP, SS. */
void on_ring3_gp(long eax, unsigned long *frame)
{
    printk("int $0x81 from ring 3: #GP error=0x%lx (vector 0x%lx), saved cs=0x%04lx\n",
           frame[0], frame[0] >> 3, frame[2] & 0xffff);
    (void)eax;
    printk("sensitive: done\n");
    shutdown(SHUTDOWN_poweroff);
}

void start_kernel(start_info_t *si)
{
    static struct trap_info traps[] = {
        { 13, 0, FLAT_RING1_CS, (unsigned long)gp_entry },
        { 0x80, 3, FLAT_RING1_CS, (unsigned long)syscall_entry },   /* DPL 3: user may int */
        { 0, 0, 0, 0 },
    };
    unsigned long *top = &user_stack[ARRAY_SIZE(user_stack)];

    (void)si;
    try_sgdt();
    try_sidt();
    try_smsw();
    try_popf();
    try_rdtsc();
    printk("sensitive: none of these faulted\n");

    HYPERVISOR_set_trap_table(traps);
    HYPERVISOR_stack_switch(FLAT_RING1_SS, (unsigned long)&kernel_stack[ARRAY_SIZE(kernel_stack)]);
    /* iret to ring 3 (the frame a hardware interrupt return expects). */
    asm volatile("pushl %0\n\tpushl %1\n\tpushl $0x202\n\tpushl %2\n\tpushl %3\n\tiret"
                 : : "i"(FLAT_RING3_SS), "r"(top), "i"(FLAT_RING3_CS), "r"(user_code) : "memory");
    for (;;)
        ;
}
