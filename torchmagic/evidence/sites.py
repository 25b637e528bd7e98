"""Where the user's code is: the notebook's cells (this one and earlier ones), scripts, and the
modules of the project the notebook runs in (a `model.py` beside it, imported or `%run`).

A :class:`Site` is a line of the user's code; :class:`UserCode` tells which code objects are
the user's, so that an operation run deep inside torch can be put down to the line of the
user's code that asked for it (the nearest such frame on the stack).
"""
from __future__ import annotations

import linecache
import os
import sys
from types import CodeType, FrameType
from typing import Any, Iterable, NamedTuple

_TORCH_DIR = "/torch/"
# torch's own wrappers between a user's call and the mode: a call made through them counts as
# made by the user (`F.relu(x)`, `x.add_(1)`), unlike a call made by a layer, an optimizer or
# the data loader
_WRAPPERS = ("torch/overrides.py", "torch/_tensor.py", "torch/functional.py", "torch/nn/functional.py",
             "torch/_jit_internal.py", "torch/utils/_device.py")
_USER, _WRAPPER, _LIBRARY, _OPTIMIZER = 0, 1, 2, 3


class Site(NamedTuple):
    """One line of the user's code: a cell (or script) file, the line in it, the function."""

    filename: str
    line: int
    function: str


_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
# where installed code lives: the interpreter's prefixes and torchmagic itself
_INSTALLED = tuple({os.path.abspath(p) + os.sep for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)} | {_PACKAGE})


def _project_root() -> str:
    """The directory the notebook runs in, when it is a project's (not the filesystem's root
    or the home directory, whose files are anybody's)."""
    try:
        root = os.path.abspath(os.getcwd())
    except OSError:
        return ""
    if root in (os.path.abspath(os.sep), os.path.abspath(os.path.expanduser("~"))):
        return ""
    return root + os.sep


class UserCode:
    """Which files hold the user's code: the cells IPython compiled (it numbers them) and any
    extra files (a script run under torchmagic)."""

    def __init__(self, shell: Any = None, files: Iterable[str] = (), cell: str = ""):
        compiler = getattr(shell, "compile", None)
        self._compiler = compiler
        self._cells: dict[str, int] = getattr(compiler, "_filename_map", None) or {}
        self._files = set(files) | ({cell} if cell else set())
        self._kinds: dict[CodeType, int] = {}
        self._project: dict[str, bool] = {}
        self._root = _project_root()
        self.cell = cell  # the diagnosed cell's file: where a line of the report must lie

    def add(self, filename: str) -> None:
        """Count `filename` as the user's (the cell being diagnosed, when IPython does not know it)."""
        self._files.add(filename)

    def __contains__(self, filename: str) -> bool:
        return filename in self._cells or filename in self._files or self._in_project(filename)

    def _in_project(self, filename: str) -> bool:
        """A Python file of the directory the notebook runs in (not an installed package, not a
        virtual environment inside it, not torchmagic)."""
        found = self._project.get(filename)
        if found is None:
            path = os.path.abspath(filename) if filename.endswith(".py") else ""
            found = bool(self._root) and path.startswith(self._root) and not any(
                path.startswith(p) for p in _INSTALLED) and "-packages" + os.sep not in path
            self._project[filename] = found
        return found

    def label(self, filename: str) -> str:
        """How IPython names the cell (`In[3]`), or the file's name (relative to the project)."""
        number = self._cells.get(filename)
        if number is not None:
            return f"In[{number}]"
        if self._root and os.path.abspath(filename).startswith(self._root):
            return os.path.relpath(filename, self._root)
        return filename

    def earlier_cells(self) -> list[str]:
        """The source of the cells IPython compiled before the diagnosed one, oldest first."""
        cells = sorted((n, f) for f, n in list(self._cells.items()) if f != self.cell)
        return ["".join(linecache.cache.get(f, (0, 0, [], ""))[2]) for _, f in cells]

    def text(self, site: Site) -> str:
        """The source line of a site."""
        return linecache.getline(site.filename, site.line).rstrip("\n")

    def kind(self, code: CodeType) -> int:
        """What a code object is: the user's, one of torch's call wrappers, an optimizer's, or
        other library code (cached per code object: the same few run for every operation)."""
        kind = self._kinds.get(code)
        if kind is None:
            name = code.co_filename.replace("\\", "/")
            if name in self:
                kind = _USER
            elif name.endswith(_WRAPPERS):
                kind = _WRAPPER
            elif _TORCH_DIR in name and "/torch/optim/" in name:
                kind = _OPTIMIZER
            else:
                kind = _LIBRARY
            if kind != _USER:  # a cell's file may become known later: only others are kept
                self._kinds[code] = kind
        return kind

    def caller(self, frame: FrameType | None) -> tuple[FrameType | None, bool, bool]:
        """The nearest user frame at or above `frame`; whether only torch's wrappers stand
        between (the user called the operation directly); whether an optimizer step runs it."""
        direct, optimizer = True, False
        while frame is not None:
            kind = self.kind(frame.f_code)
            if kind == _USER:
                return frame, direct, optimizer
            if kind == _OPTIMIZER:
                optimizer = True
            if kind != _WRAPPER:
                direct = False
            frame = frame.f_back
        return None, False, optimizer

    def cell_line(self, frame: FrameType | None) -> int | None:
        """The line of the diagnosed cell running at or above a user frame: the cell's own
        line through which an earlier cell's helper, class or Dataset was reached."""
        cell = self.cell
        while frame is not None:
            if frame.f_code.co_filename == cell:
                return frame.f_lineno
            frame = frame.f_back
        return None

    def site(self, frame: FrameType | None = None) -> Site | None:
        """The site of the nearest user frame above the caller (or above `frame`)."""
        found, _, _ = self.caller(frame or sys._getframe(1))
        return site_of(found) if found is not None else None


def site_of(frame: FrameType) -> Site:
    return Site(frame.f_code.co_filename, frame.f_lineno, frame.f_code.co_name)
