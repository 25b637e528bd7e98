"""Where in the cell a failure happened: traceback frames and anomaly's forward traces."""
from __future__ import annotations

import re
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType, TracebackType

_PACKAGE_DIR = str(Path(__file__).resolve().parent)
_TRACE_HEAD = re.compile(r"Error detected in (\w+)\. Traceback of forward call")
_TRACE_FRAME = re.compile(r'File "(.*?)", line (\d+), in (.*)')


@dataclass
class CellFrame:
    """One traceback frame that runs code of the cell (module level or a cell-defined function)."""

    frame: FrameType
    line: int
    function: str


@dataclass
class ForwardTrace:
    """Anomaly mode's record of the forward call whose backward failed."""

    node: str  # e.g. "SqrtBackward0"
    lines: list[int] = field(default_factory=list)  # cell lines, outermost first

    @property
    def line(self) -> int | None:
        return self.lines[-1] if self.lines else None


def cell_frames(tb: TracebackType | None, filename: str) -> list[CellFrame]:
    """The traceback's frames that belong to the cell, outermost first."""
    frames = []
    while tb is not None:
        code = tb.tb_frame.f_code
        if code.co_filename == filename:
            frames.append(CellFrame(tb.tb_frame, tb.tb_lineno, code.co_name))
        tb = tb.tb_next
    return frames


def error_line(exc: BaseException, filename: str) -> int | None:
    """The cell line the exception came from: the deepest frame of the cell's own code."""
    frames = cell_frames(exc.__traceback__, filename)
    if frames:
        return frames[-1].line
    if isinstance(exc, SyntaxError) and exc.filename == filename:
        return exc.lineno
    return None


def forward_trace(traces: list[str], filename: str) -> ForwardTrace | None:
    """Parse the last anomaly-mode forward traceback, keeping the cell's lines."""
    for text in reversed(traces):
        head = _TRACE_HEAD.search(text)
        if not head:
            continue
        lines = [int(m.group(2)) for m in _TRACE_FRAME.finditer(text) if m.group(1) == filename]
        return ForwardTrace(node=head.group(1), lines=lines)
    return None


def format_user_traceback(exc: BaseException) -> str:
    """The exception's traceback as plain text, without torchmagic's own frames and what
    torchmagic itself called (`ast.parse` of a cell with a syntax error): frames start again
    at the cell's code."""
    parts = traceback.TracebackException.from_exception(exc)
    kept = []
    through_torchmagic = False
    for fs in parts.stack:
        if str(Path(fs.filename).resolve()).startswith(_PACKAGE_DIR):
            through_torchmagic = True
        elif not through_torchmagic or fs.name == "<module>":
            through_torchmagic = False
            kept.append(fs)
    parts.stack = traceback.StackSummary.from_list(kept)
    return "".join(parts.format())
