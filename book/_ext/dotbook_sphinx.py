"""Sphinx glue for the book: serve plotly.js and the twin-slider script from
the site itself (no CDN), once per page, from the installed plotly package;
and a few accessibility repairs of the theme's HTML (axe-core, see issue 8)."""

from __future__ import annotations

import shutil
from pathlib import Path

from sphinx.application import Sphinx

_HERE = Path(__file__).parent / "static"
_TEMPLATES = Path(__file__).parent / "templates"


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


def _is_thebe(asset: object) -> bool:
    name = str(getattr(asset, "filename", asset) or "")
    body = str(getattr(asset, "attributes", {}).get("body", ""))
    return "thebe" in name or "THEBE_JS_URL" in body


def _drop_thebe(app: Sphinx, pagename: str, templatename: str, context: dict,
                doctree: object) -> None:
    """The book uses launch buttons, not Thebe. sphinx-thebe (pulled in by Jupyter
    Book) still injects its config script, twice, which is a console error on
    every page ('THEBE_JS_URL has already been declared'); remove it."""
    for key in ("script_files", "css_files"):
        if key in context:
            context[key] = [a for a in context[key] if not _is_thebe(a)]


def _accessible_body(app: Sphinx, pagename: str, templatename: str, context: dict,
                     doctree: object) -> None:
    """Docutils writes a bibliography as ``<div role="list">`` whose entries carry
    ``role="doc-biblioentry"``, a role ARIA has deprecated, so the list has no
    ``listitem`` children (axe ``aria-required-children``, critical). The entries
    are list items: say so."""
    body = context.get("body")
    if isinstance(body, str) and 'role="doc-biblioentry"' in body:
        context["body"] = body.replace('role="doc-biblioentry"', 'role="listitem"')


def _add_templates(app: Sphinx, config: object) -> None:
    """Our template overrides (``templates/``): a landmark around the sidebar's home link."""
    path = str(_TEMPLATES)
    if path not in config.templates_path:
        config.templates_path.append(path)


def setup(app: Sphinx) -> dict[str, object]:
    # plotly.js must load before the inline figure scripts run: no defer.
    app.add_js_file("plotly.min.js", priority=200)
    app.add_js_file("dotbook-twin.js", priority=210)
    app.add_css_file("dotbook.css")
    app.connect("build-finished", _copy_assets)
    app.connect("html-page-context", _drop_thebe)
    app.connect("html-page-context", _accessible_body)
    app.connect("config-inited", _add_templates)
    # after the build: the reader notebooks (book/_ext/reader_notebooks.py)
    from reader_notebooks import on_build_finished

    app.connect("build-finished", on_build_finished)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
