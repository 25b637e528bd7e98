"""Monitors: what PyTorch's hooks saw while a diagnosed cell ran, for the silent checks.

:class:`Monitors` is entered with the provenance recorder. Through PyTorch's global hooks it
keeps:

- each forward call of a module made by the user's code (not the layers a module calls
  inside its own forward): the module, whether it was in training mode, whether autograd
  was recording, the line of the user's code that called it and the diagnosed cell's line
  running then, and its output's record;
- each optimizer step: the optimizer, its line, the backward passes run before it, and
  whether the gradients of its parameters were reset (`zero_grad`) since its previous step;
- facts the provenance recorder notes on the way (:class:`Observation`): a loss given a target
  that requires grad, a (log-)softmax output given to a loss that applies log-softmax itself;
- layer to layer, at any depth: a convolution with a bias whose output went straight into a
  BatchNorm (`conv_then_norm`);
- forwards run by threads other than the main one (`threads`: each thread and the diagnosed
  cell's line the main thread was running then);
- whether Python's and NumPy's global random generators were drawn from during the run
  (`drew`: compared states, nothing hooked);
- detached views of parameters (`p.detach()`, `p.data`, `state_dict()` entries) still held
  when an optimizer step changed them, and read again afterwards (`stale`);
- tensors alive at the end whose autograd graph holds the graphs of losses that earlier steps
  already backpropagated (`kept`: a running total of losses, wherever it is kept). The losses'
  graph nodes are told apart by their `metadata` dicts (kept, not the nodes).

Everything is plain data or kept weakly, bounded in size, except the models whose forwards it
saw: those are held as long as the evidence is (the diagnosis of the run), so that a model made
on the fly can still be read. The hooks are removed on exit, also when the run is interrupted. The facts are the run's; turning them into findings is
the pitfall families' business (their `@audit` checks).
"""
from __future__ import annotations

import itertools
import sys
import threading
import weakref
from dataclasses import dataclass, field
from typing import Any

from .sites import Site, UserCode, site_of

_FORWARD_LIMIT = 2000  # forward calls kept (the first ones of each kind are enough)
_STEP_LIMIT = 2000


@dataclass(eq=False)
class Forward:
    """One forward call of a module by the user's code."""

    module: Any  # weak reference
    training: bool
    grad_enabled: bool
    site: Site | None
    cell_line: int | None  # the diagnosed cell's line running then
    output: Any = None  # the record of its output, when there is one
    generation: int = 0  # backward passes run before it
    count: int = 1  # how many times the same call was made (same module, line and modes)
    graph: bool = False  # its output carried autograd history
    frozen_norms: int = 0  # BatchNorm layers in training mode then whose weights require no grad
    last_generation: int = 0  # backward passes run before its latest call

    @property
    def layer(self) -> Any:
        return self.module()


@dataclass(eq=False)
class Step:
    """One optimizer step."""

    optimizer: Any  # weak reference
    site: Site | None
    cell_line: int | None
    generation: int  # backward passes run before it
    reset: bool  # the gradients of its parameters were reset since its previous step
    first: bool  # its first step in the run


@dataclass(eq=False)
class Observation:
    """A fact the run showed about one of the user's lines: `kind` says which."""

    kind: str  # "target-requires-grad", "softmax-into-loss"
    site: Site | None
    cell_line: int | None
    facts: dict[str, Any] = field(default_factory=dict)


class Monitors:
    """The hooks behind the facts above; a context manager."""

    def __init__(self, user: UserCode, recorder: Any = None):
        import torch

        self.user = user
        self.recorder = recorder
        self.forwards: list[Forward] = []
        self.steps: list[Step] = []
        self.observations: list[Observation] = []
        self._torch = torch
        self._depth = 0  # modules whose forward is running now
        self._handles: list[Any] = []
        self._grads: dict[int, dict[int, Any]] = {}  # id(optimizer) -> its parameters' gradients at its step
        from torch.utils.weak import WeakTensorKeyDictionary

        self._zeroed: Any = WeakTensorKeyDictionary()  # tensors zeroed in place
        self._seen_forwards: dict[tuple, Forward] = {}
        self._step_counts: dict[int, int] = {}
        self._held: dict[int, Any] = {}  # the models of the forwards, while the evidence lives
        self.conv_then_norm: list[tuple[Any, Any]] = []  # (conv, norm) weak references
        self._conv_out: Any = WeakTensorKeyDictionary()  # a biased convolution's output -> the layer (weakly)
        self._views: list[tuple[Any, Any]] = []  # (tensor weakly, its record): detached views of parameters
        self.pending: dict[int, tuple[Any, Any]] = {}  # id -> (view weakly, record): alive when a step changed it
        self.stale: list[Any] = []  # records of such views read again after that step
        # id(graph node near a stepped loss's top) -> (its metadata dict, which step's loss)
        self._losses: dict[int, tuple[Any, int]] = {}
        self._marked = 0  # losses marked
        self.kept: list[Any] = []  # records of tensors whose graph holds several stepped losses' graphs
        self.threads: dict[int, int | None] = {}  # thread id -> the cell's line the main thread ran then
        self.drew: dict[str, bool] = {}  # "random" / "numpy" / "torch" -> its global generator moved during the run
        self.seeded_torch = False  # torch's global generator was seeded during the run (by any code)
        self._rng_states: dict[str, Any] = {}
        self._torch_seed: int | None = None
        self._main = threading.main_thread().ident

    # ---------------------------------------------------------------- lifecycle
    def __enter__(self) -> "Monitors":
        from torch.nn.modules import module as module_hooks
        from torch.optim import optimizer as optimizer_hooks

        self._rng_states = _rng_states()
        self._torch_seed = _initial_seed()
        try:
            self._handles = [
                module_hooks.register_module_forward_pre_hook(self._before_forward),
                module_hooks.register_module_forward_hook(self._after_forward, always_call=True),
                optimizer_hooks.register_optimizer_step_pre_hook(self._before_step),
            ]
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc: Any) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []
        try:
            self._find_kept_graphs()
        except Exception:
            pass
        self._losses = {}
        self._marked = 0
        try:
            after = _rng_states()
            self.drew = {k: not _same_state(v, after.get(k)) for k, v in self._rng_states.items()}
            self.seeded_torch = _initial_seed() != self._torch_seed
        except Exception:
            pass
        self._rng_states = {}

    # ---------------------------------------------------------------- forwards
    def _before_forward(self, module: Any, args: Any) -> None:
        self._depth += 1
        thread = threading.get_ident()
        if thread != self._main and thread not in self.threads and len(self.threads) < 64:
            self.threads[thread] = self._main_cell_line()
        if self._conv_out and args and len(self.conv_then_norm) < 16:
            try:
                if isinstance(module, self._torch.nn.modules.batchnorm._BatchNorm):
                    conv = self._conv_out.get(args[0])
                    if conv is not None and conv() is not None \
                            and not any(c is conv for c, _ in self.conv_then_norm):
                        self.conv_then_norm.append((conv, weakref.ref(module)))
            except Exception:
                pass
        return None

    def _after_forward(self, module: Any, args: Any, output: Any) -> None:
        self._depth -= 1
        torch = self._torch
        try:
            if isinstance(module, torch.nn.modules.conv._ConvNd) and module.bias is not None \
                    and isinstance(output, torch.Tensor):
                self._conv_out[output] = weakref.ref(module)
        except Exception:
            pass
        if self._depth or len(self.forwards) >= _FORWARD_LIMIT:
            return None
        try:
            frame, _, _ = self.user.caller(sys._getframe(1))
            if frame is None:
                return None
            torch = self._torch
            site = site_of(frame)
            training, grad = bool(module.training), torch.is_grad_enabled()
            key = (id(module), site, training, grad)
            seen = self._seen_forwards.get(key)
            if seen is not None:  # a loop makes the same call again and again: counted, kept once
                seen.count += 1
                if self.recorder is not None:
                    seen.last_generation = self.recorder.generation
                return None
            recorder = self.recorder
            record = recorder.table.get(output) if recorder is not None and isinstance(output, torch.Tensor) else None
            cell_line = site.line if site.filename == self.user.cell else self.user.cell_line(frame)
            forward = Forward(weakref.ref(module), training, grad, site, cell_line, record,
                              recorder.generation if recorder is not None else 0,
                              graph=isinstance(output, torch.Tensor) and output.grad_fn is not None,
                              frozen_norms=_frozen_norms(torch, module) if training else 0,
                              last_generation=recorder.generation if recorder is not None else 0)
            # a model the cell makes on the fly (`train(Net(), ...)`) is gone when the run ends:
            # kept until the diagnosis is done with the evidence, then let go with it
            self._held.setdefault(id(module), module)
            self._seen_forwards[key] = forward
            self.forwards.append(forward)
        except Exception:
            pass
        return None

    # ---------------------------------------------------------------- optimizer steps
    def _before_step(self, optimizer: Any, args: Any, kwargs: Any) -> None:
        count = self._step_counts.get(id(optimizer), 0)
        self._step_counts[id(optimizer)] = count + 1
        if self._views:
            self._changing(optimizer)
        if count == 3 and not self.kept:
            # a running total reset every few steps (`loss_sum = 0` each epoch) holds the first
            # losses' graphs now, not at the end of the run
            try:
                self._find_kept_graphs(budget=5_000)
            except Exception:
                pass
        if count >= 3:  # a loop steps the same way every time: its first steps tell
            return None
        self._mark_loss()
        try:
            params = [p for group in optimizer.param_groups for p in group["params"]]
            before = self._grads.get(id(optimizer))
            # gradients were reset when a parameter holds a new gradient tensor (`.grad = None`,
            # then a backward pass made one) or its old one was zeroed in place
            reset = before is not None and any(
                p.grad is not None and (before.get(id(p)) is None or before[id(p)]() is not p.grad
                                        or p.grad in self._zeroed)
                for p in params)
            self._grads[id(optimizer)] = {id(p): weakref.ref(p.grad) for p in params if p.grad is not None}
            if len(self.steps) < _STEP_LIMIT:
                frame, _, _ = self.user.caller(sys._getframe(1))
                site = site_of(frame) if frame is not None else None
                cell_line = None
                if site is not None:
                    cell_line = site.line if site.filename == self.user.cell else self.user.cell_line(frame)
                generation = self.recorder.generation if self.recorder is not None else 0
                self.steps.append(Step(weakref.ref(optimizer), site, cell_line, generation, reset, before is None))
        except Exception:
            pass
        return None

    def _main_cell_line(self) -> int | None:
        """The diagnosed cell's line the main thread is running now (seen from another thread)."""
        frame = sys._current_frames().get(self._main)
        try:
            return self.user.cell_line(frame)
        finally:
            del frame

    def _mark_loss(self) -> None:
        """Remember the graph of the loss the last backward pass went through: its top node and
        the nodes just under it, the loss's terms (`loss = seg + 0.4 * aux`), so that a total
        kept of one term is seen too. Parameters' own nodes are shared by every step: not marked."""
        recorder = self.recorder
        if recorder is None or not recorder.backwards or self._marked >= 64:
            return
        subject = recorder.backwards[-1].subject
        tensor = subject.tensor if subject is not None else None
        grad_fn = getattr(tensor, "grad_fn", None)
        if grad_fn is None:
            return
        self._marked += 1
        level = [grad_fn]
        for _ in range(3):
            below = []
            for node in level[:16]:
                if node is None or hasattr(node, "variable"):  # AccumulateGrad: a parameter's
                    continue
                self._losses[id(node)] = (node.metadata, self._marked)
                below.extend(n for n, _ in node.next_functions)
            level = below

    def _find_kept_graphs(self, budget: int = 20_000) -> None:
        """The recorded tensors still alive whose graphs reach the graphs of two or more stepped
        losses."""
        if self._marked < 2 or self.recorder is None or self.kept:
            return
        seen: set[int] = set()
        for tensor, record in list(itertools.islice(self.recorder.table.items(), 50_000)):
            root = tensor.grad_fn
            if root is None or id(root) in seen or record.site is None:
                continue
            steps: set[int] = set()
            stack = [root]
            while stack and budget > 0:
                node = stack.pop()
                if node is None or id(node) in seen:
                    continue
                seen.add(id(node))
                budget -= 1
                marked = self._losses.get(id(node))
                if marked is not None and node.metadata is marked[0]:
                    steps.add(marked[1])
                stack.extend(n for n, _ in node.next_functions)
            if len(steps) >= 2:
                self.kept.append(record)
                return
            if budget <= 0:
                return

    def param_view(self, tensor: Any, record: Any) -> None:
        """Note a tensor without history that shares a parameter's memory (`p.detach()`,
        `p.data`, a `state_dict()` entry), made by the user's code."""
        self._views.append((weakref.ref(tensor), record))
        del self._views[:-256]

    def _changing(self, optimizer: Any) -> None:
        """An optimizer is about to change its parameters: the views of them still alive are
        kept as snapshots that will change with them."""
        try:
            memory = {p.untyped_storage().data_ptr() for group in optimizer.param_groups for p in group["params"]}
            kept = []
            for ref, record in self._views:
                tensor = ref()
                if tensor is None:
                    continue
                if tensor.untyped_storage().data_ptr() in memory:
                    if len(self.pending) < 256:
                        self.pending[id(tensor)] = (ref, record)
                else:
                    kept.append((ref, record))
            self._views = kept
        except Exception:
            pass

    def used(self, args: tuple, kwargs: dict | None) -> None:
        """An operation reads its arguments: a view changed by a step since it was taken, read
        now (compared with the new weights, loaded back as the "best" ones), is a stale copy."""
        try:
            for value in (*args, *(kwargs.values() if kwargs else ())):
                for item in value if isinstance(value, (list, tuple)) else (value,):
                    entry = self.pending.get(id(item))
                    if entry is not None and entry[0]() is item:
                        del self.pending[id(item)]
                        if len(self.stale) < 16:
                            self.stale.append(entry[1])
        except Exception:
            pass

    def zeroed(self, tensor: Any) -> None:
        """Note a tensor zeroed in place (`p.grad.zero_()` in `zero_grad(set_to_none=False)`)."""
        try:
            self._zeroed[tensor] = True
        except Exception:
            pass

    # ---------------------------------------------------------------- observations
    def observe(self, kind: str, frame: Any, **facts: Any) -> None:
        """Note a fact about the user's line running in `frame`."""
        if len(self.observations) >= _STEP_LIMIT or frame is None:
            return
        site = site_of(frame)
        cell_line = site.line if site.filename == self.user.cell else self.user.cell_line(frame)
        if any(o.kind == kind and o.site == site for o in self.observations):
            return
        self.observations.append(Observation(kind, site, cell_line, facts))


def _rng_states() -> dict[str, Any]:
    """The states of Python's and (when imported) torch's and NumPy's global random generators."""
    import random

    states: dict[str, Any] = {"random": random.getstate()}
    torch = sys.modules.get("torch")
    if torch is not None:
        try:
            states["torch"] = torch.random.get_rng_state()
        except Exception:
            pass
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        try:
            states["numpy"] = numpy.random.get_state()
        except Exception:
            pass
    return states


def _initial_seed() -> int | None:
    """The seed torch's global generator was last seeded with (changes with every manual_seed)."""
    torch = sys.modules.get("torch")
    try:
        return torch.initial_seed() if torch is not None else None
    except Exception:
        return None


def _same_state(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return True
    if isinstance(a, tuple) and len(a) > 2 and hasattr(a[1], "shape"):  # NumPy's (name, keys, pos, ...)
        return a[2] == b[2] and bool((a[1] == b[1]).all())
    if hasattr(a, "equal"):  # torch's generator state, a byte tensor
        return bool(a.equal(b))
    return a == b


def _frozen_norms(torch: Any, module: Any) -> int:
    """How many of a module's BatchNorm layers are in training mode with weights that require
    no grad: frozen by the user, yet updating their running statistics on this forward."""
    count = 0
    for m in list(module.modules())[:2000]:
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm) and m.training and m.track_running_stats \
                and m.weight is not None and not m.weight.requires_grad:
            count += 1
    return count
