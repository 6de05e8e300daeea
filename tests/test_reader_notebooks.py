"""Reader notebooks (book/_ext/reader_notebooks.py): the converter on small
strings, then the notebooks the book build wrote, against an independent set of
MyST patterns. The Colab-path and JupyterLab tests run them (test_colab_path.py,
test_lab.py)."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import nbformat
import pytest
import yaml
from support import ROOT

sys.path.insert(0, str(ROOT / "book" / "_ext"))
import reader_notebooks as rn  # noqa: E402


def toc_chapters() -> list[Path]:
    """The chapter notebooks _toc.yml lists (the ones the build converts), in order."""
    files: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            files.extend([str(node["file"])] if "file" in node else [])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf8")))
    paths = [ROOT / (str(Path(f).with_suffix("")) + ".ipynb") for f in files]
    return [p for p in paths if p.exists()]


CHAPTERS = toc_chapters()
BUILD = Path(os.environ.get("DOTBOOK_BUILD_DIR", ROOT / "_build"))
READERS = BUILD / "html" / "_notebooks"
BASE = "https://example.org/book/"

#: MyST that Jupyter and Colab show raw. Independent of rn.MYST_RESIDUE on purpose.
MYST_ONLY = {
    "colon fence": r"(?m)^\s*:::",
    "backtick directive": r"(?m)^\s*```+\s*\{",
    "tilde directive": r"(?m)^\s*~~~+\s*\{",
    "any role": r"\{[a-zA-Z][a-zA-Z0-9_:+.-]*\}`",
    "cite": r"\{cite",
    "glue": r"\{glue",
    "ref": r"\{(?:ref|numref|doc|eq)\}",
    "directive option": r"(?m)^\s*:(?:class|name|label|alt|width|align|open):",
    "target": r"(?m)^\s*\([\w.:-]+\)=\s*$",
    "substitution": r"\{\{[^}]*\}\}",
    "block break": r"(?m)^\+\+\+",
}


def myst_left(text: str) -> list[str]:
    return [name for name, pattern in MYST_ONLY.items() if re.search(pattern, text)]


@pytest.fixture
def book() -> rn.Book:
    return rn.Book(
        base_url=BASE, title="The Book", docname="book/02-two",
        citations={
            "v2017": rn.Citation("Vaswani et al.", "Vaswani, Shazeer and Parmar", "2017", "id3"),
            "g2010": rn.Citation("Glorot and Bengio", "Glorot and Bengio", "2010", "id4"),
        },
        labels={"sec-angle": rn.Target("book/01-one", "sec-angle", "The angle"),
                "fig-cos": rn.Target("book/02-two", "fig-cos", "Cosines", "2.1", "figure")},
        equations={"eq-dot": rn.Target("book/01-one", "equation-eq-dot", "eq-dot", "3")},
        docs={"book/01-one": "One", "book/02-two": "Two", "book/references": "References"},
        glue={"book/02-two": {"pairs": {"data": {"text/plain": "'10,000'"}},
                              "gap": {"data": {"text/plain": "5.2e-16"}},
                              "frac": {"data": {"text/plain": "0.123456"}},
                              "md": {"data": {"text/markdown": "**bold**",
                                              "text/plain": "'x'"}}},
              "book/01-one": {"n": {"data": {"text/plain": "64"}}}},
    )


# ------------------------------------------------------------------ admonitions


def test_colon_admonition_becomes_a_titled_blockquote(book):
    md = (":::{admonition} Learning goals\n:class: tip\nAfter this you can\n\n"
          "- add;\n- *multiply*.\n:::")
    out = rn.convert_markdown(md, book)
    assert out == ("> **Learning goals**\n>\n> After this you can\n>\n> - add;\n> - *multiply*.")
    assert myst_left(out) == []


@pytest.mark.parametrize("fence", ["```", "````", ":::"])
def test_named_admonitions_take_their_type_as_title(book, fence):
    out = rn.convert_markdown(f"{fence}{{warning}}\nMind the gap.\n{fence}", book)
    assert out == "> **Warning**\n>\n> Mind the gap."


def test_note_with_inline_argument_keeps_it_as_content(book):
    out = rn.convert_markdown("```{note} First line.\nSecond line.\n```", book)
    assert out == "> **Note**\n>\n> First line.\n> Second line."


def test_nested_directives_and_roles_inside(book):
    md = ("::::{admonition} Outer {cite}`v2017`\n:::{tip}\nInner $x$ {glue:text}`pairs`.\n:::\n"
          "::::")
    out = rn.convert_markdown(md, book)
    assert out.startswith("> **Outer ([Vaswani et al., 2017](")
    assert "> > **Tip**" in out and "> > Inner $x$ 10,000." in out
    assert myst_left(out) == []


def test_yaml_options_and_unknown_directives_render_plainly(book):
    md = ("```{dropdown} Click me\n---\nopen: true\n---\nHidden *text*.\n```\n\n"
          ":::{margin}\nAside.\n:::")
    out = rn.convert_markdown(md, book)
    assert "> **Click me**\n>\n> Hidden *text*." in out
    assert "> **Margin**\n>\n> Aside." in out
    assert "open: true" not in out and myst_left(out) == []


def test_math_code_figure_and_bibliography_directives(book):
    md = ("```{math}\n:label: eq-x\na\\cdot b\n```\n\n```{code-block} python\nx = {1: 2}\n```\n\n"
          ":::{figure} images/fig.png\n:alt: Two arrows\nThe caption.\n:::\n\n"
          "```{bibliography}\n```")
    out = rn.convert_markdown(md, book)
    assert "$$\na\\cdot b\n$$" in out
    assert "```python\nx = {1: 2}\n```" in out
    assert f"![Two arrows]({BASE}_images/fig.png)\n\nThe caption." in out
    assert f"[references page]({BASE}book/references.html)" in out
    assert myst_left(out) == []


# ------------------------------------------------------------------ roles


def test_citations_parenthetical_textual_and_several(book):
    out = rn.convert_inline("see {cite}`v2017`; {cite:t}`g2010` showed; "
                            "{cite:p}`g2010,v2017`", book)
    ref = f"{BASE}book/references.html"
    assert f"see ([Vaswani et al., 2017]({ref}#id3));" in out
    assert f"[Glorot and Bengio (2010)]({ref}#id4) showed" in out
    assert f"([Glorot and Bengio, 2010]({ref}#id4); [Vaswani et al., 2017]({ref}#id3))" in out
    assert book.problems == []


def test_unknown_citation_is_a_problem_not_raw_text(book):
    out = rn.convert_inline("{cite}`nobody1999`", book)
    assert "{cite}" not in out and any("nobody1999" in p for p in book.problems)


def test_glue_values_with_and_without_format_specs(book):
    out = rn.convert_inline("{glue:text}`pairs` and {glue:text}`frac:.2f` and {glue:}`gap`, "
                            "{glue}`pairs`, {glue:md}`md`, {glue:text}`01-one::n`", book)
    assert out == "10,000 and 0.12 and 5.2e-16, 10,000, **bold**, 64"
    assert book.problems == []


def test_missing_glue_value_is_a_problem(book):
    out = rn.convert_inline("{glue:text}`absent`", book)
    assert "{glue" not in out and any("absent" in p for p in book.problems)


def test_cross_references_link_into_the_published_book(book):
    out = rn.convert_inline("{ref}`sec-angle`, {ref}`this one <sec-angle>`, {numref}`fig-cos`, "
                            "{eq}`eq-dot`, {doc}`01-one`, {doc}`the refs </book/references>`", book)
    assert out == (f"[The angle]({BASE}book/01-one.html#sec-angle), "
                   f"[this one]({BASE}book/01-one.html#sec-angle), "
                   f"[Fig. 2.1]({BASE}book/02-two.html#fig-cos), "
                   f"[(3)]({BASE}book/01-one.html#equation-eq-dot), "
                   f"[One]({BASE}book/01-one.html), [the refs]({BASE}book/references.html)")


def test_relative_links_to_pages_become_absolute(book):
    out = rn.convert_inline("[Chapter 1](01-one.ipynb), [web](https://x.org/a.ipynb), "
                            "[here](#top), [file](data.csv)", book)
    assert out == (f"[Chapter 1]({BASE}book/01-one.html), [web](https://x.org/a.ipynb), "
                   "[here](#top), [file](data.csv)")


def test_other_roles_render_plainly(book):
    out = rn.convert_inline("{math}`a^2`, {sub}`2`, {abbr}`GPU (graphics unit)`, "
                            "{py:func}`~torch.dot`, {kbd}`Shift`, {term}`neuron <Neuron>`, "
                            "{download}`data <data.csv>`, {strong}`this`", book)
    assert out == ("$a^2$, <sub>2</sub>, GPU (graphics unit), `dot`, `Shift`, neuron, "
                   "data, **this**")


def test_code_spans_math_and_code_fences_are_left_alone(book):
    md = ("Type `{cite}`x`` in code, math $\\mathbb{R}^n$.\n\n```python\n"
          "# {glue:text}`x` stays\n:::{note}\n```\n(label)=\n% a comment\n$$\nx\n$$ (eq-x)")
    out = rn.convert_markdown(md, book)
    assert "`{cite}`x``" in out and "$\\mathbb{R}^n$" in out
    assert "```python\n# {glue:text}`x` stays\n:::{note}\n```" in out
    assert "(label)=" not in out and "a comment" not in out
    assert out.endswith("$$\nx\n$$")


def test_substitutions(book):
    book.substitutions["who"] = "the {cite:t}`g2010` authors"
    out = rn.convert_inline("by {{ who }}", book)
    assert out == f"by the [Glorot and Bengio (2010)]({BASE}book/references.html#id4) authors"


def test_residue_finds_what_the_converter_must_remove():
    assert rn.residue(":::{note}\nx\n:::") and rn.residue("a {cite}`k`") and rn.residue("(a)=")
    assert rn.residue("plain *markdown* with $x$ and `code`") == []


# ------------------------------------------------------------------ notebooks, config, data


def _tiny_notebook() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("from dotbook import notebook\nbook = notebook.setup(seed=0)",
                                  metadata={"tags": ["hide-cell"]}),
        nbformat.v4.new_markdown_cell("# Two\n\n:::{admonition} Learning goals\n:class: tip\n"
                                      "- one\n:::"),
        nbformat.v4.new_code_cell("# solution\nassert notebook.check(\"Exercise 1\", 1, 1)",
                                  metadata={"tags": ["hide-input"]},
                                  outputs=[nbformat.v4.new_output("stream", text="correct")]),
    ]
    return nb


def test_reader_notebook_folds_solutions_into_markdown_and_keeps_the_setup_cell(book):
    stored = _tiny_notebook()
    before = json.dumps(stored, sort_keys=True)
    reader = rn.reader_notebook(stored, book)
    assert json.dumps(stored, sort_keys=True) == before, "the stored chapter was modified"
    assert reader.cells[0].source == stored.cells[0].source
    assert reader.cells[0].metadata == stored.cells[0].metadata
    title, rest = reader.cells[1].source.split("\n", 1)
    assert title == "# Two" and f"({BASE}book/02-two.html)" in rest
    assert "> **Learning goals**" in rest and myst_left(rest) == []
    solution = reader.cells[2]
    assert solution.cell_type == "markdown", "Run All must not run a solution"
    assert solution.source.startswith("<details>\n<summary>Solution to Exercise 1")
    assert f"```python\n{stored.cells[2].source}\n```" in solution.source
    assert solution.source.endswith("</details>") and "<details open" not in solution.source


def _exercise_notebook() -> nbformat.NotebookNode:
    nb = _tiny_notebook()
    nb.cells[2:] = [
        nbformat.v4.new_markdown_cell("**1.** What is one plus one?"),
        nbformat.v4.new_code_cell(
            'answer_1 = None  # a number\nnotebook.check("ch02-ex1", answer_1)'),
        nbformat.v4.new_code_cell('# solution\nanswer_1 = 1 + 1\nnotebook.solution(\n'
                                  '    "ch02-ex1", answer_1, expected=2, hint="Count.",\n)',
                                  metadata={"tags": ["hide-input"]}),
        nbformat.v4.new_markdown_cell(":::{predict} ch02-guess\n:value: frac\n"
                                      ":options: yes | no\nWill it?\n:::"),
    ]
    return nb


def _record(ident: str, value: float) -> dict:
    record = {"id": ident, "kind": "number", "value": value, "rtol": 1e-6, "atol": 1e-9,
              "hint": "Count.", "title": "Exercise 1", "options": [], "unit": ""}
    return {"data": {"text/plain": repr(json.dumps(record))}}


def test_exercise_cells_stay_code_after_an_encoded_answers_cell(book):
    book.glue["book/02-two"][rn.EXERCISE_PREFIX + "ch02-ex1"] = _record("ch02-ex1", 2.0)
    reader = rn.reader_notebook(_exercise_notebook(), book)
    assert book.problems == []
    kinds = [c.cell_type for c in reader.cells]
    assert kinds == ["code", "markdown", "markdown", "code", "code", "markdown", "markdown"]
    answers, exercise = reader.cells[3], reader.cells[4]
    assert answers.source.startswith("#@title Answers for the self-checks")
    assert answers.metadata["jupyter"]["source_hidden"] and answers.metadata["cellView"] == "form"
    assert exercise.source == 'answer_1 = None  # a number\nnotebook.check("ch02-ex1", answer_1)'
    for cell in (answers, exercise):
        assert "2.0" not in cell.source and "Count." not in cell.source  # nothing in sight
    # the answers cell loads what notebook.check looks up by id
    from dotbook import exercises, notebook

    encoded = "".join(re.findall(r'"([A-Za-z0-9+/=]+)"', answers.source))
    notebook.answers(encoded)
    assert exercises.lookup("ch02-ex1").value == 2.0
    assert "> **Predict first**" in reader.cells[6].source
    assert "Pick one: yes, no." in reader.cells[6].source
    assert myst_left(reader.cells[6].source) == []


def test_an_exercise_without_a_record_in_the_build_is_a_problem(book):
    rn.reader_notebook(_exercise_notebook(), book)
    assert any("ch02-ex1" in p and "no record" in p for p in book.problems)


def test_book_url_from_repository_or_baseurl():
    assert rn.book_url({"repository": {"url": "https://github.com/A-B/c.git"}}) == \
        "https://a-b.github.io/c/"
    assert rn.book_url({"html": {"baseurl": "https://books.example/dot"},
                        "repository": {"url": "https://github.com/a/b"}}) == \
        "https://books.example/dot/"
    with pytest.raises(rn.ReaderError, match="html.baseurl"):
        rn.book_url({"repository": {"url": "https://gitlab.com/a/b"}})


def test_citations_from_the_book_bibliography():
    found = rn.citations_from_bib([ROOT / "book" / "references.bib"])
    assert found["vaswani2017attention"].author == "Vaswani et al."
    assert found["vaswani2017attention"].year == "2017"
    assert "Kaiser" in found["vaswani2017attention"].authors
    assert found["glorot2010understanding"].author == "Glorot and Bengio"


def test_glue_data_from_glue_json_and_from_outputs(tmp_path):
    folder = tmp_path / "jupyter_execute" / "book"
    folder.mkdir(parents=True)
    meta = {"scrapbook": {"name": "a", "mime_prefix": "application/papermill.record/"}}
    (folder / "one.glue.json").write_text(json.dumps(
        {"a": {"data": {"text/plain": "'1'"}, "metadata": meta, "output_type": "display_data"}}))
    assert rn.glue_data(tmp_path, "book/one") == {"a": {"data": {"text/plain": "'1'"}}}
    executed = {"cells": [{"cell_type": "code", "outputs": [{
        "output_type": "display_data", "metadata": meta,
        "data": {"application/papermill.record/text/plain": "2"}}]}]}
    assert rn.glue_data(tmp_path, "book/two", executed) == {"a": {"data": {"text/plain": "2"}}}


# ------------------------------------------------------------------ what the build wrote

# needs the built book, as the browser tests do (make test builds it first)
built = pytest.mark.browser


def _reader(chapter: Path) -> nbformat.NotebookNode:
    path = READERS / chapter.name
    if not path.exists():
        pytest.fail(f"{path} is missing: run 'make book' (make test does it first)")
    return nbformat.read(path, as_version=4)


@built
@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.name)
def test_generated_notebook_has_no_myst_syntax(chapter):
    reader = _reader(chapter)
    for index, cell in enumerate(reader.cells):
        if cell.cell_type == "markdown":
            assert myst_left(cell.source) == [], (index, myst_left(cell.source), cell.source)


@built
@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.name)
def test_generated_notebook_keeps_the_code_and_folds_the_solutions(chapter):
    """Every code cell is there, unchanged, except the solutions: Markdown, folded in a
    closed <details>, so Run All never runs one; one answers cell may be added."""
    stored, reader = nbformat.read(chapter, as_version=4), _reader(chapter)
    added = [c for c in reader.cells if "dotbook-answers" in c.metadata.get("tags", [])]
    assert len(added) <= 1
    cells = [c for c in reader.cells if all(c is not a for a in added)]
    assert len(cells) == len(stored.cells)
    assert cells[0].source == stored.cells[0].source, "the setup cell changed"
    assert "notebook.setup(" in cells[0].source
    solutions = 0
    for mine, theirs in zip(cells, stored.cells, strict=True):
        if theirs.cell_type == "code" and theirs.source.startswith("# solution"):
            solutions += 1
            assert mine.cell_type == "markdown"
            assert mine.source.startswith("<details>\n<summary>Solution")
            assert theirs.source in mine.source
            continue
        assert mine.cell_type == theirs.cell_type
        if mine.cell_type != "code":
            continue
        assert mine.outputs == [] and mine.execution_count is None
        assert mine.source == theirs.source
        assert not mine.metadata.get("jupyter", {}).get("source_hidden")
    assert solutions >= 2
    by_id = [c for c in stored.cells if c.cell_type == "code"
             and re.search(r'notebook\.check\("ch\d\d-ex\d+", answer_\d+\)', c.source)]
    assert bool(added) == bool(by_id), "an answers cell exactly where exercises look up by id"
    if added:  # before the first such exercise
        first = next(i for i, c in enumerate(reader.cells) if c.source == by_id[0].source)
        assert reader.cells.index(added[0]) < first


@built
@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.name)
def test_download_button_serves_the_reader_notebook(chapter):
    """The page's download button links _sources/<doc>.ipynb: the same file."""
    served = BUILD / "html" / "_sources" / "book" / chapter.name
    assert served.read_text(encoding="utf8") == (READERS / chapter.name).read_text(
        encoding="utf8")
    page = (BUILD / "html" / "book" / chapter.name).with_suffix(".html").read_text(
        encoding="utf8")
    assert f'href="../_sources/book/{chapter.name}"' in page


@built
def test_glued_numbers_are_the_built_values():
    """Chapter 1 prints the number of pairs the build computed, as the HTML page does."""
    reader = _reader(ROOT / "book" / "01-dot-product.ipynb")
    glued = rn.glue_data(BUILD, "book/01-dot-product")
    pairs = rn._plain(glued["ch01_pairs"]["data"]["text/plain"], "s")
    assert any(f"Over {pairs} random pairs" in c.source for c in reader.cells)
    page = (BUILD / "html" / "book" / "01-dot-product.html").read_text(encoding="utf8")
    assert pairs in page
