"""The book's interactive figures: one module per chapter, each a set of pure
``fn(**slider values) -> figure dict`` functions for :class:`dotbook.explore.Twin`.

Computation lives in the concept modules (``geometry``, ``highdim``, ...);
these modules only turn its results into pictures, on the one idiom of
:func:`dotbook.plots.skeleton` and :func:`dotbook.plots.assemble`.

Every twin factory (a zero-argument function returning a ``Twin``) is
registered with ``@register`` (the chapter comes from the module name);
:func:`all_twins` imports every ``chNN`` module of this package and returns them all, so that
``tests/test_figures.py`` and ``tools/bench.py`` cover a new chapter's
figures the moment they are registered.

Examples::

    >>> twins = all_twins()
    >>> "ch01.angle_twin" in twins
    True
    >>> twins["ch01.angle_twin"]().params[0].name
    'theta_deg'
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from dotbook.explore import Param, Twin

__all__ = ["all_twins", "digit_label", "digit_param", "register"]

_REGISTRY: dict[str, Callable[[], Twin]] = {}
#: A chapter's figure module: ``chNN``, or ``chNN_part`` when one would be too long to read.
_MODULE = r"ch\d\d(_[a-z]+)?"
_F = TypeVar("_F", bound=Callable[[], "Twin"])


def register(factory: _F) -> _F:
    """Decorator: record a zero-argument twin factory under ``"chNN.name"``.

    The chapter comes from the module the factory is defined in
    (``dotbook.figures.ch07`` → ``"ch07"``), so it is never written twice. The
    factory is returned unchanged. Registering a second factory under the same
    key from another module is an error; re-registering from the same module (a
    reload) replaces the entry.

    Examples::

        >>> def demo_twin():
        ...     ...
        >>> demo_twin.__module__ = "dotbook.figures.ch99"
        >>> register(demo_twin) is demo_twin
        True
        >>> _REGISTRY.pop("ch99.demo_twin") is demo_twin
        True
    """
    chapter = factory.__module__.rpartition(".")[2][:4]  # "ch10" of ch10 or ch10_training
    if not re.fullmatch(_MODULE, factory.__module__.rpartition(".")[2]):
        raise ValueError(f"register twins in a chapter's figure module (dotbook.figures.chNN), "
                         f"not in {factory.__module__}")
    key = f"{chapter}.{factory.__name__}"
    old = _REGISTRY.get(key)
    if old is not None and getattr(old, "__module__", None) != factory.__module__:
        raise ValueError(f"twin {key!r} is registered by {old.__module__} and "
                         f"{factory.__module__}; register it in its chapter's module")
    _REGISTRY[key] = factory
    return factory


def all_twins() -> dict[str, Callable[[], Twin]]:
    """Every registered twin factory, keyed ``"chNN.factory_name"``, sorted.

    Imports every ``chNN`` module of this package first (``pkgutil``), so a
    new chapter's figures appear without being listed anywhere.
    """
    for info in pkgutil.iter_modules(__path__):
        if re.fullmatch(_MODULE, info.name):
            importlib.import_module(f"{__name__}.{info.name}")
    return dict(sorted(_REGISTRY.items()))


def digit_label(digit: int, index: int) -> str:
    """What a test example of the digits is called, on its button and in its figure's
    title: ``"7 (test example 12)"``, the digit it shows, then where it is.

    Examples::

        >>> digit_label(7, 12)
        '7 (test example 12)'
    """
    return f"{int(digit)} (test example {int(index)})"


def digit_param(y: Sequence[int], grid: Sequence[int]) -> Param:
    """The control over test examples of the digits, labelled by what each shows:
    :func:`digit_label` (Chapters 5 and 12). ``y`` holds the test labels,
    ``grid`` the example indices the static face offers; the first is the default."""
    from dotbook.explore import Param

    return Param("index", "digit", choices=[(i, digit_label(y[i], i)) for i in grid],
                 default=grid[0])
