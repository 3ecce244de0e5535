// The queue's batch dispatch: "tick every case on this page" and a running count of ticked cases.
// Without JavaScript the row checkboxes still work; only these two conveniences are missing.
(function () {
  "use strict";
  var form = document.getElementById("batch-form");
  if (!form) { return; }
  var boxes = Array.prototype.slice.call(document.querySelectorAll('input[name="cases"][form="batch-form"]'));
  var all = form.querySelector("[data-select-all]");
  var count = form.querySelector("[data-selected-count]");
  function update() {
    var ticked = boxes.filter(function (box) { return box.checked; }).length;
    count.textContent = count.dataset.template.replace("{count}", String(ticked));
    count.hidden = false;
    all.checked = ticked === boxes.length && ticked > 0;
    all.indeterminate = ticked > 0 && ticked < boxes.length;
  }
  all.parentElement.hidden = false;
  all.addEventListener("change", function () {
    boxes.forEach(function (box) { box.checked = all.checked; });
    update();
  });
  boxes.forEach(function (box) { box.addEventListener("change", update); });
  update();
}());
