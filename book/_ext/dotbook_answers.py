"""Answer boxes and prediction prompts on the book's pages (issue 25).

Exercises. A chapter declares each exercise once, in its hidden solution cell,
with ``notebook.solution("ch01-ex1", answer_1, expected=..., rtol=..., hint=...)``
(``src/dotbook/exercises.py``), which glues the exercise's record. This extension
reads those records from the build's glue file and, on the HTML page,

- replaces the exercise's code cell (``answer_1 = None`` / ``notebook.check("ch01-ex1",
  answer_1)``, which only makes sense in a notebook) with an answer box: an input
  (or labelled options), a Check button, a ``role="status"`` feedback line;
- moves the solution cell's code into the box, behind "Show solution".

Predictions. A ``{predict}`` directive in a markdown cell asks for a guess before
a result; its ``:value:`` names a glued value that the page reveals after a guess::

    :::{predict} ch01-max-cos
    :value: ch01_cs_max
    Before you run the next cell: how large is the largest $|\\cos\\theta|$?
    :::

    :::{predict} ch01-sign
    :value: ch01_sign_120
    :options: positive | zero | negative
    ...
    :::

Nothing an answer could be read from is plain text in the page: the records, the
revealed values and the solution's HTML are base64 of JSON in ``data-`` attributes,
decoded by ``static/dotbook-answers.js`` only on a Check, a reveal or "Show solution".
The script keeps the reader's answers in ``localStorage`` (nothing leaves the page).

Register in ``_config.yml`` under ``sphinx.local_extensions``: ``dotbook_answers: book/_ext``.
"""

from __future__ import annotations

import ast
import base64
import html
import json
import re
import shutil
from pathlib import Path
from typing import Any

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.application import Sphinx
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

logger = logging.getLogger(__name__)

_STATIC = Path(__file__).parent / "static"
ASSETS = ("dotbook-answers.js", "dotbook-answers.css")
GLUE_PREFIX = "dotbook_exercise__"  # dotbook.exercises.GLUE_PREFIX (the package may be absent)
EXERCISE_CELL = re.compile(r"notebook\.check\(\s*[\"']([a-z0-9-]+)[\"']\s*,\s*\w+\s*\)")
SOLUTION_CELL = re.compile(r"notebook\.solution\(\s*[\"']([a-z0-9-]+)[\"']")


def encode(payload: Any) -> str:
    """Base64 of JSON: what the page stores instead of a visible value."""
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return base64.b64encode(text.encode("utf8")).decode("ascii")


def decode(text: str) -> Any:
    """The inverse of :func:`encode` (the tests read the page with it)."""
    return json.loads(base64.b64decode(text).decode("utf8"))


def _short(x: float) -> str:
    """``1e-06`` -> ``1e-6``; ``0.5`` stays."""
    return re.sub(r"e([+-])0*(\d)", lambda m: "e" + m.group(1).lstrip("+") + m.group(2),
                  f"{x:g}")


def tolerance_text(record: dict[str, Any]) -> str:
    """How close counts as right, in words (shown under a numeric box).

    Examples::

        >>> tolerance_text({"kind": "number", "value": 45.0, "rtol": 1e-6, "atol": 1e-9})
        'A number or a formula such as 7/sqrt(2); counted right within a relative 1e-6.'
        >>> tolerance_text({"kind": "number", "value": 662, "rtol": 0, "atol": 0.5})
        'A number or a formula such as 7/sqrt(2); counted right within ±0.5.'
        >>> tolerance_text({"kind": "number", "value": 13, "rtol": 0, "atol": 1e-9})
        'A number or a formula such as 7/sqrt(2); counted right only if exact.'
    """
    if record["kind"] == "choice":
        return ""
    rtol, atol = float(record["rtol"]), float(record["atol"])
    value = record["value"]
    size = max(abs(v) for v in value) if isinstance(value, list) else abs(value)
    if rtol and (atol <= rtol * size or not atol):
        rule = f"within a relative {_short(rtol)}"  # the absolute floor does not matter here
    elif rtol:
        rule = f"within a relative {_short(rtol)} or ±{_short(atol)}, whichever is larger"
    elif atol >= 1e-6:
        rule = f"within ±{_short(atol)}"
    else:  # a count, or a value the floating-point format gives exactly
        rule = "only if exact"
    what = ("Numbers separated by commas" if record["kind"] == "vector" else
            "A number or a formula such as 7/sqrt(2)")
    return f"{what}; counted right {rule}."


# ------------------------------------------------------------------ nodes


class answer_box(nodes.General, nodes.Element):  # noqa: N801 (docutils naming)
    """An exercise's answer box; its one child is the :class:`answer_solution`."""


class answer_solution(nodes.General, nodes.Element):  # noqa: N801
    """The worked solution: rendered, then stored encoded (see :func:`depart_solution`)."""


class predict_box(nodes.General, nodes.Element):  # noqa: N801
    """A prediction prompt; its children are the prompt's paragraphs."""


def _attr(value: str) -> str:
    return html.escape(value, quote=True)


def _input_row(uid: str, kind: str, options: list[list[str]], label: str, button: str,
               button_class: str, note_id: str) -> str:
    described = f' aria-describedby="{note_id}"' if note_id else ""
    if kind == "choice":
        radios = "".join(
            f'<label class="dotbook-answer-option"><input type="radio" name="{uid}-choice" '
            f'value="{_attr(key)}"> {html.escape(text)}</label>' for key, text in options)
        return (f'<fieldset class="dotbook-answer-row dotbook-answer-choices">'
                f'<legend>{label}</legend>{radios}'
                f'<button type="button" class="{button_class}">{button}</button></fieldset>')
    mode = "text" if kind == "vector" else "decimal"
    return (f'<div class="dotbook-answer-row"><label for="{uid}-input">{label}</label>'
            f'<input id="{uid}-input" class="dotbook-answer-input" type="text" '
            f'inputmode="{mode}" autocomplete="off" spellcheck="false"{described}>'
            f'<button type="button" class="{button_class}">{button}</button></div>')


def visit_box(self: Any, node: answer_box) -> None:
    record, uid = node["record"], f"dotbook-answer-{node['exercise']}"
    note = tolerance_text(record)
    unit = f" ({html.escape(record['unit'])})" if record.get("unit") else ""
    self.body.append(
        f'<div class="dotbook-answer" id="{uid}" data-exercise="{_attr(node["exercise"])}" '
        f'data-kind="{record["kind"]}" data-answer="{encode(record)}">'
        + _input_row(uid, record["kind"], record.get("options", []), f"Your answer{unit}",
                     "Check", "dotbook-answer-check", f"{uid}-note" if note else "")
        + (f'<p class="dotbook-answer-note" id="{uid}-note">{html.escape(note)}</p>'
           if note else "")
        + '<p class="dotbook-answer-feedback" role="status" aria-live="polite"></p>'
        + f'<button type="button" class="dotbook-answer-show" aria-expanded="false" '
          f'aria-controls="{uid}-solution">Show solution</button>')


def depart_box(self: Any, node: answer_box) -> None:
    self.body.append("</div>\n")


def visit_solution(self: Any, node: answer_solution) -> None:
    node["body_start"] = len(self.body)


def depart_solution(self: Any, node: answer_solution) -> None:
    """Replace the solution's rendered HTML by one empty div that holds it encoded."""
    start = node["body_start"]
    rendered = "".join(self.body[start:])
    del self.body[start:]
    uid = f"dotbook-answer-{node['exercise']}"
    self.body.append(f'<div class="dotbook-solution" id="{uid}-solution" hidden '
                     f'data-solution="{encode(rendered)}"></div>')


def visit_predict(self: Any, node: predict_box) -> None:
    uid = f"dotbook-predict-{node['predict']}"
    self.body.append(
        f'<div class="dotbook-predict" id="{uid}" data-predict="{_attr(node["predict"])}" '
        f'data-kind="{node["kind"]}" data-reveal="{node.get("payload", "")}">'
        f'<p class="dotbook-predict-title">Predict, then look</p>')


def depart_predict(self: Any, node: predict_box) -> None:
    uid = f"dotbook-predict-{node['predict']}"
    self.body.append(
        _input_row(uid, node["kind"], node["options"], "Your guess", "Reveal",
                   "dotbook-predict-reveal", "")
        + '<p class="dotbook-answer-feedback" role="status" aria-live="polite"></p></div>\n')


def _skip(self: Any, node: nodes.Element) -> None:
    raise nodes.SkipNode


# ------------------------------------------------------------------ the directive


def _options_list(text: str) -> list[list[str]]:
    labels = [t.strip() for t in text.split("|") if t.strip()]
    return [[label, label] for label in labels]


class PredictDirective(SphinxDirective):
    """``{predict} ID`` with ``:value: GLUE_KEY`` (and ``:options: a | b | c`` for a pick)."""

    required_arguments = 1
    has_content = True
    option_spec = {"value": directives.unchanged_required, "options": directives.unchanged}

    def run(self) -> list[nodes.Node]:
        ident = self.arguments[0]
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", ident):
            raise self.error(f"predict id {ident!r}: use lower-case letters, digits, hyphens")
        if "value" not in self.options:
            raise self.error("predict needs :value: GLUE_KEY (the glued value to reveal)")
        options = _options_list(self.options.get("options", ""))
        node = predict_box(predict=ident, value=self.options["value"], options=options,
                           kind="choice" if options else "number")
        self.set_source_info(node)
        self.state.nested_parse(self.content, self.content_offset, node)
        return [node]


# ------------------------------------------------------------------ the post-transform


def glue_values(env: Any, docname: str) -> dict[str, Any]:
    """The text values glued in ``docname`` (decoded from myst-nb's ``.glue.json``)."""
    folder = Path(getattr(getattr(env, "mystnb_config", None), "output_folder", "") or "")
    path = folder.joinpath(*docname.split("/"))
    path = path.with_name(path.name + ".glue.json")
    if not path.exists():
        return {}
    values = {}
    for key, output in json.loads(path.read_text(encoding="utf8")).items():
        text = output.get("data", {}).get("text/plain")
        if text is None:
            continue
        try:
            values[key] = ast.literal_eval(text)
        except (SyntaxError, ValueError):
            values[key] = text
    return values


def _cell_source(cell: nodes.Element, stored: list[str]) -> str:
    """A code cell's source: its rendered input, else (a tag removed the input from the
    page) the stored notebook's cell of the same index."""
    for child in cell.children:
        if child.get("nb_element") == "cell_code_source":
            return child.astext()
    index = cell.get("cell_index")
    if isinstance(index, int) and 0 <= index < len(stored):
        return stored[index]
    return ""


def _stored_sources(env: Any, docname: str) -> list[str]:
    path = Path(env.doc2path(docname))
    if path.suffix != ".ipynb":
        return []
    cells = json.loads(path.read_text(encoding="utf8")).get("cells", [])
    return ["".join(c.get("source", "")) for c in cells]


class AnswerBoxes(SphinxPostTransform):
    """Exercise cells become answer boxes; predictions get their encoded value."""

    default_priority = 50  # after myst-nb's glue references (5), before hide-input (199)
    formats = ("html",)

    def run(self, **kwargs: Any) -> None:
        docname = self.env.docname
        values = glue_values(self.env, docname)
        records = {k[len(GLUE_PREFIX):]: json.loads(v) for k, v in values.items()
                   if k.startswith(GLUE_PREFIX) and isinstance(v, str)}
        cells = [c for c in self.document.findall(nodes.container)
                 if c.get("nb_element") == "cell_code"]
        stored = _stored_sources(self.env, docname) if cells else []
        exercises, solutions = {}, {}
        for cell in cells:
            source = _cell_source(cell, stored)
            if source.lstrip().startswith("# solution"):
                found = SOLUTION_CELL.search(source)
                if found:
                    solutions[found.group(1)] = (cell, source)
            else:
                found = EXERCISE_CELL.search(source)
                if found:
                    exercises[found.group(1)] = cell
        for ident, cell in exercises.items():
            if ident not in records or ident not in solutions:
                logger.warning(f"exercise {ident!r} has no solution cell with "
                               f"notebook.solution({ident!r}, ...) that ran in the build",
                               location=cell, type="dotbook", subtype="answers")
                continue
            solution_cell, source = solutions.pop(ident)
            box = answer_box(exercise=ident, record=records[ident])
            shown = answer_solution(exercise=ident)
            shown += nodes.literal_block(source, source, language="ipython3")
            box += shown
            cell.replace_self(box)
            solution_cell.parent.remove(solution_cell)
        for ident, (cell, _) in solutions.items():
            logger.warning(f"solution of {ident!r} has no exercise cell with "
                           f"notebook.check({ident!r}, answer)", location=cell,
                           type="dotbook", subtype="answers")
        for node in self.document.findall(predict_box):
            key = node["value"]
            if key not in values:
                logger.warning(f"predict {node['predict']!r}: no glued value {key!r}",
                               location=node, type="dotbook", subtype="answers")
                continue
            value = str(values[key])
            keys = [k for k, _ in node["options"]]
            if keys and value not in keys:
                logger.warning(f"predict {node['predict']!r}: glued {key!r} is {value!r}, "
                               f"not one of {keys}", location=node, type="dotbook",
                               subtype="answers")
            node["payload"] = encode({"value": value, "options": node["options"]})


# ------------------------------------------------------------------ setup


def _copy_assets(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    static = Path(app.outdir) / "_static"
    static.mkdir(parents=True, exist_ok=True)
    for name in ASSETS:
        shutil.copy2(_STATIC / name, static / name)


def setup(app: Sphinx) -> dict[str, Any]:
    skip = (_skip, None)
    others = {fmt: skip for fmt in ("latex", "text", "man", "texinfo")}
    app.add_node(answer_box, html=(visit_box, depart_box), **others)
    app.add_node(answer_solution, html=(visit_solution, depart_solution), **others)
    app.add_node(predict_box, html=(visit_predict, depart_predict), **others)
    app.add_directive("predict", PredictDirective)
    app.add_post_transform(AnswerBoxes)
    app.add_js_file("dotbook-answers.js", priority=220)
    app.add_css_file("dotbook-answers.css")
    app.connect("build-finished", _copy_assets)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
