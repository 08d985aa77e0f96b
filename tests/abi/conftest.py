"""The guests' C view of the ABI, read from ``guests/include/xen/**/*.h`` without a compiler.

``c_defines`` maps each object-like ``#define NAME VALUE`` whose value is an integer
expression (hex or decimal literals with optional ``U``/``L`` suffixes, parentheses, ``<<``,
``>>``, ``|``, ``&``, ``+``, ``-`` and other such names) to its value.  ``c_offsets`` and
``c_sizes`` collect the ``_Static_assert(offsetof(struct s, field) == N)`` and
``_Static_assert(sizeof(struct s) == N)`` lines that pin the structure layouts.
"""

from __future__ import annotations

import ast
import operator
import re
from pathlib import Path

import pytest

INCLUDE_XEN = Path(__file__).resolve().parents[2] / "guests" / "include" / "xen"

_DEFINE = re.compile(r"^\s*#\s*define\s+(\w+)[ \t]+(.+?)\s*$", re.MULTILINE)
_INT_SUFFIX = re.compile(r"\b(0[xX][0-9a-fA-F]+|\d+)[uUlL]+\b")
_OFFSETOF = re.compile(
    r"_Static_assert\(\s*offsetof\(\s*(?:struct\s+)?(\w+)\s*,\s*([\w.\[\]]+)\s*\)\s*==\s*(\w+)\s*,"
)
_SIZEOF = re.compile(r"_Static_assert\(\s*sizeof\(\s*(?:struct\s+)?(\w+)\s*\)\s*==\s*(\w+)\s*,")
_BINOPS = {
    ast.LShift: operator.lshift,
    ast.RShift: operator.rshift,
    ast.BitOr: operator.or_,
    ast.BitAnd: operator.and_,
    ast.Add: operator.add,
    ast.Sub: operator.sub,
}


def _source(path: Path) -> str:
    """A header's text without comments and with continued lines joined."""
    text = re.sub(r"/\*.*?\*/", " ", path.read_text(), flags=re.DOTALL)
    text = re.sub(r"//[^\n]*", "", text)
    return text.replace("\\\n", " ")


def _headers() -> list[Path]:
    return sorted(INCLUDE_XEN.rglob("*.h"))


def _struct(name: str) -> str:
    """``start_info_t`` and ``struct start_info`` name the same structure."""
    return name.removesuffix("_t")


def _evaluate(expr: str, raw: dict[str, str], seen: frozenset[str] = frozenset()) -> int | None:
    """The value of a C integer expression, or None if it is not one."""
    try:
        tree = ast.parse(_INT_SUFFIX.sub(r"\1", expr), mode="eval")
    except SyntaxError:
        return None

    def value(node: ast.AST) -> int | None:
        if isinstance(node, ast.Constant) and type(node.value) is int:
            return node.value
        if isinstance(node, ast.Name) and node.id in raw and node.id not in seen:
            return _evaluate(raw[node.id], raw, seen | {node.id})
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            operand = value(node.operand)
            return None if operand is None else -operand
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            left, right = value(node.left), value(node.right)
            if left is None or right is None:
                return None
            return _BINOPS[type(node.op)](left, right)
        return None

    return value(tree.body)


@pytest.fixture(scope="session")
def c_defines() -> dict[str, int]:
    raw: dict[str, str] = {}
    for path in _headers():
        for name, text in _DEFINE.findall(_source(path)):
            if raw.setdefault(name, text) != text:
                pytest.fail(f"{name} is defined twice: {raw[name]!r} and {text!r} ({path.name})")
    values = {name: _evaluate(text, raw) for name, text in raw.items()}
    return {name: v for name, v in values.items() if v is not None}


@pytest.fixture(scope="session")
def c_offsets() -> dict[tuple[str, str], int]:
    """(struct, field path) -> offset, from every ``offsetof`` static assertion."""
    found: dict[tuple[str, str], int] = {}
    for path in _headers():
        for struct, field, offset in _OFFSETOF.findall(_source(path)):
            found[(_struct(struct), field)] = int(offset, 0)
    return found


@pytest.fixture(scope="session")
def c_sizes() -> dict[str, int]:
    """struct -> size, from every ``sizeof`` static assertion."""
    return {
        _struct(struct): int(size, 0)
        for path in _headers()
        for struct, size in _SIZEOF.findall(_source(path))
    }
