"""Real two-rank ``torchrun`` jobs (gloo on the CPU) under ``-m torchmagic``: one report, from
the rank that failed, with the other rank named as a consequence; a hang in collectives
called in a different order is reported and the job ends."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import environment

pytestmark = pytest.mark.slow

FAILS_ON_RANK_1 = """\
import torch
import torch.distributed as dist

dist.init_process_group("gloo")
rank = dist.get_rank()
x = torch.ones(4)
dist.all_reduce(x)
if rank == 1:
    y = torch.zeros(3)
    z = x + y
dist.all_reduce(x)
print("done", rank)
"""

OUT_OF_ORDER = """\
import torch
import torch.distributed as dist

dist.init_process_group("gloo")
rank = dist.get_rank()
metric = torch.ones(4)
if rank == 0:
    dist.all_reduce(metric)
dist.barrier()
print("done", rank)
"""


def torchrun(folder, script: str, *options: str, timeout: float = 90) -> tuple[subprocess.CompletedProcess, float]:
    """Run `script` as a two-rank job on this machine; the whole job is ended if it outlives
    `timeout` (the test then fails)."""
    (folder / "job.py").write_text(script)
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
               "-m", "torchmagic", "--lang", "en", *options, "job.py"]
    start = time.monotonic()
    job = subprocess.Popen(command, cwd=folder, env=environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, start_new_session=True)
    try:
        out, err = job.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(job.pid, signal.SIGKILL)
        job.communicate()
        pytest.fail(f"the job did not end within {timeout} s")
    return subprocess.CompletedProcess(command, job.returncode, out, err), time.monotonic() - start


def test_rank_1_fails_one_report_on_its_line_and_rank_0_is_a_consequence(tmp_path):
    done, seconds = torchrun(tmp_path, FAILS_ON_RANK_1, "--json", "out.json")
    err = done.stderr
    said = " ".join(err.split())  # the lines as read, wherever the terminal's width broke them

    assert done.returncode != 0 and seconds < 60
    assert err.count("torchmagic [rank 1/2]: RuntimeError") == 1
    assert err.count("The line to change: job.py, line 10") == 1  # one report, not one per rank
    assert "[shape-mismatch]" in err and "torchmagic [rank 0/2]: RuntimeError" not in err
    others = said[said.index("The other ranks"):]
    assert "rank 0: waiting in `all_reduce` (job.py, line 11) when rank 1 failed: a consequence" in others
    assert "torchmagic [rank 0/2]: waiting in `all_reduce` (job.py, line 11) since rank 1 failed: " \
           "a consequence, not a cause" in said

    first = json.loads((tmp_path / "out.rank1.json").read_text())
    assert first["rank"] == 1 and first["first_failed"] == 1
    assert first["pitfalls"][0] == "shape-mismatch" and first["line"] == 10
    waiting = json.loads((tmp_path / "out.rank0.json").read_text())
    # written while it waited, or once the collective gave up on the failed peer
    assert waiting["rank"] == 0 and waiting["consequence_of"] == 1 and waiting["line"] == 11


def test_collectives_called_in_a_different_order_are_reported_and_the_job_ends(tmp_path):
    done, seconds = torchrun(tmp_path, OUT_OF_ORDER, "--hang-timeout", "3", "--json", "out.json")
    err = " ".join(done.stderr.split())

    assert seconds < 60, "the job should end soon after the hang timeout"
    assert "done 0" not in done.stdout and "done 1" not in done.stdout
    assert err.count("[collective-order-mismatch]") == 1
    assert "rank 0 in `all_reduce` #1 (job.py, line 8)" in err and "rank 1 in `barrier` #1 (job.py, line 9)" in err
    assert "The line to change: job.py, line 8" in err
    reports = [json.loads(p.read_text()) for p in sorted(tmp_path.glob("out.rank*.json"))]
    assert any(r.get("hang") and r["pitfalls"] == ["collective-order-mismatch"] for r in reports)


SILENT_EVERYWHERE = """\
import torch
import torch.distributed as dist
import torch.nn as nn

dist.init_process_group("gloo")
model = nn.Linear(3, 1)
opt = torch.optim.SGD(model.parameters(), lr=0.1)
for step in range(3):
    loss = model(torch.randn(4, 3)).pow(2).mean()
    loss.backward()
    opt.step()
dist.barrier()
"""


def test_a_job_that_ends_lists_its_silent_pitfalls_once_from_rank_0(tmp_path):
    done, _ = torchrun(tmp_path, SILENT_EVERYWHERE, "--json", "out.json")
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stderr.count("torchmagic [rank 0/2]: Possible problems in job.py (1)") == 1
    assert "rank 1/2" not in done.stderr
    quiet = json.loads((tmp_path / "out.rank1.json").read_text())
    assert [f["pitfall"] for f in quiet["findings"]] == ["grad-accumulation"] and quiet["rank"] == 1
