"""The machine: machine memory, its frame allocator and the CPU, created together."""

from __future__ import annotations

from dataclasses import dataclass

from xenlab.hw.cpu import CPU
from xenlab.hw.memory import FrameAllocator, MachineMemory
from xenlab.hw.selftest import ensure_selftest

DEFAULT_MACHINE_MIB = 256


@dataclass
class Machine:
    memory: MachineMemory
    frames: FrameAllocator
    cpu: CPU

    @classmethod
    def create(cls, mib: int = DEFAULT_MACHINE_MIB) -> Machine:
        if not 8 <= mib <= 4096:
            raise ValueError(f"machine memory must be 8..4096 MiB, not {mib}")
        ensure_selftest()  # once per process: fail loudly if Unicorn is not what we assume
        memory = MachineMemory(mib << 20)
        # Frame 0 stays unused: a zero machine address in a table is then always a bug.
        frames = FrameAllocator(memory.nr_frames, reserved_low=1)
        return cls(memory, frames, CPU(memory))
