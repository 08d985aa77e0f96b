"""Foundation benchmarks (issue: "boot a Xen PV guest end to end").

Prints human-readable lines, then the figures as one JSON object on the last line:

- null hypercall round trip (a guest loop of xen_version) against an empty ``int $0x82``
  hook measured in the same run (target: <= 5x);
- boot of ``hello`` to its first console byte, image already built, on a running
  hypervisor (target: <= 50 ms), and the same including hypervisor start-up;
- a compute loop in a PV domain against the same bytes on bare Unicorn, both sliced by
  instruction counts of the same size (target: >= 0.95).

Usage: python benchmarks/foundation.py [--quick]
"""

from __future__ import annotations

import ctypes
import json
import statistics
import struct
import sys
import time

from elftools.elf.elffile import ELFFile
from unicorn import UC_ARCH_X86, UC_HOOK_INTR, UC_MODE_32, Uc
from unicorn.unicorn_py3.unicorn import uclib
from unicorn.x86_const import UC_X86_REG_EAX, UC_X86_REG_EIP, UC_X86_REG_ESP

from xenlab.build import build_guest
from xenlab.toolstack.builder import build_domain
from xenlab.toolstack.control import boot
from xenlab.toolstack.elfimage import load_kernel_image
from xenlab.xen.hypervisor import Xen
from xenlab.xen.schedule import DEFAULT_SLICE

QUICK = "--quick" in sys.argv
REPS = 3 if QUICK else 5
COMPUTE_INSTANCES = 5 if QUICK else 11  # fresh instances per side (see compute_ratio)


def median(fn, reps: int = REPS) -> float:
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


# ------------------------------------------------------------------ hypercalls
def empty_hook_us(n: int) -> float:
    """``int $0x82`` in a 4-instruction loop on a bare CPU whose hook does nothing
    (registered the same raw way xenlab registers its own); median over fresh instances."""
    code = b"\xb9" + struct.pack("<I", n) + b"\xb8\x11\x00\x00\x00\xcd\x82\x49\x75\xf6\xf4"
    cb = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_uint32, ctypes.c_void_p)(
        lambda h, i, u: None
    )
    times = []
    for _ in range(COMPUTE_INSTANCES):
        uc = Uc(UC_ARCH_X86, UC_MODE_32)
        uc.mem_map(0, 1 << 20)
        uc.mem_write(0x1000, code)
        hook = ctypes.c_size_t()
        uclib.uc_hook_add(
            uc._uch,
            ctypes.byref(hook),
            UC_HOOK_INTR,
            cb,
            None,
            ctypes.c_uint64(1),
            ctypes.c_uint64(0),
        )
        uc.reg_write(UC_X86_REG_ESP, 0x8000)
        t0 = time.perf_counter()
        uc.emu_start(0x1000, 0, count=10**9)
        times.append(time.perf_counter() - t0)
    return statistics.median(times) / n * 1e6


def hypercall_us(n: int) -> tuple[float, float]:
    """The guest's xen_version loop with the real hypervisor, and the very same loop (same
    image, same instruction count, same slicing) with the hypercall hook emptied; the two
    are interleaved so machine noise hits both alike."""
    image = load_kernel_image(build_guest("bench_hypercall"))
    xen = Xen()
    real = xen.cpu.fast_handler

    def once(handler, budget: int | None) -> tuple[float, int]:
        xen.cpu.fast_handler = handler
        domain = build_domain(xen, image, name="bench", memory_mib=4, cmdline=f"n={n}")
        t0 = time.perf_counter()
        xen.run(max_instructions=budget)
        elapsed = time.perf_counter() - t0
        if handler is real:
            assert domain.stats.hypercalls[17] == n, domain.console
        xen.destroy_domain(domain)
        return elapsed, domain.stats.instructions

    _, instructions = once(real, None)
    with_xen, empty = [], []
    for _ in range(REPS):
        with_xen.append(once(real, None)[0])
        empty.append(once(lambda: None, instructions)[0])
    return statistics.median(with_xen) / n * 1e6, statistics.median(empty) / n * 1e6


# ------------------------------------------------------------------ boot
def boot_ms() -> tuple[float, float]:
    image_path = build_guest("hello")
    xen = Xen()
    warm = []
    for _ in range(REPS * 2):
        first: list[float] = []
        t0 = time.perf_counter()
        domain = build_domain(xen, load_kernel_image(image_path), name="hello", memory_mib=16)
        domain.console_listeners.append(lambda data, first=first: first.append(time.perf_counter()))
        xen.run()
        warm.append((first[0] - t0) * 1e3)
        xen.destroy_domain(domain)
    cold = median(lambda: boot("hello"), REPS) * 1e3
    return statistics.median(warm), cold


# ------------------------------------------------------------------ compute
def compute_ratio(n: int) -> tuple[float, float, float]:
    """Median over fresh instances, interleaved: the speed of one Unicorn instance varies by
    tens of percent from the next (where its translated code and guest RAM land in host
    memory), so one instance per side would measure luck, not virtualization."""
    path = build_guest("bench_compute")
    image = load_kernel_image(path)
    with open(path, "rb") as f:
        symtab = ELFFile(f).get_section_by_name(".symtab")
        entry = symtab.get_symbol_by_name("compute")[0]["st_value"]
    bare_times, pv_times = [], []
    expected = None
    for _ in range(COMPUTE_INSTANCES):
        seconds, result = _run_bare(image, entry, n)
        bare_times.append(seconds)
        expected = expected or f"{result:08x}"
        pv_times.append(_run_pv(image, n, expected))
    bare, pv = statistics.median(bare_times), statistics.median(pv_times)
    print(f"  compute runs (s): bare {sorted(round(t, 3) for t in bare_times)}")
    print(f"                    PV   {sorted(round(t, 3) for t in pv_times)}")
    return bare / pv, bare, pv


def _run_bare(image, entry: int, n: int) -> tuple[float, int]:
    """compute(n) on a fresh bare Unicorn: the same segments at the same addresses, paging
    off, ring 0, sliced by the same instruction counts the hypervisor uses."""
    uc = Uc(UC_ARCH_X86, UC_MODE_32)
    base = image.virt_base
    size = (image.end - base + 0xFFFFF) & ~0xFFFFF
    uc.mem_map(base, size + (1 << 20))
    stack_top = base + size + (1 << 20) - 16
    halt = stack_top + 8
    uc.mem_write(halt, b"\xf4")
    for seg in image.segments:
        uc.mem_write(seg.vaddr, seg.data + bytes(seg.memsz - len(seg.data)))
    uc.mem_write(stack_top - 8, struct.pack("<II", halt, n))
    uc.reg_write(UC_X86_REG_ESP, stack_top - 8)
    t0 = time.perf_counter()
    eip = entry
    while eip not in (halt, halt + 1):  # hlt in ring 0 ends a run
        uc.emu_start(eip, 0, count=DEFAULT_SLICE)
        eip = uc.reg_read(UC_X86_REG_EIP)
    return time.perf_counter() - t0, uc.reg_read(UC_X86_REG_EAX)


def _run_pv(image, n: int, expected: str) -> float:
    """compute(n) in a domain on a fresh hypervisor (the time of Xen.run alone)."""
    xen = Xen()
    domain = build_domain(xen, image, name="compute", memory_mib=4, cmdline=f"n={n}")
    t0 = time.perf_counter()
    xen.run()
    elapsed = time.perf_counter() - t0
    assert expected in domain.console, (expected, domain.console)
    return elapsed


def main() -> None:
    n = 50_000 if QUICK else 200_000
    bare_hook = empty_hook_us(n)
    hcall, empty = hypercall_us(n)
    print(
        f"null hypercall: {hcall:.3f} us per guest loop iteration; the same loop with an empty "
        f"int $0x82 hook: {empty:.3f} us; ratio {hcall / empty:.2f} (target <= 5)"
    )
    print(
        f"  (a bare 4-instruction int $0x82 loop with an empty hook: {bare_hook:.3f} us;"
        f" ratio {hcall / bare_hook:.2f})"
    )
    warm, cold = boot_ms()
    print(
        f"boot hello to first console byte: {warm:.1f} ms on a running hypervisor (target <= 50); "
        f"{cold:.1f} ms for a whole 'xenlab boot hello' incl. hypervisor start and shutdown"
    )
    ratio, bare, pv = compute_ratio(2_000_000 if QUICK else 3_000_000)
    print(
        f"compute loop: bare {bare * 1e3:.1f} ms, PV domain {pv * 1e3:.1f} ms,"
        f" ratio {ratio:.3f} (target >= 0.95)"
    )
    print(
        json.dumps(
            {
                "null_hypercall_us": round(hcall, 3),
                "empty_int82_hook_same_loop_us": round(empty, 3),
                "hypercall_vs_empty_hook": round(hcall / empty, 2),
                "empty_int82_hook_bare_loop_us": round(bare_hook, 3),
                "hypercall_vs_bare_empty_hook": round(hcall / bare_hook, 2),
                "boot_hello_first_byte_ms": round(warm, 2),
                "boot_hello_whole_cli_path_ms": round(cold, 2),
                "compute_bare_ms": round(bare * 1e3, 2),
                "compute_pv_ms": round(pv * 1e3, 2),
                "compute_pv_vs_bare": round(ratio, 3),
                "slice_instructions": DEFAULT_SLICE,
            }
        )
    )


if __name__ == "__main__":
    main()
