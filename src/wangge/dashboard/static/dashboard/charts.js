// The command centre's charts, drawn with ECharts from the JSON a page hands over (json_script): the
// indicators against their targets, and cases by status, category, source and level of resolution.
// Tooltips are drawn as rich text on the canvas: ECharts' HTML tooltips carry style attributes, which the
// CSP (style-src 'self') refuses. Used by the dashboard page and the wall screen; `WanggeCharts.draw(root, data, theme)` (re)draws the
// charts of the `[data-chart]` elements inside `root`.
(function () {
  "use strict";
  var palette = ["#0b5cad", "#1e7b34", "#d08700", "#b3261e", "#6b4fa1", "#13808f", "#8c564b", "#5f6b7a", "#c2185b", "#7cb342"];

  function kpiOption(data, dark) {
    var kpis = data.kpis.slice().reverse();  // the first indicator on top
    var text = dark ? "#dfe7f1" : "#1d2733";
    return {
      color: palette,
      grid: { left: 8, right: 48, top: 24, bottom: 8, containLabel: true },
      legend: { top: 0, textStyle: { color: text }, data: [data.labels.value, data.labels.target] },
      tooltip: { renderMode: "richText", trigger: "axis", axisPointer: { type: "shadow" }, valueFormatter: function (v) { return v === null || v === undefined ? "—" : v + "%"; } },
      xAxis: { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%", color: text } },
      yAxis: { type: "category", data: kpis.map(function (k) { return k.name; }), axisLabel: { color: text } },
      series: [
        {
          name: data.labels.value, type: "bar", barMaxWidth: 18,
          label: { show: true, position: "right", color: text, formatter: function (p) { return p.value === null ? "—" : p.value + "%"; } },
          data: kpis.map(function (k) {
            // Green when the target is met, red when missed, blue when the indicator has no target
            // (`meets` is decided by the server on the exact counts, not on the rounded percentages).
            var shade = k.meets === null ? "#0b5cad" : (k.meets ? "#1e7b34" : "#b3261e");
            return { value: k.value, itemStyle: { color: shade } };
          })
        },
        {
          // The target of each indicator: a thin upright mark across its bar.
          name: data.labels.target, type: "scatter", symbol: "rect", symbolSize: [3, 22], z: 5,
          itemStyle: { color: dark ? "#ffd54f" : "#1d2733" },
          data: kpis.map(function (k) { return k.target; })
        }
      ]
    };
  }

  function pieOption(parts, dark) {
    return {
      color: palette,
      tooltip: { renderMode: "richText", trigger: "item", formatter: "{b}: {c} ({d}%)" },
      legend: { type: "scroll", bottom: 0, textStyle: { color: dark ? "#dfe7f1" : "#1d2733" } },
      series: [{ type: "pie", radius: ["38%", "66%"], center: ["50%", "44%"], label: { color: dark ? "#dfe7f1" : "#1d2733" }, data: parts }]
    };
  }

  function barOption(parts, dark, name) {
    var text = dark ? "#dfe7f1" : "#1d2733";
    var rows = parts.slice().reverse();
    return {
      color: palette,
      grid: { left: 8, right: 40, top: 8, bottom: 8, containLabel: true },
      tooltip: { renderMode: "richText", trigger: "axis", axisPointer: { type: "shadow" } },
      xAxis: { type: "value", minInterval: 1, axisLabel: { color: text } },
      yAxis: { type: "category", data: rows.map(function (p) { return p.name; }), axisLabel: { color: text } },
      series: [{ name: name, type: "bar", barMaxWidth: 18, label: { show: true, position: "right", color: text }, data: rows.map(function (p) { return p.value; }) }]
    };
  }

  function option(kind, data, dark) {
    if (kind === "kpis") { return kpiOption(data, dark); }
    var parts = data[kind] || [];
    if (!parts.some(function (p) { return p.value; })) { return null; }
    if (kind === "status" || kind === "source") { return pieOption(parts, dark); }
    return barOption(parts, dark, data.labels.cases);
  }

  function dispose(root) {
    if (typeof echarts === "undefined") { return; }
    root.querySelectorAll("[data-chart]").forEach(function (el) {
      var chart = echarts.getInstanceByDom(el);
      if (chart) { chart.dispose(); }
    });
  }

  function draw(root, data, dark) {
    if (typeof echarts === "undefined") { return; }
    root.querySelectorAll("[data-chart]").forEach(function (el) {
      var kind = el.dataset.chart;
      var chosen = option(kind, data, dark);
      var old = echarts.getInstanceByDom(el);
      if (old) { old.dispose(); }
      if (!chosen) {
        el.classList.add("empty");
        el.textContent = data.labels.empty;
        el.dataset.rendered = "empty";
        return;
      }
      if (kind === "category" || kind === "level" || kind === "kpis") {
        var rows = kind === "kpis" ? data.kpis.length : (data[kind] || []).length;
        el.style.height = Math.max(220, rows * 30 + 60) + "px";
      }
      var chart = echarts.init(el, dark ? "dark" : null, { renderer: "canvas" });
      if (dark) { chosen.backgroundColor = "transparent"; }  // the wall's own panels show through
      chart.setOption(chosen);
      el.dataset.rendered = kind;
    });
  }

  window.addEventListener("resize", function () {
    if (typeof echarts === "undefined") { return; }
    document.querySelectorAll("[data-chart]").forEach(function (el) {
      var chart = echarts.getInstanceByDom(el);
      if (chart) { chart.resize(); }
    });
  });

  window.WanggeCharts = { draw: draw, dispose: dispose };
}());
