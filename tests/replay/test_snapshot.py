"""Tests for torchmagic.replay's snapshot: what a cell reads, host copies, RNG state, rescue files."""
from __future__ import annotations

import os
import random
import threading
import time

import numpy as np
import pytest
import torch
from IPython.core.error import UsageError
from torch import nn

from torchmagic.replay.reads import names_read_by
from torchmagic.replay.rescue import RESCUE_DIR, restore_rescue, save_rescue
from torchmagic.replay.rng import capture_rng, rng_restored
from torchmagic.replay.snapshot import take_snapshot

no_gpu = not torch.cuda.is_available()


# ---------------------------------------------------------------------------------------
# names_read_by
# ---------------------------------------------------------------------------------------


def test_reads_at_module_level_minus_builtins():
    assert names_read_by("y = model(x)\nprint(len(y))") == {"model", "x"}


def test_names_bound_before_their_first_read_are_not_read():
    assert names_read_by("x = torch.ones(2)\ny = x * 2") == {"torch"}
    # Read first, bound later: the namespace's value is read.
    assert names_read_by("y = x * 2\nx = torch.ones(2)") == {"x", "torch"}
    assert names_read_by("x = x + 1") == {"x"}
    assert names_read_by("x += 1") == {"x"}
    assert names_read_by("import torch.nn as nn\nfrom torch import optim\nm = nn.Linear(2, 2)") == set()


def test_conditional_bindings_do_not_hide_later_reads():
    source = "if flag:\n    total = 0\nfor b in batches:\n    total = total + b\nprint(total, b)"
    assert names_read_by(source) == {"flag", "batches", "total", "b"}


def test_loop_targets_and_loop_bodies():
    source = (
        "for epoch in range(epochs):\n"
        "    for xb, yb in loader:\n"
        "        opt.zero_grad()\n"
        "        loss = loss_fn(model(xb), yb)\n"
        "        loss.backward()\n"
        "while step < max_steps:\n"
        "    step += 1\n"
    )
    assert names_read_by(source) == {"epochs", "loader", "opt", "loss_fn", "model", "step", "max_steps"}


def test_with_try_and_match_blocks():
    source = (
        "with torch.no_grad() as ctx:\n"
        "    preds = model(x)\n"
        "acc = (preds == y).float().mean()\n"
        "try:\n"
        "    out = risky(x)\n"
        "    print(out)\n"
        "except ValueError as err:\n"
        "    print(err, fallback)\n"
        "print(out)\n"
        "match cfg:\n"
        "    case {'lr': lr} if lr > cap:\n"
        "        print(lr)\n"
        "    case Point(x=px):\n"
        "        print(px, ctx)\n"
    )
    # `preds` is bound by the `with` body; `out` only maybe (the `try` may fail first).
    assert names_read_by(source) == {"torch", "model", "x", "y", "risky", "fallback", "out", "cfg", "cap", "Point"}


def test_free_names_of_functions_not_their_locals():
    source = (
        "def train(model, batch, lr=base_lr, *args, scale: Scale = 1, **kw):\n"
        "    out = model(batch) * factor\n"
        "    for p in params:\n"
        "        hidden = p\n"
        "    def inner(z):\n"
        "        return z + out + offset\n"
        "    return inner(out) + hidden\n"
    )
    assert names_read_by(source) == {"base_lr", "Scale", "factor", "params", "offset"}


def test_global_declaration_makes_a_name_read():
    source = "def bump():\n    global counter\n    counter = counter + 1\n"
    assert names_read_by(source) == {"counter"}


def test_lambda_and_decorators():
    assert names_read_by("f = lambda a, b=dflt: a * w + b") == {"dflt", "w"}
    assert names_read_by("@register(registry)\ndef g():\n    pass") == {"register", "registry"}


def test_classes_bases_bodies_and_methods():
    source = (
        "class Net(nn.Module, metaclass=Meta):\n"
        "    width = WIDTH\n"
        "    def __init__(self, d):\n"
        "        super().__init__()\n"
        "        self.fc = nn.Linear(d, width)\n"
        "    def forward(self, x):\n"
        "        return act(self.fc(x))\n"
    )
    # `width` in a method is a global, not the class attribute.
    assert names_read_by(source) == {"nn", "Meta", "WIDTH", "width", "act"}


def test_comprehension_targets_are_local_but_iterables_are_read():
    assert names_read_by("ys = [f(x) for x in xs if x > lo]") == {"f", "xs", "lo"}
    assert names_read_by("d = {k: v * s for k, v in items.items()}") == {"s", "items"}
    assert names_read_by("g = sum(a * b for a in rows for b in a)") == {"rows"}
    # The first iterable is evaluated outside, so `x` here is the namespace's x.
    assert names_read_by("ys = [x for x in x]") == {"x"}


def test_ipython_syntax_and_magic_arguments():
    names = names_read_by("%timeit model(inputs)\nout = !ls {folder}\nresult = net(batch)")
    assert {"model", "inputs", "folder", "net", "batch"} <= names
    assert "get_ipython" not in names


def test_unparsable_source_falls_back_to_every_identifier():
    names = names_read_by("y = model(x\nfor for")
    assert {"model", "x", "y"} <= names
    assert "for" not in names


def test_namespace_keeps_shadowed_builtins_and_dynamic_reads():
    ns = {"input": torch.ones(2), "model": nn.Linear(2, 2), "lr": 0.1, "_i3": "history", "__name__": "__main__"}
    assert names_read_by("y = model(input)") == {"model"}
    assert names_read_by("y = model(input)", ns) == {"model", "input"}
    dynamic = names_read_by("y = eval('model')(input)", ns)
    assert dynamic == {"model", "input", "lr"}


# ---------------------------------------------------------------------------------------
# Snapshots
# ---------------------------------------------------------------------------------------


class Holder:
    """A plain object that keeps a tensor in an attribute."""

    def __init__(self, t: torch.Tensor) -> None:
        self.t = t
        self.note = "kept"


def _trained_namespace() -> dict:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    x, y = torch.randn(16, 4), torch.randn(16, 2)
    nn.functional.mse_loss(model(x), y).backward()
    opt.step()
    base = torch.arange(10.0)
    return {
        "__builtins__": __builtins__,
        "torch": torch,
        "nn": nn,
        "model": model,
        "opt": opt,
        "x": x,
        "y": y,
        "tensors": [torch.randn(3), torch.randn(2, 2)],
        "table": {"a": torch.ones(3), "b": torch.zeros(2)},
        "holder": Holder(torch.full((2,), 7.0)),
        "base": base,
        "view": base[2:6],
        "history": [1.0, 2.0],
        "array": np.arange(5.0),
        "steps": 3,
        "label": "run",
        "scale": lambda t: t * 2,
    }


def _state_tensors(opt: torch.optim.Optimizer) -> list[torch.Tensor]:
    return [v for s in opt.state.values() for v in s.values() if isinstance(v, torch.Tensor)]


def _clone_state(ns: dict) -> dict:
    """Independent copies of everything the tests compare bit for bit."""
    return {
        "params": [p.detach().clone() for p in ns["model"].parameters()],
        "grads": [p.grad.clone() for p in ns["model"].parameters()],
        "opt": [t.clone() for t in _state_tensors(ns["opt"])],
        "tensors": [t.clone() for t in ns["tensors"]],
        "table": {k: v.clone() for k, v in ns["table"].items()},
        "holder": ns["holder"].t.clone(),
        "base": ns["base"].clone(),
        "history": list(ns["history"]),
        "array": ns["array"].copy(),
    }


def _assert_unchanged(ns: dict, before: dict) -> None:
    for p, q in zip(ns["model"].parameters(), before["params"]):
        assert torch.equal(p, q)
    for p, g in zip(ns["model"].parameters(), before["grads"]):
        assert torch.equal(p.grad, g)
    for s, t in zip(_state_tensors(ns["opt"]), before["opt"], strict=True):
        assert torch.equal(s, t)
    for s, t in zip(ns["tensors"], before["tensors"], strict=True):
        assert torch.equal(s, t)
    for k, v in before["table"].items():
        assert torch.equal(ns["table"][k], v)
    assert torch.equal(ns["holder"].t, before["holder"])
    assert torch.equal(ns["base"], before["base"])
    assert ns["history"] == before["history"]
    assert np.array_equal(ns["array"], before["array"])


COPIED = {"model", "opt", "x", "y", "tensors", "table", "holder", "base", "view", "history", "array"}
SHARED = {"torch", "nn", "steps", "label", "scale"}


def test_snapshot_copies_mutable_values_and_shares_immutable_ones():
    ns = _trained_namespace()
    snap = take_snapshot(ns, COPIED | SHARED | {"not_defined"}, 1 << 30)
    assert set(snap.values) == COPIED
    assert snap.left_out == {}
    expected = sum(t.untyped_storage().nbytes() for t in [*ns["model"].parameters()])
    assert snap.nbytes > expected  # plus grads, optimizer state and the other tensors
    assert snap.seconds >= 0


def test_snapshot_values_are_equal_but_not_the_same_objects():
    ns = _trained_namespace()
    snap = take_snapshot(ns, COPIED, 1 << 30)
    v = snap.values
    assert isinstance(v["model"], nn.Sequential) and v["model"] is not ns["model"]
    for mine, theirs in zip(v["model"].parameters(), ns["model"].parameters(), strict=True):
        assert isinstance(mine, nn.Parameter) and mine is not theirs
        assert torch.equal(mine, theirs) and mine.requires_grad
        assert torch.equal(mine.grad, theirs.grad) and mine.grad is not theirs.grad
        assert mine.untyped_storage().data_ptr() != theirs.untyped_storage().data_ptr()
    assert isinstance(v["opt"], torch.optim.Adam) and v["opt"] is not ns["opt"]
    for mine, theirs in zip(_state_tensors(v["opt"]), _state_tensors(ns["opt"]), strict=True):
        assert torch.equal(mine, theirs) and mine is not theirs
    assert v["opt"].param_groups[0]["lr"] == 0.01
    for mine, theirs in zip(v["tensors"], ns["tensors"], strict=True):
        assert torch.equal(mine, theirs) and mine is not theirs
    assert v["table"].keys() == ns["table"].keys()
    assert all(torch.equal(v["table"][k], ns["table"][k]) and v["table"][k] is not ns["table"][k] for k in ns["table"])
    assert isinstance(v["holder"], Holder) and v["holder"] is not ns["holder"]
    assert torch.equal(v["holder"].t, ns["holder"].t) and v["holder"].note == "kept"
    assert v["history"] == ns["history"] and v["history"] is not ns["history"]
    assert np.array_equal(v["array"], ns["array"]) and v["array"] is not ns["array"]


def test_sharing_and_views_are_preserved():
    ns = _trained_namespace()
    snap = take_snapshot(ns, COPIED, 1 << 30)
    shadow = snap.shadow_namespace(ns)
    for values in (snap.values, shadow):
        params = list(values["model"].parameters())
        group = values["opt"].param_groups[0]["params"]
        assert all(a is b for a, b in zip(group, params, strict=True))
        assert set(map(id, values["opt"].state)) == set(map(id, params))
        # A view of `base` stays a view of the copy of `base`.
        assert values["view"].untyped_storage().data_ptr() == values["base"].untyped_storage().data_ptr()
        values["base"][3] = -1.0
        assert values["view"][1] == -1.0
    assert ns["base"][3] == 3.0


def test_shadow_namespace_holds_fresh_copies_and_safe_references():
    ns = _trained_namespace()
    ns["unread"] = [torch.ones(1)]  # mutable, not among the names: never shared
    snap = take_snapshot(ns, COPIED | SHARED, 1 << 30)
    shadow = snap.shadow_namespace(ns)
    for name in COPIED:
        assert shadow[name] is not ns[name] and shadow[name] is not snap.values[name]
    assert shadow["torch"] is torch and shadow["nn"] is nn
    assert shadow["steps"] == 3 and shadow["label"] == "run"
    assert "unread" not in shadow
    assert torch.equal(shadow["scale"](torch.ones(1)), torch.full((1,), 2.0))


TRAIN_CELL = """
def train_step(xb, yb):
    opt.zero_grad()
    loss = nn.functional.mse_loss(model(xb), yb)
    loss.backward()
    opt.step()
    return loss.item()

losses = [train_step(x, y) for _ in range(steps)]
tensors[0].add_(1)
table['a'].mul_(3)
holder.t.zero_()
base.fill_(5)
history.append(losses[-1])
array *= 2
"""


def test_training_in_the_shadow_leaves_user_objects_bit_for_bit_unchanged():
    ns = _trained_namespace()
    before = _clone_state(ns)
    snap = take_snapshot(ns, names_read_by(TRAIN_CELL, ns), 1 << 30)
    _assert_unchanged(ns, before)  # taking the snapshot changed nothing
    shadow = snap.shadow_namespace(ns)
    exec(TRAIN_CELL, shadow)
    first = shadow["losses"]
    _assert_unchanged(ns, before)
    assert not torch.equal(next(shadow["model"].parameters()), before["params"][0])  # it did train
    # The snapshot itself is untouched: a second rerun gives the same losses.
    again = snap.shadow_namespace(ns)
    exec(TRAIN_CELL, again)
    assert again["losses"] == first
    _assert_unchanged(ns, before)


def test_functions_defined_by_the_user_run_against_the_shadow():
    ns = _trained_namespace()
    exec("def step_once():\n    opt.zero_grad()\n    model(x).sum().backward()\n    opt.step()", ns)
    before = _clone_state(ns)
    cell = "step_once()"
    assert names_read_by(cell, ns) == {"step_once"}
    snap = take_snapshot(ns, names_read_by(cell, ns), 1 << 30)
    # What the function reads comes along with it.
    assert {"model", "opt", "x"} <= set(snap.values)
    shadow = snap.shadow_namespace(ns)
    assert shadow["step_once"] is not ns["step_once"]
    exec(cell, shadow)
    _assert_unchanged(ns, before)


def test_closures_over_mutable_objects_are_copied():
    ns: dict = {"__builtins__": __builtins__}
    exec("def make():\n    seen = []\n    def record(t):\n        seen.append(t)\n        return seen\n    return record\nrecord = make()", ns)
    snap = take_snapshot(ns, {"record"}, 1 << 30)
    assert "record" in snap.values
    ns["record"](torch.zeros(1))  # the original run goes on using the user's function
    shadow = snap.shadow_namespace(ns)
    assert shadow["record"](torch.ones(1)) == [torch.ones(1)]
    assert ns["record"].__closure__[0].cell_contents == [torch.zeros(1)]


def test_decorated_functions_bring_in_what_the_wrapped_function_reads():
    ns = _trained_namespace()
    exec(
        "def logged(f):\n"
        "    def wrapper(*args):\n"
        "        return f(*args)\n"
        "    return wrapper\n"
        "@logged\n"
        "def step():\n"
        "    opt.zero_grad()\n"
        "    model(x).sum().backward()\n"
        "    opt.step()\n",
        ns,
    )
    before = _clone_state(ns)
    snap = take_snapshot(ns, names_read_by("step()", ns), 1 << 30)
    assert {"model", "opt", "x"} <= set(snap.values)
    exec("step()", snap.shadow_namespace(ns))
    _assert_unchanged(ns, before)


def test_cyclic_structures():
    loop: list = [torch.ones(2)]
    loop.append(loop)
    node = Holder(torch.zeros(1))
    node.me = node
    snap = take_snapshot({"loop": loop, "node": node}, ["loop", "node"], 1 << 30)
    copied = snap.values["loop"]
    assert copied[1] is copied and copied is not loop and torch.equal(copied[0], loop[0])
    assert snap.values["node"].me is snap.values["node"]
    assert snap.nbytes == 4 * 3


def test_snapshot_never_changes_user_objects():
    ns = _trained_namespace()
    params = list(ns["model"].parameters())
    ptrs = [p.data_ptr() for p in params]
    before = _clone_state(ns)
    take_snapshot(ns, COPIED, 1 << 30)
    assert [p.data_ptr() for p in ns["model"].parameters()] == ptrs
    assert all(a is b for a, b in zip(ns["model"].parameters(), params))
    assert all(p.requires_grad and p.device.type == "cpu" for p in params)
    assert ns["opt"].param_groups[0]["params"][0] is params[0]
    _assert_unchanged(ns, before)


def test_size_limit_leaves_out_the_biggest_and_says_so():
    ns = {"small": torch.zeros(10), "medium": torch.zeros(100), "big": torch.zeros(10_000), "n": 1}
    snap = take_snapshot(ns, ns, limit_bytes=4 * 200)
    assert set(snap.values) == {"small", "medium"}
    assert set(snap.left_out) == {"big"}
    assert "too large" in snap.left_out["big"] and "39.1 KiB" in snap.left_out["big"]
    assert snap.nbytes == 4 * 110
    # Left-out names are not in the shadow either: the rerun must not see the user's tensor.
    assert "big" not in snap.shadow_namespace(ns)


def test_a_small_slice_of_a_big_tensor_is_copied_alone():
    data = torch.randn(100_000)
    ns = {"batch": data[:32], "pair": [data[:4], data[4:8]]}
    snap = take_snapshot(ns, ["batch"], limit_bytes=1024)
    assert snap.left_out == {} and snap.nbytes == 32 * 4
    assert torch.equal(snap.values["batch"], ns["batch"])
    assert snap.values["batch"].untyped_storage().nbytes() == 32 * 4
    # Two views of one storage are copied as one storage, so they stay views of each other.
    pair = take_snapshot(ns, ["pair"], limit_bytes=1 << 30).values["pair"]
    assert pair[0].untyped_storage().data_ptr() == pair[1].untyped_storage().data_ptr()


def test_size_limit_counts_shared_tensors_once():
    model = nn.Linear(100, 100)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    size = sum(p.numel() * 4 for p in model.parameters())
    snap = take_snapshot({"model": model, "opt": opt}, ["opt", "model"], limit_bytes=size)
    assert set(snap.values) == {"model", "opt"} and snap.left_out == {}
    assert snap.nbytes == size


def test_objects_that_cannot_be_copied_are_left_out_with_the_reason():
    locked = Holder(torch.ones(1))
    locked.lock = threading.Lock()
    ns = {"locked": locked, "fine": torch.ones(2)}
    snap = take_snapshot(ns, ns, 1 << 30)
    assert set(snap.values) == {"fine"}
    assert "lock" in snap.left_out["locked"]


def test_generators_are_copied_with_their_state():
    g = torch.Generator().manual_seed(3)
    snap = take_snapshot({"g": g}, ["g"], 1 << 30)
    copied = snap.shadow_namespace({"g": g})["g"]
    assert torch.equal(torch.rand(3, generator=copied), torch.rand(3, generator=g))


def test_non_leaf_tensors_and_tensor_attributes():
    w = torch.ones(3, requires_grad=True)
    h = w * 2
    snap = take_snapshot({"h": h, "w": w}, ["h", "w"], 1 << 30)
    assert torch.equal(snap.values["h"], h.detach()) and snap.values["h"].requires_grad
    assert h.grad_fn is not None  # the user's tensor keeps its graph


IPYTHON_SETUP = """
import torch
from torch import nn

class SnapNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 1)

    def forward(self, x):
        return self.fc(x)

snap_model = SnapNet()
snap_opt = torch.optim.SGD(snap_model.parameters(), lr=0.1, momentum=0.9)
snap_x = torch.randn(5, 3)
snap_seen = []
snap_model.register_forward_hook(lambda m, i, o: snap_seen.append(tuple(o.shape)))

def snap_train():
    snap_opt.zero_grad()
    snap_model(snap_x).pow(2).mean().backward()
    snap_opt.step()

snap_model(snap_x)
"""


@pytest.fixture
def shell():
    from IPython.core.interactiveshell import InteractiveShell

    ip = InteractiveShell.instance()
    yield ip
    for name in [n for n in ip.user_ns if n.startswith(("snap_", "SnapNet"))]:
        del ip.user_ns[name]


def test_rerun_against_a_real_ipython_namespace(shell, tmp_path):
    shell.run_cell(IPYTHON_SETUP, store_history=True).raise_error()
    ns = shell.user_ns
    cell = "snap_train()\nsnap_train()"
    snap = take_snapshot(ns, names_read_by(cell, ns), 1 << 30)
    # The hook's global list comes along: the rerun's forward passes append to a copy.
    assert {"snap_model", "snap_opt", "snap_x", "snap_seen"} <= set(snap.values)
    assert not set(snap.values) & {"In", "Out", "_", "get_ipython", "exit", "quit"}
    assert snap.left_out == {}
    weights = [p.detach().clone() for p in ns["snap_model"].parameters()]

    shadow = snap.shadow_namespace(ns)
    assert not set(shadow) & {"In", "Out", "get_ipython"}
    exec(compile(cell, "<rerun>", "exec"), shadow)
    assert all(torch.equal(p, w) for p, w in zip(ns["snap_model"].parameters(), weights, strict=True))
    assert ns["snap_seen"] == [(5, 1)] and shadow["snap_seen"] == [(5, 1)] * 3
    assert ns["snap_opt"].state == {}  # no momentum buffers appeared on the user's optimizer

    # After a restart, re-running the definitions gives new objects; the rescue file restores them.
    path = save_rescue(snap, tmp_path / "rescue.pt")
    shell.run_cell(IPYTHON_SETUP).raise_error()
    assert not torch.equal(ns["snap_model"].fc.weight, weights[0])
    report = restore_rescue(path, ns)
    assert {"snap_model", "snap_opt", "snap_x", "snap_seen"} <= set(report.restored)
    assert all(torch.equal(p, w) for p, w in zip(ns["snap_model"].parameters(), weights, strict=True))


def _data_ptr(t: torch.Tensor) -> int:
    return t.untyped_storage().data_ptr()


def test_a_retired_snapshot_lends_its_buffers_to_the_next_one():
    data = torch.randn(1000, 64)
    first = take_snapshot({"data": data}, {"data"}, 1 << 30)
    used = _data_ptr(first.values["data"])
    spare = first.retire()
    assert first.values == {} and first.nbytes == data.nbytes and len(spare) == 1
    data.mul_(2)  # the cell changed it; the next run's snapshot must see the new values
    second = take_snapshot({"data": data}, {"data"}, 1 << 30, spare=spare)
    copy = second.values["data"]
    assert _data_ptr(copy) == used  # written into the old buffer, no new allocation
    assert torch.equal(copy, data) and _data_ptr(copy) != _data_ptr(data)


def test_a_buffer_still_in_use_is_never_reused():
    data = torch.randn(1000, 64)
    first = take_snapshot({"data": data}, {"data"}, 1 << 30)
    kept = first.values["data"]  # somebody still holds a copy
    before = kept.clone()
    spare = first.retire()
    data.add_(1)
    second = take_snapshot({"data": data}, {"data"}, 1 << 30, spare=spare)
    assert _data_ptr(second.values["data"]) != _data_ptr(kept)
    assert torch.equal(kept, before) and torch.equal(second.values["data"], data)


def test_buffers_of_another_size_are_left_alone():
    first = take_snapshot({"a": torch.randn(10)}, {"a"}, 1 << 30)
    old = _data_ptr(first.values["a"])
    b = torch.randn(20)
    second = take_snapshot({"b": b}, {"b"}, 1 << 30, spare=first.retire())
    assert torch.equal(second.values["b"], b) and _data_ptr(second.values["b"]) != old


# ---------------------------------------------------------------------------------------
# Random number generators
# ---------------------------------------------------------------------------------------


def _draw() -> tuple:
    return torch.randn(4), np.random.rand(3), random.random()


def _same(a: tuple, b: tuple) -> bool:
    return torch.equal(a[0], b[0]) and np.array_equal(a[1], b[1]) and a[2] == b[2]


def test_rng_restored_replays_the_draws_and_then_continues_the_streams():
    state = capture_rng()
    original = _draw()
    after_original = capture_rng()
    with rng_restored(state):
        replay = _draw()
        _draw()  # a rerun may draw more (or less) than the original run
    assert _same(original, replay)
    # Outside the block the streams go on as if the rerun had not happened.
    continued = _draw()
    after_original.restore()
    assert _same(continued, _draw())
    assert not _same(original, continued)


def test_rng_restored_puts_generators_back_on_errors_too():
    state = capture_rng()
    _draw()
    before = capture_rng()
    with pytest.raises(KeyboardInterrupt):
        with rng_restored(state):
            _draw()
            raise KeyboardInterrupt
    expected = _draw()
    before.restore()
    assert _same(expected, _draw())


def test_snapshot_captures_the_rng():
    torch.manual_seed(5)
    snap = take_snapshot({}, [], 0)
    first = torch.rand(2)
    with rng_restored(snap.rng):
        assert torch.equal(torch.rand(2), first)


# ---------------------------------------------------------------------------------------
# Rescue files
# ---------------------------------------------------------------------------------------


def _fresh_namespace() -> dict:
    """What re-running the definition cells after a restart gives: new, untrained objects."""
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    return {
        "model": model,
        "opt": torch.optim.Adam(model.parameters(), lr=0.5),
        "x": torch.zeros(16, 4),
        "holder": Holder(torch.zeros(2)),
    }


def test_rescue_file_brings_state_back_bit_for_bit(tmp_path):
    ns = _trained_namespace()
    snap = take_snapshot(ns, COPIED, 1 << 30)
    path = save_rescue(snap, tmp_path / "rescue.pt")
    assert path.is_file()

    fresh = _fresh_namespace()
    x_object = fresh["x"]
    report = restore_rescue(path, fresh)
    assert report.path == path
    assert {"model", "opt", "x", "y", "tensors", "table", "holder", "base", "history", "array"} <= set(report.restored)
    for mine, theirs in zip(fresh["model"].parameters(), ns["model"].parameters(), strict=True):
        assert torch.equal(mine, theirs)
    assert fresh["opt"].param_groups[0]["lr"] == 0.01
    # Optimizer state is keyed by the fresh model's own parameters.
    params = list(fresh["model"].parameters())
    assert set(map(id, fresh["opt"].state)) == set(map(id, params))
    for mine, theirs in zip(_state_tensors(fresh["opt"]), _state_tensors(ns["opt"]), strict=True):
        assert torch.equal(mine, theirs)
    # A tensor of the same shape is copied into the existing object.
    assert fresh["x"] is x_object and torch.equal(fresh["x"], ns["x"])
    assert torch.equal(fresh["y"], ns["y"])  # not re-created: assigned, on the CPU
    assert all(torch.equal(a, b) for a, b in zip(fresh["tensors"], ns["tensors"], strict=True))
    assert torch.equal(fresh["table"]["a"], ns["table"]["a"])
    assert torch.equal(fresh["holder"].t, ns["holder"].t)
    assert fresh["history"] == ns["history"]
    assert np.array_equal(fresh["array"], ns["array"])
    # A training step after the restore matches one on the original objects.
    for space in (fresh, ns):
        space["opt"].zero_grad()
        space["model"](ns["x"]).sum().backward()
        space["opt"].step()
    assert all(torch.equal(a, b) for a, b in zip(fresh["model"].parameters(), ns["model"].parameters()))


def test_restore_reports_skipped_names(tmp_path):
    ns = {
        "model": nn.Linear(3, 2),
        "other": nn.Linear(3, 2),
        "wide": nn.Linear(3, 5),
        "t": torch.ones(2),
        "big": torch.zeros(1000),
    }
    snap = take_snapshot(ns, ns, limit_bytes=200)
    assert "big" in snap.left_out
    path = save_rescue(snap, tmp_path / "r.pt")
    target = {"other": nn.Conv1d(3, 2, 1), "wide": nn.Linear(3, 4), "t": "now a string"}
    report = restore_rescue(path, target)
    assert report.restored == []
    assert "missing" in report.skipped["model"]
    assert "Conv1d" in report.skipped["other"] and "Linear" in report.skipped["other"]
    assert "shape" in report.skipped["wide"]
    assert "incompatible" in report.skipped["t"]
    assert "too large" in report.skipped["big"]
    assert target["t"] == "now a string"


def test_restored_tensor_of_a_new_shape_is_assigned(tmp_path):
    snap = take_snapshot({"t": torch.arange(4.0)}, ["t"], 1 << 30)
    path = save_rescue(snap, tmp_path / "r.pt")
    ns = {"t": torch.zeros(2)}
    restore_rescue(path, ns)
    assert torch.equal(ns["t"], torch.arange(4.0))


def test_default_rescue_folder_and_newest_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError, match="no rescue file"):
        restore_rescue(None, {})
    first = save_rescue(take_snapshot({"t": torch.ones(2)}, ["t"], 1 << 30))
    time.sleep(0.01)
    second = save_rescue(take_snapshot({"t": torch.full((2,), 2.0)}, ["t"], 1 << 30))
    assert first.parent == second.parent == (tmp_path / RESCUE_DIR).resolve()
    assert first != second
    os.utime(first, (time.time() - 60, time.time() - 60))
    ns: dict = {}
    report = restore_rescue(None, ns)
    assert report.path == second and torch.equal(ns["t"], torch.full((2,), 2.0))


def test_restore_brings_back_the_random_streams(tmp_path):
    torch.manual_seed(11)
    np.random.seed(11)
    random.seed(11)
    snap = take_snapshot({}, [], 0)
    expected = _draw()
    path = save_rescue(snap, tmp_path / "r.pt")
    report = restore_rescue(path, {})
    assert report.rng_restored
    assert _same(expected, _draw())


def test_numpy_values_keep_their_dtype_through_a_rescue_file(tmp_path):
    holder = Holder(torch.ones(1))
    holder.weights = np.array([1, 2, 3], dtype=np.int32)
    ns = {"stats": {"mean": np.float32(2.5), "hist": np.zeros((2, 2), dtype=np.float16)}, "holder": holder}
    path = save_rescue(take_snapshot(ns, ns, 1 << 30), tmp_path / "r.pt")
    target = {"holder": Holder(torch.zeros(1))}
    report = restore_rescue(path, target)
    assert set(report.restored) == {"stats", "holder"}
    assert target["stats"]["mean"] == np.float32(2.5) and target["stats"]["mean"].dtype == np.float32
    assert target["stats"]["hist"].dtype == np.float16 and target["stats"]["hist"].shape == (2, 2)
    assert target["holder"].weights.dtype == np.int32 and target["holder"].weights.tolist() == [1, 2, 3]


def test_bad_rescue_paths_are_usage_errors(tmp_path):
    with pytest.raises(UsageError, match="no rescue file"):
        restore_rescue(tmp_path / "nope.pt", {})
    other = tmp_path / "other.pt"
    torch.save({"weights": torch.ones(1)}, other)
    with pytest.raises(UsageError, match="not a torchmagic rescue file"):
        restore_rescue(other, {})
    pickled = tmp_path / "pickled.pt"
    torch.save({"obj": Holder(torch.ones(1))}, pickled)  # only loadable by running pickle code
    with pytest.raises(UsageError, match="cannot be read"):
        restore_rescue(pickled, {})


# ---------------------------------------------------------------------------------------
# CUDA
# ---------------------------------------------------------------------------------------


@pytest.mark.cuda
@pytest.mark.skipif(no_gpu, reason="needs a CUDA GPU")
def test_cuda_objects_are_copied_to_host_memory(tmp_path):
    torch.manual_seed(0)
    model = nn.Linear(4, 2).cuda()
    opt = torch.optim.Adam(model.parameters())
    model(torch.randn(3, 4, device="cuda")).sum().backward()
    opt.step()
    ns = {"model": model, "opt": opt, "x": torch.randn(3, 4, device="cuda")}
    snap = take_snapshot(ns, ns, 1 << 30)
    assert snap.left_out == {}
    assert snap.rng.torch_cuda is not None
    copied = snap.values
    assert all(p.device.type == "cpu" for p in copied["model"].parameters())
    assert all(t.device.type == "cpu" for t in _state_tensors(copied["opt"]))
    assert copied["opt"].param_groups[0]["params"][0] is copied["model"].weight
    assert torch.equal(copied["model"].weight, model.weight.cpu())
    assert model.weight.device.type == "cuda"

    path = save_rescue(snap, tmp_path / "r.pt")
    fresh_model = nn.Linear(4, 2).cuda()
    fresh = {"model": fresh_model, "opt": torch.optim.Adam(fresh_model.parameters()), "x": torch.zeros(3, 4, device="cuda")}
    report = restore_rescue(path, fresh)
    assert set(report.restored) == {"model", "opt", "x"}
    assert fresh["model"].weight.device.type == "cuda" and torch.equal(fresh["model"].weight, model.weight)
    assert all(t.device.type == "cuda" for t in _state_tensors(fresh["opt"]) if t.dim())
    assert fresh["x"].device.type == "cuda" and torch.equal(fresh["x"], ns["x"])
