"""The `%%torchdebug` engine: run a cell under instrumentation and diagnose what happened.

`debug_cell` compiles the cell under a filename of its own (registered with IPython's
line cache, so tracebacks, `%tb` and `%debug` show its source), runs it with anomaly
detection and warnings capture, and returns an :class:`Outcome`: the :class:`Diagnosis`
and the user's exception, untouched, for the caller to re-raise. Nothing is printed here.
"""
from __future__ import annotations

import ast
import contextlib
import math
import traceback
import sys
from contextlib import ExitStack
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable, Mapping

from IPython.core.error import UsageError

from .. import evidence
from . import children
from ..run import execute, faults, guards
from ..replay import rerun
from ..diagnosis import Diagnosis, ErrorInfo, Location, Rerun, TensorInfo, describe, safe_str
from ..evidence import UserCode
from .findings import collect_findings, warning_patterns
from .locate import cell_frames, error_line, format_user_traceback, forward_trace
from . import discarded
from .notes import note
from ..pitfalls.helpers import records_read, suspect_place
from ..pitfalls.registry import Context, rank
from ..source.values import is_module, is_tensor
from ..source.cellcode import CellCode, parse

_last: Diagnosis | None = None


@dataclass
class Options:
    """Per-run settings, from the magic's traits and flags."""

    anomaly: bool = True
    lint: bool = True
    language: str = "en"
    rerun: str = "auto"  # "auto" | "cpu" | "off"
    snapshot_limit: int = 1 << 30
    rerun_timeout: float = 60.0
    fast: bool = False  # no instrumentation; replay from the snapshot when the cell fails
    record: bool = True  # keep the provenance record of the instrumented run (evidence)
    # whether CUDA in this process stopped working after an error (a seam for CPU-only tests)
    context_lost: Callable[[], bool] = field(default=lambda: rerun.context_poisoned(), repr=False)
    # told of the run's exception as soon as it is raised, before it is diagnosed (the ranks of
    # a distributed job learn which of them failed first)
    on_failure: Callable[[BaseException], None] | None = field(default=None, repr=False)


@dataclass
class Script:
    """A script run as the cell: its file (the cell's file name, as in its tracebacks), the
    namespace of its ``__main__`` module, and the other files of the user's project."""

    path: str
    namespace: dict
    files: tuple[str, ...] = ()


@dataclass
class Outcome:
    """A diagnosed run: the diagnosis, and the cell's own exception (None if it succeeded)."""

    diagnosis: Diagnosis
    exception: BaseException | None = None
    value: Any = None
    extra: dict[str, Any] = field(default_factory=dict)


def last_diagnosis() -> Diagnosis | None:
    """The diagnosis of the most recent `%%torchdebug` run."""
    return _last


def debug_cell(shell: Any, cell: str, options: Options | None = None, script: Script | None = None) -> Outcome:
    """Run `cell` in the shell's namespace under diagnosis; never raises the cell's error.

    With `script`, `cell` is a script's text, run in the script's namespace under its own file
    name, its statements run as a program runs them (no value shown).

    The cell runs exactly once, as IPython would run it (statement by statement, see
    :mod:`torchmagic.run.execute`), whatever happens to torchmagic around it: a stage of its own
    that fails is left out and named in `Diagnosis.internal_error`. Only a cell that does not
    parse (nothing of it runs) and KeyboardInterrupt or SystemExit from the cell come out.
    """
    __tracebackhide__ = True
    try:
        run = _prepare(shell, cell, options or Options(), script)
    except SyntaxError as error:  # nothing of the cell runs; the report says where it does not parse
        return _syntax_outcome(shell, cell, options or Options(), error)
    try:
        return execute.complete(_run_and_diagnose(run), shell, run.compiled.is_async)
    except execute.LoopRunning:
        raise UsageError("a %%torchdebug cell with a top-level `await` cannot run inside a running "
                         "event loop (Jupyter's); `%torchdebug on` diagnoses such cells") from None


def _syntax_outcome(shell: Any, cell: str, options: Options, error: SyntaxError) -> Outcome:
    """The diagnosis of a cell that does not parse: its line, no pitfall, nothing run."""
    global _last
    source = python_source(shell, cell)
    diagnosis = Diagnosis(ok=False, cell=source, filename=error.filename or "", language=options.language)
    try:
        diagnose_error(diagnosis, error, {}, guards.WarningLog(), options)
        if getattr(error, "msg", "") == "incomplete input":
            # IPython's compiler stops at the end of the cell; Python's parser names the line
            # where the unclosed bracket or block begins
            try:
                ast.parse(source)
            except SyntaxError as precise:
                if precise.lineno:
                    precise.filename = error.filename
                    diagnosis.line = precise.lineno
                    diagnosis.error = ErrorInfo.from_exception(precise)
                    diagnosis.traceback = "".join(traceback.format_exception_only(type(precise), precise))
    except Exception as internal:
        diagnosis.internal_error = f"diagnosis: {describe(internal)}"
    _last = diagnosis
    return Outcome(diagnosis, error)


async def debug_cell_async(shell: Any, cell: str, options: Options | None = None) -> Outcome:
    """:func:`debug_cell` for a cell with a top-level ``await``, run from the event loop
    IPython runs such a cell on (automatic mode in Jupyter)."""
    __tracebackhide__ = True
    return await _run_and_diagnose(_prepare(shell, cell, options or Options()))


@dataclass
class _Run:
    """One diagnosed run: what was prepared for it, and what failed of torchmagic's own."""

    shell: Any
    cell: str
    options: Options
    source: str
    filename: str
    namespace: Any
    diagnosis: Diagnosis
    compiled: execute.CompiledCell
    snapshot: Any = None
    failures: list[str] = field(default_factory=list)
    user: UserCode = field(default_factory=UserCode)  # which code is the user's, for the evidence

    def failed(self, stage: str, error: BaseException) -> None:
        """Note a stage of torchmagic that failed; the cell goes on without it."""
        self.failures.append(f"{stage}: {describe(error)}")


def _prepare(shell: Any, cell: str, options: Options, script: Script | None = None) -> _Run:
    """Everything before the cell runs. A stage that fails is noted and replaced by what
    IPython itself would do; only the cell's own syntax error is raised."""
    __tracebackhide__ = True
    failures: list[str] = []
    if script is not None:  # a file of its own: nothing to translate or register
        source, filename, namespace = cell, script.path, script.namespace
    else:
        try:
            source = python_source(shell, cell)
        except Exception as error:
            failures.append(f"translate: {describe(error)}")
            source = shell.transform_cell(cell) if shell is not None else cell
        number = cell_number(shell)
        try:
            filename = _register_source(shell, source, cell, number)
        except Exception as error:
            failures.append(f"register: {describe(error)}")
            filename = _register_plain(source, number)
        namespace = shell.user_ns if shell is not None else {}
    diagnosis = Diagnosis(ok=True, cell=source, filename=filename, language=options.language)
    try:
        compiled = execute.compile_cell(source, filename, shell, sync=not options.fast and _must_sync(),
                                        interactive=script is None)
    except SyntaxError:
        raise  # the cell does not parse: IPython shows it, and nothing runs
    except Exception as error:
        failures.append(f"compile: {describe(error)}")
        compiled = execute.compile_plain(source, filename, shell)
    run = _Run(shell, cell, options, source, filename, namespace, diagnosis, compiled, failures=failures,
               user=UserCode(shell, script.files if script is not None else (), cell=filename))
    run.snapshot = _take_snapshot(run)
    return run


async def _run_and_diagnose(run: _Run) -> Outcome:
    """Run the cell under the guards, then diagnose it (replaying it in fast mode)."""
    __tracebackhide__ = True
    global _last
    options, diagnosis = run.options, run.diagnosis
    log = guards.WarningLog()
    try:
        patterns = warning_patterns()
    except Exception as error:
        run.failed("catalog", error)
        patterns = ()
    with ExitStack() as stack:
        log = _guard(run, stack, "warnings", guards.captured_warnings(run.filename, always=patterns), default=log)
        # a GradScaler skips the steps whose fp16 gradients overflow: NaN and inf are expected there
        _guard(run, stack, "anomaly", guards.anomaly_mode(options.anomaly and not options.fast, run.filename,
                                                          check_nan=not _scales_gradients(run)))
        # in fast mode nothing is recorded: the hooks alone would cost a tenth of a small
        # training step; a replay (a failure, a NaN loss) records everything
        recorded = options.record and not options.fast
        found = _guard(run, stack, "evidence", evidence.recording(run.user, recorded, monitors=recorded),
                       default=evidence.Evidence(run.user))
        sync = False if options.fast else _cuda_precision(stack, diagnosis)
        if sync and run.compiled.synced:
            stack.enter_context(rerun.synchronising())
        ran = await execute.run_steps(run.compiled, run.namespace, run.filename)
    exc = ran.exception
    if exc is not None and options.on_failure is not None:
        try:
            options.on_failure(exc)
        except Exception as error:
            run.failed("on_failure", error)
    try:
        if exc is not None:
            diagnosis.ok = False
            diagnosis.error = ErrorInfo.from_exception(exc)
        if options.fast and run.snapshot is not None and (exc is not None or _non_finite_loss(run.source, run.namespace)):
            # the replay's evidence stands in for the bare run's (a NaN loss: where it began)
            found = await _replay(run, exc, ran.failed_step) or found
        elif exc is not None:
            diagnose_error(diagnosis, exc, run.namespace, log, options, found)
            await _after_cuda_error(run, exc, ran.failed_step)
        if exc is not None:
            _after_out_of_memory(diagnosis, run.source, run.namespace)
        if options.lint:
            diagnosis.findings = collect_findings(run.source, run.namespace, log, options.language, found)
    except KeyboardInterrupt:  # the user stopped the diagnosis, not the cell: its error still shows
        diagnosis.interrupted = True
        diagnosis.notes.append(note("interrupted", diagnosis.language))
    except Exception as internal:  # torchmagic's own failure: the user's error still shows
        run.failed("diagnosis", internal)
    if run.failures:
        diagnosis.internal_error = "; ".join(run.failures)
    _last = diagnosis
    return Outcome(diagnosis, exc)


def _guard(run: _Run, stack: ExitStack, name: str, manager: Any, default: Any = None) -> Any:
    """Enter a guard so that its failure, on entry or exit, costs the guard and never the cell."""
    return stack.enter_context(_Contained(run, name, manager, default))


class _Contained:
    """A context manager whose own failures are noted instead of raised."""

    def __init__(self, run: _Run, name: str, manager: Any, default: Any) -> None:
        self.run, self.name, self.manager, self.default = run, name, manager, default
        self.active = False

    def __enter__(self) -> Any:
        try:
            value = self.manager.__enter__()
        except Exception as error:
            self.run.failed(f"{self.name} guard", error)
            return self.default
        self.active = True
        return value

    def __exit__(self, *exc: Any) -> bool:
        if self.active:
            try:
                self.manager.__exit__(*exc)
            except Exception as error:
                if error is not exc[1]:
                    self.run.failed(f"{self.name} guard", error)
        return False


def _scales_gradients(run: _Run) -> bool:
    """Whether the cell trains with a GradScaler (it names one, or one is in the namespace)."""
    if "GradScaler" in run.source:
        return True
    return any(type(v).__name__ == "GradScaler" for v in list(run.namespace.values()))


def _must_sync() -> bool:
    """Whether the cell's statements need sync points (CUDA already running, see
    :func:`_cuda_precision`); compiled in only then."""
    torch = sys.modules.get("torch")
    if torch is None:
        return False
    try:
        return bool(torch.cuda.is_available() and torch.cuda.is_initialized())
    except Exception:
        return False


def lint_only(cell: str, shell: Any = None, lang: str = "en") -> Diagnosis:
    """Findings for a cell's text without running it (names resolve in the current namespace)."""
    source = python_source(shell, cell)
    namespace = shell.user_ns if shell is not None else {}
    diagnosis = Diagnosis(ok=True, cell=source, language=lang)
    try:
        from .findings import lint_cell

        diagnosis.findings = lint_cell(source, namespace, lang)
    except Exception as internal:
        diagnosis.internal_error = f"{type(internal).__name__}: {internal}"
    return diagnosis


_translations: dict[tuple, str] = {}


def python_source(shell: Any, cell: str) -> str:
    """The Python that IPython would run for a cell's text (`%magic`, `!cmd` translated).

    IPython's static input transforms depend on the text and the transformers installed only,
    so a cell run again (automatic mode, a training cell rerun) reuses its translation. One-line
    cells also go through IPython's prefilter, which reads the namespace (autocall), and are
    translated afresh every time.
    """
    faults.check("translate")
    if shell is None:
        return cell
    manager = getattr(shell, "input_transformer_manager", None)
    if manager is None:
        return shell.transform_cell(cell)
    key = (cell, *manager.cleanup_transforms, *manager.line_transforms, *manager.token_transformers,
           *shell.input_transformers_post)
    try:
        return _translations[key]
    except (KeyError, TypeError):  # TypeError: a transformer that cannot be hashed
        pass
    source = shell.transform_cell(cell)
    if len(source.splitlines()) > 1:
        with contextlib.suppress(TypeError):
            if len(_translations) >= 64:
                del _translations[next(iter(_translations))]
            _translations[key] = source
    return source


def cell_number(shell: Any) -> int:
    """The number of the input being run ("In [n]"), as IPython shows it in tracebacks.

    IPython 9 counts the next input as soon as a cell starts, IPython 8 once it ends; the
    result IPython fills for the running cell holds the number either way.
    """
    result = getattr(getattr(shell, "displayhook", None), "exec_result", None)
    number = getattr(result, "execution_count", None)
    return number if isinstance(number, int) else getattr(shell, "execution_count", 0)


def _register_source(shell: Any, source: str, raw: str, number: int) -> str:
    """Give the cell body a filename of its own in IPython's line cache."""
    faults.check("register")
    if shell is not None and hasattr(shell, "compile"):
        return shell.compile.cache(source, number, raw_code=raw)
    return _register_plain(source, number)


def _register_plain(source: str, number: int) -> str:
    """A filename for the cell in Python's own line cache (no IPython needed)."""
    import linecache

    name = f"<torchdebug-{number}-{abs(hash(source))}>"
    linecache.cache[name] = (len(source), None, source.splitlines(True), name)
    return name


def diagnose_error(diagnosis: Diagnosis, exc: BaseException, namespace: Mapping[str, Any],
                   log: guards.WarningLog, options: Options, found: evidence.Evidence | None = None) -> None:
    """Fill the diagnosis of a failed run: error, line to change, ranked pitfalls, tensors."""
    faults.check("diagnosis")
    diagnosis.ok = False
    diagnosis.error = ErrorInfo.from_exception(exc)
    diagnosis.traceback = format_user_traceback(exc)
    ctx = error_context(diagnosis, exc, namespace, log, found)
    if ctx.forward and ctx.forward.line:
        diagnosis.notes.append(note("forward_trace", diagnosis.language, line=ctx.forward.line))
    diagnosis.matches = rank(ctx)
    top = diagnosis.top
    if top is not None and top.cause is None and top.line in (None, ctx.line):
        # raised inside an earlier cell's code, and no rule knew better: the cell's value the
        # message is about, where the cell made it
        suspect = suspect_place(ctx)
        if suspect is not None and suspect[0] != ctx.line:
            top.line = suspect[0]
    if top is not None:
        _thrown_away(diagnosis, ctx, top)
    _place(diagnosis, ctx, top)
    diagnosis.tensors = tensors_on_line(ctx, ctx.line)
    children.annotate(diagnosis, ctx)  # raised in a child process: the line it raised at


def _thrown_away(diagnosis: Diagnosis, ctx: Context, top: Any) -> None:
    """A call written against the pitfall found, whose result the cell threw away
    (`next_q.detach()` on a line of its own): that call is the line to change."""
    lang = diagnosis.language
    calls = discarded.thrown_away(ctx.code.tree, diagnosis.filename, ctx.evidence, ctx.namespace)
    call = discarded.line_to_change(top.pitfall, calls)
    if call is not None:
        line, why = call.line, note("discarded", lang, line=call.line, code=call.text, name=call.receiver)
    elif top.pitfall in discarded.PREVENTS["squeeze"]:
        squeeze = discarded.squeezed_nothing(records_read(ctx, ctx.innermost), diagnosis.filename)
        if squeeze is None:
            return
        line = squeeze.site.line
        why = note("squeezed_nothing", lang, line=line, shape=str(tuple(squeeze.shape)))
    else:
        return
    if line == top.line:
        return
    if top.line is not None and top.line not in top.related_lines:
        top.related_lines.append(top.line)
    top.line, top.cause = line, None
    diagnosis.notes.append(why)


def error_context(diagnosis: Diagnosis, exc: BaseException, namespace: Mapping[str, Any],
                  log: guards.WarningLog, found: evidence.Evidence | None) -> Context:
    """What the matchers get to see of a failure: the cell's and earlier cells' frames, the
    anomaly trace, the namespace and the run's evidence."""
    found = found or evidence.Evidence()
    cells = found.user
    filename = diagnosis.filename
    return Context(
        exc=exc, code=CellCode(diagnosis.cell), line=error_line(exc, filename),
        frames=cell_frames(exc.__traceback__, filename), namespace=namespace,
        forward=forward_trace(log.anomaly_traces, filename, cells),
        user_frames=cell_frames(exc.__traceback__, filename, cells), evidence=found, filename=filename,
    )


def _place(diagnosis: Diagnosis, ctx: Context, top: Any) -> None:
    """The line to mark, the related lines, and where to change it when that is outside the cell."""
    line = ctx.line
    diagnosis.line = top.line if top and top.line is not None else line
    related = list(top.related_lines) if top else []
    if line is not None and line != diagnosis.line and line not in related:
        related.append(line)
    diagnosis.related_lines = sorted(r for r in related if r != diagnosis.line)
    diagnosis.cause = None
    diagnosis.trace = list(getattr(top, "trace", []) or [])
    cause = getattr(top, "cause", None)
    if cause is not None and cause.filename != diagnosis.filename:
        user = ctx.evidence.user
        diagnosis.cause = Location(user.label(cause.filename), cause.filename, cause.line, user.text(cause).strip())


def tensors_on_line(ctx: Context, line: int | None) -> list[TensorInfo]:
    """Shapes, dtypes and devices of the tensors and modules named on the failing line."""
    frame = ctx.frame_at(line)
    out: list[TensorInfo] = []
    for name in ctx.code.read_at(line) if line else []:
        value = ctx.value(name, frame)
        if is_tensor(value):
            out.append(TensorInfo(
                name=name, kind="tensor", shape=str(tuple(value.shape)),
                dtype=str(value.dtype).replace("torch.", ""), device=str(value.device),
                requires_grad=bool(value.requires_grad),
                grad_fn=type(value.grad_fn).__name__ if value.grad_fn is not None else "",
            ))
        elif is_module(value):
            params = list(value.parameters())
            out.append(TensorInfo(
                name=name, kind="module", shape=type(value).__name__,
                dtype=", ".join(sorted({str(p.dtype).replace("torch.", "") for p in params})),
                device=", ".join(sorted({str(p.device) for p in params})),
                requires_grad=any(p.requires_grad for p in params),
                note="train" if value.training else "eval",
            ))
        elif type(value).__module__ == "numpy" and hasattr(value, "dtype") and hasattr(value, "shape"):
            out.append(TensorInfo(name=name, kind="array", shape=str(tuple(value.shape)),
                                  dtype=str(value.dtype), device="numpy"))
        if len(out) >= 8:
            break
    return out


# ---------------------------------------------------------------------------- CUDA
def _cuda_precision(stack: ExitStack, diagnosis: Diagnosis) -> bool:
    """Make CUDA errors land on the statement that caused them; True if statements must sync."""
    try:
        import torch

        if not torch.cuda.is_available():
            return False
        if torch.cuda.is_initialized():
            diagnosis.notes.append(note("synchronised", diagnosis.language))
            return True
    except Exception:
        return False
    stack.enter_context(guards.env_var("CUDA_LAUNCH_BLOCKING", "1"))
    diagnosis.notes.append(note("launch_blocking", diagnosis.language))
    return False


def _take_snapshot(run: _Run) -> Any:
    """Copy what the cell can reach to host memory, when a replay or a CPU rerun may be needed."""
    options, diagnosis = run.options, run.diagnosis
    try:
        if options.rerun == "off" and not options.fast:
            return None
        if not (options.fast or options.rerun == "cpu" or (options.rerun == "auto" and rerun.touches_cuda(run.source))):
            return None
    except Exception as error:
        run.failed("touches_cuda", error)
        return None
    try:
        faults.check("snapshot")
        from ..replay.reads import names_read_by
        from ..replay.snapshot import take_snapshot

        # the previous run's copies are done with: their memory takes this run's copies
        spare = _last.snapshot.retire() if _last is not None and _last.snapshot is not None else None
        snap = take_snapshot(run.namespace, names_read_by(run.source, run.namespace), options.snapshot_limit,
                             spare=spare)
    except Exception as error:  # no snapshot means no replay, never a failed cell
        key = "snapshot_failed_fast" if options.fast else "snapshot_failed"
        diagnosis.notes.append(note(key, diagnosis.language, error=describe(error)))
        return None
    diagnosis.snapshot = snap
    return snap


async def _after_cuda_error(run: _Run, exc: BaseException, failed_step: int) -> None:
    """Rerun on the CPU to find what a CUDA error hides; rescue the state if CUDA is lost."""
    diagnosis, options, snapshot = run.diagnosis, run.options, run.snapshot
    lang = diagnosis.language
    cuda_error = rerun.is_cuda_specific(exc)
    missing = rerun.is_missing_cuda(exc)
    if snapshot is not None and (options.rerun == "cpu" or cuda_error or missing):
        result = await rerun.shadow_run(run.source, run.filename, snapshot, run.namespace, options.anomaly,
                                        options.rerun_timeout, device="cpu", upto=failed_step, shell=run.shell,
                                        user=run.user)
        _attach_rerun(diagnosis, result, root_cause=cuda_error or options.rerun == "cpu")
        _replay_notes(diagnosis, result, snapshot)
    if cuda_error and rerun.STICKY.search(safe_str(exc)) and options.context_lost():
        diagnosis.notes.append(note("context_lost", lang))
        if snapshot is not None:
            from ..replay.rescue import save_rescue

            path = save_rescue(snapshot)
            diagnosis.rescue_file = str(path)
            diagnosis.notes.append(note("rescue_saved", lang, path=path))


def _replay_notes(diagnosis: Diagnosis, result: "rerun.RerunResult", snapshot: Any) -> None:
    """What a replay could not keep to itself, and what it ran without."""
    lang = diagnosis.language
    if result.effects:
        diagnosis.notes.append(note("replay_effects", lang, effects="; ".join(result.effects)))
    if snapshot.left_out:
        diagnosis.notes.append(note("snapshot_left_out", lang, names=", ".join(sorted(snapshot.left_out))))


def _attach_rerun(diagnosis: Diagnosis, result: "rerun.RerunResult", root_cause: bool) -> None:
    lang = diagnosis.language
    if result.stopped:
        diagnosis.rerun = Rerun(device="cpu", ok=False, note=result.stopped)
        diagnosis.notes.append(note("rerun_stopped", lang, reason=result.stopped))
        return
    if result.exception is None:
        diagnosis.rerun = Rerun(device="cpu", ok=True)
        if root_cause:
            diagnosis.notes.append(note("rerun_ok", lang))
        return
    exc = result.exception
    ctx = error_context(diagnosis, exc, result.namespace, result.warnings, result.evidence)
    line = ctx.line
    matches = rank(ctx)
    top = matches[0] if matches else None
    rerun_line = top.line if top and top.line is not None else line
    diagnosis.rerun = Rerun(device="cpu", ok=False, error=ErrorInfo.from_exception(exc), line=rerun_line,
                            pitfalls=[m.pitfall for m in matches])
    if root_cause and matches:
        original_line = diagnosis.line
        known = {m.pitfall for m in matches}
        diagnosis.matches = matches + [m for m in diagnosis.matches if m.pitfall not in known]
        _place(diagnosis, ctx, top)
        related = [r for r in [original_line, *diagnosis.related_lines] if r is not None and r != rerun_line]
        diagnosis.related_lines = sorted(set(related))
        diagnosis.tensors = tensors_on_line(ctx, line)
        diagnosis.notes.append(note("rerun_cause", lang, line=rerun_line))


# ---------------------------------------------------------------------------- fast mode
def _non_finite_loss(source: str, namespace: Mapping[str, Any]) -> bool:
    """Whether a scalar the cell assigned (a loss, typically) ended up NaN or infinite."""
    import torch

    for name in _assigned_names(source):
        value = namespace.get(name)
        # the type, not isinstance: reading the user's objects runs none of their code
        if type(value) in (torch.Tensor, torch.nn.Parameter) and value.dim() == 0 and value.is_floating_point() \
                and value.device.type == "cpu" and not math.isfinite(value.item()):
            return True
    return False


@lru_cache(maxsize=64)
def _assigned_names(source: str) -> frozenset[str]:
    """Names the cell assigns outside its functions and classes: at top level, in loops,
    under `if` or `with` (cached: notebooks rerun cells)."""
    try:
        tree = parse(source)
    except SyntaxError:
        return frozenset()
    names: set[str] = set()
    statements: list[ast.AST] = list(tree.body)
    while statements:  # statements only: expressions hold no assignments worth a look
        node = statements.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(n.id for t in targets for n in ast.walk(t)
                         if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store))
        statements.extend(c for c in ast.iter_child_nodes(node)
                          if isinstance(c, (ast.stmt, ast.excepthandler, ast.match_case)))
    return frozenset(names)


async def _replay(run: _Run, exc: BaseException | None, failed_step: int) -> Any:
    """Replay a fast-mode cell from its snapshot with full instrumentation, up to the statement
    where the real run stopped; diagnose the replay."""
    diagnosis, options = run.diagnosis, run.options
    lang = diagnosis.language
    if exc is not None:
        diagnosis.traceback = format_user_traceback(exc)
    device = "cpu" if exc is not None and rerun.is_cuda_specific(exc) else None
    result = await rerun.shadow_run(run.source, run.filename, run.snapshot, run.namespace, options.anomaly,
                                    options.rerun_timeout, device=device,
                                    upto=failed_step if exc is not None else None, shell=run.shell, user=run.user)
    diagnosis.replayed = True
    _replay_notes(diagnosis, result, run.snapshot)
    replay_exc = result.exception
    if result.stopped:
        diagnosis.notes.append(note("replay_stopped", lang, reason=result.stopped))
    if exc is None and replay_exc is None:
        return result.evidence  # a cell that ran to a NaN loss: its findings come from the replay
    if replay_exc is None or exc is not None and type(replay_exc) is not type(exc):
        if not result.stopped:
            diagnosis.notes.append(note("replay_differs", lang))
        if exc is not None:  # diagnose the original failure as well as it can be without instrumentation
            diagnose_error(diagnosis, exc, run.namespace, guards.WarningLog(), options)
        return None
    keep_error = diagnosis.error
    diagnose_error(diagnosis, replay_exc, result.namespace, result.warnings, options, result.evidence)
    if keep_error is not None:
        diagnosis.error = keep_error
    diagnosis.notes.append(note("replayed", lang))
    return result.evidence


# ---------------------------------------------------------------------------- out of memory
def _after_out_of_memory(diagnosis: Diagnosis, source: str, namespace: Mapping[str, Any]) -> None:
    """Name what fills the memory and give cached blocks back, so the user can go on."""
    top = diagnosis.top
    if top is None or top.pitfall != "cuda-oom":
        return
    from . import memory
    from ..knowledge import get_entry

    facts = memory.oom_facts(diagnosis.error.message if diagnosis.error else "", namespace)
    try:
        from .findings import lint_cell

        evals = [f for f in lint_cell(source, namespace) if f.pitfall == "eval-without-no-grad"]
        if evals:
            facts["line"] = evals[0].line
    except Exception:
        pass
    top.facts.update(facts)
    top.detail = memory.best_detail(facts)
    entry = get_entry("cuda-oom")
    for key in ("memory", "big_tensors"):
        if key != top.detail and entry is not None:
            sentence = entry.detail(key, diagnosis.language, top.facts)
            if sentence:
                diagnosis.notes.append(sentence)
    freed = memory.release_cached_memory()
    if freed:
        diagnosis.notes.append(note("memory_freed", diagnosis.language, size=memory.human(freed)))
