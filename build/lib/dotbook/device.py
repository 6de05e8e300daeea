"""Where tensors live, and how runs are made reproducible.

The book runs on whatever the reader has. :func:`best` picks CUDA, then Apple's
MPS, then the CPU; the CPU always works. :func:`seed` fixes every random
generator a chapter touches.
"""

from __future__ import annotations

import random

import numpy as np
import torch

__all__ = ["best", "seed", "describe", "generator"]


def best() -> torch.device:
    """The fastest device available: ``cuda`` → ``mps`` → ``cpu``.

    Examples::

        >>> best().type in {"cuda", "mps", "cpu"}
        True
    """
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def seed(value: int = 0) -> int:
    """Seed Python's, NumPy's and PyTorch's generators (all devices) with ``value``.

    Examples::

        >>> _ = seed(7); a = torch.randn(3)
        >>> _ = seed(7); b = torch.randn(3)
        >>> torch.equal(a, b)
        True
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"seed must be a non-negative int, got {value!r}")
    random.seed(value)
    np.random.seed(value % 2**32)
    torch.manual_seed(value)
    return value


def generator(value: int, device: torch.device | str = "cpu") -> torch.Generator:
    """A private generator on ``device`` seeded with ``value`` (leaves the global one alone).

    Examples::

        >>> g = generator(3)
        >>> torch.equal(torch.randn(2, generator=g), torch.randn(2, generator=generator(3)))
        True
    """
    g = torch.Generator(device=torch.device(device))
    g.manual_seed(value)
    return g


def describe(dev: torch.device | None = None) -> str:
    """A one-line description of ``dev`` (default :func:`best`), for chapter headers.

    Examples::

        >>> describe(torch.device("cpu")).startswith("cpu")
        True
    """
    dev = best() if dev is None else torch.device(dev)
    if dev.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(dev)}), torch {torch.__version__}"
    return f"{dev.type}, torch {torch.__version__}"
