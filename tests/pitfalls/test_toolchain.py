"""Messages that only a GPU machine (or another build) raises, recognised from their text.

The cells that raise these need hardware this suite may not have (a GPU whose architecture
the build lacks, a platform without Triton); the words below are torch's own."""
from __future__ import annotations

import pytest

from torchmagic.pitfalls.registry import Context, rank
from torchmagic.source.cellcode import CellCode


def top(exc: BaseException) -> str:
    found = rank(Context(exc=exc, code=CellCode("x = 1\n"), line=1))
    return found[0].pitfall if found else ""


class AcceleratorError(RuntimeError):
    """The class name torch >= 2.8 gives CUDA errors (torch.AcceleratorError)."""


@pytest.mark.parametrize("message", [
    "CUDA error: no kernel image is available for execution on the device\n"
    "CUDA kernel errors might be asynchronously reported at some other API call.",
    "cuda runtime error (209) : no kernel image is available for execution on the device at "
    "/pytorch/aten/src/THC/generic/THCTensorMath.cu:35",
    "CUDA error: invalid device function",
    "cuda runtime error (8) : invalid device function at /pytorch/aten/src/THC/THCTensorCopy.cu:204",
])
def test_a_gpu_architecture_missing_from_the_build(message):
    assert top(AcceleratorError(message)) == "cuda-arch-mismatch"


def test_the_arch_warning_text_is_recognised_too():
    warning = ("NVIDIA GeForce RTX 5090 with CUDA capability sm_120 is not compatible with the current PyTorch "
               "installation. The current PyTorch install supports CUDA capabilities sm_50 sm_60 sm_70 sm_75 "
               "sm_80 sm_86 sm_90.")
    assert top(RuntimeError(warning)) == "cuda-arch-mismatch"


def test_inductor_without_triton():
    class BackendCompilerFailed(RuntimeError):
        pass

    message = ("backend='inductor' raised:\nRuntimeError: Cannot find a working triton installation. "
               "Either the package is not installed or it is too old. More information on installing Triton "
               "can be found at https://github.com/openai/triton")
    found = rank(Context(exc=BackendCompilerFailed(message), code=CellCode("x = 1\n"), line=1))
    assert found[0].pitfall == "compile-toolchain-missing" and found[0].detail == "triton"


def test_other_cuda_errors_are_not_taken_for_an_architecture_problem():
    assert top(AcceleratorError("CUDA error: device-side assert triggered")) == "device-side-assert"
    assert top(AcceleratorError("CUDA error: invalid device ordinal")) == "cuda-visible-devices"
    assert top(RuntimeError("cublas runtime error : the GPU program failed to execute at "
                            "/pytorch/aten/src/THC/THCBlas.cu:258")) == "cudnn-error"
