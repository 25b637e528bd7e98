"""The `%device` actions: report the PyTorch installation, set the default device, redirect
CUDA/MPS code to another device, and audit where the namespace's tensors and models live.

Each action returns a dataclass view (data as fields, HTML and aligned-text renderings);
nothing here prints. The audit lives in :mod:`torchmagic.device.audit`, the words in
:mod:`torchmagic.device.messages`, the renderings in :mod:`torchmagic.device.render`.
"""
from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
import warnings
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator, Sequence

from IPython.core.error import UsageError

from . import redirect
from .audit import audit, module_tensors, user_items
from .messages import text
from .render import View, view

# The CUDA_VISIBLE_DEVICES value when torchmagic first asked torch about CUDA: the driver
# reads the variable once, at that moment at the latest.
_cuda_env_at_init: dict[str, str | None] | None = None
_cuda_warnings: list[str] = []  # torch warns about a failed CUDA start only once per process


# =========================================================================== views
@dataclass
class GpuInfo:
    """One GPU: what torch (or, failing that, the driver) says about it. Sizes in bytes."""

    index: int
    name: str
    capability: str = ""  # "8.6"
    total: int | None = None
    used: int | None = None  # by all processes (driver view)
    free: int | None = None
    allocated: int | None = None  # by this process's tensors
    reserved: int | None = None  # held by this process's caching allocator
    seen_by_torch: bool = True


@dataclass
class CudnnInfo:
    """cuDNN's version and the torch.backends.cudnn switches."""

    available: bool
    version: str | None
    enabled: bool
    benchmark: bool
    deterministic: bool


@dataclass
class Issue:
    """One diagnosis line under the report: a pitfall id (or '') and what to do."""

    pitfall: str
    level: str  # "warning" or "info"
    message: str


@view
class DeviceReport(View):
    """What `%device` shows: the build, the devices, the environment, and what is wrong."""

    torch_version: str
    build: str  # "CUDA 12.6", "ROCm 6.2" or "CPU-only" (the renderers translate it)
    cuda_version: str | None
    hip_version: str | None
    cuda_built: bool
    cuda_available: bool
    device_count: int
    mps_built: bool
    mps_available: bool
    gpus: list[GpuInfo]
    cudnn: CudnnInfo
    driver: str | None
    default_device: str
    cuda_visible_devices: str | None
    cuda_launch_blocking: str | None
    torch_threads: int
    interop_threads: int
    cpu_count: int | None
    usable_cpus: int | None
    omp_num_threads: str | None
    deterministic_algorithms: bool
    redirect: str | None  # "cuda, mps → cpu" while redirecting
    issues: list[Issue] = field(default_factory=list)
    language: str = "en"

    @property
    def pitfalls(self) -> list[str]:
        """Pitfall ids of the issues found, in order."""
        return [i.pitfall for i in self.issues if i.pitfall]


@view
class DeviceChoice(View):
    """The result of `%device cpu|cuda|cuda:N|mps|auto`: the new default device."""

    device: str
    previous: str
    requested: str
    notes: list[str] = field(default_factory=list)
    stays: list[str] = field(default_factory=list)  # namespace objects on other devices
    language: str = "en"

    @property
    def torch_device(self) -> Any:
        """The chosen device as a torch.device (for `x.to(choice.torch_device)`)."""
        import torch

        return torch.device(self.device)


@view
class RedirectChange(View):
    """The result of `%device X --redirect` / `%device --no-redirect`."""

    active: bool
    target: str | None
    sources: tuple[str, ...]
    message: str
    notes: list[str] = field(default_factory=list)
    language: str = "en"


# =========================================================================== entry point
def handle(shell: Any, args: Any, lang: str = "en") -> Any:
    """Carry out one `%device` line (parsed magic arguments) and return the view to show."""
    __tracebackhide__ = True
    spec = (args.spec or "").strip() or None
    want_redirect = bool(getattr(args, "redirect", False))
    stop = bool(getattr(args, "no_redirect", False))
    want_audit = bool(getattr(args, "audit", False)) or (spec or "").lower() == "audit"
    if want_redirect and stop:
        raise UsageError(text("err_both_flags", lang))
    if want_audit:
        if want_redirect or stop:
            raise UsageError(text("err_redirect_audit", lang))
        if spec and spec.lower() != "audit":
            raise UsageError(text("err_audit_spec", lang, spec=spec))
        return audit(_namespace(shell), _hidden(shell), lang)
    if stop:
        change = stop_redirect(lang)
        if spec is None:
            return change
        choice = set_default_device(spec, lang, _namespace(shell), _hidden(shell))
        choice.notes.insert(0, change.message)
        return choice
    if want_redirect:
        return start_redirect(spec or "cpu", lang)
    if spec is None:
        return device_report(lang)
    return set_default_device(spec, lang, _namespace(shell), _hidden(shell))


def _namespace(shell: Any) -> dict[str, Any]:
    return getattr(shell, "user_ns", None) or {}


def _hidden(shell: Any) -> set[str]:
    return set(getattr(shell, "user_ns_hidden", None) or ())


# =========================================================================== the report
def device_report(lang: str = "en") -> DeviceReport:
    """Gather the installation facts and the diagnosis; safe without GPU, driver or MPS."""
    import torch

    with redirect.real_functions():
        cuda_built = bool(torch.version.cuda or getattr(torch.version, "hip", None)
                          or _safe(torch.backends.cuda.is_built, False))
        available, init_messages = _probe_cuda(cuda_built)
        count = _safe(torch.cuda.device_count, 0) if available else 0
        smi = _nvidia_smi()
        gpus = _torch_gpus(count, smi) if available else [
            GpuInfo(index=i, name=row["name"], total=row.get("total"), used=row.get("used"),
                    free=row.get("free"), seen_by_torch=False)
            for i, row in enumerate(smi)
        ]
        cudnn = _cudnn_info()
        mps_built = bool(_safe(torch.backends.mps.is_built, False))
        mps_available = bool(_safe(torch.backends.mps.is_available, False))
    hip = getattr(torch.version, "hip", None)
    if torch.version.cuda:
        build = f"CUDA {torch.version.cuda}"
    elif hip:
        build = f"ROCm {hip}"
    else:
        build = "CPU-only"
    affinity, quota = _usable_cpus()
    limits = [n for n in (affinity, quota) if n]
    usable = min(limits) if limits else os.cpu_count()
    report = DeviceReport(
        torch_version=torch.__version__,
        build=build,
        cuda_version=torch.version.cuda,
        hip_version=hip,
        cuda_built=cuda_built,
        cuda_available=available,
        device_count=count,
        mps_built=mps_built,
        mps_available=mps_available,
        gpus=gpus,
        cudnn=cudnn,
        driver=_driver_version(smi),
        default_device=current_default_device(),
        cuda_visible_devices=os.environ.get("CUDA_VISIBLE_DEVICES"),
        cuda_launch_blocking=os.environ.get("CUDA_LAUNCH_BLOCKING"),
        torch_threads=torch.get_num_threads(),
        interop_threads=torch.get_num_interop_threads(),
        cpu_count=os.cpu_count(),
        usable_cpus=usable,
        omp_num_threads=os.environ.get("OMP_NUM_THREADS"),
        deterministic_algorithms=bool(_safe(torch.are_deterministic_algorithms_enabled, False)),
        redirect=_redirect_label(),
        language=lang,
    )
    report.issues = diagnose(report, smi, init_messages, quota, lang)
    return report


def _safe(func: Any, default: Any, *args: Any) -> Any:
    try:
        return func(*args)
    except Exception:
        return default


def _probe_cuda(cuda_built: bool) -> tuple[bool, list[str]]:
    """torch.cuda.is_available(), and what torch said when CUDA failed to start."""
    import torch

    global _cuda_env_at_init
    if cuda_built and _cuda_env_at_init is None:
        _cuda_env_at_init = {"CUDA_VISIBLE_DEVICES": os.environ.get("CUDA_VISIBLE_DEVICES")}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        available = bool(_safe(torch.cuda.is_available, False))
    for w in caught:
        message = str(w.message)
        if re.search(r"cuda|driver|gpu", message, re.I) and message not in _cuda_warnings:
            _cuda_warnings.append(message)
    messages = list(_cuda_warnings)
    if cuda_built and not available:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                torch.cuda.init()  # raises with torch's own reason when CUDA cannot start
        except Exception as exc:
            messages.append(str(exc).strip())
    return available, messages


def _nvidia_smi() -> list[dict[str, Any]]:
    """The driver's view of the NVIDIA GPUs (all of them, whatever CUDA_VISIBLE_DEVICES says)."""
    exe = shutil.which("nvidia-smi")
    if not exe:
        return []
    fields = "index,uuid,name,memory.used,memory.free,memory.total,driver_version"
    try:
        out = subprocess.run([exe, f"--query-gpu={fields}", "--format=csv,noheader,nounits"],
                             capture_output=True, text=True, timeout=10, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    rows = []
    for line in out.splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) != 7:
            continue
        mib = 1 << 20

        def num(value: str) -> int | None:
            return int(float(value)) * mib if re.fullmatch(r"[\d.]+", value) else None

        rows.append({"uuid": parts[1], "name": parts[2], "used": num(parts[3]),
                     "free": num(parts[4]), "total": num(parts[5]), "driver": parts[6]})
    return rows


def _driver_version(smi: Sequence[dict[str, Any]]) -> str | None:
    if smi and smi[0].get("driver"):
        return smi[0]["driver"]
    try:
        with open("/proc/driver/nvidia/version", encoding="utf-8", errors="replace") as fh:
            found = re.search(r"Kernel Module\s+(?:for \S+\s+)?([\d.]+)", fh.read())
        return found.group(1) if found else None
    except OSError:
        return None


def _nvidia_present(smi: Sequence[dict[str, Any]]) -> bool:
    return bool(smi) or bool(shutil.which("nvidia-smi")) or os.path.exists("/proc/driver/nvidia")


def _torch_gpus(count: int, smi: list[dict[str, Any]]) -> list[GpuInfo]:
    import torch

    by_uuid = {_norm_uuid(row["uuid"]): row for row in smi}
    initialised = bool(_safe(torch.cuda.is_initialized, False))
    # Without the driver's numbers, ask CUDA, but only for the device already in use:
    # mem_get_info creates a context (hundreds of MiB) on a device that has none.
    current = _safe(torch.cuda.current_device, None) if initialised else None
    gpus = []
    for i in range(count):
        try:
            props = torch.cuda.get_device_properties(i)
        except Exception:
            continue
        info = GpuInfo(index=i, name=props.name, capability=f"{props.major}.{props.minor}",
                       total=int(props.total_memory))
        row = by_uuid.get(_norm_uuid(str(getattr(props, "uuid", ""))))
        if row:
            info.used, info.free = row["used"], row["free"]
        elif i == current:
            free, total = _safe(torch.cuda.mem_get_info, (None, None), i)
            if free is not None:
                info.free, info.used = free, total - free
        if initialised:
            info.allocated = _safe(torch.cuda.memory_allocated, None, i)
            info.reserved = _safe(torch.cuda.memory_reserved, None, i)
        gpus.append(info)
    return gpus


def _norm_uuid(value: str) -> str:
    return value.lower().removeprefix("gpu-")


def _cudnn_info() -> CudnnInfo:
    import torch

    cudnn = torch.backends.cudnn
    available = bool(_safe(cudnn.is_available, False))
    raw = _safe(cudnn.version, None) if available else None
    version = None
    if isinstance(raw, int):
        if raw >= 90000:
            version = f"{raw // 10000}.{raw % 10000 // 100}.{raw % 100}"
        else:
            version = f"{raw // 1000}.{raw % 1000 // 100}.{raw % 100}"
    return CudnnInfo(available=available, version=version, enabled=bool(cudnn.enabled),
                     benchmark=bool(cudnn.benchmark), deterministic=bool(cudnn.deterministic))


def _usable_cpus() -> tuple[int | None, int | None]:
    """(CPUs in this process's affinity mask, CPUs the container's quota allows)."""
    affinity = None
    if hasattr(os, "sched_getaffinity"):
        affinity = _safe(lambda: len(os.sched_getaffinity(0)), None)
    quota = None
    try:
        with open("/sys/fs/cgroup/cpu.max", encoding="ascii") as fh:
            limit, period = fh.read().split()[:2]
        if limit != "max":
            quota = max(1, math.ceil(int(limit) / int(period)))
    except (OSError, ValueError):
        try:
            with open("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", encoding="ascii") as fh:
                limit_us = int(fh.read())
            with open("/sys/fs/cgroup/cpu/cpu.cfs_period_us", encoding="ascii") as fh:
                period_us = int(fh.read())
            if limit_us > 0 and period_us > 0:
                quota = max(1, math.ceil(limit_us / period_us))
        except (OSError, ValueError):
            pass
    return affinity, quota


def visible_device_entries(value: str | None) -> list[str] | None:
    """The GPUs a CUDA_VISIBLE_DEVICES value exposes, as CUDA reads it: entries up to the
    first invalid one (so '' and '-1' expose none). None when the variable is unset."""
    if value is None:
        return None
    entries = []
    for part in value.split(","):
        part = part.strip()
        if re.fullmatch(r"\d+", part) or part.startswith(("GPU-", "MIG-")):
            entries.append(part)
        else:
            break
    return entries


def diagnose(report: DeviceReport, smi: Sequence[dict[str, Any]] = (),
             init_messages: Sequence[str] = (), quota: int | None = None,
             lang: str = "en") -> list[Issue]:
    """The diagnosis lines for a report's facts: `smi` is the driver's GPU list (nvidia-smi
    rows), `init_messages` what torch said when CUDA failed to start, `quota` the CPUs a
    container quota allows."""
    issues: list[Issue] = []
    target = redirect.redirect_active()
    if target is not None:
        issues.append(Issue("", "info", text(
            "redirect_reminder", lang, sources=", ".join(redirect.redirected_types()),
            target=target, answer=False)))
    gpu_present = _nvidia_present(smi) or bool(report.hip_version and os.path.exists("/dev/kfd"))
    described = sorted({row["name"] for row in smi})
    if report.driver:
        described.append(f"driver {report.driver}")
    gpu_list = f" ({', '.join(described)})" if described else ""
    cvd = report.cuda_visible_devices
    entries = visible_device_entries(cvd)
    detail = "; ".join(m for m in init_messages if m)[:600]

    if not report.cuda_built:
        if gpu_present:
            issues.append(Issue("cuda-not-available", "warning", text(
                "cpu_build_with_gpu", lang, version=report.torch_version, gpus=gpu_list)))
            if entries == []:
                issues.append(Issue("cuda-visible-devices", "warning", text(
                    "cvd_hides_all", lang, value=_show(cvd, lang))))
        elif not report.mps_available and target is None:
            issues.append(Issue("", "info", text("cpu_only_hint", lang)))
    else:
        changed, then = False, ""
        if _cuda_env_at_init is not None and _cuda_env_at_init["CUDA_VISIBLE_DEVICES"] != cvd:
            changed, then = True, _show(_cuda_env_at_init["CUDA_VISIBLE_DEVICES"], lang)
        elif report.cuda_available and entries is not None and report.device_count > len(entries):
            changed, then = True, text("earlier_value", lang)  # more devices than it lists
        if changed and (report.cuda_available or gpu_present):
            issues.append(Issue("cuda-visible-devices", "warning", text(
                "cvd_changed", lang, now=_show(cvd, lang), then=then, count=report.device_count)))
        elif entries == [] and gpu_present:
            issues.append(Issue("cuda-visible-devices", "warning", text(
                "cvd_hides_all", lang, value=_show(cvd, lang))))
        elif (not report.cuda_available and entries and smi
              and all(e.isdigit() and int(e) >= len(smi) for e in entries)):
            issues.append(Issue("cuda-visible-devices", "warning", text(
                "cvd_no_such_gpu", lang, value=_show(cvd, lang), count=len(smi))))
        elif not report.cuda_available:
            if re.search(r"too old|insufficient", detail, re.I):
                issues.append(Issue("cuda-not-available", "warning", text(
                    "driver_too_old", lang, driver=f" ({report.driver})" if report.driver else "",
                    cuda=report.cuda_version or report.hip_version, detail=detail)))
            elif not gpu_present:
                issues.append(Issue("cuda-not-available", "info", text(
                    "no_gpu", lang, cuda=report.cuda_version or report.hip_version)))
            else:
                issues.append(Issue("cuda-not-available", "warning", text(
                    "cuda_init_failed", lang, cuda=report.cuda_version or report.hip_version,
                    detail=detail or "-")))
    usable = report.usable_cpus
    if usable and report.torch_threads > usable:
        why = text("why_quota" if quota and quota == usable else "why_affinity", lang)
        issues.append(Issue("cpu-oversubscription", "warning", text(
            "cpu_oversubscription", lang, threads=report.torch_threads, usable=usable, why=why)))
    if (report.cuda_launch_blocking or "0").strip() not in ("", "0"):
        issues.append(Issue("", "info", text("launch_blocking", lang,
                                             value=report.cuda_launch_blocking)))
    return issues


def _show(value: str | None, lang: str) -> str:
    if value is None:
        return text("unset", lang)
    return repr(value)


def _redirect_label() -> str | None:
    target = redirect.redirect_active()
    if target is None:
        return None
    return f"{', '.join(redirect.redirected_types())} → {target}"


def current_default_device() -> str:
    """The device new tensors land on, read without creating a tensor."""
    try:
        import torch.utils._device as device_module

        current = device_module.CURRENT_DEVICE
    except Exception:
        current = None
    return str(current) if current is not None else "cpu"


# =========================================================================== setting the device
def resolve_device(spec: str, lang: str = "en", *, for_redirect: bool = False) -> tuple[Any, str]:
    """Check a `%device` device spec against this machine: (torch.device, why 'auto' chose
    it or ''). Raises UsageError with the reason when the device cannot be used."""
    __tracebackhide__ = True
    import torch

    word = spec.strip().lower()
    with redirect.real_functions():
        cuda_ok = bool(_safe(torch.cuda.is_available, False))
        mps_ok = bool(_safe(torch.backends.mps.is_available, False))
        if word == "auto":
            if cuda_ok:
                return torch.device("cuda"), text("auto_cuda", lang)
            if mps_ok:
                return torch.device("mps"), text("auto_mps", lang)
            return torch.device("cpu"), text("auto_cpu", lang)
        if re.fullmatch(r"gpu(:\d+)?|nvidia|cuda\d+", word):
            raise UsageError(text("err_gpu_alias", lang, spec=spec))
        try:
            device = torch.device(word)
        except (RuntimeError, ValueError):
            raise UsageError(text("err_unknown_device", lang, spec=spec)) from None
        if device.type not in ("cpu", "cuda", "mps"):
            raise UsageError(text("err_unsupported", lang, spec=spec))
        if not for_redirect and device.type in redirect.redirected_types():
            raise UsageError(text("err_redirected", lang, spec=spec, type=device.type,
                                  target=redirect.redirect_active()))
        if device.type == "cuda":
            if not cuda_ok:
                raise UsageError(text("err_cuda_unavailable", lang, spec=spec,
                                      reason=_cuda_unavailable_reason(lang)))
            count = _safe(torch.cuda.device_count, 0)
            if device.index is not None and device.index >= count:
                raise UsageError(text("err_bad_ordinal", lang, spec=spec, count=count,
                                      last=count - 1, cvd=_show(os.environ.get("CUDA_VISIBLE_DEVICES"), lang)))
        if device.type == "mps" and not mps_ok:
            reason = "mps_no_device" if _safe(torch.backends.mps.is_built, False) else "mps_not_built"
            raise UsageError(text("err_mps_unavailable", lang, reason=text(reason, lang)))
    return device, ""


def _cuda_unavailable_reason(lang: str) -> str:
    import torch

    report = device_report(lang)
    for issue in report.issues:
        if issue.pitfall in ("cuda-not-available", "cuda-visible-devices"):
            return issue.message
    if not report.cuda_built:
        return text("reason_cpu_build", lang, version=torch.__version__)
    return text("reason_unknown", lang)


def set_default_device(spec: str, lang: str = "en", namespace: dict[str, Any] | None = None,
                       hidden: Iterable[str] = ()) -> DeviceChoice:
    """Make `spec` the default device for new tensors (torch.set_default_device)."""
    __tracebackhide__ = True
    import torch

    device, why = resolve_device(spec, lang)
    previous = current_default_device()
    # The CPU is torch's own default: clearing the setting avoids the per-call overhead of
    # the device mode that torch.set_default_device('cpu') would install.
    torch.set_default_device(None if device == torch.device("cpu") else device)
    shown = str(device)
    notes = []
    if why:
        notes.append(text("set_auto", lang, device=shown, why=why))
    notes.append(text("set_done", lang, device=shown, previous=previous))
    notes.append(text("not_moved", lang, device=repr(shown)))
    if device.type != "cpu":
        notes.append(text("set_overhead", lang, type=device.type))
    stays = [f"{name} ({where})" for name, where in _placement(namespace or {}, set(hidden))
             if any(torch.device(d).type != device.type for d in where.split(", "))]
    return DeviceChoice(device=shown, previous=previous, requested=spec, notes=notes,
                        stays=stays, language=lang)


def _placement(namespace: dict[str, Any], hidden: set[str]) -> Iterator[tuple[str, str]]:
    """(name, devices) for the namespace's top-level tensors and modules."""
    import torch

    for name, value in user_items(namespace, hidden):
        try:
            if isinstance(value, torch.Tensor):
                yield name, str(value.device)
            elif isinstance(value, torch.nn.Module):
                devices = sorted({str(t.device) for t in module_tensors(value)})
                if devices:
                    yield name, ", ".join(devices)
        except Exception:
            continue


# =========================================================================== redirection
def start_redirect(spec: str = "cpu", lang: str = "en") -> RedirectChange:
    """Send CUDA/MPS requests to `spec` (usually 'cpu') from now on."""
    __tracebackhide__ = True
    device, _ = resolve_device(spec, lang, for_redirect=True)
    target = str(device)
    redirect.start_redirect(target)
    sources = redirect.redirected_types()
    return RedirectChange(
        active=True, target=target, sources=sources,
        message=text("redirect_started", lang, sources=", ".join(sources), target=target),
        notes=[text("redirect_existing", lang)], language=lang)


def stop_redirect(lang: str = "en") -> RedirectChange:
    """End the redirection that `%device X --redirect` began."""
    import torch

    current = redirect.persistent_redirect()
    redirect.stop_redirect()
    if current is None:
        return RedirectChange(active=False, target=None, sources=(),
                              message=text("redirect_none", lang), language=lang)
    target, sources = current
    real = bool(_safe(torch.cuda.is_available, False))
    return RedirectChange(
        active=redirect.redirect_active() is not None, target=target, sources=sources,
        message=text("redirect_stopped", lang, sources=", ".join(sources), target=target,
                     real=real),
        language=lang)


