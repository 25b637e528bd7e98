"""The words of `%device`, in English and Chinese, kept as data in one place.

`text(message_id, lang, **facts)` fills `{placeholders}` and falls back to English.
"""
from __future__ import annotations

from typing import Any

from ..knowledge import fill

MESSAGES: dict[str, dict[str, str]] = {
    # ------------------------------------------------------------------ report labels
    "report_title": {"en": "PyTorch devices", "zh": "PyTorch 设备"},
    "torch": {"en": "torch", "zh": "torch 版本"},
    "build": {"en": "build", "zh": "构建"},
    "cpu_only": {"en": "CPU-only", "zh": "仅 CPU"},
    "cuda_built": {"en": "CUDA built in", "zh": "编译了 CUDA"},
    "cuda_available": {"en": "CUDA available", "zh": "CUDA 可用"},
    "mps_available": {"en": "MPS available", "zh": "MPS 可用"},
    "driver": {"en": "NVIDIA driver", "zh": "NVIDIA 驱动"},
    "cudnn": {"en": "cuDNN", "zh": "cuDNN"},
    "default_device": {"en": "default device", "zh": "默认设备"},
    "threads": {"en": "CPU threads", "zh": "CPU 线程"},
    "threads_value": {
        "en": "torch {torch} (interop {interop}) / {usable} usable of {cpus} CPUs, OMP_NUM_THREADS={omp}",
        "zh": "torch {torch}（interop {interop}）/ 可用 {usable} 个，共 {cpus} 个 CPU，OMP_NUM_THREADS={omp}",
    },
    "redirect": {"en": "redirection", "zh": "设备重定向"},
    "deterministic": {"en": "deterministic algorithms", "zh": "确定性算法"},
    "gpus": {"en": "GPUs", "zh": "GPU"},
    "gpu_headers": {
        "en": "#|name|capability|used|free|total|torch allocated|torch reserved",
        "zh": "#|名称|计算能力|已用|空闲|总量|torch 已分配|torch 已保留",
    },
    "gpu_driver_only": {
        "en": "seen by the driver only (not by torch)",
        "zh": "只有驱动能看到（torch 看不到）",
    },
    "yes": {"en": "yes", "zh": "是"},
    "no": {"en": "no", "zh": "否"},
    "unset": {"en": "(unset)", "zh": "（未设置）"},
    "off": {"en": "off", "zh": "关闭"},
    "none": {"en": "none", "zh": "无"},
    "cudnn_value": {
        "en": "{version}, enabled={enabled}, benchmark={benchmark}, deterministic={deterministic}",
        "zh": "{version}，enabled={enabled}，benchmark={benchmark}，deterministic={deterministic}",
    },
    "redirect_value": {"en": "ON: {sources} → {target}", "zh": "已开启：{sources} → {target}"},
    "diagnosis": {"en": "Diagnosis", "zh": "诊断"},
    "no_issues": {"en": "No installation problems found.", "zh": "没有发现安装问题。"},
    "explain_hint": {"en": "details: %torchdebug explain {id}", "zh": "详情：%torchdebug explain {id}"},
    # ------------------------------------------------------------------ installation issues
    "cpu_build_with_gpu": {
        "en": "This torch ({version}) is a CPU-only build, but the machine has an NVIDIA GPU{gpus}. "
        "Install a CUDA build, e.g. pip install torch --index-url "
        "https://download.pytorch.org/whl/cu126 (choose a CUDA version the driver supports: "
        "nvidia-smi shows it). With conda, a CPU variant is often picked because of the "
        "channel order or a leftover 'cpuonly' package: check that `conda list torch` shows "
        "a cuda build.",
        "zh": "当前 torch（{version}）是仅 CPU 的构建，但这台机器有 NVIDIA GPU{gpus}。请安装 CUDA 版本，"
        "例如 pip install torch --index-url https://download.pytorch.org/whl/cu126"
        "（CUDA 版本不能高于驱动支持的版本，用 nvidia-smi 查看）。用 conda 时，常因 channel 顺序"
        "或残留的 cpuonly 包装成了 CPU 版：用 `conda list torch` 确认装的是 cuda 构建。",
    },
    "driver_too_old": {
        "en": "The NVIDIA driver{driver} is too old for this torch build (CUDA {cuda}), so "
        "torch.cuda.is_available() is False. Update the driver, or install a torch build for "
        "an older CUDA version. torch said: {detail}",
        "zh": "NVIDIA 驱动{driver}对这个 torch 构建（CUDA {cuda}）来说太旧，所以 "
        "torch.cuda.is_available() 为 False。请升级驱动，或安装对应较老 CUDA 版本的 torch。"
        "torch 的原话：{detail}",
    },
    "no_gpu": {
        "en": "torch is built with CUDA {cuda}, but this machine shows no NVIDIA GPU or driver. "
        "To run CUDA notebooks here: %device cpu --redirect.",
        "zh": "torch 编译了 CUDA {cuda}，但这台机器上看不到 NVIDIA GPU 或驱动。"
        "要在这里运行为 CUDA 写的 notebook：%device cpu --redirect。",
    },
    "cuda_init_failed": {
        "en": "torch.cuda.is_available() is False although torch is built with CUDA {cuda} "
        "and an NVIDIA driver is present. torch said: {detail}",
        "zh": "torch 编译了 CUDA {cuda}，机器上也有 NVIDIA 驱动，但 torch.cuda.is_available() "
        "仍为 False。torch 的原话：{detail}",
    },
    "cpu_only_hint": {
        "en": "No GPU here. CUDA notebooks run on the CPU with %device cpu --redirect.",
        "zh": "这里没有 GPU。为 CUDA 写的 notebook 可以用 %device cpu --redirect 在 CPU 上运行。",
    },
    "cvd_hides_all": {
        "en": "CUDA_VISIBLE_DEVICES={value} hides every GPU from this process (an empty value, "
        "-1 or an invalid first entry means no GPU). Unset it, or list the GPU indices to use "
        "(e.g. 0 or 0,1), then restart the kernel.",
        "zh": "CUDA_VISIBLE_DEVICES={value} 让本进程看不到任何 GPU（空值、-1 或第一项无效都表示"
        "没有 GPU）。请取消这个变量，或写上要用的 GPU 编号（如 0 或 0,1），然后重启内核。",
    },
    "cvd_no_such_gpu": {
        "en": "CUDA_VISIBLE_DEVICES={value} names GPU indices that do not exist: the driver "
        "lists {count} GPU(s), numbered from 0. Fix the value and restart the kernel.",
        "zh": "CUDA_VISIBLE_DEVICES={value} 指定的 GPU 编号不存在：驱动只列出 {count} 块 GPU，"
        "编号从 0 开始。改正后重启内核。",
    },
    "cvd_changed": {
        "en": "CUDA_VISIBLE_DEVICES is now {now}, but CUDA was initialised with {then} "
        "(torch sees {count} device(s)). The variable is read once, when CUDA starts: the "
        "change has no effect until the kernel is restarted. Set it in the first cell, before "
        "any CUDA call; to choose a GPU later, use tensor.to('cuda:N') rather than the "
        "variable or torch.cuda.set_device.",
        "zh": "CUDA_VISIBLE_DEVICES 现在是 {now}，但 CUDA 初始化时是 {then}（torch 看到 {count} "
        "个设备）。这个变量只在 CUDA 启动时读取一次：修改要重启内核才生效。请在第一个单元格、"
        "任何 CUDA 调用之前设置；之后要换 GPU，用 tensor.to('cuda:N')，不要改这个变量或用 "
        "torch.cuda.set_device。",
    },
    "earlier_value": {"en": "an earlier value", "zh": "之前的值"},
    "cpu_oversubscription": {
        "en": "torch runs {threads} CPU threads, but only {usable} CPU(s) are usable by this "
        "process ({why}): the threads compete and everything slows down. Call "
        "torch.set_num_threads({usable}) (or set OMP_NUM_THREADS={usable} before starting).",
        "zh": "torch 使用 {threads} 个 CPU 线程，但本进程只能用 {usable} 个 CPU（{why}）："
        "线程互相争抢，整体变慢。请调用 torch.set_num_threads({usable})"
        "（或在启动前设置 OMP_NUM_THREADS={usable}）。",
    },
    "why_affinity": {"en": "CPU affinity", "zh": "CPU 亲和性限制"},
    "why_quota": {"en": "container CPU quota", "zh": "容器 CPU 配额"},
    "launch_blocking": {
        "en": "CUDA_LAUNCH_BLOCKING={value}: kernels run synchronously, so errors point at the "
        "right line, but training is slower. Unset it (and restart) when you are done debugging.",
        "zh": "CUDA_LAUNCH_BLOCKING={value}：kernel 同步执行，报错行号准确，但训练变慢。"
        "调试完请取消它（并重启内核）。",
    },
    "redirect_reminder": {
        "en": "Redirection is ON: {sources} requests run on {target}; torch.cuda.is_available() "
        "answers {answer}. %device --no-redirect turns it off.",
        "zh": "设备重定向已开启：{sources} 请求都在 {target} 上运行；torch.cuda.is_available() "
        "返回 {answer}。用 %device --no-redirect 关闭。",
    },
    # ------------------------------------------------------------------ setting the device
    "set_title": {"en": "Default device", "zh": "默认设备"},
    "set_done": {
        "en": "New tensors from factory functions (torch.zeros, torch.randn, torch.tensor, new "
        "nn layers' parameters, ...) are now created on {device} (was {previous}).",
        "zh": "工厂函数（torch.zeros、torch.randn、torch.tensor、新建 nn 层的参数等）创建的新张量"
        "现在放在 {device} 上（之前是 {previous}）。",
    },
    "set_auto": {"en": "auto chose {device}: {why}.", "zh": "auto 选择了 {device}：{why}。"},
    "auto_cuda": {"en": "CUDA is available", "zh": "CUDA 可用"},
    "auto_mps": {"en": "MPS is available (no CUDA)", "zh": "MPS 可用（没有 CUDA）"},
    "auto_cpu": {"en": "no CUDA or MPS device is available", "zh": "没有可用的 CUDA 或 MPS 设备"},
    "not_moved": {
        "en": "Not moved: tensors and models that already exist (call .to({device}) on them), "
        "tensors from torch.from_numpy / frombuffer (they share the array's memory and stay "
        "on the CPU), and batches from a DataLoader (move each batch with .to({device})).",
        "zh": "不会被移动的：已经存在的张量和模型（对它们调用 .to({device})）、torch.from_numpy / "
        "frombuffer 得到的张量（与数组共享内存，留在 CPU 上）、DataLoader 产出的批数据"
        "（每个 batch 用 .to({device}) 移动）。",
    },
    "set_overhead": {
        "en": "A non-CPU default device adds a little Python overhead to every torch call, and "
        "DataLoader(shuffle=True) may then fail with \"Expected a '{type}' device type for "
        "generator\": pass generator=torch.Generator(device='{type}') or keep the default "
        "on the CPU and move tensors explicitly.",
        "zh": "非 CPU 的默认设备会给每次 torch 调用增加少量 Python 开销；DataLoader(shuffle=True) "
        "还可能报错 \"Expected a '{type}' device type for generator\"：传入 "
        "generator=torch.Generator(device='{type}')，或者让默认设备保持 CPU、显式移动张量。",
    },
    "stays": {
        "en": "Still elsewhere in your namespace: {names}.",
        "zh": "命名空间里仍在其他设备上的：{names}。",
    },
    # ------------------------------------------------------------------ redirection
    "redirect_title": {"en": "Device redirection", "zh": "设备重定向"},
    "redirect_started": {
        "en": "Redirection ON: {sources} requests now run on {target} (.cuda(), .to('cuda'), "
        "device='cuda', torch.device('cuda'), torch.load(map_location=...)); "
        "torch.cuda.is_available() answers False. Turn it off with %device --no-redirect.",
        "zh": "设备重定向已开启：{sources} 请求现在都在 {target} 上运行（.cuda()、.to('cuda')、"
        "device='cuda'、torch.device('cuda')、torch.load(map_location=...)）；"
        "torch.cuda.is_available() 返回 False。用 %device --no-redirect 关闭。",
    },
    "redirect_existing": {
        "en": "Objects made before this cell keep their device; names bound earlier with "
        "`from torch.cuda import is_available` keep the real answer.",
        "zh": "此前创建的对象保持原设备；之前用 `from torch.cuda import is_available` 导入的名字"
        "仍返回真实结果。",
    },
    "redirect_stopped": {
        "en": "Redirection OFF: {sources} requests go to the real devices again; "
        "torch.cuda.is_available() is {real}. Tensors made while redirecting stay on {target}.",
        "zh": "设备重定向已关闭：{sources} 请求重新发往真实设备；torch.cuda.is_available() 为 "
        "{real}。重定向期间创建的张量仍在 {target} 上。",
    },
    "redirect_none": {"en": "No redirection was active.", "zh": "当前没有开启设备重定向。"},
    # ------------------------------------------------------------------ audit
    "audit_title": {"en": "Tensors, models and optimizers", "zh": "张量、模型与优化器"},
    "audit_headers": {
        "en": "name|type|device|dtype|shape|size|grad|history / mode",
        "zh": "名称|类型|设备|dtype|形状|大小|梯度|计算图 / 模式",
    },
    "audit_empty": {
        "en": "No tensors, models or optimizers in the namespace.",
        "zh": "命名空间里没有张量、模型或优化器。",
    },
    "audit_totals": {"en": "Memory by device", "zh": "各设备内存"},
    "audit_totals_note": {
        "en": "(Shared storage is counted once. The allocator figure also includes tensors that "
        "no name holds: old outputs, tracebacks, caches.)",
        "zh": "（共享存储只计一次。分配器的数字还包括没有名字引用的张量：旧输出、异常回溯、缓存等。）",
    },
    "allocator": {"en": "(torch allocator: {size})", "zh": "（torch 分配器：{size}）"},
    "meta_no_memory": {"en": "(meta: no real memory)", "zh": "（meta：不占真实内存）"},
    "not_built": {"en": "(not built)", "zh": "（未编译）"},
    "flags": {"en": "Findings", "zh": "发现的问题"},
    "train": {"en": "train", "zh": "训练"},
    "eval": {"en": "eval", "zh": "评估"},
    "mixed": {"en": "mixed", "zh": "混合"},
    "params_in_groups": {"en": "{n} params, {g} group(s)", "zh": "{n} 个参数，{g} 组"},
    "n_params": {"en": "{n} params", "zh": "{n} 个参数"},
    "n_tensors": {"en": "{n} tensors", "zh": "{n} 个张量"},
    "n_with_history": {"en": "{n} with history", "zh": "{n} 个带计算图"},
    "flag_mixed_devices": {
        "en": "{name} has parameters/buffers on several devices ({detail}): a forward pass will "
        "fail with a device mismatch. Move the whole model with {name}.to(device).",
        "zh": "{name} 的参数/缓冲区分布在多个设备上（{detail}）：前向计算会因设备不一致而报错。"
        "用 {name}.to(device) 整体移动模型。",
    },
    "flag_unregistered": {
        "en": "{path} is a plain {container} holding {n} module(s): .to(), .parameters(), "
        "state_dict() and the optimizer do not see them{where}. Use nn.{fix}.",
        "zh": "{path} 是普通 {container}，装着 {n} 个模块：.to()、.parameters()、state_dict() 和"
        "优化器都看不到它们{where}。请改用 nn.{fix}。",
    },
    "flag_plain_tensor": {
        "en": "{path} is a plain tensor attribute on {device} while the parameters are on "
        "{devices}: .to() does not move it. Register it with "
        "self.register_buffer('{attr}', tensor) so that it moves with the model.",
        "zh": "{path} 是普通张量属性，在 {device} 上，而参数在 {devices} 上：.to() 不会移动它。"
        "请用 self.register_buffer('{attr}', tensor) 注册，让它随模型一起移动。",
    },
    "unregistered_where": {"en": " (they are on {devices})", "zh": "（它们在 {devices} 上）"},
    "flag_train_mode": {
        "en": "{name} is in training mode and contains {layers}: call {name}.eval() before "
        "evaluating (and {name}.train() before training again).",
        "zh": "{name} 处于训练模式，且包含 {layers}：评估前调用 {name}.eval()"
        "（再训练前调用 {name}.train()）。",
    },
    "flag_mixed_mode": {
        "en": "{name}: {k} of {n} submodules are in eval mode and the rest in training mode "
        "(a partial .eval()/.train()?).",
        "zh": "{name}：{n} 个子模块中有 {k} 个处于 eval 模式，其余处于训练模式"
        "（只对部分模块调用了 .eval()/.train()？）。",
    },
    "flag_optimizer_state": {
        "en": "{name}.state['{key}'] is on {state_device} but its parameter is on "
        "{param_device}: step() will fail with a device mismatch. Move the model first, then "
        "create the optimizer or load its state dict (load_state_dict moves the state to the "
        "parameters' device).",
        "zh": "{name}.state['{key}'] 在 {state_device} 上，但对应参数在 {param_device} 上："
        "step() 会因设备不一致而报错。先移动模型，再创建优化器或加载它的 state dict"
        "（load_state_dict 会把状态移到参数所在设备）。",
    },
    "flag_optimizer_stale": {
        "en": "none of {name}'s {n} parameters belong to a model in the namespace: was the "
        "model rebuilt (or reloaded) after the optimizer was created? Create the optimizer "
        "again from model.parameters().",
        "zh": "{name} 的 {n} 个参数都不属于命名空间中的任何模型：是否在创建优化器之后又重建"
        "（或重新加载）了模型？请用 model.parameters() 重新创建优化器。",
    },
    "flag_history_list": {
        "en": "{name} holds {n} scalar tensors with graph history ({grad_fn}): each keeps its "
        "iteration's whole graph alive. Store loss.item() instead.",
        "zh": "{name} 里有 {n} 个带计算图的标量张量（{grad_fn}）：每个都让那次迭代的整张计算图"
        "留在内存里。请改存 loss.item()。",
    },
    # ------------------------------------------------------------------ usage errors
    "err_unknown_device": {
        "en": "unknown device {spec!r}: use cpu, cuda, cuda:N, mps or auto (or audit).",
        "zh": "未知设备 {spec!r}：可用 cpu、cuda、cuda:N、mps 或 auto（或 audit）。",
    },
    "err_gpu_alias": {
        "en": "{spec!r} is not a torch device name: use cuda (NVIDIA and AMD GPUs) or mps "
        "(Apple silicon).",
        "zh": "{spec!r} 不是 torch 的设备名：NVIDIA 和 AMD GPU 用 cuda，Apple 芯片用 mps。",
    },
    "err_unsupported": {
        "en": "%device handles cpu, cuda and mps; for {spec!r} call torch.set_default_device({spec!r}).",
        "zh": "%device 只处理 cpu、cuda 和 mps；{spec!r} 请直接调用 torch.set_default_device({spec!r})。",
    },
    "err_cuda_unavailable": {
        "en": "%device {spec}: CUDA is not available here. {reason} To run CUDA code on the "
        "CPU instead: %device cpu --redirect",
        "zh": "%device {spec}：这里无法使用 CUDA。{reason} 如果想让 CUDA 代码在 CPU 上运行："
        "%device cpu --redirect",
    },
    "reason_cpu_build": {
        "en": "This torch ({version}) is a CPU-only build (torch.version.cuda is None).",
        "zh": "这个 torch（{version}）是仅 CPU 的构建（torch.version.cuda 为 None）。",
    },
    "reason_unknown": {
        "en": "torch.cuda.is_available() is False; %device shows the details.",
        "zh": "torch.cuda.is_available() 为 False；运行 %device 查看详情。",
    },
    "err_bad_ordinal": {
        "en": "%device {spec}: invalid device ordinal: torch sees {count} CUDA device(s), "
        "numbered 0 to {last} (CUDA_VISIBLE_DEVICES={cvd} renumbers the visible GPUs from 0).",
        "zh": "%device {spec}：设备编号无效：torch 只看到 {count} 个 CUDA 设备，编号 0 到 {last}"
        "（CUDA_VISIBLE_DEVICES={cvd} 会把可见 GPU 从 0 重新编号）。",
    },
    "err_mps_unavailable": {
        "en": "%device mps: MPS is not available here ({reason}). Use %device cpu, or "
        "%device cpu --redirect to run MPS code on the CPU.",
        "zh": "%device mps：这里无法使用 MPS（{reason}）。请用 %device cpu，或用 "
        "%device cpu --redirect 让 MPS 代码在 CPU 上运行。",
    },
    "mps_not_built": {"en": "this torch is built without MPS", "zh": "这个 torch 没有编译 MPS"},
    "mps_no_device": {
        "en": "MPS needs an Apple silicon or AMD GPU Mac with macOS 12.3 or later",
        "zh": "MPS 需要 Apple 芯片或 AMD GPU 的 Mac，且系统为 macOS 12.3 及以上",
    },
    "err_redirected": {
        "en": "%device {spec}: {type} requests are redirected to {target}; run "
        "%device --no-redirect first.",
        "zh": "%device {spec}：{type} 请求正被重定向到 {target}；请先运行 %device --no-redirect。",
    },
    "err_both_flags": {
        "en": "--redirect and --no-redirect cannot be used together.",
        "zh": "--redirect 和 --no-redirect 不能同时使用。",
    },
    "err_audit_spec": {
        "en": "%device --audit takes no device (got {spec!r}).",
        "zh": "%device --audit 不接受设备参数（收到 {spec!r}）。",
    },
    "err_redirect_audit": {
        "en": "%device audit cannot be combined with --redirect / --no-redirect.",
        "zh": "%device audit 不能和 --redirect / --no-redirect 一起用。",
    },
}


def text(message_id: str, lang: str = "en", /, **facts: Any) -> str:
    """The message `message_id` in `lang` (English when missing), with `{facts}` filled in."""
    entry = MESSAGES[message_id]
    return fill(entry.get(lang) or entry["en"], facts)
