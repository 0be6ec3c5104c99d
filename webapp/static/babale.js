// Babale: the little the pages need, no framework.
(function () {
  "use strict";
  // "Select all on this page" in the list.
  document.querySelectorAll("[data-check-all]").forEach(function (box) {
    box.addEventListener("change", function () {
      box.form.querySelectorAll("input[name=ids]").forEach(function (b) { b.checked = box.checked; });
    });
  });
  // A small map of the GPS point (Leaflet is vendored; tiles may be unavailable offline).
  var el = document.getElementById("peta");
  if (el && window.L) {
    var lat = parseFloat(el.dataset.lat), lon = parseFloat(el.dataset.lon);
    var map = L.map(el, { scrollWheelZoom: false }).setView([lat, lon], 15);
    L.Icon.Default.imagePath = el.dataset.images || "/static/vendor/leaflet-1.9.4/images/";
    if (el.dataset.tiles) {
      L.tileLayer(el.dataset.tiles, { maxZoom: 19, attribution: "© OpenStreetMap" }).addTo(map);
    }
    L.marker([lat, lon]).addTo(map);
  }
})();
