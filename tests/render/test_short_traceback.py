"""What IPython shows after a report: one line for the reported exception, through IPython's
custom-exception hook, in a real shell; IPython's own traceback for everything else."""
from __future__ import annotations

import re

import sys

import pytest
from IPython.core.error import UsageError
from traitlets import TraitError

from .cases import strip_ansi

SEQUENTIAL = (
    "import torch\nfrom torch import nn\n"
    "model = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(32, 10))\n"
    "x = torch.randn(8, 20)\n"
    "logits = model(x)\n"
)
TORCH_FRAMES = ("torch/nn/modules", "site-packages", "File ", "Traceback (most recent call last)")


def after_report(out: str) -> list[str]:
    """The lines printed after the report (which ends with the table of tensors)."""
    lines = out.rstrip("\n").splitlines()
    end = max(i for i, line in enumerate(lines) if line.startswith("  x      tensor"))
    return lines[end + 1:]


def test_after_the_report_one_line_names_the_exception_and_tb(shell, capsys):
    result = shell.run_cell("%%torchdebug\n" + SEQUENTIAL)
    out = strip_ansi(capsys.readouterr().out)
    assert not result.success and isinstance(result.error_in_exec, RuntimeError)
    assert after_report(out) == [
        "RuntimeError: mat1 and mat2 shapes cannot be multiplied (8x64 and 32x10)  ·  "
        "%tb shows the full traceback"]
    assert not any(frame in out for frame in TORCH_FRAMES)
    # %debug and %tb read these
    assert sys.last_value is result.error_in_exec
    assert sys.last_traceback is result.error_in_exec.__traceback__
    # the hook is IPython's again once the exception is shown
    assert shell.custom_exceptions == ()


def test_tb_shows_the_whole_traceback_afterwards(shell, capsys):
    shell.run_cell("%%torchdebug\n" + SEQUENTIAL)
    capsys.readouterr()
    shell.run_line_magic("tb", "")
    out = strip_ansi(capsys.readouterr().out)
    assert "linear.py" in out and "logits = model(x)" in out
    assert "RuntimeError: mat1 and mat2 shapes cannot be multiplied" in out


def test_traceback_full_brings_back_ipythons_traceback(shell, capsys):
    shell.run_line_magic("config", "TorchMagic.traceback = 'full'")
    result = shell.run_cell("%%torchdebug\n" + SEQUENTIAL)
    out = strip_ansi(capsys.readouterr().out)
    assert not result.success
    assert "linear.py" in out and "%tb shows the full traceback" not in out
    magics = shell.magics_manager.registry["TorchMagic"]
    with pytest.raises(TraitError):
        magics.traceback = "none"


def test_errors_torchmagic_did_not_report_keep_ipythons_traceback(shell, capsys):
    shell.run_cell("import torch\ndef f():\n    return torch.ones(2).view(3)\n")
    result = shell.run_cell("f()")
    out = strip_ansi(capsys.readouterr().out)
    assert not result.success and "Traceback" in out and "%tb shows" not in out
    # a cell that catches the reported error and fails otherwise: IPython's traceback for that
    cell = ("try:\n    get_ipython().run_cell_magic('torchdebug', '', 'import torch\\n"
            "torch.ones(2).view(3)\\n')\nexcept RuntimeError:\n    pass\n"
            "hooked = get_ipython().custom_exceptions\n"
            "raise RuntimeError('my own error')\n")
    result = shell.run_cell(cell)
    out = strip_ansi(capsys.readouterr().out)
    assert RuntimeError in shell.user_ns["hooked"]  # set for the reported one...
    assert "my own error" in out and "Traceback" in out and "%tb shows" not in out
    assert shell.custom_exceptions == ()  # ...and gone when the cell ended


def test_a_users_own_exception_hook_is_kept(shell, capsys):
    seen = []

    def handler(self, etype, value, tb, tb_offset=None):
        seen.append(value)
        print("user handler:", value)

    shell.set_custom_exc((RuntimeError, ValueError), handler)
    try:
        shell.run_cell("%%torchdebug\n" + SEQUENTIAL)
        out = strip_ansi(capsys.readouterr().out)
        assert "%tb shows the full traceback" in out and not seen
        assert shell.custom_exceptions == (RuntimeError, ValueError)
        shell.run_cell("raise ValueError('plain')")
        assert [str(v) for v in seen] == ["plain"]
    finally:
        shell.set_custom_exc((), None)


def test_unload_takes_the_hook_off(shell):
    cell = ("try:\n    get_ipython().run_cell_magic('torchdebug', '', 'import torch\\n"
            "torch.ones(2).view(3)\\n')\nexcept RuntimeError:\n    pass\n"
            "hooked = get_ipython().custom_exceptions\n"
            "get_ipython().run_line_magic('unload_ext', 'torchmagic')\n"
            "unhooked = get_ipython().custom_exceptions\n")
    result = shell.run_cell(cell)
    assert result.success
    assert shell.user_ns["hooked"] and shell.user_ns["unhooked"] == ()
    assert "post_run_cell" in shell.events.callbacks
    assert not any(getattr(cb, "__self__", None).__class__.__name__ == "ShortTraceback"
                   for cb in shell.events.callbacks["post_run_cell"])
    shell.run_line_magic("load_ext", "torchmagic")


def test_no_raise_and_usage_errors_are_untouched(shell, capsys):
    result = shell.run_cell("%%torchdebug --no-raise\n" + SEQUENTIAL)
    assert result.success and shell.custom_exceptions == ()
    result = shell.run_cell("%%torchdebug --bogus\nx = 1\n")
    assert isinstance(result.error_in_exec, UsageError)
    assert shell.custom_exceptions == ()


def test_syntax_error_shows_no_torchmagic_frame(shell, capsys):
    cell = "%%torchdebug\nx = 1\ny = (x +\nprint(y)\n"
    result = shell.run_cell(cell)
    out = strip_ansi(capsys.readouterr().out)
    assert isinstance(result.error_in_exec, SyntaxError)
    # the message is Python's, as IPython compiles the cell ("incomplete input" there)
    assert re.search(r"\nSyntaxError: [^\n]+ \(line \d\)  ·  %tb shows the full traceback", out)
    assert re.search(r"torchmagic: SyntaxError: [^\n]+ \(line \d\)\n", out)  # no file name
    shell.run_line_magic("config", "TorchMagic.traceback = 'full'")
    result = shell.run_cell(cell, store_history=True)
    out = strip_ansi(capsys.readouterr().out)
    assert f"Cell In[{result.execution_count}], line" in out and "SyntaxError" in out
    assert "engine.py" not in out and "magics.py" not in out and "ast.py" not in out


def test_the_line_speaks_the_reports_language(shell, capsys):
    shell.run_cell("%%torchdebug --lang zh\nimport torch\ntorch.ones(2).view(3)\n")
    out = strip_ansi(capsys.readouterr().out)
    assert out.rstrip().splitlines()[-1].endswith("%tb 查看完整的 Traceback")
