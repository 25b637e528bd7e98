"""The CPU-fallback rerun, on a CPU-only machine: cells written for CUDA, simulated CUDA errors.

The rerun runs in a shadow namespace from the pre-run snapshot; the user's objects must
come out bit for bit as the failed run left them.
"""
from __future__ import annotations

import ast

import pytest
import torch

import torchmagic
from torchmagic.rerun import is_cuda_specific, is_missing_cuda, synchronised, touches_cuda

no_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason="simulates a machine without CUDA")

SETUP = """
import torch, torch.nn as nn, torch.nn.functional as F
torch.manual_seed(0)
model = nn.Linear(4, 3)
x = torch.randn(5, 4)
device = "cpu"

def launch():
    # Stands in for an asynchronous GPU failure that surfaces at a later statement: the
    # first call raises what CUDA would report; later calls (the rerun) go through.
    launch.calls = getattr(launch, "calls", 0) + 1
    if launch.calls == 1:
        raise RuntimeError("CUDA error: device-side assert triggered\\nCUDA kernel errors might be "
                           "asynchronously reported at some other API call")
"""


@pytest.fixture
def ready(shell):
    assert shell.run_cell(SETUP).success
    return shell


def test_cuda_error_classification():
    assert is_cuda_specific(RuntimeError("CUDA error: device-side assert triggered"))
    assert is_cuda_specific(RuntimeError("CUDA error: an illegal memory access was encountered"))
    assert is_cuda_specific(RuntimeError("cuDNN error: CUDNN_STATUS_INTERNAL_ERROR"))
    assert not is_cuda_specific(RuntimeError("mat1 and mat2 shapes cannot be multiplied"))
    assert is_missing_cuda(AssertionError("Torch not compiled with CUDA enabled"))
    assert touches_cuda("x = x.cuda()") and touches_cuda("x.to(device)")


def test_sync_instrumentation_keeps_line_numbers():
    tree = synchronised(ast.parse("a = 1\nfor i in range(2):\n    b = i\ndef f():\n    return 1\n"))
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "attr", "") == "synchronize"]
    assert sorted(c.lineno for c in calls) == [1, 2, 3]  # not inside the function
    compile(tree, "<t>", "exec")


def test_hidden_cause_found_by_the_cpu_rerun(ready):
    before = {k: v.clone() for k, v in ready.user_ns["model"].state_dict().items()}
    cell = (
        "labels = torch.tensor([0, 2, -1, 1, 0])\n"
        "logits = model(x.to(device))\n"
        "launch()\n"
        "loss = F.cross_entropy(logits, labels)\n"
    )
    result = ready.run_cell("%%torchdebug\n" + cell)
    assert not result.success
    d = torchmagic.last_diagnosis()
    assert d.error.type == "RuntimeError" and "device-side assert" in d.error.message
    assert d.pitfalls[0] == "target-out-of-range"
    assert d.line == 1
    assert "device-side-assert" in d.pitfalls
    assert d.rerun is not None and d.rerun.device == "cpu" and d.rerun.ok is False
    assert d.rerun.error.type == "IndexError"
    assert d.to_dict()["rerun"]["line"] == 1
    for k, v in ready.user_ns["model"].state_dict().items():
        assert torch.equal(v, before[k])


def test_rerun_that_succeeds_says_the_problem_is_gpu_specific(ready):
    cell = "y = model(x.to(device))\nlaunch()\n"
    ready.run_cell("%%torchdebug --no-raise\n" + cell)
    d = torchmagic.last_diagnosis()
    assert d.rerun is not None and d.rerun.ok is True
    assert any("specific to the GPU" in n for n in d.notes)


def test_rerun_never_modifies_the_users_objects(ready):
    ready.run_cell("opt = torch.optim.SGD(model.parameters(), lr=0.5)\n")
    before = {k: v.clone() for k, v in ready.user_ns["model"].state_dict().items()}
    cell = (
        "loss = model(x.to(device)).pow(2).mean()\n"
        "loss.backward()\n"
        "launch()\n"
        "opt.step()\n"
    )
    ready.run_cell("%%torchdebug --no-raise\n" + cell)
    d = torchmagic.last_diagnosis()
    assert d.rerun is not None and d.rerun.ok is True  # the rerun stepped its own copy
    for k, v in ready.user_ns["model"].state_dict().items():
        assert torch.equal(v, before[k])


def test_rerun_on_request_for_a_cpu_error(ready):
    ready.run_cell("%%torchdebug --no-raise --rerun cpu\nz = model(torch.randn(2, 7))\n")
    d = torchmagic.last_diagnosis()
    assert d.rerun is not None and d.rerun.ok is False and d.rerun.line == 1


def test_rerun_off_means_no_rerun(ready):
    ready.run_cell("%%torchdebug --no-raise --rerun off\ny = model(x.to(device))\nlaunch()\n")
    assert torchmagic.last_diagnosis().rerun is None


@no_cuda
def test_cell_written_for_cuda_without_a_gpu(ready):
    cell = (
        "dev = torch.device('cuda')\n"
        "net = nn.Linear(4, 2).to(dev)\n"
        "out = net(x.to(dev))\n"
    )
    result = ready.run_cell("%%torchdebug\n" + cell)
    assert not result.success
    d = torchmagic.last_diagnosis()
    assert d.pitfalls[0] == "cuda-not-available"
    assert d.line == 2
    assert d.rerun is not None and d.rerun.ok is True  # the rest of the cell works on the CPU
    assert "net" not in ready.user_ns and "out" not in ready.user_ns


@no_cuda
def test_cell_written_for_cuda_with_a_second_bug(ready):
    cell = (
        "labels = torch.tensor([0, 1, 2, 3, 3])\n"
        "net = nn.Linear(4, 3).cuda()\n"
        "loss = F.cross_entropy(net(x.cuda()), labels.cuda())\n"
    )
    ready.run_cell("%%torchdebug --no-raise\n" + cell)
    d = torchmagic.last_diagnosis()
    assert d.pitfalls[0] == "cuda-not-available"
    assert d.rerun is not None and d.rerun.ok is False
    assert d.rerun.error.type == "IndexError"
    assert "target-out-of-range" in d.rerun.pitfalls and d.rerun.line == 1


def test_restore_magic_loads_a_rescue_file_into_recreated_objects(ready, tmp_path):
    from torchmagic.snapshot import save_rescue, take_snapshot

    ready.run_cell("opt = torch.optim.Adam(model.parameters())\n"
                   "model(x).sum().backward()\nopt.step()\n")
    snap = take_snapshot(ready.user_ns, {"model", "opt"}, 1 << 30)
    path = save_rescue(snap, tmp_path / "rescue.pt")
    saved = {k: v.clone() for k, v in ready.user_ns["model"].state_dict().items()}
    ready.run_cell("model = nn.Linear(4, 3)\nopt = torch.optim.Adam(model.parameters())\n")
    report = ready.run_line_magic("torchdebug", f"restore {path}")
    assert set(report.restored) >= {"model", "opt"}
    for k, v in ready.user_ns["model"].state_dict().items():
        assert torch.equal(v, saved[k])
    assert ready.user_ns["opt"].state_dict()["state"], "optimizer state came back"


def test_restore_without_a_file_is_a_usage_error(ready, tmp_path, monkeypatch):
    from IPython.core.error import UsageError

    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError):
        ready.run_line_magic("torchdebug", "restore")


@pytest.mark.cuda
def test_real_device_side_assert_from_a_negative_label(shell):
    shell.run_cell("import torch, torch.nn as nn, torch.nn.functional as F\n")
    cell = (
        "labels = torch.tensor([0, -1, 1], device='cuda')\n"
        "logits = nn.Linear(4, 3).cuda()(torch.randn(3, 4, device='cuda'))\n"
        "loss = F.cross_entropy(logits, labels)\n"
        "print(loss.item())\n"
    )
    shell.run_cell("%%torchdebug --no-raise\n" + cell)
    d = torchmagic.last_diagnosis()
    assert d.pitfalls[0] == "target-out-of-range" and d.line == 1
    assert d.rerun is not None and d.rerun.device == "cpu"
