"""Out-of-memory reports: the allocator's figures, the biggest tensors, graphs kept alive."""
from __future__ import annotations

import pytest
import torch

import torchmagic
from torchmagic.diagnose.memory import best_detail, human, oom_facts

# The message torch 2.x raises when CUDA runs out of memory (raised here by the cell itself:
# the type and wording are real, the GPU is not).
OOM = ("CUDA out of memory. Tried to allocate 20.00 GiB. GPU 0 has a total capacity of 79.10 GiB of "
       "which 10.06 GiB is free. Including non-PyTorch memory, this process has 69.03 GiB memory in use. "
       "Of the allocated memory 68.50 GiB is allocated by PyTorch, and 21.39 MiB is reserved by PyTorch "
       "but unallocated.")


def test_figures_are_read_from_the_message():
    facts = oom_facts(OOM, {})
    assert facts["tried"] == "20.00 GiB" and facts["total"] == "79.10 GiB"
    assert facts["free"] == "10.06 GiB" and facts["allocated"] == "68.50 GiB"
    assert facts["reserved"] == "21.39 MiB"
    assert best_detail(facts) == "memory"


def test_biggest_tensors_and_kept_graphs_are_named():
    w = torch.randn(10, requires_grad=True)
    ns = {"big": torch.zeros(1000, 1000), "small": torch.zeros(3), "total_loss": (w * 2).sum()}
    facts = oom_facts(OOM, ns)
    assert facts["tensors"].startswith("`big` (1000, 1000) 3.81 MiB")
    assert facts["name"] == "total_loss" and facts["grad_fn"] == "SumBackward0"
    assert best_detail(facts) == "history"


def test_human_sizes():
    assert human(512) == "512 B" and human(3 * 1024 ** 3) == "3.00 GiB"


def test_oom_in_a_cell_gets_figures_and_history(shell):
    shell.run_cell("import torch\nw = torch.randn(4, requires_grad=True)\ntotal_loss = torch.zeros(())\n")
    cell = (
        "for step in range(3):\n"
        "    total_loss += (w * step).sum()\n"
        f"raise torch.OutOfMemoryError({OOM!r})\n"
    )
    shell.run_cell("%%torchdebug --no-raise\n" + cell)
    d = torchmagic.last_diagnosis()
    assert d.pitfalls[0] == "cuda-oom"
    assert d.top.detail == "history" and d.top.facts["name"] == "total_loss"
    assert any("20.00 GiB" in n for n in d.notes)


@pytest.mark.cuda
def test_real_cuda_oom_names_the_allocation(shell):
    shell.run_cell("import torch\n")
    shell.run_cell("%%torchdebug --no-raise\nx = torch.empty(1 << 50, device='cuda')\n")
    d = torchmagic.last_diagnosis()
    assert d.pitfalls[0] == "cuda-oom" and d.line == 1
    assert "tried" in d.top.facts
