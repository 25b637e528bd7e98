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
from typing import Iterator

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
    """
    log = WarningLog()
    with warnings.catch_warnings():  # restores filters and showwarning on exit
        original = warnings.showwarning
        user_filters = list(warnings.filters)
        forced = [re.compile(pattern, re.I) for pattern in always]
        shown: set[tuple] = set()
        warnings.filterwarnings("ignore", message=_ANOMALY_ENABLED)
        warnings.filterwarnings("always", message=r"Error detected in \w+\. Traceback")
        for pattern in always:
            warnings.filterwarnings("always", message=pattern)

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

        warnings.showwarning = showwarning
        yield log


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
def anomaly_mode(enabled: bool = True, cell_filename: str | None = None) -> Iterator[None]:
    """Autograd anomaly detection with NaN checks, restored to its previous state on exit.

    With `cell_filename`, the forward stacks anomaly mode records end at the cell (see
    :func:`stacks_up_to`)."""
    if not enabled:
        yield
        return
    import torch

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_ANOMALY_ENABLED)
        mode = torch.autograd.detect_anomaly(check_nan=True)
    with mode, stacks_up_to(cell_filename):
        yield


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
    own = os.path.dirname(os.path.abspath(__file__))

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
        fx_traceback.format_stack = original


@contextmanager
def env_var(name: str, value: str | None) -> Iterator[None]:
    """Set (or, with None, leave alone) one environment variable for the block."""
    if value is None:
        yield
        return
    had, old = name in os.environ, os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
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
