"""The guests' C headers (``guests/include/xen``) and ``xenlab.abi`` state one ABI.

Python is the source of truth; a C name it does not know is allowed (the guests' headers copy
more of Xen's public headers than the hypervisor uses), but every shared name must agree and
every Python number a guest needs must have a C spelling.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from xenlab.abi import errno, hypercalls, layout, ring, xenstore
from xenlab.build.toolchain import compile_sources, toolchain_env

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
    ring: ["BLKIF_MAX_SEGMENTS_PER_REQUEST"],
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
    (ring, "BLKIF_OP_"),
    (ring, "BLKIF_RSP_"),
    (ring, "NETIF_RSP_"),
    (ring, "NETTXF_"),
    (ring, "NETRXF_"),
    (xenstore, "XENSTORE_"),
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


# --- Shared rings (io/ring.h, blkif.h, netif.h, console.h) vs xenlab.abi.ring, and the --------
# --- xenstore page and wire header (io/xs_wire.h) vs xenlab.abi.xenstore -----------------------

# C field -> xenlab.abi.ring constant, for the pages that are not xenlab.abi.ring.Records.
RING_OFFSETS: dict[tuple[str, str], str] = {
    **{
        (f"{tag}_sring", field): constant
        for tag in ("blkif", "netif_tx", "netif_rx")
        for field, constant in [
            ("req_prod", "SRING_REQ_PROD"),
            ("req_event", "SRING_REQ_EVENT"),
            ("rsp_prod", "SRING_RSP_PROD"),
            ("rsp_event", "SRING_RSP_EVENT"),
            ("pvt", "SRING_PAD"),
            ("ring", "SRING_RING"),
        ]
    },
    ("xencons_interface", "in"): "XENCONS_IN",
    ("xencons_interface", "out"): "XENCONS_OUT",
    ("xencons_interface", "in_cons"): "XENCONS_IN_CONS",
    ("xencons_interface", "in_prod"): "XENCONS_IN_PROD",
    ("xencons_interface", "out_cons"): "XENCONS_OUT_CONS",
    ("xencons_interface", "out_prod"): "XENCONS_OUT_PROD",
}
# C field -> xenlab.abi.xenstore constant.
XENSTORE_OFFSETS: dict[tuple[str, str], str] = {
    ("xenstore_domain_interface", "req"): "XS_RING_REQ",
    ("xenstore_domain_interface", "rsp"): "XS_RING_RSP",
    ("xenstore_domain_interface", "req_cons"): "XS_RING_REQ_CONS",
    ("xenstore_domain_interface", "req_prod"): "XS_RING_REQ_PROD",
    ("xenstore_domain_interface", "rsp_cons"): "XS_RING_RSP_CONS",
    ("xenstore_domain_interface", "rsp_prod"): "XS_RING_RSP_PROD",
    ("xenstore_domain_interface", "server_features"): "XS_RING_SERVER_FEATURES",
    ("xenstore_domain_interface", "connection"): "XS_RING_CONNECTION",
    ("xsd_sockmsg", "type"): "XSD_TYPE",
    ("xsd_sockmsg", "req_id"): "XSD_REQ_ID",
    ("xsd_sockmsg", "tx_id"): "XSD_TX_ID",
    ("xsd_sockmsg", "len"): "XSD_LEN",
}
RECORD_FIELDS = [
    pytest.param(record, field, id=f"{record.name}.{field}")
    for record in ring.RECORDS
    for field in record.fields
]


@pytest.mark.parametrize(("field", "constant"), RING_OFFSETS.items(), ids=RING_OFFSETS.values())
def test_a_c_ring_page_offset_matches_the_python_ring_layout(
    c_offsets: dict[tuple[str, str], int], field: tuple[str, str], constant: str
) -> None:
    assert field in c_offsets, f"no _Static_assert(offsetof(struct {field[0]}, {field[1]}))"
    assert c_offsets[field] == getattr(ring, constant)


def test_every_python_ring_page_offset_is_checked_against_the_c_headers() -> None:
    offsets = {
        name
        for name, value in vars(ring).items()
        if name.startswith(("SRING_", "XENCONS_"))
        and isinstance(value, int)
        and not name.endswith("_SIZE")
    }
    assert offsets == set(RING_OFFSETS.values())


@pytest.mark.parametrize(
    ("field", "constant"), XENSTORE_OFFSETS.items(), ids=XENSTORE_OFFSETS.values()
)
def test_a_c_xenstore_field_offset_matches_the_python_xenstore_layout(
    c_offsets: dict[tuple[str, str], int], field: tuple[str, str], constant: str
) -> None:
    assert field in c_offsets, f"no _Static_assert(offsetof(struct {field[0]}, {field[1]}))"
    assert c_offsets[field] == getattr(xenstore, constant)


def test_every_python_xenstore_offset_is_checked_against_the_c_header(
    c_sizes: dict[str, int],
) -> None:
    offsets = {name for name in vars(xenstore) if name.startswith(("XS_RING_", "XSD_"))}
    offsets -= {"XSD_SOCKMSG_FORMAT", "XSD_SOCKMSG_SIZE", "XSD_ERRORS"}
    assert offsets == set(XENSTORE_OFFSETS.values())
    assert c_sizes["xsd_sockmsg"] == xenstore.XSD_SOCKMSG_SIZE


@pytest.mark.parametrize(("record", "field"), RECORD_FIELDS)
def test_a_c_ring_record_field_sits_where_the_python_record_puts_it(
    c_offsets: dict[tuple[str, str], int], record: ring.Record, field: str
) -> None:
    key = (record.name, field)
    assert key in c_offsets, f"no _Static_assert(offsetof(struct {record.name}, {field}))"
    assert c_offsets[key] == record.offsets[field]


@pytest.mark.parametrize("record", ring.RECORDS, ids=lambda r: r.name)
def test_a_c_ring_record_has_the_python_record_size(
    c_sizes: dict[str, int], record: ring.Record
) -> None:
    assert record.name in c_sizes, f"no _Static_assert(sizeof(struct {record.name}))"
    assert c_sizes[record.name] == record.size


# xenstore's message types are C enumerators, not #defines: read ``enum NAME { A = n, ... }``
# bodies (and ``#define ALIAS ENUMERATOR`` inside them, as XS_DEBUG is) from the headers.
_INCLUDE_XEN = Path(__file__).resolve().parents[2] / "guests" / "include" / "xen"
_ENUM = re.compile(r"\benum\s+\w+\s*\{(.*?)\}", re.DOTALL)
_ENUMERATOR = re.compile(r"^\s*(\w+)\s*=\s*(\w+)\s*,?\s*$")
_ALIAS = re.compile(r"^\s*#\s*define\s+(\w+)\s+(\w+)\s*$")


@pytest.fixture(scope="session")
def c_enumerators() -> dict[str, int]:
    """name -> value of every explicitly numbered enumerator (and alias of one)."""
    found: dict[str, int] = {}
    aliases: dict[str, str] = {}
    for path in sorted(_INCLUDE_XEN.rglob("*.h")):
        text = re.sub(r"/\*.*?\*/", " ", path.read_text(), flags=re.DOTALL)
        for body in _ENUM.findall(text):
            for line in body.splitlines():
                if m := _ENUMERATOR.match(line):
                    found[m[1]] = int(m[2], 0)
                elif m := _ALIAS.match(line):
                    aliases[m[1]] = m[2]
    found.update({alias: found[target] for alias, target in aliases.items() if target in found})
    return found


def test_the_enum_reader_finds_the_xenstore_message_types(c_enumerators: dict[str, int]) -> None:
    assert c_enumerators["XS_READ"] == 2
    assert c_enumerators["XS_DEBUG"] == c_enumerators["XS_CONTROL"] == 0


def test_c_xenstore_message_types_are_the_python_message_types(
    c_enumerators: dict[str, int],
) -> None:
    python = {f"XS_{name}": nr for nr, name in xenstore.XS_MESSAGE_NAMES.items()}
    python |= {"XS_DEBUG": xenstore.XS_CONTROL, "XS_INVALID": xenstore.XS_INVALID}
    watch_fields = {"XS_WATCH_PATH", "XS_WATCH_TOKEN"}  # enum xs_watch_type
    c_types = {
        name: nr
        for name, nr in c_enumerators.items()
        if name.startswith("XS_") and name not in watch_fields
    }
    assert c_types == python


# No guest includes the ring headers yet, so nothing else would ever compile their
# _Static_asserts or expand their macros: a translation unit that uses each macro once,
# compiled with the guests' own flags, does.
RING_MACROS_C = """
#include <xen/io/blkif.h>
#include <xen/io/console.h>
#include <xen/io/netif.h>
#include <xen/io/xs_wire.h>

int front_end(void *page)
{
    blkif_front_ring_t front;
    blkif_sring_t *sring = page;
    blkif_response_t rsp;
    int notify, more, status = 0;

    SHARED_RING_INIT(sring);
    FRONT_RING_INIT(&front, sring, 4096);
    if (RING_FULL(&front) || RING_FREE_REQUESTS(&front) != RING_SIZE(&front))
        return -1;
    RING_GET_REQUEST(&front, front.req_prod_pvt)->operation = BLKIF_OP_READ;
    front.req_prod_pvt++;
    RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&front, notify);
    RING_PUSH_REQUESTS(&front);
    while (RING_HAS_UNCONSUMED_RESPONSES(&front)) {
        if (RING_RESPONSE_PROD_OVERFLOW(&front, sring->rsp_prod))
            return -1;
        RING_COPY_RESPONSE(&front, front.rsp_cons, &rsp);
        status += rsp.status + RING_GET_RESPONSE(&front, front.rsp_cons)->status;
        front.rsp_cons++;
    }
    RING_FINAL_CHECK_FOR_RESPONSES(&front, more);
    return notify + more + status;
}

int back_end(void *tx_page, void *rx_page)
{
    netif_tx_back_ring_t tx;
    netif_rx_back_ring_t rx;
    netif_tx_request_t req;
    int notify, more;

    BACK_RING_INIT(&tx, (netif_tx_sring_t *)tx_page, 4096);
    BACK_RING_INIT(&rx, (netif_rx_sring_t *)rx_page, 4096);
    if (RING_REQUEST_PROD_OVERFLOW(&tx, tx.sring->req_prod))
        return -1;
    while (RING_HAS_UNCONSUMED_REQUESTS(&tx) && !RING_REQUEST_CONS_OVERFLOW(&tx, tx.req_cons)) {
        RING_COPY_REQUEST(&tx, tx.req_cons, &req);
        tx.req_cons++;
        RING_GET_RESPONSE(&tx, tx.rsp_prod_pvt)->id = req.id;
        RING_GET_RESPONSE(&tx, tx.rsp_prod_pvt)->status = NETIF_RSP_OKAY;
        tx.rsp_prod_pvt++;
    }
    RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&tx, notify);
    RING_PUSH_RESPONSES(&tx);
    RING_FINAL_CHECK_FOR_REQUESTS(&rx, more);
    return notify + more + (int)MASK_XENSTORE_IDX(XS_WRITE)
        + (int)MASK_XENCONS_IDX(1u, ((struct xencons_interface *)rx_page)->out);
}
"""


def test_the_ring_headers_compile_for_a_32_bit_guest(tmp_path: Path) -> None:
    (tmp_path / "rings.c").write_text(RING_MACROS_C)
    compile_sources(
        [("rings.c", "rings.o")],
        cwd=tmp_path,
        extra_flags=["-I", str(_INCLUDE_XEN.parent)],
        env=toolchain_env(tmp_path / "cache"),
    )
    assert (tmp_path / "rings.o").stat().st_size > 0
