"""What a reader sees on each chapter page, without opening a fold.

    .venv/bin/python tools/reader_path.py [BUILD_HTML_DIR]

Reads the built HTML (default ``_build/html``) and prints, per chapter page:
visible code lines (code cells not inside a folded ``<details>``), how many of
them belong to cells that check a claim (``assert``, ``assert_close``,
``notebook.check``, ``notebook.show_errors``), visible code lines over 88
characters, words about how the book was made ("brief", "seed section"), plotly
figures, numbered figure captions ("Figure N.M"), and toggles above the chapter's
title. The bars are DESIGN.md §7's
"student's path" row; ``tests/test_reader_path.py`` holds every page to them.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

from bs4 import BeautifulSoup

CHECKING = re.compile(r"\bassert\b|assert_close|notebook\.check|notebook\.show_errors|\bcheck\(")
MAKING = re.compile(r"\bbrief\b|\bseed section|\bthe seed\b", re.IGNORECASE)
CAPTION = re.compile(r"Figure\s+(\d+|[A-Z])\.(\d+)")
MAX_VISIBLE_LINES = 100
MAX_LINE = 88


@dataclass
class Page:
    name: str
    visible_lines: int
    checking_lines: int
    long_lines: int
    making_words: int
    figures: int
    captions: int
    toggles_above_title: int


def _folded(tag: object) -> bool:
    """Whether ``tag`` sits inside a closed ``<details>`` (a fold the reader must open)."""
    return any(parent.name == "details" and not parent.has_attr("open")
               for parent in tag.parents)


def measure(path: Path) -> Page:
    """Count what a reader of one chapter page sees without opening a fold."""
    soup = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
    article = soup.find("article") or soup
    visible = checking = long_lines = 0
    for cell in article.select("div.cell"):
        source = cell.select_one("div.cell_input pre")
        if source is None or _folded(source):
            continue
        lines = [line for line in source.get_text().splitlines() if line.strip()]
        visible += len(lines)
        if any(CHECKING.search(line) for line in lines):
            checking += len(lines)
        long_lines += sum(len(line) > MAX_LINE for line in lines)
    prose = " ".join(p.get_text(" ") for p in article.find_all(["p", "li", "h1", "h2", "h3"])
                     if not p.find_parent("div", class_="cell_input"))
    figures = len(article.select("div.plotly-graph-div"))
    captions = {m.group(0) for m in CAPTION.finditer(prose)}
    title = article.find("h1")
    above = 0 if title is None else sum(
        1 for d in article.find_all("details")
        if (d.sourceline, d.sourcepos) < (title.sourceline, title.sourcepos))
    return Page(path.stem, visible, checking, long_lines, len(MAKING.findall(prose)),
                figures, len(captions), above)


def chapter_pages(html: Path) -> list[Path]:
    """The built chapter pages, in book order (``book/NN-*.html``)."""
    return sorted((html / "book").glob("[0-9][0-9]-*.html"))


def main(argv: list[str]) -> int:
    html = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parents[1] / "_build/html"
    pages = [measure(p) for p in chapter_pages(html)]
    if not pages:
        print(f"no chapter pages under {html}: run 'make book' first")
        return 1
    head = ("chapter", "visible", "checking", f">{MAX_LINE} chars", "brief/seed",
            "figures", "captions", "toggles above h1")
    print(" | ".join(head))
    for p in pages:
        print(f"{p.name} | {p.visible_lines} | {p.checking_lines} | {p.long_lines} | "
              f"{p.making_words} | {p.figures} | {p.captions} | {p.toggles_above_title}")
    total = [sum(getattr(p, f) for p in pages)
             for f in ("visible_lines", "checking_lines", "long_lines", "making_words")]
    print(f"all {len(pages)} | " + " | ".join(map(str, total)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
