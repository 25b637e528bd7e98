"""The README's first example runs as written, in a real shell, and shows what the README says."""
from __future__ import annotations

import re

import torchmagic
from conftest import ROOT


def first_example() -> list[str]:
    """The python blocks of the README before its first section."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    intro = text[:text.index("\n## ")]
    return re.findall(r"```python\n(.*?)```", intro, re.S)


def test_the_first_example_runs_as_written_and_marks_line_2(shell):
    blocks = first_example()
    assert blocks[0].strip() == "%load_ext torchmagic" and len(blocks) == 3
    shell.run_line_magic("unload_ext", "torchmagic")
    results = [shell.run_cell(block) for block in blocks]
    assert results[0].success and results[1].success
    assert isinstance(results[2].error_in_exec, IndexError)
    assert "Target 5 is out of bounds" in str(results[2].error_in_exec)
    d = torchmagic.last_diagnosis()
    assert d.line == 2 and d.pitfalls[0] == "target-out-of-range"


def test_the_catalog_table_lists_every_built_in_pitfall():
    from torchmagic.knowledge import catalog

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    table = text[text.index("## The catalog"):]
    listed = set(re.findall(r"^\| `([a-z0-9-]+)` \|", table, re.M))
    built_in = {pid for pid, entry in catalog().items() if not entry.user}
    assert listed == built_in
