"""The `%%torchdebug` and `%device` magics: parse the arguments, call the engine, display."""
from __future__ import annotations

import ast
import sys
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

    _after_report: Any = None  # render.ShortTraceback: one line after a report, not a traceback
    _explained: set[str] | None = None  # pitfalls whose report was shown in full (later: brief)

    # ------------------------------------------------------------------ lifecycle
    def loaded(self) -> None:
        """Called once the magics are registered: honour `TorchMagic.auto`."""
        from .render import ShortTraceback

        self._auto = AutoCells(self)
        self._after_report = ShortTraceback(self.shell)
        self._explained = set()
        if self.auto:
            self._set_auto(True)

    def unloaded(self) -> None:
        """Called before the magics are removed: leave no hook or redirection behind."""
        self._set_auto(False)
        if self._after_report is not None:
            self._after_report.close()
        from .device.redirect import stop_redirect

        stop_redirect()

    def _set_auto(self, on: bool) -> None:
        if self.shell is not None:
            self._auto.install(self.shell) if on else self._auto.remove(self.shell)

    @property
    def auto_on(self) -> bool:
        return self.shell is not None and self._auto.installed(self.shell)

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
        from .diagnose import engine
        from .render import show_report

        if args.args == ["lint"]:
            show_report(engine.lint_only(cell, self.shell, lang))
            return None
        if args.args:
            raise UsageError(f"unexpected arguments for %%torchdebug: {' '.join(args.args)}")
        return self._finish(engine.debug_cell(self.shell, cell, self._options(args, lang)), args)

    async def torchdebug_async(self, line: str, cell: str) -> Any:
        """`%%torchdebug` for a cell with a top-level ``await``, awaited on the event loop
        IPython runs such a cell on (automatic mode)."""
        __tracebackhide__ = True
        from .diagnose import engine

        args = self._parse(self.torchdebug, line)
        outcome = await engine.debug_cell_async(self.shell, cell, self._options(args, args.lang or self.language))
        return self._finish(outcome, args)

    def _options(self, args: Any, lang: str) -> Any:
        from .diagnose import engine

        return engine.Options(
            anomaly=self.anomaly and not args.no_anomaly,
            lint=self.lint and not args.no_lint,
            language=lang,
            rerun=args.rerun,
            snapshot_limit=self.snapshot_limit,
            rerun_timeout=self.rerun_timeout,
            fast=args.fast,
        )

    def _finish(self, outcome: Any, args: Any) -> None:
        """Show the report, then let the cell fail with its own exception."""
        __tracebackhide__ = True
        raising = outcome.exception is not None and self.raise_errors and not args.no_raise
        try:
            from .run import faults
            from .render import show_report

            faults.check("render")
            show_report(outcome.diagnosis, traceback_follows=raising, explained=self._explained)
        except Exception as error:  # the report failed: one line, and the cell's error still shows
            from .diagnosis import describe

            print(f"torchmagic could not show its report: {describe(error)}", file=sys.stderr)
        if raising:
            if self._after_report is not None:
                self._after_report.expect(outcome.exception, args.lang or self.language,
                                          short=self.traceback == "short")
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
            if rest:
                raise UsageError(f"usage: %torchdebug lint (it checks the previous cell; no more words: "
                                 f"{' '.join(rest)!r})")
            from .diagnose import engine
            from .render import show_report

            previous = self.shell.user_ns.get("_i", "") if self.shell else ""
            show_report(engine.lint_only(previous, self.shell, lang))
            return None
        if command in ("on", "off"):
            if rest:
                raise UsageError(f"usage: %torchdebug {command} (no more words: {' '.join(rest)!r})")
            self._set_auto(command == "on")
            return AutoStatus(self.auto_on)
        if command == "restore":
            from .replay.rescue import restore_rescue

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
        except ValueError as exc:  # shlex: "No closing quotation", "No escaped character"
            raise UsageError(f"cannot read the arguments {line!r}: {exc} (a quote left open?)") from None
        except SystemExit as exc:  # argparse's own exit on bad input
            raise UsageError(f"bad arguments: {line!r}") from exc


class AutoCells(ast.NodeTransformer):
    """Automatic mode: every cell the user runs goes through `%%torchdebug --fast`.

    IPython announces each cell the user runs (the `pre_run_cell` event) and then hands its
    parsed code to the AST transformers; this one replaces that code by the
    `%%torchdebug --fast` call of the cell's own text. It acts only on the cell just
    announced: code that other magics (`%time`, `%timeit`) compile on the way is left as it is.
    A cell with a top-level ``await`` is awaited as IPython awaits it. Cells that start with
    a magic, a shell command or a help request are left alone.
    """

    torchmagic_hook = True  # how torchmagic.run.execute knows this transformer is not the user's

    def __init__(self, magics: "TorchMagic") -> None:
        super().__init__()
        self.magics = magics
        self._next: str | None = None  # the raw text of the cell IPython is about to run
        self._translated: str | None = None  # and its Python, as IPython translated it

    # -- installation
    def installed(self, shell: Any) -> bool:
        return self in shell.ast_transformers

    def install(self, shell: Any) -> None:
        if not self.installed(shell):
            shell.ast_transformers.append(self)
            shell.events.register("pre_execute", self._forget)
            shell.events.register("pre_run_cell", self._announce)
            shell.events.register("post_execute", self._forget)

    def remove(self, shell: Any) -> None:
        if self.installed(shell):
            shell.ast_transformers.remove(self)
        for event, callback in (("pre_execute", self._forget), ("pre_run_cell", self._announce),
                                ("post_execute", self._forget)):
            if callback in shell.events.callbacks.get(event, []):
                shell.events.unregister(event, callback)

    def _forget(self) -> None:
        self._next = self._translated = None

    def _announce(self, info: Any) -> None:
        raw = getattr(info, "raw_cell", None)
        self._next = raw if isinstance(raw, str) and self._wants(raw) else None
        self._translated = getattr(info, "transformed_cell", None)

    @staticmethod
    def _wants(raw: str) -> bool:
        first = next((line for line in raw.splitlines() if line.strip()), "")
        return bool(first) and not (first.lstrip().startswith(("%", "!", "?")) or first.rstrip().endswith("?"))

    # -- the transformation
    def visit(self, node: Any) -> Any:
        raw, self._next = self._next, None
        if raw is None or not isinstance(node, ast.Module) or not node.body:
            return node
        try:
            return self._wrapped(raw, node)
        except Exception:  # the cell then runs as it is, undiagnosed, rather than not at all
            return node

    def _wrapped(self, raw: str, node: ast.Module) -> ast.Module:
        from .run import faults

        faults.check("automatic")
        shell = self.magics.shell
        shell_call = ast.Call(ast.Name("get_ipython", ast.Load()), [], [])
        if getattr(shell, "autoawait", False) and ("await" in raw or "async" in raw) and _awaits(node) \
                and self._on_loop(shell, raw):
            # await get_ipython().magics_manager.registry['TorchMagic'].torchdebug_async('--fast', raw)
            registry = ast.Attribute(ast.Attribute(shell_call, "magics_manager", ast.Load()), "registry", ast.Load())
            magics = ast.Subscript(registry, ast.Constant(type(self.magics).__name__), ast.Load())
            call: ast.expr = ast.Await(ast.Call(ast.Attribute(magics, "torchdebug_async", ast.Load()),
                                                [ast.Constant("--fast"), ast.Constant(raw)], []))
        else:
            # get_ipython().run_cell_magic('torchdebug', '--fast', raw)
            call = ast.Call(ast.Attribute(shell_call, "run_cell_magic", ast.Load()),
                            [ast.Constant("torchdebug"), ast.Constant("--fast"), ast.Constant(raw)], [])
        statement = ast.Expr(call)
        for child in ast.walk(statement):
            child.lineno, child.end_lineno = 1, 1  # type: ignore[attr-defined]
            child.col_offset, child.end_col_offset = 0, 0  # type: ignore[attr-defined]
        return ast.Module(body=[statement], type_ignores=[])

    def _on_loop(self, shell: Any, raw: str) -> bool:
        """Whether IPython runs this cell on its event loop (its own test: `should_run_async`)."""
        translated = self._translated if isinstance(self._translated, str) else shell.transform_cell(raw)
        try:
            return bool(shell.should_run_async(raw, transformed_cell=translated))
        except TypeError:  # an IPython before 9.16 takes no transformed_cell
            return bool(shell.should_run_async(raw))


def _awaits(tree: ast.Module) -> bool:
    """Whether the cell awaits at top level (not inside its functions, classes or lambdas)."""
    stack: list[ast.AST] = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Await, ast.AsyncFor, ast.AsyncWith)):
            return True
        if isinstance(node, ast.comprehension) and node.is_async:
            return True
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        stack.extend(ast.iter_child_nodes(node))
    return False
