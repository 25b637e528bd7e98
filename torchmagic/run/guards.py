"""Context managers for every global change a diagnosed run makes; each one restores on exit.

Anomaly mode, warnings capture, environment variables and time limits all go through here,
so a cell that fails, succeeds or is interrupted leaves the interpreter as it found it.
"""
from __future__ import annotations

import os
import re
import signal
import sys
import threading
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator

from . import faults

# Warnings that torchmagic reads itself and keeps out of the user's output.
_ANOMALY_TRACE = re.compile(r"^Error detected in \w+\. Traceback of forward call")
_ANOMALY_ENABLED = r"Anomaly Detection has been enabled"


@dataclass
class CapturedWarning:
    """A warning raised while the cell ran, with the cell line that was executing."""

    message: str
    category: str
    cell_line: int | None


@dataclass
class WarningLog:
    """What `captured_warnings` saw: anomaly forward traces and every other warning."""

    anomaly_traces: list[str] = field(default_factory=list)
    warnings: list[CapturedWarning] = field(default_factory=list)


def innermost_line(filename: str, frame=None) -> int | None:
    """The line being executed in the innermost frame of `filename` on the current stack."""
    frame = frame or sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_filename == filename:
            return frame.f_lineno
        frame = frame.f_back
    return None


@contextmanager
def captured_warnings(filename: str, always: tuple[str, ...] = ()) -> Iterator[WarningLog]:
    """Record warnings raised by the cell in `filename`; pass them on to the user as usual.

    Anomaly mode's forward traceback is kept (not printed): torchmagic maps it to the
    cell's lines. Messages matching a regex in `always` are recorded every time, even if
    the user's filters would hide them, because the diagnosis needs them; they are shown
    as the user's filters say (once per location by default), not every time.

    On exit only torchmagic's own filters and hook are taken back: a filter or hook the cell
    itself set (``warnings.simplefilter("error")``) stays, as it would without torchmagic.
    """
    log = WarningLog()
    original = warnings.showwarning
    user_filters = list(warnings.filters)
    forced = [re.compile(pattern, re.I) for pattern in always]
    shown: set[tuple] = set()

    def showwarning(message, category, fname, lineno, file=None, line=None):
        text = str(message)
        if _ANOMALY_TRACE.match(text):
            log.anomaly_traces.append(text)
            return
        log.warnings.append(
            CapturedWarning(text, getattr(category, "__name__", str(category)), innermost_line(filename))
        )
        if any(p.match(text) for p in forced) and \
                not _user_would_see(message, category, fname, lineno, user_filters, shown):
            return
        _pass_on(original, message, category, fname, lineno, file, line)

    faults.check("warnings.enter")
    added = _add_filters([("ignore", _ANOMALY_ENABLED), ("always", r"Error detected in \w+\. Traceback"),
                          *(("always", pattern) for pattern in always)])
    warnings.showwarning = showwarning
    try:
        yield log
    finally:
        if warnings.showwarning is showwarning:
            warnings.showwarning = original
        _remove_filters(added)
        faults.check("warnings.exit")


def _add_filters(entries: list[tuple[str, str]]) -> list[tuple]:
    """Put warning filters in front of the user's; the exact entries, to take back later.

    `warnings.filterwarnings` would first remove an equal filter of the user's: these are
    inserted as they are, so that taking them back leaves the user's filters untouched."""
    added = []
    for action, message in entries:
        entry = (action, re.compile(message, re.I), Warning, None, 0)
        warnings.filters.insert(0, entry)
        added.append(entry)
    warnings._filters_mutated()  # type: ignore[attr-defined]
    return added


def _remove_filters(added: list[tuple]) -> None:
    """Take back filters that `_add_filters` put in, wherever the cell moved them."""
    for entry in added:
        for i, present in enumerate(warnings.filters):
            if present is entry:
                del warnings.filters[i]
                break
    warnings._filters_mutated()  # type: ignore[attr-defined]


def _user_would_see(message, category, fname: str, lineno: int, filters: list, shown: set) -> bool:
    """Whether the user's own warning filters show this warning now, as `warnings.warn_explicit`
    decides it; `shown` holds what was shown already (the registry of "default", "module" and
    "once"). An "error" filter raises the warning, as it would have."""
    text = str(message)
    module = _warning_module(fname, lineno)
    action = warnings.defaultaction
    for act, msg, cat, mod, ln in filters:
        if ((msg is None or msg.match(text)) and issubclass(category, cat)
                and (mod is None or mod.match(module)) and (ln == 0 or ln == lineno)):
            action = act
            break
    if action == "error":
        raise message if isinstance(message, Warning) else category(text)
    if action == "ignore":
        return False
    if action in ("always", "all"):
        return True
    key = {"once": (text, category), "module": (text, category, module)}.get(
        action, (text, category, module, lineno))
    if key in shown:
        return False
    shown.add(key)
    return True


def _warning_module(fname: str, lineno: int) -> str:
    """The module name a warning is attributed to: its frame's `__name__`, as `warnings.warn`
    takes it, or the file name without `.py`."""
    frame = sys._getframe(2)
    while frame is not None:
        if frame.f_code.co_filename == fname and frame.f_lineno == lineno:
            return str(frame.f_globals.get("__name__", fname))
        frame = frame.f_back
    return fname[:-3] if fname.lower().endswith(".py") else fname


def _pass_on(original, message, category, fname, lineno, file, line) -> None:
    """Show a warning the way it would have been shown without torchmagic."""
    impl = getattr(warnings, "_showwarnmsg_impl", None)
    if original is getattr(warnings, "_showwarning_orig", None) and impl is not None:
        # the stdlib default: its implementation may be recording (catch_warnings(record=True))
        impl(warnings.WarningMessage(message, category, fname, lineno, file, line))
    else:
        original(message, category, fname, lineno, file, line)


@contextmanager
def anomaly_mode(enabled: bool = True, cell_filename: str | None = None, check_nan: bool = True) -> Iterator[None]:
    """Autograd anomaly detection with NaN checks (unless `check_nan` is False) for the block.

    On exit anomaly mode is left as the cell would have left it without torchmagic: as it
    was before, unless the cell set it itself (``torch.autograd.set_detect_anomaly(True)``
    stays on). With `cell_filename`, the forward stacks anomaly mode records end at the cell
    (see :func:`stacks_up_to`)."""
    if not enabled:
        yield
        return
    import torch

    faults.check("anomaly.enter")
    ledger = _AnomalyLedger(torch)
    torch.set_anomaly_enabled(True, check_nan)
    try:
        with ledger, stacks_up_to(cell_filename):
            yield
    finally:
        torch.set_anomaly_enabled(*ledger.plain)
        faults.check("anomaly.exit")


class _AnomalyLedger:
    """Follows the anomaly setting the cell would see without torchmagic, while torchmagic
    keeps it on: `plain` starts as the setting before the block and follows every
    `torch.set_anomaly_enabled` call the cell makes (`set_detect_anomaly`, `detect_anomaly`
    and their exits, which put back what was there when they began)."""

    _OWNERS = ("__init__", "__enter__", "__exit__")

    def __init__(self, torch: Any) -> None:
        self.torch = torch
        self.plain = (torch.is_anomaly_enabled(), torch.is_anomaly_check_nan_enabled())
        self._began: dict[int, tuple[bool, bool]] = {}  # id(context manager) -> plain setting then
        self._original: Any = None

    def __enter__(self) -> "_AnomalyLedger":
        self._original = original = self.torch.set_anomaly_enabled
        ledger = self

        def set_anomaly_enabled(enabled: bool, check_nan: bool = True) -> None:
            ledger._saw(sys._getframe(1), (bool(enabled), bool(check_nan)))
            return original(enabled, check_nan)

        self._wrapper = set_anomaly_enabled
        self.torch.set_anomaly_enabled = set_anomaly_enabled
        return self

    def __exit__(self, *exc: object) -> None:
        if self.torch.set_anomaly_enabled is self._wrapper:
            self.torch.set_anomaly_enabled = self._original

    def _saw(self, frame: Any, setting: tuple[bool, bool]) -> None:
        owner = None
        if frame is not None and frame.f_code.co_name in self._OWNERS:
            candidate = frame.f_locals.get("self")
            anomaly = self.torch.autograd.anomaly_mode
            if isinstance(candidate, (anomaly.detect_anomaly, anomaly.set_detect_anomaly)):
                owner = candidate
        if owner is None:
            self.plain = setting
        elif frame.f_code.co_name == "__exit__":
            self.plain = self._began.pop(id(owner), setting)
        else:
            self._began.setdefault(id(owner), self.plain)
            self.plain = setting


@contextmanager
def stacks_up_to(cell_filename: str | None) -> Iterator[None]:
    """Anomaly mode formats the whole Python stack for every forward operation (through
    `torch.fx.traceback.format_stack`), the shell's and torchmagic's frames included. A
    diagnosis reads only the frames from the operation up to the cell, so record just those:
    the cost per operation then no longer grows with how deep the cell runs. Operations run
    outside the cell (another thread, say) keep the whole stack. The diagnosis reads file,
    line and function, so the source lines are not looked up (that costs a `stat` per file
    per operation), and torchmagic's own frames are left out."""
    try:
        import torch.fx.traceback as fx_traceback
    except Exception:
        fx_traceback = None
    original = getattr(fx_traceback, "format_stack", None)
    if cell_filename is None or original is None:
        yield
        return
    own = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the torchmagic package

    def format_stack() -> list[str]:
        if getattr(fx_traceback, "should_preserve_node_meta", False):
            return original()
        lines = []
        frame = sys._getframe(1)
        while frame is not None:
            code = frame.f_code
            if not code.co_filename.startswith(own):
                lines.append(f'  File "{code.co_filename}", line {frame.f_lineno}, in {code.co_name}\n')
            if code.co_name == "<module>" and code.co_filename == cell_filename:
                break
            frame = frame.f_back
        else:
            return original()
        lines.reverse()
        return lines

    fx_traceback.format_stack = format_stack
    try:
        yield
    finally:
        if fx_traceback.format_stack is format_stack:
            fx_traceback.format_stack = original


@contextmanager
def env_var(name: str, value: str | None) -> Iterator[None]:
    """Set (or, with None, leave alone) one environment variable for the block; put back on
    exit unless the block changed it itself."""
    if value is None:
        yield
        return
    had, old = name in os.environ, os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if os.environ.get(name) == value:  # the cell may have set it itself: then it stays
            if had:
                os.environ[name] = old  # type: ignore[assignment]
            else:
                os.environ.pop(name, None)


class TimeLimitExceeded(Exception):
    """Raised inside a block that ran past its time limit."""


@contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Interrupt the block after `seconds` (main thread on Unix only; elsewhere no limit)."""
    usable = (
        seconds
        and seconds > 0
        and hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
    )
    if not usable:
        yield
        return

    def on_alarm(signum, frame):
        raise TimeLimitExceeded(f"stopped after {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextmanager
def settings_restored() -> Iterator[None]:
    """Put back, on exit, the process-wide settings a cell may change: warning filters and
    hook, torch's grad mode, anomaly mode, default dtype and device, threads, determinism,
    backend flags and print options, the environment, the working directory and `sys.path`.

    For runs that are not the user's own (a replay): whatever they change, the user's
    process keeps its settings."""
    saved = _Settings.capture()
    try:
        yield
    finally:
        saved.restore()


@dataclass
class _Settings:
    filters: list[Any]
    showwarning: Any
    environ: dict[str, str]
    cwd: str | None
    path: list[str]
    torch: dict[str, Any]

    @classmethod
    def capture(cls) -> "_Settings":
        try:
            cwd: str | None = os.getcwd()
        except OSError:
            cwd = None
        return cls(list(warnings.filters), warnings.showwarning, dict(os.environ), cwd, list(sys.path),
                   {name: get() for name, (get, _) in _torch_settings().items()})

    def restore(self) -> None:
        if warnings.filters != self.filters:
            warnings.filters[:] = self.filters
            warnings._filters_mutated()  # type: ignore[attr-defined]
        warnings.showwarning = self.showwarning
        if dict(os.environ) != self.environ:
            for name in set(os.environ) - set(self.environ):
                del os.environ[name]
            for name, value in self.environ.items():
                if os.environ.get(name) != value:
                    os.environ[name] = value
        if self.cwd is not None:
            try:
                if os.getcwd() != self.cwd:
                    os.chdir(self.cwd)
            except OSError:
                os.chdir(self.cwd)
        if sys.path != self.path:
            sys.path[:] = self.path
        for name, (get, put) in _torch_settings().items():
            before = self.torch.get(name)
            try:
                if get() != before:
                    put(before)
            except Exception:  # a setting this build cannot change back stays as it is
                pass


def _torch_settings() -> dict[str, tuple[Any, Any]]:
    """Getter and setter of each global torch setting that a cell can change."""
    torch = sys.modules.get("torch")
    if torch is None:
        return {}
    backends = torch.backends

    def attr(owner: Any, name: str) -> tuple[Any, Any]:
        return (lambda: getattr(owner, name)), (lambda value: setattr(owner, name, value))

    def print_options() -> tuple[Any, Any]:
        from torch._tensor_str import PRINT_OPTS

        keys = ("precision", "threshold", "edgeitems", "linewidth", "sci_mode")
        return (lambda: tuple(getattr(PRINT_OPTS, k) for k in keys),
                lambda v: [setattr(PRINT_OPTS, k, x) for k, x in zip(keys, v)])

    settings = {
        "grad": (torch.is_grad_enabled, torch.set_grad_enabled),
        "anomaly": (lambda: (torch.is_anomaly_enabled(), torch.is_anomaly_check_nan_enabled()),
                    lambda v: torch.set_anomaly_enabled(*v)),
        "dtype": (torch.get_default_dtype, torch.set_default_dtype),
        "threads": (torch.get_num_threads, torch.set_num_threads),
        "deterministic": (lambda: (torch.are_deterministic_algorithms_enabled(),
                                   torch.is_deterministic_algorithms_warn_only_enabled()),
                          lambda v: torch.use_deterministic_algorithms(v[0], warn_only=v[1])),
        "matmul_precision": (torch.get_float32_matmul_precision, torch.set_float32_matmul_precision),
        "cudnn.benchmark": attr(backends.cudnn, "benchmark"),
        "cudnn.deterministic": attr(backends.cudnn, "deterministic"),
        "cudnn.enabled": attr(backends.cudnn, "enabled"),
        "print": print_options(),
    }
    context = getattr(torch, "_GLOBAL_DEVICE_CONTEXT", None)
    if context is not None:  # the device torch.set_default_device set (None: none set)
        settings["device"] = (lambda: getattr(getattr(context, "device_context", None), "device", None),
                              torch.set_default_device)
    return settings
