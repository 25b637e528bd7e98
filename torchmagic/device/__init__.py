"""`%device`: the PyTorch installation, the default device, CUDA redirection, the namespace audit.

:func:`handle` serves the magic. The installation report and the device settings live in
:mod:`.report`, the audit of the namespace in :mod:`.audit`, the words in :mod:`.messages`
and the renderings in :mod:`.render`; every action returns a view and nothing here prints.
"""
from __future__ import annotations

from .audit import AuditFlag, AuditReport, AuditRow, audit
from .report import (CudnnInfo, DeviceChoice, DeviceReport, GpuInfo, Issue, RedirectChange, current_default_device,
                     device_report, diagnose, handle, resolve_device, set_default_device, start_redirect,
                     stop_redirect, visible_device_entries)

__all__ = [
    "handle", "device_report", "diagnose", "set_default_device", "resolve_device",
    "start_redirect", "stop_redirect", "audit", "current_default_device",
    "visible_device_entries", "DeviceReport", "DeviceChoice", "RedirectChange", "GpuInfo",
    "CudnnInfo", "Issue", "AuditReport", "AuditRow", "AuditFlag",
]
