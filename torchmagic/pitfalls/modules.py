"""Module and training pitfalls: layers the module does not register, train/eval mode,
evaluation that keeps graphs, dropout and softmax misuse, BatchNorm statistics and batches of
one, optimizers that miss parameters or hold state elsewhere, checkpoint keys."""
from __future__ import annotations

import ast
import re
from typing import Any, Callable, Iterable, Iterator

from ..diagnosis import Match
from ..diagnose.locate import code_of
from ..evidence.queries import ancestors
from ..source.cell import Cell, MISSING, ModRef, _LOOPS, _torch, arg_at, is_false, is_module, is_tensor, kwarg, walk_body
from ..source.cellcode import call_name, dotted, loaded_names
from .helpers import (_forward_calls, _short, _softmax_origin, building_line, last_use, looped_loaders, module_site, names_of, object_place, origin_match,
                      pattern_hits, reached_by_backward, run_line)
from .registry import Context, Hit, audit, matcher, monitor, rule


def _ce_like(name: str) -> bool:
    return name in ("cross_entropy", "CrossEntropyLoss")


_EVAL_FUNC = re.compile(r"(?i)(^|_)(eval\w*|test\w*|valid\w*|val|predict\w*|infer\w*|score|accuracy)($|_)")


def _eval_words(text: str) -> bool:
    """Whether code text names validation/test data ('val_loader', 'test_batches', ...)."""
    for tok in re.split(r"[^A-Za-z]+", text.lower()):
        if tok in ("val", "dev", "valset", "devset", "testset", "testloader", "valloader", "evalset") \
                or tok.startswith(("valid", "test", "eval")):
            return True
    return False


def _norm_layers(module: Any) -> list[str]:
    """Names of Dropout/BatchNorm layer types inside a live module."""
    torch = _torch()
    kinds = (torch.nn.modules.dropout._DropoutNd, torch.nn.modules.batchnorm._BatchNorm)
    found: list[str] = []
    try:
        for sub in module.modules():
            if isinstance(sub, kinds) and type(sub).__name__ not in found:
                found.append(type(sub).__name__)
    except Exception:
        return []
    return found


def _static_norm_layers(cell: Cell, cls: Any, ctor: ast.AST | None) -> list[str]:
    """Dropout/BatchNorm layers a module built in the cell contains, read from the code."""
    found: list[str] = []
    nodes: list[ast.AST] = []
    if ctor is not None:
        nodes.append(ctor)
    if isinstance(cls, ast.ClassDef):
        nodes.append(cls)
    for root in nodes:
        for call in ast.walk(root):
            if isinstance(call, ast.Call):
                c = cell.ctor_class(call, cell.scope_of(call))
                if isinstance(c, type):
                    name = c.__name__
                    torch = _torch()
                    if issubclass(c, (torch.nn.modules.dropout._DropoutNd, torch.nn.modules.batchnorm._BatchNorm)) \
                            and name not in found:
                        found.append(name)
    return found


def _model_layers(cell: Cell, ref: ModRef, scope: ast.AST, line: int) -> list[str]:
    if ref.obj is not None:
        return _norm_layers(ref.obj)
    ctor = None
    if ref.key.startswith("name:"):
        b = cell.binding(ref.key[5:], scope, line)
        ctor = b.value if b is not None else None
    return _static_norm_layers(cell, ref.cls, ctor)


def _loops(cell: Cell) -> list[ast.AST]:
    return [n for n in cell.nodes if isinstance(n, _LOOPS)]


def _classes(cell: Cell) -> list[ast.ClassDef]:
    return [n for n in cell.nodes if isinstance(n, ast.ClassDef)]


def _walked_calls(cell: Cell) -> list[ast.Call]:
    """The cell's calls in the order of `cell.nodes` (outer calls before the calls in their arguments)."""
    return [n for n in cell.nodes if isinstance(n, ast.Call)]


def _cell_mode_calls(cell: Cell) -> list[tuple[ast.Call, str]]:
    return _mode_calls(cell, cell.nodes)


def _same_module(cell: Cell, recv: ast.AST, ref: ModRef, scope: ast.AST) -> bool:
    """Whether a mode call's receiver is (or contains, or is part of) the module `ref`."""
    value = cell.resolve(recv, scope)
    if value is not MISSING and ref.obj is not None:
        if value is ref.obj:
            return True
        try:
            return any(m is ref.obj for m in value.modules()) or any(m is value for m in ref.obj.modules())
        except Exception:
            return False
    return (dotted(recv) or cell.text(recv)) == ref.label


def _mode_calls(cell: Cell, nodes: Iterable[ast.AST]) -> list[tuple[ast.Call, str]]:
    """(call, 'eval' | 'train') for `m.eval()`, `m.train()`, `m.train(False)` among nodes."""
    out = []
    for n in nodes:
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute):
            if n.func.attr == "eval" and not n.args and not n.keywords:
                out.append((n, "eval"))
            elif n.func.attr == "train" and len(n.args) + len(n.keywords) <= 1:
                mode = arg_at(n, 0, "mode")
                out.append((n, "eval" if is_false(mode) else "train"))
    return out


def _containers(cell: Cell, cls: ast.ClassDef) -> Iterator[tuple[str, ast.stmt, str]]:
    """(attribute, assignment, container kind) for `self.x = []`/`{}` in a class's methods."""
    for node in ast.walk(cls):
        if not isinstance(node, (ast.Assign, ast.AnnAssign)) or node.value is None:
            continue
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        for t in targets:
            if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id == "self":
                v = node.value
                kind = ""
                if isinstance(v, (ast.List, ast.ListComp, ast.Tuple)):
                    kind = "list"
                elif isinstance(v, (ast.Dict, ast.DictComp)):
                    kind = "dict"
                elif isinstance(v, ast.Call) and isinstance(v.func, ast.Name) and v.func.id in ("list", "dict", "tuple"):
                    kind = "dict" if v.func.id == "dict" else "list"
                if kind:
                    yield t.attr, node, kind


def _builds_module(cell: Cell, expr: ast.AST, scope: ast.AST) -> str:
    """'module' / 'parameter' when `expr` constructs a layer or an nn.Parameter, else ''."""
    if isinstance(expr, ast.Name):
        b = cell.binding(expr.id, scope, expr.lineno)
        if b is not None and b.kind == "assign" and b.index is None and isinstance(b.value, ast.Call):
            expr = b.value
    if not isinstance(expr, ast.Call):
        return ""
    cls = cell.ctor_class(expr, scope)
    if cls is None:
        return ""
    if isinstance(cls, type):
        torch = _torch()
        if issubclass(cls, torch.nn.Parameter):
            return "parameter"
    return "module" if cell.is_module_class(cls) else ""


@rule
def rule_unregistered_submodule(cell: Cell) -> Iterator[Hit]:
    """Layers kept in a plain list/dict attribute of an nn.Module defined in the cell."""
    for cls in cell.once(_classes):
        if not cell.is_module_class(cls):
            continue
        registers = any(isinstance(n, ast.Call) and cell._call_last(n) in
                        ("add_module", "register_module", "register_parameter", "setattr")
                        for n in ast.walk(cls))
        if registers:
            continue
        for attr, stmt, kind in _containers(cell, cls):
            label = f"self.{attr}"
            wrapped = False
            builds = ""
            for node in ast.walk(cls):
                scope = cell.scope_of(node)
                if isinstance(node, (ast.Assign, ast.AnnAssign)) and node is not stmt and node.value is not None:
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                    if any(cell.text(t) == label for t in targets) and isinstance(node.value, ast.Call):
                        wrapped = True  # e.g. self.x = nn.ModuleList(self.x)
                if isinstance(node, ast.Call):
                    cls_called = cell.ctor_class(node, scope)
                    if cls_called is not None and cell.is_module_class(cls_called) \
                            and any(label == cell.text(a.value if isinstance(a, ast.Starred) else a) for a in node.args):
                        wrapped = True  # nn.Sequential(*self.x) registers the same layers elsewhere
                    f = node.func
                    if isinstance(f, ast.Attribute) and cell.text(f.value) == label and f.attr in ("append", "extend", "insert"):
                        for a in node.args:
                            items = a.elts if isinstance(a, (ast.List, ast.Tuple)) else [a]
                            for item in items:
                                builds = builds or _builds_module(cell, item, scope)
                if isinstance(node, (ast.Assign, ast.AugAssign)):
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                    for t in targets:
                        if isinstance(t, ast.Subscript) and cell.text(t.value) == label:
                            builds = builds or _builds_module(cell, node.value, scope)
                        if isinstance(node, ast.AugAssign) and cell.text(t) == label \
                                and isinstance(node.value, (ast.List, ast.Tuple)):
                            for item in node.value.elts:
                                builds = builds or _builds_module(cell, item, scope)
            v = stmt.value
            scope = cell.scope_of(stmt)
            elements: list[ast.AST] = []
            if isinstance(v, (ast.List, ast.Tuple)):
                elements = list(v.elts)
            elif isinstance(v, ast.ListComp):
                elements = [v.elt]
            elif isinstance(v, ast.Dict):
                elements = [x for x in v.values if x is not None]
            elif isinstance(v, ast.DictComp):
                elements = [v.value]
            for e in elements:
                builds = builds or _builds_module(cell, e, scope)
            if wrapped or not builds:
                continue
            if builds == "parameter":
                other = "ParameterDict" if kind == "dict" else "ParameterList"
            else:
                other = "ModuleDict" if kind == "dict" else "ModuleList"
            yield Hit("unregistered-submodule", stmt.lineno, label, other)


@rule
def rule_functional_dropout(cell: Cell) -> Iterator[Hit]:
    """`F.dropout(x, p)` in a module's method without `training=self.training`."""
    for call in cell.calls:
        cls = cell.class_of(call)
        if cls is None or not cell.is_module_class(cls):
            continue
        name = cell.torch_func(call, cell.scope_of(call))
        if name not in ("dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout", "feature_alpha_dropout"):
            continue
        if not cell.path_of(call.func, cell.scope_of(call)).startswith("torch.nn.functional"):
            continue
        if kwarg(call, "training") is not None or len(call.args) >= 3:
            continue
        yield Hit("functional-dropout-training", call.lineno, _short(cell, call), "training=self.training")


@rule
def rule_softmax_before_ce(cell: Cell) -> Iterator[Hit]:
    """softmax/log_softmax output fed to cross_entropy / nn.CrossEntropyLoss."""
    for call in cell.calls:
        scope = cell.scope_of(call)
        name = cell.loss_name(call, scope)
        if not _ce_like(name):
            continue
        pred = arg_at(call, 0, "input")
        origin = _softmax_origin(cell, pred, scope)
        if origin:
            yield Hit("softmax-before-crossentropy", origin[1] or call.lineno, cell.text(pred), name)


def _conv_bias_on(cell: Cell, call: ast.Call) -> bool:
    """Whether a Conv constructor keeps its (default) bias."""
    bias = arg_at(call, 7, "bias")
    if bias is None:
        return True
    return isinstance(bias, ast.Constant) and bias.value is True


def _layer_kind(cell: Cell, node: ast.AST, scope: ast.AST) -> str:
    """'conv' / 'bn' for torch Conv / BatchNorm constructor calls, else ''."""
    if not isinstance(node, ast.Call):
        return ""
    cls = cell.ctor_class(node, scope)
    if not isinstance(cls, type):
        return ""
    torch = _torch()
    if issubclass(cls, torch.nn.modules.conv._ConvNd) and cls.__module__.startswith("torch"):
        return "conv"
    if issubclass(cls, torch.nn.modules.batchnorm._BatchNorm) and cls.__module__.startswith("torch"):
        return "bn"
    return ""


def _layer_candidates(cell: Cell) -> tuple[list[tuple[ast.Call, ast.Call]], list[tuple[ast.ClassDef, list, list]]]:
    """Where a biased Conv may be followed by BatchNorm, from the source alone: neighbouring
    constructor calls (`nn.Sequential(conv, bn)`, `[conv, bn]`), and per class its layer
    assignments (`self.conv = ...`) with the pairs of layers its methods apply one after the other."""
    neighbours = []
    for node in cell.nodes:
        seq = node.args if isinstance(node, ast.Call) else node.elts if isinstance(node, (ast.List, ast.Tuple)) else []
        for a, b in zip(seq, seq[1:]):
            if isinstance(a, ast.Call) and isinstance(b, ast.Call) and _conv_bias_on(cell, a):
                neighbours.append((a, b))
    classes = []
    for cls in cell.once(_classes):
        assigned = [node for node in ast.walk(cls) if isinstance(node, ast.Assign) and len(node.targets) == 1
                    and isinstance(node.targets[0], ast.Attribute) and isinstance(node.value, ast.Call)]
        pairs: list[tuple[str, str]] = []
        for node in ast.walk(cls):
            # self.bn(self.conv(x))
            if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Call):
                outer, inner = cell.text(node.func), cell.text(node.args[0].func)
                pairs.append((inner, outer))
            # x = self.conv(x); x = self.bn(x)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                body = node.body
                for s1, s2 in zip(body, body[1:]):
                    if isinstance(s1, ast.Assign) and isinstance(s2, ast.Assign) and len(s1.targets) == 1 \
                            and isinstance(s1.value, ast.Call) and isinstance(s2.value, ast.Call) \
                            and s2.value.args and cell.text(s2.value.args[0]) == cell.text(s1.targets[0]):
                        pairs.append((cell.text(s1.value.func), cell.text(s2.value.func)))
        if assigned and pairs:
            classes.append((cls, assigned, pairs))
    return neighbours, classes


@rule
def rule_conv_bias_before_bn(cell: Cell) -> Iterator[Hit]:
    """A Conv layer with a bias directly followed by BatchNorm."""
    neighbours, classes = cell.once(_layer_candidates)
    for a, b in neighbours:
        scope = cell.scope_of(a)
        if _layer_kind(cell, a, scope) == "conv" and _layer_kind(cell, b, scope) == "bn":
            yield Hit("conv-bias-before-bn", a.lineno, _short(cell, a), _short(cell, b))
    for cls, assigned, pairs in classes:
        layers: dict[str, tuple[str, ast.Call]] = {}
        for node in assigned:
            kind = _layer_kind(cell, node.value, cell.scope_of(node))
            if kind:
                layers[cell.text(node.targets[0])] = (kind, node.value)
        for inner, outer in pairs:
            a, b = layers.get(inner), layers.get(outer)
            if a and b and a[0] == "conv" and b[0] == "bn" and _conv_bias_on(cell, a[1]):
                yield Hit("conv-bias-before-bn", a[1].lineno, inner, outer)


def _asked_for_train_mode(cell: Cell, call: ast.Call, modes: list[tuple[ast.Call, str]], trained_at: list[int],
                          in_training: Callable[[ast.AST], bool]) -> bool:
    """Whether `train()` is called for this forward on purpose (e.g. Monte Carlo dropout), not for training."""
    for m, kind in modes:
        if kind != "train" or in_training(m):
            continue
        fn = cell.function_of(m)
        if fn is not None and fn is cell.function_of(call):
            return True
        if m.lineno < call.lineno and not any(m.lineno < t < call.lineno for t in trained_at):
            return True
    return False


@rule
def rule_train_eval_mode(cell: Cell) -> Iterator[Hit]:
    """Evaluation in training mode (no eval()), or training after eval() without train()."""
    modes = cell.once(_cell_mode_calls)
    forwards = _forward_calls(cell, cell.once(_walked_calls))
    train_loops: list[tuple[ast.AST, list[ast.AST]]] = []
    for n in cell.once(_loops):
        nodes = cell.body_nodes(n)
        if cell.trains(nodes):
            train_loops.append((n, nodes))

    def in_training(node: ast.AST) -> bool:
        for loop in cell.loops_of(node):
            if any(loop is t for t, _ in train_loops):
                return True
        fn = cell.function_of(node)
        return fn is not None and not cell.loops_of(node) and cell.trains(cell.body_nodes(fn, inline=False))

    reported: set[str] = set()
    by_model: dict[str, ModRef] = {}
    for call, ref in forwards:
        by_model.setdefault(ref.key, ref)
    for key, ref in by_model.items():
        calls = [c for c, r in forwards if r.key == key]
        first = calls[0]
        scope0 = cell.scope_of(first)
        layers = _model_layers(cell, ref, scope0, first.lineno)
        if not layers:
            continue
        my_modes = [(c, kind) for c, kind in modes if _same_module(cell, c.func.value, ref, cell.scope_of(c))]
        # (b) a training loop that calls eval() (itself or through a function) and never train()
        for loop, nodes in train_loops:
            inside = [c for c in calls if any(c is n for n in nodes)]
            if not inside:
                continue
            loop_modes = [(c, kind) for c, kind in _mode_calls(cell, nodes)
                          if _same_module(cell, c.func.value, ref, cell.scope_of(c))]
            evals = [c for c, kind in loop_modes if kind == "eval"]
            if evals and not any(kind == "train" for _, kind in loop_modes):
                train_fwd = [c for c in inside if not cell.in_no_grad(c)]
                if train_fwd:
                    # the line to change: a train() called once before the loop (it belongs
                    # inside), else the eval() that nothing undoes
                    before = [c for c, kind in my_modes if kind == "train" and c.lineno < loop.lineno
                              and cell.scope_of(c) is cell.scope_of(loop)]
                    line = before[-1].lineno if before else _loop_line_reaching(cell, loop, evals[0])
                    reported.add(key)
                    yield Hit("train-eval-mode", line, ref.label, ", ".join(layers))
                    break
        if key in reported:
            continue
        # (a) evaluation / prediction while the model is still in training mode
        if ref.obj is not None and not ref.obj.training:
            continue
        if any(kind == "eval" for _, kind in my_modes):
            continue
        trained_at: list[int] = []  # module-level lines where training of this model ends
        for loop, nodes in train_loops:
            ids = {id(n) for n in nodes}
            if any(id(c) in ids for c in calls):
                if cell.top_function(loop) is None:
                    trained_at.append(loop.end_lineno or loop.lineno)
                else:
                    trained_at.extend(cell.effective_lines(loop))
        for c in calls:
            if in_training(c):
                continue
            if _asked_for_train_mode(cell, c, my_modes, trained_at, in_training):
                continue
            lines = cell.effective_lines(c)
            after_training = any(l > t for l in lines for t in trained_at)
            fn = cell.function_of(c)
            eval_context = cell.in_no_grad(c) or (fn is not None and _EVAL_FUNC.search(getattr(fn, "name", "") or ""))
            if not eval_context:
                eval_context = any(isinstance(l, (ast.For, ast.AsyncFor)) and _eval_words(cell.text(l.iter))
                                   for l in cell.loops_of(c))
            if after_training or eval_context:
                yield Hit("train-eval-mode", c.lineno, ref.label, ", ".join(layers))
                break


def _loop_line_reaching(cell: Cell, loop: ast.AST, node: ast.AST) -> int:
    """The line of a loop's own body that runs `node`: its own line, or the call of the cell's
    function that runs it (an `evaluate()` whose `eval()` is right where it is: what the loop
    lacks is the way back to training mode after that call)."""
    own = cell.body_nodes(loop, inline=False)
    if any(n is node for n in own):
        return node.lineno
    for call in sorted((n for n in own if isinstance(n, ast.Call)), key=lambda n: n.lineno):
        fn = cell.cell_function(call)
        if fn is not None and (any(n is node for n in walk_body(fn.body))
                               or any(n is node for n in cell.body_nodes(fn))):
            return call.lineno
    return node.lineno


def _collects(cell: Cell, loop: ast.AST) -> bool:
    """Whether a loop gathers results across iterations (metrics, lists of outputs)."""
    for n in walk_body(loop.body):
        if isinstance(n, ast.AugAssign):
            return True
        if isinstance(n, ast.Assign) and any(isinstance(t, ast.Subscript) for t in n.targets):
            return True
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) \
                and n.func.attr in ("append", "extend", "insert", "update", "add"):
            return True
    return False


@rule
def rule_eval_without_no_grad(cell: Cell) -> Iterator[Hit]:
    """A loop that only runs a trainable model forward (evaluation) with autograd on."""
    for loop in cell.once(_loops):
        if cell.in_no_grad(loop):
            continue
        nodes = cell.body_nodes(loop)
        if cell.trains(nodes) or any(cell.is_zeroing(n) for n in nodes):
            continue
        scope = cell.scope_of(loop)
        fwd = [(c, r) for c, r in _forward_calls(cell, walk_body(loop.body))
               if not cell.in_no_grad(c) and cell.trainable(r)]
        if not fwd or not _collects(cell, loop):
            continue
        later = [c for c in cell.calls if (cell.is_backward(c) or cell.is_autograd_grad(c) or cell.is_step(c))
                 and cell.scope_of(c) is scope and c.lineno > (loop.end_lineno or loop.lineno)]
        if later:
            continue
        fn = cell.function_of(loop)
        if fn is not None:
            returns = [n for n in walk_body(fn.body) if isinstance(n, ast.Return) and n.value is not None]
            if any(cell.grad_sources(r.value, scope) for r in returns):
                continue
            if any(cell.trains(cell.body_nodes(l)) for s in cell.call_sites(fn) for l in cell.loops_of(s)[:1]):
                continue  # called from a training loop: its outputs may feed a loss
        call, ref = fwd[0]
        confirmed = None
        if ref.obj is not None:
            stmt = cell.statement_of(call)
            if isinstance(stmt, ast.Assign) and stmt.value is call and len(stmt.targets) == 1 \
                    and isinstance(stmt.targets[0], ast.Name) and cell.def_scope(stmt.targets[0].id, scope) is cell.tree:
                value = cell.lookup(stmt.targets[0].id, scope)
                if is_tensor(value):
                    confirmed = value.grad_fn is not None
        if confirmed is False:
            continue
        if ref.obj is None and confirmed is None:
            # from the code alone: only loops that clearly go over evaluation data
            if not (isinstance(loop, (ast.For, ast.AsyncFor)) and _eval_words(cell.text(loop.iter))) and not \
                    (fn is not None and _EVAL_FUNC.search(getattr(fn, "name", "") or "")):
                continue
        if ref.obj is not None and not confirmed:
            try:
                import torch

                if not torch.is_grad_enabled():
                    continue
            except Exception:
                pass
        yield Hit("eval-without-no-grad", call.lineno, ref.label, cell.text(loop).split("\n")[0].rstrip(":"))


@matcher
def bn_last_batch(ctx: Context) -> Match | None:
    """BatchNorm given one sample: a DataLoader whose last batch holds a single sample is the
    usual cause, and `drop_last=True` where it is built is the fix."""
    if not pattern_hits(ctx, "bn-batch-size-one"):
        return None
    for frame, loop, name, loader in looped_loaders(ctx, ctx.user_frames):
        if loader.drop_last:
            continue
        try:
            size, batch = len(loader.dataset), loader.batch_size
        except Exception:
            continue
        if batch and batch > 1 and size % batch == 1:
            facts = {"loader": name, "size": size, "batch_size": batch}
            if not frame.in_cell:  # a training helper of an earlier cell loops over it
                where = object_place(ctx, loader)
                if where is not None and where[1] is None:
                    return Match("bn-batch-size-one", 0.9, line=where[0], related_lines=[ctx.line],
                                 facts=facts, detail="last_batch")
                continue
            match = origin_match(ctx, "bn-batch-size-one", name, loop.lineno, 0.9, facts, detail="last_batch")
            if match is not None and frame.line != match.line:
                match.related_lines = [frame.line]
            return match
    return None


_BATCH_NAME = re.compile(r"(^|_)(batch|bs|bsz|mb)(_|$)|batch_?size", re.I)


@matcher
def bn_batch_size_set_to_one(ctx: Context) -> Match | None:
    """BatchNorm given one sample because the cell asked for batches of one: a batch size of 1
    read where the batch is taken (the slice, the loop's `range`, the DataLoader looped over)
    points at the line that set it."""
    if not pattern_hits(ctx, "bn-batch-size-one"):
        return None
    torch = _torch()
    for frame in reversed(ctx.frames):  # the cell's own frames, innermost first
        stmt = frame.code.statement_at(frame.line)
        if stmt is None:
            continue
        loops = [l for l in frame.code.loops_around(stmt) if isinstance(l, ast.For)]
        read = set(frame.code.read_at(frame.line))
        for loop in loops:
            read.update(loaded_names(loop.iter))
        for name in sorted(read):
            value = ctx.value(name, frame)
            loader = isinstance(value, torch.utils.data.DataLoader)
            if loader and value.batch_size == 1:
                where = object_place(ctx, value)
                if where is not None and where[1] is None:
                    return Match("bn-batch-size-one", 0.92, line=where[0], related_lines=[frame.line],
                                 facts={"name": name})
            elif type(value) is int and value == 1 and _BATCH_NAME.search(name):
                made = frame.code.origin(name, frame.line)
                if made is not None and made.line != frame.line:
                    return Match("bn-batch-size-one", 0.92, line=made.line, related_lines=[frame.line],
                                 facts={"name": name})
    return None


def _raised_in(exc: BaseException, fragment: str) -> bool:
    """Whether any frame of the traceback runs code from a file whose path contains `fragment`."""
    tb = exc.__traceback__
    while tb is not None:
        if fragment in tb.tb_frame.f_code.co_filename.replace("\\", "/"):
            return True
        tb = tb.tb_next
    return False


@matcher
def optimizer_state_device(ctx: Context) -> Match | None:
    """A device mismatch inside `optimizer.step()`: the optimizer's state, not the model, is elsewhere."""
    if not pattern_hits(ctx, "device-mismatch") or not _raised_in(ctx.exc, "torch/optim/"):
        return None
    facts: dict[str, Any] = {}
    torch = _torch()
    for frame in reversed(ctx.frames):
        for name in ctx.code.read_at(frame.line):
            opt = ctx.value(name.rsplit(".", 1)[0], frame) if name.endswith(".step") else ctx.value(name, frame)
            if isinstance(opt, torch.optim.Optimizer):
                params = [p for g in opt.param_groups for p in g["params"]]
                states = [v for s in opt.state.values() for v in s.values() if is_tensor(v) and v.dim() > 0]
                if params and states:
                    facts.update(param_device=str(params[0].device), state_device=str(states[0].device))
                facts["name"] = name.rsplit(".", 1)[0]
                break
    load = [b for b in ctx.code.statements if isinstance(b, ast.Expr) and isinstance(b.value, ast.Call)
            and call_name(b.value) == "load_state_dict" and dotted(b.value.func.value) == facts.get("name")] \
        if facts.get("name") else []
    line = load[0].lineno if load else ctx.line
    return Match("optimizer-device", 0.9, line=line, related_lines=[ctx.line] if line != ctx.line else [],
                 facts=facts, detail="devices" if "state_device" in facts else "")


@matcher
def state_dict_keys(ctx: Context) -> Match | None:
    """Checkpoint keys that don't fit the model: a wrapper's prefix, or counts of what differs."""
    if "Error(s) in loading state_dict" not in ctx.message:
        return None
    missing = re.findall(r'"([^"]+)"', ctx.message.split("Missing key(s) in state_dict:")[-1].split("Unexpected")[0]) \
        if "Missing key(s)" in ctx.message else []
    unexpected = re.findall(r'"([^"]+)"', ctx.message.split("Unexpected key(s) in state_dict:")[-1].split("size mismatch")[0]) \
        if "Unexpected key(s)" in ctx.message else []
    facts: dict[str, Any] = {"missing": len(missing), "unexpected": len(unexpected)}
    detail = "counts" if missing or unexpected else ""
    for prefix in ("module.", "_orig_mod.", "model.", "net."):
        if unexpected and all(k.startswith(prefix) for k in unexpected) and \
                {k[len(prefix):] for k in unexpected} & set(missing):
            facts.update(prefix=prefix, example=unexpected[0])
            detail = "prefix"
            break
    return Match("state-dict-keys", 0.8, line=ctx.line, facts=facts, detail=detail)


def _module_level_names(cell: Cell) -> list[str]:
    """Names the cell reads or writes at module level (its globals), in order of appearance."""
    out: dict[str, None] = {}
    for node in cell.nodes:
        if isinstance(node, ast.Name) and node.id not in out \
                and cell.def_scope(node.id, cell.scope_of(node)) is cell.tree:
            out[node.id] = None
    return list(out)


def _named_objects(cell: Cell) -> dict[str, Any]:
    """Module-level names the cell mentions, with their live values."""
    out: dict[str, Any] = {}
    for name in cell.once(_module_level_names):
        value = cell.lookup(name, cell.tree)
        if value is not MISSING:
            out[name] = value
    return out


def _first_line(cell: Cell, name: str) -> int:
    """The first line where the cell assigns `name`, else the first line that mentions it."""
    assigned = [b.line for b in cell.bindings[cell.tree].get(name, []) if b.kind == "assign"]
    if assigned:
        return assigned[0]
    lines = [n.lineno for n in cell.nodes if isinstance(n, ast.Name) and n.id == name]
    return min(lines) if lines else 0


def _container_line(cell: Cell, cls_name: str, attr: str) -> int:
    """The line `self.<attr> = ...` in the cell's class `cls_name`, or 0."""
    cls = cell.cell_class(cls_name)
    if cls is None:
        return 0
    for node in ast.walk(cls):
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(dotted(t) == f"self.{attr}" for t in targets):
                return node.lineno
    return 0


def _attribute_line(cell: Cell, path: str) -> int:
    """The cell's first line that assigns the attribute `path` (`encoder.adapters = [...]`), or 0."""
    for node in cell.nodes:
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(dotted(t) == path for t in targets):
                return node.lineno
    return 0


@audit
def audit_unregistered_submodule(cell: Cell) -> Iterator[Hit]:
    """Modules or Parameters kept in a plain list/tuple/dict attribute of a live nn.Module."""
    import torch

    named = _named_objects(cell)
    top_level = list(named.values())
    seen: set[int] = set()
    for name, root in named.items():
        if not is_module(root) or id(root) in seen:
            continue
        seen.add(id(root))
        registered = {id(m) for m in root.modules()} | {id(p) for p in root.parameters()}
        for sub in root.modules():
            for attr, value in vars(sub).items():
                if attr.startswith("_") or not isinstance(value, (list, tuple, dict)):
                    continue
                items = list(value.values()) if isinstance(value, dict) else list(value)
                held = [v for v in items if isinstance(v, (torch.nn.Module, torch.nn.Parameter))]
                loose = [v for v in held if id(v) not in registered]
                if not loose:
                    continue
                if all(any(v is t for t in top_level) for v in loose):
                    continue  # references to models the user keeps anyway, wrapped on purpose
                params = isinstance(loose[0], torch.nn.Parameter)
                kind = "Dict" if isinstance(value, dict) else "List"
                other = ("Parameter" if params else "Module") + kind
                in_class = _container_line(cell, type(sub).__name__, attr)
                if in_class:
                    line, label = in_class, f"self.{attr}"
                else:
                    label = f"{name}.{attr}" if sub is root else f"{type(sub).__name__}.{attr}"
                    line = _attribute_line(cell, label) or _first_line(cell, name)
                yield Hit("unregistered-submodule", line, label, other)


def _optimizer_sources(cell: Cell) -> list[tuple[str, ast.Call, ast.AST]]:
    """(optimizer name, constructor call, model expression) for `opt = X(model.parameters())`."""
    found = []
    for node in cell.nodes:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
                and isinstance(node.value, ast.Call) and node.value.args):
            continue
        if cell.scope_of(node) is not cell.tree:
            continue
        params = node.value.args[0]
        if isinstance(params, ast.Call) and isinstance(params.func, ast.Name) and params.func.id == "filter" \
                and len(params.args) == 2:
            params = params.args[1]
        if isinstance(params, ast.Call) and isinstance(params.func, ast.Attribute) \
                and params.func.attr == "parameters" and not params.args:
            found.append((node.targets[0].id, node.value, params.func.value))
    return found


@audit
def audit_optimizer_params(cell: Cell) -> Iterator[Hit]:
    """An optimizer built from `model.parameters()` that misses parameters the model has now."""
    import torch

    steps = [c for c in cell.calls if isinstance(c.func, ast.Attribute) and c.func.attr == "step"]
    for opt_name, ctor, model_expr in cell.once(_optimizer_sources):
        opt = cell.lookup(opt_name, cell.tree)
        model = cell.resolve(model_expr, cell.tree)
        if not isinstance(opt, torch.optim.Optimizer) or not is_module(model):
            continue
        if not any(dotted(c.func.value) == opt_name for c in steps):
            continue  # the cell does not train with it
        held = {id(p) for group in opt.param_groups for p in group["params"]}
        missing = [n for n, p in model.named_parameters() if p.requires_grad and id(p) not in held]
        if not missing:
            continue
        model_text = dotted(model_expr) or ""
        line = ctor.lineno
        for node in cell.nodes:
            if isinstance(node, ast.Assign) and node.lineno > ctor.lineno:
                for t in node.targets:
                    if isinstance(t, (ast.Attribute, ast.Subscript)) and \
                            (cell.text(t).startswith(model_text + ".") or cell.text(t).startswith(model_text + "[")):
                        line = node.lineno
                        break
                if line != ctor.lineno:
                    break
        shown = ", ".join(f"`{m}`" for m in missing[:3]) + (" ..." if len(missing) > 3 else "")
        yield Hit("optimizer-device", line, opt_name, shown)


def _freeze_lines(cell: Cell) -> list[int]:
    """Lines that set `requires_grad` to False (`p.requires_grad = False`, `requires_grad_(False)`)."""
    freeze_lines = []
    for node in cell.nodes:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and node.value.value is False \
                and any(isinstance(t, ast.Attribute) and t.attr == "requires_grad" for t in node.targets):
            freeze_lines.append(node.lineno)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "requires_grad_" \
                and node.args and isinstance(node.args[0], ast.Constant) and node.args[0].value is False:
            freeze_lines.append(node.lineno)
    return freeze_lines


@audit
def audit_bn_running_stats(cell: Cell) -> Iterator[Hit]:
    """BatchNorm layers frozen with requires_grad=False but still updating running stats in training."""
    import torch

    freeze_lines = cell.once(_freeze_lines)
    if not freeze_lines and cell.evidence is None:
        return  # no freezing in the code, and no run that could have seen one elsewhere
    backward = any(cell.is_backward(c) for c in cell.calls)
    named = _named_objects(cell)
    for name, root in named.items():
        if not is_module(root):
            continue
        frozen = [m for m in root.modules()
                  if isinstance(m, torch.nn.modules.batchnorm._BatchNorm) and m.training and m.track_running_stats
                  and m.running_mean is not None and m.weight is not None and not m.weight.requires_grad]
        if not frozen:
            continue
        try:
            trained = any(p.requires_grad for p in root.parameters())
        except Exception:
            trained = False
        if not trained:
            continue
        # it must train here: a training loop of the cell, or a training helper of an earlier
        # cell handed the model in a loop (`train_one_epoch(model, ...)`)
        helper = any(cell.loops_of(c) and isinstance(c.func, ast.Name) and cell.cell_function(c) is None
                     and any(isinstance(a, ast.Name) and a.id == name for a in c.args) for c in cell.calls)
        if not (backward or helper):
            continue
        # where the user believed the layers frozen: the run saw it (an earlier cell's helper
        # called from this cell), or the cell's code says it
        line = _frozen_at(cell, frozen) or (min(freeze_lines) if freeze_lines else None)
        if line is None:
            continue
        yield Hit("bn-running-stats", line, name, f"{len(frozen)} frozen BatchNorm layer(s)")
        return


def _frozen_at(cell: Cell, layers: list) -> int | None:
    """The cell's line the run saw freeze these layers' weights (`requires_grad_(False)`)."""
    found = cell.evidence
    if found is None:
        return None
    for layer in layers:
        record = found.record(layer.weight)
        change = next((c for c in reversed(record.changes) if c.value is False), None) if record else None
        if change is not None:
            line = run_line(found, change.site, change.cell_line)
            if line is not None:
                return line
    return None


# ---------------------------------------------------------------------------- run checks
def _layer_kinds(module: Any) -> tuple[bool, bool]:
    """(has Dropout, has BatchNorm) among a module's layers."""
    torch = _torch()
    dropout = batchnorm = False
    try:
        for sub in module.modules():
            dropout |= isinstance(sub, torch.nn.modules.dropout._DropoutNd)
            batchnorm |= isinstance(sub, torch.nn.modules.batchnorm._BatchNorm) and sub.track_running_stats
    except Exception:
        pass
    return dropout, batchnorm


def _label(cell: Cell, module: Any) -> str:
    names = names_of(cell, module)
    return names[0] if names else type(module).__name__


def _freezes_batchnorm(tree: ast.AST | None) -> bool:
    """Whether code puts BatchNorm layers in eval mode one by one (`if isinstance(m,
    nn.BatchNorm2d): m.eval()`): the way to freeze their statistics that a later `.train()`
    on the model undoes."""
    for node in ast.walk(tree) if tree is not None else ():
        if not (isinstance(node, ast.If) and isinstance(node.test, ast.Call) and dotted(node.test.func) == "isinstance"
                and len(node.test.args) == 2 and "BatchNorm" in ast.unparse(node.test.args[1])):
            continue
        subject = dotted(node.test.args[0])
        for inner in walk_body(node.body):
            if isinstance(inner, ast.Call) and isinstance(inner.func, ast.Attribute) \
                    and dotted(inner.func.value) == subject \
                    and (inner.func.attr == "eval" or inner.func.attr == "train" and inner.args and is_false(inner.args[0])):
                return True
    return False


@monitor
def run_batchnorm_freeze_undone(cell: Cell, found: Any) -> Iterator[Hit]:
    """BatchNorm layers frozen one by one with `.eval()` (in the cell, or by a method of the
    model's class), then trained in training mode anyway: a `.train()` on the model turned
    them back, and their running statistics moved with every batch. The line is that
    `.train()` in the cell, else the cell's line that ran the training."""
    torch = _torch()
    for forward in found.forwards:
        model = forward.layer
        if model is None or not forward.training or not forward.grad_enabled:
            continue
        norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)
                 and m.track_running_stats and m.training]
        if not norms:
            continue
        method = getattr(type(model), "forward", None)
        source = getattr(getattr(method, "__code__", None), "co_filename", "")
        owner = next((c for c in code_of(source).classes() if c.name == type(model).__name__), None) if source else None
        if not (_freezes_batchnorm(cell.tree) or _freezes_batchnorm(owner)):
            continue
        trains = [c.lineno for c in cell.calls if isinstance(c.func, ast.Attribute) and c.func.attr == "train"
                  and not (c.args and is_false(c.args[0]))]
        line = trains[0] if trains else run_line(found, forward.site, forward.cell_line)
        if line is not None:
            yield Hit("bn-running-stats", line, _label(cell, model), "BatchNorm")
            return


@monitor
def run_evaluated_in_train_mode(cell: Cell, found: Any) -> Iterator[Hit]:
    """A model run with autograd off (evaluation, prediction) while still in training mode: its
    Dropout drops and its BatchNorm learns from the evaluation data. The line is where the
    evaluation starts (the `no_grad` block in the cell), or, when an earlier cell's helper runs
    it, the cell's last line that handles the model before."""
    done: set[int] = set()
    for forward in found.forwards:
        module = forward.layer
        if module is None or forward.grad_enabled or not forward.training or id(module) in done:
            continue
        dropout, batchnorm = _layer_kinds(module)
        if not (dropout or batchnorm):
            continue
        names = names_of(cell, module)
        asked = any(isinstance(c.func, ast.Attribute) and c.func.attr == "train" and dotted(c.func.value) in names
                    for c in cell.calls)
        if asked and not (found.recorder is not None and found.recorder.backwards):
            continue  # train() asked for and nothing trained: dropout on purpose (Monte Carlo dropout)
        line = run_line(found, forward.site, forward.cell_line)
        if line is None:
            continue
        if forward.site is not None and forward.site.filename == found.user.cell:
            stmt = cell.statement_at_line(line)
            if stmt is not None and cell.in_no_grad(stmt):
                block = next((a for a in cell.ancestors(stmt) if isinstance(a, (ast.With, ast.AsyncWith))), None)
                line = block.lineno if block is not None else line
        else:
            # an earlier cell's helper evaluates it: the cell's line that hands it the model
            # (where `.eval()` belongs), else the cell's last line that handled the model
            names = names_of(cell, module)
            stmt = cell.statement_at_line(line)
            hands = stmt is not None and any(isinstance(n, ast.Name) and n.id in names for n in ast.walk(stmt)) \
                and not isinstance(stmt, (ast.For, ast.While, ast.With, ast.If))
            if not hands:
                line = last_use(cell, names, forward.cell_line or line) or line
        done.add(id(module))
        pitfall = "train-eval-mode" if dropout else "bn-running-stats"
        kinds = "Dropout" if dropout else "BatchNorm"
        yield Hit(pitfall, line, _label(cell, module), kinds)


@monitor
def run_evaluated_with_grad(cell: Cell, found: Any) -> Iterator[Hit]:
    """A model in eval mode run again and again with autograd on, whose outputs no backward
    pass ever used: every call kept a graph for nothing. The line is the cell's line that ran
    those calls (an evaluation loop, or the call of an earlier cell's evaluation helper)."""
    reached: set[int] | None = None
    done: set[int] = set()
    for forward in found.forwards:
        module = forward.layer
        if module is None or forward.training or not forward.grad_enabled or forward.count < 2 \
                or not forward.graph or id(module) in done:
            continue
        if found.recorder is None:
            if found.steps:
                continue  # nothing tells whether a backward pass used it: say nothing
        else:
            if reached is None:
                reached = reached_by_backward(found)
            if forward.output is None or id(forward.output) in reached:
                continue
        line = run_line(found, forward.site, forward.cell_line)
        if line is not None:
            done.add(id(module))
            yield Hit("eval-without-no-grad", line, _label(cell, module))


def _softmax_layer(found: Any, softmax: Any) -> tuple[Any, Any]:
    """The nn.Softmax / nn.LogSoftmax layer of the model whose forward returned `softmax`, and
    that model."""
    torch = _torch()
    soft = (torch.nn.Softmax, torch.nn.LogSoftmax)
    for forward in found.forwards:
        module = forward.layer
        # a standalone nn.Softmax is changed where it is applied, not where it was built
        if module is not None and forward.output is softmax and not isinstance(module, soft):
            layers = [m for m in module.modules() if isinstance(m, soft)]
            if layers:
                return layers[-1], module
    return None, None


@monitor
def run_softmax_into_cross_entropy(cell: Cell, found: Any) -> Iterator[Hit]:
    """`cross_entropy` given an output of softmax or log_softmax, as the run saw it: the line is
    where that softmax was applied (in the cell, or the cell's line that ran it)."""
    for seen in found.observations:
        if seen.kind != "softmax-into-loss":
            continue
        softmax = seen.facts.get("record")
        if seen.facts.get("mixed") and softmax is not None:
            softmax = next((r for r in ancestors(softmax) if r.op == "softmax"), softmax)
        layer, model = _softmax_layer(found, softmax)
        built = module_site(found, layer) if layer is not None else None
        line = run_line(found, built, None) if built is not None else None
        if line is None and model is not None:  # a layer of a class from an earlier cell: where the cell builds it
            line = run_line(found, module_site(found, model), None)
        # a softmax applied by code outside the cell is undone where the cell calls the loss
        if line is None and softmax is not None and softmax.site is not None \
                and softmax.site.filename == found.user.cell:
            line = softmax.site.line
        line = line or run_line(found, seen.site, seen.cell_line)
        if line is not None:
            yield Hit("softmax-before-crossentropy", line, seen.facts.get("op", "softmax"), "cross_entropy")


@monitor
def run_conv_bias_before_batchnorm(cell: Cell, found: Any) -> Iterator[Hit]:
    """A convolution with a bias right before a BatchNorm in a model the run used, however its
    layers were put together (a list filled in a loop, a helper that builds the Sequential):
    the line is where that convolution was built."""
    torch = _torch()
    seen: set[int] = set()
    for forward in found.forwards:
        root = forward.layer
        if root is None or id(root) in seen:
            continue
        seen.add(id(root))
        for module in root.modules():
            if not isinstance(module, torch.nn.Sequential):
                continue
            children = list(module.children())
            for conv, norm in zip(children, children[1:]):
                if isinstance(conv, torch.nn.modules.conv._ConvNd) and conv.bias is not None \
                        and isinstance(norm, torch.nn.modules.batchnorm._BatchNorm):
                    line = _built_line(found, conv, forward)
                    if line is not None:
                        yield Hit("conv-bias-before-bn", line, type(conv).__name__, type(norm).__name__)
                        return
    # layers wired in a forward of the user's own: the run saw a biased convolution's output
    # go straight into a BatchNorm
    for conv_ref, norm_ref in getattr(found.monitors, "conv_then_norm", ()):
        conv, norm = conv_ref(), norm_ref()
        if conv is None or norm is None:
            continue
        forward = next((f for f in found.forwards if f.layer is not None
                        and any(m is conv for m in f.layer.modules())), None)
        line = _built_line(found, conv, forward)
        if line is not None:
            yield Hit("conv-bias-before-bn", line, type(conv).__name__, type(norm).__name__)
            return


def _built_line(found: Any, layer: Any, forward: Any) -> int | None:
    """The cell's line that built a layer: its own constructor call when it is in the cell,
    else the cell's line that built the model holding it (a class of an earlier cell), else
    the cell's line that ran that model."""
    site = module_site(found, layer)
    line = run_line(found, site, None) if site is not None else None
    if line is None and forward is not None:
        root = module_site(found, forward.layer)
        line = (run_line(found, root, None) if root is not None else None) or forward.cell_line \
            or run_line(found, forward.site, None)
    return line


@monitor
def run_dropout_in_eval(cell: Cell, found: Any) -> Iterator[Hit]:
    """A functional dropout that stayed on while its model was in eval mode (`training=True`
    written out, or left at its default), as the run saw it."""
    for seen in found.observations:
        if seen.kind == "dropout-in-eval":
            # in a class from an earlier cell: the fix is in the class, reached where the cell builds it
            line = building_line(cell, found, seen.site) or run_line(found, seen.site, seen.cell_line)
            if line is not None:
                yield Hit("functional-dropout-training", line, seen.facts.get("op", "F.dropout"))
                return
