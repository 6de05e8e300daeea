"""The Colab face of a twin, and the setup cell's restart check (every chapter).

Colab does not reliably render plotly's ``FigureWidget`` (a custom widget):
plotly.py#2202, googlecolab/colabtools#1355, #2871, colab-cdn-widget-manager#19,
#51. So when ``google.colab`` is importable, :meth:`dotbook.explore.Twin.show`
shows the twin's *static* face instead (the figure with frames and sliders the
HTML book shows, driven by the book's own ``dotbook-twin.js``), with plotly.js
loaded from its CDN the way plotly's own ``"colab"`` renderer loads it, plus a
bridge for values off the grid:

- under the figure, one fine slider per numeric parameter spans the live
  range; a parameter of labelled choices keeps the book's buttons;
- on release (or a pick), values all on the grid show that precomputed frame;
  a value off the grid calls the kernel through Colab's JS→Python callback,
  ``google.colab.kernel.invokeFunction("dotbook.twin.<id>", [values], {})``,
  registered here with ``google.colab.output.register_callback``; Python
  computes ``fn(**values)`` with PyTorch (a choice travels as its position)
  and returns the figure as JSON, and the page redraws it with ``Plotly.react``.

A draggable figure (:class:`dotbook.drag.Drag`, Chapters 1 and 7) needs no
kernel in Colab at all: :class:`DragColabFace` shows its static face as the HTML
book does, with the book's ``dotbook-drag.js``, which recomputes every readout in
the page (its JavaScript port of the readout function).

The CDN is used only in Colab (which is online); the HTML book never loads
anything from the network.

:func:`restart_note` is the setup cell's check that pip did not replace a
module the kernel had already imported (Colab imports plotly and ipywidgets
early): the old one would stay in memory until the runtime restarts.
"""

from __future__ import annotations

import importlib.metadata
import importlib.resources
import importlib.util
import itertools
import json
import re
import sys
import uuid
from typing import Any

__all__ = ["in_colab", "ColabFace", "twin_js", "DragColabFace", "drag_js", "stale_modules",
           "restart_note", "RESTART", "RestartNeeded"]

#: Modules whose in-memory copy must match the installed one.
WATCHED = ("plotly", "ipywidgets", "anywidget")
#: The one line the setup cell prints when a restart is needed.
RESTART = ("Restart needed: pip upgraded {names}, which this runtime had already imported. "
           "Choose Runtime → Restart session, then run the notebook again.")

_counter = itertools.count()


def in_colab() -> bool:
    """True when ``google.colab`` is importable (a Colab runtime, or the tests' fake one).

    Examples::

        >>> isinstance(in_colab(), bool)
        True
    """
    try:
        return importlib.util.find_spec("google.colab") is not None
    except (ImportError, ValueError):
        return False


def _inline_once(name: str, js: str) -> str:
    """``js`` in a script tag that runs only if it has not defined ``window[name]`` yet
    (an output cell may be shown many times in one page)."""
    return f"<script>if (!window.{name}) {{\n" + js.replace("</", "<\\/") + "\n}</script>"


def twin_js() -> str:
    """The book's ``dotbook-twin.js``, shipped in the package (``dotbook/static``)."""
    return (importlib.resources.files("dotbook") / "static" / "dotbook-twin.js").read_text(
        encoding="utf-8")


# ------------------------------------------------------------------- restart check
def stale_modules(names: tuple[str, ...] = WATCHED) -> dict[str, tuple[str, str]]:
    """``{name: (in memory, installed)}`` for each imported module whose version on disk differs.

    Examples::

        >>> stale_modules(("json",))
        {}
    """
    if isinstance(names, str) or not isinstance(names, (tuple, list)):
        raise TypeError(f"names must be a tuple of module names such as ('plotly',), got "
                        f"{names!r} ({type(names).__name__})")
    if len(names) > 100:
        raise ValueError(f"names has {len(names)} entries; pass at most 100 module names")
    for i, name in enumerate(names):
        if not isinstance(name, str) or not name:
            raise TypeError(f"names[{i}] must be a module name (a non-empty str), got {name!r}")
    stale = {}
    for name in names:
        module = sys.modules.get(name)
        if module is None:
            continue
        try:
            installed = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        # the version the module was imported with: its own attribute when set at
        # import; a lazily computed one (plotly 5 imports plotly.version on first
        # access) would read the files now on disk, and fails when pip removed them
        loaded = vars(module).get("__version__")
        if loaded is None:
            try:
                loaded = getattr(module, "__version__", None)
            except Exception:  # noqa: BLE001 - the old module cannot find its own files
                loaded = "?"
        if loaded is not None and str(loaded) != installed:
            stale[name] = (str(loaded), installed)
    return stale


class RestartNeeded(RuntimeError):
    """Stops a Run All at the setup cell; IPython shows only its one line."""

    def _render_traceback_(self) -> list[str]:
        return [str(self)]


def restart_note() -> None:
    """Raise :class:`RestartNeeded` (one line) when pip replaced an imported module; else nothing.

    Examples::

        >>> restart_note()
    """
    stale = stale_modules()
    if stale:
        names = ", ".join(f"{n} {old} → {new}" if old != "?" else f"{n} (now {new})"
                          for n, (old, new) in sorted(stale.items()))
        raise RestartNeeded(RESTART.format(names=names))


# ---------------------------------------------------------------------- the face
def _plotly_cdn_script(html: str) -> int:
    """Where plotly's own CDN ``<script>`` tag ends in ``html`` (-1 when absent)."""
    found = re.search(r'<script[^>]*src="https://cdn\.plot\.ly/[^"]*"[^>]*></script>', html)
    return found.end() if found else -1


def _with_plotly_cdn(body: str) -> tuple[str, int]:
    """``body`` (``to_html(include_plotlyjs="cdn")``) sure to load plotly.js from its CDN,
    and where that ``<script>`` tag ends: our scripts go there, before the figure's."""
    cut = _plotly_cdn_script(body)
    if cut < 0:  # a plotly that no longer writes the tag: load it ourselves
        from plotly.offline import get_plotlyjs_version

        body = (f'<script src="https://cdn.plot.ly/plotly-{get_plotlyjs_version()}.min.js">'
                f"</script>{body}")
        cut = _plotly_cdn_script(body)
    return body, cut


class ColabFace:
    """The static face plus the kernel bridge; see the module docstring.

    Building it registers the callback ``dotbook.twin.<id>`` with
    ``google.colab.output``; :meth:`html` is what the output cell shows.

    Args:
        twin: the :class:`~dotbook.explore.Twin` to show.
    """

    def __init__(self, twin: Any) -> None:  # a dotbook.explore.Twin (which imports this)
        if not all(callable(getattr(twin, m, None)) for m in ("frame", "static")) or \
                not isinstance(getattr(twin, "params", None), tuple):
            raise TypeError(f"twin must be a dotbook.explore.Twin, got {type(twin).__name__}")
        from google.colab import output  # type: ignore[import-not-found]

        self.twin = twin
        self.name = f"dotbook.twin.{next(_counter)}-{uuid.uuid4().hex[:8]}"
        output.register_callback(self.name, self.compute)

    def compute(self, values: dict[str, float]) -> Any:
        """The callback: ``fn(**values)`` as ``IPython.display.JSON`` ``{"data", "layout"}``.

        A bad value comes back as ``{"error": message}``, which the page shows.
        """
        import plotly.io as pio
        from IPython.display import JSON

        try:
            payload = self.twin.frame(**self._decode({str(k): v for k, v in dict(values).items()}))
        except (TypeError, ValueError) as error:
            return JSON({"error": f"{type(error).__name__}: {error}"})
        return JSON(json.loads(pio.json.to_json_plotly(payload)))

    def _decode(self, values: dict[str, Any]) -> dict[str, Any]:
        """The page sends a choice as its position (any value survives JSON that way)."""
        from dotbook import _validate

        decoded = dict(values)
        for p in self.twin.params:
            if p.categorical and p.name in decoded:
                at = _validate.integer(decoded[p.name], f"{p.name} (a choice's position)",
                                       at_least=0, at_most=len(p.values) - 1)
                decoded[p.name] = p.values[at]
        return decoded

    def spec(self) -> dict[str, Any]:
        """What the page's bridge needs: the callback name, each slider's ranges, and
        each choice's positions (its labelled buttons are ``dotbook-twin.js``'s)."""
        params = []
        for p in self.twin.params:
            if p.categorical:
                n = len(p.values)
                params.append({"name": p.name, "label": p.label, "choice": True,
                               "labels": list(p.labels), "values": list(range(n)),
                               "default": p.values.index(p.default)})
                continue
            step = p.step or (0.01 if p.log else (1 if p.integer else (p.hi - p.lo) / 100))
            params.append({"name": p.name, "label": p.label, "choice": False, "lo": p.lo,
                           "hi": p.hi, "step": step, "log": p.log, "integer": p.integer,
                           "values": list(p.values), "default": p.default})
        return {"callback": self.name, "params": params}

    def html(self) -> str:
        """The output cell: plotly.js (CDN), ``dotbook-twin.js``, the static figure, the bridge."""
        import plotly.io as pio

        spec = json.dumps(self.spec()).replace("</", "<\\/")
        body = pio.to_html(
            self.twin.static(), include_plotlyjs="cdn", include_mathjax=False, full_html=False,
            auto_play=False, config={"displaylogo": False, "responsive": True},
            post_script=f"window.dotbookColab.attach('{{plot_id}}', {spec});")
        scripts = _inline_once("dotbookTwin", twin_js()) + "<script>" + _BRIDGE_JS + "</script>"
        body, cut = _with_plotly_cdn(body)
        return (f'<div class="dotbook-colab"><style>{_STYLE}</style>{body[:cut]}{scripts}'
                f'{body[cut:]}<p class="dotbook-note">{_NOTE}</p></div>')

    def _repr_html_(self) -> str:
        return self.html()


# What the book's stylesheet (book/_ext/static/dotbook.css) gives the page and a
# Colab output lacks: a slider's keyboard twin lies over its plotly slider, letting
# the mouse through (without it, it is a block under the figure, over the controls).
# Keep these in step with that stylesheet.
_STYLE = (".dotbook-colab .dotbook-slider-key{position:absolute;pointer-events:none;"
          "border-radius:6px;background:transparent;outline:none}"
          ".dotbook-colab .dotbook-slider-key:focus-visible{outline:3px solid #D55E00;"
          "outline-offset:1px}"
          ".dotbook-colab p.dotbook-note{font-size:.9em;font-style:italic}"
          # a link to a view would name the output frame, which no one can open
          ".dotbook-colab .dotbook-link-view{display:none}")

_NOTE = ("The figure's own sliders and buttons step through precomputed values; the fine "
         "sliders under it recompute the figure in this runtime when released between them.")

# The page side of the bridge. attach() runs after plotly drew the figure and
# added its frames; the fine sliders are plain <input type="range"> elements; a
# choice keeps dotbook-twin.js's labelled buttons, whose picks ("dotbook-pick",
# cancellable) the bridge takes over while another value is off the grid.
_BRIDGE_JS = r"""
window.dotbookColab = window.dotbookColab || (function () {
  "use strict";
  function onGrid(p, v) {
    for (var i = 0; i < p.values.length; i++) {
      if (Math.abs(p.values[i] - v) <= 1e-9 * Math.max(1, Math.abs(v))) { return i; }
    }
    return -1;
  }
  function valueOf(p, input) {
    var x = Number(input.value), v = p.log ? Math.pow(10, x) : x;
    if (p.integer) { return Math.round(v); }
    // snap to the grid when within half a step of a grid value
    var tol = p.log ? v * (Math.pow(10, p.step / 2) - 1) : p.step / 2;
    for (var i = 0; i < p.values.length; i++) {
      if (Math.abs(p.values[i] - v) < tol) { return p.values[i]; }
    }
    return v;
  }
  function position(p, v) { return p.log ? Math.log10(v) : v; }
  function attach(id, spec) {
    var gd = document.getElementById(id);
    if (!gd || gd.dataset.dotbookColab) { return; }
    gd.dataset.dotbookColab = "1";
    if (window.dotbookTwin) { window.dotbookTwin.linkAll(); }
    var box = document.createElement("div");
    box.className = "dotbook-colab-controls";
    var status = document.createElement("p");
    status.className = "dotbook-colab-status";
    status.setAttribute("role", "status");
    // values: a slider's number, a choice's position; inputs[k]: slider k's fine input
    var values = {}, inputs = [], seq = 0;
    var kernel = window.google && google.colab && google.colab.kernel;
    function setInput(it, v) {
      values[it.p.name] = v;
      it.input.value = String(position(it.p, v));
      it.out.textContent = String(+Number(v).toPrecision(4));
    }
    // start where twin.js shows the figure (a link to a view may have moved it)
    var shown = (gd._dotbook && gd._dotbook.active) || [];
    spec.params.forEach(function (p, k) {
      values[p.name] = p.values[shown[k]] === undefined ? p.default : p.values[shown[k]];
      if (p.choice) { return; }  // its buttons come from dotbook-twin.js
      var row = document.createElement("label");
      row.style.display = "flex"; row.style.gap = "0.6em"; row.style.alignItems = "center";
      var text = document.createElement("span");
      text.textContent = p.label;
      var input = document.createElement("input");
      input.type = "range"; input.style.flex = "1";
      input.min = String(position(p, p.lo)); input.max = String(position(p, p.hi));
      input.step = String(p.step);
      input.value = String(position(p, values[p.name]));
      input.dataset.param = p.name;
      input.className = "dotbook-colab-slider";
      var out = document.createElement("output");
      out.textContent = String(values[p.name]);
      input.addEventListener("input", function () {
        out.textContent = String(+valueOf(p, input).toPrecision(4));
      });
      input.addEventListener("change", function () {
        values[p.name] = valueOf(p, input);
        out.textContent = String(+values[p.name].toPrecision(4));
        redraw();
      });
      row.appendChild(text); row.appendChild(input); row.appendChild(out);
      box.appendChild(row);
      inputs[k] = {p: p, input: input, out: out};
    });
    box.appendChild(status);
    gd.parentNode.parentNode.insertBefore(box, gd.parentNode.nextSibling);
    function allOnGrid() {
      return spec.params.map(function (p) { return onGrid(p, values[p.name]); });
    }
    // the figure's own (grid) sliders: twin.js draws that frame, so every fine
    // slider follows the frame's positions (a value off the grid snaps back)
    gd.on("plotly_sliderchange", function (ev) {
      var k = ev.slider._index, i = ev.slider.steps.indexOf(ev.step);
      if (inputs[k] === undefined || i < 0) { return; }
      var active = (gd._dotbook && gd._dotbook.active) || [];
      inputs.forEach(function (it, j) {
        if (it && j !== k && active[j] !== undefined) { setInput(it, it.p.values[active[j]]); }
      });
      setInput(inputs[k], inputs[k].p.values[i]);
      seq += 1;
      status.textContent = "";
      gd.dataset.dotbookSource = "frame";
    });
    // a choice button: on the grid twin.js draws the frame; off it, the kernel does
    gd.addEventListener("dotbook-pick", function (ev) {
      var p = spec.params[ev.detail.index];
      if (!p || !p.choice) { return; }
      values[p.name] = ev.detail.choice;
      if (allOnGrid().every(function (i) { return i >= 0; })) {
        seq += 1;
        status.textContent = "";
        gd.dataset.dotbookSource = "frame";
        return;
      }
      ev.preventDefault();
      redraw();
    });
    function redraw() {
      var active = allOnGrid();
      var mine = ++seq;
      if (active.every(function (i) { return i >= 0; })) {
        status.textContent = "";
        gd.dataset.dotbookSource = "frame";
        if (window.dotbookTwin) { return window.dotbookTwin.show(gd, active); }
        return null;
      }
      if (!kernel) {
        status.textContent = "Run this cell in Colab to compute values between the grid points.";
        return null;
      }
      status.textContent = "computing…";
      return Promise.resolve(kernel.invokeFunction(spec.callback, [values], {})).then(function (r) {
        if (mine !== seq) { return; }
        var fig = r && r.data && r.data["application/json"];
        if (!fig || fig.error) {
          status.textContent = fig && fig.error ? fig.error
            : "The runtime gave no figure: run the cell again.";
          return;
        }
        var layout = Object.assign({}, gd.layout, fig.layout);
        return window.Plotly.react(gd, fig.data, layout).then(function () {
          status.textContent = "";
          gd.dataset.dotbookSource = "kernel";
        });
      }, function (err) {
        if (mine === seq) {
          status.textContent = "The runtime did not answer (" + err + "): run the cell again.";
        }
      });
    }
    gd.dotbookColab = {values: values, redraw: redraw};
  }
  return {attach: attach};
})();
"""


# ----------------------------------------------------------------- the drag face
def drag_js() -> str:
    """The book's ``dotbook-drag.js``, shipped in the package (``dotbook/static``)."""
    return (importlib.resources.files("dotbook") / "static" / "dotbook-drag.js").read_text(
        encoding="utf-8")


class DragColabFace:
    """A draggable figure in a Colab output: the HTML book's static face, no kernel.

    The figure is ``drag.static()`` (its ``layout.meta["dotbook_drag"]`` says what
    to drag and which readout to run), plotly.js comes from its CDN as in
    :class:`ColabFace`, and the book's ``dotbook-drag.js`` (inlined once per
    output frame) puts the handles on it and recomputes every readout in the page
    as the reader drags; under it, the snap checkbox, the readouts and
    ``drag.note``.

    Args:
        drag: the :class:`~dotbook.drag.Drag` to show (taken by its ``static()``
            and ``note``; ``dotbook.drag`` imports this module, not the reverse).

    Examples::

        >>> from dotbook.figures import ch01
        >>> page = DragColabFace(ch01.pair_drag()).html()
        >>> "cdn.plot.ly" in page, "dotbook_drag" in page, page.count("root.dotbookDrag = api")
        (True, True, 1)
    """

    def __init__(self, drag: Any) -> None:  # a dotbook.drag.Drag
        if not callable(getattr(drag, "static", None)) or \
                not isinstance(getattr(drag, "note", None), str):
            raise TypeError(f"drag must be a dotbook.drag.Drag, got {type(drag).__name__}")
        self.drag = drag

    def html(self) -> str:
        """The output cell: plotly.js (CDN), ``dotbook-drag.js``, the figure, the note."""
        import html as html_lib

        import plotly.io as pio

        fig = self.drag.static()
        meta = fig.layout.meta if isinstance(fig.layout.meta, dict) else {}
        alt = html_lib.escape(str(meta.get("alt", "interactive figure")), quote=True)
        body = pio.to_html(
            fig, include_plotlyjs="cdn", include_mathjax=False, full_html=False,
            auto_play=False, config={"displaylogo": False, "responsive": True},
            # drawn: put the handles on it now (the file's own watcher would, a frame later)
            post_script="if (window.dotbookDrag) { window.dotbookDrag.attachAll(); }")
        script = _inline_once("dotbookDrag", drag_js())
        body, cut = _with_plotly_cdn(body)
        return (f'<div class="dotbook-colab-drag"><style>{_DRAG_STYLE}</style>{body[:cut]}'
                f'{script}<div class="dotbook-figure" role="figure" aria-label="{alt}">'
                f'{body[cut:]}</div><p class="dotbook-note">{self.drag.note}</p></div>')

    def _repr_html_(self) -> str:
        return self.html()


# What the book's stylesheet (book/_ext/static/dotbook.css) gives a draggable
# figure and a Colab output lacks: the figure's box, which anchors the handles and
# the drawn pieces (dotbook-drag.js brings its own rules for those), and the note.
# Keep these in step with that stylesheet.
_DRAG_STYLE = (".dotbook-colab-drag div.dotbook-figure{width:100%;max-width:100%;"
               "overflow:hidden;position:relative}"
               ".dotbook-colab-drag div.dotbook-figure>div{position:relative}"
               ".dotbook-colab-drag div.dotbook-figure .js-plotly-plot{max-width:100%}"
               ".dotbook-colab-drag p.dotbook-note{font-size:.9em;font-style:italic}")
