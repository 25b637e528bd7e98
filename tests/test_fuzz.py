"""A property test: generated notebooks behave under every torchmagic mode as in plain IPython.

Each seed gives a notebook (see :mod:`fuzzcells`); it runs plainly, under `%%torchdebug`,
under `%%torchdebug --fast` and in automatic mode, and after every cell the exception type,
the cell's output and warnings, the namespace, the files written and the process settings
must be the same. `make fuzz` runs many more seeds and longer notebooks
(TORCHMAGIC_FUZZ_SEEDS, TORCHMAGIC_FUZZ_CELLS).
"""
from __future__ import annotations

import os

import pytest

from fuzzcells import compare, generate

# generated cells write with open(...).write(...), as notebooks do: their unclosed files are theirs
pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")

SEEDS = int(os.environ.get("TORCHMAGIC_FUZZ_SEEDS", "4"))
CELLS = int(os.environ.get("TORCHMAGIC_FUZZ_CELLS", "12"))


@pytest.mark.parametrize("seed", range(SEEDS))
def test_every_mode_behaves_as_plain_ipython(seed, tmp_path):
    problems = compare(seed, generate(seed, CELLS), tmp_path)
    assert not problems, "\n\n".join(problems)


def test_the_seeds_run_cover_every_kind():
    text = "".join("".join(generate(seed, CELLS)) for seed in range(SEEDS))
    for kind in ("await ", "%time", "%env", "open(", "', 'a')", ";\n", "raise ", "view(3)", "break\n", "x = (",
                 "warnings.simplefilter", "warnings.warn", "counter.bump", "fuzzhelper.bump", "cfg[",
                 "set_detect_anomaly", "set_grad_enabled", "os.environ", "pathlib.Path", "float('nan')", "def helper", "Twice.apply"):
        assert kind in text, kind
