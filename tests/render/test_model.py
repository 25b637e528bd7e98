"""What a report shows, gathered from a Diagnosis: lines, entries, windows."""
from __future__ import annotations

from torchmagic.diagnosis import Diagnosis, Match
from torchmagic.render.model import build, visible_lines

from .cases import inplace_diagnosis


def test_visible_lines_keeps_short_cells_whole_and_windows_long_ones():
    assert visible_lines(5, [3]) == [1, 2, 3, 4, 5]
    assert visible_lines(100, [50], context=2) == [None, 48, 49, 50, 51, 52, None]
    # a gap of one line is shown instead of a gap marker
    assert visible_lines(100, [5, 11], context=2) == [None, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
                                                      13, None]
    assert visible_lines(40, [], full_limit=30)[-1] is None


def test_build_takes_the_match_line_when_the_diagnosis_has_none():
    d = inplace_diagnosis(line=None, related_lines=[],
                          matches=[Match("inplace-autograd", 0.9, line=5, related_lines=[4, 5])])
    m = build(d)
    assert m.line == 5 and m.related_lines == [4]


def test_facts_named_like_parameters_fill_the_texts():
    # the entry's detail template uses {name} and {line}
    m = build(inplace_diagnosis())
    assert m.explanation.detail == "`out` is produced on line 4 and modified in place on line 5."


def test_missing_entry_and_clean_run():
    m = build(inplace_diagnosis(matches=[Match("not-an-id", 0.4)]))
    assert m.explanation.found is False and m.explanation.title == "not-an-id"
    assert build(Diagnosis(ok=True)).empty
    assert not build(Diagnosis(ok=True, internal_error="boom")).empty
