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
  that requires grad, a (log-)softmax output given to a loss that applies log-softmax itself.

Everything is plain data or kept weakly, bounded in size, except the models whose forwards it
saw: those are held as long as the evidence is (the diagnosis of the run), so that a model made
on the fly can still be read. The hooks are removed on exit, also when the run is interrupted. The facts are the run's; turning them into findings is
the pitfall families' business (their `@audit` checks).
"""
from __future__ import annotations

import sys
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

    # ---------------------------------------------------------------- lifecycle
    def __enter__(self) -> "Monitors":
        from torch.nn.modules import module as module_hooks
        from torch.optim import optimizer as optimizer_hooks

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

    # ---------------------------------------------------------------- forwards
    def _before_forward(self, module: Any, args: Any) -> None:
        self._depth += 1
        return None

    def _after_forward(self, module: Any, args: Any, output: Any) -> None:
        self._depth -= 1
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
                return None
            recorder = self.recorder
            record = recorder.table.get(output) if recorder is not None and isinstance(output, torch.Tensor) else None
            cell_line = site.line if site.filename == self.user.cell else self.user.cell_line(frame)
            forward = Forward(weakref.ref(module), training, grad, site, cell_line, record,
                              recorder.generation if recorder is not None else 0,
                              graph=isinstance(output, torch.Tensor) and output.grad_fn is not None)
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
        if count >= 3:  # a loop steps the same way every time: its first steps tell
            return None
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
