"""Writing the build's typesetting into a page (book/_ext/dotbook_math.py), without a
browser: every formula gets its own typeset HTML, in order; the solutions with TeX get
theirs; MathJax's two scripts leave the head and its stylesheet enters it, with the
fonts named relative to the page; and a page whose record does not fit is left as it
was (it keeps MathJax), with the reason."""

from __future__ import annotations

import sys

from support import ROOT

sys.path.insert(0, str(ROOT / "book" / "_ext"))

from dotbook_answers import decode, encode  # noqa: E402
from dotbook_math import STATIC, typeset_page  # noqa: E402

HEAD = ('<head>\n    <script>window.MathJax = {"loader": {}}</script>\n'
        '    <script defer="defer" src="../_static/mathjax/startup.js?v=4ba68244"></script>\n'
        '</head>')


def page(solution: str = "x") -> str:
    return (f"<html>{HEAD}<body><p>Let <span class=\"math notranslate nohighlight\">\\(x\\)"
            f"</span> and</p><div class=\"math notranslate nohighlight\">\n\\[a &lt; b\\]</div>"
            f'<div class="dotbook-solution" data-solution="{encode(solution)}"></div>'
            f'<div data-solution="{encode("no math")}"></div></body></html>')


def record(**change: object) -> dict:
    return {"math": ["<mjx-container>x</mjx-container>", "<mjx-container>a&lt;b</mjx-container>"],
            "failed": [], "elsewhere": 0, "solutions": ["<mjx-container>y</mjx-container>"],
            "style": f'@font-face {{ src: url("{STATIC}/mathjax/f.woff"); }}', **change}


def test_each_formula_and_solution_gets_its_typesetting_and_mathjax_leaves():
    text, problem = typeset_page(page("so \\(y\\)"), record(), "../_static")
    assert problem is None
    assert ('<span class="math notranslate nohighlight"><mjx-container>x</mjx-container></span>'
            in text)
    assert ('<div class="math notranslate nohighlight"><mjx-container>a&lt;b</mjx-container>'
            '</div>' in text)
    assert "\\(" not in text and "\\[" not in text
    assert "MathJax" not in text.split("</head>")[0].replace("MJX-CHTML-styles", "")
    assert "startup.js" not in text
    assert '<style id="MJX-CHTML-styles">' in text.split("</head>")[0]
    assert 'url("../_static/mathjax/f.woff")' in text and STATIC not in text
    import re

    solutions = [decode(s) for s in re.findall(r'data-solution="([^"]*)"', text)]
    assert solutions == ["<mjx-container>y</mjx-container>", "no math"]


def test_a_page_without_solution_math_keeps_its_solutions():
    text, problem = typeset_page(page("plain"), record(solutions=[]), "../../_static")
    assert problem is None
    assert f'data-solution="{encode("plain")}"' in text
    assert 'url("../../_static/mathjax/f.woff")' in text


def test_a_record_that_does_not_fit_leaves_the_page_to_mathjax():
    original = page()
    for change, why in [({"math": ["<mjx-container/>"]}, "2 formulas in the file, 1 typeset"),
                        ({"failed": ["\\(\\frac{\\)"]}, "could not typeset"),
                        ({"elsewhere": 3}, "3 formulas outside")]:
        text, problem = typeset_page(original, record(**change), "..")
        assert text == original
        assert problem and why in problem, problem
    no_scripts = original.replace(HEAD, "<head></head>")
    text, problem = typeset_page(no_scripts, record(), "..")
    assert text == no_scripts and "0 of MathJax's 2 scripts" in problem
