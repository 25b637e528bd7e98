"""HTML reports: the highlighted line, escaping, the explanation, self-contained markup."""
from __future__ import annotations

import re

import pytest

from torchmagic.diagnosis import Diagnosis, ErrorInfo, Match, Rerun
from torchmagic.knowledge import register_pitfall, unregister_pitfall
from torchmagic.render import Report
from torchmagic.render.html import CODE_BG, CODE_FG, HL_COLOR, RELATED_COLOR

from .cases import compare_diagnosis, findings_diagnosis, inplace_diagnosis


def rows(html: str) -> dict[int, str]:
    """The rows of the first code listing, by their line number."""
    out = {}
    for piece in html.split('<span style="display:flex')[1:]:
        m = re.search(r'data-line="(\d+)"', piece)
        if m and int(m.group(1)) not in out:
            out[int(m.group(1))] = piece
    return out


def test_the_line_to_change_has_the_hl_lines_background_and_related_lines_are_marked():
    html = Report(inplace_diagnosis())._repr_html_()
    code = rows(html)
    assert sorted(code) == list(range(1, 8))  # line numbers as in the cell, 1-based
    assert f"background-color: {HL_COLOR}" in code[5]  # pygments' hl_lines span
    assert "out" in code[5] and "+=" in code[5]
    for other in (1, 2, 3, 4, 6, 7):
        assert HL_COLOR not in code[other]
    for related in (4, 7):
        assert RELATED_COLOR in code[related]
    assert RELATED_COLOR not in code[5] and RELATED_COLOR not in code[6]
    assert "The line to change: line 5" in html


def test_error_message_cell_and_traceback_are_escaped():
    d = compare_diagnosis()
    assert "'<' not supported" in d.error.message  # the real message needs escaping
    html = Report(d)._repr_html_()
    assert "&#x27;&lt;&#x27; not supported between instances of &#x27;Linear&#x27;" in html
    assert "'<' not supported" not in html
    assert "<b>" not in html  # the cell's string literal "<b>" is escaped by pygments
    assert "TypeError" in html


def test_explanation_title_detail_and_sections():
    html = Report(inplace_diagnosis())._repr_html_()
    assert "A tensor that backward needs was changed in place" in html
    assert "[inplace-autograd]" in html
    # the detail sentence names the user's tensor and lines
    assert re.search(r"<code[^>]*>out</code> is produced on line 4 and modified in place "
                     r"on line 5", html)
    for heading in ("What happened", "Why", "Fix", "Example", "Docs"):
        assert f">{heading}<" in html or f">{heading}:<" in html
    assert 'href="https://pytorch.org/docs/' in html


def test_tensor_table_traceback_and_other_causes():
    d = inplace_diagnosis()
    html = Report(d)._repr_html_()
    table = html[html.index("<table"):html.index("</table>")]
    for value in ("out", "(4, 3)", "torch.float32", "cpu", "True", "AddBackward0"):
        assert f">{value}<" in table
    details = re.search(r"<details[^>]*><summary[^>]*>Traceback</summary>(.*?)</details>",
                        html, re.S)
    assert details and "File &quot;&lt;cell&gt;&quot;, line 7" in details.group(1)
    assert not re.search(r"<details open[^>]*><summary[^>]*>Traceback", html)  # collapsed
    others = re.findall(r"<li[^>]*><code[^>]*>([\w-]+)</code>", html)
    assert others == ["backward-twice"]


def test_missing_entry_still_shows_the_error_and_the_line():
    html = Report(compare_diagnosis())._repr_html_()
    assert f"background-color: {HL_COLOR}" in rows(html)[4]
    assert "No explanation is available for" in html
    assert "What happened" not in html


def test_self_contained_markup_without_javascript_or_classes():
    html = Report(inplace_diagnosis())._repr_html_() + Report(findings_diagnosis())._repr_html_()
    assert "<script" not in html.lower()
    assert not re.search(r"\son\w+\s*=", html)
    assert "class=" not in html
    assert "<style" not in html
    # code keeps its own background and text colour, whatever the notebook theme
    pre = re.findall(r'<pre style="([^"]*)"><span style="display:inline-block', html)
    assert pre and all(f"background:{CODE_BG}" in p and f"color:{CODE_FG}" in p for p in pre)


def test_chinese_report_has_chinese_headings():
    html = Report(inplace_diagnosis("zh"))._repr_html_()
    for heading in ("需要修改的行：第 5 行", "发生了什么", "原因", "解决方法", "原始报错信息"):
        assert heading in html
    assert "反向传播需要的张量被原地" in html
    assert "What happened" not in html and "The line to change" not in html


def test_internal_error_is_one_line():
    d = inplace_diagnosis(internal_error="KeyError: 'x'")
    html = Report(d)._repr_html_()
    assert "could not diagnose this cell" in html and "KeyError: &#x27;x&#x27;" in html
    assert "<pre" not in html and "What happened" not in html


def test_rerun_result_is_shown():
    d = inplace_diagnosis(rerun=Rerun("cpu", ok=False, error=ErrorInfo("IndexError",
                          "index 7 is out of bounds for dimension 0 with size 3"), line=6))
    html = Report(d)._repr_html_()
    assert "Rerun on cpu" in html
    assert "On cpu it fails with IndexError on line 6:" in html
    assert "index 7 is out of bounds" in html
    ok = Report(inplace_diagnosis(rerun=Rerun("cpu", ok=True)))._repr_html_()
    assert "The cell runs without error on cpu" in ok


@pytest.fixture
def silent_entry():
    register_pitfall("render-test-silent", kind="silent", family="testing",
                     title="Gradients add up across steps", what="What <it> is.", fix="Zero them.")
    yield "render-test-silent"
    unregister_pitfall("render-test-silent")


def test_findings_are_compact_and_expand_to_the_entry(silent_entry):
    d = findings_diagnosis()
    d.findings[0].pitfall = silent_entry
    html = Report(d)._repr_html_()
    summaries = re.findall(r"<summary[^>]*>(.*?)</summary>", html, re.S)
    assert len(summaries) == 2
    # sorted by line: line 2 first, then line 4
    assert "line 2" in summaries[0] and "inplace-autograd" in summaries[0]
    assert "A &lt;made-up&gt; finding" in summaries[0]
    assert "line 4" in summaries[1] and silent_entry in summaries[1]
    assert "What &lt;it&gt; is." in html  # the full entry inside the expandable item
    assert "Traceback" not in html and "The line to change" not in html


def test_clean_success_renders_nothing():
    report = Report(Diagnosis(ok=True, cell="x = 1\n"))
    assert report._repr_html_() == "" and str(report) == ""


def test_failure_shows_findings_above_the_error():
    d = inplace_diagnosis(findings=findings_diagnosis().findings)
    html = Report(d)._repr_html_()
    assert html.index("Possible problems in this cell (2)") < html.index("RuntimeError")


def test_no_match_says_so():
    html = Report(inplace_diagnosis(matches=[]))._repr_html_()
    assert "No known pitfall matches this error." in html
    assert f"background-color: {HL_COLOR}" in rows(html)[5]


def test_line_outside_the_cell_is_ignored():
    d = inplace_diagnosis(line=42, related_lines=[], matches=[Match("inplace-autograd", 0.9)])
    html = Report(d)._repr_html_()
    assert HL_COLOR not in html.split("A tensor that backward")[0]


def test_ipython_syntax_and_windows_line_ends_keep_the_numbering():
    cell = "%matplotlib inline\r\n!echo hi\r\nx = torch.ones(2)\x0c\r\ny = x @ x.T @ x\r\nprint(y)\r\n"
    d = inplace_diagnosis(cell=cell, line=4, related_lines=[3])
    code = rows(Report(d)._repr_html_())
    assert sorted(code) == [1, 2, 3, 4, 5]
    assert f"background-color: {HL_COLOR}" in code[4] and "@" in code[4]
    assert RELATED_COLOR in code[3]
    assert "border: 1px solid" not in "".join(code.values())  # no error boxes for `!`


def test_gutter_and_code_are_separate_boxes_of_a_flex_row():
    html = Report(inplace_diagnosis())._repr_html_()
    for number, piece in rows(html).items():
        gutter = re.search(r'<span data-gutter="(\d+)" style="([^"]*)"', piece)
        code = re.search(r'<span data-code="(\d+)" style="([^"]*)"', piece)
        assert gutter and code and gutter.group(1) == code.group(1) == str(number)
        # the gutter is as wide as its content needs, whatever the page's box-sizing
        assert "flex:none" in gutter.group(2) and "box-sizing:content-box" in gutter.group(2)
        assert "min-width:" in gutter.group(2) and "width:" not in gutter.group(2).replace(
            "min-width:", "")
        assert piece.index("data-gutter") < piece.index("data-code")


def test_examples_wrap_their_lines_and_stack_when_narrow():
    html = Report(inplace_diagnosis())._repr_html_()
    example = html[html.index(">Example</summary>"):]
    example = example[:example.index("</details>")]
    blocks = re.findall(r'<div style="flex:1 1 (\d+)ch; min-width:0">', example)
    assert len(blocks) == 2  # Wrong and Right
    assert 'display:flex; flex-wrap:wrap' in example
    pres = re.findall(r'<pre data-snippet style="([^"]*)"', example)
    assert pres and all(style.endswith("white-space:pre-wrap; word-break:normal")
                        for style in pres)
    assert "overflow-wrap:anywhere" in example
