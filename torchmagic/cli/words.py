"""What the command line says besides the report, in every language of the reports."""
from __future__ import annotations

from typing import Any

WORDS: dict[str, dict[str, str]] = {
    "en": {
        "where": "{file}, line {line}",
        "waiting": "rank {rank}: waiting in `{op}` ({where}) when rank {first} failed: a consequence of "
        "that failure, not its cause.",
        "running": "rank {rank}: running {where} when rank {first} failed; it stops when the job ends.",
        "consequence": "rank {rank}: {error}, in `{op}` ({where}): a consequence of rank {first}'s failure, "
        "not its cause.",
        "consequence_plain": "rank {rank}: {error} ({where}): a consequence of rank {first}'s failure, "
        "not its cause.",
        "failed_too": "rank {rank}: failed too, with {error} ({where}).",
        "silent": "rank {rank}: no word from it within {seconds:.0f} s (it may have been stopped already).",
        "line_waiting": "{product} [rank {rank}/{world}]: waiting in `{op}` ({where}) since rank {first} "
        "failed: a consequence, not a cause. Rank {first}'s report shows what failed.{json}",
        "line_consequence": "{product} [rank {rank}/{world}]: {error} ({where}): a consequence of rank "
        "{first}'s failure, not a cause. Rank {first}'s report shows what failed.{json}",
        "line_failed_too": "{product} [rank {rank}/{world}]: failed too, with {error} ({where}); rank "
        "{first}'s report is the one shown.{json}",
        "json_at": " Its diagnosis: {path}",
        "hang_message": "The ranks wait in different collectives, so none of them can go on: {ranks}.",
        "rank_in": "rank {rank} in `{op}` #{seq} ({where})",
        "rank_running": "rank {rank} runs {where}, not in a collective",
        "hang_wait": "{product} [rank {rank}/{world}]: waiting {seconds:.0f} s in `{op}` ({where}); {others}.",
        "hang_stopped": "{product} [rank {rank}/{world}]: stopped while waiting in `{op}` ({where}): rank "
        "{reporter}'s report shows why.",
        "hang_note": "torchmagic stopped the job after {seconds:.0f} s: every rank was waiting in a "
        "collective, and not in the same one (`--hang-timeout` sets the wait).",
        "no_script": "no such script: {path}",
        "not_python": "cannot read {path} as Python source: {error}",
        "could_not": "torchmagic could not diagnose this script: {error}",
        "failed_report": "torchmagic could not show its report: {error}",
    },
    "zh": {
        "where": "{file} 第 {line} 行",
        "waiting": "rank {rank}：rank {first} 出错时，它正在 `{op}` 中等待（{where}）：这是那次出错的后果，"
        "不是原因。",
        "running": "rank {rank}：rank {first} 出错时，它正在运行 {where}；作业结束时它会被停止。",
        "consequence": "rank {rank}：在 `{op}` 中出现 {error}（{where}）：这是 rank {first} 出错的后果，"
        "不是原因。",
        "consequence_plain": "rank {rank}：{error}（{where}）：这是 rank {first} 出错的后果，不是原因。",
        "failed_too": "rank {rank}：也出错了，{error}（{where}）。",
        "silent": "rank {rank}：{seconds:.0f} 秒内没有收到它的消息（它可能已经被停止）。",
        "line_waiting": "{product} [rank {rank}/{world}]：rank {first} 出错后，本进程在 `{op}` 中等待"
        "（{where}）：这是后果，不是原因。出错的原因见 rank {first} 的报告。{json}",
        "line_consequence": "{product} [rank {rank}/{world}]：{error}（{where}）：这是 rank {first} 出错的"
        "后果，不是原因。出错的原因见 rank {first} 的报告。{json}",
        "line_failed_too": "{product} [rank {rank}/{world}]：也出错了，{error}（{where}）；显示的是 "
        "rank {first} 的报告。{json}",
        "json_at": "它的诊断：{path}",
        "hang_message": "各个 rank 在不同的集合通信中等待，谁也无法继续：{ranks}。",
        "rank_in": "rank {rank} 在 `{op}` #{seq}（{where}）",
        "rank_running": "rank {rank} 在运行 {where}，不在集合通信中",
        "hang_wait": "{product} [rank {rank}/{world}]：已在 `{op}` 中等待 {seconds:.0f} 秒（{where}）；{others}。",
        "hang_stopped": "{product} [rank {rank}/{world}]：在 `{op}` 中等待时被停止（{where}）：原因见 "
        "rank {reporter} 的报告。",
        "hang_note": "等待 {seconds:.0f} 秒后 torchmagic 停止了作业：每个 rank 都在等待集合通信，"
        "而且等的不是同一个（`--hang-timeout` 设置等待时间）。",
        "no_script": "找不到脚本：{path}",
        "not_python": "无法把 {path} 当作 Python 源代码读取：{error}",
        "could_not": "torchmagic 未能诊断此脚本：{error}",
        "failed_report": "torchmagic 无法显示它的报告：{error}",
    },
}


def say(key: str, lang: str = "en", **values: Any) -> str:
    """The sentence `key` in `lang` (English when the language has none), filled."""
    template = WORDS.get(lang, {}).get(key) or WORDS["en"][key]
    return template.format(**values)
