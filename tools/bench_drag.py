"""Per-frame script time of the draggable figures (issue 29) in Chromium, and of their live face.

    .venv/bin/python tools/bench_drag.py           # a standalone page, no book build needed
    .venv/bin/python tools/bench_drag.py --book    # the built book (_build/html or DOTBOOK_HTML)

A drag frame is what ``dotbook-drag.js`` runs for one pointer or key move: the
readout port, the plotly relayout (and restyle) of the moved pieces, the handles
and the readout panel. It runs synchronously, so its script time is measured by
``performance.now()`` around ``dotbookDrag.move`` over 120 moves along a loop
(median and p95); the bar is 8 ms (a 60 fps frame leaves about that for script).
The live face's row times ``DragPanel.update`` in Python (no browser).
``tools/bench.py`` prints these rows with its figure rows.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from dotbook._browser import HTML, chromium, serve  # noqa: E402

Row = tuple[str, str, str, str]
BAR_MS = 8.0
MOVES = 120

FRAMES_JS = """
(moves) => {
  const out = [];
  document.querySelectorAll('.js-plotly-plot').forEach(gd => {
    const st = gd._dotbookDrag;
    if (!st) { return; }
    const name = st.meta.order[st.meta.order.length - 1];
    const at = i => { const t = 2 * Math.PI * i / moves, r = 1 + 3 * Math.abs(Math.sin(3 * t));
                      return [r * Math.cos(t), r * Math.sin(t)]; };
    // script alone (the frame only writes to the page), and script + the layout it causes
    const script = [], layout = [];
    for (let i = 0; i < moves; i++) {
      const t0 = performance.now();
      window.dotbookDrag.move(gd, name, at(i));
      script.push(performance.now() - t0);
    }
    for (let i = 0; i < moves; i++) {
      const t0 = performance.now();
      window.dotbookDrag.move(gd, name, at(i));
      document.body.offsetHeight;  // force style and layout now
      layout.push(performance.now() - t0);
    }
    out.push([st.meta.kind, script, layout]);
  });
  return out;
}
"""


def drags() -> list[tuple[str, object]]:
    """Every draggable figure of the book, built at its defaults."""
    from dotbook.figures import ch01

    out: list[tuple[str, object]] = [("ch01.pair_drag", ch01.pair_drag())]
    try:
        from dotbook.figures import ch07
        out.append(("ch07.query_drag", ch07.query_drag()))
    except (ImportError, AttributeError):
        pass
    return out


def standalone_page(directory: Path) -> Path:
    """One page with every drag figure's static face, plotly.min.js and the book's scripts."""
    import plotly

    from dotbook import plots

    shutil.copy(Path(plotly.__file__).parent / "package_data" / "plotly.min.js", directory)
    for script in ("dotbook-twin.js", "dotbook-drag.js"):
        shutil.copy(ROOT / "src" / "dotbook" / "static" / script, directory)
    body = "\n".join(f'<section data-drag="{name}">{plots.to_book_html(d.static())}</section>'
                     for name, d in drags())
    page = directory / "index.html"
    page.write_text('<!doctype html><html><head><meta charset="utf-8">'
                    '<script src="plotly.min.js"></script></head><body style="width:760px">'
                    f'{body}<script src="dotbook-twin.js"></script>'
                    '<script src="dotbook-drag.js"></script></body></html>', encoding="utf-8")
    return page


def _frames_on(url: str, context) -> list[tuple[str, list[float]]]:
    page = context.new_page()
    page.goto(url)
    page.evaluate("() => window.dotbookTwin.drawAll()")  # each figure drawn live
    page.wait_for_function("() => document.querySelectorAll('[data-dotbook-drag]').length > 0",
                           timeout=30_000)
    page.wait_for_timeout(500)
    page.evaluate(FRAMES_JS, 20)  # warm-up (JIT, first layout)
    results = page.evaluate(FRAMES_JS, MOVES)
    page.close()
    return [(kind, script, layout) for kind, script, layout in results]


def browser_frames(book: bool) -> list[tuple[str, list[float], list[float]]]:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as profile, \
            tempfile.TemporaryDirectory() as directory, sync_playwright() as p:
        context = chromium(p, profile)
        try:
            if book:
                with serve(HTML) as url:
                    results = []
                    for path in sorted((HTML / "book").glob("[0-9]*.html")):
                        if "dotbook-drag.js" in path.read_text(encoding="utf-8"):
                            results += _frames_on(f"{url}/book/{path.name}", context)
                    return results
            standalone_page(Path(directory))
            with serve(Path(directory)) as url:
                return _frames_on(f"{url}/index.html", context)
        finally:
            context.close()


def live_update_ms(drag: object, moves: int = 50) -> tuple[float, float]:
    """Median and p95 of ``DragPanel.update`` (the live face's drag callback), in ms."""
    panel = drag.live()
    name = list(drag.points)[-1]
    times = []
    for i in range(moves):
        xy = (3 * ((i * 7) % 11) / 11 - 1.5, 3 * ((i * 5) % 13) / 13 - 1.5)
        start = time.perf_counter()
        panel.update(**{name: xy})
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times), statistics.quantiles(times, n=20)[-1]


def drag_rows(book: bool = False) -> list[Row]:
    rows: list[Row] = []
    where = " (built book)" if book else ""
    for kind, script, layout in browser_frames(book):
        # performance.now() is coarse (0.1 ms): the mean of the moves is the finer number
        mean, p95 = statistics.mean(script), statistics.quantiles(script, n=20)[-1]
        rows.append((f"drag frame ({kind}), script time in Chromium{where}",
                     f"mean {mean:.2f} ms, p95 {p95:.2f} ms", f"≤ {BAR_MS:g} ms",
                     "ok" if mean <= BAR_MS and p95 <= BAR_MS else "OVER"))
        mean, p95 = statistics.mean(layout), statistics.quantiles(layout, n=20)[-1]
        rows.append((f"drag frame ({kind}), script + forced layout{where}",
                     f"mean {mean:.2f} ms, p95 {p95:.2f} ms", "—", "info"))
    for name, drag in drags():
        median, p95 = live_update_ms(drag)
        rows.append((f"live drag callback {name}", f"median {median:.1f} ms, p95 {p95:.1f} ms",
                     "≤ 50 / 100 ms", "ok" if median <= 50 and p95 <= 100 else "OVER"))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--book", action="store_true", help="measure on the built book")
    args = parser.parse_args()
    for what, measured, bar, ok in drag_rows(book=args.book):
        print(f"| {what} | {measured} | {bar} | {ok} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
