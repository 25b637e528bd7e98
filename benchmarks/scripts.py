"""Cost of ``python -m torchmagic SCRIPT`` against ``%%torchdebug`` on the same code.

For each workload (three lines, the training cells of overhead.py, and one that trains and then
fails),
in one process: the median time of the code run plainly as a script (``runpy``), of the same
code as a ``%%torchdebug`` cell in a real IPython shell, and of the command line's run of
the script file (``torchmagic.cli.script.run`` plus the report it prints), with the ratios
against the plain run. A second table times whole processes: ``python SCRIPT`` against
``python -m torchmagic SCRIPT``, start-up and imports included.

    .venv/bin/python benchmarks/scripts.py [--repeat 7]
"""
from __future__ import annotations

import argparse
import contextlib
import io
import os
import runpy
import subprocess
import sys
import tempfile
import time

from overhead import CELLS, SETUP, interleaved

FAILING = """
model = nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 10))
opt = torch.optim.SGD(model.parameters(), lr=0.01)
x, y = torch.randn(64, 32), torch.randint(0, 10, (64,))
for _ in range(20):
    opt.zero_grad()
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
y[3] = 12
loss = F.cross_entropy(model(x), y)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    import torch
    from IPython.core.interactiveshell import InteractiveShell

    from torchmagic.diagnose import engine
    from torchmagic.cli import output, script

    torch.set_num_threads(1)
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "torchmagic")
    ip.run_line_magic("config", "TorchMagic.raise_errors = False")
    folder = tempfile.mkdtemp(prefix="torchmagic-bench-")
    # "three lines": next to nothing to run, so the fixed cost of each way shows
    workloads = {"three lines": "x = torch.ones(3)\ny = (x * 2).sum()\n", **CELLS, "fails after training": FAILING}
    print(f"torch {torch.__version__}, {args.repeat} runs each, median seconds per run\n")
    print(f"{'workload':24} {'plain':>8} {'%%torchdebug':>13} {'script':>8} {'cell/plain':>11} "
          f"{'script/plain':>13} {'script/cell':>12}")
    for name, cell in workloads.items():
        code = SETUP + cell
        path = os.path.join(folder, name.replace(" ", "_") + ".py")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(code)
        sink = io.StringIO()

        def plain() -> None:
            with contextlib.suppress(Exception):
                runpy.run_path(path, run_name="__main__")

        def cell_run() -> None:
            ip.run_cell("%%torchdebug\n" + code, store_history=False)

        def script_run() -> None:
            options = engine.Options(language="en")
            done = script.run(path, [], options, code, ())
            if done.diagnosis is not None:
                output.show_report(done.diagnosis, os.path.basename(path), done.exception, stream=sink)

        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            times = interleaved({"plain": plain, "cell": cell_run, "script": script_run}, args.repeat)
        p, c, s = times["plain"], times["cell"], times["script"]
        print(f"{name:24} {p:8.3f} {c:13.3f} {s:8.3f} {c / p:11.2f} {s / p:13.2f} {s / c:12.2f}")

    print("\nwhole processes (start-up and imports included), median seconds")
    env = dict(os.environ, OMP_NUM_THREADS="1")
    for name in ("small MLP", "fails after training"):
        path = os.path.join(folder, name.replace(" ", "_") + ".py")
        runs: dict[str, list[float]] = {"python": [], "python -m torchmagic": []}
        for _ in range(max(3, args.repeat // 2)):
            for label, command in (("python", [sys.executable, path]),
                                   ("python -m torchmagic", [sys.executable, "-m", "torchmagic", path])):
                start = time.perf_counter()
                subprocess.run(command, env=env, capture_output=True)
                runs[label].append(time.perf_counter() - start)
        plain_s, magic_s = (sorted(v)[len(v) // 2] for v in runs.values())
        print(f"  {name:24} python {plain_s:.2f}   python -m torchmagic {magic_s:.2f}   ratio {magic_s / plain_s:.2f}")


if __name__ == "__main__":
    main()
