"""The provenance record: what it keeps of each tensor, that it keeps nothing alive, and that
every hook and patch it installs is gone after the block, also after an interrupt."""
from __future__ import annotations

import gc
import sys
import weakref

import numpy as np
import pytest
import torch
import torch.nn as nn
from torch.nn.modules import module as module_hooks
from torch.optim import optimizer as optimizer_hooks

from torchmagic.evidence import Evidence, UserCode, recording

HERE = __file__


def _user() -> UserCode:
    return UserCode(cell=HERE)


def test_a_record_names_the_operation_its_inputs_and_the_users_line():
    with recording(_user()) as found:
        x = torch.arange(6)
        line = sys._getframe().f_lineno + 1
        y = (x + 1).long()
    record = found.record(y)
    assert record.site.filename == HERE and record.site.line == line
    assert record.op in ("long", "add", "__add__")
    assert record.inputs and record.dtype == torch.int64 and record.shape == (6,)
    assert (record.lo, record.hi) == (1, 6)


def test_records_hold_no_tensor_and_go_with_it():
    with recording(_user()) as found:
        t = torch.randn(100)
        u = t * 2
    record = found.record(u)
    ref = weakref.ref(u)
    del u
    gc.collect()
    assert ref() is None and record.tensor is None
    assert found.record(t) is not None


def test_in_place_writes_of_the_users_code_are_kept_with_their_values():
    with recording(_user()) as found:
        labels = torch.tensor([0, 1, 2, 3])
        line = sys._getframe().f_lineno + 1
        labels[labels == 0] = -1
    change = found.record(labels).changes[-1]
    assert change.site.line == line and change.lo == -1 and change.hi == 3


def test_from_numpy_is_recorded_and_put_back():
    original = torch.from_numpy
    with recording(_user()) as found:
        assert torch.from_numpy is not original
        t = torch.from_numpy(np.zeros(3))
    assert torch.from_numpy is original
    assert found.record(t).op == "from_numpy" and found.record(t).dtype == torch.float64


def test_modules_built_in_the_block_are_remembered_with_their_line():
    with recording(_user()) as found:
        line = sys._getframe().f_lineno + 1
        model = nn.Sequential(nn.Linear(3, 4), nn.ReLU())
    assert found.built_at(model[0]).line == line and found.built_at(model[1]).line == line


def test_backward_calls_and_optimizer_steps_are_counted():
    model = nn.Linear(3, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with recording(_user()) as found:
        for _ in range(2):
            opt.zero_grad()
            model(torch.randn(4, 3)).sum().backward()
            opt.step()
    assert found.backward_passes == 2 and len(found.recorder.backwards) == 2
    assert len(found.steps) == 2 and found.steps[1].reset


def _state() -> tuple:
    return (torch.overrides._get_current_function_mode_stack(), dict(module_hooks._global_forward_hooks),
            dict(module_hooks._global_forward_pre_hooks), dict(module_hooks._global_parameter_registration_hooks),
            dict(module_hooks._global_module_registration_hooks), dict(optimizer_hooks._global_optimizer_pre_hooks),
            dict(optimizer_hooks._global_optimizer_post_hooks), torch.from_numpy)


def test_everything_is_taken_back_also_after_an_interrupt():
    before = _state()
    with pytest.raises(KeyboardInterrupt):
        with recording(_user()):
            torch.ones(2) + 1
            raise KeyboardInterrupt
    assert _state() == before
    with recording(_user()):
        pass
    assert _state() == before


def test_an_optimizer_step_that_raises_does_not_leave_the_mode_aside():
    param = nn.Parameter(torch.ones(2))
    opt = torch.optim.SGD([param], lr=0.1)
    param.grad = torch.ones(2)

    def broken(optimizer, args, kwargs):
        raise RuntimeError("a hook of the user's")

    handle = optimizer_hooks.register_optimizer_step_post_hook(broken)
    before = _state()[0]
    try:
        with pytest.raises(RuntimeError):
            with recording(_user()):
                opt.step()
    finally:
        handle.remove()
    assert torch.overrides._get_current_function_mode_stack() == before


def test_no_recording_gives_empty_evidence():
    with recording(_user(), enabled=False) as found:
        t = torch.ones(2)
    assert isinstance(found, Evidence) and found.record(t) is None and found.forwards == []


def test_torch_compile_sees_only_the_operations():
    validating = torch.distributions.Distribution._validate_args
    try:
        model = torch.compile(nn.Linear(4, 2), backend="eager")
        with recording(_user()) as found:
            out = model(torch.randn(3, 4))
    finally:  # dynamo's first compile turns distribution checks off for the whole process
        torch.distributions.Distribution.set_default_validate_args(validating)
    assert out.shape == (3, 2) and found.recorder is not None
