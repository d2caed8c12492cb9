"""One source, no drift (d2l's ``#@save`` idea): lesson code shown in a notebook and kept in tlkit is the same code.

A notebook code cell whose first line is ``# @save: tlkit.<module>.<name>[, tlkit.<module>.<name> ...]`` holds the
definitions (``def`` / ``class``) that tlkit also holds under those names. This test parses both and fails when
they differ (docstrings, comments, formatting and imports aside: tlkit imports Keras lazily inside a function,
the notebook at the top of the cell). Such a cell may also contain imports; nothing else.
"""
from __future__ import annotations

import ast
import importlib
import inspect
import json
import re
import textwrap
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
MARKER = re.compile(r"^#\s*@save:\s*(.+?)\s*$")


def _strip_docstrings(node: ast.AST) -> ast.AST:
    for n in ast.walk(node):
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            n.body = [b for b in n.body if not isinstance(b, (ast.Import, ast.ImportFrom))] or [ast.Pass()]
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Module)) and n.body:
            first = n.body[0]
            if isinstance(first, ast.Expr) and isinstance(getattr(first, "value", None), ast.Constant) \
                    and isinstance(first.value.value, str):
                n.body = n.body[1:] or [ast.Pass()]
    return node


def _normal(node: ast.AST) -> str:
    return ast.dump(_strip_docstrings(node), include_attributes=False)


def saved_cells() -> list[tuple[str, int, list[str], str]]:
    """(notebook, cell index, qualified names, cell source without the marker) of every ``# @save:`` cell."""
    found = []
    for nb_path in sorted(NOTEBOOKS.glob("*.ipynb")):
        cells = json.loads(nb_path.read_text(encoding="utf-8"))["cells"]
        for i, cell in enumerate(cells):
            if cell["cell_type"] != "code":
                continue
            src = "".join(cell["source"])
            first, _, rest = src.partition("\n")
            m = MARKER.match(first)
            if m:
                names = [n.strip() for n in m.group(1).split(",") if n.strip()]
                found.append((nb_path.name, i, names, rest))
    return found


CELLS = saved_cells()


def test_save_marker_finds_cells():
    """The scan itself works: a marker line is recognised and a malformed one is not."""
    assert MARKER.match("# @save: tlkit.freeze.freeze_all").group(1) == "tlkit.freeze.freeze_all"
    assert MARKER.match("#@save: tlkit.a.b, tlkit.c.d").group(1) == "tlkit.a.b, tlkit.c.d"
    assert MARKER.match("# save tlkit.freeze.freeze_all") is None


@pytest.mark.parametrize("nb,index,names,source", CELLS, ids=[f"{c[0]}:cell{c[1]}" for c in CELLS])
def test_notebook_code_matches_tlkit(nb, index, names, source):
    tree = ast.parse(source)
    defs = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            defs[node.name] = node
        elif not isinstance(node, (ast.Import, ast.ImportFrom)):
            pytest.fail(f"{nb} cell {index}: a '# @save:' cell may hold only imports and definitions, "
                        f"found {type(node).__name__} at line {node.lineno}")
    short = [q.rsplit(".", 1)[-1] for q in names]
    assert sorted(short) == sorted(defs), f"{nb} cell {index}: marker names {names}, cell defines {sorted(defs)}"
    for qual in names:
        module, _, name = qual.rpartition(".")
        assert module.startswith("tlkit"), f"{nb} cell {index}: {qual} is not in tlkit"
        obj = getattr(importlib.import_module(module), name)
        lib = ast.parse(textwrap.dedent(inspect.getsource(obj))).body[0]
        assert _normal(lib) == _normal(defs[name]), (
            f"{nb} cell {index}: {name} differs from {qual}; edit both, or copy one into the other")
