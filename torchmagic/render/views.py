"""Displayable views of the knowledge base: one entry, and the catalog of pitfalls."""
from __future__ import annotations

from typing import Any

from ..knowledge import Entry
from . import html, terminal
from .model import Explanation, explain_entry
from .text import TextRenderer


class Displayable:
    """Shared display logic: HTML, text coloured for terminals, plain text."""

    width: int | None = None  # columns of the text form; None: the terminal's (see text_width)

    def __init__(self, lang: str, color: bool | None, shell: Any) -> None:
        self.lang = lang
        self._color = color
        self._shell = shell

    def _renderer(self, color: bool) -> TextRenderer:
        style = terminal.code_style(self._shell) if color else None
        width = self.width or terminal.text_width(self._shell)
        return TextRenderer(self.lang, color=color, style=style, width=width)

    def text(self, color: bool = False) -> str:  # pragma: no cover - overridden
        raise NotImplementedError

    def __str__(self) -> str:
        return self.text(color=False)

    def __repr__(self) -> str:
        return f"<torchmagic {type(self).__name__} {self._describe()}>"

    def _describe(self) -> str:  # pragma: no cover - overridden
        return ""

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        if cycle:
            p.text(repr(self))
            return
        color = self._color if self._color is not None else terminal.colors_enabled(self._shell)
        p.text(self.text(color=color))


class EntryView(Displayable):
    """One pitfall's full explanation (what `%torchdebug explain ID` shows)."""

    def __init__(self, entry: Entry, lang: str = "en", *, color: bool | None = None,
                 shell: Any = None) -> None:
        super().__init__(lang, color, shell)
        self.entry = entry
        self.explanation: Explanation = explain_entry(entry, lang)

    def text(self, color: bool = False) -> str:
        """The entry as text, with terminal colours when `color` is true."""
        return self._renderer(color).entry(self.explanation)

    def _repr_html_(self) -> str:
        return html.entry(self.explanation, self.lang)

    def _describe(self) -> str:
        return f"{self.entry.id!r} ({self.lang})"


class CatalogView(Displayable):
    """The pitfall ids with kind, family and title, filtered by a word (`%torchdebug list`)."""

    def __init__(self, catalog: dict[str, Entry], word: str = "", lang: str = "en", *,
                 color: bool | None = None, shell: Any = None) -> None:
        super().__init__(lang, color, shell)
        self.word = word.strip()
        rows = [explain_entry(e, lang) for e in catalog.values()]
        self.rows: list[Explanation] = sorted(
            (r for r in rows if self._matches(r, catalog[r.id])),
            key=lambda r: (r.family, r.id),
        )

    def _matches(self, row: Explanation, entry: Entry) -> bool:
        if not self.word:
            return True
        needle = self.word.lower()
        titles = [row.title, entry.text("title", "en")]
        return any(needle in s.lower() for s in [row.id, row.family, *titles])

    def text(self, color: bool = False) -> str:
        """The catalog as text, with terminal colours when `color` is true."""
        return self._renderer(color).catalog(self.rows, self.word)

    def _repr_html_(self) -> str:
        return html.catalog(self.rows, self.word, self.lang)

    def _describe(self) -> str:
        return f"{len(self.rows)} pitfalls"
