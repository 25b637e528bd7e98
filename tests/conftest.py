"""Shared fixtures: a real IPython shell with torchmagic loaded, case files, and the command line
run as a real process."""
from __future__ import annotations

import atexit
from contextlib import contextmanager
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CELLS = Path(__file__).resolve().parent / "cells"
CLEAN_CELLS = Path(__file__).resolve().parent / "clean_cells"
CORPUS = ROOT.parent / "shared" / "corpus"


def pytest_collection_modifyitems(config, items):
    try:
        import torch

        has_cuda = torch.cuda.is_available()
    except Exception:
        has_cuda = False
    if has_cuda:
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)


@contextmanager
def torch_settings_kept():
    """Puts back torch's global settings that cells change on purpose (anomaly mode, grad
    mode, default dtype, compute threads, cuDNN's benchmark and deterministic flags) when the
    block ends, so tests stay independent."""
    import torch

    saved = (torch.is_anomaly_enabled(), torch.is_anomaly_check_nan_enabled(), torch.is_grad_enabled(),
             torch.get_default_dtype(), torch.get_num_threads(), torch.backends.cudnn.benchmark,
             torch.backends.cudnn.deterministic)
    try:
        yield
    finally:
        torch.autograd.set_detect_anomaly(saved[0], check_nan=saved[1])
        torch.set_grad_enabled(saved[2])
        torch.set_default_dtype(saved[3])
        torch.set_num_threads(saved[4])
        torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic = saved[5], saved[6]


@pytest.fixture
def shell():
    """A fresh InteractiveShell with torchmagic loaded, torn down afterwards.

    Cells run in tests may change torch's global settings on purpose (a setup cell that
    turns on anomaly mode, say); those are put back so tests stay independent.
    """
    import torch
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    with torch_settings_kept():
        config = Config()
        config.HistoryManager.hist_file = ":memory:"
        InteractiveShell.clear_instance()
        ip = InteractiveShell.instance(config=config)
        ip.run_line_magic("load_ext", "torchmagic")
        ip.run_line_magic("config", "TorchMagic.language = 'en'")
        yield ip
        ip.run_line_magic("unload_ext", "torchmagic")
        # Close the shell now rather than at interpreter exit, where hundreds of shells would
        # each run a full namespace reset and garbage collection.
        atexit.unregister(ip.atexit_operations)
        if ip.history_manager is not None:
            ip.history_manager.end_session()
            ip.history_manager.close()
        InteractiveShell.clear_instance()
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()  # a cell's one-process group ends with its test


@pytest.fixture(scope="module")
def plain_shell():
    """A plain IPython shell without the extension, shared by a module: cells run as a user
    would run them. `builtin_names` holds the names the shell starts with."""
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    InteractiveShell.clear_instance()
    ip = InteractiveShell.instance(config=config)
    ip.builtin_names = set(ip.user_ns)
    yield ip
    import torch

    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()  # started by a cell of the module's cases
    atexit.unregister(ip.atexit_operations)
    if ip.history_manager is not None:
        ip.history_manager.end_session()
        ip.history_manager.close()
    InteractiveShell.clear_instance()


@dataclass
class Case:
    """A cell file: expected pitfall and lines, setup cells and the cell to run."""

    path: Path
    pitfall: str
    kind: str
    lines: list[int]
    requires: str = ""
    shape: str = ""  # top / function / setup: where the code at fault sits
    seen: str = ""  # "run": only what the run's hooks and record saw shows it, not the cell's code
    setup: list[str] = field(default_factory=list)
    cell: str = ""

    @property
    def id(self) -> str:
        return self.path.stem


def parse_case(path: Path) -> Case:
    """Read a case file in the acceptance-corpus format."""
    meta: dict[str, str] = {}
    sections: list[tuple[str, list[str]]] = []
    for raw in path.read_text().splitlines():
        m = re.match(r"#\s*%%\s*(setup|cell)\s*$", raw)
        if m:
            sections.append((m.group(1), []))
        elif not sections:
            hm = re.match(r"#\s*(\w+):\s*(.*)$", raw)
            if hm:
                meta[hm.group(1).lower()] = hm.group(2).strip()
        else:
            sections[-1][1].append(raw)
    bodies = [(name, "\n".join(body).strip("\n") + "\n") for name, body in sections]
    return Case(
        path=path,
        pitfall=meta.get("pitfall", "none"),
        kind=meta.get("kind", "error"),
        lines=[int(x) for x in re.split(r"[,\s]+", meta.get("line", "")) if x],
        requires=meta.get("requires", ""),
        shape=meta.get("shape", ""),
        seen=meta.get("seen", ""),
        setup=[b for n, b in bodies if n == "setup"],
        cell=next((b for n, b in bodies if n == "cell"), ""),
    )


def cases_in(folder: Path) -> list[Case]:
    return [parse_case(p) for p in sorted(folder.glob("*.py"))] if folder.is_dir() else []


_FRESH_SHELL = r"""
import json, sys
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config

config = Config()
config.HistoryManager.hist_file = ":memory:"
ip = InteractiveShell.instance(config=config)
ip.run_line_magic("load_ext", "torchmagic")
ip.run_line_magic("config", "TorchMagic.language = 'en'")
import torchmagic

cells = json.load(open(sys.argv[1]))
success = [bool(ip.run_cell(cell).success) for cell in cells]
d = torchmagic.last_diagnosis()
report = {"success": success, "diagnosis": None}
if d is not None:
    report["diagnosis"] = dict(d.to_dict(), notes=list(d.notes), rescue_file=d.rescue_file,
                               internal_error=d.internal_error)
json.dump(report, open(sys.argv[2], "w"))
"""


def run_in_fresh_process(cells: list[str], workdir: Path, timeout: float = 300) -> dict:
    """Run `cells` in a new Python process's IPython shell with torchmagic loaded.

    CUDA errors such as a device-side assert leave the process's CUDA context unusable, so
    tests that cause one run here. Returns {"success": [per cell], "diagnosis": the last
    `%%torchdebug` diagnosis as a dict with notes, rescue_file and internal_error, or None}.
    """
    import json

    cells_file, report_file = workdir / "cells.json", workdir / "report.json"
    cells_file.write_text(json.dumps(cells))
    done = subprocess.run([sys.executable, "-c", _FRESH_SHELL, str(cells_file), str(report_file)],
                          cwd=workdir, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(report_file.read_text())


def environment(**extra: str) -> dict[str, str]:
    """The environment of a command run by a test: this checkout's package first, English
    reports of a fixed width, no colours."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    env.update(COLUMNS="100", NO_COLOR="1", LANG="C.UTF-8", PYTHONUNBUFFERED="1", OMP_NUM_THREADS="1", **extra)
    env.pop("RANK", None)
    env.pop("WORLD_SIZE", None)
    return env


@pytest.fixture
def torchmagic_cli():
    """Run ``python -m torchmagic ARGS`` in a folder; returns the finished process."""

    def run(*args: str, cwd: Path, timeout: float = 120, **env: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "torchmagic", *args], cwd=cwd, env=environment(**env),
                              capture_output=True, text=True, timeout=timeout)

    return run
