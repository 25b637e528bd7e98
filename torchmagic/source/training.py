"""What a cell's code says about training: which calls run backward or an optimizer step,
which update parameters by hand or zero gradients, which modules it freezes, what a loop runs."""
from __future__ import annotations

import ast
from typing import TYPE_CHECKING

from .cellcode import dotted
from .syntax import LOOPS, arg_at, has_grad_attr, is_false, names_in, root_name, walk_body
from .values import MISSING, torch_module

if TYPE_CHECKING:
    from .cell import ModRef


class TrainingQuestions:
    """The training questions of :class:`~torchmagic.source.cell.Cell` (mixed into it)."""

    def trainable(self, ref: ModRef) -> bool:
        """Whether the module has parameters that require grad (unknown classes: assume so)."""
        if ref.obj is not None:
            try:
                return any(p.requires_grad for p in ref.obj.parameters())
            except Exception:
                return True
        if ref.label in self.frozen_in_code():
            return False
        cls = ref.cls
        if isinstance(cls, type):
            mod = getattr(cls, "__module__", "")
            parameter_free = (".loss", ".activation", ".pooling", ".dropout", ".flatten", ".padding",
                              ".pixelshuffle", ".upsampling", ".distance", ".channelshuffle", ".fold")
            if mod.startswith("torch.nn.modules") and mod.endswith(parameter_free) \
                    and cls.__name__ not in ("PReLU", "MultiheadAttention"):
                return False
        return True

    def frozen_in_code(self) -> set[str]:
        """Modules the cell freezes: `m.requires_grad_(False)`, `for p in m.parameters(): p.requires_grad = False`."""
        return self._static(self._frozen_in_code, self.tree)

    def _frozen_in_code(self, tree: ast.AST) -> set[str]:
        frozen: set[str] = set()
        for call in self.calls:
            f = call.func
            if isinstance(f, ast.Attribute) and f.attr == "requires_grad_" and is_false(arg_at(call, 0, "requires_grad")):
                frozen.add(self.text(f.value))
        for loop in self.nodes:
            if isinstance(loop, ast.For) and isinstance(loop.iter, ast.Call) \
                    and isinstance(loop.iter.func, ast.Attribute) and loop.iter.func.attr == "parameters" \
                    and isinstance(loop.target, ast.Name):
                for n in walk_body(loop.body):
                    if isinstance(n, ast.Assign) and is_false(n.value) and any(
                            isinstance(t, ast.Attribute) and t.attr == "requires_grad"
                            and dotted(t.value) == loop.target.id for t in n.targets):
                        frozen.add(self.text(loop.iter.func.value))
        return frozen

    def loss_name(self, call: ast.Call, scope: ast.AST) -> str:
        """'cross_entropy', 'CrossEntropyLoss', ... when `call` computes a torch loss, else ''."""
        key = ("loss_name", id(call))
        if key not in self._cache:
            self._cache[key] = self._loss_name(call, scope)
        return self._cache[key]

    def _loss_name(self, call: ast.Call, scope: ast.AST) -> str:
        name = self.torch_func(call, scope)
        if name:
            return name
        ref = self.module_ref(call.func, scope)
        if ref is not None and isinstance(ref.cls, type):
            try:
                if issubclass(ref.cls, torch_module().nn.modules.loss._Loss) and ref.cls.__module__.startswith("torch"):
                    return ref.cls.__name__
            except Exception:
                return ""
        return ""

    def is_backward(self, call: ast.Call) -> bool:
        f = call.func
        if isinstance(f, ast.Attribute) and f.attr == "backward":
            return True
        return self.path_of(f, self.scope_of(call)) in ("torch.autograd.backward",)

    def grad_calls(self) -> list[ast.Call]:
        """Every backward() / autograd.backward / autograd.grad call in the cell."""
        key = ("grad_calls", 0)
        if key not in self._cache:
            self._cache[key] = [c for c in self.calls if self.is_backward(c) or self.is_autograd_grad(c)]
        return self._cache[key]

    def is_autograd_grad(self, call: ast.Call) -> bool:
        return self.path_of(call.func, self.scope_of(call)) in ("torch.autograd.grad",)

    def is_step(self, call: ast.Call) -> bool:
        """An optimizer step (or a GradScaler step) on an optimizer."""
        f = call.func
        if not (isinstance(f, ast.Attribute) and f.attr == "step"):
            return False
        scope = self.scope_of(call)
        value = self.resolve(f.value, scope)
        if value is not MISSING:
            torch = torch_module()
            if isinstance(value, torch.optim.Optimizer):
                return True
            return "GradScaler" in type(value).__name__
        name = dotted(f.value) or ""
        root = root_name(f.value)
        if root:
            b = self.binding(root, scope, call.lineno)
            if b is not None and b.kind == "assign" and isinstance(b.value, ast.Call):
                path = self.path_of(b.value.func, self.scope_of(b.node))
                if path.startswith("torch.optim.lr_scheduler"):
                    return False
                if path.startswith("torch.optim."):
                    return True
        low = name.lower()
        return ("opt" in low or "scaler" in low) and "sched" not in low

    def is_manual_update(self, node: ast.AST) -> bool:
        """`p -= lr * p.grad`, `p.data.add_(-lr, p.grad)`: a hand-written optimizer step."""
        return self._static(self._is_manual_update, node)

    def _is_manual_update(self, node: ast.AST) -> bool:
        if isinstance(node, ast.AugAssign) and isinstance(node.op, (ast.Sub, ast.Add)):
            return has_grad_attr(node.value)
        if isinstance(node, ast.Assign) and has_grad_attr(node.value):
            return any(not (isinstance(t, ast.Attribute) and t.attr == "grad") and
                       any(isinstance(n, ast.Name) and n.id in names_in(t) for n in ast.walk(node.value))
                       for t in node.targets)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr in ("sub_", "add_", "copy_", "addcdiv_", "addcmul_"):
            return any(has_grad_attr(a) for a in list(node.args) + [k.value for k in node.keywords])
        return False

    def is_zeroing(self, node: ast.AST) -> bool:
        """`zero_grad()`, `p.grad = None`, `p.grad.zero_()`, `del p.grad`."""
        return self._static(self._is_zeroing, node)

    def _is_zeroing(self, node: ast.AST) -> bool:
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr.startswith("zero_grad"):
                return True
            if node.func.attr in ("zero_", "fill_", "detach_", "mul_", "copy_") and has_grad_attr(node.func.value):
                return True
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            return any(isinstance(t, ast.Attribute) and t.attr == "grad" for t in targets)
        if isinstance(node, ast.Delete):
            return any(isinstance(t, ast.Attribute) and t.attr == "grad" for t in node.targets)
        return False

    def cell_function(self, call: ast.Call) -> ast.FunctionDef | None:
        if isinstance(call.func, ast.Name):
            for b in reversed(self.bindings[self.tree].get(call.func.id, [])):
                if b.kind == "def" and isinstance(b.node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    return b.node  # type: ignore[return-value]
        return None

    def body_nodes(self, node: ast.AST, inline: bool = True) -> list[ast.AST]:
        """Nodes a loop or function runs, with the bodies of cell functions it calls."""
        return self._static(self._inlined_body if inline else self._own_body, node)

    def _inlined_body(self, node: ast.AST) -> list[ast.AST]:
        return self._body_nodes(node, True)

    def _own_body(self, node: ast.AST) -> list[ast.AST]:
        return self._body_nodes(node, False)

    def _body_nodes(self, node: ast.AST, inline: bool) -> list[ast.AST]:
        body = node.body + node.orelse if isinstance(node, LOOPS) else node.body
        if not isinstance(body, list):
            body = [body]
        out = list(walk_body(body))
        if inline:
            seen = {id(node)}
            queue = [n for n in out if isinstance(n, ast.Call)]
            while queue:
                fn = self.cell_function(queue.pop())
                if fn is None or id(fn) in seen:
                    continue
                seen.add(id(fn))
                more = list(walk_body(fn.body))
                out.extend(more)
                queue.extend(n for n in more if isinstance(n, ast.Call))
        return out

    def trains(self, nodes: list[ast.AST]) -> bool:
        """Whether the nodes run a training step (backward, optimizer step, manual update)."""
        key = ("trains", id(nodes))
        if key not in self._cache:
            self._cache[key] = (nodes, self._trains(nodes))  # keep `nodes` alive: its id is the key
        return self._cache[key][1]

    def _trains(self, nodes: list[ast.AST]) -> bool:
        return any(isinstance(n, ast.Call) and (self.is_backward(n) or self.is_step(n) or self.is_autograd_grad(n))
                   or self.is_manual_update(n) for n in nodes)

    def call_sites(self, func: ast.AST) -> list[ast.Call]:
        """The calls of a function the cell defines."""
        return self._static(self._call_sites, func)

    def _call_sites(self, func: ast.AST) -> list[ast.Call]:
        if not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return []
        return [c for c in self.calls if isinstance(c.func, ast.Name) and c.func.id == func.name
                and self.cell_function(c) is func]

    def effective_lines(self, node: ast.AST) -> list[int]:
        """Module-level lines at which `node` runs: its own, or the calls of its function."""
        top = self.top_function(node)
        if top is None:
            return [node.lineno]
        return [c.lineno for c in self.call_sites(top) if self.top_function(c) is None]

    def function_start(self, node: ast.AST) -> int | None:
        """The first statement of the cell's function that runs `node`, when that function does
        not train (an `evaluate()`/`validate()`): where a `model.eval()` for it belongs. None at
        the top level or in a function that also trains."""
        fn = self.function_of(node)
        if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)) or self.trains(self.body_nodes(fn, inline=False)):
            return None
        body = fn.body
        if len(body) > 1 and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                and isinstance(body[0].value.value, str):
            body = body[1:]  # the docstring
        return body[0].lineno

