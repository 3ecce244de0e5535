// The unit page's map: the unit's outline and its children's boundaries, from the page's GeoJSON URL.
// No base map unless a tile URL is configured, so it works with no internet at all.
(function () {
  "use strict";
  var el = document.getElementById("unit-map");
  if (!el || typeof L === "undefined") { return; }
  var map = L.map(el, { zoomSnap: 0.25, attributionControl: !!el.dataset.tileUrl });
  if (el.dataset.tileUrl) {
    L.tileLayer(el.dataset.tileUrl, { attribution: el.dataset.tileAttribution || "", maxZoom: 19 }).addTo(map);
  }
  var palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22"];
  function style(feature) {
    var props = feature.properties;
    if (props.role === "self") {
      return { color: "#b3261e", weight: 3, fill: false, dashArray: "6 4", interactive: false };
    }
    var index = Math.abs(hash(props.code)) % palette.length;
    return { color: "#34495e", weight: 1, fillColor: props.kind === "dedicated" ? "#7f8c8d" : palette[index], fillOpacity: 0.35 };
  }
  function hash(text) {
    var h = 0;
    for (var i = 0; i < text.length; i++) { h = (h * 31 + text.charCodeAt(i)) | 0; }
    return h;
  }
  fetch(el.dataset.geojsonUrl, { credentials: "same-origin", headers: { Accept: "application/geo+json" } })
    .then(function (response) {
      if (!response.ok) { throw new Error(response.status); }
      return response.json();
    })
    .then(function (data) {
      if (!data.features.length) {
        el.classList.add("empty");
        el.textContent = el.dataset.emptyText;
        return;
      }
      var layer = L.geoJSON(data, {
        style: style,
        onEachFeature: function (feature, featureLayer) {
          var props = feature.properties;
          if (props.role === "child") {
            featureLayer.bindTooltip(props.name, { sticky: true });
            featureLayer.on("click", function () { window.location.href = props.url; });
          }
        }
      }).addTo(map);
      map.fitBounds(layer.getBounds(), { padding: [8, 8] });
      el.dataset.loaded = String(data.features.length);
    })
    .catch(function () { el.textContent = el.dataset.emptyText; });
}());
