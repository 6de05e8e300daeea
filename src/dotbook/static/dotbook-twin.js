/* The book's driver for its plotly figures (static twins and plain figures).
 *
 * Frames. A twin's frames are named by the slider positions, "i" or "i-j-…".
 * Plotly's sliders each know only their own position, and its animate()
 * either redraws everything (slow) or leaves the old title on screen. So in
 * the book every slider is switched to method "skip", and this script shows
 * the frame itself with Plotly.react, which redraws only what changed between
 * two full states. Outside the book (a saved notebook), one-slider twins
 * still animate natively.
 *
 * Every reader. Each render also
 *  - follows the book's light/dark theme (html[data-theme], watched by a
 *    MutationObserver): backgrounds, text, grid, axis lines, legend, sliders;
 *    pure-black data becomes the text colour on dark; the Okabe–Ito colours
 *    stay as they are (legible on both);
 *  - fits the column (a ResizeObserver re-renders when the width changes):
 *    below NARROW px the title wraps and shrinks, the legend moves above the
 *    plot, side-by-side panels stack, long axis titles wrap, and crowded
 *    slider labels give way to the slider's current-value line.
 * Each slider gets a keyboard twin: a focusable role="slider" element laid
 * over it (arrows step, Home/End jump to the ends, PageUp/PageDown take big
 * steps), which draws exactly the frame a mouse move would.
 *
 * Lazily. In the book plotly.js is fetched only when a figure is first drawn live;
 * meanwhile each figure's box holds the picture the build made of it (its width and
 * theme), or else its alt text, and plotly draws it when the reader reaches for it
 * or lingers on it.
 */
(function () {
  "use strict";

  var NARROW = 600;  // px: below this a figure takes its phone layout
  var AXIS_COLOURS = {
    light: {paper: "#ffffff", text: "#333333", grid: "#E5E5E5", zero: "#BBBBBB", line: "#444444",
            railBg: "#f8fafc", railBorder: "#bec8d9", grip: "#dbdde0", tick: "#333333"},
    dark: {paper: "#14181e", text: "#ced6dd", grid: "#343a42", zero: "#5d6570", line: "#aab3bd",
           railBg: "#2a3038", railBorder: "#6b7480", grip: "#4a525c", tick: "#ced6dd"}
  };
  var BLACK = /^(#000|#000000|black|rgb\(0, ?0, ?0\))$/i;

  function clone(x) { return x === undefined ? undefined : JSON.parse(JSON.stringify(x)); }

  function isDark() { return document.documentElement.getAttribute("data-theme") === "dark"; }

  /* The theme's own colours (pydata-sphinx-theme's CSS variables), in both themes;
     the table above only fills in where a variable is missing. */
  function colours() {
    var c = Object.assign({}, AXIS_COLOURS[isDark() ? "dark" : "light"]);
    var css = getComputedStyle(document.documentElement);
    function v(name, fallback) { return css.getPropertyValue(name).trim() || fallback; }
    c.paper = v("--pst-color-background", c.paper);
    c.text = v("--pst-color-text-base", c.text);
    c.muted = v("--pst-color-text-muted", c.text);
    c.grid = v("--pst-color-border-muted", c.grid);
    c.zero = v("--pst-color-border", c.zero);
    // a legend over the data lets it show through a little, as the template's did
    var hex = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(c.paper);
    c.legend = hex ? "rgba(" + [1, 2, 3].map(function (i) { return parseInt(hex[i], 16); }).join(",") +
      ",0.8)" : c.paper;
    return c;
  }

  function axisKeys(layout) {
    return Object.keys(layout).filter(function (k) { return /^[xy]axis\d*$/.test(k); });
  }

  function withFont(font, colour) { return Object.assign({}, font || {}, {color: colour}); }

  /* ----------------------------------------------------------------- theme */
  function themeLayout(layout, c) {
    layout.paper_bgcolor = c.paper;
    layout.plot_bgcolor = c.paper;
    layout.font = withFont(layout.font, c.text);
    if (layout.title && typeof layout.title === "object") {
      layout.title = Object.assign({}, layout.title, {font: withFont(layout.title.font, c.text)});
    }
    layout.legend = Object.assign({}, layout.legend, {bgcolor: c.legend,
                                                      font: withFont((layout.legend || {}).font, c.text)});
    axisKeys(layout).forEach(function (k) {
      var ax = Object.assign({}, layout[k]);
      ax.gridcolor = c.grid; ax.zerolinecolor = c.zero; ax.linecolor = c.line;
      ax.tickcolor = c.line; ax.tickfont = withFont(ax.tickfont, c.text);
      if (ax.title && typeof ax.title === "object") {
        ax.title = Object.assign({}, ax.title, {font: withFont(ax.title.font, c.text)});
      }
      layout[k] = ax;
    });
    if (layout.annotations) {
      layout.annotations = layout.annotations.map(function (a) {
        var font = a.font || {};
        if (font.color && !BLACK.test(font.color)) { return a; }
        return Object.assign({}, a, {font: withFont(font, c.text)});
      });
    }
    if (layout.shapes) {
      layout.shapes = layout.shapes.map(function (s) {
        if (!s.line || !BLACK.test(s.line.color || "")) { return s; }
        return Object.assign({}, s, {line: Object.assign({}, s.line, {color: c.text})});
      });
    }
    layout.modebar = Object.assign({}, layout.modebar, {bgcolor: "rgba(0,0,0,0)", color: c.zero,
                                                        activecolor: c.text});
    if (layout.sliders) {
      layout.sliders = layout.sliders.map(function (s) {
        return Object.assign({}, s, {
          font: withFont(s.font, c.text), bgcolor: c.railBg, bordercolor: c.railBorder,
          activebgcolor: c.grip, tickcolor: c.tick,
          currentvalue: Object.assign({}, s.currentvalue,
                                      {font: withFont((s.currentvalue || {}).font, c.text)})
        });
      });
    }
  }

  /* Pure black data would vanish on a dark page: draw it in the text colour. */
  function themeData(data, c) {
    if (!isDark()) { return data; }
    function fix(obj, key) {
      if (obj && typeof obj[key] === "string" && BLACK.test(obj[key])) { obj[key] = c.text; }
    }
    return data.map(function (t0) {
      var t = clone(t0);
      ["line", "marker", "textfont"].forEach(function (part) { fix(t[part], "color"); });
      if (t.marker) { fix(t.marker.line, "color"); }
      fix(t, "fillcolor");
      return t;
    });
  }

  /* ---------------------------------------------------------- phone layout */
  /* `text` in lines of at most `perLine` visible characters, broken at spaces;
     markup (<span style="…">, <sup>) counts for nothing and is never split. */
  function wrap(text, perLine) {
    var lines = [];
    function visible(s) { return s.replace(/<[^>]*>/g, "").length; }
    String(text).split(/<br\s*\/?>/i).forEach(function (para) {
      var line = "";
      var guarded = para.replace(/<[^>]*>/g, function (tag) { return tag.replace(/ /g, "\u0000"); });
      guarded.split(" ").forEach(function (word) {
        word = word.replace(/\u0000/g, " ");
        if (line && visible(line + " " + word) > perLine) { lines.push(line); line = word; }
        else { line = line ? line + " " + word : word; }
      });
      lines.push(line);
    });
    return lines;
  }

  /* The panels of a figure with some side by side, in reading order (rows from the
     top, then left to right): [{x: "xaxis2", y: "yaxis2", d: [x0, x1], yd: [y0, y1]}, ...];
     null when no two panels share a height band. */
  function gridOfPanels(layout) {
    var panels = [], ok = true;
    axisKeys(layout).forEach(function (k) {
      var ax = layout[k];
      if (k[0] !== "x" || ax.overlaying) { return; }
      var yk = "yaxis" + String(ax.anchor || "y").slice(1);
      var ya = layout[yk];
      if (!ya) { ok = false; return; }
      panels.push({x: k, y: yk, d: (ax.domain || [0, 1]).slice(), yd: (ya.domain || [0, 1]).slice()});
    });
    var sideBySide = panels.some(function (p) {
      return panels.some(function (q) {
        return q !== p && q.d[0] >= p.d[1] - 1e-6 && q.yd[0] < p.yd[1] && p.yd[0] < q.yd[1];
      });
    });
    if (!ok || !sideBySide) { return null; }
    panels.sort(function (a, b) {
      var ca = (a.yd[0] + a.yd[1]) / 2, cb = (b.yd[0] + b.yd[1]) / 2;
      return Math.abs(ca - cb) > 0.02 ? cb - ca : a.d[0] - b.d[0];
    });
    return panels;
  }

  /* Stack the panels into one column; paper-referenced notes follow their panel. */
  function stack(layout, panels, plotWidth) {
    var m = layout.margin;
    var gap = 100;                                   // px: x ticks + axis title + subplot title
    // each panel as tall as suits its width; an equal-aspect panel keeps its shape
    var heights = panels.map(function (p) {
      var xa = layout[p.x], ya = layout[p.y], h = 0.8 * plotWidth;
      if (ya.scaleanchor === p.x.replace("axis", "") && xa.range && ya.range) {
        h = plotWidth * Math.abs(ya.range[1] - ya.range[0]) / Math.abs(xa.range[1] - xa.range[0]) /
            (ya.scaleratio || 1);
      }
      return Math.max(200, Math.min(380, h));
    });
    var area = heights.reduce(function (a, b) { return a + b; }, 0) + (panels.length - 1) * gap;
    var remap = [], used = 0;
    panels.forEach(function (p, i) {
      var top = 1 - used / area, bottom = top - heights[i] / area;
      used += heights[i] + gap;
      layout[p.x] = Object.assign({}, layout[p.x], {domain: [0, 1]});
      layout[p.y] = Object.assign({}, layout[p.y], {domain: [bottom, top]});
      remap.push({from: p, to: [bottom, top]});
    });
    // a note in paper coordinates belongs to the panel that holds it (a subplot
    // title sits just above its panel) and moves with it
    function move(obj, xk, yk) {
      if (obj[xk + "ref"] !== "paper" || obj[yk + "ref"] !== "paper") { return obj; }
      var x = obj[xk], y = obj[yk], best = null, miss = Infinity;
      remap.forEach(function (r) {
        var d = r.from.d, yd = r.from.yd;
        if (x < d[0] - 1e-6 || x > d[1] + 1e-6) { return; }
        var off = y > yd[1] ? y - yd[1] : (y < yd[0] ? yd[0] - y : 0);
        if (off < miss) { miss = off; best = r; }
      });
      if (!best || miss > 0.15) { return obj; }
      var d = best.from.d, yd = best.from.yd, out = Object.assign({}, obj);
      out[xk] = (x - d[0]) / (d[1] - d[0]);
      out[yk] = best.to[0] + (y - yd[0]) / (yd[1] - yd[0]) * (best.to[1] - best.to[0]);
      return out;
    }
    if (layout.annotations) { layout.annotations = layout.annotations.map(function (a) { return move(a, "x", "y"); }); }
    return m.t + m.b + area;
  }

  /* Rows of a horizontal legend as plotly lays it out: one row when all entries
     fit, else a grid of columns as wide as the widest entry. */
  function legendRows(data, width, size) {
    var widths = data.filter(function (t) { return t.showlegend !== false && t.name; })
      .map(function (t) { return 50 + 0.6 * size * String(t.name).length; });
    var total = widths.reduce(function (a, b) { return a + b; }, 0);
    if (total < width) { return 1; }
    var cols = Math.max(1, Math.floor(width / Math.max.apply(null, widths)));
    return Math.ceil(widths.length / cols);
  }

  /* The phone layout. `fix` holds pixel corrections measured on the drawn
     figure (see measure): title offset, legend room, room above the sliders. */
  function phone(layout, data, width, fix) {
    var height = layout.height || 450;
    layout.margin = Object.assign({l: 60, r: 20, t: 60, b: 55}, layout.margin);
    layout.margin.l = Math.min(layout.margin.l, 56);
    layout.margin.r = Math.min(layout.margin.r, 16);
    var panels = gridOfPanels(layout);
    if (panels) { height = stack(layout, panels, width - layout.margin.l - layout.margin.r); }
    var area = height - layout.margin.t - layout.margin.b;  // px of the plot area
    var plotWidth = width - layout.margin.l - layout.margin.r;
    // title: smaller, wrapped to the width, at the top
    var top = 8, lines = [], size = 14, legendH = 0;
    if (layout.title && layout.title.text) {
      size = Math.min(((layout.title.font || {}).size) || 17, 14);
      lines = wrap(layout.title.text, Math.max(12, Math.floor((width - 16) / (0.56 * size))));
      layout.title = Object.assign({}, layout.title, {
        text: lines.join("<br>"), x: 0.02, xanchor: "left", xref: "container",
        yanchor: "top", yref: "container",
        font: Object.assign({}, layout.title.font, {size: size})
      });
      top += lines.length * 1.3 * size + 6;
    }
    // legend: a horizontal band between the title and the plot
    var shown = layout.showlegend !== false &&
      data.filter(function (t) { return t.showlegend !== false && t.name; }).length > 0;
    if (shown) {
      var lsize = Math.min(((layout.legend || {}).font || {}).size || 13, 12);
      var rows = legendRows(data, plotWidth, lsize);
      var grouped = data.some(function (t) { return t.legendgroup; });
      var rowH = 1.6 * lsize + (grouped ? ((layout.legend || {}).tracegroupgap || 10) : 0);
      legendH = rows * rowH;
      layout.legend = Object.assign({}, layout.legend, {
        orientation: "h", x: 0, xanchor: "left", xref: "paper",
        y: 1, yanchor: "bottom", yref: "paper",
        font: Object.assign({}, (layout.legend || {}).font, {size: lsize})
      });
      // a note on the top edge of the plot (a subplot title) keeps its place below the legend
      var lift = (layout.annotations || []).some(function (a) {
        return a.yref === "paper" && a.y >= 0.99;
      }) ? 26 : 0;
      layout.legend.y = 1 + lift / area;
      top += legendH + 6 + lift;
    }
    // the figure's height comes from the estimate alone, so it is known before the figure
    // is drawn (a waiting figure's box has it: nothing moves when it draws); measured
    // corrections (fix) take their room from the plot area
    height = Math.max(top + 8, 30) + layout.margin.b + area;
    layout.margin.t = Math.max(top + 8 + fix.legend, 30);
    layout.margin.b += fix.bottom;
    if (lines.length) {  // where plotly puts a multi-line title is measured (fix.title)
      layout.title.y = 1 - (8 + fix.title) / height;
    }
    // subplot titles (paper notes) in the phone's smaller type
    if (layout.annotations) {
      layout.annotations = layout.annotations.map(function (a) {
        if (a.xref !== "paper" || a.yref !== "paper") { return a; }
        return Object.assign({}, a, {font: Object.assign({}, a.font, {
          size: Math.min(((a.font || {}).size) || 14, 12)})});
      });
    }
    // axis titles wider than their panel wrap
    axisKeys(layout).forEach(function (k) {
      var ax = layout[k];
      // automargin: tick labels at a panel's edge (rotated categories, long category
      // names beside a y axis) push the margin instead of covering the axis title
      if (k[0] === "y") { layout[k] = Object.assign({}, ax, {automargin: true}); return; }
      if (!ax.title) { return; }
      var title = typeof ax.title === "object" ? ax.title : {text: ax.title};
      if (!title.text) { return; }
      var span = ax.domain ? ax.domain[1] - ax.domain[0] : 1;
      var tsize = Math.min((title.font || {}).size || 14, 13);
      var per = Math.max(10, Math.floor(span * plotWidth / (0.56 * tsize)));
      layout[k] = Object.assign({}, ax, {automargin: true, title: Object.assign({}, title, {
        text: wrap(title.text, per).join("<br>"), font: Object.assign({}, title.font, {size: tsize})})});
    });
    // slider tick labels that would collide: hide them (the current value stays)
    if (layout.sliders) {
      layout.sliders = layout.sliders.map(function (s) {
        var steps = s.steps || [];
        var longest = steps.reduce(function (n, st) { return Math.max(n, String(st.label).length); }, 1);
        var fsize = (s.font || {}).size || 11;
        s = Object.assign({}, s, {pad: Object.assign({}, s.pad, {t: ((s.pad || {}).t || 0) + fix.bottom})});
        // a long current-value line ("name = value") shrinks to fit the slider's width
        var cv = s.currentvalue || {}, cvsize = (cv.font || {}).size || 13;
        var chars = String(cv.prefix || "").length + longest + String(cv.suffix || "").length;
        var fits = Math.floor((width * (s.len || 1) - 24) / (0.58 * chars));
        if (fits < cvsize) {
          s.currentvalue = Object.assign({}, cv, {font: Object.assign({}, cv.font, {size: Math.max(9, fits)})});
        }
        if (steps.length * (longest * 0.6 * fsize + 6) <= width * (s.len || 1) - 40) { return s; }
        return Object.assign({}, s, {font: Object.assign({}, s.font, {color: "rgba(0,0,0,0)"})});
      });
    }
    layout.height = Math.round(height);
  }

  /* Measure the drawn phone layout; correct `fix` (px) and say whether to draw again:
     the title's top 8 px below the figure's, the legend just below the title, the
     sliders below every x-axis title and tick label. */
  function measure(gd, fix) {
    var box = gd.getBoundingClientRect(), moved = 0;
    function rect(el) { return el ? el.getBoundingClientRect() : null; }
    var title = rect(gd.querySelector(".g-gtitle .gtitle"));
    var legend = rect(gd.querySelector("g.legend"));
    if (title && title.height) {
      var dt = title.top - box.top - 8;
      fix.title -= dt; moved = Math.max(moved, Math.abs(dt));
      if (legend && legend.height && ((gd._fullLayout || {}).legend || {}).orientation === "h") {
        var dl = (title.bottom - dt) + 6 - legend.top;
        if (dl > 0 || dl < -24) { fix.legend += dl; moved = Math.max(moved, Math.abs(dl)); }
      }
    }
    var sliders = rect(gd.querySelector("g.slider-container"));
    if (sliders && sliders.height) {
      var lowest = 0;
      gd.querySelectorAll(".infolayer g, .xaxislayer-above text").forEach(function (el) {
        if (el.tagName.toLowerCase() === "g" && !/^g-x\d*title$/.test(el.getAttribute("class") || "")) {
          return;
        }
        var r = el.getBoundingClientRect();
        if (r.height && r.bottom > lowest && r.bottom < sliders.bottom) { lowest = r.bottom; }
      });
      var db = lowest + 8 - sliders.top;
      if (db > 0) { fix.bottom += db; moved = Math.max(moved, db); }
    }
    return moved > 2;
  }

  /* A title wider than the figure: smaller type (not below 13 px), then wrapped,
     with the top margin grown by the added lines. */
  function fitTitle(layout, width) {
    var t = layout.title;
    if (!t || typeof t !== "object" || !t.text) { return; }
    var size = (t.font || {}).size || 1.2 * ((layout.font || {}).size || 14);
    var lines = String(t.text).split(/<br\s*\/?>/i);
    var longest = Math.max.apply(null, lines.map(function (l) { return l.replace(/<[^>]*>/g, "").length; }));
    var room = width - 30;
    if (longest * 0.6 * size <= room) { return; }
    var fitted = Math.max(13, Math.floor(room / (0.6 * longest)));
    var wrapped = wrap(t.text, Math.floor(room / (0.6 * fitted)));
    layout.title = Object.assign({}, t, {text: wrapped.join("<br>"),
                                         font: Object.assign({}, t.font, {size: fitted})});
    var extra = Math.ceil((wrapped.length - lines.length) * 1.3 * fitted);
    if (extra > 0) {
      layout.margin = Object.assign({}, layout.margin);
      layout.margin.t = (layout.margin.t || 60) + extra;
      layout.height = (layout.height || 450) + extra;
    }
  }

  /* ------------------------------------------------- layout by construction */
  /* Rules every figure gets, whatever its module asked for (issue 23): axis titles
     clear their tick labels (automargin), pixel grids have square pixels, integer
     ticks and rows downward, log axes show decades, a diverging heatmap's zero reads
     on both themes and an all-zero panel says so. */
  var DIVERGING = [[0, "#2166AC"], [0.25, "#6EA6CD"], [0.5, "#999999"], [0.75, "#E3896C"],
                   [1, "#B2182B"]];
  var DIVERGING_NAME = /^(RdBu|RdBu_r|balance|PuOr|PiYG|PRGn|BrBG|RdYlBu|RdGy|Picnic|curl|delta|tealrose)$/i;

  function whiteMiddle(scale) {
    if (typeof scale === "string") { return DIVERGING_NAME.test(scale); }
    if (!Array.isArray(scale) || scale.length < 3) { return false; }
    var mid = scale.reduce(function (best, s) {
      return Math.abs(s[0] - 0.5) < Math.abs(best[0] - 0.5) ? s : best;
    });
    var str = String(mid[1]).trim(), v;
    var h = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(str);
    var r = /rgba?\((\d+),\s*(\d+),\s*(\d+)/i.exec(str);
    if (h) { v = [h[1], h[2], h[3]].map(function (x) { return parseInt(x, 16); }); }
    else if (r) { v = [Number(r[1]), Number(r[2]), Number(r[3])]; }
    else { return /^white$/i.test(str); }
    return Math.abs(mid[0] - 0.5) < 0.05 && v.every(function (x) { return x > 225; });
  }

  /* The same ends (so "red means negative" still holds), a mid grey at zero. */
  function greyZero(scale) {
    if (Array.isArray(scale) && scale.length >= 2) {
      return [[0, scale[0][1]], [0.5, DIVERGING[2][1]], [1, scale[scale.length - 1][1]]];
    }
    var redLow = typeof scale === "string" && /^Rd/i.test(scale) !== /_r$/i.test(scale);
    return redLow ? DIVERGING.map(function (s, i) { return [s[0], DIVERGING[4 - i][1]]; }) : DIVERGING;
  }

  function allZero(z) {
    var seen = false;
    function walk(a) {
      for (var i = 0; i < a.length; i++) {
        if (Array.isArray(a[i])) { if (!walk(a[i])) { return false; } }
        else if (a[i] !== null && a[i] !== undefined) { if (a[i] !== 0) { return false; } seen = true; }
      }
      return true;
    }
    return Array.isArray(z) && walk(z) && seen;
  }

  function niceStep(span) {
    var target = span / 8, steps = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000];
    for (var i = 0; i < steps.length; i++) { if (steps[i] >= target) { return steps[i]; } }
    return Math.ceil(target);
  }

  function construct(layout, data, c) {
    axisKeys(layout).forEach(function (k) {
      var ax = Object.assign({}, layout[k], {automargin: true});
      if (ax.title && typeof ax.title === "object" && ax.title.standoff === undefined) {
        ax.title = Object.assign({}, ax.title, {standoff: 6});
      }
      var r = ax.range;
      if (ax.type === "log" && Array.isArray(r) && Math.abs(r[1] - r[0]) >= 2 && ax.dtick === undefined &&
          !ax.tickvals) {
        ax.dtick = Math.abs(r[1] - r[0]) > 12 ? 2 : 1;
        ax.minor = Object.assign({ticks: "outside", ticklen: 3, dtick: "D1", showgrid: false},
                                 ax.minor || {});
      }
      layout[k] = ax;
    });
    var notes = [];
    data.forEach(function (t) {
      if (t.type !== "heatmap") { return; }
      var xk = "xaxis" + String(t.xaxis || "x").slice(1), yk = "yaxis" + String(t.yaxis || "y").slice(1);
      var xa = layout[xk], ya = layout[yk];
      // a diverging scale centred on zero (white there would read as "no figure" on dark)
      var centred = t.zmid === 0 || (typeof t.zmax === "number" && t.zmax > 0 && t.zmin === -t.zmax);
      if (centred && whiteMiddle(t.colorscale)) { t.colorscale = greyZero(t.colorscale); }
      if (allZero(t.z) && xa && ya) {
        notes.push({text: "exactly 0 everywhere", showarrow: false, x: 0.5, y: 0.5,
                    xref: String(t.xaxis || "x") + " domain", yref: String(t.yaxis || "y") + " domain",
                    font: {color: c.text, size: 13}, bgcolor: c.paper, borderpad: 4});
      }
      // a pixel grid: no coordinates, an image of cells
      if (t.x !== undefined || t.y !== undefined || !xa || !ya || !Array.isArray(t.z)) { return; }
      var rows = t.z.length, cols = Array.isArray(t.z[0]) ? t.z[0].length : 0;
      if (!rows || !cols) { return; }
      var ry = ya.range, rx = xa.range;
      var ny = Object.assign({}, ya, {scaleanchor: String(t.xaxis || "x"), constrain: "domain"});
      var nx = Object.assign({}, xa, {constrain: "domain"});
      if (ya.scaleratio === undefined) { ny.scaleratio = 1; }
      if (Array.isArray(ry) && ry[0] < ry[1]) { ny.range = [ry[1], ry[0]]; }  // rows downward
      if (Array.isArray(rx) && nx.tickvals === undefined && nx.dtick === undefined) {
        Object.assign(nx, {tickmode: "linear", tick0: 0, dtick: niceStep(Math.abs(rx[1] - rx[0]))});
      }
      if (Array.isArray(ry) && ny.tickvals === undefined && ny.dtick === undefined) {
        Object.assign(ny, {tickmode: "linear", tick0: 0, dtick: niceStep(Math.abs(ry[1] - ry[0]))});
      }
      layout[xk] = nx; layout[yk] = ny;
    });
    if (notes.length) { layout.annotations = (layout.annotations || []).concat(notes); }
  }

  /* No text under the floor (10 px on a desktop, 9 px on a phone); a bar's label
     sits outside its bar, and is left out rather than shrunk below the floor. */
  function floorText(layout, data, floor) {
    function up(font) {
      if (!font || typeof font.size !== "number" || font.size >= floor) { return font; }
      return Object.assign({}, font, {size: floor});
    }
    layout.font = up(Object.assign({size: 14}, layout.font));
    if (layout.title && typeof layout.title === "object") {
      layout.title = Object.assign({}, layout.title, {font: up(layout.title.font)});
    }
    layout.legend = Object.assign({}, layout.legend, {font: up((layout.legend || {}).font)});
    axisKeys(layout).forEach(function (k) {
      var ax = Object.assign({}, layout[k], {tickfont: up(layout[k].tickfont)});
      if (ax.title && typeof ax.title === "object") { ax.title = Object.assign({}, ax.title, {font: up(ax.title.font)}); }
      layout[k] = ax;
    });
    if (layout.annotations) {
      layout.annotations = layout.annotations.map(function (a) {
        return Object.assign({}, a, {font: up(a.font)});
      });
    }
    if (layout.sliders) {
      layout.sliders = layout.sliders.map(function (s) {
        return Object.assign({}, s, {font: up(s.font), currentvalue: Object.assign({}, s.currentvalue,
          {font: up((s.currentvalue || {}).font)})});
      });
    }
    layout.uniformtext = {minsize: floor, mode: "hide"};
    data.forEach(function (t) {
      if (t.textfont) {
        var f = Object.assign({}, t.textfont);
        if (Array.isArray(f.size)) { f.size = f.size.map(function (v) { return Math.max(v, floor); }); }
        else if (typeof f.size === "number") { f.size = Math.max(f.size, floor); }
        t.textfont = f;
      }
      if (t.type === "bar" && t.text !== undefined && (!t.textposition || /^(auto|inside)$/.test(t.textposition))) {
        t.textposition = "outside";
        t.cliponaxis = false;
      }
      if (t.marker && t.marker.colorbar) {
        t.marker = Object.assign({}, t.marker, {colorbar: Object.assign({}, t.marker.colorbar,
          {tickfont: up(Object.assign({size: 12}, t.marker.colorbar.tickfont))})});
      }
    });
  }

  /* Desktop: the title at the top, then the legend as a horizontal band above the
     plot area (unless it sits in the right margin, where plotly reserves its room):
     it can cover neither the title nor an axis title at any width. `fix` holds the
     measured corrections, as for the phone. */
  function band(layout, data, width, fix) {
    var m = layout.margin = Object.assign({l: 60, r: 20, t: 60, b: 55}, layout.margin);
    var height = layout.height || 450, oldTop = m.t;
    var area = height - m.t - m.b, plotWidth = width - m.l - m.r;
    var top = 8, lines = 0;
    if (layout.title && layout.title.text) {
      var size = ((layout.title.font || {}).size) || 1.2 * (((layout.font || {}).size) || 14);
      lines = String(layout.title.text).split(/<br\s*\/?>/i).length;
      top += lines * 1.3 * size + 6;
    }
    var lg = layout.legend || {};
    var shown = layout.showlegend !== false &&
      data.filter(function (t) { return t.showlegend !== false && t.name; }).length > (layout.showlegend ? 0 : 1);
    var inMargin = typeof lg.x === "number" && lg.x >= 1;
    if (shown && !inMargin) {
      var lsize = ((lg.font || {}).size) || 13;
      var grouped = data.some(function (t) { return t.legendgroup; });
      var rowH = 1.6 * lsize + (grouped ? (lg.tracegroupgap || 10) : 0);
      var lift = (layout.annotations || []).some(function (a) {
        return a.yref === "paper" && a.y >= 0.99;
      }) ? 26 : 0;
      layout.legend = Object.assign({}, lg, {orientation: "h", x: 0, xanchor: "left", xref: "paper",
                                             y: 1 + lift / area, yanchor: "bottom", yref: "paper"});
      top += legendRows(data, plotWidth, lsize) * rowH + 6 + lift;
    } else if (!lines) { return; }
    // the height from the estimate alone; a measured correction takes its room from the plot
    height = height + (Math.max(m.t, Math.round(top + 8)) - oldTop);
    m.t = Math.max(m.t, Math.round(top + 8 + fix.legend));
    layout.height = Math.round(height);
    if (lines) {
      layout.title = Object.assign({}, layout.title, {xref: "container", yref: "container", yanchor: "top",
                                                      y: 1 - (8 + fix.title) / height});
    }
  }

  /* A y-axis title longer than its panel is tall would reach into the legend or title
     above; measured corrections (fix) take their room from the plot area, so grow the
     figure for the title first, from the text alone (so a waiting figure's box is
     sized the same), with some slack for those corrections. */
  function roomForYTitles(layout) {
    var m = layout.margin || {}, height = layout.height || 450;
    var area = height - (m.t === undefined ? 60 : m.t) - (m.b === undefined ? 55 : m.b);
    var need = 0;
    axisKeys(layout).forEach(function (k) {
      var ax = layout[k];
      if (k[0] !== "y" || !ax || !ax.title) { return; }
      var title = typeof ax.title === "object" ? ax.title : {text: ax.title};
      if (!title.text) { return; }
      var size = (title.font || {}).size || ((layout.font || {}).size) || 14;
      var longest = Math.max.apply(null, String(title.text).split(/<br\s*\/?>/i).map(function (l) {
        return l.replace(/<[^>]*>/g, "").length;
      }));
      var span = ax.domain ? ax.domain[1] - ax.domain[0] : 1;
      need = Math.max(need, (0.6 * size * longest + 40) / Math.max(span, 0.1));
    });
    if (need > area) { layout.height = Math.round(height + need - area); }
  }

  /* Sliders below every x-axis title and tick label (fix.bottom, measured). */
  function lowerSliders(layout, fix) {
    if (!layout.sliders || !fix.bottom) { return; }
    layout.sliders = layout.sliders.map(function (s) {
      return Object.assign({}, s, {pad: Object.assign({}, s.pad, {t: ((s.pad || {}).t || 0) + fix.bottom})});
    });
    layout.margin = Object.assign({}, layout.margin);
    layout.margin.b = (layout.margin.b || 55) + fix.bottom;  // the height stays (see band)
  }

  /* --------------------------------------------------------------- render */
  /* The theme and the column width applied to a clean layout and data (copies). */
  function compose(gd, layout, data) {
    var c = colours();
    themeLayout(layout, c);
    data = themeData(data, c);
    var width = gd.clientWidth || (gd._fullLayout || {}).width || 700;
    var st = gd._dotbook || {};
    if (!st.fix || st.fix.width !== width) {
      st.fix = {width: width, title: 0, legend: 0, bottom: 0, passes: 0};
    }
    construct(layout, data, c);
    if (width < NARROW) { phone(layout, data, width, st.fix); }
    else {
      roomForYTitles(layout);
      fitTitle(layout, width); band(layout, data, width, st.fix); lowerSliders(layout, st.fix);
    }
    floorText(layout, data, width < NARROW ? 9 : 10);
    if (layout.height) {
      // plotly's responsive HTML sizes a wrapper in px and the plot at 100% of it
      [gd, gd.parentNode].forEach(function (el) {
        if (el && el.style && /px$/.test(el.style.height)) { el.style.height = layout.height + "px"; }
      });
    }
    return {layout: layout, data: data, width: width, phone: width < NARROW, fix: st.fix};
  }

  /* Every axis range of a layout, copied: {xaxis: [lo, hi], ...}. */
  function rangesOf(layout) {
    var out = {};
    axisKeys(layout || {}).forEach(function (k) {
      var r = layout[k] && layout[k].range;
      if (Array.isArray(r)) { out[k] = r.slice(); }
    });
    return out;
  }

  /* Draw gd afresh from its pristine layout, its current frame and slider
     positions, in the current theme and width. Plotly writes back into the
     layout it draws (an equal-aspect panel's ranges widened to fit its box),
     and a later relayout widens from those: so every draw starts from the
     ranges the page gave (st.ranges, copied before the first draw), in fresh
     arrays plotly cannot touch. prepare: the layout and data to draw (and the
     wrapper sized for them); render draws them. `resized` counts the redraws after
     a resize. */
  function prepare(gd) {
    var st = gd._dotbook;
    var frame = null, hash = gd._transitionData && gd._transitionData._frameHash;
    if (st.twin && hash) { frame = hash[st.active.join("-")] || null; }
    // shallow: every key the theme or the phone layout changes is replaced by a copy
    var layout = Object.assign({}, st.layout, frame ? frame.layout || {} : {});
    var frameRanges = rangesOf(frame ? frame.layout : null);
    // a reader's zoom survives a re-render through plotly's own uirevision
    axisKeys(layout).forEach(function (k) {
      layout[k] = Object.assign({}, layout[k], {uirevision: "dotbook"});
      var r = frameRanges[k] || st.ranges[k];
      if (r) { layout[k].range = r.slice(); }
    });
    if (layout.sliders && st.twin) {
      layout.sliders = layout.sliders.map(function (s, i) {
        return Object.assign({}, s, {active: st.active[i]});
      });
    }
    hideChoiceSliders(gd, layout);
    return compose(gd, layout, frame ? frame.data : st.data);
  }

  function render(gd, resized) {
    keepLaidOut(gd);
    var st = gd._dotbook, out = prepare(gd);
    st.width = out.width;
    // a lazy figure's first draw is this react (on an empty div plotly draws anew, with
    // the page's config); later ones keep that config
    var config = gd._fullLayout ? undefined : st.config;
    return window.Plotly.react(gd, out.data, out.layout, config).then(function () {
      // react keeps the old autosized width; a column that changed width needs a
      // resize, which re-fits an equal-aspect panel from the ranges widened for the
      // old width (a stacked phone panel came out about ±14 instead of ±3.3): so
      // draw once more, from the original ranges, at the new width
      var drawn = (gd._fullLayout || {}).width;
      if (drawn && Math.abs(drawn - out.width) > 1) {
        return window.Plotly.Plots.resize(gd).then(function () {
          return (resized || 0) < 2 ? render(gd, (resized || 0) + 1) : gd;
        });
      }
      // the phone layout is estimated; measure it and correct it (at most twice)
      if (out.fix.passes < 3 && measure(gd, out.fix)) {
        out.fix.passes += 1;
        return render(gd, resized);
      }
      return gd;
    });
  }

  /* Draw the frame at slider positions `active` (default: the current ones). */
  function show(gd, active) {
    if (gd._dotbookQueued) { return draw(gd).then(function () { return show(gd, active); }); }
    if (!gd._dotbook) { link(gd); }
    if (active) { gd._dotbook.active = active.slice(); }
    return withFrames(gd).then(function () { return render(gd); })
      .then(function () { updateKeys(gd); updateChoices(gd); });
  }

  /* A lazy twin's frames: the page adds them (Plotly.addFrames, in a .then of its
     newPlot call) only when one is first needed, a frame other than the defaults'
     (which is the figure's own data and layout), or when the reader first reaches
     for the figure (pointer, focus): a page does not parse and copy every frame of
     every figure at load. */
  function needsFrames(gd) {
    var st = gd._dotbook;
    return !!(gd._dotbookFrames && st && st.twin && st.active.join("-") !== st.base);
  }

  function withFrames(gd, always) {
    var item = gd._dotbookFrames;
    if (!item || !gd._fullLayout || !(always || needsFrames(gd))) { return Promise.resolve(gd); }
    gd._dotbookFrames = null;
    item[1](gd);  // the page's .then (Plotly.addFrames) was chained first, so runs first
    return item[2].then(function () { return gd; });
  }

  /* ------------------------------------------------------------- keyboard */
  function numeric(steps) {
    var v = steps.map(function (s) { return String(s.label).trim() === "" ? NaN : Number(s.label); });
    return v.every(isFinite) ? v : null;
  }

  function sliderName(s, i) {
    var prefix = ((s.currentvalue || {}).prefix || "").replace(/[\s=:]+$/, "");
    return prefix || "slider " + (i + 1);
  }

  function updateKeys(gd) {
    var st = gd._dotbook;
    if (!st.keys) { return; }
    st.keys.forEach(function (el, i) {
      if (!el) { return; }  // a choice: buttons (updateChoices)
      var s = gd.layout.sliders[i], steps = s.steps, k = st.active[i];
      var values = numeric(steps) || steps.map(function (_, j) { return j; });
      el.setAttribute("aria-valuemin", String(values[0]));
      el.setAttribute("aria-valuemax", String(values[values.length - 1]));
      el.setAttribute("aria-valuenow", String(values[k]));
      el.setAttribute("aria-valuetext", sliderName(s, i) + " = " + steps[k].label);
    });
    placeKeys(gd);
  }

  /* Lay each keyboard twin over its plotly slider (rail, ticks and current value). */
  function placeKeys(gd) {
    var st = gd._dotbook, host = gd.parentNode;
    if (!st.keys || !host) { return; }
    var groups = gd.querySelectorAll("g.slider-group");
    var origin = host.getBoundingClientRect(), shown = -1;
    st.keys.forEach(function (el, i) {
      if (!el) { return; }
      var g = groups[++shown];
      if (!g) { return; }
      var r = g.getBoundingClientRect();
      el.style.left = (r.left - origin.left - 4) + "px";
      el.style.top = (r.top - origin.top - 2) + "px";
      el.style.width = (r.width + 8) + "px";
      el.style.height = (r.height + 4) + "px";
    });
  }

  function step(gd, i, to) {
    var st = gd._dotbook, n = gd.layout.sliders[i].steps.length;
    to = Math.max(0, Math.min(n - 1, to));
    if (to === st.active[i]) { return; }
    st.active[i] = to;
    show(gd);
    writeHash(gd);
  }

  function addKeys(gd) {
    var st = gd._dotbook, host = gd.parentNode;
    if (!st.twin || !host) { return; }
    if (getComputedStyle(host).position === "static") { host.style.position = "relative"; }
    st.keys = gd.layout.sliders.map(function (s, i) {
      if (isChoice(gd, i)) { return null; }
      var el = document.createElement("div");
      el.className = "dotbook-slider-key";
      el.tabIndex = 0;
      el.setAttribute("role", "slider");
      el.setAttribute("aria-orientation", "horizontal");
      el.setAttribute("aria-label", sliderName(s, i));
      el.dataset.slider = String(i);
      el.addEventListener("keydown", function (ev) {
        var n = gd.layout.sliders[i].steps.length, k = st.active[i];
        var big = Math.max(1, Math.round(n / 10));
        var to = {ArrowRight: k + 1, ArrowUp: k + 1, ArrowLeft: k - 1, ArrowDown: k - 1,
                  PageUp: k + big, PageDown: k - big, Home: 0, End: n - 1}[ev.key];
        if (to === undefined) { return; }
        ev.preventDefault();
        step(gd, i, to);
      });
      host.appendChild(el);
      return el;
    });
    updateKeys(gd);
  }

  /* ---------------------------------------------------------------- wiring */
  /* What a figure is drawn from (gd._dotbook): copies of the data and layout its page
     gives, the slider positions, the page's plotly config. */
  function state(gd, data, layout, config) {
    if (gd._dotbook) { return gd._dotbook; }
    var meta = layout.meta && layout.meta.dotbook_twin;
    layout = clone(layout);
    gd._dotbook = {twin: !!meta, active: meta ? meta.active.slice() : [],
                   base: meta ? meta.active.join("-") : "", data: clone(data), layout: layout,
                   ranges: rangesOf(layout), keys: null, width: 0, config: config};
    if (meta) {
      layout.sliders.forEach(function (slider) {
        slider.steps.forEach(function (s) { s.method = "skip"; s.args = []; });
      });
    }
    return gd._dotbook;
  }

  /* Wire a drawn figure: its sliders, keyboard twins, choices, resizing. `drawn`: the
     promise of its first draw (a lazy figure), else it is drawn here. */
  function link(gd, drawn) {
    if (gd.dataset.dotbookLinked || typeof gd.on !== "function") { return; }
    if (!gd._dotbook) {
      if (!gd.layout || !gd.data) { return; }
      var pristine = gd._dotbookPristine || {data: gd.data, layout: gd.layout};
      state(gd, pristine.data, pristine.layout);
    }
    var meta = gd._dotbook.twin;
    gd.dataset.dotbookLinked = "1";
    if (meta) {
      gd.on("plotly_sliderchange", function (ev) {
        var slider = ev.slider._index, k = ev.slider.steps.indexOf(ev.step);
        if (slider === undefined || k < 0) { return; }
        gd._dotbook.active[slider] = k;
        show(gd);
        writeHash(gd);
      });
      if (!drawn) { readHash(gd); }
    }
    gd.on("plotly_afterplot", function () { placeKeys(gd); });
    (drawn || show(gd)).then(function () { addKeys(gd); addChoices(gd); });
    if (window.ResizeObserver) {
      var pending = false;
      new ResizeObserver(function () {
        if (pending) { return; }
        pending = true;
        window.requestAnimationFrame(function () {
          pending = false;
          var w = gd.clientWidth;
          if (w && Math.abs(w - gd._dotbook.width) > 1) { show(gd); } else { placeKeys(gd); }
        });
      }).observe(gd.parentNode || gd);
    }
  }

  function linkAll() {
    document.querySelectorAll(".js-plotly-plot").forEach(function (gd) {
      if (!gd._dotbookDrawn) { link(gd); }  // a lazy figure links once its frames are in
    });
  }

  function rethemeAll() {
    waiting.forEach(showPicture);  // a waiting figure: the picture of the new theme
    document.querySelectorAll(".js-plotly-plot").forEach(function (gd) {
      if (gd._dotbook && gd._fullLayout) { show(gd); }  // a waiting figure: when drawn
    });
  }

  /* Keep each figure's layout and data as its page gives them, before plotly
     writes into them, and draw even the first frame in the reader's theme and
     width (no white flash on a dark page). */
  function wrapNewPlot() {
    var plotly = window.Plotly;
    if (!plotly || !plotly.react || plotly._dotbookWrapped) { return; }
    var newPlot = plotly.newPlot;
    plotly.newPlot = function (id, data, layout, config) {
      var gd = typeof id === "string" ? document.getElementById(id) : id;
      if (gd && Array.isArray(data) && layout && typeof layout === "object") {
        gd._dotbookPristine = {data: clone(data), layout: clone(layout)};
        var out = compose(gd, clone(layout), clone(data));
        return newPlot.call(this, id, out.data, out.layout, config);
      }
      return newPlot.apply(this, arguments);
    };
    plotly._dotbookWrapped = true;
  }
  wrapNewPlot();

  /* plotly.js itself. In the book it is fetched when a figure is first drawn live
     (window.dotbookPlotlySrc, written into the page by dotbook_sphinx.py, beside the
     queue); a notebook or the Colab face has it already. */
  var plotlyReady = null;
  function needPlotly() {
    if (window.Plotly && window.Plotly.react) { wrapNewPlot(); return Promise.resolve(window.Plotly); }
    if (!plotlyReady) {
      plotlyReady = new Promise(function (resolve, reject) {
        var s = document.createElement("script");
        s.src = window.dotbookPlotlySrc;
        s.onload = function () { wrapNewPlot(); resolve(window.Plotly); };
        s.onerror = function () { plotlyReady = null; reject(new Error("plotly.js did not load")); };
        document.head.appendChild(s);
      });
    }
    return plotlyReady;
  }

  /* ------------------------------------------------------------ pictures */
  /* The build draws every figure once in Chromium, at a wide and a phone width, light
     and dark, with this very script (book/_ext/dotbook_pictures.py), and names the SVG
     files in the figure box's data-dotbook-pictures: {"wide": {"light": url, "dark":
     url}, "narrow": {...}}. While a figure waits to be drawn live, the picture of its
     width and theme stands in its box, so a reader sees every figure as soon as it
     scrolls into view, on any phone. It is the figure's default view, drawn the same. */
  function pictureOf(gd) {
    var box = gd.closest(".dotbook-figure"), spec = box && box.getAttribute("data-dotbook-pictures");
    if (!spec) { return null; }
    try { spec = JSON.parse(spec); } catch (e) { return null; }
    var v = spec[gd._dotbook && gd._dotbook.width && gd._dotbook.width < NARROW ? "narrow" : "wide"];
    return v ? v[isDark() ? "dark" : "light"] || null : null;
  }

  function showPicture(gd) {
    var src = gd._dotbookQueued && !gd._dotbookUnplaced && pictureOf(gd), host = gd.parentNode;
    if (!src || !host) { return false; }
    var img = gd._dotbookPicture;
    if (!img) {
      img = document.createElement("img");
      img.className = "dotbook-picture";
      img.alt = "";  // the figure box carries the alt text (aria-label)
      img.setAttribute("aria-hidden", "true");
      img.decoding = "async";  // fetched at once: a few kB each, on the screen when scrolled to
      img.addEventListener("error", function () { dropPicture(gd); });
      host.insertBefore(img, host.firstChild);
      gd._dotbookPicture = img;
      boxOf(gd).classList.add("dotbook-pictured");
    }
    if (img.getAttribute("src") !== src) { img.setAttribute("src", src); }
    return true;
  }

  function dropPicture(gd) {
    var img = gd._dotbookPicture;
    if (!img) { return; }
    gd._dotbookPicture = null;
    if (img.parentNode) { img.parentNode.removeChild(img); }
    boxOf(gd).classList.remove("dotbook-pictured");
  }

  /* ------------------------------------------------------- lazy drawing */
  /* In the book each figure's inline Plotly.newPlot(...) goes to a queue
     (window.dotbookQueue, entries [arguments, resolve, promise]; dotbook_sphinx.py).
     When this script runs (deferred, after the page is parsed), each queued figure's
     box is sized exactly as it will draw (the layout its first draw composes: a height
     that no later measurement changes, see band/phone) and gets its row of controls;
     it shows its picture meanwhile, or its alt text (dotbook.css, .dotbook-pending).
     A figure in a section the browser has not laid out yet (far below the screen) is
     placed so when that section comes near the screen (or the figure is drawn).
     A figure with a picture is drawn live when the reader reaches for it (mouse over
     it, a click, focus) or after it has stayed DWELL ms in view, when the page is idle;
     one without, when it comes within LAZY_MARGIN of the viewport. Either way by one
     Plotly.react in the reader's theme and width; its frames wait until needed
     (withFrames). */
  var LAZY_MARGIN = "400px 0px";
  var DWELL = 1000;  // ms: a reader who stops at a figure
  var waiting = [];

  function boxOf(gd) { return gd.closest(".dotbook-figure") || gd.parentNode || gd; }

  function draw(gd) {
    if (gd._dotbookUnplaced) { place(gd); }
    var item = gd._dotbookQueued;
    if (!item) { return gd._dotbookDrawn || Promise.resolve(gd); }
    gd._dotbookQueued = null;
    if (observer) { observer.unobserve(gd); }
    if (pendingSize) { pendingSize.unobserve(gd.parentNode || gd); }
    waiting = waiting.filter(function (g) { return g !== gd; });
    if (inView) { inView.unobserve(gd); }
    clearTimeout(gd._dotbookDwell);
    gd._dotbookFrames = item;
    if (gd._dotbook.twin) { readHash(gd); }
    gd._dotbookDrawn = needPlotly().then(function () { return render(gd); }).then(function () {
      return needsFrames(gd) ? show(gd) : gd;  // a view the page URL names
    }).then(function () {
      var box = boxOf(gd), row = gd._dotbook.choiceRow;
      dropPicture(gd);
      box.classList.remove("dotbook-pending");
      box.removeAttribute("aria-busy");
      if (row) { row.style.visibility = ""; row.removeAttribute("aria-hidden"); }
      link(gd, Promise.resolve(gd));
      // a reader reaching for the figure: its frames are parsed before the first move
      ["pointerdown", "mouseenter", "focusin"].forEach(function (type) {
        box.addEventListener(type, function () { withFrames(gd, true); }, {once: true});
      });
      return gd;
    });
    return gd._dotbookDrawn;
  }

  var observer = window.IntersectionObserver ? new IntersectionObserver(function (entries) {
    entries.forEach(function (e) { if (e.isIntersecting) { draw(e.target); } });
  }, {rootMargin: LAZY_MARGIN}) : null;

  function whenIdle(fn) {
    if (window.requestIdleCallback) { window.requestIdleCallback(fn, {timeout: 1500}); }
    else { setTimeout(fn, 0); }
  }

  /* A pictured figure in view: drawn live once it has stayed there DWELL ms. */
  var inView = window.IntersectionObserver ? new IntersectionObserver(function (entries) {
    entries.forEach(function (e) {
      var gd = e.target;
      clearTimeout(gd._dotbookDwell);
      if (e.isIntersecting) {
        gd._dotbookDwell = setTimeout(function () { whenIdle(function () { draw(gd); }); }, DWELL);
      }
    });
  }) : null;

  /* A pictured figure waits for the reader: a mouse over it, a click or tap on it or on
     its controls, or focus inside it draws it live at once. */
  function awaitReader(gd) {
    var box = boxOf(gd), go = function () { draw(gd); };
    box.addEventListener("pointerenter", function (ev) {
      if (ev.pointerType === "mouse") { go(); }
    });
    ["click", "focusin"].forEach(function (type) {
      box.addEventListener(type, go, {once: true});
    });
    if (inView) { inView.observe(gd); } else { draw(gd); }
  }

  /* A waiting figure whose column changes width (a sidebar opens, the phone turns)
     is sized again for the new width. */
  var pendingSize = window.ResizeObserver ? new ResizeObserver(function (entries) {
    entries.forEach(function (e) {
      var gd = e.target.querySelector(".js-plotly-plot, .plotly-graph-div");
      if (gd && gd._dotbookQueued && Math.abs(gd.clientWidth - gd._dotbook.width) > 1) {
        gd._dotbook.width = prepare(gd).width;
        showPicture(gd);  // the picture of the new width
      }
    });
  }) : null;

  function drain() {
    var queue = window.dotbookQueue || [];
    window.dotbookQueue = null;
    queue.forEach(function (item) {
      var id = item[0][0], data = item[0][1], layout = item[0][2];
      var gd = typeof id === "string" ? document.getElementById(id) : id;
      if (!gd || !Array.isArray(data) || !layout || typeof layout !== "object") {
        needPlotly().then(function (plotly) { item[1](plotly.newPlot.apply(plotly, item[0])); });
        return;
      }
      gd._dotbookQueued = item;
      waiting.push(gd);
      state(gd, data, layout, item[0][3]);
      var section = notLaidOut(gd) && near && gd.closest(SECTION);
      if (section) { gd._dotbookUnplaced = true; near.observe(section); } else { place(gd); }
    });
  }

  /* A section far below the screen is not laid out yet (content-visibility, dotbook.css):
     every size in it reads 0, and reading one would lay it out there and then (0.1 s
     for each figure of a long chapter, on a slow phone). Its figures are placed when it
     comes within half a screen of the viewport, or when one is drawn. */
  var SECTION = ".bd-article > section > section";
  function notLaidOut(gd) {
    return !!(gd.checkVisibility && gd.checkVisibility() &&
              !gd.checkVisibility({contentVisibilityAuto: true}));
  }
  var near = window.IntersectionObserver ? new IntersectionObserver(function (entries) {
    entries.forEach(function (e) {
      if (!e.isIntersecting) { return; }
      near.unobserve(e.target);
      waiting.forEach(function (gd) {
        if (gd._dotbookUnplaced && e.target.contains(gd)) { place(gd); }
      });
    });
  }, {rootMargin: "50% 0px"}) : null;

  /* A figure placed or drawn stays laid out, its section with it: its box is measured to
     be sized, and plotly and the phone layout measure what they draw. */
  function keepLaidOut(gd) {
    var section = gd.closest(SECTION);
    if (section) { section.classList.add("dotbook-live"); }
  }

  /* A queued figure's box, sized exactly as it will draw, with its controls and its
     picture (or its alt text), waiting to be drawn. */
  function place(gd) {
    if (!gd._dotbookQueued || gd._dotbook.placed) { return; }
    if (gd._dotbookUnplaced) { keepLaidOut(gd); }
    gd._dotbookUnplaced = false;
    gd._dotbook.placed = true;
    var layout = gd._dotbook.layout;
    gd._dotbook.width = prepare(gd).width;  // the box: the first draw's height
    addChoices(gd);  // its row of controls, in place, hidden until drawn
    // a draggable figure's controls and readouts, likewise (dotbook-drag.js; when it
    // loads later, it reserves them itself)
    if (window.dotbookDrag && layout.meta && layout.meta.dotbook_drag) {
      window.dotbookDrag.reserve(gd, layout.meta.dotbook_drag);
    }
    var row = gd._dotbook.choiceRow, pictured = showPicture(gd);
    // beside a picture the controls work at once (a pick draws the figure live)
    if (row && !pictured) { row.style.visibility = "hidden"; row.setAttribute("aria-hidden", "true"); }
    var box = boxOf(gd);
    box.classList.add("dotbook-pending");
    box.setAttribute("aria-busy", "true");
    if (pendingSize) { pendingSize.observe(gd.parentNode || gd); }
    if (pictured) { awaitReader(gd); } else if (observer) { observer.observe(gd); } else { draw(gd); }
  }

  /* Draw every figure not drawn yet (printing; tests). */
  function drawAll() { return Promise.all(waiting.slice().map(draw)); }
  window.addEventListener("beforeprint", drawAll);

  /* ============================ labelled choices and links to a view (issue 22) ====
   * A twin's Param with choices= (meta.dotbook_twin.kinds[i] === "choice") keeps a
   * plotly slider in the figure (a saved notebook uses it), but in the book that
   * slider is hidden and a row of labelled buttons below the plot picks the frame:
   * a radio group (role="radiogroup"; arrows, Home/End move and select;
   * aria-checked; one tab stop). A move writes the figure's controls into the page
   * URL, "#f3=d_k:512,scaled:off" (f3: the page's third plotly figure; each control
   * by name and the label of its position); opening such a URL restores them and
   * scrolls to the figure; names or labels it does not know are ignored. */
  function twinMeta(gd) {
    var lay = (gd._dotbook && gd._dotbook.layout) || gd.layout || {};
    return (lay.meta && lay.meta.dotbook_twin) || null;
  }

  function isChoice(gd, i) {
    var m = twinMeta(gd);
    return !!(m && m.kinds && m.kinds[i] === "choice");
  }

  /* Hide the sliders drawn as buttons; the others close up, the figure shrinks. */
  function hideChoiceSliders(gd, layout) {
    var m = twinMeta(gd);
    if (!m || !m.kinds || !layout.sliders) { return; }
    var hidden = 0, room = m.slider_height || 78, base = null;
    layout.sliders = layout.sliders.map(function (s, i) {
      var pad = s.pad || {};
      if (base === null) { base = pad.t || 0; }
      if (m.kinds[i] === "choice") { hidden += 1; return Object.assign({}, s, {visible: false}); }
      return Object.assign({}, s, {pad: Object.assign({}, pad, {t: base + room * (i - hidden)})});
    });
    if (hidden) {
      var cut = room * hidden;
      layout.margin = Object.assign({}, layout.margin);
      layout.margin.b = Math.max(40, (layout.margin.b || 80) - cut);
      layout.height = (layout.height || 450) - cut;
    }
  }

  function labelOf(gd, i, k) {
    var m = twinMeta(gd);
    if (m && m.labels && m.labels[i]) { return String(m.labels[i][k]); }
    return String(gd._dotbook.layout.sliders[i].steps[k].label);
  }

  function pick(gd, i, k) {
    var st = gd._dotbook;
    if (k === st.active[i]) { return; }
    st.active[i] = k;
    // a page that draws the figure itself may take the pick over (the Colab face,
    // between grid points): it cancels this event and the buttons just follow
    var ev = new CustomEvent("dotbook-pick", {detail: {index: i, choice: k}, cancelable: true});
    if (gd.dispatchEvent(ev)) { show(gd); } else { updateChoices(gd); }
    writeHash(gd);
  }

  function addChoices(gd) {
    var st = gd._dotbook, m = twinMeta(gd), box = boxOf(gd);
    if (!st.twin || !m || st.choiceRow || !box) { return; }
    var row = document.createElement("div");
    row.className = "dotbook-controls";
    st.choiceGroups = [];
    (m.kinds || []).forEach(function (kind, i) {
      if (kind !== "choice") { return; }
      var group = document.createElement("div"), id = gd.id + "-choice-" + i;
      group.className = "dotbook-choice";
      group.setAttribute("role", "radiogroup");
      group.setAttribute("aria-labelledby", id);
      var name = document.createElement("span");
      name.className = "dotbook-choice-name";
      name.id = id;
      name.textContent = sliderName(st.layout.sliders[i], i);
      group.appendChild(name);
      var n = st.layout.sliders[i].steps.length;
      for (var k = 0; k < n; k++) {
        var b = document.createElement("button");
        b.type = "button";
        b.className = "dotbook-choice-button";
        b.setAttribute("role", "radio");
        b.textContent = labelOf(gd, i, k);
        b.dataset.choice = String(k);
        b.addEventListener("click", (function (k2) { return function () { pick(gd, i, k2); }; })(k));
        group.appendChild(b);
      }
      group.addEventListener("keydown", function (ev) {
        var k0 = st.active[i];
        var to = {ArrowRight: k0 + 1, ArrowDown: k0 + 1, ArrowLeft: k0 - 1, ArrowUp: k0 - 1,
                  Home: 0, End: n - 1}[ev.key];
        if (to === undefined) { return; }
        ev.preventDefault();
        to = (to + n) % n;  // a radio group wraps around
        pick(gd, i, to);
        var btn = group.querySelector('[data-choice="' + to + '"]');
        if (btn) { btn.focus(); }
      });
      st.choiceGroups[i] = group;
      row.appendChild(group);
    });
    var linkBtn = document.createElement("button");
    linkBtn.type = "button";
    linkBtn.className = "dotbook-link-view";
    linkBtn.textContent = "link to this view";
    linkBtn.setAttribute("aria-label", "Copy a link to this view of the figure");
    linkBtn.addEventListener("click", function () {
      writeHash(gd);
      var url = location.href;
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(url).catch(function () {});
      }
      linkBtn.textContent = "link copied";
      setTimeout(function () { linkBtn.textContent = "link to this view"; }, 1500);
    });
    row.appendChild(linkBtn);
    // below the plot's fixed-height wrapper, never over the plot (a lazy figure: built
    // while it waits, so its place is kept)
    var figure = gd.closest(".dotbook-figure"), wrapper = gd.parentNode;
    if (figure) { figure.appendChild(row); }
    else if (wrapper && wrapper.parentNode) { wrapper.parentNode.insertBefore(row, wrapper.nextSibling); }
    else { box.appendChild(row); }
    st.choiceRow = row;
    updateChoices(gd);
  }

  function updateChoices(gd) {
    var st = gd._dotbook;
    if (!st || !st.choiceGroups) { return; }
    st.choiceGroups.forEach(function (group, i) {
      if (!group) { return; }
      group.querySelectorAll("[role=radio]").forEach(function (b) {
        var on = Number(b.dataset.choice) === st.active[i];
        b.setAttribute("aria-checked", on ? "true" : "false");
        b.tabIndex = on ? 0 : -1;
      });
    });
  }

  /* ------------------------------------------------------- links to a view */
  function figureKey(gd) {
    var all = Array.prototype.slice.call(document.querySelectorAll(".plotly-graph-div"));
    return "f" + (all.indexOf(gd) + 1);
  }

  function viewHash(gd) {
    var st = gd._dotbook, m = twinMeta(gd);
    if (!st || !st.twin || !m) { return ""; }
    return figureKey(gd) + "=" + m.names.map(function (name, i) {
      return name + ":" + encodeURIComponent(labelOf(gd, i, st.active[i]));
    }).join(",");
  }

  function writeHash(gd) {
    var h = viewHash(gd);
    if (!h) { return; }
    try { history.replaceState(null, "", "#" + h); } catch (e) { /* file:// in some browsers */ }
  }

  /* {key: "f3", values: {name: label}} from the page URL, or null. */
  function parseHash() {
    var m = /^#(f\d+)=(.*)$/.exec(location.hash || "");
    if (!m) { return null; }
    var values = {};
    m[2].split(",").forEach(function (part) {
      var at = part.indexOf(":");
      if (at < 1) { return; }
      try { values[part.slice(0, at)] = decodeURIComponent(part.slice(at + 1)); } catch (e) { /* ignored */ }
    });
    return {key: m[1], values: values};
  }

  /* Called once per twin as it links: take the URL's positions if they are for it. */
  function readHash(gd) {
    var h = parseHash(), m = twinMeta(gd), st = gd._dotbook;
    if (!h || !m || figureKey(gd) !== h.key) { return; }
    m.names.forEach(function (name, i) {
      if (!(name in h.values)) { return; }
      var n = st.layout.sliders[i].steps.length;
      for (var k = 0; k < n; k++) {
        if (labelOf(gd, i, k) === h.values[name]) { st.active[i] = k; return; }
      }
    });
    window.requestAnimationFrame(function () { boxOf(gd).scrollIntoView({block: "start"}); });
  }

  /* The buttons' look (kept here, beside the code that makes them): wraps on a
     phone, follows the theme's colours, a visible focus ring. */
  function addChoiceStyle() {
    if (document.getElementById("dotbook-choice-style")) { return; }
    var css = document.createElement("style");
    css.id = "dotbook-choice-style";
    css.textContent = [
      ".dotbook-controls{display:flex;flex-wrap:wrap;gap:.4rem .9rem;align-items:center;",
      "margin:.3rem 0 .2rem;font-size:.9rem}",
      ".dotbook-choice{display:flex;flex-wrap:wrap;gap:.3rem;align-items:center}",
      ".dotbook-choice-name{font-weight:600;margin-right:.2rem}",
      ".dotbook-choice-button,.dotbook-link-view{font:inherit;min-height:32px;padding:.15rem .6rem;",
      "border:1px solid var(--pst-color-border,#bec8d9);border-radius:6px;cursor:pointer;",
      "background:var(--pst-color-surface,#f8fafc);color:var(--pst-color-text-base,#333)}",
      ".dotbook-choice-button[aria-checked=true]{background:var(--pst-color-primary,#0a7d91);",
      "border-color:var(--pst-color-primary,#0a7d91);color:var(--pst-color-background,#fff)}",
      ".dotbook-link-view{margin-left:auto;font-size:.8rem}",
      ".dotbook-choice-button:focus-visible,.dotbook-link-view:focus-visible{",
      "outline:3px solid var(--pst-color-accent,#D55E00);outline-offset:1px}"
    ].join("");
    document.head.appendChild(css);
  }
  addChoiceStyle();

  /* On load: scroll to the figure a URL names and draw it (lazy figures wait). */
  function openHash() {
    var h = parseHash();
    if (!h) { return; }
    var all = document.querySelectorAll(".plotly-graph-div");
    var gd = all[Number(h.key.slice(1)) - 1];
    if (!gd) { return; }
    var go = function () {
      boxOf(gd).scrollIntoView({block: "start"});
      if (gd._dotbookQueued) { draw(gd); }
    };
    if (window.dotbookQueue && window.dotbookQueue.length) { setTimeout(go, 0); } else { go(); }
  }

  new MutationObserver(rethemeAll).observe(document.documentElement,
                                           {attributes: true, attributeFilter: ["data-theme"]});
  window.dotbookTwin = {figureKey: figureKey, viewHash: viewHash, show: show, linkAll: linkAll, render: render, drawAll: drawAll,
                       frames: function (gd) { return withFrames(gd, true); }};
  if ((window.Plotly && window.Plotly.react) || window.dotbookPlotlySrc) { drain(); }
  function start() { linkAll(); openHash(); }

  if (document.readyState === "complete") { start(); }
  else { window.addEventListener("load", start); }
})();
