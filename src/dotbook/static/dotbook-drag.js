/* dotbook-drag.js: the static face of the book's draggable figures (issue 29).

   A figure whose layout.meta carries `dotbook_drag` (made by dotbook.drag.Drag)
   gets a handle on each draggable point: a focusable role="slider" element that
   the mouse, a finger (pointer events) or the keyboard moves (arrows: one step,
   Shift+arrows: a small step). Every move recomputes the figure's readouts with
   the two functions below and moves the arrows, shapes and bars that depend on
   them, one requestAnimationFrame at a time. The moving pieces (the figure's
   arrow annotations and line shapes, which the live face and a reader without
   JavaScript see) are drawn here on an SVG layer over the plot area: a frame
   sets a few attributes and never asks plotly to recalculate, so it fits a
   60 fps budget (tools/bench_drag.py).

   The two functions are ports of dotbook.geometry.pair_readout and
   dotbook.attention.query_readout, operation for operation in the same order;
   tests/test_drag.py runs both on random inputs and holds them within 1e-12.
   Nothing else of the book's Python is ported: the figure itself comes from
   Python, this file only moves its pieces. Also loadable by node
   (module.exports), for that test. */
(function (root) {
  "use strict";

  /* ------------------------------------------------ the port (keep in step) */
  var ORTHOGONAL_COS = 1e-12;  // geometry.ORTHOGONAL_COS

  function pairReadout(a, b) {
    var ab0 = a[0] * b[0], ab1 = a[1] * b[1];
    var dot = ab0 + ab1;
    var cross = a[0] * b[1] - a[1] * b[0];
    var theta = Math.atan2(Math.abs(cross), dot);
    var normA = Math.sqrt(a[0] * a[0] + a[1] * a[1]);
    var normB = Math.sqrt(b[0] * b[0] + b[1] * b[1]);
    var out = {dot: dot, geometric: null, norm_a: normA, norm_b: normB, cos: null,
               theta_deg: null, projection: null, foot_x: null, foot_y: null,
               region: "undefined"};
    if (normA > 0) {
      var scale = dot / (normA * normA);
      out.projection = dot / normA;
      out.foot_x = scale * a[0];
      out.foot_y = scale * a[1];
    }
    if (normA > 0 && normB > 0) {
      var cos = Math.min(1, Math.max(-1, dot / (normA * normB)));
      out.cos = cos;
      out.geometric = normA * normB * cos;
      out.theta_deg = theta * (180 / Math.PI);
      out.region = cos > ORTHOGONAL_COS ? "aligned" : (cos < -ORTHOGONAL_COS ? "opposed" : "orthogonal");
    }
    return out;
  }

  function queryReadout(q, k, v, temperature) {
    var d = q.length, T = k.length, j, i;
    var s = [], e = [], w = [], o = [];
    for (j = 0; j < T; j++) {
      var sj = k[j][0] * q[0];
      for (i = 1; i < d; i++) { sj = sj + k[j][i] * q[i]; }
      s.push(sj / Math.sqrt(d));
    }
    var m = Math.max.apply(null, s);
    for (j = 0; j < T; j++) { e.push(Math.exp((s[j] - m) / temperature)); }
    var total = e[0];
    for (j = 1; j < T; j++) { total = total + e[j]; }
    for (j = 0; j < T; j++) { w.push(e[j] / total); }
    for (i = 0; i < v[0].length; i++) {
      var oi = w[0] * v[0][i];
      for (j = 1; j < T; j++) { oi = oi + w[j] * v[j][i]; }
      o.push(oi);
    }
    return {scores: s, weights: w, output: o};
  }

  var api = {pairReadout: pairReadout, queryReadout: queryReadout};
  if (typeof module !== "undefined" && module.exports) { module.exports = api; }
  if (typeof document === "undefined") { return; }

  /* ------------------------------------------------------- the readouts */
  function signed(x) { return x === null ? "undefined" : (x >= 0 ? "+" : "") + x.toFixed(3); }
  function plain(x) { return x === null ? "undefined" : x.toFixed(3); }
  function coord(x) { var r = Math.round(x * 100) / 100; return r === Math.round(r) ? r.toFixed(1) : String(r); }
  function span(key, value, text) {
    return '<span data-q="' + key + '" data-value="' + (value === null ? "null" : String(value)) +
           '">' + text + "</span>";
  }
  var REGION = {aligned: "aligned: a·b &gt; 0", orthogonal: "orthogonal: a·b = 0",
                opposed: "opposed: a·b &lt; 0", undefined: "a zero vector: θ undefined"};

  /* Each kind: its readout, the pieces it draws, and its panel (the same lines as
     the Python readout_html of its figure module). */
  var KINDS = {
    pair: {
      readout: function (st) { return pairReadout(st.points.a, st.points.b); },
      pieces: function (st) {
        return {proj: line(st, st.meta.colors.projection || "#009E73", 9, null, false),
                drop: line(st, "#777777", 1.5, "2 3", false),
                a: line(st, st.meta.colors.a, 3.5, null, true), b: line(st, st.meta.colors.b, 3.5, null, true),
                la: label(st, "a", st.meta.colors.a), lb: label(st, "b", st.meta.colors.b)};
      },
      draw: function (st, r) {
        var a = st.points.a, b = st.points.b, m = st.marks;
        var foot = r.foot_x === null ? null : [r.foot_x, r.foot_y];
        seg(st, m.a, [0, 0], a); seg(st, m.b, [0, 0], b);
        seg(st, m.proj, [0, 0], foot || [0, 0]);
        seg(st, m.drop, b, foot || b);
        put(st, m.la, a); put(st, m.lb, b);
      },
      html: function (st, r) {
        return "<p>" + span("dot", r.dot, "Σ aᵢbᵢ = " + signed(r.dot)) + " · " +
          span("geometric", r.geometric, "‖a‖‖b‖cos θ = " + signed(r.geometric)) + "</p><p>" +
          span("norm_a", r.norm_a, "‖a‖ = " + plain(r.norm_a)) + " · " +
          span("norm_b", r.norm_b, "‖b‖ = " + plain(r.norm_b)) + " · " +
          span("cos", r.cos, "cos θ = " + signed(r.cos)) + " · " +
          span("theta_deg", r.theta_deg, "θ = " + (r.theta_deg === null ? "undefined" : r.theta_deg.toFixed(1) + "°")) +
          "</p><p>" + span("projection", r.projection, "projection of b on a = " + signed(r.projection)) +
          " · " + span("region", null, REGION[r.region]) + "</p>";
      }
    },
    query: {
      readout: function (st) { return queryReadout(st.points.q, st.meta.keys, st.meta.values, st.temperature); },
      pieces: function (st) {
        return {q: line(st, st.meta.colors.q, 3.5, null, true), lq: label(st, "q", st.meta.colors.q),
                o: line(st, st.meta.colors.o, 2.5, "6 4", true), lo: label(st, "o", st.meta.colors.o)};
      },
      draw: function (st, r) {
        var m = st.marks;
        seg(st, m.q, [0, 0], st.points.q); put(st, m.lq, st.points.q);
        seg(st, m.o, [0, 0], r.output); put(st, m.lo, r.output);
      },
      html: function (st, r) {
        var rows = st.meta.labels.map(function (name, j) {
          var w = r.weights[j];
          return "<tr><th scope=\"row\">" + name + "</th><td>" + span("score" + j, r.scores[j], signed(r.scores[j])) +
            "</td><td>" + span("weight" + j, w, w.toFixed(3)) + "</td><td class=\"dotbook-drag-bar\">" +
            "<span style=\"display:inline-block;height:0.8em;background:" + st.meta.colors.o +
            ";width:" + (100 * w).toFixed(1) + "%\"></span></td></tr>";
        }).join("");
        return "<table><thead><tr><th scope=\"col\">key</th><th scope=\"col\">score q·k/√2</th>" +
          "<th scope=\"col\">weight</th><th scope=\"col\">share</th></tr></thead><tbody>" + rows +
          "</tbody></table><p>" + span("output0", r.output[0], "output o = Σ wⱼvⱼ = (" + plain(r.output[0]) + ", ") +
          span("output1", r.output[1], plain(r.output[1]) + ")") + "</p>";
      }
    }
  };

  /* ------------------------------------------------------ the SVG layer */
  var SVGNS = "http://www.w3.org/2000/svg", serial = 0;
  function svgEl(tag, attrs, parent) {
    var e = document.createElementNS(SVGNS, tag);
    Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (parent) { parent.appendChild(e); }
    return e;
  }
  function line(st, colour, width, dash, head) {
    var attrs = {stroke: colour, "stroke-width": width, "stroke-linecap": head ? "round" : "butt"};
    if (dash) { attrs["stroke-dasharray"] = dash; }
    if (head) {
      var id = "dotbook-drag-head-" + (serial += 1);
      var mk = svgEl("marker", {id: id, viewBox: "0 0 10 10", refX: "7", refY: "5", markerWidth: "4",
                                markerHeight: "4", orient: "auto"}, st.defs);
      svgEl("path", {d: "M0,0 L10,5 L0,10 z", fill: colour}, mk);
      attrs["marker-end"] = "url(#" + id + ")";
    }
    return svgEl("line", attrs, st.svg);
  }
  function label(st, text, colour) {
    var t = svgEl("text", {fill: colour, "font-size": "17", "font-weight": "bold", dx: "9", dy: "-9"}, st.svg);
    t.textContent = text;
    return t;
  }
  function seg(st, el, p, q) {
    var b = st.box;
    el.setAttribute("x1", b.x(p[0])); el.setAttribute("y1", b.y(p[1]));
    el.setAttribute("x2", b.x(q[0])); el.setAttribute("y2", b.y(q[1]));
  }
  function put(st, el, p) { el.setAttribute("x", st.box.x(p[0])); el.setAttribute("y", st.box.y(p[1])); }

  /* Where the plot area is (measured once per plotly draw, never during a frame). */
  function measure(gd) {
    var st = gd._dotbookDrag, fl = gd._fullLayout;
    var xa = fl && fl[st.meta.xaxis], ya = fl && fl[st.meta.yaxis];
    if (!xa || !ya || !xa._length) { return false; }
    var left = gd.offsetLeft + xa._offset, top = gd.offsetTop + ya._offset;
    st.box = {left: left, top: top, xa: xa, ya: ya,
              x: function (v) { return xa.l2p(v); }, y: function (v) { return ya.l2p(v); }};
    st.svg.style.left = left + "px";
    st.svg.style.top = top + "px";
    st.svg.setAttribute("width", xa._length);
    st.svg.setAttribute("height", ya._length);
    return true;
  }

  /* ------------------------------------------------------------- moving */
  function clamp(st, x) { return Math.max(-st.meta.limit, Math.min(st.meta.limit, x)); }
  function snapped(st, x) { var g = st.meta.grid; return st.snap ? Math.round(x / g) * g : x; }
  function setPoint(st, name, xy) {
    st.points[name] = [clamp(st, snapped(st, xy[0])), clamp(st, snapped(st, xy[1]))];
  }

  /* One frame: readouts, the moving pieces, handles, panel. Synchronous, and only
     writes to the page (bench and tests time it). */
  function frame(gd) {
    var st = gd._dotbookDrag, kind = KINDS[st.meta.kind];
    var r = kind.readout(st);
    st.last = r;
    kind.draw(st, r);
    Object.keys(st.handles).forEach(function (name) {
      var h = st.handles[name], p = st.points[name];
      h.style.left = (st.box.left + st.box.x(p[0])) + "px";
      h.style.top = (st.box.top + st.box.y(p[1])) + "px";
      h.setAttribute("aria-valuenow", String(Math.round(p[0] * 100) / 100));
      h.setAttribute("aria-valuetext", name + " = (" + coord(p[0]) + ", " + coord(p[1]) + ")");
      h.dataset.x = String(p[0]);
      h.dataset.y = String(p[1]);
    });
    st.panel.innerHTML = kind.html(st, r);
    return r;
  }

  function schedule(gd) {
    var st = gd._dotbookDrag;
    if (st.pending) { return; }
    st.pending = true;
    window.requestAnimationFrame(function () { st.pending = false; frame(gd); });
  }

  function toData(gd, clientX, clientY) {
    var rect = gd.getBoundingClientRect(), b = gd._dotbookDrag.box;
    return [b.xa.p2l(clientX - rect.left - b.xa._offset), b.ya.p2l(clientY - rect.top - b.ya._offset)];
  }

  /* Move point `name` of figure gd to xy now (one frame): for tests and the bench. */
  function move(gd, name, xy) {
    setPoint(gd._dotbookDrag, name, xy);
    return frame(gd);
  }

  var KEYS = {ArrowRight: [1, 0], ArrowLeft: [-1, 0], ArrowUp: [0, 1], ArrowDown: [0, -1]};

  function makeHandle(gd, host, name) {
    var st = gd._dotbookDrag;
    var h = document.createElement("div");
    h.className = "dotbook-drag-handle";
    h.tabIndex = 0;
    h.setAttribute("role", "slider");
    h.setAttribute("aria-label", "tip of " + name + " (arrow keys move it, Shift for small steps)");
    h.setAttribute("aria-valuemin", String(-st.meta.limit));
    h.setAttribute("aria-valuemax", String(st.meta.limit));
    h.dataset.point = name;
    h.style.cssText = "position:absolute;width:30px;height:30px;margin:-15px 0 0 -15px;" +
      "border-radius:50%;cursor:grab;touch-action:none;z-index:5;background:rgba(128,128,128,0.12);" +
      "border:2px solid " + (st.meta.colors[name] || "#555") + ";box-sizing:border-box;";
    h.addEventListener("pointerdown", function (ev) {
      ev.preventDefault();
      h.focus();
      try { h.setPointerCapture(ev.pointerId); } catch (e) { /* a synthetic pointer */ }
      st.dragging = name;
      h.style.cursor = "grabbing";
    });
    h.addEventListener("pointermove", function (ev) {
      if (st.dragging !== name) { return; }
      setPoint(st, name, toData(gd, ev.clientX, ev.clientY));
      schedule(gd);
    });
    function release() { st.dragging = null; h.style.cursor = "grab"; }
    h.addEventListener("pointerup", release);
    h.addEventListener("pointercancel", release);
    h.addEventListener("keydown", function (ev) {
      var dir = KEYS[ev.key];
      if (!dir) { return; }
      ev.preventDefault();
      var step = st.snap ? st.meta.grid : (ev.shiftKey ? st.meta.small_step : st.meta.step);
      var p = st.points[name];
      setPoint(st, name, [Math.round((p[0] + dir[0] * step) * 1e6) / 1e6,
                          Math.round((p[1] + dir[1] * step) * 1e6) / 1e6]);
      frame(gd);
    });
    host.appendChild(h);
    return h;
  }

  function makeControls(gd, host) {
    var st = gd._dotbookDrag;
    var box = document.createElement("div");
    box.className = "dotbook-drag-controls";
    box.id = (gd.id || "dotbook-drag-" + (serial += 1)) + "-controls";
    var snap = document.createElement("label");
    snap.innerHTML = '<input type="checkbox" class="dotbook-drag-snap"> snap to a grid of ' + st.meta.grid;
    snap.firstChild.addEventListener("change", function (ev) {
      st.snap = ev.target.checked;
      Object.keys(st.points).forEach(function (n) { setPoint(st, n, st.points[n]); });
      frame(gd);
    });
    box.appendChild(snap);
    if (st.meta.kind === "query") {
      var t = document.createElement("label");
      t.className = "dotbook-drag-temperature";
      t.innerHTML = 'temperature τ <input type="range" min="-2" max="2" step="0.05" value="' +
        Math.log10(st.temperature) + '"> <output>' + st.temperature.toFixed(2) + "</output>";
      var input = t.querySelector("input"), out = t.querySelector("output");
      input.addEventListener("input", function () {
        st.temperature = Math.pow(10, Number(input.value));
        out.textContent = st.temperature < 0.1 ? st.temperature.toFixed(3) : st.temperature.toFixed(2);
        input.setAttribute("aria-valuetext", "τ = " + out.textContent);
        schedule(gd);
      });
      box.appendChild(t);
    }
    var panel = document.createElement("div");
    panel.className = "dotbook-drag-readout";
    box.appendChild(panel);
    st.panel = panel;
    // after the figure's container, which keeps the height plotly draws (its placeholder's)
    var figure = (gd.closest && gd.closest(".dotbook-figure")) || host;
    figure.parentNode.insertBefore(box, figure.nextSibling);
    st.controls = box;
  }

  var STYLE = "[data-dotbook-drag] g.annotation, [data-dotbook-drag] .shapelayer > path " +
    "{ visibility: hidden; }\n.dotbook-drag-handle:focus-visible, .dotbook-drag-handle:focus " +
    "{ outline: 3px solid #1a73e8; outline-offset: 2px; }\n.dotbook-drag-controls { margin: 0.3em 0 0.8em; }\n" +
    ".dotbook-drag-controls label { margin-right: 1.5em; }\n.dotbook-drag-readout p { margin: 0.2em 0; }\n" +
    ".dotbook-drag-readout td.dotbook-drag-bar { width: 40%; }\n";

  function addStyle() {
    if (!document.getElementById("dotbook-drag-style")) {
      var css = document.createElement("style");
      css.id = "dotbook-drag-style";
      css.textContent = STYLE;
      document.head.appendChild(css);
    }
  }

  function newState(gd, meta) {
    var st = {meta: meta, points: {}, handles: {}, snap: false, pending: false, dragging: null,
              temperature: meta.temperature || 1};
    Object.keys(meta.points).forEach(function (n) { st.points[n] = meta.points[n].slice(); });
    gd._dotbookDrag = st;
    return st;
  }

  /* A figure waiting to be drawn (dotbook-twin.js draws lazily) gets its controls and
     readouts now, hidden, so that drawing it later moves nothing on the page. */
  function reserve(gd, meta) {
    if (!meta || gd._dotbookDrag) { return; }
    addStyle();
    var st = newState(gd, meta);
    makeControls(gd, gd.parentNode);
    st.panel.innerHTML = KINDS[meta.kind].html(st, KINDS[meta.kind].readout(st));
    st.controls.style.visibility = "hidden";
    st.controls.setAttribute("aria-hidden", "true");
  }

  function attach(gd) {
    var meta = gd.layout && gd.layout.meta && gd.layout.meta.dotbook_drag;
    if (!meta || (gd._dotbookDrag && gd._dotbookDrag.attached) || !gd._fullLayout) { return; }
    addStyle();
    var st = gd._dotbookDrag || newState(gd, meta);
    st.attached = true;
    var host = gd.parentNode;
    if (getComputedStyle(host).position === "static") { host.style.position = "relative"; }
    st.svg = svgEl("svg", {"class": "dotbook-drag-layer", "aria-hidden": "true", focusable: "false"});
    st.svg.style.cssText = "position:absolute;pointer-events:none;overflow:hidden;z-index:4;";
    st.defs = svgEl("defs", {}, st.svg);
    host.appendChild(st.svg);
    st.marks = KINDS[meta.kind].pieces(st);
    meta.order.forEach(function (n) { st.handles[n] = makeHandle(gd, host, n); });
    if (st.controls) {  // reserved while the figure waited: show it
      st.controls.style.visibility = "";
      st.controls.removeAttribute("aria-hidden");
    } else {
      makeControls(gd, host);
    }
    gd.dataset.dotbookDrag = "1";
    // plotly redrew (theme, width): measure the plot area again, redraw the pieces there
    gd.on("plotly_afterplot", function () { if (measure(gd)) { frame(gd); } });
    if (measure(gd)) { frame(gd); }
  }

  function attachAll() {
    document.querySelectorAll(".plotly-graph-div, .js-plotly-plot").forEach(function (gd) {
      var queued = gd._dotbookQueued, layout = queued && queued[0] && queued[0][2];
      if (gd._fullLayout) { attach(gd); } else if (layout && layout.meta) { reserve(gd, layout.meta.dotbook_drag); }
    });
  }

  /* Figures draw lazily (dotbook-twin.js): attach to each as it is drawn. */
  function watch() {
    attachAll();
    if (window.MutationObserver) {
      var queued = false;
      new MutationObserver(function () {
        if (queued) { return; }
        queued = true;
        window.requestAnimationFrame(function () { queued = false; attachAll(); });
      }).observe(document.body, {childList: true, subtree: true});
    }
  }

  api.move = move;
  api.frame = frame;
  api.attachAll = attachAll;
  api.reserve = reserve;
  root.dotbookDrag = api;
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", watch);
  } else {
    watch();
  }
})(typeof window !== "undefined" ? window : this);
