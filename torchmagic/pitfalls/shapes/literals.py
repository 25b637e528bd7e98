"""Values of literal expressions in the cell's code: sizes written as numbers or as arithmetic on them."""
from __future__ import annotations

import ast
from typing import Any

_ARITH = {ast.Mult: lambda a, b: a * b, ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b,
          ast.FloorDiv: lambda a, b: a // b}


def literal_value(node: ast.AST) -> Any:
    """The value of a literal or of integer arithmetic on literals (`28 * 28`), else None."""
    if isinstance(node, ast.BinOp) and type(node.op) in _ARITH:
        left, right = literal_value(node.left), literal_value(node.right)
        if isinstance(left, int) and isinstance(right, int):
            return _ARITH[type(node.op)](left, right)
        return None
    try:
        return ast.literal_eval(node)
    except Exception:
        return None
