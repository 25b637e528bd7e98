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


def test_terminal_output_has_colours_markers_and_fits(terminal_shell, no_color_unset):
    text = pretty(Report(inplace_diagnosis("zh"), shell=terminal_shell))
    assert "\x1b[38;5;" in text  # pygments' 256-colour code for the linux scheme
    marked = [strip_ansi(line) for line in text.splitlines() if "-->" in strip_ansi(line)]
    assert marked == ["--> 5 | out += 1"]
    assert all(columns(line) <= 100 for line in text.splitlines())
    entry = pretty(EntryView(get_entry("inplace-autograd"), "en", shell=terminal_shell))
    assert "\x1b[" in entry and "What happened" in strip_ansi(entry)


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
