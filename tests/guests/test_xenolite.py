"""xenolite, the Unix-like teaching guest: ring-3 processes, fork with copy-on-write and
demand-zero paging, every page-table write validated by Xen (guests/xenolite)."""

from __future__ import annotations

import itertools
import re

from capstone import CS_ARCH_X86, CS_GRP_CALL, CS_GRP_JUMP, CS_MODE_32, Cs
from capstone.x86 import X86_OP_IMM, X86_OP_MEM
from elftools.elf.elffile import ELFFile

from xenlab.abi.layout import HYPERVISOR_VIRT_START
from xenlab.build import build_guest
from xenlab.toolstack.builder import build_domain
from xenlab.toolstack.control import boot
from xenlab.toolstack.elfimage import load_kernel_image
from xenlab.xen.hypervisor import Xen

KERNBASE = 0xC0000000


def worker_checksum(worker: int) -> int:
    """What user_worker.c computes: FNV-1a over 64 KiB of xorshift32 output."""
    x = (2463534242 + worker * 7919) & 0xFFFFFFFF
    checksum = 2166136261
    for _ in range(64 * 1024):
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        checksum = ((checksum ^ (x & 0xFF)) * 16777619) & 0xFFFFFFFF
    return checksum


def test_xenolite_runs_init_and_three_workers_and_powers_off() -> None:
    result = boot("xenolite")
    lines = result.console.splitlines()
    assert result.ok, result.console
    assert lines[0] == "xenolite: booting in ring 1 on Xen, 4096 pages, cmdline ''"
    assert "init: pid 1, forking 3 workers" in lines
    for worker in range(3):
        assert f"worker {worker}: pid {worker + 2} fills 64 KiB at 0x01000000" in lines
        assert (
            f"init: worker {worker} (pid {worker + 2}) exited with checksum "
            f"{worker_checksum(worker):#010x}" in lines
        )
    assert any(
        line.startswith("init: every page its children used is free again") for line in lines
    )
    assert "xenolite: 3 workers done, 54 page faults, 71 mmu_update batches" in lines
    assert (
        "kernel: 54 page faults: 49 zero-filled, 3 copied on write, "
        "3 reclaimed by the last sharer" in lines
    )
    assert lines[-1] == "kernel: power off"
    # 48 demand-zero heap pages + 3 copies + 3 reclaims, all taken as real #PF traps.
    assert result.traps["#PF page fault"] == 54
    assert result.hypercalls["mmu_update"] == 71
    assert "panic" not in result.console and "killed" not in result.console


def test_xenolite_takes_the_number_of_workers_from_its_command_line() -> None:
    result = boot("xenolite", cmdline="workers=5")
    assert result.ok, result.console
    assert "init: pid 1, forking 5 workers" in result.console
    for worker in range(5):
        assert f"exited with checksum {worker_checksum(worker):#010x}" in result.console
    assert "xenolite: 5 workers done," in result.console
    assert "init: every page its children used is free again" in result.console


def test_xenolite_kills_workers_that_run_out_of_memory_and_gets_the_memory_back() -> None:
    result = boot("xenolite", memory_mib=1, cmdline="workers=14")
    assert result.ok, result.console
    assert "killed" in result.console  # a demand-zero fault with no page left
    assert "xenolite: 14 workers done," in result.console
    assert "init: every page its children used is free again" in result.console


def test_ring_3_cannot_read_the_kernel_write_its_code_stray_or_make_hypercalls() -> None:
    result = boot("xenolite", cmdline="probes=1 workers=1")
    assert result.ok, result.console
    kills = [
        re.sub(r",? (?:at )?eip 0x[0-9a-f]+", "", line)  # code addresses change with the code
        for line in result.console.splitlines()
        if line.endswith(": killed")
    ]
    assert kills == [
        "pid 2: page fault at 0xc0000000 (error 5): killed",  # user read, present: supervisor page
        "pid 3: page fault at 0x00400000 (error 7): killed",  # user write, present: read-only code
        "pid 4: page fault at 0x01400000 (error 4): killed",  # not present, not stack or heap
        "pid 5: general protection fault (error 0x412): killed",  # int $0x82: vector 0x82<<3|2
    ]
    for probe in range(4):
        assert f"init: probe {probe} (pid {probe + 2}) was killed" in result.console
    assert "survived" not in result.console
    assert "init: every page its children used is free again" in result.console
    assert result.traps["#GP general protection"] == 1


def test_xenolite_prints_the_same_output_every_run() -> None:
    first, second = boot("xenolite"), boot("xenolite")
    assert first.console == second.console
    assert first.instructions == second.instructions
    assert first.hypercalls == second.hypercalls


def test_xenolite_keeps_xens_frame_counts_sound_next_to_another_domain() -> None:
    xen = Xen()
    xenolite = build_domain(
        xen,
        load_kernel_image(build_guest("xenolite")),
        name="xenolite",
        memory_mib=16,
        cmdline="workers=4",
    )
    mmu = build_domain(xen, load_kernel_image(build_guest("mmu")), name="mmu", memory_mib=8)
    xen.scheduler.slice = 2_000  # interleave the two domains finely
    checks = 0
    while True:
        # Stop now and then, with processes alive, pages shared copy-on-write and tables
        # pinned, and recompute every frame's counts from the page tables.
        run = xen.run(max_instructions=400_000)
        assert xen.check_invariants() == [], f"after {checks} checks"
        checks += 1
        if run.reason == "idle":
            break
    assert checks > 5
    assert xenolite.shutdown_reason == "poweroff", xenolite.console
    assert "xenolite: 4 workers done," in xenolite.console
    assert mmu.shutdown_reason == "poweroff" and mmu.console.endswith("all checks passed\n")


def test_xenolite_user_code_is_position_independent() -> None:
    """The kernel copies the user programs from where they are linked (in the kernel image)
    to 0x00400000 in each process, so user code may hold no absolute kernel address (a
    string literal, a switch's jump table, a global) and may branch only within itself."""
    with open(build_guest("xenolite"), "rb") as f:
        elf = ELFFile(f)
        symbols = elf.get_section_by_name(".symtab")
        start, text_end = (
            symbols.get_symbol_by_name(name)[0]["st_value"]
            for name in ("__user_start", "__user_text_end")
        )
        section = elf.get_section_by_name(".user")
        assert section["sh_addr"] == start
        code = section.data()[: text_end - start]
    cs = Cs(CS_ARCH_X86, CS_MODE_32)
    cs.detail = True
    problems, end = [], start
    for insn in cs.disasm(code, start):
        end = insn.address + insn.size
        branch = insn.group(CS_GRP_JUMP) or insn.group(CS_GRP_CALL)
        for op in insn.operands:
            if op.type == X86_OP_IMM and branch:
                if not start <= op.imm < text_end:
                    problems.append(f"{insn.address:#x}: {insn.mnemonic} {insn.op_str} leaves")
            elif op.type in (X86_OP_IMM, X86_OP_MEM):
                value = (op.imm if op.type == X86_OP_IMM else op.mem.disp) & 0xFFFFFFFF
                if KERNBASE <= value < HYPERVISOR_VIRT_START:
                    problems.append(f"{insn.address:#x}: {insn.mnemonic} {insn.op_str}")
    assert end == text_end, "the disassembly stopped early"
    assert problems == []


def test_xenolite_preempts_compute_loops_on_the_timer_tick_and_sleeps() -> None:
    """ "spin=1": two processes that compute with no system call between their progress
    lines, and a sleeper. Only the VIRQ_TIMER tick can take the CPU from a spinner, so
    interleaved lines mean preemption; the sleeper and then init, alone, sleep 5 ms."""
    xen = Xen()
    domain = build_domain(
        xen,
        load_kernel_image(build_guest("xenolite")),
        name="xenolite",
        memory_mib=16,
        cmdline="spin=1",
    )
    run = xen.run(max_instructions=200_000_000)
    console = domain.console
    lines = console.splitlines()
    assert run.reason == "idle" and domain.shutdown_reason == "poweroff", console
    assert lines[-1] == "kernel: power off"
    assert "timer: VIRQ_TIMER on port 2, a tick every 1000 us" in lines
    assert "panic" not in console and "killed" not in console

    spins = [
        (int(m[1]), int(m[2]), int(m[3]), m[4])
        for m in (
            re.fullmatch(r"spin (\d): pid (\d+) step (\d) x=(0x[0-9a-f]{8})", line)
            for line in lines
        )
        if m
    ]
    order = [spinner for spinner, _, _, _ in spins]
    for spinner, pid in ((0, 2), (1, 3)):
        steps = [(p, step) for s, p, step, _ in spins if s == spinner]
        assert steps == [(pid, step) for step in range(1, 9)]
        last_x = [x for s, _, _, x in spins if s == spinner][-1]
        assert f"init: pid {pid} exited with {last_x}" in lines
    # Without preemption spinner 0 would print all 8 lines before spinner 1 printed one.
    switches = sum(1 for a, b in itertools.pairwise(order) if a != b)
    assert order.index(1) < order.index(0) + 2 and switches >= 8, order

    slept = [
        int(m[1])
        for m in (re.fullmatch(r"sleeper: pid 4 slept (\d+) ns", line) for line in lines)
        if m
    ]
    assert len(slept) == 2 and all(5_000_000 <= ns < 8_000_000 for ns in slept), slept
    alone = [
        int(m[1])
        for m in (re.fullmatch(r"init: slept alone (\d+) us", line) for line in lines)
        if m
    ]
    assert len(alone) == 1 and 5_000 <= alone[0] < 7_000, alone
    assert "init: pid 4 exited with 0x00000000" in lines

    done = re.search(r"xenolite: spin done at (\d+) us, (\d+) ticks, (\d+) preemptions", console)
    assert done, console
    elapsed_us, ticks, preemptions = map(int, done.groups())
    assert ticks >= elapsed_us // 1000 - 2 and preemptions >= 30
    # Every tick that found a process running in ring 3 came as an upcall.
    assert domain.stats.upcalls >= preemptions
    # Idle: while init slept alone the domain blocked, and system time ran ahead of the
    # instructions it executed.
    assert xen.clock.now() > domain.stats.instructions + 4_000_000
    assert xen.check_invariants() == []


def test_xenolite_workers_give_the_same_results_when_preempted() -> None:
    """A fast tick preempts the workers inside their loops, page faults and copy-on-write
    included: the checksums and the page accounting must not change."""
    result = boot("xenolite", cmdline="tick=20 workers=5")
    assert result.ok, result.console
    for worker in range(5):
        assert f"exited with checksum {worker_checksum(worker):#010x}" in result.console
    assert "init: every page its children used is free again" in result.console
    assert result.hypercalls["set_timer_op"] > 20
