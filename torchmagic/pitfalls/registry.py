"""The rule registry: error matchers, lint rules and audit checks, and the ranking of matches.

A matcher takes a :class:`Context` and returns a :class:`~torchmagic.diagnosis.Match` (or a
list of them) or None for "not mine". A rule or an audit check takes a
:class:`~torchmagic.source.cell.Cell` and yields :class:`Hit` objects. :func:`rank` runs every
matcher, isolating any that crash, merges what they found per pitfall and orders the
pitfalls best first.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable, Iterable, Mapping
from types import MappingProxyType

from ..diagnosis import Match
from ..evidence import Evidence
from ..knowledge import Entry, catalog, user_matchers
from ..diagnose.locate import CellFrame, ForwardTrace
from ..source.cell import Cell
from ..source.cellcode import CellCode


@dataclass(frozen=True)
class Hit:
    """One rule's verdict: a pitfall on a cell line, with the names that fill its message."""

    pitfall: str
    line: int
    name: str = ""
    other: str = ""
    detail: str = ""  # a key of the entry's details, worded instead of its `finding` text


Rule = Callable[["Cell"], Iterable[Hit]]
MatcherResult = Match | Iterable[Match] | None
Matcher = Callable[["Context"], MatcherResult]

PATTERN_SCORE = 0.6
SILENT_PATTERN_SCORE = 0.5  # a silent pitfall's warning text seen in an error: below error entries
USER_PATTERN_SCORE = 0.9

Monitor = Callable[["Cell", Any], Iterable[Hit]]
_matchers: list[Matcher] = []
_rules: list[Rule] = []
_audits: list[Rule] = []
_monitors: list[Monitor] = []


def matcher(func: Matcher) -> Matcher:
    """Register a built-in error matcher."""
    _matchers.append(func)
    return func


def rule(func: Rule) -> Rule:
    """Register a built-in lint rule: a silent pitfall read from the cell's code."""
    _rules.append(func)
    return func


def audit(func: Rule) -> Rule:
    """Register a built-in audit check: a silent pitfall read from the live objects after a run."""
    _audits.append(func)
    return func


@lru_cache(maxsize=1)
def families() -> tuple[str, ...]:
    """The families of the catalog: every `<family>.toml` beside this module that has its rules
    in a `<family>.py` module or a `<family>/` package, in name order."""
    from pathlib import Path

    here = Path(__file__).parent
    return tuple(sorted(p.stem for p in here.glob("*.toml")
                        if (here / f"{p.stem}.py").exists() or (here / p.stem / "__init__.py").exists()))


def monitor(func: Monitor) -> Monitor:
    """Register a built-in run check: a silent pitfall read from what the run's hooks and
    provenance record saw (the cell's model and the run's Evidence)."""
    _monitors.append(func)
    return func


@lru_cache(maxsize=1)
def _load_families() -> None:
    """Import every family module once: importing one registers its matchers, rules and checks."""
    import importlib

    for family in families():
        importlib.import_module(f"{__package__}.{family}")


def matchers() -> list[Matcher]:
    """The built-in error matchers of every family, in family order."""
    _load_families()
    return list(_matchers)


def rules() -> list[Rule]:
    """The built-in lint rules of every family."""
    _load_families()
    return list(_rules)


def audits() -> list[Rule]:
    """The built-in audit checks of every family."""
    _load_families()
    return list(_audits)


def monitors() -> list[Monitor]:
    """The built-in run checks of every family."""
    _load_families()
    return list(_monitors)


@dataclass
class Context:
    """What a matcher may look at: the error, the cell's code and the values around the failure."""

    exc: BaseException
    code: CellCode
    line: int | None  # the deepest cell line of the traceback
    frames: list[CellFrame] = field(default_factory=list)  # the cell's own frames, outermost first
    namespace: Mapping[str, Any] = field(default_factory=dict)
    forward: ForwardTrace | None = None
    # every frame of the user's code, the cell's and earlier cells' (helpers, classes, Datasets)
    user_frames: list[CellFrame] = field(default_factory=list)
    evidence: Evidence = field(default_factory=Evidence)  # what the run recorded
    filename: str = ""  # the diagnosed cell's file name

    def __post_init__(self) -> None:
        if not self.user_frames:
            self.user_frames = list(self.frames)

    @property
    def exc_type(self) -> str:
        return type(self.exc).__name__

    @property
    def message(self) -> str:
        return str(self.exc)

    def value(self, name: str, frame: CellFrame | None = None) -> Any:
        """The current value of a (dotted) name in the failing frame, read-only; None if unknown."""
        frame = frame or (self.frames[-1] if self.frames else None)
        scope = MappingProxyType(frame.frame.f_locals) if frame else self.namespace
        first, *rest = name.split(".")
        if first in scope:
            obj = scope[first]
        elif frame is not None and first in frame.frame.f_globals:
            obj = frame.frame.f_globals[first]
        elif first in self.namespace:
            obj = self.namespace[first]
        else:
            return None
        for attr in rest:
            obj = _safe_attr(obj, attr)
            if obj is None:
                return None
        return obj

    @property
    def innermost(self) -> CellFrame | None:
        """The deepest frame of the user's code (in the cell or in an earlier cell)."""
        return self.user_frames[-1] if self.user_frames else None

    def record(self, value: Any) -> Any:
        """The provenance record of a tensor, or None."""
        return self.evidence.record(value) if value is not None else None

    def frame_at(self, line: int | None) -> CellFrame | None:
        for fr in reversed(self.frames):
            if fr.line == line:
                return fr
        return self.frames[-1] if self.frames else None


def _safe_attr(obj: Any, attr: str) -> Any:
    """getattr that reads only stored state (module submodules, parameters, instance dicts)."""
    for store in ("_modules", "_parameters", "_buffers"):
        table = getattr(obj, "__dict__", {}).get(store)
        if isinstance(table, dict) and attr in table:
            return table[attr]
    fields = getattr(type(obj), "_fields", None)  # a namedtuple: its fields are its items
    if isinstance(obj, tuple) and isinstance(fields, tuple) and attr in fields:
        return obj[fields.index(attr)]
    return getattr(obj, "__dict__", {}).get(attr)


def rank(ctx: Context, entries: Mapping[str, Entry] | None = None) -> list[Match]:
    """All matches for the failure, merged per pitfall, best first. Never raises."""
    entries = entries if entries is not None else catalog()
    found: list[Match] = []
    chained = _chained(ctx.exc)
    for pid, entry in entries.items():
        try:
            base = USER_PATTERN_SCORE if entry.user else (
                SILENT_PATTERN_SCORE if entry.kind == "silent" else PATTERN_SCORE)
            if entry.matches_message(ctx.exc_type, ctx.message):
                found.append(Match(pid, base))
            elif any(entry.matches_message(type(e).__name__, str(e)) for e in chained):
                # the underlying cause (e.g. a worker's Bus error behind "worker exited") is
                # more specific than the generic message on top
                found.append(Match(pid, base + 0.02))
        except Exception:
            continue
    for pid, user_func in user_matchers():
        found.extend(_run_user_matcher(pid, user_func, ctx))
    for func in matchers():
        try:
            result = func(ctx)
        except Exception:
            continue  # a crashing matcher must never hide the user's error
        if isinstance(result, Match):
            found.append(result)
        elif result:
            found.extend(m for m in result if isinstance(m, Match))
    merged: dict[str, Match] = {}
    for m in found:
        if m.pitfall not in entries:
            continue
        have = merged.get(m.pitfall)
        if have is None:
            merged[m.pitfall] = Match(m.pitfall, m.score, m.line, list(m.related_lines), dict(m.facts), m.detail,
                                      m.cause, list(m.trace))
            continue
        stronger = m.score > have.score
        have.score = max(have.score, m.score)
        if m.line is not None and (have.line is None or stronger):
            have.line, have.cause = m.line, m.cause
            have.trace = list(m.trace) or have.trace
        have.related_lines += [r for r in m.related_lines if r not in have.related_lines]
        # the stronger match's facts fill its own detail sentence; a weaker one only adds
        have.facts = {**have.facts, **m.facts} if stronger else {**m.facts, **have.facts}
        if m.detail and (not have.detail or stronger):
            have.detail = m.detail
    return sorted(merged.values(), key=lambda m: -m.score)


def _chained(exc: BaseException) -> list[BaseException]:
    """The exceptions behind `exc` (its __cause__ / __context__ chain), nearest first."""
    out: list[BaseException] = []
    current = exc.__cause__ or exc.__context__
    while current is not None and current not in out and len(out) < 5:
        out.append(current)
        current = current.__cause__ or current.__context__
    return out


def _run_user_matcher(pid: str, func: Callable, ctx: Context) -> list[Match]:
    try:
        result = func(ctx)
    except Exception:
        return []
    if isinstance(result, Match):
        return [result]
    if isinstance(result, (int, float)) and not isinstance(result, bool) and result > 0:
        return [Match(pid, 1.0 + float(result))]
    return []
