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
    from xenlab.xen.domain import VCPU

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


def do_hypercall(vcpu: VCPU, regs) -> None:
    """Dispatch the hypercall in ``regs`` (the CPU's live general registers)."""
    nr = regs[0] & _MASK
    if nr >= NR_HYPERCALL_SLOTS:
        vcpu.domain.stats.unknown_hypercalls += 1
        regs[0] = _ENOSYS
        return
    vcpu.domain.stats.hypercalls[nr] += 1
    handler = HYPERCALL_TABLE[nr]
    if handler is None:
        regs[0] = _ENOSYS
        return
    try:
        # EAX EBX ECX EDX ESI EDI are regs[0], [3], [1], [2], [6], [7] (QEMU's order).
        result = handler(vcpu, regs[3] & _MASK, regs[1] & _MASK, regs[2] & _MASK, regs[6] & _MASK, regs[7] & _MASK)
    except GuestFault:
        result = -errno.EFAULT
    regs[0] = result & _MASK
