"""Taking an object apart, and putting a copy together, without running the user's code.

A snapshot reads the objects of a notebook before every fast-mode cell, so reading them must
not run code the user wrote: no ``__deepcopy__``, ``__getstate__`` or ``__reduce__`` of
theirs, no ``__getattr__`` answering a probe (``hasattr`` on an ``AttrDict`` whose
``__getattr__`` is ``dict.__getitem__`` raises KeyError). Special methods are looked up on
the type, the way Python itself looks them up, and one is called only when a library
defines it (the standard library, torch, numpy, any installed package; see
:func:`is_user_code`). Where the user's class has hooks of its own the object is taken
apart as ``object.__reduce_ex__`` would take it apart by default: its instance dict and
slots, its list or dict items.

:func:`reduce` gives a :class:`Reduced`: what the copy is made from (`args`, `state`,
`items`, `pairs`) and how to make it; nothing of the user's code runs in either.
"""
from __future__ import annotations

import copyreg
import functools
import sys
import types
import weakref
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

from .isolation import is_library_file

_mro_of = type.__dict__["__mro__"].__get__
_dict_of = type.__dict__["__dict__"].__get__
_instance_getattr = object.__getattribute__

#: Namespaces whose functions are the user's (a notebook's `user_ns`), while :func:`reading`.
USER_NAMESPACES: dict[int, Any] = {}


@contextmanager
def reading(*namespaces: Any) -> Iterator[None]:
    """Within the block, functions whose globals are one of `namespaces` count as the user's."""
    added = [id(n) for n in namespaces if n is not None and id(n) not in USER_NAMESPACES]
    for n in namespaces:
        if n is not None:
            USER_NAMESPACES.setdefault(id(n), n)
    try:
        yield
    finally:
        for key in added:
            USER_NAMESPACES.pop(key, None)


class CannotCopy(Exception):
    """An object that cannot be copied without running code its owner wrote, or at all."""


def lookup(cls: type, name: str) -> tuple[type | None, Any]:
    """(defining class, raw attribute) of `name` on `cls`, found as Python finds special
    methods: in the class dicts along the MRO, without calling anything."""
    for klass in _mro_of(cls):
        space = _dict_of(klass)
        if name in space:
            return klass, space[name]
    return None, None


def _function_of(raw: Any) -> Any:
    if issubclass(type(raw), (staticmethod, classmethod)):
        return raw.__func__
    return raw


def is_user_function(func: Any) -> bool:
    """Whether a Python function is the user's: defined in the notebook (its globals are a
    user namespace) or in a module outside the installed libraries."""
    if type(func) is not types.FunctionType:
        return False
    space = func.__globals__
    if id(space) in USER_NAMESPACES:
        return True
    name = space.get("__name__")
    if name == "__main__":
        return True
    module = sys.modules.get(name) if isinstance(name, str) else None
    if module is not None and getattr(module, "__dict__", None) is space:
        file = getattr(module, "__file__", None)
        return not (file is None or is_library_file(file))
    filename = func.__code__.co_filename
    if filename.startswith("<") and not filename.startswith(("<ipython-input", "<torchdebug", "<cell")):
        return False  # code a library generated (namedtuple, dataclass helpers built from text)
    return not is_library_file(filename)


def is_user_code(raw: Any) -> bool:
    """Whether calling `raw` (a class attribute: function, static/class method, builtin or
    any other callable) would run the user's code."""
    func = _function_of(raw)
    if issubclass(type(func), (types.BuiltinFunctionType, types.BuiltinMethodType, types.WrapperDescriptorType,
                         types.MethodDescriptorType, types.MethodWrapperType, types.ClassMethodDescriptorType)):
        return False
    if type(func) is types.FunctionType:
        return is_user_function(func)
    if issubclass(type(func), functools.partial):
        return is_user_code(func.func)
    if issubclass(type(func), type):
        return class_runs_user_code(func)
    return True  # some other callable object: its __call__ may be anyone's


def class_runs_user_code(cls: type) -> bool:
    """Whether calling the class (``cls(...)``) runs the user's ``__new__`` or ``__init__``."""
    return any(is_user_code(raw) for _, raw in (lookup(cls, "__new__"), lookup(cls, "__init__"))
               if raw is not None) or is_user_code_type(type(cls))


_constructors: "weakref.WeakKeyDictionary[type, bool]" = weakref.WeakKeyDictionary()


def _calls_user_code(cls: type) -> bool:
    """:func:`class_runs_user_code`, kept per class (a reducer names the same class often)."""
    try:
        found = _constructors.get(cls)
    except TypeError:
        return class_runs_user_code(cls)
    if found is None:
        found = _constructors[cls] = class_runs_user_code(cls)
    return found


def is_user_code_type(meta: type) -> bool:
    owner, raw = lookup(meta, "__call__")
    return raw is not None and owner is not type and is_user_code(raw)


def library_method(cls: type, name: str) -> Callable[..., Any]:
    """The first `name` along the MRO that a library defines (skipping the user's overrides),
    unbound: ``OrderedDict.__setitem__`` for an OrderedDict subclass, ``dict.__setitem__``
    for an AttrDict."""
    for klass in _mro_of(cls):
        raw = _dict_of(klass).get(name)
        if raw is not None and not is_user_code(raw):
            return _function_of(raw)
    raise CannotCopy(f"a {cls.__name__} has no {name} but its own")


def library_hook(cls: type, name: str) -> Any:
    """The special method `name` of `cls` when a library defines it (else None): the raw
    attribute, to bind with :func:`bound`."""
    owner, raw = lookup(cls, name)
    if raw is None or owner is object or is_user_code(raw):
        return None
    return raw


def bound(raw: Any, obj: Any) -> Any:
    """`raw` (a class attribute) bound to `obj`, as an attribute lookup would bind it."""
    getter = getattr(type(raw), "__get__", None)
    return getter(raw, obj, type(obj)) if getter is not None else raw


# ---------------------------------------------------------------------------- reduction
@dataclass
class Reduced:
    """An object taken apart: `make(*args)` gives the new object, then `restore(new, state)`,
    `add_item(new, item)` for `items`, `add_pair(new, key, value)` for `pairs`. `deepcopy`:
    the library's own ``__deepcopy__`` (bound), used instead when set."""

    make: Callable[..., Any]
    args: tuple = ()
    state: Any = None
    items: list | None = None
    pairs: list | None = None
    deepcopy: Callable[[dict], Any] | None = None
    by_name: bool = False  # a global, reduced to its name: shared, never copied

    def restore(self, new: Any, state: Any) -> None:
        if state is not None:
            set_state(new, state)

    def add_item(self, new: Any, item: Any) -> None:
        library_method(type(new), "append")(new, item)

    def add_pair(self, new: Any, key: Any, value: Any) -> None:
        library_method(type(new), "__setitem__")(new, key, value)


@dataclass(frozen=True)
class _Plan:
    """How instances of one class are taken apart: which hook, found once per class."""

    kind: str  # "deepcopy", "dispatch", "reduce_ex", "reduce" or "plain"
    hook: Any = None  # the library's raw method (or the registered reductor)
    getnewargs_ex: Any = None
    getnewargs: Any = None
    getstate: Any = None
    c_state: bool = False  # instances keep state at C level that no dict or slot shows
    iterate: Any = None  # a list subclass: the library's __iter__
    items: Any = None  # a dict subclass: the library's items


_plans: "weakref.WeakKeyDictionary[type, _Plan]" = weakref.WeakKeyDictionary()


def _plan(cls: type) -> _Plan:
    """The plan for `cls`, kept per class: a class that later gains a hook of the user's is
    still never asked to run it (only the library functions found here are ever called)."""
    try:
        found = _plans.get(cls)
    except TypeError:
        found = None
    if found is None:
        found = _make_plan(cls)
        try:
            _plans[cls] = found
        except TypeError:  # a type that takes no weak references
            pass
    return found


def _make_plan(cls: type) -> _Plan:
    deep = library_hook(cls, "__deepcopy__")
    if deep is not None:
        return _Plan("deepcopy", deep)
    reductor = copyreg.dispatch_table.get(cls)
    if reductor is not None and not is_user_code(reductor):
        return _Plan("dispatch", reductor)
    ex_owner, reduce_ex = lookup(cls, "__reduce_ex__")
    plain_owner, plain = lookup(cls, "__reduce__")
    if ex_owner is not object and reduce_ex is not None and not is_user_code(reduce_ex):
        return _Plan("reduce_ex", reduce_ex)
    if plain_owner is not object and plain is not None and not is_user_code(plain) and ex_owner is object:
        return _Plan("reduce", plain)
    getnewargs_ex = library_hook(cls, "__getnewargs_ex__")
    getnewargs = library_hook(cls, "__getnewargs__") if getnewargs_ex is None else None
    getstate = library_hook(cls, "__getstate__")
    c_state = getstate is None and not issubclass(cls, (list, dict)) and _holds_c_state(cls)
    return _Plan("plain", None, getnewargs_ex, getnewargs, getstate, c_state,
                 library_method(cls, "__iter__") if issubclass(cls, list) else None,
                 library_method(cls, "items") if issubclass(cls, dict) else None)


def reduce(x: Any) -> Reduced:
    """How to copy `x`, found without running the user's code (see the module's docstring)."""
    cls = type(x)
    plan = _plan(cls)
    kind = plan.kind
    if kind == "plain":
        return _plain(x, cls, plan)
    if kind == "deepcopy":
        return Reduced(make=_never, deepcopy=bound(plan.hook, x))
    if kind == "dispatch":
        return _from_reduce_value(x, plan.hook(x))
    if kind == "reduce_ex":
        return _from_reduce_value(x, _call(bound(plan.hook, x), 4))
    return _from_reduce_value(x, _call(bound(plan.hook, x)))


def _never(*args: Any) -> Any:
    raise CannotCopy("copied by its own __deepcopy__")


def _call(method: Callable[..., Any], *args: Any) -> Any:
    try:
        return method(*args)
    except CannotCopy:
        raise
    except Exception as exc:
        raise CannotCopy(f"cannot copy a {type(getattr(method, '__self__', method)).__name__}: {exc}") from None


def _plain(x: Any, cls: type, plan: _Plan) -> Reduced:
    """Take `x` apart as the default ``object.__reduce_ex__(4)`` does, calling only the
    library's hooks: the class and new-arguments, the state (instance dict and slots, or a
    library's ``__getstate__``), list and dict items."""
    kwargs: dict = {}
    if plan.getnewargs_ex is not None:
        args, kwargs = _call(bound(plan.getnewargs_ex, x))
    else:
        args = _call(bound(plan.getnewargs, x)) if plan.getnewargs is not None else ()
    if plan.getstate is not None:
        state = _call(bound(plan.getstate, x))
    else:
        if not args and plan.c_state:
            raise CannotCopy(f"a {cls.__name__} cannot be copied")
        state = default_state(x, cls)
    items = list(plan.iterate(x)) if plan.iterate is not None else None
    pairs = list(plan.items(x)) if plan.items is not None else None
    if kwargs:
        return Reduced(make=lambda klass, *a: new_instance(klass, a, kwargs), args=(cls, *args), state=state,
                       items=items, pairs=pairs)
    return Reduced(make=lambda klass, *a: new_instance(klass, a, {}), args=(cls, *args), state=state,
                   items=items, pairs=pairs)


def _from_reduce_value(x: Any, value: Any) -> Reduced:
    """A library's ``__reduce__`` answer, turned into a :class:`Reduced` that runs no user code
    (a reconstructor that would call the user's class is refused)."""
    if isinstance(value, str):
        return Reduced(make=_never, by_name=True)
    parts = tuple(value) + (None,) * 5
    func, args, state, listiter, dictiter = parts[:5]
    args = tuple(args or ())
    if func is copyreg.__newobj__:
        make: Callable[..., Any] = lambda klass, *a: new_instance(klass, a, {})
    elif func is getattr(copyreg, "__newobj_ex__", None):
        klass, a, kw = args
        args = (klass, *a)
        make = lambda klass, *a: new_instance(klass, a, kw)  # noqa: E731
    elif func is copyreg._reconstructor:
        make = _reconstructor
    elif isinstance(func, type):
        if _calls_user_code(func):
            raise CannotCopy(f"a {type(x).__name__} is rebuilt by calling its class, which runs its own code")
        make = func
    elif is_user_code(func):
        raise CannotCopy(f"a {type(x).__name__} is rebuilt by code of its own")
    else:
        make = func
    return Reduced(make=make, args=args, state=state,
                   items=list(listiter) if listiter is not None else None,
                   pairs=list(dictiter) if dictiter is not None else None)


def _reconstructor(cls: type, base: type, state: Any) -> Any:
    if base is object:
        return new_instance(cls, (), {})
    if is_user_code(lookup(base, "__new__")[1]) or is_user_code(lookup(base, "__init__")[1]):
        raise CannotCopy(f"a {cls.__name__} is rebuilt by code of its own")
    return copyreg._reconstructor(cls, base, state)


def new_instance(cls: type, args: tuple, kwargs: dict) -> Any:
    """``cls.__new__(cls, *args, **kwargs)`` with the first ``__new__`` along the MRO that is
    not the user's (their ``__new__`` may do anything)."""
    for klass in _mro_of(cls):
        raw = _dict_of(klass).get("__new__")
        if raw is None:
            continue
        if is_user_code(raw):
            continue
        return _function_of(raw)(cls, *args, **kwargs)
    return object.__new__(cls)


# ---------------------------------------------------------------------------- state
def slot_names(cls: type) -> list[tuple[type, str]]:
    """(declaring class, attribute name) of every slot along the MRO (names mangled)."""
    out = []
    for klass in _mro_of(cls):
        slots = _dict_of(klass).get("__slots__")
        if slots is None:
            continue
        if isinstance(slots, str):
            slots = (slots,)
        for name in slots:
            if name in ("__dict__", "__weakref__"):
                continue
            if name.startswith("__") and not name.endswith("__"):
                stripped = klass.__name__.lstrip("_")
                if stripped:
                    name = f"_{stripped}{name}"
            out.append((klass, name))
    return out


def _holds_c_state(cls: type) -> bool:
    """Whether instances keep state at C level that neither their dict nor their slots show
    (a lock, a file): ``object.__getstate__`` refuses those, and so does a copy."""
    if getattr(cls, "__itemsize__", 0):
        return True
    expected = object.__basicsize__
    if lookup(cls, "__dict__")[1] is not None:
        expected += 8
    if lookup(cls, "__weakref__")[1] is not None:
        expected += 8
    expected += 8 * len(slot_names(cls))
    return cls.__basicsize__ > expected


def instance_dict(x: Any) -> dict | None:
    """The instance dict of `x`, read without its class's attribute hooks."""
    try:
        found = _instance_getattr(x, "__dict__")
    except AttributeError:
        return None
    return found if type(found) is dict else None


def default_state(x: Any, cls: type) -> Any:
    """What ``object.__getstate__`` gives, read with no hook of the class: the instance
    dict, with the slots' values beside it when there are any."""
    space = instance_dict(x)
    slots: dict[str, Any] = {}
    for klass, name in slot_names(cls):
        descriptor = _dict_of(klass).get(name)
        if type(descriptor) is not types.MemberDescriptorType:
            continue
        try:
            slots[name] = descriptor.__get__(x, cls)
        except AttributeError:
            pass
    state = dict(space) if space else None
    if slots:
        return (state, slots)
    return state


def set_state(new: Any, state: Any) -> None:
    """Give `new` its state: through a library's ``__setstate__``, else straight into its
    instance dict and slots (never the user's ``__setstate__`` or ``__setattr__``)."""
    cls = type(new)
    setstate = library_hook(cls, "__setstate__")
    if setstate is not None:
        bound(setstate, new)(state)
        return
    slots = None
    if type(state) is tuple and len(state) == 2:
        state, slots = state
    if state:
        space = instance_dict(new)
        if space is None:
            raise CannotCopy(f"a {cls.__name__} has state but no place to put it")
        space.update(state)
    for name, value in (slots or {}).items():
        _, descriptor = lookup(cls, name)
        if type(descriptor) is types.MemberDescriptorType:
            descriptor.__set__(new, value)
        else:
            space = instance_dict(new)
            if space is None:
                raise CannotCopy(f"a {cls.__name__} has a slot {name!r} it cannot take back")
            space[name] = value


def parts(reduced: Reduced) -> Iterable[Any]:
    """Everything a reduced object holds, for a walk over what it reaches."""
    yield from reduced.args
    if reduced.state is not None:
        yield reduced.state
    yield from reduced.items or ()
    for key, value in reduced.pairs or ():
        yield key
        yield value
