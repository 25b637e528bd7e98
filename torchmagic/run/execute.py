"""Run a cell's code the way IPython runs it: one top-level statement at a time.

IPython parses the whole cell first (a syntax error stops it before anything runs), then
compiles and runs each top-level statement on its own (`run_ast_nodes`): the last
expression is displayed unless the cell ends with ``;``, a statement that parses but does
not compile (a bare ``return``) fails only when its turn comes, and with `autoawait` a
statement holding a top-level ``await`` runs as a coroutine. :func:`compile_cell` does
the same for a diagnosed run, kept per cell text (a cell run again only renames its code
objects after its new filename); :func:`run_steps` runs the statements, up to a given one
when a replay must stop where the real run stopped.
"""
from __future__ import annotations

import __future__
import ast
import asyncio
import inspect
import tokenize
import types
from dataclasses import dataclass
from functools import lru_cache
from io import StringIO
from typing import Any, Awaitable, Callable, Coroutine

from . import faults

#: Compiler flags of the ``__future__`` features: a statement that imports one changes how
#: the statements after it compile (and, in IPython, every later cell).
FUTURE_FLAGS = 0
for _name in __future__.all_feature_names:
    FUTURE_FLAGS |= getattr(__future__, _name).compiler_flag
TOP_LEVEL_AWAIT = getattr(ast, "PyCF_ALLOW_TOP_LEVEL_AWAIT", 0)


@dataclass(frozen=True)
class Step:
    """One top-level statement of a cell, compiled: its code, its first and last line, and
    whether it holds a top-level ``await`` (then running it gives a coroutine)."""

    code: types.CodeType
    line: int
    end_line: int
    is_async: bool = False


@dataclass(frozen=True)
class CompiledCell:
    """A cell's statements ready to run. `error`: the compile error of the statement after
    the last step (raised when its turn comes, after the steps before it ran)."""

    steps: tuple[Step, ...]
    error: SyntaxError | None = None
    future_flags: int = 0  # __future__ features the cell's own imports turned on
    synced: bool = False  # a sync point follows each statement

    @property
    def is_async(self) -> bool:
        """Whether IPython would run the cell on its event loop: it awaits at top level and
        compiles as a whole (else IPython runs it without a loop, and an await that waits
        fails with RuntimeError)."""
        return self.error is None and any(step.is_async for step in self.steps)

    def failure(self, filename: str) -> SyntaxError | None:
        """A fresh copy of the compile error, as raised from `filename`."""
        if self.error is None:
            return None
        error = type(self.error)(*self.error.args)
        error.filename = filename
        return error


@lru_cache(maxsize=64)
def ends_with_semicolon(source: str) -> bool:
    """Whether the cell's last token is ``;``: IPython then shows no output for it."""
    try:
        tokens = list(tokenize.generate_tokens(StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return False
    for token in reversed(tokens):
        if token.type in (tokenize.ENDMARKER, tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT,
                          tokenize.INDENT, tokenize.DEDENT):
            continue
        return token.type == tokenize.OP and token.string == ";"
    return False


def shell_flags(shell: Any) -> int:
    """The compiler flags IPython would compile the cell with (its ``__future__`` state)."""
    return int(getattr(getattr(shell, "compile", None), "flags", 0) or 0)


def compile_cell(source: str, filename: str, shell: Any = None, *, sync: bool = False,
                 interactive: bool = True) -> CompiledCell:
    """The cell's statements compiled as IPython would and named after `filename`.

    Raises the SyntaxError of a cell that does not parse (nothing of it may run then). With
    `sync`, each statement is followed by a sync point (see :func:`torchmagic.replay.rerun.sync_point`).
    `interactive` False: no expression is displayed (a replay shows nothing).
    """
    faults.check("compile")
    flags = shell_flags(shell)
    autoawait = bool(getattr(shell, "autoawait", False))
    mode = getattr(shell, "ast_node_interactivity", "last_expr") if interactive else "none"
    if interactive and ends_with_semicolon(source):
        mode = "none"
    transformers = _ast_transformers(shell)
    try:
        if transformers:  # they may keep state: compiled afresh every time
            compiled = _compile(source, flags, sync, autoawait, mode, shell)
        else:
            compiled = _compiled(source, flags, sync, autoawait, mode)
    except SyntaxError as error:
        error.filename = filename
        raise
    if compiled.future_flags and shell is not None and hasattr(shell, "compile"):
        shell.compile.flags |= compiled.future_flags  # as IPython's compiler keeps them
    return CompiledCell(tuple(_renamed_step(s, filename) for s in compiled.steps), compiled.error,
                        compiled.future_flags, compiled.synced)


def compile_plain(source: str, filename: str, shell: Any = None) -> CompiledCell:
    """:func:`compile_cell` without its cache and sync points: what a run falls back on when
    torchmagic's own compile stage fails."""
    flags = shell_flags(shell)
    mode = getattr(shell, "ast_node_interactivity", "last_expr")
    if ends_with_semicolon(source):
        mode = "none"
    compiled = _compile(source, flags, False, bool(getattr(shell, "autoawait", False)), mode, shell)
    return CompiledCell(tuple(_renamed_step(s, filename) for s in compiled.steps), compiled.error,
                        compiled.future_flags)


def _ast_transformers(shell: Any) -> list[Any]:
    """The user's AST transformers (IPython applies them to every cell); torchmagic's own
    automatic-mode hook is left out."""
    found = getattr(shell, "ast_transformers", None) or []
    return [t for t in found if not getattr(t, "torchmagic_hook", False)]


@lru_cache(maxsize=32)
def _compiled(source: str, flags: int, sync: bool, autoawait: bool, mode: str) -> CompiledCell:
    # compiled once per text: a rerun only renames the code objects after its own filename
    return _compile(source, flags, sync, autoawait, mode, None)


def _compile(source: str, flags: int, sync: bool, autoawait: bool, mode: str, shell: Any) -> CompiledCell:
    tree = compile(source, "<cell>", "exec", flags=flags | ast.PyCF_ONLY_AST, dont_inherit=True)
    if shell is not None:
        tree = _transform_ast(shell, tree)
    nodes = list(tree.body)
    if not nodes:
        return CompiledCell((), synced=sync)
    if mode == "last_expr_or_assign":
        last = nodes[-1]
        target = None
        if isinstance(last, ast.Assign) and len(last.targets) == 1:
            target = last.targets[0]
        elif isinstance(last, (ast.AugAssign, ast.AnnAssign)):
            target = last.target
        if isinstance(target, ast.Name):
            shown = ast.Expr(ast.Name(target.id, ast.Load()))
            ast.copy_location(shown, last)
            nodes.append(ast.fix_missing_locations(shown))
        mode = "last_expr"
    if mode == "last_expr":
        mode = "last" if isinstance(nodes[-1], ast.Expr) else "none"
    shown_from = {"none": len(nodes), "last": len(nodes) - 1, "all": 0}.get(mode, len(nodes))
    steps: list[Step] = []
    future = 0
    extra = TOP_LEVEL_AWAIT if autoawait else 0
    for i, node in enumerate(nodes):
        single = i >= shown_from
        body = [node]
        if sync:
            from ..replay.rerun import synchronised

            body = synchronised(ast.Module(body=body, type_ignores=[])).body
        module: ast.mod = ast.Interactive(body=body) if single else ast.Module(body=body, type_ignores=[])
        try:
            code = compile(module, "<cell>", "single" if single else "exec",
                           flags=flags | future | extra, dont_inherit=True)
        except SyntaxError as error:
            return CompiledCell(tuple(steps), error, future, sync)
        future |= code.co_flags & FUTURE_FLAGS
        is_async = bool(code.co_flags & inspect.CO_COROUTINE)
        steps.append(Step(code, node.lineno, getattr(node, "end_lineno", node.lineno) or node.lineno, is_async))
    return CompiledCell(tuple(steps), None, future, sync)


def _transform_ast(shell: Any, tree: ast.Module) -> ast.Module:
    """The user's AST transformers applied as IPython applies them (`transform_ast`)."""
    for transformer in _ast_transformers(shell):
        tree = transformer.visit(tree)
    return ast.fix_missing_locations(tree)


def _renamed_step(step: Step, filename: str) -> Step:
    return Step(renamed(step.code, filename), step.line, step.end_line, step.is_async)


def renamed(code: types.CodeType, filename: str) -> types.CodeType:
    """`code` and the functions, classes and comprehensions inside it, as compiled from `filename`."""
    consts = tuple(renamed(c, filename) if isinstance(c, types.CodeType) else c for c in code.co_consts)
    return code.replace(co_filename=filename, co_consts=consts)


@dataclass
class Ran:
    """How a run of a cell's steps ended: the exception (None if all ran) and the index of
    the step it came from (the number of steps when none failed)."""

    exception: BaseException | None
    failed_step: int


async def run_steps(cell: CompiledCell, namespace: dict, filename: str, *, upto: int | None = None,
                    catch: tuple[type[BaseException], ...] = (Exception,)) -> Ran:
    """Run the cell's steps in `namespace`, in order, each like IPython's `run_code`: a
    failing step ends the run. `upto`: the index of the last step to run (a replay stops
    where the real run stopped). Exceptions outside `catch` (KeyboardInterrupt) propagate."""
    __tracebackhide__ = True
    steps = cell.steps if upto is None else cell.steps[: upto + 1]
    for index, step in enumerate(steps):
        try:
            if step.is_async:
                await eval(step.code, namespace)
            else:
                exec(step.code, namespace)
        except catch as error:
            return Ran(error, index)
    if cell.error is not None and (upto is None or upto >= len(cell.steps)):
        return Ran(cell.failure(filename), len(cell.steps))
    return Ran(None, len(steps))


class LoopRunning(RuntimeError):
    """A cell with a top-level ``await`` met an event loop already running in its thread."""


def complete(coroutine: Coroutine[Any, Any, Any], shell: Any = None, needs_loop: bool = False) -> Any:
    """Run `coroutine` to its end from synchronous code.

    Without a top-level ``await`` it never suspends and is driven directly (IPython's
    pseudo-synchronous runner); with one it runs on the shell's event-loop runner, as IPython
    runs such a cell. Inside an event loop that is already running (a Jupyter kernel) that
    cannot be done from a magic: `RuntimeError`.
    """
    if not needs_loop:
        try:
            coroutine.send(None)
        except StopIteration as done:
            return done.value
        coroutine.close()  # the guards inside it exit
        raise RuntimeError("'run_cell_async' needs a real async loop")  # as IPython's own runner says
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        runner: Callable[[Awaitable[Any]], Any] | None = getattr(shell, "loop_runner", None)
        if runner is None:
            return asyncio.run(coroutine)  # type: ignore[arg-type]
        return runner(coroutine)
    coroutine.close()
    raise LoopRunning("an event loop is already running in this thread")
