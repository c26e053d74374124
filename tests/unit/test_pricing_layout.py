"""Pricing package layout: modules by model, imports pointing one way, no test helpers shipped."""

from __future__ import annotations

import ast
from pathlib import Path

import wheelflow.pricing

PACKAGE = Path(wheelflow.pricing.__file__).parent
PREFIX = "wheelflow.pricing"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _pricing_imports(path: Path, modules: set[str]) -> set[str]:
    """Modules of the pricing package that ``path`` imports (anywhere, function bodies too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(PREFIX):
            for alias in node.names:  # `from pkg import submodule` imports the submodule
                candidate = f"{node.module}.{alias.name}"
                found.add(candidate if candidate in modules else node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith(PREFIX))
    return found


def _graph() -> dict[str, set[str]]:
    files = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    modules = set(files)
    return {name: _pricing_imports(path, modules) - {name} for name, path in files.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules, or None (depth-first search, three colours)."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return [*stack[stack.index(target) :], target]
            if target not in state and (found := visit(target)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


def test_pricing_modules_import_each_other_without_cycles() -> None:
    graph = _graph()
    assert len(graph) > 5  # the walk found the package
    assert _cycle(graph) is None


def test_the_cycle_check_finds_a_cycle_when_there_is_one() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_models_never_import_the_package_front_or_each_other_backwards() -> None:
    graph = _graph()
    for name, targets in graph.items():
        if name != PREFIX:
            assert PREFIX not in targets, f"{name} imports the package front (a cycle in waiting)"
        if name.startswith(f"{PREFIX}.black_scholes_merton"):
            assert not any(t.startswith(f"{PREFIX}.american") for t in targets), name


def test_test_helpers_are_not_shipped_in_the_package() -> None:
    names = {p.stem for p in PACKAGE.rglob("*.py")}
    assert not names & {"binomial", "sample"}
