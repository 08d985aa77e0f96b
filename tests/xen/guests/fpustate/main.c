/*
 * fpustate — a user program's x87 and SSE registers, and the kernel's
 * virtual CR0.TS, must survive every change of ring, whichever road a trap
 * takes (xen/traps.py):
 *   int $0x80 — the direct gate (the CPU enters ring 1 with no Xen code);
 *   int $0x81 — through Xen's bounce (its entry asks for events masked, so
 *               it cannot use the direct gate).
 * The user program loads pi and a marker into st(0) and xmm0, makes both
 * calls a few times, then checks the registers; the kernel sets TS with
 * fpu_taskswitch before returning, and the user's next FPU instruction must
 * raise #NM.  int $0x83 hands the results back to the kernel.
 */
#include <checks.h>
#include <console.h>
#include <hypercall.h>
#include <hypervisor.h>

void direct_entry(void);
void bounced_entry(void);
void nm_entry(void);
void report_entry(void);
void user_main(void);
static unsigned long kernel_stack[1024];
static unsigned long user_stack[256];
unsigned long nm_count, user_eax, user_ebx, pi_hi, pi_lo, set_ts;

asm(".text\n"
    "direct_entry:\n"               /* ring 1, on the stack_switch stack */
    "    iret\n"
    "bounced_entry:\n"              /* ring 1, via Xen's bounce frame */
    "    cmpl $0, set_ts\n"
    "    je 1f\n"
    "    pushl %eax\n"
    "    pushl %ebx\n"
    "    movl $1, %ebx\n"           /* fpu_taskswitch(1): the next FPU use traps */
    "    movl $5, %eax\n"
    "    call hypercall_page + 5 * 32\n"
    "    popl %ebx\n"
    "    popl %eax\n"
    "1:  iret\n"
    "nm_entry:\n"
    "    incl nm_count\n"
    "    iret\n"
    "report_entry:\n"
    "    movl %eax, user_eax\n"
    "    movl %ebx, user_ebx\n"
    "    call report\n"
    "user_main:\n"                  /* ring 3 */
    "    fninit\n"
    "    fldpi\n"
    "    movl $0x5eed1234, %eax\n"
    "    movd %eax, %xmm0\n"
    "    movl $8, %ecx\n"
    "2:  int $0x80\n"
    "    int $0x81\n"
    "    loop 2b\n"
    "    subl $8, %esp\n"
    "    fstpl (%esp)\n"            /* pi as a double */
    "    popl %esi\n"
    "    popl %edi\n"
    "    movd %xmm0, %eax\n"
    "    movl $1, set_ts\n"         /* user memory: the kernel sets TS on the next call */
    "    int $0x81\n"
    "    fninit\n"                  /* must raise #NM once (the kernel set TS) */
    "    fldz\n"                    /* and no more after Xen cleared TS */
    "    movl %esi, %ebx\n"
    "    movl %edi, %edx\n"
    "    int $0x83\n");

void report(void)
{
    unsigned long hi;
    asm volatile("movl %%edx, %0" : "=r"(hi));
    check("xmm0 survived 16 system calls", (long)user_eax, 0x5eed1234);
    check("st(0) = pi survived them (low word)", (long)user_ebx, 0x54442d18);
    check("#NM after fpu_taskswitch(1) and a return to ring 3", (long)nm_count, 1);
    checks_done();
}

void start_kernel(start_info_t *si)
{
    static struct trap_info traps[] = {
        { 7, 0, FLAT_RING1_CS, (unsigned long)nm_entry },
        { 0x80, 3, FLAT_RING1_CS, (unsigned long)direct_entry },
        { 0x81, 3 | 4, FLAT_RING1_CS, (unsigned long)bounced_entry },
        { 0x83, 3, FLAT_RING1_CS, (unsigned long)report_entry },
        { 0, 0, 0, 0 },
    };

    (void)si;
    HYPERVISOR_set_trap_table(traps);
    HYPERVISOR_stack_switch(FLAT_RING1_SS, (unsigned long)&kernel_stack[1024]);
    asm volatile("pushl %0\n\tpushl %1\n\tpushl $0x202\n\tpushl %2\n\tpushl %3\n\tiret"
                 : : "i"(FLAT_RING3_SS), "r"(&user_stack[256]), "i"(FLAT_RING3_CS),
                     "r"(user_main)
                 : "memory");
}
