"""What a report shows, gathered once from a Diagnosis and the knowledge base.

The HTML and text renderers both read these plain structures, so they show the same
content; only the drawing differs.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..diagnosis import Diagnosis, Finding, Match, TensorInfo
from ..knowledge import Entry, fill, get_entry

# "(<ipython-input-3-5f0c…>, line 2)" at the end of a SyntaxError's message: the cell's
# internal file name says nothing to the user, the report shows the cell itself
_SOURCE_NAME = re.compile(r"\(<[^<>\n]*>, line (\d+)\)$")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07")


def strip_ansi(text: str) -> str:
    """`text` without terminal escape sequences."""
    return _ANSI.sub("", text)


def normalize_cell(source: str) -> str:
    """The cell with Python's own line ends (\\n) and tabs expanded, so that line numbers
    count the way the compiler counts them."""
    return source.replace("\r\n", "\n").replace("\r", "\n").expandtabs(4)


def line_count(source: str) -> int:
    """Lines of a normalized cell (a final newline does not start a line)."""
    if not source:
        return 0
    return source.count("\n") + (0 if source.endswith("\n") else 1)


def code_lexer() -> Any:
    """A pygments lexer for notebook cells: IPython's (magics, shell escapes) if present."""
    try:
        from ipython_pygments_lexers import IPython3Lexer  # IPython >= 9
    except ImportError:
        try:
            from IPython.lib.lexers import IPython3Lexer  # IPython 8
        except ImportError:  # pragma: no cover
            from pygments.lexers import PythonLexer as IPython3Lexer
    return IPython3Lexer(stripnl=False, ensurenl=False)


@dataclass
class Explanation:
    """One pitfall's explanation in one language, ready to draw."""

    id: str
    found: bool  # False when the knowledge base has no entry for the id
    title: str = ""
    kind: str = ""
    family: str = ""
    detail: str = ""  # a sentence naming the user's objects, when the matcher gave facts
    what: str = ""
    why: str = ""
    fix: str = ""
    example_wrong: str = ""
    example_right: str = ""
    docs: list[str] = field(default_factory=list)


@dataclass
class OtherCause:
    """A lower-ranked match: one line in the report."""

    id: str
    title: str
    score: float
    line: int | None


@dataclass
class FindingRow:
    """A silent pitfall seen in the cell, with its full explanation for expansion."""

    line: int
    id: str
    message: str
    explanation: Explanation


@dataclass
class ReportModel:
    """Everything a report shows, in the report's language."""

    lang: str
    ok: bool
    empty: bool  # nothing worth showing (a clean successful run)
    cell: str = ""
    error_type: str = ""
    error_message: str = ""
    line: int | None = None
    related_lines: list[int] = field(default_factory=list)
    explanation: Explanation | None = None
    others: list[OtherCause] = field(default_factory=list)
    findings: list[FindingRow] = field(default_factory=list)
    tensors: list[TensorInfo] = field(default_factory=list)
    rerun: Any = None  # diagnosis.Rerun
    traceback: str = ""
    notes: list[str] = field(default_factory=list)
    internal_error: str | None = None
    brief: bool = False  # the pitfall was explained in full earlier: title, detail and fix only
    source: str = ""  # a script's name: the report is of a script run from the command line
    process: str = ""  # which process of several it is, e.g. "rank 1/2"
    ranks: list[str] = field(default_factory=list)  # one line for each other rank of the job
    trace: list[str] = field(default_factory=list)  # how the run made the value at fault, worded
    cause_label: str = ""  # the earlier cell that holds the line to change ("In[2]"), if one does
    cause_line: int | None = None
    cause_source: str = ""


TENSOR_COLUMNS = ["name", "kind", "shape", "dtype", "device", "requires_grad", "grad_fn"]


def tensor_cells(items: list[Any]) -> tuple[list[str], list[list[str]]]:
    """The columns and cells of the table of tensors on the failing line, for any renderer:
    a 'note' column only when some row has one; '' where a value is missing."""
    keys = TENSOR_COLUMNS + (["note"] if any(t.note for t in items) else [])
    rows = []
    for t in items:
        row = []
        for k in keys:
            value = getattr(t, k)
            if k == "requires_grad":
                value = "True" if value else "False"
            row.append("" if value in ("", None) else str(value))
        rows.append(row)
    return keys, rows


def _text(entry: Entry, key: str, lang: str, facts: dict[str, Any]) -> str:
    """`entry.text(key, lang, **facts)`, safe for facts named like its parameters."""
    for choice in (lang, "en"):
        template = entry.texts.get(choice, {}).get(key)
        if template:
            return fill(template, facts)
    return ""


def explain_entry(entry: Entry, lang: str, match: Match | None = None) -> Explanation:
    """An entry's texts in `lang`, with the match's detail sentence when it has one."""
    facts = dict(match.facts) if match else {}
    detail = ""
    if match is not None and match.detail:
        detail = entry.detail(match.detail, lang, facts)
    return Explanation(
        id=entry.id,
        found=True,
        title=_text(entry, "title", lang, facts) or entry.id,
        kind=entry.kind,
        family=entry.family,
        detail=detail,
        what=_text(entry, "what", lang, facts),
        why=_text(entry, "why", lang, facts),
        fix=_text(entry, "fix", lang, facts),
        example_wrong=entry.example_wrong,
        example_right=entry.example_right,
        docs=[d for d in entry.docs if isinstance(d, str)],
    )


def explain(pid: str, lang: str, match: Match | None = None) -> Explanation:
    """The explanation of pitfall `pid`, or a bare one when the entry does not exist."""
    try:
        entry = get_entry(pid)
    except Exception:  # a broken knowledge file must not hide the user's error
        entry = None
    if entry is None:
        return Explanation(id=pid, found=False, title=pid)
    return explain_entry(entry, lang, match)


def _finding_row(finding: Finding, lang: str) -> FindingRow:
    return FindingRow(
        line=finding.line,
        id=finding.pitfall,
        message=strip_ansi(finding.message),
        explanation=explain(finding.pitfall, lang),
    )


def build(diagnosis: Diagnosis) -> ReportModel:
    """Gather what the report of `diagnosis` shows."""
    lang = diagnosis.language or "en"
    findings = sorted(
        (_finding_row(f, lang) for f in diagnosis.findings), key=lambda r: (r.line, r.id)
    )
    model = ReportModel(
        lang=lang,
        ok=diagnosis.ok,
        empty=diagnosis.ok and not findings and not diagnosis.internal_error,
        cell=normalize_cell(diagnosis.cell),
        findings=findings,
        internal_error=diagnosis.internal_error,
    )
    if diagnosis.ok or diagnosis.internal_error:
        return model

    top = diagnosis.top
    line = diagnosis.line if diagnosis.line is not None else (top.line if top else None)
    n_lines = line_count(model.cell)
    if line is not None and not 1 <= line <= n_lines:
        line = None
    related = set(diagnosis.related_lines) | set(top.related_lines if top else [])
    model.line = line
    model.related_lines = sorted(r for r in related if r != line and 1 <= r <= n_lines)
    if diagnosis.error is not None:
        model.error_type = diagnosis.error.type
        model.error_message = _SOURCE_NAME.sub(r"(line \1)", strip_ansi(diagnosis.error.message))
    if top is not None:
        model.explanation = explain(top.pitfall, lang, top)
    for match in diagnosis.matches[1:]:
        other = explain(match.pitfall, lang)
        model.others.append(OtherCause(match.pitfall, other.title, match.score, match.line))
    model.tensors = list(diagnosis.tensors)
    model.rerun = diagnosis.rerun
    model.traceback = cell_names(strip_ansi(diagnosis.traceback).rstrip())
    model.notes = [strip_ansi(n) for n in diagnosis.notes if n]
    model.trace = [t for t in (_trace_step(step, lang) for step in getattr(diagnosis, "trace", [])) if t]
    cause = getattr(diagnosis, "cause", None)
    if cause is not None:
        import linecache

        source = "".join(linecache.getlines(cause.filename))
        if source and 1 <= cause.line <= line_count(source):
            model.cause_label, model.cause_line = cause.label, cause.line
            model.cause_source = normalize_cell(source)
    return model


def _trace_step(step: dict, lang: str) -> str:
    """One step of how the run made a value, in the report's language."""
    from .strings import ui

    kind = step.get("kind")
    if kind == "before":
        return ui("trace_before", lang)
    where = ui("trace_cell_line", lang, cell=step["cell"], line=step["line"]) if step.get("cell") \
        else ui("trace_line", lang, line=step.get("line"))
    values = ui("trace_values", lang, lo=step["lo"], hi=step["hi"]) if step.get("lo") is not None else ""
    if kind == "made":
        return ui("trace_made", lang, op=step.get("op") or "?", dtype=step.get("dtype", ""),
                  shape=step.get("shape", ""), values=values, where=where)
    if kind == "changed":
        return ui("trace_changed", lang, op=step.get("op", "?"), where=where, values=values)
    if kind == "loaded":
        return ui("trace_loaded", lang, where=where, loop=step.get("loop"))
    return ""


def listed_count(source: str, focus: list[int]) -> int:
    """How many lines of a normalized cell a listing shows: blank lines at its end are left
    out (a pasted cell often ends with some), unless a focus line is among them."""
    lines = source.split("\n")[:line_count(source)]
    last = max([i + 1 for i, text in enumerate(lines) if text.strip()] or [0])
    return max([last, *focus]) if focus else last


_FILE_LINE = re.compile(r'File "([^"\n]+)", line (\d+)')


def cell_names(traceback: str) -> str:
    """A traceback's file names of notebook cells as IPython shows them ("Cell In[3], line 2")."""
    try:
        from IPython import get_ipython

        shell = get_ipython()
        name_of = shell.compile.format_code_name if shell is not None else None
    except Exception:  # an IPython without cell names: the file names stay
        name_of = None
    if name_of is None:
        return traceback

    def label(m: re.Match) -> str:
        try:
            known = name_of(m.group(1))
        except Exception:
            known = None
        return f"{known[0]} {known[1]}, line {m.group(2)}" if known else m.group(0)

    return _FILE_LINE.sub(label, traceback)


def visible_lines(
    n_lines: int, focus: list[int], context: int = 3, full_limit: int = 30
) -> list[int | None]:
    """Line numbers (1-based) of a cell to show, with None where lines are left out.

    Short cells are shown whole; long ones as windows of `context` lines around the
    `focus` lines (the line to change and the related ones).
    """
    if n_lines <= full_limit:
        return list(range(1, n_lines + 1))
    if not focus:
        return [*range(1, full_limit + 1), None]
    keep: set[int] = set()
    for f in focus:
        keep.update(range(max(1, f - context), min(n_lines, f + context) + 1))
    shown: list[int | None] = []
    previous = 0
    for number in sorted(keep):
        if number - previous > 1:
            if number - previous == 2:  # one hidden line: show it instead of a gap marker
                shown.append(previous + 1)
            else:
                shown.append(None)
        shown.append(number)
        previous = number
    if previous < n_lines:
        shown.append(None)
    return shown
