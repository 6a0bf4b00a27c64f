"""The tests' own house: test modules share helpers through tests/support/, never each other,
and the Bot API stand-in that ships in sandbox/ needs nothing but the standard library."""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def imported(path: Path) -> Iterator[str]:
    """Every module a file imports, by its full name (``from a import b`` gives a and a.b)."""
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            yield base
            yield from (f"{base.rstrip('.')}.{alias.name}" for alias in node.names)


def is_test_module(name: str) -> bool:
    last = name.rsplit(".", 1)[-1]
    return last.startswith("test_") or last == "conftest"


def test_no_test_module_imports_another_test_module_or_conftest() -> None:
    offenders = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in sorted((ROOT / "tests").rglob("*.py"))
        for name in imported(path)
        if is_test_module(name)
    ]

    assert offenders == [], "share helpers through tests/support/ instead"


def test_the_bot_api_stand_in_needs_only_the_standard_library() -> None:
    allowed = set(sys.stdlib_module_names) | {"__future__", "sandbox"}
    offenders = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in sorted((ROOT / "sandbox" / "botapi").rglob("*.py"))
        for name in imported(path)
        if name.split(".")[0] not in allowed
    ]

    assert offenders == []
