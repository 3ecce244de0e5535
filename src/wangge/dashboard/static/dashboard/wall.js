// The wall screen (大屏): draws the charts of the panel, again each time htmx swaps in a fresh panel, and
// rolls the list of new cases upward one row at a time, so the screen needs nobody at it.
(function () {
  "use strict";
  var rollTimer = null;
  var still = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;

  function roll(panel) {
    if (rollTimer) { clearInterval(rollTimer); rollTimer = null; }
    var box = panel.querySelector("[data-roll]");
    if (!box || still) { return; }
    rollTimer = setInterval(function () {
      if (box.scrollHeight <= box.clientHeight) { return; }
      var row = box.querySelector("li");
      var step = row ? row.offsetHeight : 24;
      if (box.scrollTop + box.clientHeight + 1 >= box.scrollHeight) {
        box.scrollTop = 0;
      } else {
        box.scrollTop += step;
      }
    }, 3000);
  }

  function draw() {
    var panel = document.getElementById("wall-panel");
    var source = document.getElementById("wall-chart-data");
    if (!panel) { return; }
    if (source && window.WanggeCharts) {
      window.WanggeCharts.draw(panel, JSON.parse(source.textContent), true);
    }
    roll(panel);
  }

  draw();
  document.body.addEventListener("htmx:afterSwap", draw);
}());
