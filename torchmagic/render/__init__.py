"""What the user sees: reports of `%%torchdebug` runs, pitfall entries and the catalog.

Each displayable object has an HTML form for notebooks, a coloured text form for the
terminal IPython and a plain text form (``str()``); IPython picks the best one.
"""
from __future__ import annotations

from .report import Report, show_report
from .short_traceback import ShortTraceback
from .views import CatalogView, EntryView

__all__ = ["show_report", "Report", "EntryView", "CatalogView", "ShortTraceback"]
