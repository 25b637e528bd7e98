"""What the command line prints and writes: the terminal report, one-line notices, JSON files."""
from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import IO, Any

from ..diagnosis import Diagnosis, describe
from .words import say


def colors_on(stream: IO[str]) -> bool:
    """Colours for a terminal, unless NO_COLOR is set (https://no-color.org)."""
    if os.environ.get("NO_COLOR"):
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def width() -> int:
    """The terminal's columns (at least 40), or the text renderer's default off a terminal."""
    from ..render.text import WIDTH

    return max(shutil.get_terminal_size((WIDTH, 24)).columns, 40)


def report_text(diagnosis: Diagnosis, source: str, process: str = "", ranks: list[str] | None = None,
                color: bool = False) -> str:
    """The terminal report of a script's diagnosis ('' for a clean run)."""
    from ..render.report import Report

    return Report(diagnosis, color=color, width=width(), source=source, process=process, ranks=ranks).text(color)


def show_report(diagnosis: Diagnosis, source: str, exc: BaseException | None, process: str = "",
                ranks: list[str] | None = None, stream: IO[str] | None = None) -> None:
    """Print the report; if it cannot be made, the script's own traceback and one line."""
    stream = stream or sys.stderr
    if diagnosis.internal_error and exc is not None:
        _traceback(exc, stream)
        first = diagnosis.internal_error.strip().splitlines()[-1]
        line(say("could_not", diagnosis.language, error=first), stream)
        return
    try:
        from ..run import faults

        faults.check("render")
        text = report_text(diagnosis, source, process, ranks, color=colors_on(stream))
    except Exception as error:  # the report failed: the user's error still shows
        if exc is not None:
            _traceback(exc, stream)
        line(say("failed_report", diagnosis.language, error=describe(error)), stream)
        return
    if text:
        notice(text, stream)


def _traceback(exc: BaseException, stream: IO[str]) -> None:
    from ..diagnose.locate import format_user_traceback

    try:
        text = format_user_traceback(exc)
    except Exception:
        import traceback

        text = "".join(traceback.format_exception(exc))
    stream.write(text)
    stream.flush()


def notice(text: str, stream: IO[str] | None = None) -> None:
    """Write `text` and a line end at once (ranks share one console), and flush."""
    stream = stream or sys.stderr
    try:
        stream.write(text.rstrip("\n") + "\n")
        stream.flush()
    except (OSError, ValueError):  # a closed console must not end the diagnosis
        pass


def line(text: str, stream: IO[str] | None = None) -> None:
    """A message of its own (not a report), wrapped to the terminal's width, then :func:`notice`."""
    from ..render.text import wrap

    notice("\n".join(wrap(text, width(), "", "  ")), stream)


def json_path(path: str, rank: int | None, world: int) -> Path:
    """Where a rank writes its diagnosis: `{rank}` in the path is its rank; without one, a
    job of several ranks gets ``NAME.rankN.json`` for each."""
    if rank is None or world <= 1:
        return Path(path)
    if "{rank}" in path:
        return Path(path.replace("{rank}", str(rank)))
    target = Path(path)
    return target.with_name(f"{target.stem}.rank{rank}{target.suffix or '.json'}")


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write `data` to `path` whole (written aside, then moved into place)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(data, indent=1, ensure_ascii=False, default=str), encoding="utf-8")
    os.replace(temporary, path)
