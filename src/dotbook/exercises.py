"""Exercises answered twice: in the notebook and on the page (every chapter).

One exercise is declared once, in its chapter's hidden solution cell::

    notebook.solution("ch01-ex1", answer_1, expected=45.0, rtol=1e-6,
                      hint="cos θ = a·b / (‖a‖‖b‖)", title="Exercise 1")

That call asserts the computed ``answer_1`` against the author's ``expected``
within the tolerance, and glues the :class:`Exercise` (computed value,
tolerance, hint, kind, labelled options) under :func:`glue_key` ``(id)``. From
that one glued record

1. the book's HTML answer box (``book/_ext/dotbook_answers.py``) checks what a
   reader types, in the browser, with the same rule as :func:`judge`;
2. the reader notebooks (``book/_ext/reader_notebooks.py``) carry the records,
   encoded, so that ``notebook.check("ch01-ex1", answer_1)`` finds them by id;
3. the solution cell itself asserted the value.

"Close" is :func:`math.isclose`: ``|a - e| <= max(rtol·max(|a|, |e|), atol)``,
per entry for a vector; a choice must be one of the option keys, exactly.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import torch

from dotbook import _validate

__all__ = ["Exercise", "GLUE_PREFIX", "glue_key", "make", "judge", "encode", "decode",
           "register", "lookup", "known"]

#: Glue keys of exercise records start with this; the rest is the exercise id.
GLUE_PREFIX = "dotbook_exercise__"
KINDS = ("number", "vector", "choice")
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_MAX_ENTRIES = 64  # a "short vector": more entries belong in a code exercise, not a box


@dataclass(frozen=True)
class Exercise:
    """What a page and a notebook need to check one exercise.

    Attributes:
        id: ``chNN-exK`` (lower case, digits, hyphens), unique in the book.
        kind: ``"number"``, ``"vector"`` or ``"choice"``.
        value: the computed answer: a float, a list of floats, or an option key.
        rtol, atol: how close counts as right (see the module docstring).
        hint: one sentence shown after a wrong try.
        title: how the notebook names it ("Exercise 1").
        options: for a choice, ``[[key, label], ...]`` in display order.
        unit: what the number is in ("degrees"), shown next to the input box.
    """

    id: str
    kind: str
    value: Any
    rtol: float = 1e-6
    atol: float = 1e-9
    hint: str = ""
    title: str = ""
    options: list[list[str]] = field(default_factory=list)
    unit: str = ""

    @property
    def name(self) -> str:
        return self.title or self.id


def glue_key(exercise_id: str) -> str:
    """The glue key of an exercise's record.

    Examples::

        >>> glue_key("ch01-ex1")
        'dotbook_exercise__ch01-ex1'
    """
    if not isinstance(exercise_id, str):
        raise TypeError(f"exercise_id must be a str such as 'ch01-ex1', got "
                        f"{type(exercise_id).__name__}")
    return GLUE_PREFIX + exercise_id


def _number(x: Any, name: str) -> float:
    if isinstance(x, torch.Tensor):
        if x.numel() != 1:
            raise ValueError(f"{name} must be one number, got a tensor of shape {tuple(x.shape)}")
        x = x.item()
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        raise TypeError(f"{name} must be a number, got {type(x).__name__}")
    try:
        return float(x)
    except OverflowError:
        raise ValueError(f"{name} is too large for a float; pass a number below 1e308") from None


def _numbers(x: Any, name: str) -> list[float]:
    if isinstance(x, torch.Tensor):
        if x.ndim != 1:
            raise ValueError(f"{name} must be a vector (1-D), got shape {tuple(x.shape)}")
        x = x.tolist()
    if not isinstance(x, Sequence) or isinstance(x, str) or not x:
        raise TypeError(f"{name} must be a non-empty list or 1-D tensor of numbers")
    _validate.integer(len(x), f"len({name})", at_most=_MAX_ENTRIES)
    return [_number(v, f"{name}[{i}]") for i, v in enumerate(x)]


def make(exercise_id: str, value: Any, *, rtol: float = 1e-6, atol: float = 1e-9,
         hint: str = "", title: str = "", options: Mapping[str, str] | None = None,
         unit: str = "") -> Exercise:
    """An :class:`Exercise`, its kind read off ``value`` (or ``options``), validated.

    Examples::

        >>> make("ch01-ex1", torch.tensor(45.0), rtol=1e-6).kind
        'number'
        >>> make("ch01-ex9", "b", options={"a": "aligned", "b": "opposed"}).options
        [['a', 'aligned'], ['b', 'opposed']]
    """
    if not isinstance(exercise_id, str) or not _ID.match(exercise_id):
        raise ValueError(f"exercise_id {exercise_id!r} must look like 'ch01-ex1' "
                         f"(lower-case letters, digits, hyphens)")
    for text, name in ((hint, "hint"), (title, "title"), (unit, "unit")):
        if not isinstance(text, str):
            raise TypeError(f"{name} must be a str ('' for none), got {type(text).__name__}")
    rtol = _validate.in_range(rtol, "rtol", 0.0, 1.0)
    atol = _validate.in_range(atol, "atol", 0.0, math.inf)
    if options is not None:
        if not isinstance(options, Mapping):
            raise TypeError(f"options must be a dict {{key: text}}, got {type(options).__name__}")
        pairs = [[str(k), str(v)] for k, v in dict(options).items()]
        _validate.integer(len(pairs), "len(options)", at_least=2, at_most=12)
        _validate.choice(value, "value", [k for k, _ in pairs])
        return Exercise(exercise_id, "choice", value, rtol, atol, hint, title, pairs, unit)
    if isinstance(value, torch.Tensor) and value.ndim == 1 or isinstance(value, (list, tuple)):
        return Exercise(exercise_id, "vector", _numbers(value, "value"), rtol, atol, hint,
                        title, [], unit)
    got = _number(value, "value")
    if not math.isfinite(got):
        raise ValueError(f"value must be finite, got {got}")
    return Exercise(exercise_id, "number", got, rtol, atol, hint, title, [], unit)


def _close(got: float, want: float, rtol: float, atol: float) -> bool:
    return math.isclose(got, want, rel_tol=rtol, abs_tol=atol)


def _shown(value: Any) -> str:
    if isinstance(value, list):
        return "(" + ", ".join(f"{v:.6g}" for v in value) + ")"
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def judge(exercise: Exercise, answer: Any) -> tuple[bool, str]:
    """Whether ``answer`` is right, and the sentence that says so (no expected value in it).

    Examples::

        >>> judge(make("ch01-ex1", 45.0, rtol=1e-6, hint="cos θ = 1/√2"), 45.00001)
        (True, 'correct (45).')
        >>> judge(make("ch01-ex1", 45.0, rtol=1e-6, hint="cos θ = 1/√2"), 60)
        (False, 'not yet: 60 is not the answer. Hint: cos θ = 1/√2')
    """
    if not isinstance(exercise, Exercise):
        raise TypeError(f"exercise must be an Exercise (from make), got {type(exercise).__name__}")
    hint = f" Hint: {exercise.hint}" if exercise.hint else ""
    wrong = "not yet: {} is not the answer." + hint
    if exercise.kind == "choice":
        if answer == exercise.value:
            return True, f"correct ({answer})."
        keys = [k for k, _ in exercise.options]
        if answer not in keys:
            return False, f"expected one of {keys}, got {answer!r}."
        return False, wrong.format(answer)
    try:
        if exercise.kind == "vector":
            got = _numbers(answer, "answer")
        else:
            got = _number(answer, "answer")
    except (TypeError, ValueError) as error:
        return False, f"{error}."
    if exercise.kind == "vector":
        if len(got) != len(exercise.value):
            return False, f"expected {len(exercise.value)} numbers, got {len(got)}."
        pairs = zip(got, exercise.value, strict=True)
        ok = all(_close(g, w, exercise.rtol, exercise.atol) for g, w in pairs)
    else:
        ok = _close(got, exercise.value, exercise.rtol, exercise.atol)
    return (True, f"correct ({_shown(got)}).") if ok else (False, wrong.format(_shown(got)))


def encode(records: Sequence[Exercise] | Exercise) -> str:
    """Base64 of the JSON of one record or a list of them: no answer in plain sight.

    Examples::

        >>> decode(encode(make("ch01-ex1", 45.0))).value
        45.0
    """
    if isinstance(records, Exercise):
        payload: Any = asdict(records)
    else:
        if not isinstance(records, (list, tuple)) or not all(
                isinstance(r, Exercise) for r in records):
            raise TypeError(f"records must be an Exercise or a list of them, got "
                            f"{type(records).__name__}")
        payload = [asdict(r) for r in records]
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return base64.b64encode(text.encode("utf8")).decode("ascii")


def decode(text: str) -> Exercise | list[Exercise]:
    """The inverse of :func:`encode`."""
    if not isinstance(text, str):
        raise TypeError(f"text must be the str that encode returned, got {type(text).__name__}")
    try:
        payload = json.loads(base64.b64decode(text.encode("ascii"), validate=True).decode("utf8"))
        if isinstance(payload, list):
            return [Exercise(**p) for p in payload]
        return Exercise(**payload)
    except (ValueError, TypeError, UnicodeError, binascii.Error):
        raise ValueError("text is not what encode returned (base64 of exercise JSON)") from None


_KNOWN: dict[str, Exercise] = {}


def register(exercise: Exercise) -> Exercise:
    """Remember an exercise in this Python session (what :func:`lookup` finds).

    Examples::

        >>> register(make("ch01-ex1", 45.0)).id
        'ch01-ex1'
    """
    if not isinstance(exercise, Exercise):
        raise TypeError(f"exercise must be an Exercise (from make), got {type(exercise).__name__}")
    _KNOWN[exercise.id] = exercise
    return exercise


def lookup(exercise_id: str) -> Exercise | None:
    """The exercise registered under ``exercise_id`` in this session, if any."""
    if not isinstance(exercise_id, str):
        raise TypeError(f"exercise_id must be a str such as 'ch01-ex1', got "
                        f"{type(exercise_id).__name__}")
    return _KNOWN.get(exercise_id)


def known() -> list[str]:
    """The ids registered in this session, sorted."""
    return sorted(_KNOWN)
