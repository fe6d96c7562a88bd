"""The package's shape, checked: no import circle, the layers of docs/architecture.md, only
structured tasks, and no module past ~800 lines without a reason at its top.

The import graph is read with ``ast`` (as ruff or import-linter would): every ``import`` and
``from ... import`` anywhere in a module, function-level ones included, except those under
``if TYPE_CHECKING:`` (annotations only, never executed).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "trioredis"
MAX_LINES = 800
LONG_MODULE_MARK = "Long module:"  # the docstring's reason for a module past MAX_LINES


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
        isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING"
    )


def imports_of(module: str, source: str | None = None) -> set[str]:
    """Every module name ``module`` imports at run time (trioredis modules resolved to the
    module itself when ``from pkg import mod`` names one; others by their top-level name)."""
    path = MODULES.get(module)
    tree = ast.parse(source if source is not None else path.read_text())
    is_pkg = path is not None and path.name == "__init__.py"
    package = module if is_pkg else module.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for stmt in child.orelse:
                    visit_one(stmt)
                continue
            visit_one(child)

    def visit_one(node: ast.AST) -> None:
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                candidate = f"{target}.{alias.name}"
                found.add(candidate if candidate in MODULES else target)
        visit(node)

    visit(tree)
    found.discard(module)
    return found


GRAPH = {m: imports_of(m) for m in MODULES}


def _internal(deps: set[str]) -> set[str]:
    return {d for d in deps if d in MODULES}


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(_internal(graph[root]))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(_internal(graph[child])))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        m = stack.pop()
                        on_stack.discard(m)
                        component.append(m)
                        if m == node:
                            break
                    if len(component) > 1:
                        cycles.append(sorted(component))
    return cycles


def test_cycle_finder_sees_a_circle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert import_cycles(graph) == []  # names not in MODULES are outside the package
    fake = {"trioredis.core": {"trioredis.client"}, "trioredis.client": {"trioredis.core"}}
    assert import_cycles(fake) == [["trioredis.client", "trioredis.core"]]


def test_import_reader_skips_type_checking_and_sees_function_imports():
    src = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from .core import Server\n"
        "def f():\n    from ..cli import main\n"
    )
    deps = imports_of("trioredis.persistence.snapshot", src)
    assert "trioredis.core" not in deps
    assert "trioredis.persistence.core" not in deps
    assert "trioredis.cli" in deps


def test_no_import_circle():
    assert import_cycles(GRAPH) == []


def _under(module: str, *prefixes: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


# (modules the rule is about, what they must not import, why)
LAYER_RULES = [
    (("trioredis.protocol",), "anything of trioredis outside protocol/",
     lambda d: d.startswith("trioredis") and not _under(d, "trioredis.protocol")),
    (("trioredis.datatypes", "trioredis.keyspace"), "the server, commands, sockets or trio",
     lambda d: _under(d, "trioredis.core", "trioredis.server", "trioredis.connection",
                      "trioredis.commands", "trioredis.cli", "trio", "socket")),
    (("trioredis.core",), "trio or sockets",
     lambda d: _under(d, "trio", "socket", "trioredis.server", "trioredis.connection")),
    (("trioredis.commands",), "trio or the Trio layer",
     lambda d: _under(d, "trio", "trioredis.server", "trioredis.connection")),
    (("trioredis.persistence", "trioredis.replication", "trioredis.cluster",
      "trioredis.gateway"), "the CLI", lambda d: _under(d, "trioredis.cli")),
    (("trioredis.errors", "trioredis.extensions", "trioredis.blocking"), "any other module",
     lambda d: d.startswith("trioredis")),
]


@pytest.mark.parametrize("owners,what,forbidden", LAYER_RULES, ids=[r[1] for r in LAYER_RULES])
def test_layers(owners, what, forbidden):
    bad = sorted(
        f"{m} imports {d}"
        for m, deps in GRAPH.items()
        if _under(m, *owners)
        for d in deps
        if forbidden(d)
    )
    assert bad == [], f"{'/'.join(owners)} must not import {what}"


def test_layer_rules_can_fail():
    rule = LAYER_RULES[2][2]
    assert rule("trio") and rule("trio.lowlevel") and not rule("trioredis.keyspace")


def test_no_system_tasks():
    """Every task belongs to a nursery: server-lifetime work goes through server.runner."""
    offenders = []
    for name, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr == "spawn_system_task":
                offenders.append(f"{name}:{node.lineno}")
            if isinstance(node, ast.Name) and node.id == "spawn_system_task":
                offenders.append(f"{name}:{node.lineno}")
    assert offenders == []
def test_long_modules_say_why():
    long = []
    for name, path in MODULES.items():
        text = path.read_text()
        if text.count("\n") <= MAX_LINES:
            continue
        doc = ast.get_docstring(ast.parse(text)) or ""
        if LONG_MODULE_MARK not in doc:
            long.append(f"{name} ({text.count(chr(10))} lines)")
    assert long == [], f"split these, or say why at the top ({LONG_MODULE_MARK!r})"
