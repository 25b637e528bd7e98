"""Errors raised in child processes, read back to the line of the user's code that raised them.

A DataLoader worker, a process started by `torch.multiprocessing.spawn` and a worker of a
`ProcessPoolExecutor` (or `multiprocessing.Pool`) send their exception to the parent as text.
The parent raises a new exception whose own traceback ends at its loop or its `join` and
whose message (or `__cause__`) holds the child's traceback:

- DataLoader: ``Caught IndexError in DataLoader worker process 1.`` then
  ``Original Traceback (most recent call last):`` and the worker's frames;
- spawn: ``ProcessRaisedException`` with ``-- Process 1 terminated with the following error:``
  and the process's traceback;
- process pools: the child's exception itself, re-raised, with a ``RemoteTraceback`` as its
  `__cause__` holding the traceback text.

:func:`child_failure` reads that text into frames; :meth:`ChildFailure.innermost` is the
deepest frame in the user's code (the diagnosed cell or script, an earlier cell, a file of
the user's project), which is where the child raised.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Container

if TYPE_CHECKING:
    from ..diagnosis import Diagnosis
    from ..pitfalls.registry import Context

_DATALOADER = re.compile(r"Caught ([\w.]+) in ((?:DataLoader worker process \d+)|(?:pin memory thread[^.\n]*))\.\s*\n"
                         r"Original Traceback \(most recent call last\):\n(.*)", re.DOTALL)
_SPAWN = re.compile(r"-- Process (\d+) terminated with the following error:\n(.*)", re.DOTALL)
_FRAME = re.compile(r'^[ \t]*File "([^"\n]+)", line (\d+), in ([^\n]+)$', re.MULTILINE)
_REMOTE = ("_RemoteTraceback", "RemoteTraceback")
_NAMES = {
    "en": {"dataloader": "DataLoader worker process {n}", "pin_memory": "the DataLoader's pin-memory thread",
           "spawn": "spawned process {n}", "pool": "a worker process of the pool"},
    "zh": {"dataloader": " DataLoader 的 worker 进程 {n} ", "pin_memory": " DataLoader 的 pin memory 线程",
           "spawn": "子进程 {n} ", "pool": "进程池的一个 worker 进程"},
}


@dataclass(frozen=True)
class ChildFrame:
    """One frame of a child process's traceback, as its text names it."""

    filename: str
    line: int
    function: str


@dataclass(frozen=True)
class ChildFailure:
    """An exception a child process raised, as its parent received it."""

    kind: str  # "dataloader", "pin_memory", "spawn" or "pool"
    number: str  # the process's number where the parent gives one ("" otherwise)
    frames: tuple[ChildFrame, ...]  # outermost first
    error: str  # the child's own last line, e.g. "IndexError: index 3 is out of bounds ..."

    def name(self, lang: str = "en") -> str:
        """The process in the report's words: "DataLoader worker process 1", ..."""
        return _NAMES.get(lang, _NAMES["en"])[self.kind].format(n=self.number)

    def innermost(self, user: Container[str]) -> ChildFrame | None:
        """The deepest frame that runs the user's code (a file in `user`), or None."""
        for frame in reversed(self.frames):
            if frame.filename in user:
                return frame
        return None


def child_failure(exc: BaseException) -> ChildFailure | None:
    """The child-process failure that `exc` (or an exception it was raised from) reports, or
    None when it reports none."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen and len(seen) < 6:
        seen.append(current)
        found = _read(current)
        if found is not None:
            return found
        current = current.__cause__ or current.__context__
    return None


def _read(exc: BaseException) -> ChildFailure | None:
    try:
        message = str(exc)
    except Exception:
        return None
    m = _DATALOADER.search(message)
    if m:
        number = re.search(r"\d+$", m.group(2))
        return _failure("dataloader" if number else "pin_memory", number.group(0) if number else "", m.group(3))
    m = _SPAWN.search(message)
    if m:
        return _failure("spawn", m.group(1), m.group(2))
    cause = exc.__cause__
    if cause is not None and type(cause).__name__ in _REMOTE:
        text = getattr(cause, "tb", None) or str(cause)
        if isinstance(text, str):
            return _failure("pool", "", text.strip().strip('"').strip())
    return None


def _failure(kind: str, number: str, text: str) -> ChildFailure | None:
    frames = tuple(ChildFrame(m.group(1), int(m.group(2)), m.group(3).strip()) for m in _FRAME.finditer(text))
    if not frames:
        return None
    lines = [line for line in text.rstrip().splitlines() if line.strip()]
    error = next((line.strip() for line in reversed(lines) if line[:1] not in (" ", "\t")), lines[-1].strip())
    return ChildFailure(kind, number, frames, error)


def annotate(diagnosis: "Diagnosis", ctx: "Context") -> None:
    """Put a diagnosis of a child's failure on the line the child raised at, when the rules
    knew no better place than the parent's line: in the diagnosed cell (or script), that
    line; in an earlier cell or another file of the user's, that place as the cause. The
    parent's line becomes a related one, and a note says which process raised."""
    import linecache

    from ..diagnosis import Location
    from .notes import note

    failure = child_failure(ctx.exc)
    if failure is None:
        return
    lang = diagnosis.language
    user = ctx.evidence.user
    files = _Files(diagnosis.filename, user)
    frame = failure.innermost(files)
    process = failure.name(lang)
    if frame is None:
        diagnosis.notes.append(note("child_process_no_line", lang, process=process, error=failure.error))
        return
    code = linecache.getline(frame.filename, frame.line).strip()
    unplaced = diagnosis.cause is None and diagnosis.line in (None, ctx.line)
    if frame.filename == diagnosis.filename:
        if unplaced:
            diagnosis.line = frame.line
            diagnosis.tensors = []  # the parent's values are not the child's
        if ctx.line is not None and ctx.line != diagnosis.line and ctx.line not in diagnosis.related_lines:
            diagnosis.related_lines = sorted([*diagnosis.related_lines, ctx.line])
        diagnosis.notes.append(note("child_process", lang, process=process, line=frame.line, code=code,
                                    here=ctx.line if ctx.line is not None else "?"))
        return
    label = user.label(frame.filename)
    if unplaced and ctx.line is not None:
        diagnosis.cause = Location(label, frame.filename, frame.line, code)
    diagnosis.notes.append(note("child_process_elsewhere", lang, process=process, file=label, line=frame.line,
                                code=code))


class _Files:
    """The diagnosed file and the user's other files, as one container of file names."""

    def __init__(self, filename: str, user: Container[str]) -> None:
        self.filename, self.user = filename, user

    def __contains__(self, name: object) -> bool:
        return name == self.filename or name in self.user
