// The pupil's pass: shows the token of the current window as a QR code, offline too.
// The phone's clock is corrected by the offset learned from the server at the last refresh.
(function () {
  "use strict";
  var root = document.getElementById("pass");
  if (!root) return;
  var STORE = "sm-pass-v1";
  var REFRESH_MS = 10 * 60 * 1000;
  var lang = root.dataset.lang === "en" ? "en-GB" : root.dataset.lang;  // day before month, as in Kazakhstan
  var el = function (id) { return document.getElementById(id); };
  var t = function (key, values) {
    var s = root.dataset["t" + key.charAt(0).toUpperCase() + key.slice(1)] || "";
    Object.keys(values || {}).forEach(function (k) { s = s.replace("{" + k + "}", values[k]); });
    return s;
  };
  var state = load();
  var shown = null;

  function load() {
    try { return JSON.parse(localStorage.getItem(STORE)); } catch (e) { return null; }
  }

  function now() { // seconds, on the server's clock
    return Date.now() / 1000 + (state ? state.offset : 0);
  }

  function fmt(seconds, opts) {
    return new Intl.DateTimeFormat(lang, Object.assign({ timeZone: "Asia/Almaty" }, opts)).format(new Date(seconds * 1000));
  }

  function slotName(n) { return root.dataset["tSlot" + n] || t("slot"); }

  function draw(text) {
    var qr = qrcode(0, "M");
    qr.addData(text, "Alphanumeric");
    qr.make();
    var count = qr.getModuleCount(), quiet = 4, total = count + 2 * quiet;
    var canvas = el("pass-qr");
    var css = Math.min(document.documentElement.clientWidth - 32, 420);
    var scale = Math.max(3, Math.floor(css * (window.devicePixelRatio || 1) / total));
    canvas.width = canvas.height = total * scale;
    canvas.style.width = canvas.style.height = (total * scale / (window.devicePixelRatio || 1)) + "px";
    var g = canvas.getContext("2d");
    g.fillStyle = "#fff";
    g.fillRect(0, 0, canvas.width, canvas.height);
    g.fillStyle = "#000";
    for (var r = 0; r < count; r++) {
      for (var c = 0; c < count; c++) {
        if (qr.isDark(r, c)) g.fillRect((c + quiet) * scale, (r + quiet) * scale, scale, scale);
      }
    }
    canvas.setAttribute("aria-label", t("qr"));
    canvas.dataset.token = text;
    canvas.hidden = false;
  }

  function tick() {
    var qrEl = el("pass-qr");
    if (!state || !state.data) { return; }
    var d = state.data, s = now();
    el("pass-child").textContent = d.display;
    el("pass-updated").textContent = t("updated", { when: fmt(state.fetched, { day: "2-digit", month: "2-digit", hour: "2-digit", minute: "2-digit" }) });
    var current = null;
    for (var i = 0; i < d.tokens.length; i++) {
      if (d.tokens[i].nbf <= s && s < d.tokens[i].exp) { current = d.tokens[i]; break; }
    }
    if (current) {
      if (shown !== current.qr) { draw(current.qr); shown = current.qr; }
      el("pass-state").textContent = t("now");
      var left = Math.max(0, Math.ceil(current.exp - s));
      el("pass-countdown").textContent = t("changes", { time: Math.floor(left / 60) + ":" + ("0" + (left % 60)).slice(-2) });
      return;
    }
    qrEl.hidden = true; shown = null;
    el("pass-countdown").textContent = "";
    var next = d.slots.filter(function (x) { return x.start > s; })[0];
    el("pass-state").textContent = next
      ? t("next", { slot: slotName(next.slot), when: fmt(next.start, { weekday: "long", day: "2-digit", month: "2-digit", hour: "2-digit", minute: "2-digit" }) })
      : t("none");
  }

  function refresh() {
    var asked = Date.now();
    return fetch("/pass/data.json", { credentials: "same-origin", cache: "no-store" })
      .then(function (r) {
        return r.json().then(function (body) { return { status: r.status, body: body }; });
      })
      .then(function (res) {
        el("pass-offline").hidden = true;
        if (res.status === 200) {
          var got = Date.now();
          // the server's time is taken as of the middle of the round trip
          var offset = res.body.server_time - (asked + got) / 2000;
          state = { data: res.body, offset: offset, fetched: res.body.server_time };
          try { localStorage.setItem(STORE, JSON.stringify(state)); } catch (e) { /* full: keep it in memory */ }
        } else {
          state = null;
          localStorage.removeItem(STORE);
          el("pass-qr").hidden = true;
          el("pass-state").textContent = t(res.body.reason === "PASS_REVOKED" ? "revoked" : "nopass");
        }
        tick();
      })
      .catch(function () {
        el("pass-offline").textContent = t("offline");
        el("pass-offline").hidden = false;
        tick();
      });
  }

  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/pass/sw.js", { scope: "/pass/" }).catch(function () { /* no offline copy */ });
  }
  tick();
  refresh();
  setInterval(tick, 1000);
  setInterval(refresh, REFRESH_MS);
  window.addEventListener("online", refresh);
})();
