/* The book's driver for static twins (dotbook.explore.Twin).
 *
 * A twin's frames are named by the slider positions, "i" or "i-j-…". Plotly's
 * sliders each know only their own position, and its animate() either redraws
 * everything (slow) or leaves the old title on screen. So in the book every
 * slider is switched to method "skip", and this script shows the frame itself
 * with Plotly.react, which redraws only what changed between two full states.
 * Outside the book (a saved notebook), one-slider twins still animate natively.
 */
(function () {
  "use strict";

  /* Show the frame at slider positions `active` (one index per slider). */
  function show(gd, active) {
    var frame = gd._transitionData._frameHash[active.join("-")];
    if (!frame) { return Promise.resolve(); }
    var layout = Object.assign({}, gd.layout, frame.layout || {});
    return window.Plotly.react(gd, frame.data, layout);
  }

  function link(gd) {
    var meta = gd.layout && gd.layout.meta && gd.layout.meta.dotbook_twin;
    if (!meta || gd.dataset.dotbookLinked) { return; }
    gd.dataset.dotbookLinked = "1";
    var active = meta.active.slice();
    var skip = {};
    gd.layout.sliders.forEach(function (slider, s) {
      slider.steps.forEach(function (_, k) { skip["sliders[" + s + "].steps[" + k + "].method"] = "skip"; });
    });
    window.Plotly.relayout(gd, skip);
    gd.on("plotly_sliderchange", function (ev) {
      var slider = ev.slider._index, step = ev.slider.steps.indexOf(ev.step);
      if (slider === undefined || step < 0) { return; }
      active[slider] = step;
      show(gd, active);
    });
  }

  function linkAll() {
    document.querySelectorAll(".js-plotly-plot").forEach(link);
  }

  window.dotbookTwin = {show: show, linkAll: linkAll};
  if (document.readyState === "complete") { linkAll(); }
  else { window.addEventListener("load", linkAll); }
})();
