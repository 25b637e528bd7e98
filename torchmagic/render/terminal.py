"""Whether text output gets colours, and which pygments style colours the code.

Colours are on only in a terminal IPython shell (a kernel's text/plain output is not
where users look) whose ``colors`` setting is not ``nocolor``, and only while the
NO_COLOR environment variable is unset or empty (https://no-color.org).
"""
from __future__ import annotations

import os
import shutil
import sys
from typing import Any

from pygments.style import Style
from pygments.token import (
    Comment, Error, Keyword, Name, Number, Operator, String, Token,
)


class AnsiStyle(Style):
    """Code colours from the terminal's own 16-colour palette: readable on light and
    dark terminal themes alike, because the theme picks the actual colours."""

    styles = {
        Token: "",
        Comment: "italic ansibrightblack",
        Keyword: "bold ansimagenta",
        Keyword.Constant: "ansicyan",
        Operator.Word: "bold ansimagenta",
        Name.Builtin: "ansicyan",
        Name.Function: "ansiblue",
        Name.Class: "bold ansiblue",
        Name.Decorator: "ansicyan",
        Name.Exception: "ansired",
        String: "ansigreen",
        Number: "ansiyellow",
        Error: "ansired",
    }


# IPython 9 names its colour schemes in lower case: nocolor, neutral, linux, lightbg.
_STYLES: dict[str, Any] = {"lightbg": "default", "linux": "monokai"}


def is_terminal_shell(shell: Any) -> bool:
    """Whether `shell` is IPython's terminal shell (not a kernel, not a bare shell)."""
    module = sys.modules.get("IPython.terminal.interactiveshell")
    if module is None:  # never imported: no terminal shell can exist in this process
        return False
    return isinstance(shell, module.TerminalInteractiveShell)


def _current_shell() -> Any:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover
        return None
    return get_ipython()


def color_scheme(shell: Any) -> str:
    """The shell's colour scheme name, lower-cased ('nocolor' when it has none)."""
    return str(getattr(shell, "colors", "nocolor") or "nocolor").lower()


def colors_enabled(shell: Any = None) -> bool:
    """Whether text output for `shell` (default: the running one) should be coloured."""
    if os.environ.get("NO_COLOR"):
        return False
    shell = shell if shell is not None else _current_shell()
    if shell is None or not is_terminal_shell(shell):
        return False
    return color_scheme(shell) != "nocolor"


def code_style(shell: Any = None) -> Any:
    """The pygments style for code in `shell`'s terminal, following its colour scheme."""
    shell = shell if shell is not None else _current_shell()
    return _STYLES.get(color_scheme(shell), AnsiStyle)


def text_width(shell: Any = None) -> int:
    """Columns for text output: the terminal's width in a terminal IPython shell (40 at
    least), elsewhere (a kernel, a plain shell, ``str()``) the fixed width of the text
    renderer."""
    from .text import WIDTH

    shell = shell if shell is not None else _current_shell()
    if shell is None or not is_terminal_shell(shell):
        return WIDTH
    return max(shutil.get_terminal_size((WIDTH, 24)).columns, 40)
