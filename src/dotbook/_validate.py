"""Input checks shared by every module: fail early, say what to pass instead."""

from __future__ import annotations

import inspect
import math
import numbers
from collections.abc import Callable, Sequence
from typing import Any

import torch


def tensor(x: object, name: str) -> torch.Tensor:
    """Require a floating-point tensor (real or complex is not accepted)."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(
            f"{name} must be a torch.Tensor, got {type(x).__name__}; "
            f"wrap it with torch.tensor(..., dtype=torch.float64)"
        )
    if not torch.is_floating_point(x):
        raise TypeError(
            f"{name} has dtype {x.dtype}, but a floating-point tensor is needed; "
            f"pass {name}.double() or {name}.float()"
        )
    return x


def vector(x: object, name: str) -> torch.Tensor:
    """Require a non-empty 1-D floating-point tensor."""
    x = tensor(x, name)
    if x.ndim != 1:
        raise ValueError(
            f"{name} must be a vector (1-D, shape (n,)), got shape {tuple(x.shape)}; "
            f"flatten it or pick one row"
        )
    if x.numel() == 0:
        raise ValueError(f"{name} is empty (shape (0,)); pass a vector with n >= 1")
    return x


def batched(x: object, name: str) -> torch.Tensor:
    """Require a floating-point tensor of shape (*, n) with n >= 1."""
    x = tensor(x, name)
    if x.ndim == 0:
        raise ValueError(f"{name} is a scalar; pass a vector of shape (n,) or a batch (*, n)")
    if x.shape[-1] == 0:
        raise ValueError(f"{name} has shape {tuple(x.shape)} with n = 0; pass n >= 1")
    return x


def same_kind(a: torch.Tensor, b: torch.Tensor, names: str = "a, b") -> None:
    """Require the same dtype and device (shapes may differ)."""
    na, nb = (s.strip() for s in names.split(","))
    if a.dtype != b.dtype:
        raise TypeError(
            f"dtype mismatch: {na} is {a.dtype} but {nb} is {b.dtype}; cast one, e.g. "
            f"{nb}.to({na}.dtype)"
        )
    if a.device != b.device:
        raise ValueError(
            f"device mismatch: {na} is on {a.device} but {nb} is on {b.device}; "
            f"move one, e.g. {nb}.to({na}.device)"
        )


def same_shape(a: torch.Tensor, b: torch.Tensor, names: str = "a, b") -> None:
    """Require equal shapes (no silent broadcasting) and the same dtype and device."""
    na, nb = (s.strip() for s in names.split(","))
    if a.shape != b.shape:
        raise ValueError(
            f"shape mismatch: {na} has shape {tuple(a.shape)} but {nb} has shape "
            f"{tuple(b.shape)}; a dot product needs vectors of the same length n"
        )
    same_kind(a, b, names)


def last_dim(x: object, name: str, n: int, like: torch.Tensor, like_name: str) -> torch.Tensor:
    """Require a float tensor ``x`` of shape (*, n) with ``like``'s dtype and device."""
    x = batched(x, name)
    if x.shape[-1] != n:
        raise ValueError(
            f"shape mismatch: {like_name} has shape {tuple(like.shape)} but {name} has shape "
            f"{tuple(x.shape)}; {name}'s last dimension must be n = {n}"
        )
    same_kind(like, x, f"{like_name}, {name}")
    return x


def integer(x: object, name: str, at_least: int = 1, *, at_most: int | None = None,
            why: str = "") -> int:
    """Require an int with ``at_least <= x <= at_most`` (bools are refused; numpy
    integers are accepted). Every count that drives a loop or a size has an
    ``at_most``, so a huge request is a clear error before any work starts.

    ``why``, when given, is appended to the message for a value out of range.

    Examples::

        >>> integer(3, "n", at_least=2)
        3
        >>> integer(1, "n", at_least=2)
        Traceback (most recent call last):
        ...
        ValueError: n must be an int >= 2, got 1
    """
    if isinstance(x, bool) or not isinstance(x, numbers.Integral):
        raise TypeError(f"{name} must be an int >= {at_least}, got {x!r} ({type(x).__name__})")
    if x < at_least:
        reason = f": {why}" if why else ""
        raise ValueError(f"{name} must be an int >= {at_least}, got {x}{reason}")
    if at_most is not None and x > at_most:
        reason = f": {why}" if why else ""
        raise ValueError(f"{name} = {x} is too large: pass at most {at_most}{reason}")
    return int(x)


def in_range(x: object, name: str, lo: float, hi: float, *, range_name: str = "") -> float:
    """Require a finite real number with lo <= x <= hi (returned as a float).

    ``range_name`` names the interval in the message (``"its slider range"``).
    """
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        raise TypeError(f"{name} must be a number in [{lo}, {hi}], got {x!r}")
    try:
        ok = math.isfinite(x) and lo <= x <= hi
    except OverflowError:  # an int too large for a float (10**400)
        ok = False
    if not ok:
        if range_name:
            raise ValueError(f"{name} = {x} is outside {range_name} [{lo}, {hi}]")
        raise ValueError(f"{name} must lie in [{lo}, {hi}], got {x}")
    return float(x)


def matrix(x: object, name: str) -> torch.Tensor:
    """Require a non-empty 2-D floating-point tensor (m, n), m, n >= 1."""
    x = tensor(x, name)
    if x.ndim != 2:
        raise ValueError(
            f"{name} must be a matrix (2-D, shape (m, n): one row per neuron), got shape "
            f"{tuple(x.shape)}"
        )
    if 0 in x.shape:
        raise ValueError(f"{name} has shape {tuple(x.shape)}; pass m >= 1 rows and n >= 1 columns")
    return x


def real(x: object, name: str) -> float:
    """Require a finite real number (a Python int or float; bools are refused)."""
    return in_range(x, name, -math.inf, math.inf)


def scalar(x: object, name: str, like: torch.Tensor, like_name: str,
           hint: str = "") -> torch.Tensor | float:
    """Require a finite number, or a 0-d float tensor with ``like``'s dtype and device.

    A tensor comes back as it is (so gradients flow through it), a number as a float.
    """
    if isinstance(x, torch.Tensor):
        x = tensor(x, name)
        if x.ndim != 0:
            raise ValueError(f"{name} must be a scalar (a number or a 0-d tensor), got shape "
                             f"{tuple(x.shape)}" + (f"; {hint}" if hint else ""))
        same_kind(like, x, f"{like_name}, {name}")
        return x
    return real(x, name)


def choice(x: object, name: str, allowed: Sequence[object]) -> object:
    """Require one of ``allowed`` (names, or other hashable values such as ints).

    The one rule for every choice in the package: a value of the wrong type is a
    ``TypeError``, a value of the right type that is not allowed is a ``ValueError``;
    both messages list what to pass instead.

    Examples::

        >>> choice("adam", "optimizer", ("sgd", "adam"))
        'adam'
        >>> choice("rmsprop", "optimizer", ("sgd", "adam"))
        Traceback (most recent call last):
        ...
        ValueError: unknown optimizer 'rmsprop'; use one of ['sgd', 'adam']
    """
    kinds = {type(a) for a in allowed}
    if isinstance(x, bool) and bool not in kinds or not isinstance(x, tuple(kinds)):
        raise TypeError(f"{name} must be one of {list(allowed)}, got {x!r} ({type(x).__name__})")
    if x not in allowed:
        raise ValueError(f"unknown {name} {x!r}; use one of {list(allowed)}")
    return x


def labels(y: object, x: torch.Tensor, name: str = "y") -> torch.Tensor:
    """Require class labels for the rows of ``x``: an int64 tensor of shape (N,)
    on ``x``'s device (the values are the caller's to check)."""
    if not isinstance(y, torch.Tensor) or y.dtype != torch.int64 or y.shape != x.shape[:1]:
        got = (f"{y.dtype} with shape {tuple(y.shape)}" if isinstance(y, torch.Tensor)
               else type(y).__name__)
        raise ValueError(f"{name} must be an int64 tensor of shape ({x.shape[0]},), one label "
                         f"per row of x, got {got}")
    if y.device != x.device:
        raise ValueError(f"device mismatch: x is on {x.device} but {name} is on {y.device}")
    return y


def binary_labels(y: object, x: torch.Tensor, name: str = "y") -> torch.Tensor:
    """Require one 0/1 label per row of ``x``, on ``x``'s device, with both classes present."""
    if not isinstance(y, torch.Tensor) or y.shape != x.shape[:1]:
        raise ValueError(f"{name} must be a tensor of shape ({x.shape[0]},), one 0/1 label per "
                         f"row of x, got {getattr(y, 'shape', type(y).__name__)}")
    if y.device != x.device:
        raise ValueError(f"device mismatch: x is on {x.device} but {name} is on {y.device}")
    if not bool(((y == 0) | (y == 1)).all()) or not bool((y == 0).any() and (y == 1).any()):
        raise ValueError(f"{name} must hold labels 0 and 1, both present")
    return y


def sizes(xs: object, name: str, *, at_least: int = 1, at_most: int,
          max_len: int = 64) -> list[int]:
    """Require a non-empty list or tuple of ints, each in [at_least, at_most]
    (``max_len`` entries at most)."""
    if isinstance(xs, (str, bytes)) or not isinstance(xs, (list, tuple, range)):
        raise TypeError(f"{name} must be a sequence (list) of ints, e.g. [16, 256], got {xs!r} "
                        f"({type(xs).__name__})")
    if not xs:
        raise ValueError(f"{name} is empty; pass 1 to {max_len} entries, e.g. [16, 256]")
    if len(xs) > max_len:
        raise ValueError(f"{name} has {len(xs)} entries; pass at most {max_len}")
    return [integer(x, f"{name}[{i}]", at_least, at_most=at_most) for i, x in enumerate(xs)]


def generator(g: object, name: str = "generator", *, optional: bool = False
              ) -> torch.Generator | None:
    """Require a ``torch.Generator`` (or ``None`` when ``optional``)."""
    if g is None and optional:
        return None
    if not isinstance(g, torch.Generator):
        allowed = "a torch.Generator or None" if optional else "a torch.Generator"
        raise TypeError(f"{name} must be {allowed}, got {type(g).__name__}; make one with "
                        f"dotbook.device.generator(seed), or book.generator(k) in a chapter")
    return g


def flag(x: object, name: str) -> bool:
    """Require a bool (not 0/1, not a string)."""
    if not isinstance(x, bool):
        raise TypeError(f"{name} must be True or False, got {x!r} ({type(x).__name__})")
    return x


def text(x: object, name: str, *, optional: bool = False) -> str | None:
    """Require a non-empty str (or ``None`` when ``optional``)."""
    if x is None and optional:
        return None
    if not isinstance(x, str) or not x:
        raise TypeError(f"{name} must be a non-empty str, got {x!r} ({type(x).__name__})")
    return x


def finite(x: torch.Tensor, name: str) -> torch.Tensor:
    """Require a tensor without inf or NaN entries (call after :func:`tensor`)."""
    if not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name} holds inf or NaN entries; pass finite values "
                         f"(torch.nan_to_num({name}) clamps them)")
    return x


def reals(xs: object, name: str, length: int, *, example: str = "") -> tuple[float, ...]:
    """Require a list or tuple of exactly ``length`` finite real numbers (returned as floats).

    Examples::

        >>> reals([1, 0.5], "w", 2)
        (1.0, 0.5)
        >>> reals([1.0], "w", 2)
        Traceback (most recent call last):
        ...
        ValueError: w must hold 2 numbers, got 1
    """
    hint = f", e.g. {example}" if example else ""
    if isinstance(xs, (str, bytes)) or not isinstance(xs, (list, tuple)):
        raise TypeError(f"{name} must be a list or tuple of {length} numbers{hint}, got {xs!r} "
                        f"({type(xs).__name__})")
    if len(xs) != length:
        raise ValueError(f"{name} must hold {length} numbers, got {len(xs)}")
    return tuple(real(x, f"{name}[{i}]") for i, x in enumerate(xs))


def number(x: object, name: str) -> float:
    """Require a finite real number: ints and floats, NumPy's too (not bools); returned as given."""
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise TypeError(f"{name} must be a number, got {x!r} ({type(x).__name__})")
    try:
        ok = math.isfinite(x)
    except OverflowError:  # an int too large for a float
        ok = False
    if not ok:
        raise ValueError(f"{name} must be a finite number below 1e308, got {x}")
    return x


def keywords(fn: Callable[..., Any], names: list[str]) -> None:
    """Require that each of ``names`` is a keyword of ``fn`` and that ``fn`` needs no other
    argument (a figure function and its sliders' names)."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):  # a callable without a signature: nothing to check
        return
    if any(p.kind == p.VAR_KEYWORD for p in params):
        return
    accepted = {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    required = {p.name for p in params if p.default is p.empty
                and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}
    fn_name = getattr(fn, "__name__", "fn")
    if set(names) - accepted:
        raise ValueError(f"params {sorted(set(names) - accepted)} are not keywords of fn "
                         f"{fn_name}, which takes {sorted(accepted)}; name each Param after "
                         f"one of them")
    if required - set(names):
        raise ValueError(f"fn {fn_name} needs {sorted(required - set(names))}, which no Param "
                         f"in params gives; add a Param for each")


def rows(x: object, kind: type, what: str) -> list:
    """Require a list or tuple of ``kind`` named ``rows`` (``what`` says where they come from)."""
    if isinstance(x, (str, bytes)) or not isinstance(x, (list, tuple)):
        raise TypeError(f"rows must be a list of {what}, got {type(x).__name__}")
    for i, r in enumerate(x):
        if not isinstance(r, kind):
            raise TypeError(f"rows[{i}] must be a {kind.__name__} ({what}), got "
                            f"{type(r).__name__}")
    return list(x)
