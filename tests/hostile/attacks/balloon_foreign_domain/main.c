/*
 * balloon_foreign_domain — the reservation's domid lets a privileged domain (the
 * toolstack) balloon another.  From an unprivileged domain: -EPERM, whether taking the
 * other domain's frames away, giving it more, asking its size, or naming DOMID_XEN.  A bad pointer to the
 * reservation itself is -EFAULT.
 */
#include "common.h"

static void attack(void)
{
    unsigned long victim = victim_domid(), frame = foreign_frame(), victim_pfn = M2P[frame];
    unsigned long list[1] = { frame };
    domid_t victim16 = (domid_t)victim;

    name_frame("foreign", frame);
    check(reservation(XENMEM_decrease_reservation, list, 1, 0, victim), -EPERM,
          "decrease_reservation(its frame, domid = the other domain)");
    check(reservation(XENMEM_increase_reservation, list, 1, 0, victim), -EPERM,
          "increase_reservation(1 frame, domid = the other domain)");
    check(reservation(XENMEM_decrease_reservation, list, 1, 0, DOMID_XEN), -EPERM, "decrease_reservation(domid = DOMID_XEN)");
    check(HYPERVISOR_memory_op(XENMEM_current_reservation, &victim16), -EPERM, "current_reservation(domid = the other domain)");
    check(HYPERVISOR_memory_op(XENMEM_decrease_reservation, (void *)0x00400000UL), -EFAULT,
          "decrease_reservation(reservation unmapped)");
    check(HYPERVISOR_memory_op(XENMEM_increase_reservation, (void *)MACH2PHYS_VIRT_START), -EFAULT,
          "increase_reservation(reservation in the hole)");
    same(M2P[frame] == victim_pfn, "its frame is still its own in the M2P");
}
