"""The knowledge base's sentences: facts filled in, places in earlier cells worded per language."""
from __future__ import annotations

import json

from torchmagic.knowledge import PlaceText, get_entry


def test_a_place_in_an_earlier_cell_reads_naturally_in_both_languages():
    entry = get_entry("backward-twice")
    place = PlaceText(7, "In[2]")
    en = entry.detail("summed_again", "en", {"name": "aux_loss", "line": place})
    zh = entry.detail("summed_again", "zh", {"name": "aux_loss", "line": place})
    assert "line 7 of In[2]" in en
    assert "In[2] 的第 7 行" in zh and " of " not in zh


def test_a_line_of_the_cell_itself_is_a_plain_number():
    entry = get_entry("backward-twice")
    zh = entry.detail("summed_again", "zh", {"name": "aux_loss", "line": 9})
    assert "第 9 行" in zh


def test_a_place_is_still_a_string_for_json():
    assert json.loads(json.dumps({"line": PlaceText(3, "In[5]")})) == {"line": "3 of In[5]"}
