"""What every chapter's first cells use: setup, glue, and exercise self-checks."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from dotbook import device as _device
from dotbook.explore import building_book

__all__ = ["Setup", "Verdict", "setup", "glue", "check", "show_errors", "SETUP_CELL"]

#: The first cell of every chapter, rendered by ``tools/sync_notebooks.py`` with
#: the repository URL from ``_config.yml`` (its one home). Colab lacks dotbook,
#: so the cell installs it; ``DOTBOOK_SOURCE`` overrides where from.
SETUP_CELL = '''\
# Setup: Colab has no dotbook yet, so install it; locally `make` already did.
import importlib, importlib.util, os, subprocess, sys
if importlib.util.find_spec("dotbook") is None:
    source = os.environ.get("DOTBOOK_SOURCE", "git+{repository_url}")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", source], check=True)
    importlib.invalidate_caches()
from dotbook import notebook
book = notebook.setup(seed=0)'''


@dataclass(frozen=True)
class Setup:
    """What :func:`setup` chose: the device every chapter computes on, and the seed."""

    device: torch.device
    seed: int

    def __str__(self) -> str:
        return f"dotbook on {_device.describe(self.device)}; seed {self.seed}"


def setup(seed: int = 0) -> Setup:
    """Seed everything, pick the device, and prepare plotly for where we run.

    In the book build the plotly renderer emits plain HTML (see
    :func:`dotbook.plots.use_book_renderer`); in Colab the custom widget
    manager is switched on so the live sliders work.
    """
    from dotbook import plots

    _device.seed(seed)
    if building_book():
        plots.use_book_renderer()
    try:  # Colab renders third-party widgets only after this call
        from google.colab import output  # type: ignore[import-not-found]

        output.enable_custom_widget_manager()
    except ImportError:
        pass
    chosen = Setup(device=_device.best(), seed=seed)
    print(chosen)
    return chosen


def glue(name: str, value: Any, fmt: str | None = None) -> Any:
    """Publish ``value`` to the prose as ``{glue:text}`name``` (myst-nb), formatted by ``fmt``.

    Outside a book build (no myst-nb, e.g. Colab) it only returns ``value``, so
    the chapter still runs.

    Examples::

        >>> glue("answer", 0.12345, ".2f")
        0.12345
    """
    shown = format(value, fmt) if fmt else value
    try:
        from myst_nb import glue as _glue
    except ImportError:
        return value
    from IPython import get_ipython

    if get_ipython() is not None:
        _glue(name, shown, display=False)
    return value


def show_errors(*calls: Callable[[], object]) -> None:
    """Run each call and print the error it raises, as a chapter shows bad input.

    A call that raises no ``ValueError``/``TypeError`` fails with ``AssertionError``.

    Examples::

        >>> show_errors(lambda: int("x"))
        ValueError: invalid literal for int() with base 10: 'x'
    """
    for call in calls:
        try:
            call()
        except (ValueError, TypeError) as error:
            print(f"{type(error).__name__}: {error}")
        else:
            raise AssertionError(f"{call} raised no ValueError or TypeError")


@dataclass(frozen=True)
class Verdict:
    """The result of :func:`check`: true when right. Its message is printed once,
    by :func:`check`; a notebook shows nothing more for it."""

    correct: bool
    message: str

    def __bool__(self) -> bool:
        return self.correct

    def _ipython_display_(self) -> None:  # the message was already printed
        pass


def check(name: str, answer: Any, expected: float, *, rtol: float = 1e-6,
          atol: float = 1e-9, why: str = "") -> Verdict:
    """Tell the reader whether an exercise answer is right, and why not.

    Args:
        name: the exercise, as printed.
        answer: the reader's answer (a number or a 0-d tensor); ``None`` means
            "not attempted yet".
        expected: the correct value.
        rtol, atol: how close counts as right.
        why: a hint printed when the answer is wrong.

    Returns:
        a :class:`Verdict`, true when the answer is right (so a solution cell
        can ``assert check(...)``).

    Examples::

        >>> bool(check("ex", 0.5, 0.5))
        ex: correct (0.5).
        True
        >>> bool(check("ex", None, 0.5))
        ex: not answered yet. Replace None with your answer and run the cell again.
        False
    """
    verdict = _judge(name, answer, expected, rtol=rtol, atol=atol, why=why)
    print(verdict.message)
    return verdict


def _judge(name: str, answer: Any, expected: float, *, rtol: float, atol: float,
           why: str) -> Verdict:
    if answer is None:
        return Verdict(False, f"{name}: not answered yet. Replace None with your answer and "
                              f"run the cell again.")
    if isinstance(answer, torch.Tensor):
        if answer.numel() != 1:
            return Verdict(False, f"{name}: expected one number, got a tensor of shape "
                                  f"{tuple(answer.shape)}.")
        answer = answer.item()
    try:
        got = float(answer)
    except (TypeError, ValueError):
        return Verdict(False, f"{name}: expected a number, got {answer!r}.")
    if math.isclose(got, expected, rel_tol=rtol, abs_tol=atol):
        return Verdict(True, f"{name}: correct ({got:.6g}).")
    return Verdict(False, f"{name}: not quite: got {got:.6g}, expected {expected:.6g}. "
                          f"{why}".rstrip())
