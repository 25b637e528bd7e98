"""The demo notebooks run in a real Jupyter kernel and show annotated reports in HTML."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

from torchmagic.knowledge import get_entry  # noqa: E402
from torchmagic.render.html import HL_COLOR  # noqa: E402

DEMOS = Path(__file__).resolve().parent.parent / "demos"
MARKED = re.compile(r"background:%s[^\"]*\"><span[^>]*>[^<]*<span data-line=\"(\d+)\">" % re.escape(HL_COLOR))

pytestmark = pytest.mark.slow


def _execute(path: Path):
    nb = nbformat.read(path, as_version=4)
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=True).execute()
    return nb


def _html(cell) -> str:
    return "".join(o.get("data", {}).get("text/html", "") for o in cell.get("outputs", [])
                   if o.get("output_type") in ("display_data", "execute_result"))


@pytest.fixture(scope="module")
def pitfalls_notebook():
    return _execute(DEMOS / "pitfalls.ipynb")


def test_every_expected_failure_shows_its_pitfall_on_the_highlighted_line(pitfalls_notebook):
    checked = 0
    for cell in pitfalls_notebook.cells:
        expect = cell.get("metadata", {}).get("torchmagic", {})
        if "pitfall" not in expect:
            continue
        html = _html(cell)
        assert html, f"no HTML report for cell: {cell.source[:60]!r}"
        marked = MARKED.findall(html)
        assert marked == [str(expect["line"])], (marked, expect)
        entry = get_entry(expect["pitfall"])
        lang = "zh" if "--lang zh" in cell.source else "en"
        assert entry.text("title", lang) in html.replace("&#x27;", "'").replace("&quot;", '"') or \
            _escaped(entry.text("title", lang)) in html
        checked += 1
    assert checked >= 5


def _escaped(text: str) -> str:
    import html

    return html.escape(text)


def test_first_failure_still_raises_in_the_kernel(pitfalls_notebook):
    first = next(c for c in pitfalls_notebook.cells if c.get("metadata", {}).get("torchmagic", {}).get("pitfall"))
    errors = [o for o in first.outputs if o.output_type == "error"]
    assert errors and errors[0].ename == "RuntimeError"


def test_silent_cell_shows_findings(pitfalls_notebook):
    cell = next(c for c in pitfalls_notebook.cells if "findings" in c.get("metadata", {}).get("torchmagic", {}))
    html = _html(cell)
    for pid in cell.metadata["torchmagic"]["findings"]:
        assert pid in html


def test_saved_outputs_hold_the_reports():
    nb = nbformat.read(DEMOS / "pitfalls.ipynb", as_version=4)
    marked = [c for c in nb.cells if c.cell_type == "code" and MARKED.search(_html(c))]
    assert len(marked) >= 5


@pytest.mark.parametrize("name", sorted(p.name for p in DEMOS.glob("*.ipynb") if p.name != "pitfalls.ipynb"))
def test_other_demo_notebooks_run_without_unexpected_errors(name):
    nb = _execute(DEMOS / name)
    for cell in nb.cells:
        if cell.cell_type != "code" or cell.get("metadata", {}).get("torchmagic", {}).get("raises"):
            continue
        errors = [o for o in cell.get("outputs", []) if o.output_type == "error"]
        assert not errors, (cell.source[:80], errors[0].ename if errors else None)


def test_automatic_mode_in_a_real_kernel():
    """In Jupyter, automatic mode awaits a top-level `await` as IPython would, leaves %timeit's
    statement alone and diagnoses a failing cell."""
    cells = [
        "%load_ext torchmagic\n%config TorchMagic.language = 'en'",
        "import asyncio, torch\na = torch.arange(5.0)",
        "%torchdebug on",
        "w = await asyncio.sleep(0, result=7)\nw * 6",
        "%timeit -n 20 -r 2 a.sum()",
        "b = a.view(2)",
        "%torchdebug off",
        "%%torchdebug\nawait asyncio.sleep(0)",
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=True).execute()
    outputs = [cell.outputs for cell in nb.cells]

    def errors(i):
        return [o.ename for o in outputs[i] if o.output_type == "error"]

    assert errors(3) == [] and [o.data["text/plain"] for o in outputs[3] if o.output_type == "execute_result"] == ["42"]
    timing = "".join(o.get("text", "") for o in outputs[4] if o.output_type == "stream")
    assert "per loop" in timing and not [o for o in outputs[4] if o.output_type == "execute_result"]
    assert errors(5) == ["RuntimeError"] and "view" in _html(nb.cells[5])
    # the kernel runs its cells inside its event loop: a magic cannot await there, and says so
    said = "".join(o.get("text", "") for o in outputs[7] if o.output_type == "stream")
    assert errors(7) == [] and "UsageError" in said and "%torchdebug on" in said
