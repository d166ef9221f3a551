// The book's scripts (Jupyter Book loads every _static/*.js on every page).
//  1. Answer language: 中文 / English / both, remembered in localStorage ("dlbook-lang") and
//     applied as <html data-answer-lang="zh|en|both"> so that CSS hides div.answer-en /
//     div.answer-zh (and the practice page's question wording) on every page. A small switch sits
//     in every bilingual short answer; the practice page has it in its filter form.
//  2. Filters of the question index and the practice page: topic, level, from the seed notes or
//     beyond them (each runs only on the page that has its form; without JavaScript everything
//     stays visible).
//  3. Search that lands: a page opened from a search result has its matches highlighted by
//     Sphinx (sphinx_highlight.js); we scroll to the first visible one, so that the reader lands
//     at the matching section instead of the top of the page.
//  4. The practice page typesets the maths of an answer when the answer is opened, not at load:
//     all of its 2,541 expressions sit in closed answers, and typesetting every one kept the
//     page busy for ~5 s in headless Chromium on a server core. Printing typesets the ones not
//     yet typeset first (so does scripts/build_pdf.py). Only maths not yet typeset is ever
//     handed to MathJax: typesetting a typeset expression again nests a copy inside its hidden
//     MathML (MathJax 3.2's MathML finder finds it; mathjax/MathJax#2892).
(function () {
  "use strict";
  var KEY = "dlbook-lang";
  var LANGS = ["both", "zh", "en"];
  function storedLang() {
    try {
      var v = window.localStorage.getItem(KEY);
      return LANGS.indexOf(v) >= 0 ? v : "both";
    } catch (e) {
      return "both";
    }
  }
  function setLang(v) {
    if (LANGS.indexOf(v) < 0) v = "both";
    document.documentElement.dataset.answerLang = v;
    try { window.localStorage.setItem(KEY, v); } catch (e) { /* private mode */ }
    document.querySelectorAll("select.lang-select").forEach(function (s) { s.value = v; });
    document.querySelectorAll(".lang-switch button").forEach(function (b) {
      b.setAttribute("aria-pressed", String(b.dataset.lang === v));
    });
  }
  // applied in <head>, before the body is drawn, so that nothing flashes
  document.documentElement.dataset.answerLang = storedLang();

  // 4. set here, in <head>: MathJax, a deferred script, reads window.MathJax when it loads. This
  //    needs Sphinx's inline window.MathJax config and DOCUMENTATION_OPTIONS (a global const, not
  //    a property of window) to come before book.js in <head>, as they do.
  function untypeset(root) {   // the .math elements under root that MathJax has not typeset
    return Array.prototype.filter.call(root.querySelectorAll(".math"),
                                       function (m) { return !m.querySelector("mjx-container"); });
  }
  // the answers start closed (sphinx-togglebutton closes every dropdown that is not .toggle-shown
  // on DOMContentLoaded, and MathJax may start before that)
  var ANSWER = ".practice-item .dropdown.admonition";
  if (window.MathJax && typeof DOCUMENTATION_OPTIONS !== "undefined" &&
      DOCUMENTATION_OPTIONS.pagename === "book/practice") {
    window.MathJax.startup = Object.assign({}, window.MathJax.startup, {
      typeset: false,
      pageReady: function () {
        return window.MathJax.startup.defaultPageReady().then(function () {
          // the maths outside the answers (none today)
          return window.MathJax.typesetPromise(untypeset(document).filter(function (m) {
            return !m.closest(ANSWER + ":not(.toggle-shown)");
          }));
        });
      }
    });
    document.addEventListener("click", function (ev) {
      var answer = ev.target.closest && ev.target.closest(ANSWER);
      var mj = window.MathJax;
      if (!answer || answer.dataset.typeset || !mj.typesetPromise || !mj.startup.promise) return;
      answer.dataset.typeset = "1";
      mj.startup.promise = mj.startup.promise.then(function () {
        var todo = untypeset(answer);   // (printing may have typeset it meanwhile)
        return todo.length ? mj.typesetPromise(todo) : null;
      }).catch(function (e) {           // keep the chain alive; this answer may be tried again
        delete answer.dataset.typeset;
        console.error(e);
      });
    }, true);
    window.addEventListener("beforeprint", function () {
      // synchronous, so that the page is laid out for print with every answer typeset (it cannot
      // load a MathJax extension on demand: the answers use only built-in TeX macros)
      var todo = untypeset(document);
      if (todo.length && window.MathJax.typeset) window.MathJax.typeset(todo);
    });
  }

  function ready(fn) {
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", fn);
    else fn();
  }

  // 1. a switch in every short answer that has both languages
  function addAnswerSwitches() {
    var labels = {both: "中文 + English", zh: "中文", en: "English"};
    document.querySelectorAll("div.admonition").forEach(function (adm) {
      if (!adm.querySelector(":scope > div.answer-zh, :scope > div.answer-en") ||
          adm.querySelector(":scope > .lang-switch")) return;
      var bar = document.createElement("div");
      bar.className = "lang-switch";
      bar.setAttribute("role", "group");
      bar.setAttribute("aria-label", "Answer language");
      LANGS.forEach(function (v) {
        var b = document.createElement("button");
        b.type = "button";
        b.dataset.lang = v;
        b.textContent = labels[v];
        b.addEventListener("click", function () { setLang(v); });
        bar.appendChild(b);
      });
      var title = adm.querySelector(":scope > .admonition-title");
      adm.insertBefore(bar, title ? title.nextSibling : adm.firstChild);
    });
    document.querySelectorAll("select.lang-select").forEach(function (s) {
      s.addEventListener("change", function () { setLang(s.value); });
    });
    setLang(storedLang());
  }

  // 2. filters
  function setupIndexFilter() {
    var form = document.getElementById("question-filter");
    if (!form) return;
    var topic = document.getElementById("qf-topic");
    var level = document.getElementById("qf-level");
    var origin = document.getElementById("qf-origin");
    var count = document.getElementById("qf-count");
    var tables = Array.prototype.slice.call(document.querySelectorAll("table.id-table"));
    function apply() {
      var shown = 0, total = 0;
      tables.forEach(function (table) {
        var section = table.closest("section");
        var tag = section && section.id.indexOf("topic-") === 0 ? section.id.slice(6) :
          (section && section.querySelector(":scope > span[id^='topic-']") || {id: "topic-"}).id.slice(6);
        var visible = 0;
        table.querySelectorAll("tbody tr").forEach(function (row) {
          total += 1;
          var id = row.querySelector("td.col-id").textContent.trim();
          var lv = row.querySelector("td.col-level").textContent.trim();
          var ok = (!topic.value || tag === topic.value) && (!level.value || lv === level.value) &&
            (!origin.value || (origin.value === "beyond") === /^X-/.test(id));
          row.hidden = !ok;
          if (ok) visible += 1;
        });
        if (section) section.hidden = visible === 0;
        shown += visible;
      });
      count.textContent = shown + " of " + total + " questions";
    }
    form.addEventListener("change", apply);
    form.addEventListener("submit", function (e) { e.preventDefault(); });
    apply();
  }

  function setupPracticeFilter() {
    var form = document.getElementById("practice-filter");
    if (!form) return;
    var topic = document.getElementById("pf-topic");
    var level = document.getElementById("pf-level");
    var origin = document.getElementById("pf-origin");
    var count = document.getElementById("pf-count");
    var items = Array.prototype.slice.call(document.querySelectorAll("div.practice-item"));
    function apply() {
      var shown = 0;
      items.forEach(function (item) {
        var c = item.classList;
        var ok = (!topic.value || c.contains("topic-" + topic.value)) &&
          (!level.value || c.contains("level-" + level.value)) &&
          (!origin.value || c.contains("origin-" + origin.value));
        item.hidden = !ok;
        if (ok) shown += 1;
      });
      document.querySelectorAll("section").forEach(function (s) {
        var its = s.querySelectorAll("div.practice-item");
        if (its.length && s.querySelector("h2")) {
          s.hidden = !Array.prototype.some.call(its, function (i) { return !i.hidden; });
        }
      });
      count.textContent = shown + " of " + items.length + " questions";
    }
    form.addEventListener("change", apply);
    form.addEventListener("submit", function (e) { e.preventDefault(); });
    apply();
  }

  // 3. land on the first search match
  function scrollToFirstMatch() {
    if (window.location.hash || /\/search\.html$/.test(window.location.pathname)) return;
    var tries = 0;
    (function look() {
      var marks = document.querySelectorAll("article.bd-article span.highlighted");
      for (var i = 0; i < marks.length; i++) {
        if (marks[i].offsetParent !== null) {
          marks[i].scrollIntoView({block: "center"});
          return;
        }
      }
      if (++tries < 20) window.setTimeout(look, 50);
    })();
  }

  ready(function () {
    addAnswerSwitches();
    setupIndexFilter();
    setupPracticeFilter();
    scrollToFirstMatch();
  });
})();
