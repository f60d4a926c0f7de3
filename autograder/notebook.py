"""Read a student's notebook and extract what the grader runs: imports, definitions and constants.

Graded items are found by name in the parsed code, not by cell id (students duplicate and reorder
cells). Module-level work (training loops, plots, test calls) is dropped; a cell that does not parse
is skipped and reported. The last definition of a name wins, as when a notebook runs top to bottom.
"""

from __future__ import annotations

import ast
import json
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MAX_NOTEBOOK_BYTES = 64 << 20


class InvalidNotebook(Exception):
    """The file is not a notebook the grader can read; the message says why."""


@dataclass
class Chunk:
    """The kept code of one cell, with blank lines where dropped statements were."""

    cell: int  # 1-based index among the notebook's cells
    source: str


@dataclass
class Definition:
    name: str
    cell: int
    line: int
    kind: str  # "function", "class", "constant" or "import"
    node: ast.AST | None = None
    params: list[str] = field(default_factory=list)


@dataclass
class ParsedNotebook:
    chunks: list[Chunk]
    definitions: dict[str, Definition]
    aliases: dict[str, str]  # local name -> dotted module path, from the notebook's imports
    problems: list[str]  # cells skipped, with the reason, for the student's feedback
    metadata: dict
    # names bound only by statements the grader does not run (``x = f()``, loops...): where
    dropped: dict[str, tuple[int, int]] = field(default_factory=dict)

    def where(self, name: str) -> str:
        d = self.definitions.get(name)
        return f"cell {d.cell}, line {d.line}" if d else "not found"


def read_notebook(path: Path) -> dict[str, Any]:
    """Parse and minimally validate a notebook file; raises InvalidNotebook with a clear reason.

    A version 4 notebook is used as its JSON; only older formats go through nbformat's upgrade
    (importing nbformat costs about a second, paid only when one is met).
    """
    try:
        size = path.stat().st_size
    except OSError as e:
        raise InvalidNotebook(f"cannot read {path.name}: {e.strerror}") from None
    if size > MAX_NOTEBOOK_BYTES:
        raise InvalidNotebook(f"{path.name} is {size >> 20} MB, more than the "
                              f"{MAX_NOTEBOOK_BYTES >> 20} MB allowed (clear large outputs)")
    raw = path.read_bytes()
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InvalidNotebook(f"{path.name} is not valid JSON ({e}); was it saved from Jupyter?") \
            from None
    if not isinstance(data, dict) or "cells" not in data and "worksheets" not in data:
        raise InvalidNotebook(f"{path.name} is JSON but not a Jupyter notebook")
    if not isinstance(data.get("cells", data.get("worksheets")), list):
        raise InvalidNotebook(f"{path.name} is not a valid notebook: its cells are not a list")
    if not isinstance(data.get("metadata"), dict):
        data["metadata"] = {}
    if data.get("nbformat") == 4 and isinstance(data.get("cells"), list):
        return data
    try:
        import nbformat

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            nb = nbformat.reads(raw.decode("utf-8"), as_version=4)
    except Exception as e:  # nbformat raises several types for old or broken formats
        raise InvalidNotebook(f"{path.name} could not be read as a notebook: {e}") from None
    if not isinstance(nb.get("cells"), list):
        raise InvalidNotebook(f"{path.name} has no cells")
    return nb


def code_cells(nb: dict[str, Any]) -> Iterator[tuple[int, str, dict]]:
    """(1-based cell index, source, metadata) of each non-empty code cell."""
    for index, cell in enumerate(nb["cells"], start=1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        if isinstance(source, list):
            source = "".join(s for s in source if isinstance(s, str))
        if isinstance(source, str) and source.strip():
            meta = cell.get("metadata")
            yield index, source, meta if isinstance(meta, dict) else {}


def extract(nb: dict[str, Any]) -> ParsedNotebook:
    """The runnable definitions of a notebook, cell by cell."""
    chunks: list[Chunk] = []
    definitions: dict[str, Definition] = {}
    aliases: dict[str, str] = {}
    problems: list[str] = []
    dropped: dict[str, tuple[int, int]] = {}
    for index, source, _ in code_cells(nb):
        python = to_python(source)
        try:
            tree = ast.parse(python)
        except SyntaxError as e:
            problems.append(f"cell {index} was skipped: it has a syntax error at line {e.lineno}"
                            f" ({e.msg})")
            continue
        lines = python.splitlines()
        keep = [False] * len(lines)
        for stmt in tree.body:
            if not _is_definition(stmt):
                for target in _assigned_names(stmt):
                    dropped[target] = (index, stmt.lineno)
                continue
            start = min([stmt.lineno] + [d.lineno for d in getattr(stmt, "decorator_list", [])])
            for i in range(start - 1, stmt.end_lineno or stmt.lineno):
                keep[i] = True
            for d in _bindings(stmt, index):
                definitions[d.name] = d
            if isinstance(stmt, (ast.Import, ast.ImportFrom)):
                aliases.update(_import_aliases(stmt))
        kept = "\n".join(line if k else "" for line, k in zip(lines, keep)) + "\n"
        if any(keep):
            chunks.append(Chunk(cell=index, source=kept))
    return ParsedNotebook(chunks, definitions, aliases, problems, dict(nb.get("metadata", {})),
                          {k: v for k, v in dropped.items() if k not in definitions})


def to_python(source: str) -> str:
    """IPython syntax (magics, shell escapes) turned into Python, lines preserved."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        return TransformerManager().transform_cell(source)
    except Exception:  # a source IPython cannot transform parses (or fails) as plain Python
        return source


_CONSTANT_FORBIDDEN = (ast.Call, ast.Await, ast.Yield, ast.YieldFrom, ast.NamedExpr, ast.Lambda)


def _is_definition(stmt: ast.stmt) -> bool:
    if isinstance(stmt, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef,
                         ast.ClassDef)):
        return True
    if isinstance(stmt, (ast.Assign, ast.AnnAssign)):
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        if not all(isinstance(t, ast.Name) for t in targets) or stmt.value is None:
            return False
        return not any(isinstance(n, _CONSTANT_FORBIDDEN) for n in ast.walk(stmt.value))
    return False


def _bindings(stmt: ast.stmt, cell: int) -> list[Definition]:
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
        params = [a.arg for a in stmt.args.posonlyargs + stmt.args.args]
        return [Definition(stmt.name, cell, stmt.lineno, "function", stmt, params)]
    if isinstance(stmt, ast.ClassDef):
        return [Definition(stmt.name, cell, stmt.lineno, "class", stmt)]
    if isinstance(stmt, (ast.Import, ast.ImportFrom)):
        return [Definition(local, cell, stmt.lineno, "import", stmt)
                for local in _import_aliases(stmt)]
    targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
    return [Definition(t.id, cell, stmt.lineno, "constant", stmt) for t in targets]


def _import_aliases(stmt: ast.Import | ast.ImportFrom) -> dict[str, str]:
    out = {}
    if isinstance(stmt, ast.Import):
        for a in stmt.names:
            if a.asname:
                out[a.asname] = a.name
            else:
                root = a.name.split(".")[0]
                out[root] = root
    elif stmt.module and not stmt.level:
        for a in stmt.names:
            if a.name != "*":
                out[a.asname or a.name] = f"{stmt.module}.{a.name}"
    return out


def _assigned_names(stmt: ast.stmt) -> set[str]:
    """Module-level names a statement the grader drops would have bound."""
    names: set[str] = set()
    for node in ast.walk(stmt):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)  # defined inside an if/try/with: dropped with it
    return names


def _global_names(node: ast.AST) -> set[str]:
    """Names a function or class reads from the module's globals (not its parameters or locals)."""
    import symtable

    try:
        table = symtable.symtable(ast.unparse(node), "<definition>", "exec")
    except (SyntaxError, ValueError):
        return set()
    found: set[str] = set()
    stack = list(table.get_children())
    while stack:
        t = stack.pop()
        stack.extend(t.get_children())
        for sym in t.get_symbols():
            if sym.is_global() and sym.is_referenced() and not sym.is_assigned():
                found.add(sym.get_name())
    return found


def unrun_globals(parsed: ParsedNotebook, names: list[str]) -> list[str]:
    """For each graded name (and the notebook's own helpers it uses), the globals it reads that
    only a statement the grader does not run sets: a NameError when graded, though the notebook
    runs fine top to bottom. One message each, for the student."""
    import builtins

    messages = []
    for name in names:
        seen: set[str] = set()
        todo = [name]
        while todo:
            current = todo.pop()
            d = parsed.definitions.get(current)
            if current in seen or d is None or d.node is None or d.kind not in (
                    "function", "class"):
                continue
            seen.add(current)
            for g in sorted(_global_names(d.node)):
                if g in parsed.definitions:
                    todo.append(g)
                elif g in parsed.dropped and not hasattr(builtins, g):
                    cell, line = parsed.dropped[g]
                    via = "" if current == name else f" (through {current})"
                    messages.append(
                        f"{name} uses {g}{via}, which only a statement the grader does not run "
                        f"sets (cell {cell}, line {line}): the grader runs imports, definitions "
                        f"and constants only, so {g} will not exist; set it inside the function "
                        f"or as a constant")
    return messages


def forbidden_uses(parsed: ParsedNotebook, name: str, calls: list[str]) -> list[str]:
    """Static check: places in the definition of ``name`` that name a forbidden call."""
    d = parsed.definitions.get(name)
    if d is None or d.node is None or not calls:
        return []
    methods = {c.rsplit(".", 1)[1] for c in calls if c.startswith("torch.Tensor.")}
    wanted = set(calls)
    found = []
    for node in ast.walk(d.node):
        dotted = _dotted(node, parsed.aliases)
        if dotted is None:
            continue
        path, resolved = dotted
        if resolved and path in wanted:
            found.append(f"{path} (cell {d.cell}, line {node.lineno})")
        elif not resolved and isinstance(node, ast.Attribute) and node.attr in methods:
            found.append(f"Tensor.{node.attr} (cell {d.cell}, line {node.lineno})")
    return sorted(set(found))


def _dotted(node: ast.AST, aliases: dict[str, str]) -> tuple[str, bool] | None:
    """('torch.nn.functional.conv2d', True) for ``F.conv2d`` when F is an imported module alias."""
    if not isinstance(node, (ast.Attribute, ast.Name)):
        return None
    parts = []
    cur: ast.AST = node
    while isinstance(cur, ast.Attribute):
        parts.append(cur.attr)
        cur = cur.value
    if not isinstance(cur, ast.Name):
        return ".".join(reversed(parts)), False
    root = aliases.get(cur.id)
    if root is None:
        return ".".join([cur.id, *reversed(parts)]), False
    return ".".join([root, *reversed(parts)]), True
