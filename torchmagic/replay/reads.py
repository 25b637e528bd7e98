"""What a cell can read: the names of the namespace its code (and the code it calls) reads,
the part of the namespace a snapshot copies and a replay sees."""
from __future__ import annotations

import ast
import builtins
import dis
import functools
import keyword
import re
import types
from collections.abc import Iterable, Mapping
from typing import Any

from ..source.cellcode import parse


_BUILTIN_NAMES = frozenset(dir(builtins))
# Calls that can read any name of the namespace, whatever the source says.
_DYNAMIC_READERS = frozenset({"globals", "locals", "vars", "eval", "exec", "dir", "__import__"})
# IPython's own bookkeeping names: history and output caches, never what a cell means to read.
_IPYTHON_HISTORY = re.compile(r"^(In|Out|_ih|_oh|_dh|_i{1,3}|_i\d+|_\d+|_{1,3}|exit|quit|get_ipython)$")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# The shell's own handles: a rerun must not copy (or drive) the shell.
_SHELL_NAMES = frozenset({"get_ipython", "exit", "quit"})


def names_read_by(source: str, namespace: Mapping[str, Any] | None = None) -> set[str]:
    """Names the cell can read from the namespace: loaded names at module level and free
    names of the functions/classes it defines (AST), minus builtins. Conservative: when in
    doubt include.

    A name the cell binds unconditionally before its first read (``model = Net()`` at top
    level) is not read from the namespace and is left out. IPython syntax (magics, ``!``
    commands) is accepted; names inside magic arguments are included.

    With `namespace` the answer is sharper where the source alone cannot tell: a builtin
    name that the namespace redefines (``input = torch.randn(3)``) is kept, and a cell that
    reads the namespace dynamically (``globals()``, ``eval``...) is taken to read every
    user name of it.
    """
    static, dynamic = _static_reads(source)
    names = set(static)
    if namespace is not None:
        names = {n for n in names if n not in _BUILTIN_NAMES or n in namespace}
        if dynamic:
            names |= {
                n
                for n in namespace
                if not (n.startswith("__") and n.endswith("__")) and not _IPYTHON_HISTORY.match(n)
            } - _SHELL_NAMES
    else:
        names -= _BUILTIN_NAMES
    return names


@functools.lru_cache(maxsize=64)
def _static_reads(source: str) -> tuple[frozenset[str], bool]:
    """What the source alone says: the names the cell may read, and whether it reads the
    namespace dynamically. Cached, since notebooks rerun the same cells."""
    tree = _parse_cell(source)
    if tree is None:
        # Not even IPython can make sense of it: every identifier may be a read.
        names = set(_IDENTIFIER.findall(source)) - set(keyword.kwlist)
        dynamic = bool(names & _DYNAMIC_READERS)
    else:
        names = _module_reads(tree)
        in_strings, user_ns = _indirect_reads(tree)
        names |= in_strings
        dynamic = bool(names & _DYNAMIC_READERS) or user_ns
    return frozenset(names - _SHELL_NAMES), dynamic


def _parse_cell(source: str) -> ast.Module | None:
    try:
        return parse(source)
    except SyntaxError:
        pass
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        return ast.parse(TransformerManager().transform_cell(source))
    except Exception:
        return None


def _module_reads(tree: ast.Module) -> set[str]:
    """Reads of the top-level statements, minus names bound unconditionally before."""
    return _block_reads(tree.body, set())[0]


def _block_reads(body: list[ast.stmt], bound: set[str]) -> tuple[set[str], set[str]]:
    """Reads of a block run in order (a name bound earlier in the block is not read), and
    the names bound once the block has run.

    Bindings inside ``if``/``for``/``while``/``try`` count for the rest of their own block
    only, since it may not run (to the end); a ``with`` body always runs.
    """
    bound = set(bound)
    reads: set[str] = set()
    for stmt in body:
        if isinstance(stmt, (ast.For, ast.AsyncFor)):
            reads |= _reads_in([stmt.iter]) - bound
            reads |= _block_reads(stmt.body, bound | _target_names(stmt.target))[0]
            reads |= _block_reads(stmt.orelse, bound)[0]
        elif isinstance(stmt, (ast.While, ast.If)):
            reads |= _reads_in([stmt.test]) - bound
            reads |= _block_reads(stmt.body, bound)[0]
            reads |= _block_reads(stmt.orelse, bound)[0]
        elif isinstance(stmt, (ast.With, ast.AsyncWith)):
            inner = set(bound)
            for item in stmt.items:
                reads |= _reads_in([item.context_expr]) - inner
                if item.optional_vars is not None:
                    reads |= _reads_in([item.optional_vars]) - inner  # `as obj.attr` reads obj
                    inner |= _target_names(item.optional_vars)
            inner_reads, bound = _block_reads(stmt.body, inner)
            reads |= inner_reads
        elif isinstance(stmt, ast.Try) or type(stmt).__name__ == "TryStar":
            reads |= _block_reads(stmt.body, bound)[0]
            for handler in stmt.handlers:
                if handler.type is not None:
                    reads |= _reads_in([handler.type]) - bound
                reads |= _block_reads(handler.body, bound | ({handler.name} if handler.name else set()))[0]
            reads |= _block_reads(stmt.orelse, bound)[0]
            reads |= _block_reads(stmt.finalbody, bound)[0]
        elif isinstance(stmt, ast.Match):
            reads |= _reads_in([stmt.subject]) - bound
            for case in stmt.cases:
                captured = _local_bindings([case.pattern], set())
                reads |= _reads_in([case.pattern]) - bound
                if case.guard is not None:
                    reads |= _reads_in([case.guard]) - (bound | captured)
                reads |= _block_reads(case.body, bound | captured)[0]
        else:
            reads |= _reads_in([stmt]) - bound
        if isinstance(stmt, ast.Delete):
            bound -= {t.id for t in stmt.targets if isinstance(t, ast.Name)}
        bound |= _unconditional_bindings(stmt)
    return reads, bound


def _unconditional_bindings(stmt: ast.stmt) -> set[str]:
    """Names a top-level statement surely binds when it completes."""
    if isinstance(stmt, ast.Assign):
        out: set[str] = set()
        for target in stmt.targets:
            out |= _target_names(target)
        return out
    if isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
        return _target_names(stmt.target)
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {stmt.name}
    if isinstance(stmt, ast.Import):
        return {(a.asname or a.name.split(".")[0]) for a in stmt.names}
    if isinstance(stmt, ast.ImportFrom):
        return {(a.asname or a.name) for a in stmt.names if a.name != "*"}
    return set()


def _target_names(target: ast.expr) -> set[str]:
    if isinstance(target, ast.Name):
        return {target.id}
    if isinstance(target, (ast.Tuple, ast.List)):
        out: set[str] = set()
        for elt in target.elts:
            out |= _target_names(elt)
        return out
    if isinstance(target, ast.Starred):
        return _target_names(target.value)
    return set()  # attribute or subscript targets bind nothing


def _reads_in(nodes: Iterable[ast.AST]) -> set[str]:
    """Names read by `nodes` in the current scope, plus the free names of nested scopes."""
    out: set[str] = set()
    for node in nodes:
        _collect_reads(node, out)
    return out


def _collect_reads(node: ast.AST, out: set[str]) -> None:
    if isinstance(node, ast.Name):
        if not isinstance(node.ctx, ast.Store):
            out.add(node.id)
        return
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        # Decorators, defaults and annotations are evaluated where the function is defined.
        out |= _reads_in(node.decorator_list)
        out |= _argument_reads(node.args)
        if node.returns is not None:
            _collect_reads(node.returns, out)
        out |= _function_free_names(node.args, node.body)
        return
    if isinstance(node, ast.Lambda):
        out |= _argument_reads(node.args)
        out |= _function_free_names(node.args, [node.body])
        return
    if isinstance(node, ast.ClassDef):
        out |= _reads_in(node.decorator_list)
        out |= _reads_in(node.bases)
        out |= _reads_in(k.value for k in node.keywords)
        # A class body's own names shadow globals only in some orders: keep them all.
        out |= _reads_in(node.body)
        return
    if isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
        generators = node.generators
        # The first iterable is evaluated in the enclosing scope.
        _collect_reads(generators[0].iter, out)
        inner: list[ast.AST] = []
        for i, gen in enumerate(generators):
            if i:
                inner.append(gen.iter)
            inner.extend(gen.ifs)
        if isinstance(node, ast.DictComp):
            inner += [node.key, node.value]
        else:
            inner.append(node.elt)
        local: set[str] = set()
        for gen in generators:
            local |= _target_names(gen.target)
        out |= _reads_in(inner) - local
        return
    if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
        out.add(node.target.id)
    for child in ast.iter_child_nodes(node):
        _collect_reads(child, out)


def _argument_reads(args: ast.arguments) -> set[str]:
    nodes: list[ast.AST] = [d for d in args.defaults if d is not None]
    nodes += [d for d in args.kw_defaults if d is not None]
    every = args.posonlyargs + args.args + args.kwonlyargs
    every += [a for a in (args.vararg, args.kwarg) if a is not None]
    nodes += [a.annotation for a in every if a.annotation is not None]
    return _reads_in(nodes)


def _function_free_names(args: ast.arguments, body: list[ast.stmt] | list[ast.expr]) -> set[str]:
    params = {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs}
    params |= {a.arg for a in (args.vararg, args.kwarg) if a is not None}
    declared: set[str] = set()
    local = params | _local_bindings(body, declared)
    return _reads_in(body) - (local - declared)


def _local_bindings(body: Iterable[ast.AST], declared: set[str]) -> set[str]:
    """Names a function body binds (its locals), not looking inside nested scopes.

    Names declared ``global``/``nonlocal`` are added to `declared`.
    """
    out: set[str] = set()
    stack = list(body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Name):
            if isinstance(node.ctx, (ast.Store, ast.Del)):
                out.add(node.id)
            continue
        if isinstance(node, (ast.Global, ast.Nonlocal)):
            declared.update(node.names)
            continue
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.add(node.name)
            # Decorators, defaults and bases belong to this scope.
            stack.extend(node.decorator_list)
            if isinstance(node, ast.ClassDef):
                stack.extend(node.bases)
            else:
                stack.extend(d for d in node.args.defaults + node.args.kw_defaults if d is not None)
            continue
        if isinstance(node, (ast.Lambda, ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
            continue
        if isinstance(node, ast.ExceptHandler) and node.name:
            out.add(node.name)
        elif isinstance(node, ast.Import):
            out |= {(a.asname or a.name.split(".")[0]) for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            out |= {(a.asname or a.name) for a in node.names if a.name != "*"}
        elif isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
            out.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            out.add(node.rest)
        stack.extend(ast.iter_child_nodes(node))
    return out


def _indirect_reads(tree: ast.Module) -> tuple[set[str], bool]:
    """Reads the names alone do not show: identifiers in the string arguments of
    ``get_ipython().<method>(...)`` calls, and whether the cell reaches into ``user_ns``.

    Magics such as ``%time`` or ``%timeit`` run their argument as code, and ``!cmd {x}``
    expands names: every identifier there may be a read.
    """
    out: set[str] = set()
    user_ns = False
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ("user_ns", "user_global_ns"):
            user_ns = True
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        owner = node.func.value
        if not (isinstance(owner, ast.Call) and isinstance(owner.func, ast.Name) and owner.func.id == "get_ipython"):
            continue
        for arg in node.args[1:] if node.func.attr.startswith("run_") else node.args:
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                out |= set(_IDENTIFIER.findall(arg.value)) - set(keyword.kwlist)
    return out, user_ns


@functools.lru_cache(maxsize=1024)
def _code_global_names(code: types.CodeType) -> frozenset[str]:
    """Global names that a code object (and the code nested in it) reads or writes."""
    ops = {"LOAD_GLOBAL", "LOAD_NAME", "STORE_GLOBAL", "DELETE_GLOBAL", "LOAD_FROM_DICT_OR_GLOBALS"}
    out = {ins.argval for ins in dis.get_instructions(code) if ins.opname in ops and isinstance(ins.argval, str)}
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            out |= _code_global_names(const)
    return frozenset(out)


