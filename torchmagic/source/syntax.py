"""Small questions about a cell's syntax tree that need no model of the cell."""
from __future__ import annotations

import ast
from typing import Iterable, Iterator

FUNCS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)

DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)

LOOPS = (ast.For, ast.AsyncFor, ast.While)


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
        if isinstance(node, DEFS):
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
