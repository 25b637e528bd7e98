"""The modules family's lint rules: layers in plain containers, functional dropout without
training=, softmax before cross-entropy, conv bias before BatchNorm, train/eval mode and
evaluation without no_grad, read from the cell's code."""
from __future__ import annotations

import ast
import re
from typing import Any, Callable, Iterable, Iterator

from ...source.cell import Cell, ModRef
from ...source.syntax import LOOPS, arg_at, is_false, kwarg, walk_body
from ...source.values import MISSING, is_tensor, torch_module
from ...source.cellcode import dotted
from ..helpers import _forward_calls, _short, _softmax_origin, all_frozen
from ..registry import Hit, rule


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
    torch = torch_module()
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
                    torch = torch_module()
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
    return [n for n in cell.nodes if isinstance(n, LOOPS)]


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
        torch = torch_module()
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
    torch = torch_module()
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
        if any(kind == "train" for _, kind in my_modes) and all_frozen(ref.obj):
            continue  # a frozen target network put in training mode on purpose (BYOL, mean teacher)
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
                # in an evaluation function of the cell: where it begins, where `.eval()` goes
                yield Hit("train-eval-mode", cell.function_start(c) or c.lineno, ref.label, ", ".join(layers))
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
