"""The domain builder (paper §3.4; Xen's libxenguest ``xc_dom_*``).

Given a kernel image and a memory size, it lays out a new domain exactly as Xen's
start-of-day contract promises a PV guest (``xen-pv-abi.md``, "Start-of-day virtual
layout"): contiguous from VIRT_BASE, each item page-aligned,

    kernel image | mfn list | start_info | [xenstore page] | console page | bootstrap page
    tables | stack

mapped 1:1 onto the first pseudo-physical pages and followed by >= 512 KiB of mapped
padding.  The page tables are the guest's own (in its own frames) and it sees them
read-only.  Then it fills start_info, the hypercall page and the M2P, and starts the vCPU
in ring 1 at ENTRY with ESI pointing at start_info.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from xenlab.abi import layout
from xenlab.abi.hypercalls import HYPERCALL_STUB_SIZE, HYPERCALL_VECTOR, NR_HYPERCALL_STUBS, NUMBER
from xenlab.hw import x86
from xenlab.toolstack.elfimage import KernelImage
from xenlab.xen.domain import Domain
from xenlab.xen.events import Channel, PortState
from xenlab.xen.frametable import PageType
from xenlab.xen.hypervisor import Xen
from xenlab.xen.mm import pin_table

PAGE = layout.PAGE_SIZE
PADDING = 512 << 10  # mapped slack after the bootstrap region (ABI)

_L1_FLAGS = x86.PTE_P | x86.PTE_RW | x86.PTE_US | x86.PTE_A | x86.PTE_D
_L2_FLAGS = x86.PTE_P | x86.PTE_RW | x86.PTE_US | x86.PTE_A | x86.PTE_D


class BuildError(ValueError):
    """The domain cannot be built as asked (e.g. too little memory for the image)."""


@dataclass(frozen=True)
class Layout:
    """Where each start-of-day item lives, as virtual addresses."""

    virt_base: int
    mfn_list: int
    start_info: int
    store: int  # the xenstore ring page, 0 on a host without a store (a bare Xen)
    console: int
    pt_start: int
    nr_pt_frames: int
    stack: int
    end: int  # first byte after the bootstrap stack

    def pfn(self, va: int) -> int:
        return (va - self.virt_base) >> 12


def hypercall_page() -> bytes:
    """The stubs Xen writes into the guest's hypercall page: ``mov $nr,%eax; int $0x82;
    ret`` at nr*32, except iret's, which pushes EAX first and never returns."""
    page = bytearray(b"\xcc" * PAGE)  # int3 between stubs
    for nr in range(NR_HYPERCALL_STUBS):
        stub = b"\xb8" + struct.pack("<I", nr) + bytes((0xCD, HYPERCALL_VECTOR, 0xC3))
        if nr == NUMBER["iret"]:
            stub = b"\x50" + b"\xb8" + struct.pack("<I", nr) + bytes((0xCD, HYPERCALL_VECTOR))
        page[nr * HYPERCALL_STUB_SIZE : nr * HYPERCALL_STUB_SIZE + len(stub)] = stub
    return bytes(page)


def _round_up(value: int, align: int = PAGE) -> int:
    return (value + align - 1) & ~(align - 1)


def plan_layout(image: KernelImage, nr_pages: int, *, xenstore: bool = False) -> Layout:
    """Place the start-of-day items, sizing the page tables to cover the region they map
    (recomputed until stable, as xc_dom's count_pgtables does)."""
    base = image.virt_base
    mfn_list = _round_up(image.end)
    start_info = _round_up(mfn_list + 4 * nr_pages)
    store = start_info + PAGE if xenstore else 0
    console = (store or start_info) + PAGE
    pt_start = console + PAGE
    nr_pt = 1
    while True:
        stack = pt_start + nr_pt * PAGE
        end = stack + PAGE
        mapped_end = end + PADDING
        l2s = {x86.l3_index(va) for va in range(base, mapped_end, 1 << 30)} | {
            x86.l3_index(mapped_end - 1),
            3,
        }
        l1s = len(range(base >> 21, ((mapped_end - 1) >> 21) + 1))
        needed = 1 + len(l2s) + l1s
        if needed <= nr_pt:
            break
        nr_pt = needed
    plan = Layout(base, mfn_list, start_info, store, console, pt_start, nr_pt, stack, end)
    if plan.pfn(end) > nr_pages:
        raise BuildError(
            f"{nr_pages * PAGE >> 20} MiB is too little memory: the kernel and its start-of-day "
            f"items need {plan.pfn(end) * PAGE >> 10} KiB"
        )
    return plan


def build_domain(
    xen: Xen,
    image: KernelImage,
    *,
    name: str,
    memory_mib: int,
    max_memory_mib: int | None = None,
    cmdline: str = "",
    privileged: bool = False,
    xenstore: bool = False,
) -> Domain:
    """Create, lay out, load and start a domain; it runs at the next ``xen.run()``.

    ``memory_mib`` is the initial reservation; ``max_memory_mib`` (xl's ``maxmem``,
    default the same) the most the domain may balloon up to (paper §3.3.4).  With
    ``xenstore`` (a host with a domain 0, ``xenlab.dom0``) it also gets a store ring page
    and port, named in start_info."""
    if not 1 <= memory_mib <= 1024:
        raise BuildError(f"memory must be 1..1024 MiB, not {memory_mib}")
    max_memory_mib = memory_mib if max_memory_mib is None else max_memory_mib
    if not memory_mib <= max_memory_mib <= 1024:
        raise BuildError(f"maxmem must be {memory_mib}..1024 MiB, not {max_memory_mib}")
    cmd = cmdline.encode("utf-8")
    if len(cmd) >= layout.MAX_GUEST_CMDLINE:
        raise BuildError(
            f"command line is {len(cmd)} bytes; at most {layout.MAX_GUEST_CMDLINE - 1}"
        )
    nr_pages = memory_mib << 8
    plan = plan_layout(image, nr_pages, xenstore=xenstore)
    domain = xen.create_domain(name, max_pages=max_memory_mib << 8, privileged=privileged)
    try:
        _populate(xen, domain, nr_pages)
        _load_image(xen, domain, plan, image)
        l3_mfn = _build_page_tables(xen, domain, plan, nr_pages)
        _fill_start_info(xen, domain, plan, nr_pages, cmd, privileged)
        _fill_shared_info(xen, domain, nr_pages)
        xen.start_vcpu(domain, eip=image.entry, esp=plan.end, esi=plan.start_info, l3_mfn=l3_mfn)
    except BaseException:
        xen.destroy_domain(domain)
        raise
    return domain


def _populate(xen: Xen, domain: Domain, nr_pages: int) -> None:
    """Allocate the domain's memory (scattered frames) and record pfn<->mfn both ways."""
    try:
        domain.p2m = xen.allocate(domain, nr_pages)
    except MemoryError as exc:
        raise BuildError(f"cannot allocate {nr_pages} pages: {exc}") from exc
    for pfn, mfn in enumerate(domain.p2m):
        xen.hole.set_m2p(mfn, pfn)


def _write(xen: Xen, domain: Domain, plan: Layout, va: int, data: bytes) -> None:
    """Write into the new domain's memory through its p2m (a foreign mapping, in Xen)."""
    memory = xen.machine.memory
    done = 0
    while done < len(data):
        here = va + done
        size = min(len(data) - done, PAGE - (here & 0xFFF))
        mfn = domain.p2m[plan.pfn(here)]
        memory.write((mfn << 12) | (here & 0xFFF), data[done : done + size])
        done += size


def _load_image(xen: Xen, domain: Domain, plan: Layout, image: KernelImage) -> None:
    for seg in image.segments:
        _write(xen, domain, plan, seg.vaddr, seg.data)  # .bss: the frames are already zero
    if image.hypercall_page is not None:
        _write(xen, domain, plan, image.hypercall_page, hypercall_page())
    _write(xen, domain, plan, plan.mfn_list, struct.pack(f"<{len(domain.p2m)}I", *domain.p2m))


def _build_page_tables(xen: Xen, domain: Domain, plan: Layout, nr_pages: int) -> int:
    """The bootstrap PAE tables, in the domain's own frames; returns the L3's frame.

    L3 (4 entries, present bit only — PAE PDPTEs have no RW/US) -> one L2 per gigabyte
    used, always including the top one, into which Xen puts its hole when it validates
    it -> L1s mapping the region 1:1, with the page-table frames themselves read-only
    (they could not be validated otherwise).  Then the L3 is pinned, which validates and
    types the whole tree (paper §3.4: "builds its initial page tables ... pins them").
    """
    memory = xen.machine.memory
    pt_pfns = iter(range(plan.pfn(plan.pt_start), plan.pfn(plan.pt_start) + plan.nr_pt_frames))
    pt_mfns = {
        domain.p2m[pfn]
        for pfn in range(plan.pfn(plan.pt_start), plan.pfn(plan.pt_start) + plan.nr_pt_frames)
    }
    l3 = domain.p2m[next(pt_pfns)]
    l2_of: dict[int, int] = {}
    l1_of: dict[int, int] = {}
    mapped_end = min(
        plan.end + PADDING, plan.virt_base + nr_pages * PAGE, layout.HYPERVISOR_VIRT_START
    )

    def l2_for(slot: int) -> int:
        if slot not in l2_of:
            l2_of[slot] = domain.p2m[next(pt_pfns)]
            memory.write_u64((l3 << 12) + 8 * slot, x86.pte(l2_of[slot] << 12, x86.PTE_P))
        return l2_of[slot]

    for va in range(plan.virt_base, mapped_end, PAGE):
        key = va >> 21
        if key not in l1_of:
            l1_of[key] = domain.p2m[next(pt_pfns)]
            l2 = l2_for(x86.l3_index(va))
            memory.write_u64(
                (l2 << 12) + 8 * x86.l2_index(va), x86.pte(l1_of[key] << 12, _L2_FLAGS)
            )
        mfn = domain.p2m[plan.pfn(va)]
        flags = _L1_FLAGS & ~x86.PTE_RW if mfn in pt_mfns else _L1_FLAGS
        memory.write_u64((l1_of[key] << 12) + 8 * x86.l1_index(va), x86.pte(mfn << 12, flags))
    l2_for(3)
    rc = pin_table(domain, l3, PageType.L3)
    if rc:
        raise BuildError(f"the bootstrap page tables do not validate (error {rc})")
    return l3


def _fill_start_info(
    xen: Xen, domain: Domain, plan: Layout, nr_pages: int, cmd: bytes, privileged: bool
) -> None:
    si = bytearray(layout.START_INFO_SIZE)
    si[layout.SI_MAGIC : layout.SI_MAGIC + len(layout.START_INFO_MAGIC)] = layout.START_INFO_MAGIC
    flags = layout.SIF_PRIVILEGED | layout.SIF_INITDOMAIN if privileged else 0
    # The console's (and the store's) port, offered to domain 0, their back end, as Xen's
    # builder does; domain 0 binds them when it connects the domain (xenlab.dom0).
    domain.console_mfn = domain.p2m[plan.pfn(plan.console)]
    domain.console_port = domain.events.allocate(Channel(PortState.UNBOUND, remote_dom=0))
    if plan.store:
        domain.store_mfn = domain.p2m[plan.pfn(plan.store)]
        domain.store_port = domain.events.allocate(Channel(PortState.UNBOUND, remote_dom=0))
    for offset, value in (
        (layout.SI_NR_PAGES, nr_pages),
        (layout.SI_SHARED_INFO, domain.shared_info_mfn << 12),
        (layout.SI_FLAGS, flags),
        (layout.SI_STORE_MFN, domain.store_mfn),
        (layout.SI_STORE_EVTCHN, domain.store_port),
        (layout.SI_CONSOLE_MFN, domain.console_mfn),
        (layout.SI_CONSOLE_EVTCHN, domain.console_port),
        (layout.SI_PT_BASE, plan.pt_start),
        (layout.SI_NR_PT_FRAMES, plan.nr_pt_frames),
        (layout.SI_MFN_LIST, plan.mfn_list),
    ):
        struct.pack_into("<I", si, offset, value)
    si[layout.SI_CMD_LINE : layout.SI_CMD_LINE + len(cmd)] = cmd
    _write(xen, domain, plan, plan.start_info, bytes(si))


def _fill_shared_info(xen: Xen, domain: Domain, nr_pages: int) -> None:
    base = domain.shared_info_mfn << 12
    memory = xen.machine.memory
    memory.view[base + layout.VI_UPCALL_MASK] = 1  # events start masked
    memory.write_u32(base + layout.SH_ARCH, nr_pages)  # arch.max_pfn
