"""Torch quirks the package hides from readers, in one place."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator


@contextlib.contextmanager
def quiet_forward_mode() -> Iterator[None]:
    """Hide the ``torch.jit.script`` deprecation that torch's own forward-mode
    decompositions raise on first use; it is torch-internal and says nothing to a reader."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*torch\.jit\.script.*deprecated",
                                category=DeprecationWarning)
        yield
