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
import types
from contextlib import ExitStack
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable, Mapping

from . import evidence, guards, rerun
from .diagnosis import Diagnosis, ErrorInfo, Location, Rerun, TensorInfo
from .evidence import UserCode
from .findings import collect_findings, warning_patterns
from .locate import cell_frames, error_line, format_user_traceback, forward_trace
from .pitfalls.helpers import suspect_place
from .pitfalls.registry import Context, rank
from .source.cell import is_module, is_tensor
from .source.cellcode import CellCode, parse
from .notes import note

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


def debug_cell(shell: Any, cell: str, options: Options | None = None) -> Outcome:
    """Run `cell` in the shell's namespace under diagnosis; never raises the cell's error."""
    __tracebackhide__ = True
    global _last
    options = options or Options()
    source = python_source(shell, cell)
    number = cell_number(shell)
    filename = _register_source(shell, source, cell, number)
    namespace = shell.user_ns if shell is not None else {}
    diagnosis = Diagnosis(ok=True, cell=source, filename=filename, language=options.language)
    snapshot = _take_snapshot(source, namespace, options, diagnosis)
    exc: BaseException | None = None
    log = guards.WarningLog()
    user = UserCode(shell, cell=filename)
    with ExitStack() as stack:
        log = stack.enter_context(guards.captured_warnings(filename, always=warning_patterns()))
        stack.enter_context(guards.anomaly_mode(options.anomaly and not options.fast, filename))
        found = stack.enter_context(evidence.recording(user, options.record and not options.fast))
        sync = False if options.fast else _cuda_precision(stack, diagnosis)
        if sync:
            stack.enter_context(rerun.synchronising())
        try:
            # executed here, not in a helper: anomaly mode records the whole Python stack for
            # every operation, so each extra frame costs time on every op of the cell
            for code in compile_cell(source, filename, shell, sync=sync):
                exec(code, namespace)
        except Exception as error:  # KeyboardInterrupt and SystemExit go straight to the user
            exc = error
    try:
        if options.fast and snapshot is not None and (exc is not None or _non_finite_loss(source, namespace)):
            _replay(diagnosis, exc, source, namespace, snapshot, options, user)
        elif exc is not None:
            diagnose_error(diagnosis, exc, namespace, log, options, found)
            _after_cuda_error(diagnosis, exc, source, namespace, snapshot, options, user)
        if exc is not None:
            _after_out_of_memory(diagnosis, source, namespace)
        if options.lint:
            diagnosis.findings = collect_findings(source, namespace, log, options.language)
    except Exception as internal:  # torchmagic's own failure: the user's error still shows
        diagnosis.internal_error = f"{type(internal).__name__}: {internal}"
    _last = diagnosis
    return Outcome(diagnosis, exc)


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
    if shell is not None and hasattr(shell, "compile"):
        return shell.compile.cache(source, number, raw_code=raw)
    import linecache

    name = f"<torchdebug-{number}-{abs(hash(source))}>"
    linecache.cache[name] = (len(source), None, source.splitlines(True), name)
    return name


def compile_cell(source: str, filename: str, shell: Any = None, sync: bool = False) -> list[Any]:
    """The cell's code objects: its body, then a trailing expression compiled so that its value
    is shown like in a normal cell. With `sync`, each statement is followed by a sync point
    (see :func:`torchmagic.rerun.sync_point`)."""
    flags = getattr(getattr(shell, "compile", None), "flags", 0)
    try:
        codes = _compiled(source, flags, sync)
    except SyntaxError as error:
        error.filename = filename
        raise
    return [_renamed(code, filename) for code in codes]


@lru_cache(maxsize=32)
def _compiled(source: str, flags: int, sync: bool) -> tuple[Any, ...]:
    # compiled once per text: a rerun only renames the code objects after its own filename
    tree = ast.parse(source)
    if sync:
        tree = rerun.synchronised(tree)
    last = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = ast.Interactive(body=[tree.body.pop()])
    codes = [compile(tree, "<cell>", "exec", flags=flags, dont_inherit=True)]
    if last is not None:
        codes.append(compile(last, "<cell>", "single", flags=flags, dont_inherit=True))
    return tuple(codes)


def _renamed(code: types.CodeType, filename: str) -> types.CodeType:
    """`code` and the functions, classes and comprehensions inside it, as compiled from `filename`."""
    consts = tuple(_renamed(c, filename) if isinstance(c, types.CodeType) else c for c in code.co_consts)
    return code.replace(co_filename=filename, co_consts=consts)


def diagnose_error(diagnosis: Diagnosis, exc: BaseException, namespace: Mapping[str, Any],
                   log: guards.WarningLog, options: Options, found: evidence.Evidence | None = None) -> None:
    """Fill the diagnosis of a failed run: error, line to change, ranked pitfalls, tensors."""
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
    _place(diagnosis, ctx, top)
    diagnosis.tensors = tensors_on_line(ctx, ctx.line)


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
    cause = getattr(top, "cause", None)
    if cause is not None and cause.filename != diagnosis.filename:
        user = ctx.evidence.user
        diagnosis.cause = Location(user.label(cause.filename), cause.filename, cause.line, user.text(cause).strip())
        diagnosis.notes.append(note("cause_elsewhere", diagnosis.language, cell=diagnosis.cause.label,
                                    line=cause.line, code=diagnosis.cause.text, here=diagnosis.line))


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


def _take_snapshot(source: str, namespace: Mapping[str, Any], options: Options, diagnosis: Diagnosis) -> Any:
    """Copy what the cell can reach to host memory, when a CPU rerun may be needed."""
    needed = options.fast or options.rerun == "cpu" or (options.rerun == "auto" and rerun.touches_cuda(source))
    if options.rerun == "off" and not options.fast or not needed:
        return None
    try:
        from .snapshot import names_read_by, take_snapshot

        # the previous run's copies are done with: their memory takes this run's copies
        spare = _last.snapshot.retire() if _last is not None and _last.snapshot is not None else None
        snap = take_snapshot(namespace, names_read_by(source, namespace), options.snapshot_limit, spare=spare)
    except Exception as error:  # no snapshot means no rerun, never a failed cell
        diagnosis.notes.append(note("snapshot_failed", diagnosis.language, error=f"{type(error).__name__}: {error}"))
        return None
    diagnosis.snapshot = snap
    return snap


def _after_cuda_error(diagnosis: Diagnosis, exc: BaseException, source: str, namespace: Mapping[str, Any],
                      snapshot: Any, options: Options, user: UserCode | None = None) -> None:
    """Rerun on the CPU to find what a CUDA error hides; rescue the state if CUDA is lost."""
    lang = diagnosis.language
    cuda_error = rerun.is_cuda_specific(exc)
    missing = rerun.is_missing_cuda(exc)
    if snapshot is not None and (options.rerun == "cpu" or cuda_error or missing):
        result = rerun.cpu_rerun(source, diagnosis.filename, snapshot, namespace, options.anomaly,
                                 options.rerun_timeout, user)
        _attach_rerun(diagnosis, result, root_cause=cuda_error or options.rerun == "cpu")
        if snapshot.left_out:
            diagnosis.notes.append(note("snapshot_left_out", lang, names=", ".join(sorted(snapshot.left_out))))
    if cuda_error and rerun.STICKY.search(str(exc)) and options.context_lost():
        diagnosis.notes.append(note("context_lost", lang))
        if snapshot is not None:
            from .snapshot import save_rescue

            path = save_rescue(snapshot)
            diagnosis.rescue_file = str(path)
            diagnosis.notes.append(note("rescue_saved", lang, path=path))


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
        if isinstance(value, torch.Tensor) and value.dim() == 0 and value.is_floating_point() \
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


def _replay(diagnosis: Diagnosis, exc: BaseException | None, source: str, namespace: Mapping[str, Any],
            snapshot: Any, options: Options, user: UserCode | None = None) -> None:
    """Replay a fast-mode cell from its snapshot with full instrumentation; diagnose the replay."""
    lang = diagnosis.language
    if exc is not None:
        diagnosis.ok = False
        diagnosis.error = ErrorInfo.from_exception(exc)
        diagnosis.traceback = format_user_traceback(exc)
    device = "cpu" if exc is not None and rerun.is_cuda_specific(exc) else None
    result = rerun.shadow_run(source, diagnosis.filename, snapshot, namespace, options.anomaly,
                              options.rerun_timeout, device=device, user=user)
    diagnosis.replayed = True
    if result.output:
        diagnosis.notes.append(note("replay_effects", lang))
    replay_exc = result.exception
    if replay_exc is None or exc is not None and type(replay_exc) is not type(exc):
        diagnosis.notes.append(note("replay_differs", lang))
        if exc is not None:  # diagnose the original failure as well as it can be without instrumentation
            diagnose_error(diagnosis, exc, namespace, guards.WarningLog(), options)
        return
    keep_error = diagnosis.error
    diagnose_error(diagnosis, replay_exc, result.namespace, result.warnings, options, result.evidence)
    if keep_error is not None:
        diagnosis.error = keep_error
    diagnosis.notes.append(note("replayed", lang))


# ---------------------------------------------------------------------------- out of memory
def _after_out_of_memory(diagnosis: Diagnosis, source: str, namespace: Mapping[str, Any]) -> None:
    """Name what fills the memory and give cached blocks back, so the user can go on."""
    top = diagnosis.top
    if top is None or top.pitfall != "cuda-oom":
        return
    from . import memory
    from .knowledge import get_entry

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
