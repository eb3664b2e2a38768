// The pass's service worker: keeps the pass page and its scripts so the pass opens offline.
// Tokens are not cached here: the page keeps the last ones it fetched, with the clock offset.
const CACHE = "pass-{{ version }}";
const SHELL = {{ shell|safe }};

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim())
  );
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname === "/pass/data.json") return; // always the network; the page falls back itself
  if (event.request.mode === "navigate" && url.pathname === "/pass/") {
    // network first, so a new language or version shows when online; the copy when offline
    event.respondWith(
      fetch(event.request)
        .then((r) => { if (r.ok) { const copy = r.clone(); caches.open(CACHE).then((c) => c.put("/pass/", copy)); } return r; })
        .catch(() => caches.match("/pass/"))
    );
    return;
  }
  if (SHELL.includes(url.pathname + url.search)) {
    event.respondWith(caches.match(url.pathname + url.search).then((hit) => hit || fetch(event.request)));
  }
});
