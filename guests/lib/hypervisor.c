/*
 * hypervisor.c — the two things every guest needs from Xen beyond
 * hypercalls: a view of shared_info, and a way to stop.
 */
#include <hypercall.h>
#include <hypervisor.h>

shared_info_t *HYPERVISOR_shared_info;

/*
 * start_info.shared_info is a machine address, and a guest may only map
 * frames it owns or that Xen lends it (paper §2.1.1). So the guest maps it
 * itself, over the reserved page `shared_info`, with a validated
 * update_va_mapping: PTE = frame | present | writable | user (Mini-OS's
 * value 7), then invlpg that one address.
 */
int map_shared_info(const start_info_t *si)
{
    uint64_t pte = (si->shared_info & PAGE_MASK) | _PAGE_PRESENT | _PAGE_RW | _PAGE_USER;
    int rc = HYPERVISOR_update_va_mapping((unsigned long)shared_info, pte, UVMF_INVLPG);

    if (rc == 0)
        HYPERVISOR_shared_info = (shared_info_t *)shared_info;
    return rc;
}

/*
 * SCHEDOP_shutdown ends the domain and tells the toolstack why. It does not
 * return on success; if it ever does, ask again rather than run on.
 */
void shutdown(unsigned int reason)
{
    struct sched_shutdown arg = { .reason = reason };

    for (;;)
        HYPERVISOR_sched_op(SCHEDOP_shutdown, &arg);
}

extern char _text[];  /* the image base, VIRT_BASE (lib/guest.ld) */

void *boot_mfn_to_virt(unsigned long mfn)
{
    const unsigned long *m2p = (const unsigned long *)MACH2PHYS_VIRT_START;

    return _text + (m2p[mfn] << PAGE_SHIFT);
}
