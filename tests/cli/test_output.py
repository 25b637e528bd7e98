"""What the command line prints when torchmagic itself fails: the script's own error, as
Python shows it, and one line saying what failed. And where each rank's JSON goes."""
from __future__ import annotations

import pytest

from torchmagic.run import faults
from torchmagic.cli import main
from torchmagic.cli.output import json_path

SCRIPT = "import torch\nx = torch.ones(2, 3)\ny = x @ x\n"


@pytest.mark.parametrize("stage, words", [
    ("render", "torchmagic could not show its report: InjectedFault: injected failure in render"),
    ("diagnosis", "torchmagic could not diagnose this script"),
])
def test_a_failing_stage_leaves_the_scripts_own_error_and_one_line(tmp_path, capsys, monkeypatch, stage, words):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.py").write_text(SCRIPT)
    with faults.injected(stage):
        status = main(["--lang", "en", "bad.py"])
    err = capsys.readouterr().err
    assert status == 1
    assert 'bad.py", line 3, in <module>' in err and "RuntimeError: mat1 and mat2 shapes cannot be multiplied" in err
    assert words in err
    assert "[shape-mismatch]" not in err


def test_each_rank_writes_its_own_json_file():
    assert str(json_path("out.json", None, 1)) == "out.json"
    assert str(json_path("out.json", 0, 1)) == "out.json"
    assert str(json_path("logs/out.json", 3, 8)) == "logs/out.rank3.json"
    assert str(json_path("logs/{rank}.json", 3, 8)) == "logs/3.json"
    assert str(json_path("out", 1, 2)) == "out.rank1.json"
