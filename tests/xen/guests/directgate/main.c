/*
 * directgate — try to make the CPU's own delivery of int $0x80 fault, which
 * Xen could not reflect (xen/traps.py: arm_direct_trap).  cmdline "case=":
 *   1  arm the gate with two good calls, then unmap the kernel stack's page
 *      and call again: the TLB flush disarms the gate, so the call comes
 *      through Xen, whose bounce frame cannot be written: the domain dies.
 *   2  a handler in Xen's hole: never armed; the bounce lands on an address
 *      the guest cannot fetch, and the domain dies.
 *   3  a kernel stack in Xen's hole: never armed; the bounce frame cannot be
 *      written, and the domain dies.
 */
#include <cmdline.h>
#include <console.h>
#include <hypercall.h>
#include <hypervisor.h>

void sys_entry(void);
void back_entry(void);
void user_main(void);
unsigned long kernel_stack[2048] __attribute__((aligned(4096)));
unsigned long other_stack[1024];
static unsigned long user_stack[256];
unsigned long calls, which;

asm(".text\n"
    "sys_entry:\n"
    "    incl calls\n"
    "    iret\n"
    "back_entry:\n"                 /* ring 1, on kernel_stack: move off it */
    "    movl $other_stack + 4096, %esp\n"
    "    call pull_the_stack\n"
    "user_main:\n"                  /* ring 3 */
    "    int $0x80\n"
    "    int $0x80\n"
    "    cmpl $1, which\n"
    "    jne 1f\n"
    "    int $0x83\n"
    "1:  int $0x80\n"
    "    hlt\n");                   /* not reached: Xen crashes the domain first */

static void to_user(void)
{
    asm volatile("pushl %0\n\tpushl %1\n\tpushl $0x202\n\tpushl %2\n\tpushl %3\n\tiret"
                 : : "i"(FLAT_RING3_SS), "r"(&user_stack[256]), "i"(FLAT_RING3_CS),
                     "r"(user_main)
                 : "memory");
}

void pull_the_stack(void)
{
    unsigned long top_page = (unsigned long)&kernel_stack[1024];
    printk("directgate: %lu calls made; unmapping the kernel stack\n", calls);
    HYPERVISOR_update_va_mapping(top_page, 0, UVMF_INVLPG);
    to_user();
}

void start_kernel(start_info_t *si)
{
    static struct trap_info traps[] = {
        { 0x80, 3, FLAT_RING1_CS, (unsigned long)sys_entry },
        { 0x83, 3, FLAT_RING1_CS, (unsigned long)back_entry },
        { 0, 0, 0, 0 },
    };
    unsigned long stack = (unsigned long)&kernel_stack[2048];

    which = cmdline_ulong((const char *)si->cmd_line, "case", 1);
    if (which == 2)
        traps[0].address = 0xF6000000UL;
    if (which == 3)
        stack = 0xF6001000UL;
    HYPERVISOR_set_trap_table(traps);
    HYPERVISOR_stack_switch(FLAT_RING1_SS, stack);
    printk("directgate: case %lu\n", which);
    to_user();
}
