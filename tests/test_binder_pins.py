"""Binder's pinned environment (binder/) must agree with pyproject.toml.

Binder reads only binder/ when it exists: pyproject.toml is not used there, so its dependencies
are repeated as exact pins in binder/requirements.txt and xenlab itself is installed by
binder/postBuild. These tests keep the two from drifting apart.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = ROOT / "pyproject.toml"
BINDER = ROOT / "binder"

EXACTLY_PINNED = ("unicorn", "ziglang")
LOCAL_OR_OPTION = ("-", ".", "/", "file:")


def _load_pyproject() -> dict:
    """The [project] table's fields used here, read with tomllib (3.11+), tomli, or a regex."""
    text = PYPROJECT.read_text(encoding="utf-8")
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        try:
            import tomli as tomllib
        except ModuleNotFoundError:
            return _scan_pyproject(text)
    project = tomllib.loads(text)["project"]
    return {
        "requires-python": project["requires-python"],
        "dependencies": project.get("dependencies", []),
        "lab": project.get("optional-dependencies", {}).get("lab", []),
    }


def _scan_pyproject(text: str) -> dict:
    """Just enough TOML for the fields above: a string and two arrays of strings."""

    def array(key: str) -> list[str]:
        start = re.search(rf"^{re.escape(key)}\s*=\s*\[", text, re.M)
        assert start, f"{key} not found in pyproject.toml"
        # Strings and comments up to the first "]" outside them: the array's end.
        tokens = re.finditer(r"\"([^\"]*)\"|'([^']*)'|#[^\n]*|(\])", text[start.end() :])
        items = []
        for token in tokens:
            if token.group(3):
                return items
            if not token.group(0).startswith("#"):
                items.append(token.group(1) if token.group(1) is not None else token.group(2))
        raise AssertionError(f"{key} array is not closed in pyproject.toml")

    requires = re.search(r"^requires-python\s*=\s*[\"']([^\"']+)[\"']", text, re.M)
    assert requires, "requires-python not found in pyproject.toml"
    return {
        "requires-python": requires.group(1),
        "dependencies": array("dependencies"),
        "lab": array("lab"),
    }


def _requirements(strings: list[str]) -> dict[str, Requirement]:
    reqs = [Requirement(s) for s in strings]
    return {canonicalize_name(r.name): r for r in reqs}


def _binder_pins() -> dict[str, Requirement]:
    lines = (BINDER / "requirements.txt").read_text(encoding="utf-8").splitlines()
    entries = [line.split("#", 1)[0].strip() for line in lines]
    # Options and local paths are not pins (a test below rejects local paths).
    return _requirements([e for e in entries if e and not e.startswith(LOCAL_OR_OPTION)])


def _pinned_version(req: Requirement) -> str | None:
    specs = list(req.specifier)
    if len(specs) == 1 and specs[0].operator == "==" and "*" not in specs[0].version:
        return specs[0].version
    return None


PYPROJECT_DATA = _load_pyproject()
RUNTIME = _requirements(PYPROJECT_DATA["dependencies"])
LAB = _requirements(PYPROJECT_DATA["lab"])
WANTED = {**RUNTIME, **LAB}


def test_pyproject_declares_the_runtime_and_lab_dependencies_read_here():
    assert set(EXACTLY_PINNED) <= set(RUNTIME)
    assert "jupyterlab" in LAB


@pytest.mark.parametrize("name", sorted(WANTED))
def test_every_runtime_and_lab_dependency_is_pinned_exactly_for_binder(name):
    pins = _binder_pins()
    assert name in pins, f"{name} is missing from binder/requirements.txt"
    assert _pinned_version(pins[name]), f"binder pins {pins[name]}: use an exact '==' pin"


@pytest.mark.parametrize("name", sorted(WANTED))
def test_each_binder_pin_satisfies_the_pyproject_specifier(name):
    pin = _binder_pins().get(name)
    if pin is None or _pinned_version(pin) is None:
        pytest.skip(f"{name} has no exact pin (reported by the test above)")
    version = _pinned_version(pin)
    assert WANTED[name].specifier.contains(version, prereleases=True), (
        f"binder pins {name}=={version} but pyproject.toml wants {WANTED[name]}"
    )


@pytest.mark.parametrize("name", EXACTLY_PINNED)
def test_unicorn_and_ziglang_are_pinned_to_the_same_version_in_both_files(name):
    ours = _pinned_version(RUNTIME[name])
    assert ours, f"pyproject.toml must pin {name} exactly, not {RUNTIME[name]}"
    assert _pinned_version(_binder_pins()[name]) == ours


def test_binder_requirements_do_not_install_the_repository_itself():
    # A local requirement (". " or "-e .") would reinstall every dependency on each commit.
    for line in (BINDER / "requirements.txt").read_text(encoding="utf-8").splitlines():
        entry = line.split("#", 1)[0].strip()
        assert not entry.startswith(LOCAL_OR_OPTION), f"binder/requirements.txt: {entry}"


def test_runtime_txt_names_a_python_that_satisfies_requires_python():
    text = (BINDER / "runtime.txt").read_text(encoding="utf-8").strip()
    match = re.fullmatch(r"python-(\d+\.\d+)", text)
    assert match, f"binder/runtime.txt should read 'python-X.Y', not {text!r}"
    assert SpecifierSet(PYPROJECT_DATA["requires-python"]).contains(match.group(1))


def test_postbuild_stops_on_errors_and_installs_xenlab_without_dependencies():
    script = (BINDER / "postBuild").read_text(encoding="utf-8")
    assert script.startswith("#!"), "postBuild needs a shebang line"
    assert re.search(r"^\s*set\s+-[a-z]*e", script, re.M), "postBuild must 'set -e'"
    installs = [
        line
        for line in script.splitlines()
        if re.search(r"\bpip install\b", line) and not line.lstrip().startswith("#")
    ]
    assert any("--no-deps" in line and re.search(r"-e \.(\s|$)", line) for line in installs), (
        "postBuild must run 'python -m pip install --no-deps -e .'"
    )


def test_the_python_3_10_fallback_reader_agrees_with_tomllib():
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10: pytest itself depends on tomli there
        tomllib = pytest.importorskip("tomli")
    text = PYPROJECT.read_text(encoding="utf-8")
    project = tomllib.loads(text)["project"]
    assert _scan_pyproject(text) == {
        "requires-python": project["requires-python"],
        "dependencies": project["dependencies"],
        "lab": project["optional-dependencies"]["lab"],
    }
