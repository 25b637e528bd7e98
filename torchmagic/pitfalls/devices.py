"""Device and dtype pitfalls: mixed dtypes, CUDA requested where there is none, the meta
device, memory shared with NumPy, aliases taken for copies."""
from __future__ import annotations

import ast
import re
from typing import Any, Iterator, Mapping

from ..diagnosis import Match
from ..source.cell import Cell
from ..source.gradflow import FACTORIES
from ..source.syntax import kwarg, root_name, walk_body
from ..source.values import MISSING, is_module, is_ndarray, is_tensor, torch_module
from ..source.cellcode import Binding, CellCode, call_name, dotted
from ..evidence import Site
from ..evidence.queries import dtype_origin, site_step
from ..diagnose.locate import code_of
from .helpers import (_forward_calls, constructing_line, describe, earlier_binding, failing_layer, first_module, first_tensor,
                      module_name, object_place, object_site, origin_match, pattern_hits, place, run_line)
from .registry import Context, Hit, audit, matcher, monitor, rule


def _mutations(cell: Cell, name: str, scope: ast.AST, after: int) -> list[int]:
    """Lines after `after` where `name` (a tensor or array) is changed in place."""
    out = []
    for node in walk_body(getattr(scope, "body", [])):
        line = getattr(node, "lineno", 0)
        if line <= after:
            continue
        if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name) and node.target.id == name:
            out.append(line)
        elif isinstance(node, ast.Assign) and any(isinstance(t, ast.Subscript) and root_name(t) == name
                                                  for t in node.targets):
            out.append(line)
        elif isinstance(node, ast.Call):
            f = node.func
            if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id == name and (
                    (f.attr.endswith("_") and not f.attr.startswith("_")
                     and f.attr not in ("requires_grad_", "share_memory_", "retain_grad"))
                    or f.attr in ("fill", "sort", "resize", "put", "itemset", "partition")):
                out.append(line)
            elif cell._call_last(node) in ("shuffle", "copyto") and node.args and \
                    isinstance(node.args[0], ast.Name) and node.args[0].id == name:
                out.append(line)
            else:
                out_kw = kwarg(node, "out")
                if isinstance(out_kw, ast.Name) and out_kw.id == name:
                    out.append(line)
    return sorted(out)


def _rebound(cell: Cell, name: str, scope: ast.AST, start: int, end: int) -> bool:
    return any(b.kind in ("assign", "for", "with", "param", "other", "def", "import") and start < b.line <= end
               for b in cell.assignments(name, scope))


def _read_after(cell: Cell, name: str, scope: ast.AST, line: int) -> int | None:
    for node in walk_body(getattr(scope, "body", [])):
        if isinstance(node, ast.Name) and node.id == name and isinstance(node.ctx, ast.Load) and node.lineno > line:
            return node.lineno
    return None


def _read_in_loop(cell: Cell, name: str, line: int, scope: ast.AST) -> bool:
    """Whether the loop around `line` reads `name` again (in its next iteration)."""
    stmts = [n for n in cell.body_nodes(scope, inline=False) if isinstance(n, ast.stmt) and n.lineno == line]
    if not stmts:
        return False
    loops = cell.loops_of(stmts[0])
    if not loops:
        return False
    loop = loops[0]
    return any(isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Load)
               for n in cell.body_nodes(loop, inline=False))


def _shared_pair_hits(cell: Cell, pitfall: str, line: int, a: str, b: str, scope: ast.AST,
                      name: str = "", other: str = "") -> Iterator[Hit]:
    """Hit when one of two names sharing memory is changed in place and the other read later."""
    for changed, seen in ((a, b), (b, a)):
        for m in _mutations(cell, changed, scope, line):
            if _rebound(cell, changed, scope, line, m - 1) or _rebound(cell, seen, scope, line, m):
                break
            r = _read_after(cell, seen, scope, m)
            if r is not None and not _rebound(cell, seen, scope, m, r - 1) or _read_in_loop(cell, seen, m, scope):
                yield Hit(pitfall, line, name or b, other or a)
                return
            break


def _is_array_like(cell: Cell, expr: ast.AST, scope: ast.AST, kind: str) -> bool | None:
    """Whether a name holds a tensor ('tensor') or an ndarray ('array'); None if unknown."""
    value = cell.resolve(expr, scope)
    if value is not MISSING:
        return is_tensor(value) if kind == "tensor" else is_ndarray(value)
    if isinstance(expr, ast.Name):
        b = cell.binding(expr.id, scope, expr.lineno)
        if b is not None and b.kind == "assign" and isinstance(b.value, ast.Call):
            path = cell.path_of(b.value.func, cell.scope_of(b.node))
            if kind == "tensor" and path.startswith("torch.") and cell.torch_func(b.value, scope) in FACTORIES:
                return True
            if kind == "array" and path.startswith("numpy."):
                return True
    return None


def _named_call_results(cell: Cell) -> list[ast.Assign]:
    """`name = call(...)` statements."""
    return [node for node in cell.nodes if isinstance(node, ast.Assign) and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name) and isinstance(node.value, ast.Call)]


@rule
def rule_from_numpy_shares_memory(cell: Cell) -> Iterator[Hit]:
    """`t = torch.from_numpy(a)` (or `a = t.numpy()`), then one is changed in place, the other read."""
    for node in cell.once(_named_call_results):
        call, new = node.value, node.targets[0].id
        scope = cell.scope_of(node)
        src = None
        tensor_name, array_name = new, ""
        name = cell.torch_func(call, scope)
        arg = call.args[0] if call.args else None
        if name in ("from_numpy", "as_tensor", "asarray") and isinstance(arg, (ast.Name, ast.Subscript)) \
                and root_name(arg) is not None and (isinstance(arg, ast.Name) or isinstance(arg.value, ast.Name)):
            src = root_name(arg)
            if name != "from_numpy" and (_is_array_like(cell, ast.Name(id=src, ctx=ast.Load(), lineno=node.lineno,
                                                                        col_offset=0), scope, "array") is not True
                                         or kwarg(call, "dtype") is not None or kwarg(call, "device") is not None):
                continue
        elif isinstance(call.func, ast.Attribute) and call.func.attr == "numpy" and isinstance(call.func.value, ast.Name) \
                and not call.args:
            src = call.func.value.id
            tensor_name, array_name = src, new
        if src is None or src == new:
            continue
        if cell.def_scope(new, scope) is cell.tree and cell.def_scope(src, scope) is cell.tree:
            t_val, a_val = cell.lookup(new, scope), cell.lookup(src, scope)
            shared = _shares_memory(t_val, a_val)
            if shared is False:
                continue
        yield from _shared_pair_hits(cell, "from-numpy-shares-memory", node.lineno, src, new, scope,
                                     tensor_name, array_name or src)


def _shares_memory(x: Any, y: Any) -> bool | None:
    """Whether a tensor and an ndarray (either order) use the same memory; None if unknown."""
    if is_tensor(y):
        x, y = y, x
    if not (is_tensor(x) and is_ndarray(y)):
        return None
    try:
        if x.device.type != "cpu":
            return False
        import numpy as np

        return bool(np.shares_memory(x.detach().numpy(), y))
    except Exception:
        return None


def _assigned_pairs(node: ast.AST) -> list[tuple[str, ast.AST]]:
    """(name, value) for `a = v` and `a, b = v, w`."""
    if not (isinstance(node, ast.Assign) and len(node.targets) == 1):
        return []
    target, value = node.targets[0], node.value
    if isinstance(target, ast.Name):
        return [(target.id, value)]
    if isinstance(target, ast.Tuple) and isinstance(value, ast.Tuple) and len(target.elts) == len(value.elts):
        return [(t.id, v) for t, v in zip(target.elts, value.elts) if isinstance(t, ast.Name)]
    return []


def _name_assignments(cell: Cell) -> list[tuple[ast.Assign, str, ast.AST]]:
    return [(node, new, value) for node in cell.nodes for new, value in _assigned_pairs(node)]


@rule
def rule_tensor_aliasing(cell: Cell) -> Iterator[Hit]:
    """`b = a` for tensors/models used as a copy: in-place changes show through both names."""
    for node, new, value in cell.once(_name_assignments):
        scope = cell.scope_of(node)
        hit = _snapshot_alias(cell, node, new, value, scope)
        if hit is not None:
            yield hit
            continue
        if isinstance(value, ast.Name) and value.id != new and isinstance(node.targets[0], ast.Name):  # type: ignore[attr-defined]
            if _is_array_like(cell, value, scope, "tensor") or _is_array_like(cell, value, scope, "array"):
                if cell.def_scope(new, scope) is cell.tree:
                    a_val, b_val = cell.lookup(value.id, scope), cell.lookup(new, scope)
                    if a_val is not MISSING and b_val is not MISSING and a_val is not b_val:
                        continue
                yield from _shared_pair_hits(cell, "tensor-aliasing", node.lineno, value.id, new, scope)


def _snapshot_source(value: ast.AST) -> tuple[str, ast.AST] | None:
    """What a would-be snapshot refers to: ('module', m), ('state', m) or ('tensor', expr)."""
    if isinstance(value, ast.Name):
        return "module", value
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and not value.args:
        if value.func.attr == "state_dict" and isinstance(value.func.value, (ast.Name, ast.Attribute)):
            return "state", value.func.value
        if value.func.attr == "detach":
            inner = _snapshot_source(value.func.value)
            return ("tensor", inner[1]) if inner and inner[0] == "tensor" else None
    if isinstance(value, ast.Attribute):
        base = value.value if value.attr == "data" else value
        if isinstance(base, (ast.Attribute, ast.Subscript, ast.Name)):
            return "tensor", base
    if isinstance(value, ast.Subscript) and isinstance(value.value, (ast.Attribute, ast.Name)):
        return "tensor", value
    return None


def _update_lines(cell: Cell, loop: ast.AST) -> list[int]:
    """Lines in a loop where parameters change in place (optimizer steps, manual updates, helpers doing so)."""
    out = []
    for n in cell.body_nodes(loop, inline=False):
        if (isinstance(n, ast.Call) and cell.is_step(n)) or cell.is_manual_update(n):
            out.append(n.lineno)
        elif isinstance(n, ast.Call):
            fn = cell.cell_function(n)
            if fn is not None and any((isinstance(m, ast.Call) and cell.is_step(m)) or cell.is_manual_update(m)
                                      for m in cell.body_nodes(fn)):
                out.append(n.lineno)
    return out


def _snapshot_alias(cell: Cell, node: ast.AST, new: str, value: ast.AST, scope: ast.AST) -> Hit | None:
    """`best = model`, `best = model.state_dict()`, `before = layer.weight` inside a training loop."""
    source = _snapshot_source(value)
    loops = cell.loops_of(node)
    if source is None or not loops:
        return None
    kind, src = source
    if dotted(src) == new:
        return None
    loop = loops[-1]
    nodes = cell.body_nodes(loop)
    updates = _update_lines(cell, loop)
    if not updates:
        return None
    trained = [r for c, r in _forward_calls(cell, nodes)]
    if not trained:
        return None
    obj = cell.resolve(src, scope)
    if kind in ("module", "state"):
        if obj is not MISSING:
            if not is_module(obj) or not any(r.obj is obj for r in trained):
                return None
        elif not (dotted(src) in {r.label for r in trained} and
                  (not isinstance(src, ast.Name) or cell.static_module(src.id, scope, node.lineno) is not None)):
            return None
    else:
        if obj is not MISSING:
            if not is_tensor(obj) or not any(_shares_param(obj, r.obj) for r in trained if r.obj is not None):
                return None
        else:
            parts = (dotted(src) or cell.text(src)).replace("[", ".").split(".")
            if not ({"weight", "bias"} & set(parts) and root_name(src) in {root_name(ast.parse(r.label, mode="eval").body)
                                                                            for r in trained}):
                return None
    if any(isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == new for n in nodes):
        return None  # the new name is itself run (trained), not a snapshot
    a = node.lineno
    lo, hi = loop.lineno, loop.end_lineno or loop.lineno
    reads = [n for n in cell.body_nodes(scope, inline=False) if isinstance(n, ast.Name) and n.id == new
             and isinstance(n.ctx, ast.Load) and n.lineno != a]
    if kind == "tensor":
        # a tensor kept "from before" matters where it is compared with the live one
        src_text = cell.text(src)
        reads = [n for n in reads if src_text in cell.text(cell.statement_of(n)) and lo <= n.lineno <= hi]
    stale = False
    for r in (n.lineno for n in reads):
        if r > hi:
            stale = True
        elif lo <= r < a:
            stale = stale or any(u > a or u < r for u in updates)
        elif a < r <= hi:
            stale = stale or any(a < u < r for u in updates)
    if not reads and kind in ("module", "state"):
        stale = True  # kept for later cells, while training goes on
    if not stale:
        return None
    if cell.def_scope(new, scope) is cell.tree and obj is not MISSING:
        live = cell.lookup(new, scope)
        if live is not MISSING:
            if kind == "module" and live is not obj:
                return None
            if kind == "state" and not _state_shares(live, obj):
                return None
            if kind == "tensor" and not (is_tensor(live) and _same_storage(live, obj)):
                return None
    return Hit("tensor-aliasing", node.lineno, new, cell.text(value))


def _shares_param(t: Any, module: Any) -> bool:
    try:
        ptr = t.untyped_storage().data_ptr()
        return any(p.untyped_storage().data_ptr() == ptr for p in module.parameters())
    except Exception:
        return False


def _same_storage(a: Any, b: Any) -> bool:
    try:
        return a.untyped_storage().data_ptr() == b.untyped_storage().data_ptr()
    except Exception:
        return False


def _state_shares(state: Any, module: Any) -> bool:
    """Whether a saved state dict still points at the module's own parameter storage."""
    if not isinstance(state, Mapping) or not is_module(module):
        return not isinstance(state, Mapping)
    try:
        ptrs = {p.data_ptr() for p in module.parameters()}
        return any(is_tensor(v) and v.data_ptr() in ptrs for v in state.values())
    except Exception:
        return True


_INTEGER_NAMED = re.compile(r"\b(long|int|Long|Int|Byte|Short|Char)\b")


@matcher
def dtype_mismatch(ctx: Context) -> Match | None:
    """Mixed dtypes: the line that made the float64 (or otherwise odd) tensor, followed back
    through the run to the operation that gave it that dtype."""
    if not pattern_hits(ctx, "dtype-mismatch"):
        return None
    torch = torch_module()
    odd = {torch.float64, torch.float16, torch.bfloat16}
    if _INTEGER_NAMED.search(ctx.message):  # `long int != float`: the integer side is the odd one
        odd |= {torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8}
    for frame in reversed(ctx.user_frames):
        for name in frame.code.read_at(frame.line):
            value = ctx.value(name, frame)
            if not (is_tensor(value) and value.dtype in odd):
                continue
            facts = {"name": name, **describe(value)}
            detail = "dtypes"
            other = first_tensor(ctx, frame, lambda t: t.is_floating_point() and t.dtype != value.dtype)
            if other is not None:
                facts.update(other=other[0], other_dtype=str(other[1].dtype).replace("torch.", ""))
            layer, _ = failing_layer(ctx, torch.nn.Module)
            module = ("self", layer) if layer is not None else first_module(ctx, frame)
            if module is not None:
                params = list(module[1].parameters())
                if params:
                    facts.update(module=module_name(ctx, *module), expected=str(params[0].dtype).replace("torch.", ""))
                    detail = "module"
            if ctx.record(value) is not None:
                match = origin_match(ctx, "dtype-mismatch", name, frame.line, 0.9, facts, detail, frame=frame,
                                     query=dtype_origin)
                if match is not None:
                    return match
            binding = frame.code.origin(name, frame.line)
            binding = (frame.code.item_origin(binding) or binding) if binding is not None else None
            if binding is None and name.startswith("self."):
                binding = _attribute_origin(frame.code, name[len("self."):], frame.line)
            if binding is not None and binding.line != frame.line:
                if frame.in_cell:
                    return Match("dtype-mismatch", 0.9, line=binding.line, related_lines=[frame.line],
                                 facts=facts, detail=detail)
                site = Site(frame.filename, binding.line, frame.function)
                return Match("dtype-mismatch", 0.9, line=constructing_line(ctx, site) or ctx.line,
                             facts=facts, detail=detail, cause=site)
            if binding is None and frame.in_cell and "." not in name:
                # made by an earlier cell, before this run (and read here first): that cell's line
                earlier = earlier_binding(ctx, name)
                if earlier is not None:
                    return Match("dtype-mismatch", 0.9, line=frame.line, facts=facts, detail=detail, cause=earlier)
    return _odd_module_tensor(ctx)


def _odd_module_tensor(ctx: Context) -> Match | None:
    """A module called on the failing line that holds a tensor of another float dtype than the
    default (a loss built with float64 class weights): where that tensor, else the module, was made."""
    torch = torch_module()
    default = torch.get_default_dtype()
    for frame in reversed(ctx.user_frames):
        for name in frame.code.read_at(frame.line):
            module = ctx.value(name, frame)
            if not is_module(module):
                continue
            try:
                held = [*module.named_parameters(), *module.named_buffers()]
            except Exception:
                continue
            odd = next(((attr, t) for attr, t in held if t.is_floating_point() and t.dtype != default), None)
            if odd is None or any(t.is_floating_point() and t.dtype == default for _, t in held):
                continue  # a module of mixed dtypes is not this; one of another dtype throughout is below
            attr, tensor = odd
            facts = {"name": f"{name}.{attr}", **describe(tensor), "expected": str(default).replace("torch.", "")}
            record = ctx.record(tensor)
            where = place(ctx, dtype_origin(record), frame) if record is not None and record.made else None
            if where is None:
                built = ctx.evidence.built_at(module) or object_site(ctx, module)
                where = place(ctx, [site_step(built)], frame) if built is not None else None
            if where is None or where[0] is None:
                continue
            related = [ctx.line] if ctx.line is not None and ctx.line != where[0] else []
            return Match("dtype-mismatch", 0.88, line=where[0], related_lines=related, facts=facts, detail="held",
                         cause=where[1])
    return None


def _attribute_origin(code: CellCode, attr: str, line: int) -> Binding | None:
    """Where the class around `line` sets `self.<attr>`: an assignment, or
    `self.register_buffer("<attr>", ...)` / `self.register_parameter("<attr>", ...)`."""
    stmt = code.statement_at(line)
    owner = next((a for a in code.ancestors(stmt) if isinstance(a, ast.ClassDef)), None) if stmt else None
    if owner is None:
        return None
    found = None
    for node in ast.walk(owner):
        if isinstance(node, ast.Assign) and any(dotted(t) == f"self.{attr}" for t in node.targets):
            found = found or node
        elif isinstance(node, ast.Call) and call_name(node) in ("register_buffer", "register_parameter") \
                and node.args and isinstance(node.args[0], ast.Constant) and node.args[0].value == attr:
            found = found or node
    return Binding(f"self.{attr}", found.lineno, found) if found is not None else None


@matcher
def cuda_unavailable(ctx: Context) -> Match | None:
    """No CUDA here: the build's facts, and the line that hard-coded the device when the
    failing line reads it from a variable (`device = "cuda"` ... `model.to(device)`)."""
    if not pattern_hits(ctx, "cuda-not-available"):
        return None
    torch = torch_module()
    facts = {"version": torch.__version__, "built": str(torch.backends.cuda.is_built()),
             "available": str(torch.cuda.is_available())}
    for frame in reversed(ctx.user_frames):
        for name in frame.code.read_at(frame.line):
            value = ctx.value(name, frame)
            wants_cuda = (isinstance(value, str) and value.startswith("cuda")) or (
                isinstance(value, torch.device) and value.type == "cuda")
            if not wants_cuda:
                continue
            if not frame.in_cell:
                # an earlier cell's helper reads it from an object the cell made (`args.device`)
                owner = ctx.value(name.rsplit(".", 1)[0], frame) if "." in name else None
                where = object_place(ctx, owner) if owner is not None else None
                if where is not None and where[1] is None:
                    return Match("cuda-not-available", 0.9, line=where[0], related_lines=[ctx.line],
                                 facts={**facts, "name": name, "value": str(value), "line": where[0]},
                                 detail="device_variable")
                continue
            origin = ctx.code.origin(name, frame.line)
            if origin is not None and origin.line != frame.line:
                return Match("cuda-not-available", 0.9, line=origin.line, related_lines=[frame.line],
                             facts={**facts, "name": name, "value": str(value), "line": origin.line},
                             detail="device_variable")
    return Match("cuda-not-available", 0.85, facts=facts, detail="build")


@matcher
def meta_device(ctx: Context) -> Match | None:
    """A model still on the meta device: point at what put it there, not at the forward call."""
    m = re.search(r"Tensor on device meta is not on the expected device|on device meta|device type meta",
                  ctx.message)
    if not m:
        return None
    frame = ctx.frames[-1] if ctx.frames else None
    for name in ctx.code.read_at(ctx.line) if ctx.line else []:
        value = ctx.value(name, frame)
        on_meta = (is_tensor(value) and value.is_meta) or (
            is_module(value) and any(p.is_meta for p in value.parameters()))
        if not on_meta:
            continue
        origin = ctx.code.origin(name, ctx.line)
        if origin is None:
            continue
        block = ctx.code.enclosing_with(origin.line, r"device\(|meta")
        line = block.lineno if block is not None else origin.line
        return Match("device-mismatch", 0.9, line=line, related_lines=[ctx.line],
                     facts={"name": name, "device": "meta", "line": line}, detail="meta")
    return None


# ---------------------------------------------------------------------------- run checks
@monitor
def run_numpy_memory_changed(cell: Cell, found: Any) -> Iterator[Hit]:
    """A tensor made by `torch.from_numpy` that the user's code then changed in place, as the
    run saw it (in a function, an earlier cell's Dataset...): the change wrote into the NumPy
    array too. The line is where the tensor was made (the cell's line that ran it)."""
    recorder = found.recorder
    for record in list(recorder.changed) if recorder is not None else []:
        if record.op != "from_numpy" or not any(c.module is None and c.op != "requires_grad_" and c.value is None
                                                 for c in record.changes):
            continue
        line = run_line(found, record.site, record.cell_line)
        if line is not None:
            yield Hit("from-numpy-shares-memory", line, "torch.from_numpy(...)", "the NumPy array")
            return


@monitor
def run_stale_snapshot(cell: Cell, found: Any) -> Iterator[Hit]:
    """A tensor that shares memory with a parameter (`model.state_dict()`, `.detach()`, `.data`
    taken as a copy, in a function or an earlier cell's helper) still held when an optimizer
    step changed that parameter, as the run saw it: the "copy" changed too. The line is where
    it was taken (the cell's line that ran it)."""
    for record in getattr(found.monitors, "stale", ()):
        line = run_line(found, record.site, record.cell_line)
        if line is not None:
            yield Hit("tensor-aliasing", line, record.op, "the parameter it shares memory with")
            return


_VIEWS = frozenset({"__getitem__", "select", "narrow", "view", "view_as", "unsqueeze", "squeeze", "transpose",
                    "permute", "t", "T", "expand", "as_strided", "unflatten", "movedim", "diagonal", "split",
                    "chunk", "unbind", "detach", "data"})


@monitor
def run_alias_changed_data(cell: Cell, found: Any) -> Iterator[Hit]:
    """A name bound to another tensor as it is (`cur = batch_x`, no `.clone()`), then changed in
    place (`cur.copy_(out)`), where the run saw that tensor share memory with data that existed
    before the cell ran (a slice of `val_x`): the change wrote into the user's data. The line is
    where the name was bound, where `.clone()` belongs."""
    recorder = found.recorder
    for record in list(recorder.changed) if recorder is not None else []:
        base = record
        while base.op in _VIEWS and base.inputs:
            base = base.inputs[0]
        if base is record or base.op is not None or base.parameter or base.requires_grad:
            continue
        for change in record.changes:
            if change.module is not None or change.value is not None or change.site is None \
                    or change.op in ("__setitem__", "requires_grad_"):
                continue
            code = code_of(change.site.filename)
            stmt = code.statement_at(change.site.line)
            call = stmt.value if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call) else None
            receiver = call.func.value if call is not None and isinstance(call.func, ast.Attribute) else None
            if isinstance(stmt, ast.AugAssign):  # `noisy += noise`: the tensor's own `__iadd__`
                receiver = stmt.target
            if not isinstance(receiver, ast.Name):
                continue
            bound = code.origin(receiver.id, change.site.line)
            alias = code.statement_at(bound.line) if bound is not None else None
            if not (isinstance(alias, ast.Assign) and isinstance(alias.value, ast.Name)):
                continue
            site = Site(change.site.filename, bound.line, change.site.function)
            line = run_line(found, site, change.cell_line)
            if line is not None:
                yield Hit("tensor-aliasing", line, receiver.id, alias.value.id)
                return


_COPY_NAMES = re.compile(r"target|ema|teacher|old|prev|best|frozen|momentum|shadow|avg", re.I)


@audit
def audit_same_network_twice(cell: Cell) -> Iterator[Hit]:
    """An object of the cell (an agent, a trainer) whose two network attributes are one and the
    same module, one of them named as a copy (`target_net`, `ema_model`, `teacher`): every
    update of the online network moves the "copy" too. The line is where the cell built the
    object."""
    torch = torch_module()
    ns = cell.ns or {}
    for name in cell.once(_top_level_assigned):
        holder = ns.get(name)
        if holder is None or isinstance(holder, (torch.Tensor, type)) or not hasattr(holder, "__dict__"):
            continue
        try:
            held = [(attr, v) for attr, v in list(vars(holder).items())[:200] if isinstance(v, torch.nn.Module)]
        except Exception:
            continue
        for i, (a, module) in enumerate(held):
            twin = next((b for b, other in held[i + 1:] if other is module), None)
            if twin is None:
                continue
            copy, online = (twin, a) if _COPY_NAMES.search(twin) else (a, twin)
            if not _COPY_NAMES.search(copy):
                continue
            line = next((b.line for b in cell.bindings[cell.tree].get(name, []) if b.kind == "assign"), None)
            if line is not None:
                yield Hit("tensor-aliasing", line, f"{name}.{copy}", f"{name}.{online}", detail="same_module")
                return


def _top_level_assigned(cell: Cell) -> list[str]:
    return [n for n, bindings in cell.bindings[cell.tree].items() if any(b.kind == "assign" for b in bindings)]
