"""Figures the reader drags (Chapters 1 and 7; issue 29): one function, a third face.

A :class:`dotbook.explore.Twin` moves a figure along sliders. A :class:`Drag`
lets the reader grab the figure's points themselves: the tips of two vectors
(Chapter 1), a query among fixed keys (Chapter 7). It is written the same way,
once, as a pure figure function ``fn(**points, **params) -> Figure`` whose
draggable points are the *tails* ``(ax, ay)`` of plotly arrow annotations
(drawn with the arrowhead at that end, ``arrowside="start"``), one annotation
per point, in the order of :attr:`Drag.points`. Every number the figure shows
comes from a small pure readout function of the points
(:func:`dotbook.geometry.pair_readout`, :func:`dotbook.attention.query_readout`),
which ``fn`` calls with PyTorch on the chapter's device.

- **static** (:meth:`Drag.static`): ``fn`` at the starting points, with
  ``layout.meta["dotbook_drag"]`` saying which readout to run (``kind``) and
  where the points are. In the book, ``src/dotbook/static/dotbook-drag.js``
  puts a handle on each point (mouse, touch and keyboard), and on every move
  runs its JavaScript port of the readout function (nothing else is ported;
  ``tests/test_drag.py`` holds the port equal to Python) and moves the pieces.
- **live** (:meth:`Drag.live`): a ``FigureWidget`` whose arrow tails plotly
  lets the reader drag (``config.edits.annotationTail``); each drag reaches
  Python as a layout change, ``fn`` recomputes with PyTorch, and only what
  changed goes back, with the readouts in an HTML widget below. Colab, which does
  not render a ``FigureWidget`` reliably, shows the static face instead
  (:class:`dotbook.colab.DragColabFace`): the drag is computed in the page there too.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import plotly.graph_objects as go

from dotbook import _validate
from dotbook.explore import Figure, Param, _changes, _in_kernel, building_book

__all__ = ["Drag", "DragPanel"]

KINDS = ("pair", "query")  # the readout ports dotbook-drag.js has


@dataclass
class Drag:
    """A figure function with draggable points; see the module docstring.

    Args:
        fn: ``fn(**points, **params) -> Figure``, pure; each point a pair ``(x, y)``.
            Its layout ``meta["readout"]`` holds the readouts as HTML (the live face
            shows it under the figure).
        points: the starting position of each draggable point, in annotation order.
        kind: which readout the static face runs: ``"pair"`` (two vectors ``a``,
            ``b``) or ``"query"`` (a query ``q`` among fixed keys).
        limit: points stay inside ``[-limit, limit]`` on both axes.
        grid: the snap grid; step, small_step: one arrow-key press, without and with Shift.
        params: further controls (a temperature): :class:`dotbook.explore.Param`.
        extra: what ``kind`` needs besides the points (keys, values, labels, trace
            indices), passed to the static face.
        colors: the colour of each point's handle.

    Examples::

        >>> def fn(a):
        ...     return {"data": [], "layout": {"annotations": [{"ax": a[0], "ay": a[1]}]}}
        >>> drag = Drag(fn, {"a": (1.0, 2.0)}, kind="pair")
        >>> drag.static().layout.meta["dotbook_drag"]["points"]
        {'a': [1.0, 2.0]}
        >>> panel = DragPanel(drag)  # the live face; a drag past the edge stays inside
        >>> panel.update(a=(9.0, 0.25))["layout"]["annotations"][0]["ax"]
        5.0
    """

    fn: Callable[..., Figure]
    points: Mapping[str, tuple[float, float]]
    kind: str
    limit: float = 5.0
    grid: float = 0.5
    step: float = 0.5
    small_step: float = 0.1
    params: tuple[Param, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)
    colors: Mapping[str, str] = field(default_factory=dict)
    note: str = ("Drag the tips (or focus one with Tab and use the arrow keys; Shift for small "
                 "steps). Every number is recomputed as you move.")

    def __post_init__(self) -> None:
        if not callable(self.fn):
            raise TypeError(f"fn must be a figure function fn(**points), got {self.fn!r}")
        _validate.choice(self.kind, "kind", KINDS)
        for name in ("limit", "grid", "step", "small_step"):
            _validate.in_range(getattr(self, name), name, 1e-6, 1e6)
        if not isinstance(self.points, Mapping) or not self.points:
            raise TypeError(f"points must be a dict {{name: (x, y)}}, got {self.points!r}")
        for name, kind in (("extra", Mapping), ("colors", Mapping), ("note", str)):
            if not isinstance(getattr(self, name), kind):
                raise TypeError(f"{name} must be a {kind.__name__}, got "
                                f"{type(getattr(self, name)).__name__}")
        if not all(isinstance(c, str) for c in self.colors.values()):
            raise TypeError("colors must map point names to CSS colour strings")
        if not isinstance(self.params, (tuple, list)) or not all(
                isinstance(p, Param) for p in self.params):
            raise TypeError(f"params must be a tuple of explore.Param, got {self.params!r}")
        self.points = {n: self._point(p, n) for n, p in self.points.items()}
        self.params = tuple(self.params)

    def _point(self, xy: object, name: str) -> tuple[float, float]:
        if not isinstance(xy, (tuple, list)) or len(xy) != 2:
            raise ValueError(f"point {name!r} must be a pair (x, y), got {xy!r}")
        return (_validate.in_range(xy[0], f"{name}[0]", -self.limit, self.limit),
                _validate.in_range(xy[1], f"{name}[1]", -self.limit, self.limit))

    def place(self, xy: tuple[float, float], snap: bool = False) -> tuple[float, float]:
        """A dragged position kept inside the drawing (and on the grid with ``snap``)."""
        out = []
        for v in xy:
            v = float(v) if isinstance(v, (int, float)) and math.isfinite(v) else 0.0
            if snap:
                v = round(v / self.grid) * self.grid
            out.append(min(self.limit, max(-self.limit, v)))
        return out[0], out[1]

    def data(self, points: Mapping[str, tuple[float, float]] | None = None,
             **params: Any) -> Figure:
        """``fn`` at ``points`` (missing ones: the starting positions) and ``params``."""
        merged = {**self.points, **{n: self._point(p, n) for n, p in (points or {}).items()}}
        values = {p.name: p.check(params.get(p.name, p.default)) for p in self.params}
        return self.fn(**merged, **values)

    def static(self) -> go.Figure:
        """The kernel-free face: ``fn`` at the start, with what ``dotbook-drag.js`` needs."""
        fig = self.data()
        layout = dict(fig["layout"])
        meta = dict(layout.get("meta") or {})
        meta.pop("readout", None)
        meta["dotbook_drag"] = {
            "kind": self.kind, "points": {n: list(p) for n, p in self.points.items()},
            "order": list(self.points), "limit": self.limit, "grid": self.grid,
            "step": self.step, "small_step": self.small_step, "xaxis": "xaxis",
            "yaxis": "yaxis", "colors": dict(self.colors),
            **{p.name: p.default for p in self.params}, **dict(self.extra)}
        layout["meta"] = meta
        return go.Figure(data=fig["data"], layout=layout)

    def live(self) -> DragPanel:
        """The kernel face: the figure in a ``FigureWidget`` whose arrow tails drag."""
        return DragPanel(self)

    def show(self) -> None:
        """Display the face that fits: static + note in the book build, the same in the page
        in Colab (:class:`dotbook.colab.DragColabFace`), live in another kernel."""
        from IPython.display import HTML, display

        from dotbook import colab

        if building_book() or not _in_kernel():
            display(self.static())
            display(HTML(f'<p class="dotbook-note">{self.note}</p>'))
        elif colab.in_colab():  # no FigureWidget there: the book's face, computed in the page
            display(colab.DragColabFace(self))
        else:
            display(self.live().widget)


class DragPanel:
    """A ``FigureWidget`` with draggable arrow tails, a snap checkbox, the readouts.

    :meth:`update` is what a drag runs: it places the points (inside the drawing,
    on the grid when snapping), recomputes ``fn`` and sends only the traces and
    layout keys that changed.
    """

    def __init__(self, drag: Drag) -> None:
        import ipywidgets as w

        if not isinstance(drag, Drag):
            raise TypeError(f"drag must be a dotbook.drag.Drag, got {type(drag).__name__}")
        self.drag = drag
        self.points = dict(drag.points)
        self.values = {p.name: p.default for p in drag.params}
        self._last = drag.data(self.points)
        self.figure = go.FigureWidget({"data": self._last["data"],
                                       "layout": _without_readout(self._last["layout"])})
        # plotly's own editing: the reader drags an arrow's tail (its text label)
        self.figure._config = {**(self.figure._config or {}),
                               "edits": {"annotationTail": True}}
        self.readout = w.HTML(_readout(self._last))
        self.snap = w.Checkbox(value=False, description=f"snap to a grid of {drag.grid:g}")
        self.snap.observe(lambda _change: self.update(), names="value")
        self.controls = {p.name: p.widget() for p in drag.params}
        for name, control in self.controls.items():
            control.observe(self._on_param(name), names="value")
        self._busy = False
        self.figure.layout.on_change(self._on_drag, "annotations")
        self.widget = w.VBox([self.figure, w.HBox([self.snap, *self.controls.values()]),
                              self.readout])

    def _on_param(self, name: str) -> Callable[[Any], None]:
        def changed(change: Any) -> None:
            self.values[name] = change["new"]
            self.update()
        return changed

    def _on_drag(self, _layout: object, annotations: Any) -> None:
        if self._busy:
            return
        for k, name in enumerate(self.points):
            self.points[name] = (annotations[k].ax, annotations[k].ay)
        self.update()

    def update(self, **points: tuple[float, float]) -> Figure:
        """Move ``points`` (default: where they are), recompute, push what changed."""
        self.points.update(points)
        snap = bool(self.snap.value)
        self.points = {n: self.drag.place(p, snap) for n, p in self.points.items()}
        new = self.drag.data(self.points, **self.values)
        layout = _without_readout(new["layout"])
        old_layout = _without_readout(self._last["layout"])
        self._busy = True
        try:
            with self.figure.batch_update():
                for trace, fresh, old in zip(self.figure.data, new["data"], self._last["data"],
                                             strict=True):
                    changed = _changes(fresh, old, skip=("type",))
                    if changed:
                        trace.update(changed)
                # the arrows always: the widget holds where the reader let go, which
                # the grid or the drawing's edge may have moved
                relayout = {k: layout[k] for k in ("shapes",)
                            if k in layout and layout[k] != old_layout.get(k)}
                relayout["annotations"] = layout.get("annotations", ())
                self.figure.layout.update(relayout)
        finally:
            self._busy = False
        self.readout.value = _readout(new)
        self._last = new
        return new

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)


def _without_readout(layout: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(layout)
    if isinstance(out.get("meta"), dict):
        out["meta"] = {k: v for k, v in out["meta"].items() if k != "readout"}
    return out


def _readout(fig: Figure) -> str:
    meta = fig["layout"].get("meta")
    return meta.get("readout", "") if isinstance(meta, dict) else ""
