"""The plotly.js the book serves (dotbook._build.plotly_bundle) draws every trace
type the book uses: every registered twin's (all frames) and, once the book is
built, every figure on every page."""

from __future__ import annotations

import pytest

from dotbook import _build
from dotbook.figures import all_twins

#: plotly.js-cartesian-dist-min's trace modules, as its README lists them.
CARTESIAN = {"bar", "box", "contour", "heatmap", "histogram", "histogram2d",
             "histogram2dcontour", "image", "pie", "scatter", "scatterternary", "violin"}


def twin_trace_types() -> dict[str, set[str]]:
    """``{trace type: twins that draw it}`` over every frame of every registered twin."""
    found: dict[str, set[str]] = {}
    for name, factory in all_twins().items():
        fig = factory().static()
        fig = fig.to_plotly_json() if hasattr(fig, "to_plotly_json") else fig
        traces = list(fig["data"]) + [t for f in fig.get("frames") or [] for t in f["data"]]
        for t in traces:
            found.setdefault(t.get("type") or "scatter", set()).add(name)
    return found


def test_every_twin_trace_type_is_in_the_partial_bundle():
    used = twin_trace_types()
    missing = {t: sorted(names) for t, names in used.items() if t not in CARTESIAN}
    assert _build.PARTIAL == "cartesian"
    assert not missing, f"trace types not in plotly.js-{_build.PARTIAL}: {missing}"


def test_the_bundle_reader_finds_trace_modules(tmp_path):
    js = tmp_path / "p.js"
    js.write_text('x={moduleType:"trace",name:"bar",basePlotModule:1};'
                  'y={moduleType:"trace",name:"heatmap"}', encoding="utf-8")
    assert _build.trace_types(js) == {"bar", "heatmap"}


def test_the_fallback_is_the_full_bundle_and_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr(_build.shutil, "which", lambda name: None)
    said: list[str] = []
    path, name, traces = _build.plotly_bundle(tmp_path, log=said.append)
    assert path == _build.full_bundle() and traces is None
    assert name == f"plotly-{_build.plotlyjs_version()}.min.js"
    assert "npm is not installed" in said[0] and "full plotly.js" in said[0]


def test_a_cached_partial_bundle_is_used_without_npm(tmp_path, monkeypatch):
    version = _build.plotlyjs_version()
    cached = tmp_path / f"plotly-{_build.PARTIAL}-{version}.min.js"
    cached.write_text(f'/* plotly.js v{version} */ {{moduleType:"trace",name:"scatter"}}',
                      encoding="utf-8")
    monkeypatch.setattr(_build.shutil, "which", lambda name: None)
    path, name, traces = _build.plotly_bundle(tmp_path, log=lambda _: None)
    assert (path, name, traces) == (cached, cached.name, {"scatter"})


def test_the_served_bundle_holds_every_trace_on_every_built_page():
    from support import HTML

    served = sorted((HTML / "_static").glob("plotly*.js")) if HTML.exists() else []
    if not served:
        pytest.skip("no built book (make book)")
    assert len(served) == 1, served
    have = _build.trace_types(served[0])
    if "cartesian" in served[0].name:
        assert have == CARTESIAN
    for page in HTML.rglob("*.html"):
        used = _build.page_trace_types(page.read_text(encoding="utf-8"))
        assert used <= have, (page.name, used - have)
