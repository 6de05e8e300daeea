"""One function, two faces.

An interactive figure in this book is written once, as a pure function
``fn(**params) -> figure``. In the book the figure is the plain dict
``{"data": [...], "layout": {...}}`` of :func:`dotbook.plots.assemble` (fast
to build: no validation); a plotly ``go.Figure`` is accepted too.
:class:`Twin` shows it two ways:

- **static** (:meth:`Twin.static`): ``fn`` is evaluated on a small grid of
  slider values at build time and packed into one plotly figure with
  sliders (one frame per grid point). It needs no kernel, so it works in the
  HTML book and in any saved notebook. With one slider plotly animates the
  frames itself; in the book, ``src/dotbook/static/dotbook-twin.js`` joins the
  positions of all sliders into a frame name and draws that frame with
  ``Plotly.react`` (which redraws only what changed).
- **live** (:meth:`Twin.live`): the same ``fn`` behind ipywidgets sliders with
  finer, wider ranges, recomputed by PyTorch on every move; only the trace
  properties and layout keys that changed are sent to the figure. It needs a
  kernel (JupyterLab, Notebook 7, VS Code). In Colab the live face is
  :class:`dotbook.colab.ColabFace`: the static face plus a kernel bridge.

:meth:`Twin.show` picks the face: the static one plus a one-line note while
the book is built (``DOTBOOK_BUILD=1``), the live one in a kernel.

Rules for ``fn``: return the same traces, in the same order, for every
parameter value, and fix the axis ranges (frames do not autorange).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import plotly.graph_objects as go

from dotbook import _build, _validate, plots

__all__ = ["Param", "Twin", "LivePanel", "building_book"]

#: Layout keys that belong to the static frame (the rest stay on the base figure).
_FRAME_SKIP = {"template", "sliders", "updatemenus", "meta", "height", "width", "margin"}
_SLIDER_HEIGHT = 78  # px per stacked slider
_AXIS_TITLE_ROOM = 85  # px between the plot area and the first slider (x-axis title)
#: Every step redraws in full: without it plotly moves the traces but leaves
#: titles and annotations of the previous frame on screen.
_TOGGLE_MAX = 5  # live face: more choices than this make a Dropdown instead of buttons
_ANIMATE = {"mode": "immediate", "frame": {"duration": 0, "redraw": True},
            "transition": {"duration": 0}}
#: Upper bounds no chapter needs: values on one slider's grid, frames of a static face.
MAX_GRID = 200
MAX_FRAMES = 2000


#: True while ``jupyter-book`` executes the chapters; its one home is :mod:`dotbook._build`.
building_book = _build.active


@dataclass(frozen=True)
class Param:
    """One slider: its static grid and its live range.

    Args:
        name: the keyword argument of ``fn`` it feeds.
        label: what the reader sees, with units (``"angle θ (degrees)"``).
        values: the static grid, a few values in increasing order.
        lo, hi: the live slider's range (default: the grid's ends).
        step: the live slider's step (default: 1/100 of the range, or
            0.01 decade when ``log``).
        default: the starting value; must be on the static grid.
        log: a logarithmic live slider (``lo > 0``).
        integer: pass ``int(round(value))`` to ``fn``.
        fmt: format of the value labels.
        choices: a categorical parameter instead of a number: ``(value, label)``
            pairs or a dict ``{value: label}``, in the order shown. Both faces
            show the same labels in that order (a row of buttons in the book,
            ``ToggleButtons`` or, past :data:`_TOGGLE_MAX` choices, a
            ``Dropdown`` in a kernel); ``values`` is left empty and ``default``
            (first choice when omitted) must be one of the values.

    Examples::

        >>> p = Param("n", "dimension n", (2, 10, 100), log=True, integer=True, default=10)
        >>> p.lo, p.hi, p.check(50)
        (2, 100, 50)
        >>> q = Param("scaled", "divide by √d_k", choices={False: "off", True: "on"})
        >>> q.values, q.labels, q.default, q.label_of(True)
        ((False, True), ('off', 'on'), False, 'on')
    """

    name: str
    label: str
    values: Sequence[float] = ()
    lo: float | None = None
    hi: float | None = None
    step: float | None = None
    default: float | None = None
    log: bool = False
    integer: bool = False
    fmt: str = "g"
    choices: Sequence[tuple[Any, str]] | Mapping[Any, str] | None = None

    def __post_init__(self) -> None:
        self._check_fields()
        if not self.name.isidentifier():
            raise ValueError(f"Param name must be a Python identifier, got {self.name!r}")
        if self.choices is not None:
            self._init_choices()
            return
        vals = tuple(self.values)
        if not vals or any(not math.isfinite(v) for v in vals):
            raise ValueError(f"Param {self.name!r}: values must be a non-empty list of numbers")
        if any(b <= a for a, b in zip(vals, vals[1:], strict=False)):
            raise ValueError(f"Param {self.name!r}: values must increase, got {vals}")
        object.__setattr__(self, "values", vals)
        object.__setattr__(self, "lo", min(vals) if self.lo is None else self.lo)
        object.__setattr__(self, "hi", max(vals) if self.hi is None else self.hi)
        if not self.lo <= min(vals) <= max(vals) <= self.hi:
            raise ValueError(
                f"Param {self.name!r}: the grid {vals} must lie inside [lo, hi] = "
                f"[{self.lo}, {self.hi}]"
            )
        if self.log and self.lo <= 0:
            raise ValueError(f"Param {self.name!r}: a log slider needs lo > 0 (lo defaults to "
                             f"the smallest of values), got {self.lo}")
        default = vals[len(vals) // 2] if self.default is None else self.default
        if default not in vals:
            raise ValueError(
                f"Param {self.name!r}: default {default} must be one of the grid values {vals}"
            )
        object.__setattr__(self, "default", default)

    def _check_fields(self) -> None:
        """The fields' types and sizes, before anything uses them."""
        _validate.text(self.name, "name")
        _validate.text(self.label, "label")
        _validate.flag(self.log, "log")
        _validate.flag(self.integer, "integer")
        if not isinstance(self.fmt, str):
            raise TypeError(f"fmt must be a format spec such as 'g' or '.2f', got {self.fmt!r}")
        for value, name in ((self.lo, "lo"), (self.hi, "hi"), (self.step, "step")):
            if value is not None:
                _validate.number(value, name)
        if self.step is not None and self.step <= 0:
            raise ValueError(f"step must be > 0 (the live slider's step), got {self.step}")
        if self.choices is not None:
            if not isinstance(self.choices, (Mapping, list, tuple)):
                raise TypeError(f"choices must be (value, label) pairs or a dict {{value: label}}"
                                f", got {type(self.choices).__name__}")
            _validate.integer(len(self.choices), "len(choices)", at_most=MAX_GRID)
            return
        if isinstance(self.values, (str, bytes)) or not isinstance(self.values, Iterable):
            raise TypeError(f"values must be the static grid, a list of numbers such as "
                            f"(0.5, 1.0, 2.0), got {self.values!r}")
        vals = tuple(self.values)
        _validate.integer(len(vals), "len(values)", at_least=0, at_most=MAX_GRID,
                          why="each grid value is a frame of the static face")
        for i, v in enumerate(vals):
            _validate.number(v, f"values[{i}]")
        if self.default is not None:
            _validate.number(self.default, "default")
        try:
            format(vals[0] if vals else 0.0, self.fmt)
        except ValueError as error:
            raise ValueError(f"fmt {self.fmt!r} cannot format the value {vals[0]!r}: "
                             f"{error}") from None

    def _init_choices(self) -> None:
        pairs = tuple(self.choices.items() if isinstance(self.choices, Mapping)
                      else self.choices)
        if not pairs or any(not isinstance(p, tuple) or len(p) != 2 or not isinstance(p[1], str)
                            for p in pairs):
            raise ValueError(f"Param {self.name!r}: choices must be (value, label) pairs or a "
                             f"dict {{value: label}}, got {self.choices!r}")
        vals = tuple(v for v, _ in pairs)
        if self.values and tuple(self.values) != vals:
            raise ValueError(f"Param {self.name!r}: give choices= or values=, not both")
        if len(set(vals)) != len(vals) or len({lab for _, lab in pairs}) != len(pairs):
            raise ValueError(f"Param {self.name!r}: choice values and labels must be unique")
        if self.log:
            raise ValueError(f"Param {self.name!r}: a categorical Param cannot be log")
        default = vals[0] if self.default is None else self.default
        if default not in vals:
            raise ValueError(f"Param {self.name!r}: default {default!r} must be one of {vals}")
        object.__setattr__(self, "choices", pairs)
        object.__setattr__(self, "values", vals)
        object.__setattr__(self, "default", default)
        object.__setattr__(self, "lo", vals[0])  # the first and last choices: a twin's corners
        object.__setattr__(self, "hi", vals[-1])

    @property
    def categorical(self) -> bool:
        """True for a Param of labelled choices (buttons), False for a slider."""
        return self.choices is not None

    @property
    def labels(self) -> tuple[str, ...]:
        """The label of each grid value, in order: the choice labels, or formatted numbers."""
        if self.categorical:
            return tuple(lab for _, lab in self.choices)
        return tuple(self.label_of(v) for v in self.values)

    def snap(self, value: float) -> float:
        """A live value on the static grid when it is within rounding of a grid value.

        Log sliders move in steps of 10**step, which miss round numbers
        (64 reads 64.57); a value within half a live step of a grid value
        becomes that grid value, so the live and static faces agree.
        """
        if self.categorical:
            return value
        for v in self.values:
            if self.log:
                if v > 0 and value > 0 and abs(math.log10(value / v)) <= (self.step or 0.01) / 2:
                    return v
            elif abs(value - v) <= 1e-9 * max(1.0, abs(v)):
                return v
        return value

    def check(self, value: float) -> float:
        """Validate a value: one of the choices, or a finite number inside ``[lo, hi]``."""
        if self.categorical:
            if value in self.values:  # 1 == True: keep the choice's own value
                return self.values[self.values.index(value)]
            return _validate.choice(value, self.name, self.values)
        checked = _validate.in_range(value, self.name, self.lo, self.hi,
                                     range_name="its slider range")
        return int(round(checked)) if self.integer else value

    def label_of(self, value: float) -> str:
        if self.categorical:
            return self.labels[self.values.index(self.check(value))]
        return format(self.check(value), self.fmt)

    def widget(self, value: Any = None) -> Any:
        """The live ipywidgets control for this parameter, at ``value`` (default: ``default``)."""
        import ipywidgets as w

        start = self.default if value is None else self.check(value)
        style = {"description_width": "initial"}
        if self.categorical:
            options = [(lab, v) for v, lab in self.choices]
            if len(options) > _TOGGLE_MAX:
                return w.Dropdown(options=options, value=start, description=self.label,
                                  style=style)
            return w.ToggleButtons(options=options, value=start, description=self.label,
                                   style={**style, "button_width": "auto"})
        layout = w.Layout(width="95%")
        common = dict(description=self.label, continuous_update=True, style=style,
                      layout=layout)
        if self.log:
            step = self.step or 0.01
            # the default sits exactly on the slider's steps (64, not 10**1.81 = 64.57)
            anchor = math.log10(self.default)
            low = anchor - math.floor((anchor - math.log10(self.lo)) / step + 1e-9) * step
            return w.FloatLogSlider(value=start, base=10, min=low,
                                    max=math.log10(self.hi), step=step, readout_format=".4g",
                                    **common)
        if self.integer:
            return w.IntSlider(value=int(start), min=int(self.lo), max=int(self.hi),
                               step=int(self.step or 1), **common)
        step = self.step or (self.hi - self.lo) / 100
        return w.FloatSlider(value=start, min=self.lo, max=self.hi, step=step,
                             readout_format=".3g", **common)


Figure = dict[str, Any]  # {"data": [trace dicts], "layout": {...}}


def _as_dict(fig: object, fn_name: str) -> Figure:
    """Plain-dict form of what ``fn`` returned."""
    if isinstance(fig, go.Figure):
        return {"data": [t.to_plotly_json() for t in fig.data],
                "layout": fig.layout.to_plotly_json()}
    if isinstance(fig, dict) and isinstance(fig.get("data"), list):
        return {"data": fig["data"], "layout": dict(fig.get("layout", {}))}
    raise TypeError(
        f"{fn_name} must return a plotly go.Figure or a dict {{'data': [...], 'layout': {{...}}}}, "
        f"got {type(fig).__name__}"
    )


def _frame_layout(fig: Figure) -> dict[str, Any]:
    return {k: v for k, v in fig["layout"].items() if k not in _FRAME_SKIP}


def _signature(fig: Figure) -> list[str]:
    return [trace.get("type", "scatter") for trace in fig["data"]]


@dataclass
class Twin:
    """A figure function with its sliders; see the module docstring.

    Args:
        fn: ``fn(**{p.name: value}) -> go.Figure | dict``, pure.
        params: one :class:`Param` per slider.
        note: the line shown under the static face in the book.

    Examples::

        >>> import plotly.graph_objects as go
        >>> def line(slope):
        ...     return go.Figure(go.Scatter(x=[0, 1], y=[0, slope]))
        >>> twin = Twin(line, [Param("slope", "slope", (0.0, 1.0, 2.0))])
        >>> fig = twin.static()
        >>> len(fig.frames), fig.layout.sliders[0].active
        (3, 1)
    """

    fn: Callable[..., go.Figure | Figure]
    params: Sequence[Param]
    note: str = ("This is a static view with a few slider positions. Run this chapter "
                 "(JupyterLab or Colab) to move the sliders freely.")

    def __post_init__(self) -> None:
        if not callable(self.fn):
            raise TypeError(f"fn must be the figure function, fn(**values) -> figure, got "
                            f"{type(self.fn).__name__}")
        if isinstance(self.params, (Param, str, bytes)) or not isinstance(self.params, Iterable):
            raise TypeError(f"params must be a list of Param, one per slider, got "
                            f"{type(self.params).__name__}")
        self.params = tuple(self.params)
        if not self.params:
            raise ValueError("params is empty; a Twin needs at least one Param")
        for i, p in enumerate(self.params):
            if not isinstance(p, Param):
                raise TypeError(f"params[{i}] must be a Param, got {type(p).__name__}")
        names = [p.name for p in self.params]
        if len(set(names)) != len(names):
            raise ValueError(f"Param names must be unique, got {names}")
        if not isinstance(self.note, str):
            raise TypeError(f"note must be a str, got {type(self.note).__name__}")
        _validate.integer(math.prod(len(p.values) for p in self.params),
                          "the number of frames (the product of the params' grid sizes)",
                          at_most=MAX_FRAMES, why="the static face holds one frame each")
        _validate.keywords(self.fn, names)

    @property
    def defaults(self) -> dict[str, float]:
        return {p.name: p.default for p in self.params}

    def figure(self, **values: float) -> go.Figure:
        """``fn`` at the given slider values (missing ones take their defaults), as a Figure."""
        return go.Figure(self.data(**values))

    def data(self, **values: float) -> Figure:
        """``fn`` at the given slider values, in plain-dict form (missing ones: defaults)."""
        merged = self._checked(values)
        return _as_dict(self.fn(**merged), getattr(self.fn, "__name__", "fn"))

    def _checked(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Every slider's value: ``values`` checked (known names, on range), else its default."""
        unknown = set(values) - {p.name for p in self.params}
        if unknown:
            raise ValueError(
                f"unknown slider(s) {sorted(unknown)}; this figure has "
                f"{[p.name for p in self.params]}"
            )
        return {p.name: p.check(values.get(p.name, p.default)) for p in self.params}

    def frame(self, **values: float) -> Figure:
        """What one frame of the static face holds at ``values``: the traces, rounded,
        and the layout keys a frame may change (``Plotly.react`` redraws from it)."""
        fig = self.data(**values)
        return {"data": [plots.rounded(t) for t in fig["data"]], "layout": _frame_layout(fig)}

    # ----------------------------------------------------------------- static face
    def static(self) -> go.Figure:
        """The kernel-free face: one frame per grid point, one slider per Param.

        Frames keep only what changes: the traces (numbers rounded by
        :func:`dotbook.plots.rounded`) and the layout keys that differ from
        the defaults' figure, so a page stays light.
        """
        grids = [range(len(p.values)) for p in self.params]
        base = self.data()
        sig = _signature(base)
        base_layout = _frame_layout(base)
        frames, layouts = [], []
        for index in itertools.product(*grids):
            values = {p.name: p.values[i] for p, i in zip(self.params, index, strict=True)}
            fig = self.data(**values)
            if _signature(fig) != sig:
                raise ValueError(
                    f"{self.fn.__name__} returned traces {_signature(fig)} at {values}, "
                    f"but {sig} at the defaults; return the same traces for every value"
                )
            data = [plots.rounded(t) for t in fig["data"]]
            frames.append({"name": _key(index), "data": data})
            layouts.append(_frame_layout(fig))
        changing = {k for lay in layouts for k in lay if lay.get(k) != base_layout.get(k)}
        for frame, lay in zip(frames, layouts, strict=True):
            if changing:
                frame["layout"] = {k: lay[k] for k in changing if k in lay}
        one = len(self.params) == 1
        sliders = []
        for k, p in enumerate(self.params):
            steps = []
            for i, v in enumerate(p.values):
                if one:
                    steps.append(dict(label=p.label_of(v), method="animate",
                                      args=[[_key((i,))], _ANIMATE]))
                else:
                    steps.append(dict(label=p.label_of(v), method="skip", args=[]))
            sliders.append(dict(
                active=p.values.index(p.default), steps=steps, x=0.02, len=0.96,
                y=0, yanchor="top", pad=dict(t=_AXIS_TITLE_ROOM + _SLIDER_HEIGHT * k, b=0),
                currentvalue=dict(prefix=f"{p.label} = ", font=dict(size=13)),
                font=dict(size=11),
            ))
        figure = go.Figure(data=[plots.rounded(t) for t in base["data"]], layout=base["layout"],
                           frames=frames)
        extra = _AXIS_TITLE_ROOM - 30 + _SLIDER_HEIGHT * len(self.params)
        height = (figure.layout.height or 460) + extra
        margin_b = (figure.layout.margin.b or 55) + extra
        meta = dict(figure.layout.meta) if isinstance(figure.layout.meta, dict) else {}
        meta["dotbook_twin"] = {
            "active": [p.values.index(p.default) for p in self.params],
            "names": [p.name for p in self.params],
            # dotbook-twin.js: a "choice" control is drawn as a row of buttons
            "kinds": ["choice" if p.categorical else "slider" for p in self.params],
            "labels": [list(p.labels) for p in self.params],
            "slider_height": _SLIDER_HEIGHT,
        }
        figure.update_layout(sliders=sliders, height=height, margin_b=margin_b, meta=meta)
        return figure

    # ------------------------------------------------------------------- live face
    def live(self, **values: Any) -> LivePanel | Any:
        """The kernel face: ipywidgets controls driving a plotly ``FigureWidget``,
        starting at ``values`` (missing ones: defaults), e.g. ``twin.live(d_k=512)``.

        In Colab, which does not render ``FigureWidget`` reliably, it is
        :class:`dotbook.colab.ColabFace` instead: the static face plus a bridge
        to the kernel for values between the grid points (it starts at the defaults).
        """
        from dotbook import colab

        self._checked(values)
        if colab.in_colab():
            return colab.ColabFace(self)
        return LivePanel(self, **values)

    def show(self) -> None:
        """Display the face that fits: static + note in the book build, live in a kernel."""
        from IPython.display import HTML, display

        if building_book() or not _in_kernel():
            display(self.static())
            display(HTML(f'<p class="dotbook-note">{self.note}</p>'))
        else:
            face = self.live()
            display(face.widget if isinstance(face, LivePanel) else face)


def _changes(fresh: dict[str, Any], old: dict[str, Any], skip: tuple[str, ...]
             ) -> dict[str, Any]:
    """The entries of ``fresh`` whose values differ from ``old``'s."""
    return {k: v for k, v in fresh.items() if k not in skip and not _same(v, old.get(k))}


def _same(a: object, b: object) -> bool:
    """``a == b`` for plain values; arrays and tensors (no plain truth value) count as changed."""
    try:
        return bool(a == b)
    except (TypeError, ValueError, RuntimeError):
        return False


def _key(index: Sequence[int]) -> str:
    return "-".join(str(i) for i in index)


def _in_kernel() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency of ipywidgets
        return False
    shell = get_ipython()
    return shell is not None and hasattr(shell, "kernel")


class LivePanel:
    """Sliders plus a ``FigureWidget``; :meth:`update` is the slider callback.

    The widget is built once. A move recomputes ``fn`` and sends the widget
    only what changed since the last move: the trace properties whose values
    differ (an arrow that does not move is not restyled) and the layout keys
    that differ (usually just the title). Plotly validates every value it is
    sent, so sending less is what keeps a callback within its 50 ms bar.
    """

    def __init__(self, twin: Twin, **values: Any) -> None:
        import ipywidgets as w

        if not isinstance(twin, Twin):
            raise TypeError(f"twin must be an explore.Twin, got {type(twin).__name__}")
        self.twin = twin
        self._last = twin.data(**values)
        self.figure = go.FigureWidget(self._last)
        self.sliders = {p.name: p.widget(values.get(p.name)) for p in twin.params}
        for slider in self.sliders.values():
            slider.observe(self._on_move, names="value")
        self.widget = w.VBox([*self.sliders.values(), self.figure])

    def _on_move(self, _change: object) -> None:
        params = {p.name: p for p in self.twin.params}
        self.update(**{name: params[name].snap(s.value) for name, s in self.sliders.items()})

    def update(self, **values: float) -> None:
        """Recompute ``fn`` at ``values`` and push what changed into the figure."""
        new = self.twin.data(**values)
        if len(new["data"]) != len(self._last["data"]):
            raise ValueError(
                f"{getattr(self.twin.fn, '__name__', 'fn')} returned {len(new['data'])} traces "
                f"at {values}, but {len(self._last['data'])} before; return the same traces "
                f"for every value"
            )
        restyles = [(trace, _changes(fresh, old, skip=("type",)))
                    for trace, fresh, old in zip(self.figure.data, new["data"],
                                                 self._last["data"], strict=True)]
        relayout = _changes(_frame_layout(new), _frame_layout(self._last), skip=())
        with self.figure.batch_update():
            for trace, changed in restyles:
                if changed:
                    trace.update(changed)
            if relayout:
                self.figure.layout.update(relayout)
        self._last = new

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)
