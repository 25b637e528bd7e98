"""Fault injection: make a named stage of torchmagic fail, to prove the user's cell survives it.

Every stage that runs around a user's cell calls :func:`check` with its name; a stage listed
in :data:`failing` raises :class:`InjectedFault` there. Nothing is listed outside tests, and
the check is one set lookup. :data:`STAGES` names every stage, so a test can walk them all.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

#: Every stage that calls :func:`check`, in the order a diagnosed run meets them.
STAGES: tuple[str, ...] = (
    "automatic",  # automatic mode's rewriting of the cell into its %%torchdebug call
    "translate",  # the cell's text to Python (IPython's input transforms)
    "register",  # the cell's filename in the line cache
    "touches_cuda",  # whether a CPU rerun may be needed
    "snapshot",  # the host-memory copy before the run
    "compile",  # the cell's statements compiled
    "warnings.enter", "warnings.exit",  # the warnings guard
    "anomaly.enter", "anomaly.exit",  # the anomaly-detection guard
    "diagnosis",  # what failed, where and why
    "replay",  # the instrumented replay and the CPU rerun
    "lint",  # findings for a cell that ran
    "render",  # the report on screen
)

failing: set[str] = set()


class InjectedFault(RuntimeError):
    """The failure a test asked a stage to have."""


def check(stage: str) -> None:
    """Raise :class:`InjectedFault` if `stage` is to fail."""
    if failing and stage in failing:
        raise InjectedFault(f"injected failure in {stage}")


@contextmanager
def injected(*stages: str) -> Iterator[None]:
    """Within the block, the named stages fail."""
    unknown = set(stages) - set(STAGES)
    if unknown:
        raise ValueError(f"no such stage: {', '.join(sorted(unknown))}")
    before = set(failing)
    failing.update(stages)
    try:
        yield
    finally:
        failing.clear()
        failing.update(before)
