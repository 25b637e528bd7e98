"""The losses family: its entries, the real messages they answer, and detail sentences that
name the user's values, in a real shell (cells in tests/cells cover the lines to change)."""
from __future__ import annotations

import re

import pytest
import torch
import torch.nn.functional as F

import torchmagic
from torchmagic.knowledge import LANGUAGES, catalog, get_entry

PLACEHOLDER = re.compile(r"\{(\w+)\}")


def check_entries(family: str) -> None:
    """Every entry of the family: patterns, docs, examples, the four texts in both languages,
    and the same detail sentences, with the same placeholders, in both."""
    entries = [e for e in catalog().values() if e.family == family and not e.user]
    assert len(entries) >= 4
    for entry in entries:
        assert entry.patterns and entry.docs and entry.example_wrong and entry.example_right, entry.id
        assert all(d.startswith("https://") for d in entry.docs), entry.id
        for lang in LANGUAGES:
            for name in ("title", "what", "why", "fix"):
                assert entry.texts[lang].get(name), (entry.id, lang, name)
        assert any("\u4e00" <= ch <= "\u9fff" for ch in entry.texts["zh"]["what"]), entry.id
        assert set(entry.details["en"]) == set(entry.details["zh"]) and entry.details["en"], entry.id
        for key, text in entry.details["en"].items():
            assert set(PLACEHOLDER.findall(text)) == set(PLACEHOLDER.findall(entry.details["zh"][key])), \
                (entry.id, key)


def test_entries_are_complete_in_both_languages():
    check_entries("losses")


def real_message(call) -> tuple[str, str]:
    try:
        call()
    except Exception as exc:  # the real error torch raises
        return type(exc).__name__, str(exc)
    raise AssertionError("the call did not raise")


REAL_ERRORS = [
    ("bce-input-range", lambda: F.binary_cross_entropy(torch.tensor([1.5]), torch.tensor([1.0]))),
    ("loss-batch-size-mismatch", lambda: F.cross_entropy(torch.randn(4, 3), torch.zeros(6, dtype=torch.long))),
    ("loss-target-shape", lambda: F.cross_entropy(torch.randn(4, 3), torch.zeros(4, 1, dtype=torch.long))),
    ("loss-target-shape", lambda: F.cross_entropy(torch.randn(2, 3, 4, 4), torch.zeros(2, 1, 4, 4, dtype=torch.long))),
    ("loss-target-shape", lambda: F.cross_entropy(torch.randn(2, 5, 3), torch.zeros(2, 5, dtype=torch.long))),
    ("loss-target-shape", lambda: F.binary_cross_entropy_with_logits(torch.randn(4, 1), torch.rand(4))),
    ("loss-class-weights", lambda: F.cross_entropy(torch.randn(4, 3), torch.zeros(4, dtype=torch.long),
                                                   weight=torch.ones(2))),
    ("loss-input-dtype", lambda: F.cross_entropy(torch.zeros(4, 3, dtype=torch.long),
                                                 torch.zeros(4, dtype=torch.long))),
    ("loss-not-tensor", lambda: (0.5).backward()),
    ("one-hot-num-classes", lambda: F.one_hot(torch.tensor([0, 3]), 3)),
    ("one-hot-num-classes", lambda: F.one_hot(torch.tensor([-1, 2]), 3)),
    ("mask-shape", lambda: torch.zeros(2, 3)[torch.ones(3, dtype=torch.bool)]),
    ("nan-propagation", lambda: torch.distributions.Normal(torch.tensor([float("nan")]), torch.tensor([1.0]))),
    ("invalid-probabilities", lambda: torch.multinomial(torch.tensor([[-1.0, 2.0]]), 1)),
    ("invalid-probabilities", lambda: torch.multinomial(torch.tensor([[0.0, 0.0]]), 1)),
]


@pytest.fixture
def validating():
    """Distributions check their arguments (the default, which a compiled cell earlier in the
    same process may have turned off for the whole process)."""
    before = torch.distributions.Distribution._validate_args
    torch.distributions.Distribution.set_default_validate_args(True)
    yield
    torch.distributions.Distribution.set_default_validate_args(before)


@pytest.mark.parametrize("pid, call", REAL_ERRORS, ids=[f"{p}-{i}" for i, (p, _) in enumerate(REAL_ERRORS)])
def test_patterns_match_the_real_messages(pid, call, validating):
    exc_type, message = real_message(call)
    matching = [e.id for e in catalog().values() if e.family in ("losses", "gradients")
                and e.matches_message(exc_type, message)]
    assert matching == [pid], (message, matching)


def test_a_distribution_check_without_nan_is_not_called_nan(validating):
    exc_type, message = real_message(lambda: torch.distributions.Normal(torch.tensor([0.0]), torch.tensor([-1.0])))
    assert not get_entry("nan-propagation").matches_message(exc_type, message)


def diagnose(shell, setup: str, cell: str):
    assert shell.run_cell(setup).success
    shell.run_cell("%%torchdebug --no-raise\n" + cell)
    d = torchmagic.last_diagnosis()
    assert d is not None and d.internal_error is None and not d.ok
    return d


def details(d) -> dict[str, str]:
    entry = get_entry(d.top.pitfall)
    return {lang: entry.detail(d.top.detail, lang, d.top.facts) for lang in LANGUAGES}


BCE_SETUP = """import torch
import torch.nn as nn
torch.manual_seed(0)
scorer = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
criterion = nn.BCELoss()
x, y = torch.randn(6, 4), torch.randint(0, 2, (6, 1)).float()
"""


def test_bce_on_scores_names_the_range_and_the_loss_built_in_an_earlier_cell(shell):
    d = diagnose(shell, BCE_SETUP, "out = scorer(x)\nloss = criterion(out, y)\n")
    assert d.pitfalls[0] == "bce-input-range" and d.line == 2
    assert d.cause is not None and d.cause.line == 5 and "BCELoss" in d.cause.text
    text = details(d)
    lo, hi = (f"{v:.3g}" for v in (float(shell.user_ns["out"].min()), float(shell.user_ns["out"].max())))
    assert f"`out` holds values from {lo} to {hi}" in text["en"] and "BCEWithLogitsLoss" in text["en"]
    assert f"{lo} 到 {hi}" in text["zh"] and "In[" in text["zh"]


def test_nan_in_the_input_of_bce_is_traced_to_the_division_that_made_it(shell):
    setup = "import torch\nimport torch.nn.functional as F\nhits = torch.tensor([1.0, 0.0])\n"
    cell = "shown = torch.tensor([4.0, 0.0])\nrate = hits / shown\nloss = F.binary_cross_entropy(rate, hits)\n"
    d = diagnose(shell, setup, cell)
    assert d.pitfalls[0] == "nan-propagation" and d.line == 2
    assert "`/` on line 2" in details(d)["en"]


def test_a_loss_returned_as_a_number_by_an_earlier_cells_helper(shell):
    setup = ("import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\nnet = nn.Linear(3, 2)\n"
             "def regression_loss(xb, yb):\n    return float(F.mse_loss(net(xb), yb))\n")
    cell = "xb, yb = torch.randn(5, 3), torch.randn(5, 2)\nloss = regression_loss(xb, yb)\nloss.backward()\n"
    d = diagnose(shell, setup, cell)
    assert d.pitfalls[0] == "loss-not-tensor" and d.line == 2
    assert d.cause is not None and d.cause.line == 6 and "float(" in d.cause.text
    assert "`float()`" in details(d)["en"] and "`float()`" in details(d)["zh"]


def test_class_weights_name_the_sizes_and_the_counting_line(shell):
    setup = "import numpy as np\nimport torch\nimport torch.nn.functional as F\nlabels = torch.tensor([0, 2, 2, 0])\n"
    cell = ("present = np.unique(labels.numpy())\n"
            "w = torch.tensor([1.0 / (labels == c).sum().item() for c in present])\n"
            "loss = F.cross_entropy(torch.randn(4, 3), labels, weight=w)\n")
    d = diagnose(shell, setup, cell)
    assert d.pitfalls[0] == "loss-class-weights" and d.line == 1
    assert "`w` has 2 weights, but the logits have 3 classes" in details(d)["en"]


def test_one_hot_names_the_values_and_num_classes(shell):
    setup = "import torch\nimport torch.nn.functional as F\nnum_classes = 4\n"
    cell = "codes = torch.tensor([1, 4, 2]) * 2\nF.one_hot(codes, num_classes)\n"
    d = diagnose(shell, setup, cell)
    assert d.pitfalls[0] == "one-hot-num-classes" and d.line == 1
    text = details(d)
    assert "from 2 to 8, but num_classes is 4 (valid values 0..3)" in text["en"]
    assert "num_classes 是 4" in text["zh"]
