"""The words of the report itself (headings, labels, one-line notices) in every language.

Pitfall explanations live in the knowledge base; this table holds only what the renderers
add around them. Every key exists in every language of :data:`STRINGS`.
"""
from __future__ import annotations

from typing import Any

STRINGS: dict[str, dict[str, str]] = {
    "en": {
        "product": "torchmagic",
        "colon": ":",
        "sep": ", ",
        "line_to_change": "The line to change",
        "line_to_change_n": "The line to change: line {line}",
        "cell": "The cell",
        "related_line": "related line",
        "what": "What happened",
        "why": "Why",
        "fix": "Fix",
        "example": "Example",
        "wrong": "Wrong",
        "right": "Right",
        "docs": "Docs",
        "tensors": "Tensors on the failing line",
        "col_name": "name",
        "col_kind": "kind",
        "col_shape": "shape",
        "col_dtype": "dtype",
        "col_device": "device",
        "col_requires_grad": "requires_grad",
        "col_grad_fn": "grad_fn",
        "col_note": "note",
        "other_causes": "Other possible causes",
        "traceback": "Traceback",
        "traceback_cut": "({n} earlier lines left out)",
        "findings": "Possible problems in this cell ({n})",
        "line_n": "line {line}",
        "no_match": "No known pitfall matches this error.",
        "no_entry": "No explanation is available for `{id}` yet.",
        "internal_error": "torchmagic could not diagnose this cell: {error}",
        "rerun": "Rerun on {device}",
        "rerun_ok": "The cell runs without error on {device}: the failure depends on the "
        "original device.",
        "rerun_failed": "On {device} it fails with {type} on line {line}:",
        "rerun_failed_no_line": "On {device} it fails with {type}:",
        "rerun_pitfalls": "Recognised there: {ids}",
        "notes": "Notes",
        "explain_hint": "Full explanation: %torchdebug explain {id}",
        "explain_hint_cli": "Full explanation: python -m torchmagic --explain {id}",
        "line_to_change_at": "The line to change: {file}, line {line}",
        "script": "The script: {file}",
        "findings_in": "Possible problems in {file} ({n})",
        "internal_error_script": "torchmagic could not diagnose this script: {error}",
        "ranks": "The other ranks",
        "process": "{product} [{process}]",
        "tb_hint": "%tb shows the full traceback",
        "kind_error": "error",
        "kind_silent": "silent",
        "kind_env": "environment",
        "catalog": "Pitfalls ({n})",
        "catalog_word": "Pitfalls matching '{word}' ({n})",
        "catalog_empty": "No pitfall matches '{word}'.",
        "col_id": "id",
        "col_family": "family",
        "col_title": "title",
        "score": "score {score:.2f}",
        "on_line": "line {line}",
    },
    "zh": {
        "product": "torchmagic",
        "colon": "：",
        "sep": "，",
        "line_to_change": "需要修改的行",
        "line_to_change_n": "需要修改的行：第 {line} 行",
        "cell": "单元格代码",
        "related_line": "相关行",
        "what": "发生了什么",
        "why": "原因",
        "fix": "解决方法",
        "example": "示例",
        "wrong": "错误写法",
        "right": "正确写法",
        "docs": "文档",
        "tensors": "出错行涉及的张量",
        "col_name": "名称",
        "col_kind": "种类",
        "col_shape": "形状",
        "col_dtype": "数据类型",
        "col_device": "设备",
        "col_requires_grad": "requires_grad",
        "col_grad_fn": "grad_fn",
        "col_note": "备注",
        "other_causes": "其他可能的原因",
        "traceback": "原始报错信息（Traceback）",
        "traceback_cut": "（省略了前面 {n} 行）",
        "findings": "此单元格中可能存在的问题（{n} 处）",
        "line_n": "第 {line} 行",
        "no_match": "没有找到与此错误对应的已知问题。",
        "no_entry": "`{id}` 暂时还没有详细说明。",
        "internal_error": "torchmagic 未能诊断此单元格：{error}",
        "rerun": "在 {device} 上重新运行",
        "rerun_ok": "此单元格在 {device} 上运行无误：问题与原来的设备有关。",
        "rerun_failed": "在 {device} 上第 {line} 行出错：{type}",
        "rerun_failed_no_line": "在 {device} 上出错：{type}",
        "rerun_pitfalls": "在那里识别出：{ids}",
        "notes": "说明",
        "explain_hint": "完整说明：%torchdebug explain {id}",
        "explain_hint_cli": "完整说明：python -m torchmagic --explain {id}",
        "line_to_change_at": "需要修改的行：{file} 第 {line} 行",
        "script": "脚本：{file}",
        "findings_in": "{file} 中可能存在的问题（{n} 处）",
        "internal_error_script": "torchmagic 未能诊断此脚本：{error}",
        "ranks": "其他 rank 的情况",
        "process": "{product} [{process}]",
        "tb_hint": "%tb 查看完整的 Traceback",
        "kind_error": "报错",
        "kind_silent": "静默",
        "kind_env": "环境",
        "catalog": "常见问题目录（{n} 条）",
        "catalog_word": "与“{word}”相关的问题（{n} 条）",
        "catalog_empty": "没有与“{word}”相关的问题。",
        "col_id": "编号",
        "col_family": "类别",
        "col_title": "标题",
        "score": "置信度 {score:.2f}",
        "on_line": "第 {line} 行",
    },
}


def ui(key: str, lang: str = "en", **values: Any) -> str:
    """The report string `key` in `lang` (English when the language is unknown), filled."""
    table = STRINGS.get(lang, STRINGS["en"])
    template = table.get(key) or STRINGS["en"][key]
    return template.format(**values) if values else template


def kind_name(kind: str, lang: str = "en") -> str:
    """The display name of a pitfall kind ("error", "silent", "env")."""
    key = f"kind_{kind}"
    if key in STRINGS["en"]:
        return ui(key, lang)
    return kind
