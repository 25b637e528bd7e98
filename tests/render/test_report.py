"""show_report through IPython's display machinery, in a real InteractiveShell."""
from __future__ import annotations

import re

import pytest
from IPython.utils.capture import capture_output

from torchmagic.diagnosis import Diagnosis
from torchmagic.render import Report, show_report

from .cases import compare_diagnosis, findings_diagnosis, inplace_diagnosis


@pytest.fixture
def ip():
    from IPython.core.interactiveshell import InteractiveShell

    return InteractiveShell.instance()


def test_clean_success_displays_nothing(ip):
    with capture_output() as captured:
        show_report(Diagnosis(ok=True, cell="import torch\nx = torch.ones(2)\n"))
    assert captured.outputs == [] and captured.stdout == ""


def test_findings_display_html_and_plain_text(ip):
    with capture_output() as captured:
        show_report(findings_diagnosis())
    assert len(captured.outputs) == 1
    data = captured.outputs[0].data
    assert "<details" in data["text/html"] and "grad-accumulation" in data["text/html"]
    plain = data["text/plain"]
    assert plain.startswith("torchmagic: Possible problems in this cell (2)")
    assert "\x1b" not in plain  # not a terminal shell: no colours


def test_failure_displays_findings_above_the_error_report(ip):
    d = inplace_diagnosis(findings=findings_diagnosis().findings)
    with capture_output() as captured:
        show_report(d)
    (output,) = captured.outputs
    plain = output.data["text/plain"]
    assert plain.index("Possible problems") < plain.index("RuntimeError") \
        < plain.index("--> 5 | out += 1")
    assert output.data["text/html"].count("background-color: #fff1a8") == 1


def test_report_formats_like_any_displayed_object(ip):
    data, _ = ip.display_formatter.format(Report(inplace_diagnosis("zh")))
    assert "需要修改的行" in data["text/html"] and "需要修改的行" in data["text/plain"]
    assert repr(Report(inplace_diagnosis())).startswith("<torchmagic Report RuntimeError")


def test_a_pitfall_explained_once_is_brief_the_next_time(ip):
    explained: set[str] = set()
    texts, pages = [], []
    for diagnosis in (inplace_diagnosis(), inplace_diagnosis(), compare_diagnosis()):
        with capture_output() as captured:
            show_report(diagnosis, explained=explained)
        (output,) = captured.outputs
        texts.append(output.data["text/plain"])
        pages.append(output.data["text/html"])
    first, again, other = texts
    assert explained == {"inplace-autograd", "no-such-pitfall-for-tests"}
    for section in ("What happened", "Why", "Example", "Docs"):
        assert section in first and section not in again
    for kept in ("A tensor that backward needs was changed in place  [inplace-autograd]",
                 "--> 5 | out += 1", "`out` is produced on line 4 and modified in place",
                 "\nFix\n", "Tensors on the failing line"):
        assert kept in first and kept in again
    assert "Full explanation: %torchdebug explain inplace-autograd" in again
    assert len(again.splitlines()) < len(first.splitlines()) - 15
    assert "No explanation is available" in other  # another pitfall: its own first report
    # in HTML every section is there, folded: open the first time, closed afterwards
    for section in ("What happened", "Why", "Example", "Docs"):
        assert re.search(rf"<details open[^>]*><summary[^>]*>{section}</summary>", pages[0])
        assert re.search(rf"<details style[^>]*><summary[^>]*>{section}</summary>", pages[1])
    for page in pages[:2]:  # the fix is never folded
        assert ">Fix</div>" in page and not re.search(r"<summary[^>]*>Fix</summary>", page)


def test_without_a_record_of_explained_pitfalls_every_report_is_whole(ip):
    for _ in range(2):
        with capture_output() as captured:
            show_report(inplace_diagnosis())
        assert "What happened" in captured.outputs[0].data["text/plain"]


def test_the_cuda_not_available_report_names_the_redirect(shell, capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("shows a machine without CUDA")
    from conftest import CELLS, parse_case

    case = parse_case(CELLS / "cuda-not-available.py")
    for setup in case.setup:
        shell.run_cell(setup)
    capsys.readouterr()
    for lang, heading in (("en", "\nFix\n"), ("zh", "\n解决方法\n")):
        shell.run_cell(f"%%torchdebug --no-raise --lang {lang}\n" + case.cell)
        out = capsys.readouterr().out
        fix = out[out.index(heading):]
        assert "`%device cpu --redirect`" in " ".join(fix.split()), fix[:600]
