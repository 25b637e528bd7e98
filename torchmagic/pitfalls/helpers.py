"""Helpers that the rules of several families share: names on a line, origins, softmax outputs."""
from __future__ import annotations

import ast
import re
from typing import Any, Callable, Iterable, Iterator

from ..diagnosis import Match
from ..knowledge import PlaceText, catalog
from ..evidence import Site
from ..evidence.queries import passed_on
from ..diagnose.locate import CellFrame, code_of
from ..source.cell import Cell, ModRef
from ..source.syntax import walk_body
from ..source.values import MISSING, is_module, is_tensor, torch_module
from ..source.cellcode import Binding, base_name, call_name, dotted, loaded_names
from .registry import Context


def _forward_calls(cell: Cell, nodes: Iterable[ast.AST]) -> list[tuple[ast.Call, ModRef]]:
    out = []
    for n in nodes:
        if isinstance(n, ast.Call):
            ref = cell.module_ref(n.func, cell.scope_of(n))
            if ref is not None and (ref.cls is None or not _is_loss_cls(ref.cls)):
                out.append((n, ref))
    return out


def _is_loss_cls(cls: Any) -> bool:
    try:
        return isinstance(cls, type) and issubclass(cls, torch_module().nn.modules.loss._Loss)
    except Exception:
        return False


def _short(cell: Cell, node: ast.AST, limit: int = 60) -> str:
    """A node's source on one line, shortened for a message."""
    text = " ".join(cell.text(node).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


_SOFTMAX = {"softmax", "log_softmax"}

_PASS_THROUGH = {"view", "reshape", "squeeze", "unsqueeze", "float", "double", "contiguous", "permute",
                 "transpose", "flatten", "to", "cpu", "cuda", "clamp", "clamp_min", "log", "type_as"}


def _softmax_origin(cell: Cell, node: ast.AST, scope: ast.AST, depth: int = 0) -> tuple[str, int] | None:
    """The softmax that produced a value and the line that applies it (0 if not in the cell)."""
    if depth > 6 or node is None:
        return None
    nxt = depth + 1
    if isinstance(node, ast.Call):
        f = node.func
        name = cell.torch_func(node, scope)
        if name in _SOFTMAX:
            return cell.text(f), node.lineno
        if name == "log" and node.args:
            return _softmax_origin(cell, node.args[0], scope, nxt)
        if isinstance(f, ast.Attribute):
            recv = cell.resolve(f.value, scope)
            if recv is MISSING or is_tensor(recv):
                if f.attr in _SOFTMAX:
                    return f".{f.attr}()", node.lineno
                if f.attr in _PASS_THROUGH:
                    return _softmax_origin(cell, f.value, scope, nxt)
        ref = cell.module_ref(f, scope)
        return _module_softmax(cell, ref, node, scope, nxt) if ref is not None else None
    if isinstance(node, ast.Subscript):
        return _softmax_origin(cell, node.value, scope, nxt)
    if isinstance(node, ast.Name):
        b = cell.binding(node.id, scope, node.lineno)
        found = None
        if b is not None and b.kind == "assign" and b.index is None:
            found = _softmax_origin(cell, b.value, cell.scope_of(b.node), nxt)
        if found is None and cell.def_scope(node.id, scope) is cell.tree:
            value = cell.lookup(node.id, scope)
            if is_tensor(value) and value.grad_fn is not None \
                    and type(value.grad_fn).__name__ in ("SoftmaxBackward0", "LogSoftmaxBackward0"):
                found = node.id, (b.line if b is not None else 0)
        return found
    return None


def _module_softmax(cell: Cell, ref: ModRef, call: ast.Call, scope: ast.AST, depth: int) -> tuple[str, int] | None:
    """A module whose output is a (log-)softmax: nn.Softmax, a Sequential ending in one, a forward returning one."""
    torch = torch_module()
    soft = (torch.nn.Softmax, torch.nn.LogSoftmax)
    if isinstance(ref.obj, soft):
        return ref.label, call.lineno
    if ref.obj is not None:
        last = ref.obj
        while isinstance(last, torch.nn.Sequential) and len(last):
            last = last[-1]
        if isinstance(last, soft):
            return f"{ref.label} (ends in {type(last).__name__})", _softmax_ctor_line(cell, ref, scope, call)
    cls = ref.cls
    if isinstance(cls, type):
        if issubclass(cls, soft):
            return ref.label, call.lineno
        if issubclass(cls, torch.nn.Sequential) and ref.obj is None and ref.key.startswith("name:"):
            b = cell.binding(ref.key[5:], scope, call.lineno)
            if b is not None and isinstance(b.value, ast.Call) and b.value.args:
                last_ctor = b.value.args[-1]
                c = cell.ctor_class(last_ctor, cell.scope_of(b.node))
                if isinstance(c, type) and issubclass(c, soft):
                    return f"{ref.label} (ends in {c.__name__})", last_ctor.lineno
        cls = cell.cell_class(cls.__name__) if cls.__module__ == "__main__" else None
    if isinstance(cls, ast.ClassDef):
        forward = next((n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == "forward"), None)
        if forward is None:
            return None
        returns = [n for n in walk_body(forward.body) if isinstance(n, ast.Return) and n.value is not None]
        found = [_softmax_origin(cell, r.value, forward, depth) for r in returns]
        if found and all(found):
            return f"{ref.label}", returns[0].lineno
    return None


def _softmax_ctor_line(cell: Cell, ref: ModRef, scope: ast.AST, call: ast.Call) -> int:
    """The line of the nn.Softmax/LogSoftmax constructor of a model built in the cell, or 0."""
    if not isinstance(call.func, ast.Name):
        return 0
    b = cell.binding(call.func.id, scope, call.lineno)
    if b is None or b.value is None:
        return 0
    for n in ast.walk(b.value):
        c = cell.ctor_class(n, cell.scope_of(b.node)) if isinstance(n, ast.Call) else None
        if isinstance(c, type) and c.__name__ in ("Softmax", "LogSoftmax"):
            return n.lineno
    return 0


def origin_match(ctx: Context, pid: str, name: str | None, line: int | None, score: float,
                 facts: dict | None = None, detail: str = "", *, frame: CellFrame | None = None,
                 query: Callable[[Any], list | None] | None = None) -> Match | None:
    """A match that points at the line where the value of `name` (read on `line`) was made.

    The run's evidence answers first: the record of the tensor, followed back by `query` (by
    default, the operation that made it) to the line of the user's code that made it, in
    this cell or an earlier one, through function parameters, containers, Datasets and
    module attributes alike. Where the run recorded nothing (a value made before it, or not a
    tensor), the cell's code says where the name was assigned."""
    if not name or line is None:
        return None
    frame = frame or _frame_reading(ctx, line)
    value = ctx.value(name, frame)
    record = ctx.record(value) if is_tensor(value) else None
    if record is not None:
        trail = query(record) if query is not None else passed_on(record, ctx.filename)
        if trail:
            where = place(ctx, trail, frame)
            if where is not None:
                at, cause = where
                related = [] if at == _cell_line(ctx, frame) else [_cell_line(ctx, frame)]
                return Match(pid, score, line=at, related_lines=[r for r in related if r], facts=facts or {},
                             detail=detail, cause=cause, trace=loaded_step(ctx, trail, at) + describe_trail(ctx, trail))
    if frame is not None and not frame.in_cell:  # read in an earlier cell's code
        made = frame.code.origin(name, frame.line)
        site = Site(frame.filename, made.line if made else frame.line, frame.function)
        return Match(pid, score, line=_cell_line(ctx, frame), facts=facts or {}, detail=detail, cause=site)
    passed = _passed_in(ctx, name, line)
    if passed is not None:  # a parameter: where the caller's argument was made
        match = origin_match(ctx, pid, passed[0], passed[1], score, facts, detail)
        if match is not None and line not in match.related_lines and line != match.line:
            match.related_lines.append(line)
        return match
    binding = _made_at(ctx, name, line)
    if binding is None and name.split(".")[0] not in _assigned_in_cell(ctx):
        earlier = earlier_binding(ctx, name.split(".")[0])
        if earlier is not None:
            return Match(pid, score, line=line, facts=facts or {}, detail=detail, cause=earlier)
    if binding is None or binding.line == line:
        return Match(pid, score, line=line, facts=facts or {}, detail=detail)
    return Match(pid, score, line=binding.line, related_lines=[line], facts=facts or {}, detail=detail)


def loaded_step(ctx: Context, trail: list, line: int | None) -> list[dict]:
    """The step before a trail that a DataLoader began: the cell's line that built the Dataset
    (or the loader) whose items it stacked, when that is the line the report marks."""
    end = trail[-1] if trail else None
    site = getattr(end, "site", None)
    loop = getattr(end, "cell_line", None) or (site.line if site is not None and site.filename == ctx.filename
                                                 else None)
    if line is None or loop is None or loop == line or loader_data(ctx, loop, None if site is None or
                                                                  site.filename == ctx.filename else site) is None:
        return []
    return [{"kind": "loaded", "line": line, "loop": loop, "cell": None}]


def describe_trail(ctx: Context, trail: list) -> list[dict]:
    """How the run made a value, one step each, from where it began to the value the failure
    is about: what the operation made (or wrote) and where, as plain data the report words."""
    out = []
    for step in reversed(trail[-6:]):
        site = getattr(step, "site", None)
        if site is None:
            out.append({"kind": "before"})
            continue
        where = {"line": site.line, "cell": None if site.filename == ctx.filename
                 else ctx.evidence.user.label(site.filename)}
        if hasattr(step, "inputs"):
            values = {"lo": step.lo, "hi": step.hi} if step.lo is not None and not step.dtype.is_floating_point \
                else {}
            out.append({"kind": "made", "op": step.op or "", "dtype": str(step.dtype).replace("torch.", ""),
                        "shape": str(tuple(step.shape)), **values, **where})
        elif step.op:
            values = {"lo": step.lo, "hi": step.hi} if step.lo is not None else {}
            out.append({"kind": "changed", "op": step.op, **values, **where})
    return out


def place(ctx: Context, trail: list, frame: CellFrame | None = None) -> tuple[int | None, Site | None] | None:
    """Where a trail from the evidence ends, as the cell's line to mark and, when the end lies
    outside the cell (an earlier cell's helper, class or Dataset), that place too. The cell's
    line is then the last one of the cell on the trail (the nearest to the cause), else the
    cell's line the failure ran through. None when the trail ends nowhere the user wrote."""
    end = trail[-1]
    site = end.site or _named_site(ctx, end)
    if site is None:
        return None
    if site.filename == ctx.filename:
        return loader_data(ctx, site.line) or (site.line, None)
    in_cell = [s.site.line for s in trail if s.site is not None and s.site.filename == ctx.filename]
    built = constructing_line(ctx, site)
    if built is not None and site.function in ("__init__", "__getitem__", "__getitems__", "__len__"):
        return built, site  # a Dataset's item or an object's state: the cell's line that built it
    line = getattr(end, "cell_line", None) or (in_cell[-1] if in_cell else None) or built \
        or _cell_line(ctx, frame)
    collated = loader_data(ctx, line, site) if line is not None else None
    return (collated[0], site) if collated is not None else (line, site)


def loader_data(ctx: Context, line: int, site: Site | None = None) -> tuple[int | None, Site | None] | None:
    """Where the data of a DataLoader came from, when the run made a tensor on a cell line that
    iterates one (`for x, y in loader:`, `next(iter(loader))`): the loader's own code made it
    from the Dataset's items, so the line to change is where the cell built that Dataset (or the
    loader, when the Dataset comes from an earlier cell). When an earlier cell's function made
    it (`site`) and that function is the loader's `collate_fn`, where the cell built the loader.
    None on any other line."""
    stmt = ctx.code.statement_at(line)
    if stmt is None:
        return None
    if isinstance(stmt, (ast.For, ast.AsyncFor)):
        names = loaded_names(stmt.iter) if stmt.lineno == line else []
    else:
        names = ctx.code.read_at(line)
    torch = torch_module()
    frame = ctx.frame_at(line)
    for name in names:
        loader = ctx.value(name, frame)
        if not isinstance(loader, torch.utils.data.DataLoader):
            continue
        if site is not None:
            collate = getattr(getattr(loader, "collate_fn", None), "__code__", None)
            if collate is None or collate.co_filename != site.filename or collate.co_name != site.function:
                return None
            built = object_place(ctx, loader)
            return built if built is not None and built[1] is None else None
        dataset = loader.dataset
        while isinstance(dataset, torch.utils.data.Subset):
            dataset = dataset.dataset
        held = object_place(ctx, dataset)
        if held is not None and held[1] is None:
            return held
        built = object_place(ctx, loader)
        if built is not None and built[1] is None and built[0] != line:
            return built[0], held[1] if held is not None else None
        return held
    return None


def one_maker(ctx: Context, tensors: list) -> Any:
    """When the tensors of a list were all made by the same line of the user's code (a list
    built in a loop: one crop, one pooled level, one embedded sentence per turn), the record
    of the last of them: that line gave each its own size, and is where they part. None when
    they come from different lines or the run did not see them made."""
    records = [ctx.record(t) for t in tensors if is_tensor(t)]
    if len(records) < 2 or any(r is None or not r.made or r.site is None for r in records):
        return None
    sites = {(r.site.filename, r.site.line) for r in records}
    return records[-1] if len(sites) == 1 else None


# operations that make a tensor from an array or from Python data
FROM_ARRAY = frozenset({"from_numpy", "tensor", "as_tensor", "asarray"})


def data_entered(ctx: Context, where: tuple[int | None, Site | None] | None, end: Any
                 ) -> tuple[int | None, Site | None] | None:
    """Where data whose layout is at fault entered the cell: for a tensor made from an array on
    a cell's line (`torch.from_numpy(img)`), the cell's earlier line that made that array
    (`img = load_image(...)`), else `where` itself."""
    if where is None or where[1] is not None or where[0] is None or \
            getattr(end, "op", None) not in FROM_ARRAY:
        return where
    built = array_built_before(ctx, where[0], end.op)
    return (built, None) if built is not None else where


def array_built_before(ctx: Context, line: int, op: str) -> int | None:
    """The cell's earlier line that built the array which `op` (`from_numpy`, `tensor`, ...)
    turns into a tensor on `line`, when the array is a name the cell assigned before."""
    for call in ctx.code.calls_on_line(line):
        if call_name(call) == op and call.args:
            name = base_name(call.args[0])
            made = ctx.code.origin(name, line) if name else None
            if made is not None and made.line < line:
                return made.line
    return None


def owner_classdef(site: Site) -> ast.ClassDef | None:
    """The class whose method holds `site`, if any."""
    code = code_of(site.filename)
    stmt = code.statement_at(site.line)
    return next((a for a in code.ancestors(stmt) if isinstance(a, ast.ClassDef)), None) if stmt else None


def owner_class(site: Site) -> str | None:
    """The name of the class whose method holds `site`, if any."""
    owner = owner_classdef(site)
    return owner.name if owner is not None else None


def building_line(cell: Cell, found: Any, site: Site | None) -> int | None:
    """When `site` lies in a method of a class from an earlier cell, the diagnosed cell's first
    line that builds an instance of that class (the cell's way to a fix inside the class)."""
    if site is None or site.filename == found.user.cell:
        return None
    owner = owner_class(site)
    lines = [c.lineno for c in cell.calls if call_name(c) == owner] if owner else []
    if not lines and owner and found.recorder is not None:
        # built inside another class of an earlier cell (a layer of the model): the cell's line
        # that was running when the run saw it built
        built_from = found.recorder.built_from
        lines = [line for layer, line in list(built_from.items()) if type(layer).__name__ == owner]
    return min(lines) if lines else None


def looped_loaders(ctx: Context, frames: list[CellFrame]) -> Iterator[tuple[CellFrame, ast.For, str, Any]]:
    """(frame, loop, name, loader) for each DataLoader that a `for` loop around a frame's line
    iterates, the innermost frame first."""
    DataLoader = torch_module().utils.data.DataLoader
    for frame in reversed(frames):
        stmt = frame.code.statement_at(frame.line)
        for loop in frame.code.loops_around(stmt) if stmt is not None else []:
            if not isinstance(loop, ast.For):
                continue
            for name in loaded_names(loop.iter):
                loader = ctx.value(name, frame)
                if isinstance(loader, DataLoader):
                    yield frame, loop, name, loader


def records_read(ctx: Context, frame: CellFrame | None) -> list[Any]:
    """The run's records of the tensors that a frame's line reads by name."""
    if frame is None:
        return []
    values = (ctx.value(name, frame) for name in frame.code.read_at(frame.line))
    return [r for r in (ctx.record(v) for v in values if is_tensor(v)) if r is not None]


def message_numbers(ctx: Context) -> set[int]:
    """The whole numbers an error message names (sizes, counts)."""
    return {int(n) for n in _NUMBERS.findall(ctx.message)}


def constructing_line(ctx: Context, site: Site) -> int | None:
    """When `site` lies in a method of a class from an earlier cell (a model, a Dataset), the
    cell's line that builds an instance of that class: the cell's way to the cause."""
    owner = owner_class(site)
    if owner is None:
        return None
    calls = [c for c in ctx.code.all_calls() if call_name(c) == owner]
    before = [c.lineno for c in calls if ctx.line is None or c.lineno <= ctx.line]
    return min(before) if before else (min(c.lineno for c in calls) if calls else None)


def line_text(ctx: Context, where: tuple[int | None, Site | None]) -> Any:
    """How a detail sentence names a place: the cell's line number, or `7 of In[2]` when the
    place lies in an earlier cell."""
    line, cause = where
    if cause is None:
        return line
    return PlaceText(cause.line, ctx.evidence.user.label(cause.filename))


def module_site(found: Any, module: Any) -> Site | None:
    """The line that built a module during the run: its own constructor call within the
    statement the run recorded (`nn.Dropout(0.3, inplace=True)` inside an `nn.Sequential(...)`
    spread over lines), the k-th of its kind when the statement builds several."""
    site = found.built_at(module)
    if site is None:
        return None
    code = code_of(site.filename)
    stmt = code.statement_at(site.line)
    kind = type(module).__name__
    calls = sorted((c for c in ast.walk(stmt) if isinstance(c, ast.Call) and call_name(c) == kind),
                   key=lambda c: (c.lineno, c.col_offset)) if stmt is not None else []
    if not calls:
        return site
    built = found.recorder.built if found.recorder is not None else {}
    siblings = [m for m, at in list(built.items()) if at == site and type(m) is type(module)]
    index = next((i for i, m in enumerate(siblings) if m is module), 0)
    call = calls[min(index, len(calls) - 1)]
    return Site(site.filename, call.lineno, site.function)


def failing_place(ctx: Context) -> tuple[int | None, Site | None]:
    """The failing line itself: the innermost line of the user's code, as the cell's line and,
    when that line lies in an earlier cell, that place too."""
    frame = ctx.innermost
    if frame is None or frame.in_cell:
        return ctx.line, None
    site = Site(frame.filename, frame.line, frame.function)
    return constructing_line(ctx, site) or ctx.line, site


def failing_layer(ctx: Context, kind: type) -> tuple[Any, Any]:
    """The module of type `kind` whose forward raised, and the input it was given, read from
    the traceback's frames inside torch (the innermost such frame)."""
    tb = ctx.exc.__traceback__
    found: tuple[Any, Any] = (None, None)
    while tb is not None:
        local = tb.tb_frame.f_locals
        module = local.get("self")
        if isinstance(module, kind) and tb.tb_frame.f_code.co_name in ("forward", "_conv_forward"):
            found = (module, local.get("input", local.get("x")))
        tb = tb.tb_next
    return found


def _cell_line(ctx: Context, frame: CellFrame | None) -> int | None:
    """The cell's own line that `frame` runs under: its line, or the innermost line of the
    cell on the way to it (the call of an earlier cell's helper)."""
    if frame is not None and frame.in_cell:
        return frame.line
    return ctx.line


def _frame_reading(ctx: Context, line: int) -> CellFrame | None:
    """The innermost frame of the cell at `line`, else the innermost user frame."""
    for fr in reversed(ctx.user_frames):
        if fr.in_cell and fr.line == line:
            return fr
    return ctx.frames[-1] if ctx.frames else ctx.innermost


def _named_site(ctx: Context, record: Any) -> Site | None:
    """For a tensor the run did not see made: where the name that holds it was assigned."""
    tensor = record.tensor if hasattr(record, "tensor") else None
    return object_site(ctx, tensor) if tensor is not None else None


def object_site(ctx: Context, obj: Any) -> Site | None:
    """Where the user's code assigned the name that holds `obj` (any object: a tensor, a
    DataLoader, an options namespace): in the failure's frames, innermost first, or at the top
    level of the cells, the diagnosed cell before earlier ones."""
    for fr in reversed(ctx.user_frames):
        for name, value in list(fr.frame.f_locals.items()):
            if value is obj and not name.startswith("_"):
                made = fr.code.origin(name, fr.line)
                if made is not None:
                    return Site(fr.filename, made.line, fr.function)
    for name, value in list(ctx.namespace.items()):
        if value is obj and not name.startswith("_"):
            if name in _assigned_in_cell(ctx):
                made = ctx.code.origin(name, ctx.line or len(ctx.code.lines))
                if made is not None:
                    return Site(ctx.filename, made.line, "<module>")
            return earlier_binding(ctx, name)
    return None


def object_place(ctx: Context, obj: Any) -> tuple[int | None, Site | None] | None:
    """:func:`object_site` as the cell's line and a place outside the cell."""
    site = object_site(ctx, obj)
    if site is None:
        return None
    if site.filename == ctx.filename:
        return site.line, None
    return constructing_line(ctx, site) or ctx.line, site


def name_for(ctx: Context, record: Any) -> str:
    """A name the user's code gave the record's tensor: a variable of the failure's frames or
    of the namespace that holds it now, else the one its line assigns."""
    tensor = record.tensor if hasattr(record, "tensor") else None
    if tensor is not None:
        for fr in reversed(ctx.user_frames):
            for name, value in list(fr.frame.f_locals.items()):
                if value is tensor and not name.startswith("_"):
                    return name
        for name, value in list(ctx.namespace.items()):
            if value is tensor and not name.startswith("_"):
                return name
    site = getattr(record, "site", None)
    if site is not None:
        names = code_of(site.filename).assigned_at(site.line)
        if len(names) == 1:
            return names[0]
    return ""


def _assigned_in_cell(ctx: Context) -> set[str]:
    return {b.name for b in ctx.code.bindings()}


def earlier_binding(ctx: Context, name: str, limit: int = 100) -> Site | None:
    """Where an earlier cell last assigned `name` at its top level (the most recent such cell)."""
    cells = getattr(ctx.evidence.user, "_cells", {})
    for filename, _ in sorted(cells.items(), key=lambda kv: -kv[1])[:limit]:
        if filename == ctx.filename:
            continue
        code = code_of(filename)
        found = [b for b in code.bindings() if b.name == name]
        if found:
            return Site(filename, found[-1].line, "<module>")
    return None


def _made_at(ctx: Context, name: str, line: int) -> Binding | None:
    """Where `name`, read on `line`, got its value; for a batch of a DataLoader over the cell's
    Dataset, the `__getitem__` line that made that element of a sample."""
    binding = ctx.code.origin(name, line)
    return (ctx.code.item_origin(binding) or binding) if binding is not None else None


def _passed_in(ctx: Context, name: str, line: int) -> tuple[str, int] | None:
    """(argument, caller's line) when `name`, read on `line`, is a parameter of the cell
    function running there that the function never reassigns, and the cell line that called
    it (the next frame out) passed a plain name for it: `clf(ids_t)` for `forward(self, ids)`."""
    code = ctx.code
    func = code.scope_of(code.statement_at(line))
    if not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return None
    params = [a.arg for a in func.args.posonlyargs + func.args.args]
    if name not in params or any(b.name == name and b.line < line for b in code.bindings(func)):
        return None
    at = next((i for i in range(len(ctx.frames) - 1, 0, -1)
               if ctx.frames[i].line == line and ctx.frames[i].function == func.name), None)
    if at is None:
        return None
    caller = ctx.frames[at - 1]
    cls = code.parent(func)
    method = isinstance(cls, ast.ClassDef)
    index = params.index(name) - (1 if method else 0)

    def calls_func(call: ast.Call) -> bool:
        if not method:
            return isinstance(call.func, ast.Name) and call.func.id == func.name
        if isinstance(call.func, ast.Attribute) and call.func.attr == func.name:
            return True
        # `model(x)` runs `forward`
        return func.name == "forward" and bool(dotted(call.func)) \
            and type(ctx.value(dotted(call.func), caller)).__name__ == cls.name

    for call in filter(calls_func, code.calls_on_line(caller.line)):
        if any(isinstance(a, ast.Starred) for a in call.args):
            return None
        arg = call.args[index] if 0 <= index < len(call.args) else next(
            (k.value for k in call.keywords if k.arg == name), None)
        return (arg.id, caller.line) if isinstance(arg, ast.Name) else None
    return None


def cell_argument(ctx: Context, frame: CellFrame | None, name: str) -> tuple[str, int] | None:
    """(argument, cell line) when `name` is a parameter of an earlier cell's function that the
    diagnosed cell called directly (`derivative(dudt, t)` for `def derivative(y, x)`) and the
    cell passed a plain name for it; None otherwise."""
    if frame is None or frame.in_cell or ctx.line is None:
        return None
    outer = ctx.user_frames[-2] if len(ctx.user_frames) > 1 else None
    if outer is None or not outer.in_cell:
        return None
    code = frame.frame.f_code
    params = list(code.co_varnames[:code.co_argcount])
    if name not in params:
        return None
    for call in ctx.code.calls_on_line(outer.line):
        if call_name(call) != frame.function or any(isinstance(a, ast.Starred) for a in call.args):
            continue
        index = params.index(name) - (1 if params and params[0] == "self" else 0)
        arg = call.args[index] if 0 <= index < len(call.args) else next(
            (k.value for k in call.keywords if k.arg == name), None)
        return (arg.id, outer.line) if isinstance(arg, ast.Name) else None
    return None


def first_module(ctx: Context, frame: CellFrame | None, where: Callable[[Any], bool] | None = None
                 ) -> tuple[str, Any] | None:
    """The first nn.Module named on the frame's line (optionally one that satisfies `where`)."""
    return _first_named(ctx, frame, is_module, where)


def module_name(ctx: Context, name: str, module: Any) -> str:
    """How the user's outermost code names `module`: inside a forward, `self` or `self.encoder`
    read as the path from a model the cell holds (`model.encoder`), else the name as given."""
    if name != "self" and not name.startswith("self."):
        return name
    for fr in ctx.user_frames:
        for var, value in list(fr.frame.f_locals.items()):
            if var == "self" or var.startswith("_") or not is_module(value):
                continue
            try:
                path = next((p for p, sub in value.named_modules() if sub is module), None)
            except Exception:
                path = None
            if path is not None:
                return f"{var}.{path}" if path else var
    return f"{name} ({type(module).__name__})" if name == "self" else name


def first_tensor(ctx: Context, frame: CellFrame | None, where: Callable[[Any], bool] | None = None
                 ) -> tuple[str, Any] | None:
    """The first tensor named on the frame's line (optionally one that satisfies `where`)."""
    return _first_named(ctx, frame, is_tensor, where)


def _first_named(ctx: Context, frame: CellFrame | None, kind: Callable[[Any], bool],
                 where: Callable[[Any], bool] | None) -> tuple[str, Any] | None:
    line = frame.line if frame else ctx.line
    code = frame.code if frame is not None else ctx.code
    for name in code.read_at(line) if line else []:
        value = ctx.value(name, frame)
        if kind(value) and (where is None or where(value)):
            return name, value
    return None


def describe(value: Any) -> dict[str, str]:
    """Shape/dtype/device facts about a tensor."""
    if not is_tensor(value):
        return {}
    return {"shape": tuple(value.shape).__repr__(), "dtype": str(value.dtype).replace("torch.", ""),
            "device": str(value.device)}


def pattern_hits(ctx: Context, pid: str) -> bool:
    entry = catalog().get(pid)
    return bool(entry and entry.matches_message(ctx.exc_type, ctx.message))


_NUMBERS = re.compile(r"(?<![\w.])\d+(?![\w.])")
_DTYPE_WORDS = {"double": "float64", "float": "float32", "half": "float16", "long": "int64", "int": "int32",
                "bool": "bool", "byte": "uint8", "bfloat16": "bfloat16"}


def suspect_place(ctx: Context) -> tuple[int | None, Site | None] | None:
    """For a failure raised inside an earlier cell's code with nothing better known: the cell's
    value that the message is about. Of the tensors the failing statement reads, the one whose
    shape holds the most of the message's numbers (or whose dtype it names), followed back to
    where the cell made it. None when no tensor there is named by the message or none came
    from the cell."""
    frame = ctx.innermost
    if frame is None or frame.in_cell:
        return None
    numbers = [int(n) for n in _NUMBERS.findall(ctx.message) if int(n) > 1]
    words = {_DTYPE_WORDS[w] for w in re.findall(r"\b(" + "|".join(_DTYPE_WORDS) + r")\b", ctx.message.lower())}
    best, best_score = None, 0
    for name in frame.code.read_at(frame.line):
        value = ctx.value(name, frame)
        if not is_tensor(value):
            continue
        shape = [int(d) for d in value.shape]
        score = sum(1 for n in set(numbers) if n in shape)
        if words and str(value.dtype).replace("torch.", "") in words:
            score += 1
        if score > best_score:
            best, best_score = value, score
    record = ctx.record(best) if best is not None else None
    if record is None:
        return None
    where = place(ctx, passed_on(record, ctx.filename))
    if where is None or where[1] is not None:
        return None
    return where


# ---------------------------------------------------------------------------- run checks
def run_line(found: Any, site: Site | None, cell_line: int | None) -> int | None:
    """The cell's line for something the run saw at `site`: the site itself when it is in the
    diagnosed cell, else the cell's line that was running then."""
    if site is not None and site.filename == found.user.cell:
        return site.line
    return cell_line


def all_frozen(module: Any) -> bool:
    """A live module with parameters, none of which requires grad."""
    if not is_module(module):
        return False
    try:
        params = list(module.parameters())
    except Exception:
        return False
    return bool(params) and not any(p.requires_grad for p in params)


def names_of(cell: Cell, obj: Any) -> list[str]:
    """The namespace names the cell's user namespace binds to `obj` (read-only)."""
    ns = cell.ns or {}
    return [name for name, value in list(ns.items()) if value is obj and not name.startswith("_")]


def last_use(cell: Cell, names: list[str], before: int) -> int | None:
    """The cell's last top-level line before `before` that reads one of `names` (the place
    where a model was last handled before it was used); a read that only prints or logs it
    (`print(sum(p.numel() for p in model.parameters()))`) does not handle it."""
    found = None
    for node in cell.nodes:
        if isinstance(node, ast.Name) and node.id in names and isinstance(node.ctx, ast.Load) \
                and getattr(node, "lineno", before) < before and not _printed(cell, node):
            found = max(found or 0, node.lineno)
    return found


def _printed(cell: Cell, node: ast.AST) -> bool:
    return any(isinstance(a, ast.Call) and isinstance(a.func, ast.Name) and a.func.id == "print"
               for a in cell.ancestors(node))


def first_use(cell: Cell, names: list[str]) -> int | None:
    """The cell's first line that reads one of `names` (where data from an earlier cell
    enters the cell)."""
    lines = [node.lineno for node in cell.nodes
             if isinstance(node, ast.Name) and node.id in names and isinstance(node.ctx, ast.Load)]
    return min(lines) if lines else None


def entry_line(cell: Cell, found: Any, trail: list) -> int | None:
    """The cell's line where the tensor at the end of `trail` came into the diagnosed cell:
    the first step the cell's own code made, else the first line that reads a name bound to
    the earliest tensor of the trail that is still alive, or to the tensor that the trail's
    end was taken from, made before the run (data from an earlier cell)."""
    for step in trail:
        if step.site is not None and step.site.filename == found.user.cell:
            return step.site.line
    made_before = [r for r in getattr(trail[-1], "inputs", ()) if r.op is None][:1] if trail else []
    for step in made_before + list(reversed(trail)):
        tensor = getattr(step, "tensor", None)
        names = names_of(cell, tensor) if tensor is not None else []
        line = first_use(cell, names) if names else None
        if line is not None:
            return line
    return None


def reached_by_backward(found: Any) -> set[int]:
    """Ids of the records that the run's backward passes went through (bounded walk)."""
    from ..evidence.queries import ancestors

    recorder = found.recorder
    seen: set[int] = set()
    for call in recorder.backwards if recorder is not None else []:
        if call.subject is None:
            continue
        for r in ancestors(call.subject, lambda p: bool(p.grad_fn) or p.requires_grad, limit=5000):
            seen.add(id(r))
    return seen
