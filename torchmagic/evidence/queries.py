"""Root-cause queries over a run's provenance record: one small function per property.

Each takes the :class:`~.provenance.Record` of the tensor a failure is about and follows its
inputs back to where the property first appeared: where a dtype came from, where values out
of range entered (an operation, or an in-place write), where a shape was made, where a
tensor lost its autograd history, which earlier graph a tensor still belongs to, and where
values first went non-finite. They answer with a trail: the records walked, from the tensor
to the answer, which is last (a record or a change; both have `op` and `site`); or None when
the record does not know.
"""
from __future__ import annotations

from typing import Callable, Iterator

from .provenance import Change, Record, summarise
from .sites import Site

Step = Record | Change

# operations whose first input gives the values and the others only say which to take
_SELECTIONS = {"__getitem__", "index_select", "gather", "take", "take_along_dim", "masked_select", "narrow",
               "select"}


def site_step(site: Site, cell_line: int | None = None) -> Change:
    """A trail's end made of a bare site (a line found by reading the code around a record);
    `cell_line`, the diagnosed cell's line that was running when that record was made."""
    return Change(op="", site=site, cell_line=cell_line)


def ancestors(record: Record, follow: Callable[[Record], bool] = lambda r: True,
              limit: int = 20_000) -> Iterator[Record]:
    """The record and those it was made from, nearest first, each once, entering only records
    that `follow` accepts (at most `limit` of them: a graph kept across a whole epoch is big)."""
    walk = _Walk(record, follow, limit)
    yield from walk


def trails(record: Record, follow: Callable[[Record], bool] = lambda r: True,
           limit: int = 20_000) -> Iterator[tuple[Record, list[Step]]]:
    """Like :func:`ancestors`, each record with the trail from `record` to it."""
    walk = _Walk(record, follow, limit)
    for r in walk:
        yield r, walk.trail(r)


class _Walk:
    """Breadth-first over the records `record` was made from; `trail(r)` is the way to one."""

    def __init__(self, record: Record, follow: Callable[[Record], bool], limit: int = 20_000):
        self.record, self.follow, self.limit = record, follow, limit
        self.parent: dict[int, Record | None] = {id(record): None}

    def __iter__(self) -> Iterator[Record]:
        queue, limit = [self.record], self.limit
        head = 0
        while head < len(queue) and limit:
            limit -= 1
            current = queue[head]
            head += 1
            yield current
            for p in current.inputs:
                if id(p) not in self.parent and self.follow(p):
                    self.parent[id(p)] = current
                    queue.append(p)

    def trail(self, record: Record) -> list[Step]:
        out: list[Step] = []
        current: Record | None = record
        while current is not None:
            out.append(current)
            current = self.parent.get(id(current))
        out.reverse()
        return out


def origin(record: Record, has: Callable[[Record], bool]) -> list[Step]:
    """The trail to the record nearest the root, along inputs that have the property `has`,
    where the property first appeared: one that has it while none of its inputs does."""
    trail: list[Step] = [record]
    seen = {id(record)}
    while True:
        parent = next((p for p in trail[-1].inputs if id(p) not in seen and has(p)), None)
        if parent is None:
            return trail
        seen.add(id(parent))
        trail.append(parent)


# operations that hand a tensor's values on (a selection, a cast, a move, a reshape, a copy)
_PASS_ON = _SELECTIONS | {"to", "cuda", "cpu", "long", "int", "float", "double", "half", "type", "view", "reshape",
                          "flatten", "squeeze", "unsqueeze", "contiguous", "clone", "detach", "permute",
                          "transpose", "t", "expand", "split", "chunk", "unbind"}


def _parts(record: Record) -> bool:
    """Whether a selection takes a part of its tensor (a column, a field of a record), not a
    batch of its rows: a batch is the same data, a part is data of its own."""
    if record.op not in _SELECTIONS or not record.inputs:
        return False
    whole, part = tuple(record.inputs[0].shape), tuple(record.shape)
    rows = len(whole) == len(part) and whole[1:] == part[1:]  # `labels[i:i + 32]`
    row = whole[1:] == part  # `X[i]`, one sample as a Dataset hands it out
    return not (rows or row)


def passed_on(record: Record, cell: str) -> list[Step]:
    """Where a tensor was made, seen from the diagnosed cell: an earlier cell's helper that only
    passed on (selected, cast, moved, reshaped) a tensor the cell made leads back to the cell."""
    trail: list[Step] = [record]
    while True:
        last = trail[-1]
        if last.site is None or last.site.filename == cell or last.op not in _PASS_ON or not last.inputs:
            return trail
        parent = last.inputs[0]
        if parent.site is None or parent.site.filename != cell and parent.op not in _PASS_ON:
            return trail
        trail.append(parent)


# ---------------------------------------------------------------------------- dtype
def dtype_origin(record: Record, cell: str | None = None) -> list[Step]:
    """Where the tensor's dtype came from: the first operation in its chain that made it. A
    selection of a part of a bigger tensor (a column: `table[:, 0]`) ends the search: that is
    where this tensor parts from the data it shares a dtype with, and where a cast fits; a batch
    of its rows (`labels[i:i + 32]`) does not. Given the diagnosed `cell`, a selection made by
    an earlier cell's code (a model's forward taking columns of its input) does not end it:
    the cell's cast belongs where the cell made the data."""
    trail: list[Step] = [record]
    seen = {id(record)}
    while not _parts(trail[-1]) or cell is not None and trail[-1].site is not None \
            and trail[-1].site.filename != cell:
        parent = next((p for p in trail[-1].inputs if id(p) not in seen and p.dtype == record.dtype), None)
        if parent is None:
            break
        seen.add(id(parent))
        trail.append(parent)
    return trail


# ---------------------------------------------------------------------------- values
def _values(record: Record) -> tuple[float | None, float | None]:
    """(min, max) the tensor had when it was made: from the record, or read now from the
    tensor if it is alive and was not changed in place since."""
    if record.lo is None and not record.changes:
        tensor = record.tensor
        if tensor is not None:
            record.lo, record.hi, _ = summarise(tensor)
    return record.lo, record.hi


def value_origin(record: Record, bad: Callable[[float, float], bool]) -> list[Step]:
    """Where values that `bad(min, max)` flags entered the tensor: the in-place write that put
    them there, else the record nearest the root that already had them when it was made (an
    operation that made them from good inputs, or data the run did not see made)."""
    trail: list[Step] = []
    current, seen = record, {id(record)}
    while True:
        trail.append(current)
        write = _bad_write(current, bad)
        if write is not None:
            return trail + [write]
        lo, hi = _values(current)
        if lo is not None and not bad(lo, hi):
            return trail  # made fine: a write the record could not summarise changed it
        inputs = current.inputs[:1] if current.op in _SELECTIONS else current.inputs
        parent = None
        for p in inputs:
            if id(p) in seen:
                continue
            p_lo, p_hi = (p.changes[-1].lo, p.changes[-1].hi) if p.changes else _values(p)
            if p_lo is not None and bad(p_lo, p_hi):
                parent = p
                break
        if parent is None:
            return trail
        seen.add(id(parent))
        current = parent


def _bad_write(record: Record, bad: Callable[[float, float], bool]) -> Change | None:
    """The in-place write after which the tensor's values stayed bad, when they were fine before it."""
    states = [(None, record.lo, record.hi)] + [(c, c.lo, c.hi) for c in record.changes]
    if len(states) == 1 or states[-1][1] is None or not bad(states[-1][1], states[-1][2]):
        return None
    first_bad = None
    for change, lo, hi in reversed(states):
        if lo is None or not bad(lo, hi):
            break
        first_bad = change
    return first_bad


# ---------------------------------------------------------------------------- shapes
def shape_origin(record: Record) -> list[Step]:
    """The operation that gave the tensor its shape: back through operations that keep it."""
    return origin(record, lambda r: r.shape == record.shape)


_REARRANGES = {"permute", "transpose", "swapaxes", "swapdims", "movedim", "moveaxis", "t", "mT", "T"}


def sample_origin(record: Record) -> list[Step]:
    """Where the layout of a batch's samples was made (channels last, a missing dimension):
    back through operations that keep the shape (casts, scaling) and through the stacking of
    samples into a batch (a DataLoader's collate), to the first operation the run saw make
    a sample of that shape: in a Dataset's `__getitem__`, a transform, a helper."""
    trail: list[Step] = [record]
    seen = {id(record)}
    while True:
        last = trail[-1]
        if last.op in _REARRANGES:  # axes moved here (a square image keeps its shape): the layout's maker
            return trail
        batched = last.op in ("stack", "vstack") and len(last.inputs) > 1
        one_row = last.op in _SELECTIONS  # `X[i]`: a sample taken out of the data, in its layout
        parent = next((p for p in last.inputs if id(p) not in seen and p.site is not None and p.made and (
            tuple(p.shape) == tuple(last.shape) or batched and tuple(p.shape) == tuple(last.shape[1:])
            or one_row and p is last.inputs[0] and tuple(p.shape[1:]) == tuple(last.shape))), None)
        if parent is None:
            return trail
        seen.add(id(parent))
        trail.append(parent)


def size_origin(record: Record, size: int) -> list[Step]:
    """Where a dimension of size `size` came into the tensor: back through the inputs that
    already have a dimension of that size, to the operation that made it from inputs that did
    not (an `expand` to the wrong width, a reduction that dropped a dimension)."""
    return origin(record, lambda r: size in tuple(r.shape))


def roots(record: Record) -> list[Record]:
    """The records the tensor comes from that the run did not see made, or made from no tensor."""
    return [r for r in ancestors(record) if not r.inputs]


# ---------------------------------------------------------------------------- autograd
def history_cut(record: Record) -> list[Step] | None:
    """Where the tensor's autograd history was cut, nearest first: an operation that made it
    without history from an input that had some (`.detach()`, `.data`, an operation under
    `no_grad`), a parameter frozen by the user's code, or a frozen parameter it comes from."""
    frozen = None
    walk = _Walk(record, lambda p: not p.requires_grad)
    for r in walk:
        if r.requires_grad:
            continue
        if any(p.requires_grad for p in r.inputs):
            return walk.trail(r)
        if r.parameter or (r.op is None and r.shape and r.dtype.is_floating_point):
            change = next((c for c in reversed(r.changes) if c.value is False), None)
            if change is not None:
                return walk.trail(r) + [change]
            if r.parameter and frozen is None:
                frozen = walk.trail(r)
    return frozen


def read_without_history(subject: Record, record: Record, limit: int = 5000) -> list[Step] | None:
    """The trail from `subject` (a loss) back to an operation that read `record` (a parameter)
    but made its output without history (`detach`, `.data`, a step under `no_grad`): where the
    loss lost its way to the parameter. None when no such operation is on the way."""
    walk = _Walk(subject, lambda p: True, limit)
    for r in walk:
        if not r.requires_grad and any(p is record for p in r.inputs):
            return walk.trail(r)
    return None


def branch_point(record: Record, on_path: set[int]) -> list[Step] | None:
    """The trail from a tensor with history back to the operation where it branched off the
    records in `on_path` (ids: what the backward passes went through): the first one, nearest
    the tensor, made from one of them. None when the tensor is on the path or never meets it."""
    if id(record) in on_path:
        return None
    walk = _Walk(record, lambda p: p.requires_grad and id(p) not in on_path)
    for r in walk:
        if any(id(p) in on_path for p in r.inputs):
            return walk.trail(r)
    return None


def made_without_history(record: Record) -> list[Step] | None:
    """The trail to the record nearest the tensor that was made from plain numbers (no tensor
    inputs): a float typically rebuilt from `.item()` values, when nothing cut a history."""
    walk = _Walk(record, lambda p: not p.requires_grad)
    for r in walk:
        if r.op is not None and not r.inputs and r.dtype.is_floating_point:
            return walk.trail(r)
    return None


def earlier_graph(record: Record, freed: int | None = None) -> list[Step] | None:
    """A tensor with history made before the last backward pass that the graph of `record`
    still uses: the trail ends with it, after the operation of this pass that used it. One
    made before the run (with a graph of its own) when the run made none such. `freed`, the
    generation of the last backward pass that freed its graph: passes that kept theirs (a
    gradient penalty's `autograd.grad(create_graph=True)`) do not part one graph from the next."""
    now = record.generation if freed is None else freed + 1
    walk = _Walk(record, lambda p: bool(p.grad_fn))
    before_run = None
    for r in walk:
        for p in r.inputs:
            if p.grad_fn and p.generation < now <= r.generation:
                return walk.trail(r) + [p]
            if p.grad_fn and not p.made and before_run is None:
                before_run = walk.trail(r) + [p]
    # else a tensor with history that the run did not see made: its graph is as old as the
    # cell that made it (an earlier cell, or this cell's previous run) and may be freed already
    return before_run


def freed_by(old: Record, backwards: list) -> Record | None:
    """The operation of an earlier backward pass's graph that used `old` (and so freed what
    `old`'s graph had saved): the use that wanted a `.detach()`. `backwards` are the run's
    backward calls, the failing one last."""
    for call in reversed(backwards[:-1]):
        if call.subject is None or call.generation < old.generation or not call.frees:
            continue
        for r in ancestors(call.subject, lambda p: bool(p.grad_fn)):
            if any(p is old for p in r.inputs):
                return r
    return None


# ---------------------------------------------------------------------------- non-finite values
def nonfinite_origin(first: Record | None) -> Record | None:
    """The operation that first made NaN or inf from finite inputs; an input that was already
    non-finite when the run started (data, a parameter) instead, when there is one."""
    if first is None:
        return None
    for p in first.inputs:
        if p.finite is None:
            tensor = p.tensor
            if tensor is not None and tensor.is_floating_point() and not p.changes:
                import torch

                with torch._C.DisableTorchFunction():
                    p.finite = bool(torch.isfinite(tensor).all())
        if p.finite is False and p.op is None:
            return p
    return first
