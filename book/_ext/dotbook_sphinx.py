"""Sphinx glue for the book: serve plotly.js and the twin-slider script from
the site itself (no CDN), once per page, from the installed plotly package."""

from __future__ import annotations

import shutil
from pathlib import Path

from sphinx.application import Sphinx

_HERE = Path(__file__).parent / "static"


def _plotly_js() -> Path:
    import plotly

    path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    if not path.exists():  # pragma: no cover - a broken plotly install
        raise FileNotFoundError(f"plotly.min.js not found at {path}; reinstall plotly")
    return path


def _copy_assets(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    static = Path(app.outdir) / "_static"
    static.mkdir(parents=True, exist_ok=True)
    shutil.copy2(_plotly_js(), static / "plotly.min.js")
    shutil.copy2(_HERE / "dotbook-twin.js", static / "dotbook-twin.js")
    shutil.copy2(_HERE / "dotbook.css", static / "dotbook.css")


def setup(app: Sphinx) -> dict[str, object]:
    # plotly.js must load before the inline figure scripts run: no defer.
    app.add_js_file("plotly.min.js", priority=200)
    app.add_js_file("dotbook-twin.js", priority=210)
    app.add_css_file("dotbook.css")
    app.connect("build-finished", _copy_assets)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
