"""What every chapter's first cells use: setup, glue, and exercise self-checks."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import torch

from dotbook import _build, _validate
from dotbook import device as _device
from dotbook import exercises as _exercises

__all__ = ["Setup", "Verdict", "SolutionMismatch", "setup", "glue", "check", "solution",
           "answers", "show_errors", "SETUP_CELL", "SETUP_ARGS", "DTYPES"]

#: The first cell of every chapter, rendered by ``tools/sync_notebooks.py`` with
#: the repository URL from ``_config.yml`` (its one home) and ``{ranges}``, the
#: runtime requirements' ranges from ``requirements.txt`` (their one home). Colab
#: lacks dotbook, so the cell installs it, and only what is missing or too old:
#: the ranges are pip constraints, the upgrade strategy is only-if-needed, and the
#: runtime's own torch and numpy are constrained to at least their installed
#: versions (never downgraded). ``DOTBOOK_SOURCE`` overrides where dotbook comes
#: from. ``{setup_args}`` is ``seed=0`` unless the chapter's stored cell asks for
#: a dtype, e.g. ``seed=0, dtype="float32"`` (the sync tool keeps that choice).
#: :func:`setup` then stops with one line if pip replaced a module the runtime
#: had already imported (:func:`dotbook.colab.restart_note`).
SETUP_CELL = '''\
# Setup: Colab has no dotbook yet, so install it; locally `make` already did.
import importlib
import importlib.metadata
import importlib.util
import os
import subprocess
import sys
import tempfile

if importlib.util.find_spec("dotbook") is None:
    source = os.environ.get(
        "DOTBOOK_SOURCE",
        "git+{repository_url}",
    )
    # install only what is missing or too old (requirements.txt's ranges) ...
    ranges = [
{ranges}
    ]
    # ... and never downgrade the runtime's own torch or numpy
    keep = [
        f"{{p}}>={{importlib.metadata.version(p).split('+')[0]}}"
        for p in ("torch", "numpy")
        if importlib.util.find_spec(p)
    ]
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as constraints:
        constraints.write("\\n".join(ranges + keep))
    pip = [sys.executable, "-m", "pip", "install", "-q"]
    only_if_needed = ["--upgrade-strategy", "only-if-needed", "-c", constraints.name]
    subprocess.run([*pip, *only_if_needed, source], check=True)
    importlib.invalidate_caches()
from dotbook import notebook

book = notebook.setup({setup_args})'''

#: The setup arguments the sync tool keeps: a seed, and optionally a dtype by name.
SETUP_ARGS = r'seed=\d+(, dtype="(float64|float32|float16|bfloat16)")?'
#: The dtypes a chapter may compute in (:func:`setup`).
DTYPES: tuple[torch.dtype, ...] = (torch.float64, torch.float32, torch.float16, torch.bfloat16)
#: Seeds and generator offsets stay below this (NumPy takes seeds < 2**32).
MAX_SEED = 2**32 - 1


@dataclass(frozen=True)
class Setup:
    """What :func:`setup` chose: the device and dtype a chapter computes in, and the seed.

    Every tensor a chapter makes is created with ``device=book.device,
    dtype=book.dtype``, and every generator with :meth:`generator`.

    Examples::

        >>> book = Setup(device=torch.device("cpu"), dtype=torch.float64, seed=5)
        >>> torch.equal(torch.randn(3, generator=book.generator(1), dtype=book.dtype),
        ...             torch.randn(3, generator=book.generator(1), dtype=book.dtype))
        True
        >>> book.generator(2).initial_seed()
        7
    """

    device: torch.device
    dtype: torch.dtype
    seed: int

    def generator(self, k: int = 0) -> torch.Generator:
        """A fresh ``torch.Generator`` on :attr:`device`, seeded ``seed + k``.

        One ``k`` per independent stream in a chapter (``book.generator(1)``,
        ``book.generator(2)``, ...): each cell that draws can be re-run alone
        and gives the same numbers.
        """
        k = _validate.integer(k, "k", at_least=0, at_most=MAX_SEED)
        return _device.generator(self.seed + k, self.device)

    def __str__(self) -> str:
        return (f"dotbook on {_device.describe(self.device)}; "
                f"{str(self.dtype).removeprefix('torch.')}; seed {self.seed}")


def _as_dtype(dtype: object) -> torch.dtype:
    """One of :data:`DTYPES`, given as a ``torch.dtype`` or by name (``"float32"``)."""
    names = [_device.dtype_name(d) for d in DTYPES]
    if not isinstance(dtype, (str, torch.dtype)):
        raise TypeError(f"dtype must be a torch dtype or its name, one of {names}, got "
                        f"{dtype!r} ({type(dtype).__name__}); pass dtype=torch.float64 or "
                        f"dtype=\"float32\"")
    named = getattr(torch, dtype, None) if isinstance(dtype, str) else dtype
    if named not in DTYPES:
        raise ValueError(f"dtype {dtype!r} is not a dtype a chapter computes in; use one of "
                         f"{names} (a floating-point dtype: integers cannot hold the book's "
                         f"angles and averages)")
    return named


def setup(seed: int = 0, dtype: torch.dtype | str = torch.float64) -> Setup:
    """Seed everything, pick the device for ``dtype``, and prepare plotly for where we run.

    The device is :func:`dotbook.device.best` ``(dtype)``: CUDA, else MPS if it
    can hold ``dtype`` (it has no float64), else the CPU. When a faster device
    was skipped for lack of ``dtype``, one line says so.

    First, when pip (the setup cell) replaced plotly, ipywidgets or anywidget
    after the runtime had imported them, it stops with one line asking for a
    restart (:class:`dotbook.colab.RestartNeeded`). In the book build the
    plotly renderer emits plain HTML (see :mod:`dotbook._build`); in Colab the
    custom widget manager is switched on (twins use :class:`dotbook.colab.ColabFace`).

    Args:
        seed: seeds Python, NumPy and torch, and is the base of :meth:`Setup.generator`.
        dtype: the floating-point dtype the chapter computes in, one of
            :data:`DTYPES` (a ``torch.dtype`` or its name, ``"float32"``); an integer
            or complex dtype is refused.

    Examples::

        >>> setup(0, "int64")
        Traceback (most recent call last):
        ...
        ValueError: dtype 'int64' is not a dtype a chapter computes in; use one of ...
    """
    from dotbook import colab

    seed = _validate.integer(seed, "seed", at_least=0, at_most=MAX_SEED)
    dtype = _as_dtype(dtype)
    colab.restart_note()  # before anything imports plotly: one line if a restart is needed
    _device.seed(seed)
    _build.prepare()
    try:  # Colab renders third-party widgets only after this call
        from google.colab import output  # type: ignore[import-not-found]

        output.enable_custom_widget_manager()
    except ImportError:
        pass
    chosen = Setup(device=_device.best(dtype), dtype=dtype, seed=seed)
    print(chosen)
    for dev in _device.skipped(dtype):
        print(f"note: {dev.type} has no {str(dtype).removeprefix('torch.')}, so this chapter "
              f"computes on {chosen.device.type}")
    return chosen


def glue(name: str, value: Any, fmt: str | None = None) -> Any:
    """Publish ``value`` to the prose as ``{glue:text}`name``` (myst-nb), formatted by ``fmt``.

    Outside a book build (no myst-nb, e.g. Colab) it only returns ``value``, so
    the chapter still runs.

    Examples::

        >>> glue("answer", 0.12345, ".2f")
        0.12345
    """
    _validate.text(name, "name")
    if fmt is not None and not isinstance(fmt, str):
        raise TypeError(f"fmt must be a format spec such as '.3f' or ',', or None, got {fmt!r} "
                        f"({type(fmt).__name__})")
    try:
        shown = format(value, fmt) if fmt else value
    except (TypeError, ValueError, OverflowError) as error:
        raise ValueError(f"fmt {fmt!r} cannot format value {value!r} "
                         f"({type(value).__name__}): {error}; pass a number with a number "
                         f"format ('.3f', ',') or fmt=None") from None
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


def check(name: str, answer: Any, expected: float | None = None, *, rtol: float = 1e-6,
          atol: float = 1e-9, why: str = "") -> Verdict:
    """Tell the reader whether an exercise answer is right, and why not.

    With only an exercise id, ``check("ch01-ex1", answer)`` looks the expected
    value, tolerance and hint up by id: the chapter's solution cell registers
    them (:func:`solution`), and so does the encoded answers cell of a reader
    notebook (:func:`answers`). No answer is written in the exercise cell.
    The older form with ``expected`` (and ``rtol``, ``atol``, ``why``) still works.

    Args:
        name: the exercise id (``"ch01-ex1"``), or a name to print with ``expected``.
        answer: the reader's answer (a number, a 0-d tensor, a short vector, or a
            choice's key); ``None`` means "not attempted yet".
        expected: the correct value, for the older form; omit it to look it up.
        rtol, atol: how close counts as right (older form).
        why: a hint printed when the answer is wrong (older form).

    Returns:
        a :class:`Verdict`, true when the answer is right.

    Examples::

        >>> bool(check("ex", 0.5, 0.5))
        ex: correct (0.5).
        True
        >>> bool(check("ex", None, 0.5))
        ex: not answered yet. Replace None with your answer and run the cell again.
        False
        >>> _ = solution("ch99-ex1", 2.0, expected=2.0, hint="1 + 1", title="Exercise 1")
        >>> bool(check("ch99-ex1", 3))
        Exercise 1: not yet: 3 is not the answer. Hint: 1 + 1
        False
    """
    _validate.text(name, "name")
    if expected is None:
        verdict = _judge_by_id(name, answer)
    else:
        expected = _number(expected, "expected")
        rtol = _validate.in_range(rtol, "rtol", 0.0, 1.0)
        atol = _validate.in_range(atol, "atol", 0.0, math.inf)
        if not isinstance(why, str):
            raise TypeError(f"why must be a str (a hint, '' for none), got {type(why).__name__}")
        verdict = _judge(name, answer, expected, rtol=rtol, atol=atol, why=why)
    print(verdict.message)
    return verdict


def _judge_by_id(exercise_id: str, answer: Any) -> Verdict:
    found = _exercises.lookup(exercise_id)
    name = found.name if found else exercise_id
    if answer is None:
        return Verdict(False, f"{name}: not answered yet. Replace None with your answer and "
                              f"run the cell again.")
    if found is None:
        return Verdict(False, f"{exercise_id}: no expected value is loaded for this exercise. "
                              f"Run the cell titled 'Answers for the self-checks' above it "
                              f"(reader notebooks have one), then run this cell again.")
    ok, message = _exercises.judge(found, answer)
    return Verdict(ok, f"{name}: {message}")


class SolutionMismatch(AssertionError, ValueError):
    """A solution cell's ``answer`` and ``expected`` disagree: an ``AssertionError``
    (the chapter's claim failed, so its build fails) that is also a ``ValueError``
    (two arguments that cannot both be right)."""


def _number(x: object, name: str) -> float:
    """A finite number: an int, a float or a one-element tensor."""
    if isinstance(x, torch.Tensor):
        if x.numel() != 1:
            raise ValueError(f"{name} must be one number, got a tensor of shape "
                             f"{tuple(x.shape)}; pass t.item() of the entry you mean")
        x = x.item()
    return _validate.real(x, name)


def _like_answer(x: object, name: str, options: object) -> None:
    """Check ``x`` as an exercise's value: a choice key, a vector or a number."""
    if isinstance(options, dict):
        _validate.choice(x, name, [str(k) for k in options])
    elif isinstance(x, (list, tuple)) or isinstance(x, torch.Tensor) and x.ndim == 1:
        values = x.tolist() if isinstance(x, torch.Tensor) else x
        if not values:
            raise ValueError(f"{name} is empty; pass a number or a non-empty vector")
        for i, v in enumerate(values):
            _number(v, f"{name}[{i}]")
    else:
        _number(x, name)


def solution(exercise_id: str, answer: Any, *, expected: Any, rtol: float = 1e-6,
             atol: float = 1e-9, hint: str = "", title: str = "",
             options: dict[str, str] | None = None, unit: str = "") -> Verdict:
    """Declare an exercise once, in its hidden solution cell, and assert its answer.

    Asserts that the computed ``answer`` is ``expected`` within the tolerance
    (:class:`SolutionMismatch`, an ``AssertionError``, otherwise), then registers the exercise for
    :func:`check` and glues its record (:mod:`dotbook.exercises`): the book's
    answer box and the reader notebooks read that record. Prints nothing, so
    no answer appears under the cell.

    Args:
        exercise_id: ``"chNN-exK"``.
        answer: the value the solution computed (this is what the page checks against).
        expected: the author's independent value (a literal or a formula).
        rtol, atol: how close a reader's answer must be (``math.isclose``).
        hint: one sentence shown after a wrong try.
        title: the name the notebook prints ("Exercise 1").
        options: for a choice exercise, ``{key: label}``; ``answer`` is a key.
        unit: what the number is in, shown next to the page's input box.

    Examples::

        >>> bool(solution("ch99-ex2", 0.1 + 0.2, expected=0.3, rtol=1e-9))
        True
    """
    _like_answer(answer, "answer", options)
    _like_answer(expected, "expected", options)
    record = _exercises.make(exercise_id, answer, rtol=rtol, atol=atol, hint=hint,
                             title=title, options=options, unit=unit)
    ok, message = _exercises.judge(record, expected)
    if not ok:
        raise SolutionMismatch(f"{record.name}: the solution computed {record.value!r} (answer), "
                               f"but expected = {expected!r} does not match it within "
                               f"rtol={rtol}, atol={atol}")
    _exercises.register(record)
    glue(_exercises.glue_key(exercise_id), json.dumps(asdict(record), ensure_ascii=False))
    return Verdict(True, f"{record.name}: {message}")


def answers(encoded: str) -> None:
    """Load a reader notebook's encoded answer records, for :func:`check`. Prints nothing.

    Examples::

        >>> answers(_exercises.encode([_exercises.make("ch99-ex3", 7.0)]))
        >>> bool(check("ch99-ex3", 7))
        ch99-ex3: correct (7).
        True
    """
    if not isinstance(encoded, str):
        raise TypeError(f"encoded must be the str of the reader notebook's answers cell, got "
                        f"{type(encoded).__name__}")
    try:
        records = _exercises.decode(encoded)
    except ValueError:
        raise ValueError("encoded is not an answers cell's text (base64 of exercise JSON); copy "
                         "the cell 'Answers for the self-checks' again from the reader "
                         "notebook") from None
    for record in records if isinstance(records, list) else [records]:
        _exercises.register(record)


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
    except (TypeError, ValueError, OverflowError):
        return Verdict(False, f"{name}: expected a number (below 1e308), got {answer!r}."[:300])
    if math.isclose(got, expected, rel_tol=rtol, abs_tol=atol):
        return Verdict(True, f"{name}: correct ({got:.6g}).")
    return Verdict(False, f"{name}: not quite: got {got:.6g}, expected {expected:.6g}. "
                          f"{why}".rstrip())
