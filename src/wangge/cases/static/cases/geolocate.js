// Stamp on-site photos with the phone's position: fills the hidden lng/lat inputs of every form marked
// data-geolocate, once the form is opened or a photo is chosen. Without a fix (no permission, no GPS,
// a plain-http page) the photos are saved without a position and the form says so.
(function () {
  "use strict";
  if (!("geolocation" in navigator)) { return; }
  function locate(form) {
    if (form.dataset.geoAsked) { return; }
    form.dataset.geoAsked = "1";
    var status = form.querySelector("[data-geo-status]");
    var lng = form.querySelector('input[name="lng"]');
    var lat = form.querySelector('input[name="lat"]');
    if (!lng || !lat) { return; }
    function say(key, ok) {
      if (!status) { return; }
      status.textContent = status.dataset[key];
      status.classList.toggle("ok", !!ok);
      status.hidden = false;
    }
    say("locating");
    navigator.geolocation.getCurrentPosition(
      function (position) {
        lng.value = position.coords.longitude.toFixed(6);
        lat.value = position.coords.latitude.toFixed(6);
        say("located", true);
      },
      function () {
        form.dataset.geoAsked = "";
        say("unavailable");
      },
      { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 }
    );
  }
  var forms = document.querySelectorAll("form[data-geolocate]");
  Array.prototype.forEach.call(forms, function (form) {
    var details = form.closest("details");
    if (!details || details.open) {
      locate(form);
    } else {
      details.addEventListener("toggle", function () { if (details.open) { locate(form); } });
    }
    form.addEventListener("change", function (event) {
      if (event.target.type === "file") { locate(form); }
    });
  });
}());
