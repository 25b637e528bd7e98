"""Text and HTML renderings of the `%device` views (aligned text tables, plain HTML tables),
and the `View` base that makes IPython display them."""
from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Sequence

from .messages import text

WIDTH = 100
_STYLE = ("border-collapse:collapse;margin:2px 0 6px 0;font-size:0.92em;"
          "font-family:var(--jp-code-font-family,monospace)")
_CELL = "padding:1px 8px;text-align:left;border-bottom:1px solid #ddd;vertical-align:top"
_LEVEL_COLOURS = {"warning": "#b35900", "info": "#31708f"}


# --------------------------------------------------------------------------- primitives
def fmt_bytes(n: int | None) -> str:
    """1536 -> '1.5 KiB'; None -> '-'."""
    if n is None:
        return "-"
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


def table_text(headers: Sequence[str], rows: Sequence[Sequence[Any]], indent: str = "  ",
               width: int = WIDTH) -> str:
    """Rows as aligned columns under a header line, within `width` columns: the widest
    columns give way first, their long cells cut with an ellipsis."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(_width(r[i]) for r in cells) for i in range(len(headers))]
    room = width - len(indent) - 2 * (len(widths) - 1)
    while sum(widths) > room and max(widths) > 6:
        widths[widths.index(max(widths))] -= 1
    cells = [[_cut(c, widths[i]) for i, c in enumerate(row)] for row in cells]
    lines = []
    for n, row in enumerate(cells):
        padded = [c + " " * (widths[i] - _width(c)) for i, c in enumerate(row)]
        lines.append(indent + "  ".join(padded).rstrip())
        if n == 0:
            lines.append(indent + "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _cut(s: str, width: int) -> str:
    """`s` shortened to `width` display columns, an ellipsis marking the cut."""
    if _width(s) <= width:
        return s
    out = ""
    for ch in s:
        if _width(out + ch) > width - 1:
            break
        out += ch
    return out + "…"


def _width(s: str) -> int:
    """Display width: CJK characters take two columns."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in s)


def table_html(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    head = "".join(f'<th style="{_CELL}">{html.escape(str(h))}</th>' for h in headers)
    body = "".join(
        "<tr>" + "".join(f'<td style="{_CELL}">{html.escape(str(c))}</td>' for c in row) + "</tr>"
        for row in rows)
    return f'<table style="{_STYLE}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def pairs_text(pairs: Sequence[tuple[str, Any]], indent: str = "  ") -> str:
    width = max((_width(k) for k, _ in pairs), default=0)
    return "\n".join(f"{indent}{k}{' ' * (width - _width(k))}  {v}" for k, v in pairs)


def pairs_html(pairs: Sequence[tuple[str, Any]]) -> str:
    body = "".join(
        f'<tr><th style="{_CELL};font-weight:600">{html.escape(str(k))}</th>'
        f'<td style="{_CELL}">{html.escape(str(v))}</td></tr>' for k, v in pairs)
    return f'<table style="{_STYLE}"><tbody>{body}</tbody></table>'


def bullet_text(message: str, mark: str = "-", indent: str = "  ") -> str:
    """`message` wrapped under a bullet; long marks (pitfall ids) get a fixed hanging indent."""
    lead = f"{indent}{mark} "
    return wrap(message, lead, " " * min(len(lead), len(indent) + 4))


_NO_LINE_START = set("，。、；：）」』！？》")


def wrap(message: str, first: str, rest: str, width: int = WIDTH) -> str:
    """Greedy line filling by display width; breaks at spaces, and between CJK characters,
    which have no spaces to break at."""
    tokens = re.findall(r"[\u2e80-\u9fff\uff00-\uffef\u3000-\u303f]|[^\s\u2e80-\u9fff\uff00-\uffef\u3000-\u303f]+|\s+", message)
    lines, line = [], first
    fresh = True
    for token in tokens:
        if token.isspace():
            if not fresh:
                line += " "
            continue
        if (not fresh and _width(line) + _width(token) > width
                and token not in _NO_LINE_START):
            lines.append(line.rstrip())
            line, fresh = rest, True
        line += token
        fresh = False
    lines.append(line.rstrip())
    return "\n".join(lines)


def _heading_html(title: str) -> str:
    return f'<div style="font-weight:700;margin-top:4px">{html.escape(title)}</div>'


def _box(inner: str) -> str:
    return f'<div class="torchmagic-device">{inner}</div>'


def _item_html(message: str, level: str = "info", tag: str = "") -> str:
    colour = _LEVEL_COLOURS.get(level, "inherit")
    label = f'<code style="color:{colour}">[{html.escape(tag)}]</code> ' if tag else ""
    return f'<li style="margin:2px 0">{label}{html.escape(message)}</li>'


def _yes(value: bool, lang: str) -> str:
    return text("yes" if value else "no", lang)


# --------------------------------------------------------------------------- dispatch
class View:
    """Shared display plumbing: IPython shows `_repr_html_` in notebooks, text elsewhere."""

    def __str__(self) -> str:
        return as_text(self)

    def _repr_html_(self) -> str:
        return as_html(self)

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(str(self))


def view(cls: type) -> type:
    """A dataclass view; IPython's pretty printer must find `_repr_pretty_` on the class
    itself, ahead of the `__repr__` the dataclass defines there."""
    cls = dataclass(cls)
    cls._repr_pretty_ = View._repr_pretty_  # type: ignore[attr-defined]
    return cls


def as_text(obj: Any) -> str:
    """The aligned-text rendering of any `%device` view."""
    return _RENDERERS[type(obj).__name__][0](obj)


def as_html(obj: Any) -> str:
    """The HTML rendering of any `%device` view."""
    return _RENDERERS[type(obj).__name__][1](obj)


# --------------------------------------------------------------------------- the report
def _report_pairs(r: Any) -> list[tuple[str, str]]:
    lang = r.language
    unset = text("unset", lang)
    cudnn = r.cudnn
    cudnn_value = text("cudnn_value", lang, version=cudnn.version or "-",
                       enabled=cudnn.enabled, benchmark=cudnn.benchmark,
                       deterministic=cudnn.deterministic)
    build = text("cpu_only", lang) if r.build == "CPU-only" else r.build
    extras = [f"torch.version.cuda={r.cuda_version}"]
    if r.hip_version:
        extras.append(f"torch.version.hip={r.hip_version}")
    extras.append(f"{text('cuda_built', lang)}: {_yes(r.cuda_built, lang)}")
    cuda = _yes(r.cuda_available, lang)
    if r.cuda_available:
        cuda += f" ({r.device_count})"
    mps = _yes(r.mps_available, lang) + ("" if r.mps_built else " " + text("not_built", lang))
    return [
        (text("torch", lang), r.torch_version),
        (text("build", lang), f"{build}  ({', '.join(extras)})"),
        (text("cuda_available", lang), cuda),
        (text("mps_available", lang), mps),
        (text("driver", lang), r.driver or "-"),
        (text("cudnn", lang), cudnn_value),
        (text("default_device", lang), r.default_device),
        ("CUDA_VISIBLE_DEVICES", unset if r.cuda_visible_devices is None else repr(r.cuda_visible_devices)),
        ("CUDA_LAUNCH_BLOCKING", unset if r.cuda_launch_blocking is None else repr(r.cuda_launch_blocking)),
        (text("threads", lang), text("threads_value", lang, torch=r.torch_threads,
                                     interop=r.interop_threads, usable=r.usable_cpus or "?",
                                     cpus=r.cpu_count or "?", omp=r.omp_num_threads or unset)),
        (text("deterministic", lang), _yes(r.deterministic_algorithms, lang)),
        (text("redirect", lang), text("redirect_value", lang, sources=r.redirect.split(" → ")[0],
                                      target=r.redirect.split(" → ")[-1])
         if r.redirect else text("off", lang)),
    ]


def _gpu_rows(r: Any) -> list[list[str]]:
    rows = []
    for g in r.gpus:
        name = g.name if g.seen_by_torch else f"{g.name} — {text('gpu_driver_only', r.language)}"
        rows.append([str(g.index), name, g.capability or "-", fmt_bytes(g.used),
                     fmt_bytes(g.free), fmt_bytes(g.total), fmt_bytes(g.allocated),
                     fmt_bytes(g.reserved)])
    return rows


def _issue_tag(issue: Any) -> str:
    return issue.pitfall or ("!" if issue.level == "warning" else "i")


def report_text(r: Any) -> str:
    lang = r.language
    parts = [text("report_title", lang), pairs_text(_report_pairs(r))]
    if r.gpus:
        parts += [text("gpus", lang), table_text(text("gpu_headers", lang).split("|"), _gpu_rows(r))]
    parts.append(text("diagnosis", lang))
    if not r.issues:
        parts.append(bullet_text(text("no_issues", lang)))
    for issue in r.issues:
        parts.append(bullet_text(issue.message, f"[{_issue_tag(issue)}]"))
        if issue.pitfall:
            parts.append("      " + text("explain_hint", lang, id=issue.pitfall))
    return "\n".join(parts)


def report_html(r: Any) -> str:
    lang = r.language
    inner = _heading_html(text("report_title", lang)) + pairs_html(_report_pairs(r))
    if r.gpus:
        inner += _heading_html(text("gpus", lang))
        inner += table_html(text("gpu_headers", lang).split("|"), _gpu_rows(r))
    inner += _heading_html(text("diagnosis", lang))
    items = [_item_html(text("no_issues", lang))] if not r.issues else [
        _item_html(i.message + (f"  ({text('explain_hint', lang, id=i.pitfall)})" if i.pitfall else ""),
                   i.level, _issue_tag(i))
        for i in r.issues]
    inner += f'<ul style="margin:2px 0 4px 0">{"".join(items)}</ul>'
    return _box(inner)


# --------------------------------------------------------------------------- device choice
def choice_text(c: Any) -> str:
    lang = c.language
    lines = [f"{text('set_title', lang)}: {c.device}"]
    lines += [bullet_text(n) for n in c.notes]
    if c.stays:
        lines.append(bullet_text(text("stays", lang, names=_names(c.stays))))
    return "\n".join(lines)


def choice_html(c: Any) -> str:
    lang = c.language
    items = [_item_html(n) for n in c.notes]
    if c.stays:
        items.append(_item_html(text("stays", lang, names=_names(c.stays)), "warning"))
    inner = _heading_html(f"{text('set_title', lang)}: {c.device}")
    return _box(inner + f'<ul style="margin:2px 0 4px 0">{"".join(items)}</ul>')


def _names(names: list[str], limit: int = 8) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f", … (+{len(names) - limit})" if len(names) > limit else "")


# --------------------------------------------------------------------------- redirection
def redirect_text(c: Any) -> str:
    lines = [text("redirect_title", c.language), bullet_text(c.message)]
    lines += [bullet_text(n) for n in c.notes]
    return "\n".join(lines)


def redirect_html(c: Any) -> str:
    items = [_item_html(c.message, "warning" if c.active else "info")]
    items += [_item_html(n) for n in c.notes]
    return _box(_heading_html(text("redirect_title", c.language))
                + f'<ul style="margin:2px 0 4px 0">{"".join(items)}</ul>')


# --------------------------------------------------------------------------- audit
def _audit_rows(a: Any) -> list[list[str]]:
    lang = a.language
    rows = []
    for r in a.rows:
        if r.category == "module":
            if not r.params:
                grad = "-"
            elif r.trainable == r.params:
                grad = text("yes", lang)
            elif not r.trainable:
                grad = text("no", lang)
            else:
                grad = f"{r.trainable:,}/{r.params:,}"
            last = text(r.mode, lang) if r.mode else ""
        else:
            grad = "-" if r.requires_grad is None else _yes(r.requires_grad, lang)
            last = r.grad_fn
        name = r.name + (" ⚠" if r.flags else "")
        rows.append([name, r.kind, r.device, r.dtype, r.shape, fmt_bytes(r.nbytes), grad, last])
    return rows


def _totals_pairs(a: Any) -> list[tuple[str, str]]:
    lang = a.language
    pairs = []
    for device in sorted(set(a.totals) | set(a.allocator)):
        value = fmt_bytes(a.totals.get(device, 0))
        if device in a.allocator:
            value += "  " + text("allocator", lang, size=fmt_bytes(a.allocator[device]))
        if device == "meta":
            value += "  " + text("meta_no_memory", lang)
        pairs.append((device, value))
    return pairs


def audit_text(a: Any) -> str:
    lang = a.language
    if not a.rows:
        return f"{text('audit_title', lang)}\n{bullet_text(text('audit_empty', lang))}"
    parts = [text("audit_title", lang),
             table_text(text("audit_headers", lang).split("|"), _audit_rows(a))]
    if a.flags:
        parts.append(text("flags", lang))
        parts += [bullet_text(f.message, f"[{f.pitfall}]") for f in a.flags]
    parts.append(text("audit_totals", lang))
    parts.append(pairs_text(_totals_pairs(a)))
    parts.append(wrap(text("audit_totals_note", lang), "  ", "  "))
    return "\n".join(parts)


def audit_html(a: Any) -> str:
    lang = a.language
    inner = _heading_html(text("audit_title", lang))
    if not a.rows:
        return _box(inner + f"<div>{html.escape(text('audit_empty', lang))}</div>")
    inner += table_html(text("audit_headers", lang).split("|"), _audit_rows(a))
    if a.flags:
        inner += _heading_html(text("flags", lang))
        items = "".join(_item_html(f.message, "warning", f.pitfall) for f in a.flags)
        inner += f'<ul style="margin:2px 0 4px 0">{items}</ul>'
    inner += _heading_html(text("audit_totals", lang))
    inner += pairs_html(_totals_pairs(a))
    inner += f'<div style="font-size:0.85em;color:#666">{html.escape(text("audit_totals_note", lang))}</div>'
    return _box(inner)


_RENDERERS = {
    "DeviceReport": (report_text, report_html),
    "DeviceChoice": (choice_text, choice_html),
    "RedirectChange": (redirect_text, redirect_html),
    "AuditReport": (audit_text, audit_html),
}
