/*
 * copypage — the hypervisor rewrites a frame behind the CPU's back (COPY_PAGE):
 * the next call must run the new code, not a stale translation of the old.
 */
#include <console.h>
#include <hypercall.h>
#include <hypervisor.h>
#include <lib.h>

/* Two code pages in the image: each "returns N". */
__attribute__((aligned(4096), section(".text.pageA"))) int code_a(void) { return 1; }
__attribute__((aligned(4096), section(".text.pageB"))) int code_b(void) { return 2; }

static unsigned long mfn_of(const start_info_t *si, void *va)
{
    return ((unsigned long *)si->mfn_list)[((unsigned long)va - 0xC0000000UL) >> 12];
}

static int call_it(void *f)
{
    int r;
    asm volatile("call *%1" : "=a"(r) : "r"(f) : "memory", "ecx", "edx");
    return r;
}

void start_kernel(start_info_t *si)
{
    struct mmuext_op op = { .cmd = MMUEXT_COPY_PAGE };
    int before, after, rc;

    before = call_it((void *)code_a);
    op.arg1.mfn = mfn_of(si, (void *)code_a);
    op.arg2.src_mfn = mfn_of(si, (void *)code_b);
    rc = HYPERVISOR_mmuext_op(&op, 1, NULL, DOMID_SELF);
    after = call_it((void *)code_a);
    printk("COPY_PAGE rc=%d: code_a returned %d before, %d after (bytes now say %d)\n", rc, before, after,
           memcmp((void *)code_a, (void *)code_b, 16) == 0 ? 2 : 1);
    op.cmd = MMUEXT_CLEAR_PAGE;
    rc = HYPERVISOR_mmuext_op(&op, 1, NULL, DOMID_SELF);
    after = call_it((void *)code_a);
    printk("CLEAR_PAGE rc=%d: code_a returned %d (page is zeros now: %d)\n", rc, after, *(volatile unsigned char *)code_a == 0);
    shutdown(SHUTDOWN_poweroff);
}
