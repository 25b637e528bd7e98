"""The modules family's audit and run checks: what the live objects and the run's module hooks
show (unregistered layers, parameters no optimizer holds, BatchNorm statistics that moved,
evaluation in training mode or with grad, softmax into cross-entropy, dropout left on)."""
from __future__ import annotations

import ast
from functools import lru_cache
from typing import Any, Iterator

from ...diagnose.locate import code_of
from ...evidence.queries import ancestors
from ...source.cell import Cell
from ...source.syntax import is_false, walk_body
from ...source.values import MISSING, is_module, torch_module
from ...source.cellcode import dotted
from ..helpers import all_frozen, building_line, last_use, module_site, names_of, reached_by_backward, run_line
from ..registry import Hit, audit, monitor


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


@lru_cache(maxsize=1)
def _module_internals() -> frozenset[str]:
    """The attributes every nn.Module instance has of its own (its registries and hook tables)."""
    return frozenset(vars(torch_module().nn.Module()))


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
                # a leading underscore is the user's own private list (`self._layers`) unless
                # nn.Module keeps it (`_modules`, `_forward_hooks`, ...)
                if attr in _module_internals() or not isinstance(value, (list, tuple, dict)):
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
        # the `.train()` that put the frozen layers back in training mode, else where the user
        # believed them frozen: the run saw it (an earlier cell's helper called from this cell),
        # or the cell's code says it
        line = _train_call(cell, root) or _frozen_at(cell, frozen) or (min(freeze_lines) if freeze_lines else None)
        if line is None:
            continue
        yield Hit("bn-running-stats", line, name, f"{len(frozen)} frozen BatchNorm layer(s)")
        return


def _train_calls(cell: Cell) -> Iterator[tuple[ast.Call, Any]]:
    """The cell's `.train()` calls that turn training mode on, with the live object each is
    called on (MISSING when the cell's code cannot resolve it)."""
    for call in cell.calls:
        if isinstance(call.func, ast.Attribute) and call.func.attr == "train" \
                and not (call.args and is_false(call.args[0])):
            yield call, cell.resolve(call.func.value, cell.scope_of(call))


def _train_call(cell: Cell, model: Any) -> int | None:
    """The cell's first `.train()` on `model` (or on a name the cell's code cannot resolve, such
    as a training function's parameter)."""
    return next((call.lineno for call, receiver in _train_calls(cell) if receiver is model or receiver is MISSING),
                None)


@monitor
def run_frozen_batchnorm_updated(cell: Cell, found: Any) -> Iterator[Hit]:
    """A model trained while BatchNorm layers whose weights the user froze were in training
    mode: their running statistics moved with every batch although the layers were meant to
    stay as they were. The line is the `.train()` that put them in training mode, else the
    line that froze them, else the cell's line that ran the model."""
    if not found.steps:
        return
    torch = torch_module()
    skip = None
    for forward in found.forwards:
        model = forward.layer
        if model is None or not forward.frozen_norms or not forward.training:
            continue
        if skip is None:
            skip = _frozen_put_in_train(cell)
        if id(model) in skip:
            continue
        norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)
                 and m.weight is not None and not m.weight.requires_grad]
        line = _train_call(cell, model) or _frozen_at(cell, norms) or run_line(found, forward.site, forward.cell_line)
        if line is not None:
            yield Hit("bn-running-stats", line, _label(cell, model), f"{forward.frozen_norms} frozen BatchNorm layer(s)")
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
    torch = torch_module()
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
    torch = torch_module()
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
    frozen_in_train = None
    for forward in found.forwards:
        module = forward.layer
        if module is None or forward.grad_enabled or not forward.training or id(module) in done:
            continue
        dropout, batchnorm = _layer_kinds(module)
        if not (dropout or batchnorm):
            continue
        if frozen_in_train is None:
            frozen_in_train = _frozen_put_in_train(cell)
        if id(module) in frozen_in_train:
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
            switched = _switched_on_before(cell, stmt, module) if stmt is not None else None
            start = cell.function_start(stmt) if stmt is not None else None
            if switched is not None:
                line = switched
            elif start is not None:
                line = start
            elif stmt is not None and cell.in_no_grad(stmt):
                block = next((a for a in cell.ancestors(stmt) if isinstance(a, (ast.With, ast.AsyncWith))), None)
                line = block.lineno if block is not None else line
        else:
            # an earlier cell's helper evaluates it: the cell's line that hands it the model
            # (where `.eval()` belongs), else the cell's last line that handled the model
            names = names_of(cell, module)
            stmt = cell.statement_at_line(line)
            hands = stmt is not None and not isinstance(stmt, (ast.For, ast.While, ast.With, ast.If)) \
                and any(isinstance(n, ast.Name) and (n.id in names or _holds(cell.ns, n.id, module))
                        for n in ast.walk(stmt))
            if not hands:
                line = last_use(cell, names, forward.cell_line or line) or line
        done.add(id(module))
        pitfall = "train-eval-mode" if dropout else "bn-running-stats"
        kinds = "Dropout" if dropout else "BatchNorm"
        yield Hit(pitfall, line, _label(cell, module), kinds, detail="" if dropout else "evaluated")


def _switched_on_before(cell: Cell, stmt: ast.AST, module: Any) -> int | None:
    """The `.train()` of the cell's function that runs the evaluation `stmt` when that function
    turns training mode on itself, ahead of it (`run_epoch` that calls `model.train()` whether it
    trains or evaluates): that call is the one to make conditional or to follow with `.eval()`."""
    function = cell.function_of(stmt)
    if function is None:
        return None
    for call, receiver in _train_calls(cell):
        if call.lineno < stmt.lineno and cell.function_of(call) is function \
                and (receiver is module or receiver is MISSING):
            return call.lineno
    return None


@monitor
def run_trained_in_eval_mode(cell: Cell, found: Any) -> Iterator[Hit]:
    """A model with Dropout or BatchNorm trained in evaluation mode: a forward with autograd on
    while the model was in eval mode, whose output a backward pass went through, followed by an
    optimizer step (an `evaluate()` switched it to eval() and nothing switched it back). The
    line is the `.train()` that runs only once (it belongs in the loop), else the cell's line
    that ran that forward."""
    if not found.steps or found.recorder is None:
        return
    reached = None
    for forward in found.forwards:
        module = forward.layer
        if module is None or forward.training or not forward.grad_enabled or forward.output is None:
            continue
        dropout, batchnorm = _layer_kinds(module)
        if not (dropout or batchnorm):
            continue
        if not any(generation > forward.generation for _, _, generation in list(found.recorder.steps)):
            continue
        if reached is None:
            reached = reached_by_backward(found)
        if id(forward.output) not in reached:
            continue
        line = _train_call(cell, module) or run_line(found, forward.site, forward.cell_line)
        if line is not None:
            yield Hit("train-eval-mode", line, _label(cell, module), "Dropout" if dropout else "BatchNorm",
                      detail="trained_in_eval")
            return


def _holds(ns: Any, name: str, module: Any) -> bool:
    """Whether the namespace's object `name` (a trainer, an agent) keeps `module` as an attribute."""
    holder = (ns or {}).get(name)
    if holder is None or holder is module or not hasattr(holder, "__dict__"):
        return False
    try:
        return any(v is module for v in list(vars(holder).values())[:200])
    except Exception:
        return False


def _frozen_put_in_train(cell: Cell) -> set[int]:
    """Ids of the modules inside a network that the cell puts in training mode itself
    (`target.train()`) while none of its parameters requires grad: a target or teacher network
    that only follows the trained one (BYOL, mean teacher) and runs in training mode by design."""
    out: set[int] = set()
    for call, root in _train_calls(cell):
        if not call.args and all_frozen(root):
            out.update(id(m) for m in root.modules())
    return out


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
        if forward.last_generation - forward.generation == forward.count - 1:
            continue  # one backward pass between each two calls: part of a training step (a teacher's forward)
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
    that model (the layer None when its forward called the function itself)."""
    torch = torch_module()
    soft = (torch.nn.Softmax, torch.nn.LogSoftmax)
    for forward in found.forwards:
        module = forward.layer
        # a standalone nn.Softmax is changed where it is applied, not where it was built
        if module is not None and forward.output is softmax and not isinstance(module, soft):
            layers = [m for m in module.modules() if isinstance(m, soft)]
            return (layers[-1] if layers else None), module
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
        if line is None and softmax is not None and softmax.site is not None \
                and softmax.site.filename == found.user.cell:
            line = softmax.site.line
        # the forward of a class from an earlier cell applies it: where the cell builds the model;
        # a softmax applied by other code outside the cell is undone where the cell calls the loss
        if line is None and model is not None:
            line = run_line(found, module_site(found, model), None)
        line = line or run_line(found, seen.site, seen.cell_line)
        if line is not None:
            yield Hit("softmax-before-crossentropy", line, seen.facts.get("op", "softmax"), "cross_entropy")


@monitor
def run_conv_bias_before_batchnorm(cell: Cell, found: Any) -> Iterator[Hit]:
    """A convolution with a bias right before a BatchNorm in a model the run used, however its
    layers were put together (a list filled in a loop, a helper that builds the Sequential):
    the line is where that convolution was built."""
    torch = torch_module()
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
