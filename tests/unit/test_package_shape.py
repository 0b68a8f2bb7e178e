"""The package's shape: no module of tasador imports, even inside a function, a module that imports it back, and its
packages (a stage, the store, the registry, ...) import each other in one direction only."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.support.paths import REPO_ROOT

PACKAGE = REPO_ROOT / "tasador"


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, modules: set[str]) -> set[str]:
    """The tasador modules `path` imports anywhere but under `if TYPE_CHECKING:` (an import for annotations)."""
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            node.body = []
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    found = set()
    for name in names:
        while name and name not in modules:  # `from tasador.x import f`: the module is tasador.x
            name = name.rpartition(".")[0]
        if name:
            found.add(name)
    return found - {module_name(path)}


def cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of `graph`, as the modules along it; None when there is none."""
    state: dict[str, str] = {}  # "open" while on the path, "done" once every import below it is explored

    def visit(module: str, path: list[str]) -> list[str] | None:
        state[module] = "open"
        for imported in sorted(graph[module]):
            if state.get(imported) == "open":
                return [*path[path.index(imported) :], imported]
            if imported not in state and (found := visit(imported, [*path, imported])):
                return found
        state[module] = "done"
        return None

    for module in sorted(graph):
        if module not in state and (found := visit(module, [module])):
            return found
    return None


def test_no_module_of_the_package_imports_itself_back() -> None:
    paths = {module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph = {name: imports(path, set(paths)) for name, path in paths.items()}
    assert cycle(graph) is None, " -> ".join(cycle(graph) or [])


def package(module: str) -> str:
    """The part of tasador a module belongs to: its package (`tasador.ingest.stage` -> `ingest`), or itself."""
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (PACKAGE / parts[1]).is_dir() else module


def test_packages_import_each_other_in_one_direction() -> None:
    paths = {module_name(path): path for path in PACKAGE.rglob("*.py")}
    edges: dict[tuple[str, str], set[str]] = {}
    for name, path in paths.items():
        for imported in imports(path, set(paths)):
            if package(name) != package(imported):
                edges.setdefault((package(name), package(imported)), set()).add(f"{name} -> {imported}")
    pairs = {tuple(sorted(pair)) for pair in edges if pair[::-1] in edges}
    unexpected = {pair: sorted(edges[pair] | edges[pair[::-1]]) for pair in pairs}
    assert not unexpected, f"packages that import each other: {unexpected}"


def test_a_cycle_is_found_where_there_is_one() -> None:
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert cycle({"a": {"b"}, "b": set()}) is None
