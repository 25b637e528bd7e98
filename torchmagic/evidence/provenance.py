"""The provenance record of a run: for every tensor a torch operation makes, what made it.

:class:`Recorder` is a `TorchFunctionMode` active while a diagnosed cell runs (or is
replayed). For each tensor that a torch function returns it keeps a :class:`Record`: the
operation, the records of its tensor inputs, the line of the user's code that asked for it
(the nearest cell frame: the cell itself, a function or class it defines, a helper or a
Dataset from an earlier cell), dtype, shape, device, whether it carries autograd history and
under which grad mode it was made, how many backward passes had run, and for small integer
tensors on the CPU their range of values. In-place changes the user's code makes are kept as
:class:`Change` entries of the changed tensor's record.

Records are keyed weakly by tensor (`torch.utils.weak.WeakTensorKeyDictionary`) and hold
their tensor only through a weak reference, so nothing the user made is kept alive; a record
keeps its inputs' records, which is what the root-cause queries in :mod:`.queries` follow.
Modules built during the run are remembered with the line that built them.
"""
from __future__ import annotations

import sys
import weakref
from dataclasses import dataclass
from typing import Any, Callable

from .sites import _OPTIMIZER as _OPTIMIZER_CODE
from .sites import Site, UserCode, site_of

# a summary of values (min, max, all finite) is kept for tensors up to this size, on the CPU
SUMMARY_LIMIT = 1 << 16
# records are made for at most this many tensors in one run; later ones go unrecorded
RECORD_LIMIT = 500_000

_NEW, _INPLACE, _BACKWARD, _GETTER, _SETTER, _PASS = range(6)
_VIEW_GETTERS = {"data", "T", "mT", "H", "mH", "real", "imag"}
_INPLACE_DUNDERS = {"__setitem__", "__iadd__", "__isub__", "__imul__", "__itruediv__", "__ifloordiv__",
                    "__imod__", "__ipow__", "__iand__", "__ior__", "__ixor__", "__ilshift__", "__irshift__",
                    "__imatmul__"}
_BACKWARDS = {"backward", "grad"}
# losses given (input, target)
_LOSSES = {"mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "cross_entropy", "nll_loss", "binary_cross_entropy",
           "binary_cross_entropy_with_logits", "kl_div", "poisson_nll_loss", "soft_margin_loss",
           "multilabel_soft_margin_loss", "multi_margin_loss", "hinge_embedding_loss"}
_ELEMENTWISE = {"mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss"}  # losses that broadcast, with a warning
# tensor methods that nn.Module has too (in place there)
MODULE_METHODS = frozenset({"float", "double", "half", "bfloat16", "to", "cuda", "cpu", "type"})
_DROPOUTS = {"dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout", "feature_alpha_dropout"}
_SHAPE_ONLY = {"view", "reshape", "flatten", "squeeze", "unsqueeze", "permute", "transpose", "contiguous", "to",
               "float", "__getitem__"}
# operations that can make NaN or inf out of finite values
_RISKY = {"log", "log2", "log10", "log1p", "sqrt", "rsqrt", "div", "true_divide", "__truediv__", "__rtruediv__",
          "__floordiv__", "__rfloordiv__", "reciprocal", "pow", "__pow__", "__rpow__", "float_power", "exp", "exp2",
          "expm1", "acos", "asin", "atanh", "acosh", "lgamma", "digamma", "polygamma", "erfinv", "logit", "xlogy",
          "tan", "std", "var", "std_mean", "var_mean", "mean", "kl_div", "fmod", "remainder", "__mod__"}
_NOT_INPLACE = {"requires_grad_", "share_memory_", "retain_grad_", "pin_memory_", "record_stream_"}


@dataclass(eq=False)
class Change:
    """An in-place change the user's code made to a tensor, and its values after it."""

    op: str
    site: Site | None
    lo: float | None = None
    hi: float | None = None
    value: Any = None  # for a `requires_grad` assignment: the value assigned
    cell_line: int | None = None  # the diagnosed cell's line running when it happened
    module: Any = None  # weak reference to the layer whose forward made the change, if one did


@dataclass(eq=False)
class Backward:
    """A backward call: the record of what it was called on, where, and how many backward
    passes had run before it."""

    subject: "Record | None"
    site: Site | None
    generation: int
    frees: bool = True  # it frees the graph it goes through (no retain_graph, no create_graph)


# reading a tensor's values out as Python numbers: what is made from them has no history
_READ_OUT = frozenset({"item", "tolist", "__float__", "__int__"})


class Record:
    """How one tensor came to be. `op` is None for a tensor made before the run (or by code
    the recorder does not see, like `torch.from_numpy`): the run only saw it used."""

    __slots__ = ("op", "inputs", "site", "dtype", "shape", "device", "requires_grad", "grad_fn", "grad_enabled",
                 "inference", "generation", "order", "lo", "hi", "finite", "parameter", "changes", "ref",
                 "cell_line")

    def __init__(self, op: str | None, inputs: tuple["Record", ...], site: Site | None, dtype: Any,
                 shape: tuple[int, ...], device: Any, requires_grad: bool, grad_fn: str, grad_enabled: bool,
                 inference: bool, generation: int, order: int, parameter: bool = False, ref: Any = None):
        self.op, self.inputs, self.site = op, inputs, site
        self.dtype, self.shape, self.device = dtype, shape, device
        self.requires_grad, self.grad_fn, self.grad_enabled, self.inference = requires_grad, grad_fn, grad_enabled, inference
        self.generation, self.order, self.parameter, self.ref = generation, order, parameter, ref
        self.lo: float | None = None
        self.hi: float | None = None
        self.finite: bool | None = None
        self.changes: list[Change] = []
        self.cell_line: int | None = None  # the diagnosed cell's line running when it was made

    def __repr__(self) -> str:
        where = f"{self.site.filename}:{self.site.line}" if self.site else "?"
        return f"<Record {self.op} {tuple(self.shape)} {self.dtype} at {where}>"

    @property
    def tensor(self) -> Any:
        """The tensor, if it is still alive."""
        return self.ref() if self.ref is not None else None

    @property
    def made(self) -> bool:
        """Whether the run saw the operation that made the tensor."""
        return self.op is not None


def _name(func: Callable) -> str:
    owner = getattr(func, "__self__", None)
    name = getattr(func, "__name__", "") or ""
    if name in ("__get__", "__set__") and owner is not None:
        return getattr(owner, "__name__", name)
    return name


def _classify(func: Callable) -> int:
    name = getattr(func, "__name__", "") or ""
    owner = getattr(func, "__self__", None)
    if name == "__get__":
        return _GETTER if getattr(owner, "__name__", "") in _VIEW_GETTERS else _PASS
    if name == "__set__":
        return _SETTER if getattr(owner, "__name__", "") in ("requires_grad", "data") else _PASS
    if name in _BACKWARDS and ("autograd" in (getattr(func, "__module__", "") or "") or name == "backward"):
        return _BACKWARD
    if name in _INPLACE_DUNDERS or (name.endswith("_") and not name.startswith("_") and name not in _NOT_INPLACE):
        return _INPLACE
    if name in ("requires_grad_",):
        return _SETTER
    return _NEW


_INPLACE_FLAG = {"relu", "relu6", "leaky_relu", "elu", "selu", "celu", "rrelu", "hardtanh", "threshold", "silu",
                 "mish", "hardswish", "hardsigmoid", "dropout", "dropout1d", "dropout2d", "dropout3d",
                 "alpha_dropout", "feature_alpha_dropout"}


def _inplace_call(func: Callable, args: tuple, kwargs: dict | None) -> bool:
    """Whether a functional call asked to work in place (`inplace=True`, by keyword or, as the
    layers pass it, positionally)."""
    if getattr(func, "__name__", "") not in _INPLACE_FLAG:
        return False
    if kwargs and kwargs.get("inplace") is True:
        return True
    index = _inplace_index(func)
    return index is not None and len(args) > index and args[index] is True


_inplace_indices: dict[Any, int | None] = {}


def _inplace_index(func: Callable) -> int | None:
    """The position of a functional's `inplace` parameter (from its signature, once)."""
    if func not in _inplace_indices:
        import inspect

        try:
            names = list(inspect.signature(func).parameters)
            _inplace_indices[func] = names.index("inplace") if "inplace" in names else None
        except (TypeError, ValueError):
            _inplace_indices[func] = None
    return _inplace_indices[func]


def _compiling_check() -> Callable[[], bool]:
    """`torch.compiler.is_compiling`, or a stand-in where torch has none."""
    import torch

    return getattr(getattr(torch, "compiler", None), "is_compiling", None) or (lambda: False)


_method_code_sets: dict[type, frozenset] = {}


def _method_codes(cls: type) -> frozenset:
    """The code objects of the methods a class and its bases define: a frame running one of
    them is the object's own code (told without reading the frame's locals, which would keep
    a snapshot of them on the frame)."""
    codes = _method_code_sets.get(cls)
    if codes is None:
        found = set()
        for klass in cls.__mro__:
            for value in vars(klass).values():
                code = getattr(getattr(value, "__func__", value), "__code__", None)
                if code is not None:
                    found.add(code)
        codes = _method_code_sets[cls] = frozenset(found)
    return codes


def _running_layer(frame: Any, stop: Any, kind: type) -> Any:
    """The nn.Module whose method runs in the frames from `frame` up to (not including) `stop`;
    only frames of methods are read."""
    while frame is not None and frame is not stop:
        if frame.f_code.co_name in ("forward", "_conv_forward", "_call_impl") or "self" in frame.f_code.co_varnames[:1]:
            layer = frame.f_locals.get("self")
            if isinstance(layer, kind):
                return layer
        frame = frame.f_back
    return None


def _tensors(args: tuple, kwargs: dict | None, torch: Any) -> list[Any]:
    """The tensors among a call's arguments, one level into lists and tuples (`torch.cat([a, b])`)."""
    found = []
    Tensor = torch.Tensor
    for value in (*args, *(kwargs.values() if kwargs else ())):
        if isinstance(value, Tensor):
            found.append(value)
        elif isinstance(value, (list, tuple)):
            found.extend(v for v in value if isinstance(v, Tensor))
    return found


def summarise(tensor: Any) -> tuple[float | None, float | None, bool | None]:
    """(min, max, all finite) of a small CPU tensor; Nones where it is too big or not real."""
    try:
        import torch

        if tensor.device.type != "cpu" or tensor.layout != torch.strided or tensor.is_complex() \
                or tensor.numel() > SUMMARY_LIMIT:
            return None, None, None
        if tensor.numel() == 0:
            return None, None, True
        with torch._C.DisableTorchFunction():
            values = tensor.detach()
            if values.dtype == torch.bool:
                return float(values.all()), float(values.any()), True
            lo, hi = (v.item() for v in torch.aminmax(values))
        finite = all(v == v and abs(v) != float("inf") for v in (lo, hi))
        return lo, hi, finite
    except Exception:
        return None, None, None


class Recorder:
    """Records what each torch operation of a run made (see the module's docstring).

    Use as a context manager: it enters a `TorchFunctionMode` and registers the module
    registration hooks; both are removed on exit, also when the run is interrupted."""

    def __init__(self, user: UserCode, check_finite: bool = True):
        import torch
        from torch.utils.weak import WeakTensorKeyDictionary

        self.user = user
        self.check_finite = check_finite
        self.table: Any = WeakTensorKeyDictionary()
        self.built: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        # the diagnosed cell's line that was running when a module was built in an earlier
        # cell's class (`UNet(...)` on the cell's line 1 building a layer in its `__init__`)
        self.built_from: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self.generation = 0  # backward passes run so far
        self.backwards: list[Backward] = []  # the last backward calls, the failing one too
        self.changed: list[Record] = []  # records of tensors the run changed in place
        self.steps: list[tuple[Any, Site, int]] = []  # optimizer steps: (optimizer ref, site, generation)
        # lines where values of a tensor with history were read out as Python numbers (`.item()`)
        self.read_out: set[tuple[str, int]] = set()
        # lines where a tensor ran a method that modules have too (`x.to(device)`, `x.float()`)
        self.tensor_calls: set[tuple[str, int, str]] = set()
        self.first_nonfinite: Record | None = None
        self.count = 0
        self._kinds: dict[Any, int] = {}
        self._torch = torch
        self._mode: Any = None
        self._handles: list[Any] = []
        self._paused: list[Any] = []  # the mode set aside while an optimizer steps
        self._from_numpy: Any = None  # torch.from_numpy, while the recording wrapper stands in
        self.monitors: Any = None  # the run's monitors (evidence.monitors.Monitors), told what the mode sees

    # ---------------------------------------------------------------- lifecycle
    def __enter__(self) -> "Recorder":
        from torch.nn.modules import module as module_hooks
        from torch.overrides import TorchFunctionMode

        kinds, classify, call = self._kinds, _classify, self._call
        compiling = _compiling_check()

        class _Mode(TorchFunctionMode):
            def __torch_function__(self, func, types, args=(), kwargs=None):
                __tracebackhide__ = True
                if compiling():  # torch.compile traces through modes: it must see only the op
                    return func(*args, **(kwargs or {}))
                kind = kinds.get(func)
                if kind is None:
                    kind = classify(func)
                    try:
                        kinds[func] = kind
                    except TypeError:  # an unhashable callable
                        pass
                if kind == _PASS:
                    return func(*args, **(kwargs or {}))
                return call(kind, func, args, kwargs)

        from torch.optim import optimizer as optimizer_hooks

        self._handles = [
            module_hooks.register_module_parameter_registration_hook(self._registered),
            module_hooks.register_module_module_registration_hook(self._registered),
            module_hooks.register_module_buffer_registration_hook(self._registered),
            optimizer_hooks.register_optimizer_step_pre_hook(self._step_begins),
            optimizer_hooks.register_optimizer_step_post_hook(self._step_ends),
        ]
        self._mode = _Mode()
        try:
            self._mode.__enter__()
        except BaseException:
            self._remove_hooks()
            raise
        self._wrap_from_numpy()
        return self

    def _wrap_from_numpy(self) -> None:
        """`torch.from_numpy` takes no tensor, so no mode sees it: while recording, the name in
        the torch module calls through a recording wrapper (put back on exit)."""
        torch = self._torch
        original = torch.from_numpy
        recorder = self

        def from_numpy(array: Any) -> Any:
            __tracebackhide__ = True
            out = original(array)
            try:
                frame, _, _ = recorder.user.caller(sys._getframe(1))
                if recorder.count < RECORD_LIMIT and out not in recorder.table:
                    site = site_of(frame) if frame is not None else None
                    record = recorder.table[out] = recorder._record("from_numpy", (), site, out)
                    if site is not None and site.filename != recorder.user.cell:
                        record.cell_line = recorder.user.cell_line(frame)
            except Exception:
                pass
            return out

        from_numpy.__doc__ = original.__doc__
        self._from_numpy = original
        torch.from_numpy = from_numpy

    def __exit__(self, *exc: Any) -> None:
        if self._from_numpy is not None:
            self._torch.from_numpy = self._from_numpy
            self._from_numpy = None
        try:
            while self._paused:  # a step that raised never reached its post hook
                paused = self._paused.pop()
                if paused is not None:
                    paused.__exit__(None, None, None)
            if self._mode is not None:
                self._mode.__exit__(*exc)
        finally:
            self._mode = None
            self._remove_hooks()

    def _step_begins(self, optimizer: Any, args: Any, kwargs: Any) -> None:
        """An optimizer step does hundreds of small operations on its own state and none that
        a diagnosis asks about: the mode steps aside for it."""
        from torch import overrides

        try:
            frame, _, _ = self.user.caller(sys._getframe(1))
            if frame is not None:
                self.steps.append((weakref.ref(optimizer), site_of(frame), self.generation))
                del self.steps[:-256]
        except Exception:
            pass
        # a step given a closure runs the user's forward and backward inside it: keep recording
        closure = (kwargs or {}).get("closure") or next((a for a in args or () if callable(a) and a is not optimizer),
                                                         None)
        if closure is None and self._mode is not None and overrides._get_current_function_mode() is self._mode:
            paused = overrides._pop_mode_temporarily()
            paused.__enter__()
            self._paused.append(paused)
        else:
            self._paused.append(None)

    def _step_ends(self, optimizer: Any, args: Any, kwargs: Any) -> None:
        if self._paused:
            paused = self._paused.pop()
            if paused is not None:
                paused.__exit__(None, None, None)

    def _remove_hooks(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []

    # ---------------------------------------------------------------- the mode
    def _call(self, kind: int, func: Callable, args: tuple, kwargs: dict | None) -> Any:
        __tracebackhide__ = True
        if kind == _BACKWARD:
            return self._backward(func, args, kwargs)
        out = func(*args, **(kwargs or {}))
        if self.monitors is not None and self.monitors.pending:
            self.monitors.used(args, kwargs)  # a parameter's view read after a step changed it
        # frame 2 is the code that called the torch function; a layer's, an optimizer's or the
        # data loader's own calls are told apart from the user's by the code between them
        caller = sys._getframe(2)
        user = self.user
        if kind == _INPLACE and self.monitors is not None and args and getattr(func, "__name__", "") == "zero_":
            self.monitors.zeroed(args[0])  # `zero_grad(set_to_none=False)` zeroes gradients in place
        if user.kind(caller.f_code) == _OPTIMIZER_CODE or self.count >= RECORD_LIMIT:
            return out
        try:
            if kind == _NEW and args and out is args[0] and _inplace_call(func, args, kwargs):
                self._changed(func, args, _INPLACE, caller)  # `F.relu(x, inplace=True)`
            elif kind == _NEW or kind == _GETTER:
                self._made(func, args, kwargs, out, caller)
            elif kind == _INPLACE or kind == _SETTER:
                self._changed(func, args, kind, caller)
        except Exception:  # the record is best effort: never the user's problem
            pass
        return out

    def _backward(self, func: Callable, args: tuple, kwargs: dict | None) -> Any:
        """A backward pass: kept with what it was called on and where, before it runs (it may
        fail), and counted once it has run."""
        __tracebackhide__ = True
        try:
            subject = args[0] if args else (kwargs or {}).get("tensors")
            if isinstance(subject, (list, tuple)):
                subject = subject[0] if subject else None
            frame, _, _ = self.user.caller(sys._getframe(3))
            record = self._seen(subject) if isinstance(subject, self._torch.Tensor) else None
            options = kwargs or {}
            keeps = options.get("retain_graph") or options.get("create_graph")
            self.backwards.append(Backward(record, site_of(frame) if frame is not None else None, self.generation,
                                           frees=not keeps))
            del self.backwards[:-64]
        except Exception:
            pass
        out = func(*args, **(kwargs or {}))
        self.generation += 1
        return out

    def _made(self, func: Callable, args: tuple, kwargs: dict | None, out: Any, caller: Any) -> None:
        Tensor = self._torch.Tensor
        if type(out) is Tensor or isinstance(out, Tensor):
            outputs: tuple = (out,)
        elif isinstance(out, (tuple, list)) and any(isinstance(o, Tensor) for o in out):
            outputs = tuple(o for o in out if isinstance(o, Tensor))
        else:
            if args and isinstance(args[0], Tensor) and args[0].requires_grad and _name(func) in _READ_OUT:
                frame, _, _ = self.user.caller(caller)
                if frame is not None and len(self.read_out) < 256:
                    site = site_of(frame)
                    self.read_out.add((site.filename, site.line))
            return
        frame, _, optimizer = self.user.caller(caller)
        if optimizer:
            return  # an optimizer's own bookkeeping
        inputs_t = _tensors(args, kwargs, self._torch)
        site = site_of(frame) if frame is not None else None
        cell_line = self.user.cell_line(frame) if site is not None and site.filename != self.user.cell else None
        table = self.table
        inputs = tuple(self._seen(t) for t in inputs_t)
        name = _name(func)
        if name in MODULE_METHODS and site is not None and frame is caller and len(self.tensor_calls) < 256:
            self.tensor_calls.add((site.filename, site.line, name))
        for o in outputs:
            if any(o is t for t in inputs_t) or o in table:
                continue  # handed back (`x.to(x.device)`), or recorded already
            record = table[o] = self._record(name, inputs, site, o)
            record.cell_line = cell_line
            if name in ("detach", "data") and inputs and inputs[0].parameter and self.monitors is not None:
                self.monitors.param_view(o, record)
        if name in _LOSSES and self.monitors is not None and frame is not None:
            self._loss_facts(name, args, kwargs, inputs, frame)
        elif name in _DROPOUTS and self.monitors is not None and frame is not None:
            # torch hands every argument on by keyword: whether the user wrote `training=` is
            # read from the line that called it
            explicit = "training" in self.user.text(site_of(frame))
            training = (kwargs or {}).get("training", args[2] if len(args) > 2 else True)
            layer = _running_layer(caller, frame.f_back, self._torch.nn.Module)
            # on in a layer in eval mode, or left at its default while nothing is trained
            # (autograd off: an evaluation written with tensors, outside any layer)
            if training is True and (layer is not None and not layer.training
                                     or layer is None and not explicit and not self._torch.is_grad_enabled()):
                self.monitors.observe("dropout-in-eval", frame, op=f"F.{name}")

    def _loss_facts(self, name: str, args: tuple, kwargs: dict | None, inputs: tuple, frame: Any) -> None:
        """What a loss was given: a target that requires grad, a (log-)softmax output where the
        loss applies log-softmax itself."""
        target = args[1] if len(args) > 1 else (kwargs or {}).get("target")
        if isinstance(target, self._torch.Tensor) and target.requires_grad:
            self.monitors.observe("target-requires-grad", frame, loss=name, record=self.table.get(target))
        if name == "cross_entropy" and inputs:
            trail = [inputs[0]]
            while trail[-1].op in _SHAPE_ONLY and trail[-1].inputs:
                trail.append(trail[-1].inputs[0])
            if trail[-1].op in ("softmax", "log_softmax"):
                self.monitors.observe("softmax-into-loss", frame, loss=name, op=trail[-1].op, record=trail[-1])
            elif self._rows_are_probabilities(args[0] if args else None):
                # a softmax mixed on the way (attention weights over one-hot labels): the
                # values say what the history does not
                self.monitors.observe("softmax-into-loss", frame, loss=name, op="softmax", record=inputs[0],
                                      mixed=True)
        if name in _ELEMENTWISE and len(inputs) > 1:
            predicted, target = inputs[0].shape, inputs[1].shape
            if predicted != target and self._broadcasts(predicted, target):
                self.monitors.observe("loss-broadcast", frame, loss=name, input=inputs[0], target=inputs[1])

    def _broadcasts(self, a: tuple, b: tuple) -> bool:
        """Whether shapes `a` and `b` broadcast to a bigger shape than `a`: every prediction is
        compared with several targets."""
        try:
            return tuple(self._torch.broadcast_shapes(a, b)) != tuple(a)
        except RuntimeError:
            return False

    def _rows_are_probabilities(self, logits: Any) -> bool:
        """Whether every row of a classification input is a probability distribution: no
        negative value, and each row over the class dimension sums to 1."""
        torch = self._torch
        if not isinstance(logits, torch.Tensor) or logits.dim() < 2 or logits.shape[1] < 2 \
                or not logits.is_floating_point() or logits.numel() == 0:
            return False
        with torch._C.DisableTorchFunction(), torch.no_grad():
            values = logits.detach()
            if bool((values < 0).any()):
                return False
            return bool(((values.sum(1) - 1).abs() < 1e-4).all())

    def _record(self, op: str | None, inputs: tuple, site: Site | None, tensor: Any) -> Record:
        torch = self._torch
        self.count += 1
        grad_fn = tensor.grad_fn
        record = Record(op, inputs, site, tensor.dtype, tuple(tensor.shape), tensor.device, tensor.requires_grad,
                        type(grad_fn).__name__ if grad_fn is not None else "", torch.is_grad_enabled(),
                        tensor.is_inference(), self.generation, self.count, isinstance(tensor, torch.nn.Parameter),
                        weakref.ref(tensor))
        if tensor.is_floating_point():
            # NaN and inf come from few operations (log, division, sqrt...) or from data: only
            # those are looked at, so a run does not pay a reduction for every operation
            if self.check_finite and self.first_nonfinite is None and (op is None or op in _RISKY) \
                    and tensor.device.type == "cpu":
                with torch._C.DisableTorchFunction():
                    record.finite = bool(torch.isfinite(tensor).all())
                if not record.finite:
                    self.first_nonfinite = record
        elif op is not None and tensor.device.type == "cpu" and tensor.numel() <= SUMMARY_LIMIT:
            record.lo, record.hi, record.finite = summarise(tensor)
        return record

    def _seen(self, tensor: Any) -> Record:
        """The record of a tensor used by an operation; one without `op` if the run never saw it made."""
        record = self.table.get(tensor)
        if record is None:
            record = self._record(None, (), None, tensor)
            self.table[tensor] = record
        return record

    def _changed(self, func: Callable, args: tuple, kind: int, caller: Any) -> None:
        if not args or not isinstance(args[0], self._torch.Tensor):
            return
        frame, direct, _ = self.user.caller(caller)
        if frame is None or (not direct and caller.f_code.co_filename.replace("\\", "/").endswith("/nn/init.py")):
            return  # an initialiser's own in-place work
        target = args[0]
        record = self._seen(target)
        if not record.changes:
            self.changed.append(record)
        name = _name(func)
        change = Change(op=name, site=site_of(frame))
        if change.site.filename != self.user.cell:
            change.cell_line = self.user.cell_line(frame)
        if not direct:  # a layer's own in-place work (`inplace=True`): remember which layer
            layer = _running_layer(caller, frame, self._torch.nn.Module)
            if layer is not None:
                change.module = weakref.ref(layer)
        if kind == _SETTER:
            change.value = args[1] if len(args) > 1 else True
        elif not target.is_floating_point() or name == "__setitem__":
            change.lo, change.hi, _ = summarise(target)
        record.changes.append(change)

    # ---------------------------------------------------------------- modules
    def _built(self, module: Any, frame: Any) -> None:
        site = self.built[module] = site_of(frame)
        if site.filename != self.user.cell:
            line = self.user.cell_line(frame)
            if line is not None:
                self.built_from[module] = line

    def _registered(self, module: Any, name: str, value: Any) -> Any:
        """A module (or parameter, buffer) registered on `module`: while its `__init__` runs,
        this says where it is being built: the nearest user frame outside its own methods. A
        child without parameters of its own (a ReLU, a Dropout) gets its parent's line."""
        try:
            if isinstance(value, self._torch.nn.Module) and value not in self.built:
                found, _, _ = self.user.caller(sys._getframe(1))
                if found is not None:
                    self._built(value, found)
            if module in self.built:
                return None
            frame = sys._getframe(1)
            while frame is not None:
                found, _, _ = self.user.caller(frame)
                if found is None:
                    return None
                if found.f_code not in _method_codes(type(module)):
                    self._built(module, found)
                    return None
                frame = found.f_back
        except Exception:
            pass
        return None
