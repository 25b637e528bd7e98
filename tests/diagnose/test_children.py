"""Errors raised in real child processes (DataLoader workers, ``mp.spawn``, process pools) are
read back to the line of the user's code the child raised at."""
from __future__ import annotations

import json

import torchmagic

WORKERS = """\
import torch
from torch.utils.data import DataLoader, Dataset

class Squares(Dataset):
    def __len__(self):
        return 8
    def __getitem__(self, i):
        if i == 5:
            raise KeyError(f"sample {i} is missing")
        return torch.tensor([float(i)])

loader = DataLoader(Squares(), batch_size=2, num_workers=2, multiprocessing_context="fork")
total = 0.0
for batch in loader:
    total += batch.sum().item()
"""

POOL = """\
from concurrent.futures import ProcessPoolExecutor
import multiprocessing
import torch

def norm_of(n):
    x = torch.ones(n, 3)
    return (x @ torch.ones(4)).norm().item()

with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("fork")) as pool:
    norms = list(pool.map(norm_of, [2, 3]))
"""

SPAWNED = """\
import torch
import torch.multiprocessing as mp


def work(rank, size):
    x = torch.zeros(size)
    if rank == 1:
        x = x.view(size + 1)
    return x


if __name__ == "__main__":
    mp.spawn(work, args=(4,), nprocs=2)
"""


def _diagnose(shell, cell: str) -> dict:
    shell.run_cell("%%torchdebug --no-raise\n" + cell)
    d = torchmagic.last_diagnosis()
    assert d is not None and d.internal_error is None
    return {**d.to_dict(), "notes": list(d.notes)}


def test_a_dataloader_workers_error_marks_the_datasets_line(shell):
    d = _diagnose(shell, WORKERS)
    assert d["error"]["type"] == "KeyError"
    assert d["line"] == 9 and 14 in d["related_lines"]
    assert any("DataLoader worker process" in n and "line 9" in n for n in d["notes"])


def test_a_process_pool_workers_error_marks_the_functions_line(shell):
    d = _diagnose(shell, POOL)
    assert d["error"]["type"] == "RuntimeError"
    assert d["pitfalls"][0] == "shape-mismatch"
    assert d["line"] == 7 and 10 in d["related_lines"]
    assert any("a worker process of the pool" in n for n in d["notes"])


def test_a_spawned_process_error_marks_the_scripts_line(tmp_path, torchmagic_cli):
    (tmp_path / "spawned.py").write_text(SPAWNED)
    done = torchmagic_cli("--lang", "en", "--json", "out.json", "spawned.py", cwd=tmp_path)
    d = json.loads((tmp_path / "out.json").read_text())
    assert done.returncode == 1
    assert d["error"]["type"] == "ProcessRaisedException"
    assert d["line"] == 8 and 13 in d["related_lines"]
    assert "The line to change: spawned.py, line 8" in done.stderr
    assert "spawned process 1" in done.stderr
