"""Root-cause queries over a real run's record: where a dtype, values, a shape and a history
cut came from, which earlier graph a tensor belongs to, and the first non-finite value."""
from __future__ import annotations

import sys

import numpy as np
import torch
import torch.nn as nn

from torchmagic.evidence import UserCode, recording
from torchmagic.evidence import queries

HERE = __file__


def _line(offset: int = 1) -> int:
    return sys._getframe(1).f_lineno + offset


def test_dtype_origin_is_the_operation_that_made_the_dtype():
    with recording(UserCode(cell=HERE)) as found:
        made = _line()
        table = torch.from_numpy(np.random.default_rng(0).random((8, 3)))
        batch = table[:4]  # a batch of rows: the same data
        moved = batch.to("cpu") * 2
    trail = queries.dtype_origin(found.record(moved))
    assert trail[-1].site.line == made and trail[-1].op == "from_numpy"


def test_dtype_origin_stops_where_a_column_is_taken():
    with recording(UserCode(cell=HERE)) as found:
        table = torch.from_numpy(np.random.default_rng(0).random((8, 3)))
        taken = _line()
        actions = table[:, 0]
    assert queries.dtype_origin(found.record(actions))[-1].site.line == taken


def test_value_origin_finds_the_write_or_the_operation_that_made_the_bad_values():
    def bad(lo, hi):
        return lo < 0 or hi >= 5

    with recording(UserCode(cell=HERE)) as found:
        labels = torch.randint(0, 5, (20,))
        written = _line()
        labels[3] = -1
        stars = torch.tensor([1, 5, 3, 2])
        shifted = _line()
        ids = stars + 0
    assert queries.value_origin(found.record(labels), bad)[-1].site.line == written
    assert queries.value_origin(found.record(ids), bad)[-1].site.line == shifted - 2


def test_shape_origin_is_the_operation_that_changed_the_shape():
    with recording(UserCode(cell=HERE)) as found:
        x = torch.randn(4, 3, 5)
        swapped = _line()
        y = x.transpose(1, 2)
        z = torch.relu(y) * 2
    assert queries.shape_origin(found.record(z))[-1].site.line == swapped


def test_history_cut_names_detach_no_grad_and_freezing():
    layer = nn.Linear(3, 1)
    with recording(UserCode(cell=HERE)) as found:
        out = layer(torch.randn(2, 3))
        cut = _line()
        detached = out.detach() * 2
        with torch.no_grad():
            quiet = _line()
            silent = layer(torch.randn(2, 3))
        frozen_at = _line(2)
        frozen = nn.Linear(3, 1)
        frozen.weight.requires_grad_(False); frozen.bias.requires_grad_(False)
        dead = frozen(torch.randn(2, 3))
    assert queries.history_cut(found.record(detached))[-1].site.line == cut
    assert queries.history_cut(found.record(silent))[-1].site.line == quiet
    assert queries.history_cut(found.record(dead))[-1].site.line == frozen_at


def test_earlier_graph_and_the_backward_that_freed_it():
    model = nn.Linear(3, 1)
    with recording(UserCode(cell=HERE)) as found:
        made = _line()
        shared = model(torch.randn(4, 3))
        first = _line()
        shared.sum().backward()
        second = shared * 2
    trail = queries.earlier_graph(found.record(second))
    assert trail[-1].site.line == made
    consumer = queries.freed_by(trail[-1], found.recorder.backwards + [None])
    assert consumer is not None and consumer.site.line == first


def test_the_first_non_finite_value_and_data_that_already_held_one():
    with recording(UserCode(cell=HERE)) as found:
        x = torch.tensor([1.0, 0.0])
        logged = _line()
        y = torch.log(x)
        z = y * 2
    first = queries.nonfinite_origin(found.first_nonfinite)
    assert first.site.line == logged and first.op == "log"
    data = torch.tensor([float("nan"), 1.0])
    with recording(UserCode(cell=HERE)) as found:
        (data * 2).sum()
    assert queries.nonfinite_origin(found.first_nonfinite).op is None  # it came with the data
