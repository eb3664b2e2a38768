// The canteen staff's screen. The terminal pushes its whole state by server-sent events after every
// decision; this script only draws it, in Kazakh or Russian (the choice is kept in localStorage).
// Times are the terminal's own: the offset from this browser's clock is taken from each state.
"use strict";

const FADE_MS = 20000; // a verdict older than this is greyed, so it is not taken for the next pupil
const LOST_MS = 3000; // no state for this long after the stream broke: say the terminal is not answering

let texts = {};
let lang = localStorage.getItem("kiosk-lang") || "kk";
let state = null;
let offsetMs = 0; // terminal clock minus browser clock
let lostSince = null;

function t(key, values) {
  const table = texts[lang] || {};
  let s = table[key] !== undefined ? table[key] : key;
  for (const [k, v] of Object.entries(values || {})) s = s.replace("{" + k + "}", v);
  return s;
}

function has(key) {
  return (texts[lang] || {})[key] !== undefined;
}

function el(id) {
  return document.getElementById(id);
}

function money(tiyn) {
  const locale = lang === "kk" ? "kk-KZ" : "ru-RU";
  const digits = tiyn % 100 ? 2 : 0;
  const n = new Intl.NumberFormat(locale, { minimumFractionDigits: digits, maximumFractionDigits: digits });
  return n.format(tiyn / 100) + " ₸";
}

function span(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return s + " " + t("unit.s");
  const min = Math.round(s / 60);
  if (min < 60) return min + " " + t("unit.min");
  const h = Math.round(min / 60);
  if (h < 48) return h + " " + t("unit.h");
  return Math.round(h / 24) + " " + t("unit.d");
}

function hhmm(ms, offsetMinutes) {
  const d = new Date(ms + offsetMinutes * 60000);
  return String(d.getUTCHours()).padStart(2, "0") + ":" + String(d.getUTCMinutes()).padStart(2, "0");
}

function minutes(m) {
  return String(Math.floor(m / 60)).padStart(2, "0") + ":" + String(m % 60).padStart(2, "0");
}

function planText(plan) {
  if (plan === null || plan === undefined) return "";
  return has("plan." + plan) ? t("plan." + plan) : t("plan.other", { n: plan });
}

function reasonText(code) {
  return code ? t("reason." + code) : "";
}

function now() {
  return Date.now() + offsetMs;
}

function drawVerdict(st) {
  const box = el("verdict");
  const last = st.last;
  const offsetMin = st.status ? st.status.utc_offset_minutes : 300;
  box.classList.remove("served", "refused", "waiting", "old");
  if (!last) {
    box.classList.add("waiting");
    el("verdict-word").textContent = t("ui.waiting");
    for (const id of ["who", "plan", "reason", "when"]) el(id).textContent = "";
    return;
  }
  box.classList.add(last.served ? "served" : "refused");
  if (now() - last.at_ms > FADE_MS) box.classList.add("old");
  el("verdict-word").textContent = last.served ? t("ui.served") : t("ui.refused");
  el("who").textContent = last.display || t("ui.nobody");
  let plan = planText(last.plan);
  if (last.served && last.price_tiyn !== null) {
    plan += (plan ? " · " : "") + t("ui.price", { amount: money(last.price_tiyn) });
    // the discounted plan's part the family pays; nothing more where the state pays it all
    if (last.family_tiyn) plan += " · " + t("ui.family_pays", { amount: money(last.family_tiyn) });
  }
  el("plan").textContent = plan;
  el("reason").textContent = last.served ? "" : reasonText(last.reason);
  let when = hhmm(last.at_ms, offsetMin) + " · " + t("method." + last.method);
  if (last.repeat) when += " · " + t("ui.repeat");
  el("when").textContent = when;
}

function drawCounts(st) {
  const list = el("counts");
  list.replaceChildren();
  const status = st.status;
  const slots = status ? status.slots : [];
  if (!slots.length) {
    const li = document.createElement("li");
    li.textContent = t("ui.no_meals_today");
    list.append(li);
    return;
  }
  for (const s of slots) {
    const li = document.createElement("li");
    li.dataset.slot = s.slot;
    if (status.current_slot === s.slot) li.classList.add("current");
    const label = document.createElement("span");
    label.textContent = minutes(s.start_minute) + "–" + minutes(s.end_minute);
    const n = document.createElement("strong");
    n.textContent = String(st.counts.by_slot[String(s.slot)] || 0);
    li.append(label, n);
    list.append(li);
  }
}

function drawRecent(st) {
  const list = el("recent");
  list.replaceChildren();
  const offsetMin = st.status ? st.status.utc_offset_minutes : 300;
  for (const r of st.recent) {
    const li = document.createElement("li");
    li.classList.add(r.served ? "served" : "refused");
    const time = document.createElement("span");
    time.className = "time";
    time.textContent = hhmm(r.at_ms, offsetMin);
    const who = document.createElement("span");
    who.className = "name";
    who.textContent = r.display || t("ui.nobody");
    const what = document.createElement("span");
    what.className = "what";
    what.textContent = r.served ? planText(r.plan) || t("ui.served") : reasonText(r.reason);
    li.append(time, who, what);
    list.append(li);
  }
}

function drawStatus(st) {
  const s = st.status;
  const link = el("link");
  const allow = el("allowlist");
  const banner = el("banner");
  if (!s) {
    link.textContent = "";
    allow.textContent = "";
    banner.hidden = true;
    return;
  }
  link.classList.remove("ok", "bad");
  if (s.online === null) {
    link.textContent = t("ui.never_online");
    link.classList.add("bad");
  } else {
    link.textContent = s.online ? t("ui.online") : t("ui.offline");
    link.classList.add(s.online ? "ok" : "bad");
    if (!s.online && s.last_contact_ms !== null) {
      link.textContent += ", " + t("ui.last_contact", { ago: span(now() - s.last_contact_ms) });
    }
  }
  if (s.backlog > 0 && !s.online) link.textContent += " · " + t("ui.backlog", { n: s.backlog });
  allow.classList.remove("ok", "warn", "bad");
  if (s.allowlist_generated_ms === null) {
    allow.textContent = t("ui.allowlist_none");
    allow.classList.add("bad");
  } else {
    let text = t("ui.allowlist_age", { ago: span(now() - s.allowlist_generated_ms) });
    const left = s.allowlist_valid_until_ms - now();
    if (left > 0) {
      text += ", " + t("ui.allowlist_left", { left: span(left) });
    } else if (s.allowlist_stale_until_ms > now()) {
      text += ", " + t("ui.allowlist_grace_left", { left: span(s.allowlist_stale_until_ms - now()) });
    }
    allow.textContent = text;
    const faults = s.faults;
    const level = faults.includes("ALLOWLIST_EXPIRED")
      ? "bad"
      : faults.includes("ALLOWLIST_STALE") || faults.includes("ALLOWLIST_EXPIRING")
        ? "warn"
        : "ok";
    allow.classList.add(level);
  }
  const lines = [];
  if (lostSince !== null && Date.now() - lostSince > LOST_MS) lines.push(t("ui.no_connection"));
  if (s.standing === "fault") lines.push(t("ui.cannot_serve"));
  for (const f of s.faults) lines.push(t("fault." + f));
  if (s.clock !== "TRUSTED" && !s.faults.includes("CLOCK_" + s.clock)) lines.push(t("ui.clock." + s.clock));
  banner.hidden = lines.length === 0;
  banner.className = "banner " + (s.standing === "fault" || lostSince !== null ? "bad" : "warn");
  banner.replaceChildren(...lines.map((line) => Object.assign(document.createElement("div"), { textContent: line })));
}

function draw() {
  document.documentElement.lang = lang;
  document.title = t("ui.title");
  for (const node of document.querySelectorAll("[data-t]")) node.textContent = t(node.dataset.t);
  for (const b of document.querySelectorAll("button[data-lang]")) {
    b.setAttribute("aria-pressed", String(b.dataset.lang === lang));
  }
  if (!state) return;
  drawVerdict(state);
  drawCounts(state);
  drawRecent(state);
  drawStatus(state);
  document.body.dataset.version = String(state.version);
}

function receive(st) {
  state = st;
  if (st.status) offsetMs = st.status.now_ms - Date.now();
  lostSince = null;
  draw();
}

function connect() {
  const events = new EventSource("/events");
  events.addEventListener("state", (e) => receive(JSON.parse(e.data)));
  events.addEventListener("error", () => {
    if (lostSince === null) lostSince = Date.now();
  });
}

for (const b of document.querySelectorAll("button[data-lang]")) {
  b.addEventListener("click", () => {
    lang = b.dataset.lang;
    localStorage.setItem("kiosk-lang", lang);
    draw();
  });
}

fetch("/texts.json")
  .then((r) => r.json())
  .then((catalogue) => {
    texts = catalogue;
    if (!texts[lang]) lang = "kk";
    draw();
    connect();
    setInterval(draw, 1000); // relative times, fading, a lost connection
  });
