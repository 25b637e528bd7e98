"""The model of a cell that the lint rules question: its parse, the names it binds, and what
they are in the user's namespace.

Rules ask it about names (is `criterion` an `nn.CrossEntropyLoss`? does `model` hold a Dropout
layer? does `total` carry a `grad_fn`?), loops, modules and autograd. The namespace is only
read: attributes are looked up without running user code (no properties, no methods with side
effects). Notebooks run the same cells again and again, so what the source alone decides (the
parse, the bindings, tree questions such as a node's scope or loops, each rule's candidate
statements via :meth:`Cell.once`) is worked out once per cell text; only the questions put to
the live objects are asked afresh on every run.
"""
from __future__ import annotations

import ast
import types
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable, Iterator, Mapping

from .cellcode import dotted, parse
from .gradflow import GradFlow
from .syntax import DEFS, FUNCS, LOOPS, arg_at, is_false, kwarg
from .training import TrainingQuestions
from .values import MISSING, import_path, is_module, safe_getattr, torch_module



# Names that mean these modules in nearly every notebook; used only without a namespace.
_CONVENTIONS = {"torch": "torch", "nn": "torch.nn", "F": "torch.nn.functional",
                "optim": "torch.optim", "np": "numpy", "copy": "copy"}


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


class Cell(TrainingQuestions, GradFlow):
    """A parsed cell and the questions rules ask about it (names, loops, modules, autograd)."""

    def __init__(self, source: str, namespace: Mapping[str, Any] | None = None):
        structure = _structure(source)
        self.ns = namespace
        self.evidence: Any = None  # what the run recorded (torchmagic.evidence.Evidence), when it ran
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
            if isinstance(anc, FUNCS):
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
            if isinstance(anc, FUNCS):
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
            if isinstance(anc, FUNCS):
                top = anc
        return top

    def loops_of(self, node: ast.AST) -> list[ast.AST]:
        """Loops whose body runs `node` repeatedly, innermost first, inside `node`'s function."""
        return self._static(self._loops_of, node)

    def _loops_of(self, node: ast.AST) -> list[ast.AST]:
        out = []
        child = node
        for anc in self.ancestors(node):
            if isinstance(anc, DEFS):
                break
            if isinstance(anc, LOOPS) and child in anc.body + anc.orelse:
                out.append(anc)
            child = anc
        return out

    def statement_at_line(self, line: int) -> ast.stmt | None:
        """The innermost statement that spans `line`."""
        best = None
        for node in self.nodes:
            if isinstance(node, ast.stmt) and node.lineno <= line <= (node.end_lineno or node.lineno):
                if best is None or node.lineno >= best.lineno:
                    best = node
        return best

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
            elif isinstance(node, FUNCS):
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
            if isinstance(cur, FUNCS) and name in self.bindings.get(cur, {}) \
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
            torch = torch_module()
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
                return issubclass(cls, torch_module().nn.Module)
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
