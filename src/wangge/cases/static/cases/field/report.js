// The report forms (grid worker's field:report and the resident's public:report) on a phone:
// a GPS fix into the hidden lng/lat fields, photo previews, the chosen category's conditions, a client id
// so a retry never makes a second case, and a draft kept on the phone while the signal is bad.
// Texts come translated from the form's data-msg-* attributes; the page works without this script too
// (the server gives a client id; the place is then chosen from the list or written as an address).
(function () {
  "use strict";

  // The reported page clears the draft it came from: the server has the report.
  var received = document.querySelector("[data-report-received]");
  if (received) {
    clearDraftIf(received.dataset.draftKey, [received.dataset.reportReceived]);
  }

  var form = document.getElementById("report-form");
  if (!form) { return; }
  var data = form.dataset;
  var draftKey = "wangge:report-draft:" + data.draftKey;
  var field = function (name) { return form.elements.namedItem(name); };
  var uuid = field("uuid"), lng = field("lng"), lat = field("lat");

  function msg(name, values) {
    var text = data["msg" + name] || "";
    Object.keys(values || {}).forEach(function (key) { text = text.split("{" + key + "}").join(values[key]); });
    return text;
  }

  function newUuid() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") { return window.crypto.randomUUID(); }
    // randomUUID needs a secure context (HTTPS); a county intranet on plain HTTP still has getRandomValues.
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (b) { return (b + 256).toString(16).slice(1); }).join("");
    return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20)].join("-");
  }

  // ---- Draft kept on the phone -------------------------------------------------------------------
  var DRAFT_FIELDS = ["uuid", "description", "address", "category", "severity", "source", "unit", "reporter_name"];

  function readDraft(key) {
    try { return JSON.parse(window.localStorage.getItem(key) || "null"); } catch (e) { return null; }
  }

  function clearDraftIf(key, uuids) {
    if (!key) { return; }
    var stored = readDraft("wangge:report-draft:" + key);
    if (stored && uuids.indexOf(stored.uuid) !== -1) {
      try { window.localStorage.removeItem("wangge:report-draft:" + key); } catch (e) { /* storage off */ }
    }
  }

  function valueOf(name) {
    var el = field(name);
    if (!el) { return ""; }
    if (el instanceof RadioNodeList) { return el.value; }
    return el.value;
  }

  function setValue(name, value) {
    var el = field(name);
    if (!el || value === undefined || value === null) { return; }
    el.value = value;
  }

  function saveDraft() {
    var draft = {};
    DRAFT_FIELDS.forEach(function (name) { if (field(name)) { draft[name] = valueOf(name); } });
    if (!draft.description && !draft.address) { return; }
    try { window.localStorage.setItem(draftKey, JSON.stringify(draft)); } catch (e) { /* private mode */ }
  }

  var receivedIds = [];
  try { receivedIds = JSON.parse(data.received || "[]"); } catch (e) { receivedIds = []; }
  clearDraftIf(data.draftKey, receivedIds);

  var draft = readDraft(draftKey);
  var note = document.getElementById("draft-note");
  if (draft && data.bound !== "1" && (draft.description || draft.address)) {
    // Restored with its client id: if the lost send did reach the server, sending again is harmless.
    DRAFT_FIELDS.forEach(function (name) { setValue(name, draft[name]); });
    if (note) { note.hidden = false; }
  }
  if (!uuid.value) { uuid.value = newUuid(); }
  var discard = document.getElementById("draft-discard");
  if (discard) {
    discard.addEventListener("click", function () {
      try { window.localStorage.removeItem(draftKey); } catch (e) { /* storage off */ }
      form.reset();
      ["description", "address", "reporter_name"].forEach(function (name) { setValue(name, ""); });
      uuid.value = newUuid();
      note.hidden = true;
      showCategory();
    });
  }
  form.addEventListener("input", saveDraft);
  form.addEventListener("change", saveDraft);

  // ---- Category conditions -------------------------------------------------------------------------
  var conditionsEl = document.getElementById("category-conditions");
  var conditions = conditionsEl ? JSON.parse(conditionsEl.textContent) : {};
  var help = document.getElementById("category-help");

  function showCategory() {
    if (!help || !field("category")) { return; }
    var chosen = conditions[valueOf("category")];
    help.hidden = !chosen || !(chosen.register || chosen.close);
    if (help.hidden) { return; }
    help.querySelector("[data-register]").textContent = chosen.register || "—";
    help.querySelector("[data-close]").textContent = chosen.close || "—";
  }
  if (field("category")) { field("category").addEventListener("change", showCategory); }
  showCategory();

  // ---- GPS fix -------------------------------------------------------------------------------------
  var status = document.getElementById("gps-status");
  var locateButton = document.getElementById("gps-locate");
  var clearButton = document.getElementById("gps-clear");
  var ROUGH_METRES = 100;

  function setStatus(text, kind) {
    status.textContent = text;
    status.className = "gps-status" + (kind ? " " + kind : "");
  }

  function locate() {
    if (!("geolocation" in navigator)) {
      setStatus(msg("Failed", { reason: msg("Unsupported") }), "error");
      return;
    }
    setStatus(msg("Locating"), "");
    locateButton.disabled = true;
    navigator.geolocation.getCurrentPosition(function (position) {
      var c = position.coords;
      lng.value = c.longitude.toFixed(6);
      lat.value = c.latitude.toFixed(6);
      var metres = Math.round(c.accuracy);
      setStatus(msg(metres > ROUGH_METRES ? "Rough" : "Located", { m: metres }), metres > ROUGH_METRES ? "warn" : "ok");
      locateButton.disabled = false;
      clearButton.hidden = false;
    }, function (error) {
      var reason = { 1: msg("Denied"), 2: msg("Unavailable"), 3: msg("Timeout") }[error.code] || "";
      setStatus(msg("Failed", { reason: reason }), "error");
      locateButton.disabled = false;
    }, { enableHighAccuracy: true, timeout: 20000, maximumAge: 30000 });
  }

  if (status && locateButton) {
    locateButton.hidden = false;
    locateButton.addEventListener("click", locate);
    clearButton.addEventListener("click", function () {
      lng.value = "";
      lat.value = "";
      clearButton.hidden = true;
      setStatus(msg("Cleared"), "");
    });
    if (lng.value && lat.value) {
      clearButton.hidden = false;  // a fix sent before and kept by the server: the worker decides
    } else if (data.autoLocate === "1") {
      locate();
    } else {
      setStatus(msg("Ask"), "");
    }
  }

  // ---- Photo previews ------------------------------------------------------------------------------
  var photos = field("photos");
  var preview = document.getElementById("photo-preview");
  var photoNote = document.getElementById("photo-note");
  var maxBytes = parseInt(data.maxBytes || "0", 10);
  var maxPhotos = parseInt(data.maxPhotos || "0", 10);

  if (photos && preview) {
    photos.addEventListener("change", function () {
      preview.textContent = "";
      var problems = [];
      var files = Array.prototype.slice.call(photos.files || []);
      if (maxPhotos && files.length > maxPhotos) { problems.push(msg("TooMany", { n: maxPhotos })); }
      files.forEach(function (file) {
        var figure = document.createElement("figure");
        var img = document.createElement("img");
        img.alt = file.name;
        var caption = document.createElement("figcaption");
        caption.textContent = (file.size / 1048576).toFixed(1) + " MB";
        if (maxBytes && file.size > maxBytes) {
          figure.className = "too-big";
          problems.push(msg("TooBig", { name: file.name, mb: Math.round(maxBytes / 1048576) }));
        }
        figure.appendChild(img);
        figure.appendChild(caption);
        preview.appendChild(figure);
        // data: URLs, because the CSP allows images from 'self' and data: only (no blob:).
        var reader = new FileReader();
        reader.onload = function () { img.src = reader.result; };
        reader.readAsDataURL(file);
      });
      photoNote.textContent = problems.join(" ");
      photoNote.hidden = !problems.length;
    });
  }

  // ---- Sending ------------------------------------------------------------------------------------
  var send = form.querySelector("button[type=submit]");
  var offline = document.getElementById("offline-note");
  form.addEventListener("submit", function (event) {
    saveDraft();
    if (navigator.onLine === false) {
      event.preventDefault();
      offline.textContent = msg("Offline");
      offline.hidden = false;
      return;
    }
    // One tap sends once; the client id covers a second tap that got through anyway.
    window.setTimeout(function () { send.disabled = true; send.textContent = msg("Sending"); }, 0);
  });
  window.addEventListener("online", function () {
    if (!offline.hidden) { offline.textContent = msg("Online"); }
  });
  window.addEventListener("pageshow", function () {
    send.disabled = false;
    send.textContent = data.msgSend || send.textContent;
  });
}());
