/*
 * privileged_instructions — the guest kernel runs in ring 1, so every instruction that
 * needs ring 0 (or IOPL) faults: #GP(0) for control registers, descriptor tables, hlt,
 * cli/sti, MSRs, invlpg, debug registers and cache flushes; loading a ring-0
 * data selector or jumping/returning to ring-0 code gives #GP with that selector.  xenlab
 * emulates none of them, so each reaches my #GP handler, which skips it.
 */
#include "common.h"

/* Run `code`, resume after it (at 1:, then `cleanup`), check the #GP it raised. */
#define PROBE_THEN(what, code, cleanup, want_error)                                   \
    do {                                                                              \
        unsigned long before_ = nr_faults;                                            \
        asm volatile("movl $1f, %0\n\t" code "\n1:\n\t" cleanup "\n\tmovl $0, %0"      \
                     : "+m"(fault_resume) : : "memory", "eax", "ecx", "edx");         \
        check(nr_faults != before_ ? (long)last_fault()->vector : NO_FAULT, 13, "%s", what); \
        if (nr_faults != before_)                                                     \
            check(last_fault()->error, want_error, "  ...error code");                \
    } while (0)
#define PROBE(what, code, want_error) PROBE_THEN(what, code, "", want_error)

static void attack(void)
{
    unsigned short ds;

    PROBE("mov %cr3, %eax", "movl %%cr3, %%eax", 0);
    PROBE("mov %eax, %cr3", "xorl %%eax, %%eax\n\tmovl %%eax, %%cr3", 0);
    PROBE("mov %eax, %cr0", "xorl %%eax, %%eax\n\tmovl %%eax, %%cr0", 0);
    PROBE("lgdt", "lgdt (%%esp)", 0);
    PROBE("lidt", "lidt (%%esp)", 0);
    PROBE("lldt", "xorl %%eax, %%eax\n\tlldt %%ax", 0);
    PROBE("ltr", "movl $0xe008, %%eax\n\tltr %%ax", 0);
    PROBE("hlt", "hlt", 0);
    PROBE("cli", "cli", 0);
    PROBE("sti", "sti", 0);
    PROBE("rdmsr", "movl $0x10, %%ecx\n\trdmsr", 0);
    PROBE("wrmsr", "movl $0x10, %%ecx\n\txorl %%eax, %%eax\n\txorl %%edx, %%edx\n\twrmsr", 0);
    PROBE("invlpg", "invlpg (%%esp)", 0);
    PROBE("mov %eax, %dr7", "xorl %%eax, %%eax\n\tmovl %%eax, %%dr7", 0);
    PROBE("clts", "clts", 0);
    PROBE("wbinvd", "wbinvd", 0);
    PROBE("mov $0xe010 (ring-0 data), %ds", "movl $0xe010, %%eax\n\tmovw %%ax, %%ds", 0xe010);
    PROBE("ljmp to 0xe008 (ring-0 code)", "ljmp $0xe008, $1f", 0xe008);
    PROBE("lcall to 0xe008 (ring-0 code)", "lcall $0xe008, $1f", 0xe008);
    PROBE_THEN("iret to 0xe008 (ring-0 code)", "pushfl\n\tpushl $0xe008\n\tpushl $1f\n\tiret",
               "addl $12, %%esp", 0xe008);
    asm volatile("movw %%ds, %0" : "=r"(ds));
    check(ds, FLAT_RING1_DS, "%%ds is still the ring-1 data selector");
    same(M2P[mfn_of(0)] == 0 && l3()[3] != 0, "my address space is unchanged");
}
