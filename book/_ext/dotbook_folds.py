"""The proof one click away: a checking cell folds under the line that says what it proves.

A chapter tags a cell that checks a claim ``hide-input`` and starts it with one
comment line::

    # How we know: the two definitions agree to 1e-15 on 10,000 random pairs
    assert relative_gap < 1e-12

myst-nb folds the cell's source in a ``<details>`` whose summary reads "Show code
cell source". This extension replaces that text by the cell's first comment line
("How we know: the two definitions agree ..."), in the collapsed and the open
state, and drops the summary's ``aria-label`` so the visible line is also the
button's accessible name. Cells whose first line is not such a comment (figures,
``# solution`` cells) keep myst-nb's prompts. The fold gets the class
``dotbook-proof`` (styled in ``static/dotbook.css``).

Enabled in ``_config.yml``: ``local_extensions: {dotbook_folds: book/_ext}``.
"""

from __future__ import annotations

import re
from html import escape
from typing import Any

from docutils import nodes
from myst_nb.sphinx_ import HideCodeCellNode
from sphinx.application import Sphinx
from sphinx.transforms.post_transforms import SphinxPostTransform

#: The comment that names a fold: "# How we know: ..." (also the older "# check it: ..."),
#: or "# Going deeper: ..." for detail a first reading can skip.
CLAIM = re.compile(r"^#\s*((?:How we know|check it|going deeper)\s*:\s*\S.*?)\s*$",
                   re.IGNORECASE)


def claim_line(source: str) -> str | None:
    """The reader's line for a checking cell's fold, or None.

    >>> claim_line("# How we know: a·a = ‖a‖²\\nassert True")
    'How we know: a·a = ‖a‖²'
    >>> claim_line("# check it: the loop agrees with torch")
    'How we know: the loop agrees with torch'
    >>> claim_line("# going deeper: the fitted slopes")
    'Going deeper: the fitted slopes'
    >>> claim_line("# solution\\nx = 1") is None
    True
    """
    for line in source.splitlines():
        if not line.strip():
            continue
        found = CLAIM.match(line.strip())
        if not found:
            return None
        text = found.group(1)
        head, _, rest = text.partition(":")
        if head.strip().lower() == "check it":
            text = "How we know:" + rest
        elif head.strip().lower() == "going deeper":
            text = "Going deeper:" + rest
        return text
    return None


class ClaimPrompts(SphinxPostTransform):
    """Give each folded checking cell its claim as the fold's summary."""

    default_priority = 198  # just before myst-nb's HideInputCells (199) reads the prompts
    formats = ("html",)

    def run(self, **kwargs: Any) -> None:
        for cell in self.document.findall(nodes.container):
            if cell.get("nb_element") != "cell_code" or cell.get("hide_mode") != "input":
                continue
            if not cell.children or cell.children[0].get("nb_element") != "cell_code_source":
                continue
            line = claim_line(cell.children[0].astext())
            if line is None:
                continue
            cell["prompt_show"] = line
            cell["prompt_hide"] = line
            cell["classes"].append("dotbook-proof")


def visit_fold(self: Any, node: HideCodeCellNode) -> None:
    """myst-nb's ``<details>``; a claim fold's summary is named by its own text."""
    classes = " ".join(node["classes"])
    claim = node.get("prompt_show") == node.get("prompt_hide")
    label = "" if claim else ' aria-label="Toggle hidden content"'
    self.body.append(f'<details class="admonition hide {classes}">\n')
    self.body.append(f"<summary{label}>\n")
    if claim:
        self.body.append(f'<p class="admonition-title dotbook-claim">'
                         f'{escape(node["prompt_show"])}</p>\n')
    else:
        self.body.append(f'<p class="collapsed admonition-title">'
                         f'{escape(node["prompt_show"])}</p>\n')
        self.body.append(f'<p class="expanded admonition-title">'
                         f'{escape(node["prompt_hide"])}</p>\n')
    self.body.append("</summary>\n")


def depart_fold(self: Any, node: HideCodeCellNode) -> None:
    self.body.append("</details>\n")


def setup(app: Sphinx) -> dict[str, Any]:
    app.setup_extension("myst_nb")
    app.add_node(HideCodeCellNode, override=True, html=(visit_fold, depart_fold))
    app.add_post_transform(ClaimPrompts)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
