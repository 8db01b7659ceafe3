// The studio's only script (no framework, no network beyond this server): uploads, the login form, live validation
// of the Train form, the Compare form, a job's progress by server-sent events (the loss, or a compare's learning
// curve as each run lands), cancel/resume, compress, the Try page, corrections on the Monitor page, embedded reports.
"use strict";

async function postJSON(url, data) {
  const r = await fetch(url, {method: "POST", headers: {"content-type": "application/json", "accept": "application/json"},
                              body: JSON.stringify(data || {})});
  let body = null;
  try { body = await r.json(); } catch (e) { body = null; }
  return {ok: r.ok, status: r.status, body};
}

function formValues(form) {
  const out = {};
  for (const el of form.elements) {
    if (!el.name) continue;
    out[el.name] = el.type === "checkbox" ? (el.checked ? "true" : "false") : el.value;
  }
  return out;
}

function showProblems(form, problems) {
  for (const f of form.querySelectorAll(".field")) {
    f.classList.remove("invalid");
    const p = f.querySelector(".problem-text");
    p.hidden = true; p.textContent = "";
  }
  const box = document.getElementById("train-problems");
  const loose = [];
  for (const [key, message] of problems) {
    const f = form.querySelector(`.field[data-key="${CSS.escape(key)}"]`);
    if (f) {
      f.classList.add("invalid");
      const p = f.querySelector(".problem-text");
      p.hidden = false; p.textContent = message;
      const det = f.closest("details"); if (det) det.open = true;
    } else {
      loose.push(`${key}: ${message}`);
    }
  }
  box.hidden = loose.length === 0;
  box.textContent = loose.join("\n");
}

function debounce(fn, ms) {
  let t = null;
  return (...a) => { clearTimeout(t); t = setTimeout(() => fn(...a), ms); };
}

function trainForm(form) {
  const check = debounce(async () => {
    const r = await postJSON("/train/validate", formValues(form));
    if (r.body) showProblems(form, r.body.problems || []);
  }, 250);
  form.addEventListener("input", check);
  const method = form.querySelector("[data-reload=method]");
  if (method) method.addEventListener("change", () => {
    const v = formValues(form);
    const q = new URLSearchParams({data: v["data.train"] || "", method: method.value,
                                   text_column: v["data.text_column"] || "", label_column: v["data.label_column"] || ""});
    location.href = "/train?" + q.toString();
  });
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const r = await postJSON("/train", formValues(form));
    if (r.ok) { location.href = r.body.url; return; }
    showProblems(form, (r.body && r.body.problems) || [["", (r.body && r.body.error && r.body.error.message) || String(r.status)]]);
  });
}

function lossCurve(svg, points) {
  if (!points || points.length < 2) return;
  const xs = points.map(p => p[0]), ys = points.map(p => p[1]);
  const x0 = Math.min(...xs), x1 = Math.max(...xs), y0 = Math.min(...ys), y1 = Math.max(...ys);
  const sx = x => 400 * (x - x0) / Math.max(x1 - x0, 1e-9), sy = y => 115 - 110 * (y - y0) / Math.max(y1 - y0, 1e-9);
  svg.querySelector("polyline").setAttribute("points", points.map(p => `${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`).join(" "));
}

const PALETTE = ["#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#4b5563"];

function learningCurve(svg, points) {
  // x: the budgets in the order asked (categorical), y: the first summary metric, one line per method (mean of seeds)
  const shots = svg.dataset.shots.split(",").map(s => s.trim().toLowerCase()).filter(Boolean)
    .map(s => (["full", "none"].includes(s) ? "all" : s));
  const order = [...new Set(shots)].sort((a, b) => (a === "all") - (b === "all") || Number(a) - Number(b));
  const ok = (points || []).filter(p => p.value !== null && p.value !== undefined);
  svg.dataset.points = String((points || []).length);
  const seen = svg.dataset.seen ? svg.dataset.seen.split(",") : [];
  if (seen[seen.length - 1] !== svg.dataset.points) { seen.push(svg.dataset.points); svg.dataset.seen = seen.join(","); }
  const ns = "http://www.w3.org/2000/svg";
  svg.replaceChildren();
  const x = i => 30 + 350 * (order.length > 1 ? i / (order.length - 1) : 0.5), y = v => 140 - 130 * v;
  for (const [i, s] of order.entries()) {
    const t = document.createElementNS(ns, "text"); t.setAttribute("x", x(i)); t.setAttribute("y", 156);
    t.setAttribute("text-anchor", "middle"); t.setAttribute("font-size", "10"); t.textContent = s; svg.appendChild(t);
  }
  const methods = [...new Set(ok.map(p => p.method))];
  const legend = document.getElementById("curve-legend"); if (legend) legend.replaceChildren();
  methods.forEach((m, mi) => {
    const colour = PALETTE[mi % PALETTE.length];
    const mean = order.map(s => { const v = ok.filter(p => p.method === m && String(p.shots) === s).map(p => p.value);
      return v.length ? v.reduce((a, b) => a + b, 0) / v.length : null; });
    const coords = mean.map((v, i) => (v === null ? null : [x(i), y(v)])).filter(Boolean);
    const line = document.createElementNS(ns, "polyline");
    line.setAttribute("points", coords.map(c => c.join(",")).join(" ")); line.setAttribute("fill", "none");
    line.setAttribute("stroke", colour); line.setAttribute("stroke-width", "2"); svg.appendChild(line);
    mean.forEach((v, i) => { if (v === null) return;
      const c = document.createElementNS(ns, "circle"); c.setAttribute("cx", x(i)); c.setAttribute("cy", y(v)); c.setAttribute("r", 4);
      c.setAttribute("fill", colour); c.setAttribute("class", "point"); c.dataset.method = m; c.dataset.shots = order[i];
      const tt = document.createElementNS(ns, "title"); tt.textContent = `${m} @ ${order[i]}: ${(100 * v).toFixed(1)}`; c.appendChild(tt);
      svg.appendChild(c); });
    if (legend) { const span = document.createElement("span"); span.style.color = colour; span.textContent = ` ■ ${m}`; legend.appendChild(span); }
  });
}

function jobPage(box) {
  const labels = JSON.parse(document.getElementById("state-labels").textContent);
  const bind = (id) => { const b = document.getElementById(id); if (b) b.addEventListener("click", async () => {
    b.disabled = true; await postJSON(b.dataset.url); location.reload(); }); };
  bind("cancel"); bind("resume");
  const render = (s) => {
    const p = s.progress || {}, final = ["done", "failed", "cancelled"].includes(s.state);
    const state = document.getElementById("job-state");
    state.textContent = labels[s.state] || s.state; state.className = "badge " + s.state;
    box.dataset.state = s.state;
    document.getElementById("job-stage").textContent = p.stage && !final ? `${p.stage} ${p.done || 0}/${p.total || "?"}` : "";
    document.getElementById("job-eta").textContent = p.eta_s && !final ? `ETA ${Math.round(p.eta_s)} s` : "";
    const bar = document.getElementById("job-bar"); bar.max = p.total || 1; bar.value = s.state === "done" ? bar.max : (p.done || 0);
    document.getElementById("job-log").textContent = (p.log || []).join("\n");
    const loss = document.getElementById("loss"); if (loss) lossCurve(loss, p.loss);
    const curve = document.getElementById("curve"); if (curve) learningCurve(curve, p.points);
    if (p.metrics && p.metrics.length && document.getElementById("job-metric")) document.getElementById("job-metric").textContent = JSON.stringify(p.metrics[p.metrics.length - 1][1]);
    return final;
  };
  render(JSON.parse(document.getElementById("job-initial").textContent));
  if (box.dataset.final === "yes") return;
  const events = new EventSource(`/jobs/${box.dataset.job}/events`);
  events.onmessage = (m) => {
    if (render(JSON.parse(m.data))) { events.close(); location.reload(); }
  };
}

function compareForm(form) {
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const v = formValues(form);
    v.methods = [...form.querySelectorAll("input[name=methods]:checked")].map(el => el.value);
    const r = await postJSON("/compare", v);
    if (r.ok) { location.href = r.body.url; return; }
    showProblems(form, (r.body && r.body.problems) || [["", (r.body && r.body.error && r.body.error.message) || String(r.status)]]);
  });
}

function uploadInput(input) {
  input.addEventListener("change", async () => {
    const file = input.files[0];
    if (!file) return;
    document.getElementById("upload-status").textContent = file.name + " …";
    const r = await fetch("/data/upload", {method: "POST", headers: {"x-filename": file.name, "accept": "application/json"}, body: file});
    const body = await r.json();
    if (!r.ok) { document.getElementById("upload-status").textContent = body.error.message; return; }
    const q = new URLSearchParams({file: body.path});
    if (input.dataset.backbone) q.set("backbone", input.dataset.backbone);
    location.href = "/data/check?" + q.toString();
  });
}

function tryForm(form) {
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const v = formValues(form);
    const out = document.getElementById("predictions");
    out.textContent = "…";
    const r = await fetch("/try", {method: "POST", headers: {"content-type": "application/json", "accept": "text/html"},
                                   body: JSON.stringify({bundle: v.bundle, texts: v.texts, explain: v.explain === "true"})});
    out.innerHTML = await r.text();  // server-rendered, escaped by the template engine
  });
}

function loginForm(form) {
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const r = await postJSON("/login", formValues(form));
    if (r.ok) { location.href = form.dataset.next || "/"; return; }
    const e = document.getElementById("login-error"); e.hidden = false; e.textContent = r.body.error.message;
  });
}

document.addEventListener("DOMContentLoaded", () => {
  const on = (id, fn) => { const el = document.getElementById(id); if (el) fn(el); };
  on("compare-form", compareForm);
  on("train-form", trainForm); on("job", jobPage); on("upload", uploadInput); on("try-form", tryForm); on("login-form", loginForm);
  for (const b of document.querySelectorAll("[data-alias]")) b.addEventListener("click", async () => {
    if (!confirm(b.dataset.confirm)) return;
    const r = await postJSON("/models/alias", {action: b.dataset.alias, name: b.dataset.name, version: b.dataset.version, alias: "champion"});
    if (!r.ok) { alert((r.body && r.body.error && r.body.error.message) || r.status); return; }
    location.reload();
  });
  for (const f of document.querySelectorAll("form.compress")) f.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const [to, quantize] = f.elements.variant.value.split(":");
    const r = await postJSON("/models/compress", {bundle: f.dataset.bundle, to, quantize, tolerance: f.elements.tolerance.value});
    if (r.ok) { location.href = r.body.url; return; }
    alert((r.body && r.body.error && r.body.error.message) || r.status);
  });
  for (const f of document.querySelectorAll("form.correct")) f.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const r = await postJSON("/monitor/correct", {log: f.dataset.log, bundle: f.dataset.bundle, request_id: f.dataset.request,
                                                  item: Number(f.dataset.item), label: f.elements.label.value});
    const note = f.querySelector(".corrected");
    note.textContent = r.ok ? (document.body.dataset.saved || "✓") : ((r.body && r.body.error && r.body.error.message) || r.status);
    f.dataset.saved = r.ok ? "yes" : "no";
  });
  for (const a of document.querySelectorAll("[data-report]")) a.addEventListener("click", (ev) => {
    ev.preventDefault();
    const f = document.getElementById("report-frame"); f.hidden = false; f.src = a.dataset.report; f.scrollIntoView();
  });
});
