"""Catalog coverage on the error messages users actually meet (tests/data/error_messages.toml).

Runs every CPU-reproducible message's cell under `%%torchdebug` in a real IPython shell (a
few worker processes, each with its own shell; the namespace is reset between cells) and
prints, per group and in total, the share of cells that got a specific pitfall (not the
generic report) and the share whose marked line is one of the lines the thread's fix changed.
GPU-only messages are listed apart; with `--gpu` on a machine with CUDA they run too.

    .venv/bin/python benchmarks/coverage.py [-k WORD] [--json PATH] [-v]
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "error_messages.toml"

WORKER = r'''
import json, sys, warnings
warnings.simplefilter("ignore")
from IPython.core.interactiveshell import InteractiveShell
ip = InteractiveShell.instance()
ip.run_cell("%load_ext torchmagic", store_history=False)
import torchmagic
for line in sys.stdin:
    job = json.loads(line)
    ip.reset(new_session=False)
    ip.user_ns.setdefault("__spec__", None)  # as a fresh kernel's __main__ has it (spawned workers read it)
    ip.run_cell("%%torchdebug --no-raise --no-lint\n" + job["cell"], store_history=True)
    d = torchmagic.last_diagnosis()
    out = {"index": job["index"], "diagnosis": d.to_dict() if d is not None else None,
           "internal": d.internal_error if d is not None else "no diagnosis"}
    sys.__stdout__.write("@@COVERAGE@@" + json.dumps(out) + "\n")
    sys.__stdout__.flush()
'''


def load(path: Path = DATA) -> list[dict]:
    """The collected messages, in file order."""
    with path.open("rb") as fh:
        return tomllib.load(fh)["message"]


def run(messages: list[tuple[int, dict]], workers: int, timeout: float) -> dict[int, dict]:
    """Diagnoses of the given (index, message) cells, by index."""
    chunks: list[list[tuple[int, dict]]] = [messages[i::workers] for i in range(workers)]
    procs = []
    env = dict(os.environ, PYTHONWARNINGS="ignore", PYTHONUNBUFFERED="1")
    for chunk in chunks:
        if not chunk:
            continue
        jobs = tempfile.TemporaryFile("w+")
        jobs.write("".join(json.dumps({"index": i, "cell": m["cell"]}) + "\n" for i, m in chunk))
        jobs.seek(0)
        p = subprocess.Popen([sys.executable, "-c", WORKER], stdin=jobs, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True, env=env, cwd=tempfile.gettempdir())
        procs.append((p, chunk))
    results: dict[int, dict] = {}
    for p, chunk in procs:
        try:
            out, _ = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            out, _ = p.communicate()
        for line in out.splitlines():
            if "@@COVERAGE@@" in line:
                row = json.loads(line.split("@@COVERAGE@@", 1)[1])
                results[row["index"]] = row
    return results


def judge(message: dict, row: dict | None) -> tuple[bool, bool, str]:
    """(specific pitfall, right line, what it said)."""
    if row is None or row.get("diagnosis") is None:
        return False, False, "no result"
    d = row["diagnosis"]
    if d.get("ok"):
        return False, False, "the cell ran without error"
    pitfalls = d.get("pitfalls") or []
    lines = message.get("lines") or [message.get("line")]
    specific = bool(pitfalls)
    right = specific and d.get("line") in lines
    return specific, right, f"{pitfalls[:2]} line={d.get('line')} want {lines}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-k", default="", help="only messages whose group or text contains this")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=1800)
    ap.add_argument("--gpu", action="store_true", help="also run the GPU-only messages (needs CUDA)")
    ap.add_argument("--json", type=Path, help="write per-message results here")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()

    messages = [m for m in load() if args.k in m["group"] or args.k in m["text"]]
    runnable = [(i, m) for i, m in enumerate(messages) if m.get("cell") and (m.get("cpu") or args.gpu)]
    gpu_only = [m for m in messages if not m.get("cpu")]
    results = run(runnable, args.workers, args.timeout)

    groups: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0, 0])
    rows = []
    for i, m in runnable:
        specific, right, said = judge(m, results.get(i))
        g = groups[m["group"]]
        g[0] += 1
        g[1] += specific
        g[2] += right
        rows.append({"group": m["group"], "text": m["text"], "url": m["url"], "specific": specific,
                     "line": right, "said": said})
        if args.verbose or not specific:
            mark = "LINE " if right else ("PIT  " if specific else "MISS ")
            print(f"{mark} {m['group']:26s} {m['text'][:60]!r:64s} {said}")
    print(f"\n{'group':28s} {'cells':>5s} {'pitfall':>8s} {'line':>6s}")
    for name, (n, s, r) in sorted(groups.items()):
        print(f"{name:28s} {n:5d} {s:8d} {r:6d}")
    total = len(runnable)
    specific = sum(r["specific"] for r in rows)
    right = sum(r["line"] for r in rows)
    print(f"\n{total} cells run ({len(gpu_only)} GPU-only messages {'run too' if args.gpu else 'listed apart'})")
    if total:
        print(f"specific pitfall: {specific}/{total} = {specific / total:.0%}   "
              f"right line: {right}/{total} = {right / total:.0%}")
    if gpu_only and not args.gpu:
        print("GPU-only: " + "; ".join(sorted({m["group"] for m in gpu_only})))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
