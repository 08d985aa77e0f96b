/*
 * foreign_mmuext_op — the same for mmuext_op: pinning, switching base pointers, clearing
 * pages or even flushing TLBs "for" another domain is refused with -EPERM.
 */
#include "common.h"

static int foreign_op(unsigned int cmd, unsigned long mfn, unsigned int domid)
{
    struct mmuext_op op = { .cmd = cmd, .arg1.mfn = mfn };

    return HYPERVISOR_mmuext_op(&op, 1, NULL, domid);
}

static void attack(void)
{
    unsigned long victim = victim_domid(), frame = foreign_frame();

    name_frame("foreign", frame);
    check(foreign_op(MMUEXT_PIN_L1_TABLE, frame, victim), -EPERM, "PIN_L1_TABLE(its frame, foreigndom = it)");
    check(foreign_op(MMUEXT_UNPIN_TABLE, frame, victim), -EPERM, "UNPIN_TABLE(its frame, foreigndom = it)");
    check(foreign_op(MMUEXT_CLEAR_PAGE, frame, victim), -EPERM, "CLEAR_PAGE(its frame, foreigndom = it)");
    check(foreign_op(MMUEXT_NEW_BASEPTR, frame, victim), -EPERM, "NEW_BASEPTR(its frame, foreigndom = it)");
    check(foreign_op(MMUEXT_TLB_FLUSH_ALL, 0, victim), -EPERM, "TLB_FLUSH_ALL(foreigndom = it)");
    check(foreign_op(MMUEXT_PIN_L1_TABLE, 0, DOMID_XEN), -EPERM, "PIN_L1_TABLE(frame 0, foreigndom = DOMID_XEN)");
    check(foreign_op(MMUEXT_PIN_L1_TABLE, spare(0), DOMID_SELF), 0, "PIN_L1_TABLE(my spare frame, DOMID_SELF) (control)");
    check(foreign_op(MMUEXT_UNPIN_TABLE, spare(0), DOMID_SELF), 0, "  ...unpin it");
}
