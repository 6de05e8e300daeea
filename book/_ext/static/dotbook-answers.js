/* Answer boxes and prediction prompts (book/_ext/dotbook_answers.py writes the markup).
 *
 * An exercise box holds its record (value, tolerance, hint) as base64 of JSON in
 * data-answer; the solution's HTML sits in data-solution. Neither is decoded
 * until the reader presses Check or Show solution, so no answer is plain text.
 * "Close" is Python's math.isclose: |a - e| <= max(rtol * max(|a|, |e|), atol),
 * per entry for a vector. A reader types a number or a formula: + - * / ^ ( ),
 * sqrt(), √, pi, π, e.g. 7/sqrt(2).
 *
 * Everything the reader does is kept in localStorage under one key (nothing
 * leaves the page); "Clear my answers" forgets this page's entries.
 */
(function () {
  "use strict";

  var STORE = "dotbook-answers:v1";

  function decode(b64) {
    var bin = atob(b64), bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) { bytes[i] = bin.charCodeAt(i); }
    return JSON.parse(new TextDecoder().decode(bytes));
  }

  /* ---------------------------------------------------------------- storage */
  function page() { return location.pathname.replace(/index\.html$/, ""); }
  function loadAll() {
    try { return JSON.parse(localStorage.getItem(STORE) || "{}") || {}; } catch (e) { return {}; }
  }
  function saveAll(all) {
    try { localStorage.setItem(STORE, JSON.stringify(all)); } catch (e) { /* private mode */ }
  }
  function recall(id) { return (loadAll()[page()] || {})[id] || null; }
  function remember(id, entry) {
    var all = loadAll(), mine = all[page()] || {};
    mine[id] = Object.assign({}, mine[id] || {}, entry);
    all[page()] = mine;
    saveAll(all);
  }
  function forgetPage() { var all = loadAll(); delete all[page()]; saveAll(all); }

  /* ---------------------------------------------------------------- parsing */
  function evaluate(text) {
    var s = text.replace(/[−–]/g, "-").replace(/[×·]/g, "*").replace(/\*\*/g, "^")
      .replace(/\s+/g, "").replace(/°$/, "");
    var i = 0;
    function peek() { return s.charAt(i); }
    function fail() { throw new Error("unreadable"); }
    function atom() {
      var c = peek(), m;
      if (c === "(") { i++; var v = sum(); if (peek() !== ")") { fail(); } i++; return v; }
      if (c === "√") { i++; return Math.sqrt(power()); }
      if (s.substr(i, 4).toLowerCase() === "sqrt") {
        i += 4; if (peek() !== "(") { fail(); } return Math.sqrt(atom());
      }
      if (s.substr(i, 2).toLowerCase() === "pi") { i += 2; return Math.PI; }
      if (c === "π") { i++; return Math.PI; }
      m = /^(\d+\.?\d*|\.\d+)(e[+-]?\d+)?/i.exec(s.slice(i));
      if (!m) { fail(); }
      i += m[0].length;
      return parseFloat(m[0]);
    }
    function power() {
      var base = atom();
      if (peek() === "^") { i++; return Math.pow(base, unary()); }
      return base;
    }
    function unary() {
      if (peek() === "-") { i++; return -unary(); }
      if (peek() === "+") { i++; return unary(); }
      return power();
    }
    function product() {
      var v = unary();
      while (peek() === "*" || peek() === "/") {
        var op = s.charAt(i++), r = unary();
        v = op === "*" ? v * r : v / r;
      }
      return v;
    }
    function sum() {
      var v = product();
      while (peek() === "+" || peek() === "-") {
        var op = s.charAt(i++), r = product();
        v = op === "+" ? v + r : v - r;
      }
      return v;
    }
    if (!s) { fail(); }
    var value = sum();
    if (i !== s.length || !isFinite(value)) { fail(); }
    return value;
  }

  function parse(kind, text) {
    var t = text.trim();
    if (kind === "vector") {
      t = t.replace(/^[\[(]|[\])]$/g, "");
      var parts = [], depth = 0, start = 0;
      for (var k = 0; k < t.length; k++) {
        var c = t.charAt(k);
        if (c === "(") { depth++; } else if (c === ")") { depth--; }
        else if ((c === "," || c === ";") && depth === 0) { parts.push(t.slice(start, k)); start = k + 1; }
      }
      parts.push(t.slice(start));
      return parts.map(evaluate);
    }
    if (/^[−-]?\d{1,3}(,\d{3})+(\.\d+)?$/.test(t)) { t = t.replace(/,/g, ""); }  // 73,856
    return evaluate(t);
  }

  function close(a, e, rtol, atol) {
    return Math.abs(a - e) <= Math.max(rtol * Math.max(Math.abs(a), Math.abs(e)), atol);
  }

  function right(record, answer) {
    if (record.kind === "choice") { return answer === record.value; }
    if (record.kind === "vector") {
      return answer.length === record.value.length && answer.every(function (v, k) {
        return close(v, record.value[k], record.rtol, record.atol);
      });
    }
    return close(answer, record.value, record.rtol, record.atol);
  }

  /* ---------------------------------------------------------------- one box */
  function chosen(box) {
    var r = box.querySelector("input[type=radio]:checked");
    return r ? r.value : "";
  }
  function typed(box) {
    var input = box.querySelector(".dotbook-answer-input");
    return input ? input.value : chosen(box);
  }
  function restoreInput(box, text) {
    var input = box.querySelector(".dotbook-answer-input");
    if (input) { input.value = text; return; }
    box.querySelectorAll("input[type=radio]").forEach(function (r) { r.checked = r.value === text; });
  }

  function say(box, state, text) {
    var out = box.querySelector(".dotbook-answer-feedback");
    box.setAttribute("data-state", state);
    out.textContent = text;
  }

  function verdictText(entry, record) {
    if (entry.correct) { return "Correct."; }
    var tries = entry.tries > 1 ? " (try " + entry.tries + ")" : "";
    return "Not yet" + tries + "." + (record.hint ? " Hint: " + record.hint : "");
  }

  function showSolution(box, focus) {
    var sol = box.querySelector(".dotbook-solution"),
        button = box.querySelector(".dotbook-answer-show");
    if (!sol) { return; }
    if (!sol.getAttribute("data-shown")) {
      sol.innerHTML = decode(sol.getAttribute("data-solution"));
      sol.setAttribute("data-shown", "1");
      if (window.MathJax && window.MathJax.typesetPromise) { window.MathJax.typesetPromise([sol]); }
    }
    sol.hidden = false;
    // dotbook-page.js: a wide formula or code block in it scrolls in a focusable box
    sol.dispatchEvent(new CustomEvent("dotbook:content", {bubbles: true}));
    button.setAttribute("aria-expanded", "true");
    button.textContent = "Hide solution";
    if (focus) { sol.setAttribute("tabindex", "-1"); }
  }
  function hideSolution(box) {
    var sol = box.querySelector(".dotbook-solution"),
        button = box.querySelector(".dotbook-answer-show");
    sol.hidden = true;
    button.setAttribute("aria-expanded", "false");
    button.textContent = "Show solution";
  }

  function setupExercise(box) {
    var id = box.getAttribute("data-exercise"), kind = box.getAttribute("data-kind"), record = null;
    function rec() { return record || (record = decode(box.getAttribute("data-answer"))); }

    function check() {
      var text = typed(box), answer;
      if (!String(text).trim()) {
        say(box, "empty", kind === "choice" ? "Pick one of the options first." : "Type an answer first.");
        return;
      }
      try { answer = kind === "choice" ? text : parse(kind, text); } catch (e) {
        say(box, "unreadable", kind === "vector" ?
          "Type numbers separated by commas, e.g. 1, -0.5, 2." :
          "Type a number or a formula, e.g. 0.25 or 7/sqrt(2).");
        return;
      }
      var before = recall(id) || {}, ok = right(rec(), answer);
      var entry = {answer: String(text), correct: ok, tries: (before.tries || 0) + 1};
      remember(id, entry);
      say(box, ok ? "correct" : "wrong", verdictText(entry, rec()));
    }

    box.querySelector(".dotbook-answer-check").addEventListener("click", check);
    box.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && event.target.tagName === "INPUT") { event.preventDefault(); check(); }
    });
    box.querySelector(".dotbook-answer-show").addEventListener("click", function () {
      var sol = box.querySelector(".dotbook-solution");
      if (sol.hidden) { showSolution(box, true); remember(id, {shown: true}); }
      else { hideSolution(box); remember(id, {shown: false}); }
    });

    var saved = recall(id);
    if (saved) {
      if (saved.answer !== undefined) {
        restoreInput(box, saved.answer);
        say(box, saved.correct ? "correct" : "wrong", verdictText(saved, rec()));
      }
      if (saved.shown) { showSolution(box, false); }
    }
  }

  /* ---------------------------------------------------------------- one prediction */
  function setupPrediction(box) {
    var id = "predict:" + box.getAttribute("data-predict"), kind = box.getAttribute("data-kind");

    function reveal(guess, store) {
      var data = decode(box.getAttribute("data-reveal")), text;
      if (kind === "choice") {
        var label = data.options.filter(function (o) { return o[0] === data.value; })
          .map(function (o) { return o[1]; })[0] || data.value;
        text = (guess === data.value ? "Right: " : "Your pick was " + guess + ". ") +
          "The chapter measures: " + label + ".";
      } else {
        text = "Your guess: " + guess + ". The chapter measures: " + data.value + ".";
      }
      say(box, "revealed", text);
      if (store) { remember(id, {guess: guess, revealed: true}); }
    }

    box.querySelector(".dotbook-predict-reveal").addEventListener("click", function () {
      var guess = String(typed(box)).trim();
      if (!guess) {
        say(box, "empty", kind === "choice" ? "Pick a guess first, then reveal." :
          "Type a guess first (any number), then reveal.");
        return;
      }
      if (kind !== "choice") {
        try { parse("number", guess); } catch (e) {
          say(box, "unreadable", "Type your guess as a number, e.g. 0.3.");
          return;
        }
      }
      reveal(guess, true);
    });
    box.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && event.target.tagName === "INPUT") {
        event.preventDefault();
        box.querySelector(".dotbook-predict-reveal").click();
      }
    });
    var saved = recall(id);
    if (saved && saved.revealed) { restoreInput(box, saved.guess); reveal(saved.guess, false); }
  }

  /* ---------------------------------------------------------------- the page */
  function addClear(boxes) {
    var last = boxes[boxes.length - 1], p = document.createElement("p"),
        button = document.createElement("button"), status = document.createElement("span");
    p.className = "dotbook-answers-clear";
    button.type = "button";
    button.textContent = "Clear my answers on this page";
    status.setAttribute("role", "status");
    button.addEventListener("click", function () {
      forgetPage();
      boxes.forEach(function (box) {
        restoreInput(box, "");
        say(box, "", "");
        if (box.classList.contains("dotbook-answer")) { hideSolution(box); }
      });
      status.textContent = "Your answers on this page are cleared.";
    });
    p.appendChild(button);
    p.appendChild(document.createTextNode(" "));
    p.appendChild(status);
    last.parentNode.insertBefore(p, last.nextSibling);
  }

  function start() {
    var exercises = Array.prototype.slice.call(document.querySelectorAll(".dotbook-answer")),
        predictions = Array.prototype.slice.call(document.querySelectorAll(".dotbook-predict"));
    exercises.forEach(setupExercise);
    predictions.forEach(setupPrediction);
    var all = predictions.concat(exercises);
    if (all.length) { addClear(all.sort(function (a, b) {
      return a.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING ? -1 : 1;
    })); }
  }

  window.dotbookAnswers = {parse: parse, close: close};
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); }
  else { start(); }
})();
