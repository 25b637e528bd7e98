"""Static lint of a notebook cell: silent PyTorch pitfalls read from the code.

`lint_cell` parses the cell (with the functions and classes it defines) and runs one small
rule per silent pitfall. When the user's namespace is given (after the cell ran), rules
use it to resolve names (is `criterion` an `nn.CrossEntropyLoss`? does `model` hold a
Dropout layer? does `total` carry a `grad_fn`?) and stay quiet where the live objects
disprove a suspicion. The namespace is only read: attributes are looked up without
running user code (no properties, no methods with side effects).

Each rule yields :class:`Hit` objects; :func:`findings_from_hits` turns them into
:class:`~torchmagic.diagnosis.Finding` objects with the knowledge base's message, drops
the lines silenced by ``# torchmagic: ignore[id]``, de-duplicates and sorts them. A rule
that crashes is skipped; the others still run.

Notebooks run the same cells again and again, so what the source alone decides (the parse,
the bindings, tree questions such as a node's scope or loops, each rule's candidate
statements via :meth:`Cell.once`) is worked out once per cell text; only the questions put
to the live objects are asked afresh on every run.
"""
from __future__ import annotations

import ast
import difflib
import importlib
import inspect
import io
import re
import tokenize
import types
import warnings
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable, Iterable, Iterator, Mapping

from .cellcode import dotted, parse
from .diagnosis import Finding

MISSING: Any = object()

_FUNCS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
_LOOPS = (ast.For, ast.AsyncFor, ast.While)
_IMPORTABLE = {"torch", "numpy", "copy", "math", "random"}
# Names that mean these modules in nearly every notebook; used only without a namespace.
_CONVENTIONS = {"torch": "torch", "nn": "torch.nn", "F": "torch.nn.functional",
                "optim": "torch.optim", "np": "numpy", "copy": "copy"}


# ---------------------------------------------------------------------------- public API
@dataclass(frozen=True)
class Hit:
    """One rule's verdict: a pitfall on a cell line, with the names that fill its message."""

    pitfall: str
    line: int
    name: str = ""
    other: str = ""


Rule = Callable[["Cell"], Iterable[Hit]]


def lint_cell(source: str, namespace: Mapping[str, Any] | None = None, lang: str = "en") -> list[Finding]:
    """Static pass over the cell's AST (incl. functions/classes it defines).

    `namespace` is the user's namespace AFTER the cell ran (read-only: nothing in it is
    modified or called). It may be None (lint without running: `%torchdebug lint`).
    """
    cell = parse_cell(source, namespace)
    if cell is None:
        return []
    return lint_parsed(cell, lang)


def lint_parsed(cell: "Cell", lang: str = "en") -> list[Finding]:
    """:func:`lint_cell` on a cell already parsed with :func:`parse_cell`."""
    return findings_from_hits(run_rules(RULES, cell), cell.source, lang, "lint")


def parse_cell(source: str, namespace: Mapping[str, Any] | None = None) -> "Cell | None":
    """The cell model of `source`; IPython syntax (`%magic`, `!cmd`) is translated first. None if it does not parse."""
    try:
        return Cell(source, namespace)
    except (SyntaxError, ValueError, RecursionError):
        pass
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        translated = TransformerManager().transform_cell(source)
        if len(translated.splitlines()) != len(source.splitlines()):
            return None  # lines would no longer point into the user's cell
        return Cell(translated, namespace)
    except Exception:
        return None


def run_rules(rules: Iterable[Rule], cell: "Cell") -> list[Hit]:
    """All hits of `rules` on `cell`; a rule that raises is skipped, the others still count."""
    hits: list[Hit] = []
    for rule in rules:
        try:
            hits.extend(rule(cell))
        except Exception:  # a broken rule must never break the cell or the other rules
            continue
    return hits


def findings_from_hits(hits: Iterable[Hit], source: str, lang: str, origin: str) -> list[Finding]:
    """Findings with messages, minus ignored lines, one per (pitfall, line), sorted by line."""
    ignored = ignored_lines(source)
    n_lines = max(1, len(source.splitlines()))
    seen: set[tuple[str, int]] = set()
    out: list[Finding] = []
    for hit in sorted(hits, key=lambda h: (h.line, h.pitfall)):
        if not 1 <= hit.line <= n_lines or (hit.pitfall, hit.line) in seen:
            continue
        silenced = ignored.get(hit.line)
        if silenced is not None and (not silenced or hit.pitfall in silenced):
            continue
        seen.add((hit.pitfall, hit.line))
        out.append(Finding(hit.pitfall, hit.line, message(hit.pitfall, lang, hit.name, hit.other), origin))
    return out


_IGNORE = re.compile(r"torchmagic:\s*ignore(?:\[([^\]]*)\])?")


@lru_cache(maxsize=16)
def ignored_lines(source: str) -> dict[int, set[str]]:
    """Lines with a `# torchmagic: ignore[...]` comment: line -> ids (empty set = all)."""
    comments: list[tuple[int, str]] = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.COMMENT:
                comments.append((tok.start[0], tok.string))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        comments = [(i, line[line.index("#"):]) for i, line in enumerate(source.splitlines(), 1)
                    if "#" in line]
    out: dict[int, set[str]] = {}
    for line, text in comments:
        m = _IGNORE.search(text)
        if m:
            ids = {part.strip() for part in (m.group(1) or "").split(",") if part.strip()}
            out[line] = ids
    if out:
        _spread_over_statements(source, out)
    return out


def _spread_over_statements(source: str, ignored: dict[int, set[str]]) -> None:
    """An ignore comment anywhere in a statement that spans several lines covers all of them."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return
    for node in ast.walk(tree):
        if not isinstance(node, ast.stmt) or hasattr(node, "body"):
            continue
        span = range(node.lineno, (node.end_lineno or node.lineno) + 1)
        if len(span) < 2:
            continue
        marked = [ignored[line] for line in span if line in ignored]
        if not marked:
            continue
        ids = set() if any(not m for m in marked) else set().union(*marked)
        for line in span:
            if line in ignored and not ignored[line]:
                continue  # already silenced for every id
            ignored[line] = set() if not ids else ignored.get(line, set()) | ids


_FALLBACK = {
    "grad-accumulation": "`{name}` runs in a loop with `{other}` but gradients are never zeroed: they add up across iterations. Call `optimizer.zero_grad()` each step.",
    "history-accumulation": "`{name}` accumulates `{other}`, a tensor with autograd history, across iterations: the graphs stay in memory. Accumulate `.item()` (or `.detach()`) instead.",
    "requires-grad-typo": "`{name}` is not `requires_grad`: the assignment freezes nothing. Use `.requires_grad = False` (tensors) or `.requires_grad_(False)`.",
    "target-requires-grad": "The loss target `{name}` carries gradient history ({other}): gradient flows into the target. Compute it under `torch.no_grad()` or `.detach()` it.",
    "unregistered-submodule": "`{name}` keeps layers in a plain Python container: `.parameters()`, `.to()` and `state_dict()` miss them. Use `nn.{other}`.",
    "train-eval-mode": "`{name}` contains {other} and runs in the wrong mode here: call `{name}.eval()` before evaluating and `{name}.train()` before training.",
    "eval-without-no-grad": "`{name}` runs in an evaluation loop without `torch.no_grad()`: every batch keeps its autograd graph. Wrap the loop in `with torch.no_grad():`.",
    "functional-dropout-training": "`{name}` inside `forward` ignores eval mode: pass `training=self.training` or use an `nn.Dropout` layer.",
    "softmax-before-crossentropy": "`{name}` is already a (log-)softmax output, but `{other}` applies log-softmax itself: pass the raw logits.",
    "bn-running-stats": "BatchNorm layers in `{name}` are frozen ({other}) but still in training mode: their running statistics keep changing. Call `.eval()` on them.",
    "conv-bias-before-bn": "`{name}` has a bias right before `{other}`: BatchNorm subtracts the mean, so the bias is wasted. Use `bias=False`.",
    "from-numpy-shares-memory": "`{name}` shares memory with `{other}`: changing one in place changes the other. Copy with `torch.tensor(...)` / `.clone()` if they must differ.",
    "tensor-aliasing": "`{name} = {other}` makes an alias, not a copy: later in-place changes (training steps) show in both. Use `.clone()` or `copy.deepcopy(...)`.",
    "nondeterminism": "`cudnn.benchmark = True` picks kernels by timing, so results differ between runs even with `{other}`. Set it to False for reproducible runs.",
    "optimizer-device": "The optimizer `{name}` does not hold the parameters {other} of the model it trains (the layers were replaced after it was built): they are never updated. Build the optimizer after changing the model.",
}
_FALLBACK_ZH = {
    "grad-accumulation": "`{name}` 在循环中反向传播，但循环里没有清零梯度：梯度会一轮轮累加。每一步调用 `optimizer.zero_grad()`。",
    "history-accumulation": "`{name}` 跨迭代累加了带计算图的张量 `{other}`：计算图一直留在内存里。请累加 `.item()`（或 `.detach()`）。",
    "requires-grad-typo": "`{name}` 不是 `requires_grad`：这次赋值什么也没有冻结。张量用 `.requires_grad = False`，模块用 `.requires_grad_(False)`。",
    "target-requires-grad": "损失的目标值 `{name}` 带有梯度：梯度会流进目标。请在 `torch.no_grad()` 中计算它，或者 `.detach()`。",
    "unregistered-submodule": "`{name}` 把层放在普通的 Python 容器里：`.parameters()`、`.to()` 和 `state_dict()` 都看不到它们。请用 `nn.{other}`。",
    "train-eval-mode": "`{name}` 含有 {other}，在这里处于错误的模式：评估前调用 `{name}.eval()`，训练前调用 `{name}.train()`。",
    "eval-without-no-grad": "`{name}` 在评估循环中运行但没有 `torch.no_grad()`：每个 batch 都保留计算图。请把循环放进 `with torch.no_grad():`。",
    "functional-dropout-training": "`{name}` 在 `forward` 里忽略了评估模式：请传入 `training=self.training`，或改用 `nn.Dropout` 层。",
    "softmax-before-crossentropy": "`{name}` 已经是 (log-)softmax 的输出，而 `{other}` 自己会做 log-softmax：请直接传入 logits。",
    "bn-running-stats": "`{name}` 中冻结的 BatchNorm 层仍处于训练模式：它们的滑动统计量还在变化。请对它们调用 `.eval()`。",
    "conv-bias-before-bn": "`{name}` 的偏置后面紧跟 `{other}`：BatchNorm 会减去均值，偏置白费了。请用 `bias=False`。",
    "from-numpy-shares-memory": "`{name}` 与 `{other}` 共享内存：原地修改其中一个，另一个也会变。需要独立副本请用 `torch.tensor(...)` / `.clone()`。",
    "tensor-aliasing": "`{name}` 不是 `{other}` 的副本而是别名：之后的原地修改（训练步骤）会同时反映在两者上。请用 `.clone()` 或 `copy.deepcopy(...)`。",
    "nondeterminism": "`{name}` 使用的随机数生成器在这里没有设种子（只设了 `{other}`），每次运行结果都不同。",
    "optimizer-device": "优化器 `{name}` 没有包含它所训练的模型的参数 {other}（这些层是在创建优化器之后替换的）：它们永远不会被更新。请在修改完模型之后再创建优化器。",
}


def message(pitfall: str, lang: str, name: str = "", other: str = "") -> str:
    """The finding message of the knowledge base's entry, or a short English fallback."""
    text = ""
    try:
        from .knowledge import get_entry

        entry = get_entry(pitfall)
        if entry is not None:
            text = entry.text("finding", lang, name=name, other=other)
    except Exception:
        text = ""
    if not text:
        template = (_FALLBACK_ZH if lang == "zh" else {}).get(pitfall) or \
            _FALLBACK.get(pitfall, f"Possible silent pitfall `{pitfall}`.")
        text = template.format(name=name, other=other)
    return text


# ---------------------------------------------------------------------------- the cell model
@dataclass
class Binding:
    """A place where a name gets a value."""

    name: str
    line: int
    kind: str  # assign, aug, for, with, param, import, def, class, other
    value: ast.AST | None
    node: ast.AST
    index: int | None = None  # position in a tuple-unpacking target


@dataclass
class ModRef:
    """A module that a call runs: the live object when known, else what the code says."""

    key: str
    label: str
    obj: Any = None
    cls: Any = None  # a class, or the ClassDef of a class defined in the cell


def _torch() -> Any:
    import torch

    return torch


def is_tensor(value: Any) -> bool:
    """Whether `value` is a torch.Tensor (without importing torch for non-torch objects)."""
    return type(value).__module__.startswith("torch") and isinstance(value, _torch().Tensor)


def is_module(value: Any) -> bool:
    """Whether `value` is an nn.Module instance."""
    if isinstance(value, type):
        return False
    try:
        return isinstance(value, _torch().nn.Module)
    except Exception:
        return False


def is_ndarray(value: Any) -> bool:
    return type(value).__module__ == "numpy" and type(value).__name__ == "ndarray"


def safe_getattr(obj: Any, attr: str) -> Any:
    """`obj.attr` where reading it runs no user code; MISSING otherwise."""
    try:
        if isinstance(obj, types.ModuleType):
            found = vars(obj).get(attr, MISSING)
            if found is not MISSING:
                return found
            with warnings.catch_warnings():  # a module __getattr__ may warn (deprecated names)
                warnings.simplefilter("ignore")
                return getattr(obj, attr, MISSING)
        if isinstance(obj, type):
            return inspect.getattr_static(obj, attr, MISSING) if attr not in vars(obj) else vars(obj)[attr]
        if is_module(obj):
            d = vars(obj)
            if attr in d:
                return d[attr]
            for store in ("_parameters", "_buffers", "_modules"):
                if attr in d.get(store, {}):
                    return d[store][attr]
            static = inspect.getattr_static(obj, attr, MISSING)
            if isinstance(static, (types.FunctionType, types.BuiltinFunctionType)):
                return getattr(obj, attr)
            return MISSING
        if is_tensor(obj):
            if attr in ("grad_fn", "requires_grad", "is_leaf", "shape", "dtype", "device", "grad"):
                return getattr(obj, attr)
            return MISSING
        d = getattr(obj, "__dict__", None)
        if isinstance(d, dict) and attr in d:
            return d[attr]
    except Exception:
        return MISSING
    return MISSING


def import_path(path: str) -> Any:
    """The object at a dotted path inside torch/numpy/copy/math/random, or MISSING."""
    parts = path.split(".")
    if parts[0] not in _IMPORTABLE:
        return MISSING
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except Exception:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr, MISSING)
            if obj is MISSING:
                return MISSING
        return obj
    return MISSING


def root_name(node: ast.AST) -> str | None:
    """The variable an expression starts from: `d` for `d["k"]`, `x` for `x.a.b`."""
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Starred)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def walk_body(nodes: Iterable[ast.AST]) -> Iterator[ast.AST]:
    """Every node under `nodes`, without entering nested functions, lambdas or classes."""
    stack = list(nodes)[::-1]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, _DEFS):
            continue
        stack.extend(list(ast.iter_child_nodes(node))[::-1])


def names_in(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def has_grad_attr(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Attribute) and n.attr == "grad" for n in ast.walk(node))


def kwarg(call: ast.Call, name: str) -> ast.AST | None:
    for kw in call.keywords:
        if kw.arg == name:
            return kw.value
    return None


def arg_at(call: ast.Call, index: int, name: str) -> ast.AST | None:
    """The argument passed at position `index` or as keyword `name`."""
    if len(call.args) > index and not any(isinstance(a, ast.Starred) for a in call.args[: index + 1]):
        return call.args[index]
    return kwarg(call, name)


def is_false(node: ast.AST | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is False


@dataclass(frozen=True)
class _Structure:
    """The parts of a cell model that depend on its source only."""

    lines: list[str]
    raw: list[str]
    tree: ast.Module
    nodes: list[ast.AST]
    parents: dict
    calls: list[ast.Call]
    bindings: dict
    imports: dict[str, str]
    globals_: dict
    memo: dict  # (question, node) -> answer, for the questions the source alone answers


@lru_cache(maxsize=32)
def _structure(source: str) -> _Structure:
    """Parse and bind `source` once: notebooks rerun the same cells, often in auto mode."""
    c = Cell._analyse(source)
    return _Structure(c.lines, c._raw, c.tree, c.nodes, c.parents, c.calls, c.bindings, c.imports,
                      c._globals, c._memo)


class Cell:
    """A parsed cell and the questions rules ask about it (names, loops, modules, autograd)."""

    def __init__(self, source: str, namespace: Mapping[str, Any] | None = None):
        structure = _structure(source)
        self.ns = namespace
        # what the source alone determines is shared between runs of the same cell...
        self.source = source
        self.lines, self._raw, self.tree = structure.lines, structure.raw, structure.tree
        self.nodes, self.parents, self.calls = structure.nodes, structure.parents, structure.calls
        self.bindings, self.imports, self._globals = structure.bindings, structure.imports, structure.globals_
        self._memo = structure.memo
        # ...what the namespace decides is worked out afresh
        self._cache: dict[tuple[str, int], Any] = {}
        self._resolving: set[tuple[int, str]] = set()
        self._paths: dict[tuple[ast.AST, ast.AST], str] = {}
        self._values: dict[tuple[ast.AST, ast.AST], Any] = {}

    @classmethod
    def _analyse(cls, source: str) -> "Cell":
        """A cell parsed and bound without a namespace: the source-only structure."""
        self = cls.__new__(cls)
        self.source = source
        self.ns = None
        self.lines = source.splitlines()
        self._raw = source.splitlines(keepends=True)
        self._memo = {}
        self._cache = {}
        self.tree = parse(source)
        self.nodes = list(ast.walk(self.tree))  # walked once; rules reuse it
        self.parents = {}
        for parent in self.nodes:
            for child in ast.iter_child_nodes(parent):
                self.parents[child] = parent
        self.bindings = defaultdict(lambda: defaultdict(list))
        self.imports = {}
        self.calls = [n for n in self.nodes if isinstance(n, ast.Call)]
        self.calls.sort(key=lambda c: (c.lineno, c.col_offset))
        self._globals = defaultdict(set)
        self._resolving = set()
        self._paths = {}
        self._values = {}
        self._collect()
        return self

    # ------------------------------------------------------------ structure
    def _static(self, question: Callable[[ast.AST], Any], node: ast.AST) -> Any:
        """`question(node)`, answered once per cell text: the answer depends on the source only.

        Nodes that rules build on the fly are not part of the cell and are not remembered."""
        key = (question.__func__, node)  # the function, not the bound method: one Cell per run
        try:
            return self._memo[key]
        except KeyError:
            answer = question(node)
            if node in self.parents or node is self.tree:
                self._memo[key] = answer
            return answer

    def once(self, find: Callable[["Cell"], Any]) -> Any:
        """`find(cell)`, for a finder that reads the cell's source only: worked out once per cell
        text (rules look for their candidates this way, then ask the namespace about them)."""
        key = (find, None)
        try:
            return self._memo[key]
        except KeyError:
            answer = self._memo[key] = find(self)
            return answer

    def text(self, node: ast.AST) -> str:
        """The source text of a node (as written in the cell)."""
        return self._static(self._segment, node)

    def _segment(self, node: ast.AST) -> str:
        try:
            l0, l1 = node.lineno - 1, node.end_lineno - 1  # type: ignore[attr-defined]
            c0, c1 = node.col_offset, node.end_col_offset  # type: ignore[attr-defined]
        except AttributeError:
            return ast.unparse(node)
        if l1 is None or c1 is None or not 0 <= l0 <= l1 < len(self._raw):
            return ast.unparse(node)
        if l0 == l1:
            return self._raw[l0].encode()[c0:c1].decode(errors="replace")
        first = self._raw[l0].encode()[c0:].decode(errors="replace")
        last = self._raw[l1].encode()[:c1].decode(errors="replace")
        return "".join([first] + self._raw[l0 + 1:l1] + [last])

    def ancestors(self, node: ast.AST) -> Iterator[ast.AST]:
        node = self.parents.get(node)
        while node is not None:
            yield node
            node = self.parents.get(node)

    def scope_of(self, node: ast.AST) -> ast.AST:
        """The function, class or module whose namespace `node` lives in."""
        return self._static(self._scope_of, node)

    def _scope_of(self, node: ast.AST) -> ast.AST:
        child = node
        for anc in self.ancestors(node):
            if isinstance(anc, _FUNCS):
                if child is anc.args and not isinstance(node, ast.arg):
                    child = anc
                    continue  # default values are evaluated outside
                if isinstance(anc, ast.Lambda) or child not in getattr(anc, "decorator_list", ()):
                    if child is not getattr(anc, "returns", None):
                        return anc
            if isinstance(anc, ast.ClassDef) and child in anc.body:
                return anc
            child = anc
        return self.tree

    def function_of(self, node: ast.AST) -> ast.AST | None:
        """The innermost function (def or lambda) containing `node`, or None at module level."""
        return self._static(self._function_of, node)

    def _function_of(self, node: ast.AST) -> ast.AST | None:
        for anc in self.ancestors(node):
            if isinstance(anc, _FUNCS):
                return anc
        return None

    def class_of(self, node: ast.AST) -> ast.ClassDef | None:
        return self._static(self._class_of, node)

    def _class_of(self, node: ast.AST) -> ast.ClassDef | None:
        for anc in self.ancestors(node):
            if isinstance(anc, ast.ClassDef):
                return anc
        return None

    def top_function(self, node: ast.AST) -> ast.AST | None:
        """The outermost function containing `node` (module-level def), or None."""
        return self._static(self._top_function, node)

    def _top_function(self, node: ast.AST) -> ast.AST | None:
        top = None
        for anc in self.ancestors(node):
            if isinstance(anc, _FUNCS):
                top = anc
        return top

    def loops_of(self, node: ast.AST) -> list[ast.AST]:
        """Loops whose body runs `node` repeatedly, innermost first, inside `node`'s function."""
        return self._static(self._loops_of, node)

    def _loops_of(self, node: ast.AST) -> list[ast.AST]:
        out = []
        child = node
        for anc in self.ancestors(node):
            if isinstance(anc, _DEFS):
                break
            if isinstance(anc, _LOOPS) and child in anc.body + anc.orelse:
                out.append(anc)
            child = anc
        return out

    def statement_of(self, node: ast.AST) -> ast.stmt:
        return self._static(self._statement_of, node)

    def _statement_of(self, node: ast.AST) -> ast.stmt:
        cur = node
        while not isinstance(cur, ast.stmt):
            cur = self.parents[cur]
        return cur

    def in_no_grad(self, node: ast.AST) -> bool:
        """Whether `node` runs with autograd off (no_grad, inference_mode, decorated function)."""
        return self._static(self._in_no_grad, node)

    def _grad_off_lines(self) -> list[int]:
        return self._static(self._find_grad_off_lines, self.tree)

    def _find_grad_off_lines(self, tree: ast.AST) -> list[int]:
        return [c.lineno for c in self.calls if self._call_last(c) == "set_grad_enabled"
                and is_false(arg_at(c, 0, "mode")) and isinstance(self.parents.get(c), ast.Expr)]

    def _in_no_grad(self, node: ast.AST) -> bool:
        for anc in self.ancestors(node):
            if isinstance(anc, (ast.With, ast.AsyncWith)):
                if any(self._disables_grad(item.context_expr) for item in anc.items):
                    return True
            if isinstance(anc, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if any(self._disables_grad(d) for d in anc.decorator_list):
                    return True
        line = getattr(node, "lineno", 0)
        return any(off < line for off in self._grad_off_lines())

    def _disables_grad(self, expr: ast.AST) -> bool:
        target = expr.func if isinstance(expr, ast.Call) else expr
        last = dotted(target) or ""
        last = last.rsplit(".", 1)[-1]
        if last in ("no_grad", "inference_mode"):
            return not (isinstance(expr, ast.Call) and is_false(arg_at(expr, 0, "mode")))
        if last == "set_grad_enabled" and isinstance(expr, ast.Call):
            return is_false(arg_at(expr, 0, "mode"))
        return False

    @staticmethod
    def _call_last(call: ast.Call) -> str:
        f = call.func
        return f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""

    # ------------------------------------------------------------ bindings
    def _collect(self) -> None:
        for node in self.nodes:
            if isinstance(node, (ast.Global, ast.Nonlocal)):
                self._globals[self.scope_of(node)].update(node.names)
        for node in self.nodes:
            if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
                self._bind_target(node)
            elif isinstance(node, _FUNCS):
                a = node.args
                for arg in a.posonlyargs + a.args + a.kwonlyargs + [x for x in (a.vararg, a.kwarg) if x]:
                    self.bindings[node][arg.arg].append(Binding(arg.arg, node.lineno, "param", None, arg))
                if not isinstance(node, ast.Lambda):
                    self._add(self.scope_of(node), Binding(node.name, node.lineno, "def", None, node))
            elif isinstance(node, ast.ClassDef):
                self._add(self.scope_of(node), Binding(node.name, node.lineno, "class", None, node))
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                self._bind_import(node)
        for table in self.bindings.values():
            for blist in table.values():
                blist.sort(key=lambda b: (b.line, getattr(b.node, "col_offset", 0)))

    def _add(self, scope: ast.AST, binding: Binding) -> None:
        if binding.name in self._globals.get(scope, ()):
            scope = self.tree
        self.bindings[scope][binding.name].append(binding)

    def _bind_target(self, name: ast.Name) -> None:
        scope = self.scope_of(name)
        top = name
        index = None
        parent = self.parents.get(top)
        while isinstance(parent, (ast.Tuple, ast.List, ast.Starred)):
            if isinstance(parent, (ast.Tuple, ast.List)) and index is None:
                index = parent.elts.index(top) if top in parent.elts else None
            top = parent
            parent = self.parents.get(top)
        kind, value = "other", None
        if isinstance(parent, ast.Assign):
            kind, value = "assign", parent.value
        elif isinstance(parent, ast.AnnAssign):
            kind, value = "assign", parent.value
        elif isinstance(parent, ast.AugAssign):
            kind, value = "aug", parent.value
        elif isinstance(parent, (ast.For, ast.AsyncFor, ast.comprehension)):
            kind, value = "for", parent.iter
        elif isinstance(parent, ast.withitem):
            kind, value = "with", parent.context_expr
        elif isinstance(parent, ast.NamedExpr):
            kind, value = "assign", parent.value
        if top is name:
            index = None
        self._add(scope, Binding(name.id, name.lineno, kind, value, name, index))

    def _bind_import(self, node: ast.Import | ast.ImportFrom) -> None:
        scope = self.scope_of(node)
        for alias in node.names:
            if isinstance(node, ast.Import):
                local = alias.asname or alias.name.split(".")[0]
                path = alias.name if alias.asname else alias.name.split(".")[0]
            else:
                if node.level or not node.module or alias.name == "*":
                    continue
                local = alias.asname or alias.name
                path = f"{node.module}.{alias.name}"
            self._add(scope, Binding(local, node.lineno, "import", None, node))
            if scope is self.tree:
                self.imports[local] = path

    def def_scope(self, name: str, scope: ast.AST) -> ast.AST:
        """The scope where `name`, read in `scope`, is bound (functions, then the module)."""
        cur: ast.AST | None = scope
        while cur is not None and cur is not self.tree:
            if isinstance(cur, _FUNCS) and name in self.bindings.get(cur, {}) \
                    and name not in self._globals.get(cur, ()):
                return cur
            cur = self.function_of(cur) or self.tree if cur is not self.tree else None
        return self.tree

    def binding(self, name: str, scope: ast.AST, line: int) -> Binding | None:
        """The binding of `name` that a read on `line` most likely sees."""
        blist = self.bindings.get(self.def_scope(name, scope), {}).get(name, [])
        before = [b for b in blist if b.line < line]
        if before:
            return before[-1]
        same = [b for b in blist if b.line == line and b.kind != "aug"]
        if same:
            return same[-1]
        return blist[-1] if blist else None

    def assignments(self, name: str, scope: ast.AST) -> list[Binding]:
        return list(self.bindings.get(self.def_scope(name, scope), {}).get(name, []))

    # ------------------------------------------------------------ values
    def lookup(self, name: str, scope: ast.AST) -> Any:
        """The live value of `name` read in `scope`, or MISSING."""
        where = self.def_scope(name, scope)
        if where is not self.tree:
            blist = self.bindings[where].get(name, [])
            if blist and all(b.kind == "param" for b in blist) and isinstance(where, ast.FunctionDef):
                return self._param_value(where, name)
            return MISSING
        if self.ns is not None:
            try:
                if name in self.ns:
                    return self.ns[name]
            except Exception:
                return MISSING
        if name in self.imports:
            return import_path(self.imports[name])
        if self.ns is None and name in _CONVENTIONS and name not in self.bindings[self.tree]:
            return import_path(_CONVENTIONS[name])
        return MISSING

    def _param_value(self, func: ast.FunctionDef, name: str) -> Any:
        """A parameter's value when every call of the function in the cell passes the same object."""
        key = (id(func), name)
        if key in self._resolving or self.scope_of(func) is not self.tree:
            return MISSING
        params = [a.arg for a in func.args.posonlyargs + func.args.args]
        index = params.index(name) if name in params else None
        defaults = dict(zip(params[len(params) - len(func.args.defaults):], func.args.defaults))
        self._resolving.add(key)
        try:
            values = []
            for call in self.calls:
                if not (isinstance(call.func, ast.Name) and call.func.id == func.name):
                    continue
                expr = arg_at(call, index, name) if index is not None else kwarg(call, name)
                where = self.scope_of(call)
                if expr is None and name in defaults:
                    expr, where = defaults[name], self.tree
                if expr is None:
                    return MISSING
                value = self.resolve(expr, where)
                if value is MISSING:
                    return MISSING
                values.append(value)
            if values and all(v is values[0] for v in values):
                return values[0]
            return MISSING
        finally:
            self._resolving.discard(key)

    def _param_module(self, name: str, scope: ast.AST) -> Any:
        """The module class a parameter receives when every call site passes a module built in the cell."""
        where = self.def_scope(name, scope)
        blist = self.bindings.get(where, {}).get(name, [])
        if not (isinstance(where, ast.FunctionDef) and blist and all(b.kind == "param" for b in blist)):
            return None
        params = [a.arg for a in where.args.posonlyargs + where.args.args]
        index = params.index(name) if name in params else None
        classes = []
        for call in self.call_sites(where):
            expr = arg_at(call, index, name) if index is not None else kwarg(call, name)
            if not isinstance(expr, ast.Name) or self.def_scope(expr.id, self.scope_of(call)) is not self.tree:
                return None
            cls = self.static_module(expr.id, self.tree, call.lineno)
            if cls is None:
                return None
            classes.append(cls)
        return classes[0] if classes else None

    def resolve(self, expr: ast.AST, scope: ast.AST) -> Any:
        """The live object a Name/Attribute chain denotes, or MISSING."""
        key = (expr, scope)  # the nodes themselves: a Cell lives for one pass over a fixed namespace
        try:
            return self._values[key]
        except KeyError:
            value = self._resolve(expr, scope)
            if not self._resolving:  # an answer cut short by a recursion guard is not final
                self._values[key] = value
            return value

    def _resolve(self, expr: ast.AST, scope: ast.AST) -> Any:
        if isinstance(expr, ast.Name):
            return self.lookup(expr.id, scope)
        if isinstance(expr, ast.Attribute):
            base = self.resolve(expr.value, scope)
            return MISSING if base is MISSING else safe_getattr(base, expr.attr)
        if isinstance(expr, ast.Subscript) and isinstance(expr.slice, ast.Constant) \
                and isinstance(expr.slice.value, int):
            base = self.resolve(expr.value, scope)
            torch = _torch()
            if isinstance(base, (torch.nn.Sequential, torch.nn.ModuleList)):
                try:
                    return base[expr.slice.value]
                except Exception:
                    return MISSING
        return MISSING

    def path_of(self, expr: ast.AST, scope: ast.AST) -> str:
        """'torch.nn.functional.cross_entropy' for F.cross_entropy, from imports or live objects."""
        key = (expr, scope)
        if key not in self._paths:
            self._paths[key] = self._path_of(expr, scope)
        return self._paths[key]

    def _path_of(self, expr: ast.AST, scope: ast.AST) -> str:
        name = dotted(expr)
        if name is None:
            return ""
        head, _, rest = name.partition(".")
        if self.def_scope(head, scope) is self.tree:
            if head in self.imports:
                return self.imports[head] + ("." + rest if rest else "")
            if self.ns is None and head in _CONVENTIONS and head not in self.bindings[self.tree]:
                return _CONVENTIONS[head] + ("." + rest if rest else "")
        parts = name.split(".")
        base = self.lookup(head, scope)
        i = 1
        while isinstance(base, types.ModuleType) and i < len(parts):
            nxt = safe_getattr(base, parts[i])
            if not isinstance(nxt, types.ModuleType):
                break
            base, i = nxt, i + 1
        if isinstance(base, types.ModuleType):
            return ".".join([base.__name__] + parts[i:])
        value = self.resolve(expr, scope)
        if value is MISSING:
            return ""
        mod = getattr(value, "__module__", None)
        qual = getattr(value, "__qualname__", None) or getattr(value, "__name__", None)
        if isinstance(mod, str) and isinstance(qual, str) and (callable(value)):
            return f"{mod}.{qual}"
        return ""

    def torch_func(self, call: ast.Call, scope: ast.AST) -> str:
        """The function name when `call` calls a function of torch (F.softmax -> 'softmax')."""
        path = self.path_of(call.func, scope)
        if path.startswith("torch") and not self.is_class(call.func, scope):
            return path.rsplit(".", 1)[-1]
        return ""

    def is_class(self, expr: ast.AST, scope: ast.AST) -> bool:
        value = self.resolve(expr, scope)
        return isinstance(value, type)

    # ------------------------------------------------------------ classes and modules
    def cell_class(self, name: str) -> ast.ClassDef | None:
        for b in reversed(self.bindings[self.tree].get(name, [])):
            if b.kind == "class":
                return b.node  # type: ignore[return-value]
        return None

    def ctor_class(self, call: ast.AST, scope: ast.AST) -> Any:
        """The class a constructor call builds (a class, or a ClassDef of the cell), or None."""
        if not isinstance(call, ast.Call):
            return None
        value = self.resolve(call.func, scope)
        if isinstance(value, type):
            return value
        if value is MISSING:
            path = self.path_of(call.func, scope)
            if path:
                value = import_path(path)
                if isinstance(value, type):
                    return value
            if isinstance(call.func, ast.Name):
                return self.cell_class(call.func.id)
        return None

    def is_module_class(self, cls: Any, _seen: set | None = None) -> bool:
        if isinstance(cls, type):
            try:
                return issubclass(cls, _torch().nn.Module)
            except Exception:
                return False
        if isinstance(cls, ast.ClassDef):
            seen = _seen or set()
            if id(cls) in seen:
                return False
            seen.add(id(cls))
            for base in cls.bases:
                value = self.resolve(base, self.tree)
                if value is MISSING:
                    path = self.path_of(base, self.tree)
                    value = import_path(path) if path else MISSING
                if value is MISSING and isinstance(base, ast.Name):
                    value = self.cell_class(base.id)
                if value is not MISSING and self.is_module_class(value, seen):
                    return True
        return False

    def class_name(self, cls: Any) -> str:
        return cls.name if isinstance(cls, ast.ClassDef) else getattr(cls, "__name__", "")

    def static_module(self, name: str, scope: ast.AST, line: int) -> Any:
        """The class of the module `name` holds, read from its assignment in the cell."""
        b = self.binding(name, scope, line)
        if b is not None and b.kind == "assign" and b.index is None:
            cls = self.ctor_class(b.value, self.scope_of(b.node))
            if cls is not None and self.is_module_class(cls):
                return cls
        return None

    def module_ref(self, func: ast.AST, scope: ast.AST) -> ModRef | None:
        """The module a call `func(...)` runs (its forward), or None if it is not a module."""
        key = ("module_ref", id(func))
        if key not in self._cache:
            self._cache[key] = self._module_ref(func, scope)
        return self._cache[key]

    def _module_ref(self, func: ast.AST, scope: ast.AST) -> ModRef | None:
        if isinstance(func, ast.Attribute) and func.attr == "forward":
            return self.module_ref(func.value, scope)
        value = self.resolve(func, scope)
        label = self.text(func)
        if value is not MISSING:
            if is_module(value):
                return ModRef(f"id:{id(value)}", label, value, type(value))
            return None
        if isinstance(func, ast.Name):
            cls = self.static_module(func.id, scope, func.lineno)
            if cls is None:
                cls = self._param_module(func.id, scope)
            if cls is not None:
                return ModRef(f"name:{func.id}", label, None, cls)
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "self":
            cls_def = self.class_of(func)
            if cls_def is not None:
                for node in ast.walk(cls_def):
                    if isinstance(node, ast.Assign) and any(self.text(t) == label for t in node.targets):
                        cls = self.ctor_class(node.value, self.scope_of(node))
                        if cls is not None and self.is_module_class(cls):
                            return ModRef(f"self:{func.attr}", label, None, cls)
        if isinstance(func, ast.Call):
            cls = self.ctor_class(func, scope)
            if cls is not None and self.is_module_class(cls):
                return ModRef(f"anon:{id(func)}", label, None, cls)
        return None

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
                if issubclass(ref.cls, _torch().nn.modules.loss._Loss) and ref.cls.__module__.startswith("torch"):
                    return ref.cls.__name__
            except Exception:
                return ""
        return ""

    # ------------------------------------------------------------ training structure
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
            torch = _torch()
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
        body = node.body + node.orelse if isinstance(node, _LOOPS) else node.body
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

    # ------------------------------------------------------------ autograd data flow
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
            if name in _FACTORIES:
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
_FACTORIES = {
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


# ---------------------------------------------------------------------------- helpers for rules
def _ce_like(name: str) -> bool:
    return name in ("cross_entropy", "CrossEntropyLoss")


_TARGET_LOSSES = {
    "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "cross_entropy", "nll_loss", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "kl_div", "poisson_nll_loss", "gaussian_nll_loss", "soft_margin_loss",
    "multilabel_soft_margin_loss", "multi_margin_loss", "multilabel_margin_loss", "hinge_embedding_loss",
    "MSELoss", "L1Loss", "SmoothL1Loss", "HuberLoss", "CrossEntropyLoss", "NLLLoss", "BCELoss",
    "BCEWithLogitsLoss", "KLDivLoss", "PoissonNLLLoss", "GaussianNLLLoss", "SoftMarginLoss",
    "MultiLabelSoftMarginLoss", "MultiMarginLoss", "MultiLabelMarginLoss", "HingeEmbeddingLoss",
}

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


def _forward_calls(cell: Cell, nodes: Iterable[ast.AST]) -> list[tuple[ast.Call, ModRef]]:
    out = []
    for n in nodes:
        if isinstance(n, ast.Call):
            ref = cell.module_ref(n.func, cell.scope_of(n))
            if ref is not None and (ref.cls is None or not _is_loss_cls(ref.cls)):
                out.append((n, ref))
    return out


def _loops(cell: Cell) -> list[ast.AST]:
    return [n for n in cell.nodes if isinstance(n, _LOOPS)]


def _classes(cell: Cell) -> list[ast.ClassDef]:
    return [n for n in cell.nodes if isinstance(n, ast.ClassDef)]


def _walked_calls(cell: Cell) -> list[ast.Call]:
    """The cell's calls in the order of `cell.nodes` (outer calls before the calls in their arguments)."""
    return [n for n in cell.nodes if isinstance(n, ast.Call)]


def _cell_mode_calls(cell: Cell) -> list[tuple[ast.Call, str]]:
    return _mode_calls(cell, cell.nodes)


def _is_loss_cls(cls: Any) -> bool:
    try:
        return isinstance(cls, type) and issubclass(cls, _torch().nn.modules.loss._Loss)
    except Exception:
        return False


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


# ---------------------------------------------------------------------------- the rules
def _short(cell: Cell, node: ast.AST, limit: int = 60) -> str:
    """A node's source on one line, shortened for a message."""
    text = " ".join(cell.text(node).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _backward_subject(cell: Cell, call: ast.Call) -> str:
    """What is backpropagated: `loss` for `loss.backward()`, the first argument otherwise."""
    if isinstance(call.func, ast.Attribute) and call.func.attr == "backward":
        return _short(cell, call.func.value)
    return _short(cell, call.args[0]) if call.args else "loss"


def rule_grad_accumulation(cell: Cell) -> Iterator[Hit]:
    """backward() and an optimizer step in a loop that never zeroes the gradients."""
    for call in cell.calls:
        if not cell.is_backward(call):
            continue
        loops = cell.loops_of(call)
        for loop in loops:
            nodes = cell.body_nodes(loop)
            steps = [n for n in nodes if (isinstance(n, ast.Call) and cell.is_step(n)) or cell.is_manual_update(n)]
            if not steps:
                continue
            # the step this backward feeds: the next one in the loop (GANs step two optimizers)
            step = min((s for s in steps if s.lineno > call.lineno), key=lambda s: s.lineno, default=steps[0])
            if not _zeroed(cell, step, nodes):
                yield Hit("grad-accumulation", call.lineno, _backward_subject(cell, call), _short(cell, step))
            break
        else:
            # backward and step in a cell function without a loop: its callers' loops must zero
            fn = cell.top_function(call)
            if fn is None or loops:
                continue
            nodes = cell.body_nodes(fn)
            steps = [n for n in nodes if (isinstance(n, ast.Call) and cell.is_step(n)) or cell.is_manual_update(n)]
            if not steps or any(cell.is_zeroing(n) for n in nodes):
                continue
            sites = cell.call_sites(fn)
            looped = [s for s in sites if cell.loops_of(s)]
            if looped and all(not any(cell.is_zeroing(n) for n in cell.body_nodes(cell.loops_of(s)[0]))
                              for s in looped):
                yield Hit("grad-accumulation", call.lineno, _backward_subject(cell, call), _short(cell, steps[0]))


def _zeroed(cell: Cell, step: ast.AST, nodes: list[ast.AST]) -> bool:
    """Whether the loop body `nodes` zeroes the gradients that `step` uses. Only an optimizer's
    `zero_grad()` on another optimizer (or on a module it does not train) is known not to."""
    zeroings = [n for n in nodes if cell.is_zeroing(n)]
    if not zeroings:
        return False
    if not (isinstance(step, ast.Call) and isinstance(step.func, ast.Attribute)):
        return True  # a hand-written update: any zeroing is taken to be its own
    scope = cell.scope_of(step)
    optimizer = cell.resolve(step.func.value, scope)
    torch = _torch()
    for z in zeroings:
        if not (isinstance(z, ast.Call) and isinstance(z.func, ast.Attribute) and z.func.attr == "zero_grad"):
            return True
        if cell.text(z.func.value) == cell.text(step.func.value):
            return True
        other = cell.resolve(z.func.value, cell.scope_of(z))
        if other is MISSING or optimizer is MISSING or other is optimizer:
            return True
        if isinstance(other, torch.optim.Optimizer) and isinstance(optimizer, torch.optim.Optimizer):
            continue  # another optimizer's zero_grad()
        if is_module(other) and isinstance(optimizer, torch.optim.Optimizer):
            mine = {id(p) for group in optimizer.param_groups for p in group["params"]}
            if any(id(p) in mine for p in other.parameters()):
                return True
            continue
        return True
    return False


def _accumulations(cell: Cell) -> list[tuple[ast.stmt, ast.AST, ast.AST]]:
    """(statement, accumulator target, added value) for `t += v` and `t = t + v`, in line order."""
    return sorted(_find_accumulations(cell), key=lambda a: a[0].lineno)


def _find_accumulations(cell: Cell) -> Iterator[tuple[ast.stmt, ast.AST, ast.AST]]:
    for node in cell.nodes:
        if isinstance(node, ast.AugAssign) and isinstance(node.op, (ast.Add, ast.Sub)):
            yield node, node.target, node.value
        elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.value, ast.BinOp) \
                and isinstance(node.value.op, ast.Add):
            t = cell.text(node.targets[0])
            left, right = node.value.left, node.value.right
            if cell.text(left) == t:
                yield node, node.targets[0], right
            elif cell.text(right) == t:
                yield node, node.targets[0], left
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) \
                and isinstance(node.value.func, ast.Attribute) and node.value.func.attr in ("append", "insert") \
                and node.value.args:
            yield node, node.value.func.value, node.value.args[-1]


def _derived_names(cell: Cell, name: str, scope: ast.AST) -> set[str]:
    """`name` and every name assigned from an expression that reads it (in the scope)."""
    found = {name}
    assigns = [n for n in cell.body_nodes(scope, inline=False)
               if isinstance(n, (ast.Assign, ast.AugAssign, ast.AnnAssign))]
    changed = True
    while changed:
        changed = False
        for a in assigns:
            value = a.value
            if value is None or not (names_in(value) & found):
                continue
            targets = a.targets if isinstance(a, ast.Assign) else [a.target]
            for t in targets:
                for n in ast.walk(t):
                    if isinstance(n, ast.Name) and n.id not in found:
                        found.add(n.id)
                        changed = True
    return found


def _live_target(cell: Cell, target: ast.AST, scope: ast.AST) -> Any:
    """The live value of an accumulator (`x`, `d["k"]`, `obj.attr`), or MISSING."""
    if isinstance(target, (ast.Name, ast.Attribute)):
        return cell.resolve(target, scope)
    if isinstance(target, ast.Subscript) and isinstance(target.slice, ast.Constant):
        base = cell.resolve(target.value, scope)
        if isinstance(base, dict):
            return base.get(target.slice.value, MISSING)
    return MISSING


def rule_history_accumulation(cell: Cell) -> Iterator[Hit]:
    """A tensor with grad history added up across loop iterations (`total += loss`)."""
    flagged: set[str] = set()
    for stmt, target, value in cell.once(_accumulations):
        if names_in(value) & flagged:
            continue  # a consequence of an accumulation already reported
        loops = cell.loops_of(stmt)
        if not loops or isinstance(value, (ast.List, ast.Tuple, ast.ListComp)):
            continue
        loop = loops[0]
        root = root_name(target)
        if root is None:
            continue
        scope = cell.scope_of(stmt)
        t_text = cell.text(target)
        reset = False
        for n in walk_body(loop.body):
            if isinstance(n, (ast.Assign, ast.AnnAssign)) and n is not stmt:
                targets = n.targets if isinstance(n, ast.Assign) else [n.target]
                if any(cell.text(t) in (t_text, root) for t in targets):
                    reset = True
            if isinstance(n, (ast.For, ast.AsyncFor)) and root in names_in(n.target):
                reset = True
        if reset:
            continue
        appended = isinstance(stmt, ast.Expr)
        if appended and not any(cell.trains(cell.body_nodes(l)) for l in loops):
            continue  # outputs kept by an evaluation loop: eval-without-no-grad tells the cause
        live = _live_target(cell, target, scope) if cell.def_scope(root, scope) is cell.tree else MISSING
        if appended and isinstance(live, list):
            tensors = [v for v in live if is_tensor(v)]
            if len(tensors) < len(live) or not any(v.requires_grad for v in tensors):
                continue
            live = MISSING
        if live is not MISSING and not is_tensor(live):
            if isinstance(live, (int, float, complex)) or is_ndarray(live) or live is None:
                continue
        if is_tensor(live):
            if not live.requires_grad:
                continue
        elif not cell.carries_grad(value, scope):
            continue
        derived = _derived_names(cell, root, scope)
        if any(names_in(call) & derived for call in cell.grad_calls()):
            continue  # accumulated on purpose, to backpropagate the sum
        if any(isinstance(n, (ast.Return, ast.Yield)) and n.value is not None and names_in(n.value) & derived
               for n in cell.body_nodes(scope, inline=False) if scope is not cell.tree):
            continue  # returned to a caller that may backpropagate it
        flagged.add(root)
        yield Hit("history-accumulation", stmt.lineno, t_text, cell.text(value))


def _grad_flag_writes(cell: Cell) -> list[tuple[ast.AST, ast.AST, str, int]]:
    """(statement, receiver, attribute, line) for writes of `requires_grad` or a name close to it."""
    out = []
    for node in cell.nodes:
        targets: list[tuple[ast.AST, str, int]] = []
        if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            for t in (node.targets if isinstance(node, ast.Assign) else [node.target]):
                for sub in ast.walk(t):
                    if isinstance(sub, ast.Attribute) and isinstance(sub.ctx, ast.Store):
                        targets.append((sub.value, sub.attr, node.lineno))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "setattr" \
                and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str):
            targets.append((node.args[0], node.args[1].value, node.lineno))
        for recv, attr, line in targets:
            if attr == "requires_grad" or difflib.SequenceMatcher(None, attr.lower(), "requires_grad").ratio() >= 0.85:
                out.append((node, recv, attr, line))
    return out


def rule_requires_grad_typo(cell: Cell) -> Iterator[Hit]:
    """`p.require_grad = False`: a misspelt attribute that freezes nothing."""
    for node, recv, attr, line in cell.once(_grad_flag_writes):
        scope = cell.scope_of(node)
        value = cell.resolve(recv, scope)
        if attr == "requires_grad":
            if value is not MISSING and is_module(value):
                yield Hit("requires-grad-typo", line, f"{cell.text(recv)}.requires_grad", "module")
            continue
        if value is not MISSING and not (is_tensor(value) or is_module(value)):
            continue
        if value is MISSING and isinstance(recv, ast.Name):
            if recv.id == "self":
                continue
            b = cell.binding(recv.id, scope, line)
            if b is not None and b.kind == "assign" and b.index is None:
                cls = cell.ctor_class(b.value, cell.scope_of(b.node))
                if cls is not None and not cell.is_module_class(cls) and not (
                        isinstance(cls, type) and cls.__module__.startswith("torch")):
                    continue  # an object of some other class: its attribute may be real
        yield Hit("requires-grad-typo", line, f"{cell.text(recv)}.{attr}", "requires_grad")


def rule_target_requires_grad(cell: Cell) -> Iterator[Hit]:
    """A loss whose target carries grad history from a module the prediction does not use."""
    for call in cell.calls:
        scope = cell.scope_of(call)
        name = cell.loss_name(call, scope)
        if name not in _TARGET_LOSSES:
            continue
        target = arg_at(call, 1, "target")
        pred = arg_at(call, 0, "input")
        if target is None or pred is None:
            continue
        t_src = cell.grad_sources(target, scope)
        if not t_src:
            continue
        p_src = cell.grad_sources(pred, scope) or frozenset()
        if name in ("kl_div", "KLDivLoss") and not t_src - p_src:
            continue  # two passes of one model matched to each other (R-Drop, consistency): on purpose
        line = call.lineno
        if isinstance(target, ast.Name):
            b = cell.binding(target.id, scope, call.lineno)
            if b is not None and b.kind in ("assign", "aug") and b.line <= call.lineno:
                line = b.line
        yield Hit("target-requires-grad", line, cell.text(target), name)


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


_SOFTMAX = {"softmax", "log_softmax"}
_PASS_THROUGH = {"view", "reshape", "squeeze", "unsqueeze", "float", "double", "contiguous", "permute",
                 "transpose", "flatten", "to", "cpu", "cuda", "clamp", "clamp_min", "log", "type_as"}


def _softmax_origin(cell: Cell, node: ast.AST, scope: ast.AST, depth: int = 0) -> tuple[str, int] | None:
    """The softmax that produced a value and the line that applies it (0 if not in the cell)."""
    if depth > 6 or node is None:
        return None
    nxt = depth + 1
    if isinstance(node, ast.Call):
        f = node.func
        name = cell.torch_func(node, scope)
        if name in _SOFTMAX:
            return cell.text(f), node.lineno
        if name == "log" and node.args:
            return _softmax_origin(cell, node.args[0], scope, nxt)
        if isinstance(f, ast.Attribute):
            recv = cell.resolve(f.value, scope)
            if recv is MISSING or is_tensor(recv):
                if f.attr in _SOFTMAX:
                    return f".{f.attr}()", node.lineno
                if f.attr in _PASS_THROUGH:
                    return _softmax_origin(cell, f.value, scope, nxt)
        ref = cell.module_ref(f, scope)
        return _module_softmax(cell, ref, node, scope, nxt) if ref is not None else None
    if isinstance(node, ast.Subscript):
        return _softmax_origin(cell, node.value, scope, nxt)
    if isinstance(node, ast.Name):
        b = cell.binding(node.id, scope, node.lineno)
        found = None
        if b is not None and b.kind == "assign" and b.index is None:
            found = _softmax_origin(cell, b.value, cell.scope_of(b.node), nxt)
        if found is None and cell.def_scope(node.id, scope) is cell.tree:
            value = cell.lookup(node.id, scope)
            if is_tensor(value) and value.grad_fn is not None \
                    and type(value.grad_fn).__name__ in ("SoftmaxBackward0", "LogSoftmaxBackward0"):
                found = node.id, (b.line if b is not None else 0)
        return found
    return None


def _module_softmax(cell: Cell, ref: ModRef, call: ast.Call, scope: ast.AST, depth: int) -> tuple[str, int] | None:
    """A module whose output is a (log-)softmax: nn.Softmax, a Sequential ending in one, a forward returning one."""
    torch = _torch()
    soft = (torch.nn.Softmax, torch.nn.LogSoftmax)
    if ref.obj is not None:
        last = ref.obj
        while isinstance(last, torch.nn.Sequential) and len(last):
            last = last[-1]
        if isinstance(last, soft):
            return f"{ref.label} (ends in {type(last).__name__})", _softmax_ctor_line(cell, ref, scope, call)
    cls = ref.cls
    if isinstance(cls, type):
        if issubclass(cls, soft):
            return ref.label, call.lineno
        if issubclass(cls, torch.nn.Sequential) and ref.obj is None and ref.key.startswith("name:"):
            b = cell.binding(ref.key[5:], scope, call.lineno)
            if b is not None and isinstance(b.value, ast.Call) and b.value.args:
                last_ctor = b.value.args[-1]
                c = cell.ctor_class(last_ctor, cell.scope_of(b.node))
                if isinstance(c, type) and issubclass(c, soft):
                    return f"{ref.label} (ends in {c.__name__})", last_ctor.lineno
        cls = cell.cell_class(cls.__name__) if cls.__module__ == "__main__" else None
    if isinstance(cls, ast.ClassDef):
        forward = next((n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == "forward"), None)
        if forward is None:
            return None
        returns = [n for n in walk_body(forward.body) if isinstance(n, ast.Return) and n.value is not None]
        found = [_softmax_origin(cell, r.value, forward, depth) for r in returns]
        if found and all(found):
            return f"{ref.label}", returns[0].lineno
    return None


def _softmax_ctor_line(cell: Cell, ref: ModRef, scope: ast.AST, call: ast.Call) -> int:
    """The line of the nn.Softmax/LogSoftmax constructor of a model built in the cell, or 0."""
    if not isinstance(call.func, ast.Name):
        return 0
    b = cell.binding(call.func.id, scope, call.lineno)
    if b is None or b.value is None:
        return 0
    for n in ast.walk(b.value):
        c = cell.ctor_class(n, cell.scope_of(b.node)) if isinstance(n, ast.Call) else None
        if isinstance(c, type) and c.__name__ in ("Softmax", "LogSoftmax"):
            return n.lineno
    return 0


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
                    line = before[-1].lineno if before else evals[0].lineno
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
            if kind == "tensor" and path.startswith("torch.") and cell.torch_func(b.value, scope) in _FACTORIES:
                return True
            if kind == "array" and path.startswith("numpy."):
                return True
    return None


def _named_call_results(cell: Cell) -> list[ast.Assign]:
    """`name = call(...)` statements."""
    return [node for node in cell.nodes if isinstance(node, ast.Assign) and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name) and isinstance(node.value, ast.Call)]


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


_NP_NOT_DRAWS = {"seed", "default_rng", "RandomState", "Generator", "SeedSequence", "get_state", "set_state",
                 "PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64", "BitGenerator"}
_PY_DRAWS = {"random", "randint", "choice", "choices", "shuffle", "sample", "uniform", "gauss", "randrange",
             "normalvariate", "betavariate", "expovariate", "triangular", "getrandbits", "lognormvariate"}
_TORCH_DRAWS = {"rand", "randn", "randint", "randperm", "rand_like", "randn_like", "randint_like", "multinomial",
                "bernoulli", "normal", "poisson"}


def _generator_family(path: str, seed: bool) -> str:
    """'torch' / 'numpy' / 'random' for a seeding call (seed=True) or a random draw, else ''."""
    head, _, last = path.rpartition(".")
    if seed:
        if last == "manual_seed" and head in ("torch", "torch.random"):
            return "torch"
        if path == "numpy.random.seed":
            return "numpy"
        if path == "random.seed":
            return "random"
        return ""
    if head == "numpy.random" and last not in _NP_NOT_DRAWS:
        return "numpy"
    if head == "random" and last in _PY_DRAWS:
        return "random"
    if head == "torch" and last in _TORCH_DRAWS or head == "torch.nn.init":
        return "torch"
    return ""


def rule_nondeterminism(cell: Cell) -> Iterator[Hit]:
    """A cell that seeds some random generators but draws from one it does not seed."""
    seeded: dict[str, ast.Call] = {}
    draws: list[tuple[str, ast.Call]] = []
    for call in cell.calls:
        last = cell._call_last(call)
        if last in ("seed_everything", "set_seed", "set_random_seed", "fix_seed", "seed_all"):
            return  # a helper that seeds everything
        path = cell.path_of(call.func, cell.scope_of(call))
        if not path:
            continue
        family = _generator_family(path, seed=True)
        if family:
            seeded.setdefault(family, call)
            continue
        family = _generator_family(path, seed=False)
        if family and kwarg(call, "generator") is None:
            draws.append((family, call))
    if not seeded:
        return
    reported: set[str] = set()
    for family, call in draws:
        if family in seeded or family in reported:
            continue
        reported.add(family)
        yield Hit("nondeterminism", call.lineno, cell.text(call.func), _short(cell, next(iter(seeded.values()))))


_COMPS = (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)
_THREADED = re.compile(r"\b(torch|numpy|tensorflow|jax|sklearn)\b")
_THREAD_LIMIT = re.compile(r"OMP_NUM_THREADS|MKL_NUM_THREADS|set_num_threads")


def _launcher(cell: Cell, call: ast.Call) -> str:
    """'popen' / 'process' / 'pool' for calls that start workers, else ''. Threads count too:
    PyTorch ops run from several Python threads at once each bring a full set of compute threads."""
    scope = cell.scope_of(call)
    path = cell.path_of(call.func, scope)
    head, _, last = path.rpartition(".")
    if not head.startswith(("subprocess", "multiprocessing", "concurrent.futures", "torch.multiprocessing",
                            "threading")):
        if not (isinstance(call.func, ast.Attribute) and _is_mp_context(cell, call.func.value, scope)):
            return ""
        last = call.func.attr  # mp.get_context("fork").Pool(...), ctx.Process(...)
    return {"Popen": "popen", "Process": "process", "Thread": "process", "Pool": "pool", "ThreadPool": "pool",
            "ProcessPoolExecutor": "pool", "ThreadPoolExecutor": "pool"}.get(last, "")


def _is_mp_context(cell: Cell, expr: ast.AST, scope: ast.AST) -> bool:
    """Whether `expr` is a multiprocessing start-method context (`mp.get_context(...)`)."""
    if isinstance(expr, ast.Call):
        path = cell.path_of(expr.func, scope)
        return path.endswith(".get_context") and path.startswith(("multiprocessing", "torch.multiprocessing"))
    value = cell.resolve(expr, scope)
    return type(value).__module__ == "multiprocessing.context"


def _script_of(cell: Cell, call: ast.Call) -> tuple[str, str] | None:
    """(label, code) of the Python program a Popen call starts, when the cell can tell."""
    cmd = arg_at(call, 0, "args")
    parts = cmd.elts if isinstance(cmd, (ast.List, ast.Tuple)) else [cmd] if cmd is not None else []
    scope = cell.scope_of(call)
    values = []
    for part in parts:
        if isinstance(part, ast.Constant) and isinstance(part.value, str):
            values.append(part.value)
        else:
            value = cell.resolve(part, scope)
            values.append(value if isinstance(value, str) else None)
    texts = [v for v in values if v is not None]
    if not any("python" in v.rsplit("/", 1)[-1].lower() or v.endswith(".py") for v in texts):
        return None
    if "-c" in texts and texts.index("-c") + 1 < len(texts):
        return "python -c", texts[texts.index("-c") + 1]
    for v in texts:
        if v.endswith(".py"):
            try:
                with open(v, encoding="utf-8", errors="replace") as fh:
                    return v.replace("\\", "/").rsplit("/", 1)[-1], fh.read(100_000)
            except OSError:
                return None
    return None


def _how_many(cell: Cell, node: ast.AST) -> str:
    """'3' when the number of processes a loop or Pool starts is known, else ''."""
    scope = cell.scope_of(node)
    it = None
    for anc in cell.ancestors(node):
        if isinstance(anc, _COMPS):
            it = anc.generators[0].iter
            break
        if isinstance(anc, (ast.For, ast.AsyncFor)):
            it = anc.iter
            break
    if it is None:
        return ""
    if isinstance(it, ast.Call) and isinstance(it.func, ast.Name) and it.func.id == "range" and len(it.args) == 1 \
            and isinstance(it.args[0], ast.Constant):
        return str(it.args[0].value)
    value = cell.resolve(it, scope)
    if isinstance(value, (list, tuple, range, dict)):
        return str(len(value))
    if isinstance(it, (ast.List, ast.Tuple)):
        return str(len(it.elts))
    return ""


@lru_cache(maxsize=1)
def _cpu_count() -> int:
    import os

    return os.cpu_count() or 1


def rule_cpu_oversubscription(cell: Cell) -> Iterator[Hit]:
    """Several PyTorch processes started side by side, each with as many threads as there are cores."""
    import os

    if _cpu_count() < 2 or any(v in os.environ for v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")):
        return
    if _THREAD_LIMIT.search(cell.source):
        return
    for call in cell.calls:
        kind = _launcher(cell, call)
        if not kind or kwarg(call, "env") is not None:
            continue
        scope = cell.scope_of(call)
        if kind in ("popen", "process"):
            inside = any(isinstance(a, _COMPS + (ast.For, ast.AsyncFor, ast.While)) for a in cell.ancestors(call))
            if not inside:
                continue
        if kind == "popen":
            script = _script_of(cell, call)
            if script is None or not _THREADED.search(script[1]) or _THREAD_LIMIT.search(script[1]):
                continue
            label = script[0]
        else:
            target = arg_at(call, 0, "target") if kind == "process" else None
            if kind == "pool":
                users = [c for c in cell.calls if isinstance(c.func, ast.Attribute)
                         and c.func.attr in ("map", "starmap", "imap", "imap_unordered", "submit", "apply_async")
                         and c.args]
                target = users[0].args[0] if users else None
            fn = cell.cell_function(ast.Call(func=target, args=[], keywords=[])) if isinstance(target, ast.Name) else None
            if fn is None or not _THREADED.search(cell.text(fn)) and "nn." not in cell.text(fn):
                continue
            label = fn.name
        n = _how_many(cell, call) if kind != "pool" else ""
        if kind == "pool":
            size = arg_at(call, 0, "processes" if cell._call_last(call) in ("Pool", "ThreadPool") else "max_workers")
            n = str(size.value) if isinstance(size, ast.Constant) and isinstance(size.value, int) else ""
            if n == "1":
                continue
        other = f"{n} × `{label}`" if n else f"`{label}`"
        yield Hit("cpu-oversubscription", call.lineno, cell.text(call.func), other)
        return


RULES: list[Rule] = [
    rule_grad_accumulation,
    rule_history_accumulation,
    rule_requires_grad_typo,
    rule_target_requires_grad,
    rule_unregistered_submodule,
    rule_functional_dropout,
    rule_softmax_before_ce,
    rule_conv_bias_before_bn,
    rule_train_eval_mode,
    rule_eval_without_no_grad,
    rule_from_numpy_shares_memory,
    rule_tensor_aliasing,
    rule_nondeterminism,
    rule_cpu_oversubscription,
]
