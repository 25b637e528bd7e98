"""Run a script as ``__main__`` under the diagnosis of ``%%torchdebug``.

The script is the cell: the engine runs its text, under its own file name, in the namespace of
a fresh ``__main__`` module, with ``sys.argv`` and ``sys.path[0]`` as ``python SCRIPT ARGS``
would set them, and ``sys.modules['__main__']`` pointing at that module (so that pickle finds
the script's functions and classes, and processes started with ``spawn`` import the script
as their ``__main__``, as they do for ``python SCRIPT``). Everything is put back on exit.
"""
from __future__ import annotations

import builtins
import importlib.machinery
import os
import sys
import tokenize
import types
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

#: Folders of a project that hold no code of the user's.
_SKIPPED = {"__pycache__", "node_modules", "site-packages", "dist-packages", "build", "dist"}
_MAX_FILES = 2000


@dataclass
class Finished:
    """How a script run ended: its exit status, the diagnosis and the script's exception."""

    status: int
    diagnosis: object = None  # a torchmagic.diagnosis.Diagnosis, or None (the script exited itself)
    exception: BaseException | None = None


def read_source(path: str) -> str:
    """The script's text, decoded as Python decodes a source file (its coding line, a BOM)."""
    with tokenize.open(path) as handle:
        return handle.read()


def project_files(script: str) -> tuple[str, ...]:
    """The Python files beside the script and below its folder (the user's own modules that it
    imports), as absolute paths; hidden folders, virtual environments and installed packages
    are left out."""
    top = os.path.dirname(os.path.abspath(script))
    found: list[str] = []
    for folder, dirs, files in os.walk(top):
        depth = folder[len(top):].count(os.sep)
        dirs[:] = [d for d in dirs if not d.startswith(".") and d not in _SKIPPED and depth < 3
                   and not os.path.exists(os.path.join(folder, d, "pyvenv.cfg"))]
        found.extend(os.path.join(folder, f) for f in files if f.endswith(".py"))
        if len(found) > _MAX_FILES:
            break
    return tuple(found[:_MAX_FILES])


@contextmanager
def as_main(path: str, args: list[str]) -> Iterator[dict]:
    """A fresh ``__main__`` module for the script at `path` (absolute), installed as Python
    installs a script's; yields its namespace. `sys.argv`, `sys.path` and `sys.modules` are
    put back on exit."""
    module = types.ModuleType("__main__")
    module.__dict__.update(__file__=path, __builtins__=builtins, __spec__=None, __package__=None,
                           __cached__=None, __loader__=importlib.machinery.SourceFileLoader("__main__", path))
    saved_main = sys.modules.get("__main__")
    saved_argv, saved_path = sys.argv, list(sys.path)
    sys.modules["__main__"] = module
    sys.argv = [path, *args]
    folder = os.path.dirname(path)
    if sys.path:
        sys.path[0] = folder
    else:
        sys.path.append(folder)
    try:
        yield module.__dict__
    finally:
        sys.argv = saved_argv
        sys.path[:] = saved_path
        if saved_main is not None:
            sys.modules["__main__"] = saved_main
        else:
            sys.modules.pop("__main__", None)


def uses_distributed(source: str) -> bool:
    """Whether the script may be one process of a distributed job (the launcher says so, or
    its text uses torch.distributed)."""
    if "WORLD_SIZE" in os.environ and "RANK" in os.environ:
        return True
    return any(word in source for word in ("torch.distributed", "init_process_group", "DistributedDataParallel"))


def run(path: str, args: list[str], options: object, source: str | None = None,
        files: tuple[str, ...] | None = None) -> Finished:
    """Run the script under diagnosis (the caller prints); the exit status is the script's.
    `files`: the user's other files (default: :func:`project_files`)."""
    from ..diagnose import engine

    source = read_source(path) if source is None else source
    with as_main(path, args) as namespace:
        script = engine.Script(path, namespace, project_files(path) if files is None else files)
        try:
            outcome = engine.debug_cell(None, source, options, script=script)  # type: ignore[arg-type]
        except SystemExit as done:
            status = _exit_status(done.code)
            return Finished(status, _lint_after_exit(source, namespace, options) if status == 0 else None)
    if outcome.exception is None:
        return Finished(0, outcome.diagnosis)
    return Finished(1, outcome.diagnosis, outcome.exception)


def _exit_status(code: object) -> int:
    """The status `sys.exit(code)` gives: 0 for None, the number, else 1 (the value printed)."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def _lint_after_exit(source: str, namespace: dict, options: object) -> object:
    """The findings of a script that ended with ``sys.exit(0)``: the lint and the audit."""
    from ..diagnosis import Diagnosis, describe
    from ..diagnose.findings import collect_findings
    from ..run.guards import WarningLog

    lang = getattr(options, "language", "en")
    diagnosis = Diagnosis(ok=True, cell=source, filename=namespace.get("__file__", ""), language=lang)
    if getattr(options, "lint", True):
        try:
            diagnosis.findings = collect_findings(source, namespace, WarningLog(), lang)
        except Exception as error:
            diagnosis.internal_error = f"lint: {describe(error)}"
    return diagnosis
