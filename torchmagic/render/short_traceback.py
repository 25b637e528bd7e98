"""One line instead of IPython's traceback after a report that explained the error.

When `%%torchdebug` has shown its report, the cell still fails with the user's exception
(Run All stops, `%debug` and `%tb` work), but IPython would then print its whole
traceback below the report, mostly frames inside torch, and push the report off the
screen. :class:`ShortTraceback` uses IPython's own hook for exceptions,
``InteractiveShell.set_custom_exc``, for the reported exception only: IPython shows one
line (the exception and ``%tb`` for the rest) and keeps everything else it does with an
exception (``sys.last_*``, the error reply in a kernel, ``%pdb``). The hook is set just
before the exception is re-raised and taken off once IPython has shown it (or the cell
has ended), so any other exception is shown by IPython exactly as without torchmagic.
"""
from __future__ import annotations

import os
import sys
from typing import Any

from .strings import ui
from .terminal import color_scheme, is_terminal_shell, text_width
from .text import display_width, truncate_words


class ShortTraceback:
    """IPython's custom-exception hook for the exception a report has just explained."""

    def __init__(self, shell: Any) -> None:
        self.shell = shell
        self._exc: BaseException | None = None
        self._lang = "en"
        self._short = True
        self._saved: tuple[tuple, Any] | None = None  # the shell's hook before ours
        self._ours: Any = None  # the shell's CustomTB while ours is set

    def expect(self, exc: BaseException, lang: str = "en", short: bool = True) -> None:
        """Be ready for IPython to show `exc`, which the caller re-raises right after a report.

        With `short` false IPython's traceback is kept, except for a SyntaxError in the cell:
        IPython then shows it as it shows one in a plain cell, without the frames of the
        magic that compiled it.
        """
        if self.shell is None or not hasattr(self.shell, "set_custom_exc"):
            return
        if not short and not isinstance(exc, SyntaxError):
            return
        self._exc, self._lang, self._short = exc, lang, short
        if self._saved is None:
            self._saved = (tuple(self.shell.custom_exceptions), self.shell.CustomTB)
            self.shell.events.register("post_run_cell", self._cell_ended)
        self.shell.set_custom_exc(self._saved[0] + (type(exc),), self._show)
        self._ours = self.shell.CustomTB

    def close(self) -> None:
        """Put the shell's previous custom-exception hook back (also when the extension unloads)."""
        self._exc = None
        if self._saved is None:
            return
        previous, self._saved = self._saved, None
        shell = self.shell
        if shell.CustomTB is self._ours:  # unless someone set a hook of their own since
            shell.custom_exceptions, shell.CustomTB = previous
        self._ours = None
        try:
            shell.events.unregister("post_run_cell", self._cell_ended)
        except ValueError:
            pass

    def _cell_ended(self, result: Any = None) -> None:
        self.close()

    # IPython calls this as a method of the shell: handler(shell, etype, value, tb, tb_offset)
    def _show(self, shell: Any, etype: type, value: BaseException, tb: Any,
              tb_offset: int | None = None) -> None:
        __tracebackhide__ = True
        ours = value is self._exc and value is not None
        previous = self._saved
        short = self._short
        self.close()
        if not ours:
            if previous and previous[0] and isinstance(value, previous[0]):
                previous[1](etype, value, tb, tb_offset=tb_offset)
            else:
                shell.showtraceback((etype, value, tb), tb_offset=tb_offset,
                                    running_compiled_code=True)
            return None
        sys.last_type, sys.last_value, sys.last_traceback = etype, value, tb
        if sys.version_info >= (3, 12):
            sys.last_exc = value
        try:
            if not short:  # a SyntaxError in the cell, shown as IPython shows one in a plain cell
                shell.showsyntaxerror()
                return None
            shell._showtraceback(etype, value, [self.line(value)])
        except Exception:  # never hide the user's error: IPython's own traceback then
            shell.showtraceback((etype, value, tb), tb_offset=tb_offset, running_compiled_code=True)
            return None
        if getattr(shell, "call_pdb", False):
            shell.debugger(force=True)
        return None

    def line(self, exc: BaseException) -> str:
        """The one line: the exception's type and first line, and how to see the rest."""
        if isinstance(exc, SyntaxError):
            message = str(exc.msg or "")
            if exc.lineno:
                message += f" ({ui('on_line', self._lang, line=exc.lineno)})"
        else:
            message = next((x.strip() for x in str(exc).splitlines() if x.strip()), "")
        name = type(exc).__name__
        hint = ui("tb_hint", self._lang)
        head = f"{name}: " if message else name
        if is_terminal_shell(self.shell):  # one row of the terminal (notebooks wrap it)
            room = text_width(self.shell) - display_width(head + hint) - 5
            message = truncate_words(message, max(room, 20))
        if os.environ.get("NO_COLOR") or color_scheme(self.shell) == "nocolor":
            return f"{head}{message}  ·  {hint}"
        return f"\x1b[1;31m{head}\x1b[0m{message}  \x1b[2m·  {hint}\x1b[0m"
