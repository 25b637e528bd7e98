"""Plain-text and terminal rendering of reports, entries and the catalog.

Every line is laid out on its plain text first (wrapped or truncated to the width, with
East Asian wide characters counting two columns), then coloured when colours are on, so
the coloured and the plain forms have the same layout.
"""
from __future__ import annotations

import re
import textwrap
from typing import Any, Iterable

from wcwidth import wcwidth

from .model import (Explanation, FindingRow, ReportModel, code_lexer, line_count,
                    listed_count, normalize_cell, tensor_cells, visible_lines)
from .strings import kind_name, ui

WIDTH = 100
INDENT = "  "
ELLIPSIS = "…"
MARK_LINE = "-->"
MARK_RELATED = "  *"
TRACEBACK_LINES = 30

# SGR codes of the report's own decorations (the code itself is coloured by pygments).
SGR = {
    "heading": "1",
    "error": "1;31",
    "title": "1",
    "marker": "1;31",
    "related": "35",
    "lineno": "2",
    "lineno_hl": "1",
    "code": "36",
    "id": "36",
    "wrong": "31",
    "right": "32",
    "ok": "32",
    "dim": "2",
}

# A segment is (plain text, rendered text); a line is a list of segments.
Segment = tuple[str, str]
Line = list[Segment]


# ---------------------------------------------------------------- widths
def char_width(ch: str) -> int:
    """Columns a character takes in a terminal (wcwidth): 2 for wide East Asian characters
    and emoji, 0 for combining marks, zero-width and control characters."""
    return max(wcwidth(ch), 0)


def display_width(text: str) -> int:
    """Columns `text` takes in a terminal (one line, no escape codes)."""
    if text.isascii() and text.isprintable():
        return len(text)
    return sum(char_width(ch) for ch in text)


def truncate_words(text: str, width: int, ellipsis: str = ELLIPSIS) -> str:
    """`text` cut to at most `width` columns at a space, ending with an ellipsis when cut
    (at any character when its first word alone is too long)."""
    if display_width(text) <= width:
        return text
    cut = truncate(text, width, "")
    head = cut[:cut.rfind(" ")].rstrip() if " " in cut.strip() else ""
    if head and display_width(head + ellipsis) <= width:
        return head + ellipsis
    return truncate(text, width, ellipsis)


def truncate(text: str, width: int, ellipsis: str = ELLIPSIS) -> str:
    """`text` cut to at most `width` columns, ending with an ellipsis when cut."""
    if display_width(text) <= width:
        return text
    room = width - display_width(ellipsis)
    out: list[str] = []
    used = 0
    for ch in text:
        w = char_width(ch)
        if used + w > room:
            break
        out.append(ch)
        used += w
    return "".join(out) + ellipsis


_NO_LINE_START = set("，。、；：！？）》」』”’,.;:!?)]}")
_TOKEN = re.compile(r"[ \t]+|[^ \t]")
_NBSP = "\u00a0"
_SHORT_CODE = re.compile(r"`[^`\n]{1,40}`")


def _tokens(paragraph: str) -> list[str]:
    """Words for wrapping: runs of narrow non-space characters, single wide characters
    (with closing punctuation kept on the character before it), and spaces."""
    tokens: list[str] = []
    for piece in _TOKEN.findall(paragraph):
        if piece[0] in " \t":
            tokens.append(" ")
            continue
        wide = char_width(piece) == 2
        if tokens and not tokens[-1].isspace():
            last = tokens[-1]
            last_wide = char_width(last[-1]) == 2
            if piece in _NO_LINE_START or (not wide and not last_wide):
                tokens[-1] = last + piece
                continue
        tokens.append(piece)
    return tokens


def wrap(text: str, width: int = WIDTH, indent: str = "",
         subsequent: str | None = None, break_words: bool = True) -> list[str]:
    """`text` wrapped to `width` columns at spaces, paragraph breaks kept; CJK text breaks
    between characters. A word longer than a whole line is split, unless `break_words` is
    false (URLs): then it overflows its line."""
    subsequent = indent if subsequent is None else subsequent
    # Short `code` spans stay on one line: their spaces become no-break spaces meanwhile.
    text = _SHORT_CODE.sub(lambda m: m.group(0).replace(" ", _NBSP), text)
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        paragraph = paragraph.strip(" \t\r")
        if not paragraph:
            lines.append("")
            continue
        if paragraph.replace(_NBSP, " ").isascii():
            lines.extend(
                textwrap.wrap(
                    paragraph, width, initial_indent=indent, subsequent_indent=subsequent,
                    break_on_hyphens=False, break_long_words=break_words,
                )
            )
            continue
        current, used = indent, display_width(indent)
        for token in _tokens(paragraph):
            w = display_width(token)
            if token == " ":
                if current.strip():
                    current, used = current + " ", used + 1
                continue
            if used + w > width and current.strip():
                lines.append(current.rstrip())
                current, used = subsequent, display_width(subsequent)
            while used + w > width and break_words:  # a word longer than a whole line: split it
                room = width - used
                head, rest = _split_at(token, room)
                lines.append(current + head)
                current, used = subsequent, display_width(subsequent)
                token, w = rest, display_width(rest)
            current, used = current + token, used + w
        if current.strip():
            lines.append(current.rstrip())
    return [line.replace(_NBSP, " ") for line in lines]


def _split_at(token: str, room: int) -> tuple[str, str]:
    used = 0
    for i, ch in enumerate(token):
        used += char_width(ch)
        if used > room:
            return token[: max(i, 1)], token[max(i, 1):]
    return token, ""


Tokens = list[tuple[Any, str]]  # pygments (token type, text) pairs of one code line


def wrap_code(tokens: Tokens, width: int, more: str = "    ") -> list[Tokens]:
    """One code line as the pieces that fit `width` columns: broken before a trailing
    comment, else at the last space outside string literals that fits; continuations get
    the line's indent plus `more`. A piece with no place to break stays long (the caller
    cuts it)."""
    plain = "".join(v for _, v in tokens)
    if display_width(plain) <= width:
        return [tokens]
    tokens = _closer_comment(tokens)  # the spaces that align a comment go first
    plain = "".join(v for _, v in tokens)
    if display_width(plain) <= width:
        return [tokens]
    lead = " " * (len(plain) - len(plain.lstrip(" ")))
    pieces: list[Tokens] = []
    while display_width(plain) > width:
        cut = _code_break(tokens, width)
        if cut is None:
            break
        head, rest = _slice(tokens, 0, cut), _slice(tokens, cut, len(plain))
        pieces.append(_strip_tokens(head))
        tokens = [(None, lead + more), *_strip_tokens(rest, left=True)]
        plain = "".join(v for _, v in tokens)
    return pieces + [tokens]


def _closer_comment(tokens: Tokens) -> Tokens:
    """The line with the run of spaces before a trailing comment cut to two."""
    from pygments.token import Comment

    for i, (ttype, value) in enumerate(tokens):
        if ttype is not None and ttype in Comment and i:
            before = _strip_tokens(tokens[:i])
            if before and len("".join(v for _, v in tokens[:i])) - \
                    len("".join(v for _, v in before)) > 2:
                return [*before, (None, "  "), *tokens[i:]]
            break
    return tokens


def _code_break(tokens: Tokens, width: int) -> int | None:
    """Where to break a code line that is too long: a character offset, or None."""
    from pygments.token import Comment, String

    spaces: list[int] = []
    pos, comment = 0, None
    for ttype, value in tokens:
        for ch in value:
            if ch == " " and ttype is not None and ttype not in String:
                spaces.append(pos)
            pos += 1
        if comment is None and ttype is not None and ttype in Comment and pos - len(value) > 0:
            comment = pos - len(value)
    plain = "".join(v for _, v in tokens)
    if comment is not None and plain[:comment].strip() and \
            display_width(plain[:comment].rstrip()) <= width:
        return comment
    spaces = [p for p in spaces if plain[:p].strip() and plain[p:].strip()]
    fitting = [p for p in spaces if display_width(plain[:p].rstrip()) <= width]
    if fitting:
        return fitting[-1] + 1
    return spaces[0] + 1 if spaces else None  # the first piece is too long anyway: cut later


def _slice(tokens: Tokens, start: int, end: int) -> Tokens:
    """The tokens covering characters [start, end) of their line."""
    out: Tokens = []
    pos = 0
    for ttype, value in tokens:
        lo, hi = max(pos, start), min(pos + len(value), end)
        if lo < hi:
            out.append((ttype, value[lo - pos:hi - pos]))
        pos += len(value)
    return out


def _strip_tokens(tokens: Tokens, left: bool = False) -> Tokens:
    """Tokens without the spaces at the end (or, with `left`, at the start) of the line."""
    tokens = list(tokens)
    index = 0 if left else -1
    while tokens:
        ttype, value = tokens[index]
        value = value.lstrip(" ") if left else value.rstrip(" ")
        if value:
            tokens[index] = (ttype, value)
            break
        tokens.pop(index)
    return tokens


# ---------------------------------------------------------------- renderer
class TextRenderer:
    """Draws reports, entries and the catalog as text, coloured or plain."""

    def __init__(self, lang: str = "en", color: bool = False, style: Any = None,
                 width: int = WIDTH) -> None:
        self.lang = lang
        self.color = color
        self.style = style or "default"
        self.width = width
        self._formatter: Any = None
        self._script = False  # a report of a script run from the command line

    # -------------------------------------------------------- segments
    def seg(self, text: str, role: str | None = None) -> Segment:
        if self.color and role and text:
            return text, f"\x1b[{SGR[role]}m{text}\x1b[0m"
        return text, text

    def prose(self, line: str) -> Line:
        """One line of explanation text, with `code` spans coloured."""
        return self.prose_lines([line])[0]

    def prose_lines(self, lines: list[str]) -> list[Line]:
        """Lines of explanation text, with `code` spans coloured (also across lines)."""
        if not self.color:
            return [[(line, line)] for line in lines]
        out: list[Line] = []
        in_code = False
        for line in lines:
            pieces: list[list[Any]] = []  # [text, role], neighbours of one role merged
            for part in re.split(r"(`)", line):
                if part == "`":
                    role = "code"
                    in_code = not in_code
                elif part:
                    role = "code" if in_code else None
                else:
                    continue
                if pieces and pieces[-1][1] == role:
                    pieces[-1][0] += part
                else:
                    pieces.append([part, role])
            out.append([self.seg(text, role) for text, role in pieces])
        return out

    def paragraph(self, text: str, indent: str = INDENT,
                  subsequent: str | None = None) -> list[Line]:
        return self.prose_lines(wrap(text, self.width, indent, subsequent))

    def heading(self, text: str, role: str = "heading") -> Line:
        return [self.seg(truncate(text, self.width), role)]

    @staticmethod
    def join(lines: Iterable[Line]) -> str:
        return "\n".join("".join(r for _, r in line) for line in lines)

    # -------------------------------------------------------- code
    def _code_formatter(self) -> Any:
        if self._formatter is None:
            from pygments.formatters import Terminal256Formatter

            self._formatter = Terminal256Formatter(style=self.style)
        return self._formatter

    @staticmethod
    def _token_lines(source: str) -> list[list[tuple[Any, str]]]:
        """The cell's tokens split into lines (multi-line strings lexed as a whole)."""
        lines: list[list[tuple[Any, str]]] = [[]]
        for ttype, value in code_lexer().get_tokens(source):
            for i, part in enumerate(value.split("\n")):
                if i:
                    lines.append([])
                if part:
                    lines[-1].append((ttype, part))
        return lines

    def code_segments(self, tokens: list[tuple[Any, str]], width: int) -> Line:
        """One code line, cut to `width` columns, highlighted when colours are on."""
        plain = "".join(v for _, v in tokens)
        if display_width(plain) > width:
            kept: list[tuple[Any, str]] = []
            used = 0
            room = width - display_width(ELLIPSIS)
            for ttype, value in tokens:
                w = display_width(value)
                if used + w > room:
                    kept.append((ttype, truncate(value, room - used, "")))
                    break
                kept.append((ttype, value))
                used += w
            tokens = kept + [(None, ELLIPSIS)]
            plain = "".join(v for _, v in tokens)
        if not self.color:
            return [(plain, plain)]
        from pygments import format as pyg_format
        from pygments.token import Text

        rendered = pyg_format([(t or Text, v) for t, v in tokens if v], self._code_formatter())
        return [(plain, rendered)]

    def listing(self, source: str, line: int | None, related: list[int]) -> list[Line]:
        """The cell with line numbers, a marker on the line to change and on related lines."""
        source = normalize_cell(source)
        token_lines = self._token_lines(source)
        focus = [x for x in [line, *related] if x]
        shown = visible_lines(listed_count(source, focus), focus)
        digits = len(str(max([n for n in shown if n] or [1])))
        gutter = len(MARK_LINE) + 1 + digits + 3
        out: list[Line] = []
        for number in shown:
            if number is None:
                out.append([self.seg(" " * (len(MARK_LINE) + 1) + "." * digits, "dim")])
                continue
            if number == line:
                mark = self.seg(MARK_LINE, "marker")
                num = self.seg(f"{number:>{digits}}", "lineno_hl")
            elif number in related:
                mark = self.seg(MARK_RELATED, "related")
                num = self.seg(f"{number:>{digits}}", "related")
            else:
                mark = self.seg(" " * len(MARK_LINE))
                num = self.seg(f"{number:>{digits}}", "lineno")
            tokens = token_lines[number - 1] if number - 1 < len(token_lines) else []
            for i, part in enumerate(wrap_code(tokens, self.width - gutter)):
                if i:  # a continuation of a line too long for the width
                    mark, num = self.seg(" " * len(MARK_LINE)), self.seg(" " * digits)
                row = [mark, self.seg(" "), num, self.seg(" | ", "dim"),
                       *self.code_segments(part, self.width - gutter)]
                out.append(_rstrip(row))
        return out

    def snippet(self, source: str, indent: str = INDENT * 2, label: Segment | None = None,
                ) -> list[Line]:
        """A code example without line numbers, long lines wrapped; `label` (Wrong:, Right:)
        stands in the indent of its first line when it fits there."""
        source = normalize_cell(source)
        lines = self._token_lines(source)[:line_count(source)]
        room = self.width - display_width(indent)
        out = [_rstrip([self.seg(indent), *self.code_segments(part, room)])
               for tokens in lines for part in wrap_code(tokens, room)]
        if label is not None:
            head = INDENT + label[0]
            if out and display_width(head) < display_width(indent):
                pad = " " * (display_width(indent) - display_width(head))
                out[0] = [self.seg(INDENT), label, self.seg(pad), *out[0][1:]]
            else:
                out.insert(0, [self.seg(INDENT), label])
        return out

    # -------------------------------------------------------- pieces
    def explanation(self, ex: Explanation, with_title: bool = True,
                    brief: bool = False) -> list[Line]:
        """A pitfall's explanation; `brief` keeps the title, the detail and the fix, and says
        how to see the rest."""
        out: list[Line] = []
        if with_title:
            out.extend(self.title_line(ex))
        if not ex.found:
            out.extend(self.paragraph(ui("no_entry", self.lang, id=ex.id)))
            return out
        if ex.detail:
            out.extend(self.paragraph(ex.detail))
        for key in ("fix",) if brief else ("what", "why", "fix"):
            text = getattr(ex, key)
            if text:
                out.append([])
                out.append(self.heading(ui(key, self.lang)))
                out.extend(self.paragraph(text))
        if brief:
            hint = ui(self._hint, self.lang, id=ex.id)
            out.append([self.seg(truncate(INDENT + hint, self.width), "dim")])
            return out
        if ex.example_wrong or ex.example_right:
            out.append([])
            out.append(self.heading(ui("example", self.lang)))
            labels = {key: ui(key, self.lang) + ui("colon", self.lang) for key in ("wrong", "right")}
            indent = " " * (display_width(INDENT) + max(map(display_width, labels.values())) + 1)
            for key in ("wrong", "right"):
                code = getattr(ex, f"example_{key}")
                if code:
                    out.extend(self.snippet(code, indent, self.seg(labels[key], key)))
        if ex.docs:  # one block with the example: no blank line between
            label = ui("docs", self.lang) + ui("colon", self.lang)
            text = (" " if label.endswith(":") else "") + "  ·  ".join(ex.docs)
            lines = wrap(label + text, self.width, "", INDENT, break_words=False)
            first = lines[0][len(label):] if lines else ""
            out.append([self.seg(label, "heading"), self.seg(first)])
            out.extend([self.seg(x)] for x in lines[1:])
        return out

    def title_line(self, ex: Explanation) -> list[Line]:
        tag = f"[{ex.id}]"
        if not ex.found:
            return [[self.seg(truncate(tag, self.width), "id")]]
        if display_width(ex.title) + 2 + len(tag) <= self.width:
            return [[self.seg(ex.title, "title"), self.seg("  "), self.seg(tag, "id")]]
        lines = [[self.seg(t, "title")] for t in wrap(ex.title, self.width)]
        return lines + [[self.seg(tag, "id")]]

    @property
    def _hint(self) -> str:
        return "explain_hint_cli" if self._script else "explain_hint"

    def _product(self, m: ReportModel) -> str:
        product = ui("product", self.lang)
        return ui("process", self.lang, product=product, process=m.process) if m.process else product

    def findings(self, rows: list[FindingRow], m: ReportModel | None = None) -> list[Line]:
        """The compact list of findings: line, pitfall id and message, one item each."""
        what = (ui("findings_in", self.lang, file=m.source, n=len(rows)) if m is not None and m.source
                else ui("findings", self.lang, n=len(rows)))
        product = self._product(m) if m is not None else ui("product", self.lang)
        out = [self.heading(f"{product}: {what}")]
        labels = [ui("line_n", self.lang, line=r.line) for r in rows]
        label_w = max(display_width(x) for x in labels)
        id_w = min(max(len(r.id) for r in rows), 30)
        for label, row in zip(labels, rows):
            pad_label = label + " " * (label_w - display_width(label))
            head = [self.seg(INDENT), self.seg(pad_label, "lineno_hl"), self.seg("  "),
                    self.seg(row.id.ljust(id_w), "id"), self.seg("  ")]
            head_w = sum(display_width(p) for p, _ in head)
            message = row.message or row.explanation.title
            if head_w <= self.width // 2:
                wrapped = wrap(message, self.width, " " * head_w)
                first = wrapped[0][head_w:] if wrapped else ""
                out.append([*head, *self.prose(first)])
                out.extend(self.prose(x) for x in wrapped[1:])
            else:
                out.append(_fit(_rstrip(head), self.width))
                out.extend(self.prose(x) for x in wrap(message, self.width, INDENT * 3))
        ids = list(dict.fromkeys(r.id for r in rows))
        hint = ui(self._hint, self.lang, id=ids[0] if len(ids) == 1 else "ID")
        out.append([self.seg(truncate(INDENT + hint, self.width), "dim")])
        return out

    def table(self, header: list[str], rows: list[list[str]]) -> list[Line]:
        """A left-aligned table with a two-space gap. The last column (a title, a note) takes
        the rest of the width and wraps onto rows of its own when longer; with less than 20
        columns left for it, rows are cut to the width instead."""
        widths = [max(display_width(r[i]) for r in [header, *rows]) for i in range(len(header))]
        widths = [min(w, 40) for w in widths[:-1]] + widths[-1:]
        lead = display_width(INDENT) + sum(w + 2 for w in widths[:-1])
        room = self.width - lead

        def cells(values: list[str]) -> list[str]:
            parts = []
            for value, w in zip(values[:-1], widths):
                value = truncate(value, w)
                parts.append(value + " " * (w - display_width(value)))
            head = INDENT + "".join(p + "  " for p in parts)
            if room < 20 or display_width(values[-1]) <= room:
                return [truncate((head + values[-1]).rstrip(), self.width)]
            last = wrap(values[-1], room)
            return [head + last[0], *(" " * lead + x for x in last[1:])]

        out = [[self.seg(x, "dim")] for x in cells(header)]
        out.extend([self.seg(x)] for r in rows for x in cells(r))
        return out

    # -------------------------------------------------------- documents
    def report(self, m: ReportModel) -> str:
        """The whole report of one cell run ('' for a clean successful run)."""
        if m.empty:
            return ""
        lang = self.lang
        self._script = bool(m.source)
        out: list[Line] = []
        if m.findings:
            out.extend(self.findings(m.findings, m))
        if m.internal_error:
            if out:
                out.append([])
            first = (m.internal_error.strip().splitlines() or [""])[-1]
            key = "internal_error_script" if m.source else "internal_error"
            out.append([self.seg(truncate(ui(key, lang, error=first), self.width), "dim")])
            return self.join(out)
        if m.ok:
            return self.join(out)
        if out:
            out.append([])
        error_type = m.error_type or "Error"
        head = f"{self._product(m)}: "
        message = m.error_message.strip()
        one_line = bool(message) and "\n" not in message and \
            display_width(head + error_type + ": " + message) <= self.width
        if one_line:  # a short message stands after the type
            out.append([self.seg(head), self.seg(error_type, "error"), self.seg(": " + message)])
        else:
            out.append([self.seg(head), self.seg(truncate(error_type, self.width - 12), "error")])
        if m.error_message and not one_line:
            lines = m.error_message.splitlines()
            text = "\n".join(lines[:12])
            out.extend([self.seg(x)] for x in wrap(text, self.width, INDENT))
            if len(lines) > 12:
                out.append([self.seg(INDENT + ELLIPSIS, "dim")])
        if m.cause_line is not None:  # the line to change is in an earlier cell
            out.append([])
            out.append(self.heading(ui("line_to_change_in", lang, cell=m.cause_label, line=m.cause_line)))
            out.extend(self.listing(m.cause_source, m.cause_line, []))
            if m.line is not None:
                out.append([])
                out.append(self.heading(ui("reached_on", lang, line=m.line)))
                out.extend(self.listing(m.cell, m.line, m.related_lines))
        elif m.line is not None or m.related_lines:
            out.append([])
            if m.source:
                head = (ui("line_to_change_at", lang, file=m.source, line=m.line) if m.line is not None
                        else ui("script", lang, file=m.source))
            else:
                head = (ui("line_to_change_n", lang, line=m.line) if m.line is not None
                        else ui("cell", lang))
            out.append(self.heading(head))
            out.extend(self.listing(m.cell, m.line, m.related_lines))
        if m.trace and len(m.trace) > 1:
            out.append([])
            out.append(self.heading(ui("trace", lang)))
            for step in m.trace:
                out.extend([self.seg(x)] for x in wrap("- " + step, self.width, INDENT, INDENT + "  "))
        out.append([])
        if m.explanation is not None:
            out.extend(self.explanation(m.explanation, brief=m.brief))
        else:
            out.extend(self.paragraph(ui("no_match", lang), ""))
        if m.tensors:
            out.append([])
            out.append(self.heading(ui("tensors", lang)))
            out.extend(self.tensor_table(m.tensors))
        if m.rerun is not None:
            out.append([])
            out.extend(self.rerun(m.rerun))
        if m.others:
            out.append([])
            out.append(self.heading(ui("other_causes", lang)))
            for o in m.others:
                extra = ui("score", lang, score=o.score)
                if o.line:
                    extra += ui("sep", lang) + ui("on_line", lang, line=o.line)
                name = f"{o.id}: {o.title}" if o.title != o.id else o.id
                text = f"- {name} ({extra})"
                out.extend(self.prose(x) for x in wrap(text, self.width, INDENT, INDENT + "  "))
        if m.ranks:
            out.append([])
            out.append(self.heading(ui("ranks", lang)))
            for line in m.ranks:
                out.extend(self.prose(x) for x in wrap("- " + line, self.width, INDENT, INDENT + "  "))
        if m.notes:
            out.append([])
            out.append(self.heading(ui("notes", lang)))
            for note in m.notes:
                out.extend([self.seg(x, "dim")] for x in
                           wrap("- " + note, self.width, INDENT, INDENT + "  "))
        if m.traceback:
            out.append([])
            out.append(self.heading(ui("traceback", lang)))
            lines = m.traceback.expandtabs(4).splitlines()
            if len(lines) > TRACEBACK_LINES:
                out.append([self.seg(INDENT + ui("traceback_cut", lang,
                                                  n=len(lines) - TRACEBACK_LINES), "dim")])
                lines = lines[-TRACEBACK_LINES:]
            out.extend([self.seg(truncate(INDENT + x, self.width).rstrip())] for x in lines)
        return self.join(out)

    def tensor_table(self, tensors: list[Any]) -> list[Line]:
        keys, cells = tensor_cells(tensors)
        rows = [[value or "-" for value in row] for row in cells]
        return self.table([ui(f"col_{k}", self.lang) for k in keys], rows)

    def rerun(self, rerun: Any) -> list[Line]:
        lang = self.lang
        out = [self.heading(ui("rerun", lang, device=rerun.device))]
        if rerun.ok:
            out.extend([self.seg(x, "ok")] for x in
                       wrap(ui("rerun_ok", lang, device=rerun.device), self.width, INDENT))
        else:
            etype = rerun.error.type if rerun.error else "Error"
            key = "rerun_failed" if rerun.line else "rerun_failed_no_line"
            out.extend(self.paragraph(ui(key, lang, device=rerun.device, type=etype,
                                         line=rerun.line)))
            if rerun.error and rerun.error.message:
                out.extend(self.paragraph(rerun.error.message, INDENT * 2))
        if rerun.pitfalls:
            out.extend(self.paragraph(ui("rerun_pitfalls", lang, ids=", ".join(rerun.pitfalls))))
        if rerun.note:
            out.extend(self.paragraph(rerun.note))
        return out

    def entry(self, ex: Explanation) -> str:
        """One knowledge-base entry in full (for `%torchdebug explain`)."""
        out = self.title_line(ex)
        if ex.found:
            out.append([self.seg(truncate(
                f"{kind_name(ex.kind, self.lang)} · {ex.family}", self.width), "dim")])
        out.extend(self.explanation(ex, with_title=False))
        return self.join(out)

    def catalog(self, rows: list[Explanation], word: str) -> str:
        """The list of pitfalls (id, kind, family, title)."""
        lang = self.lang
        if not rows:
            return self.join([self.heading(ui("catalog_empty", lang, word=word))])
        head = (ui("catalog_word", lang, word=word, n=len(rows)) if word
                else ui("catalog", lang, n=len(rows)))
        out = [self.heading(head)]
        out.extend(self.table(
            [ui("col_id", lang), ui("col_kind", lang), ui("col_family", lang),
             ui("col_title", lang)],
            [[r.id, kind_name(r.kind, lang), r.family, r.title] for r in rows],
        ))
        return self.join(out)


def _rstrip(line: Line) -> Line:
    while line and not line[-1][0].strip() and line[-1][0] == line[-1][1]:
        line = line[:-1]
    return line


def _fit(line: Line, width: int) -> Line:
    """Cut a line of segments to `width` columns (colour dropped from a cut segment)."""
    used = 0
    out: Line = []
    for plain, rendered in line:
        w = display_width(plain)
        if used + w <= width:
            out.append((plain, rendered))
            used += w
            continue
        cut = truncate(plain, width - used)
        out.append((cut, cut))
        break
    return out
