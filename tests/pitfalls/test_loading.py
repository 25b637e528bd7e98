"""DataLoader messages that need a GPU to raise, recognised from torch's own words; the CPU
ones run as real cells in tests/cells."""
from __future__ import annotations

from torchmagic.pitfalls.registry import Context, rank
from torchmagic.source.cellcode import CellCode


def top(exc: BaseException) -> str:
    found = rank(Context(exc=exc, code=CellCode("x = 1\n"), line=1))
    return found[0].pitfall if found else ""


def test_pinning_batches_that_are_already_on_the_gpu():
    assert top(RuntimeError("cannot pin 'torch.cuda.FloatTensor' only dense CPU tensors can be pinned")) == \
        "pin-memory-cuda"
    assert top(RuntimeError("cannot pin 'CUDAFloatType' only dense CPU tensors can be pinned")) == "pin-memory-cuda"


def test_cuda_in_a_forked_worker_as_the_main_process_sees_it():
    message = ("Caught RuntimeError in DataLoader worker process 0.\nOriginal Traceback (most recent call last):\n"
               '  File "/usr/lib/python3/dist-packages/torch/utils/data/_utils/worker.py", line 349, in _worker_loop\n'
               "RuntimeError: Cannot re-initialize CUDA in forked subprocess. To use CUDA with multiprocessing, "
               "you must use the 'spawn' start method")
    assert top(RuntimeError(message)) == "cuda-forked-worker"
