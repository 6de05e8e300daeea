"""Measure the book against the bars of DESIGN.md §7 and print one table.

    make bench            # or: .venv/bin/python tools/bench.py [--skip-build]

Rows: clean build, cached rebuild, each notebook's execution, each page's HTML
and the shared assets, each live callback (median / p95 over 50 moves), each
static slider step's redraw in Chromium (median / p95).
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from support import CHAPTERS, HTML, ROOT, chromium, serve  # noqa: E402

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
    import dotbook.figures as figures

    for info in pkgutil.iter_modules(figures.__path__):
        module = importlib.import_module(f"dotbook.figures.{info.name}")
        for name in sorted(dir(module)):
            if name.endswith("_twin") and callable(getattr(module, name)):
                yield f"{info.name}.{name}", getattr(module, name)()


def live_latency(twin, moves: int = 50) -> tuple[float, float]:
    panel = twin.live()
    panel.update()  # warm-up
    times = []
    for i in range(moves):
        frac = (i + 0.5) / moves
        values = {}
        for p in twin.params:
            if p.log:
                value = p.lo * (p.hi / p.lo) ** frac
            else:
                value = p.lo + frac * (p.hi - p.lo)
            values[p.name] = int(round(value)) if p.integer else value
        start = time.perf_counter()
        panel.update(**values)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3, _p95(times) * 1e3


def _p95(xs: list[float]) -> float:
    return statistics.quantiles(xs, n=20)[-1] if len(xs) >= 2 else xs[0]


REDRAW_JS = """
async (i) => {
  // what a slider move runs in the book: dotbook-twin.js shows the frame
  const gd = document.querySelectorAll('.js-plotly-plot')[i];
  const names = gd._transitionData._frames.map(f => f.name);
  const times = [];
  for (const name of names.filter((_, k) => k % 2 === 0).slice(0, 40)) {
    const t0 = performance.now();
    await window.dotbookTwin.show(gd, name.split('-').map(Number));
    await new Promise(r => requestAnimationFrame(() => r()));
    times.push(performance.now() - t0);
  }
  return times;
}
"""


def browser_redraws() -> list[tuple[str, list[float]]]:
    from playwright.sync_api import sync_playwright

    results = []
    with (serve(HTML) as url, tempfile.TemporaryDirectory() as profile,
          sync_playwright() as p):
        context = chromium(p, profile)
        for page_path in sorted((HTML / "book").glob("[0-9]*.html")):
            page = context.new_page()
            page.goto(f"{url}/book/{page_path.name}")
            page.wait_for_timeout(800)
            count = page.evaluate("document.querySelectorAll('.js-plotly-plot').length")
            for i in range(count):
                has_frames = page.evaluate(
                    "i => (document.querySelectorAll('.js-plotly-plot')[i]._transitionData"
                    "._frames || []).length", i)
                if has_frames:
                    page.locator(".js-plotly-plot").nth(i).scroll_into_view_if_needed()
                    results.append((f"{page_path.stem} fig {i}", page.evaluate(REDRAW_JS, i)))
            page.close()
        context.close()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-build", action="store_true", help="use the existing _build")
    args = parser.parse_args()
    rows: list[Row] = []
    if not args.skip_build:
        clean = build(clean=True)
        rows.append(("clean `make book` (execute + HTML)", f"{clean:.1f} s", "≤ 180 s",
                     verdict(clean <= 180)))
        cached = build(clean=False)
        rows.append(("cached rebuild (execution cache kept)", f"{cached:.1f} s", "≤ 20 s",
                     verdict(cached <= 20)))
    for path in CHAPTERS:
        for mode, flag in (("book build", True), ("live", False)):
            seconds = notebook_seconds(path, flag)
            rows.append((f"execute {path.name} ({mode}, incl. kernel start)", f"{seconds:.1f} s",
                         "≤ 20 s", verdict(seconds <= 20)))
    for page in sorted(HTML.rglob("*.html")):
        if page.relative_to(HTML).parts[0].startswith("_"):
            continue
        size = page.stat().st_size / 1e6
        rows.append((f"page {page.relative_to(HTML)}", f"{size:.2f} MB", "≤ 1.5 MB",
                     verdict(size <= 1.5)))
    static = sum(f.stat().st_size for f in (HTML / "_static").rglob("*") if f.is_file()) / 1e6
    rows.append(("shared assets `_static/` (cached once)", f"{static:.1f} MB", "—", "info"))
    for name, twin in twins():
        median, p95 = live_latency(twin)
        rows.append((f"live callback {name}", f"median {median:.1f} ms, p95 {p95:.1f} ms",
                     "≤ 50 / 100 ms", verdict(median <= 50 and p95 <= 100)))
    for name, times in browser_redraws():
        median, p95 = statistics.median(times), _p95(times)
        rows.append((f"static slider redraw {name}", f"median {median:.1f} ms, p95 {p95:.1f} ms",
                     "≤ 50 ms", verdict(median <= 50)))
    width = max(len(r[0]) for r in rows)
    print(f"| {'what'.ljust(width)} | measured | bar | |")
    print(f"|{'-' * (width + 2)}|---|---|---|")
    for what, measured, bar, ok in rows:
        print(f"| {what.ljust(width)} | {measured} | {bar} | {ok} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
