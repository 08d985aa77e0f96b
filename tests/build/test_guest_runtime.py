"""The guest runtime (guests/lib) at work on the real hypervisor: printk's formats,
snprintf, 64-bit division, and what happens when start_kernel returns.  (The built-in
guests' exact output is checked in tests/guests.)"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from xenlab.build import build_guest
from xenlab.toolstack.control import boot

MakeGuest = Callable[[str, dict[str, str]], Path]

# (printk format, C arguments, what C's printf prints)
FORMATS = [
    ("%d", "-42", "-42"),
    ("%i", "0", "0"),
    ("[%5d]", "42", "[   42]"),
    ("[%-5d]", "42", "[42   ]"),
    ("[%05d]", "-42", "[-0042]"),
    ("[%*d]", "4, 7", "[   7]"),
    ("%u", "4294967295u", "4294967295"),
    ("%x", "0xdeadbeefu", "deadbeef"),
    ("%X", "0xdeadbeefu", "DEADBEEF"),
    ("%08lx", "0x1234ul", "00001234"),
    ("%ld", "-2147483647l - 1", "-2147483648"),
    ("%lu", "4000000000ul", "4000000000"),
    ("%llu", "18446744073709551615ull", "18446744073709551615"),
    ("%lld", "-9223372036854775807ll - 1", "-9223372036854775808"),
    ("%llx", "0x123456789abcdefull", "123456789abcdef"),
    ("%lld", "-1234567890123ll", "-1234567890123"),
    ("%s", '"xen"', "xen"),
    ("[%6s]", '"xen"', "[   xen]"),
    ("[%-6s]", '"xen"', "[xen   ]"),
    ("%.3s", '"xenlab"', "xen"),
    ("%.*s", '2, "xenlab"', "xe"),
    ("%c%c", "'o', 'k'", "ok"),
    ("%p", "(void *)0xc0001000", "0xc0001000"),
    ("%p", "(void *)0x10", "0x00000010"),
    ("100%%", "", "100%"),
]


def run(image: Path) -> tuple[str, str]:
    result = boot(image)
    return result.console, result.reason


def test_printk_formats_like_c_printf(make_guest: MakeGuest, tmp_path: Path) -> None:
    calls = "\n".join(
        f'    printk("{fmt}\\n"{", " if args else ""}{args});' for fmt, args, _ in FORMATS
    )
    main_c = f"""
#include <console.h>
#include <hypervisor.h>

void start_kernel(start_info_t *si)
{{
{calls}
    shutdown(SHUTDOWN_poweroff);
}}
"""
    image = build_guest(make_guest("formats", {"main.c": main_c}), cache_root=tmp_path / "c")
    console, _ = run(image)
    assert console.splitlines() == [expected for _, _, expected in FORMATS]


def test_snprintf_truncates_and_returns_the_full_length(
    make_guest: MakeGuest, tmp_path: Path
) -> None:
    main_c = r"""
#include <console.h>
#include <hypervisor.h>
#include <lib.h>

void start_kernel(start_info_t *si)
{
    char buf[8];
    int n = snprintf(buf, sizeof(buf), "%s-%d", "xenlab", 2003);

    printk("%d [%s] %d\n", n, buf, (int)strlen(buf));
    shutdown(SHUTDOWN_poweroff);
}
"""
    image = build_guest(make_guest("snprintf", {"main.c": main_c}), cache_root=tmp_path / "c")
    assert run(image)[0] == "11 [xenlab-] 7\n"


def test_64_bit_division_helpers_match_c_semantics(make_guest: MakeGuest, tmp_path: Path) -> None:
    pairs = [(10**19, 3), (2**64 - 1, 2**32 + 1), (123456789012345, 1000), (5, 7)]
    signed = [(-7, 2), (7, -2), (-(2**62), 3), (-(10**15), -(10**6))]
    lines, expected = [], []
    for n, d in pairs:
        lines.append(f"    u({n}ull, {d}ull);")
        expected.append(f"{n // d} {n % d}")
    for n, d in signed:
        lines.append(f"    s({n}ll, {d}ll);")
        q = abs(n) // abs(d) * (1 if (n < 0) == (d < 0) else -1)  # C truncates toward zero
        expected.append(f"{q} {n - q * d}")
    body = "\n".join(lines)
    main_c = f"""
#include <console.h>
#include <hypervisor.h>

/* volatile: make the compiler call __udivdi3 and friends, not fold constants. */
static void u(unsigned long long n, unsigned long long d)
{{
    volatile unsigned long long a = n, b = d;
    printk("%llu %llu\\n", a / b, a % b);
}}

static void s(long long n, long long d)
{{
    volatile long long a = n, b = d;
    printk("%lld %lld\\n", a / b, a % b);
}}

void start_kernel(start_info_t *si)
{{
{body}
    shutdown(SHUTDOWN_poweroff);
}}
"""
    image = build_guest(make_guest("divide", {"main.c": main_c}), cache_root=tmp_path / "c")
    assert run(image)[0].splitlines() == expected


def test_returning_from_start_kernel_shuts_the_domain_down_as_crashed(
    make_guest: MakeGuest, tmp_path: Path
) -> None:
    main_c = "#include <hypervisor.h>\nvoid start_kernel(start_info_t *si) { }\n"
    image = build_guest(make_guest("returns", {"main.c": main_c}), cache_root=tmp_path / "c")
    assert run(image) == ("", "crash")
