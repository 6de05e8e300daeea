"""Bad-input sweep: call every public function of every concept module of dotbook
the way a hostile reader would, and classify what happens (issue 20).

    .venv/bin/python tools/sweep.py                 # counts table + every non-clear case
    .venv/bin/python tools/sweep.py --module geometry --module attention
    .venv/bin/python tools/sweep.py --json out.json # every case, machine-readable
    .venv/bin/python tools/sweep.py --quiet         # the counts table alone (a bench row)

How it works, with nothing written per function:

1. Modules come from ``pkgutil`` over the ``dotbook`` package (private modules and
   the ``figures`` package left out), functions from each module's namespace
   (public, defined there). A split or a rename needs no change here.
2. A valid call for each function is recorded while its docstring's doctest
   examples run (every public function is wrapped by a recorder meanwhile, so a
   call made by another function's example counts too). Functions no example calls
   get arguments from a small table of factories by parameter name and annotation.
3. Each argument in turn (and each parameter left at its default) is replaced by
   hostile values: wrong type, None, bool, str, NaN, ±inf, -1, 0, 10**12, 10**400,
   a device string this machine cannot honour, non-float dtypes, and for tensors
   wrong rank and shape, int64 and complex versions, an empty one, one with NaN,
   one with an inf entry, the other float precision.
4. Each call runs in a worker process, under a per-call alarm, and a watchdog in
   this process kills a worker stuck in C code. Each case is classified:

   clear   ValueError/TypeError raised from a dotbook source file, its message
           naming the argument
   opaque  any other exception (raised in torch/numpy/scipy, another type, or a
           dotbook message that does not name the argument)
   silent  returned, but: NaN out of an input without NaN; or an impossible input
           accepted (object(), a bool for a number, a str for a number or tensor,
           None where None is not allowed, NaN for a number, a negative count, a
           complex tensor, a non-float dtype for a function that makes float
           tensors, an unavailable device); or a ``_loop``/``_naive`` twin that
           accepts what its fast twin refuses
   hang    no answer within the per-call limit (--limit seconds, default 2)

   A hostile value that is in fact valid (``None`` for a parameter whose default is
   None, a bool for a bool, a str for a str) and returns cleanly is "ok" and not
   listed.

The module ``sweep_cases(module_name)`` / ``run_case`` functions are reused by
tests/test_bad_input.py.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import copy
import dataclasses
import doctest
import importlib
import inspect
import json
import math
import os
import pkgutil
import re
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "src") not in sys.path and "dotbook" not in sys.modules:
    sys.path.insert(0, str(ROOT / "src"))

import torch  # noqa: E402

import dotbook  # noqa: E402

PKG_DIR = str(Path(dotbook.__file__).resolve().parent)
CLASSES = ("clear", "opaque", "silent", "hang")
# int parameters that are coordinates or offsets, not counts: a negative one is legal
NOT_COUNTS = {"dim", "dy", "dx", "i", "j", "seed", "value", "digits", "axis"}
DEVICE_NAMES = {"device", "dev", "device_type"}
#: Modules that can only be called inside Colab (the Colab face registers a kernel
#: callback with ``google.colab``): swept with the tests' stand-in, tests/fake_colab.
NEEDS_COLAB = {"colab"}
FAKE_COLAB = ROOT / "tests" / "fake_colab"


# --------------------------------------------------------------------------- discovery

def concept_modules() -> list[str]:
    """Every public module of dotbook (sub-packages such as figures/ left out)."""
    return sorted(m.name for m in pkgutil.iter_modules(dotbook.__path__)
                  if not m.name.startswith("_") and not m.ispkg)


def public_functions(module: Any) -> dict[str, Callable[..., Any]]:
    """Public functions defined in ``module``, and its public classes that check
    their own arguments (a hand-written ``__init__`` or a ``__post_init__``):
    those a reader constructs, as opposed to result records."""
    out = {}
    for name, f in vars(module).items():
        if name.startswith("_") or getattr(f, "__module__", None) != module.__name__:
            continue  # private, or re-exported from elsewhere: swept in its own module
        if inspect.isfunction(f):
            out[name] = f
        elif inspect.isclass(f) and ("__post_init__" in vars(f) or (
                "__init__" in vars(f) and not dataclasses.is_dataclass(f))):
            out[name] = f
    return out


@contextlib.contextmanager
def module_context(module_name: str) -> Iterator[None]:
    """What calling ``module_name``'s functions needs: for a Colab module, ``google.colab``
    importable from tests/fake_colab meanwhile (the fake modules are dropped afterwards, so
    that nothing else believes it runs in Colab)."""
    if module_name not in NEEDS_COLAB:
        yield
        return
    before = {m for m in sys.modules if m == "google" or m.startswith("google.")}
    sys.path.insert(0, str(FAKE_COLAB))
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(str(FAKE_COLAB))
        for m in [m for m in sys.modules if (m == "google" or m.startswith("google."))
                  and m not in before]:
            del sys.modules[m]


# --------------------------------------------------------------------------- valid calls

class _Stop(BaseException):
    """Raised by the alarm; a BaseException so that `except Exception` cannot eat it."""


@contextlib.contextmanager
def alarm(seconds: float) -> Iterator[None]:
    def fire(signum: int, frame: object) -> None:
        raise _Stop()
    old = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def fresh(value: Any) -> Any:
    """A copy a call may mutate (tensors cloned, generators re-seeded to the same state)."""
    if isinstance(value, torch.Tensor):
        return value.detach().clone().requires_grad_(value.requires_grad) \
            if value.is_leaf else value.detach().clone()
    if isinstance(value, torch.Generator):
        g = torch.Generator(value.device)
        g.set_state(value.get_state())
        return g
    if isinstance(value, (list, tuple)) and not hasattr(value, "_fields"):
        return type(value)(fresh(v) for v in value)
    if isinstance(value, dict):
        return {k: fresh(v) for k, v in value.items()}
    if isinstance(value, torch.nn.Module):
        try:
            return copy.deepcopy(value)
        except Exception:
            return value
    return value


@contextlib.contextmanager
def restored_state() -> Iterator[None]:
    """Undo global changes a call may make (default dtype, threads, grad mode)."""
    dtype, threads, grad = torch.get_default_dtype(), torch.get_num_threads(), \
        torch.is_grad_enabled()
    try:
        yield
    finally:
        torch.set_default_dtype(dtype)
        torch.set_num_threads(threads)
        torch.set_grad_enabled(grad)


def record_valid_calls(module: Any, funcs: dict[str, Callable[..., Any]],
                       limit: float = 20.0) -> dict[str, tuple[tuple, dict]]:
    """Run every doctest example of the module with recorders in place of its
    functions; the first successful call of each function is kept."""
    calls: dict[str, tuple[tuple, dict]] = {}
    busy: set[str] = set()

    def recorder(name: str, f: Callable[..., Any]) -> Callable[..., Any]:
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if name in calls or name in busy:
                return f(*args, **kwargs)
            saved = (fresh(args), fresh(kwargs))
            busy.add(name)
            try:
                result = f(*args, **kwargs)
            finally:
                busy.discard(name)
            calls.setdefault(name, saved)
            return result
        wrapped.__wrapped__ = f  # type: ignore[attr-defined]
        return wrapped

    finder = doctest.DocTestFinder(recurse=False)
    sources = [module] + [f for f in funcs.values() if not inspect.isclass(f)] + [
        c for c in vars(module).values()
        if inspect.isclass(c) and c.__module__ == module.__name__]
    originals = dict(funcs)
    inits = {}
    for name, f in funcs.items():
        if inspect.isclass(f):  # keep the class itself (isinstance checks), wrap __init__
            init = vars(f)["__init__"]
            inits[f] = init
            rec = recorder(name, lambda *a, _init=init, **k: _init(*a, **k))
            f.__init__ = lambda self, *a, _rec=rec, **k: _rec(*((self,) + a), **k)
        else:
            setattr(module, name, recorder(name, f))
    try:
        for obj in sources:
            try:
                tests = finder.find(obj, module=module, globs=dict(vars(module)))
            except Exception:
                continue
            for test in tests:
                globs = dict(vars(module))
                for ex in test.examples:
                    try:
                        with restored_state(), alarm(limit), \
                                contextlib.redirect_stdout(open(os.devnull, "w")):
                            exec(compile(ex.source, "<doctest>", "single"), globs)
                    except _Stop:
                        break
                    except BaseException:  # noqa: BLE001 - an example meant to fail
                        continue
    finally:
        for name, f in originals.items():
            if f in inits:
                f.__init__ = inits[f]
            else:
                setattr(module, name, f)
    # a class's recorded call starts with the instance: drop it
    for name, f in funcs.items():
        if inspect.isclass(f) and name in calls:
            args, kwargs = calls[name]
            calls[name] = (args[1:], kwargs)
    return calls


def _ann(p: inspect.Parameter) -> str:
    a = p.annotation
    return "" if a is inspect.Parameter.empty else (a if isinstance(a, str) else repr(a))


FACTORIES: dict[str, Callable[[], Any]] = {
    # by parameter name, for functions no doctest example calls
    "q": lambda: torch.randn(2, 4, 3, dtype=torch.float64),
    "k": lambda: torch.randn(2, 4, 3, dtype=torch.float64),
    "v": lambda: torch.randn(2, 4, 3, dtype=torch.float64),
    "W": lambda: torch.randn(3, 4, dtype=torch.float64),
    "x": lambda: torch.randn(4, dtype=torch.float64),
    "a": lambda: torch.randn(4, dtype=torch.float64),
    "b": lambda: torch.randn(4, dtype=torch.float64),
    "w": lambda: torch.randn(4, dtype=torch.float64),
    "u": lambda: torch.nn.functional.normalize(torch.randn(5, 4, dtype=torch.float64), dim=1),
    "device": lambda: "cpu",
    "dev": lambda: "cpu",
    "dtype": lambda: torch.float64,
    "generator": lambda: torch.Generator().manual_seed(0),
    "name": lambda: "x",
    "fn": lambda: (lambda: None),
    "fig": lambda: importlib.import_module("plotly.graph_objects").Figure(),
    "twin": lambda: _twin(),
}


def _twin() -> Any:
    """A small figure twin (explore.Twin), for the faces that take one."""
    explore = importlib.import_module("dotbook.explore")
    return explore.Twin(lambda slope: {"data": [{"type": "scatter", "x": [0, 1],
                                                 "y": [0, slope]}], "layout": {}},
                        [explore.Param("slope", "slope", (0.0, 1.0, 2.0))])


def factory_call(f: Callable[..., Any]) -> tuple[tuple, dict] | None:
    """Arguments from the table, by name, else by annotation; None if some
    required parameter has no factory."""
    kwargs: dict[str, Any] = {}
    for p in inspect.signature(f).parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) or p.default is not p.empty:
            continue
        ann = _ann(p)
        if p.name in FACTORIES:
            kwargs[p.name] = FACTORIES[p.name]()
        elif ann.startswith("int"):
            kwargs[p.name] = 3
        elif ann.startswith("float"):
            kwargs[p.name] = 0.5
        elif ann.startswith("str"):
            kwargs[p.name] = "x"
        elif "Tensor" in ann:
            kwargs[p.name] = torch.randn(4, dtype=torch.float64)
        elif ann.startswith("Sequence[int]"):
            kwargs[p.name] = [2, 3]
        else:
            return None
    return (), kwargs


# --------------------------------------------------------------------------- hostile values

class Hostile:
    """A named hostile value (made fresh for each call) and how it must be treated."""

    def __init__(self, label: str, make: Callable[[], Any], *, nan_in: bool = False,
                 inf_in: bool = False) -> None:
        self.label, self.make, self.nan_in, self.inf_in = label, make, nan_in, inf_in

    def __repr__(self) -> str:
        return self.label


def _unavailable_devices() -> list[str]:
    out = []
    if not torch.cuda.is_available():
        out.append("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is None or not mps.is_available():
        out.append("mps")
    return out


def hostile_values(p: inspect.Parameter, valid: Any) -> list[Hostile]:
    """The hostile values for one parameter, given its valid value."""
    hs = [
        Hostile("object()", object),
        Hostile("None", lambda: None),
        Hostile("True", lambda: True),
        Hostile("'x'", lambda: "x"),
        Hostile("nan", lambda: math.nan, nan_in=True),
        Hostile("inf", lambda: math.inf, inf_in=True),
        Hostile("-inf", lambda: -math.inf, inf_in=True),
        Hostile("-1", lambda: -1),
        Hostile("0", lambda: 0),
        Hostile("10**12", lambda: 10**12),
        Hostile("10**400", lambda: 10**400),
    ]
    for dev in _unavailable_devices():
        hs.append(Hostile(repr(dev), lambda dev=dev: dev))
    if p.name == "dtype" or isinstance(valid, torch.dtype):
        hs += [Hostile("torch.int64", lambda: torch.int64),
               Hostile("torch.complex64", lambda: torch.complex64),
               Hostile("torch.bool", lambda: torch.bool)]
    if isinstance(valid, (list, tuple)) and not isinstance(valid, str):
        hs += [Hostile("[]", list),
               Hostile("[10**12]", lambda: [10**12]),
               Hostile("[-1]", lambda: [-1]),
               Hostile("['x']", lambda: ["x"])]
    if isinstance(valid, torch.Tensor) and valid.is_floating_point():
        t = valid.detach()
        other = torch.float32 if t.dtype == torch.float64 else torch.float64

        def with_value(val: float) -> Callable[[], torch.Tensor]:
            def make() -> torch.Tensor:
                c = t.clone(memory_format=torch.contiguous_format)  # view(-1) needs it
                if c.numel():
                    c.view(-1)[0] = val
                return c
            return make

        hs += [
            Hostile("scalar tensor", lambda: t.reshape(-1)[:1].reshape(()).clone()
                    if t.numel() else torch.tensor(1.0, dtype=t.dtype)),
            Hostile("rank+1", lambda: t.clone().unsqueeze(0).expand(2, *t.shape).clone()),
            Hostile("shape+1", lambda: torch.cat([t, t.narrow(-1, 0, 1)], dim=-1)
                    if t.ndim and t.shape[-1] else torch.ones(2, dtype=t.dtype)),
            Hostile("int64 tensor", lambda: t.round().to(torch.int64)),
            Hostile("complex tensor", lambda: t.to(torch.complex128)),
            Hostile("empty tensor", lambda: t.reshape(-1)[:0].reshape(
                *t.shape[:-1], 0) if t.ndim else t.reshape(-1)[:0]),
            Hostile(f"{str(other).removeprefix('torch.')} tensor", lambda: t.to(other)),
            Hostile("NaN entry", with_value(math.nan), nan_in=True),
            Hostile("+inf entry", with_value(math.inf), inf_in=True),
            Hostile("-inf entry", with_value(-math.inf), inf_in=True),
        ]
    return hs


# --------------------------------------------------------------------------- classification

def _walk(obj: Any, depth: int = 0) -> Iterator[Any]:
    if depth > 4:
        return
    yield obj
    if isinstance(obj, torch.nn.Module) or isinstance(obj, (str, bytes)):
        return
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for f in dataclasses.fields(obj):
            yield from _walk(getattr(obj, f.name, None), depth + 1)
    elif isinstance(obj, dict):
        for v in list(obj.values())[:200]:
            yield from _walk(v, depth + 1)
    elif isinstance(obj, (list, tuple)):
        for v in list(obj)[:200]:
            yield from _walk(v, depth + 1)


def has_nan(obj: Any) -> bool:
    for o in _walk(obj):
        if isinstance(o, torch.Tensor) and (o.is_floating_point() or o.is_complex()):
            if o.numel() and bool(torch.isnan(o.detach()).any()):
                return True
        elif isinstance(o, float) and math.isnan(o):
            return True
    return False


def makes_float_tensors(obj: Any) -> bool:
    return any((isinstance(o, torch.Tensor) and o.is_floating_point())
               or (isinstance(o, torch.dtype) and o.is_floating_point) for o in _walk(obj))


def has_device_things(obj: Any) -> bool:
    return any(isinstance(o, (torch.Tensor, torch.device, torch.Generator)) for o in _walk(obj))


def must_refuse(p: inspect.Parameter, h: Hostile, value: Any, valid: Any,
                valid_result: Any, result: Any) -> str | None:
    """Why accepting ``value`` for ``p`` is wrong, or None if it may be fine."""
    ann = _ann(p)
    if "Any" in ann or ann == "object" or (not ann and p.name in ("obj", "value")):
        return None
    lenient = p.default is None or "None" in ann
    if value is None:
        return None if lenient or valid is None else "None accepted"
    if h.label == "object()":
        return "object() accepted"
    if isinstance(value, bool):
        return None if ("bool" in ann or isinstance(valid, bool)) else \
            f"bool accepted for {ann or type(valid).__name__}"
    if isinstance(value, str):
        if p.name in DEVICE_NAMES and value in _unavailable_devices():
            return (f"unavailable device {value!r} accepted"
                    if has_device_things(result) else None)
        return None if ("str" in ann or isinstance(valid, str)) else \
            f"str accepted for {ann or type(valid).__name__}"
    if isinstance(value, float) and math.isnan(value):
        return f"nan accepted for {ann or type(valid).__name__}"
    if isinstance(value, int) and value < 0 and p.name not in NOT_COUNTS and (
            ann.startswith("int") or (not ann and isinstance(valid, int)
                                      and not isinstance(valid, bool))):
        return "negative count accepted"
    if isinstance(value, torch.Tensor) and value.is_complex():
        return "complex tensor accepted"
    if isinstance(value, torch.dtype) and not value.is_floating_point and \
            makes_float_tensors(valid_result):
        return f"non-float dtype {value} accepted"
    return None


def _names_argument(msg: str, names: list[str]) -> bool:
    return any(re.search(rf"(?<![A-Za-z0-9_]){re.escape(n)}(?![A-Za-z0-9_])", msg)
               for n in names)


def classify_exception(exc: BaseException, names: list[str]) -> tuple[str, str]:
    tb = exc.__traceback__
    last = None
    while tb is not None:
        last = tb.tb_frame.f_code.co_filename
        tb = tb.tb_next
    where = os.path.relpath(last, os.path.dirname(PKG_DIR)) if last else "?"
    inside = bool(last) and os.path.realpath(last).startswith(PKG_DIR + os.sep)
    first = (str(exc).strip().splitlines() or [""])[0][:160]
    detail = f"{type(exc).__name__}: {first}"
    if isinstance(exc, (ValueError, TypeError)) and inside:
        if _names_argument(str(exc), names):
            return "clear", detail
        return "opaque", f"{detail} [does not name {names[0]!r}]"
    return "opaque", f"{detail} [raised in {where}]"


@contextlib.contextmanager
def memory_cap(gib: float = 4.0) -> Iterator[None]:
    """Let the process grow by at most ``gib`` GiB of address space meanwhile, so that a
    huge request fails at once (MemoryError / the allocator's RuntimeError) instead
    of swapping the machine; the soft limit is put back afterwards."""
    try:
        import resource
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        with open("/proc/self/statm") as fh:
            now = int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        cap = now + int(gib * 2**30)
        if hard != resource.RLIM_INFINITY:
            cap = min(cap, hard)
        if soft != resource.RLIM_INFINITY:
            cap = min(cap, soft)
        resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    except (ImportError, OSError, ValueError):
        yield
        return
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def call(f: Callable[..., Any], args: tuple, kwargs: dict, limit: float) -> tuple[str, Any]:
    """('ok', result) | ('raised', exc) | ('hang', None); context managers are entered.
    The call runs under an alarm (``limit`` seconds) and a memory cap."""
    try:
        with restored_state(), memory_cap(), alarm(limit), \
                contextlib.redirect_stdout(open(os.devnull, "w")):
            result = f(*args, **kwargs)
            if hasattr(result, "__enter__") and hasattr(result, "__exit__") and \
                    not isinstance(result, torch.Tensor):
                with result as inner:
                    result = inner
            return "ok", result
    except _Stop:
        return "hang", None
    except RecursionError as exc:
        return "raised", exc
    except Exception as exc:  # noqa: BLE001
        return "raised", exc


TWIN_SUFFIXES = ("_loop", "_naive")


def twin_of(name: str, funcs: dict[str, Callable[..., Any]]) -> Callable[..., Any] | None:
    for s in TWIN_SUFFIXES:
        if name.endswith(s) and name.removesuffix(s) in funcs:
            return funcs[name.removesuffix(s)]
    return None


# --------------------------------------------------------------------------- cases

@dataclasses.dataclass
class Case:
    module: str
    function: str
    param: str
    value: str
    verdict: str = ""      # clear / opaque / silent / hang / ok
    detail: str = ""
    seconds: float = 0.0

    @property
    def key(self) -> str:
        return f"{self.module}.{self.function}({self.param}={self.value})"


@dataclasses.dataclass
class Target:
    module: str
    name: str
    f: Callable[..., Any]
    sig: inspect.Signature
    args: tuple
    kwargs: dict
    valid_result: Any
    valid_seconds: float
    twin: Callable[..., Any] | None


def targets(module_name: str, limit: float = 20.0) -> tuple[list[Target], list[Case]]:
    """The functions of a module with a valid call, and a case for each that has none."""
    with module_context(module_name):
        return _targets(module_name, limit)


def _targets(module_name: str, limit: float) -> tuple[list[Target], list[Case]]:
    module = importlib.import_module(f"dotbook.{module_name}")
    funcs = public_functions(module)
    recorded = record_valid_calls(module, funcs, limit)
    out, missing = [], []
    for name, f in funcs.items():
        call_ = recorded.get(name) or factory_call(f)
        sig = inspect.signature(f)
        if call_ is None:
            missing.append(Case(module_name, name, "-", "-", "novalid",
                                "no doctest calls it and no factory fits"))
            continue
        args, kwargs = call_
        start = time.perf_counter()
        status, result = call(f, fresh(args), fresh(kwargs), limit)
        seconds = time.perf_counter() - start
        if status != "ok":
            detail = f"{type(result).__name__}: {result}"[:160] if status == "raised" else "hang"
            missing.append(Case(module_name, name, "-", "-", "novalid",
                                f"the valid call failed: {detail}"))
            continue
        out.append(Target(module_name, name, f, sig, args, kwargs, result, seconds,
                          twin_of(name, funcs)))
    return out, missing


def plan(target: Target) -> Iterator[tuple[inspect.Parameter, Hostile, Any]]:
    """(parameter, hostile value, the valid value it replaces) for one target."""
    bound = target.sig.bind_partial(*target.args, **target.kwargs)
    for p in target.sig.parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        valid = bound.arguments.get(p.name, None if p.default is p.empty else p.default)
        for h in hostile_values(p, valid):
            yield p, h, valid


def run_case(target: Target, p: inspect.Parameter, h: Hostile, valid: Any,
             limit: float) -> Case:
    with module_context(target.module):
        return _run_case(target, p, h, valid, limit)


def _run_case(target: Target, p: inspect.Parameter, h: Hostile, valid: Any,
              limit: float) -> Case:
    case = Case(target.module, target.name, p.name, h.label)
    bound = target.sig.bind_partial(*fresh(target.args), **fresh(target.kwargs))
    value = h.make()
    bound.arguments[p.name] = value
    limit = max(limit, 5 * target.valid_seconds)
    start = time.perf_counter()
    status, result = call(target.f, bound.args, bound.kwargs, limit)
    case.seconds = time.perf_counter() - start
    names = [p.name]
    if status == "hang":
        case.verdict, case.detail = "hang", f"no answer within {limit:.1f} s"
    elif status == "raised":
        case.verdict, case.detail = classify_exception(result, names)
    else:
        why = must_refuse(p, h, value, valid, target.valid_result, result)
        if why is None and has_nan(result) and not h.nan_in and not has_nan(target.valid_result):
            why = "NaN out of an input with ±inf" if h.inf_in else "NaN out of clean input"
        if why is None and target.twin is not None:
            tb = target.sig.bind_partial(*fresh(target.args), **fresh(target.kwargs))
            tb.arguments[p.name] = h.make()
            try:
                twin_bound = inspect.signature(target.twin).bind(*tb.args, **tb.kwargs)
            except TypeError:
                twin_bound = None
            if twin_bound is not None:
                t_status, t_result = call(target.twin, twin_bound.args, twin_bound.kwargs, limit)
                if t_status == "raised":
                    why = (f"accepted, but {target.twin.__name__} refuses it "
                           f"({type(t_result).__name__})")
        case.verdict, case.detail = ("silent", why) if why else ("ok", "")
    return case


def sweep_module(module_name: str, limit: float, skip: int = 0) -> Iterator[Case]:
    """Every case of one module, in a fixed order; the first ``skip`` are not run."""
    tgts, missing = targets(module_name)
    i = 0
    for c in missing:
        if i >= skip:
            yield c
        i += 1
    for t in tgts:
        for p, h, valid in plan(t):
            if i >= skip:
                yield run_case(t, p, h, valid, limit)
            i += 1


# --------------------------------------------------------------------------- processes

def worker(module_name: str, limit: float, skip: int) -> None:
    """Print one JSON line per case; a restarted worker skips the cases already done."""
    torch.set_num_threads(1)
    for c in sweep_module(module_name, limit, skip):
        print(json.dumps(dataclasses.asdict(c)), flush=True)


def _start(module: str, limit: float, skip: int) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]))
    return subprocess.Popen(
        [sys.executable, __file__, "--worker", module, "--limit", str(limit),
         "--skip", str(skip)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        text=True, env=env, cwd=ROOT)


def sweep(modules: list[str], limit: float = 2.0, jobs: int = 2,
          progress: bool = False) -> list[Case]:
    """Sweep ``modules`` in worker processes, ``jobs`` at a time."""
    results: list[Case] = []
    pending = list(modules)
    running: dict[int, tuple[subprocess.Popen, str, int, float]] = {}
    watchdog = limit * 5 + 60  # the first case of a module also records its valid calls
    while pending or running:
        while pending and len(running) < jobs:
            m = pending.pop(0)
            proc = _start(m, limit, 0)
            running[proc.stdout.fileno()] = (proc, m, 0, time.monotonic())
        ready, _, _ = select.select(list(running), [], [], 1.0)
        now = time.monotonic()
        for fd in list(running):
            proc, m, nxt, last = running[fd]
            if fd in ready:
                line = proc.stdout.readline()
                if line:
                    results.append(Case(**json.loads(line)))
                    running[fd] = (proc, m, nxt + 1, now)
                    continue
                proc.wait()
                del running[fd]
                if proc.returncode != 0:  # crashed inside a case: record it, go on
                    results.append(Case(m, "?", "?", f"case #{nxt}", "opaque",
                                        f"worker died (exit {proc.returncode})"))
                    new = _start(m, limit, nxt + 1)
                    running[new.stdout.fileno()] = (new, m, nxt + 1, now)
                if progress:
                    print(f"  {m} done", file=sys.stderr)
            elif now - last > watchdog:
                proc.kill()
                proc.wait()
                del running[fd]
                results.append(Case(m, "?", "?", f"case #{nxt}", "hang",
                                    "stuck in native code: killed by the watchdog"))
                new = _start(m, limit, nxt + 1)
                running[new.stdout.fileno()] = (new, m, nxt + 1, now)
    return results


def table(results: list[Case]) -> str:
    per = collections.defaultdict(collections.Counter)
    for c in results:
        per[c.module][c.verdict] += 1
    cols = ("calls",) + CLASSES + ("novalid",)
    lines = [f"{'module':<16}" + "".join(f"{c:>9}" for c in cols)]
    total: collections.Counter = collections.Counter()
    for m in sorted(per):
        cnt = per[m]
        calls = sum(v for k, v in cnt.items() if k != "novalid")
        total.update(cnt)
        total["calls"] += calls
        lines.append(f"{m:<16}" + f"{calls:>9}" + "".join(f"{cnt[c]:>9}" for c in cols[1:]))
    lines.append(f"{'total':<16}" + "".join(f"{total[c]:>9}" for c in cols))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--module", action="append", help="sweep only these modules")
    ap.add_argument("--limit", type=float, default=2.0, help="seconds before a call is a hang")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--json", help="write every case here")
    ap.add_argument("--quiet", action="store_true", help="the counts table only")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--skip", type=int, default=0, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.worker:
        worker(a.worker, a.limit, a.skip)
        return 0
    modules = a.module or concept_modules()
    start = time.perf_counter()
    results = sweep(modules, a.limit, a.jobs)
    wall = time.perf_counter() - start
    bad = [c for c in results if c.verdict not in ("clear", "ok")]
    for c in [] if a.quiet else sorted(bad, key=lambda c: (c.module, c.verdict, c.function,
                                                            c.param)):
        print(f"{c.verdict:<7} {c.module}.{c.function}({c.param}={c.value}): {c.detail}")
    print()
    print(f"bad-input sweep: {len(results)} cases over {len(modules)} modules in {wall:.0f} s "
          f"(hang = over {a.limit:g} s; 'ok' cases, valid hostile values, not counted)")
    print(table([c for c in results if c.verdict != "ok"]))
    if a.json:
        Path(a.json).write_text(json.dumps([dataclasses.asdict(c) for c in results], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
