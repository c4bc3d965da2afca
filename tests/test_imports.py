"""Data flows one way: the import graph of ``dialog_gym`` and ``agents`` has no cycle, ``dialog_gym`` never
imports ``agents``, and only the CLI imports the CLI.

The graph is read from the source with ``ast``: every ``import`` statement, at module level or inside a
function, except those under ``if TYPE_CHECKING:`` (type-only imports are fine). ``from pkg import name``
is an edge to ``pkg.name`` when that is a module, else to ``pkg``. A module that calls
``importlib.import_module`` gets an edge to every module its string constants name (plugin lists such as
the CLI's command modules). Importing a module also runs its
parent packages' ``__init__``; those implicit edges are not counted (every submodule would otherwise
"cycle" through its package).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("dialog_gym", "agents")
CLI = ("agents.cli", "agents.commands", "agents.__main__")


def module_files() -> dict[str, Path]:
    files = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            files[".".join(parts)] = path
    return files


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST, module: str, is_package: bool, type_only: bool = False) -> list[tuple[str, list[str]]]:
    """``(module, names)`` of every run-time import under ``tree`` (relative imports resolved); with
    ``type_only`` also those under ``if TYPE_CHECKING:``."""
    found: list[tuple[str, list[str]]] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test) and not type_only:
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.extend((alias.name, []) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".") if is_package else module.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            found.append((base, [alias.name for alias in node.names]))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def _dynamic_imports(tree: ast.AST, modules: set[str]) -> set[str]:
    """Modules named by string constants in a module that calls ``importlib.import_module``."""
    calls = any(isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "import_module"
                for n in ast.walk(tree))
    if not calls:
        return set()
    return {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and n.value in modules}


def import_graph(type_only: bool = False) -> dict[str, set[str]]:
    """Module -> the package modules it imports (``type_only``: type-checking imports included)."""
    files = module_files()
    graph: dict[str, set[str]] = {name: set() for name in files}
    for name, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        graph[name].update(_dynamic_imports(tree, set(files)))
        for target, names in _imports(tree, name, path.name == "__init__.py", type_only):
            if target.split(".")[0] not in PACKAGES:
                continue
            submodules = [f"{target}.{n}" for n in names if f"{target}.{n}" in files]
            if submodules:
                graph[name].update(submodules)
            if not names or len(submodules) < len(names):
                graph[name].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """The strongly connected components with more than one module (Tarjan), and self-imports."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []

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
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1 or v in graph.get(v, ()):
                found.append(frozenset(component))

    for v in sorted(graph):
        if v not in index:
            strongconnect(v)
    return found


def test_the_graph_reader_sees_function_level_imports_and_skips_type_checking():
    tree = ast.parse("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import agents.x\n"
                     "def f():\n    from . import y\n    from ..z import w\n")
    assert _imports(tree, "dialog_gym.pkg.mod", False) == [("typing", ["TYPE_CHECKING"]),
                                                           ("dialog_gym.pkg", ["y"]), ("dialog_gym.z", ["w"])]
    assert ("agents.x", []) in _imports(tree, "dialog_gym.pkg.mod", False, type_only=True)
    plugins = ast.parse("import importlib\nMODULES = ('agents.rule', 'not.a.module')\n"
                        "def load():\n    for m in MODULES:\n        importlib.import_module(m)\n")
    assert _dynamic_imports(plugins, {"agents.rule", "agents.policy"}) == {"agents.rule"}
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [frozenset("abc")]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_at_run_time():
    found = cycles(import_graph())
    assert not found, f"import cycles: {[sorted(c) for c in found]}"


def test_no_cycle_even_through_type_only_imports():
    found = cycles(import_graph(type_only=True))
    assert not found, f"import cycles through type-only imports: {[sorted(c) for c in found]}"


def test_the_domain_names_features_and_knows_nothing_of_trackers_or_events():
    graph = import_graph(type_only=True)
    assert not graph["dialog_gym.domain"] & {"dialog_gym.events", "dialog_gym.tracker", "dialog_gym.featurizers"}
    assert not graph["dialog_gym.events"] & {"dialog_gym.domain", "dialog_gym.tracker"}


def test_dialog_gym_never_imports_agents():
    offenders = {m: sorted(t for t in targets if t.split(".")[0] == "agents")
                 for m, targets in import_graph().items() if m.split(".")[0] == "dialog_gym"}
    assert not {m: t for m, t in offenders.items() if t}


def test_only_the_cli_imports_the_cli():
    def is_cli(name: str) -> bool:
        return any(name == c or name.startswith(c + ".") for c in CLI)

    offenders = {m: sorted(t for t in targets if is_cli(t))
                 for m, targets in import_graph().items() if not is_cli(m)}
    assert not {m: t for m, t in offenders.items() if t}
