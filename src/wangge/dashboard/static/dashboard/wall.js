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
  document.body.addEventListener("htmx:beforeSwap", function (event) {
    // A session that expired answers with the sign-in page: load it whole instead of inside the panel.
    var xhr = event.detail.xhr;
    if (xhr && xhr.responseURL && xhr.responseURL.indexOf("/wall/panel/") === -1) {
      event.detail.shouldSwap = false;
      window.location.reload();
      return;
    }
    // The charts of the panel about to be replaced are let go, or a screen left on all day leaks them.
    var panel = document.getElementById("wall-panel");
    if (panel && window.WanggeCharts) { window.WanggeCharts.dispose(panel); }
  });
  document.body.addEventListener("htmx:afterSwap", draw);
}());
