/*
 * traps — exception delivery under a paravirtualizing hypervisor.
 *
 * A PV kernel does not own the IDT: it hands Xen a table of handlers
 * (set_trap_table) and Xen reflects each exception to it with a bounce
 * frame (paper §2.1.2 and Table 1, "exceptions"). This guest raises one
 * exception per test, lets entry.S record what arrived, and prints it.
 * Lines never contain code addresses, so the expected output does not
 * change when the code layout does.
 */
#include <console.h>
#include <hypercall.h>
#include <hypervisor.h>
#include <lib.h>
#include "trap_record.h"

struct trap_record trap_record;
unsigned long trap_resume_eip;

/* Address of the instruction each test expects to fault (label 1 below). */
static unsigned long fault_eip;

/* Handlers run in ring 1 on our stack; flags 0: DPL 0 (no `int n` from
 * ring 3), events stay masked. The table ends with address 0. */
static const struct trap_info trap_table[] = {
    {  0, 0, FLAT_RING1_CS, (unsigned long)divide_error },
    {  6, 0, FLAT_RING1_CS, (unsigned long)invalid_op },
    { 13, 0, FLAT_RING1_CS, (unsigned long)general_protection },
    { 14, 0, FLAT_RING1_CS, (unsigned long)page_fault },
    {  0, 0, 0, 0 }
};

/* An address no start-of-day page table maps: its L3 slot (0) is empty. */
#define UNMAPPED_VA 0x00400000UL

/*
 * Each test is one asm statement that first stores two of its labels:
 * 1 = the instruction that must fault (what Xen should report as EIP) and
 * 2 = where the handler resumes. "memory" tells the compiler the handler
 * may have written trap_record meanwhile.
 */
#define FAULT_LABELS "movl $1f, %[fault]\n\tmovl $2f, %[resume]\n"
#define FAULT_OUTPUTS [fault] "=m" (fault_eip), [resume] "=m" (trap_resume_eip)

static void raise_divide_error(const start_info_t *si)
{
    unsigned long lo = 1, hi = 0;

    asm volatile (FAULT_LABELS "1:\tdivl %[zero]\n2:"
                  : FAULT_OUTPUTS, "+a" (lo), "+d" (hi)
                  : [zero] "r" (0UL) : "memory", "cc");
}

static void raise_invalid_op(const start_info_t *si)
{
    asm volatile (FAULT_LABELS "1:\tud2\n2:" : FAULT_OUTPUTS : : "memory");
}

/* Privileged in ring 1. MFN 0 is never ours, so a Xen that emulates CR3
 * writes for PV kernels would refuse this one and #GP too. */
static void raise_gp_mov_cr3(const start_info_t *si)
{
    asm volatile (FAULT_LABELS "1:\tmovl %%eax, %%cr3\n2:"
                  : FAULT_OUTPUTS : "a" (0UL) : "memory");
}

/* IOPL is 0, so cli is refused in ring 1: the virtual interrupt flag is
 * vcpu_info.evtchn_upcall_mask instead (paper §3.1). */
static void raise_gp_cli(const start_info_t *si)
{
    asm volatile (FAULT_LABELS "1:\tcli\n2:" : FAULT_OUTPUTS : : "memory");
}

/* Not present, read, supervisor (ring 1): error code 0. */
static void raise_pf_read(const start_info_t *si)
{
    unsigned long value;

    asm volatile (FAULT_LABELS "1:\tmovl (%[va]), %[value]\n2:"
                  : FAULT_OUTPUTS, [value] "=r" (value)
                  : [va] "r" (UNMAPPED_VA) : "memory");
}

/*
 * Present, write, supervisor: error code 3. pt_base is the L3 table,
 * mapped read-only (paper §3.3.3: no writable mapping of a page table).
 * Xen emulates writes only to L1 tables, so this one is always bounced.
 * We write back the value we read, so nothing changes even if it landed.
 */
static void raise_pf_write(const start_info_t *si)
{
    asm volatile ("movl (%[pt]), %%eax\n\t" FAULT_LABELS "1:\tmovl %%eax, (%[pt])\n2:"
                  : FAULT_OUTPUTS : [pt] "r" (si->pt_base) : "eax", "memory");
}

struct trap_test {
    unsigned int vector;
    const char *mnemonic;
    const char *what;
    void (*raise)(const start_info_t *si);
    int has_error_code;
    unsigned long error;        /* expected error code */
};

static const struct trap_test tests[] = {
    {  0, "#DE", "divl by zero",             raise_divide_error, 0, 0 },
    {  6, "#UD", "ud2",                      raise_invalid_op,   0, 0 },
    { 13, "#GP", "mov to cr3",               raise_gp_mov_cr3,   1, 0 },
    { 13, "#GP", "cli",                      raise_gp_cli,       1, 0 },
    { 14, "#PF", "read unmapped 0x00400000", raise_pf_read,      1, 0 },
    { 14, "#PF", "write read-only pt_base",  raise_pf_write,     1, 3 },
};

/*
 * Run one test and print its line (one printk, so one console write per
 * line); returns 1 if the frame was as expected.
 */
static int run_test(const struct trap_test *t, const start_info_t *si)
{
    const struct trap_record *r = &trap_record;
    unsigned long expect_cr2 = t->vector != 14 ? 0
                             : t->raise == raise_pf_read ? UNMAPPED_VA : si->pt_base;
    unsigned long cs, mask;
    char eip[48], error[16] = "-", cr2[24] = "";

    memset(&trap_record, 0, sizeof(trap_record));
    t->raise(si);

    if (r->count != 1 || r->vector != t->vector) {
        printk("trap %u (%s) %s: delivered %lu times, last to vector %lu\n",
               t->vector, t->mnemonic, t->what, r->count, r->vector);
        return 0;
    }
    cs = r->cs & 0xffff;
    mask = (r->cs >> 16) & 0xff;
    if (r->eip == fault_eip)
        snprintf(eip, sizeof(eip), "ok");
    else
        snprintf(eip, sizeof(eip), "0x%08lx (fault at 0x%08lx)", r->eip, fault_eip);
    if (t->has_error_code)
        snprintf(error, sizeof(error), "0x%lx", r->error);
    if (t->vector == 14 && expect_cr2 == si->pt_base && r->cr2 == expect_cr2)
        snprintf(cr2, sizeof(cr2), " cr2=pt_base");
    else if (t->vector == 14)
        snprintf(cr2, sizeof(cr2), " cr2=0x%08lx", r->cr2);
    printk("trap %u (%s) %s: eip=%s cs=0x%04lx mask=%lu error=%s%s\n",
           t->vector, t->mnemonic, t->what, eip, cs, mask, error, cr2);

    /* Start of day has events masked, and no handler unmasks them, so the
     * upcall mask Xen saved in the CS slot must be 1. */
    return r->eip == fault_eip && cs == FLAT_RING1_CS && mask == 1
           && r->error == t->error && r->cr2 == expect_cr2;
}

void start_kernel(start_info_t *si)
{
    int failed = 0;

    printk("set_trap_table: %d\n", HYPERVISOR_set_trap_table(trap_table));
    printk("map_shared_info: %d\n", map_shared_info(si));

    for (unsigned int i = 0; i < ARRAY_SIZE(tests); i++)
        failed += !run_test(&tests[i], si);

    if (failed)
        printk("traps: %d of %u not handled as expected\n", failed, (unsigned int)ARRAY_SIZE(tests));
    else
        printk("all traps handled\n");
    shutdown(SHUTDOWN_poweroff);
}
