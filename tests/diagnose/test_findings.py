"""The static lint of silent pitfalls, on cells run in a real IPython shell.

Each silent case (the shared corpus and tests/cells/lint_*.py) runs its setup and cell in an
InteractiveShell; `lint_cell` + `audit_namespace` on the cell and the live namespace must
report the expected pitfall on an accepted line. The clean cells must give no finding at
all, with and without the namespace.
"""
from __future__ import annotations

import pytest

from conftest import CELLS, CLEAN_CELLS, CORPUS, Case, cases_in, torch_settings_kept
from torchmagic.diagnosis import Finding
from torchmagic.diagnose.findings import audit_namespace, findings_from_hits, ignored_lines, lint_cell, message
from torchmagic.pitfalls import registry
from torchmagic.pitfalls.registry import Hit
from torchmagic.source import cell as cell_model
from torchmagic.source.cell import Cell

# loss-broadcast is reported by the engine from the warning that torch raises, not by the lint
_ENGINE_ONLY = {"loss-broadcast"}

# cells marked `# seen: run` are found from what the run's hooks saw (tests/test_cells.py runs them)
SILENT = [c for c in cases_in(CORPUS) + cases_in(CELLS)
          if c.kind == "silent" and c.pitfall not in _ENGINE_ONLY and c.seen != "run"]
CLEAN = [c for c in cases_in(CLEAN_CELLS) + cases_in(CORPUS) if c.kind == "clean"]


def _param(case: Case):
    marks = [pytest.mark.cuda] if case.requires == "cuda" else []
    return pytest.param(case, id=f"{case.path.parent.name}/{case.id}", marks=marks)


@pytest.fixture(scope="module")
def ip(plain_shell):
    return plain_shell


def fresh_namespace(ip) -> None:
    """Drop what earlier cases defined (quicker than a full shell reset)."""
    for name in set(ip.user_ns) - ip.builtin_names:
        del ip.user_ns[name]


def run_case(ip, case: Case) -> dict:
    """Run setup and cell in a fresh namespace; return the namespace after the cell."""
    fresh_namespace(ip)
    with torch_settings_kept():
        for src in case.setup:
            result = ip.run_cell(src, store_history=False)
            assert result.success, f"setup failed: {result.error_in_exec!r}"
        result = ip.run_cell(case.cell, store_history=False)
    assert result.success, f"the cell should run: {result.error_in_exec!r}"
    return ip.user_ns


def all_findings(case: Case, ns) -> list[Finding]:
    return lint_cell(case.cell, ns) + audit_namespace(ns, case.cell)


def test_there_are_cases():
    assert len(SILENT) >= 30
    assert len(CLEAN) >= 10


@pytest.mark.filterwarnings("ignore::UserWarning")  # the buggy cells make torch warn; that is their point
@pytest.mark.parametrize("case", [_param(c) for c in SILENT])
def test_silent_case_is_found_on_an_accepted_line(ip, case: Case):
    ns = run_case(ip, case)
    found = all_findings(case, ns)
    hits = [f for f in found if f.pitfall == case.pitfall]
    assert hits, [(f.pitfall, f.line) for f in found]
    assert any(f.line in case.lines for f in hits), ([(f.pitfall, f.line) for f in hits], case.lines)
    assert all(f.message and "{" not in f.message for f in found)


@pytest.mark.parametrize("case", [_param(c) for c in CLEAN])
def test_clean_cell_has_no_findings(ip, case: Case):
    ns = run_case(ip, case)
    assert [(f.pitfall, f.line, f.message) for f in all_findings(case, ns)] == []
    assert lint_cell(case.cell, None) == []


STATIC = {  # found from the code alone, without running the cell
    "ce_after_softmax": ("softmax-before-crossentropy", 7),
    "transfer_learning_require_grad_typo": ("requires-grad-typo", 4),
    "mlp_functional_dropout_in_forward": ("functional-dropout-training", 9),
    "stacked_lstm_cells_in_list": ("unregistered-submodule", 5),
    "transfer_learning_loop_missing_zero_grad": ("grad-accumulation", 9),
    "epoch_stats_dict_accumulates_tensor": ("history-accumulation", 11),
    "predict_single_sample_dropout_active": ("train-eval-mode", 13),
    "best_model_alias_not_copy": ("tensor-aliasing", 12),
}


@pytest.mark.parametrize("name", sorted(STATIC))
def test_lint_without_namespace(name):
    case = next((c for c in SILENT if c.id == name), None)
    if case is None:
        pytest.skip("the shared corpus is not beside this checkout")
    found = lint_cell(case.cell, None)
    assert (STATIC[name][0], STATIC[name][1]) in [(f.pitfall, f.line) for f in found]
    assert all(f.source == "lint" for f in found)


TYPO_CELL = """\
import torch.nn as nn
net = nn.Linear(3, 3)
for p in net.parameters():
    p.require_grad = False{comment}
print(net)
"""


@pytest.mark.parametrize("comment,silenced", [
    ("", False),
    ("  # torchmagic: ignore", True),
    ("  # torchmagic: ignore[requires-grad-typo]", True),
    ("  # torchmagic: ignore[grad-accumulation, requires-grad-typo]", True),
    ("  # torchmagic: ignore[grad-accumulation]", False),
    ("  # torchmagic:ignore[requires-grad-typo]", True),
])
def test_ignore_comment_silences_its_line(comment, silenced):
    source = TYPO_CELL.format(comment=comment)
    found = [(f.pitfall, f.line) for f in lint_cell(source, None)]
    assert (("requires-grad-typo", 4) not in found) is silenced, found


def test_ignore_comment_covers_a_statement_over_several_lines():
    source = "x = [\n    1,\n]  # torchmagic: ignore[a]\nfor i in x:\n    pass  # torchmagic: ignore\n"
    assert ignored_lines(source) == {1: {"a"}, 2: {"a"}, 3: {"a"}, 5: set()}


def test_ignore_inside_a_string_is_not_a_comment():
    assert ignored_lines('x = "# torchmagic: ignore"\ny = 1  # torchmagic: ignore[a,b]\n') == {2: {"a", "b"}}


def test_a_crashing_rule_is_isolated(monkeypatch):
    def broken(cell):
        raise RuntimeError("rule bug")
        yield  # pragma: no cover

    def broken_later(cell):
        yield Hit("grad-accumulation", 1)
        raise KeyError("half way")

    monkeypatch.setattr(registry, "_rules", [broken, broken_later] + registry.rules())
    found = lint_cell(TYPO_CELL.format(comment=""), None)
    assert ("requires-grad-typo", 4) in [(f.pitfall, f.line) for f in found]


def test_findings_are_unique_and_sorted():
    hits = [Hit("tensor-aliasing", 3, "b", "a"), Hit("grad-accumulation", 2, "loss"),
            Hit("tensor-aliasing", 3, "b", "a"), Hit("grad-accumulation", 9), Hit("grad-accumulation", 0)]
    found = findings_from_hits(hits, "a\nb\nc\nd\n", "en", "lint")
    assert [(f.pitfall, f.line) for f in found] == [("grad-accumulation", 2), ("tensor-aliasing", 3)]
    assert all(f.source == "lint" for f in found)


def test_messages_name_the_users_objects_in_both_languages():
    source = TYPO_CELL.format(comment="")
    en = lint_cell(source, None, "en")[0]
    zh = lint_cell(source, None, "zh")[0]
    assert "p.require_grad" in en.message and "p.require_grad" in zh.message
    assert any("\u4e00" <= ch <= "\u9fff" for ch in zh.message)
    assert en.message != zh.message


def test_message_falls_back_for_an_unknown_entry():
    text = message("no-such-pitfall-id", "en", "x", "y")
    assert "no-such-pitfall-id" in text
    assert "`opt`" in message("optimizer-device", "en", "opt", "`fc.weight`")


def test_cells_that_do_not_parse_give_no_findings():
    assert lint_cell("for x in :\n    pass\n", None) == []
    assert lint_cell("", None) == []
    assert lint_cell("%time x = 1\n", {}) == []


def test_ipython_syntax_is_translated_and_lines_kept():
    source = "%matplotlib inline\n!echo hi\n" + TYPO_CELL.format(comment="")
    assert [(f.pitfall, f.line) for f in lint_cell(source, None)] == [("requires-grad-typo", 6)]


def test_the_namespace_is_only_read(ip):
    import copy

    import torch

    case = next(c for c in SILENT if c.id == "lint_train_after_eval_in_loop")
    ns = run_case(ip, case)
    before = dict(ns)
    model = ns["model"]
    mode = [m.training for m in model.modules()]
    state = copy.deepcopy(model.state_dict())
    all_findings(case, ns)
    assert dict(ns).keys() == before.keys() and all(ns[k] is before[k] for k in before)
    assert [m.training for m in model.modules()] == mode
    assert all(torch.equal(v, state[k]) for k, v in model.state_dict().items())


def test_names_resolve_through_functions_and_imports():
    source = (
        "import torch.nn.functional as fn\n"
        "from torch import nn\n"
        "def step(model, x):\n"
        "    return model(x)\n"
        "net = nn.Linear(2, 2)\n"
        "step(net, 1)\n"
    )
    cell = Cell(source, None)
    call = next(c for c in cell.calls if getattr(c.func, "id", "") == "model")
    ref = cell.module_ref(call.func, cell.scope_of(call))
    assert ref is not None and cell.class_name(ref.cls) == "Linear"
    assert cell.imports["fn"] == "torch.nn.functional"


def test_grad_history_follows_the_code():
    source = (
        "import torch\n"
        "net = torch.nn.Linear(2, 2)\n"
        "a = net(x)\n"
        "b = a.detach()\n"
        "c = a.argmax(1)\n"
        "d = a * 2 + 1\n"
        "with torch.no_grad():\n"
        "    e = net(x)\n"
        "f = torch.zeros(3, requires_grad=True)\n"
    )
    cell = Cell(source, None)
    got = {}
    for node in cell.tree.body:
        target = getattr(node, "targets", [None])[0]
        if target is not None and target.id in "abcdf":
            got[target.id] = bool(cell.grad_sources(node.value, cell.tree))
    with_node = cell.tree.body[6].body[0]
    got["e"] = bool(cell.grad_sources(with_node.value, cell.tree))
    assert got == {"a": True, "b": False, "c": False, "d": True, "e": False, "f": True}


POOL_CELL = """\
from multiprocessing import Pool
import torch

def train_one(seed):
    torch.manual_seed(seed)
    w = torch.randn(256, 256)
    return (w @ w).sum().item()

with Pool(4) as pool:
    print(pool.map(train_one, range(4)))
"""


def test_process_pool_of_torch_workers():
    found = [(f.pitfall, f.line, f.message) for f in lint_cell(POOL_CELL, None)]
    assert [(p, line) for p, line, _ in found] == [("cpu-oversubscription", 9)]
    assert "train_one" in found[0][2]
    limited = POOL_CELL.replace("import torch\n", "import torch\ntorch.set_num_threads(1)\n")
    assert lint_cell(limited, None) == []


@pytest.mark.parametrize("pool", ['mp.get_context("fork").Pool(4)', "ctx.Pool(processes=4)"])
def test_process_pool_from_a_start_method_context(pool):
    import multiprocessing

    source = POOL_CELL.replace("from multiprocessing import Pool", "import multiprocessing as mp") \
        .replace("Pool(4)", pool)
    namespace = {"mp": multiprocessing, "ctx": multiprocessing.get_context("spawn")}
    found = [(f.pitfall, f.line) for f in lint_cell(source, namespace)]
    assert found == [("cpu-oversubscription", 9)]


@pytest.mark.parametrize("source,expected", [
    ("import numpy as np, torch\ntorch.manual_seed(0)\nidx = np.random.permutation(5)\n", [("nondeterminism", 2)]),
    ("import numpy as np, torch\nidx = np.random.permutation(5)\nt = torch.randn(2)\n", []),
    ("import numpy as np, torch\nnp.random.seed(0); torch.manual_seed(0)\nidx = np.random.permutation(5)\n", []),
    ("import numpy as np, torch\ntorch.manual_seed(0)\nrng = np.random.default_rng(0)\nidx = rng.permutation(5)\n", []),
])
def test_unseeded_generator_next_to_a_seeded_one(source, expected):
    assert [(f.pitfall, f.line) for f in lint_cell(source, None)] == expected


def test_a_cell_linted_again_asks_the_new_namespace():
    """What the source alone decides is kept between runs of a cell; what the objects decide is not."""
    import torch
    import torch.nn as nn

    source = "m.requires_grad = False\nfor t in items:\n    t.require_grad = False\n"
    as_module = {"m": nn.Linear(2, 2), "items": [torch.ones(1)], "t": torch.ones(1)}
    as_tensor = {"m": torch.ones(2), "items": [1], "t": "not a tensor"}
    for _ in range(2):
        assert [(f.pitfall, f.line) for f in lint_cell(source, as_module)] == \
            [("requires-grad-typo", 1), ("requires-grad-typo", 3)]
        assert lint_cell(source, as_tensor) == []


def test_nodes_built_while_linting_are_not_remembered():
    import ast

    source = "x = 1\ny = x + 1\n"
    cell = Cell(source, {})
    assert cell.scope_of(cell.nodes[1]) is cell.tree  # a node of the cell: remembered
    remembered = len(cell_model._structure(source).memo)
    built = ast.Name(id="x", ctx=ast.Load())
    assert cell.scope_of(built) is cell.tree and cell.loops_of(built) == []
    assert len(cell_model._structure(source).memo) == remembered
