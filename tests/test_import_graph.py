"""The modules of ``src/healthforge`` import one another without a loop.

A loop (a imports b, b imports a, perhaps through others) means neither module can be
read, tested or changed alone, and it is usually kept working by moving an import into
a function. So imports inside functions count here too; only those under
``if TYPE_CHECKING:`` (annotations, never run) are left out.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import healthforge

ROOT = Path(healthforge.__file__).parent
PACKAGE = ROOT.name


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(test: ast.expr) -> bool:
    name = test.attr if isinstance(test, ast.Attribute) else getattr(test, "id", None)
    return name == "TYPE_CHECKING"


def _imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement in ``tree`` at any depth, except under TYPE_CHECKING."""
    found: list[ast.Import | ast.ImportFrom] = []
    todo: list[ast.AST] = [tree]
    while todo:
        node = todo.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            todo += node.orelse  # the else branch does run
            continue
        todo += ast.iter_child_nodes(node)
    return found


def _targets(node: ast.Import | ast.ImportFrom, here: str, is_package: bool) -> list[str]:
    """Dotted names an import statement may load, most specific first per name."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level:
        package = here.split(".") if is_package else here.split(".")[:-1]
        base = package[: len(package) - node.level + 1]
        module = ".".join([*base, *([node.module] if node.module else [])])
    else:
        module = node.module or ""
    # `from pkg import name`: name is a submodule, or else something pkg defines
    return [f"{module}.{alias.name}" for alias in node.names] + [module]


def import_graph() -> dict[str, set[str]]:
    """Module -> the healthforge modules it imports (by the file the name resolves to)."""
    files = {_module_name(p): p for p in ROOT.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in files}
    for name, path in files.items():
        is_package = path.name == "__init__.py"
        for node in _imports(ast.parse(path.read_text(), str(path))):
            targets = _targets(node, name, is_package)
            if isinstance(node, ast.ImportFrom):
                module = targets[-1]
                subs = [t for t in targets[:-1] if t in files]
                # names that are not submodules come from the module itself
                if len(subs) < len(targets) - 1 and module in files:
                    subs.append(module)
                targets = subs
            for target in targets:
                if target.split(".")[0] == PACKAGE and target in files and target != name:
                    graph[name].add(target)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One loop ``[a, b, ..., a]`` in ``graph``, or ``None`` (iterative DFS)."""
    state: dict[str, int] = {}  # 1 on the current path, 2 finished
    for start in sorted(graph):
        if state.get(start):
            continue
        path = [start]
        stack = [iter(sorted(graph[start]))]
        state[start] = 1
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            elif not state.get(nxt):
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(sorted(graph.get(nxt, ()))))
    return None


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    """The package's graph, parsed once for the tests below."""
    return import_graph()


def test_graph_sees_known_imports(graph: dict[str, set[str]]) -> None:
    # guards the parser: a graph with no edges would trivially have no cycle
    assert "healthforge.benchmark.records" in graph["healthforge.benchmark.store"]
    assert "healthforge.errors" in graph["healthforge.benchmark.harness"]
    assert sum(len(v) for v in graph.values()) > len(graph)


def test_find_cycle_finds_a_loop() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_no_import_cycle(graph: dict[str, set[str]]) -> None:
    cycle = find_cycle(graph)
    assert cycle is None, "import loop: " + " -> ".join(cycle or [])
