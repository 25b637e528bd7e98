"""The ledger of collectives, in a real one-process gloo group: which collective the process
is in and the user's line that called it; torch's own functions back afterwards; a replay
refuses to talk to other processes."""
from __future__ import annotations

import tempfile

import pytest
import torch
import torch.distributed as dist

from torchmagic.cli.collectives import Ledger, watched
from torchmagic.evidence import UserCode
from torchmagic.replay.isolation import NotReplayed, recording


@pytest.fixture
def group():
    dist.init_process_group("gloo", init_method="file://" + tempfile.mktemp(), rank=0, world_size=1)
    yield
    dist.destroy_process_group()


def test_the_ledger_knows_each_collective_and_the_line_that_called_it(group):
    original = dist.all_reduce
    ledger = Ledger(UserCode(None, (__file__,), cell=__file__))
    seen = []
    with watched(ledger):
        x = torch.ones(3)
        dist.all_reduce(x); line = _line()  # noqa: E702 - the call's own line
        dist.all_gather_object([None], {"n": 1})  # counted once, not with the all_gather inside
        seen.append(ledger.current)
    assert dist.all_reduce is original and not hasattr(dist.all_reduce, "__torchmagic_wraps__")
    assert seen == [None] and ledger.count == 2
    assert ledger.last.op == "all_gather_object" and ledger.last.seq == 2
    assert ledger.raised_in is None
    first = ledger.last
    assert first.filename == __file__ and first.line == line + 1 and first.group == "default"


def _line() -> int:
    import sys

    return sys._getframe(1).f_lineno


def test_a_replay_does_not_enter_a_collective(group):
    ledger = Ledger(UserCode(None, (__file__,), cell=__file__))
    with watched(ledger), recording(), pytest.raises(NotReplayed, match="all_reduce"):
        dist.all_reduce(torch.ones(2))
    assert ledger.count == 0
