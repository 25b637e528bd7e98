"""The gradients family: its entries, the real messages they answer, and detail sentences
that name the user's values, in a real shell."""
from __future__ import annotations

import copy

import pytest
import torch

from torchmagic.knowledge import catalog

from .test_losses import check_entries, details, diagnose, real_message


def test_entries_are_complete_in_both_languages():
    check_entries("gradients")


def _non_leaf():
    return torch.ones(2, requires_grad=True) * 2


def _grad_of_vector():
    leaf = torch.ones(2, requires_grad=True)
    return torch.autograd.grad(leaf * 2, leaf)


REAL_ERRORS = [
    ("non-scalar-backward", lambda: _non_leaf().backward()),
    ("non-scalar-backward", _grad_of_vector),
    ("requires-grad-dtype", lambda: torch.tensor([1, 2], requires_grad=True)),
    ("requires-grad-dtype", lambda: torch.arange(3).requires_grad_()),
    ("requires-grad-dtype", lambda: torch.nn.Parameter(torch.zeros(2, dtype=torch.long))),
    ("requires-grad-non-leaf", lambda: setattr(_non_leaf(), "requires_grad", True)),
    ("requires-grad-non-leaf", lambda: _non_leaf().requires_grad_(False)),
    ("deepcopy-nonleaf", lambda: copy.deepcopy(_non_leaf())),
]


@pytest.mark.parametrize("pid, call", REAL_ERRORS, ids=[f"{p}-{i}" for i, (p, _) in enumerate(REAL_ERRORS)])
def test_patterns_match_the_real_messages(pid, call):
    exc_type, message = real_message(call)
    matching = [e.id for e in catalog().values() if e.family in ("losses", "gradients")
                and e.matches_message(exc_type, message)]
    assert matching == [pid], (message, matching)


def test_non_scalar_backward_in_an_earlier_cells_helper_names_the_shape_and_the_operation(shell):
    setup = ("import torch\nimport torch.nn as nn\nnet = nn.Linear(3, 2)\n"
             "def train_step(xb, yb):\n    err = (net(xb) - yb) ** 2\n    err.backward()\n")
    d = diagnose(shell, setup, "xb, yb = torch.randn(5, 3), torch.randn(5, 2)\ntrain_step(xb, yb)\n")
    assert d.pitfalls[0] == "non-scalar-backward" and d.line == 2
    assert d.cause is not None and d.cause.line == 6
    text = details(d)
    assert "`err` has shape (5, 2) (10 values)" in text["en"] and "line 5 of In[" in text["en"]
    assert "共 10 个值" in text["zh"]


DEEPCOPY_SETUP = """import copy
import torch
import torch.nn as nn
class Tracker(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Linear(4, 4)
    def forward(self, x):
        h = self.body(x)
        self.last_hidden = h
        return h.relu()
"""


def test_deepcopy_of_a_module_from_an_earlier_cell_points_at_the_class_line_that_stores_it(shell):
    cell = "tracker = Tracker()\nout = tracker(torch.randn(2, 4))\nsnapshot = copy.deepcopy(tracker)\n"
    d = diagnose(shell, DEEPCOPY_SETUP, cell)
    assert d.pitfalls[0] == "deepcopy-nonleaf"
    assert d.line == 1 and d.cause is not None and d.cause.line == 10  # the cell builds the class
    text = details(d)
    assert "`tracker.last_hidden` holds a tensor with grad_fn AddmmBackward0 (shape (2, 4))" in text["en"]
    assert "`h.detach()`" in text["en"] and "`h.detach()`" in text["zh"]


def test_requires_grad_on_a_computed_tensor_names_the_operation(shell):
    setup = "import torch\nbase = torch.rand(3, requires_grad=True)\n"
    d = diagnose(shell, setup, "scaled = base.exp() / 2\nscaled.requires_grad_(False)\n")
    assert d.pitfalls[0] == "requires-grad-non-leaf" and d.line == 1
    text = details(d)
    assert "`scaled` is not a leaf: `/` on line 1" in text["en"] and "`scaled.detach()`" in text["en"]
