// Turns on Web Push in this browser: subscribes with the server's VAPID key and hands the
// subscription to the back end (with the page's CSRF token).
(function () {
  "use strict";
  var box = document.getElementById("push");
  if (!box) return;
  var button = document.getElementById("push-on");
  var stateEl = document.getElementById("push-state");
  var say = function (key) { stateEl.textContent = box.dataset["t" + key.charAt(0).toUpperCase() + key.slice(1)]; };
  if (!("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) { say("unsupported"); return; }
  if (Notification.permission === "denied") { say("denied"); return; }

  function key() {
    var s = box.dataset.key.replace(/-/g, "+").replace(/_/g, "/");
    var raw = atob(s + "===".slice((s.length + 3) % 4));
    var out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
    return out;
  }

  function send(sub) {
    var body = new URLSearchParams({ subscription: JSON.stringify(sub), csrf: box.dataset.csrf });
    return fetch("/notifications/push", { method: "POST", body: body, credentials: "same-origin" })
      .then(function (r) { if (!r.ok) throw new Error(r.status); say("on"); button.hidden = true; });
  }

  navigator.serviceWorker.register("/notifications/sw.js", { scope: "/notifications/" }).then(function (reg) {
    return reg.pushManager.getSubscription().then(function (existing) {
      if (existing && Notification.permission === "granted") { return send(existing); }
      button.hidden = false;
      button.addEventListener("click", function () {
        Notification.requestPermission().then(function (p) {
          if (p !== "granted") { say("denied"); return; }
          return reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key() }).then(send);
        }).catch(function () { say("failed"); });
      });
    });
  }).catch(function () { say("unsupported"); });
})();
