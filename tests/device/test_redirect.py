"""Device redirection: code written for CUDA/MPS runs on the CPU, and everything is restored."""
from __future__ import annotations

import io

import pytest
import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from torchmagic.device import redirect

HAS_CUDA = torch.cuda.is_available()
ORIGINAL_IS_AVAILABLE = torch.cuda.is_available
ORIGINAL_LOAD = torch.load


def _stack_len() -> int:
    return torch._C._len_torch_function_stack()


@pytest.fixture(autouse=True)
def restore_torch():
    """Put torch back as it was, even when a test fails half-way."""
    context = getattr(torch._GLOBAL_DEVICE_CONTEXT, "device_context", None)
    previous = None if context is None else context.device
    depth = _stack_len()
    yield
    redirect.stop_redirect()
    torch.set_default_device(previous)
    assert _stack_len() == depth
    assert torch.cuda.is_available is ORIGINAL_IS_AVAILABLE
    assert torch.load is ORIGINAL_LOAD


def test_cuda_requests_land_on_cpu():
    with redirected_cpu():
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        results = {
            "zeros": torch.zeros(3, device="cuda"),
            "tensor": torch.tensor([1], device="cuda:0"),
            "randn": torch.randn(2, device=torch.device("cuda", 0)),
            "tensor.cuda": torch.ones(2).cuda(),
            "tensor.to": torch.ones(2).to("cuda", non_blocking=True),
            "to(device obj)": torch.ones(2).to(torch.device("cuda:0")),
            "to(int)": torch.ones(2).to(0),
            "to(device=)": torch.ones(2).to(device="cuda", dtype=torch.float64),
            "idiom": torch.ones(2).to(device),
            "empty_like": torch.empty_like(torch.ones(2), device="cuda"),
            "new_zeros": torch.ones(2).new_zeros(3, device="cuda"),
            "pinned": torch.empty(2, pin_memory=True),
        }
        assert device == torch.device("cpu")
        assert results["to(device=)"].dtype == torch.float64
    for name, tensor in results.items():
        assert tensor.device.type == "cpu", name


def redirected_cpu():
    return redirect.redirected("cpu")


def test_availability_checks_answer_false_inside_only():
    with redirected_cpu():
        assert torch.cuda.is_available() is False
        assert torch.cuda.device_count() == 0
        assert torch.backends.mps.is_available() is False
        assert torch.accelerator.is_available() is False or torch.accelerator.current_accelerator() is None
        assert torch.cuda.memory_allocated() == 0
        torch.cuda.synchronize()  # a no-op instead of "Torch not compiled with CUDA enabled"
        assert redirect.redirect_active() == "cpu"
        assert set(redirect.redirected_types()) == {"cuda", "mps"}
    assert torch.cuda.is_available is ORIGINAL_IS_AVAILABLE
    assert torch.cuda.is_available() is HAS_CUDA
    assert redirect.redirect_active() is None


@pytest.mark.skipif(HAS_CUDA, reason="checks the failure a CPU-only machine gives")
def test_without_redirect_cuda_requests_fail_here():
    with pytest.raises((AssertionError, RuntimeError)):
        torch.zeros(1, device="cuda")


def test_modules_move_and_keep_their_parameters():
    with redirected_cpu():
        model = nn.Linear(2, 2)
        weight = model.weight
        assert model.to("cuda") is model
        model.cuda()
        model.to(torch.device("cuda:0"))
        made = nn.Linear(2, 2, device="cuda")
        out = model(torch.ones(1, 2).cuda())
    assert model.weight is weight and isinstance(model.weight, nn.Parameter)
    assert model.weight.device.type == "cpu" and made.weight.device.type == "cpu"
    out.sum().backward()
    assert model.weight.grad is not None


def test_a_move_copies_like_a_real_device_change():
    with redirected_cpu():
        a = torch.randn(3, requires_grad=True)
        b = a.cuda()  # the classic mistake: b is not a leaf on a GPU either
        placed = torch.zeros(3, device="cuda")
        again = placed.cuda()
        view_again = placed[1:].to("cuda")
        from_cpu = torch.ones(3)
        moved = from_cpu.to("cuda")
    assert b is not a and not b.is_leaf
    b.sum().backward()
    assert a.grad is not None and torch.equal(a.grad, torch.ones(3))
    assert again is placed  # already "on cuda": returned as is, as on a GPU
    assert view_again._base is placed
    moved.add_(1)
    assert torch.equal(from_cpu, torch.ones(3))  # a copy, as a real transfer would be


def test_torch_load_map_location_forms():
    buffer = io.BytesIO()
    torch.save({"w": torch.arange(3.0)}, buffer)
    forms = ["cuda", torch.device("cuda:0"), {"cpu": "cuda:0"}, lambda s, loc: None, None]
    with redirected_cpu():
        for form in forms:
            buffer.seek(0)
            loaded = torch.load(buffer, map_location=form)
            assert loaded["w"].device.type == "cpu"
            assert torch.equal(loaded["w"], torch.arange(3.0))
        buffer.seek(0)
        positional = torch.load(buffer, "cuda")
        assert positional["w"].device.type == "cpu"


def test_default_device_cuda_under_redirect():
    torch.set_default_device("cuda")  # allowed without a GPU; tensors would fail to allocate
    with redirected_cpu():
        assert torch.zeros(2).device.type == "cpu"
        assert torch.tensor([1.0]).device.type == "cpu"
        assert nn.Linear(2, 2).weight.device.type == "cpu"
        with torch.device("cuda"):
            assert torch.ones(1).device.type == "cpu"


def test_restored_after_keyboard_interrupt():
    depth = _stack_len()
    with pytest.raises(KeyboardInterrupt):
        with redirected_cpu():
            assert _stack_len() == depth + 1
            raise KeyboardInterrupt
    assert _stack_len() == depth
    assert torch.cuda.is_available is ORIGINAL_IS_AVAILABLE
    assert redirect.redirect_active() is None


def test_nested_blocks():
    with redirected_cpu():
        with redirect.redirected("cpu", ("cuda",)):
            assert torch.cuda.is_available() is False
        assert torch.cuda.is_available() is False  # the outer block still redirects
        assert torch.zeros(1, device="cuda").device.type == "cpu"
    assert torch.cuda.is_available is ORIGINAL_IS_AVAILABLE


def test_mps_only_redirect_leaves_cuda_alone():
    with redirect.redirected("cpu", ("mps",)):
        assert torch.backends.mps.is_available() is False
        assert torch.zeros(1, device="mps").device.type == "cpu"
        assert torch.cuda.is_available() is HAS_CUDA
        if not HAS_CUDA:
            with pytest.raises((AssertionError, RuntimeError)):
                torch.ones(1).cuda()


def test_redirect_to_its_own_type_is_refused():
    with pytest.raises(ValueError):
        with redirect.redirected("cuda", ("cuda",)):
            pass
    assert redirect.redirect_active() is None


def test_real_functions_show_the_machine():
    with redirected_cpu():
        with redirect.real_functions():
            assert torch.cuda.is_available is ORIGINAL_IS_AVAILABLE
            assert torch.cuda.is_available() is HAS_CUDA
        assert torch.cuda.is_available() is False
        assert redirect.original(torch.cuda.is_available) is ORIGINAL_IS_AVAILABLE


def test_pin_memory_and_legacy_type_strings():
    with redirected_cpu():
        x = torch.ones(2)
        assert x.pin_memory() is x
        assert x.type("torch.cuda.DoubleTensor").dtype == torch.float64
        with pytest.warns(UserWarning, match="pin_memory"):
            loader = torch.utils.data.DataLoader(torch.arange(8.0), batch_size=4, pin_memory=True)
            batches = [b.to("cuda") for b in loader]
    assert all(b.device.type == "cpu" for b in batches)


def test_persistent_redirect_survives_cells(shell):
    depth = _stack_len()
    redirect.start_redirect("cpu")
    try:
        assert shell.run_cell("import torch\nx = torch.ones(2).cuda()").success
        result = shell.run_cell("y = x.to('cuda') + torch.zeros(2, device='cuda')\n"
                                "ok = torch.cuda.is_available()")
        assert result.success
        assert shell.user_ns["y"].device.type == "cpu"
        assert shell.user_ns["ok"] is False
        assert redirect.persistent_redirect() == ("cpu", ("cuda", "mps"))
    finally:
        redirect.stop_redirect()
        for name in ("x", "y", "ok"):
            shell.user_ns.pop(name, None)
    assert _stack_len() == depth
    assert torch.cuda.is_available is ORIGINAL_IS_AVAILABLE
    redirect.stop_redirect()  # a second stop is harmless


def test_stop_keeps_modes_pushed_after_the_redirect():
    class Counting(TorchFunctionMode):
        calls = 0

        def __torch_function__(self, func, types, args=(), kwargs=None):
            Counting.calls += 1
            return func(*args, **(kwargs or {}))

    depth = _stack_len()
    redirect.start_redirect("cpu")
    mode = Counting()
    mode.__enter__()
    try:
        redirect.stop_redirect()
        assert _stack_len() == depth + 1
        torch.ones(1)
        assert Counting.calls >= 1
    finally:
        mode.__exit__(None, None, None)
    assert _stack_len() == depth


def test_start_replaces_an_earlier_persistent_redirect():
    depth = _stack_len()
    redirect.start_redirect("cpu")
    redirect.start_redirect("cpu")
    assert _stack_len() == depth + 1
    redirect.stop_redirect()
    assert _stack_len() == depth


@pytest.mark.cuda
@pytest.mark.skipif(not HAS_CUDA, reason="needs a CUDA GPU")
def test_redirect_on_a_gpu_machine_keeps_work_on_the_cpu():
    with redirected_cpu():
        assert torch.cuda.is_available() is False
        assert torch.zeros(2, device="cuda").device.type == "cpu"
        assert nn.Linear(2, 2).cuda().weight.device.type == "cpu"
        with redirect.real_functions():
            assert torch.cuda.is_available() is True
    assert torch.zeros(2, device="cuda").device.type == "cuda"
