"""The frame table (Xen's ``struct page_info`` array): owner, type and counts of every frame.

Paper §3.3.3: guests own their page tables, but may change them only through Xen, and Xen
keeps, for every machine frame, a *type* (none, L1, L2, L3, segment descriptors, writable)
with a *type count*, and a total *reference count*.  The rules that make this safe:

* a frame changes type only while its type count is 0;
* a writable mapping of a frame needs type "writable", so a page-table or descriptor frame
  can never be mapped writable, and a writably-mapped frame can never become a page table;
* a domain maps and references only frames it owns;
* giving a frame a page-table type *validates* it: every present entry is checked and takes
  a reference on what it points at (recursively typing lower tables); when the type count
  drops back to 0 the references are dropped again;
* pinning holds the type (and so the validation) until unpin;
* a frame is freed only when nothing references it.

Counts (a simplified but complete model of Xen's ``count_info``/``type_info``):
``count`` = the "allocated" reference a domain holds on its own frames + one per present
entry pointing at the frame from a validated table + one per pin + one per use as a base
pointer or GDT frame; ``type_count`` = those references that need the type (writable L1
entries, L2 -> L1 and L3 -> L2 entries, pins, base pointers, GDT uses).
:meth:`FrameTable.check` recomputes both from the page tables and compares.

Linear (recursive) page tables are refused, as by Xen with ``pv-linear-pt=false``: an L2
entry must point at a frame that can be typed L1, and a frame typed L2 cannot.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Callable, Iterator

from xenlab.abi import errno
from xenlab.hw import x86
from xenlab.hw.memory import MachineMemory

FIRST_XEN_SLOT = 428  # l2_index(HYPERVISOR_VIRT_START): slots from here up are Xen's
# PAE L1/L2 entries: bits 52-62 are reserved, and NX while EFER.NXE is off.
RESERVED_BITS = 0x7FF0_0000_0000_0000 | x86.PTE_NX
L2_DISALLOWED = x86.PTE_PSE  # no large pages for PV guests
# PAE L3 entries (PDPTEs) may carry only present and the cache bits.
L3_ALLOWED = x86.PTE_P | x86.PTE_PWT | x86.PTE_PCD | x86.PTE_ADDR_MASK


class PageType(enum.IntEnum):
    NONE = 0
    L1 = 1
    L2 = 2
    L3 = 3
    L2_XEN = 4  # an L2 at L3 slot 3, whose top slots hold Xen's hole (PGT_pae_xen_l2)
    SEG_DESC = 5  # GDT/LDT frame
    WRITABLE = 6


PAGE_TABLE_TYPES = (PageType.L1, PageType.L2, PageType.L2_XEN, PageType.L3)
# Per type (indexed by its number; plain bytes so the hot paths do no enum work): the
# page-table level (0: not a page table) and how many entries a guest may use.
LEVEL = _LEVEL = bytes([0, 1, 2, 3, 2, 0, 0])
_NR_ENTRIES = (0, 512, 512, 4, FIRST_XEN_SLOT, 0, 0)
_WRITABLE = PageType.WRITABLE.value
_ADDR_MASK = x86.PTE_ADDR_MASK
_RW = x86.PTE_RW
_P = x86.PTE_P


class FrameTable:
    """Per-frame type and reference counts, and the validation that maintains them."""

    def __init__(
        self,
        memory: MachineMemory,
        owner: list[int],
        xen_l2_slots: Callable[[int], dict[int, int]],
        descriptors_ok: Callable[[bytes], bool],
    ) -> None:
        """``owner`` is the allocator's owner list (shared, not copied); ``xen_l2_slots``
        gives, for a domain id, Xen's entries for the top slots of an L2_XEN table;
        ``descriptors_ok`` checks a frame's worth of segment descriptors."""
        n = memory.nr_frames
        self.memory = memory
        self.owner = owner
        self.xen_l2_slots = xen_l2_slots
        self.descriptors_ok = descriptors_ok  # the check a frame passes to become SEG_DESC
        self.nr_frames = n
        self.type = bytearray(n)
        self.type_count = [0] * n
        self.count = [0] * n
        self.pinned = bytearray(n)
        # Set when a mapping was removed or downgraded: the TLB must be flushed before the
        # guest runs again, so it can never use a translation Xen no longer vouches for.
        self.tlb_flush_needed = False

    # ------------------------------------------------------------------ allocation
    def assign(self, mfn: int) -> None:
        """A frame just given to a domain: the domain's "allocated" reference."""
        self.type[mfn] = PageType.NONE
        self.type_count[mfn] = 0
        self.count[mfn] = 1
        self.pinned[mfn] = 0

    def reset(self, mfn: int) -> None:
        """Forget a frame (its domain is destroyed or released it)."""
        self.type[mfn] = PageType.NONE
        self.type_count[mfn] = self.count[mfn] = self.pinned[mfn] = 0

    # ------------------------------------------------------------------ references
    def get_page(self, mfn: int, domid: int) -> bool:
        """Take a general reference on a frame ``domid`` owns (Xen's get_page)."""
        if mfn >= self.nr_frames or self.owner[mfn] != domid or not self.count[mfn]:
            return False
        self.count[mfn] += 1
        return True

    def put_page(self, mfn: int) -> None:
        self.count[mfn] -= 1
        assert self.count[mfn] >= 0, f"frame {mfn:#x}: reference count underflow"

    def get_page_type(self, mfn: int, type_: PageType, domid: int) -> int:
        """Take a type reference (Xen's get_page_type); validates on first use as a table."""
        if self.type_count[mfn]:
            if self.type[mfn] != type_:
                return -errno.EINVAL  # in use as something else
            self.type_count[mfn] += 1
            return 0
        self.type[mfn] = type_
        self.type_count[mfn] = 1
        rc = 0
        if _LEVEL[type_]:
            rc = self._validate(mfn, PageType(type_), domid)
        elif type_ is PageType.SEG_DESC and not self.descriptors_ok(self.memory.frame(mfn)):
            rc = -errno.EINVAL
        if rc:
            self.type_count[mfn] = 0
            self.type[mfn] = PageType.NONE
        return rc

    def put_page_type(self, mfn: int, domid: int) -> None:
        self.type_count[mfn] -= 1
        assert self.type_count[mfn] >= 0, f"frame {mfn:#x}: type count underflow"
        if self.type_count[mfn] == 0:
            type_ = self.type[mfn]
            if _LEVEL[type_]:
                self._devalidate(mfn, PageType(type_), domid)
            elif type_ == _WRITABLE:
                self.tlb_flush_needed = True  # it may now be retyped: no stale RW mapping
            self.type[mfn] = PageType.NONE

    def get_page_and_type(self, mfn: int, type_: PageType, domid: int) -> int:
        if not self.get_page(mfn, domid):
            return -errno.EINVAL
        rc = self.get_page_type(mfn, type_, domid)
        if rc:
            self.put_page(mfn)
        return rc

    def put_page_and_type(self, mfn: int, domid: int) -> None:
        self.put_page_type(mfn, domid)
        self.put_page(mfn)

    # ------------------------------------------------------------------ entries
    def get_entry_refs(self, level: int, index: int, entry: int, domid: int) -> int:
        """Check a present entry of a level-``level`` table and take what it references."""
        mfn = (entry & _ADDR_MASK) >> 12
        if level == 1:
            if entry & RESERVED_BITS:
                return -errno.EINVAL
            if entry & _RW:
                return self.get_page_and_type(mfn, _WRITABLE, domid)
            return 0 if self.get_page(mfn, domid) else -errno.EINVAL
        if level == 2:
            if entry & (RESERVED_BITS | L2_DISALLOWED):
                return -errno.EINVAL
            return self.get_page_and_type(mfn, PageType.L1, domid)
        if entry & ~L3_ALLOWED:
            return -errno.EINVAL
        lower = PageType.L2_XEN if index == 3 else PageType.L2
        return self.get_page_and_type(mfn, lower, domid)

    def put_entry_refs(self, level: int, entry: int, domid: int) -> None:
        mfn = (entry & _ADDR_MASK) >> 12
        # Mappings went away (at any level: an L2 entry takes a whole L1's worth with it,
        # even if that L1 lives on elsewhere), so the TLB must not keep them.
        self.tlb_flush_needed = True
        if level == 1 and not entry & _RW:
            self.count[mfn] -= 1  # a read-only mapping holds a reference, not a type
            return
        self.put_page_and_type(mfn, domid)

    def _entries(self, mfn: int, type_: int) -> range:
        """The entries a guest may use (an L2_XEN's top slots are Xen's)."""
        return range(_NR_ENTRIES[type_])

    def _validate(self, mfn: int, type_: PageType, domid: int) -> int:
        """Check every present entry of a new page table (Xen's alloc_page_type); on a bad
        entry undo the references already taken and fail."""
        level = _level(type_)
        base = mfn << 12
        read = self.memory.read_u64
        taken = []
        for index in self._entries(mfn, type_):
            entry = read(base + 8 * index)
            if not entry & x86.PTE_P:
                continue
            rc = self.get_entry_refs(level, index, entry, domid)
            if rc:
                for _, old in reversed(taken):
                    self.put_entry_refs(level, old, domid)
                return rc
            taken.append((index, entry))
        if type_ is PageType.L3 and not self.memory.read_u64(base + 24) & _P:
            for _, old in reversed(taken):
                self.put_entry_refs(level, old, domid)
            return -errno.EINVAL  # Xen's hole lives under slot 3: it must be there
        if type_ is PageType.L2_XEN:
            self._install_xen_slots(mfn, domid)
        return 0

    def _xen_slot_values(self, domid: int) -> list[int]:
        """Slots 428-511 of a top L2 as Xen wants them: its entries, and nothing else."""
        mine = self.xen_l2_slots(domid)
        return [mine.get(slot, 0) for slot in range(FIRST_XEN_SLOT, x86.L2_ENTRIES)]

    def _install_xen_slots(self, mfn: int, domid: int) -> None:
        """Write *every* hypervisor slot of a top L2 (Xen's init_xen_pae_l2_slots):
        leaving any guest-written entry there would let the guest map what it likes
        through the hole, unvalidated."""
        first = (mfn << 12 >> 3) + FIRST_XEN_SLOT
        words = self.memory.u64
        for k, entry in enumerate(self._xen_slot_values(domid)):
            words[first + k] = entry

    def _devalidate(self, mfn: int, type_: PageType, domid: int) -> None:
        level = _level(type_)
        base = mfn << 12
        read = self.memory.read_u64
        for index in self._entries(mfn, type_):
            entry = read(base + 8 * index)
            if entry & x86.PTE_P:
                self.put_entry_refs(level, entry, domid)

    # ------------------------------------------------------------------ updates
    def mod_entry(
        self, table_mfn: int, index: int, new: int, domid: int, *, preserve_ad: bool = False
    ) -> int:
        """Change entry ``index`` of a validated page table (mod_l{1,2,3}_entry).  The
        hottest path of batched updates: plain ints and table lookups only."""
        type_ = self.type[table_mfn]
        level = _LEVEL[type_]
        if not level or not self.type_count[table_mfn] or index >= _NR_ENTRIES[type_]:
            return -errno.EINVAL  # not a page table in use, or Xen's own slots of a top L2
        if level == 3 and index == 3:
            return -errno.EINVAL  # a live L3's slot 3 (Xen's hole) is not the guest's to change
        slot = (table_mfn << 12) + 8 * index
        memory = self.memory
        old = memory.u64[slot >> 3]
        if level == 1:
            if preserve_ad:
                new |= old & (x86.PTE_A | x86.PTE_D)
            _, rc, _ = self.apply_l1_updates(iter(((slot, new),)), domid)
            return rc
        if new & _P:
            rc = self.get_entry_refs(level, index, new, domid)
            if rc:
                return rc
        memory.write_u64(slot, new)
        if old & _P:
            self.put_entry_refs(level, old, domid)
        return 0

    def apply_l1_updates(
        self, requests: Iterator[tuple[int, int]], domid: int
    ) -> tuple[int, int, tuple[int, int] | None]:
        """Apply a run of L1 updates — (machine address of the entry, new entry) — for as
        long as each targets an L1 of ``domid`` in use: check the new entry, take its
        references, write it, drop the old entry's (the rules ``get_entry_refs`` and
        ``put_entry_refs`` state for every level, written out here because batched updates
        are made of them and this loop runs once per PTE).

        Returns (how many were applied, the error that stopped the run or 0, the first
        request that is not such an update, for the caller's general path, or None).
        """
        owner, count, type_count, types = self.owner, self.count, self.type_count, self.type
        words, nr_frames = self.memory.u64, self.nr_frames
        l1, writable, none = PageType.L1.value, _WRITABLE, PageType.NONE.value
        flush = False
        present, rw, addr, reserved = _P, _RW, _ADDR_MASK, RESERVED_BITS
        applied = 0
        result: tuple[int, int, tuple[int, int] | None] | None = None
        for slot, new in requests:
            table = slot >> 12
            if slot & 7 or table >= nr_frames or owner[table] != domid:
                result = applied, 0, (slot, new)
                break
            if not type_count[table] or types[table] != l1:
                result = applied, 0, (slot, new)
                break
            index = slot >> 3
            old = words[index]
            if new & present:
                target = (new & addr) >> 12
                if new & reserved or target >= nr_frames or owner[target] != domid:
                    result = applied, -errno.EINVAL, None
                    break
                if not count[target]:
                    result = applied, -errno.EINVAL, None
                    break
                if new & rw:
                    if type_count[target]:
                        if types[target] != writable:
                            result = applied, -errno.EINVAL, None  # a page table, GDT frame
                            break
                        type_count[target] += 1
                    else:
                        types[target] = writable
                        type_count[target] = 1
                count[target] += 1
            words[index] = new
            if old & present:
                flush = True  # a mapping went away
                gone = (old & addr) >> 12
                if old & rw:  # put_page_type of a writable frame, written out
                    type_count[gone] -= 1
                    if not type_count[gone]:
                        types[gone] = none
                count[gone] -= 1
            applied += 1
        if flush:
            self.tlb_flush_needed = True
        return result or (applied, 0, None)

    # ------------------------------------------------------------------ checking
    def check(self, domains: dict[int, list[int]], roots: Counter[int]) -> list[str]:
        """Recompute every count from the page tables and compare (the invariant checker).

        ``domains`` maps domid -> the frames it owns; ``roots`` counts the references held
        outside page tables (base pointers, GDT frames) per frame.  Returns the
        discrepancies found: an empty list when all is well.
        """
        want_count: Counter[int] = Counter(roots)
        want_type: Counter[int] = Counter(roots)
        problems = []
        for domid, mfns in domains.items():
            for mfn in mfns:
                want_count[mfn] += 1 + self.pinned[mfn]  # allocated (+ pinned)
                want_type[mfn] += self.pinned[mfn]
                problems += self._check_table(mfn, domid, want_count, want_type)
        for mfns in domains.values():
            for mfn in mfns:
                have = (self.count[mfn], self.type_count[mfn])
                want = (want_count[mfn], want_type[mfn])
                if have != want:
                    kind = PageType(self.type[mfn]).name
                    problems.append(f"frame {mfn:#x} ({kind}): counts {have}, tables say {want}")
        return problems

    def _check_table(self, mfn: int, domid: int, want_count: Counter, want_type: Counter) -> list:
        type_ = PageType(self.type[mfn])
        if type_ not in PAGE_TABLE_TYPES or not self.type_count[mfn]:
            return []
        problems = []
        level = _level(type_)
        if type_ is PageType.L2_XEN:
            first = (mfn << 12 >> 3) + FIRST_XEN_SLOT
            actual = list(self.memory.u64[first : first + x86.L2_ENTRIES - FIRST_XEN_SLOT])
            if actual != self._xen_slot_values(domid):
                problems.append(f"top L2 {mfn:#x}: the hypervisor slots are not Xen's")
        for index in self._entries(mfn, type_):
            entry = self.memory.read_u64((mfn << 12) + 8 * index)
            if not entry & x86.PTE_P:
                continue
            target = x86.pte_maddr(entry) >> 12
            if target >= len(self.owner) or self.owner[target] != domid:
                problems.append(f"{type_.name} frame {mfn:#x} maps {target:#x}, not its own")
                continue
            writable = level == 1 and entry & x86.PTE_RW
            want_count[target] += 1
            want_type[target] += 1 if level > 1 or writable else 0
            if writable and self.type[target] != PageType.WRITABLE:
                kind = PageType(self.type[target]).name
                problems.append(f"frame {target:#x} is mapped writable but is {kind}")
        return problems


def _level(type_: int) -> int:
    return _LEVEL[type_]
