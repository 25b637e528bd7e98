"""CUDA runtime pitfalls read from the code: runs that cannot be reproduced."""
from __future__ import annotations

import ast
import re
from typing import Any, Iterator

from ..source.cell import Cell
from ..source.syntax import kwarg
from ..source.values import torch_module
from .helpers import _short
from .registry import Hit, monitor, rule


_NP_NOT_DRAWS = {"seed", "default_rng", "RandomState", "Generator", "SeedSequence", "get_state", "set_state",
                 "PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64", "BitGenerator"}

_PY_DRAWS = {"random", "randint", "choice", "choices", "shuffle", "sample", "uniform", "gauss", "randrange",
             "normalvariate", "betavariate", "expovariate", "triangular", "getrandbits", "lognormvariate"}

_TORCH_DRAWS = {"rand", "randn", "randint", "randperm", "rand_like", "randn_like", "randint_like", "multinomial",
                "bernoulli", "normal", "poisson"}


def _generator_family(path: str, seed: bool) -> str:
    """'torch' / 'numpy' / 'random' for a seeding call (seed=True) or a random draw, else ''."""
    head, _, last = path.rpartition(".")
    if seed:
        if last == "manual_seed" and head in ("torch", "torch.random"):
            return "torch"
        if path == "numpy.random.seed":
            return "numpy"
        if path == "random.seed":
            return "random"
        return ""
    if head == "numpy.random" and last not in _NP_NOT_DRAWS:
        return "numpy"
    if head == "random" and last in _PY_DRAWS:
        return "random"
    if head == "torch" and last in _TORCH_DRAWS or head == "torch.nn.init":
        return "torch"
    return ""


def _seeds(cell: Cell) -> dict[str, ast.Call] | None:
    """The generators the cell's code seeds (family -> the first seeding call); None when it
    calls a helper that seeds them all."""
    seeded: dict[str, ast.Call] = {}
    for call in cell.calls:
        if "seed" in cell._call_last(call).lower() and cell._call_last(call) not in ("manual_seed", "seed"):
            return None
        path = cell.path_of(call.func, cell.scope_of(call))
        family = _generator_family(path, seed=True) if path else ""
        if family:
            seeded.setdefault(family, call)
    return seeded


_SEED_KEYWORDS = {"random_state", "seed", "random_seed", "rng_seed"}
# an earlier cell of the session that seeded a generator (IPython's input history)
_EARLIER_SEEDS = {"torch": re.compile(r"manual_seed|seed_everything|set_seed|seed_all"),
                  "numpy": re.compile(r"\bnp\.random\.seed|numpy\.random\.seed|seed_everything|set_seed|seed_all"),
                  "random": re.compile(r"\brandom\.seed|seed_everything|set_seed|seed_all")}


def _seed_asked(cell: Cell) -> ast.Call | None:
    """A call given a fixed seed for its own randomness (`train_test_split(..., random_state=0)`):
    the cell means its results to be reproducible."""
    for call in cell.calls:
        for k in call.keywords:
            if k.arg in _SEED_KEYWORDS and isinstance(k.value, ast.Constant) and isinstance(k.value.value, int) \
                    and not isinstance(k.value.value, bool):
                return call
    return None


@monitor
def run_unseeded_draws(cell: Cell, found: Any) -> Iterator[Hit]:
    """The cell means to be reproducible (it seeds one generator, or hands a function a fixed
    `random_state`) and the run drew from a global generator it does not seed: torch's (weight
    initialisation, shuffling, dropout), Python's or NumPy's, in this cell or in a helper of an
    earlier cell (the run saw the generator's state move). The line is the seeding, where the
    other seeds belong."""
    drew = getattr(found.monitors, "drew", None) or {}
    seeded = _seeds(cell)
    if seeded is None:
        return
    first = seeded.get("torch") or next(iter(seeded.values()), None) or _seed_asked(cell)
    if first is None:
        return
    earlier = "\n".join(found.user.earlier_cells()) if getattr(found, "user", None) is not None else ""
    for family, label in (("torch", "torch"), ("numpy", "numpy.random"), ("random", "random")):
        if family == "torch" and getattr(found.monitors, "seeded_torch", False):
            continue  # a helper of the run seeded it
        if drew.get(family) and family not in seeded and not _EARLIER_SEEDS[family].search(earlier):
            yield Hit("nondeterminism", first.lineno, label, _short(cell, first))
            return


@monitor
def run_benchmark_after_seeding(cell: Cell, found: Any) -> Iterator[Hit]:
    """A seeding helper of an earlier cell that also turns on `cudnn.benchmark` (or leaves
    `cudnn.deterministic` off while turning benchmark on): cuDNN then picks its kernels by
    timing, and runs seeded alike still differ on a GPU. The line is the cell's call of it."""
    if not torch_module().backends.cudnn.benchmark:
        return
    ns = cell.ns or {}
    for call in cell.calls:
        if not isinstance(call.func, ast.Name) or "seed" not in call.func.id.lower():
            continue
        code = getattr(ns.get(call.func.id), "__code__", None)
        if code is not None and "benchmark" in code.co_names:
            yield Hit("nondeterminism", call.lineno, call.func.id, _short(cell, call), detail="seeding_helper")
            return


@rule
def rule_benchmark_with_seeds(cell: Cell) -> Iterator[Hit]:
    """A cell that seeds its generators and turns on `cudnn.benchmark`: cuDNN then picks its
    kernels by timing, so the seeded runs still differ on a GPU. The line is the assignment."""
    seeded = _seeds(cell)
    if seeded == {}:
        return
    for node in cell.nodes:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and node.value.value is True \
                and any(cell.text(t).endswith("cudnn.benchmark") for t in node.targets):
            seed = next(iter(seeded.values()), None) if seeded else None
            yield Hit("nondeterminism", node.lineno, cell.text(node.targets[0]),
                      _short(cell, seed) if seed is not None else "the seeds", detail="seeded_benchmark")
            return


@rule
def rule_nondeterminism(cell: Cell) -> Iterator[Hit]:
    """A cell that seeds some random generators but draws from one it does not seed: the line
    is the seeding call, where the missing seeds go."""
    seeded: dict[str, ast.Call] = {}
    draws: list[tuple[str, ast.Call]] = []
    for call in cell.calls:
        last = cell._call_last(call)
        if last in ("seed_everything", "set_seed", "set_random_seed", "fix_seed", "seed_all"):
            return  # a helper that seeds everything
        path = cell.path_of(call.func, cell.scope_of(call))
        if not path:
            continue
        family = _generator_family(path, seed=True)
        if family:
            seeded.setdefault(family, call)
            continue
        family = _generator_family(path, seed=False)
        if family and kwarg(call, "generator") is None:
            draws.append((family, call))
    if not seeded:
        return
    # the line is the seeding that the other generators' seeds belong beside
    seed = seeded.get("torch") or next(iter(seeded.values()))
    unseeded = [cell.text(call.func) for family, call in draws if family not in seeded]
    if unseeded:
        yield Hit("nondeterminism", seed.lineno, unseeded[0], _short(cell, seed))
