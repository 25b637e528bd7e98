"""Every case cell through `%%torchdebug` in a real shell: the right pitfall on the right line.

Runs the project's own cells (tests/cells: at least one per catalog id) and, when the shared
acceptance corpus sits beside the checkout, its cases too.
"""
from __future__ import annotations

import pytest

import torchmagic
from conftest import CELLS, CLEAN_CELLS, CORPUS, Case, cases_in, run_in_fresh_process

CASES = cases_in(CELLS) + cases_in(CORPUS)


def _has_cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def _marks(case: Case):
    if case.requires == "cuda":
        return [pytest.mark.cuda]
    if case.requires == "nocuda":
        return [pytest.mark.skipif(_has_cuda(), reason="shows a machine without CUDA")]
    return []


def _run(shell, case: Case):
    for src in case.setup:
        result = shell.run_cell(src)
        assert result.success, f"setup failed: {result.error_in_exec!r}"
    shell.run_cell("%%torchdebug --no-raise\n" + case.cell)
    diagnosis = torchmagic.last_diagnosis()
    assert diagnosis is not None and diagnosis.internal_error is None, diagnosis and diagnosis.internal_error
    return diagnosis.to_dict()


@pytest.mark.parametrize(
    "case",
    [pytest.param(c, id=f"{c.path.parent.name}/{c.id}", marks=_marks(c)) for c in CASES if c.kind == "error"],
)
def test_error_case(shell, case: Case, tmp_path):
    if case.requires == "cuda":
        # a device-side assert leaves the CUDA context unusable: each GPU case gets its own process
        report = run_in_fresh_process([*case.setup, "%%torchdebug --no-raise\n" + case.cell], tmp_path)
        d = report["diagnosis"]
        assert d is not None and d["internal_error"] is None, d
    else:
        d = _run(shell, case)
    assert d["ok"] is False, "the cell should fail"
    assert d["pitfalls"] and d["pitfalls"][0] == case.pitfall, d["pitfalls"]
    assert d["line"] in case.lines, (d["line"], case.lines)


SHAPES = ("top", "function", "setup")
# read from the code of the cell or script only: a helper of an earlier cell is out of their reach
TEXT_ONLY = {"checkpoint-every-rank", "ddp-batchnorm-not-synced", "distributed-sampler-epoch"}


def test_every_silent_pitfall_has_cells_in_every_shape():
    """Each silent id of the catalog is tested with the mistake at the top of the cell, inside a
    function the cell defines, and in an earlier cell's helper or class that the cell calls."""
    from torchmagic.knowledge import catalog

    silent = sorted(e.id for e in catalog().values() if e.kind == "silent")
    cells = [c for c in cases_in(CELLS) if c.kind == "silent"]
    assert all(c.shape in SHAPES for c in cells), [c.id for c in cells if c.shape not in SHAPES]
    shapes = {pid: ("top", "function") if pid in TEXT_ONLY else SHAPES for pid in silent}
    missing = {pid: [s for s in shapes[pid] if not any(c.pitfall == pid and c.shape == s for c in cells)]
               for pid in silent}
    assert {pid: m for pid, m in missing.items() if m} == {}
    setup_cells = [c.id for c in cells if c.shape == "setup" and not c.setup]
    assert setup_cells == [], "a setup-shaped cell needs an earlier cell"


def test_clean_cells_come_in_every_shape():
    shaped = [c for c in cases_in(CLEAN_CELLS) if c.shape]
    assert all(c.shape in SHAPES for c in shaped)
    assert {c.shape for c in shaped} == set(SHAPES)
    assert sum(c.shape == "setup" for c in shaped) >= 5


@pytest.mark.parametrize(
    "case",
    [pytest.param(c, id=f"{c.path.parent.name}/{c.id}", marks=_marks(c)) for c in CASES if c.kind == "silent"],
)
def test_silent_case(shell, case: Case):
    d = _run(shell, case)
    assert d["ok"] is True, d["error"]
    hits = [f for f in d["findings"] if f["pitfall"] == case.pitfall]
    assert hits, d["findings"]
    assert any(f["line"] in case.lines for f in hits), (hits, case.lines)


@pytest.mark.parametrize(
    "case",
    [pytest.param(c, id=f"{c.path.parent.name}/{c.id}", marks=_marks(c))
     for c in CASES + cases_in(CLEAN_CELLS) if c.kind == "clean"],
)
def test_clean_cells_have_no_findings(shell, case: Case):
    d = _run(shell, case)
    assert d["ok"] is True, d["error"]
    assert d["findings"] == []


@pytest.mark.parametrize(
    "case",
    [pytest.param(c, id=f"{c.path.parent.name}/{c.id}", marks=_marks(c))
     for c in CASES if c.kind == "error" and "dataloader" not in c.id and "oversubscription" not in c.id],
)
def test_fast_mode_replay_gives_the_same_diagnosis(shell, case: Case, tmp_path):
    """Fast mode runs bare and replays the failure instrumented: same pitfall, same line."""
    if case.requires == "cuda":
        runs = []
        for mode in ("eager", "fast"):
            flags = "--fast --no-raise" if mode == "fast" else "--no-raise"
            (tmp_path / mode).mkdir()
            cells = [*case.setup, f"%%torchdebug {flags}\n" + case.cell]
            runs.append(run_in_fresh_process(cells, tmp_path / mode)["diagnosis"])
        assert runs[1]["pitfalls"][:1] == runs[0]["pitfalls"][:1] and runs[1]["line"] == runs[0]["line"]
        return
    eager = _run(shell, case)
    shell.run_cell("%%torchdebug --fast --no-raise\n" + case.cell)
    fast = torchmagic.last_diagnosis()
    assert fast is not None and fast.internal_error is None
    assert fast.to_dict()["pitfalls"][:1] == eager["pitfalls"][:1]
    assert fast.line == eager["line"]
