"""Building guests: catalogue, reproducibility, the content-keyed cache, errors."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import xenlab.build.guests as guests_module
from xenlab.build import BuildError, build_guest, list_guests

HELLO_C = """
#include <console.h>
#include <hypervisor.h>

void start_kernel(start_info_t *si)
{
    printk("probe\\n");
    shutdown(SHUTDOWN_poweroff);
}
"""

MakeGuest = Callable[[str, dict[str, str]], Path]


def test_list_guests_names_each_builtin_guest_with_its_readme_description() -> None:
    guests = {guest.name: guest for guest in list_guests()}
    assert {"hello", "traps"} <= set(guests)
    assert "include" not in guests and "lib" not in guests
    assert guests["hello"].description.startswith("prints a greeting")
    assert guests["traps"].path.name == "traps"
    assert (guests["traps"].path / "main.c").is_file()


@pytest.mark.parametrize("name", ["hello", "traps"])
def test_two_clean_builds_give_identical_bytes(name: str, tmp_path: Path) -> None:
    first = build_guest(name, cache_root=tmp_path / "a")
    second = build_guest(name, cache_root=tmp_path / "b")
    assert first.read_bytes() == second.read_bytes()
    assert first.relative_to(tmp_path / "a") == second.relative_to(tmp_path / "b")


def test_a_cache_hit_runs_no_compiler(
    session_cache: Path, built_guests: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_tools(*args: object, **kwargs: object) -> None:
        raise AssertionError("the toolchain ran on a cache hit")

    monkeypatch.setattr(guests_module, "compile_sources", no_tools)
    monkeypatch.setattr(guests_module, "link", no_tools)
    before = built_guests["hello"].stat().st_mtime_ns
    assert build_guest("hello", cache_root=session_cache) == built_guests["hello"]
    assert built_guests["hello"].stat().st_mtime_ns == before


def test_force_rebuilds_a_cached_guest_to_the_same_bytes(
    session_cache: Path, built_guests: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []
    real_link = guests_module.link

    def counting_link(*args: object, **kwargs: object) -> None:
        calls.append(args)
        real_link(*args, **kwargs)

    monkeypatch.setattr(guests_module, "link", counting_link)
    before = built_guests["hello"].read_bytes()
    assert build_guest("hello", cache_root=session_cache, force=True) == built_guests["hello"]
    assert len(calls) == 1
    assert built_guests["hello"].read_bytes() == before


def test_changing_one_source_byte_gives_a_new_cache_entry(
    make_guest: MakeGuest, tmp_path: Path
) -> None:
    folder = make_guest("probe", {"main.c": HELLO_C})
    first = build_guest(folder, cache_root=tmp_path / "cache")
    (folder / "main.c").write_text(HELLO_C.replace("probe", "Probe"))
    second = build_guest(folder, cache_root=tmp_path / "cache")
    assert first != second
    assert first.parent.name.startswith("probe-") and second.parent.name.startswith("probe-")
    assert first.read_bytes() != second.read_bytes()


def test_a_broken_c_file_raises_build_error_with_the_compiler_message(
    make_guest: MakeGuest, tmp_path: Path
) -> None:
    folder = make_guest(
        "broken", {"main.c": HELLO_C.replace('printk("probe\\n");', "printk(undeclared_thing);")}
    )
    with pytest.raises(BuildError) as info:
        build_guest(folder, cache_root=tmp_path / "cache")
    message = str(info.value)
    assert "compiling broken/main.c failed" in message
    assert "broken/main.c:" in message
    assert "undeclared_thing" in message and "error" in message
    assert str(tmp_path / "cache") not in message  # no temporary paths for students


def test_a_missing_symbol_raises_build_error_from_the_linker(
    make_guest: MakeGuest, tmp_path: Path
) -> None:
    source = HELLO_C.replace('printk("probe\\n");', "extern void nowhere(void); nowhere();")
    folder = make_guest("unlinked", {"main.c": source})
    with pytest.raises(BuildError, match=r"(?s)linking kernel\.elf.*undefined symbol: nowhere"):
        build_guest(folder, cache_root=tmp_path / "cache")


def test_an_unknown_guest_name_lists_the_known_guests(tmp_path: Path) -> None:
    with pytest.raises(BuildError, match=r"unknown guest 'no-such-guest'") as info:
        build_guest("no-such-guest", cache_root=tmp_path / "cache")
    for guest in list_guests():
        assert guest.name in str(info.value)


def test_a_guest_folder_without_sources_is_refused(make_guest: MakeGuest, tmp_path: Path) -> None:
    folder = make_guest("empty", {"README.md": "# empty\n"})
    with pytest.raises(BuildError, match=r"no \.c or \.S files"):
        build_guest(folder, cache_root=tmp_path / "cache")


def test_a_guest_ld_in_the_guest_folder_replaces_the_shared_linker_script(
    make_guest: MakeGuest, tmp_path: Path
) -> None:
    from elftools.elf.elffile import ELFFile

    shared = (guests_module.guests_dir() / "lib" / "guest.ld").read_text()
    moved = shared.replace(". = 0xC0000000;", ". = 0xC0100000;")
    assert moved != shared
    folder = make_guest("moved", {"main.c": HELLO_C, "guest.ld": moved})
    with build_guest(folder, cache_root=tmp_path / "cache").open("rb") as f:
        assert ELFFile(f).header["e_entry"] == 0xC0100000


def test_the_cache_root_defaults_to_the_xenlab_cache_variable(
    make_guest: MakeGuest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XENLAB_CACHE", str(tmp_path / "from-env"))
    image = build_guest(make_guest("probe", {"main.c": HELLO_C}))
    assert image.is_relative_to(tmp_path / "from-env" / "guests")
    assert image.name == "kernel.elf"


def test_builds_leave_no_temporary_folders_behind(make_guest: MakeGuest, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    build_guest(make_guest("probe", {"main.c": HELLO_C}), cache_root=cache)
    with pytest.raises(BuildError):
        build_guest(make_guest("bad", {"main.c": "syntax error"}), cache_root=cache)
    assert list((cache / "tmp").iterdir()) == []


def test_hidden_files_in_a_guest_folder_do_not_change_the_cache_key(
    make_guest: MakeGuest, tmp_path: Path
) -> None:
    folder = make_guest("probe", {"main.c": HELLO_C})
    first = build_guest(folder, cache_root=tmp_path / "cache")
    (folder / ".main.c.swp").write_text("editor state")
    assert build_guest(folder, cache_root=tmp_path / "cache") == first


def test_xenlab_guests_points_the_catalogue_and_the_runtime_at_another_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "guests"
    for shared in ("include", "lib"):
        shutil.copytree(guests_module.GUESTS_DIR / shared, root / shared)
    (root / "extra").mkdir()
    (root / "extra" / "README.md").write_text("# extra — a guest from elsewhere\n")
    (root / "extra" / "main.c").write_text(HELLO_C)
    monkeypatch.setenv("XENLAB_GUESTS", str(root))
    assert [(g.name, g.description) for g in list_guests()] == [("extra", "a guest from elsewhere")]
    assert build_guest("extra", cache_root=tmp_path / "cache").name == "kernel.elf"


def test_concurrent_builds_of_one_guest_into_one_cache_agree(tmp_path: Path) -> None:
    # As pytest workers or several notebooks would: same key, same moment, one cache.
    cache = tmp_path / "cache"
    with ThreadPoolExecutor(max_workers=4) as pool:
        images = list(pool.map(lambda _: build_guest("hello", cache_root=cache), range(4)))
    assert len(set(images)) == 1
    assert (
        images[0].read_bytes() == build_guest("hello", cache_root=tmp_path / "alone").read_bytes()
    )
    assert list((cache / "tmp").iterdir()) == []
