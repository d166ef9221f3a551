// Filter of the question index (book/questions.md): by topic, by level, answered only.
// Each topic is a <section> whose id is "topic-<tag>"; each question is a table row whose
// fourth cell is its level and whose fifth cell holds a link once it is answered.
(function () {
  function setup() {
    var form = document.getElementById("question-filter");
    if (!form) return;
    var topic = document.getElementById("qf-topic");
    var level = document.getElementById("qf-level");
    var answered = document.getElementById("qf-answered");
    var count = document.getElementById("qf-count");
    var sections = Array.prototype.slice.call(document.querySelectorAll("section"))
      .filter(function (s) { return /^topic-/.test(s.id) || s.querySelector(":scope > span[id^='topic-']"); });
    function tagOf(section) {
      if (/^topic-/.test(section.id)) return section.id.slice(6);
      return section.querySelector(":scope > span[id^='topic-']").id.slice(6);
    }
    function apply() {
      var shown = 0, total = 0;
      sections.forEach(function (section) {
        var rows = section.querySelectorAll("tbody tr");
        var inTopic = !topic.value || tagOf(section) === topic.value;
        var visible = 0;
        rows.forEach(function (row) {
          total += 1;
          var cells = row.querySelectorAll("td");
          var ok = inTopic && cells.length >= 5 &&
            (!level.value || cells[3].textContent.trim() === level.value) &&
            (!answered.checked || cells[4].querySelector("a") !== null &&
              cells[4].textContent.indexOf("answer") !== -1);
          row.hidden = !ok;
          if (ok) { visible += 1; }
        });
        section.hidden = visible === 0;
        shown += visible;
      });
      count.textContent = shown + " of " + total + " questions";
    }
    form.addEventListener("change", apply);
    form.addEventListener("submit", function (e) { e.preventDefault(); });
    apply();
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setup);
  } else {
    setup();
  }
})();
