"""Selectors, the virtual address map, and the byte layouts of start_info, shared_info and
vcpu_info for a 32-bit PAE PV guest (``arch-x86/xen-x86_32.h``, ``xen.h``)."""

PAGE_SHIFT = 12
PAGE_SIZE = 1 << PAGE_SHIFT

# --- Segment selectors: Xen's reserved GDT entries start at entry 7168 (page 14). ---------
FIRST_RESERVED_GDT_PAGE = 14
FIRST_RESERVED_GDT_ENTRY = FIRST_RESERVED_GDT_PAGE * PAGE_SIZE // 8  # 7168 = 0x1C00
GDT_PAGES = 16  # the GDT window: 14 guest pages + Xen's reserved pages
FLAT_RING0_CS = 0xE008  # __HYPERVISOR_CS (xenlab uses it only to bring the CPU up)
FLAT_RING0_DS = 0xE010
FLAT_RING1_CS = 0xE019
FLAT_RING1_DS = 0xE021
FLAT_RING1_SS = 0xE021
FLAT_RING3_CS = 0xE02B
FLAT_RING3_DS = 0xE033
FLAT_RING3_SS = 0xE033

# --- The hypervisor hole (PAE): everything from HYPERVISOR_VIRT_START up is Xen's. --------
HYPERVISOR_VIRT_START = 0xF5800000
MACH2PHYS_VIRT_START = 0xF5800000  # read-only machine-to-physical table, 4 bytes per MFN
MACH2PHYS_VIRT_END = 0xF6800000
# Segments may reach over the read-only M2P but no further (Xen's GUEST_SEGMENT_MAX_ADDR).
GUEST_SEGMENT_MAX_ADDR = MACH2PHYS_VIRT_END

# --- start_info (1112 bytes; ESI points at it when the guest starts) ----------------------
START_INFO_SIZE = 1112
START_INFO_MAGIC = b"xen-3.0-x86_32p"
SI_MAGIC = 0
SI_NR_PAGES = 32
SI_SHARED_INFO = 36
SI_FLAGS = 40
SI_STORE_MFN = 44
SI_STORE_EVTCHN = 48
SI_CONSOLE_MFN = 52
SI_CONSOLE_EVTCHN = 56
SI_PT_BASE = 60
SI_NR_PT_FRAMES = 64
SI_MFN_LIST = 68
SI_MOD_START = 72
SI_MOD_LEN = 76
SI_CMD_LINE = 80
MAX_GUEST_CMDLINE = 1024
SI_FIRST_P2M_PFN = 1104
SI_NR_P2M_FRAMES = 1108
SIF_PRIVILEGED = 1
SIF_INITDOMAIN = 2

# --- vcpu_info (64 bytes) and shared_info --------------------------------------------------
VCPU_INFO_SIZE = 64
VI_UPCALL_PENDING = 0  # u8
VI_UPCALL_MASK = 1  # u8: the virtual interrupt flag (1 = events masked)
VI_PENDING_SEL = 4
VI_ARCH_CR2 = 8  # arch_vcpu_info.cr2: where a guest reads its page-fault address
VI_TIME = 32  # vcpu_time_info (32 bytes)
XEN_LEGACY_MAX_VCPUS = 32
SH_EVTCHN_PENDING = 0x800
SH_EVTCHN_MASK = 0x880
SH_WC_VERSION = 0x900
SH_WC_SEC = 0x904
SH_WC_NSEC = 0x908
SH_ARCH = 0x90C  # arch_shared_info: max_pfn, pfn_to_mfn_frame_list_list, nmi_reason
SHARED_INFO_SIZE = 2344

# --- trap_info (8 bytes: u8 vector, u8 flags, u16 cs, u32 address) ------------------------
TRAP_INFO_SIZE = 8
TI_DPL_MASK = 3  # flags bits 0-1: the lowest privilege that may raise the vector with int n
TI_CLEAR_EVENT_MASK = 4  # flags bit 2: mask events on entry ("interrupt gate")

# --- ELF notes (elfnote.h), name "Xen" ------------------------------------------------------
XEN_ELFNOTE_ENTRY = 1
XEN_ELFNOTE_HYPERCALL_PAGE = 2
XEN_ELFNOTE_VIRT_BASE = 3
XEN_ELFNOTE_PADDR_OFFSET = 4
XEN_ELFNOTE_XEN_VERSION = 5
XEN_ELFNOTE_GUEST_OS = 6
XEN_ELFNOTE_GUEST_VERSION = 7
XEN_ELFNOTE_LOADER = 8
XEN_ELFNOTE_PAE_MODE = 9
XEN_ELFNOTE_FEATURES = 10
XEN_ELFNOTE_BSD_SYMTAB = 11

# --- Exceptions (x86 vectors 0-19) --------------------------------------------------------
TRAP_NAMES: dict[int, str] = {
    0: "#DE divide error",
    1: "#DB debug",
    2: "NMI",
    3: "#BP breakpoint",
    4: "#OF overflow",
    5: "#BR bound range",
    6: "#UD invalid opcode",
    7: "#NM device not available",
    8: "#DF double fault",
    9: "coprocessor segment overrun",
    10: "#TS invalid TSS",
    11: "#NP segment not present",
    12: "#SS stack fault",
    13: "#GP general protection",
    14: "#PF page fault",
    15: "reserved",
    16: "#MF x87 floating point",
    17: "#AC alignment check",
    18: "#MC machine check",
    19: "#XM SIMD floating point",
}
TRAP_DIVIDE_ERROR = 0
TRAP_INVALID_OP = 6
TRAP_GP_FAULT = 13
TRAP_PAGE_FAULT = 14
# Vectors for which the CPU (and so Xen's bounce frame) pushes an error code.
TRAPS_WITH_ERROR_CODE = frozenset({8, 10, 11, 12, 13, 14, 17})
