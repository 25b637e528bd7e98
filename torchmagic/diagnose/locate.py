"""Where in the user's code a failure happened: traceback frames and anomaly's forward traces."""
from __future__ import annotations

import linecache
import re
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType, TracebackType
from typing import Container

from ..source.cellcode import CellCode

_PACKAGE_DIR = str(Path(__file__).resolve().parent.parent)  # the torchmagic package
_TRACE_HEAD = re.compile(r"Error detected in (\w+)\. Traceback of forward call")
_TRACE_FRAME = re.compile(r'File "(.*?)", line (\d+), in (.*)')


@dataclass
class CellFrame:
    """One traceback frame that runs the user's code: the diagnosed cell (its top level or a
    function it defines) or an earlier cell (a helper, a class, a Dataset defined there)."""

    frame: FrameType
    line: int
    function: str
    filename: str = ""
    in_cell: bool = True  # the diagnosed cell's own code

    @property
    def code(self) -> CellCode:
        """The parsed source of the file this frame runs."""
        return code_of(self.filename or self.frame.f_code.co_filename)


_codes: dict[str, CellCode] = {}


def code_of(filename: str) -> CellCode:
    """The parsed source of a cell (or script) by its file name, from the line cache."""
    source = "".join(linecache.getlines(filename))
    code = _codes.get(filename)
    if code is None or code.source != source:
        if len(_codes) >= 64:
            _codes.pop(next(iter(_codes)))
        code = _codes[filename] = CellCode(source)
    return code


@dataclass
class ForwardTrace:
    """Anomaly mode's record of the forward call whose backward failed."""

    node: str  # e.g. "SqrtBackward0"
    lines: list[int] = field(default_factory=list)  # the diagnosed cell's lines, outermost first
    sites: list[tuple[str, int]] = field(default_factory=list)  # (file, line) of all user frames

    @property
    def line(self) -> int | None:
        return self.lines[-1] if self.lines else None


def cell_frames(tb: TracebackType | None, filename: str, user: Container[str] = ()) -> list[CellFrame]:
    """The traceback's frames that run the cell's code, and with `user` those of the other
    files it names (earlier cells), outermost first."""
    frames = []
    while tb is not None:
        code = tb.tb_frame.f_code
        if code.co_filename == filename or code.co_filename in user:
            frames.append(CellFrame(tb.tb_frame, tb.tb_lineno, code.co_name, code.co_filename,
                                    code.co_filename == filename))
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


def forward_trace(traces: list[str], filename: str, user: Container[str] = ()) -> ForwardTrace | None:
    """Parse the last anomaly-mode forward traceback, keeping the cell's lines (and the sites
    in the other files of `user`)."""
    for text in reversed(traces):
        head = _TRACE_HEAD.search(text)
        if not head:
            continue
        frames = [(m.group(1), int(m.group(2))) for m in _TRACE_FRAME.finditer(text)]
        lines = [line for name, line in frames if name == filename]
        sites = [(name, line) for name, line in frames if name == filename or name in user]
        return ForwardTrace(node=head.group(1), lines=lines, sites=sites)
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
            if kept and kept[-1].filename.replace("\\", "/").endswith("torch/overrides.py"):
                kept.pop()  # torch handing the call to torchmagic's recording mode
            through_torchmagic = True
        elif not through_torchmagic or fs.name == "<module>":
            through_torchmagic = False
            kept.append(fs)
    parts.stack = traceback.StackSummary.from_list(kept)
    return "".join(parts.format())
