// dialog-gym serve: the page. Plain JavaScript, no build step, nothing fetched from elsewhere.
"use strict";

const $ = (id) => document.getElementById(id);
const TOKEN_HEADER = "X-Dialog-Gym-Token";
const boot = JSON.parse(document.querySelector('meta[name="dialog-gym-boot"]').content || "{}");
let token = boot.token || tokenFromHash() || sessionStorage.getItem("dialog-gym-token");
if (!token) token = window.prompt("This server needs its token (the one given with --token):") || "";
sessionStorage.setItem("dialog-gym-token", token);

let sessionId = new URLSearchParams(location.search).get("session");
let state = null;
let busy = false;
const queued = [];  // undos and resets pressed while the page waited for an answer: sent in turn once it came
let noticeTimer = null;
window.dgLatencies = [];  // milliseconds from each key press or click to the page showing the answer
window.dgState = null;

function tokenFromHash() {
  const m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  return m ? decodeURIComponent(m[1]) : null;
}

async function api(method, path, body) {
  const options = { method, headers: { [TOKEN_HEADER]: token } };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, options);
  } catch (err) {  // no answer at all: the server stopped (or the network is gone)
    throw problem("the server does not answer",
                  "Is dialog-gym serve still running? Start it again (the same --out), then reload the page.", 0);
  }
  const data = await response.json().catch(() => ({ error: `HTTP ${response.status}` }));
  if (!response.ok) {
    if (response.status === 401 || response.status === 403) sessionStorage.removeItem("dialog-gym-token");
    throw problem(data.error || `HTTP ${response.status}`, data.hint, response.status);
  }
  return data;
}

function problem(message, hint, status) {
  const err = new Error(message);
  err.hint = hint || "";
  err.status = status;
  return err;
}

function setStatus(text, kind) {
  const el = $("status");
  el.textContent = text;
  el.className = "status" + (kind ? " " + kind : "");
}

// The banner under the header: an error (what went wrong, what to do, a Reload button) stays until the
// next answer; a notice (a key refused or queued while the bot works) goes after a few seconds.
function showBanner(kind, message, hint) {
  clearTimeout(noticeTimer);
  $("banner-text").replaceChildren(el("strong", {}, message), hint ? el("span", { class: "hint" }, " " + hint) : "");
  $("banner").className = "banner " + kind;
  $("banner-reload").hidden = kind !== "error";
  $("banner").hidden = false;
  if (kind === "notice") noticeTimer = setTimeout(hideBanner, 6000);
}

function hideBanner() {
  clearTimeout(noticeTimer);
  $("banner").hidden = true;
}

function showError(err) {
  setStatus("error", "error");
  showBanner("error", err.message, err.hint);
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v; else if (k.startsWith("data-")) node.setAttribute(k, v); else node[k] = v;
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(c);
  return node;
}

function pct(p) { return (100 * p).toFixed(p >= 0.995 || p < 0.005 ? 0 : 1) + "%"; }

function renderTranscript(target, rows) {
  target.replaceChildren(...rows.map((r) => {
    // "[...]": an action that says nothing (searching, listening): shown, but not as speech
    const silent = r.who === "bot" && r.text.startsWith("[");
    const node = el("div", { class: "msg " + r.who + (silent ? " silent" : "") }, r.text);
    if (r.nlu !== undefined) {
      const low = r.confidence !== undefined && r.confidence < 0.5;
      const conf = r.confidence !== undefined ? ` @ ${r.confidence.toFixed(2)}` : "";
      node.append(el("span", { class: "nlu" + (low ? " low" : "") }, `NLU heard: ${r.nlu}${conf}`));
    }
    return node;
  }));
  target.scrollTop = target.scrollHeight;
}

function actionText(a) { return a.text || `[${a.name}]`; }

function render(s, keepBanner) {
  state = s;
  window.dgState = s;
  if (s.status === "error") {
    showError(problem("the session stopped: " + s.error, s.hint));
    return;
  }
  if (s.status !== "waiting") { setStatus(s.status + "…", "busy"); return; }
  if (!keepBanner && !$("banner").classList.contains("notice")) hideBanner();
  setStatus(`session ${s.id} · ${s.totals.steps} confirmed step(s)`);
  $("dialogue-no").textContent = `${s.dialogue + 1} · step ${s.step + 1}`;
  renderTranscript($("previous"), s.previous || []);
  renderTranscript($("transcript"), s.transcript);
  const byIndex = Object.fromEntries(s.actions.map((a) => [a.index, a]));
  const p = byIndex[s.proposal];
  $("proposal").replaceChildren(el("strong", {}, p.name), " ", el("span", { class: "p" }, pct(p.probability)),
    el("span", { class: "text" }, actionText(p)));
  $("candidates").replaceChildren(...s.candidates.map((c, i) => {
    const li = el("li", { class: c.index === s.proposal ? "top" : "", "data-index": c.index,
                          title: actionText(byIndex[c.index]) },
      el("kbd", {}, String(i + 1)),
      el("div", {}, c.name, el("div", { class: "bar", style: "" })),
      el("span", { class: "p" }, pct(c.probability)));
    li.querySelector(".bar").style.width = Math.max(1, 100 * c.probability) + "%";
    li.addEventListener("click", () => choose(c.index));
    return li;
  }));
  $("actions").replaceChildren(...s.actions.filter((a) => a.allowed).map((a) => {
    const b = el("button", { type: "button", class: a.index === s.proposal ? "proposed" : "", "data-action": a.index },
      el("span", { class: "name" }, a.name), el("span", { class: "text" }, actionText(a)));
    b.addEventListener("click", () => choose(a.index));
    return b;
  }));
  const t = s.tracker;
  const entities = t.entities.length ? t.entities.map((e) => `${e.entity}=${e.value}`).join(", ") : "none";
  $("intent").replaceChildren(el("div", {}, "latest intent: ", el("strong", {}, t.intent || "—"),
    ` (confidence ${t.confidence.toFixed(2)})`), el("div", {}, "entities: " + entities));
  $("slots").tBodies[0].replaceChildren(...Object.entries(t.slots).map(([k, v]) =>
    el("tr", {}, el("td", {}, k), el("td", {}, v === null ? "—" : Array.isArray(v) ? `${v.length} item(s)` : String(v)))));
  renderChart(s);
  const tot = s.totals;
  $("totals").textContent = `${tot.dialogues} dialogue(s), ${tot.successes} successful; ${tot.corrections} ` +
    `correction(s) in ${tot.steps} step(s); ${tot.retrains} retraining(s)`;
  renderMessages(s);
}

function renderChart(s) {
  const svg = $("chart");
  const NS = "http://www.w3.org/2000/svg";
  const W = 360, H = 190, L = 30, R = 30, T = 12, B = 24;
  const corr = s.chart.corrections, evals = s.evals || [];
  const n = Math.max(corr.length, ...evals.map((e) => e.dialogues), 5);
  const maxC = Math.max(4, ...corr);
  const x = (k) => L + (W - L - R) * (k / n);
  const yC = (c) => H - B - (H - T - B) * (c / maxC);
  const yS = (p) => H - B - (H - T - B) * p;
  const parts = [];
  const add = (tag, attrs, text) => {
    const node = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    parts.push(node);
  };
  add("line", { x1: L, y1: H - B, x2: W - R, y2: H - B, stroke: "#9ca3af" });
  add("line", { x1: L, y1: yS(0.95), x2: W - R, y2: yS(0.95), stroke: "#15803d", "stroke-dasharray": "3 3" });
  add("text", { x: W - R + 2, y: yS(0.95) + 3 }, "95%");
  add("text", { x: W - R + 2, y: yS(0) + 3 }, "0%");
  add("text", { x: W - R + 2, y: yS(1) + 3 }, "100%");
  add("text", { x: 2, y: yC(maxC) + 3 }, String(maxC));
  add("text", { x: 2, y: yC(0) + 3 }, "0");
  add("text", { x: W - R - 48, y: H - 2 }, "dialogues →");
  const every = Math.ceil(n / 10);
  for (let k = every; k <= n; k += every) add("text", { x: x(k) - 3, y: H - B + 11 }, String(k));
  const bw = Math.max(2, (W - L - R) / n * 0.6);
  corr.forEach((c, i) => {
    add("rect", { x: x(i + 1) - bw / 2, y: yC(c), width: bw, height: Math.max(0, H - B - yC(c)),
                  fill: s.chart.success[i] ? "#fca5a5" : "#f87171", "data-dialogue": i + 1 });
  });
  if (evals.length) {
    add("polyline", { points: evals.map((e) => `${x(e.dialogues)},${yS(e.success_rate)}`).join(" "), fill: "none",
                      stroke: "#2563eb", "stroke-width": 2 });
    evals.forEach((e) => add("circle", { cx: x(e.dialogues), cy: yS(e.success_rate), r: 3, fill: "#2563eb" }));
  }
  add("text", { x: L + 4, y: T + 2 }, "bars: corrections per dialogue · line: bot alone, success");
  svg.replaceChildren(...parts);
}

const LABELS = { accept: "Accept", correct: "The chosen action", undo: "Undo", reset: "New customer" };

// A decision while the page waits for an answer (the bot executes and retrains) or for the session to
// start: an undo or a reset is queued (it does not depend on the step on screen); an accept or an action
// is refused, visibly, because it would answer a step the person has not seen yet.
function notNow(body) {
  if (state && state.status === "error") { render(state); return; }  // the stopped session's banner again
  const why = busy ? "the bot is still working on your last answer (retraining)" : "the session is not ready yet";
  if (body.command === "undo" || body.command === "reset") {
    queued.push(body);
    const waiting = queued.length > 1 ? ` (${queued.length} commands waiting)` : "";
    showBanner("notice", `${LABELS[body.command]} queued${waiting}:`, `${why}; it runs as soon as the bot is done.`);
  } else {
    showBanner("notice", `${LABELS[body.command]} not sent:`, `${why}. Press it again once the next step shows.`);
  }
}

function setButtons(disabled) {  // the page's buttons; the banner's stay usable
  document.querySelectorAll("main button, header button").forEach((b) => { b.disabled = disabled; });
}

async function send(body) {
  if (busy || !state || state.status !== "waiting") { notNow(body); return; }
  busy = true;
  const started = performance.now();
  setButtons(true);
  let failed = false;
  try {
    render(await api("POST", `/api/sessions/${sessionId}/decide`, { ...body, turn: state.turn }));
    const ms = performance.now() - started;
    window.dgLatencies.push(ms);
    $("latency").textContent = ` · last answer in ${ms.toFixed(0)} ms`;
  } catch (err) {
    failed = true;
    if (queued.length) err.hint = `${err.hint || ""} (${queued.length} queued command(s) not sent.)`.trim();
    queued.length = 0;  // they were meant for the step that failed
    showError(err);
    if (err.status && err.status !== 401 && err.status !== 403) await refresh(true);
  } finally {
    busy = false;
    setButtons(false);
  }
  if (!failed && queued.length) {
    const next = queued.shift();
    showBanner("notice", `${LABELS[next.command]}:`, "sent now.");
    await send(next);
  }
}

function choose(index) {
  if (!state) return;
  send(index === state.proposal ? { command: "accept" } : { command: "correct", action: index });
}

async function exportAs(format) {
  try {
    const r = await api("POST", `/api/sessions/${sessionId}/export`, { format });
    const where = r.url ? el("a", { href: "#", textContent: r.file }) : el("span", {}, `${r.dataset} in ${r.path}`);
    if (r.url) where.addEventListener("click", (e) => { e.preventDefault(); download(r.url, r.file); });
    $("exported").replaceChildren("exported: ", where);
    await refresh();
  } catch (err) {
    $("exported").replaceChildren();
    showError(err);
  }
}

async function download(url, name) {  // the token goes in a header, so fetch and hand over a blob
  const response = await fetch(url, { headers: { [TOKEN_HEADER]: token } });
  const link = el("a", { href: URL.createObjectURL(await response.blob()), download: name });
  link.click();
}

// The same step: only the chart and the messages change (no button is replaced). After an error
// (keepBanner) the step is shown again but the banner stays.
async function refresh(keepBanner) {
  try {
    const s = await api("GET", `/api/sessions/${sessionId}`);
    if (state && !busy && s.turn === state.turn && s.status === state.status && s.status === "waiting") {
      state.evals = s.evals;
      state.messages = s.messages;
      renderChart(state);
      renderMessages(state);
    } else if (!busy) render(s, keepBanner);
  } catch (err) { showError(err); }
}

function renderMessages(s) {
  $("messages").replaceChildren(...s.messages.slice(-8).reverse().map((m) => el("li", {}, m)));
}

async function listSessions() {
  const { sessions, latest } = await api("GET", "/api/sessions");
  $("sessions").replaceChildren(...sessions.map((s) =>
    el("option", { value: s.id, selected: s.id === sessionId }, `${s.id} (${s.env}, ${s.dialogues} done)`)));
  return latest;
}

function openSession(id) {
  sessionId = id;
  history.replaceState(null, "", `?session=${encodeURIComponent(id)}${location.hash}`);
}

// The page's address names its session (?session=ID); the bare address opens the latest session, or a
// new one when there is none (the New session button always makes a new one).
async function start(fresh) {
  setStatus("starting…", "busy");
  try {
    if (!sessionId) openSession((!fresh && await listSessions()) || (await api("POST", "/api/sessions", {})).id);
    render(await api("GET", `/api/sessions/${sessionId}?wait=1`));
    await listSessions();
  } catch (err) { showError(err); }
}

document.addEventListener("keydown", (e) => {
  if (e.ctrlKey || e.metaKey || e.altKey || e.repeat) return;
  if (e.target instanceof HTMLSelectElement || e.target instanceof HTMLInputElement) return;
  const key = e.key;
  if (key === "Enter" || key === "a") { e.preventDefault(); send({ command: "accept" }); }
  else if (key === "u") { e.preventDefault(); send({ command: "undo" }); }
  else if (key === "r") { e.preventDefault(); send({ command: "reset" }); }
  else if (/^[1-9]$/.test(key) && state && state.candidates) {
    const c = state.candidates[Number(key) - 1];
    if (c) { e.preventDefault(); choose(c.index); }
  }
});
$("accept").addEventListener("click", () => send({ command: "accept" }));
$("undo").addEventListener("click", () => send({ command: "undo" }));
$("reset").addEventListener("click", () => send({ command: "reset" }));
$("export-stories").addEventListener("click", () => exportAs("stories"));
$("export-minari").addEventListener("click", () => exportAs("minari"));
$("new-session").addEventListener("click", async () => {
  sessionId = null;
  history.replaceState(null, "", location.pathname + location.hash);
  await start(true);
});
$("banner-reload").addEventListener("click", () => location.reload());
$("banner-close").addEventListener("click", hideBanner);
$("sessions").addEventListener("change", async (e) => { openSession(e.target.value); await start(); });
setInterval(() => { if (!busy && sessionId && state) refresh(); }, 4000);  // new evaluation points
start();
