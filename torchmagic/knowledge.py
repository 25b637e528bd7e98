"""The pitfall knowledge base: one readable entry per pitfall id, in English and Chinese.

Entries live as data in ``torchmagic/pitfalls/*.toml`` (one file per family) and are read
once, on first use. Users add their own with :func:`register_pitfall` (or through the
``torchmagic.pitfalls`` entry-point group); those rank ahead of the built-in ones.
"""
from __future__ import annotations

import difflib
import locale
import os
import re
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

LANGUAGES = ("en", "zh")
TEXT_FIELDS = ("title", "what", "why", "fix", "finding")
_DATA_DIR = Path(__file__).with_name("pitfalls")


@dataclass
class Entry:
    """One pitfall: how it shows, what it means, how to fix it, in each language."""

    id: str
    kind: str  # "error", "silent" or "env" (as in the catalog)
    family: str
    patterns: list[re.Pattern] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    docs: list[str] = field(default_factory=list)
    example_wrong: str = ""
    example_right: str = ""
    texts: dict[str, dict[str, str]] = field(default_factory=dict)
    details: dict[str, dict[str, str]] = field(default_factory=dict)
    user: bool = False  # registered by the user: ranks ahead of built-in entries

    def text(self, name: str, lang: str = "en", /, **facts: Any) -> str:
        """The entry's text field in `lang`, falling back to English, with facts filled in."""
        for choice in (lang, "en"):
            template = self.texts.get(choice, {}).get(name)
            if template:
                return fill(template, facts)
        return ""

    def detail(self, key: str, lang: str, facts: dict[str, Any]) -> str:
        """A detail sentence naming the user's objects; '' if the entry has none for `key` or
        the facts don't fill all of its placeholders (no sentence beats a half-filled one)."""
        for choice in (lang, "en"):
            template = self.details.get(choice, {}).get(key)
            if template:
                missing = set(_PLACEHOLDER.findall(template)) - set(facts)
                return "" if missing else fill(_worded(template, choice, facts), facts)
        return ""

    def matches_message(self, exc_type: str, message: str) -> bool:
        """Whether the error message matches one of the entry's patterns."""
        if self.exceptions and exc_type not in self.exceptions and not any(
            p.search(message) for p in self.patterns
        ):
            return False
        return any(p.search(message) for p in self.patterns)


_PLACEHOLDER = re.compile(r"(?<!\{)\{(\w+)(?:[:!][^}]*)?\}")


class PlaceText(str):
    """A line of an earlier cell as a detail sentence names it: `7 of In[2]` in English; the
    Chinese sentences' `第 {line} 行` becomes `In[2] 的第 7 行`."""

    line: int
    cell: str

    def __new__(cls, line: int, cell: str) -> "PlaceText":
        text = super().__new__(cls, f"{line} of {cell}")
        text.line, text.cell = line, cell
        return text


def _worded(template: str, lang: str, facts: dict[str, Any]) -> str:
    """The template with each earlier-cell place worded for the language."""
    if lang != "zh":
        return template
    for key, value in facts.items():
        if isinstance(value, PlaceText):
            template = re.sub(r"\s*第\s*\{%s\}\s*行" % re.escape(key), f" {value.cell} 的第 {value.line} 行", template)
            template = template.replace("{%s}" % key, f" {value.cell} 第 {value.line} 行 ")
    return re.sub(r" {2,}", " ", template).strip()


class _Missing(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def fill(template: str, facts: dict[str, Any]) -> str:
    """Fill `{name}` placeholders from facts; unknown placeholders stay as written."""
    try:
        return template.format_map(_Missing(facts))
    except (ValueError, IndexError, AttributeError):
        return template


def _entry_from_table(pid: str, table: dict[str, Any], user: bool = False) -> Entry:
    texts = {}
    details = {}
    for lang in LANGUAGES:
        block = table.get(lang, {})
        texts[lang] = {k: str(v).strip() for k, v in block.items() if k in TEXT_FIELDS}
        details[lang] = {k: str(v).strip() for k, v in block.get("details", {}).items()}
    return Entry(
        id=pid,
        kind=table.get("kind", "error"),
        family=table.get("family", "other"),
        patterns=[re.compile(p, re.IGNORECASE | re.DOTALL) for p in table.get("patterns", [])],
        exceptions=list(table.get("exceptions", [])),
        docs=list(table.get("docs", [])),
        example_wrong=table.get("example_wrong", "").strip("\n"),
        example_right=table.get("example_right", "").strip("\n"),
        texts=texts,
        details=details,
        user=user,
    )


_user_entries: dict[str, Entry] = {}
_user_matchers: list[tuple[str, Callable]] = []


@lru_cache(maxsize=1)
def _builtin_catalog() -> dict[str, Entry]:
    entries: dict[str, Entry] = {}
    for path in sorted(_DATA_DIR.glob("*.toml")):
        with path.open("rb") as fh:
            data = tomllib.load(fh)
        for pid, table in data.items():
            entries[pid] = _entry_from_table(pid, table)
    _load_entry_points()
    return entries


def _load_entry_points() -> None:
    """Run the registration functions that installed packages declare for torchmagic."""
    try:
        from importlib.metadata import entry_points

        for ep in entry_points(group="torchmagic.pitfalls"):
            try:
                ep.load()()
            except Exception:  # a broken plug-in must not break diagnosis
                continue
    except Exception:
        return


def catalog() -> dict[str, Entry]:
    """All entries by id: the user's first, then the built-in ones."""
    merged = dict(_user_entries)
    for pid, entry in _builtin_catalog().items():
        merged.setdefault(pid, entry)
    return merged


def get_entry(pid: str) -> Entry | None:
    """The entry for a pitfall id, or None if there is none."""
    return catalog().get(pid)


def closest_ids(pid: str, n: int = 3) -> list[str]:
    """Ids that look like `pid`, for 'did you mean' messages."""
    ids = list(catalog())
    close = difflib.get_close_matches(pid, ids, n=n, cutoff=0.5)
    return close or [i for i in ids if pid and pid.lower() in i][:n]


def register_pitfall(
    pid: str,
    *,
    title: str,
    what: str,
    fix: str,
    why: str = "",
    patterns: list[str] | tuple[str, ...] = (),
    kind: str = "error",
    family: str = "user",
    exceptions: list[str] | tuple[str, ...] = (),
    docs: list[str] | tuple[str, ...] = (),
    example_wrong: str = "",
    example_right: str = "",
    zh: dict[str, str] | None = None,
    matcher: Callable | None = None,
) -> Entry:
    """Add a pitfall of your own; it ranks ahead of the built-in ones.

    `patterns` are regular expressions searched in the error message. `matcher`, if given,
    is called with a :class:`torchmagic.pitfalls.registry.Context` and returns a score in 0..1, a
    :class:`torchmagic.diagnosis.Match`, or None for "not mine". `zh` holds the Chinese
    texts (title, what, why, fix) where you have them.
    """
    table: dict[str, Any] = {
        "kind": kind,
        "family": family,
        "patterns": list(patterns),
        "exceptions": list(exceptions),
        "docs": list(docs),
        "example_wrong": example_wrong,
        "example_right": example_right,
        "en": {"title": title, "what": what, "why": why, "fix": fix},
    }
    if zh:
        table["zh"] = dict(zh)
    entry = _entry_from_table(pid, table, user=True)
    _user_entries[pid] = entry
    global _user_matchers
    _user_matchers = [(p, m) for p, m in _user_matchers if p != pid]
    if matcher is not None:
        _user_matchers.append((pid, matcher))
    return entry


def unregister_pitfall(pid: str) -> None:
    """Remove a pitfall added with :func:`register_pitfall`."""
    global _user_matchers
    _user_entries.pop(pid, None)
    _user_matchers = [(p, m) for p, m in _user_matchers if p != pid]


def user_matchers() -> list[tuple[str, Callable]]:
    return list(_user_matchers)


def default_language() -> str:
    """'zh' when the user's locale is Chinese, else 'en'."""
    candidates = [os.environ.get(v, "") for v in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE")]
    try:
        candidates.append(locale.getlocale()[0] or "")
    except ValueError:
        pass
    for value in candidates:
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    return "en"
