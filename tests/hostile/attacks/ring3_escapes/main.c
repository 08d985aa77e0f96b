/*
 * ring3_escapes — a PV kernel runs in ring 1 and its processes in ring 3.  From ring 3:
 * int $0x82 (a hypercall) must raise #GP with the IDT error code 0x82<<3|2 instead of
 * reaching Xen (its gate has DPL 1); the M2P and Xen's GDT page are supervisor-only, so a
 * load or store faults with the user bit in the error code; an int with no trap-table
 * entry, and a load of CR3, raise #GP.  Each fault bounces to my ring-1 handler, which
 * resumes ring 3 after the instruction; a DPL-3 int $0x81 brings the guest back.
 */
#include "common.h"

static unsigned long user_stack[256];
static unsigned long kernel_stack[1024];
void ring3_code(void);
void back_in_ring1(void);

asm(".text\n"
    "ring3_code:\n"
    "    movl $1f, fault_resume\n"
    "    movl $17, %eax\n"              /* __HYPERVISOR_xen_version */
    "    xorl %ebx, %ebx\n"
    "    int $0x82\n"
    "1:  movl $2f, fault_resume\n"
    "    movl $0x1234, 0xf5800000\n"    /* store to the M2P */
    "2:  movl $3f, fault_resume\n"
    "    movl 0xf5800000, %eax\n"       /* load from the M2P */
    "3:  movl $4f, fault_resume\n"
    "    movl 0xfc00e000, %eax\n"       /* load from Xen's GDT page */
    "4:  movl $5f, fault_resume\n"
    "    int $0x80\n"                   /* no trap-table entry */
    "5:  movl $6f, fault_resume\n"
    "    movl %eax, %cr3\n"
    "6:  int $0x81\n"                   /* DPL 3: back to ring 1 */
    "    jmp .\n"
    "back_in_ring1:\n"
    "    call ring3_done\n");

__attribute__((used, noreturn)) void ring3_done(void)
{
    static const struct { unsigned long vector, error, cr2; const char *what; } want[] = {
        { 13, 0x82 << 3 | 2, 0, "int $0x82 (hypercall)" },
        { 14, 0x7, 0xF5800000UL, "store to the M2P" },
        { 14, 0x5, 0xF5800000UL, "load from the M2P" },
        { 14, 0x5, XEN_GDT_PAGE, "load from Xen's GDT page" },
        { 13, 0x80 << 3 | 2, 0, "int $0x80 (no handler)" },
        { 13, 0, 0, "mov to %cr3" },
    };
    unsigned int i;

    printk("back in ring 1\n");
    check(nr_faults, 6, "faults taken in ring 3");
    for (i = 0; i < 6 && i < nr_faults; i++) {
        check(faults[i].vector, want[i].vector, "%s: vector", want[i].what);
        check(faults[i].error, want[i].error, "  ...error code");
        if (want[i].vector == 14)
            check(faults[i].cr2 == want[i].cr2, 1, "  ...cr2 is the address");
    }
    same(M2P[mfn_of(0)] == 0, "the M2P is unchanged");
    finish();
}

static void attack(void)
{
    static struct trap_info traps[] = {
        { 0x81, 3, FLAT_RING1_CS, (unsigned long)back_in_ring1 },
        { 0, 0, 0, 0 },
    };
    unsigned long *top = &user_stack[256];

    check(HYPERVISOR_set_trap_table(traps), 0, "set_trap_table(int $0x81 from ring 3)");
    check(HYPERVISOR_stack_switch(FLAT_RING1_SS, (unsigned long)&kernel_stack[1024]), 0, "stack_switch(ring-1 stack)");
    asm volatile("pushl %0\n\tpushl %1\n\tpushl $0x202\n\tpushl %2\n\tpushl %3\n\tiret"
                 : : "i"(FLAT_RING3_SS), "r"(top), "i"(FLAT_RING3_CS), "r"(ring3_code) : "memory");
}
