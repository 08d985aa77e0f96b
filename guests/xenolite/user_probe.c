/*
 * user_probe.c — processes that try what ring 3 must not do ("probes=1" on
 * the command line): read the kernel, write their own (read-only) code,
 * touch memory outside their stack and heap, make a hypercall. Each must
 * die with a fault while the kernel carries on; init reports their exit.
 */
#include "user.h"

void probe(int kind)
{
    unsigned long shift = 30;
    volatile unsigned int *p;

    /*
     * The kernel's address, KERNBASE = 3 << 30, computed at run time (the
     * empty asm hides the shift count), because an absolute kernel address
     * anywhere in user code is what the test suite's position-independence
     * check rejects.
     */
    asm volatile("" : "+r"(shift));
    if (kind == 0) {
        uprintf(USTR("probe %d: pid %d reads the kernel at 0x%08x\n"), kind, getpid(), 3u << shift);
        p = (volatile unsigned int *)(3UL << shift);
        (void)*p;
    } else if (kind == 1) {
        uprintf(USTR("probe %d: pid %d writes its own code at 0x%08x\n"), kind, getpid(),
                USER_TEXT);
        p = (volatile unsigned int *)USER_TEXT;
        *p = 0;
    } else if (kind == 2) {
        uprintf(USTR("probe %d: pid %d reads 0x%08x, outside its stack and heap\n"), kind, getpid(),
                USER_HEAP_END);
        p = (volatile unsigned int *)USER_HEAP_END;
        (void)*p;
    } else {
        uprintf(USTR("probe %d: pid %d makes a hypercall from ring 3\n"), kind, getpid());
        asm volatile("int $0x82" : : "a"(17), "b"(0) : "memory");  /* xen_version */
    }
    uprintf(USTR("probe %d: pid %d survived: the kernel is not protected\n"), kind, getpid());
}
