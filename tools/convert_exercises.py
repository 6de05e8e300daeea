"""Convert a chapter's exercises to the one-source form of issue 25 (mechanical, idempotent).

Before (each exercise: a question in markdown, then two code cells)::

    answer_1 = None  # your answer in degrees
    notebook.check("Exercise 1", answer_1, 45.0, rtol=1e-6, why="cos θ = 1/√2.")

    # solution                                   (tag hide-input)
    answer_1 = ...
    assert notebook.check("Exercise 1", answer_1, 45.0, rtol=1e-6)

After::

    answer_1 = None  # your answer in degrees
    notebook.check("ch01-ex1", answer_1)

    # solution                                   (tag hide-input)
    answer_1 = ...
    notebook.solution(
        "ch01-ex1", answer_1, expected=45.0, rtol=1e-6,
        hint="cos θ = 1/√2.",
        title="Exercise 1",
    )

- the id is ``chNN-exK`` (NN from the file name, K from "Exercise K");
- the tolerance (``rtol``/``atol``) and the hint (``why``) come from the exercise
  cell: they are what the reader is held to, and now also what the solution asserts;
- ``expected`` comes from the solution's assert (the author's independent value),
  else from the exercise cell;
- any other line of the exercise cell (``expected_2 = W[3]...``) moves to the top of
  the solution cell, after its leading comments, so no answer stays in sight;
- anything else in the solution cell is kept as it is.

Usage::

    python tools/convert_exercises.py book/07-attention.ipynb [...]   # rewrite in place
    python tools/convert_exercises.py --check book/*.ipynb            # exit 1 if any is left

The whole recipe for a chapter (after the tool):

1. ``python tools/sync_notebooks.py`` (the stored form), then read the two cells of
   each exercise: the hint is now shown on the page after a wrong try, so it must
   help without giving the number away; a choice exercise passes
   ``options={"key": "label", ...}`` to ``notebook.solution`` and its answer is a key.
2. Add at least one prediction before a key figure or result, in a markdown cell::

       :::{predict} chNN-name
       :value: GLUE_KEY            (a value the chapter glues, as text)
       :options: a | b | c         (only for a pick; the glued text is one of them)
       The question, asked before the reader sees the answer.
       :::

   If the value is not glued yet, glue it where the chapter computes it
   (``notebook.glue("chNN_name", value, ".3f")``).
3. ``pytest --nbval-lax book/NN-*.ipynb``; build the book; then
   ``pytest tests/test_answers_browser.py tests/test_reader_notebooks.py`` (a converted
   chapter joins the browser tests by itself: it contains ``notebook.solution(``).
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import sys
from pathlib import Path

_OLD = re.compile(r"notebook\.check\(\s*\"Exercise (\d+)\"")


def _call(tree: ast.AST, func: str) -> ast.Call | None:
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == func and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "notebook" and node.args
                and isinstance(node.args[0], ast.Constant)
                and str(node.args[0].value).startswith("Exercise ")):
            return node
    return None


def _statement(tree: ast.Module, call: ast.Call) -> ast.stmt:
    for stmt in tree.body:
        if any(n is call for n in ast.walk(stmt)):
            return stmt
    raise ValueError("call outside a statement")


def _string(text: str, indent: str, width: int = 88) -> str:
    """``text`` as a Python string literal, split into adjacent literals to fit ``width``."""
    room = width - len(indent) - len("hint=") - 3
    if len(repr(text)) <= room:
        return json.dumps(text, ensure_ascii=False)
    words, lines, line = text.split(" "), [], ""
    for word in words:
        candidate = f"{line} {word}" if line else word
        if len(candidate) + 3 > room and line:
            lines.append(line + " ")
            line = word
        else:
            line = candidate
    lines.append(line)
    pad = "\n" + indent + " " * len("hint=(")
    return "(" + pad.join(json.dumps(p, ensure_ascii=False) for p in lines) + ")"


def _lines(node: ast.AST) -> tuple[int, int]:
    return node.lineno - 1, node.end_lineno  # 0-based start, exclusive end


def convert_pair(exercise: str, solution: str, chapter: int) -> tuple[str, str]:
    """The new sources of one exercise cell and its solution cell."""
    ex_tree, so_tree = ast.parse(exercise), ast.parse(solution)
    ex_call, so_call = _call(ex_tree, "check"), _call(so_tree, "check")
    if ex_call is None or so_call is None:
        raise ValueError("not an old-style exercise/solution pair")
    number = int(str(ex_call.args[0].value).split()[1])
    ident = f"ch{chapter:02d}-ex{number}"
    answer = ast.get_source_segment(exercise, ex_call.args[1])
    if len(so_call.args) > 2:
        expected_src = ast.get_source_segment(solution, so_call.args[2])
    else:
        expected_src = ast.get_source_segment(exercise, ex_call.args[2])
    kwargs = {k.arg: k.value for k in ex_call.keywords}
    ex_lines, so_lines = exercise.split("\n"), solution.split("\n")
    # the exercise cell: its answer line(s), then the check by id
    ex_stmt = _statement(ex_tree, ex_call)
    keep, move = [], []
    for stmt in ex_tree.body:
        start, end = _lines(stmt)
        chunk = ex_lines[start:end]
        if stmt is ex_stmt:
            continue
        is_answer = (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
                     and isinstance(stmt.targets[0], ast.Name)
                     and stmt.targets[0].id == answer)
        (keep if is_answer else move).extend(chunk)
    new_exercise = "\n".join([*keep, f'notebook.check("{ident}", {answer})'])
    # the solution cell: moved lines after its leading comments; the assert becomes solution()
    so_stmt = _statement(so_tree, so_call)
    start, end = _lines(so_stmt)
    indent = "    "
    tols = ", ".join(f"{key}={ast.get_source_segment(exercise, kwargs[key])}"
                     for key in ("rtol", "atol") if key in kwargs)
    first = f'"{ident}", {answer}, expected={expected_src}' + (f", {tols}" if tols else "")
    if len(indent + first) + 1 <= 88:
        args = [first]
    else:  # one argument a line
        args = [f'"{ident}", {answer}', f"expected={expected_src}", *([tols] if tols else [])]
    if "why" in kwargs:
        try:
            hint = _string(ast.literal_eval(kwargs["why"]), indent)
        except ValueError:
            hint = ast.get_source_segment(exercise, kwargs["why"])
        args.append(f"hint={hint}")
    args.append(f'title="Exercise {number}"')
    call = ["notebook.solution(", *(f"{indent}{a}," for a in args), ")"]
    body = so_lines[:start] + call + so_lines[end:]
    lead = 0
    while lead < len(body) and body[lead].lstrip().startswith("#"):
        lead += 1
    body = body[:lead] + move + body[lead:]
    return new_exercise, "\n".join(body).rstrip("\n")


def convert(path: Path) -> int:
    """Rewrite one chapter in place; return how many exercises were converted."""
    text = path.read_text(encoding="utf8")
    nb = json.loads(text)
    chapter = int(re.match(r"(\d+)", path.name).group(1))
    cells = nb["cells"]
    done = 0
    for i, cell in enumerate(cells):
        source = "".join(cell["source"])
        if cell["cell_type"] != "code" or source.lstrip().startswith("# solution") \
                or not _OLD.search(source):
            continue
        j = next((k for k in range(i + 1, len(cells)) if cells[k]["cell_type"] == "code"), None)
        if j is None or not "".join(cells[j]["source"]).lstrip().startswith("# solution"):
            raise ValueError(f"{path.name} cell {i}: the exercise has no solution cell after it")
        new_ex, new_so = convert_pair(source, "".join(cells[j]["source"]), chapter)
        cell["source"] = new_ex.splitlines(keepends=True)
        cells[j]["source"] = new_so.splitlines(keepends=True)
        done += 1
    out = json.dumps(nb, indent=1, ensure_ascii=False) + ("\n" if text.endswith("\n") else "")
    if out != text:
        path.write_text(out, encoding="utf8")
    return done


def remaining(path: Path) -> int:
    """Old-style exercise checks left in a chapter."""
    nb = json.loads(path.read_text(encoding="utf8"))
    return sum(bool(_OLD.search("".join(c["source"]))) for c in nb["cells"]
               if c["cell_type"] == "code")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chapters", nargs="+", type=Path)
    parser.add_argument("--check", action="store_true", help="only report old-style exercises")
    args = parser.parse_args(argv)
    left = 0
    for path in args.chapters:
        if args.check:
            n = remaining(path)
            left += n
            print(f"{path.name}: {n} old-style exercise check(s)")
        else:
            print(f"{path.name}: converted {convert(path)} exercise(s)")
    return 1 if left else 0


if __name__ == "__main__":
    sys.exit(main())
