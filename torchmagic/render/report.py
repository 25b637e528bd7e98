"""The report of one `%%torchdebug` run, shown through IPython's display machinery."""
from __future__ import annotations

from dataclasses import replace
from typing import Any

from ..diagnosis import Diagnosis
from . import html
from .model import ReportModel, build
from .views import Displayable


class Report(Displayable):
    """A Diagnosis as something IPython can display: HTML in notebooks, coloured text in
    a terminal IPython, plain text elsewhere (``str(report)``).

    `color` forces colours on or off in the text form; by default they follow the running
    shell (see :func:`torchmagic.render.terminal.colors_enabled`). With `traceback_follows`
    the text form leaves the original traceback out, because IPython prints it right after
    (the cell's error is re-raised); the HTML form keeps it, collapsed.
    """

    def __init__(self, diagnosis: Diagnosis, *, color: bool | None = None,
                 shell: Any = None, traceback_follows: bool = False, brief: bool = False,
                 width: int | None = None, source: str = "", process: str = "",
                 ranks: list[str] | None = None) -> None:
        super().__init__(diagnosis.language, color, shell)
        self.diagnosis = diagnosis
        self.traceback_follows = traceback_follows
        self.brief = brief
        self.width = width
        self.source, self.process, self.ranks = source, process, list(ranks or [])
        self._model: ReportModel | None = None

    @property
    def model(self) -> ReportModel:
        if self._model is None:
            self._model = replace(build(self.diagnosis), brief=self.brief, source=self.source,
                                  process=self.process, ranks=self.ranks)
        return self._model

    @property
    def empty(self) -> bool:
        """True when there is nothing to show (a clean successful run)."""
        return self.model.empty

    def text(self, color: bool = False) -> str:
        """The report as text, with terminal colours when `color` is true."""
        self.lang = self.model.lang
        model = replace(self.model, traceback="") if self.traceback_follows else self.model
        return self._renderer(color).report(model)

    def _describe(self) -> str:
        d = self.diagnosis
        state = "ok" if d.ok else (d.error.type if d.error else "failed")
        return f"{state}, pitfalls={d.pitfalls}, findings={len(d.findings)}"

    def _repr_html_(self) -> str:
        return html.report(self.model)


def show_report(diagnosis: Diagnosis, traceback_follows: bool = False,
                explained: set[str] | None = None) -> None:
    """Display the report of `diagnosis` (nothing for a clean successful run).

    `explained` holds the pitfalls whose report was shown in full already (in this shell):
    a report of one of them again is brief. The pitfall of this report is added to it.
    """
    top = diagnosis.top.pitfall if not diagnosis.ok and diagnosis.top is not None else None
    brief = explained is not None and top in explained
    report = Report(diagnosis, traceback_follows=traceback_follows, brief=brief)
    if report.empty:
        return
    from IPython.display import display

    display(report)
    if explained is not None and top is not None:
        explained.add(top)
