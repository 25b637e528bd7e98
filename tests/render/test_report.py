"""show_report through IPython's display machinery, in a real InteractiveShell."""
from __future__ import annotations

import pytest
from IPython.utils.capture import capture_output

from torchmagic.diagnosis import Diagnosis
from torchmagic.render import Report, show_report

from .cases import findings_diagnosis, inplace_diagnosis


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
