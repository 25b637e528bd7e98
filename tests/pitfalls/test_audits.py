"""The runtime audit of the namespace after a cell ran, in a real IPython shell."""
from __future__ import annotations

import pytest

from torchmagic.diagnose.findings import audit_namespace, findings_from_hits
from torchmagic.pitfalls import registry
from torchmagic.pitfalls.registry import Hit


@pytest.fixture(scope="module")
def ip(plain_shell):
    return plain_shell


def run(ip, setup: str, cell: str) -> tuple[dict, list[tuple[str, int]]]:
    for name in set(ip.user_ns) - ip.builtin_names:  # a fresh namespace, quicker than reset()
        del ip.user_ns[name]
    for src in (setup, cell):
        result = ip.run_cell(src, store_history=False)
        assert result.success, result.error_in_exec
    found = audit_namespace(ip.user_ns, cell)
    assert all(f.source == "audit" and f.message for f in found)
    return ip.user_ns, [(f.pitfall, f.line) for f in found]


SETUP = """
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(0)
x, y = torch.randn(16, 8), torch.randint(0, 3, (16,))

class Tower(nn.Module):
    def __init__(self, depth=2):
        super().__init__()
        self.blocks = [nn.Linear(8, 8) for _ in range(depth)]
        self.out = nn.Linear(8, 3)

    def forward(self, x):
        for b in self.blocks:
            x = torch.relu(b(x))
        return self.out(x)
"""


def test_list_of_layers_in_a_class_from_an_earlier_cell(ip):
    cell = "tower = Tower()\nprint(tower(x).shape)\n"
    _, found = run(ip, SETUP, cell)
    assert found == [("unregistered-submodule", 1)]


def test_nested_module_with_a_plain_list_is_found(ip):
    cell = "model = nn.Sequential(nn.Linear(8, 8), Tower())\nprint(model(x).shape)\n"
    _, found = run(ip, SETUP, cell)
    assert found == [("unregistered-submodule", 1)]


def test_references_kept_on_purpose_are_not_reported(ip):
    cell = (
        "teacher = nn.Linear(8, 3)\n"
        "class Student(nn.Module):\n"
        "    def __init__(self, teacher):\n"
        "        super().__init__()\n"
        "        self.fc = nn.Linear(8, 3)\n"
        "        self.teacher_ref = [teacher]\n"
        "        self.sizes = [8, 3]\n"
        "student = Student(teacher)\n"
    )
    _, found = run(ip, SETUP, cell)
    assert found == []


def test_optimizer_built_before_the_head_was_replaced(ip):
    cell = (
        "model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 10))\n"
        "optimizer = torch.optim.SGD(model.parameters(), lr=0.1)\n"
        "model[2] = nn.Linear(16, 3)\n"
        "for step in range(2):\n"
        "    optimizer.zero_grad()\n"
        "    F.cross_entropy(model(x), y).backward()\n"
        "    optimizer.step()\n"
    )
    _, found = run(ip, SETUP, cell)
    assert found == [("optimizer-device", 3)]


def test_optimizer_built_after_the_change_is_fine(ip):
    cell = (
        "model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 10))\n"
        "model[2] = nn.Linear(16, 3)\n"
        "optimizer = torch.optim.SGD(model.parameters(), lr=0.1)\n"
        "for step in range(2):\n"
        "    optimizer.zero_grad()\n"
        "    F.cross_entropy(model(x), y).backward()\n"
        "    optimizer.step()\n"
    )
    assert run(ip, SETUP, cell)[1] == []


FROZEN = (
    "backbone = nn.Sequential(nn.Linear(8, 8), nn.BatchNorm1d(8), nn.ReLU())\n"
    "model = nn.Sequential(backbone, nn.Linear(8, 3))\n"
    "backbone.requires_grad_(False)\n"
    "opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)\n"
    "model.train()\n"
    "{fix}"
    "for step in range(2):\n"
    "    loss = F.cross_entropy(model(x), y)\n"
    "    opt.zero_grad()\n"
    "    loss.backward()\n"
    "    opt.step()\n"
)


def test_frozen_batchnorm_still_updating(ip):
    _, found = run(ip, SETUP, FROZEN.format(fix=""))
    assert found == [("bn-running-stats", 5)]  # the model.train() that put its BatchNorm back in training mode


def test_frozen_batchnorm_in_eval_mode_is_fine(ip):
    _, found = run(ip, SETUP, FROZEN.format(fix="backbone.eval()\n"))
    assert found == []


def test_ignore_comment_and_crashing_rule(ip, monkeypatch):
    cell = "tower = Tower()  # torchmagic: ignore[unregistered-submodule]\n"
    assert run(ip, SETUP, cell)[1] == []

    def broken(cell):
        raise ValueError("rule bug")

    monkeypatch.setattr(registry, "_audits", [broken] + registry.audits())
    assert run(ip, SETUP, "tower = Tower()\n")[1] == [("unregistered-submodule", 1)]


def test_no_namespace_or_bad_source(ip):
    assert audit_namespace(None, "x = 1\n") == []
    assert audit_namespace({}, "def (:\n") == []


def test_audit_reads_without_changing(ip):
    ns, _ = run(ip, SETUP, "tower = Tower()\n")
    tower = ns["tower"]
    before = (list(vars(tower)), [m.training for m in tower.modules()], dict(ns))
    audit_namespace(ns, "tower = Tower()\n")
    assert list(vars(tower)) == before[0] and [m.training for m in tower.modules()] == before[1]
    assert all(ns[k] is v for k, v in before[2].items()) and ns.keys() == before[2].keys()


def test_hits_keep_the_audit_origin():
    found = findings_from_hits([Hit("bn-running-stats", 1, "m")], "m(x)\n", "en", "audit")
    assert found[0].source == "audit" and "`m`" in found[0].message
