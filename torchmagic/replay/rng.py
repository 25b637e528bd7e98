"""The random number generators' state: captured before a run, put back for its replay."""
from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any


def _numpy() -> Any:
    try:
        import numpy
    except ImportError:
        return None
    return numpy


@dataclass
class RngState:
    """The state of the global random generators: torch CPU and CUDA, numpy, `random`."""

    torch_cpu: Any
    torch_cuda: list[Any] | None = None  # one state per device, when CUDA was initialised
    numpy: Any = None
    python: Any = None

    def restore(self) -> None:
        """Set all generators back to the captured state.

        A CUDA context that can no longer be used keeps its generators as they are: a
        failed CUDA kernel must not also break the CPU rerun that follows it.
        """
        import torch

        torch.set_rng_state(self.torch_cpu)
        if self.torch_cuda is not None:
            try:
                if torch.cuda.is_available() and torch.cuda.device_count() == len(self.torch_cuda):
                    torch.cuda.set_rng_state_all(self.torch_cuda)
            except RuntimeError:
                pass
        if self.numpy is not None:
            np = _numpy()
            if np is not None:
                np.random.set_state(self.numpy)
        if self.python is not None:
            random.setstate(self.python)


def capture_rng() -> RngState:
    """Capture the state of every global random generator."""
    import torch

    cuda = None
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        try:
            cuda = [s.clone() for s in torch.cuda.get_rng_state_all()]
        except RuntimeError:
            cuda = None
    np = _numpy()
    return RngState(
        torch_cpu=torch.get_rng_state(),
        torch_cuda=cuda,
        numpy=np.random.get_state() if np is not None else None,
        python=random.getstate(),
    )


@contextmanager
def rng_restored(state: RngState) -> Iterator[None]:
    """Within the block, generators start from `state`; on exit they are put back to what they
    were before the block (so a rerun doesn't shift the user's random streams)."""
    before = capture_rng()
    try:
        state.restore()
        yield
    finally:
        before.restore()


