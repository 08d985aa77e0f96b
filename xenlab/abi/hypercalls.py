"""Hypercall numbers (``xen.h``: ``__HYPERVISOR_*``) and their argument conventions.

A hypercall is ``int $0x82`` from ring 1 with EAX = number and EBX, ECX, EDX, ESI, EDI = the
first five arguments; the result comes back in EAX (a negative errno on failure).
"""

HYPERCALL_VECTOR = 0x82  # the IDT vector Xen's 32-bit PV guests trap through

HYPERCALLS: dict[int, str] = {
    0: "set_trap_table",
    1: "mmu_update",
    2: "set_gdt",
    3: "stack_switch",
    4: "set_callbacks",
    5: "fpu_taskswitch",
    6: "sched_op_compat",
    7: "platform_op",
    8: "set_debugreg",
    9: "get_debugreg",
    10: "update_descriptor",
    12: "memory_op",
    13: "multicall",
    14: "update_va_mapping",
    15: "set_timer_op",
    16: "event_channel_op_compat",
    17: "xen_version",
    18: "console_io",
    19: "physdev_op_compat",
    20: "grant_table_op",
    21: "vm_assist",
    22: "update_va_mapping_otherdomain",
    23: "iret",
    24: "vcpu_op",
    26: "mmuext_op",
    28: "nmi_op",
    29: "sched_op",
    30: "callback_op",
    32: "event_channel_op",
    33: "physdev_op",
    35: "sysctl",
    36: "domctl",
}
NUMBER: dict[str, int] = {name: nr for nr, name in HYPERCALLS.items()}

# The hypercall page: stub ``nr`` lives at offset nr * 32 (XEN_ELFNOTE_HYPERCALL_PAGE).
HYPERCALL_STUB_SIZE = 32
NR_HYPERCALL_STUBS = 4096 // HYPERCALL_STUB_SIZE

# console_io
CONSOLEIO_write = 0
CONSOLEIO_read = 1

# sched_op (sched.h)
SCHEDOP_yield = 0
SCHEDOP_block = 1
SCHEDOP_shutdown = 2
SCHEDOP_poll = 3
SCHEDOP_remote_shutdown = 4
SCHEDOP_shutdown_code = 5
SCHEDOP_watchdog = 6

SHUTDOWN_REASONS: dict[int, str] = {
    0: "poweroff",
    1: "reboot",
    2: "suspend",
    3: "crash",
    4: "watchdog",
}

# xen_version (version.h)
XENVER_version = 0
XENVER_extraversion = 1
XENVER_compile_info = 2
XENVER_capabilities = 3
XENVER_changeset = 4
XENVER_platform_parameters = 5
XENVER_get_features = 6
XENVER_pagesize = 7
XENVER_guest_handle = 8
XENVER_commandline = 9

# features.h: bits of submap 0 that XENVER_get_features reports
XENFEAT_writable_page_tables = 0
XENFEAT_writable_descriptor_tables = 1
XENFEAT_auto_translated_physmap = 2
XENFEAT_supervisor_mode_kernel = 3
XENFEAT_pae_pgdir_above_4gb = 4

# vm_assist (xen.h)
VMASST_CMD_enable = 0
VMASST_CMD_disable = 1
VMASST_TYPE_4gb_segments = 0
VMASST_TYPE_4gb_segments_notify = 1
VMASST_TYPE_writable_pagetables = 2
VMASST_TYPE_pae_extended_cr3 = 3

# update_va_mapping flags (xen.h)
UVMF_NONE = 0
UVMF_TLB_FLUSH = 1
UVMF_INVLPG = 2
UVMF_FLUSHTYPE_MASK = 3
UVMF_LOCAL = 0 << 2
UVMF_ALL = 1 << 2

DOMID_SELF = 0x7FF0
DOMID_IO = 0x7FF1
DOMID_XEN = 0x7FF2

# mmu_update: the low 2 bits of each request's ptr say what it is (xen.h)
MMU_NORMAL_PT_UPDATE = 0
MMU_MACHPHYS_UPDATE = 1
MMU_PT_UPDATE_PRESERVE_AD = 2
MMU_PT_UPDATE_NO_TRANSLATE = 3

# mmuext_op commands (xen.h)
MMUEXT_PIN_L1_TABLE = 0
MMUEXT_PIN_L2_TABLE = 1
MMUEXT_PIN_L3_TABLE = 2
MMUEXT_PIN_L4_TABLE = 3
MMUEXT_UNPIN_TABLE = 4
MMUEXT_NEW_BASEPTR = 5
MMUEXT_TLB_FLUSH_LOCAL = 6
MMUEXT_INVLPG_LOCAL = 7
MMUEXT_TLB_FLUSH_MULTI = 8
MMUEXT_INVLPG_MULTI = 9
MMUEXT_TLB_FLUSH_ALL = 10
MMUEXT_INVLPG_ALL = 11
MMUEXT_FLUSH_CACHE = 12
MMUEXT_SET_LDT = 13
MMUEXT_CLEAR_PAGE = 16
MMUEXT_COPY_PAGE = 17

# memory_op (memory.h): the balloon interface.  The low 6 bits of cmd are the command; the
# rest is the extent to start from (for continued calls).
XENMEM_increase_reservation = 0
XENMEM_decrease_reservation = 1
XENMEM_maximum_ram_page = 2
XENMEM_current_reservation = 3
XENMEM_maximum_reservation = 4
XENMEM_machphys_mfn_list = 5
XENMEM_populate_physmap = 6
XENMEM_exchange = 11
XENMEM_machphys_mapping = 12
MEMOP_CMD_MASK = 0x3F
MEMOP_EXTENT_SHIFT = 6

# event_channel_op (event_channel.h)
EVTCHNOP_bind_interdomain = 0
EVTCHNOP_bind_virq = 1
EVTCHNOP_bind_pirq = 2
EVTCHNOP_close = 3
EVTCHNOP_send = 4
EVTCHNOP_status = 5
EVTCHNOP_alloc_unbound = 6
EVTCHNOP_bind_ipi = 7
EVTCHNOP_bind_vcpu = 8
EVTCHNOP_unmask = 9
EVTCHNOP_reset = 10
NR_EVENT_CHANNELS = 1024  # 2-level: 32 words of 32 bits for a 32-bit guest
# evtchn_status.status
EVTCHNSTAT_closed = 0
EVTCHNSTAT_unbound = 1
EVTCHNSTAT_interdomain = 2
EVTCHNSTAT_pirq = 3
EVTCHNSTAT_virq = 4
EVTCHNSTAT_ipi = 5
# Virtual interrupts (xen.h)
VIRQ_TIMER = 0
VIRQ_DEBUG = 1
VIRQ_CONSOLE = 2
VIRQ_DOM_EXC = 3
NR_VIRQS = 24

# callback_op (callback.h)
CALLBACKOP_register = 0
CALLBACKOP_unregister = 1
CALLBACKTYPE_event = 0
CALLBACKTYPE_failsafe = 1
CALLBACKTYPE_syscall = 2
CALLBACKTYPE_nmi = 4
CALLBACKTYPE_sysenter = 5
CALLBACKTYPE_syscall32 = 7
CALLBACKF_mask_events = 1

# vcpu_op (vcpu.h)
VCPUOP_initialise = 0
VCPUOP_up = 1
VCPUOP_down = 2
VCPUOP_is_up = 3
VCPUOP_get_runstate_info = 4
VCPUOP_set_periodic_timer = 6
VCPUOP_stop_periodic_timer = 7
VCPUOP_set_singleshot_timer = 8
VCPUOP_stop_singleshot_timer = 9
VCPU_SSHOTTMR_future = 1
MAX_POLL_PORTS = 128  # SCHEDOP_poll: the most ports one call may wait on
