"""The stored chapters: setup cell in sync with _config.yml, no outputs, tags right."""

from __future__ import annotations

import subprocess
import sys

import nbformat
import pytest
from support import CHAPTERS, ROOT


def test_chapters_exist_and_are_in_the_toc():
    toc = (ROOT / "_toc.yml").read_text()
    assert CHAPTERS
    for path in CHAPTERS:
        assert f"book/{path.stem}" in toc, f"{path.name} is missing from _toc.yml"


def test_stored_form_is_in_sync():
    result = subprocess.run([sys.executable, "tools/sync_notebooks.py", "--check"], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr + "\nrun 'make sync'"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_chapter_structure(path):
    nb = nbformat.read(path, as_version=4)
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "Learning goals" in text and "## Summary" in text and "## Exercises" in text
    sources = [c.source for c in nb.cells if c.cell_type == "code"]
    # a checking cell opens with "# How we know: ..." (issue 21; older chapters: "# check it")
    assert sum("# check it" in s or "# How we know:" in s for s in sources) >= 3, \
        "a chapter asserts its claims"
    solutions = [c for c in nb.cells if c.cell_type == "code" and c.source.startswith("# solution")]
    assert len(solutions) >= 2
    assert all("hide-input" in c.metadata.get("tags", []) for c in solutions)
    # the one-source form (issue 25) declares and asserts in notebook.solution(...)
    assert all("assert notebook.check(" in c.source or "notebook.solution(" in c.source
               for c in solutions)
    assert "{glue:text}" in text, "numbers in the prose are glued from computation"
    assert "{cite}" in text
