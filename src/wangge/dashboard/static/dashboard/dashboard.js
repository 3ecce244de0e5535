// The dashboard page: its charts (charts.js) and its map — the grids under the unit shaded by the chosen
// figure, the located cases of the range clustered, a heat layer of their density; a grid opens its own
// dashboard, a case its page. No base map unless a tile URL is configured: it works with no internet.
(function () {
  "use strict";
  var source = document.getElementById("dashboard-chart-data");
  if (source && window.WanggeCharts) {
    window.WanggeCharts.draw(document, JSON.parse(source.textContent), false);
  }

  var el = document.getElementById("dashboard-map");
  var select = document.getElementById("map-metric");
  var note = document.getElementById("map-note");
  if (!el || typeof L === "undefined") { return; }
  // Light to dark: more open or overdue cases are worse; more visit coverage is better (reversed).
  var ramp = ["#fff5eb", "#fdd0a2", "#fd8d3c", "#d94801", "#7f2704"];
  var goodRamp = ramp.slice().reverse();

  // Clustering needs a maximum zoom, which a map without a tile layer otherwise lacks.
  var map = L.map(el, { zoomSnap: 0.25, maxZoom: 19, preferCanvas: true, zoomControl: false, attributionControl: !!el.dataset.tileUrl });
  L.control.zoom({ zoomInTitle: el.dataset.zoomIn, zoomOutTitle: el.dataset.zoomOut }).addTo(map);
  if (el.dataset.tileUrl) {
    L.tileLayer(el.dataset.tileUrl, { attribution: el.dataset.tileAttribution || "", maxZoom: 19 }).addTo(map);
  }

  function breaks(values) {
    // Quantile breaks of the grids' values, so a county's few extreme grids do not wash the rest out.
    var sorted = values.filter(function (v) { return v !== null && v !== undefined; }).sort(function (a, b) { return a - b; });
    if (!sorted.length) { return []; }
    var cuts = [];
    for (var i = 1; i < ramp.length; i++) { cuts.push(sorted[Math.floor(i * (sorted.length - 1) / ramp.length)]); }
    return cuts;
  }

  function colour(value, cuts, colours) {
    if (value === null || value === undefined) { return "#cfd6de"; }
    var i = 0;
    while (i < cuts.length && value > cuts[i]) { i++; }
    return colours[i];
  }

  function label(metric, props) {
    var value = props[metric];
    if (value === null || value === undefined) { return el.dataset.noValue; }
    return metric === "visit_coverage" ? value + "%" : String(value);
  }

  fetch(el.dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then(function (response) {
      if (!response.ok) { throw new Error(response.status); }
      return response.json();
    })
    .then(function (data) {
      var features = data.grids.features;
      var names = {};
      data.metrics.forEach(function (m) { names[m.key] = m.name; });
      var gridLayer = L.geoJSON(data.grids, {
        onEachFeature: function (feature, layer) {
          layer.on("click", function () { window.location.href = feature.properties.url; });
        }
      });
      var legend = L.control({ position: "bottomright" });
      legend.onAdd = function () {
        var box = L.DomUtil.create("div", "map-legend");
        L.DomEvent.disableClickPropagation(box);
        return box;
      };
      legend.addTo(map);
      function drawLegend(metric, cuts, colours) {
        var box = legend.getContainer();
        box.textContent = "";
        var title = document.createElement("strong");
        title.textContent = names[metric];
        box.appendChild(title);
        var bounds = [null].concat(cuts);
        colours.forEach(function (fill, i) {
          if (i > 0 && i < bounds.length && bounds[i] === bounds[i - 1]) { return; }  // an empty class
          var row = document.createElement("div");
          var swatch = document.createElement("i");
          swatch.className = "swatch";
          swatch.style.background = fill;
          row.appendChild(swatch);
          var low = bounds[i], high = cuts[i];
          var text = low === null ? "≤ " + high : (high === undefined ? "> " + low : low + " – " + high);
          row.appendChild(document.createTextNode(" " + text + (metric === "visit_coverage" ? "%" : "")));
          box.appendChild(row);
        });
        if (!cuts.length) { box.appendChild(document.createTextNode(el.dataset.noValue)); }
      }
      function shade() {
        var metric = select ? select.value : "open_per_100";
        var cuts = breaks(features.map(function (f) { return f.properties[metric]; }));
        var colours = metric === "visit_coverage" ? goodRamp : ramp;
        drawLegend(metric, cuts, cuts.length ? colours : []);
        gridLayer.eachLayer(function (layer) {
          var props = layer.feature.properties;
          layer.setStyle({ color: "#34495e", weight: 1, fillOpacity: 0.7, fillColor: colour(props[metric], cuts, colours) });
          // Text, not HTML: a grid's name is data.
          var tip = document.createElement("span");
          tip.textContent = props.name + " · " + names[metric] + ": " + label(metric, props);
          layer.bindTooltip(tip, { sticky: true });
        });
        el.dataset.metric = metric;
      }
      var outline = data.unit.outline ? L.geoJSON(data.unit.outline, {
        style: { color: "#b3261e", weight: 3, fill: false, dashArray: "6 4", interactive: false }
      }) : null;
      var bounds = outline ? outline.getBounds() : (features.length ? gridLayer.getBounds() : null);
      if (!bounds || !bounds.isValid()) {
        el.classList.add("empty");
        el.textContent = el.dataset.emptyText;
        return;
      }
      map.fitBounds(bounds, { padding: [8, 8] });
      gridLayer.addTo(map);
      if (outline) { outline.addTo(map); }
      shade();
      if (select) { select.addEventListener("change", shade); }

      var cluster = L.markerClusterGroup({ chunkedLoading: true, showCoverageOnHover: false });
      var heatPoints = [];
      data.cases.items.forEach(function (item) {
        var marker = L.circleMarker([item.lat, item.lng], { radius: 7, color: "#fff", weight: 2, fillColor: "#b3261e", fillOpacity: 1 });
        var link = document.createElement("a");
        link.href = item.url;
        link.textContent = (item.number ? item.number + " " : "") + item.title;
        var box = document.createElement("div");
        box.appendChild(link);
        box.appendChild(document.createElement("br"));
        box.appendChild(document.createTextNode(item.state));
        marker.bindPopup(box);
        cluster.addLayer(marker);
        heatPoints.push([item.lat, item.lng, 1]);
      });
      cluster.addTo(map);
      var heat = L.heatLayer ? L.heatLayer(heatPoints, { radius: 20, blur: 15, minOpacity: 0.3 }) : null;
      var overlays = {};
      overlays[el.dataset.gridsLabel] = gridLayer;
      overlays[el.dataset.markersLabel] = cluster;
      if (heat) { overlays[el.dataset.heatLabel] = heat; }
      L.control.layers(null, overlays, { collapsed: false }).addTo(map);
      if (note && data.cases.total > data.cases.shown) {
        note.textContent = el.dataset.shownText.replace("{shown}", data.cases.shown).replace("{total}", data.cases.total);
      }
      el.dataset.loaded = String(features.length);
      el.dataset.cases = String(data.cases.shown);
    })
    .catch(function (error) {
      el.dataset.failed = "true";
      if (window.console) { console.error("dashboard map:", error); }
    });
}());
