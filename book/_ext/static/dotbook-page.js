/* The book's page script, on every page (small; the figures' driver,
 * dotbook-twin.js, loads only where there are figures): wide inline math and
 * wide code or tables scroll in their own focusable box on a narrow screen.
 */
(function () {
  "use strict";

  /* An inline formula wider than its line (MathJax cannot break it) would push
     the page sideways on a phone: let it scroll inside its own box. */
  function fitMath() {
    // every size is read before any class changes: a write between two reads would
    // make the browser lay out the whole page again for each formula
    var all = Array.prototype.slice.call(
      document.querySelectorAll(".bd-article mjx-container:not([display='true'])"));
    var wide = all.map(function (m) {
      if (m.closest("table")) { return null; }  // a table scrolls as a whole (dotbook.css)
      var line = m.closest("p, li, dd, dt, div") || m.parentNode;
      return m.scrollWidth > line.clientWidth + 1;
    });
    all.forEach(function (m, i) {
      if (wide[i] !== null && wide[i] !== m.classList.contains("dotbook-wide-math")) {
        m.classList.toggle("dotbook-wide-math");
      }
    });
  }

  /* A code block, table or displayed formula wider than its column scrolls in its own box; a
     keyboard reader must be able to focus that box to scroll it (axe:
     scrollable-region-focusable). */
  function focusScrollers() {
    var all = Array.prototype.slice.call(document.querySelectorAll(".bd-article pre, .bd-article .table-wrapper, .bd-article .pst-scrollable-table-container, .bd-article mjx-container[display='true']"));
    var scrolling = all.map(function (el) { return el.scrollWidth > el.clientWidth + 1; });  // reads, then writes
    all.forEach(function (el, i) {
      var scrolls = scrolling[i];
      if (scrolls && !el.hasAttribute("tabindex")) {
        el.tabIndex = 0;
        el.dataset.dotbookScroller = "1";  // ours to take back when it fits again
      } else if (!scrolls && el.dataset.dotbookScroller) {
        el.removeAttribute("tabindex");
        delete el.dataset.dotbookScroller;
      }
    });
  }

  function whenMathIsTypeset(fn, tries) {
    var mj = window.MathJax;
    if (mj && mj.startup && mj.startup.promise) { mj.startup.promise.then(fn); }
    else if ((tries || 0) < 50) { setTimeout(function () { whenMathIsTypeset(fn, (tries || 0) + 1); }, 100); }
  }

  /* MathJax typesets lazily (ui/lazy, dotbook_sphinx.py): formulas are typeset as they
     near the viewport, each batch by the document's render(). After each one, once idle,
     the new formulas are checked too (one check for a burst of batches). */
  function afterEachTypeset(fn) {
    var doc = window.MathJax && window.MathJax.startup && window.MathJax.startup.document;
    if (!doc || typeof doc.render !== "function" || doc.dotbookWrapped) { return; }
    var render = doc.render, queued = false;
    doc.dotbookWrapped = true;
    doc.render = function () {
      var out = render.apply(this, arguments);
      if (!queued) {
        queued = true;
        setTimeout(function () { queued = false; fn(); }, 100);
      }
      return out;
    };
  }

  function start() {
    // a wide displayed formula scrolls in its own box too (MathJax's menu, which
    // made every formula focusable, is not loaded)
    // when the page is idle: each check measures the whole page's layout, which must not
    // hold up a phone's first figures (issue 24)
    var idle = window.requestIdleCallback || function (fn) { return setTimeout(fn, 1); };
    var check = function () { idle(function () { fitMath(); focusScrollers(); }); };
    whenMathIsTypeset(function () { check(); afterEachTypeset(check); });
    idle(focusScrollers);
    var pending = false;
    window.addEventListener("resize", function () {
      if (pending) { return; }
      pending = true;
      setTimeout(function () { pending = false; fitMath(); focusScrollers(); }, 200);
    });
  }

  if (document.readyState === "complete") { start(); }
  else { window.addEventListener("load", start); }
})();
