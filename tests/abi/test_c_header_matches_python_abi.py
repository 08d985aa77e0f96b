"""The guests' C headers (``guests/include/xen``) and ``xenlab.abi`` state one ABI.

Python is the source of truth; a C name it does not know is allowed (the guests' headers copy
more of Xen's public headers than the hypervisor uses), but every shared name must agree and
every Python number a guest needs must have a C spelling.
"""

from __future__ import annotations

import pytest

from xenlab.abi import errno, hypercalls, layout

# C ``#define`` names checked against the xenlab.abi module holding the same name.
NAMED_CONSTANTS = {
    layout: [
        "FLAT_RING1_CS",
        "FLAT_RING1_DS",
        "FLAT_RING1_SS",
        "FLAT_RING3_CS",
        "FLAT_RING3_DS",
        "FLAT_RING3_SS",
        "HYPERVISOR_VIRT_START",
        "MACH2PHYS_VIRT_START",
        "MACH2PHYS_VIRT_END",
        "SIF_PRIVILEGED",
        "SIF_INITDOMAIN",
        "XEN_LEGACY_MAX_VCPUS",
        "MAX_GUEST_CMDLINE",
    ],
    hypercalls: ["DOMID_SELF", "DOMID_IO", "DOMID_XEN"],
}
# Every Python constant with one of these prefixes must have an equal C define.
PREFIXED_GROUPS = [
    (hypercalls, "CONSOLEIO_"),
    (hypercalls, "SCHEDOP_"),
    (hypercalls, "XENVER_"),
    (hypercalls, "VMASST_"),
    (hypercalls, "UVMF_"),
    (hypercalls, "XENFEAT_"),
    (hypercalls, "MMU_"),
    (hypercalls, "MMUEXT_"),
    (hypercalls, "XENMEM_"),
    (hypercalls, "EVTCHNOP_"),
    (hypercalls, "VIRQ_"),
    (hypercalls, "CALLBACKOP_"),
    (hypercalls, "CALLBACKTYPE_"),
    (layout, "XEN_ELFNOTE_"),
]


def _prefixed(module: object, prefix: str) -> list[str]:
    return sorted(
        name
        for name, value in vars(module).items()
        if name.startswith(prefix) and isinstance(value, int)
    )


def _python_constants() -> list[object]:
    cases: list[object] = []
    for module, names in NAMED_CONSTANTS.items():
        cases += [pytest.param(module, name, id=name) for name in names]
    for module, prefix in PREFIXED_GROUPS:
        for name in _prefixed(module, prefix):
            cases.append(pytest.param(module, name, id=name))
    return cases


def test_the_parser_finds_the_headers_defines(c_defines: dict[str, int]) -> None:
    assert c_defines["__HYPERVISOR_set_trap_table"] == 0
    assert c_defines["MACH2PHYS_NR_ENTRIES"] == (0xF6800000 - 0xF5800000) >> 2
    assert c_defines["UVMF_ALL"] == 1 << 2


def test_every_c_hypercall_number_names_the_same_hypercall_in_python(
    c_defines: dict[str, int],
) -> None:
    c_calls = {
        name.removeprefix("__HYPERVISOR_"): nr
        for name, nr in c_defines.items()
        if name.startswith("__HYPERVISOR_")
    }
    assert c_calls, "no __HYPERVISOR_* defines found"
    assert {name: hypercalls.NUMBER.get(name) for name in c_calls} == c_calls


def test_every_python_hypercall_has_a_c_define(c_defines: dict[str, int]) -> None:
    missing = {
        nr: name
        for nr, name in hypercalls.HYPERCALLS.items()
        if c_defines.get(f"__HYPERVISOR_{name}") != nr
    }
    assert missing == {}


@pytest.mark.parametrize(("module", "name"), _python_constants())
def test_a_python_abi_constant_has_an_equal_c_define(
    c_defines: dict[str, int], module: object, name: str
) -> None:
    assert name in c_defines, f"{name} is not defined in guests/include/xen"
    assert c_defines[name] == getattr(module, name)


def test_c_shutdown_reasons_are_the_python_shutdown_reasons(c_defines: dict[str, int]) -> None:
    c_reasons = {
        nr: name.removeprefix("SHUTDOWN_")
        for name, nr in c_defines.items()
        if name.startswith("SHUTDOWN_")
    }
    assert c_reasons == hypercalls.SHUTDOWN_REASONS


@pytest.mark.parametrize("name", sorted(set(errno.NAMES.values())))
def test_an_errno_value_agrees_with_the_c_header(c_defines: dict[str, int], name: str) -> None:
    assert name in c_defines, f"{name} is not defined in xen/errno.h"
    assert c_defines[name] == getattr(errno, name)


# C field (as spelled in the header's offsetof asserts) -> xenlab.abi.layout constant.
OFFSETS: dict[tuple[str, str], str] = {
    ("start_info", "magic"): "SI_MAGIC",
    ("start_info", "nr_pages"): "SI_NR_PAGES",
    ("start_info", "shared_info"): "SI_SHARED_INFO",
    ("start_info", "flags"): "SI_FLAGS",
    ("start_info", "store_mfn"): "SI_STORE_MFN",
    ("start_info", "store_evtchn"): "SI_STORE_EVTCHN",
    ("start_info", "console.domU.mfn"): "SI_CONSOLE_MFN",
    ("start_info", "console.domU.evtchn"): "SI_CONSOLE_EVTCHN",
    ("start_info", "pt_base"): "SI_PT_BASE",
    ("start_info", "nr_pt_frames"): "SI_NR_PT_FRAMES",
    ("start_info", "mfn_list"): "SI_MFN_LIST",
    ("start_info", "mod_start"): "SI_MOD_START",
    ("start_info", "mod_len"): "SI_MOD_LEN",
    ("start_info", "cmd_line"): "SI_CMD_LINE",
    ("start_info", "first_p2m_pfn"): "SI_FIRST_P2M_PFN",
    ("start_info", "nr_p2m_frames"): "SI_NR_P2M_FRAMES",
    ("vcpu_info", "evtchn_upcall_pending"): "VI_UPCALL_PENDING",
    ("vcpu_info", "evtchn_upcall_mask"): "VI_UPCALL_MASK",
    ("vcpu_info", "evtchn_pending_sel"): "VI_PENDING_SEL",
    ("vcpu_info", "arch.cr2"): "VI_ARCH_CR2",
    ("vcpu_info", "time"): "VI_TIME",
    ("shared_info", "evtchn_pending"): "SH_EVTCHN_PENDING",
    ("shared_info", "evtchn_mask"): "SH_EVTCHN_MASK",
    ("shared_info", "wc_version"): "SH_WC_VERSION",
    ("shared_info", "wc_sec"): "SH_WC_SEC",
    ("shared_info", "wc_nsec"): "SH_WC_NSEC",
    ("shared_info", "arch"): "SH_ARCH",
}
SIZES = {
    "start_info": "START_INFO_SIZE",
    "vcpu_info": "VCPU_INFO_SIZE",
    "shared_info": "SHARED_INFO_SIZE",
    "trap_info": "TRAP_INFO_SIZE",
}


@pytest.mark.parametrize(("field", "constant"), OFFSETS.items(), ids=OFFSETS.values())
def test_a_c_field_offset_assert_matches_the_python_layout(
    c_offsets: dict[tuple[str, str], int], field: tuple[str, str], constant: str
) -> None:
    assert field in c_offsets, f"no _Static_assert(offsetof(struct {field[0]}, {field[1]}))"
    assert c_offsets[field] == getattr(layout, constant)


@pytest.mark.parametrize(("struct", "constant"), SIZES.items())
def test_a_c_struct_size_assert_matches_the_python_layout(
    c_sizes: dict[str, int], struct: str, constant: str
) -> None:
    assert struct in c_sizes, f"no _Static_assert(sizeof(struct {struct}))"
    assert c_sizes[struct] == getattr(layout, constant)


def test_every_python_struct_offset_is_checked_against_the_c_header() -> None:
    python_offsets = {name for name in vars(layout) if name.startswith(("SI_", "VI_", "SH_"))}
    assert python_offsets == set(OFFSETS.values())
