"""The CPU-fallback rerun, on a CPU-only machine: cells written for CUDA, simulated CUDA errors.

The rerun runs in a shadow namespace from the pre-run snapshot; the user's objects must
come out bit for bit as the failed run left them.
"""
from __future__ import annotations

import ast

import pytest
import torch

import torchmagic
from conftest import run_in_fresh_process
from torchmagic.knowledge import get_entry
from torchmagic.replay.rerun import is_cuda_specific, is_missing_cuda, synchronised, synchronising, touches_cuda

no_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason="simulates a machine without CUDA")

SETUP = """
import torch, torch.nn as nn, torch.nn.functional as F
torch.manual_seed(0)
model = nn.Linear(4, 3)
x = torch.randn(5, 4)
device = "cpu"

def launch(value=None):
    # Stands in for an asynchronous GPU failure: the first call raises what CUDA would report;
    # later calls (the rerun) hand `value` on, as the CPU would.
    launch.calls = getattr(launch, "calls", 0) + 1
    if launch.calls == 1:
        raise RuntimeError("CUDA error: device-side assert triggered\\nCUDA kernel errors might be "
                           "asynchronously reported at some other API call")
    return value
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


SYNCED_CELL = """a = 1
for i in range(2):
    b = i
def f(t):
    y = t + 1
    return y
class Net:
    def forward(self, t):
        if t:
            t = t * 2
        return t
"""


def _sync_points(tree: ast.AST) -> list[int]:
    return sorted(n.lineno for n in ast.walk(tree)
                  if isinstance(n, ast.Call) and getattr(n.func, "attr", "") == "sync_point")


def test_sync_points_follow_statements_in_loops_functions_and_methods():
    tree = synchronised(ast.parse(SYNCED_CELL))
    # a statement's sync point carries its line, so an error raised there lands on it
    assert _sync_points(tree) == [1, 2, 3, 5, 9, 10]
    compile(tree, "<t>", "exec")


@no_cuda
def test_functions_defined_in_the_cell_sync_only_inside_a_run():
    # torch.cuda.synchronize() raises on a CPU-only build: that shows when a sync point acts
    namespace: dict = {}
    exec(compile(synchronised(ast.parse(SYNCED_CELL)), "<synced>", "exec"), namespace)
    assert namespace["f"](1) == 2 and namespace["Net"]().forward(3) == 6  # later calls: plain
    with synchronising():
        with pytest.raises(AssertionError) as raised:
            namespace["f"](1)
    frames = [tb for tb in _walk(raised.value.__traceback__) if tb.tb_frame.f_code.co_filename == "<synced>"]
    assert frames[-1].tb_lineno == 5  # the statement inside the function, not the call site
    assert namespace["f"](1) == 2  # and off again afterwards


def _walk(tb):
    while tb is not None:
        yield tb
        tb = tb.tb_next


def test_hidden_cause_found_by_the_cpu_rerun(ready):
    before = {k: v.clone() for k, v in ready.user_ns["model"].state_dict().items()}
    cell = (
        "labels = torch.tensor([0, 2, -1, 1, 0])\n"
        "logits = model(x.to(device))\n"
        "loss = F.cross_entropy(launch(logits), labels)\n"
        "print('never reached by the rerun either')\n"
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
    assert d.line == 1 and 2 in d.related_lines  # where the device was fixed; where it was used
    sentence = get_entry("cuda-not-available").detail(d.top.detail, "en", d.top.facts)
    assert sentence.startswith("`dev` is set to `cuda` on line 1")
    assert d.rerun is not None and d.rerun.ok is True  # the failing line works on the CPU
    assert "net" not in ready.user_ns and "out" not in ready.user_ns


@no_cuda
def test_the_cpu_rerun_stops_where_the_cell_written_for_cuda_failed(ready, tmp_path):
    # the rerun replays what the real run ran: a write after the failing line never happens,
    # and neither does a second bug further down (it shows once the cell runs on the CPU)
    written = tmp_path / "after.txt"
    cell = (
        "labels = torch.tensor([0, 1, 2, 3, 3])\n"
        "net = nn.Linear(4, 3).cuda()\n"
        f"open({str(written)!r}, 'w').write('after the failing line')\n"
        "loss = F.cross_entropy(net(x.cuda()), labels.cuda())\n"
    )
    ready.run_cell("%%torchdebug --no-raise\n" + cell)
    d = torchmagic.last_diagnosis()
    assert d.pitfalls[0] == "cuda-not-available"
    assert d.rerun is not None and d.rerun.ok is True  # line 2 runs on the CPU
    assert not written.exists()


@no_cuda
def test_a_one_line_cuda_cell_reruns_that_line_only(ready, tmp_path):
    written = tmp_path / "never.txt"
    ready.run_cell(f"%%torchdebug --no-raise\nx = torch.ones(2).to('cuda')\nopen({str(written)!r}, 'w')\n")
    assert torchmagic.last_diagnosis().rerun.ok is True and not written.exists()


def test_restore_magic_loads_a_rescue_file_into_recreated_objects(ready, tmp_path):
    from torchmagic.replay.rescue import save_rescue
    from torchmagic.replay.snapshot import take_snapshot

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


def test_a_fresh_process_reports_its_diagnosis(tmp_path):
    # the GPU tests below run in processes of their own; the machinery is the same on the CPU
    report = run_in_fresh_process(
        ["import torch", "%%torchdebug --no-raise\nx = torch.ones(2)\ny = x.view(3)\n"], tmp_path)
    assert report["success"] == [True, True]
    d = report["diagnosis"]
    assert d["pitfalls"][0] == "shape-mismatch" and d["line"] == 2 and d["internal_error"] is None


# Real CUDA errors: a device-side assert leaves the process's CUDA context unusable, so each
# of these runs in a process of its own.


@pytest.mark.cuda
def test_real_device_side_assert_from_a_negative_label(tmp_path):
    cell = (
        "labels = torch.tensor([0, -1, 1], device='cuda')\n"
        "logits = nn.Linear(4, 3).cuda()(torch.randn(3, 4, device='cuda'))\n"
        "loss = F.cross_entropy(logits, labels)\n"
        "print(loss.item())\n"
    )
    report = run_in_fresh_process(["import torch, torch.nn as nn, torch.nn.functional as F",
                                   "%%torchdebug --no-raise\n" + cell], tmp_path)
    d = report["diagnosis"]
    assert d["pitfalls"][0] == "target-out-of-range" and d["line"] in (1, 3)
    assert d["rerun"] is not None and d["rerun"]["device"] == "cpu"


@pytest.mark.cuda
def test_real_device_side_assert_from_an_embedding_id(tmp_path):
    cell = (
        "emb = nn.Embedding(100, 8).cuda()\n"
        "ids = torch.tensor([[3, 7, 120]], device='cuda')\n"
        "vectors = emb(ids)\n"
        "print(vectors.sum().item())\n"
    )
    report = run_in_fresh_process(["import torch, torch.nn as nn",
                                   "%%torchdebug --no-raise\n" + cell], tmp_path)
    d = report["diagnosis"]
    assert d["pitfalls"][0] == "index-out-of-bounds"
    assert d["line"] in (2, 3)


@pytest.mark.cuda
def test_asynchronous_error_inside_a_function_defined_in_the_cell(tmp_path):
    cell = (
        "def gather(table, ids):\n"
        "    picked = table[ids]\n"
        "    total = picked.sum()\n"
        "    return total\n"
        "table = torch.randn(10, device='cuda')\n"
        "ids = torch.tensor([1, 2, 50], device='cuda')\n"
        "value = gather(table, ids)\n"
        "print(value.item())\n"
    )
    # CUDA is already running, so the cell gets sync points, the functions it defines included
    report = run_in_fresh_process(["import torch\ntorch.ones(1, device='cuda')",
                                   "%%torchdebug --no-raise\n" + cell], tmp_path)
    d = report["diagnosis"]
    assert d["pitfalls"][0] == "index-out-of-bounds" and d["line"] == 2


TRAINING_SETUP = """
import torch, torch.nn as nn, torch.nn.functional as F
torch.manual_seed(0)
model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3)).cuda()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
inputs = torch.randn(6, 32, 8)
targets = torch.randint(0, 3, (6, 32))
targets[4, 5] = -1                       # one unlabelled sample in the fifth batch
for step in range(2):                    # some training already done
    optimizer.zero_grad()
    F.cross_entropy(model(inputs[step].cuda()), targets[step].cuda()).backward()
    optimizer.step()
torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict()}, "reference.pt")
"""

TRAINING_CELL = """for step in range(6):
    xb, yb = inputs[step].cuda(), targets[step].cuda()
    loss = F.cross_entropy(model(xb), yb)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    print(step, loss.item())
"""

RESTORE_CHECK = """
reference = torch.load("reference.pt")
def same(a, b):
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if torch.is_tensor(a):
        return a.device == b.device and a.dtype == b.dtype and torch.equal(a, b)
    return a == b
assert same(model.state_dict(), reference["model"])
assert same(optimizer.state_dict(), reference["optimizer"])
"""


@pytest.mark.cuda
def test_device_side_assert_in_a_training_loop_is_rescued_bit_for_bit(tmp_path):
    report = run_in_fresh_process([TRAINING_SETUP, "%%torchdebug --no-raise\n" + TRAINING_CELL], tmp_path)
    assert report["success"][0]
    d = report["diagnosis"]
    assert d["pitfalls"][0] == "target-out-of-range" and d["line"] in (2, 3)
    assert "CUDA error" in d["error"]["message"]
    assert any("restart" in n.lower() for n in d["notes"]), d["notes"]
    assert d["rescue_file"]
    # after the restart: the definition cells again, then the restore
    redefine = ("import torch, torch.nn as nn\n"
                "model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3)).cuda()\n"
                "optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)\n")
    restored = run_in_fresh_process([redefine, f"%torchdebug restore {d['rescue_file']}", RESTORE_CHECK], tmp_path)
    assert restored["success"] == [True, True, True]


def test_lost_cuda_context_mid_training_saves_a_rescue_that_restores_bit_for_bit(ready, tmp_path, monkeypatch):
    # The process's CUDA context cannot be broken on a CPU-only machine: the engine is told it
    # is lost through its own seam, and launch() raises what a device-side assert reports.
    from torchmagic.diagnose.engine import Options, debug_cell

    monkeypatch.chdir(tmp_path)  # the rescue file goes to ./torchmagic-rescue/
    assert ready.run_cell(
        "labels = torch.tensor([0, 2, 1, 1, 0])\n"
        "opt = torch.optim.Adam(model.parameters(), lr=0.1)\n"
        "F.cross_entropy(model(x), labels).backward()\nopt.step()\n"
        "reference = {'model': {k: v.clone() for k, v in model.state_dict().items()},\n"
        "             'opt': opt.state_dict()['state'][0]['exp_avg'].clone()}\n").success
    cell = (
        "for step in range(3):\n"
        "    batch_labels = labels.clone()\n"
        "    if step == 1:\n"
        "        batch_labels[2] = -1\n"
        "    logits = model(x.to(device))\n"
        "    launch()\n"
        "    loss = F.cross_entropy(logits, batch_labels)\n"
        "    opt.zero_grad()\n"
        "    loss.backward()\n"
        "    opt.step()\n"
    )
    outcome = debug_cell(ready, cell, Options(context_lost=lambda: True))
    d = outcome.diagnosis
    assert "device-side assert" in d.error.message
    # the CPU rerun finds the cause: the -1 written into the labels, used by the loss on line 7
    assert d.pitfalls[0] == "target-out-of-range" and d.line == 4 and 7 in d.related_lines
    assert any("restart the kernel" in n for n in d.notes)
    assert d.rescue_file and any(d.rescue_file in n for n in d.notes)
    # after the restart: the definitions again, then %torchdebug restore
    reference = ready.user_ns["reference"]
    ready.run_cell("model = nn.Linear(4, 3)\nopt = torch.optim.Adam(model.parameters(), lr=0.1)\n")
    ready.run_line_magic("torchdebug", f"restore {d.rescue_file}")
    for k, v in ready.user_ns["model"].state_dict().items():
        assert torch.equal(v, reference["model"][k])
    assert torch.equal(ready.user_ns["opt"].state_dict()["state"][0]["exp_avg"], reference["opt"])
