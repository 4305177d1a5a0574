"""The domain imports only the standard library, eventsourcing.domain and
msgspec, and never reads a clock or does async I/O. (import-linter guards the
other layer rules; it cannot name submodules of an external package.)"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

DOMAIN = Path(__file__).resolve().parents[2] / "domain"
ALLOWED_EXTERNAL = {"eventsourcing.domain", "msgspec"}
FORBIDDEN_CALLS = ("datetime.now", "datetime.utcnow", "time.time", "time.monotonic", "open")


def _modules() -> list[Path]:
    return sorted(DOMAIN.rglob("*.py"))


def _imports(tree: ast.AST) -> list[str]:
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return names


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(DOMAIN)))
def test_domain_module_is_pure(path: Path) -> None:
    tree = ast.parse(path.read_text())
    for name in _imports(tree):
        top = name.split(".")[0]
        allowed = (
            top in sys.stdlib_module_names
            or top == "domain"
            or any(name == a or name.startswith(a + ".") for a in ALLOWED_EXTERNAL)
        )
        assert allowed, f"{path.name} imports {name}"
        assert top not in ("asyncio", "socket", "subprocess", "threading"), name
    for node in ast.walk(tree):
        assert not isinstance(node, ast.AsyncFunctionDef), f"{path.name} has async code"
        if isinstance(node, ast.Call):
            called = ast.unparse(node.func)
            assert called not in FORBIDDEN_CALLS, f"{path.name} calls {called}"
