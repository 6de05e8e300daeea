"""Sphinx directives for the appendices, filled from records at build time (nothing typed).

``{verification-status}``
    One row per executed chapter: its execution time, status, the device and torch
    version its setup cell printed, and the kernel's Python, all read from the
    build's jupyter-cache (the records ``tools/execute_chapters.py`` and myst-nb
    write), plus the date of the last GPU run from ``book/gpu-runs.json``
    (``make gpu-check`` appends to it; "never" when it holds none). The table is
    filled in after every notebook has been executed (``doctree-resolved``), and
    the page is re-read on every build, so it never shows stale numbers.

``{reference-measurements}``
    Chapter 4's stored reference measurements
    (``src/dotbook/references/compute.json``, read through
    :func:`dotbook.roofline.reference`): the roofline ceilings and the
    dot-product ladder of every device in the file. The page is re-read when
    that file changes.

Registered in ``_config.yml`` under ``sphinx.local_extensions``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

LOGGER = logging.getLogger(__name__)
#: Where ``make gpu-check`` records its runs (relative to the book's source root).
GPU_RUNS = Path("book") / "gpu-runs.json"
_SETUP_LINE = re.compile(r"dotbook on (?P<device>.+?), torch (?P<torch>[^;]+);")


class verification_table(nodes.General, nodes.Element):  # noqa: N801 - docutils naming
    """Placeholder for the verification table, replaced in ``doctree-resolved``."""


def _table(header: Sequence[str], rows: Sequence[Sequence[nodes.Node | str]],
           widths: Sequence[int] | None = None) -> nodes.table:
    """A docutils table; a cell is a string or a ready inline node."""
    table = nodes.table(classes=["dotbook-appendix-table"])
    group = nodes.tgroup(cols=len(header))
    table += group
    for width in widths or [1] * len(header):
        group += nodes.colspec(colwidth=width)
    head = nodes.thead()
    group += head
    body = nodes.tbody()
    group += body
    for target, cells in ((head, [header]), (body, rows)):
        for cells_ in cells:
            row = nodes.row()
            for cell in cells_:
                entry = nodes.entry()
                entry += nodes.paragraph("", "", cell if isinstance(cell, nodes.Node)
                                         else nodes.Text(str(cell)))
                row += entry
            target += row
    return table


# ------------------------------------------------------------- verification status
class VerificationStatus(SphinxDirective):
    """``{verification-status}``: the placeholder, and the page marked always-outdated."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        env = self.env
        if not hasattr(env, "dotbook_verification_docs"):
            env.dotbook_verification_docs = set()
        env.dotbook_verification_docs.add(env.docname)
        return [verification_table()]


def _always_outdated(app: Sphinx, env: BuildEnvironment, added: set[str], changed: set[str],
                     removed: set[str]) -> list[str]:
    return sorted(getattr(env, "dotbook_verification_docs", set()) - removed)


def _purge(app: Sphinx, env: BuildEnvironment, docname: str) -> None:
    getattr(env, "dotbook_verification_docs", set()).discard(docname)


def _merge(app: Sphinx, env: BuildEnvironment, docnames: set[str],
           other: BuildEnvironment) -> None:
    if not hasattr(env, "dotbook_verification_docs"):
        env.dotbook_verification_docs = set()
    env.dotbook_verification_docs |= getattr(other, "dotbook_verification_docs", set())


def _gpu_line(root: Path) -> str:
    path = root / GPU_RUNS
    try:
        runs = json.loads(path.read_text()).get("runs", [])
    except (OSError, ValueError):
        runs = []
    if not runs:
        return "Last GPU run: never (no `make gpu-check` has been recorded)."
    last = max(runs, key=lambda r: str(r.get("date", "")))
    return (f"Last GPU run: {last.get('date', '?')} on {last.get('device', '?')} "
            f"(torch {last.get('torch', '?')}), {last.get('result', 'result not recorded')}.")


def chapter_records(cache_path: Path, notebooks: Sequence[Path]) -> list[dict[str, Any]]:
    """What jupyter-cache recorded for each notebook: status, seconds, date, device,
    torch and Python versions (``None`` where there is no record)."""
    from jupyter_cache import get_cache

    cache = get_cache(str(cache_path))
    out = []
    for path in notebooks:
        row: dict[str, Any] = {"path": path, "status": "not executed", "seconds": None,
                               "date": None, "device": None, "torch": None, "python": None}
        try:
            record = cache.get_project_record(str(path))
        except Exception:  # not in the project
            record = None
        if record is not None and getattr(record, "traceback", None):
            last = [line for line in record.traceback.strip().splitlines() if line.strip()]
            row["status"] = "failed: " + (last[-1][:120] if last else "error")
        try:
            cached = cache.get_cached_project_nb(str(path))
        except Exception:  # changed since it was cached, or never executed
            cached = None
        if cached is not None:
            row["status"] = "executed, no errors"
            row["seconds"] = cached.data.get("execution_seconds")
            row["date"] = cached.created.strftime("%Y-%m-%d %H:%M UTC")
            nb = cache.get_cache_bundle(cached.pk).nb
            row["python"] = nb.metadata.get("language_info", {}).get("version")
            for cell in nb.cells[:2]:
                for output in cell.get("outputs", []):
                    found = _SETUP_LINE.search(str(output.get("text", "")))
                    if found and row["device"] is None:
                        row["device"], row["torch"] = found["device"], found["torch"]
        out.append(row)
    return out


def _fill_verification(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    placeholders = list(doctree.findall(verification_table))
    if not placeholders:
        return
    env = app.env
    srcdir = Path(app.srcdir)
    docs = [d for d in env.found_docs if (srcdir / f"{d}.ipynb").exists()
            and re.match(r"\d\d-", Path(d).name)]
    order = {d: i for i, d in enumerate(env.toctree_includes.get(env.config.root_doc, []))}
    docs.sort(key=lambda d: (order.get(d, len(order)), d))
    cache_path = Path(str(env.mystnb_config.execution_cache_path or
                          Path(app.outdir).parent / ".jupyter_cache"))
    try:
        records = chapter_records(cache_path, [srcdir / f"{d}.ipynb" for d in docs])
    except Exception as error:  # no cache at all: say so on the page
        LOGGER.info(f"verification-status: no execution records ({error})")
        records = [{"path": srcdir / f"{d}.ipynb", "status": "no execution records",
                    "seconds": None, "date": None, "device": None, "torch": None,
                    "python": None} for d in docs]
    rows = []
    for doc, rec in zip(docs, records, strict=True):
        title = env.titles[doc].astext() if doc in env.titles else doc
        link = nodes.reference("", title, internal=True,
                               refuri=app.builder.get_relative_uri(docname, doc))
        seconds = f"{rec['seconds']:.1f} s" if rec["seconds"] is not None else "–"
        rows.append([link, rec["status"], seconds, rec["device"] or "–", rec["torch"] or "–",
                     rec["python"] or "–", rec["date"] or "–"])
    timed = [r["seconds"] for r in records if r["seconds"] is not None]
    total = (f"{len(timed)} of {len(records)} chapters have execution records; their "
             f"execution times add up to {sum(timed):.1f} s.") if records else \
        "No chapters found."
    for node in placeholders:
        container = nodes.container(classes=["dotbook-verification"])
        container += _table(["chapter", "status", "execution", "device", "torch", "Python",
                             "executed"], rows, widths=[30, 14, 8, 10, 10, 8, 14])
        container += nodes.paragraph("", total)
        container += nodes.paragraph("", _gpu_line(srcdir))
        node.replace_self(container)


# ---------------------------------------------------------- reference measurements
# a command line inside stored prose ("tools/bench_compute.py --record --note '…'"),
# or a lone option: code, so that Sphinx's smart quotes never turn "--" into "–"
_COMMAND = re.compile(r"(?:python )?tools/[\w/.-]+\.py"
                      r"(?: --?[\w-]+(?: (?!-)(?:'[^']*'|\"[^\"]*\"|[^\s,;]+))?)*"
                      r"|--[\w-]+")


def _prose(text: str) -> nodes.paragraph:
    """A paragraph of ``text`` whose command lines and options are literal code."""
    para = nodes.paragraph()
    last = 0
    for m in _COMMAND.finditer(text):
        para += nodes.Text(text[last:m.start()])
        para += nodes.literal(m.group(0), m.group(0).rstrip("."))
        if m.group(0).endswith("."):
            para += nodes.Text(".")
        last = m.end()
    para += nodes.Text(text[last:])
    return para


class ReferenceMeasurements(SphinxDirective):
    """``{reference-measurements}``: Chapter 4's stored references, as tables."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        from dotbook import roofline

        data_file = Path(roofline.__file__).parent / "references" / "compute.json"
        self.env.note_dependency(str(data_file))
        stored = roofline.references()
        out: list[nodes.Node] = [_prose(stored.get("about", ""))]
        summary = []
        for device_type in sorted(stored["devices"]):
            ref = roofline.reference(device_type)
            summary.append([device_type, ref.name, ref.status, ref.date or "–", ref.torch or "–",
                            ref.ceilings.summary() if ref.ceilings else "–"])
        out.append(_table(["device", "machine", "status", "date", "torch", "ceilings"], summary,
                          widths=[6, 16, 10, 10, 12, 40]))
        for device_type in sorted(stored["devices"]):
            ref = roofline.reference(device_type)
            out.append(_prose(f"{ref.label}. {ref.note}"))
            dots = [m for m in ref.rows if m.op == "dot"]
            if not dots:
                continue
            rows = [[m.label, f"{m.shape[0]:,}", m.dtype, f"{m.seconds * 1e6:,.2f} µs",
                     f"{m.flop_rate / 1e9:.3g}", f"{m.byte_rate / 1e9:.3g}"] for m in dots]
            out.append(_table(["route", "n", "dtype", "median time", "GFLOP/s", "GB/s"], rows,
                              widths=[18, 10, 8, 12, 8, 8]))
        return out


def setup(app: Sphinx) -> dict[str, object]:
    app.add_node(verification_table)
    app.add_directive("verification-status", VerificationStatus)
    app.add_directive("reference-measurements", ReferenceMeasurements)
    app.connect("env-get-outdated", _always_outdated)
    app.connect("env-purge-doc", _purge)
    app.connect("env-merge-info", _merge)
    app.connect("doctree-resolved", _fill_verification)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
