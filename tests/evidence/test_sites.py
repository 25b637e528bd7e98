"""Which files hold the user's code: cells, scripts, and the modules of the project."""
from __future__ import annotations

import sys
import textwrap

import torch

from torchmagic.diagnose.engine import Options, debug_cell
from torchmagic.evidence.sites import UserCode


def test_a_module_beside_the_notebook_is_the_users_and_installed_code_is_not(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "model.py").write_text("x = 1\n")
    user = UserCode()
    assert str(tmp_path / "model.py") in user
    assert user.label(str(tmp_path / "model.py")) == "model.py"
    assert torch.__file__ not in user
    assert str(tmp_path / "notes.txt") not in user


def test_the_home_directory_is_not_a_project(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "helpers.py").write_text("x = 1\n")
    assert str(tmp_path / "helpers.py") not in UserCode()


def test_a_network_imported_from_the_project_is_followed_to_the_cells_input(shell, tmp_path, monkeypatch):
    (tmp_path / "unet_parts.py").write_text(textwrap.dedent("""
        import torch
        import torch.nn as nn

        class TinyUNet(nn.Module):
            def __init__(self):
                super().__init__()
                self.down = nn.Conv2d(1, 4, 3, padding=1)
                self.pool = nn.MaxPool2d(2)
                self.up = nn.ConvTranspose2d(4, 4, 2, stride=2)

            def forward(self, x):
                skip = self.down(x)
                return torch.cat([skip, self.up(self.pool(skip))], dim=1)
    """))
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("unet_parts", None)
    shell.run_cell("from unet_parts import TinyUNet")
    cell = "side = 33\nnet = TinyUNet()\nout = net(torch.rand(1, 1, side, side))\n"
    shell.run_cell("import torch")
    d = debug_cell(shell, cell, Options()).diagnosis
    assert d.pitfalls[0] == "cat-size-mismatch"
    assert d.line == 1
    sys.modules.pop("unet_parts", None)
