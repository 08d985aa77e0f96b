"""The hypercall table: Xen's numbers mapped to their handlers (``hypercall_table``).

A hypercall is ``int $0x82`` from ring 1 (paper §3.1: "synchronous software traps into
the hypervisor").  The CPU hands the trap to :func:`do_hypercall`, which reads the number
from EAX and up to five arguments from EBX, ECX, EDX, ESI, EDI, calls the handler and puts
its result in EAX.  An unknown number returns -ENOSYS.  A handler that follows a bad guest
pointer raises ``GuestFault`` and the guest sees -EFAULT.

This is the hottest path in xenlab, so it reads registers straight out of the live CPU
state and does nothing that is not needed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from xenlab.abi import errno
from xenlab.abi.hypercalls import NUMBER
from xenlab.xen.console import do_console_io
from xenlab.xen.domain import NR_HYPERCALL_SLOTS
from xenlab.xen.mm import GuestFault, do_update_va_mapping, do_vm_assist
from xenlab.xen.schedule import do_sched_op, do_sched_op_compat
from xenlab.xen.traps import do_set_trap_table, do_stack_switch
from xenlab.xen.version import do_xen_version

if TYPE_CHECKING:
    pass

Handler = Callable[..., int]

HYPERCALL_TABLE: list[Handler | None] = [None] * NR_HYPERCALL_SLOTS
for _name, _handler in {
    "set_trap_table": do_set_trap_table,
    "stack_switch": do_stack_switch,
    "sched_op_compat": do_sched_op_compat,
    "update_va_mapping": do_update_va_mapping,
    "xen_version": do_xen_version,
    "console_io": do_console_io,
    "vm_assist": do_vm_assist,
    "sched_op": do_sched_op,
}.items():
    HYPERCALL_TABLE[NUMBER[_name]] = _handler

_MASK = 0xFFFFFFFF
_ENOSYS = -errno.ENOSYS & _MASK
_EFAULT = -errno.EFAULT & _MASK


def make_hypercall_entry(regs, current: list) -> Callable[[], None]:
    """The hypercall entry point for the CPU's fast path.

    ``regs`` is the CPU's live register file (QEMU order: EAX ECX EDX EBX ESP EBP ESI EDI),
    ``current`` a one-element list holding the running vCPU.  Everything is bound in the
    closure: this function runs once per hypercall.
    """
    table = HYPERCALL_TABLE
    nr_slots = NR_HYPERCALL_SLOTS

    def hypercall() -> None:
        vcpu = current[0]
        nr = regs[0]
        if nr >= nr_slots:
            vcpu.domain.stats.unknown_hypercalls += 1
            regs[0] = _ENOSYS
            return
        vcpu.hypercall_counts[nr] += 1
        handler = table[nr]
        if handler is None:
            regs[0] = _ENOSYS
            return
        try:
            # Arguments 1-5: EBX ECX EDX ESI EDI.  32-bit code keeps the upper halves of
            # QEMU's 64-bit registers zero, so no masking is needed on the way in.
            result = handler(vcpu, regs[3], regs[1], regs[2], regs[6], regs[7])
        except GuestFault:
            result = -errno.EFAULT
        regs[0] = result & _MASK

    return hypercall
