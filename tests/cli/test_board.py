"""The board the ranks of a job share: counters that several processes add to, notes, and
which board a launcher's environment gives."""
from __future__ import annotations

import multiprocessing

from torchmagic.cli.board import FileBoard, job_board


def _add_many(folder: str, times: int) -> None:
    board = FileBoard(folder)
    for _ in range(times):
        board.add("failures", 1)


def test_processes_adding_to_one_counter_lose_no_addition(tmp_path):
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_add_many, args=(str(tmp_path), 50)) for _ in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(30)
    board = FileBoard(tmp_path)
    assert [w.exitcode for w in workers] == [0, 0]
    assert board.add("failures", 0) == 100


def test_notes_are_read_whole_or_not_at_all(tmp_path):
    board = FileBoard(tmp_path)
    assert board.get("state/1") is None
    board.set("state/1", '{"rank": 1}')
    assert board.get("state/1") == '{"rank": 1}'
    assert not list(tmp_path.glob(".*"))  # nothing half-written left beside it


def test_the_environment_says_which_board(tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    board = job_board({"TORCHMAGIC_BOARD": str(tmp_path / "b"), "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "1"})
    assert isinstance(board, FileBoard) and board.folder == tmp_path / "b"
    one = job_board({"MASTER_ADDR": "h", "MASTER_PORT": "5", "TORCHELASTIC_RUN_ID": "a"})
    other = job_board({"MASTER_ADDR": "h", "MASTER_PORT": "5", "TORCHELASTIC_RUN_ID": "b"})
    assert isinstance(one, FileBoard) and one.folder != other.folder  # kept apart per job
