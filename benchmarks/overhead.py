"""Overhead of torchmagic on successful CPU training-step cells, measured in one process.

Prints, for each cell, the median time of: the plain cell, the cell under a bare
`torch.autograd.detect_anomaly(check_nan=True)`, the cell under `%%torchdebug`, under
`%%torchdebug --fast`, and with automatic mode on (`%torchdebug on`, fast by default); the
ratios against plain, torchmagic's own share over bare anomaly detection, the snapshot that
fast mode takes (bytes, seconds), and the cost of `%load_ext torchmagic` beyond `import torch`.

Cells are usually run again with the same text, and fast mode keeps what depends on the text
alone (translation, compiled code, the lint's parse). A second table runs every cell with a
new text each time (a numbered comment), so that nothing is reused: the cost of a first run.

    .venv/bin/python benchmarks/overhead.py [--repeat 15]
"""
from __future__ import annotations

import argparse
import contextlib
import statistics
import subprocess
import sys
import textwrap
import time

SETUP = """
import torch, torch.nn as nn, torch.nn.functional as F
torch.manual_seed(0)
torch.set_num_threads(1)
"""

CELLS = {
    "small MLP": """
model = nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 10))
opt = torch.optim.SGD(model.parameters(), lr=0.01)
x, y = torch.randn(64, 32), torch.randint(0, 10, (64,))
for _ in range(20):
    opt.zero_grad()
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
""",
    "medium MLP": """
model = nn.Sequential(nn.Linear(256, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
x, y = torch.randn(128, 256), torch.randint(0, 10, (128,))
for _ in range(20):
    opt.zero_grad()
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
""",
    "small CNN": """
model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                      nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                      nn.Flatten(), nn.Linear(16, 10))
opt = torch.optim.SGD(model.parameters(), lr=0.01)
x, y = torch.randn(32, 1, 28, 28), torch.randint(0, 10, (32,))
for _ in range(10):
    opt.zero_grad()
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
""",
}


def interleaved(fns: dict, repeat: int, around: dict | None = None) -> dict:
    """Median seconds of each function, run in turns (a, b, c, a, b, c, ...) so that a slow
    spell of the machine weighs on every variant alike instead of on whichever ran then.
    `around[name]` is an untimed context manager factory entered for that variant's runs."""
    around = around or {}
    samples: dict = {name: [] for name in fns}
    for turn in range(repeat + 1):
        for name, fn in fns.items():
            with around.get(name, contextlib.nullcontext)():
                t0 = time.perf_counter()
                fn()
                elapsed = time.perf_counter() - t0
            if turn:  # the first turn is the warm-up
                samples[name].append(elapsed)
    return {name: statistics.median(times) for name, times in samples.items()}


def load_cost() -> tuple[float, float]:
    """Seconds for `import torch`, and for `import torch` + `%load_ext torchmagic` (fresh processes)."""
    base = "import time; t=time.perf_counter(); import torch; from IPython.core.interactiveshell import InteractiveShell; ip=InteractiveShell.instance(); t1=time.perf_counter()"
    plain = base + "; print(t1-t)"
    loaded = base + "; ip.run_line_magic('load_ext','torchmagic'); print(time.perf_counter()-t1)"
    a = min(float(subprocess.check_output([sys.executable, "-c", plain])) for _ in range(3))
    b = min(float(subprocess.check_output([sys.executable, "-c", loaded])) for _ in range(3))
    return a, b


SNAPSHOT_SETUP = """
data = torch.randn(100_000, 256)            # about 100 MB, read by the cell below
labels = torch.randint(0, 10, (100_000,))
net = nn.Sequential(nn.Linear(256, 512), nn.ReLU(), nn.Linear(512, 10))
net_opt = torch.optim.Adam(net.parameters(), lr=1e-3)
"""

SNAPSHOT_CELL = """
for i in range(0, 20_000, 1000):
    net_opt.zero_grad()
    loss = F.cross_entropy(net(data[i:i + 1000]), labels[i:i + 1000])
    loss.backward()
    net_opt.step()
"""


def snapshot_cost(ip, repeat: int) -> None:
    """The snapshot a cell that reads namespace tensors costs, next to the cell's own run time."""
    import torchmagic

    ip.run_cell(SNAPSHOT_SETUP)
    ip.run_cell("%%torchdebug --fast\n" + SNAPSHOT_CELL, store_history=False)
    cold = torchmagic.last_diagnosis().snapshot  # a cell's first run allocates its copies
    times = interleaved({
        "plain": lambda: ip.run_cell(SNAPSHOT_CELL, store_history=False),
        "fast": lambda: ip.run_cell("%%torchdebug --fast\n" + SNAPSHOT_CELL, store_history=False),
    }, repeat)
    t_plain, t_fast = times["plain"], times["fast"]
    snap = torchmagic.last_diagnosis().snapshot
    print(f"snapshot of a cell reading a 100 MB dataset and a model: {snap.nbytes / 1e6:.1f} MB in "
          f"{cold.seconds * 1000:.1f} ms on its first run, {snap.seconds * 1000:.1f} ms when run again "
          f"(into the previous copies' memory);\n  cell {t_plain * 1000:.1f} ms plain, {t_fast * 1000:.1f} ms "
          f"under --fast ({t_fast / t_plain:.2f}x)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=15)
    args = ap.parse_args()

    import torch
    from IPython.core.interactiveshell import InteractiveShell

    import torchmagic

    snapshots: list[str] = []

    ip = InteractiveShell.instance()
    ip.run_cell(SETUP)
    ip.run_line_magic("load_ext", "torchmagic")

    print(f"torch {torch.__version__}, {args.repeat} runs each, median seconds per cell\n")
    print(f"{'cell':12s} {'plain':>8s} {'anomaly':>8s} {'debug':>8s} {'fast':>8s} {'auto':>8s} "
          f"{'anomaly/plain':>13s} {'debug/plain':>11s} {'debug/anomaly':>13s} {'fast/plain':>10s} "
          f"{'auto/plain':>10s}")
    for name, cell in CELLS.items():
        # All three run as IPython cells, so each sees the same interpreter stack depth
        # (anomaly mode records the whole stack for every operation).
        wrapped = "with torch.autograd.detect_anomaly(check_nan=True):\n" + textwrap.indent(cell, "    ")

        def plain():
            ip.run_cell(cell, store_history=False)

        def anomaly():
            ip.run_cell(wrapped, store_history=False)

        def debug():
            ip.run_cell("%%torchdebug\n" + cell, store_history=False)

        def fast():
            ip.run_cell("%%torchdebug --fast\n" + cell, store_history=False)

        def auto():
            ip.run_cell(cell, store_history=False)

        @contextlib.contextmanager
        def auto_on():
            ip.run_line_magic("torchdebug", "on")
            try:
                yield
            finally:
                ip.run_line_magic("torchdebug", "off")

        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            times = interleaved({"plain": plain, "anomaly": anomaly, "debug": debug, "fast": fast,
                                 "auto": auto}, args.repeat, around={"auto": auto_on})
        t_plain, t_anom, t_dbg, t_fast, t_auto = (times[k] for k in ("plain", "anomaly", "debug", "fast", "auto"))
        print(f"{name:12s} {t_plain:8.4f} {t_anom:8.4f} {t_dbg:8.4f} {t_fast:8.4f} {t_auto:8.4f} "
              f"{t_anom / t_plain:12.2f}x {t_dbg / t_plain:10.2f}x {t_dbg / t_anom:12.3f}x "
              f"{t_fast / t_plain:9.3f}x {t_auto / t_plain:9.3f}x")
        snap = torchmagic.last_diagnosis().snapshot
        if snap is not None:
            snapshots.append(f"{name}: {snap.nbytes / 1e6:.2f} MB in {snap.seconds * 1000:.2f} ms")

    print("\nfirst run of a cell's text (a new comment every run, nothing reused):")
    print(f"{'cell':12s} {'plain':>8s} {'fast':>8s} {'fast/plain':>10s}")
    counter = iter(range(10**9))
    for name, cell in CELLS.items():
        def plain_new():
            ip.run_cell(f"# run {next(counter)}\n" + cell, store_history=False)

        def fast_new():
            ip.run_cell(f"%%torchdebug --fast\n# run {next(counter)}\n" + cell, store_history=False)

        times = interleaved({"plain": plain_new, "fast": fast_new}, args.repeat)
        print(f"{name:12s} {times['plain']:8.4f} {times['fast']:8.4f} {times['fast'] / times['plain']:9.3f}x")

    print("\nfast-mode snapshot per run: " + ("; ".join(snapshots) or "none taken"))
    snapshot_cost(ip, args.repeat)
    torch_s, ext_s = load_cost()
    print(f"\n%load_ext torchmagic: {ext_s * 1000:.1f} ms beyond import torch ({torch_s:.2f} s)")


if __name__ == "__main__":
    main()
