"""Measure the book against the bars of README "Performance" and print one table.

    make bench            # or: .venv/bin/python tools/bench.py [--skip-build]
    .venv/bin/python tools/bench.py --figures-only   # figure rows alone, no build
    .venv/bin/python tools/bench.py --test           # also time `make test`
    .venv/bin/python tools/bench.py --visits-only    # first visits and the phone alone

Rows: clean build, cached rebuild, each chapter's execution under the clean
build (read from the execution cache) and alone, the fixed cost per chapter
(kernel start and setup cell), `make test` wall time with --test, each page's
HTML and the shared assets, each page's first visit with an empty cache (requests,
raw and gzipped bytes; scripts fetched twice going chapter to chapter) and on a
390 px phone with the CPU slowed 4× (the reader scrolling to each figure in turn:
seconds until the first screen is drawn, the longest wait for a figure in view, and
until the last figure is drawn), each
live callback (median / p95 over 50 moves), each static slider step's redraw in
Chromium (median / p95), each draggable figure's drag frame (script time in Chromium,
bar 8 ms) and live drag callback (``tools/bench_drag.py``).

The figure rows cover every twin registered in ``dotbook.figures.all_twins()``.
Each is also given as a ratio to a reference measured in the same run (a
one-trace, two-point twin: its live callback, and its static redraw), so that
numbers from hosts of different speed can be compared. The live rows also show
the old path (the figure validated through ``go.Figure`` and every trace and
layout key sent on every move) beside the dict path the book uses.
"""

from __future__ import annotations

import argparse
import gzip
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from dotbook._browser import CHAPTERS, HTML, ROOT, chromium, serve

Row = tuple[str, str, str, str]  # what, measured, bar, verdict


def verdict(ok: bool) -> str:
    return "ok" if ok else "OVER"


def build(clean: bool) -> float:
    if clean:
        shutil.rmtree(ROOT / "_build", ignore_errors=True)
    else:  # keep the execution cache, re-render everything else
        for sub in ("html", ".doctrees", "jupyter_execute"):
            shutil.rmtree(ROOT / "_build" / sub, ignore_errors=True)
    start = time.perf_counter()
    subprocess.run(["make", "-s", "book"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def notebook_seconds(path: Path, book_build: bool) -> float:
    import nbformat
    from nbclient import NotebookClient

    env_before = os.environ.get("DOTBOOK_BUILD")
    os.environ["DOTBOOK_BUILD"] = "1" if book_build else "0"
    try:
        nb = nbformat.read(path, as_version=4)
        start = time.perf_counter()
        NotebookClient(nb, timeout=600, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
        return time.perf_counter() - start
    finally:
        if env_before is None:
            os.environ.pop("DOTBOOK_BUILD", None)
        else:
            os.environ["DOTBOOK_BUILD"] = env_before


def twins():
    """Every registered twin (``dotbook.figures.all_twins``), built."""
    import dotbook.figures as figures

    for name, factory in figures.all_twins().items():
        yield name, factory()


def _reference_twin():
    """The yardstick for both kinds of figure rows: one trace of two points."""
    from dotbook import plots
    from dotbook.explore import Param, Twin

    sk = plots.skeleton(alt="reference: one line", height=300,
                        axes={"xaxis": {"title": "x", "range": [0, 1]},
                              "yaxis": {"title": "y", "range": [-1, 1]}})

    def line(s: float) -> dict:
        return plots.assemble(sk, [dict(type="scatter", x=[0, 1], y=[0, s], mode="lines")],
                              title="reference")

    return Twin(line, [Param("s", "slope", tuple(x / 10 for x in range(-10, 11)))])


def _moves(twin, moves: int):
    """``moves`` slider positions sweeping every slider across its live range together."""
    for i in range(moves):
        frac = (i + 0.5) / moves
        values = {}
        for p in twin.params:
            if p.categorical:  # labelled choices (issue 22): sweep them in order
                values[p.name] = p.values[min(int(frac * len(p.values)), len(p.values) - 1)]
                continue
            value = p.lo * (p.hi / p.lo) ** frac if p.log else p.lo + frac * (p.hi - p.lo)
            values[p.name] = int(round(value)) if p.integer else value
        yield values


def live_latency(twin, moves: int = 50, old_path: bool = False) -> tuple[float, float]:
    """Median and p95 (ms) of the live callback over ``moves`` slider moves.

    ``old_path``: what the callback cost before the dict idiom (issue 7): the
    figure validated through ``go.Figure`` and every trace and layout key
    pushed to the widget on every move.
    """
    import plotly.graph_objects as go

    panel = twin.live()
    panel.update()  # warm-up
    times = []
    for values in _moves(twin, moves):
        start = time.perf_counter()
        if old_path:
            new = go.Figure(twin.data(**values)).to_plotly_json()
            with panel.figure.batch_update():
                for trace, fresh in zip(panel.figure.data, new["data"], strict=True):
                    trace.update({k: v for k, v in fresh.items() if k != "type"})
                panel.figure.layout.update(
                    {k: v for k, v in new["layout"].items() if k not in ("template", "meta")})
        else:
            panel.update(**values)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3, _p95(times) * 1e3


def _p95(xs: list[float]) -> float:
    return statistics.quantiles(xs, n=20)[-1] if len(xs) >= 2 else xs[0]


REDRAW_JS = """
async (i) => {
  // what a slider move runs in the book: dotbook-twin.js shows the frame
  const gd = document.querySelectorAll('.js-plotly-plot')[i];
  const every = gd._transitionData._frames.map(f => f.name);
  // every other frame (each step changes something), cycled to at least 30 redraws
  let names = every.filter((_, k) => k % 2 === 0 || every.length < 4);
  while (names.length < 30) { names = names.concat(names); }
  const times = [];
  for (const name of names.slice(0, 40)) {
    const t0 = performance.now();
    await window.dotbookTwin.show(gd, name.split('-').map(Number));
    await new Promise(r => requestAnimationFrame(() => r()));
    times.push(performance.now() - t0);
  }
  return times;
}
"""


def _redraws_on(url: str, context, label: str) -> list[tuple[str, list[float]]]:
    page = context.new_page()
    page.goto(url)
    page.evaluate("() => window.dotbookTwin && window.dotbookTwin.drawAll()")
    results = []
    count = page.evaluate("document.querySelectorAll('.js-plotly-plot').length")
    for i in range(count):
        name = page.evaluate(
            "i => document.querySelectorAll('.js-plotly-plot')[i].closest('[data-twin]')"
            "?.dataset.twin || null", i) or f"{label} fig {i}"
        has_frames = page.evaluate(
            "i => (document.querySelectorAll('.js-plotly-plot')[i]._transitionData"
            "._frames || []).length", i)
        if has_frames:
            page.locator(".js-plotly-plot").nth(i).scroll_into_view_if_needed()
            results.append((name, page.evaluate(REDRAW_JS, i)))
    page.close()
    return results


def browser_redraws() -> list[tuple[str, list[float]]]:
    """Static slider redraws on every page of the built book."""
    from playwright.sync_api import sync_playwright

    results = []
    with (serve(HTML) as url, tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as profile,
          sync_playwright() as p):
        context = chromium(p, profile)
        for page_path in sorted((HTML / "book").glob("[0-9]*.html")):
            results += _redraws_on(f"{url}/book/{page_path.name}", context, page_path.stem)
        context.close()
    return results


def standalone_page(named_twins, directory: Path) -> Path:
    """One HTML page with every twin's static face, as the book shows it (plotly.min.js
    from the installed plotly package, ``src/dotbook/static/dotbook-twin.js``), so static
    redraws can be measured without building the book."""
    import plotly

    from dotbook import plots

    shutil.copy(Path(plotly.__file__).parent / "package_data" / "plotly.min.js", directory)
    shutil.copy(ROOT / "src" / "dotbook" / "static" / "dotbook-twin.js", directory)
    body = "\n".join(f'<section data-twin="{name}">{plots.to_book_html(twin.static())}</section>'
                     for name, twin in named_twins)
    page = directory / "index.html"
    page.write_text('<!doctype html><html><head><meta charset="utf-8">'
                    '<script src="plotly.min.js"></script></head><body style="width:900px">'
                    f'{body}<script src="dotbook-twin.js"></script></body></html>',
                    encoding="utf-8")
    return page


def standalone_redraws(named_twins) -> list[tuple[str, list[float]]]:
    from playwright.sync_api import sync_playwright

    with (tempfile.TemporaryDirectory() as directory,
          tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as profile):
        standalone_page(named_twins, Path(directory))
        with serve(Path(directory)) as url, sync_playwright() as p:
            context = chromium(p, profile)
            results = _redraws_on(f"{url}/index.html", context, "standalone")
            context.close()
    return results


def figure_rows(standalone: bool = False, old_path: bool = True) -> list[Row]:
    """Live callbacks and static redraws of every registered twin, each also as a
    ratio to a reference measured in the same run (so hosts can be compared):
    the minimal one-trace twin's live callback, and its static redraw."""
    rows: list[Row] = []
    named = list(twins())
    ref_median, ref_p95 = live_latency(_reference_twin())
    rows.append(("live callback: reference (one 2-point trace)",
                 f"median {ref_median:.2f} ms, p95 {ref_p95:.2f} ms", "—", "info"))
    for name, twin in named:
        median, p95 = live_latency(twin)
        rows.append((f"live callback {name}",
                     f"median {median:.1f} ms, p95 {p95:.1f} ms "
                     f"(×{median / ref_median:.0f} / ×{p95 / ref_p95:.0f} reference)",
                     "≤ 50 / 100 ms", verdict(median <= 50 and p95 <= 100)))
        if old_path:
            median, p95 = live_latency(twin, old_path=True)
            rows.append((f"live callback {name}, old path (go.Figure, full update)",
                         f"median {median:.1f} ms, p95 {p95:.1f} ms", "—", "info"))
    if standalone:
        timings = standalone_redraws([("reference", _reference_twin()), *named])
    else:
        timings = standalone_redraws([("reference", _reference_twin())]) + browser_redraws()
    ref = statistics.median(dict(timings).get("reference", [math.nan]))
    for name, times in timings:
        median, p95 = statistics.median(times), _p95(times)
        if name == "reference":
            rows.append(("static slider redraw: reference (one 2-point trace)",
                         f"median {median:.1f} ms, p95 {p95:.1f} ms", "—", "info"))
            continue
        rows.append((f"static slider redraw {name}",
                     f"median {median:.1f} ms, p95 {p95:.1f} ms (×{median / ref:.1f} reference)",
                     "≤ 50 ms", verdict(median <= 50)))
    # the draggable figures (issue 29): per-frame script time in Chromium, live callbacks
    from bench_drag import drag_rows

    rows += drag_rows(book=not standalone)
    return rows


# ------------------------------------------------------- a reader's first visit
PHONE = {"width": 390, "height": 844}
THROTTLE = 4  # CDP Emulation.setCPUThrottlingRate: a mid-range phone on a laptop's core

#: figure i drawn live by plotly
DRAWN_JS = """i => { const f = document.querySelectorAll('.dotbook-figure')[i];
                      const gd = f && f.querySelector('.js-plotly-plot');
                      return !!(gd && gd._fullLayout && gd.querySelector('.main-svg')); }"""
#: figure i on the screen: drawn live, or its picture (book/_ext/dotbook_pictures.py) loaded
SHOWN_JS = """i => { const f = document.querySelectorAll('.dotbook-figure')[i];
                     const img = f && f.querySelector('img.dotbook-picture');
                     return (!!img && img.complete && img.naturalWidth > 0)
                            || (""" + DRAWN_JS + """)(i); }"""


def book_pages(html: Path = HTML) -> list[str]:
    """Every page a reader visits (not the root's redirect to the intro)."""
    return sorted(str(p.relative_to(html)) for p in html.rglob("*.html")
                  if not p.relative_to(html).parts[0].startswith("_")
                  and 'http-equiv="refresh"' not in p.read_text(encoding="utf-8")[:2000].lower())


def _gzipped(path: Path, cache: dict[Path, tuple[int, int]]) -> tuple[int, int]:
    if path not in cache:
        data = path.read_bytes()
        cache[path] = (len(data), len(gzip.compress(data, 6)))
    return cache[path]


def first_visit(context, url: str, html: Path, sizes: dict) -> dict:
    """Requests, bytes (raw, and gzipped as a server would send them) and the files
    fetched when ``url`` is opened with an empty cache and left until quiet."""
    from urllib.parse import unquote, urlparse

    page = context.new_page()
    fetched: list[str] = []
    page.on("requestfinished", lambda r: fetched.append(r.url))
    page.goto(url, wait_until="load")
    page.wait_for_timeout(1500)  # MathJax's components and fonts, lazy figures' plotly
    page.close()
    raw = packed = 0
    files = []
    for u in fetched:
        path = html / unquote(urlparse(u).path).lstrip("/")
        if path.is_dir():
            path = path / "index.html"
        if path.is_file():
            r, g = _gzipped(path, sizes)
            raw, packed = raw + r, packed + g
            query = urlparse(u).query
            files.append(str(path.relative_to(html)) + (f"?{query}" if query else ""))
    return {"requests": len(fetched), "raw": raw, "gzip": packed, "files": files}


def throttled_draw(playwright, url: str) -> tuple[float, float, float, int, int]:
    """On a 390 px phone with the CPU slowed ``THROTTLE``×, each page in a fresh profile
    (an empty cache), the reader scrolling to each figure in turn as soon as the page has
    loaded (``load``), waiting until it is on the screen (its picture, or the figure
    drawn live): seconds from navigation until the figures of the first screen are
    shown; the longest wait, in seconds, between scrolling a figure into view and its
    being shown; seconds from navigation until the last figure is shown; seconds from
    the reader's tap on the last figure until plotly has drawn it live (plotly.js
    fetched and started, the figure drawn); the number of figures, and of those on the
    first screen."""
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as profile:
        context = chromium(playwright, profile, viewport=PHONE, device_scale_factor=3,
                           is_mobile=True, has_touch=True)
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("Emulation.setCPUThrottlingRate", {"rate": THROTTLE})
        page.goto(url, wait_until="load", timeout=120_000)
        count = page.evaluate("document.querySelectorAll('.dotbook-figure').length")
        # on the first screen: laid out (not in a section far below, which the browser
        # lays out only when it comes near: content-visibility), and above its bottom
        visible = page.evaluate("""() => [...document.querySelectorAll('.dotbook-figure')]
            .map((f, i) => (!f.checkVisibility || f.checkVisibility({contentVisibilityAuto: true}))
                           && f.getBoundingClientRect().top < innerHeight ? i : -1)
            .filter(i => i >= 0)""")
        for i in visible:
            page.wait_for_function(SHOWN_JS, arg=i, polling=50, timeout=120_000)
        first = page.evaluate("performance.now()") / 1e3
        wait = 0.0
        for i in range(count):
            start = page.evaluate("i => { document.querySelectorAll('.dotbook-figure')[i]"
                                  ".scrollIntoView({block: 'center'}); return performance.now(); }",
                                  i)
            page.wait_for_function(SHOWN_JS, arg=i, polling=50, timeout=120_000)
            wait = max(wait, (page.evaluate("performance.now()") - start) / 1e3)
        every = page.evaluate("performance.now()") / 1e3
        live = math.nan
        if count:
            start = page.evaluate("i => { const t = performance.now();"
                                  " document.querySelectorAll('.dotbook-figure')[i].click();"
                                  " return t; }", count - 1)
            page.wait_for_function(DRAWN_JS, arg=count - 1, polling=50, timeout=120_000)
            live = (page.evaluate("performance.now()") - start) / 1e3
        context.close()
    return first, wait, every, live, count, len(visible)


def visit_rows(html: Path = HTML, throttled: bool = True,
               only: str | None = None) -> list[Row]:
    """Each page's first visit (requests, raw and gzipped bytes), what a second
    chapter downloads again after the first, and the throttled phone's draw times;
    ``only``: the pages whose path contains one of these comma-separated strings."""
    from playwright.sync_api import sync_playwright

    rows: list[Row] = []
    sizes: dict = {}
    pages = book_pages(html)
    if only:
        pages = [q for q in pages if any(s and s in q for s in only.split(","))]
    with serve(html) as url, sync_playwright() as p:
        visits = {}
        for path in pages:
            with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as profile:
                context = chromium(p, profile)
                visits[path] = first_visit(context, f"{url}/{path}", html, sizes)
                context.close()
            v = visits[path]
            print(f"{path}: {v['requests']} requests, {v['gzip'] / 1e6:.2f} MB gzipped",
                  file=sys.stderr)
            chapter = Path(path).name[:2].isdigit()
            bar = 1.2 if chapter else 0.5
            rows.append((f"first visit {path}: requests, raw, gzipped",
                         f"{v['requests']}, {v['raw'] / 1e6:.2f} MB, {v['gzip'] / 1e6:.2f} MB",
                         f"gzip ≤ {bar} MB", verdict(v["gzip"] / 1e6 <= bar)))
        chapters = [q for q in pages if Path(q).name[:2].isdigit()]
        again = set()
        for a, b in zip(chapters, chapters[1:], strict=False):
            # the same file under two URLs (a ?v= on one page only) is fetched twice
            def scripts(q):
                return {f for f in visits[q]["files"] if f.split("?")[0].endswith(".js")}

            seen = {f.split("?")[0] for f in scripts(a)}
            again |= {f for f in scripts(b) - scripts(a) if f.split("?")[0] in seen}
        rows.append(("scripts fetched twice moving chapter to chapter", ", ".join(sorted(again))
                     or "none", "none", verdict(not again)))
        if throttled:
            for path in pages:
                first, wait, every, live, count, visible = throttled_draw(p, f"{url}/{path}")
                print(f"{path}: first screen {first:.1f} s, longest wait {wait:.1f} s, "
                      f"last figure {every:.1f} s, live after a tap {live:.1f} s", file=sys.stderr)
                rows.append((f"phone 390 px, CPU {THROTTLE}× slower, scrolling to each figure "
                             f"once loaded: {path} ({count} figures)",
                             f"first screen ({visible} figures) shown {first:.1f} s, "
                             f"longest wait in view {wait:.1f} s, last figure shown {every:.1f} s; "
                             f"a tap on it: drawn live {live:.1f} s later",
                             "last figure shown ≤ 4 s" if count else "—",
                             verdict(every <= 4) if count else "info"))
    return rows


def build_rows(clean_seconds: float) -> list[Row]:
    """Each chapter's execution time as the clean build recorded it (two at a time,
    tools/execute_chapters.py), and the whole book's execution and render split."""
    from execute_chapters import execution_seconds

    seconds = execution_seconds(ROOT / "_build" / ".jupyter_cache")
    rows: list[Row] = []
    for path in CHAPTERS:
        took = seconds.get(path.name)
        shown = f"{took:.1f} s" if took is not None else "not in the cache"
        rows.append((f"execute {path.name} (under the clean build, two at a time)", shown,
                     "≤ 20 s", verdict(took is not None and took <= 20)))
    total = sum(seconds.values())
    rows.append(("all chapters' execution, summed (the build runs two at a time)",
                 f"{total:.1f} s", "—", "info"))
    per_chapter = clean_seconds / max(len(CHAPTERS), 1)
    rows.append(("clean build per chapter", f"{per_chapter:.1f} s", "≤ 15 s (12 in 180 s)",
                 verdict(per_chapter <= 15)))
    return rows


SETUP_ONLY = "from dotbook import notebook\nbook = notebook.setup(seed=0)"


def fixed_cost(repeats: int = 3) -> float:
    """Median seconds for a notebook holding only a chapter's setup (kernel start,
    ``import torch``, ``import dotbook``, seeding), as the book build runs it."""
    import nbformat
    from nbclient import NotebookClient

    times = []
    for _ in range(repeats):
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(SETUP_ONLY)])
        os.environ["DOTBOOK_BUILD"] = "1"
        start = time.perf_counter()
        NotebookClient(nb, timeout=120, kernel_name="python3").execute()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def test_rows() -> list[Row]:
    """Wall time of `make test`, and its projection to twelve chapters."""
    start = time.perf_counter()
    done = subprocess.run(["make", "-s", "test"], cwd=ROOT, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    rows: list[Row] = [("`make test` wall time" + ("" if done.returncode == 0 else " (FAILED)"),
                        f"{wall / 60:.1f} min", "≤ 15 min", verdict(wall <= 900))]
    # make test executes every chapter about three times (build, nbval, Colab path)
    from execute_chapters import execution_seconds

    seconds = list(execution_seconds(ROOT / "_build" / ".jupyter_cache").values())
    if seconds and len(seconds) < 12:
        projected = wall + (12 - len(seconds)) * 3 * statistics.mean(seconds)
        rows.append(("`make test` projected to 12 chapters", f"{projected / 60:.1f} min",
                     "≤ 15 min", verdict(projected <= 900)))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-build", action="store_true", help="use the existing _build")
    parser.add_argument("--test", action="store_true",
                        help="also time `make test` (the README's test command)")
    parser.add_argument("--figures-only", action="store_true",
                        help="only the figure rows; static redraws on a standalone page "
                             "(no book build needed)")
    parser.add_argument("--visits-only", action="store_true",
                        help="only each page's first visit and the throttled phone "
                             "(the built book in _build/html or DOTBOOK_HTML)")
    parser.add_argument("--no-throttle", action="store_true",
                        help="with --visits-only: bytes and requests only")
    parser.add_argument("--pages", default=None,
                        help="with --visits-only: only the pages whose path contains one "
                             "of these comma-separated strings (e.g. 01-,10-)")
    args = parser.parse_args()
    rows: list[Row] = []
    if args.visits_only:
        print_table(visit_rows(HTML, throttled=not args.no_throttle, only=args.pages))
        return 0
    if args.figures_only:
        print_table(figure_rows(standalone=True))
        return 0
    if not args.skip_build:
        clean = build(clean=True)
        rows.append(("clean `make book` (execute + HTML)", f"{clean:.1f} s", "≤ 180 s",
                     verdict(clean <= 180)))
        cached = build(clean=False)
        rows.append(("cached rebuild (execution cache kept)", f"{cached:.1f} s", "≤ 20 s",
                     verdict(cached <= 20)))
        rows += build_rows(clean)
    fixed = fixed_cost()
    rows.append(("fixed cost per chapter (kernel start + setup cell)", f"{fixed:.1f} s", "≤ 3 s",
                 verdict(fixed <= 3)))
    for path in CHAPTERS:
        for mode, flag in (("book build", True), ("live", False)):
            seconds = notebook_seconds(path, flag)
            rows.append((f"execute {path.name} ({mode}, alone, incl. kernel start)",
                         f"{seconds:.1f} s", "≤ 20 s", verdict(seconds <= 20)))
    if args.test:
        rows += test_rows()
    for page in sorted(HTML.rglob("*.html")):
        if page.relative_to(HTML).parts[0].startswith("_"):
            continue
        size = page.stat().st_size / 1e6
        rows.append((f"page {page.relative_to(HTML)}", f"{size:.2f} MB", "≤ 1.5 MB",
                     verdict(size <= 1.5)))
    static = sum(f.stat().st_size for f in (HTML / "_static").rglob("*") if f.is_file()) / 1e6
    rows.append(("shared assets `_static/` (cached once)", f"{static:.1f} MB", "—", "info"))
    rows += visit_rows(HTML)
    rows += figure_rows(standalone=args.figures_only)
    print_table(rows)
    return 0


def print_table(rows: list[Row]) -> None:
    width = max(len(r[0]) for r in rows)
    print(f"| {'what'.ljust(width)} | measured | bar | |")
    print(f"|{'-' * (width + 2)}|---|---|---|")
    for what, measured, bar, ok in rows:
        print(f"| {what.ljust(width)} | {measured} | {bar} | {ok} |")


if __name__ == "__main__":
    raise SystemExit(main())
