"""Colours in the terminal IPython: when they are on, and what they look like."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import torch
from IPython.lib.pretty import pretty

from torchmagic.knowledge import get_entry
from torchmagic.render import EntryView, Report
from torchmagic.render.terminal import AnsiStyle, code_style, colors_enabled, is_terminal_shell

from .cases import INPLACE_CELL, columns, inplace_diagnosis, strip_ansi


@pytest.fixture(scope="module")
def terminal_shell():
    """A real terminal IPython shell (not the process-wide instance), history in memory."""
    from traitlets.config import Config
    from IPython.terminal.interactiveshell import TerminalInteractiveShell

    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    main = sys.modules["__main__"]
    with warnings.catch_warnings():  # a new shell adds a warnings filter and a __main__
        shell = TerminalInteractiveShell(config=config, simple_prompt=True)
    sys.modules["__main__"] = main
    shell.colors = "linux"
    yield shell
    shell.history_manager.end_session()


@pytest.fixture
def no_color_unset(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)


def test_colours_follow_the_shell_kind_and_its_colour_setting(terminal_shell, no_color_unset):
    from IPython.core.interactiveshell import InteractiveShell

    assert is_terminal_shell(terminal_shell)
    assert colors_enabled(terminal_shell)
    kernel_like = InteractiveShell.instance()  # not a terminal: frontends show HTML
    assert not is_terminal_shell(kernel_like) and not colors_enabled(kernel_like)
    terminal_shell.colors = "nocolor"
    try:
        assert not colors_enabled(terminal_shell)
    finally:
        terminal_shell.colors = "linux"


def test_no_color_turns_colours_off(terminal_shell, monkeypatch):
    report = Report(inplace_diagnosis(), shell=terminal_shell)
    monkeypatch.delenv("NO_COLOR", raising=False)
    coloured = pretty(report)
    assert "\x1b[" in coloured
    monkeypatch.setenv("NO_COLOR", "1")
    assert not colors_enabled(terminal_shell)
    plain = pretty(report)
    assert "\x1b" not in plain and plain == strip_ansi(coloured)


def test_terminal_output_has_colours_markers_and_fits(terminal_shell, no_color_unset, monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")
    text = pretty(Report(inplace_diagnosis("zh"), shell=terminal_shell))
    assert "\x1b[38;5;" in text  # pygments' 256-colour code for the linux scheme
    marked = [strip_ansi(line) for line in text.splitlines() if "-->" in strip_ansi(line)]
    assert marked == ["--> 5 | out += 1"]
    assert all(columns(line) <= 100 for line in text.splitlines())
    entry = pretty(EntryView(get_entry("inplace-autograd"), "en", shell=terminal_shell))
    assert "\x1b[" in entry and "What happened" in strip_ansi(entry)


def test_text_takes_the_terminals_width_in_a_terminal_shell_only(terminal_shell, monkeypatch,
                                                                  no_color_unset):
    from IPython.core.interactiveshell import InteractiveShell

    from torchmagic.render.terminal import text_width

    for columns_set, expected in (("80", 80), ("132", 132), ("20", 40)):
        monkeypatch.setenv("COLUMNS", columns_set)
        assert text_width(terminal_shell) == expected
        assert text_width(InteractiveShell.instance()) == 100  # a kernel: its frontend wraps
    monkeypatch.setenv("COLUMNS", "80")
    text = strip_ansi(pretty(Report(inplace_diagnosis("zh"), shell=terminal_shell)))
    # a link longer than the width stays whole (the terminal wraps it and keeps it a link)
    url = "  https://pytorch.org/docs/stable/notes/autograd.html#in-place-operations-with-autograd"
    assert url in text.splitlines()
    widths = [columns(line) for line in text.splitlines() if line != url]
    assert max(widths) <= 80 and max(widths) >= 76
    monkeypatch.setenv("COLUMNS", "140")
    wide = strip_ansi(pretty(Report(inplace_diagnosis(), shell=terminal_shell)))
    assert max(columns(line) for line in wide.splitlines()) > 100


def test_code_style_follows_the_colour_scheme(terminal_shell):
    for scheme, style in (("lightbg", "default"), ("linux", "monokai"), ("neutral", AnsiStyle)):
        terminal_shell.colors = scheme
        assert code_style(terminal_shell) == style
    terminal_shell.colors = "linux"


SCRIPT = f'''
import torch
from torchmagic.diagnosis import Diagnosis, ErrorInfo, Match
from torchmagic.render import show_report
cell = {INPLACE_CELL!r}
try:
    exec(compile(cell, "<cell>", "exec"), {{}})
except RuntimeError as exc:
    show_report(Diagnosis(ok=False, cell=cell, error=ErrorInfo.from_exception(exc), line=5,
                          matches=[Match("inplace-autograd", 0.9)]))
'''


def run_ipython(*args: str, no_color: bool = False) -> str:
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    if no_color:
        env["NO_COLOR"] = "1"
    ipython = Path(sys.executable).with_name("ipython")
    done = subprocess.run([str(ipython), "--no-banner", *args, "-c", SCRIPT], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.slow
def test_real_terminal_ipython_shows_a_coloured_report_unless_no_color():
    coloured = run_ipython("--colors=linux")
    assert "\x1b[" in coloured
    assert "--> 5 | out += 1" in strip_ansi(coloured)
    assert "A tensor that backward needs was changed in place" in strip_ansi(coloured)
    plain = run_ipython("--colors=linux", no_color=True)
    assert "\x1b" not in plain and "--> 5 | out += 1" in plain


def run_in_pseudo_terminal(argv: list[str], width: int = 100, timeout: float = 240) -> str:
    """Run `argv` with a pseudo-terminal of `width` columns as its terminal; its output."""
    import fcntl
    import pty
    import select
    import struct
    import termios
    import time

    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "COLUMNS", "LINES")}
    env["TERM"] = "xterm-256color"
    pid, fd = pty.fork()
    if pid == 0:  # the child: its stdin/stdout/stderr are the terminal
        try:
            os.execve(argv[0], argv, env)
        finally:
            os._exit(127)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 50, width, 0, 0))
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 1.0)
            if not ready:
                continue
            try:
                data = os.read(fd, 65536)
            except OSError:  # the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0
    return b"".join(chunks).decode("utf-8", errors="replace").replace("\r\n", "\n")


@pytest.mark.slow
def test_the_tour_in_a_pseudo_terminal_is_coloured_marked_and_fits_100_columns():
    root = Path(__file__).resolve().parents[2]
    ipython = str(Path(sys.executable).with_name("ipython"))
    out = run_in_pseudo_terminal([ipython, "--no-banner", "--colors=linux", str(root / "demos" / "tour.ipy")])
    plain = strip_ansi(out)
    assert "\x1b[38;5;" in out  # 256-colour code highlighting
    # the line to change, marked in the cell as shown
    assert re.search(r"^--> +\d+ \|         out \+= x$", plain, re.M)  # the in-place op, not backward()
    assert re.search(r"^--> 2 \| labels = stars.long\(\)$", plain, re.M)  # where the labels were made
    if not torch.cuda.is_available():  # the tour's cell written for a GPU
        assert re.search(r"^--> 1 \| device = torch.device\(\"cuda\"\)$", plain, re.M)
    assert "A tensor that backward needs was changed in place" in plain
    assert "Fast mode: this diagnosis comes from replaying the cell" in plain
    assert "索引" in plain  # the report in Chinese
    # everything torchmagic prints fits; IPython's own traceback (automatic mode re-raises the
    # cell's error) is IPython's to lay out
    ours, in_ipython_traceback = [], False
    for line in out.splitlines():
        bare = strip_ansi(line)
        if re.match(r"^\w+\s{5,}Traceback \(most recent call last\)", bare):
            in_ipython_traceback = True
        elif bare.startswith("=" * 20):
            in_ipython_traceback = False
        if not in_ipython_traceback:
            ours.append(line)
    wide = [strip_ansi(line) for line in ours if columns(line) > 100]
    assert not wide, wide[:3]
    assert len(ours) > 300


# ---------------------------------------------------------------- a user's terminal session
SEQUENTIAL_CELL = [
    "%%torchdebug",
    "import torch",
    "from torch import nn",
    "model = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(32, 10))",
    "x = torch.randn(8, 20)",
    "logits = model(x)",
]
WARNING_CELL = [
    "%%torchdebug",
    "import torch.nn.functional as F",
    "for i in range(50):",
    "    loss = F.mse_loss(torch.randn(4, 1), torch.randn(4))",
]


def terminal_session(cells: list[list[str]], width: int, height: int = 50) -> list[str]:
    """Type `cells` into a real terminal IPython (a pseudo-terminal of `width` x `height`),
    each followed by the empty lines that end a cell; what each cell printed, colours
    stripped. The simple prompt keeps the output free of the line editor's redrawing."""
    pexpect = pytest.importorskip("pexpect")
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "COLUMNS", "LINES")}
    env["TERM"] = "xterm-256color"
    ipython = str(Path(sys.executable).with_name("ipython"))
    child = pexpect.spawn(ipython, ["--no-banner", "--simple-prompt", "--colors=linux"],
                          env=env, dimensions=(height, width), encoding="utf-8", timeout=120)
    prompt = r"In \[\d+\]: "
    try:
        child.expect(prompt)
        child.sendline("%load_ext torchmagic")
        child.expect(prompt)
        child.sendline("%config TorchMagic.language = 'en'")
        child.expect(prompt)
        outputs = []
        for cell in cells:
            for line in cell:
                child.sendline(line)
                child.expect_exact(line)  # the terminal's echo of the typed line
            child.sendline("")
            child.sendline("")  # a cell magic's input ends at an empty line after an empty one
            child.expect(prompt)
            printed = strip_ansi(child.before).replace("\r\n", "\n").replace("\r", "")
            lines = printed.strip("\n").splitlines()
            while lines and re.fullmatch(r"\s*\.\.\.: ?", lines[0]):  # the two empty lines typed
                lines.pop(0)
            outputs.append(lines)
        child.sendline("exit")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    return outputs


def rows(lines: list[str], width: int) -> int:
    """Terminal rows the lines take at `width` columns."""
    return sum(max(1, -(-columns(line) // width)) for line in lines)


@pytest.mark.slow
def test_a_pasted_failing_cell_fits_a_110_by_50_terminal_with_one_line_after_the_report():
    first, second, warned = terminal_session([SEQUENTIAL_CELL, SEQUENTIAL_CELL, WARNING_CELL], 110)
    # what the cell printed: the report, then one line instead of IPython's traceback
    assert first[0].startswith("torchmagic: RuntimeError: mat1 and mat2 shapes")
    assert rows(first, 110) <= 50, rows(first, 110)
    assert first[-1] == ("RuntimeError: mat1 and mat2 shapes cannot be multiplied (8x64 and 32x10)"
                         "  ·  %tb shows the full traceback")
    after = "\n".join(first[first.index("Tensors on the failing line"):])
    assert "site-packages" not in after and "Traceback" not in after and "File " not in after
    assert "What happened" in "\n".join(first)
    # the same pitfall again: title, line, fix, and where the rest is
    assert "What happened" not in "\n".join(second) and "Fix" in second
    assert "  Full explanation: %torchdebug explain shape-mismatch" in second
    assert rows(second, 110) < rows(first, 110) - 15
    # a warning raised 50 times by a loop: shown once
    assert sum("UserWarning" in line for line in warned) == 1


@pytest.mark.slow
def test_at_80_columns_every_line_fits_and_words_stay_whole():
    (out,) = terminal_session([SEQUENTIAL_CELL], 80)
    assert all(columns(line) <= 80 for line in out), [x for x in out if columns(x) > 80]
    text = " ".join(line.strip() for line in out)
    for phrase in ("must agree do not", "`nn.LazyLinear(out)` to infer it",
                   "https://pytorch.org/docs/stable/notes/broadcasting.html"):
        assert phrase in text  # words only break where there was a space
    assert "# size copied from another network" in "\n".join(out)  # example comments kept
