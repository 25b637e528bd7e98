"""Helpers of the command-line tests: `python -m torchmagic` run as a real process."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT


def environment(**extra: str) -> dict[str, str]:
    """The environment of a command run by a test: this checkout's package first, English
    reports of a fixed width, no colours."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    env.update(COLUMNS="100", NO_COLOR="1", LANG="C.UTF-8", PYTHONUNBUFFERED="1", OMP_NUM_THREADS="1", **extra)
    env.pop("RANK", None)
    env.pop("WORLD_SIZE", None)
    return env


@pytest.fixture
def torchmagic_cli():
    """Run ``python -m torchmagic ARGS`` in a folder; returns the finished process."""

    def run(*args: str, cwd: Path, timeout: float = 120, **env: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "torchmagic", *args], cwd=cwd, env=environment(**env),
                              capture_output=True, text=True, timeout=timeout)

    return run
