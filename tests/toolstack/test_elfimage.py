"""Reading kernel images: Xen notes, layout checks, clear refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from xenlab.build import build_guest
from xenlab.toolstack.elfimage import ImageError, load_kernel_image, required_features


def test_the_xen_notes_of_a_built_guest_are_read_into_the_image() -> None:
    image = load_kernel_image(build_guest("hello"))
    assert image.virt_base == 0xC0000000
    assert image.entry == 0xC0000000
    assert image.hypercall_page is not None and image.hypercall_page & 0xFFF == 0
    assert image.notes["pae_mode"] == "yes"
    assert image.notes["loader"] == "generic"


def test_features_marked_with_a_bang_are_required_and_the_rest_optional() -> None:
    features = "!writable_page_tables|pae_pgdir_above_4gb"
    assert required_features(features) == {"writable_page_tables"}
    assert required_features("pae_pgdir_above_4gb") == set()
    assert required_features("") == set()


def test_a_kernel_requiring_a_feature_xenlab_lacks_is_refused(tmp_path: Path) -> None:
    blob = bytearray(build_guest("hello").read_bytes())
    at = blob.index(b"pae_pgdir_above_4gb\0")
    blob[at : at + 20] = b"!writable_page_table"  # same length: still a valid note
    patched = tmp_path / "needs-writable-pt.elf"
    patched.write_bytes(bytes(blob))
    with pytest.raises(ImageError, match="requires writable_page_table, which xenlab does not"):
        load_kernel_image(patched)


def test_a_file_that_is_not_elf_is_refused_with_its_name(tmp_path: Path) -> None:
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"not an elf at all")
    with pytest.raises(ImageError, match=r"junk\.bin: malformed ELF"):
        load_kernel_image(junk)


def test_a_missing_file_is_refused_with_its_name(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="cannot read"):
        load_kernel_image(tmp_path / "nothing-here.elf")
