"""The hypercall table: Xen's numbers mapped to their handlers (``hypercall_table``).

A hypercall is ``int $0x82`` from ring 1 (paper §3.1: "synchronous software traps into
the hypervisor").  The CPU hands the trap to the entry that :func:`make_hypercall_entry`
builds, which reads the number from EAX and the hypercall's arguments from EBX, ECX, EDX,
ESI, EDI, calls the handler and puts its result in EAX.  An unknown number returns
-ENOSYS.  A handler that follows a bad guest pointer raises ``GuestFault`` and the guest
sees -EFAULT.

This is the hottest path in xenlab, so it reads registers straight out of the live CPU
state and does nothing that is not needed.
"""

from __future__ import annotations

from collections.abc import Callable

from xenlab.abi import errno
from xenlab.abi.hypercalls import NUMBER
from xenlab.xen.console import do_console_io
from xenlab.xen.descriptors import do_set_gdt, do_update_descriptor
from xenlab.xen.domain import NR_HYPERCALL_SLOTS, DomainState
from xenlab.xen.domctl import do_domctl
from xenlab.xen.events import (
    check_upcall,
    do_callback_op,
    do_event_channel_op,
    do_event_channel_op_compat,
    do_set_callbacks,
)
from xenlab.xen.memory import do_memory_op
from xenlab.xen.mm import (
    GuestFault,
    do_mmu_update,
    do_mmuext_op,
    do_update_va_mapping,
    do_vm_assist,
)
from xenlab.xen.schedule import do_sched_op, do_sched_op_compat
from xenlab.xen.time import do_set_timer_op, do_vcpu_op
from xenlab.xen.traps import do_fpu_taskswitch, do_iret, do_set_trap_table, do_stack_switch
from xenlab.xen.version import do_xen_version

Handler = Callable[..., int]

# Hypercall number -> (handler, how many argument registers it takes).  The argument count
# is part of each hypercall's ABI (xen.h); reading only those registers keeps the hot path
# short.
HYPERCALL_TABLE: list[tuple[Handler, int] | None] = [None] * NR_HYPERCALL_SLOTS
for _name, _entry in {
    "set_trap_table": (do_set_trap_table, 1),
    "stack_switch": (do_stack_switch, 2),
    "sched_op_compat": (do_sched_op_compat, 2),
    "update_va_mapping": (do_update_va_mapping, 4),
    "mmu_update": (do_mmu_update, 4),
    "set_timer_op": (do_set_timer_op, 2),
    "vcpu_op": (do_vcpu_op, 3),
    "fpu_taskswitch": (do_fpu_taskswitch, 1),
    "iret": (do_iret, 0),
    "event_channel_op": (do_event_channel_op, 2),
    "event_channel_op_compat": (do_event_channel_op_compat, 1),
    "set_callbacks": (do_set_callbacks, 4),
    "callback_op": (do_callback_op, 2),
    "memory_op": (do_memory_op, 2),
    "set_gdt": (do_set_gdt, 2),
    "update_descriptor": (do_update_descriptor, 4),
    "mmuext_op": (do_mmuext_op, 4),
    "xen_version": (do_xen_version, 2),
    "console_io": (do_console_io, 3),
    "vm_assist": (do_vm_assist, 2),
    "sched_op": (do_sched_op, 2),
    "domctl": (do_domctl, 1),
}.items():
    HYPERCALL_TABLE[NUMBER[_name]] = _entry

_MASK = 0xFFFFFFFF
_ENOSYS = -errno.ENOSYS & _MASK


def make_hypercall_entry(regs, current: list, memory_view) -> Callable[[], None]:
    """The hypercall entry point for the CPU's fast path.

    ``regs`` is the CPU's live register file (QEMU order: EAX ECX EDX EBX ESP EBP ESI EDI),
    ``current`` a one-element list holding the running vCPU, ``memory_view`` machine
    memory (for the vCPU's event flags).  Everything is bound in the closure: this function
    runs once per hypercall.
    """
    view = memory_view
    runnable = DomainState.RUNNABLE
    table = HYPERCALL_TABLE
    nr_slots = NR_HYPERCALL_SLOTS
    mask = _MASK

    def hypercall() -> None:
        vcpu = current[0]
        nr = regs[0]
        if nr >= nr_slots:
            vcpu.domain.stats.unknown_hypercalls += 1
            regs[0] = _ENOSYS
            return
        vcpu.hypercall_counts[nr] += 1
        entry = table[nr]
        if entry is None:
            regs[0] = _ENOSYS
            return
        handler, nargs = entry
        try:
            # Arguments 1-5 are EBX ECX EDX ESI EDI.  32-bit code keeps the upper halves of
            # QEMU's 64-bit registers zero, so no masking is needed on the way in.
            if nargs == 2:
                result = handler(vcpu, regs[3], regs[1])
            elif nargs == 0:
                result = handler(vcpu)
            elif nargs == 1:
                result = handler(vcpu, regs[3])
            elif nargs == 3:
                result = handler(vcpu, regs[3], regs[1], regs[2])
            elif nargs == 4:
                result = handler(vcpu, regs[3], regs[1], regs[2], regs[6])
            else:
                result = handler(vcpu, regs[3], regs[1], regs[2], regs[6], regs[7])
        except GuestFault:
            result = -errno.EFAULT
        regs[0] = result & mask
        # Returning to the guest: an event pending with the virtual IF set is delivered
        # now (a byte test on the common path; paper §3.1).
        if view[vcpu.vcpu_info] and vcpu.domain.state is runnable:
            check_upcall(vcpu)

    return hypercall
