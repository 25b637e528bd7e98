"""EntryView and CatalogView: one entry in full, and the filtered catalog."""
from __future__ import annotations

import re

import pytest

from torchmagic.knowledge import catalog, get_entry, register_pitfall, unregister_pitfall
from torchmagic.render import CatalogView, EntryView

from .cases import columns


@pytest.fixture
def extra_entry():
    register_pitfall("render-test-cjk", kind="silent", family="testing",
                     title="Layers kept in a quuxified list", what="w", fix="f",
                     zh={"title": "层被放进量子抽屉里"})
    yield "render-test-cjk"
    unregister_pitfall("render-test-cjk")


def test_entry_view_html_has_the_whole_entry_with_highlighted_examples():
    html = EntryView(get_entry("inplace-autograd"), "en")._repr_html_()
    assert "A tensor that backward needs was changed in place" in html
    for heading in ("What happened", "Why", "Fix", "Example", "Wrong", "Right"):
        assert f">{heading}<" in html
    # the examples are highlighted by pygments (inline colour spans around the code)
    assert re.search(r'<span style="color: #[0-9A-Fa-f]{3,6}[^"]*">\+=</span>', html)
    assert 'href="https://pytorch.org/docs/stable/notes/autograd.html' in html


def test_entry_view_text_in_both_languages():
    entry = get_entry("inplace-autograd")
    en = str(EntryView(entry, "en"))
    assert en.splitlines()[0] == "A tensor that backward needs was changed in place  " \
                                 "[inplace-autograd]"
    assert "error · autograd" in en and "\nFix\n" in en and "\x1b" not in en
    zh = str(EntryView(entry, "zh"))
    assert zh.startswith("反向传播需要的张量被原地")
    assert "\n解决方法\n" in zh and "  正确写法：" in zh
    assert all(columns(line) <= 100 for line in zh.splitlines())


def test_catalog_filters_by_id_family_and_title(extra_entry):
    everything = catalog()
    assert {r.id for r in CatalogView(everything, "", "en").rows} == set(everything)
    by_family = CatalogView(everything, "testing", "en")
    assert [r.id for r in by_family.rows] == [extra_entry]
    by_title = CatalogView(everything, "QUUXIFIED LIST", "en")  # case-insensitive
    assert [r.id for r in by_title.rows] == [extra_entry]
    by_zh_title = CatalogView(everything, "量子抽屉", "zh")
    assert [r.id for r in by_zh_title.rows] == [extra_entry]
    assert "inplace-autograd" in [r.id for r in CatalogView(everything, "inplace", "en").rows]


def test_catalog_renders_kind_family_and_title(extra_entry):
    view = CatalogView(catalog(), "render-test", "zh")
    text = str(view)
    assert text.splitlines()[0] == "与“render-test”相关的问题（1 条）"
    assert re.search(r"render-test-cjk\s+静默\s+testing\s+层被放进量子抽屉里", text)
    html = view._repr_html_()
    assert ">render-test-cjk<" in html and ">静默<" in html and "层被放进量子抽屉里" in html


def test_empty_catalog_says_nothing_matches():
    view = CatalogView(catalog(), "<nothing-like-this>", "en")
    assert str(view) == "No pitfall matches '<nothing-like-this>'."
    assert "&lt;nothing-like-this&gt;" in view._repr_html_()


def test_magic_returns_the_views(shell):
    view = shell.run_line_magic("torchdebug", "explain inplace-autograd")
    assert isinstance(view, EntryView) and view.entry.id == "inplace-autograd"
    listing = shell.run_line_magic("torchdebug", "list autograd")
    assert isinstance(listing, CatalogView)
    assert "inplace-autograd" in [r.id for r in listing.rows]


@pytest.mark.parametrize("width", [80, 110])
def test_catalog_titles_use_the_width_and_are_never_cut(width):
    view = CatalogView(catalog(), "", "en")
    view.width = width
    text = str(view)
    lines = text.splitlines()
    assert all(columns(line) <= width for line in lines)
    start = lines[1].index("title")
    titles = []
    for line in lines[2:]:
        if line[:start].strip():
            titles.append(line[start:])
        else:
            titles[-1] += " " + line[start:]
    assert titles == [row.title for row in view.rows]
    assert max(columns(line) for line in lines) >= width - 12  # the width is used
