"""The core's data flows one way: no import cycle, and the domain knows nothing of trackers or events."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CORE = {"dialog_gym.domain", "dialog_gym.slots", "dialog_gym.events", "dialog_gym.tracker",
        "dialog_gym.featurizers"}


def _modules() -> dict[str, Path]:
    mods = {}
    for pkg in ("dialog_gym", "agents"):
        for path in (REPO / pkg).rglob("*.py"):
            parts = list(path.relative_to(REPO).with_suffix("").parts)
            mods[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return mods


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return getattr(test, "id", None) == "TYPE_CHECKING" or getattr(test, "attr", None) == "TYPE_CHECKING"


def import_graph(type_only_too: bool) -> dict[str, set[str]]:
    """Module -> the project modules it imports anywhere (module level or inside functions); imports
    under ``if TYPE_CHECKING:`` count only with ``type_only_too``."""
    mods = _modules()
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for name, path in mods.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip = set()
        if not type_only_too:
            skip = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If) and _is_type_checking(node)
                    for stmt in node.body for n in ast.walk(stmt)}
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(tree):
            if id(node) in skip:
                continue
            if isinstance(node, ast.Import):
                graph[name] |= {a.name for a in node.names if a.name in mods}
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(up + ([node.module] if node.module else []))
                for alias in node.names:
                    target = f"{base}.{alias.name}"
                    graph[name].add(target if target in mods else base)
        graph[name] &= set(mods)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (or a self-import)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1 or v in graph[v]:
                found.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_the_checker_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_run_time_import_cycle():
    assert cycles(import_graph(type_only_too=False)) == []


def test_the_core_has_no_cycle_even_through_type_only_imports():
    graph = import_graph(type_only_too=True)
    core = {m: graph[m] & CORE for m in CORE}
    assert cycles(core) == []
    assert not graph["dialog_gym.domain"] & {"dialog_gym.events", "dialog_gym.tracker", "dialog_gym.featurizers"}
    assert not graph["dialog_gym.events"] & {"dialog_gym.tracker", "dialog_gym.domain"}


def test_dialog_gym_never_imports_agents():
    graph = import_graph(type_only_too=True)
    assert {m: sorted(t) for m, targets in graph.items() if m.startswith("dialog_gym")
            if (t := {x for x in targets if x.startswith("agents")})} == {}
