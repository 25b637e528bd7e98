"""Generated notebooks, run plainly and under each torchmagic mode, observed the same way.

A notebook is a setup cell and a seeded sequence of cells made of fragments of every kind a
notebook has: passing and failing statements, printing, files written by the cell and by a
library, objects of earlier cells mutated (a list, a tensor, an AttrDict, an instance whose
method appends to a global, a custom autograd Function doing the same, another module's
variable), magics, trailing ``;``, top-level
``await``, settings the cell changes (warnings, anomaly mode, grad mode, the environment),
warnings raised, a NaN loss (fast mode replays a cell that leaves one).

:func:`run_notebook` runs one in a fresh IPython shell with its own working folder and
returns, cell by cell, what a user could observe: the exception type, the cell's own output,
its warnings, the namespace, the files and the process settings. Under torchmagic all of it
must be what plain IPython gives (torchmagic's report goes to IPython's display, apart).
"""
from __future__ import annotations

import atexit
import os
import random
import re
import sys
import types
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

SETUP = """\
import asyncio, os, pathlib, sys, warnings
import torch
import fuzzhelper

class FuzzWarning(UserWarning):
    pass

class AttrDict(dict):
    __getattr__ = dict.__getitem__

class Counter:
    total = 0
    def bump(self):
        bumps.append(len(bumps))
        Counter.total += 1
        return Counter.total

class Twice(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        bumps.append('forward')
        return x * 2
    @staticmethod
    def backward(ctx, grad):
        bumps.append('backward')
        return grad * 2

log = []
bumps = []
w = torch.zeros(3)
cfg = AttrDict(lr=0.5, steps=[1])
counter = Counter()
"""

HELPER = "calls = 0\n\ndef bump():\n    global calls\n    calls += 1\n    return calls\n"

MODES: dict[str, str] = {
    "plain": "",
    "%%torchdebug": "%%torchdebug\n",
    "--fast": "%%torchdebug --fast\n",
    "automatic": "",
}

Fragment = Callable[[random.Random, int], str]

PASSING: list[Fragment] = [
    lambda r, i: f"v{i} = {r.randint(0, 9)} * 2",
    lambda r, i: f"print('P|{i}', len(log), float(w.sum()), len(bumps))",
    lambda r, i: f"log.append({i})",
    lambda r, i: r.choice(["w += 1", "w.mul_(2)", "w[0] = w[1] - 1"]),
    lambda r, i: r.choice(["counter.bump()", f"b{i} = counter.bump()"]),
    lambda r, i: f"cfg['k{i % 3}'] = cfg.lr + {i}",
    lambda r, i: "fuzzhelper.bump()",
    lambda r, i: f"with open('log.txt', 'a') as f:\n    f.write('{i}\\n')",
    lambda r, i: f"open('w{i % 3}.txt', 'w').write('{i}')",
    lambda r, i: f"pathlib.Path('p{i % 2}.txt').write_text('{i}')",
    lambda r, i: f"%time t{i} = {i} + 1",
    lambda r, i: f"%env TM_FUZZ_{i % 2}={i}",
    lambda r, i: r.choice(["await asyncio.sleep(0)", f"r{i} = await asyncio.sleep(0, result={i})"]),
    lambda r, i: r.choice(["warnings.simplefilter('error', FuzzWarning)",
                           "warnings.simplefilter('ignore', FuzzWarning)",
                           "warnings.simplefilter('always', FuzzWarning)"]),
    lambda r, i: f"warnings.warn('fuzz {i}', FuzzWarning)",
    lambda r, i: r.choice(["torch.autograd.set_detect_anomaly(True);", "torch.autograd.set_detect_anomaly(False);"]),
    lambda r, i: r.choice(["torch.set_grad_enabled(False);", "torch.set_grad_enabled(True);"]),
    lambda r, i: f"os.environ['TM_FUZZ_SET'] = '{i}'",
    lambda r, i: "loss = torch.tensor(float('nan'))",
    lambda r, i: f"def helper{i}(x):\n    log.append(x)\n    return x * 2\nh{i} = helper{i}({i})",
    lambda r, i: "Twice.apply(torch.ones(2, requires_grad=True)).sum().backward()",
]

FAILING: list[Fragment] = [
    lambda r, i: f"raise ValueError('f{i}')",
    lambda r, i: "torch.ones(2).view(3)",
    lambda r, i: f"undefined_{i}",
    lambda r, i: "1 / 0",
    lambda r, i: "cfg.missing",
    lambda r, i: "break",  # parses, does not compile: what comes before it runs
    lambda r, i: "x = (",  # does not parse: nothing runs
]

LAST: list[Fragment] = [
    lambda r, i: f"len(log) + {i}",
    lambda r, i: "w.sum().item()",
    lambda r, i: "sorted(cfg)",
]


def generate(seed: int, cells: int) -> list[str]:
    """A notebook's cells after the setup, from `seed`. Fragments are dealt from shuffled
    decks, so that a notebook of a dozen cells has nearly every kind, and a few seeds all."""
    r = random.Random(seed)
    passing: list[Fragment] = []
    failures = 0
    out = []
    for i in range(cells):
        parts = []
        for _ in range(r.randint(1, 4)):
            if not passing:
                passing = r.sample(PASSING, len(PASSING))
            parts.append(passing.pop()(r, i))
        if r.random() < 0.4:
            failing = FAILING[(seed * 3 + failures) % len(FAILING)]
            failures += 1
            text = failing(r, i)
            if text == "break" and any("await" in p for p in parts):
                # plain IPython leaves such a cell's coroutine unfinished, and when the garbage
                # collector ends it, later cells lose their Out[] display: IPython's own flaw
                text = f"raise ValueError('f{i}')"
            parts.insert(r.randint(0, len(parts)), text)
        if r.random() < 0.4:
            last = r.choice(LAST)(r, i)
            parts.append(last + (";" if r.random() < 0.5 else ""))
        out.append("\n".join(parts) + "\n")
    return out


# ---------------------------------------------------------------------------- observing
_OUT = re.compile(r"^Out\[\d+\]:")


def _output_lines(text: str) -> list[str]:
    """The cell's own output: prints, displayed values, magics' lines (timings blanked)."""
    keep = []
    for line in text.splitlines():
        if line.startswith(("P|", "env:")):
            keep.append(line)
        elif _OUT.match(line):
            keep.append(_OUT.sub("Out[]:", line))
        elif line.startswith(("CPU times", "Wall time")):
            keep.append(line.split(":")[0])
    return keep


def _warning_lines(text: str) -> list[str]:
    return [line.split("FuzzWarning: ", 1)[1] for line in text.splitlines() if "FuzzWarning: " in line]


def _value(x: Any, depth: int = 0) -> Any:
    """A comparable picture of a value (tensors by content, objects by class and fields)."""
    import torch

    if depth > 6:
        return "..."
    if isinstance(x, torch.Tensor):
        return ("tensor", repr(x.detach().tolist()), str(x.dtype), x.requires_grad)  # repr: nan == nan
    if isinstance(x, float):
        return repr(x)
    if isinstance(x, (bool, int, str, type(None))):
        return x
    if isinstance(x, dict):
        return (type(x).__name__, sorted((str(k), _value(v, depth + 1)) for k, v in x.items()))
    if isinstance(x, (list, tuple)):
        return (type(x).__name__, [_value(v, depth + 1) for v in x])
    if isinstance(x, types.ModuleType):
        return ("module", x.__name__)
    if isinstance(x, type):
        return ("class", x.__qualname__, sorted((k, _value(v, depth + 1)) for k, v in vars(x).items()
                                                if not k.startswith("__") and not callable(v)))
    if callable(x):
        return ("callable", getattr(x, "__qualname__", type(x).__name__))
    fields = getattr(x, "__dict__", None)
    if isinstance(fields, dict):
        return (type(x).__qualname__, _value(fields, depth + 1))
    return (type(x).__qualname__,)


@dataclass
class Seen:
    """What one cell did, as a user sees it."""

    error: str | None
    output: list[str]
    warnings: list[str]
    namespace: dict[str, Any]
    files: dict[str, bytes]
    settings: dict[str, Any]

    def differences(self, other: "Seen") -> list[str]:
        out = []
        for name in ("error", "output", "warnings", "files", "settings"):
            if getattr(self, name) != getattr(other, name):
                out.append(f"{name}: {getattr(self, name)!r} != {getattr(other, name)!r}")
        mine, theirs = self.namespace, other.namespace
        for key in sorted(set(mine) | set(theirs)):
            if mine.get(key, "<missing>") != theirs.get(key, "<missing>"):
                out.append(f"namespace[{key!r}]: {mine.get(key, '<missing>')!r} != {theirs.get(key, '<missing>')!r}")
        return out


def _settings() -> dict[str, Any]:
    import torch

    fuzz_filters = [f[0] for f in warnings.filters if getattr(f[2], "__name__", "") == "FuzzWarning"]
    return {
        "anomaly": (torch.is_anomaly_enabled(), torch.is_anomaly_check_nan_enabled()),
        "grad": torch.is_grad_enabled(),
        "filters": fuzz_filters,
        "first_filter": warnings.filters[0][0] if warnings.filters else None,
        "filter_count": len(warnings.filters),
        "environ": sorted((k, v) for k, v in os.environ.items() if k.startswith("TM_FUZZ")),
        "fuzzhelper.calls": getattr(sys.modules.get("fuzzhelper"), "calls", None),
    }


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())
            if p.is_file() and p.name != "fuzzhelper.py"}


def _namespace(shell: Any, start: set[str]) -> dict[str, Any]:
    out = {}
    for name, value in shell.user_ns.items():
        if name.startswith("_") or name in start:
            continue
        out[name] = _value(value)
    return out


# ---------------------------------------------------------------------------- running
def _show(message: Any, category: Any, filename: str, lineno: int, file: Any = None, line: Any = None) -> None:
    sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))


def _fresh_shell(load: bool) -> Any:
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    InteractiveShell.clear_instance()
    shell = InteractiveShell.instance(config=config)
    shell.run_line_magic("xmode", "Minimal")
    if load:
        shell.run_line_magic("load_ext", "torchmagic")
        shell.run_line_magic("config", "TorchMagic.language = 'en'")
    return shell


def _close(shell: Any) -> None:
    from IPython.core.interactiveshell import InteractiveShell

    atexit.unregister(shell.atexit_operations)
    if shell.history_manager is not None:
        shell.history_manager.end_session()
        shell.history_manager.close()
    InteractiveShell.clear_instance()


def run_notebook(cells: list[str], mode: str, folder: Path) -> list[Seen]:
    """Run the setup and `cells` in a fresh shell in `folder`, under `mode`; what each cell did.

    Every process-wide thing a cell may change (warnings, torch's flags, the environment, the
    working directory, `sys.path`, the helper module) is put back afterwards."""
    import torch
    from IPython.utils.capture import capture_output

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "fuzzhelper.py").write_text(HELPER)
    saved = (os.getcwd(), list(sys.path), dict(os.environ), torch.is_grad_enabled(),
             (torch.is_anomaly_enabled(), torch.is_anomaly_check_nan_enabled()))
    sys.modules.pop("fuzzhelper", None)
    shell = _fresh_shell(load=mode != "plain")
    seen: list[Seen] = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("default")
            warnings.showwarning = _show  # to sys.stderr, where the capture sees it (not pytest's record)
            os.chdir(folder)
            sys.path.insert(0, str(folder))
            start = set(shell.user_ns)
            assert shell.run_cell(SETUP, store_history=True).success
            if mode == "automatic":
                shell.run_line_magic("torchdebug", "on")
            for cell in cells:
                with capture_output() as captured:
                    result = shell.run_cell(MODES[mode] + cell, store_history=True)
                error = result.error_in_exec or result.error_before_exec
                seen.append(Seen(
                    error=type(error).__name__ if error is not None else None,
                    output=_output_lines(captured.stdout),
                    warnings=_warning_lines(captured.stderr),
                    namespace=_namespace(shell, start),
                    files=_files(folder),
                    settings=_settings(),
                ))
    finally:
        _close(shell)
        os.chdir(saved[0])
        sys.path[:] = saved[1]
        for key in [k for k in os.environ if k not in saved[2]]:
            del os.environ[key]
        os.environ.update(saved[2])
        torch.set_grad_enabled(saved[3])
        torch.autograd.set_detect_anomaly(*saved[4])
        sys.modules.pop("fuzzhelper", None)
    return seen


def compare(seed: int, cells: list[str], root: Path, modes: list[str] | None = None) -> list[str]:
    """Every difference between plain IPython and each mode on the notebook of `seed`."""
    plain = run_notebook(cells, "plain", root / "plain")
    problems = []
    for mode in modes or [m for m in MODES if m != "plain"]:
        other = run_notebook(cells, mode, root / mode.strip("-%"))
        for index, (a, b) in enumerate(zip(plain, other)):
            for difference in a.differences(b):
                problems.append(f"seed {seed}, {mode}, cell {index}:\n{cells[index]}--> {difference}")
                break
            else:
                continue
            break  # the first difference of a notebook says it; later cells inherit it
    return problems
