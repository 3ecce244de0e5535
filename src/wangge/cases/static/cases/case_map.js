// The case page's map: where the case happened (a point) inside the outline of its grid.
// The data comes from the page (json_script); no base map unless a tile URL is configured, so the map
// works with no internet at all.
(function () {
  "use strict";
  var el = document.getElementById("case-map");
  var source = document.getElementById("case-map-data");
  if (!el || !source || typeof L === "undefined") { return; }
  var data = JSON.parse(source.textContent);
  if (!data.point && !data.grid) {
    el.classList.add("empty");
    el.textContent = el.dataset.emptyText;
    return;
  }
  var map = L.map(el, { zoomSnap: 0.25, attributionControl: !!el.dataset.tileUrl });
  if (el.dataset.tileUrl) {
    L.tileLayer(el.dataset.tileUrl, { attribution: el.dataset.tileAttribution || "", maxZoom: 19 }).addTo(map);
  }
  // The view is set before any layer is added: a vector layer added to a map without a view fails.
  var grid = data.grid ? L.geoJSON(data.grid, {
    style: { color: "#34495e", weight: 2, fillColor: "#1f77b4", fillOpacity: 0.15, interactive: false }
  }) : null;
  var latlng = data.point ? L.latLng(data.point[1], data.point[0]) : null;
  if (grid) {
    var bounds = grid.getBounds();
    if (latlng) { bounds.extend(latlng); }
    map.fitBounds(bounds, { padding: [12, 12], maxZoom: 17 });
    grid.addTo(map);
  } else {
    map.setView(latlng, 16);
  }
  if (latlng) {
    // A circle marker needs no marker images, so nothing but Leaflet's script and stylesheet is loaded.
    L.circleMarker(latlng, { radius: 9, color: "#fff", weight: 3, fillColor: "#b3261e", fillOpacity: 1 })
      .bindTooltip(data.title)
      .addTo(map);
  }
  el.dataset.loaded = data.point ? "point" : "grid";
}());
