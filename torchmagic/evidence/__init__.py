"""Evidence from the run: what the diagnosed run actually did, for the rules to question.

:func:`recording` is entered around a diagnosed run (the eager `%%torchdebug` run, a fast-mode
replay, a CPU rerun) and yields an :class:`Evidence`: the provenance record of every tensor a
torch operation made (:mod:`.provenance`), where the modules built during the run were built,
the root-cause queries over them (:mod:`.queries`), and what PyTorch's hooks saw of forwards,
optimizer steps and losses (:mod:`.monitors`). Sites are lines of the user's code in
any cell (:mod:`.sites`). Nothing is recorded outside a diagnosed run.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator

from .sites import Site, UserCode

__all__ = ["Evidence", "Site", "UserCode", "recording"]


@dataclass
class Evidence:
    """What a run recorded. Empty (every answer None) when nothing was recorded."""

    user: UserCode = field(default_factory=UserCode)
    recorder: Any = None  # a provenance.Recorder, or None
    monitors: Any = None  # a monitors.Monitors, or None

    def record(self, tensor: Any) -> Any:
        """The :class:`~.provenance.Record` of a tensor, or None."""
        if self.recorder is None:
            return None
        try:
            return self.recorder.table.get(tensor)
        except Exception:
            return None

    def built_at(self, module: Any) -> Site | None:
        """Where a module built during the run was built (the user's line), or None."""
        if self.recorder is None:
            return None
        try:
            return self.recorder.built.get(module)
        except TypeError:
            return None

    def built_step(self, module: Any) -> Any:
        """Where a module built during the run was built, as a trail's end that also knows the
        diagnosed cell's line that was running then (the cell's `Net(...)` that built a layer
        inside an earlier cell's class); None when the run did not see it built."""
        site = self.built_at(module)
        if site is None:
            return None
        from .queries import site_step

        try:
            line = self.recorder.built_from.get(module)
        except TypeError:
            line = None
        return site_step(site, line)

    @property
    def first_nonfinite(self) -> Any:
        """The record of the first tensor the run made with NaN or inf in it, or None."""
        return self.recorder.first_nonfinite if self.recorder is not None else None

    @property
    def backward_passes(self) -> int:
        return self.recorder.generation if self.recorder is not None else 0


    @property
    def forwards(self) -> list:
        """The forward calls of modules by the user's code (:class:`.monitors.Forward`)."""
        return self.monitors.forwards if self.monitors is not None else []

    @property
    def steps(self) -> list:
        """The optimizer steps (:class:`.monitors.Step`)."""
        return self.monitors.steps if self.monitors is not None else []

    @property
    def observations(self) -> list:
        """Facts about the user's lines (:class:`.monitors.Observation`)."""
        return self.monitors.observations if self.monitors is not None else []


@contextmanager
def recording(user: UserCode, enabled: bool = True, monitors: bool = True) -> Iterator[Evidence]:
    """Record the run inside the block; the yielded :class:`Evidence` fills as it runs. The
    torch function mode and the module hooks are removed on exit, also on an interrupt.

    Without `enabled` nothing is recorded but, with `monitors`, what the hooks see of forwards
    and optimizer steps (cheap enough for a cell run at full speed)."""
    from .monitors import Monitors

    if not enabled:
        if not monitors:
            yield Evidence(user)
            return
        with Monitors(user) as watching:
            yield Evidence(user, None, watching)
        return
    from .provenance import Recorder

    with Recorder(user) as recorder, Monitors(user, recorder) as watching:
        recorder.monitors = watching
        yield Evidence(user, recorder, watching)
