"""Every plotly figure on every chapter page, as drawn (issue 23).

At 1280 px and 390 px, light and dark, and with every twin's sliders at both ends:
no axis title overlaps a tick label, no legend covers a title or an axis title,
no slider sits on an axis title or tick label (bounding boxes of the SVG text),
and no visible text is smaller than the floor (10 px at desktop, 9 px on a phone).
In dark mode axe-core's colour-contrast rule passes on every chapter.

Findings also go to ``figure-audit.json`` next to the build (counts per kind),
so that a run on an older build measures what changed.

Reads ``_build/html`` (or ``DOTBOOK_HTML``), like ``test_book_browser.py``.
"""

from __future__ import annotations

import fcntl
import json
from pathlib import Path

import pytest
from support import HTML
from test_book_browser import CHAPTERS, open_page, set_theme

pytestmark = pytest.mark.browser

WIDTHS = {"desktop": ({"width": 1280, "height": 900}, 10),
          "phone": ({"width": 390, "height": 844}, 9)}
AUDIT = HTML.parent / "figure-audit.json"

# One figure's findings: pairs of overlapping text boxes and text under the floor.
AUDIT_JS = """([gd, floor]) => {
  const out = [];
  const vis = el => {
    const s = getComputedStyle(el);
    if (s.display === 'none' || s.visibility === 'hidden' || +s.opacity === 0) return false;
    const f = s.fill || '';
    if (/rgba\\(.*,\\s*0\\)$/.test(f) || f === 'transparent') return false;
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0;
  };
  const box = el => { const r = el.getBoundingClientRect();
                      return {l: r.left, r: r.right, t: r.top, b: r.bottom}; };
  const hit = (a, b) => Math.min(a.r, b.r) - Math.max(a.l, b.l) > 1.5 &&
                        Math.min(a.b, b.b) - Math.max(a.t, b.t) > 1.5;
  const texts = sel => [...gd.querySelectorAll(sel)].filter(vis);
  const label = el => (el.textContent || '').slice(0, 40);
  const titles = texts('.g-gtitle text');
  const axisTitles = [...gd.querySelectorAll('.infolayer g')]
    .filter(g => /^g-[xy]\\d*title$/.test(g.getAttribute('class') || ''))
    .flatMap(g => [...g.querySelectorAll('text')]).filter(vis);
  const ticks = texts('.xaxislayer-above text, .yaxislayer-above text');
  const legend = gd.querySelector('g.legend');
  const legendBox = legend && legend.getBoundingClientRect().height
    ? box(legend.querySelector('rect.bg') || legend) : null;
  for (const a of axisTitles) for (const t of ticks)
    if (hit(box(a), box(t))) out.push(['axis-title/ticks', label(a) + ' | ' + label(t)]);
  if (legendBox) for (const a of [...titles, ...axisTitles])
    if (hit(legendBox, box(a))) out.push(['legend/title', label(a)]);
  for (const g of gd.querySelectorAll('g.slider-group')) {
    const s = box(g);
    for (const a of [...axisTitles, ...ticks])
      if (hit(s, box(a))) out.push(['slider/axis', label(a)]);
  }
  for (const t of gd.querySelectorAll('svg text')) {
    if (!vis(t) || !(t.textContent || '').trim()) continue;
    // plotly shrinks a bar's label with a transform, not its font size
    const m = t.getScreenCTM();
    const scale = m ? Math.sqrt(Math.abs(m.a * m.d - m.b * m.c)) : 1;
    const size = parseFloat(getComputedStyle(t).fontSize) * scale;
    if (size < floor - 0.05) out.push(['small-text', label(t) + ' @' + size.toFixed(1) + 'px']);
  }
  return out;
}"""

ENDS = """([gd, end]) => { const st = gd._dotbook;
  if (!st || !st.twin) return false;
  const active = gd.layout.sliders.map(s => end ? s.steps.length - 1 : 0);
  return window.dotbookTwin.show(gd, active).then(() => true); }"""


def _record(path: str, view: str, findings: list) -> None:
    # parallel workers take turns (a lock beside the file) to read, add and write
    with open(AUDIT.with_name(AUDIT.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        data = json.loads(AUDIT.read_text()) if AUDIT.exists() else {}
        data[f"{path}@{view}"] = findings
        AUDIT.write_text(json.dumps(data, indent=1, ensure_ascii=False))


def audit(page, floor: float) -> list:
    """Findings for every figure on the page, sliders at both ends."""
    found = []
    figures = page.locator(".js-plotly-plot")
    for i in range(figures.count()):
        gd = figures.nth(i).element_handle()
        ends = [None]
        if page.evaluate("gd => !!(gd._dotbook && gd._dotbook.twin)", gd):
            ends = [0, 1]
        for end in ends:
            if end is not None:
                page.evaluate(ENDS, [gd, end])
                page.wait_for_timeout(150)
            found += [[i, end, *f] for f in page.evaluate(AUDIT_JS, [gd, floor])]
    return found


@pytest.fixture(scope="module")
def axe():
    from axe_playwright_python.sync_playwright import Axe

    return Axe()


@pytest.mark.parametrize("width", sorted(WIDTHS))
@pytest.mark.parametrize("path", CHAPTERS)
def test_figures_lay_out_without_collisions(browser, book_url, axe, path, width):
    viewport, floor = WIDTHS[width]
    page, _, _ = open_page(browser, f"{book_url}/{path}", viewport)
    findings = {}
    try:
        for theme in ("light", "dark"):
            set_theme(page, theme)
            page.wait_for_timeout(300)
            findings[theme] = audit(page, floor)
            if theme == "dark":
                result = axe.run(page, options={"runOnly": ["color-contrast"]}).response
                findings["contrast"] = [[n["target"], n.get("failureSummary", "")[:120]]
                                        for v in result["violations"] for n in v["nodes"]]
        set_theme(page, "light")
        page.evaluate("() => localStorage.removeItem('theme')")
    finally:
        page.close()
    _record(Path(path).stem, width, findings)
    assert findings["light"] == [], f"{path} at {width}, light: {findings['light'][:8]}"
    assert findings["dark"] == [], f"{path} at {width}, dark: {findings['dark'][:8]}"
    assert findings["contrast"] == [], \
        f"axe color-contrast on {path} (dark): {findings['contrast'][:6]}"
