"""The `%%torchdebug` and `%device` magics: parse the arguments, call the engine, display."""
from __future__ import annotations

from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring
from traitlets import Bool, Enum, Float, Int, default

from .knowledge import default_language


@magics_class
class TorchMagic(Magics):
    """Diagnose PyTorch failures in notebook cells and manage the default device."""

    language = Enum(
        ["en", "zh"],
        help="Language of the explanations: 'en' (English) or 'zh' (Chinese). "
        "Defaults from the locale.",
    ).tag(config=True)
    anomaly = Bool(
        True, help="Run %%torchdebug cells under torch.autograd.detect_anomaly(check_nan=True)."
    ).tag(config=True)
    lint = Bool(
        True, help="Report silent pitfalls (findings) for cells that run but look wrong."
    ).tag(config=True)
    raise_errors = Bool(
        True,
        help="Re-raise the cell's exception after the report, so the cell counts as failed "
        "(Run All stops) and %debug opens the failing frame.",
    ).tag(config=True)
    snapshot_limit = Int(
        1 << 30,
        help="Most bytes of tensors copied to host memory before a run that touches CUDA, "
        "for the CPU-fallback rerun and the rescue file.",
    ).tag(config=True)
    rerun_timeout = Float(
        60.0, help="Seconds the CPU-fallback rerun may take before it is stopped."
    ).tag(config=True)
    auto = Bool(
        False, help="Run every cell under %%torchdebug (fast mode) from load on."
    ).tag(config=True)

    @default("language")
    def _default_language(self) -> str:
        return default_language()

    # ------------------------------------------------------------------ lifecycle
    def loaded(self) -> None:
        """Called once the magics are registered."""

    def unloaded(self) -> None:
        """Called before the magics are removed."""

    # ------------------------------------------------------------------ %%torchdebug
    @magic_arguments()
    @argument("--no-anomaly", action="store_true", help="Run without autograd anomaly detection.")
    @argument("--no-raise", action="store_true",
              help="Show the report but do not re-raise the error (Run All goes on).")
    @argument("--no-lint", action="store_true", help="Do not report silent pitfalls.")
    @argument("--lang", choices=["en", "zh"], default=None, help="Language of this report.")
    @argument("--rerun", choices=["cpu", "auto", "off"], default="auto",
              help="Rerun the cell on the CPU: 'auto' when the error is CUDA-specific, "
              "'cpu' always after a failure, 'off' never.")
    @argument("args", nargs="*", help="Line use: 'explain ID', 'list [WORD]', 'lint'.")
    @line_cell_magic
    def torchdebug(self, line: str = "", cell: str | None = None) -> Any:
        """Run a cell with PyTorch diagnosis: anomaly detection, synchronous CUDA, a CPU
        rerun when a CUDA error hides the cause, and the failing line annotated with the
        matching pitfall's explanation.

        Cell use::

            %%torchdebug [--no-anomaly] [--no-raise] [--no-lint] [--lang zh] [--rerun cpu]
            <your cell>

        Line use::

            %torchdebug explain ID     show one pitfall's explanation
            %torchdebug list [WORD]    list the pitfall catalog
        """
        __tracebackhide__ = True
        args = self._parse(self.torchdebug, line)
        lang = args.lang or self.language
        if cell is None:
            return self._torchdebug_line(args, lang)
        from . import engine
        from .render import show_report

        options = engine.Options(
            anomaly=self.anomaly and not args.no_anomaly,
            lint=self.lint and not args.no_lint,
            language=lang,
            rerun=args.rerun,
            snapshot_limit=self.snapshot_limit,
            rerun_timeout=self.rerun_timeout,
        )
        outcome = engine.debug_cell(self.shell, cell, options)
        show_report(outcome.diagnosis)
        if outcome.exception is not None and self.raise_errors and not args.no_raise:
            raise outcome.exception.with_traceback(outcome.exception.__traceback__)
        return None

    def _torchdebug_line(self, args: Any, lang: str) -> Any:
        from . import knowledge
        from .render import CatalogView, EntryView

        words = list(args.args)
        if not words:
            raise UsageError("%%torchdebug needs a cell; line use: %torchdebug explain ID | list [WORD]")
        command, rest = words[0], words[1:]
        if command == "explain":
            if len(rest) != 1:
                raise UsageError("usage: %torchdebug explain PITFALL_ID")
            entry = knowledge.get_entry(rest[0])
            if entry is None:
                close = knowledge.closest_ids(rest[0])
                hint = f" Did you mean: {', '.join(close)}?" if close else ""
                raise UsageError(f"unknown pitfall id {rest[0]!r}.{hint} (%torchdebug list shows all)")
            return EntryView(entry, lang)
        if command == "list":
            return CatalogView(knowledge.catalog(), " ".join(rest), lang)
        raise UsageError(f"unknown %torchdebug command {command!r}: use explain, list or a cell")

    # ------------------------------------------------------------------ %device
    @magic_arguments()
    @argument("spec", nargs="?", default=None,
              help="cpu, cuda, cuda:N, mps or auto to set the default device; "
              "'audit' to list the namespace's tensors and models.")
    @argument("--redirect", action="store_true",
              help="Redirect CUDA/MPS requests (.cuda(), .to('cuda'), device='cuda') to SPEC.")
    @argument("--no-redirect", action="store_true", help="Stop redirecting devices.")
    @argument("--audit", action="store_true", help="Audit the namespace's tensors and models.")
    @line_magic
    def device(self, line: str = "") -> Any:
        """Show the PyTorch/CUDA installation, set the default device, redirect CUDA to the
        CPU, or audit where the namespace's tensors and models live.

        ``%device`` reports; ``%device cuda`` sets the default device; ``%device cpu
        --redirect`` runs CUDA notebooks on the CPU; ``%device audit`` lists tensors.
        """
        __tracebackhide__ = True
        args = self._parse(self.device, line)
        from . import device

        return device.handle(self.shell, args, self.language)

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _parse(func: Any, line: str) -> Any:
        try:
            return parse_argstring(func, line)
        except UsageError:
            raise
        except SystemExit as exc:  # argparse's own exit on bad input
            raise UsageError(f"bad arguments: {line!r}") from exc
