"""Training-setup pitfalls: what the optimizer is given, schedulers, mixed precision,
checkpoint files, process groups.

Most of these fail far from their cause: the optimizer raises on the line that builds it,
but the tensor it refuses was made two lines up; GradScaler raises in the next iteration,
after a `continue` skipped its `update()`. The rules read the objects the failure left in
torch's frames (the optimizer's parameter group, the scheduler, the scaler's optimizer)
and follow them back to the user's line. The helpers at the top are shared with the
definitions, loading and toolchain families.
"""
from __future__ import annotations

import ast
import inspect
import re
from collections.abc import Mapping
from typing import Any, Callable, Iterator

from ..diagnosis import Match
from ..evidence import Site
from ..diagnose.locate import CellFrame, code_of
from ..source.values import is_module, is_tensor, torch_module
from ..source.cellcode import CellCode, call_name, dotted
from .helpers import constructing_line, failing_place, line_text, name_for, origin_match, pattern_hits, place
from .registry import Context, matcher


# ---------------------------------------------------------------------------------------
# helpers shared by the training, definitions, loading and toolchain families

def torch_frames(ctx: Context) -> Iterator[Any]:
    """The traceback's frames, outermost first."""
    tb = ctx.exc.__traceback__
    while tb is not None:
        yield tb.tb_frame
        tb = tb.tb_next


def torch_local(ctx: Context, function: str, name: str, where: str = "") -> Any:
    """A local variable of the innermost traceback frame that runs `function` in a file whose
    path contains `where` (torch's own frames: the optimizer, the sampler, the collate); None
    when there is none. Only read: the frames are finished."""
    found = None
    for frame in torch_frames(ctx):
        code = frame.f_code
        if code.co_name == function and where in code.co_filename.replace("\\", "/"):
            local = frame.f_locals
            if name in local:
                found = local[name]
    return found


def raised_in(ctx: Context, fragment: str) -> bool:
    """Whether a frame of the traceback runs code from a file whose path contains `fragment`."""
    return any(fragment in f.f_code.co_filename.replace("\\", "/") for f in torch_frames(ctx))


def at(ctx: Context, filename: str, line: int, function: str = "<module>") -> tuple[int | None, Site | None]:
    """A line of the user's code as (the cell's line to mark, the place in an earlier cell)."""
    if filename == ctx.filename:
        return line, None
    site = Site(filename, line, function)
    return constructing_line(ctx, site) or ctx.line, site


def class_source(ctx: Context, cls: Any) -> tuple[str, CellCode, ast.ClassDef] | None:
    """Where the user's code defines `cls` (this cell or an earlier one): file, code, node."""
    if not isinstance(cls, type):
        return None
    for value in vars(cls).values():
        code = getattr(getattr(value, "__func__", value), "__code__", None)
        if code is None:
            continue
        filename = code.co_filename
        if filename != ctx.filename and filename not in ctx.evidence.user:
            continue
        source = code_of(filename)
        for node in source.classes():
            if node.name == cls.__name__ and node.lineno <= code.co_firstlineno <= (node.end_lineno or node.lineno):
                return filename, source, node
    return None


def method_of(node: ast.ClassDef, name: str) -> ast.FunctionDef | None:
    return next((m for m in node.body if isinstance(m, ast.FunctionDef) and m.name == name), None)


def self_assignment(node: ast.AST, attr: str) -> ast.stmt | None:
    """The first statement in a class (or method) that sets `self.<attr>`."""
    for sub in ast.walk(node):
        targets = sub.targets if isinstance(sub, ast.Assign) else \
            [sub.target] if isinstance(sub, (ast.AnnAssign, ast.AugAssign)) else []
        if any(dotted(t) == f"self.{attr}" for t in targets):
            return sub
    return None


def named(ctx: Context, test: Callable[[Any], bool], frame: CellFrame | None = None) -> Iterator[tuple[str, Any]]:
    """(name, value) for the user's variables that pass `test`: the failing frame's locals
    first, then the namespace."""
    seen: set[str] = set()
    frames = [frame] if frame is not None else list(reversed(ctx.user_frames[-1:]))
    scopes = [fr.frame.f_locals for fr in frames if fr is not None] + [ctx.namespace]
    for scope in scopes:
        for name, value in list(scope.items()):
            if name.startswith("_") or name in seen:
                continue
            try:
                ok = test(value)
            except Exception:
                ok = False
            if ok:
                seen.add(name)
                yield name, value


def name_of(ctx: Context, obj: Any) -> str:
    """A name the user's code gives `obj` (by identity), or ''."""
    return next((n for n, _ in named(ctx, lambda v: v is obj)), "")


def bound_line(ctx: Context, name: str, line: int | None = None) -> tuple[int | None, Site | None] | None:
    """Where the cell (or, failing that, an earlier cell) last assigned `name` before `line`."""
    binding = ctx.code.origin(name, line or ctx.line or len(ctx.code.lines))
    if binding is not None:
        return binding.line, None
    from .helpers import earlier_binding

    site = earlier_binding(ctx, name)
    return (ctx.line, site) if site is not None else None


def place_facts(ctx: Context, where: tuple[int | None, Site | None], key: str) -> dict[str, Any]:
    """How the detail sentences name a place, in each language: `{key}` for English ("7", or
    "7 of In[2]" in an earlier cell) and `{key}_zh` for Chinese ("第 7 行", "In[2] 的第 7 行")."""
    line, cause = where
    if cause is None:
        return {key: line, f"{key}_zh": f"第 {line} 行"}
    label = ctx.evidence.user.label(cause.filename)
    return {key: line_text(ctx, where), f"{key}_zh": f"{label} 的第 {cause.line} 行"}


def find_statement(ctx: Context, test: Callable[[CellCode, ast.stmt], bool]) -> tuple[int | None, Site | None] | None:
    """The last statement of this cell that passes `test`, else the last one in the most
    recent earlier cell that has one."""
    found = [s for s in ctx.code.statements if test(ctx.code, s)]
    if found:
        return max(s.lineno for s in found), None
    cells = getattr(ctx.evidence.user, "_cells", {})
    for filename, _ in sorted(cells.items(), key=lambda kv: -kv[1])[:50]:
        if filename == ctx.filename:
            continue
        code = code_of(filename)
        found = [s for s in code.statements if test(code, s)]
        if found:
            line = max(s.lineno for s in found)
            return ctx.line, Site(filename, line, "<module>")
    return None


def _dtype_name(dtype: Any) -> str:
    return str(dtype).replace("torch.", "")


def _pretty(value: Any) -> str:
    return ", ".join(str(v) for v in value) if isinstance(value, (list, tuple)) else str(value)


# ---------------------------------------------------------------------------------------
# what the optimizer is given

def _param_group(ctx: Context) -> dict | None:
    group = torch_local(ctx, "add_param_group", "param_group", "torch/optim/")
    return group if isinstance(group, dict) else None


@matcher
def optimizer_non_leaf(ctx: Context) -> Match | None:
    """A computed tensor given to an optimizer: the line that computed it (`* 0.01` after
    `requires_grad=True`, `.cuda()` / `.to()` after it)."""
    if not pattern_hits(ctx, "optimizer-non-leaf"):
        return None
    group = _param_group(ctx) or {}
    bad = next((p for p in group.get("params", []) if is_tensor(p) and not (p.is_leaf or p.retains_grad)), None)
    line, cause = failing_place(ctx)
    if bad is None:
        return Match("optimizer-non-leaf", 0.9, line=line, cause=cause)
    record = ctx.record(bad)
    name = name_of(ctx, bad) or (name_for(ctx, record) if record is not None else "")
    op = type(bad.grad_fn).__name__ if bad.grad_fn is not None else ""
    facts: dict[str, Any] = {"name": name or "the tensor", "grad_fn": op, "shape": str(tuple(bad.shape))}
    if record is not None and record.op:
        facts["op"] = record.op
        moved = record.op in ("to", "cuda", "cpu", "float", "double", "half", "bfloat16", "type", "mps")
        where = place(ctx, [record])
        if where is not None:
            facts.update(place_facts(ctx, where, "made"))
            related = [ctx.line] if ctx.line and ctx.line != where[0] else []
            return Match("optimizer-non-leaf", 0.9, line=where[0], related_lines=related, facts=facts,
                         detail="moved" if moved else "computed", cause=where[1])
    if name:
        match = origin_match(ctx, "optimizer-non-leaf", name, ctx.line, 0.9, facts, "computed_here")
        if match is not None:
            return match
    return Match("optimizer-non-leaf", 0.9, line=line, facts=facts, detail="computed_here", cause=cause)


def _optimizer_call(ctx: Context, frame: CellFrame | None) -> ast.Call | None:
    """The call on the failing line that builds an optimizer."""
    if frame is None:
        return None
    torch = torch_module()
    for call in frame.code.calls_on_line(frame.line):
        cls = ctx.value(dotted(call.func) or "", frame) if dotted(call.func) else None
        if isinstance(cls, type) and issubclass(cls, torch.optim.Optimizer):
            return call
    return None


def _plain_containers(module: Any) -> Iterator[tuple[Any, str, str]]:
    """(owner, attribute, kind) for the layers or trainable tensors a module (or one of its
    submodules) keeps where nn.Module does not look: a Python list/dict/tuple of modules, or
    a plain tensor attribute."""
    for owner in module.modules():
        for attr, value in vars(owner).items():
            if attr.startswith("_"):
                continue
            items = list(value.values()) if isinstance(value, dict) else list(value) \
                if isinstance(value, (list, tuple)) else None
            if items is not None and any(is_module(v) for v in items):
                yield owner, attr, "container"
            elif is_tensor(value) and value.is_floating_point():
                yield owner, attr, "tensor"


def _freezes(code: CellCode, stmt: ast.stmt) -> bool:
    """Whether a statement turns gradients off: `p.requires_grad = False`, `.requires_grad_(False)`."""
    if isinstance(stmt, ast.Assign):
        return any(isinstance(t, ast.Attribute) and t.attr == "requires_grad" for t in stmt.targets)
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
        return call_name(stmt.value) == "requires_grad_"
    return False


def _modules_named(ctx: Context, frame: CellFrame, expr: ast.AST | None) -> list[tuple[str, Any]]:
    """The modules an expression names (`model` in `model.parameters()`); for a plain name,
    also those named where the cell assigned it (`trainable = filter(..., model.parameters())`)."""
    if expr is None:
        return []
    exprs = [expr]
    if isinstance(expr, ast.Name):
        binding = frame.code.origin(expr.id, frame.line)
        if binding is not None and getattr(binding.node, "value", None) is not None:
            exprs.append(binding.node.value)
    found = []
    for node in (n for e in exprs for n in ast.walk(e)):
        name = dotted(node) if isinstance(node, (ast.Name, ast.Attribute)) else None
        module = ctx.value(name, frame) if name else None
        if is_module(module) and all(module is not m for _, m in found):
            found.append((name, module))
    return found


@matcher
def optimizer_empty(ctx: Context) -> Match | None:
    """An optimizer given no parameters: layers in a plain list, trainable tensors that are not
    `nn.Parameter`, a `.parameters()` generator used up earlier, or every parameter frozen."""
    if not pattern_hits(ctx, "optimizer-empty-params"):
        return None
    frame = ctx.innermost
    line, cause = failing_place(ctx)
    call = _optimizer_call(ctx, frame)
    arg = (call.args[0] if call.args else next((k.value for k in call.keywords if k.arg == "params"), None)) \
        if call is not None else None
    if frame is None or arg is None:
        return Match("optimizer-empty-params", 0.85, line=line, cause=cause)
    modules = _modules_named(ctx, frame, arg)
    facts: dict[str, Any] = {}
    if isinstance(arg, ast.Name) and inspect.isgenerator(ctx.value(arg.id, frame)) \
            and any(next(m.parameters(), None) is not None for _, m in modules):
        facts["name"] = arg.id  # the module has parameters: the generator was read before
        return origin_match(ctx, "optimizer-empty-params", arg.id, frame.line, 0.9, facts, "exhausted",
                            frame=frame) or Match("optimizer-empty-params", 0.9, line=line, facts=facts,
                                                  detail="exhausted", cause=cause)
    for name, module in modules:
        facts["name"] = name
        params = list(module.parameters())
        if params and not any(p.requires_grad for p in params):
            facts["count"] = len(params)
            where = find_statement(ctx, _freezes) or (line, cause)
            related = [line] if line and line != where[0] else []
            return Match("optimizer-empty-params", 0.9, line=where[0], related_lines=related, facts=facts,
                         detail="frozen", cause=where[1])
        for owner, attr, kind in _plain_containers(module):
            source = class_source(ctx, type(owner))
            facts.update(attr=attr, cls=type(owner).__name__)
            if source is None:
                return Match("optimizer-empty-params", 0.9, line=line, facts=facts, detail=kind, cause=cause)
            filename, _, node = source
            stmt = self_assignment(node, attr)
            where = at(ctx, filename, stmt.lineno if stmt is not None else node.lineno, "__init__")
            return Match("optimizer-empty-params", 0.9, line=where[0], related_lines=[line] if line != where[0] else [],
                         facts=facts, detail=kind, cause=where[1])
        if not params:
            facts["cls"] = type(module).__name__
            return Match("optimizer-empty-params", 0.9, line=line, facts=facts, detail="no_parameters", cause=cause)
    return Match("optimizer-empty-params", 0.85, line=line, cause=cause)


def _holders(ctx: Context, ids: set[int]) -> list[tuple[str, Any]]:
    """The user's lists/tuples that hold any of the objects with these ids, largest first."""
    found = list(named(ctx, lambda v: isinstance(v, (list, tuple)) and any(id(x) in ids for x in v)))
    return sorted(found, key=lambda nv: -len(nv[1]))


@matcher
def optimizer_params_type(ctx: Context) -> Match | None:
    """Something that is not a tensor among an optimizer's parameters (a generator from
    `.parameters()` inside a list, a module, a number): where that collection was built."""
    if not pattern_hits(ctx, "optimizer-params-type"):
        return None
    line, cause = failing_place(ctx)
    group = _param_group(ctx) or {}
    bad = next((p for p in group.get("params", []) if not is_tensor(p)), None)
    facts: dict[str, Any] = {}
    m = re.search(r"but (?:one of the params is|got) ([\w.]+)", ctx.message)
    if m:
        facts["type"] = m.group(1)
    if bad is not None:
        facts["type"] = type(bad).__name__ if not inspect.isgenerator(bad) else "generator"
        holders = _holders(ctx, {id(bad)})
        if holders:
            facts["name"] = holders[0][0]
            match = origin_match(ctx, "optimizer-params-type", holders[0][0], ctx.line, 0.9, facts, "holder")
            if match is not None:
                return match
    return Match("optimizer-params-type", 0.9, line=line, facts=facts, detail="type" if "type" in facts else "",
                 cause=cause)


def _parameter_name(ctx: Context, ids: set[int]) -> str:
    for name, module in named(ctx, is_module):
        for pname, p in module.named_parameters():
            if id(p) in ids:
                return f"{name}.{pname}"
    return ""


@matcher
def optimizer_duplicate(ctx: Context) -> Match | None:
    """The same parameter in two parameter groups: the list that should have left it out."""
    if not pattern_hits(ctx, "optimizer-duplicate-params"):
        return None
    line, cause = failing_place(ctx)
    new = _param_group(ctx) or {}
    optimizer = torch_local(ctx, "add_param_group", "self", "torch/optim/")
    earlier = {id(p) for g in getattr(optimizer, "param_groups", []) for p in g.get("params", [])}
    shared = {id(p) for p in new.get("params", [])} & earlier
    if not shared:
        return Match("optimizer-duplicate-params", 0.9, line=line, cause=cause)
    facts: dict[str, Any] = {"count": len(shared), "param": _parameter_name(ctx, shared) or "a parameter"}
    holders = _holders(ctx, shared)
    if len(holders) >= 2:
        facts.update(name=holders[0][0], other=holders[1][0])
        match = origin_match(ctx, "optimizer-duplicate-params", holders[0][0], ctx.line, 0.9, facts, "overlap")
        if match is not None:
            return match
    if holders:
        facts["name"] = holders[0][0]
        match = origin_match(ctx, "optimizer-duplicate-params", holders[0][0], ctx.line, 0.9, facts, "one")
        if match is not None:
            return match
    groups = getattr(optimizer, "param_groups", [])
    index = next((i for i, g in enumerate(groups) if {id(p) for p in g.get("params", [])} & shared), None)
    if index is not None:
        sizes = {index: len(groups[index]["params"]), len(groups): len(new.get("params", []))}
        wider = max(sizes, key=lambda i: sizes[i])
        facts.update(group=wider, other_group=min(sizes, key=lambda i: sizes[i]), size=sizes[wider])
        node = _group_node(ctx, wider)
        if node is not None:
            where = at(ctx, ctx.innermost.filename, node.lineno, ctx.innermost.function)
            return Match("optimizer-duplicate-params", 0.9, line=where[0], facts=facts, detail="groups",
                         cause=where[1])
        return Match("optimizer-duplicate-params", 0.9, line=line, facts=facts, detail="groups", cause=cause)
    return Match("optimizer-duplicate-params", 0.9, line=line, facts=facts, detail="shared", cause=cause)


def _group_node(ctx: Context, index: int) -> ast.AST | None:
    """The `index`-th parameter group written out in the optimizer call on the failing line."""
    call = _optimizer_call(ctx, ctx.innermost)
    groups = call.args[0] if call is not None and call.args else None
    if not isinstance(groups, (ast.List, ast.Tuple)) or any(isinstance(e, ast.Starred) for e in groups.elts):
        return None
    return groups.elts[index] if index < len(groups.elts) else None


# ---------------------------------------------------------------------------------------
# schedulers

@matcher
def scheduler_total_steps(ctx: Context) -> Match | None:
    """OneCycleLR stepped past its total: where it was built, with the loader's real length."""
    if not pattern_hits(ctx, "scheduler-total-steps"):
        return None
    line, cause = failing_place(ctx)
    m = re.search(r"Tried to step (\d+) times?\. The specified number of total steps is (\d+)", ctx.message)
    facts: dict[str, Any] = {"steps": m.group(1), "total": m.group(2)} if m else {}
    scheduler = torch_local(ctx, "step", "self", "torch/optim/lr_scheduler")
    name = name_of(ctx, scheduler) if scheduler is not None else ""
    if not name:
        return Match("scheduler-total-steps", 0.9, line=line, facts=facts, cause=cause)
    facts["name"] = name
    detail = "steps"
    frame = ctx.innermost
    stmt = frame.code.statement_at(frame.line) if frame is not None else None
    torch = torch_module()
    for loop in frame.code.loops_around(stmt) if stmt is not None else []:
        if not isinstance(loop, ast.For):
            continue
        for loader_name in [dotted(n) for n in ast.walk(loop.iter)]:
            loader = ctx.value(loader_name, frame) if loader_name else None
            if isinstance(loader, torch.utils.data.DataLoader):
                try:
                    facts.update(loader=loader_name, batches=len(loader))
                    detail = "loader"
                except TypeError:
                    pass
                break
        if detail == "loader":
            break
    binding = ctx.code.origin(name, ctx.line or len(ctx.code.lines))
    if binding is not None and isinstance(getattr(binding.node, "value", None), ast.Call):
        for kw in binding.node.value.keywords:
            if kw.arg == "steps_per_epoch":
                facts["per_epoch"] = ast.get_source_segment(ctx.code.source, kw.value) or ""
    if detail == "loader" and not facts.get("per_epoch"):
        detail = "loader_total"
    return origin_match(ctx, "scheduler-total-steps", name, ctx.line, 0.9, facts, detail) or \
        Match("scheduler-total-steps", 0.9, line=line, facts=facts, detail=detail, cause=cause)


# ---------------------------------------------------------------------------------------
# mixed precision

_LOW = ("float16", "bfloat16")
_MESSAGE_DTYPES = {"half": "float16", "c10::half": "float16", "bfloat16": "bfloat16", "c10::bfloat16": "bfloat16",
                   "float": "float32", "torch.halftensor": "float16", "torch.cuda.halftensor": "float16",
                   "torch.floattensor": "float32", "torch.cuda.floattensor": "float32",
                   "torch.bfloat16tensor": "bfloat16", "torch.cuda.bfloat16tensor": "bfloat16"}


def _message_dtypes(message: str) -> set[str]:
    words = re.findall(r"(?:got|type|found|for the (?:destination|source)|and)\s*\(?([\w.:]+)\)?", message)
    words += re.findall(r"\b(Half|BFloat16|Float)\b", message)
    return {_MESSAGE_DTYPES[w.lower()] for w in words if w.lower() in _MESSAGE_DTYPES}


def _line_dtypes(ctx: Context, frame: CellFrame | None) -> list[tuple[str, str]]:
    """(name, dtype) for the floating tensors and the modules' weights named on the frame's line."""
    out = []
    if frame is None:
        return out
    for name in frame.code.read_at(frame.line):
        value = ctx.value(name, frame)
        if is_tensor(value) and value.is_floating_point():
            out.append((name, _dtype_name(value.dtype)))
        elif is_module(value):
            named_p = next(value.named_parameters(), None)
            if named_p is not None and named_p[1].is_floating_point():
                out.append((f"{name}.{named_p[0]}", _dtype_name(named_p[1].dtype)))
    return out


@matcher
def half_float_mix(ctx: Context) -> Match | None:
    """float16/bfloat16 meeting float32 in one operation: where they meet is where to cast (or
    what to run under autocast). Ranks ahead of the general dtype mismatch."""
    named_here = pattern_hits(ctx, "half-float-mix")
    if not (named_here or pattern_hits(ctx, "dtype-mismatch")):
        return None
    if re.search(r"\b(?:Long|Int|Short|Char|Byte|Bool)\b", ctx.message):
        return None  # an integer tensor among them: not a question of precision
    frame = ctx.innermost
    found = _line_dtypes(ctx, frame)
    dtypes = {d for _, d in found} | _message_dtypes(ctx.message)
    low = [d for d in dtypes if d in _LOW]
    if not low or "float32" not in dtypes or "float64" in dtypes:
        return None
    facts: dict[str, Any] = {"low": low[0]}
    lows = [(n, d) for n, d in found if d in _LOW]
    highs = [(n, d) for n, d in found if d == "float32"]
    detail = "dtypes_only"
    if lows and highs:
        facts.update(name=lows[0][0], dtype=lows[0][1], other=highs[0][0], other_dtype=highs[0][1])
        detail = "names"
    written = _written(ctx, frame)
    if written is not None and "for the destination" in ctx.message:
        name, dtype = written
        other = next(iter(dtypes - {dtype}), "")
        if other:
            facts.update(name=name, dtype=dtype, other_dtype=other)
            detail = "write"
    line, cause = failing_place(ctx)
    return Match("half-float-mix", 0.95 if named_here or detail == "names" else 0.92, line=line, facts=facts,
                 detail=detail, cause=cause)


def _written(ctx: Context, frame: CellFrame | None) -> tuple[str, str] | None:
    """(name, dtype) of the tensor an indexed assignment on the frame's line writes into."""
    stmt = frame.code.statement_at(frame.line) if frame is not None else None
    targets = stmt.targets if isinstance(stmt, ast.Assign) else \
        [stmt.target] if isinstance(stmt, ast.AugAssign) else []
    for target in targets:
        name = dotted(target.value) if isinstance(target, ast.Subscript) else None
        value = ctx.value(name, frame) if name else None
        if is_tensor(value):
            return name, _dtype_name(value.dtype)
    return None


def _is_half_call(code: CellCode, call: ast.Call) -> bool:
    name = call_name(call)
    if name == "half":
        return True
    if name in ("to", "type"):
        text = " ".join(code.line_text(n).strip() for n in range(call.lineno, (call.end_lineno or call.lineno) + 1))
        return bool(re.search(r"float16|\.half\b|HalfTensor", text))
    return False


@matcher
def scaler_fp16_params(ctx: Context) -> Match | None:
    """GradScaler given an optimizer over float16 parameters: the line that made the model half."""
    if not pattern_hits(ctx, "gradscaler-fp16-params"):
        return None
    line, cause = failing_place(ctx)
    optimizer = torch_local(ctx, "unscale_", "optimizer", "torch/amp/")
    torch = torch_module()
    ids = {id(p) for g in getattr(optimizer, "param_groups", []) for p in g.get("params", [])
           if is_tensor(p) and p.dtype == torch.float16}
    facts: dict[str, Any] = {"count": len(ids)}
    model = next((n for n, m in named(ctx, is_module) if any(id(p) in ids for p in m.parameters())), "")
    if not model:
        return Match("gradscaler-fp16-params", 0.9, line=line, facts=facts, detail="count" if ids else "",
                     cause=cause)
    facts["name"] = model

    def makes_half(code: CellCode, stmt: ast.stmt) -> bool:
        if isinstance(stmt, (ast.For, ast.While, ast.If, ast.With, ast.FunctionDef, ast.ClassDef)):
            return False
        for call in (n for n in ast.walk(stmt) if isinstance(n, ast.Call)):
            receiver = dotted(call.func.value) if isinstance(call.func, ast.Attribute) else None
            targets = [dotted(t) for t in getattr(stmt, "targets", [])]
            if _is_half_call(code, call) and (receiver and receiver.split(".")[0] == model or model in targets):
                return True
        return False

    where = find_statement(ctx, makes_half)
    if where is None:
        return Match("gradscaler-fp16-params", 0.9, line=line, facts=facts, detail="model", cause=cause)
    return Match("gradscaler-fp16-params", 0.9, line=where[0], related_lines=[line] if line != where[0] else [],
                 facts=facts, detail="model", cause=where[1])


@matcher
def scaler_unscale_twice(ctx: Context) -> Match | None:
    """`unscale_()`/`step()` twice between two `update()`s: the `continue` that skips the
    update, the loop without one, or the second call."""
    if not pattern_hits(ctx, "gradscaler-unscale-twice"):
        return None
    line, cause = failing_place(ctx)
    frame = ctx.innermost
    if frame is None:
        return Match("gradscaler-unscale-twice", 0.9, line=line, cause=cause)
    code = frame.code
    stmt = code.statement_at(frame.line)
    calls = [c for c in code.calls_on_line(frame.line) if call_name(c) in ("unscale_", "step")
             and isinstance(c.func, ast.Attribute)]
    scaler = dotted(calls[0].func.value) if calls else None
    facts: dict[str, Any] = {"scaler": scaler or "scaler", "call": call_name(calls[0]) if calls else "unscale_"}
    loops = code.loops_around(stmt) if stmt is not None else []
    if not loops:
        return Match("gradscaler-unscale-twice", 0.9, line=line, facts=facts, detail="twice", cause=cause)
    loop = loops[0]
    body = [n for s in loop.body for n in _walk_loop_body(s)]
    updates = [n for n in body if isinstance(n, ast.Call) and call_name(n) == "update"
               and isinstance(n.func, ast.Attribute) and dotted(n.func.value) == scaler]
    if not updates:
        steps = [n for n in body if isinstance(n, ast.Call) and call_name(n) == "step"
                 and isinstance(n.func, ast.Attribute) and dotted(n.func.value) == scaler]
        target = steps[-1].lineno if steps else frame.line
        where = at(ctx, frame.filename, target, frame.function)
        return Match("gradscaler-unscale-twice", 0.9, line=where[0], facts=facts, detail="no_update", cause=where[1])
    update = updates[0].lineno
    facts.update(place_facts(ctx, at(ctx, frame.filename, update, frame.function), "update"))
    skips = [n for n in body if isinstance(n, ast.Continue) and frame.line < n.lineno < update]
    if skips:
        where = at(ctx, frame.filename, skips[0].lineno, frame.function)
        facts.update(place_facts(ctx, where, "skip"))
        related = [line] if line and line != where[0] else []
        return Match("gradscaler-unscale-twice", 0.9, line=where[0], related_lines=related, facts=facts,
                     detail="skipped", cause=where[1])
    return Match("gradscaler-unscale-twice", 0.9, line=line, facts=facts, detail="twice", cause=cause)


def _walk_loop_body(node: ast.AST) -> Iterator[ast.AST]:
    """The nodes of a loop's body, without those of loops (and functions) nested in it: a
    `continue` there belongs to the inner loop."""
    yield node
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.For, ast.While, ast.AsyncFor, ast.FunctionDef, ast.Lambda)):
            continue
        yield from _walk_loop_body(child)


# ---------------------------------------------------------------------------------------
# checkpoint files

def _size_text(size: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return str(size)


_NOT_A_PICKLE = r"Unsupported operand|invalid load key|unpickling stack underflow|pickle data was truncated"


def _file_head(target: Any) -> tuple[str, int, bytes] | None:
    """(path, size, first bytes) of the file `torch.load` was given by name, or None."""
    import os

    if not isinstance(target, (str, os.PathLike)):
        return None
    path = os.fspath(target)
    try:
        with open(path, "rb") as fh:
            return path, os.path.getsize(path), fh.read(64)
    except OSError:
        return None


@matcher
def checkpoint_corrupt(ctx: Context) -> Match | None:
    """`torch.load` of a file that is not a whole checkpoint: cut off, empty, a Git LFS
    pointer or an HTML page saved in its place. The file's first bytes say which; they also
    tell such a file from a real checkpoint that the weights-only unpickler refuses."""
    import pickle

    named = pattern_hits(ctx, "checkpoint-corrupt")
    unpickled = raised_in(ctx, "torch/serialization.py") and (
        isinstance(ctx.exc, EOFError) or isinstance(ctx.exc, pickle.UnpicklingError)
        and re.search(_NOT_A_PICKLE, ctx.message) is not None)
    if not (named or unpickled):
        return None
    line, cause = failing_place(ctx)
    head = _file_head(torch_local(ctx, "load", "f", "torch/serialization.py"))
    facts: dict[str, Any] = {}
    detail = ""
    if head is not None:
        path, size, first = head
        facts.update(path=path, size=_size_text(size))
        if size == 0:
            detail = "empty"
        elif first.startswith(b"version https://git-lfs"):
            detail = "lfs"
        elif first.lstrip()[:1] == b"<":
            detail = "html"
        elif first.startswith((b"PK", b"\x80")):  # a zip archive or a pickle, as checkpoints are
            if not (named or isinstance(ctx.exc, EOFError)):
                return None  # a whole checkpoint that the weights-only unpickler refuses
            detail = "truncated"
        else:
            detail = "other"
            facts["start"] = first[:24].decode("latin-1").replace("`", "'").split("\n")[0]
    elif not named and not isinstance(ctx.exc, EOFError):
        return None
    return Match("checkpoint-corrupt", 0.9, line=line, facts=facts, detail=detail, cause=cause)


_MODULE_METHODS = {"eval", "train", "to", "cuda", "cpu", "forward", "parameters", "named_parameters", "predict",
                   "modules", "children", "half", "float", "zero_grad", "state_dict", "load_state_dict", "apply"}


def _state_kind(value: Any) -> str:
    """'weights' for a state_dict, 'checkpoint' for a dict that holds one, else ''. A dict of
    tensors counts as weights only with parameter-like names (`fc.weight`, `0.bias`): a
    batch such as `{'input_ids': ..., 'attention_mask': ...}` is not a state_dict."""
    if not isinstance(value, Mapping) or not value:
        return ""
    if all(is_tensor(v) for v in value.values()):
        names = [str(k) for k in value]
        if any("." in k or k.endswith(("weight", "bias", "running_mean")) for k in names):
            return "weights"
        return ""
    keys = {str(k) for k in value}
    if keys & {"state_dict", "model", "model_state_dict", "net", "optimizer", "epoch", "model_state"}:
        return "checkpoint"
    return ""


@matcher
def state_dict_as_model(ctx: Context) -> Match | None:
    """A loaded state_dict (or training checkpoint) used as if it were the model: the line
    that loaded it is where to build the model and call `load_state_dict`."""
    m = re.search(r"'(?:collections\.)?(OrderedDict|dict)' object (?:has no attribute '(\w+)'|is not callable)",
                  ctx.message)
    if m is None or m.group(2) and m.group(2) not in _MODULE_METHODS:
        return None
    hit = pattern_hits(ctx, "state-dict-as-model")
    frame = ctx.innermost
    line, cause = failing_place(ctx)
    for name in frame.code.read_at(frame.line) if frame is not None else []:
        root = name.split(".")[0]
        value = ctx.value(root, frame)
        kind = _state_kind(value)
        if not kind:
            continue
        keys = list(value)
        facts = {"name": root, "count": len(keys), "key": keys[0], "keys": ", ".join(f"`{k}`" for k in keys[:6])}
        inner = next((k for k, v in value.items() if _state_kind(v) == "weights"), None)
        if kind == "checkpoint" and inner is not None:
            facts["weights_key"] = repr(inner)
            kind = "checkpoint_weights"
        return origin_match(ctx, "state-dict-as-model", root, frame.line, 0.9, facts, kind, frame=frame) or \
            Match("state-dict-as-model", 0.9, line=line, facts=facts, detail=kind, cause=cause)
    return Match("state-dict-as-model", 0.8, line=line, cause=cause) if hit else None


@matcher
def state_dict_size(ctx: Context) -> Match | None:
    """A checkpoint whose tensor shapes differ from the model's (a head for another number of
    classes): name the key and both shapes."""
    m = re.search(r"size mismatch for ([\w.]+): copying a param with shape torch\.Size\(\[([^\]]*)\]\) from "
                  r"checkpoint, the shape in current model is torch\.Size\(\[([^\]]*)\]\)", ctx.message)
    if m is None:
        return None
    line, cause = failing_place(ctx)
    count = len(re.findall(r"size mismatch for ", ctx.message))
    facts = {"key": m.group(1), "saved_shape": f"({m.group(2)})", "model_shape": f"({m.group(3)})", "count": count}
    return Match("state-dict-keys", 0.85, line=line, facts=facts, detail="size", cause=cause)


# ---------------------------------------------------------------------------------------
# distributed training

_NEEDS_GROUP = ("DistributedSampler", "DistributedDataParallel", "SyncBatchNorm", "get_rank", "get_world_size",
                "barrier", "all_reduce", "all_gather", "broadcast", "reduce", "new_group", "destroy_process_group")


@matcher
def distributed_not_initialized(ctx: Context) -> Match | None:
    """A torch.distributed API used before `init_process_group`: name the API."""
    if not pattern_hits(ctx, "distributed-not-initialized"):
        return None
    line, cause = failing_place(ctx)
    frame = ctx.innermost
    calls = [call_name(c) for c in frame.code.calls_on_line(frame.line)] if frame is not None else []
    api = next((c for c in calls if c in _NEEDS_GROUP), calls[0] if calls else "")
    facts = {"api": api} if api else {}
    return Match("distributed-not-initialized", 0.9, line=line, facts=facts, detail="api" if api else "",
                 cause=cause)
