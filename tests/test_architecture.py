"""The layering of docs/architecture.md, checked on the code's own imports (``ast``, nothing run).

- the engines (``client``, ``sandbox``, ``sync``) and the ``cli`` reach APIs only through
  ``apis.registry`` and the connector contract: they import nothing else under ``apis`` and never
  spell an API id;
- ``client`` and ``sandbox`` import neither ``sync`` nor ``cli``; an API package imports no other
  API package, nor ``sync`` or ``cli``;
- no import cycle among modules (imports under ``if TYPE_CHECKING:`` and inside functions are not
  run at import time, so they are left out).
"""

from __future__ import annotations

import ast
from pathlib import Path

from engagesync.apis import registry

SRC = Path(__file__).resolve().parents[1] / "src"
ROOT = SRC / "engagesync"
ENGINES = ("engagesync.client", "engagesync.sandbox", "engagesync.sync", "engagesync.cli")


def _within(name: str, *packages: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(path: Path, module: str, *, top_level_only: bool) -> set[str]:
    """Absolute names of the engagesync modules ``module`` imports."""
    tree = ast.parse(path.read_text(), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.If) and _is_type_checking(node):
                visit(node.orelse)
                continue
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names if a.name.startswith("engagesync"))
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")
                    base = base[: len(base) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                if target.startswith("engagesync"):
                    # `from pkg import mod` imports the module; `from mod import name`, the module
                    subs = {f"{target}.{a.name}" for a in node.names} & MODULES.keys()
                    found.update(subs or {target})
            if top_level_only and isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for field in ("body", "orelse", "finalbody", "handlers"):
                inner = getattr(node, field, None)
                if isinstance(inner, list) and inner and isinstance(inner[0], ast.stmt | ast.ExceptHandler):
                    visit([n for n in inner if isinstance(n, ast.stmt)] + [
                        s for h in inner if isinstance(h, ast.ExceptHandler) for s in h.body
                    ])  # fmt: skip

    visit(tree.body)
    return found


def _resolve(name: str) -> str | None:
    """The module a dotted import name lands in (``pkg.mod.Class`` -> ``pkg.mod``)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _graph(*, top_level_only: bool) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for name, path in MODULES.items():
        targets = {_resolve(t) for t in _imports(path, name, top_level_only=top_level_only)}
        graph[name] = {t for t in targets if t and t != name}
    return graph


def _api_package(module: str) -> str | None:
    parts = module.split(".")
    return parts[2] if len(parts) > 2 and parts[1] == "apis" and parts[2] != "registry" else None


def test_engines_reach_apis_only_through_the_registry() -> None:
    bad = [
        f"{module} imports {target}"
        for module, targets in _graph(top_level_only=False).items()
        if _within(module, *ENGINES)
        for target in targets
        if _within(target, "engagesync.apis") and target not in ("engagesync.apis", "engagesync.apis.registry")
    ]
    assert bad == []


def test_engines_never_spell_an_api_id() -> None:
    ids = set(registry.api_ids())
    assert {"groove-helpdesk", "groove-sales", "growthgenius", "volt"} <= ids
    bad = []
    for module, path in MODULES.items():
        if not _within(module, *ENGINES):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in ids:
                bad.append(f"{module}:{node.lineno} {node.value!r}")
    assert bad == []


def test_imports_point_one_way() -> None:
    bad = []
    for module, targets in _graph(top_level_only=False).items():
        for target in targets:
            if _within(
                module, "engagesync.client", "engagesync.sandbox", "engagesync.ratemodel", "engagesync.timefmt"
            ) and _within(target, "engagesync.sync", "engagesync.cli", "engagesync.apis"):
                bad.append(f"{module} -> {target}")
            own, other = _api_package(module), _api_package(target)
            if own and (_within(target, "engagesync.sync", "engagesync.cli") or (other and other != own)):
                bad.append(f"{module} -> {target}")
    assert bad == []


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def strongconnect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                strongconnect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in graph:
        if v not in index:
            strongconnect(v)
    return found


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycles() -> None:
    assert _cycles(_graph(top_level_only=True)) == []


def test_no_api_package_has_a_cycle_even_through_imports_inside_functions() -> None:
    graph = _graph(top_level_only=False)
    within = {m: {t for t in ts if _api_package(t) == _api_package(m)} for m, ts in graph.items() if _api_package(m)}
    assert _cycles(within) == []
