// The assistant's chat page: a customer view (POST /v1/assist) and an agent view of the hand-off queue
// (GET /v1/handoffs, corrections, replies). Plain JavaScript, no library, no network beyond this server.
"use strict";

const LANGUAGES = ["en", "zh"];
const state = { strings: {}, language: "en", labels: [], lastTurn: 0, cid: null, view: "customer", timer: null };

function t(key, values) {
  let text = state.strings[key] ?? key;
  for (const [name, value] of Object.entries(values || {})) text = text.replace(`{${name}}`, value);
  return text;
}

function preferredLanguage() {
  const saved = localStorage.getItem("domainfit.language");
  if (LANGUAGES.includes(saved)) return saved;
  const browser = (navigator.languages && navigator.languages[0]) || navigator.language || "en";
  return browser.toLowerCase().startsWith("zh") ? "zh" : "en";
}

async function setLanguage(language) {
  const response = await fetch(`i18n/${language}.json`);
  state.strings = await response.json();
  state.language = language;
  document.documentElement.lang = language === "zh" ? "zh-CN" : "en";
  document.getElementById("language").value = language;
  document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
  document.querySelectorAll("[data-i18n-placeholder]").forEach((el) => { el.placeholder = t(el.dataset.i18nPlaceholder); });
  document.title = t("title");
  if (state.view === "agent") refreshQueue();
}

async function api(method, path, body) {
  const headers = { "Content-Type": "application/json" };
  const key = document.getElementById("api-key").value.trim();
  if (key) headers["Authorization"] = `Bearer ${key}`;
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = await response.json().catch(() => ({}));
  if (response.status === 401) throw new Error(t("error.unauthorized"));
  if (!response.ok) throw new Error(t("error.failed", { message: (data.error && data.error.message) || response.status }));
  return data;
}

function newConversation() {
  state.cid = "web-" + Math.random().toString(36).slice(2, 10) + Date.now().toString(36);
  sessionStorage.setItem("domainfit.conversation", state.cid);
  state.lastTurn = 0;
  document.getElementById("messages").replaceChildren();
  document.getElementById("conversation-id").textContent = state.cid;
}

function bubble(list, role, text, meta) {
  const item = document.createElement("li");
  item.className = role;
  item.textContent = text;
  if (meta) {
    const small = document.createElement("span");
    small.className = "meta";
    small.textContent = meta;
    item.appendChild(small);
  }
  list.appendChild(item);
  return item;
}

function turnMeta(turn) {
  if (turn.role !== "assistant") return t(turn.role === "customer" ? "you" : "agent");
  const reason = turn.handoff_reason ? ` · ${t("reason." + turn.handoff_reason)}` : "";
  return `${t("assistant")} · ${t("source." + turn.source)}${reason}`;
}

async function send(event) {
  event.preventDefault();
  const input = document.getElementById("message-input");
  const message = input.value.trim();
  const error = document.getElementById("customer-error");
  if (!message) return;
  error.textContent = "";
  input.value = "";
  try {
    await api("POST", "/v1/assist", { conversation_id: state.cid, message });
    await pollConversation();
  } catch (e) {
    error.textContent = e.message;
  }
}

async function pollConversation() {
  const data = await api("GET", `/v1/conversations/${encodeURIComponent(state.cid)}?after=${state.lastTurn}`);
  const list = document.getElementById("messages");
  for (const turn of data.turns) {
    const item = bubble(list, turn.role, turn.text, turnMeta(turn));
    if (turn.role === "assistant") { item.dataset.source = turn.source; item.classList.add("reply"); }
    state.lastTurn = Math.max(state.lastTurn, turn.id);
  }
}

async function loadLabels() {
  if (state.labels.length) return;
  const data = await api("GET", "/v1/models");
  state.labels = data.models[0].labels;
}

async function refreshQueue() {
  const error = document.getElementById("agent-error");
  try {
    await loadLabels();
    const status = document.getElementById("show-resolved").checked ? "all" : "open";
    const data = await api("GET", `/v1/handoffs?status=${status}`);
    renderQueue(data.handoffs);
    error.textContent = "";
  } catch (e) {
    error.textContent = e.message;
  }
}

function renderQueue(entries) {
  const queue = document.getElementById("queue");
  const template = document.getElementById("handoff-template");
  document.getElementById("queue-empty").hidden = entries.length > 0;
  const focused = document.activeElement && document.activeElement.closest(".handoff");
  if (focused) return; // an agent typing a reply keeps the entry as it is until the next poll
  queue.replaceChildren();
  for (const entry of entries) {
    const node = template.content.firstElementChild.cloneNode(true);
    node.dataset.id = entry.id;
    node.dataset.conversation = entry.conversation_id;
    node.classList.toggle("resolved", entry.status === "resolved");
    node.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
    node.querySelectorAll("[data-i18n-placeholder]").forEach((el) => { el.placeholder = t(el.dataset.i18nPlaceholder); });
    node.querySelector(".reason").textContent = t("reason." + entry.reason);
    node.querySelector(".cid").textContent = entry.conversation_id;
    node.querySelector(".intent").textContent = entry.intent || "—";
    node.querySelector(".confidence").textContent = entry.confidence == null ? "—" : entry.confidence.toFixed(2);
    node.querySelector(".status").textContent = entry.status === "resolved" ? `· ${t("queue.resolved")}` : "";
    const turns = node.querySelector(".turns");
    for (const turn of entry.turns) bubble(turns, turn.role, turn.text, turnMeta(turn));
    const select = node.querySelector(".intent-select");
    for (const label of state.labels) {
      const option = document.createElement("option");
      option.value = option.textContent = label;
      option.selected = label === (entry.corrected_intent || entry.intent);
      select.appendChild(option);
    }
    if (entry.corrected_intent) node.querySelector(".corrected").textContent = t("queue.corrected", { intent: entry.corrected_intent });
    node.querySelector(".correct").addEventListener("click", () => act(() => api("POST", `/v1/handoffs/${entry.id}/intent`, { intent: select.value })));
    node.querySelector(".resolve").addEventListener("click", () => act(() => api("POST", `/v1/handoffs/${entry.id}/resolve`)));
    node.querySelector(".reply").addEventListener("click", () => {
      const input = node.querySelector(".agent-message");
      if (input.value.trim()) act(() => api("POST", `/v1/handoffs/${entry.id}/reply`, { message: input.value.trim() }));
    });
    queue.appendChild(node);
  }
}

async function act(call) {
  const error = document.getElementById("agent-error");
  try {
    await call();
    if (document.activeElement) document.activeElement.blur();
    await refreshQueue();
  } catch (e) {
    error.textContent = e.message;
  }
}

function show(view) {
  state.view = view;
  document.querySelectorAll(".tab").forEach((tab) => tab.classList.toggle("active", tab.dataset.view === view));
  document.getElementById("customer-view").hidden = view !== "customer";
  document.getElementById("agent-view").hidden = view !== "agent";
  if (view === "agent") refreshQueue();
}

function tick() {
  if (state.view === "agent") refreshQueue();
  else if (state.lastTurn > 0) pollConversation().catch(() => {});
}

document.addEventListener("DOMContentLoaded", async () => {
  const key = document.getElementById("api-key");
  key.value = sessionStorage.getItem("domainfit.key") || "";
  key.addEventListener("change", () => sessionStorage.setItem("domainfit.key", key.value.trim()));
  state.cid = sessionStorage.getItem("domainfit.conversation");
  if (state.cid) document.getElementById("conversation-id").textContent = state.cid; else newConversation();
  document.getElementById("new-conversation").addEventListener("click", newConversation);
  document.getElementById("composer").addEventListener("submit", send);
  document.getElementById("language").addEventListener("change", (e) => {
    localStorage.setItem("domainfit.language", e.target.value);
    setLanguage(e.target.value);
  });
  document.getElementById("show-resolved").addEventListener("change", refreshQueue);
  document.querySelectorAll(".tab").forEach((tab) => tab.addEventListener("click", () => show(tab.dataset.view)));
  if (location.hash === "#agent") show("agent");
  await setLanguage(preferredLanguage());
  document.body.dataset.ready = "true";
  state.timer = setInterval(tick, 1500);
});
