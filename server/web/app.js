// av1job's page: the queue, a job's chunks, the workers. Plain JavaScript,
// no build step. Everything the server sends is put into the page as text
// (textContent, attributes), never as HTML.
"use strict";

const $ = (id) => document.getElementById(id);

// el makes an element: el("span", {class: "x", title: "y"}, "text", child...).
function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : String(v));
  }
  for (const k of kids) {
    if (k === null || k === undefined) continue;
    e.append(k instanceof Node ? k : document.createTextNode(String(k)));
  }
  return e;
}

const svgNS = "http://www.w3.org/2000/svg";
function svg(tag, attrs, text) {
  const e = document.createElementNS(svgNS, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = String(text);
  return e;
}

function base(p) { return (p || "").split("/").pop(); }
function dirname(p) { const i = p.lastIndexOf("/"); return i <= 0 ? "/" : p.slice(0, i); }

function bytes(n) {
  if (!n) return "0 B";
  const u = ["B", "kB", "MB", "GB", "TB"];
  let i = 0;
  while (n >= 1000 && i < u.length - 1) { n /= 1000; i++; }
  return (i ? n.toFixed(n < 10 ? 2 : 1) : n) + " " + u[i];
}

function duration(s) {
  if (!s || s <= 0 || !isFinite(s)) return "—";
  s = Math.round(s);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  return h ? `${h} h ${m} min` : m ? `${m} min ${r} s` : `${r} s`;
}

// api calls the server's API; a change is a JSON POST (or DELETE).
async function api(method, path, body) {
  const opts = { method, headers: {} };
  if (method !== "GET") {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body === undefined ? {} : body);
  }
  const r = await fetch(path, opts);
  if (r.status === 401) { location.href = "/login"; throw new Error("log in first"); }
  let v = null;
  try { v = await r.json(); } catch (e) { /* no body */ }
  if (!r.ok) {
    const err = new Error((v && v.error) || `${method} ${path}: ${r.status}`);
    err.field = v && v.field;
    throw err;
  }
  return v;
}

function notice(msg) {
  const n = $("notice");
  n.textContent = msg || "";
  n.hidden = !msg;
}

async function act(method, path, body) {
  try {
    notice("");
    return await api(method, path, body);
  } catch (e) {
    notice(e.message);
    return null;
  }
}

// ---- Live updates: server-sent events, reconnecting by themselves. ----

let stream = null;
function listen(url, handlers) {
  if (stream) stream.close();
  let closed = false;
  let es;
  const open = () => {
    es = new EventSource(url);
    es.onopen = () => setConn("live");
    es.onerror = () => {
      setConn("down");
      if (es.readyState === EventSource.CLOSED && !closed) {
        // The server answered with an error (it was restarting, or the
        // session ended): ask again shortly.
        fetch("/api/workers").then((r) => { if (r.status === 401) location.href = "/login"; }).catch(() => {});
        setTimeout(() => { if (!closed) open(); }, 2000);
      }
    };
    for (const [name, fn] of Object.entries(handlers)) {
      es.addEventListener(name, (ev) => fn(JSON.parse(ev.data)));
    }
  };
  open();
  stream = { close() { closed = true; es.close(); } };
}

function setConn(state) {
  const c = $("conn");
  c.className = "conn " + state;
  c.textContent = state === "live" ? "live" : "reconnecting…";
}

// ---- The queue ----

const cards = new Map(); // job ID -> {li, parts}

function canPause(j) { return ["queued", "running"].includes(j.state) && !j.paused; }
function canResume(j) { return j.paused || ["stopped", "failed"].includes(j.state); }
function canStop(j) { return ["queued", "running", "paused"].includes(j.state); }
function canRemove(j) { return !["running", "paused", "stopping"].includes(j.state); }

function stateLabel(j) {
  if (j.state === "queued" && j.paused) return "held";
  return j.state;
}

// summaryParts are what a finished job made, as `encode` ends with:
// ratio to the source, video bit rate, wall time, fps; and a warning when
// the output is larger than its source.
function summaryParts(s) {
  if (!s) return [];
  const parts = [];
  if (s.source_bytes) parts.push(`${((100 * s.output_bytes) / s.source_bytes).toFixed(0)} % of the source's ${bytes(s.source_bytes)}`);
  if (s.seconds) parts.push(`video ${((s.video_bytes * 8) / s.seconds / 1000).toFixed(0)} kbit/s`);
  parts.push(`took ${duration(s.wall_ns / 1e9)}`);
  if (s.fps) parts.push(`${s.fps.toFixed(1)} fps`);
  if (s.source_bytes && s.output_bytes > s.source_bytes) parts.push("larger than the source: raise the quantizer or use a target quality");
  return parts;
}

function settingsText(j) {
  const s = [j.encoder || "rav1e", `speed ${j.speed}`];
  if (j.target_quality) s.push(`${j.metric || "ssimulacra2"} ${j.target_quality} per chunk`);
  else s.push(j.bitrate ? `${j.bitrate} kbit/s` : `quantizer ${j.quantizer}`);
  if (j.audio) s.push(`audio ${j.audio}`);
  if (j.workers) s.push(`${j.workers} at once`);
  if (j.extra && j.extra.length) s.push(j.extra.join(" "));
  return s.join(" · ");
}

function jobCard(j) {
  const parts = {};
  const b = (name, label, fn, cls) => {
    parts[name] = el("button", { type: "button", class: cls, "data-op": name, "aria-label": `${label} job ${j.id}`, onclick: fn }, label);
    return parts[name];
  };
  parts.link = el("a", { class: "name", href: `#/job/${encodeURIComponent(j.id)}` });
  parts.badge = el("span", { class: "badge" });
  parts.id = el("span", { class: "muted" });
  parts.files = el("div", { class: "paths" });
  parts.barFill = el("span");
  parts.bar = el("div", { class: "bar", role: "progressbar", "aria-valuemin": 0, "aria-valuemax": 100 }, parts.barFill);
  parts.nums = el("div", { class: "nums" });
  parts.settings = el("div", { class: "settings" });
  parts.error = el("div", { class: "error" });
  const id = j.id;
  const li = el("li", { class: "job", "data-id": id },
    el("div", { class: "head" }, parts.link, parts.badge, parts.id),
    parts.files, parts.bar, parts.nums, parts.settings, parts.error,
    el("div", { class: "buttons" },
      b("pause", "Pause", () => act("POST", `/api/jobs/${id}/pause`)),
      b("resume", "Resume", () => act("POST", `/api/jobs/${id}/resume`)),
      b("stop", "Stop", () => act("POST", `/api/jobs/${id}/stop`)),
      b("up", "Move up", () => act("POST", `/api/jobs/${id}/move`, { by: -1 })),
      b("down", "Move down", () => act("POST", `/api/jobs/${id}/move`, { by: 1 })),
      b("remove", "Remove", () => {
        if (confirm(`Remove job ${id} from the queue? Its output, if any, stays; its unfinished work is deleted.`)) act("DELETE", `/api/jobs/${id}`);
      }, "danger")));
  return { li, parts };
}

function fillCard(c, j, i, n) {
  const p = c.parts;
  c.li.className = "job st-" + (j.state === "queued" && j.paused ? "paused" : j.state);
  p.link.textContent = base(j.output);
  p.badge.className = "badge " + j.state;
  p.badge.textContent = stateLabel(j);
  p.id.textContent = `job ${j.id}`;
  p.files.textContent = `${j.input} → ${j.output}`;
  const pct = j.frames_total ? Math.min(100, (100 * j.frames_done) / j.frames_total) : 0;
  p.barFill.style.width = pct.toFixed(1) + "%";
  p.bar.setAttribute("aria-valuenow", pct.toFixed(0));
  p.bar.setAttribute("aria-label", `job ${j.id}: ${pct.toFixed(0)} percent`);
  const nums = [
    `frames ${j.frames_done} / ${j.frames_total || "?"} (${pct.toFixed(1)} %)`,
    `chunks ${j.chunks_done} / ${j.chunks_total || "?"}`,
    j.state === "running" ? `${j.fps ? j.fps.toFixed(1) : "—"} fps` : null,
    j.state === "running" ? `ETA ${duration(j.eta_seconds)}` : null,
    `size ${bytes(j.size_bytes ?? j.bytes)}`,
    j.estimated_bytes && !j.summary ? `about ${bytes(j.estimated_bytes)} in all` : null,
    ...summaryParts(j.summary),
  ].filter(Boolean);
  p.nums.replaceChildren(...nums.map((t) => el("span", {}, t)));
  p.nums.setAttribute("data-frames", j.frames_done);
  p.settings.textContent = settingsText(j);
  p.error.textContent = j.error || "";
  p.pause.disabled = !canPause(j);
  p.resume.disabled = !canResume(j);
  p.stop.disabled = !canStop(j);
  p.remove.disabled = !canRemove(j);
  p.up.disabled = i === 0;
  p.down.disabled = i === n - 1;
}

function showJobs(jobs) {
  const list = $("jobs");
  const seen = new Set();
  jobs.forEach((j, i) => {
    seen.add(j.id);
    let c = cards.get(j.id);
    if (!c) { c = jobCard(j); cards.set(j.id, c); }
    fillCard(c, j, i, jobs.length);
    // Keeps elements (and the focus on a button) when the order holds.
    if (list.children[i] !== c.li) list.insertBefore(c.li, list.children[i] || null);
  });
  for (const [id, c] of cards) {
    if (!seen.has(id)) { c.li.remove(); cards.delete(id); }
  }
  $("queue-empty").hidden = jobs.length > 0;
}

function showWorkers(ws) {
  const body = $("workers").tBodies[0];
  body.replaceChildren(...ws.map((w) => el("tr", { "data-name": w.name },
    el("td", {}, w.name), el("td", {}, w.host), el("td", {}, `${w.cores} (${w.slots} at once)`),
    el("td", {}, (w.encoders || []).map((e) => `${e.name} ${e.version}`).join(", ")),
    el("td", {}, (w.tasks || []).map((t) => `${t.job_id ? "job " + t.job_id : "another server's job"} chunk ${t.chunk} (${t.frames} frames${t.paused ? ", paused" : ""})`).join("; ") || "—"),
    el("td", {}, w.fps ? w.fps.toFixed(1) : "—"),
    el("td", {}, el("span", { class: "badge " + ({ working: "running", idle: "queued", paused: "paused", draining: "stopping", lost: "failed", gone: "stopped" }[w.state] || "") }, w.state)))));
  if (!ws.length) body.append(el("tr", {}, el("td", { colspan: 7, class: "muted" }, "No worker has announced itself yet.")));
}

// ---- Add a job ----

let media = { roots: [] };
let browse = { root: 0, path: "" };
let chosen = null;
let defaults = null;

const fields = ["output", "encoder", "speed", "quantizer", "target_quality", "audio", "workers", "min_scene_len", "max_scene_len", "extra"];

function clearErrors() {
  for (const f of ["input", ...fields]) {
    const e = $("err-" + f);
    if (e) e.textContent = "";
    const i = $("f-" + f);
    if (i) i.removeAttribute("aria-invalid");
  }
  $("submit-msg").textContent = "";
  $("submit-msg").className = "field-error";
}

function fieldError(field, msg) {
  const e = field && $("err-" + field);
  if (!e) { $("submit-msg").textContent = msg; return; }
  e.textContent = msg;
  const i = $("f-" + field);
  if (i) { i.setAttribute("aria-invalid", "true"); i.focus(); }
}

async function loadDefaults() {
  defaults = await act("GET", "/api/defaults");
  if (!defaults) return;
  for (const f of ["speed", "quantizer", "workers", "min_scene_len", "max_scene_len"]) {
    $("f-" + f).value = defaults[f] ?? 0;
  }
  const sel = $("f-encoder");
  const encs = defaults.encoders || [];
  sel.replaceChildren(...encs.map((e) => el("option", { value: e.name }, e.name)));
  sel.value = defaults.encoder || "rav1e";
  sel.onchange = () => encoderChosen(true);
  encoderChosen(false);
}

// encoderChosen labels speed and quantizer with the chosen encoder's own
// scales and, when asked, puts its defaults in them.
function encoderChosen(fill) {
  const e = ((defaults && defaults.encoders) || []).find((x) => x.name === $("f-encoder").value);
  if (!e) return;
  $("l-speed").textContent = `Speed: ${e.speed.name} (${e.speed.min}–${e.speed.max})`;
  $("l-quantizer").textContent = `Quantizer: ${e.quantizer.name} (${e.quantizer.min}–${e.quantizer.max})`;
  if (fill) {
    $("f-speed").value = e.speed.default;
    $("f-quantizer").value = e.quantizer.default;
  }
}

async function loadMedia() {
  media = (await act("GET", "/api/media")) || { roots: [] };
  const sel = $("root");
  sel.replaceChildren(...media.roots.map((r, i) => el("option", { value: i }, r.name)));
  $("no-media").hidden = media.roots.length > 0;
  if (media.roots.length) listFolder(0, "");
}

async function listFolder(root, path) {
  let l;
  try {
    l = await api("GET", `/api/media/list?root=${root}&path=${encodeURIComponent(path)}`);
  } catch (e) {
    $("err-input").textContent = e.message;
    return;
  }
  browse = { root, path: l.path };
  $("err-input").textContent = "";
  const crumbs = $("crumbs");
  const parts = l.path ? l.path.split("/") : [];
  const items = [el("button", { type: "button", onclick: () => listFolder(root, "") }, media.roots[root].name)];
  parts.forEach((p, i) => {
    items.push(el("span", { "aria-hidden": "true" }, "/"));
    items.push(el("button", { type: "button", onclick: () => listFolder(root, parts.slice(0, i + 1).join("/")) }, p));
  });
  crumbs.replaceChildren(...items);
  const files = $("files");
  files.replaceChildren(...l.entries.map((f) => el("li", {},
    el("button", {
      type: "button", "data-path": f.path, "aria-pressed": chosen === f.path ? "true" : "false",
      onclick: () => f.dir ? listFolder(root, (l.path ? l.path + "/" : "") + f.name) : choose(f),
    }, el("span", { class: "fname" }, f.dir ? f.name + "/" : f.name), f.dir ? null : el("span", { class: "size" }, bytes(f.size))))));
  if (!l.entries.length) files.append(el("li", { class: "muted" }, "Empty folder."));
}

function choose(f) {
  chosen = f.path;
  $("chosen").textContent = f.name;
  for (const b of $("files").querySelectorAll("button")) b.setAttribute("aria-pressed", b.getAttribute("data-path") === f.path ? "true" : "false");
  const out = $("f-output");
  if (!out.value || out.dataset.auto === "1") {
    out.value = f.name.replace(/\.[^.]*$/, "") + ".av1.mkv";
    out.dataset.auto = "1";
  }
}

async function submitJob(ev) {
  ev.preventDefault();
  clearErrors();
  if (!chosen) { fieldError("input", "Choose a source file first."); return; }
  const name = $("f-output").value.trim();
  if (!name || name.includes("/") || name === "." || name === "..") { fieldError("output", "A file name, without a folder: the output goes beside its source."); return; }
  const body = { input: chosen, output: dirname(chosen) + "/" + name, encoder: $("f-encoder").value };
  for (const f of ["speed", "quantizer", "workers", "min_scene_len"]) {
    const v = $("f-" + f).value.trim();
    if (v === "" || !/^-?\d+$/.test(v)) { fieldError(f, "A whole number, please."); return; }
    body[f] = parseInt(v, 10);
  }
  const m = $("f-max_scene_len").value.trim();
  if (m === "" || isNaN(Number(m))) { fieldError("max_scene_len", "A number of seconds, please."); return; }
  body.max_scene_len = Number(m);
  const tq = $("f-target_quality").value.trim();
  if (tq !== "") {
    if (isNaN(Number(tq)) || Number(tq) <= 0) { fieldError("target_quality", "A score above 0, or nothing for a fixed quantizer."); return; }
    body.target_quality = Number(tq);
  }
  const audio = $("f-audio").value;
  if (audio) body.audio = audio;
  const extra = $("f-extra").value.trim();
  if (extra) body.extra = extra.split(/\s+/);
  $("submit-btn").disabled = true;
  $("submit-msg").className = "ok";
  $("submit-msg").textContent = "checking the job…";
  try {
    const j = await api("POST", "/api/jobs", body);
    $("submit-msg").className = "ok";
    $("submit-msg").textContent = `Queued as job ${j.id}.`;
    $("f-output").value = "";
  } catch (e) {
    $("submit-msg").className = "field-error";
    $("submit-msg").textContent = "";
    fieldError(e.field, e.message);
  } finally {
    $("submit-btn").disabled = false;
  }
}

// ---- A job's page ----

const chunkStates = [
  ["queued", "queued"], ["encoding", "encoding (frames so far)"], ["done", "done"],
  ["split", "split (the rest is another chunk)"], ["salvaged", "salvaged after a crash"], ["failed", "failed, to be tried again"],
];

function legend() {
  $("legend").replaceChildren(...chunkStates.map(([s, label]) => el("li", {}, el("span", { class: "cell c-" + s, "aria-hidden": "true" }), label)));
}

let jobPage = { id: null, chunks: new Map(), order: "", selected: null, detail: null };

function chunkText(c, d) {
  const frames = c.end - c.start;
  const rate = d.job.frame_rate || 0;
  const kbps = rate && c.frames ? (c.bytes * 8 * rate) / c.frames / 1000 : 0;
  const parts = [`Chunk ${c.id}: frames ${c.start}–${c.end} (${frames})`, c.state];
  if (c.state === "encoding") parts.push(`${c.frames} of ${frames} frames so far`);
  if (c.bytes) parts.push(bytes(c.bytes));
  if (kbps) parts.push(`${kbps.toFixed(0)} kbit/s`);
  if (c.seconds) parts.push(`${c.seconds.toFixed(1)} s of encoding`);
  if (c.probes) parts.push(`${c.probes} probe${c.probes === 1 ? "" : "s"}`);
  if (c.q) parts.push(`quantizer ${c.q}`);
  if (typeof c.score === "number") parts.push(`score ${c.score.toFixed(1)}`);
  parts.push(c.worker ? `by ${c.worker}` : "worker not known");
  if (c.error) parts.push(`last error: ${c.error}`);
  return parts.join(" · ");
}

function showChunks(d) {
  const map = $("chunkmap");
  const total = d.chunks.reduce((a, c) => a + (c.end - c.start), 0) || 1;
  // Rows of about 40 chunks: a long job's map wraps instead of shrinking.
  const rows = Math.max(1, Math.ceil(d.chunks.length / 40));
  const width = Math.max(200, map.clientWidth - 8) * rows;
  const order = d.chunks.map((c) => c.id).join(",");
  if (order !== jobPage.order) {
    jobPage.order = order;
    jobPage.chunks = new Map();
    map.replaceChildren(...d.chunks.map((c) => {
      const b = el("button", { type: "button", class: "cell", role: "listitem", "data-id": c.id, tabindex: -1,
        onclick: () => select(c.id), onmouseenter: () => hover(c.id), onfocus: () => hover(c.id), onkeydown: (ev) => step(ev, c.id) });
      jobPage.chunks.set(c.id, b);
      return b;
    }));
  }
  for (const c of d.chunks) {
    const b = jobPage.chunks.get(c.id);
    const w = Math.max(6, Math.floor(((c.end - c.start) / total) * width) - 2);
    b.style.width = w + "px";
    b.className = "cell c-" + c.state;
    b.setAttribute("data-state", c.state);
    const t = chunkText(c, d);
    b.title = t;
    b.setAttribute("aria-label", t);
    b.textContent = c.state === "encoding" && w >= 28 ? String(c.frames) : "";
    b.setAttribute("aria-pressed", jobPage.selected === c.id ? "true" : "false");
  }
  // One tab stop for the whole map; the arrow keys move along it.
  const focused = map.contains(document.activeElement) ? document.activeElement : null;
  const cur = focused || jobPage.chunks.get(jobPage.selected) || map.querySelector('[tabindex="0"]') || map.firstElementChild;
  for (const b of jobPage.chunks.values()) b.tabIndex = b === cur ? 0 : -1;
  if (jobPage.selected !== null) hover(jobPage.selected);
}

function step(ev, id) {
  const keys = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1, Home: -Infinity, End: Infinity };
  if (!(ev.key in keys)) return;
  ev.preventDefault();
  const cells = [...jobPage.chunks.values()];
  const i = cells.findIndex((b) => b.dataset.id === String(id));
  const j = Math.max(0, Math.min(cells.length - 1, i + (isFinite(keys[ev.key]) ? keys[ev.key] : keys[ev.key] > 0 ? cells.length : -cells.length)));
  cells[i].tabIndex = -1;
  cells[j].tabIndex = 0;
  cells[j].focus();
}

function hover(id) {
  const d = jobPage.detail;
  const c = d && d.chunks.find((x) => x.id === id);
  if (c) $("chunk-info").textContent = chunkText(c, d);
}

function select(id) {
  jobPage.selected = jobPage.selected === id ? null : id;
  for (const [cid, b] of jobPage.chunks) b.setAttribute("aria-pressed", cid === jobPage.selected ? "true" : "false");
  hover(id);
}

// chart draws points [{x, y}] in an SVG: a line, or bars [{x0, x1, y}].
function chart(node, opts) {
  const W = Math.max(300, node.clientWidth || 500), H = 180, L = 46, R = 10, T = 10, B = 26;
  node.setAttribute("viewBox", `0 0 ${W} ${H}`);
  const kids = [];
  const { xmin, xmax, ymax } = opts;
  const sx = (x) => L + ((x - xmin) / ((xmax - xmin) || 1)) * (W - L - R);
  const sy = (y) => H - B - (y / (ymax || 1)) * (H - T - B);
  for (let k = 0; k <= 4; k++) {
    const y = (ymax * k) / 4;
    kids.push(svg("line", { class: "grid", x1: L, x2: W - R, y1: sy(y), y2: sy(y) }));
    kids.push(svg("text", { x: L - 4, y: sy(y) + 4, "text-anchor": "end" }, y >= 100 ? y.toFixed(0) : y.toFixed(1)));
  }
  kids.push(svg("line", { class: "axis", x1: L, x2: W - R, y1: H - B, y2: H - B }));
  kids.push(svg("text", { x: L, y: H - 8 }, opts.xlabel[0]));
  kids.push(svg("text", { x: W - R, y: H - 8, "text-anchor": "end" }, opts.xlabel[1]));
  if (opts.line && opts.line.length) {
    kids.push(svg("polyline", { class: "line", points: opts.line.map((p) => `${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join(" ") }));
  }
  for (const b of opts.bars || []) {
    const x0 = sx(b.x0), x1 = sx(b.x1);
    kids.push(svg("rect", { class: "barr", x: x0, y: sy(b.y), width: Math.max(1, x1 - x0), height: Math.max(0, H - B - sy(b.y)) }, undefined));
    kids.push(svg("line", { class: "cut", x1: x0, x2: x0, y1: T, y2: H - B }));
  }
  if (opts.empty) kids.push(svg("text", { x: W / 2, y: H / 2, "text-anchor": "middle" }, opts.empty));
  node.replaceChildren(...kids);
}

function clock(t) { return new Date(t * 1000).toLocaleTimeString(); }

function showDetail(d) {
  jobPage.detail = d;
  const j = d.job;
  $("job-title").textContent = `Job ${j.id}: ${base(j.output)}`;
  let c = cards.get("page:" + j.id);
  if (!c) {
    c = jobCard(j);
    cards.set("page:" + j.id, c);
    $("job-card").replaceChildren(c.li);
  }
  fillCard(c, j, -1, 0);
  c.parts.up.hidden = c.parts.down.hidden = true;
  showChunks(d);
  const pts = d.fps.map((p) => ({ x: p.t, y: p.fps }));
  chart($("fps-chart"), {
    line: pts, xmin: pts.length ? pts[0].x : 0, xmax: pts.length ? pts[pts.length - 1].x : 1,
    ymax: Math.max(1, ...pts.map((p) => p.y)) * 1.1,
    xlabel: pts.length ? [clock(pts[0].x), clock(pts[pts.length - 1].x)] : ["", ""],
    empty: pts.length < 2 ? "measured while the job runs" : undefined,
  });
  const rate = j.frame_rate || 0;
  const bars = d.chunks.filter((c) => c.frames > 0 && c.bytes > 0 && rate)
    .map((c) => ({ x0: c.start, x1: c.start + c.frames, y: (c.bytes * 8 * rate) / c.frames / 1000 }));
  const total = j.frames_total || (d.chunks.length ? d.chunks[d.chunks.length - 1].end : 1);
  chart($("rate-chart"), {
    bars, xmin: 0, xmax: total, ymax: Math.max(1, ...bars.map((b) => b.y)) * 1.1,
    xlabel: ["frame 0", `frame ${total}`], empty: bars.length ? undefined : "no chunk written yet",
  });
  const log = $("log");
  const atEnd = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
  log.textContent = d.log.map((l) => `${new Date(l.time).toLocaleTimeString()} ${l.level.padEnd(5)} ${l.msg}`).join("\n") || "(nothing yet)";
  if (atEnd) log.scrollTop = log.scrollHeight;
}

// ---- Views ----

function route() {
  const m = location.hash.match(/^#\/job\/(.+)$/);
  for (const k of [...cards.keys()]) if (k.startsWith("page:")) cards.delete(k);
  let id = null;
  try { id = m && decodeURIComponent(m[1]); } catch (e) { id = null; }
  if (id !== null) {
    $("queue-view").hidden = true;
    $("job-view").hidden = false;
    $("job-card").replaceChildren();
    jobPage = { id, chunks: new Map(), order: "", selected: null, detail: null };
    $("chunk-info").textContent = "Point at or tap a chunk to see it.";
    listen(`/api/events?job=${encodeURIComponent(id)}`, {
      job: showDetail,
      gone: () => {
        notice(`Job ${id} is no longer in the queue.`);
        for (const b of $("job-card").querySelectorAll("button")) b.disabled = true;
      },
    });
  } else {
    $("job-card").replaceChildren();
    $("job-view").hidden = true;
    $("queue-view").hidden = false;
    listen("/api/events", { jobs: showJobs, workers: showWorkers });
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("pause-all").addEventListener("click", () => act("POST", "/api/pause"));
  $("resume-all").addEventListener("click", () => act("POST", "/api/resume"));
  $("submit-form").addEventListener("submit", submitJob);
  $("root").addEventListener("change", (e) => listFolder(parseInt(e.target.value, 10), ""));
  $("f-output").addEventListener("input", (e) => { e.target.dataset.auto = "0"; });
  legend();
  loadDefaults();
  loadMedia();
  window.addEventListener("hashchange", route);
  route();
});
