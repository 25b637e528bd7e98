"""Sentences the engine adds to a diagnosis (where the location came from, CUDA state), in en and zh."""
from __future__ import annotations

from typing import Any

from ..knowledge import fill

NOTES: dict[str, dict[str, str]] = {
    "en": {
        "forward_trace": "The error surfaced in `backward()`; anomaly detection traced it to the "
        "forward operation on line {line}.",
        "launch_blocking": "CUDA ran with CUDA_LAUNCH_BLOCKING=1, so the line is exact.",
        "synchronised": "CUDA was already running: the device was synchronised after each "
        "statement of the cell, so the line is the statement that launched the failing kernel.",
        "rerun_cause": "The CUDA error hid the real cause; the CPU rerun found it on line {line}.",
        "rerun_ok": "The cell runs on the CPU: the problem is specific to the GPU (memory, a "
        "CUDA/cuDNN kernel or the driver).",
        "context_lost": "The CUDA context is unusable after this error: restart the kernel. "
        "Every later CUDA call in this process would fail too.",
        "rescue_saved": "What this cell could reach was saved to `{path}`. After the restart, "
        "re-run the cells that define your model and optimizer, then run "
        "`%torchdebug restore` to load their state back.",
        "snapshot": "Snapshot before the run: {mb:.1f} MB of tensors in {seconds:.2f} s.",
        "snapshot_left_out": "Not in the snapshot, so the replay ran without them: {names}.",
        "rerun_stopped": "The CPU rerun was stopped: {reason}.",
        "replayed": "Fast mode: this diagnosis comes from replaying the cell from its snapshot "
        "with full instrumentation; your variables keep the state the failed run left.",
        "replay_differs": "Fast mode: the instrumented replay did not reproduce the failure, so "
        "the diagnosis rests on the original run alone.",
        "replay_effects": "The replay repeated what it could not keep to itself: {effects}.",
        "replay_stopped": "The replay stopped early: {reason}.",
        "interrupted": "The diagnosis was interrupted; the error is the cell's own, as it ran.",
        "memory_freed": "Gave {size} of cached, unused GPU memory back to the driver; you can go on "
        "without restarting once the cause is fixed.",
        "snapshot_failed": "No snapshot could be taken before the run ({error}), so there is no CPU rerun.",
        "snapshot_failed_fast": "No snapshot could be taken before the run ({error}), so the cell "
        "could not be replayed with instrumentation.",
        "child_process": "The error was raised in {process}, not here: its own traceback, passed back "
        "as text, points to line {line} (`{code}`). Line {here} is where it reached this process.",
        "child_process_elsewhere": "The error was raised in {process}, in {file} line {line}: `{code}`.",
        "child_process_no_line": "The error was raised in {process}, outside your code: {error}",
        "discarded": "Line {line} calls `{code}` as a statement of its own: it returns a new tensor "
        "and leaves `{name}` as it was. Keep the result: `{name} = {code}`.",
        "squeezed_nothing": "The `squeeze` on line {line} removed nothing: the dimension it names is not of "
        "size 1 here, so the shape stayed {shape}. Name the dimension of size 1 that should go.",
    },
    "zh": {
        "forward_trace": "错误在 `backward()` 中出现；异常检测把它追溯到第 {line} 行的前向运算。",
        "launch_blocking": "CUDA 以 CUDA_LAUNCH_BLOCKING=1 运行，所以行号是准确的。",
        "synchronised": "CUDA 已在运行：每条语句之后都同步了设备，所以行号就是启动出错 kernel 的语句。",
        "rerun_cause": "CUDA 错误掩盖了真正的原因；在 CPU 上重新运行后，发现问题在第 {line} 行。",
        "rerun_ok": "此单元格在 CPU 上可以运行：问题只出现在 GPU 上（显存、CUDA/cuDNN kernel 或驱动）。",
        "context_lost": "出现这个错误后 CUDA 上下文已不可用：请重启内核。此进程中之后的所有 CUDA 调用都会失败。",
        "rescue_saved": "此单元格能访问到的数据已保存到 `{path}`。重启后，先重新运行定义模型和优化器的单元格，"
        "再运行 `%torchdebug restore` 把它们的状态加载回来。",
        "snapshot": "运行前的快照：{mb:.1f} MB 张量，耗时 {seconds:.2f} 秒。",
        "snapshot_left_out": "未放入快照，重放时没有它们：{names}。",
        "rerun_stopped": "CPU 上的重新运行被停止：{reason}。",
        "replayed": "快速模式：此诊断来自按快照重放该单元格（开启全部检测）；你的变量保持失败运行后的状态。",
        "replay_differs": "快速模式：开启检测的重放没有重现这个错误，因此诊断只依据原始运行。",
        "replay_effects": "重放重复了它无法隔离的外部作用：{effects}。",
        "replay_stopped": "重放提前停止：{reason}。",
        "interrupted": "诊断被中断；显示的错误是单元格自己运行时的错误。",
        "memory_freed": "已把 {size} 缓存中未使用的显存还给驱动；修正原因后无需重启即可继续。",
        "snapshot_failed": "运行前无法建立快照（{error}），因此不会在 CPU 上重新运行。",
        "snapshot_failed_fast": "运行前无法建立快照（{error}），因此无法开启检测重放该单元格。",
        "child_process": "错误发生在{process}中，而不是这里：它以文本传回的 traceback 指向第 {line} 行"
        "（`{code}`）。第 {here} 行是错误传到本进程的地方。",
        "child_process_elsewhere": "错误发生在{process}中，位于 {file} 第 {line} 行：`{code}`。",
        "child_process_no_line": "错误发生在{process}中，不在你的代码里：{error}",
        "discarded": "第 {line} 行单独调用了 `{code}`：它返回一个新张量，`{name}` 本身并没有改变。"
        "请保留结果：`{name} = {code}`。",
        "squeezed_nothing": "第 {line} 行的 `squeeze` 什么也没去掉：它指定的维度在这里大小不是 1，"
        "所以形状仍是 {shape}。请指定那个大小为 1、应当去掉的维度。",
    },
}


def note(key: str, lang: str, **facts: Any) -> str:
    """One engine note in `lang` (English if missing), with facts filled in."""
    template = NOTES.get(lang, {}).get(key) or NOTES["en"][key]
    return fill(template, facts)
