"""Where the autograd history of an expression's value comes from, read from the code and the
live namespace: a set of modules and leaves, empty for "no history", None for "cannot tell"."""
from __future__ import annotations

import ast
import types
from typing import TYPE_CHECKING, Any

from .syntax import arg_at, is_false, kwarg
from .values import MISSING, is_module, is_ndarray, is_tensor

if TYPE_CHECKING:
    from .cell import Binding


class GradFlow:
    """The autograd data-flow questions of :class:`~torchmagic.source.cell.Cell` (mixed into it)."""

    def grad_sources(self, node: ast.AST, scope: ast.AST, depth: int = 0) -> frozenset[str] | None:
        """Where the autograd history of an expression's value comes from.

        A set of keys (modules with trainable parameters, leaves that require grad): empty
        means "no grad history", None means "cannot tell".
        """
        if depth > 8 or node is None:
            return None
        empty: frozenset[str] = frozenset()
        nxt = depth + 1
        if isinstance(node, (ast.Constant, ast.JoinedStr, ast.Compare, ast.BoolOp, ast.Lambda)):
            return empty
        if not isinstance(node, (ast.Name, ast.Starred)) and self.in_no_grad(node):
            return empty
        if isinstance(node, ast.Name):
            return self._name_sources(node, scope, depth)
        if isinstance(node, ast.Attribute):
            if node.attr in ("data", "grad", "shape", "dtype", "device", "is_leaf", "requires_grad",
                             "ndim", "indices", "grad_fn"):
                return empty
            value = self.resolve(node, scope)
            if value is not MISSING:
                return self._value_sources(value, self.text(node))
            return self.grad_sources(node.value, scope, nxt)
        if isinstance(node, ast.Subscript):
            if isinstance(node.value, ast.Call) and isinstance(node.slice, ast.Constant) and node.slice.value == 1 \
                    and self._call_last(node.value) in _INDEX_PAIR:
                return empty
            return self.grad_sources(node.value, scope, nxt)
        if isinstance(node, ast.Starred):
            return self.grad_sources(node.value, scope, nxt)
        if isinstance(node, ast.UnaryOp):
            return empty if isinstance(node.op, ast.Not) else self.grad_sources(node.operand, scope, nxt)
        if isinstance(node, ast.BinOp):
            return _combine([self.grad_sources(node.left, scope, nxt), self.grad_sources(node.right, scope, nxt)])
        if isinstance(node, ast.IfExp):
            return _combine([self.grad_sources(node.body, scope, nxt), self.grad_sources(node.orelse, scope, nxt)])
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            return _combine([self.grad_sources(e, scope, nxt) for e in node.elts])
        if isinstance(node, ast.NamedExpr):
            return self.grad_sources(node.value, scope, nxt)
        if isinstance(node, ast.Call):
            return self._call_sources(node, scope, depth)
        return None

    def _args_sources(self, call: ast.Call, scope: ast.AST, depth: int) -> frozenset[str] | None:
        parts = [self.grad_sources(a, scope, depth + 1) for a in call.args]
        parts += [self.grad_sources(k.value, scope, depth + 1) for k in call.keywords if k.arg != "dim"]
        return _combine(parts)

    def _call_sources(self, call: ast.Call, scope: ast.AST, depth: int) -> frozenset[str] | None:
        empty: frozenset[str] = frozenset()
        f = call.func
        if isinstance(f, ast.Attribute) and f.attr in _NO_GRAD_METHODS:
            return empty
        if isinstance(f, ast.Attribute) and f.attr == "requires_grad_":
            return empty if is_false(arg_at(call, 0, "requires_grad")) else frozenset({f"leaf:{self.text(f.value)}"})
        if isinstance(f, ast.Name) and f.id in ("float", "int", "bool", "len", "str", "round", "isinstance"):
            if self.def_scope(f.id, scope) is self.tree and f.id not in self.bindings[self.tree]:
                return empty
        ref = self.module_ref(f, scope)
        if ref is not None:
            args = self._args_sources(call, scope, depth)
            if self.trainable(ref):
                return frozenset({ref.key}) | (args or frozenset())
            return args
        name = self.torch_func(call, scope)
        if name:
            if name in _TORCH_NO_GRAD_FUNCS:
                return empty
            if name in FACTORIES:
                rg = kwarg(call, "requires_grad")
                if rg is not None and not is_false(rg):
                    return frozenset({f"leaf:{self.text(call)}"})
                return empty
            if name in ("no_grad", "inference_mode", "enable_grad", "set_grad_enabled"):
                return empty
            return self._args_sources(call, scope, depth)
        if isinstance(f, ast.Attribute):
            receiver = self.resolve(f.value, scope)
            if receiver is MISSING or is_tensor(receiver):
                if f.attr in ("clone", "to", "cpu", "cuda", "float", "double", "half", "bfloat16", "view",
                              "reshape", "squeeze", "unsqueeze", "flatten", "permute", "transpose", "contiguous",
                              "sum", "mean", "exp", "log", "pow", "abs", "sqrt", "softmax", "log_softmax",
                              "sigmoid", "tanh", "relu", "clamp", "mul", "add", "sub", "div", "matmul", "norm",
                              "max", "min", "expand", "expand_as", "repeat", "t", "std", "var", "prod",
                              "type_as", "masked_fill", "gather", "index_select", "chunk", "split", "narrow",
                              "squeeze_", "unsqueeze_", "neg", "square", "cumsum", "logsumexp", "amax", "amin"):
                    base = self.grad_sources(f.value, scope, depth + 1)
                    return _combine([base, self._args_sources(call, scope, depth)])
        return None

    def _name_sources(self, node: ast.Name, scope: ast.AST, depth: int) -> frozenset[str] | None:
        where = self.def_scope(node.id, scope)
        if where is self.tree and self.ns is not None:
            value = self.lookup(node.id, scope)
            if value is not MISSING:
                found = self._value_sources(value, node.id)
                if found:
                    static = self._binding_sources(node, scope, depth)
                    return static if static else found
                return found
        return self._binding_sources(node, scope, depth)

    def _binding_sources(self, node: ast.Name, scope: ast.AST, depth: int) -> frozenset[str] | None:
        b = self.binding(node.id, scope, node.lineno)
        return self._sources_of_binding(b, depth)

    def _sources_of_binding(self, b: Binding | None, depth: int) -> frozenset[str] | None:
        if depth > 8 or b is None or b.value is None or b.kind not in ("assign", "aug"):
            return None
        where = self.scope_of(b.node)
        value = b.value
        if b.index is not None:
            if isinstance(value, (ast.Tuple, ast.List)) and len(value.elts) > b.index:
                value = value.elts[b.index]
            elif isinstance(value, ast.Call) and self._call_last(value) in _INDEX_PAIR and b.index == 1:
                return frozenset()
        found = self.grad_sources(value, where, depth + 1)
        if b.kind == "aug":
            earlier = [x for x in self.assignments(b.name, where) if x.line < b.line]
            prev = self._sources_of_binding(earlier[-1], depth + 2) if earlier else None
            return _combine([found, prev])
        return found

    def _value_sources(self, value: Any, label: str) -> frozenset[str] | None:
        if is_tensor(value):
            if not value.requires_grad:
                return frozenset()
            return frozenset({f"tensor:{label}"})
        if isinstance(value, (int, float, complex, bool, str, bytes)) or value is None or is_ndarray(value):
            return frozenset()
        if is_module(value) or isinstance(value, (type, types.ModuleType, types.FunctionType)):
            return frozenset()
        return None

    def carries_grad(self, node: ast.AST, scope: ast.AST) -> bool:
        return bool(self.grad_sources(node, scope))


_INDEX_PAIR = {"max", "min", "topk", "sort", "kthvalue", "mode", "median", "nanmedian", "cummax", "cummin"}

_NO_GRAD_METHODS = {
    "detach", "item", "tolist", "numpy", "argmax", "argmin", "argsort", "size", "dim", "numel", "nonzero",
    "long", "int", "bool", "byte", "short", "char", "eq", "ne", "lt", "gt", "le", "ge", "isnan", "isinf",
    "isfinite", "data_ptr", "stride", "element_size", "nelement", "any", "all", "count_nonzero", "__len__",
    "detach_", "get_device", "is_contiguous", "equal", "allclose",
}

_TORCH_NO_GRAD_FUNCS = {
    "argmax", "argmin", "argsort", "eq", "ne", "gt", "lt", "ge", "le", "isnan", "isinf", "isfinite",
    "bucketize", "searchsorted", "multinomial", "bernoulli", "randperm", "count_nonzero", "equal",
    "allclose", "is_tensor", "numel", "manual_seed", "one_hot", "nonzero", "unique",
}

FACTORIES = {
    "tensor", "as_tensor", "from_numpy", "zeros", "ones", "full", "empty", "arange", "linspace", "logspace",
    "eye", "rand", "randn", "randint", "zeros_like", "ones_like", "full_like", "empty_like", "rand_like",
    "randn_like", "randint_like", "normal", "asarray", "Tensor", "FloatTensor", "LongTensor",
}


def _combine(parts: list[frozenset[str] | None]) -> frozenset[str] | None:
    found = [p for p in parts if p]
    if found:
        return frozenset().union(*found)
    if any(p is None for p in parts):
        return None
    return frozenset()
