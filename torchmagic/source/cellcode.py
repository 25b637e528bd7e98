"""Reading a cell's code: statements by line, where names are assigned, loops, in-place ops.

Matchers use this to move from "where it failed" to "where to change it": the assignment
that produced a bad tensor, the in-place op that clobbered a saved one, a loop-carried graph.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import cached_property, lru_cache

from .syntax import FUNCS, LOOPS

# Tensor methods that modify their tensor in place and matter to autograd.
_NOT_INPLACE = {"requires_grad_", "share_memory_", "retain_grad_", "manual_seed_"}
_PASS_ITEMS = {"enumerate", "tqdm", "iter"}  # wrappers that hand a loader's batches on


@dataclass(frozen=True)
class Binding:
    """A place where a name gets a new value."""

    name: str
    line: int
    node: ast.AST


@dataclass(frozen=True)
class InplaceOp:
    """A statement that modifies a tensor in place."""

    name: str  # dotted name of the modified object, e.g. "out" or "self.h"
    line: int
    how: str  # "augassign", "setitem", "method", "inplace=True", "module"


@lru_cache(maxsize=32)
def parse(source: str) -> ast.Module:
    """The syntax tree of a cell's text, parsed once and shared by everything that reads it
    (lint, snapshot, diagnosis): callers must not change it. Raises SyntaxError."""
    return ast.parse(source)


def dotted(node: ast.AST) -> str | None:
    """'a', 'a.b.c' for Name/Attribute chains, else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def base_name(node: ast.AST) -> str | None:
    """The variable an expression is built on: `labels` for `labels.long().to(d)`, `x` for `x[0]`."""
    while True:
        if isinstance(node, ast.Name):
            return node.id
        if isinstance(node, (ast.Attribute, ast.Subscript, ast.Starred)):
            node = node.value
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            node = node.func.value
        else:
            return None


def call_name(call: ast.Call) -> str:
    """The called name's last part: 'cross_entropy' for F.cross_entropy(...)."""
    func = call.func
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return ""


def target_names(target: ast.AST) -> list[str]:
    """Dotted names bound by an assignment target (tuples unpacked)."""
    if isinstance(target, (ast.Tuple, ast.List)):
        return [n for elt in target.elts for n in target_names(elt)]
    if isinstance(target, ast.Starred):
        return target_names(target.value)
    name = dotted(target)
    return [name] if name else []


def loaded_names(node: ast.AST) -> list[str]:
    """Dotted names read in an expression or statement, in source order (no duplicates)."""
    found: list[tuple[int, int, str]] = []
    for sub in ast.walk(node):
        if isinstance(sub, (ast.Attribute, ast.Name)) and isinstance(sub.ctx, ast.Load):
            name = dotted(sub)
            if name:
                found.append((getattr(sub, "lineno", 0), getattr(sub, "col_offset", 0), name))
    seen: dict[str, None] = {}
    for _, _, name in sorted(found):
        seen.setdefault(name, None)
    return list(seen)


class CellCode:
    """A parsed cell with the queries matchers need. Lines are 1-based in the cell."""

    def __init__(self, source: str):
        self.source = source
        self.lines = source.splitlines()
        try:
            self.tree: ast.Module | None = parse(source)
        except SyntaxError:
            self.tree = None
        self._parents: dict[ast.AST, ast.AST] = {}
        if self.tree is not None:
            for parent in ast.walk(self.tree):
                for child in ast.iter_child_nodes(parent):
                    self._parents[child] = parent

    # ---------------------------------------------------------------- structure
    def line_text(self, line: int | None) -> str:
        if line is None or not 1 <= line <= len(self.lines):
            return ""
        return self.lines[line - 1]

    def parent(self, node: ast.AST) -> ast.AST | None:
        return self._parents.get(node)

    def ancestors(self, node: ast.AST) -> list[ast.AST]:
        out = []
        while node in self._parents:
            node = self._parents[node]
            out.append(node)
        return out

    @cached_property
    def statements(self) -> list[ast.stmt]:
        if self.tree is None:
            return []
        return [n for n in ast.walk(self.tree) if isinstance(n, ast.stmt)]

    def statement_at(self, line: int | None) -> ast.stmt | None:
        """The innermost statement that spans `line`."""
        if line is None:
            return None
        best = None
        for stmt in self.statements:
            end = getattr(stmt, "end_lineno", stmt.lineno) or stmt.lineno
            if stmt.lineno <= line <= end:
                if isinstance(stmt, (*LOOPS, ast.If, ast.With, ast.Try, *FUNCS, ast.ClassDef)):
                    # compound statements span their bodies; only their header counts here
                    header_end = stmt.body[0].lineno - 1 if getattr(stmt, "body", None) else end
                    if not stmt.lineno <= line <= max(stmt.lineno, header_end):
                        continue
                if best is None or stmt.lineno >= best.lineno:
                    best = stmt
        return best

    def scope_of(self, node: ast.AST | None) -> ast.AST | None:
        """The function (or the module) whose body holds `node`."""
        if node is None:
            return self.tree
        for anc in self.ancestors(node):
            if isinstance(anc, FUNCS):
                return anc
        return self.tree

    def loops_around(self, node: ast.AST) -> list[ast.AST]:
        """Loops enclosing `node` within its scope, innermost first."""
        out = []
        for anc in self.ancestors(node):
            if isinstance(anc, FUNCS):
                break
            if isinstance(anc, LOOPS):
                out.append(anc)
        return out

    def calls_on_line(self, line: int | None) -> list[ast.Call]:
        stmt = self.statement_at(line)
        if stmt is None:
            return []
        return [n for n in ast.walk(stmt) if isinstance(n, ast.Call)]

    def all_calls(self) -> list[ast.Call]:
        """Every call in the cell, in source order."""
        if self.tree is None:
            return []
        return sorted((n for n in ast.walk(self.tree) if isinstance(n, ast.Call)), key=lambda c: (c.lineno, c.col_offset))

    def classes(self) -> list[ast.ClassDef]:
        return [n for n in self.statements if isinstance(n, ast.ClassDef)]

    # ---------------------------------------------------------------- names
    def bindings(self, scope: ast.AST | None = None) -> list[Binding]:
        """Assignments (incl. for-targets, with-as, aug-assign) in `scope`, in line order."""
        scope = scope or self.tree
        if scope is None:
            return []
        out = []
        for node in ast.walk(scope):
            if node is not scope and isinstance(node, FUNCS):
                continue
            if self.scope_of(node) is not scope and node is not scope:
                continue
            targets: list[ast.AST] = []
            if isinstance(node, ast.Assign):
                targets = node.targets
            elif isinstance(node, (ast.AugAssign, ast.AnnAssign)) and node.value is not None:
                targets = [node.target]
            elif isinstance(node, (ast.For, ast.AsyncFor)):
                targets = [node.target]
            elif isinstance(node, ast.withitem) and node.optional_vars is not None:
                targets = [node.optional_vars]
            elif isinstance(node, ast.NamedExpr):
                targets = [node.target]
            line = getattr(node, "lineno", None) or getattr(self.parent(node), "lineno", 0)
            for t in targets:
                for name in target_names(t):
                    out.append(Binding(name, line, node))
        return sorted(out, key=lambda b: b.line)

    def origin(self, name: str, line: int, scope: ast.AST | None = None) -> Binding | None:
        """Where `name`, as read on `line`, got its value: the last plain assignment before it.

        In a loop, a later assignment in the same loop body also counts (loop-carried value)
        when there is none before. Aug-assignments are skipped: they change, not create, a value.
        """
        scope = scope or self.scope_of(self.statement_at(line))
        candidates = [
            b for b in self.bindings(scope) if b.name == name and not isinstance(b.node, ast.AugAssign)
        ]
        before = [b for b in candidates if b.line < line]
        if before:
            return before[-1]
        stmt = self.statement_at(line)
        loops = self.loops_around(stmt) if stmt is not None else []
        for loop in loops:
            inside = [b for b in candidates if loop.lineno <= b.line <= (loop.end_lineno or b.line)]
            if inside:
                return inside[-1]
        if scope is not self.tree and self.tree is not None:
            return self.origin(name, line, self.tree) if name.split(".")[0] != "self" else None
        return None

    def item_origin(self, binding: Binding) -> Binding | None:
        """For a name bound by a loop over a DataLoader (`for x, y in loader:`), the line of
        `__getitem__` in the cell's Dataset class that makes that element of a sample: the
        place to change a sample's dtype or shape. None when the cell does not show it."""
        loop = binding.node
        if not isinstance(loop, (ast.For, ast.AsyncFor)):
            return None
        target, source = loop.target, loop.iter
        while isinstance(source, ast.Call) and call_name(source) in _PASS_ITEMS and source.args:
            if call_name(source) == "enumerate":  # for i, (x, y) in enumerate(loader)
                if not (isinstance(target, ast.Tuple) and len(target.elts) == 2):
                    return None
                target = target.elts[1]
            source = source.args[0]
        index = None
        if isinstance(target, (ast.Tuple, ast.List)):
            names = [e.id if isinstance(e, ast.Name) else None for e in target.elts]
            if binding.name not in names:
                return None
            index = names.index(binding.name)
        elif not (isinstance(target, ast.Name) and target.id == binding.name):
            return None
        dataset = self._made_by(source, loop.lineno)
        if isinstance(dataset, ast.Call) and call_name(dataset) == "DataLoader":
            if any(k.arg == "collate_fn" for k in dataset.keywords):
                return None  # the batch is whatever collate_fn makes of the samples
            given = dataset.args[0] if dataset.args else next(
                (k.value for k in dataset.keywords if k.arg == "dataset"), None)
            dataset = self._made_by(given, loop.lineno) if given is not None else None
        if not isinstance(dataset, ast.Call):
            return None
        getitem = next((m for cls in self.classes() if cls.name == call_name(dataset) for m in cls.body
                        if isinstance(m, ast.FunctionDef) and m.name == "__getitem__"), None)
        returns = [n for n in ast.walk(getitem) if isinstance(n, ast.Return) and n.value is not None] \
            if getitem is not None else []
        if len(returns) != 1:
            return None
        value, line = returns[0].value, returns[0].lineno
        if index is not None:
            if not (isinstance(value, (ast.Tuple, ast.List)) and len(value.elts) > index):
                return None
            value = value.elts[index]
        if isinstance(value, ast.Name):
            made = self.origin(value.id, line, getitem)
            if made is not None and made.line != line:
                return Binding(binding.name, made.line, made.node)
        return Binding(binding.name, line, returns[0])

    def _made_by(self, expr: ast.AST | None, line: int) -> ast.AST | None:
        """The call that made `expr` (itself, or the value last assigned to the name)."""
        if isinstance(expr, ast.Name):
            made = self.origin(expr.id, line)
            if made is not None and isinstance(made.node, ast.Assign):
                return made.node.value
            return None
        return expr

    def assigned_at(self, line: int) -> list[str]:
        stmt = self.statement_at(line)
        if isinstance(stmt, ast.Assign):
            return [n for t in stmt.targets for n in target_names(t)]
        if isinstance(stmt, (ast.AugAssign, ast.AnnAssign)):
            return target_names(stmt.target)
        return []

    def read_at(self, line: int) -> list[str]:
        stmt = self.statement_at(line)
        if stmt is None:
            return []
        value = getattr(stmt, "value", None)
        if isinstance(stmt, (ast.Assign, ast.AugAssign, ast.AnnAssign)) and value is not None:
            return loaded_names(value)
        # a compound statement's line reads what its header reads, not its whole body
        if isinstance(stmt, (ast.For, ast.AsyncFor)):
            return loaded_names(stmt.iter)
        if isinstance(stmt, (ast.While, ast.If)):
            return loaded_names(stmt.test)
        if isinstance(stmt, (ast.With, ast.AsyncWith)):
            return [n for item in stmt.items for n in loaded_names(item.context_expr)]
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Try)):
            return []
        return loaded_names(stmt)

    # ---------------------------------------------------------------- in-place ops
    @cached_property
    def inplace_module_attrs(self) -> set[str]:
        """Attributes bound to modules built with inplace=True, e.g. {'self.relu'}."""
        out = set()
        for stmt in self.statements:
            if isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Call):
                if any(k.arg == "inplace" and _is_true(k.value) for k in stmt.value.keywords):
                    for t in stmt.targets:
                        out.update(target_names(t))
        return out

    def inplace_ops(self) -> list[InplaceOp]:
        """Every statement that modifies a named tensor in place, in line order."""
        ops: list[InplaceOp] = []
        for node in ast.walk(self.tree) if self.tree is not None else ():
            if isinstance(node, ast.AugAssign):
                name = dotted(node.target)
                if name:
                    ops.append(InplaceOp(name, node.lineno, "augassign"))
            elif isinstance(node, ast.Assign):
                for t in node.targets:
                    if isinstance(t, ast.Subscript):
                        name = dotted(t.value)
                        if name:
                            ops.append(InplaceOp(name, node.lineno, "setitem"))
            elif isinstance(node, ast.Call):
                fname = call_name(node)
                if (
                    isinstance(node.func, ast.Attribute)
                    and fname.endswith("_")
                    and not fname.startswith("_")
                    and fname not in _NOT_INPLACE
                ):
                    owner = dotted(node.func.value)
                    if owner in ("torch", "nn.init", "torch.nn.init", "init") and node.args:
                        owner = dotted(node.args[0])
                    if owner:
                        ops.append(InplaceOp(owner, node.lineno, "method"))
                elif any(k.arg == "inplace" and _is_true(k.value) for k in node.keywords) and node.args:
                    name = dotted(node.args[0])
                    if name:
                        ops.append(InplaceOp(name, node.lineno, "inplace=True"))
                elif dotted(node.func) in self.inplace_module_attrs and node.args:
                    name = dotted(node.args[0])
                    if name:
                        ops.append(InplaceOp(name, node.lineno, "module"))
        return sorted(ops, key=lambda op: op.line)

    def enclosing_with(self, line: int, pattern: str) -> ast.With | None:
        """The `with` block around `line` whose context expression's text matches `pattern`."""
        import re

        stmt = self.statement_at(line)
        for anc in self.ancestors(stmt) if stmt is not None else []:
            if isinstance(anc, FUNCS):
                return None
            if isinstance(anc, (ast.With, ast.AsyncWith)):
                for item in anc.items:
                    if re.search(pattern, ast.unparse(item.context_expr)):
                        return anc
        return None

    def backward_calls(self) -> list[tuple[int, str | None]]:
        """(line, receiver) of every `x.backward()` / `torch.autograd.backward(x)` in the cell."""
        out = []
        for node in ast.walk(self.tree) if self.tree is not None else ():
            if isinstance(node, ast.Call) and call_name(node) == "backward":
                if isinstance(node.func, ast.Attribute) and dotted(node.func.value) not in ("torch.autograd", "autograd"):
                    out.append((node.lineno, base_name(node.func.value)))
                elif node.args:
                    out.append((node.lineno, base_name(node.args[0])))
        return sorted(out, key=lambda x: x[0])

    def same_scope(self, line_a: int, line_b: int) -> bool:
        return self.scope_of(self.statement_at(line_a)) is self.scope_of(self.statement_at(line_b))


def _is_true(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and node.value is True
