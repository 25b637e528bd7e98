"""Toolchain pitfalls: the installed build does not fit the machine. A GPU whose architecture
the torch (or extension) binaries have no kernels for; `torch.compile` without the C++
compiler or Triton that its default backend generates code with."""
from __future__ import annotations

import re
from typing import Any

from ..diagnosis import Match
from ..source.values import torch_module
from .helpers import failing_place, pattern_hits
from .registry import Context, matcher


@matcher
def cuda_arch_mismatch(ctx: Context) -> Match | None:
    """No kernel for this GPU in the build: the GPU's architecture and the build's list."""
    if not pattern_hits(ctx, "cuda-arch-mismatch"):
        return None
    line, cause = failing_place(ctx)
    facts: dict[str, Any] = {}
    torch = torch_module()
    try:
        if torch.cuda.is_available():
            major, minor = torch.cuda.get_device_capability()
            facts.update(gpu=torch.cuda.get_device_name(), arch=f"sm_{major}{minor}",
                         built=", ".join(torch.cuda.get_arch_list()) or "none", version=torch.__version__)
    except Exception:
        facts = {}
    return Match("cuda-arch-mismatch", 0.9, line=line, facts=facts, detail="arch" if facts else "", cause=cause)


@matcher
def compile_toolchain(ctx: Context) -> Match | None:
    """`torch.compile`'s default backend without its compiler: which tool is missing."""
    if not pattern_hits(ctx, "compile-toolchain-missing"):
        return None
    line, cause = failing_place(ctx)
    facts: dict[str, Any] = {}
    detail = ""
    m = re.search(r"No working C\+\+ compiler found in [\w.]+: (.+?)(?:\n|$)", ctx.message)
    if m or "C++ compiler" in ctx.message or "InvalidCxxCompiler" in ctx.message:
        facts["compiler"] = m.group(1).strip() if m else "the configured compiler"
        detail = "cxx"
    elif re.search(r"triton", ctx.message, re.IGNORECASE):
        detail = "triton"
    return Match("compile-toolchain-missing", 0.9, line=line, facts=facts, detail=detail, cause=cause)
