"""The collectives a process of a distributed job enters, and where in the user's code.

While a script runs under diagnosis, the collectives of ``torch.distributed`` (``all_reduce``,
``broadcast``, ``barrier``, ...) are wrapped so that a :class:`Ledger` knows the one the
process is inside now, how many it entered, and the line of the user's code that called
it. That is what tells a rank that waits for a failed peer (a consequence) from the rank
that failed, and ranks stuck in different collectives (called in a different order) from
a slow one. The wrappers are put in place by :func:`watched` and taken away on exit; they
cost a few attribute writes per collective, nothing per tensor operation.

Torch's own debug facility, ``TORCH_DISTRIBUTED_DEBUG=DETAIL``, checks every collective
against the other ranks' before running it (one extra all-gather each time) and knows no
line of the user's code; the wrappers only write down what the process does.

In a replay (fast mode, the CPU rerun) a collective or a new process group refuses with
:class:`~torchmagic.replay.isolation.NotReplayed`: the other ranks are not replaying.
"""
from __future__ import annotations

import functools
import inspect
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterator

#: The collectives: every rank of the group must call them, in the same order.
COLLECTIVES = (
    "all_reduce", "broadcast", "barrier", "all_gather", "all_gather_into_tensor", "all_gather_object",
    "reduce", "reduce_scatter", "reduce_scatter_tensor", "gather", "gather_object", "scatter",
    "scatter_object_list", "broadcast_object_list", "all_to_all", "all_to_all_single", "monitored_barrier",
)
#: Point-to-point calls: ranks call different ones (send here, recv there) by design.
POINT_TO_POINT = ("send", "recv", "isend", "irecv", "batch_isend_irecv")
#: Calls that make process groups: a replay must not make one either.
GROUPS = ("init_process_group", "new_group")


@dataclass(frozen=True)
class Entered:
    """One collective a process entered: which, its number among the process's collectives,
    the group (``"default"`` for the whole job), the user's line that called it, and when."""

    op: str
    seq: int
    group: str
    filename: str
    line: int
    function: str
    since: float  # time.time() on entry

    @property
    def point_to_point(self) -> bool:
        return self.op in POINT_TO_POINT

    def to_dict(self) -> dict[str, Any]:
        return {"op": self.op, "seq": self.seq, "group": self.group, "file": self.filename, "line": self.line,
                "function": self.function, "since": self.since}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Entered":
        return cls(str(data["op"]), int(data["seq"]), str(data.get("group", "default")), str(data.get("file", "")),
                   int(data.get("line", 0)), str(data.get("function", "")), float(data.get("since", 0.0)))


class Ledger:
    """What the process's collectives were: the one it is in now, the last one, the count.

    Only the outermost call counts (``all_gather_object`` runs ``all_gather`` inside)."""

    def __init__(self, user: Any = None) -> None:
        self.user = user  # an evidence.UserCode: which frames are the user's
        self.current: Entered | None = None
        self.last: Entered | None = None
        self.raised_in: Entered | None = None  # the collective an exception came out of
        self.count = 0
        self._depth = threading.local()

    def enter(self, op: str, group: Any, frame: Any) -> Entered | None:
        depth = getattr(self._depth, "n", 0)
        self._depth.n = depth + 1
        if depth:
            return None
        self.count += 1
        filename, line, function = _user_site(self.user, frame)
        entry = Entered(op, self.count, _group_name(group), filename, line, function, time.time())
        self.current = entry
        return entry

    def leave(self, entry: Entered | None, failed: bool) -> None:
        self._depth.n = max(getattr(self._depth, "n", 1) - 1, 0)
        if entry is None:
            return
        self.current = None
        self.last = entry
        if failed:
            self.raised_in = entry


def _user_site(user: Any, frame: Any) -> tuple[str, int, str]:
    found = None
    if user is not None:
        try:
            found, _, _ = user.caller(frame)
        except Exception:
            found = None
    found = found or frame
    if found is None:
        return "", 0, ""
    return found.f_code.co_filename, found.f_lineno, found.f_code.co_name


def _group_name(group: Any) -> str:
    if group is None:
        return "default"
    try:
        import torch.distributed as dist

        if group is dist.GroupMember.WORLD:
            return "default"
    except Exception:
        pass
    name = getattr(group, "group_name", None)
    return str(name) if name else f"group-{id(group):x}"


def _wrapped(name: str, func: Callable[..., Any], ledger: Ledger) -> Callable[..., Any]:
    from ..replay.isolation import NotReplayed, replaying

    try:
        signature: inspect.Signature | None = inspect.signature(func)
    except (TypeError, ValueError):
        signature = None
    makes_group = name in GROUPS

    @functools.wraps(func)
    def collective(*args: Any, **kwargs: Any) -> Any:
        __tracebackhide__ = True
        if replaying():
            raise NotReplayed(f"`torch.distributed.{name}` talks to the other processes of the job, "
                              f"which a replay does not do")
        if makes_group:
            return func(*args, **kwargs)
        group = kwargs.get("group")
        if group is None and signature is not None and args:
            try:
                group = signature.bind_partial(*args, **kwargs).arguments.get("group")
            except TypeError:
                group = None
        entry = ledger.enter(name, group, sys._getframe(1))
        failed = True
        try:
            result = func(*args, **kwargs)
            failed = False
            return result
        finally:
            ledger.leave(entry, failed)

    collective.__torchmagic_wraps__ = func  # type: ignore[attr-defined]
    return collective


@contextmanager
def watched(ledger: Ledger) -> Iterator[Ledger]:
    """Within the block, the collectives of ``torch.distributed`` write to `ledger`; on exit
    (also on an interrupt) the functions are torch's own again."""
    try:
        import torch.distributed as dist
        from torch.distributed import distributed_c10d as c10d
    except Exception:  # a torch built without distributed support
        yield ledger
        return
    if not dist.is_available():
        yield ledger
        return
    swapped: list[tuple[Any, str, Any]] = []
    try:
        for name in (*COLLECTIVES, *POINT_TO_POINT, *GROUPS):
            original = getattr(c10d, name, None) or getattr(dist, name, None)
            if original is None or hasattr(original, "__torchmagic_wraps__"):
                continue
            wrapper = _wrapped(name, original, ledger)
            for owner in (dist, c10d):
                if getattr(owner, name, None) is original:
                    swapped.append((owner, name, original))
                    setattr(owner, name, wrapper)
        yield ledger
    finally:
        for owner, name, original in reversed(swapped):
            setattr(owner, name, original)
