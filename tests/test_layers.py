"""The direction of imports: the layers of ``dashboard/`` and the contracts around them.

The contracts live in pyproject.toml (``[tool.importlinter]``): app above report above
figures above analysis above store and stats; streamlit in dashboard.app alone; the command
line never imports the app, and the read side never imports the command line. Here they
run as a test, so CI fails on an import in the wrong direction, with import-linter's
report saying which import and by which chain. Two checks walk the code themselves: no
cycle among dashboard's modules (import-linter's acyclic contract looks at siblings), and
no SQL run on the read side outside ``dashboard/store``.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ("store", "stats", "analysis", "figures", "report", "app")
#: Calls that run SQL (DuckDB's connection and relation API, pandas' read_sql).
SQL_CALLS = {"execute", "executemany", "sql", "read_sql", "read_sql_query", "connect"}
SQL_TEXT = re.compile(r"\b(SELECT|INSERT INTO|UPDATE \w+ SET|DELETE FROM|CREATE (TABLE|VIEW))\b")


def test_import_contracts_are_kept() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from importlinter.cli import lint_imports_command; lint_imports_command()",
            "--no-cache",
            "--no-logo",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_import_cycles_among_dashboard_modules() -> None:
    """Every import counts, a lazy one inside a function and a TYPE_CHECKING one too."""
    graph = grimp.build_graph("dashboard", cache_dir=None)
    imports = {m: graph.find_modules_directly_imported_by(m) for m in graph.modules}
    cycles = _cycles({m: {i for i in imported if i in imports} for m, imported in imports.items()})
    assert cycles == [], "import cycles: " + "; ".join(" <-> ".join(c) for c in cycles)


def test_the_cycle_finder_finds_cycles() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def _docstrings(tree: ast.AST) -> set[int]:
    nodes = [
        tree,
        *(
            n
            for n in ast.walk(tree)
            if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        ),
    ]
    return {
        id(n.body[0].value)
        for n in nodes
        if n.body
        and isinstance(n.body[0], ast.Expr)
        and isinstance(n.body[0].value, ast.Constant)
        and isinstance(n.body[0].value.value, str)
    }


def test_only_the_store_runs_sql_on_the_read_side() -> None:
    """No module of dashboard/ outside dashboard/store, nor the command line, runs a query
    or holds SQL text (docstrings may talk about SQL)."""
    files = [
        p
        for p in sorted(
            [*(ROOT / "dashboard").rglob("*.py"), *(ROOT / "needlewatch").rglob("*.py")]
        )
        if "store" not in p.relative_to(ROOT).parts
    ]
    found = []
    for path in files:
        tree = ast.parse(path.read_text(), filename=str(path))
        docs = _docstrings(tree)
        for node in ast.walk(tree):
            where = f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', '?')}"
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in SQL_CALLS
                and not (
                    isinstance(node.func.value, ast.Name) and node.func.value.id in {"re", "os"}
                )
            ):
                found.append(f"{where}: .{node.func.attr}()")
            elif (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and id(node) not in docs
                and SQL_TEXT.search(node.value)
            ):
                found.append(f"{where}: {node.value[:60]!r}")
    assert found == [], "SQL outside dashboard/store:\n" + "\n".join(found)


def test_every_layer_is_a_package_that_says_what_it_may_import() -> None:
    for layer in LAYERS:
        init = ROOT / "dashboard" / layer / "__init__.py"
        doc = ast.get_docstring(ast.parse(init.read_text()))
        assert doc and "\n\n" not in doc.strip(), f"{init}: one paragraph of docstring"
        assert "import" in doc, f"{init}: the docstring says what the layer may import"
