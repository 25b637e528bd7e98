"""The CPU-fallback rerun: when a CUDA error hides the real cause, run the cell again on the CPU.

The rerun happens in a shadow namespace built from the snapshot taken before the cell ran,
with the random generators restored and CUDA requests redirected to the CPU, so it meets
the same data and never touches the user's objects. Its output is kept, not printed.
"""
from __future__ import annotations

import ast
import re
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping

from ..run import faults, guards
from ..diagnosis import safe_str

CUDA_SPECIFIC = re.compile(
    r"CUDA error|device-side assert|illegal memory access|CUDNN_STATUS|CUBLAS_STATUS|cuDNN error|"
    r"unspecified launch failure|misaligned address|illegal instruction|CUDA kernel errors|"
    r"cudaErrorLaunchFailure",
    re.IGNORECASE,
)
NO_CUDA = re.compile(
    r"Torch not compiled with CUDA enabled|Found no NVIDIA driver|no CUDA GPUs are available|"
    r"NVIDIA driver on your system is too old|CUDA driver version is insufficient|"
    r"Attempting to deserialize object on a CUDA device|torch\.cuda\.is_available\(\) is False",
    re.IGNORECASE,
)
STICKY = re.compile(r"device-side assert|illegal memory access|illegal instruction|unspecified launch failure|"
                    r"misaligned address",
                    re.IGNORECASE)


def is_cuda_specific(exc: BaseException) -> bool:
    """A CUDA runtime error whose message hides the real cause."""
    return bool(CUDA_SPECIFIC.search(safe_str(exc))) or type(exc).__name__ == "AcceleratorError"


def is_missing_cuda(exc: BaseException) -> bool:
    """A cell written for CUDA running where there is none."""
    return bool(NO_CUDA.search(safe_str(exc)))


def touches_cuda(source: str) -> bool:
    """Whether the cell may use CUDA: it says so, or CUDA is already running in this process."""
    faults.check("touches_cuda")
    if re.search(r"\bcuda\b|device", source):
        return True
    try:
        import torch

        return bool(torch.cuda.is_initialized())
    except Exception:
        return False


@dataclass
class RerunResult:
    """What the rerun did: its exception (None if it ran), frames live in the exception."""

    exception: BaseException | None
    namespace: dict
    warnings: guards.WarningLog
    output: str = ""
    stopped: str = ""  # why it was stopped early, if it was
    effects: list[str] = field(default_factory=list)  # what it did outside itself, for the report
    evidence: Any = None  # what the replay recorded (torchmagic.evidence.Evidence)


async def shadow_run(source: str, filename: str, snapshot: Any, namespace: Mapping[str, Any],
                     anomaly: bool, timeout: float, device: str | None = None, upto: int | None = None,
                     shell: Any = None, user: Any = None) -> RerunResult:
    """Run the cell again in a shadow namespace made from `snapshot`, its output kept, not shown,
    with the run's evidence recorded (what counts as the user's code: `user`).

    The replay runs the cell's top-level statements up to `upto` (the one where the real run
    failed; None: all of them), isolated as :func:`torchmagic.replay.isolation.isolated` says. With
    `device`, CUDA requests are redirected there; without, it runs where the cell ran.
    """
    __tracebackhide__ = True
    from ..run import execute, faults
    from ..evidence import UserCode, recording
    from .isolation import NotReplayed, isolated
    from ..device.redirect import redirected
    from .rng import rng_restored

    faults.check("replay")
    compiled = execute.compile_cell(source, filename, shell, interactive=False)
    shadow = snapshot.shadow_namespace(namespace)
    exc: BaseException | None = None
    stopped = ""
    log = guards.WarningLog()
    with ExitStack() as stack:
        effects = stack.enter_context(isolated(shadow, namespace, shell, getattr(snapshot, "recreated", None)))
        log = stack.enter_context(guards.captured_warnings(filename))
        stack.enter_context(rng_restored(snapshot.rng))
        if device is not None:
            stack.enter_context(redirected(device))
        stack.enter_context(guards.anomaly_mode(anomaly, filename, check_nan="GradScaler" not in source))
        found = stack.enter_context(recording(user or UserCode(cell=filename)))
        try:
            with guards.time_limit(timeout):
                ran = await execute.run_steps(compiled, shadow, filename, upto=upto, catch=(Exception, SystemExit))
            exc = ran.exception
        except guards.TimeLimitExceeded as stop:
            stopped = str(stop)
    if isinstance(exc, NotReplayed):
        from ..diagnose.locate import error_line

        line = error_line(exc, filename)
        stopped = f"{exc} (line {line})" if line else str(exc)
        exc = None
    seen = list(effects.seen)
    seen += [f"the methods of `{name}` ran on your own variables (a class with a metaclass of its own "
             f"is not copied)" for name in getattr(snapshot, "shared_classes", [])]
    return RerunResult(exc, shadow, log, "", stopped, seen, evidence=found)


def context_poisoned() -> bool:
    """Whether CUDA in this process has stopped working (False when there is no CUDA at all)."""
    from ..device.redirect import real_functions

    with real_functions():  # the real answer, even while %device --redirect is on
        try:
            import torch

            if not (torch.cuda.is_available() and torch.cuda.is_initialized()):
                return False
        except Exception:
            return False
        try:
            torch.cuda.synchronize()
            (torch.ones(1, device="cuda") + 1).item()
            return False
        except Exception:
            return True


_sync_depth = 0  # > 0 while a %%torchdebug run wants the statements of its cell synchronised


def sync_point() -> None:
    """Wait for the CUDA kernels launched so far, so that their errors surface here; does
    nothing outside a synchronised run (functions defined in the cell keep this call)."""
    __tracebackhide__ = True
    if _sync_depth:
        import torch

        torch.cuda.synchronize()


@contextmanager
def synchronising() -> Iterator[None]:
    """Turn the cell's sync points on for the duration of a run."""
    global _sync_depth
    _sync_depth += 1
    try:
        yield
    finally:
        _sync_depth -= 1


class _SyncAfterStatements(ast.NodeTransformer):
    """Insert a sync point after each statement: the cell's top level, its loops and branches,
    and the bodies of the functions and classes it defines."""

    def _sync(self, at: ast.stmt) -> ast.stmt:
        call = ast.parse("__import__('torchmagic.replay.rerun').replay.rerun.sync_point()").body[0]
        for node in ast.walk(call):
            ast.copy_location(node, at)
            node.end_lineno = getattr(at, "end_lineno", at.lineno)  # type: ignore[attr-defined]
        return call

    def _body(self, body: list[ast.stmt]) -> list[ast.stmt]:
        out: list[ast.stmt] = []
        for stmt in body:
            stmt = self.visit(stmt)
            out.append(stmt)
            if not isinstance(stmt, (ast.Return, ast.Break, ast.Continue, ast.Raise, ast.FunctionDef,
                                     ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom,
                                     ast.Global, ast.Nonlocal, ast.Pass)):
                out.append(self._sync(stmt))
        return out

    def visit_Module(self, node: ast.Module) -> ast.Module:
        node.body = self._body(node.body)
        return node

    def generic_visit(self, node: ast.AST) -> ast.AST:
        # only statement lists are rewritten: expressions (lambdas included) stay as written
        for name in ("body", "orelse", "finalbody"):
            value = getattr(node, name, None)
            if isinstance(value, list) and value and isinstance(value[0], ast.stmt):
                setattr(node, name, self._body(value))
        for handler in getattr(node, "handlers", []) or []:
            handler.body = self._body(handler.body)
        for case in getattr(node, "cases", []) or []:
            case.body = self._body(case.body)
        return node


def synchronised(tree: ast.Module) -> ast.Module:
    """The cell's AST with a sync point after each statement (see :func:`sync_point`); the
    points synchronise CUDA only inside :func:`synchronising`."""
    return ast.fix_missing_locations(_SyncAfterStatements().visit(tree))
