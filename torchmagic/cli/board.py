"""A noticeboard that the processes of one distributed job share: counters and notes.

The ranks of a job tell each other, through it, which of them failed first and where each
one stands. Under ``torchrun`` (or any launcher of torch's elastic agent, which says so with
``TORCHELASTIC_USE_AGENT_STORE=True``) the board is the agent's own key-value store at
``MASTER_ADDR:MASTER_PORT``: it lives in the launcher, so it outlives a rank that dies, and it
reaches every node. Elsewhere (``mpirun``, ``srun``, a hand-written launcher) it is a folder
that the processes of one node share (``TORCHMAGIC_BOARD`` names another, e.g. on a shared
file system). Keys are kept apart per job and per restart.
"""
from __future__ import annotations

import fcntl
import hashlib
import os
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Mapping


class Board:
    """Counters and notes shared by the ranks of a job. Every method may raise OSError or
    RuntimeError when the board cannot be reached; callers treat that as silence."""

    def add(self, key: str, amount: int) -> int:  # pragma: no cover - overridden
        """Add `amount` to the counter `key` (0 when new) and return its new value, atomically."""
        raise NotImplementedError

    def set(self, key: str, value: str) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def get(self, key: str) -> str | None:  # pragma: no cover - overridden
        """The note `key`, or None when nobody wrote it (never waits)."""
        raise NotImplementedError

    def close(self) -> None:
        pass


class StoreBoard(Board):
    """The board in the launcher's key-value store (a ``torch.distributed.TCPStore`` client)."""

    def __init__(self, host: str, port: int, prefix: str, timeout: float = 10.0) -> None:
        import torch.distributed as dist

        store = dist.TCPStore(host, port, is_master=False, timeout=timedelta(seconds=timeout),
                              wait_for_workers=False)
        self._store = dist.PrefixStore(prefix, store)

    def add(self, key: str, amount: int) -> int:
        return int(self._store.add(key, amount))

    def set(self, key: str, value: str) -> None:
        self._store.set(key, value)

    def get(self, key: str) -> str | None:
        if not self._store.check([key]):
            return None
        return bytes(self._store.get(key)).decode("utf-8", "replace")


class FileBoard(Board):
    """The board in a folder of one node: a file per key, counters under a file lock."""

    def __init__(self, folder: str | os.PathLike) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        return self.folder / key.replace("/", "__")

    def add(self, key: str, amount: int) -> int:
        with open(self._path(key), "a+", encoding="ascii") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            handle.seek(0)
            value = int(handle.read().strip() or 0) + amount
            if amount:
                handle.seek(0)
                handle.truncate()
                handle.write(str(value))
                handle.flush()
            return value

    def set(self, key: str, value: str) -> None:
        path = self._path(key)
        temporary = path.with_name(f".{path.name}.{os.getpid()}")
        temporary.write_text(value, encoding="utf-8")
        os.replace(temporary, path)  # readers see the whole note or none

    def get(self, key: str) -> str | None:
        try:
            return self._path(key).read_text(encoding="utf-8")
        except FileNotFoundError:
            return None


def job_board(env: Mapping[str, str] | None = None) -> Board:
    """The board of the job this process belongs to, as its environment describes it."""
    env = os.environ if env is None else env
    run = env.get("TORCHELASTIC_RUN_ID", "")
    restart = env.get("TORCHELASTIC_RESTART_COUNT", "0")
    host, port = env.get("MASTER_ADDR", ""), env.get("MASTER_PORT", "")
    if env.get("TORCHELASTIC_USE_AGENT_STORE", "").lower() == "true" and host and port.isdigit():
        return StoreBoard(host, int(port), f"torchmagic/{run}/{restart}/")
    folder = env.get("TORCHMAGIC_BOARD")
    if not folder:
        # the processes of one launch share the launcher (their parent) and its address
        key = hashlib.sha1(f"{host}:{port}:{run}:{restart}:{os.getppid()}".encode()).hexdigest()[:16]
        folder = os.path.join(tempfile.gettempdir(), f"torchmagic-board-{key}")
    return FileBoard(folder)
