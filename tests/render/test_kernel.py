"""Reports in a real Jupyter kernel (nbclient + ipykernel): the error reply after a report is
one line, Run All stops at the failed cell, `%tb` shows the rest, a pitfall seen again folds."""
from __future__ import annotations

import re

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

pytestmark = pytest.mark.slow

SETUP = "%load_ext torchmagic\n%config TorchMagic.language = 'en'"
FAILING = (
    "%%torchdebug\nimport torch\nfrom torch import nn\n"
    "model = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(32, 10))\n"
    "x = torch.randn(8, 20)\nlogits = model(x)"
)
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def notebook(*sources: str):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    return nb


def run(nb, allow_errors: bool):
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                     allow_errors=allow_errors)
    client.execute()
    return nb


def html_of(cell) -> str:
    return "".join(o.get("data", {}).get("text/html", "") for o in cell.outputs
                   if o.output_type == "display_data")


def test_run_all_stops_at_the_failed_cell_whose_error_is_one_line():
    nb = notebook(SETUP, FAILING, "after = 1")
    with pytest.raises(nbclient.exceptions.CellExecutionError):
        run(nb, allow_errors=False)
    failed, after = nb.cells[1], nb.cells[2]
    assert not after.outputs and after.execution_count is None  # never ran
    kinds = [o.output_type for o in failed.outputs]
    assert kinds == ["display_data", "error"]  # the report, then the error
    error = failed.outputs[1]
    assert error.ename == "RuntimeError" and "mat1 and mat2" in error.evalue
    assert [ANSI.sub("", line) for line in error.traceback] == [
        "RuntimeError: mat1 and mat2 shapes cannot be multiplied (8x64 and 32x10)  ·  "
        "%tb shows the full traceback"]
    assert "The line to change" in html_of(failed)


def test_tb_shows_the_rest_and_a_pitfall_seen_again_is_folded():
    nb = run(notebook(SETUP, FAILING, FAILING, "%tb", "%config TorchMagic.traceback = 'full'",
                      FAILING), allow_errors=True)
    first, again, tb, _, full = nb.cells[1:]
    assert re.search(r"<details open[^>]*><summary[^>]*>What happened</summary>", html_of(first))
    assert re.search(r"<details style[^>]*><summary[^>]*>What happened</summary>", html_of(again))
    shown = "".join(ANSI.sub("", o.get("text", "")) + "".join(o.get("traceback", []))
                    for o in tb.outputs)
    assert "linear.py" in ANSI.sub("", shown) and "logits = model(x)" in ANSI.sub("", shown)
    (error,) = [o for o in full.outputs if o.output_type == "error"]
    assert len(error.traceback) > 3 and "%tb shows" not in "".join(error.traceback)
