/* The book's page script, on every page (small; the figures' driver,
 * dotbook-twin.js, loads only where there are figures): wide inline math and
 * wide code or tables scroll in their own focusable box on a narrow screen.
 */
(function () {
  "use strict";

  /* The elements of `root` (itself too) that match `selector`. */
  function within(root, selector) {
    var all = Array.prototype.slice.call(root.querySelectorAll(selector));
    return root.matches(selector) ? [root].concat(all) : all;
  }

  /* An inline formula wider than its line (MathJax cannot break it) would push
     the page sideways on a phone: let it scroll inside its own box. */
  function fitMath(root) {
    // every size is read before any class changes: a write between two reads would
    // make the browser lay out the whole page again for each formula
    var all = within(root, "mjx-container:not([display='true'])");
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

  /* A code block, output, table or displayed formula wider (or taller) than its box
     scrolls in it; a keyboard reader must be able to focus that box to scroll it (axe:
     scrollable-region-focusable). The theme's own check, which read and wrote box after
     box, is taken out of its script (dotbook_sphinx.THEME_SCROLLERS). */
  var SCROLLERS = "pre, .nboutput > .output_area, .cell_output > .output, " +
    ".jp-RenderedHTMLCommon, .table-wrapper, .pst-scrollable-table-container, " +
    "mjx-container[display='true']";

  function focusScrollers(root) {
    var all = within(root, SCROLLERS);
    var scrolling = all.map(function (el) {  // reads, then writes
      return el.scrollWidth > el.clientWidth + 1 || el.scrollHeight > el.clientHeight + 1;
    });
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

  /* Where the page loads MathJax (the build could not typeset its math), it typesets
     lazily (ui/lazy, dotbook_sphinx.py): formulas are typeset as they near the
     viewport, each batch by the document's render(). After each one, once idle, the
     new formulas are checked too (one check for a burst of batches). */
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

  /* The page in parts, each checked in its own idle moment: the chapter's sections
     (dotbook.css lays out those far below the screen only when they come near it; a
     check lays one out, and a phone should not lay out a whole chapter at once) and
     what is around them. */
  function parts() {
    var article = document.querySelector(".bd-article");
    if (!article) { return []; }
    var sections = Array.prototype.slice.call(article.querySelectorAll(":scope > section > section"));
    return sections.length ? [article].concat(sections) : [article];
  }

  function checkPart(root) {
    if (root.matches(".bd-article") && root.querySelector(":scope > section > section")) {
      // the article without its sections: the chapter's opening
      Array.prototype.forEach.call(root.querySelectorAll(":scope > section > :not(section)"),
        function (el) { fitMath(el); focusScrollers(el); });
      return;
    }
    fitMath(root);
    focusScrollers(root);
  }

  function start() {
    // when the page is idle, a part at a time: each check measures the layout, which
    // must not hold up a phone's first figures (issue 24)
    var idle = window.requestIdleCallback || function (fn) { return setTimeout(fn, 1); };
    var check = function () {
      var todo = parts();
      (function next() {
        if (todo.length) { idle(function () { checkPart(todo.shift()); next(); }); }
      })();
    };
    if (window.MathJax) {  // a page the build could not typeset (dotbook_math.py)
      whenMathIsTypeset(function () { check(); afterEachTypeset(check); });
    }
    check();
    // new content (a solution shown, dotbook-answers.js): checked where it is
    document.addEventListener("dotbook:content", function (e) {
      idle(function () { fitMath(e.target); focusScrollers(e.target); });
    });
    var pending = false;
    window.addEventListener("resize", function () {
      if (pending) { return; }
      pending = true;
      setTimeout(function () { pending = false; check(); }, 200);
    });
  }

  if (document.readyState === "complete") { start(); }
  else { window.addEventListener("load", start); }
})();
