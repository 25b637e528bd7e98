"""Plain and coloured text: markers, width limits, wrapping, CJK widths, languages."""
from __future__ import annotations

import re

from torchmagic.diagnosis import Diagnosis, Match
from torchmagic.render import Report
from torchmagic.render.text import display_width, truncate, wrap

from .cases import (INPLACE_CELL, columns, compare_diagnosis, findings_diagnosis,
                    inplace_diagnosis, run_failing, strip_ansi)


def listing_rows(text: str) -> dict[int, str]:
    """The code listing's rows by line number."""
    out = {}
    for line in text.splitlines():
        m = re.match(r"^(-->|  \*|   ) +(\d+) \| ", strip_ansi(line))
        if m:
            out.setdefault(int(m.group(2)), strip_ansi(line))
    return out


def test_plain_text_marks_the_line_to_change_and_related_lines():
    text = str(Report(inplace_diagnosis()))
    assert "\x1b" not in text
    rows = listing_rows(text)
    assert sorted(rows) == list(range(1, 8))
    assert rows[5].startswith("--> 5 | out += 1")
    assert rows[4].startswith("  * 4 | out = torch.sigmoid(h)")
    assert rows[7].startswith("  * 7 | loss.backward()")
    assert rows[6].startswith("    6 | loss = out.sum()")
    assert "The line to change: line 5" in text
    assert "A tensor that backward needs was changed in place  [inplace-autograd]" in text
    assert "`out` is produced on line 4 and modified in place on line 5." in text
    for heading in ("What happened", "Why", "Fix", "Example", "Traceback",
                    "Other possible causes"):
        assert f"\n{heading}\n" in text


def test_coloured_text_has_the_same_layout_as_plain_text():
    report = Report(inplace_diagnosis())
    coloured = report.text(color=True)
    assert "\x1b[" in coloured
    assert strip_ansi(coloured) == str(report)
    rows = listing_rows(coloured)
    assert rows[5].startswith("--> 5 | out += 1")


def long_diagnosis(lang: str) -> Diagnosis:
    """A real failure in a cell with a very long line and a long message."""
    long_line = "y = torch.ones(3) + " + " + ".join(["torch.zeros(3)"] * 30) + "  # 中文注释" * 5
    cell = INPLACE_CELL.replace("h = x * 2\n", "h = x * 2\n" + long_line + "\n")
    error, tb, _ = run_failing(cell)
    error.message = error.message + " 这是一条很长的中文说明，" * 12
    return inplace_diagnosis(lang, cell=cell, error=error, line=6, related_lines=[4, 8],
                             traceback=tb + "x" * 300 + "\n")


def test_every_line_fits_in_100_columns_in_both_languages_and_both_forms():
    for lang in ("en", "zh"):
        report = Report(long_diagnosis(lang))
        for text in (str(report), report.text(color=True)):
            widths = [columns(line) for line in text.splitlines()]
            assert max(widths) <= 100, (lang, max(widths))
            assert max(widths) >= 95  # the long lines were wrapped or cut, not dropped


def test_long_code_lines_wrap_at_spaces_onto_rows_without_a_number():
    text = str(Report(long_diagnosis("en")))
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("  * 4 | "))
    rows = [lines[start]]
    for line in lines[start + 1:]:
        if not line.startswith("      | "):
            break
        rows.append(line)
    assert len(rows) >= 3 and all(columns(row) <= 100 for row in rows)
    code = " ".join(row[8:].strip() for row in rows)
    long_line = ("y = torch.ones(3) + " + " + ".join(["torch.zeros(3)"] * 30)
                 + "  # 中文注释" * 5)
    assert code.split() == long_line.split()  # every word kept, none cut in two
    assert rows[-1].endswith(("  # 中文注释" * 5).strip())  # the comment stays on one row


def test_code_wraps_before_a_comment_after_closing_its_alignment_gap():
    from torchmagic.render.model import code_lexer
    from torchmagic.render.text import wrap_code

    line = "self.fc = nn.Linear(16 * 5 * 5, 10)           # size copied from another network"
    tokens = [t for t in code_lexer().get_tokens(line) if t[1] != "\n"]

    def plain(parts):
        return ["".join(v for _, v in part) for part in parts]

    assert plain(wrap_code(tokens, 100)) == [line]
    assert plain(wrap_code(tokens, 72)) == [
        "self.fc = nn.Linear(16 * 5 * 5, 10)  # size copied from another network"]
    assert plain(wrap_code(tokens, 60)) == ["self.fc = nn.Linear(16 * 5 * 5, 10)",
                                            "    # size copied from another network"]
    # no break inside a string literal
    text = 'print("a very long message that must not be broken") + more_words_after'
    parts = plain(wrap_code([t for t in code_lexer().get_tokens(text) if t[1] != "\n"], 40))
    assert parts == ['print("a very long message that must not be broken")',
                     "    + more_words_after"]


def test_wrap_counts_wide_characters_twice():
    text = "反向传播需要的张量被原地修改了，" * 10 + "then `some_code()` and English words."
    lines = wrap(text, 30, "  ")
    assert all(columns(line) <= 30 for line in lines)
    assert max(columns(line) for line in lines) >= 28
    assert "".join(line.strip() for line in lines).replace(" ", "") == text.replace(" ", "")
    assert display_width("张量 ab") == 7
    assert truncate("张量张量张量", 7) == "张量张…"
    # a short `code` span is never split over two lines
    narrow = wrap("Use `x = x.clamp(0)` instead of the in-place form here.", 22)
    assert any("`x = x.clamp(0)`" in line for line in narrow)


def test_chinese_report_has_chinese_headings():
    text = str(Report(inplace_diagnosis("zh")))
    for heading in ("需要修改的行：第 5 行", "发生了什么", "原因", "解决方法", "示例",
                    "原始报错信息（Traceback）", "其他可能的原因"):
        assert heading in text
    assert "What happened" not in text
    assert "  错误写法：" in text


def test_findings_render_one_item_each_before_nothing_else():
    text = str(Report(findings_diagnosis()))
    lines = text.splitlines()
    assert lines[0] == "torchmagic: Possible problems in this cell (2)"
    assert re.match(r"  line 2  inplace-autograd   A <made-up> finding on line 2\.$", lines[1])
    assert re.match(r"  line 4  grad-accumulation  `backward\(\)` runs in a loop", lines[2])
    assert "%torchdebug explain ID" in lines[-1]
    assert "Traceback" not in text and "-->" not in text


def test_missing_entry_shows_error_and_line():
    text = str(Report(compare_diagnosis()))
    assert "torchmagic: TypeError" in text
    assert "'<' not supported between instances of 'Linear' and 'Linear'" in text
    assert listing_rows(text)[4].startswith("--> 4 |     layers = sorted(layers)")
    assert "No explanation is available for `no-such-pitfall-for-tests` yet." in text


def test_long_cells_show_windows_around_the_interesting_lines():
    cell = "".join(f"v{i} = {i}\n" for i in range(1, 101))
    d = inplace_diagnosis(cell=cell, line=60, related_lines=[90], matches=[], tensors=[],
                          traceback="")
    rows = listing_rows(str(Report(d)))
    assert sorted(rows) == [*range(57, 64), *range(87, 94)]
    assert rows[60].startswith("--> 60 | v60 = 60")
    assert sum(1 for line in str(Report(d)).splitlines() if line.strip() == "..") == 3


def test_internal_error_is_one_line():
    d = inplace_diagnosis(internal_error="KeyError: 'x'")
    text = str(Report(d))
    assert text.count("\n") == 0 and "could not diagnose this cell" in text


def test_no_match_and_other_matches():
    d = inplace_diagnosis(matches=[Match("no-such-id-a", 0.5), Match("no-such-id-b", 0.25, line=3)])
    text = str(Report(d))
    assert "[no-such-id-a]" in text
    assert "  - no-such-id-b (score 0.25, line 3)" in text


def test_windows_line_ends_and_tabs_in_the_listing():
    cell = "import torch\r\nif True:\r\n\tx = torch.ones(2)\r\n\tx += 1\r\n"
    rows = listing_rows(str(Report(inplace_diagnosis(cell=cell, line=4, related_lines=[]))))
    assert sorted(rows) == [1, 2, 3, 4]
    assert rows[4] == "--> 4 |     x += 1"
