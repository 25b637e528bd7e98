"""Plain data that a `%%torchdebug` run produces: what failed, where, and why.

The engine fills these; the renderers read them. `Diagnosis.to_dict()` is the stable,
public shape of a diagnosis (the acceptance scorer and users' scripts read it).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


def safe_str(exc: BaseException) -> str:
    """`str(exc)`, or a stand-in when the exception's own `__str__` fails."""
    try:
        return str(exc)
    except Exception:
        return f"<{type(exc).__name__} whose message could not be read>"
    except BaseException:  # noqa: B036 - a message that raises KeyboardInterrupt is still unreadable
        return f"<{type(exc).__name__} whose message could not be read>"


def describe(exc: BaseException) -> str:
    """One line for an exception: its type and the first line of its message."""
    lines = safe_str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


@dataclass
class ErrorInfo:
    """The exception a cell raised, as type name and message."""

    type: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"type": self.type, "message": self.message}

    @classmethod
    def from_exception(cls, exc: BaseException) -> "ErrorInfo":
        return cls(type=type(exc).__name__, message=safe_str(exc))


@dataclass
class Finding:
    """A silent pitfall seen in a cell that ran: which one, on which line, and why."""

    pitfall: str
    line: int
    message: str
    source: str = "lint"  # "lint" (read from the code) or "audit" (seen at run time)

    def to_dict(self) -> dict[str, Any]:
        return {"pitfall": self.pitfall, "line": self.line, "message": self.message}


@dataclass
class Location:
    """A line of the user's code outside the diagnosed cell: in an earlier cell (a helper, a
    class, a Dataset defined there) or a script."""

    label: str  # how IPython names the cell, e.g. "In[2]"
    filename: str
    line: int
    text: str = ""  # the source line

    def to_dict(self) -> dict[str, Any]:
        return {"cell": self.label, "line": self.line}


@dataclass
class Match:
    """One pitfall that a matcher recognised in a failure, with its confidence."""

    pitfall: str
    score: float
    line: int | None = None  # the line to change, when the matcher knows better than the traceback
    related_lines: list[int] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)  # fills the entry's detail templates
    detail: str = ""  # which of the entry's detail templates to use, if any
    cause: Any = None  # where to change it when that is outside the cell (an evidence Site)
    trace: list[dict] = field(default_factory=list)  # how the run made the value, root first


@dataclass
class TensorInfo:
    """Shape, dtype and device of one tensor (or module) named on the failing line."""

    name: str
    kind: str  # "tensor", "module", "array"
    shape: str = ""
    dtype: str = ""
    device: str = ""
    requires_grad: bool = False
    grad_fn: str = ""
    note: str = ""


@dataclass
class Rerun:
    """The result of re-running a failed cell elsewhere (on the CPU) to find the real cause."""

    device: str
    ok: bool
    error: ErrorInfo | None = None
    line: int | None = None
    pitfalls: list[str] = field(default_factory=list)
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "device": self.device,
            "ok": self.ok,
            "error": self.error.to_dict() if self.error else None,
            "line": self.line,
        }


@dataclass
class Diagnosis:
    """Everything `%%torchdebug` learned about one cell run."""

    ok: bool
    cell: str = ""
    filename: str = ""
    error: ErrorInfo | None = None
    line: int | None = None
    related_lines: list[int] = field(default_factory=list)
    cause: Location | None = None  # the line to change when it lies outside the cell; `line`
    # is then the cell's line that leads there
    trace: list[dict] = field(default_factory=list)  # how the run made the value at fault, root first
    matches: list[Match] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    rerun: Rerun | None = None
    tensors: list[TensorInfo] = field(default_factory=list)
    traceback: str = ""  # the original traceback, plain text
    notes: list[str] = field(default_factory=list)  # e.g. where the location came from
    language: str = "en"
    internal_error: str | None = None  # set when torchmagic's own diagnosis failed
    snapshot: Any = None  # the pre-run snapshot (torchmagic.replay.snapshot.Snapshot), when one was taken;
    # its copies are released (figures kept) when a later run takes a snapshot
    rescue_file: str | None = None  # where the state was saved when CUDA became unusable
    replayed: bool = False  # the diagnosis comes from an instrumented replay (fast mode)
    interrupted: bool = False  # the user stopped the diagnosis (Ctrl-C) after the cell had run

    @property
    def pitfalls(self) -> list[str]:
        """Pitfall ids, best first."""
        return [m.pitfall for m in self.matches]

    @property
    def top(self) -> Match | None:
        return self.matches[0] if self.matches else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "error": self.error.to_dict() if self.error else None,
            "line": self.line,
            "related_lines": list(self.related_lines),
            "cause": self.cause.to_dict() if self.cause else None,
            "pitfalls": self.pitfalls,
            "findings": [f.to_dict() for f in self.findings],
            "rerun": self.rerun.to_dict() if self.rerun else None,
        }
