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
