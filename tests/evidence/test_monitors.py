"""What the monitors see through PyTorch's hooks, on real models and optimizers."""
from __future__ import annotations

import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

from torchmagic.evidence import UserCode, recording

HERE = __file__


def test_forwards_by_the_users_code_with_their_modes_and_counts():
    model = nn.Sequential(nn.Linear(3, 4), nn.Dropout(0.5), nn.Linear(4, 1))
    with recording(UserCode(cell=HERE)) as found:
        line = sys._getframe().f_lineno + 2
        for _ in range(3):
            model(torch.randn(2, 3))
        model.eval()
        with torch.no_grad():
            model(torch.randn(2, 3))
    kinds = [(f.layer is model, f.training, f.grad_enabled, f.count) for f in found.forwards]
    assert kinds == [(True, True, True, 3), (True, False, False, 1)]  # the inner layers are not listed
    assert found.forwards[0].site.line == line


def test_steps_know_whether_the_gradients_were_reset():
    def run(reset):
        model = nn.Linear(3, 1)
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        with recording(UserCode(cell=HERE)) as found:
            for _ in range(3):
                if reset is not None:
                    opt.zero_grad(set_to_none=reset)
                model(torch.randn(2, 3)).sum().backward()
                opt.step()
        return [s.reset for s in found.steps[1:]]

    assert run(True) == [True, True]
    assert run(False) == [True, True]  # zeroed in place
    assert run(None) == [False, False]  # never reset: they add up


def test_losses_given_a_target_with_history_or_a_softmax():
    model = nn.Linear(3, 4)
    with recording(UserCode(cell=HERE)) as found:
        x, y = torch.randn(5, 3), torch.randint(0, 4, (5,))
        line = sys._getframe().f_lineno + 1
        F.cross_entropy(torch.softmax(model(x), dim=1), y)
        F.mse_loss(model(x), model(x))
    kinds = {o.kind: o for o in found.observations}
    assert kinds["softmax-into-loss"].site.line == line
    assert kinds["target-requires-grad"].site.line == line + 1


def test_a_model_made_on_the_fly_is_held_only_while_the_evidence_lives():
    import gc
    import weakref

    def train(model):
        model(torch.randn(2, 3)).sum().backward()
        return weakref.ref(model)

    with recording(UserCode(cell=HERE)) as found:
        ref = train(nn.Linear(3, 1))
    held = found.forwards[0].layer is ref()
    del found
    gc.collect()
    gone = ref() is None
    assert held and gone


class _Block(nn.Module):
    def __init__(self, bias):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, bias=bias)
        self.norm = nn.BatchNorm2d(4)

    def forward(self, x):
        return torch.relu(self.norm(self.conv(x)))


def test_a_biased_convolution_feeding_batchnorm_inside_a_forward():
    def pairs(bias):
        block = _Block(bias)
        with recording(UserCode(cell=HERE)) as found:
            block(torch.randn(2, 3, 6, 6))
        return [(c() is block.conv, n() is block.norm) for c, n in found.monitors.conv_then_norm]

    assert pairs(True) == [(True, True)]
    assert pairs(False) == []


def test_models_run_from_other_threads():
    import threading

    model = nn.Linear(3, 1)
    together = threading.Barrier(3)  # all alive at once (a finished thread's id may be reused)

    def work():
        together.wait()
        model(torch.randn(2, 3))
        together.wait()

    with recording(UserCode(cell=HERE)) as found:
        workers = [threading.Thread(target=work) for _ in range(3)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        model(torch.randn(2, 3))
    assert len(found.monitors.threads) == 3


def test_draws_from_the_global_random_generators():
    import random

    import numpy as np

    with recording(UserCode(cell=HERE)) as found:
        np.random.permutation(5)
        random.Random(0).random()  # a generator of its own: not the global one
        torch.Generator().manual_seed(0)
    assert found.monitors.drew == {"random": False, "torch": False, "numpy": True}


def test_seeding_torch_during_the_run_is_seen():
    with recording(UserCode(cell=HERE)) as found:
        torch.manual_seed(torch.initial_seed() + 1)
        torch.randn(2)
    assert found.monitors.seeded_torch and found.monitors.drew["torch"]
    with recording(UserCode(cell=HERE)) as found:
        torch.randn(2)
    assert not found.monitors.seeded_torch and found.monitors.drew["torch"]


def test_a_detached_view_of_a_parameter_held_across_a_step_and_read_after_it():
    def stale(copy):
        model = nn.Linear(3, 1)
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        with recording(UserCode(cell=HERE)) as found:
            line = sys._getframe().f_lineno + 1
            before = model.weight.detach().clone() if copy else model.weight.detach()
            model(torch.randn(2, 3)).sum().backward()
            opt.step()
            model.weight.detach().norm()  # a view that dies at once: not kept
            opt.step()
            (model.weight - before).norm()  # read after the steps changed it
        assert before.shape == (1, 3)
        return [(r.op, r.site.line) for r in found.monitors.stale], line

    records, line = stale(copy=False)
    assert records == [("detach", line)]
    assert stale(copy=True)[0] == []


def test_a_view_held_across_a_step_but_never_read_again_is_not_stale():
    model = nn.Linear(3, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with recording(UserCode(cell=HERE)) as found:
        checkpoint = {"model": model.state_dict()}  # saved, say, and replaced next epoch
        model(torch.randn(2, 3)).sum().backward()
        opt.step()
    assert len(checkpoint["model"]) == 2
    assert found.monitors.stale == [] and len(found.monitors.pending) == 2


def test_a_running_total_that_holds_the_stepped_losses_graphs():
    def kept(item):
        model = nn.Linear(3, 1)
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        with recording(UserCode(cell=HERE)) as found:
            total = 0.0
            for _ in range(3):
                opt.zero_grad()
                loss = model(torch.randn(4, 3)).pow(2).mean()
                loss.backward()
                opt.step()
                line = sys._getframe().f_lineno + 1
                total = total + (loss.item() if item else loss)
        return [r.site.line for r in found.monitors.kept], line

    lines, line = kept(item=False)
    assert lines == [line]
    assert kept(item=True)[0] == []
