"""Keeping a replay to itself: what a replayed cell may touch, and what it is seen doing.

A replay (fast mode's instrumented replay, the CPU rerun after a CUDA error) runs the cell
again in a shadow namespace. Its own variables, functions and classes are copies (see
:meth:`torchmagic.replay.snapshot.Snapshot.shadow_namespace`); :func:`isolated` handles the rest:

- output (printing, rich display) is captured, never shown;
- the process-wide settings it changes (warnings, torch's global flags, the environment,
  the working directory, `sys.path`) are put back, and so are the variables of the user's
  own modules (and of ``__main__``) that it rebinds;
- files the cell's own code writes with ``open`` or ``torch.save`` go to private copies;
- magics, shell commands, ``input()`` and ``exit()`` are not run: the replay stops there
  with :class:`NotReplayed`;
- everything else that leaves the process (a library writing a file, a socket, a
  subprocess) cannot be held back: an audit hook sees it and it is reported, precisely.

The audit hook is installed once per process, the first time a replay runs (Python offers
no way to remove one); outside a replay it returns at once.
"""
from __future__ import annotations

import contextlib
import functools
import io
import os
import shutil
import sys
import sysconfig
import tempfile
import threading
import types
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from ..run import guards


class NotReplayed(Exception):
    """Raised in a replay where the cell does what a replay must not repeat (a magic)."""


# ---------------------------------------------------------------------------- what was seen
@dataclass
class Effects:
    """What a replay did outside itself, in the words of the report."""

    seen: list[str] = field(default_factory=list)
    thread: int = 0
    paused: int = 0
    private: str = ""  # the folder of private copies: its files are not effects

    def add(self, text: str) -> None:
        if text not in self.seen:
            self.seen.append(text)

    @contextmanager
    def pause(self) -> Iterator[None]:
        """torchmagic's own work during the replay is not the cell's."""
        self.paused += 1
        try:
            yield
        finally:
            self.paused -= 1


_active: Effects | None = None
_hook_installed = False
_O_WRITE = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC


def _install_hook() -> None:
    global _hook_installed
    if not _hook_installed:
        sys.addaudithook(_audit)
        _hook_installed = True


def _audit(event: str, args: tuple) -> None:
    effects = _active
    if effects is None or effects.paused or threading.get_ident() != effects.thread:
        return
    describe = _EVENTS.get(event)
    if describe is None:
        return
    try:
        effects.paused += 1  # what describing does (os.path calls) is not the cell's
        text = describe(args, effects)
    except Exception:
        text = None
    finally:
        effects.paused -= 1
    if text:
        effects.add(text)


def _path(value: Any) -> str | None:
    if isinstance(value, int):
        return None
    try:
        return os.path.abspath(os.fsdecode(value))
    except (TypeError, ValueError):
        return None


def _own(path: str | None, effects: Effects) -> bool:
    """Files that are no effect of the cell: its private copies, Python's bytecode cache."""
    if path is None:
        return True
    if effects.private and path.startswith(effects.private):
        return True
    return path.endswith((".pyc", ".pyc.tmp")) or f"{os.sep}__pycache__{os.sep}" in path


def _opened(args: tuple, effects: Effects) -> str | None:
    path, mode, flags = (tuple(args) + (None, None, 0))[:3]
    if isinstance(mode, str):
        writing = any(c in mode for c in "wax+")
        appending = "a" in mode
    else:
        writing = bool((flags or 0) & _O_WRITE)
        appending = bool((flags or 0) & os.O_APPEND)
    target = _path(path)
    if not writing or _own(target, effects):
        return None
    return f"appended to `{target}`" if appending else f"wrote `{target}`"


def _one_path(verb: str) -> Callable[[tuple, Effects], str | None]:
    def describe(args: tuple, effects: Effects) -> str | None:
        target = _path(args[0]) if args else None
        return None if _own(target, effects) else f"{verb} `{target}`"
    return describe


def _made_folder(args: tuple, effects: Effects) -> str | None:
    target = _path(args[0]) if args else None
    if _own(target, effects) or os.path.exists(target):  # type: ignore[arg-type]
        return None
    return f"created the folder `{target}`"


def _renamed(args: tuple, effects: Effects) -> str | None:
    source, target = _path(args[0]), _path(args[1])
    if _own(source, effects) and _own(target, effects):
        return None
    return f"renamed `{source}` to `{target}`"


def _address(args: tuple, effects: Effects) -> str | None:
    address = args[1] if len(args) > 1 else None
    if isinstance(address, tuple) and len(address) >= 2:
        return f"connected to {address[0]}:{address[1]}"
    return f"connected to {address}" if address else None


def _sent(args: tuple, effects: Effects) -> str | None:
    address = args[1] if len(args) > 1 else None
    if isinstance(address, tuple) and len(address) >= 2:
        return f"sent data to {address[0]}:{address[1]}"
    return None


def _command(index: int) -> Callable[[tuple, Effects], str | None]:
    def describe(args: tuple, effects: Effects) -> str | None:
        command = args[index] if len(args) > index else None
        if isinstance(command, (list, tuple)):
            command = " ".join(os.fsdecode(c) if isinstance(c, bytes) else str(c) for c in command)
        elif isinstance(command, bytes):
            command = os.fsdecode(command)
        return f"ran `{command}`" if command else "started a process"
    return describe


_EVENTS: dict[str, Callable[[tuple, Effects], str | None]] = {
    "open": _opened,
    "os.remove": _one_path("deleted"),
    "os.rmdir": _one_path("deleted the folder"),
    "shutil.rmtree": _one_path("deleted the folder"),
    "os.mkdir": _made_folder,
    "os.rename": _renamed,
    "os.truncate": _one_path("truncated"),
    "os.chmod": _one_path("changed the permissions of"),
    "os.symlink": lambda a, e: f"linked `{_path(a[1])}`" if len(a) > 1 else None,
    "os.link": lambda a, e: f"linked `{_path(a[1])}`" if len(a) > 1 else None,
    "socket.connect": _address,
    "socket.sendto": _sent,
    "socket.bind": lambda a, e: f"opened the port {a[1][1]}" if len(a) > 1 and isinstance(a[1], tuple) and len(a[1]) > 1 else None,
    "urllib.Request": lambda a, e: f"requested {a[0]}" if a else None,
    "subprocess.Popen": _command(1),
    "os.system": _command(0),
    "os.posix_spawn": _command(1),
    "os.spawn": _command(2),
    "os.exec": _command(1),
    "os.kill": lambda a, e: f"sent signal {a[1]} to process {a[0]}" if len(a) > 1 else None,
    "sqlite3.connect": lambda a, e: None if not a or a[0] in (":memory:", b":memory:", "") else f"opened the database `{_path(a[0])}`",
    "webbrowser.open": lambda a, e: f"opened {a[0]}" if a else None,
}


@contextmanager
def recording() -> Iterator[Effects]:
    """Record, for the block, what the current thread does outside the process."""
    global _active
    _install_hook()
    previous = _active
    effects = Effects(thread=threading.get_ident())
    _active = effects
    try:
        yield effects
    finally:
        _active = previous


def replaying() -> bool:
    """Whether the current thread runs a replay: what a replay must not repeat (talking to
    other processes of a distributed job) refuses with :class:`NotReplayed` then."""
    effects = _active
    return effects is not None and effects.thread == threading.get_ident()


# ---------------------------------------------------------------------------- private files
class PrivateFiles:
    """Copies of the files a replay writes through the cell's own ``open`` and ``torch.save``:
    a file is copied (when it exists and is opened for update) the first time the replay
    writes it, and from then on the replay reads and writes the copy."""

    def __init__(self, effects: Effects, inner: Callable[..., Any] = io.open) -> None:
        self.effects = effects
        self.inner = inner  # the open the cell had (IPython's own wraps the builtin)
        self.folder = ""
        self.copies: dict[str, str] = {}

    def close(self) -> None:
        if self.folder:
            with self.effects.pause():
                shutil.rmtree(self.folder, ignore_errors=True)

    def _copy_of(self, path: str, keep_content: bool) -> str:
        copy = self.copies.get(path)
        if copy is not None:
            return copy
        with self.effects.pause():
            if not self.folder:
                self.folder = tempfile.mkdtemp(prefix="torchmagic-replay-")
                self.effects.private = self.folder
            copy = os.path.join(self.folder, f"{len(self.copies)}-{os.path.basename(path)}")
            if keep_content and os.path.isfile(path):
                shutil.copyfile(path, copy)
        self.copies[path] = copy
        return copy

    def redirect(self, file: Any, writing: bool, keep_content: bool) -> Any:
        """The path the replay should use for `file` (itself when it is no path of a file)."""
        if isinstance(file, int):
            return file
        try:
            path = os.path.abspath(os.fsdecode(os.fspath(file)))
        except TypeError:
            return file
        if path in self.copies:
            return self.copies[path]
        if not writing or not os.path.isdir(os.path.dirname(path)) or os.path.isdir(path):
            return file  # reading, or an open that fails as it would in the real run
        return self._copy_of(path, keep_content)

    def open(self, file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        """``open`` for the replayed cell: writes go to private copies."""
        writing = isinstance(mode, str) and any(c in mode for c in "wax+")
        if writing and "x" in mode and not isinstance(file, int):
            with contextlib.suppress(TypeError):
                if os.path.exists(os.fspath(file)) and os.path.abspath(os.fsdecode(os.fspath(file))) not in self.copies:
                    raise FileExistsError(17, "File exists", os.fsdecode(os.fspath(file)))
        target = self.redirect(file, writing, keep_content=writing and "w" not in mode)
        return self.inner(target, mode, *args, **kwargs)

    def save_wrapper(self, original: Callable[..., Any]) -> Callable[..., Any]:
        """``torch.save`` for the replayed cell: a path goes to a private copy."""
        files = self

        def save(obj: Any, f: Any, *args: Any, **kwargs: Any) -> Any:
            if isinstance(f, (str, bytes, os.PathLike)):
                f = files.redirect(f, writing=True, keep_content=False)
            return original(obj, f, *args, **kwargs)

        save.__wrapped__ = original  # type: ignore[attr-defined]
        return save


@contextmanager
def _swapped(owner: Any, name: str, make: Callable[[Any], Any]) -> Iterator[None]:
    """`owner.name` replaced for the block (put back only if still ours)."""
    original = getattr(owner, name, None)
    if original is None:
        yield
        return
    replacement = make(original)
    setattr(owner, name, replacement)
    try:
        yield
    finally:
        if getattr(owner, name, None) is replacement:
            setattr(owner, name, original)


# ---------------------------------------------------------------------------- stand-ins
class _ShellStandIn:
    """What ``get_ipython()`` gives a replayed cell: every use stops the replay."""

    def __getattr__(self, name: str) -> Any:
        def refuse(*args: Any, **kwargs: Any) -> Any:
            first = args[0] if args else ""
            if name == "run_line_magic":
                what = f"`%{first}` is a magic, and a replay runs no magics: they act on the shell"
            elif name == "run_cell_magic":
                what = f"`%%{first}` is a magic, and a replay runs no magics: they act on the shell"
            elif name in ("system", "getoutput", "system_piped", "system_raw"):
                what = f"`!{first}` is a shell command, which a replay does not run again"
            else:
                what = f"`get_ipython().{name}` acts on the shell, which a replay does not do"
            raise NotReplayed(what)

        return refuse


def _refuse(what: str) -> Callable[..., Any]:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise NotReplayed(what)
    return refuse


def stand_ins(shadow: dict[str, Any], effects: Effects, files: PrivateFiles) -> None:
    """Put into the replay's namespace what it uses instead of the shell, the console and
    ``open`` (a name the user defined keeps the user's value)."""
    shell = _ShellStandIn()
    shadow["get_ipython"] = lambda: shell
    for name, what in (("input", "`input()` waits for you, and a replay does not ask again"),
                       ("exit", "`exit()` acts on the shell"), ("quit", "`quit()` acts on the shell"),
                       ("breakpoint", "`breakpoint()` would stop in the replay")):
        if name not in shadow:
            shadow[name] = _refuse(what)
    current = shadow.get("open")
    if current is None or _library_code(current):  # IPython puts its own `open` in the namespace
        if current is not None:
            files.inner = current
        shadow["open"] = files.open


def _library_code(value: Any) -> bool:
    code = getattr(value, "__code__", None)
    if code is None:
        return callable(value) and type(value).__module__ == "builtins"
    return is_library_file(code.co_filename)


# ---------------------------------------------------------------------------- other modules
_LIBRARY_ROOTS: tuple[str, ...] | None = None


def library_roots() -> tuple[str, ...]:
    """Where installed code lives (the standard library, site-packages): code from there is a
    library's; code from anywhere else (a notebook, the user's own modules) is the user's."""
    global _LIBRARY_ROOTS
    if _LIBRARY_ROOTS is None:
        import site

        roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
        for key in ("stdlib", "platstdlib", "purelib", "platlib"):
            with contextlib.suppress(KeyError):
                roots.add(sysconfig.get_paths()[key])
        with contextlib.suppress(Exception):
            roots.update(site.getsitepackages())
        with contextlib.suppress(Exception):
            roots.add(site.getusersitepackages())
        _LIBRARY_ROOTS = tuple(sorted(os.path.abspath(r) + os.sep for r in roots if r))
    return _LIBRARY_ROOTS


_classified: dict[str, bool] = {}


def is_library_file(filename: str | None) -> bool:
    """Whether `filename` lies among the installed libraries (see :func:`library_roots`)."""
    if not filename:
        return False
    found = _classified.get(filename)
    if found is None:
        if len(_classified) > 50_000:
            _classified.clear()
        found = _classified[filename] = os.path.abspath(filename).startswith(library_roots())
    return found


def _user_modules() -> list[types.ModuleType]:
    """``__main__`` and the modules imported from outside the installed libraries."""
    own = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the torchmagic package
    out = []
    for name, module in list(sys.modules.items()):
        if not isinstance(module, types.ModuleType):
            continue
        if name == "__main__":
            out.append(module)
            continue
        file = getattr(module, "__file__", None)
        if file and not is_library_file(file) and not os.path.abspath(file).startswith(own):
            out.append(module)
    return out


@contextmanager
def variables_kept(*namespaces: dict[str, Any]) -> Iterator[None]:
    """Put back, on exit, what the block rebinds in `namespaces` and in the variables of the
    user's own modules (a replay must not leave ``helpers.counter = 3`` behind)."""
    kept: list[tuple[dict[str, Any], dict[str, Any]]] = []
    seen: set[int] = set()
    for space in (*namespaces, *(vars(m) for m in _user_modules())):
        if id(space) not in seen:
            seen.add(id(space))
            kept.append((space, dict(space)))
    try:
        yield
    finally:
        for space, before in kept:
            if len(space) == len(before) and all(space.get(k, _MISSING) is v for k, v in before.items()):
                continue
            for name in [n for n in space if n not in before]:
                del space[name]
            for name, value in before.items():
                if space.get(name, _MISSING) is not value:
                    space[name] = value


_MISSING: Any = object()


# ---------------------------------------------------------------------------- all together
@contextmanager
def isolated(shadow: dict[str, Any], user_namespace: dict[str, Any], shell: Any = None,
             recreated: dict[type, type] | None = None) -> Iterator[Effects]:
    """Everything a replay runs under (see the module's docstring); yields what it saw.

    `recreated`: the replay's copies of the user's classes, by the class they copy: pickling
    an instance of one (``torch.save(model)``, a DataLoader worker) names the user's class."""
    with ExitStack() as stack:
        stack.enter_context(_pickled_as(recreated or {}))
        stack.enter_context(guards.settings_restored())
        stack.enter_context(variables_kept(user_namespace))
        stack.enter_context(_captured_output(shell))
        effects = stack.enter_context(recording())
        files = PrivateFiles(effects)
        stack.callback(files.close)
        torch = sys.modules.get("torch")
        if torch is not None:
            stack.enter_context(_swapped(torch, "save", files.save_wrapper))
        stand_ins(shadow, effects, files)
        yield effects


@contextmanager
def _pickled_as(recreated: dict[type, type]) -> Iterator[None]:
    """Pickle instances of each re-created class as instances of the user's class it copies
    (pickle finds a class by its name, and the name leads to the user's class)."""
    import copyreg

    added = []
    for new, original in recreated.items():
        if new not in copyreg.dispatch_table:
            copyreg.dispatch_table[new] = functools.partial(_reduce_as, original)
            added.append(new)
    try:
        yield
    finally:
        for new in added:
            copyreg.dispatch_table.pop(new, None)


def _reduce_as(original: type, obj: Any) -> Any:
    value = obj.__reduce_ex__(4)
    if isinstance(value, tuple) and len(value) >= 2 and isinstance(value[1], tuple) and value[1] \
            and value[1][0] is type(obj):
        # (copyreg.__newobj__, (the copy's class, *args), ...): pickle insists that class is the
        # object's own, so the user's class travels through a constructor of torchmagic's
        value = (new_of, (original, *value[1][1:]), *value[2:])
    return value


def new_of(cls: type, *args: Any) -> Any:
    """A new, empty instance of `cls` for unpickling (its own ``__new__`` is used as pickle would)."""
    return cls.__new__(cls, *args)


@contextmanager
def _captured_output(shell: Any) -> Iterator[None]:
    """Printing and rich display of the block are kept, not shown."""
    if shell is not None and getattr(shell, "display_pub", None) is not None:
        from IPython.utils.capture import capture_output

        with capture_output(stdout=True, stderr=True, display=True):
            yield
        return
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        yield

