"""Read a student's notebook and extract what the grader runs: imports, definitions and constants.

Graded items are found by name in the parsed code, not by cell id (students duplicate and reorder
cells). Module-level work (training loops, plots, test calls) is dropped; a cell that does not parse
is skipped and reported. The last definition of a name wins, as when a notebook runs top to bottom.
"""

from __future__ import annotations

import ast
import fnmatch
import json
import threading
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


# CPython before 3.13 keeps the AST converter's recursion depth per interpreter, not per thread:
# two threads parsing at once (grading with several workers) can fail with "SystemError: AST
# constructor recursion depth mismatch". Parsing is quick; it is done one thread at a time.
_AST_LOCK = threading.Lock()


def parse_python(source: str) -> ast.Module:
    """``ast.parse(source)``, safe to call from the grader's threads."""
    with _AST_LOCK:
        return ast.parse(source)


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
            tree = parse_python(python)
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

        python = TransformerManager().transform_cell(source)
    except Exception:  # a source IPython cannot transform parses (or fails) as plain Python
        return source
    # IPython drops a cell's leading blank lines: put them back, so that line numbers in
    # messages and review quotes are the cell's own
    return "\n" * (_leading_blank(source) - _leading_blank(python)) + python


def _leading_blank(text: str) -> int:
    lines = text.splitlines()
    return next((i for i, line in enumerate(lines) if line.strip()), len(lines))


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
    """Static check: places in the definition of ``name`` that name a forbidden call. ``calls``
    are dotted names or wildcards (``torch.nn.init.*``; a package as ``torchvision`` and
    ``torchvision.*``), matched against names resolved through the notebook's imports and the
    definition's own; ``torch.Tensor.<method>`` also matches ``<anything>.<method>``."""
    d = parsed.definitions.get(name)
    if d is None or d.node is None or not calls:
        return []
    methods = [c.rsplit(".", 1)[1] for c in calls if c.startswith("torch.Tensor.")]
    aliases = {**parsed.aliases, **_local_aliases(d.node)}
    found = []
    for node, path, resolved in _chains(d.node, aliases):
        if resolved:
            hit = next((p for p in _prefixes(path) if _matches(p, calls)), None)
            if hit:
                found.append(f"{hit} (cell {d.cell}, line {node.lineno})")
        elif isinstance(node, ast.Attribute) and any(fnmatch.fnmatchcase(node.attr, m)
                                                     for m in methods):
            found.append(f"Tensor.{node.attr} (cell {d.cell}, line {node.lineno})")
    for node in ast.walk(d.node):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for path in _imported_paths(node):
                if _matches(path, calls):
                    found.append(f"import {path} (cell {d.cell}, line {node.lineno})")
    return sorted(set(found))


def _matches(path: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(path, p) for p in patterns)


def _prefixes(path: str) -> list[str]:
    """``a.b.c``, ``a.b``, ``a``: a forbidden name is also named by an attribute taken of it."""
    parts = path.split(".")
    return [".".join(parts[:i]) for i in range(len(parts), 0, -1)]


def _local_aliases(node: ast.AST) -> dict[str, str]:
    """Names bound by the import statements inside a definition."""
    out: dict[str, str] = {}
    for n in ast.walk(node):
        if isinstance(n, (ast.Import, ast.ImportFrom)):
            out.update(_import_aliases(n))
    return out


def _imported_paths(stmt: ast.Import | ast.ImportFrom) -> list[str]:
    """Every dotted name an import statement imports: ``torch._C``, ``torch.utils.x``."""
    if isinstance(stmt, ast.Import):
        return [a.name for a in stmt.names]
    if stmt.level or not stmt.module:
        return []
    return [stmt.module] + [f"{stmt.module}.{a.name}" for a in stmt.names if a.name != "*"]


def _chains(node: ast.AST, aliases: dict[str, str]) -> Iterator[tuple[ast.AST, str, bool]]:
    """(node, dotted name, resolved) of each whole attribute chain (``F.conv2d``, not ``F``)."""
    inner = {id(n.value) for n in ast.walk(node) if isinstance(n, ast.Attribute)}
    for n in ast.walk(node):
        if isinstance(n, (ast.Attribute, ast.Name)) and id(n) not in inner:
            dotted = _dotted(n, aliases)
            if dotted is not None:
                yield n, dotted[0], dotted[1]


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


# -- review: graded code that reaches into the machinery that enforces the rules ----------------
# The forbidden-call guard runs in the student's own process, so code that switches it off cannot
# be fully prevented there; it is made visible instead. These are the names that honest graded
# code has no use for: torch's private dispatch, operator and profiler machinery, the
# interpreter's frames, module table and raw memory, and the grader's own package.
_MACHINERY = (
    "torch._C", "torch._ops", "torch._dispatch", "torch._subclasses", "torch._dynamo",
    "torch._functorch", "torch._prims", "torch._prims_common", "torch._refs", "torch._decomp",
    "torch._library", "torch._higher_order_ops", "torch._guards", "torch._inductor",
    "torch._export", "torch._jit_internal", "torch._tensor", "torch._utils", "torch._VF",
    "torch._python_dispatcher", "torch.utils._python_dispatch", "torch.overrides",
    "torch.library", "torch.profiler", "torch.autograd.profiler",
    "ctypes", "_ctypes", "cffi", "_thread", "builtins", "marshal", "autograder",
    "sys.modules", "sys._getframe", "sys._current_frames", "sys.settrace", "sys.setprofile",
    "sys.meta_path", "sys.path_hooks", "sys.path_importer_cache", "sys.addaudithook",
    "gc.get_referrers", "gc.get_referents", "gc.get_objects",
    "inspect.currentframe", "inspect.stack", "inspect.getouterframes", "inspect.trace",
    "threading.settrace", "threading.setprofile", "types.FunctionType", "types.CodeType",
    "importlib.reload", "importlib.util", "importlib.machinery", "importlib.__import__",
)
# Standard modules whose private names (``sys._getframe``, ``threading._start_new_thread``) are
# machinery too; torch's private *modules* are (``torch.utils._pytree``), its private functions
# (``torch._assert``, ``torch.nn.modules.utils._pair``) are not.
_PRIVATE_ROOTS = ("sys", "threading", "importlib", "gc", "inspect", "types")
# Attributes that walk frames, code objects, closures and class trees.
_INTROSPECTION = frozenset((
    "__globals__", "__code__", "__closure__", "__builtins__", "__subclasses__", "__import__",
    "__loader__", "f_back", "f_globals", "f_locals", "f_builtins", "f_code", "tb_frame",
    "gi_frame", "cr_frame", "ag_frame"))
_DYNAMIC_BUILTINS = ("__import__", "eval", "exec")
_ATTRIBUTE_BUILTINS = ("getattr", "setattr", "delattr")


@dataclass(frozen=True)
class Finding:
    """One line of the notebook's loaded code that reaches into private machinery."""

    cell: int
    line: int  # within the cell
    source: str  # that line, stripped
    what: str  # what it reaches: "torch.utils._python_dispatch._disable_current_modes"

    @property
    def where(self) -> str:
        return f"cell {self.cell}, line {self.line}"


def machinery_path(path: str) -> bool:
    """Whether a dotted name (resolved through imports) is private machinery."""
    if any(path == m or path.startswith(m + ".") for m in _MACHINERY):
        return True
    parts = path.split(".")
    if parts[0] == "torch":
        return any(_private(p) for p in parts[1:-1])
    return parts[0] in _PRIVATE_ROOTS and any(_private(p) for p in parts[1:])


def _private(part: str) -> bool:
    return part.startswith("_") and not (part.startswith("__") and part.endswith("__"))


def machinery_uses(parsed: ParsedNotebook, names: list[str]) -> list[Finding]:
    """Static check for review: the lines of the code the grader loads that reach private
    machinery. Scanned: everything that runs when the notebook loads (class bodies, constants,
    decorators and default values), the graded definitions, and every definition and import
    they or that code use, transitively. Functions nothing graded uses are not scanned."""
    lines = {c.cell: c.source.splitlines() for c in parsed.chunks}
    statements: list[tuple[int, ast.stmt]] = []
    for chunk in parsed.chunks:
        try:
            statements += [(chunk.cell, s) for s in parse_python(chunk.source).body]
        except (SyntaxError, ValueError, RecursionError):
            continue
    load_time: list[tuple[int, ast.AST]] = []
    for cell, s in statements:
        if isinstance(s, (ast.ClassDef, ast.Assign, ast.AnnAssign)):
            load_time.append((cell, s))
        elif isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)):
            load_time += [(cell, n) for n in [*s.decorator_list, *s.args.defaults,
                                              *(k for k in s.args.kw_defaults if k)]]
    reachable = _reachable(parsed, list(names) + [n for _, node in load_time
                                                  for n in _referenced(node)])
    scanned = list(load_time)
    for cell, s in statements:
        if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)):
            d = parsed.definitions.get(s.name)
            if s.name in reachable and d is not None and (d.cell, d.line) == (cell, s.lineno):
                scanned.append((cell, s))
        elif isinstance(s, (ast.Import, ast.ImportFrom)):
            if any(n in reachable for n in _import_aliases(s)):
                scanned.append((cell, s))
    found: dict[tuple[int, int], list[str]] = {}
    for cell, node in scanned:
        aliases = {**parsed.aliases, **_local_aliases(node)}
        for line, what in _machinery_in(node, aliases, parsed.definitions):
            whats = found.setdefault((cell, line), [])
            if what not in whats:
                whats.append(what)
    out = []
    for (cell, line), whats in sorted(found.items()):
        text = lines.get(cell, [])
        source = text[line - 1].strip() if 0 < line <= len(text) else ""
        out.append(Finding(cell, line, source[:200], ", ".join(whats)))
    return out


def _referenced(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _reachable(parsed: ParsedNotebook, roots: list[str]) -> set[str]:
    """The notebook's definitions ``roots`` use, transitively (over-approximated by name)."""
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        name = todo.pop()
        d = parsed.definitions.get(name)
        if name in seen or d is None:
            continue
        seen.add(name)
        if d.node is not None and d.kind != "import":
            todo += _referenced(d.node) - seen
    return seen


def _machinery_in(node: ast.AST, aliases: dict[str, str],
                  definitions: dict[str, Definition]) -> Iterator[tuple[int, str]]:
    """(line, what) for each place in ``node`` that reaches private machinery."""
    for n in ast.walk(node):
        if isinstance(n, (ast.Import, ast.ImportFrom)):
            paths = [p for p in reversed(_imported_paths(n)) if machinery_path(p)]
            if paths:  # the names imported, before the module they come from
                yield n.lineno, f"import {paths[0]}"
        elif isinstance(n, ast.Call) and isinstance(n.func, ast.Name) \
                and n.func.id not in definitions and n.func.id not in aliases:
            yield from _dynamic_call(n, aliases)
        elif isinstance(n, ast.Call) and (_dotted(n.func, aliases) or ("", False)) == (
                "importlib.import_module", True):
            module = n.args[0] if n.args else None
            if not (isinstance(module, ast.Constant) and isinstance(module.value, str)):
                yield n.lineno, "importlib.import_module(<a name built at run time>)"
            elif machinery_path(module.value):
                yield n.lineno, f"importlib.import_module({module.value!r})"
    for n, path, resolved in _chains(node, aliases):
        parts = path.split(".")
        if resolved and machinery_path(path):
            yield n.lineno, path
        elif any(p in _INTROSPECTION for p in parts):
            yield n.lineno, next(p for p in parts if p in _INTROSPECTION)
        elif resolved and "__dict__" in parts:
            yield n.lineno, path
        elif not resolved and len(parts) == 1 and parts[0] in _DYNAMIC_BUILTINS \
                and parts[0] not in definitions:
            yield n.lineno, parts[0]


def _dynamic_call(call: ast.Call, aliases: dict[str, str]) -> Iterator[tuple[int, str]]:
    """``getattr(F, "con" + "v2d")``, ``setattr(torch, ...)``, ``vars(F)``: the library reached
    by a name built at run time, patched, or read as a dict."""
    name, args = call.func.id, call.args  # type: ignore[union-attr]
    target = _dotted(args[0], aliases) if args else None
    library = target[0] if target and target[1] else None
    if name == "vars" and library:
        yield call.lineno, f"vars({library})"
    elif name in _ATTRIBUTE_BUILTINS and library and len(args) >= 2:
        attr = args[1]
        constant = isinstance(attr, ast.Constant) and isinstance(attr.value, str)
        if name != "getattr":
            yield call.lineno, f"{name}({library}, ...)"
        elif not constant and not isinstance(attr, (ast.Name, ast.Attribute)):
            yield call.lineno, f"getattr({library}, <a name built at run time>)"
        elif constant and (_private(attr.value) or attr.value in _INTROSPECTION
                           or attr.value == "__dict__"):
            yield call.lineno, f"getattr({library}, {attr.value!r})"


