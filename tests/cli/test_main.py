"""``python -m torchmagic SCRIPT``: the same diagnosis as ``%%torchdebug``, the script's exit
status, ``--json`` and clear usage errors."""
from __future__ import annotations

import json

import pytest

import torchmagic
from conftest import CORPUS, Case, cases_in

CORPUS_ERRORS = [c for c in cases_in(CORPUS) if c.kind == "error" and c.requires != "cuda"]


def as_script(case: Case, folder) -> tuple[str, int]:
    """The case's setup cells and its cell, one after the other, as one script; and how many
    lines come before the cell."""
    head = "".join(s if s.endswith("\n") else s + "\n" for s in case.setup)
    path = folder / f"{case.id}.py"
    path.write_text(head + case.cell, encoding="utf-8")
    return path.name, head.count("\n")


@pytest.mark.skipif(not CORPUS_ERRORS, reason="the shared corpus is not beside this checkout")
@pytest.mark.parametrize("case", CORPUS_ERRORS, ids=[c.id for c in CORPUS_ERRORS])
def test_a_corpus_error_case_run_as_a_script_gets_the_pitfall_and_line_of_the_cell(
        shell, case, tmp_path, torchmagic_cli):
    for src in case.setup:
        assert shell.run_cell(src).success
    shell.run_cell("%%torchdebug --no-raise\n" + case.cell)
    cell = torchmagic.last_diagnosis().to_dict()
    name, offset = as_script(case, tmp_path)

    done = torchmagic_cli("--lang", "en", "--json", "out.json", name, cwd=tmp_path)
    script = json.loads((tmp_path / "out.json").read_text())

    assert done.returncode == 1, done.stderr
    assert script["ok"] is False and script["exit_status"] == 1
    assert script["pitfalls"][:1] == cell["pitfalls"][:1] == [case.pitfall]
    if cell["cause"] is None:
        assert script["line"] == cell["line"] + offset
    else:  # the cell's line to change was in a setup cell: in the script it is a line of the file
        assert script["line"] in {cell["cause"]["line"], cell["line"] + offset}
    assert f"{name}, line {script['line']}" in done.stderr


def test_the_exit_status_is_the_scripts(tmp_path, torchmagic_cli):
    (tmp_path / "three.py").write_text("import sys\nprint('out')\nsys.exit(3)\n")
    (tmp_path / "fine.py").write_text("import torch\nprint(torch.ones(2).sum().item())\n")
    (tmp_path / "said.py").write_text("import sys\nsys.exit('no data folder')\n")
    three = torchmagic_cli("three.py", cwd=tmp_path)
    assert three.returncode == 3 and three.stdout == "out\n" and three.stderr == ""
    fine = torchmagic_cli("fine.py", cwd=tmp_path)
    assert fine.returncode == 0 and fine.stdout == "2.0\n" and fine.stderr == ""
    said = torchmagic_cli("said.py", cwd=tmp_path)
    assert said.returncode == 1 and said.stderr.strip() == "no data folder"


def test_the_scripts_arguments_and_main_module_are_as_python_gives_them(tmp_path, torchmagic_cli):
    (tmp_path / "helper.py").write_text("VALUE = 7\n")
    (tmp_path / "args.py").write_text(
        "import sys, pickle\nfrom helper import VALUE\n"
        "class Point:\n    pass\n"
        "assert __name__ == '__main__'\n"
        "assert type(pickle.loads(pickle.dumps(Point()))) is Point\n"
        "print(sys.argv[1:], VALUE, __file__.endswith('args.py'))\n")
    done = torchmagic_cli("args.py", "--fast", "-x", "1", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "['--fast', '-x', '1'] 7 True\n"


def test_json_holds_the_diagnosis_of_a_run_with_a_silent_pitfall(tmp_path, torchmagic_cli):
    (tmp_path / "train.py").write_text(
        "import torch\nimport torch.nn as nn\n"
        "model = nn.Linear(3, 1)\nopt = torch.optim.SGD(model.parameters(), lr=0.1)\n"
        "for step in range(3):\n    loss = model(torch.randn(4, 3)).pow(2).mean()\n"
        "    loss.backward()\n    opt.step()\n")
    done = torchmagic_cli("--json", "logs/diagnosis.json", "train.py", cwd=tmp_path)
    data = json.loads((tmp_path / "logs" / "diagnosis.json").read_text())
    assert done.returncode == 0
    assert data["ok"] is True and data["exit_status"] == 0 and data["script"].endswith("train.py")
    assert [f["pitfall"] for f in data["findings"]] == ["grad-accumulation"]
    assert {"error", "line", "pitfalls", "findings", "related_lines"} <= set(data)
    assert "train.py (1)" in done.stderr and "line 7" in done.stderr
    assert "python -m torchmagic --explain grad-accumulation" in done.stderr


def test_the_report_speaks_chinese_with_lang_zh(tmp_path, torchmagic_cli):
    (tmp_path / "bad.py").write_text("import torch\nx = torch.ones(2, 3)\ny = x @ x\n")
    done = torchmagic_cli("--lang", "zh", "bad.py", cwd=tmp_path)
    assert done.returncode == 1
    assert "需要修改的行：bad.py 第 3 行" in done.stderr


@pytest.mark.parametrize("args, words", [
    ([], "the script to run is missing"),
    (["missing.py"], "no such script: missing.py"),
    (["--lang", "fr", "x.py"], "invalid choice: 'fr'"),
    (["--rerun", "gpu", "x.py"], "invalid choice: 'gpu'"),
    (["--hang-timeout", "-1", "x.py"], "--hang-timeout must be 0"),
    (["--explain", "no-such-pitfall"], "unknown pitfall id 'no-such-pitfall'"),
    (["binary.py"], "cannot read binary.py as Python source"),
])
def test_bad_arguments_get_a_usage_error_not_a_traceback(tmp_path, torchmagic_cli, args, words):
    (tmp_path / "x.py").write_text("print(1)\n")
    (tmp_path / "binary.py").write_bytes(b"\xff\xfe\x00\x01 = (\n")
    done = torchmagic_cli(*args, cwd=tmp_path, timeout=60)
    assert done.returncode == 2
    assert "usage: python -m torchmagic" in done.stderr and words in done.stderr
    assert "Traceback" not in done.stderr


def test_explain_and_list_show_the_catalog(tmp_path, torchmagic_cli):
    explained = torchmagic_cli("--lang", "en", "--explain", "distributed-sampler-epoch", cwd=tmp_path)
    assert explained.returncode == 0 and "set_epoch" in explained.stdout
    listed = torchmagic_cli("--lang", "en", "--list", "ddp", cwd=tmp_path)
    assert listed.returncode == 0
    assert "ddp-unused-parameters" in listed.stdout and "ddp-batchnorm-not-synced" in listed.stdout


FAILS_IN_A_LOOP = """\
import torch
import torch.nn as nn

def batches(n):
    for i in range(n):
        labels = torch.tensor([0, 1, 2, 3 + (i == 2)])
        yield torch.randn(4, 6), labels

model = nn.Linear(6, 4)
opt = torch.optim.SGD(model.parameters(), lr=0.1)
for x, y in batches(4):
    opt.zero_grad()
    loss = nn.functional.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
"""


def test_fast_mode_replays_the_script_to_the_same_pitfall_and_line(tmp_path, torchmagic_cli):
    (tmp_path / "loop.py").write_text(FAILS_IN_A_LOOP)
    eager = torchmagic_cli("--json", "eager.json", "loop.py", cwd=tmp_path)
    fast = torchmagic_cli("--fast", "--json", "fast.json", "loop.py", cwd=tmp_path)
    e, f = (json.loads((tmp_path / name).read_text()) for name in ("eager.json", "fast.json"))
    assert eager.returncode == fast.returncode == 1
    assert e["pitfalls"][0] == f["pitfalls"][0] == "target-out-of-range"
    assert (e["line"], e["related_lines"]) == (f["line"], f["related_lines"])
    assert 6 in [e["line"], *e["related_lines"]]  # where the bad label is made
