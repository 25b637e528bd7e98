"""Findings for silent pitfalls: the static lint, the runtime audit and the warnings, as one list.

Each family module in :mod:`torchmagic.pitfalls` contributes rules (read from the code) and
audit checks (read from the live objects); this module runs them over a parsed cell, turns
their hits into :class:`~torchmagic.diagnosis.Finding` objects with the knowledge base's message,
drops the lines silenced by ``# torchmagic: ignore[id]``, de-duplicates and sorts them. A rule
that crashes is skipped; the others still run.
"""
from __future__ import annotations

import ast
import io
import re
import tokenize
from functools import lru_cache
from typing import Any, Iterable, Mapping

from ..run import faults, guards
from ..diagnosis import Finding
from ..knowledge import catalog
from . import discarded
from .notes import note
from ..pitfalls.registry import Hit, Rule, audits, monitors, rules
from ..source.cell import Cell


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
    return findings_from_hits(run_rules(rules(), cell), cell.source, lang, "lint")


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


def run_monitors(checks: Iterable[Any], cell: "Cell", found: Any) -> list[Hit]:
    """All hits of the run checks; one that raises is skipped, the others still count."""
    hits: list[Hit] = []
    for check in checks:
        try:
            hits.extend(check(cell, found))
        except Exception:
            continue
    return hits


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
        out.append(Finding(hit.pitfall, hit.line, message(hit.pitfall, lang, hit.name, hit.other, hit.detail), origin))
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


def message(pitfall: str, lang: str, name: str = "", other: str = "", detail: str = "") -> str:
    """The finding message of the knowledge base's entry (its `detail` sentence when the check
    named one), or a short English fallback."""
    text = ""
    try:
        from ..knowledge import get_entry

        entry = get_entry(pitfall)
        if entry is not None:
            text = (entry.detail(detail, lang, {"name": name, "other": other}) if detail else "") \
                or entry.text("finding", lang, name=name, other=other)
    except Exception:
        text = ""
    if not text:
        template = (_FALLBACK_ZH if lang == "zh" else {}).get(pitfall) or \
            _FALLBACK.get(pitfall, f"Possible silent pitfall `{pitfall}`.")
        text = template.format(name=name, other=other)
    return text


def audit_namespace(namespace: Mapping[str, Any], source: str, lang: str = "en") -> list[Finding]:
    """Runtime audit after the cell finished (modules, optimizers, BatchNorm state).

    Lines point into the cell source where possible; findings are de-duplicated, sorted by
    line and honour `# torchmagic: ignore[id]` comments like the lint's.
    """
    if namespace is None:
        return []
    cell = parse_cell(source, namespace)
    if cell is None:
        return []
    return audit_parsed(cell, lang)


def audit_parsed(cell: Cell, lang: str = "en") -> list[Finding]:
    """:func:`audit_namespace` on a cell already parsed with the namespace (`lint.parse_cell`)."""
    return findings_from_hits(run_rules(audits(), cell), cell.source, lang, "audit")


def warning_patterns() -> tuple[str, ...]:
    """Message regexes of silent pitfalls that show as warnings (to be seen even if filtered)."""
    global _silent
    entries = tuple(catalog().values())
    known, patterns = _silent
    if len(known) != len(entries) or any(a is not b for a, b in zip(known, entries)):
        patterns = tuple(p.pattern for e in entries if e.kind == "silent" for p in e.patterns)
        _silent = (entries, patterns)
    return patterns


_silent: tuple[tuple[Any, ...], tuple[str, ...]] = ((), ())  # the catalog's entries and their patterns


def collect_findings(source: str, namespace: Mapping[str, Any], log: guards.WarningLog,
                     lang: str, found: Any = None) -> list[Finding]:
    """Silent pitfalls: the static lint, the runtime audit, the warnings the run raised, and
    what the run's hooks saw (`found`, the run's Evidence). A run check speaks for a pitfall
    only where the code's reading found nothing of that pitfall: it reaches the shapes the
    reading misses (a loop in an earlier cell's helper, a layer deep in a container)."""
    faults.check("lint")
    warned = warning_findings(log, lang)
    findings: list[Finding] = []
    cell = parse_cell(source, namespace)  # one parse serves the lint and the audit
    if cell is not None:
        cell.evidence = found
        findings += lint_parsed(cell, lang)
        findings += audit_parsed(cell, lang)
        if found is not None and getattr(found, "monitors", None) is not None:
            known = {f.pitfall for f in findings}
            hits = [h for h in run_monitors(monitors(), cell, found) if h.pitfall not in known]
            findings += findings_from_hits(hits, cell.source, lang, "run")
    # a warning says which line was running; the code or the run may know the line to change
    placed = {f.pitfall for f in findings}
    findings += [w for w in warned if w.pitfall not in placed]
    if cell is not None:
        findings = _thrown_away(findings, cell, found, namespace, lang)
    seen: set[tuple[str, int]] = set()
    unique = []
    for f in sorted(findings, key=lambda f: f.line):
        if (f.pitfall, f.line) not in seen:
            seen.add((f.pitfall, f.line))
            unique.append(f)
    return unique


def _thrown_away(findings: list[Finding], cell: Any, found: Any, namespace: Mapping[str, Any],
                 lang: str) -> list[Finding]:
    """Findings moved to a call written against their pitfall whose result the cell threw away."""
    filename = found.user.cell if getattr(found, "user", None) is not None else ""
    calls = discarded.thrown_away(cell.tree, filename, found, namespace) if findings else []
    if not calls:
        return findings
    out = []
    for f in findings:
        call = discarded.line_to_change(f.pitfall, calls)
        if call is not None and call.line != f.line:
            why = note("discarded", lang, line=call.line, code=call.text, name=call.receiver)
            f = Finding(f.pitfall, call.line, f"{f.message} {why}", f.source)
        out.append(f)
    return out


def warning_findings(log: guards.WarningLog, lang: str) -> list[Finding]:
    """Findings for warnings that a silent pitfall's patterns recognise (e.g. loss broadcasting)."""
    out = []
    for w in log.warnings:
        if w.cell_line is None:
            continue
        for entry in catalog().values():
            if entry.kind == "silent" and any(p.search(w.message) for p in entry.patterns):
                message = w.message.splitlines()[0]
                if lang != "en":
                    message = entry.text("finding", lang) or entry.text("title", lang) or message
                out.append(Finding(entry.id, w.cell_line, message, source="audit"))
    return out
