"""torchmagic: IPython magics that make PyTorch failures explain themselves.

Load it in IPython or Jupyter with ``%load_ext torchmagic``; then ``%%torchdebug`` runs a
cell under diagnosis and ``%device`` shows and sets where tensors live.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .diagnosis import Diagnosis

__version__ = "0.1.0"
__all__ = ["load_ipython_extension", "unload_ipython_extension", "last_diagnosis", "register_pitfall"]

_magics: Any = None


def load_ipython_extension(ipython: Any) -> None:
    """Register the torchmagic magics with an IPython shell (``%load_ext torchmagic``)."""
    global _magics
    from .magics import TorchMagic

    _magics = TorchMagic(shell=ipython)
    ipython.register_magics(_magics)
    _magics.loaded()


def unload_ipython_extension(ipython: Any) -> None:
    """Undo :func:`load_ipython_extension`: stop automatic mode and drop the magics."""
    global _magics
    if _magics is None:
        return
    _magics.unloaded()
    for kind in ("line", "cell"):
        table = ipython.magics_manager.magics[kind]
        for name in list(table):
            if getattr(table[name], "__self__", None) is _magics:
                del table[name]
    _magics = None


def last_diagnosis() -> "Diagnosis | None":
    """The :class:`Diagnosis` of the last ``%%torchdebug`` run in this process, or None."""
    from .diagnose import engine

    return engine.last_diagnosis()


def register_pitfall(*args: Any, **kwargs: Any) -> Any:
    """Add a pitfall of your own (see :func:`torchmagic.knowledge.register_pitfall`)."""
    from .knowledge import register_pitfall as _register

    return _register(*args, **kwargs)
