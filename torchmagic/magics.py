"""The `%%torchdebug` and `%device` magics: parse the arguments, call the engine, display."""
from __future__ import annotations

from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring
from traitlets import Bool, Enum, Float, Int, default

from .knowledge import default_language


class AutoStatus:
    """Whether every cell runs under `%%torchdebug` (``%torchdebug on``)."""

    def __init__(self, on: bool):
        self.on = on

    def __repr__(self) -> str:
        state = "on: every cell runs under %%torchdebug --fast" if self.on else "off"
        return f"torchdebug automatic mode is {state}"


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
    traceback = Enum(
        ["short", "full"], "short",
        help="What IPython shows after a report of a re-raised error: 'short', one line "
        "(the exception, and %tb for the full traceback); 'full', IPython's whole traceback.",
    ).tag(config=True)

    @default("language")
    def _default_language(self) -> str:
        return default_language()

    _running = False  # a %%torchdebug cell is being run (auto mode must not wrap its body)
    _after_report: Any = None  # render.ShortTraceback: one line after a report, not a traceback
    _explained: set[str] | None = None  # pitfalls whose report was shown in full (later: brief)

    # ------------------------------------------------------------------ lifecycle
    def loaded(self) -> None:
        """Called once the magics are registered: honour `TorchMagic.auto`."""
        from .render import ShortTraceback

        self._after_report = ShortTraceback(self.shell)
        self._explained = set()
        if self.auto:
            self._set_auto(True)

    def unloaded(self) -> None:
        """Called before the magics are removed: leave no transformer, hook or redirection behind."""
        self._set_auto(False)
        if self._after_report is not None:
            self._after_report.close()
        from .redirect import stop_redirect

        stop_redirect()

    def _auto_transform(self, lines: list[str]) -> list[str]:
        """Input transformer of automatic mode: wrap ordinary cells in `%%torchdebug --fast`."""
        if self._running or not lines:
            return lines
        first = next((ln for ln in lines if ln.strip()), "")
        if not first or first.lstrip().startswith(("%", "!", "?")) or first.rstrip().endswith("?"):
            return lines
        # The call IPython would make of `%%torchdebug --fast` + the cell, with the cell's text
        # one line per line: a traceback quotes this code, and one long line would be unreadable.
        text = [f"    {line!r}\n" for line in "".join(lines).splitlines(keepends=True)]
        return ["get_ipython().run_cell_magic('torchdebug', '--fast', (  # torchmagic: automatic mode\n",
                *text, "))\n"]

    def _set_auto(self, on: bool) -> None:
        transformers = self.shell.input_transformers_cleanup if self.shell else []
        present = self._auto_transform in transformers
        if on and not present:
            transformers.append(self._auto_transform)
        elif not on and present:
            transformers.remove(self._auto_transform)

    @property
    def auto_on(self) -> bool:
        return bool(self.shell) and self._auto_transform in self.shell.input_transformers_cleanup

    # ------------------------------------------------------------------ %%torchdebug
    @magic_arguments()
    @argument("--no-anomaly", action="store_true", help="Run without autograd anomaly detection.")
    @argument("--no-raise", action="store_true",
              help="Show the report but do not re-raise the error (Run All goes on).")
    @argument("--no-lint", action="store_true", help="Do not report silent pitfalls.")
    @argument("--fast", action="store_true",
              help="Run without instrumentation; on failure replay the cell from a snapshot "
              "with full instrumentation to diagnose it.")
    @argument("--lang", choices=["en", "zh"], default=None, help="Language of this report.")
    @argument("--rerun", choices=["cpu", "auto", "off"], default="auto",
              help="Rerun the cell on the CPU: 'auto' when the error is CUDA-specific, "
              "'cpu' always after a failure, 'off' never.")
    @argument("args", nargs="*",
              help="Line use: 'explain ID', 'list [WORD]', 'lint' (the previous cell), "
              "'restore [FILE]'. Cell use: 'lint' checks the cell without running it.")
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
            %torchdebug lint           check the previous cell for silent pitfalls
            %torchdebug restore [FILE] load a rescue file back after a kernel restart
            %torchdebug on | off       run every following cell under %%torchdebug --fast
            %torchdebug                say whether automatic mode is on

        ``%%torchdebug lint`` checks a cell for silent pitfalls without running it.
        """
        __tracebackhide__ = True
        args = self._parse(self.torchdebug, line)
        lang = args.lang or self.language
        if cell is None:
            return self._torchdebug_line(args, lang)
        from . import engine
        from .render import show_report

        if args.args == ["lint"]:
            show_report(engine.lint_only(cell, self.shell, lang))
            return None
        if args.args:
            raise UsageError(f"unexpected arguments for %%torchdebug: {' '.join(args.args)}")

        options = engine.Options(
            anomaly=self.anomaly and not args.no_anomaly,
            lint=self.lint and not args.no_lint,
            language=lang,
            rerun=args.rerun,
            snapshot_limit=self.snapshot_limit,
            rerun_timeout=self.rerun_timeout,
            fast=args.fast,
        )
        self._running = True
        try:
            outcome = engine.debug_cell(self.shell, cell, options)
        finally:
            self._running = False
        raising = outcome.exception is not None and self.raise_errors and not args.no_raise
        show_report(outcome.diagnosis, traceback_follows=raising, explained=self._explained)
        if raising:
            if self._after_report is not None:
                self._after_report.expect(outcome.exception, lang, short=self.traceback == "short")
            raise outcome.exception.with_traceback(outcome.exception.__traceback__)
        return None

    def _torchdebug_line(self, args: Any, lang: str) -> Any:
        from . import knowledge
        from .render import CatalogView, EntryView

        words = list(args.args)
        if not words:
            return AutoStatus(self.auto_on)
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
        if command == "lint":
            from . import engine
            from .render import show_report

            previous = self.shell.user_ns.get("_i", "") if self.shell else ""
            show_report(engine.lint_only(previous, self.shell, lang))
            return None
        if command in ("on", "off"):
            self._set_auto(command == "on")
            return AutoStatus(self.auto_on)
        if command == "restore":
            from .snapshot import restore_rescue

            if len(rest) > 1:
                raise UsageError("usage: %torchdebug restore [RESCUE_FILE]")
            try:
                return restore_rescue(rest[0] if rest else None, self.shell.user_ns)
            except (FileNotFoundError, OSError) as exc:
                raise UsageError(f"no rescue file to restore: {exc}") from None
        raise UsageError(
            f"unknown %torchdebug command {command!r}: use explain, list, lint, restore or a cell"
        )

    # ------------------------------------------------------------------ %device
    @magic_arguments()
    @argument("spec", nargs="?", default=None,
              help="cpu, cuda, cuda:N, mps or auto to set the default device; "
              "'audit' to list the namespace's tensors and models.")
    @argument("--redirect", action="store_true",
              help="Redirect CUDA/MPS requests (.cuda(), .to('cuda'), device='cuda') to SPEC.")
    @argument("--no-redirect", action="store_true", help="Stop redirecting devices.")
    @argument("--audit", action="store_true", help="Audit the namespace's tensors and models.")
    @argument("--lang", choices=["en", "zh"], default=None, help="Language of this output.")
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

        return device.handle(self.shell, args, args.lang or self.language)

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _parse(func: Any, line: str) -> Any:
        try:
            return parse_argstring(func, line)
        except UsageError:
            raise
        except SystemExit as exc:  # argparse's own exit on bad input
            raise UsageError(f"bad arguments: {line!r}") from exc
