"""The Groove helpdesk emulator's modules import each other one way: no cycle (issue 10).

Every import that runs counts, at module level or inside a function; only ``if TYPE_CHECKING:``
imports (annotations, never executed) are left out. ``from . import X`` names the submodule X when
there is one, else the package itself (``__init__``, the composition root).
"""

from __future__ import annotations

import ast
from pathlib import Path

import engagesync.apis.groove_helpdesk.emulator as emulator

PACKAGE = Path(emulator.__file__).parent


def _runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node except those under ``if TYPE_CHECKING:``."""
    out: list[ast.AST] = []
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            stack.extend(node.orelse)
            continue
        out.append(node)
        stack.extend(ast.iter_child_nodes(node))
    return out


def import_graph(package: Path) -> dict[str, set[str]]:
    """module -> the package's modules it imports at run time (level-1 relative imports)."""
    modules = {p.stem for p in package.glob("*.py")}
    graph: dict[str, set[str]] = {}
    for name in modules:
        targets: set[str] = set()
        for node in _runtime_nodes(ast.parse((package / f"{name}.py").read_text())):
            if not isinstance(node, ast.ImportFrom) or node.level != 1:
                continue
            if node.module:
                targets.add(node.module.split(".")[0])
            else:
                targets.update(a.name if a.name in modules else "__init__" for a in node.names)
        graph[name] = targets & modules - {name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component: list[str] = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_cycles_are_found() -> None:
    """The check itself: the two cycles issue 10 names, as they were, are reported."""
    graph = {"tickets": {"messages"}, "messages": {"tickets", "common"}, "kb": {"widgets"}, "widgets": {"kb"}}
    graph["common"] = set()
    assert sorted(cycles(graph)) == [["kb", "widgets"], ["messages", "tickets"]]


def test_emulator_package_has_no_import_cycle() -> None:
    graph = import_graph(PACKAGE)
    assert {"tickets", "messages", "kb", "widgets", "ticket_store", "kb_store"} <= set(graph)
    assert "kb_store" in graph["widgets"] and "ticket_store" in graph["messages"]  # the graph is really read
    assert cycles(graph) == []
