"""CUDA runtime pitfalls read from the code: runs that cannot be reproduced."""
from __future__ import annotations

import ast
from typing import Any, Iterator

from ..source.cell import Cell, kwarg
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


@monitor
def run_unseeded_draws(cell: Cell, found: Any) -> Iterator[Hit]:
    """The cell seeds torch, and the run drew from Python's or NumPy's global generator, which
    it does not seed (in a helper of an earlier cell, say: the run saw the generator's state
    move). The line is the seeding the others need beside it."""
    drew = getattr(found.monitors, "drew", None) or {}
    seeded = _seeds(cell)
    if not seeded or "torch" not in seeded:
        return
    for family, label in (("numpy", "numpy.random"), ("random", "random")):
        if drew.get(family) and family not in seeded:
            yield Hit("nondeterminism", seeded["torch"].lineno, label, _short(cell, seeded["torch"]))
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
