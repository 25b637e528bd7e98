"""The command line: ``python -m torchmagic [OPTIONS] SCRIPT [ARGS...]``.

Runs the script as ``__main__`` under the diagnosis of ``%%torchdebug`` and prints the
terminal report (on stderr) with the script's file and line; the exit status is the
script's. Under ``torchrun`` (any launcher that sets RANK and WORLD_SIZE) every rank
diagnoses its own failure and the first rank that failed prints the report (see
:mod:`.ranks`). ``--explain ID`` and ``--list [WORD]`` show the catalog.
"""
from __future__ import annotations

import argparse
import os
import sys
from contextlib import ExitStack
from typing import Any

__all__ = ["main"]

USAGE = "python -m torchmagic [options] SCRIPT [ARGS...]"


def parser() -> argparse.ArgumentParser:
    """The command line's options; they mirror the flags of ``%%torchdebug``."""
    from ..knowledge import default_language

    p = argparse.ArgumentParser(
        prog="python -m torchmagic", usage=USAGE,
        description="Run a PyTorch script under torchmagic's diagnosis: anomaly detection, synchronous CUDA, "
        "the line to change and the matching pitfall explained when it fails, silent pitfalls when it ends. "
        "Under torchrun: torchrun [...] -m torchmagic SCRIPT [ARGS...].")
    p.add_argument("script", nargs="?", help="the script to run as __main__")
    p.add_argument("args", nargs=argparse.REMAINDER, help="the script's own arguments")
    p.add_argument("--fast", action="store_true",
                   help="run without instrumentation; on failure replay the script from its start with full "
                   "instrumentation, where the replay can (not once it talks to other processes)")
    p.add_argument("--no-anomaly", action="store_true", help="run without autograd anomaly detection")
    p.add_argument("--no-lint", action="store_true", help="do not report silent pitfalls")
    p.add_argument("--lang", choices=["en", "zh"], default=default_language(),
                   help="language of the report (default: from the locale)")
    p.add_argument("--rerun", choices=["cpu", "auto", "off"], default="auto",
                   help="rerun on the CPU: 'auto' when the error is CUDA-specific, 'cpu' after any failure, "
                   "'off' never")
    p.add_argument("--json", metavar="PATH",
                   help="also write the diagnosis as JSON (Diagnosis.to_dict()); under torchrun each rank writes "
                   "PATH with {rank} replaced, or NAME.rankN.json")
    p.add_argument("--hang-timeout", type=float, default=60.0, metavar="SECONDS",
                   help="under torchrun: seconds a rank waits in one collective before the ranks compare where "
                   "they are; if they wait in different collectives the job is reported and ended (0: never)")
    p.add_argument("--explain", metavar="ID", help="show one pitfall's explanation and exit")
    p.add_argument("--list", nargs="?", const="", metavar="WORD", help="list the pitfall catalog and exit")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    p = parser()
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    if args.explain is not None or args.list is not None:
        return _catalog(p, args)
    if not args.script:
        p.error("the script to run is missing")
    path = os.path.abspath(args.script)
    from .words import say

    if not os.path.isfile(path):
        p.error(say("no_script", args.lang, path=args.script))
    from .script import read_source

    try:
        source = read_source(path)
    except (OSError, SyntaxError, UnicodeDecodeError) as error:
        p.error(say("not_python", args.lang, path=args.script, error=error))
    if args.hang_timeout < 0:
        p.error("--hang-timeout must be 0 (never) or a number of seconds")
    return _run(args, path, source)


def _catalog(p: argparse.ArgumentParser, args: Any) -> int:
    from .. import knowledge
    from ..render import CatalogView, EntryView
    from .output import colors_on, width

    color = colors_on(sys.stdout)
    if args.explain is not None:
        entry = knowledge.get_entry(args.explain)
        if entry is None:
            close = knowledge.closest_ids(args.explain)
            hint = f" Did you mean: {', '.join(close)}?" if close else ""
            p.error(f"unknown pitfall id {args.explain!r}.{hint} (--list shows all)")
        view: Any = EntryView(entry, args.lang, color=color)
    else:
        view = CatalogView(knowledge.catalog(), args.list, args.lang, color=color)
    view.width = width()
    print(view.text(color=color))
    return 0


def _label(path: str) -> str:
    """A file's name as the report shows it: relative to the working folder when inside it."""
    try:
        relative = os.path.relpath(path)
    except ValueError:
        return path
    return path if relative.startswith("..") else relative


def _run(args: Any, path: str, source: str) -> int:
    from ..diagnose import engine
    from ..evidence import UserCode
    from . import output, script

    options = engine.Options(anomaly=not args.no_anomaly, lint=not args.no_lint, language=args.lang,
                             rerun=args.rerun, fast=args.fast)
    files = script.project_files(path)
    job = None
    with ExitStack() as stack:
        if script.uses_distributed(source):
            from .collectives import Ledger, watched
            from .ranks import Job

            ledger = stack.enter_context(watched(Ledger(UserCode(None, files, cell=path))))
            job = Job.from_env(ledger, _label, lang=args.lang, json=args.json, hang_timeout=args.hang_timeout)
            if job is not None:
                job.report_hang = lambda states: _report_hang(job, states, source, path)  # type: ignore[union-attr]
                options.on_failure = job.failed
                stack.enter_context(job.watching())
        try:
            finished = script.run(path, list(args.args), options, source, files)
        except KeyboardInterrupt as interrupt:
            output._traceback(interrupt, sys.stderr)
            return 130
    diagnosis, exc = finished.diagnosis, finished.exception
    if diagnosis is None:
        return finished.status
    data = dict(diagnosis.to_dict(), script=path, exit_status=finished.status)  # type: ignore[attr-defined]
    if job is not None and exc is not None and job.order != 1:
        summary = job.summary(exc)
        if summary:
            output.line(summary)
        job.write(dict(data, consequence_of=job.first if job.consequence else None, first_failed=job.first))
        return finished.status
    if job is not None and exc is None and job.rank != 0:  # every rank ran the same code: rank 0 speaks
        job.write(data)
        return finished.status
    ranks = job.others() if job is not None and exc is not None else None
    output.show_report(diagnosis, _label(path), exc, process=job.process if job else "", ranks=ranks)  # type: ignore[arg-type]
    if job is not None:
        job.write(dict(data, first_failed=job.first))
    elif args.json:
        try:
            output.write_json(output.json_path(args.json, None, 1), data)
        except OSError as error:
            output.line(f"torchmagic: could not write {args.json}: {error}")
    return finished.status


def _report_hang(job: Any, states: dict[int, dict], source: str, path: str) -> bool:
    """The report of ranks stuck in different collectives, printed by the rank that saw it."""
    from ..pitfalls.distributed import hang_diagnosis
    from . import output

    diagnosis = hang_diagnosis(states, source, path, job.lang, job.hang_timeout, job.label)
    if diagnosis is None:
        return False
    output.show_report(diagnosis, _label(path), None, process=job.process)
    job.write(dict(diagnosis.to_dict(), script=path, exit_status=1, hang=True))
    return True
