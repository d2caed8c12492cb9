"""The package's import structure, read with ``ast`` (nothing is imported): no production module imports the
rehearsal, and the modules import each other without a cycle."""
import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "tlkit"
MODULES = sorted(p.stem for p in PKG.glob("*.py"))
#: modules that may import tlkit.rehearsal: the command line (``python -m tlkit rehearse``) and the rehearsal itself
REHEARSAL_USERS = {"__main__", "rehearsal"}
#: cycles that exist only through imports inside function bodies (run when the function is called, after every
#: module has finished loading, so they cannot meet a half-initialised module). Listed so that a new one fails.
KNOWN_LAZY_CYCLES = {frozenset({"textdata", "crosslingual"}), frozenset({"photos", "data"})}


def _imported(node: ast.AST) -> set[str]:
    """tlkit modules an ``import`` / ``from ... import`` statement names."""
    out: set[str] = set()
    if isinstance(node, ast.ImportFrom):
        if node.level == 1 or (node.level == 0 and (node.module or "").split(".")[0] == "tlkit"):
            parts = (node.module or "").split(".")
            parts = parts[1:] if node.level == 0 else parts
            if parts and parts[0]:
                out.add(parts[0])
            else:                                      # from . import a, b / from tlkit import a, b
                out.update(a.name for a in node.names)
    elif isinstance(node, ast.Import):
        out.update(a.name.split(".")[1] for a in node.names if a.name.startswith("tlkit."))
    return out & set(MODULES)


def import_graph(module_level_only: bool) -> dict[str, set[str]]:
    """module -> tlkit modules it imports; ``module_level_only``: what runs when the module is imported (function
    bodies skipped; class bodies, ``if`` / ``try`` blocks at module level included)."""
    graph = {}
    for name in MODULES:
        tree = ast.parse((PKG / f"{name}.py").read_text(encoding="utf-8"))
        found: set[str] = set()
        stack = list(tree.body)
        while stack:
            node = stack.pop()
            if module_level_only and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                continue
            found |= _imported(node)
            stack.extend(ast.iter_child_nodes(node))
        graph[name] = found - {name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected component of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_graph_reader_sees_imports_and_cycles():
    assert {"profile", "sources", "net"} <= import_graph(True)["textdata"]
    assert "rehearsal" in import_graph(False)["__main__"]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_production_module_imports_the_rehearsal():
    users = {m for m, deps in import_graph(module_level_only=False).items() if "rehearsal" in deps}
    assert users <= REHEARSAL_USERS, f"production modules import tlkit.rehearsal: {sorted(users - REHEARSAL_USERS)}"
    assert "rehearsal" not in (PKG / "__init__.py").read_text()


def test_no_import_cycle_at_module_level():
    found = cycles(import_graph(module_level_only=True))
    assert not found, f"import cycles among tlkit modules (imports run at import time): {found}"


def test_no_new_import_cycle_through_function_bodies():
    found = {frozenset(c) for c in cycles(import_graph(module_level_only=False))}
    assert found <= KNOWN_LAZY_CYCLES, f"new import cycles (through imports inside functions): " \
                                       f"{[sorted(c) for c in found - KNOWN_LAZY_CYCLES]}"
