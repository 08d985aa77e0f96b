"""xenlab's packages form layers, and imports only point down:

    abi  <-  hw  <-  xen  <-  dom0  <-  toolstack  <-  (lab, cli)
    abi  <-  build  <-  toolstack

Only ``xenlab.hw`` may import ``unicorn``. The sources are parsed with ``ast``, never imported,
so a package that is missing or half-written does not hide a violation elsewhere. Imports under
``if TYPE_CHECKING:`` are ignored: they do not run.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

XENLAB = Path(__file__).resolve().parents[1] / "xenlab"

# What each layer may import from xenlab (by first component below ``xenlab``). Modules not
# listed here (xenlab.lab, xenlab.cli, xenlab/__init__.py, ...) may import anything.
ALLOWED: dict[str, set[str]] = {
    "abi": {"abi"},
    "hw": {"abi", "hw"},
    "xen": {"abi", "hw", "xen"},
    "build": {"abi", "build"},
    "dom0": {"abi", "xen", "dom0"},
    "toolstack": {"abi", "hw", "xen", "dom0", "build", "toolstack"},
}
ROOT = "<xenlab/__init__>"  # the component of ``xenlab`` itself and of names it defines
UNICORN_LAYER = "hw"


@dataclass(frozen=True)
class Import:
    path: Path  # the importing file
    line: int
    target: str  # absolute dotted name of what is imported


def module_name(path: Path, package_dir: Path) -> str:
    parts = list(path.relative_to(package_dir.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def component(target: str, package_dir: Path) -> str:
    """The layer of an absolute name inside the package: ``xenlab.hw.cpu`` -> ``hw``."""
    parts = target.split(".")
    if len(parts) == 1:
        return ROOT
    name = parts[1]
    if (package_dir / name).is_dir() or (package_dir / f"{name}.py").is_file():
        return name
    return ROOT  # an attribute of xenlab/__init__.py, e.g. ``from xenlab import __version__``


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_nodes(nodes: list[ast.stmt]) -> Iterator[ast.AST]:
    """Every node in ``nodes``, skipping the bodies of ``if TYPE_CHECKING:`` blocks."""
    stack: list[ast.AST] = list(reversed(nodes))
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            children: list[ast.AST] = list(node.orelse)
        else:
            children = list(ast.iter_child_nodes(node))
        stack.extend(reversed(children))


def _import_module_argument(call: ast.Call) -> str | None:
    """``'a.b'`` for ``importlib.import_module('a.b')``, ``import_module`` or ``__import__``."""
    func = call.func
    named = (isinstance(func, ast.Name) and func.id in {"import_module", "__import__"}) or (
        isinstance(func, ast.Attribute) and func.attr == "import_module"
    )
    if not (named and call.args and isinstance(call.args[0], ast.Constant)):
        return None
    value = call.args[0].value
    return value if isinstance(value, str) and not value.startswith(".") else None


def imports_of(path: Path, package_dir: Path) -> list[Import]:
    """The absolute names ``path`` imports at run time (``import``, ``from``, import_module)."""
    module = module_name(path, package_dir)
    is_package = path.name == "__init__.py"
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[Import] = []
    for node in _runtime_nodes(tree.body):
        if isinstance(node, ast.Import):
            found += [Import(path, node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                package = module.split(".") if is_package else module.split(".")[:-1]
                keep = len(package) - (node.level - 1)
                assert keep > 0, f"{path}:{node.lineno}: relative import beyond the top package"
                base = ".".join(package[:keep])
                source = f"{base}.{node.module}" if node.module else base
            else:
                source = node.module or ""
            if "." not in source and source == package_dir.name:
                # ``from xenlab import hw``: each name is a module (or an attribute of xenlab).
                found += [Import(path, node.lineno, f"{source}.{a.name}") for a in node.names]
            else:
                found.append(Import(path, node.lineno, source))
        elif isinstance(node, ast.Call) and (name := _import_module_argument(node)):
            found.append(Import(path, node.lineno, name))
    return found


def modules(package_dir: Path) -> list[Path]:
    return sorted(p for p in package_dir.rglob("*.py") if "__pycache__" not in p.parts)


def layer_of(path: Path, package_dir: Path) -> str:
    return component(module_name(path, package_dir), package_dir)


def layer_violations(package_dir: Path, layer: str) -> list[str]:
    allowed = ALLOWED[layer]
    problems = []
    for path in modules(package_dir):
        if layer_of(path, package_dir) != layer:
            continue
        for imp in imports_of(path, package_dir):
            if imp.target.split(".")[0] != package_dir.name:
                continue
            used = component(imp.target, package_dir)
            if used not in allowed:
                where = imp.path.relative_to(package_dir.parent)
                problems.append(
                    f"{where}:{imp.line} imports {imp.target}; "
                    f"xenlab.{layer} may import only {', '.join(sorted(allowed))}"
                )
    return problems


def unicorn_violations(package_dir: Path) -> list[str]:
    problems = []
    for path in modules(package_dir):
        if layer_of(path, package_dir) == UNICORN_LAYER:
            continue
        for imp in imports_of(path, package_dir):
            if imp.target.split(".")[0] == "unicorn":
                where = imp.path.relative_to(package_dir.parent)
                problems.append(f"{where}:{imp.line} imports {imp.target}")
    return problems


# --- the rules, on the real package ---------------------------------------------------------


def test_every_module_of_xenlab_parses():
    # A syntax error would otherwise hide that module's imports from the rules below.
    for path in modules(XENLAB):
        imports_of(path, XENLAB)


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_each_layer_imports_only_from_itself_and_the_layers_below_it(layer):
    problems = layer_violations(XENLAB, layer)
    assert not problems, "\n".join(problems)


def test_only_xenlab_hw_imports_unicorn():
    problems = unicorn_violations(XENLAB)
    assert not problems, "only xenlab.hw may import unicorn:\n" + "\n".join(problems)


# --- the checker itself, on a made-up package -------------------------------------------------


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / "xenlab" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root / "xenlab"


def test_the_checker_flags_upward_imports_in_every_spelling(tmp_path):
    pkg = _write(
        tmp_path,
        {
            "__init__.py": "",
            "abi/__init__.py": "",
            "hw/__init__.py": "from .. import xen\n",
            "hw/cpu.py": "import xenlab.xen.mm\nfrom ..toolstack import boot\n",
            "hw/mem.py": "def f():\n    from xenlab import lab\n",
            "hw/dyn.py": "import importlib\nimportlib.import_module('xenlab.build')\n",
            "xen/__init__.py": "",
            "xen/mm.py": "",
            "toolstack/__init__.py": "",
            "toolstack/boot.py": "",
            "build/__init__.py": "",
            "lab/__init__.py": "",
        },
    )
    problems = layer_violations(pkg, "hw")
    assert [p.split(" imports ")[1].split(";")[0] for p in problems] == [
        "xenlab.xen",
        "xenlab.xen.mm",
        "xenlab.toolstack",
        "xenlab.build",
        "xenlab.lab",
    ]


def test_the_checker_allows_downward_imports_and_ignores_type_checking_blocks(tmp_path):
    pkg = _write(
        tmp_path,
        {
            "abi/__init__.py": "from . import layout\nfrom .layout import PAGE\n",
            "abi/layout.py": "PAGE = 4096\n",
            "hw/__init__.py": "import unicorn\nfrom xenlab.abi import layout\n",
            "xen/__init__.py": (
                "import typing\nfrom typing import TYPE_CHECKING\n"
                "from ..hw import cpu\n"
                "if TYPE_CHECKING:\n    from xenlab.toolstack import Domain\n"
                "if typing.TYPE_CHECKING:\n    import xenlab.lab\n"
            ),
            "hw/cpu.py": "",
            "toolstack/__init__.py": "",
            "lab/__init__.py": "from xenlab.toolstack import x\nimport unicorn\n",
        },
    )
    for layer in ALLOWED:
        assert layer_violations(pkg, layer) == []
    assert [p.split(":")[0] for p in unicorn_violations(pkg)] == ["xenlab/lab/__init__.py"]


def test_the_checker_counts_the_else_branch_of_type_checking(tmp_path):
    pkg = _write(
        tmp_path,
        {
            "xen/__init__.py": (
                "if TYPE_CHECKING:\n    pass\nelse:\n    from xenlab import toolstack\n"
            ),
            "toolstack/__init__.py": "",
        },
    )
    assert len(layer_violations(pkg, "xen")) == 1


def test_the_checker_passes_a_package_that_does_not_exist_yet(tmp_path):
    pkg = _write(tmp_path, {"__init__.py": ""})
    for layer in ALLOWED:
        assert layer_violations(pkg, layer) == []
    assert unicorn_violations(pkg) == []
