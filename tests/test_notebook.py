"""dotbook.notebook's exercise checks and dotbook.exercises (issue 25), and the tool that
converts a chapter's exercises to the one-source form (tools/convert_exercises.py)."""

from __future__ import annotations

import importlib.util
import json
import math

import pytest
import torch
from support import ROOT

from dotbook import exercises, notebook


def _tool():
    spec = importlib.util.spec_from_file_location("convert_exercises",
                                                  ROOT / "tools" / "convert_exercises.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_check_by_id_uses_what_the_solution_declared(capsys):
    answer = torch.tensor(7 / math.sqrt(2), dtype=torch.float64)
    notebook.solution("ch98-ex1", answer, expected=4.949747468305833, rtol=1e-9,
                      hint="x·w / ‖w‖", title="Exercise 1")
    assert capsys.readouterr().out == "", "a solution prints nothing (no answer under it)"
    assert not notebook.check("ch98-ex1", None)
    assert "Exercise 1: not answered yet. Replace None" in capsys.readouterr().out
    assert notebook.check("ch98-ex1", 4.9497474683)
    assert notebook.check("ch98-ex1", torch.tensor(7 / math.sqrt(2), dtype=torch.float64))
    capsys.readouterr()
    verdict = notebook.check("ch98-ex1", 4.95)
    assert not verdict and verdict.message.endswith("Hint: x·w / ‖w‖")
    assert "4.9497" not in capsys.readouterr().out, "a wrong try does not print the answer"


def test_check_of_an_unknown_id_says_what_to_run(capsys):
    assert not notebook.check("ch98-nothing", 1.0)
    assert "Answers for the self-checks" in capsys.readouterr().out


def test_solution_asserts_against_the_expected_value():
    with pytest.raises(AssertionError, match="Exercise 2: the solution computed 3.0"):
        notebook.solution("ch98-ex2", 3.0, expected=2.0, rtol=1e-9, title="Exercise 2")
    assert exercises.lookup("ch98-ex2") is None, "a failed solution registers nothing"


def test_the_older_form_with_an_expected_value_still_works(capsys):
    assert notebook.check("Exercise 1", 45.0, 45.0, rtol=1e-6)
    assert not notebook.check("Exercise 1", 44.0, 45.0, why="cos θ = 1/√2.")
    assert "expected 45" in capsys.readouterr().out


def test_tolerance_is_math_isclose():
    record = exercises.make("ch98-ex3", 100.0, rtol=1e-3, atol=0.0)
    assert exercises.judge(record, 100.099)[0] and not exercises.judge(record, 100.101)[0]
    exact = exercises.make("ch98-ex4", 2048.0, rtol=0.0, atol=0.0)
    assert exercises.judge(exact, 2048)[0] and not exercises.judge(exact, 2048.0001)[0]
    near_zero = exercises.make("ch98-ex5", 0.0, rtol=0.0, atol=1e-12)
    assert exercises.judge(near_zero, 5e-13)[0] and not exercises.judge(near_zero, 2e-12)[0]


def test_vectors_and_choices():
    vec = exercises.make("ch98-ex6", torch.tensor([1.0, -2.0, 0.5]), rtol=1e-6)
    assert vec.kind == "vector" and vec.value == [1.0, -2.0, 0.5]
    assert exercises.judge(vec, [1.0, -2.0, 0.5])[0]
    ok, message = exercises.judge(vec, [1.0, -2.0])
    assert not ok and "expected 3 numbers, got 2" in message
    pick = exercises.make("ch98-ex7", "neg", options={"pos": "positive", "neg": "negative"})
    assert pick.kind == "choice" and exercises.judge(pick, "neg")[0]
    assert not exercises.judge(pick, "pos")[0]
    assert "expected one of ['pos', 'neg']" in exercises.judge(pick, "up")[1]


def test_bad_declarations_fail_early_naming_the_argument():
    with pytest.raises(ValueError, match="exercise_id 'Exercise 1'"):
        exercises.make("Exercise 1", 1.0)
    with pytest.raises(ValueError, match="unknown value 'maybe'"):
        exercises.make("ch98-ex8", "maybe", options={"a": "yes", "b": "no"})
    with pytest.raises(ValueError, match="finite"):
        exercises.make("ch98-ex8", math.inf)
    with pytest.raises(ValueError, match="len\\(value\\)"):
        exercises.make("ch98-ex8", torch.zeros(10_000))
    with pytest.raises(ValueError, match="rtol"):
        exercises.make("ch98-ex8", 1.0, rtol=-1.0)
    with pytest.raises(TypeError, match="value must be a number"):
        exercises.make("ch98-ex8", object())


def test_encoded_records_hide_the_value_and_load_into_check(capsys):
    records = [exercises.make("ch98-ex9", 11.313708498984761, hint="√128", title="Exercise 9")]
    encoded = exercises.encode(records)
    assert "11.31" not in encoded and "√128" not in encoded
    notebook.answers(encoded)
    assert notebook.check("ch98-ex9", math.sqrt(128))
    assert "Exercise 9: correct" in capsys.readouterr().out


def test_solution_glues_its_record_under_the_exercise_key(monkeypatch):
    glued = {}
    monkeypatch.setattr(notebook, "glue", lambda name, value, fmt=None: glued.update({name: value}))
    notebook.solution("ch98-ex10", torch.tensor(2.5), expected=5 / 2, rtol=1e-9, hint="h",
                      title="Exercise 10")
    record = json.loads(glued["dotbook_exercise__ch98-ex10"])
    assert record == {"id": "ch98-ex10", "kind": "number", "value": 2.5, "rtol": 1e-9,
                      "atol": 1e-9, "hint": "h", "title": "Exercise 10", "options": [],
                      "unit": ""}


OLD_EXERCISE = '''answer_2 = None  # the largest W[3]·x
expected_2 = W[3].clamp(min=0).sum().item()
notebook.check("Exercise 2", answer_2, expected_2, rtol=1e-9,
               why="Set x_j = 1 where W_3j > 0 and x_j = 0 elsewhere: "
                   "the sum of the positive weights.")'''
OLD_SOLUTION = '''# solution: ink exactly where the template is positive
x_best = (W[3] > 0).to(W.dtype)  # (64,)
answer_2 = torch.dot(W[3], x_best)
assert notebook.check("Exercise 2", answer_2, expected_2, rtol=1e-9)'''


def test_the_converter_moves_the_answer_out_of_sight():
    tool = _tool()
    exercise, solution = tool.convert_pair(OLD_EXERCISE, OLD_SOLUTION, 5)
    assert exercise == 'answer_2 = None  # the largest W[3]·x\nnotebook.check("ch05-ex2", answer_2)'
    lines = solution.split("\n")
    assert lines[0].startswith("# solution") and lines[1].startswith("expected_2 = W[3]")
    assert 'notebook.solution(\n    "ch05-ex2", answer_2, expected=expected_2, rtol=1e-9,' \
        in solution
    assert 'title="Exercise 2",\n)' in solution and "assert notebook.check" not in solution
    assert max(len(line) for line in lines) <= 88
    compile(solution, "solution", "exec")


def test_the_converter_is_idempotent_and_chapter_one_is_converted(tmp_path):
    tool = _tool()
    chapter = ROOT / "book" / "01-dot-product.ipynb"
    assert tool.remaining(chapter) == 0
    copy = tmp_path / chapter.name
    copy.write_text(chapter.read_text(encoding="utf8"), encoding="utf8")
    assert tool.convert(copy) == 0 and copy.read_text(encoding="utf8") == chapter.read_text(
        encoding="utf8")
