"""The report's own strings exist in every language with the same placeholders."""
from __future__ import annotations

import string

from torchmagic.render.strings import STRINGS, kind_name, ui


def fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_key_exists_in_every_language_with_the_same_placeholders():
    keys = set(STRINGS["en"])
    for lang, table in STRINGS.items():
        assert set(table) == keys, lang
        for key in keys:
            assert table[key].strip(), (lang, key)
            assert fields(table[key]) == fields(STRINGS["en"][key]), (lang, key)


def test_lookup_fills_values_and_falls_back_to_english():
    assert ui("line_to_change_n", "zh", line=3) == "需要修改的行：第 3 行"
    assert ui("why", "fr") == "Why"
    assert kind_name("silent", "zh") == "静默" and kind_name("custom", "en") == "custom"
