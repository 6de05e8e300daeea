/* Joins the sliders of a multi-parameter static twin (dotbook.explore.Twin).
 * Each slider reports its own position only; this script keeps all of them and
 * animates the figure to the frame named "i-j-…". One-slider twins animate
 * natively and are left alone. */
(function () {
  "use strict";

  function link(gd) {
    var meta = gd.layout && gd.layout.meta && gd.layout.meta.dotbook_twin;
    if (!meta || meta.names.length < 2 || gd.dataset.dotbookLinked) { return; }
    gd.dataset.dotbookLinked = "1";
    var active = meta.active.slice();
    // a full redraw: otherwise the previous frame's title stays on screen
    var options = {mode: "immediate", frame: {duration: 0, redraw: true},
                   transition: {duration: 0}};
    gd.on("plotly_sliderchange", function (ev) {
      var slider = ev.slider._index, step = ev.slider.steps.indexOf(ev.step);
      if (slider === undefined || step < 0) { return; }
      active[slider] = step;
      window.Plotly.animate(gd, [active.join("-")], options);
    });
  }

  function linkAll() {
    document.querySelectorAll(".js-plotly-plot").forEach(link);
  }

  if (document.readyState === "complete") { linkAll(); }
  else { window.addEventListener("load", linkAll); }
})();
