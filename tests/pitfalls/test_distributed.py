"""The distributed family: its texts in both languages, and the diagnosis of a hang built from
where each rank waits. Its cell cases run in tests/cells; the real jobs in tests/cli."""
from __future__ import annotations

import os
import string

import pytest

from torchmagic.knowledge import catalog
from torchmagic.pitfalls.distributed import hang_diagnosis

IDS = ["ddp-unused-parameters", "distributed-sampler-epoch", "ddp-batchnorm-not-synced", "checkpoint-every-rank",
       "collective-order-mismatch", "spawn-cell-function"]


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("pid", IDS)
def test_every_entry_speaks_english_and_chinese_with_the_same_placeholders(pid):
    entry = catalog()[pid]
    assert entry.family == "distributed"
    wanted = ["title", "what", "why", "fix"] + (["finding"] if entry.kind == "silent" else [])
    for key in wanted:
        en, zh = entry.texts["en"].get(key, ""), entry.texts["zh"].get(key, "")
        assert en and zh, (pid, key)
        assert any("\u4e00" <= ch <= "\u9fff" for ch in zh), (pid, key)
        assert _fields(en) == _fields(zh), (pid, key)
    assert entry.details["en"].keys() == entry.details["zh"].keys()
    for key, text in entry.details["en"].items():
        assert _fields(text) == _fields(entry.details["zh"][key]), (pid, key)


def _state(op: str, seq: int, line: int, path: str) -> dict:
    return {"collective": {"op": op, "seq": seq, "group": "default", "file": path, "line": line,
                           "function": "<module>", "since": 0.0}, "where": {"file": path, "line": line}}


def test_ranks_waiting_in_different_collectives_make_one_diagnosis_that_names_each(tmp_path):
    path = str(tmp_path / "train.py")
    source = "\n".join(f"line{i}" for i in range(1, 21)) + "\n"
    states = {0: _state("all_reduce", 3, 12, path), 1: _state("barrier", 3, 15, path)}
    d = hang_diagnosis(states, source, path, "en", 5.0, os.path.basename)
    assert d is not None and d.ok is False
    assert d.pitfalls == ["collective-order-mismatch"]
    assert d.line == 12 and d.related_lines == [15]
    assert "rank 0 in `all_reduce` #3 (train.py, line 12)" in d.error.message
    assert "rank 1 in `barrier` #3 (train.py, line 15)" in d.error.message
    assert d.to_dict()["pitfalls"] == ["collective-order-mismatch"]
    zh = hang_diagnosis(states, source, path, "zh", 5.0, os.path.basename)
    assert "第 15 行" in zh.error.message


def test_no_hang_diagnosis_while_a_rank_is_not_in_a_collective(tmp_path):
    path = str(tmp_path / "train.py")
    states = {0: _state("all_reduce", 3, 12, path), 1: {"collective": None, "where": {"file": path, "line": 4}}}
    assert hang_diagnosis(states, "x = 1\n", path, "en", 5.0, os.path.basename) is None


def test_a_lambda_given_to_spawn_is_named_as_one(shell):
    import torchmagic

    shell.run_cell("import torch.multiprocessing as mp")
    shell.run_cell("%%torchdebug --no-raise\nscale = 2\nmp.spawn(lambda rank: print(rank * scale), nprocs=2)\n")
    d = torchmagic.last_diagnosis()
    assert d.pitfalls[0] == "spawn-cell-function" and d.line == 2
    assert d.top.detail == "lambda" and d.top.facts["name"] == "<lambda>"
