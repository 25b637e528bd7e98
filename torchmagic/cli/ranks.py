"""The ranks of a distributed job under diagnosis: who failed first, and what the others were doing.

Every rank runs ``python -m torchmagic`` (``torchrun ... -m torchmagic train.py``) and
diagnoses its own failure. Through the job's board (:mod:`.board`) they agree on one report:

- a rank that fails claims its place in a counter before it diagnoses; the first claimer
  prints the full report, with a line for each other rank; a later one prints one line
  (and writes its diagnosis to its ``--json`` file);
- a watcher thread in every rank looks at the board twice a second. Once another rank has
  failed, it posts where its own rank stands: inside which collective (entered on which line,
  see :mod:`.collectives`) or running which line. A rank that waits in a collective for a
  failed peer is a consequence, not a cause; it says so in one line;
- a rank that has waited in one collective longer than the hang timeout makes the others
  post their state too. When every rank waits in a collective and not in the same one (a
  different operation, or a different count of them), nobody can go on: the first to see it
  prints the report of that hang, naming the line of each rank, and the job ends.
"""
from __future__ import annotations

import json
import os
import re
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from ..diagnosis import describe, safe_str
from .board import Board, job_board
from .collectives import Entered, Ledger
from .output import json_path, line as notice_line, write_json
from .words import say

#: Messages of a collective whose peer is gone or never came: a consequence of another failure.
PEER_LOST = re.compile(
    r"Connection closed by peer|Connection reset by peer|Broken pipe|communicator was aborted|"
    r"NCCL communicator|Timed out waiting \d+ ?ms|Socket Timeout|Watchdog caught collective operation timeout|"
    r"DistNetworkError|recvBytes|remote worker crash", re.IGNORECASE)


@dataclass
class Where:
    """A place in the user's code: file, line, function."""

    file: str = ""
    line: int = 0
    function: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "function": self.function}


@dataclass
class Job:
    """This process's rank in a distributed job, and its dealings with the others."""

    rank: int
    world: int
    ledger: Ledger
    label: Callable[[str], str]  # a file's name as the report shows it
    lang: str = "en"
    json: str | None = None
    hang_timeout: float = 60.0  # seconds in one collective before the ranks compare notes (0: never)
    interval: float = 0.5  # how often the watcher looks at the board
    wait: float = 4.0  # how long the first failed rank waits for the others' word
    board_factory: Callable[[], Board] = field(default=job_board, repr=False)
    report_hang: Callable[[dict[int, dict]], bool] | None = field(default=None, repr=False)
    order: int = 0  # this rank's place among the failed ranks (1: first); 0 while it has not failed
    first: int | None = None  # the rank that failed first
    said: bool = False  # this rank said, in one line, that it is a consequence
    consequence: bool = False
    _failing: bool = False
    _main: int = 0
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)
    _posted: Any = None
    _hang_claimed: bool = False
    _board: Board | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, ledger: Ledger, label: Callable[[str], str], **options: Any) -> "Job | None":
        """The job this process belongs to (RANK and WORLD_SIZE set, more than one rank), or None."""
        try:
            rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
        except (KeyError, ValueError):
            return None
        if world <= 1 or not 0 <= rank < world:
            return None
        return cls(rank, world, ledger, label, **options)

    @property
    def process(self) -> str:
        return f"rank {self.rank}/{self.world}"

    # ------------------------------------------------------------------ the watcher
    @contextmanager
    def watching(self) -> Iterator["Job"]:
        """Within the block, a thread watches the board for the other ranks' failures and for
        collectives that wait too long; on exit it stops."""
        self._main = threading.get_ident()
        self._stop.clear()
        thread = threading.Thread(target=self._watch, name="torchmagic-ranks", daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._stop.set()

    def _watch(self) -> None:
        board: Board | None = None
        errors = 0
        while not self._stop.wait(self.interval):
            try:
                if board is None:
                    board = self.board_factory()
                self._tick(board)
                errors = 0
            except Exception:  # the board is out of reach: try again, then stay silent
                errors += 1
                board = None
                if errors >= 5:
                    return

    def _tick(self, board: Board) -> None:
        if self._failing:
            return
        current = self.ledger.current
        failures = board.add("failures", 0)
        hangs = board.add("hangs", 0) if self.hang_timeout > 0 else 0
        if failures and self.first is None:
            first = board.get("first")
            self.first = int(first) if first is not None and first.isdigit() else None
        if failures or hangs:
            self._post(board, current)
        if failures and self.first is not None and current is not None and not self.said and not self._failing:
            self.said = self.consequence = True
            self._say_waiting(current)
            return
        if hangs:
            verdict = board.get("verdict")
            if verdict is not None and current is not None:
                self._stopped(json.loads(verdict), current)
        if current is not None and not current.point_to_point and self.hang_timeout > 0 \
                and time.time() - current.since > self.hang_timeout and not self._hang_claimed:
            self._hang_claimed = True
            self._post(board, current, force=True)
            if board.add("hangs", 1) == 1:
                self._judge(board, current)

    def _post(self, board: Board, current: Entered | None, force: bool = False) -> None:
        key = (current.seq if current is not None else None, self._failing)
        if key == self._posted and not force:
            return
        state = {"rank": self.rank, "time": time.time(), "collective": current.to_dict() if current else None,
                 "where": self.where().to_dict()}
        board.set(f"state/{self.rank}", json.dumps(state))
        self._posted = key

    def where(self) -> Where:
        """The line of the user's code the main thread runs now."""
        frame = sys._current_frames().get(self._main)
        user = self.ledger.user
        try:
            found = user.caller(frame)[0] if user is not None and frame is not None else None
        except Exception:
            found = None
        if found is None:
            return Where()
        return Where(found.f_code.co_filename, found.f_lineno, found.f_code.co_name)

    def _place(self, file: str, line: int) -> str:
        return say("where", self.lang, file=self.label(file), line=line) if file else "?"

    def _json_note(self) -> str:
        return say("json_at", self.lang, path=json_path(self.json, self.rank, self.world)) if self.json else ""

    def _say_waiting(self, current: Entered) -> None:
        notice_line(say("line_waiting", self.lang, product="torchmagic", rank=self.rank, world=self.world, op=current.op,
                   where=self._place(current.filename, current.line), first=self.first, json=self._json_note()))
        if self.json:
            self.write({"ok": False, "error": None, "line": current.line, "pitfalls": [], "findings": [],
                        "consequence_of": self.first, "waiting_in": current.to_dict()})

    # ------------------------------------------------------------------ hangs
    def _judge(self, board: Board, current: Entered) -> None:
        """This rank claimed the hang: gather every rank's state and, when they wait in
        different collectives, report it and end the job."""
        deadline = time.time() + self.wait
        states: dict[int, dict] = {}
        while True:
            states = self._states(board)
            complete = len(states) == self.world and all(s.get("collective") for s in states.values())
            if complete or time.time() > deadline:
                break
            time.sleep(0.1)
        verdict = mismatch(states, self.world)
        if verdict and self.report_hang is not None:
            board.set("verdict", json.dumps({"reporter": self.rank}))
            if self.report_hang(states):
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(1)
        separator = "；" if self.lang == "zh" else "; "
        others = separator.join(self._state_phrase(r, s) for r, s in sorted(states.items()) if r != self.rank) or "?"
        notice_line(say("hang_wait", self.lang, product="torchmagic", rank=self.rank, world=self.world, op=current.op,
                   seconds=time.time() - current.since, where=self._place(current.filename, current.line),
                   others=others))

    def _state_phrase(self, rank: int, state: dict) -> str:
        entered = state.get("collective")
        if entered:
            e = Entered.from_dict(entered)
            return say("rank_in", self.lang, rank=rank, op=e.op, seq=e.seq, where=self._place(e.filename, e.line))
        where = state.get("where") or {}
        return say("rank_running", self.lang, rank=rank, where=self._place(where.get("file", ""), where.get("line", 0)))

    def _stopped(self, verdict: dict, current: Entered) -> None:
        if verdict.get("reporter") == self.rank:
            return
        notice_line(say("hang_stopped", self.lang, product="torchmagic", rank=self.rank, world=self.world, op=current.op,
                   where=self._place(current.filename, current.line), reporter=verdict.get("reporter")))
        sys.stdout.flush()
        os._exit(1)

    def _states(self, board: Board) -> dict[int, dict]:
        out: dict[int, dict] = {}
        for rank in range(self.world):
            text = board.get(f"state/{rank}")
            if text:
                try:
                    out[rank] = json.loads(text)
                except ValueError:
                    continue
        return out

    # ------------------------------------------------------------------ failures
    def failed(self, exc: BaseException) -> None:
        """Claim this rank's place among the failed ones (called as soon as the script raised)."""
        self._failing = True
        raised_in = self.ledger.raised_in
        board = self._main_board()
        self.order = board.add("failures", 1)
        if self.order == 1:
            board.set("first", str(self.rank))
            self.first = self.rank
        line = _error_site(exc, self.ledger)
        record = {"rank": self.rank, "order": self.order, "time": time.time(), "error": describe(exc),
                  "where": line.to_dict(), "collective": raised_in.to_dict() if raised_in else None,
                  "peer_lost": bool(PEER_LOST.search(safe_str(exc)))}
        board.set(f"failed/{self.rank}", json.dumps(record))

    def _main_board(self) -> Board:
        if self._board is None:
            self._board = self.board_factory()
        return self._board

    def first_rank(self, timeout: float = 2.0) -> int | None:
        """The rank that failed first (waits a moment for it to say so)."""
        if self.first is not None:
            return self.first
        deadline = time.time() + timeout
        board = self._main_board()
        while True:
            text = board.get("first")
            if text is not None and text.isdigit():
                self.first = int(text)
                return self.first
            if time.time() > deadline:
                return None
            time.sleep(0.05)

    def others(self) -> list[str]:
        """For the rank that failed first: a line for every other rank, from what they posted
        (waiting up to `wait` seconds for their word)."""
        board = self._main_board()
        deadline = time.time() + self.wait
        lines: dict[int, str] = {}
        while True:
            for rank in range(self.world):
                if rank == self.rank or rank in lines:
                    continue
                failed, state = board.get(f"failed/{rank}"), board.get(f"state/{rank}")
                if failed:
                    lines[rank] = self._failed_phrase(json.loads(failed))
                elif state and json.loads(state).get("collective"):
                    lines[rank] = self._waiting_phrase(rank, json.loads(state))
                elif state and time.time() > deadline - self.wait / 2:
                    lines[rank] = self._waiting_phrase(rank, json.loads(state))
            if len(lines) == self.world - 1 or time.time() > deadline:
                break
            time.sleep(0.1)
        for rank in range(self.world):
            if rank != self.rank and rank not in lines:
                lines[rank] = say("silent", self.lang, rank=rank, seconds=self.wait)
        return [lines[r] for r in sorted(lines)]

    def _waiting_phrase(self, rank: int, state: dict) -> str:
        entered = state.get("collective")
        if entered:
            e = Entered.from_dict(entered)
            return say("waiting", self.lang, rank=rank, op=e.op, where=self._place(e.filename, e.line), first=self.rank)
        where = state.get("where") or {}
        return say("running", self.lang, rank=rank, where=self._place(where.get("file", ""), where.get("line", 0)),
                   first=self.rank)

    def _failed_phrase(self, record: dict) -> str:
        where = record.get("where") or {}
        place = self._place(where.get("file", ""), where.get("line", 0))
        entered = record.get("collective")
        rank = record.get("rank")
        if entered or record.get("peer_lost"):
            if entered:
                return say("consequence", self.lang, rank=rank, error=record.get("error", ""),
                           op=entered.get("op", "?"), where=place, first=self.rank)
            return say("consequence_plain", self.lang, rank=rank, error=record.get("error", ""), where=place,
                       first=self.rank)
        return say("failed_too", self.lang, rank=rank, error=record.get("error", ""), where=place)

    def summary(self, exc: BaseException) -> str | None:
        """For a rank that failed after another: its one line (None when it said it already)."""
        first = self.first_rank()
        if self.said or first is None:
            return None
        raised_in = self.ledger.raised_in
        where = _error_site(exc, self.ledger)
        place = self._place(where.file, where.line)
        self.consequence = raised_in is not None or bool(PEER_LOST.search(safe_str(exc)))
        key = "line_consequence" if self.consequence else "line_failed_too"
        return say(key, self.lang, product="torchmagic", rank=self.rank, world=self.world, error=describe(exc),
                   where=place, first=first, json=self._json_note())

    def write(self, data: dict[str, Any]) -> None:
        """Write this rank's diagnosis to its --json file."""
        if not self.json:
            return
        data = dict(data, rank=self.rank, world_size=self.world)
        try:
            write_json(json_path(self.json, self.rank, self.world), data)
        except OSError:
            pass


def _error_site(exc: BaseException, ledger: Ledger) -> Where:
    """The innermost line of the user's code in the exception's traceback."""
    tb = exc.__traceback__
    found = Where()
    user = ledger.user
    while tb is not None:
        code = tb.tb_frame.f_code
        if user is not None and code.co_filename in user:
            found = Where(code.co_filename, tb.tb_lineno, code.co_name)
        tb = tb.tb_next
    return found


def mismatch(states: dict[int, dict], world: int) -> bool:
    """Whether every rank waits in a collective of the whole job and not all in the same one:
    a different operation, or the same one at a different count. Nobody can go on then."""
    if len(states) != world:
        return False
    entered = [s.get("collective") for s in states.values()]
    if not all(entered):
        return False
    ops = [Entered.from_dict(e) for e in entered if e]
    if any(e.point_to_point or e.group != "default" for e in ops):
        return False
    return len({(e.op, e.seq) for e in ops}) > 1
