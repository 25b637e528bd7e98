"""HTML rendering of reports, entries and the catalog for notebook frontends.

The output is self-contained: inline styles only, no CSS classes, no JavaScript. Text
inherits the notebook's foreground colour and boxes use semi-transparent tints, so it
reads in light and dark themes; code blocks carry their own light background and text
colour, so the pygments colours keep their contrast in both.
"""
from __future__ import annotations

import html
import re
from typing import Any

from .model import (Explanation, FindingRow, ReportModel, code_lexer, line_count,
                    listed_count, normalize_cell, tensor_cells, visible_lines)
from .strings import kind_name, ui

# Colours of the code blocks (explicit background: the same in every theme).
CODE_BG = "#f6f8fa"
CODE_FG = "#1f2328"
HL_COLOR = "#fff1a8"  # the line to change (pygments hl_lines)
RELATED_COLOR = "#e7eefc"  # related lines
GUTTER_FG = "#6e7781"
MARK_COLOR = "#cf222e"
RELATED_MARK_COLOR = "#8250df"

# Colours on the notebook's own background: mid-tones and tints that work on both.
ERROR_COLOR = "#d1242f"
FAIL_ACCENT = "#d1242f"
FINDING_ACCENT = "#d4a72c"
RIGHT_COLOR = "#2da44e"
LINK_COLOR = "#2f81f7"
TINT = "rgba(127,127,127,0.12)"
RULE = "rgba(127,127,127,0.35)"

MONO = ("ui-monospace, SFMono-Regular, Menlo, Consolas, 'DejaVu Sans Mono', "
        "'Liberation Mono', monospace")

_BOX = ("margin:6px 0; padding:8px 12px; border-left:4px solid {accent}; "
        "background:{tint}; border-radius:4px; color:inherit; line-height:1.45; "
        "font-size:14px; max-width:100%; overflow-x:auto")
_HEADING = "font-weight:600; margin:10px 0 3px 0"
_PARA = "margin:2px 0 6px 0"
_PRE = (f"margin:4px 0; padding:6px 0; background:{CODE_BG}; color:{CODE_FG}; "
        f"border:1px solid {RULE}; border-radius:4px; overflow-x:auto; "
        f"font-family:{MONO}; font-size:12.5px; line-height:1.45; white-space:pre")
_INLINE_CODE = (f"background:{TINT}; color:inherit; padding:0 0.25em; border-radius:3px; "
                f"font-family:{MONO}; font-size:0.92em")
_CELL = (f"text-align:left; padding:2px 12px 2px 0; border:none; "
         f"border-bottom:1px solid {RULE}; background:transparent; color:inherit; "
         f"vertical-align:top")


def esc(text: Any) -> str:
    """`text` escaped for HTML content and attribute values."""
    return html.escape(str(text), quote=True)


def inline(text: str) -> str:
    """Explanation text as HTML: escaped, `code` spans set in monospace."""
    escaped = esc(text)
    return re.sub(r"`([^`]+)`", lambda m: f'<code style="{_INLINE_CODE}">{m.group(1)}</code>',
                  escaped)


def paragraphs(text: str) -> str:
    return "".join(f'<p style="{_PARA}">{inline(p)}</p>'
                   for p in re.split(r"\n\s*\n", text.strip()) if p.strip())


def _code_style() -> Any:
    from pygments.styles import get_style_by_name

    from pygments.token import Error

    base = get_style_by_name("default")
    # no red box around what the lexer does not know (IPython syntax, unfinished code)
    styles = {**base.styles, Error: ""}
    return type("TorchmagicCodeStyle", (base,), {"highlight_color": HL_COLOR,
                                                  "background_color": CODE_BG,
                                                  "styles": styles})


def highlight_lines(source: str, hl_line: int | None = None) -> list[str]:
    """The source as highlighted HTML, one string per source line.

    The line to change carries pygments' hl_lines background; pygments closes every
    token's span at the end of its line, so lines can be laid out one by one.
    """
    from pygments import highlight
    from pygments.formatters import HtmlFormatter

    source = normalize_cell(source)
    n_lines = line_count(source)
    if not n_lines:
        return []
    formatter = HtmlFormatter(noclasses=True, nowrap=True, style=_code_style(),
                              hl_lines=[hl_line] if hl_line else [])
    out = highlight(source, code_lexer(), formatter)
    # hl_lines wraps "line\n" in a span: move its closing tag before the newline.
    out = out.replace("\n</span>", "</span>\n")
    return out.split("\n")[:n_lines]


def code_block(source: str, line: int | None = None, related: list[int] | None = None,
               numbers: bool = True) -> str:
    """A code listing with line numbers (1-based, as in the cell), the line to change
    highlighted and marked, related lines tinted and marked.

    Each row is a flex box: the gutter keeps the width its marker and number need (a marker
    glyph wider than its font's `ch`, a theme's `box-sizing`, cannot push it into the code).
    Listings without numbers (examples) wrap their long lines instead of scrolling, so a
    comment at the end of a line is never cut off.
    """
    related = related or []
    rows = highlight_lines(source, line if numbers else None)
    if not rows:
        return ""
    if not numbers:
        body = "".join(f'<span style="display:block; padding:0 12px; white-space:pre-wrap; '
                       f'word-break:normal; overflow-wrap:anywhere">{code or " "}</span>'
                       for code in rows)
        # word-break: JupyterLab's outputs break <pre> text between any two letters
        return (f'<pre data-snippet style="{_PRE}; white-space:pre-wrap; word-break:normal">'
                f'{body}</pre>')
    focus = [x for x in [line, *related] if x]
    shown = visible_lines(listed_count(normalize_cell(source), focus), focus)
    digits = len(str(max([n for n in shown if n] or [1])))
    # the number ends with a space of its own: the row's text reads "➜ 11 logits = ...",
    # never "11logits", also where styles are lost (copied text, screen readers)
    gutter_style = (f"flex:none; box-sizing:content-box; min-width:{digits + 3}ch; "
                    f"padding:0 0.5ch; text-align:right; white-space:pre; "
                    f"user-select:none")
    parts = []
    for number in shown:
        if number is None:
            parts.append(f'<span style="display:flex; border-left:3px solid transparent">'
                         f'<span style="{gutter_style}; color:{GUTTER_FG}">⋮</span></span>')
            continue
        code = rows[number - 1] or " "
        if number == line:
            row_style = f"background:{HL_COLOR}; border-left:3px solid {MARK_COLOR}"
            mark, mark_color, weight = "➜", MARK_COLOR, "700"
        elif number in related:
            row_style = f"background:{RELATED_COLOR}; border-left:3px solid {RELATED_MARK_COLOR}"
            mark, mark_color, weight = "•", RELATED_MARK_COLOR, "400"
        else:
            row_style = "border-left:3px solid transparent"
            mark, mark_color, weight = "", GUTTER_FG, "400"
        gutter = (f'<span data-gutter="{number}" style="{gutter_style}; color:{mark_color}; '
                  f'font-weight:{weight}">{mark}{" " if mark else ""}'
                  f'<span data-line="{number}">{number}</span> </span>')
        parts.append(f'<span style="display:flex; padding-right:12px; {row_style}">'
                     f'{gutter}<span data-code="{number}" style="flex:none; white-space:pre">'
                     f'{code}</span></span>')
    return (f'<pre style="{_PRE}"><span style="display:inline-block; min-width:100%; '
            f'vertical-align:top">' + "".join(parts) + "</span></pre>")


def heading(text: str) -> str:
    return f'<div style="{_HEADING}">{esc(text)}</div>'


def table(header: list[str], rows: list[list[str]], mono: tuple[int, ...] = ()) -> str:
    """A small left-aligned table (values escaped; columns in `mono` in monospace). In an
    output narrower than the table, the table alone scrolls sideways, not the report."""
    head = "".join(f'<th style="{_CELL}; font-weight:600">{esc(h)}</th>' for h in header)
    body = []
    for row in rows:
        cells = []
        for i, value in enumerate(row):
            font = f"; font-family:{MONO}; font-size:0.9em" if i in mono else ""
            cells.append(f'<td style="{_CELL}{font}">{value}</td>')
        body.append('<tr style="background:transparent">' + "".join(cells) + "</tr>")
    return (f'<div style="max-width:100%; overflow-x:auto">'
            f'<table style="border-collapse:collapse; margin:4px 0; width:auto; '
            f'table-layout:auto; font-size:13px; color:inherit">'
            f'<thead><tr style="background:transparent">{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table></div>')


def _link(url: str) -> str:
    if not re.match(r"https?://", url):
        return esc(url)
    return (f'<a href="{esc(url)}" target="_blank" rel="noopener noreferrer" '
            f'style="color:{LINK_COLOR}; text-decoration:underline">{esc(url)}</a>')


# ---------------------------------------------------------------- pieces
def title(ex: Explanation) -> str:
    if not ex.found:
        return (f'<div style="margin:8px 0 4px 0; font-family:{MONO}; font-size:0.92em">'
                f'[{esc(ex.id)}]</div>')
    return (f'<div style="font-weight:600; font-size:1.08em; margin:8px 0 4px 0">'
            f'{inline(ex.title)} <span style="font-weight:400; font-size:0.85em; '
            f'opacity:0.7; font-family:{MONO}">[{esc(ex.id)}]</span></div>')


def _section(title_text: str, body: str, fold: bool | None) -> str:
    """A titled part of an explanation; with `fold` set, one that folds (closed when True)."""
    if fold is None:
        return heading(title_text) + body
    state = "" if fold else " open"
    return (f'<details{state} style="margin:4px 0"><summary style="{_HEADING}; cursor:pointer">'
            f'{esc(title_text)}</summary>{body}</details>')


def explanation(ex: Explanation, lang: str, with_title: bool = True,
                fold: bool | None = None) -> str:
    """One pitfall's explanation: detail, what, why, fix, example, docs.

    With `fold` set, What/Why/Example/Docs are sections that fold, closed when `fold` is
    True (a pitfall explained earlier in the session); the detail and the fix stay open.
    """
    out = [title(ex)] if with_title else []
    if not ex.found:
        out.append(f'<p style="{_PARA}; opacity:0.8">'
                   f'{inline(ui("no_entry", lang, id=ex.id))}</p>')
        return "".join(out)
    if ex.detail:
        out.append(f'<p style="{_PARA}; font-weight:500">{inline(ex.detail)}</p>')
    for key in ("what", "why", "fix"):
        text = getattr(ex, key)
        if text:
            out.append(_section(ui(key, lang), paragraphs(text), None if key == "fix" else fold))
    if ex.example_wrong or ex.example_right:
        blocks = []
        for key, color in (("wrong", ERROR_COLOR), ("right", RIGHT_COLOR)):
            code = getattr(ex, f"example_{key}")
            if code:
                # side by side when both fit at their natural width, stacked otherwise
                longest = max((len(x) for x in normalize_cell(code).splitlines()), default=0)
                blocks.append(
                    f'<div style="flex:1 1 {min(longest + 4, 100)}ch; min-width:0">'
                    f'<div style="color:{color}; font-weight:600; font-size:0.9em">'
                    f'{esc(ui(key, lang))}</div>{code_block(code, numbers=False)}</div>')
        out.append(_section(ui("example", lang), '<div style="display:flex; flex-wrap:wrap; '
                            'gap:0 12px; font-size:12.5px">' + "".join(blocks) + "</div>", fold))
    if ex.docs:
        links = " · ".join(_link(d) for d in ex.docs)
        body = (f'<div style="margin:2px 0; font-size:0.9em; overflow-wrap:anywhere">'
                f'{links}</div>')
        if fold is None:
            out.append(f'<div style="margin:8px 0 2px 0; font-size:0.9em; overflow-wrap:anywhere">'
                       f'<span style="font-weight:600">{esc(ui("docs", lang))}:</span> {links}</div>')
        else:
            out.append(_section(ui("docs", lang), body, fold))
    return "".join(out)


def findings(rows: list[FindingRow], lang: str) -> str:
    """The compact findings: one expandable line each (line, id, message)."""
    items = []
    for row in rows:
        message = row.message or row.explanation.title
        summary = (f'<span style="display:inline-block; min-width:4em; opacity:0.75">'
                   f'{esc(ui("line_n", lang, line=row.line))}</span> '
                   f'<code style="{_INLINE_CODE}">{esc(row.id)}</code> {inline(message)}')
        body = explanation(row.explanation, lang)
        items.append(f'<details style="margin:3px 0"><summary style="cursor:pointer">'
                     f'{summary}</summary><div style="margin:4px 0 10px 1.2em; '
                     f'padding-left:12px; border-left:2px solid {RULE}">{body}</div></details>')
    head = (f'<div style="font-weight:600; margin-bottom:4px">{esc(ui("product", lang))}: '
            f'{esc(ui("findings", lang, n=len(rows)))}</div>')
    return (f'<div style="{_BOX.format(accent=FINDING_ACCENT, tint="rgba(212,167,44,0.08)")}">'
            + head + "".join(items) + "</div>")


def tensors(items: list[Any], lang: str) -> str:
    keys, cells = tensor_cells(items)
    rows = [[esc(value) if value else "–" for value in row] for row in cells]
    return table([ui(f"col_{k}", lang) for k in keys], rows, mono=(0, 2, 3, 4, 5, 6))


def rerun(r: Any, lang: str) -> str:
    out = [heading(ui("rerun", lang, device=r.device))]
    if r.ok:
        out.append(f'<p style="{_PARA}; color:{RIGHT_COLOR}">'
                   f'{esc(ui("rerun_ok", lang, device=r.device))}</p>')
    else:
        etype = r.error.type if r.error else "Error"
        key = "rerun_failed" if r.line else "rerun_failed_no_line"
        said = ui(key, lang, device=r.device, type=etype, line=r.line)
        out.append(f'<p style="{_PARA}">{esc(said)}</p>')
        if r.error and r.error.message:
            out.append(f'<pre style="{_MESSAGE}">{esc(r.error.message)}</pre>')
    if r.pitfalls:
        said = ui("rerun_pitfalls", lang, ids=", ".join(r.pitfalls))
        out.append(f'<p style="{_PARA}">{esc(said)}</p>')
    if r.note:
        out.append(f'<p style="{_PARA}; opacity:0.8">{inline(r.note)}</p>')
    return "".join(out)


_MESSAGE = (f"margin:4px 0; padding:6px 8px; background:{TINT}; color:inherit; border:none; "
            f"border-radius:4px; white-space:pre-wrap; word-break:break-word; "
            f"font-family:{MONO}; font-size:12.5px; line-height:1.4")


# ---------------------------------------------------------------- documents
def report(m: ReportModel) -> str:
    """The whole report of one cell run ('' for a clean successful run)."""
    if m.empty:
        return ""
    lang = m.lang
    out = []
    if m.findings:
        out.append(findings(m.findings, lang))
    if m.internal_error:
        out.append(f'<div style="margin:4px 0; opacity:0.8; font-size:13px">'
                   f'{esc(ui("internal_error", lang, error=m.internal_error))}</div>')
        return "".join(out)
    if m.ok:
        return "".join(out)

    body = [f'<div style="font-weight:600"><span style="opacity:0.75; font-weight:400">'
            f'{esc(ui("product", lang))}:</span> '
            f'<span style="color:{ERROR_COLOR}">{esc(m.error_type or "Error")}</span></div>']
    if m.error_message:
        body.append(f'<pre style="{_MESSAGE}">{esc(m.error_message)}</pre>')
    if m.cause_line is not None:  # the line to change is in an earlier cell
        body.append(heading(ui("line_to_change_in", lang, cell=m.cause_label, line=m.cause_line)))
        body.append(code_block(m.cause_source, m.cause_line, []))
        if m.line is not None:
            body.append(heading(ui("reached_on", lang, line=m.line)))
            body.append(code_block(m.cell, m.line, m.related_lines))
    elif m.line is not None or m.related_lines:
        head = (ui("line_to_change_n", lang, line=m.line) if m.line is not None
                else ui("cell", lang))
        body.append(heading(head))
        body.append(code_block(m.cell, m.line, m.related_lines))
    if m.trace and len(m.trace) > 1:
        body.append(heading(ui("trace", lang)))
        items = "".join(f"<li>{inline(step)}</li>" for step in m.trace)
        body.append(f'<ul style="{_PARA}; margin-top:2px">{items}</ul>')
    if m.explanation is not None:
        body.append(explanation(m.explanation, lang, fold=m.brief))
    else:
        body.append(f'<p style="{_PARA}; opacity:0.8">{esc(ui("no_match", lang))}</p>')
    if m.tensors:
        body.append(heading(ui("tensors", lang)))
        body.append(tensors(m.tensors, lang))
    if m.rerun is not None:
        body.append(rerun(m.rerun, lang))
    if m.others:
        body.append(heading(ui("other_causes", lang)))
        items = []
        for o in m.others:
            extra = ui("score", lang, score=o.score)
            if o.line:
                extra += ui("sep", lang) + ui("on_line", lang, line=o.line)
            name = "" if o.title == o.id else " " + inline(o.title)
            items.append(f'<li style="margin:1px 0"><code style="{_INLINE_CODE}">{esc(o.id)}'
                         f'</code>{name} <span style="opacity:0.65">({esc(extra)})</span></li>')
        body.append(f'<ul style="margin:2px 0 6px 0; padding-left:1.4em">{"".join(items)}</ul>')
    if m.notes:
        notes = "".join(f"<li>{inline(n)}</li>" for n in m.notes)
        body.append(f'<ul style="margin:6px 0; padding-left:1.4em; opacity:0.75; '
                    f'font-size:0.9em">{notes}</ul>')
    if m.traceback:
        body.append(f'<details style="margin-top:8px"><summary style="cursor:pointer; '
                    f'opacity:0.8">{esc(ui("traceback", lang))}</summary>'
                    f'<pre style="{_MESSAGE}; white-space:pre; overflow-x:auto; '
                    f'word-break:normal">{esc(m.traceback)}</pre></details>')
    out.append(f'<div style="{_BOX.format(accent=FAIL_ACCENT, tint="rgba(209,36,47,0.05)")}">'
               + "".join(body) + "</div>")
    return "".join(out)


def entry(ex: Explanation, lang: str) -> str:
    """One knowledge-base entry in full (for `%torchdebug explain`)."""
    meta = ""
    if ex.found:
        meta = (f'<div style="opacity:0.7; font-size:0.9em; margin-bottom:4px">'
                f'{esc(kind_name(ex.kind, lang))} · {esc(ex.family)}</div>')
    return (f'<div style="{_BOX.format(accent=RULE, tint="transparent")}">'
            + title(ex) + meta + explanation(ex, lang, with_title=False) + "</div>")


def catalog(rows: list[Explanation], word: str, lang: str) -> str:
    """The list of pitfalls (id, kind, family, title)."""
    if not rows:
        return f'<div style="margin:4px 0">{esc(ui("catalog_empty", lang, word=word))}</div>'
    head = (ui("catalog_word", lang, word=word, n=len(rows)) if word
            else ui("catalog", lang, n=len(rows)))
    body = table(
        [ui("col_id", lang), ui("col_kind", lang), ui("col_family", lang), ui("col_title", lang)],
        [[esc(r.id), esc(kind_name(r.kind, lang)), esc(r.family), inline(r.title)] for r in rows],
        mono=(0,),
    )
    return f'<div style="margin:4px 0">{heading(head)}{body}</div>'
