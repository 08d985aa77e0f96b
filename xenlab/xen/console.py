"""The emergency console (``console_io``): a guest writes bytes straight to Xen's console.

Real Xen lets only privileged domains (or any domain in a debug build) use console_io;
xenlab behaves like a debug build, so every domain may write — it is how the first guests
talk before any I/O ring exists.  The console *ring* named in start_info (a shared page
and an event channel) is not served yet.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from xenlab.abi import errno
from xenlab.abi.hypercalls import CONSOLEIO_read, CONSOLEIO_write

if TYPE_CHECKING:
    from xenlab.xen.domain import VCPU

CHUNK = 4096  # copied from the guest a page at a time, like Xen's 128-byte loop


def do_console_io(vcpu: VCPU, cmd: int, count: int, buffer: int) -> int:
    """``console_io(cmd, count, buffer)``: write returns 0, read returns bytes read (0)."""
    if cmd == CONSOLEIO_write:
        if count > 1 << 20:
            return -errno.EINVAL
        stats = vcpu.domain.stats
        if stats.first_console_instruction is None:  # boot-to-first-output, in virtual time
            stats.first_console_instruction = (
                stats.instructions + vcpu.domain.machine.cpu.counter.executed()
            )
        guest = vcpu.domain.guest_memory
        done = 0
        while done < count:  # a bad pointer part-way fails the call, as in Xen
            size = min(CHUNK, count - done)
            vcpu.domain.console_write(guest.read(buffer + done, size))
            done += size
        return 0
    if cmd == CONSOLEIO_read:
        return 0  # no console input yet: nothing to read
    return -errno.ENOSYS
