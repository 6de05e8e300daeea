"""Input checks shared by every module: fail early, say what to pass instead."""

from __future__ import annotations

import math
from collections.abc import Sequence

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


def positive_int(x: object, name: str) -> int:
    """Require an integer >= 1 (bools are refused)."""
    if isinstance(x, bool) or not isinstance(x, int):
        raise TypeError(f"{name} must be an int >= 1, got {x!r} ({type(x).__name__})")
    if x < 1:
        raise ValueError(f"{name} must be >= 1, got {x}")
    return x


def in_range(x: object, name: str, lo: float, hi: float) -> float:
    """Require a finite real number with lo <= x <= hi."""
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        raise TypeError(f"{name} must be a number in [{lo}, {hi}], got {x!r}")
    if not (math.isfinite(x) and lo <= x <= hi):
        raise ValueError(f"{name} must lie in [{lo}, {hi}], got {x}")
    return float(x)


def one_of(x: object, name: str, allowed: Sequence[object]) -> object:
    """Require x to be one of the allowed values."""
    if x not in allowed:
        raise ValueError(f"{name} must be one of {list(allowed)}, got {x!r}")
    return x
