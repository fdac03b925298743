// A minimal customer-management page on the gateway's API, as a partner's
// single-page app would call it: from its own origin, straight to the
// gateway (CORS preflights, bearer token), no proxy. deploy/test's
// TestFrontendFlow drives it in headless Chromium; README "Frontend" walks
// through the same calls.
//
// The gateway's URL and an access token come in the fragment (never sent to
// the page's server): index.html#api=http://127.0.0.1:8080&token=eyJ...
"use strict";

// ---- The API conventions this page relies on (api/openapi.yaml) ----
const PAGE_SIZE = 50;                 // page_size; the answer's total_size gives "1–50 of N"
const SORT_ASC = "name";              // order_by (AIP-132): field, optional " desc"
const SORT_DESC = "name desc";
// The 360 view's sections, each loaded on its own with ?include=<section>.
const SECTIONS = ["gdap", "tenants", "agreements", "licenses", "subscriptions", "gdap_relationships", "booking_records"];
const SYNC_KIND = "axema_users";      // POST /v1/sync-jobs kind (snake_case enum)
const SYNC_FINAL = ["succeeded", "failed", "accepted"];
const POLL_MS = 500;                  // sync job polling interval
const POLL_LIMIT_MS = 90000;          // give up polling after this long

const params = new URLSearchParams(location.hash.slice(1));
const API = (params.get("api") || "").replace(/\/$/, "");
const TOKEN = params.get("token") || "";

const $ = (id) => document.getElementById(id);
const state = { q: "", orderBy: "", start: 1, customer: null, loads: 0 };

class Problem extends Error {
  constructor(status, body) {
    const fields = (body.errors || []).map((e) => `${e.location}: ${e.message}`).join("; ");
    super(`${status} ${body.title || ""}: ${body.detail || ""}${fields ? " (" + fields + ")" : ""}`);
    this.status = status;
    this.body = body;
  }
}

// api calls the gateway: JSON in and out, the RFC 9457 problem as an error.
// The answer's headers (Location, X-Request-Id, ...) are readable because the
// gateway exposes them to allowed origins.
async function api(method, path, body, headers = {}) {
  const h = { Authorization: `Bearer ${TOKEN}`, ...headers };
  if (body !== undefined) h["Content-Type"] = "application/json";
  const res = await fetch(/^https?:/.test(path) ? path : API + path, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  const json = text ? JSON.parse(text) : {};
  if (!res.ok) throw new Problem(res.status, json);
  return { json, headers: res.headers };
}

function showError(e) {
  const p = $("error");
  p.hidden = false;
  p.textContent = (p.textContent ? p.textContent + "\n" : "") + (e instanceof Problem ? e.message : `network: ${e.message}`);
}

function el(tag, attrs = {}, text = "") {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  e.textContent = text;
  return e;
}

// ---- The list: paging, total, sorting, search ----
async function loadCustomers(pageToken, start) {
  const q = new URLSearchParams({ page_size: String(PAGE_SIZE) });
  if (state.q) q.set("q", state.q);
  if (state.orderBy) q.set("order_by", state.orderBy);
  if (pageToken) q.set("page_token", pageToken);
  try {
    const { json, headers } = await api("GET", `/v1/customers?${q}`);
    const tbody = $("customers");
    tbody.replaceChildren();
    for (const c of json.items) {
      const tr = el("tr", { "data-id": c.id });
      const name = el("td", { class: "name" });
      const open = el("a", { href: "#", class: "open" }, c.name);
      open.addEventListener("click", (ev) => { ev.preventDefault(); openCustomer(c); });
      name.append(open);
      tr.append(name, el("td", { class: "kind" }, c.kind || ""), el("td", { class: "id" }, c.id));
      tbody.append(tr);
    }
    state.start = start;
    const end = start + json.items.length - 1;
    const total = json.total_size === undefined ? "?" : String(json.total_size);
    $("range").textContent = json.items.length ? `${start}–${end} of ${total}` : `0 of ${total}`;
    $("request-id").textContent = headers.get("X-Request-Id") || "";
    wirePager("next", json.next_page_token, end + 1);
    wirePager("prev", json.previous_page_token, Math.max(1, start - PAGE_SIZE));
  } catch (e) {
    $("range").textContent = "";
    showError(e);
  }
  state.loads++; // lets a driver see that a load finished, even when the text is the same
  $("range").setAttribute("data-loads", String(state.loads));
}

function wirePager(id, token, start) {
  const b = $(id);
  b.disabled = !token;
  b.onclick = token ? () => loadCustomers(token, start) : null;
}

function sortBy(orderBy) {
  state.orderBy = orderBy;
  loadCustomers("", 1);
}

// ---- The 360 view, one section at a time ----
function openCustomer(c) {
  state.customer = c;
  $("detail").hidden = false;
  $("detail-name").textContent = c.name;
  $("detail-kind").textContent = c.kind || "";
  $("detail-id").textContent = c.id;
  $("licence-company").value = c.name;
  $("sections").replaceChildren(...SECTIONS.map((s) => el("section", { "data-section": s, "data-state": "loading" }, `${s}: loading`)));
  // Every section is requested at once and shown as soon as it arrives: a
  // slow vendor holds only its own section.
  for (const s of SECTIONS) loadSection(c.id, s);
}

async function loadSection(id, section) {
  const box = document.querySelector(`section[data-section="${section}"]`);
  box.setAttribute("data-state", "loading");
  try {
    const { json } = await api("GET", `/v1/customers/${encodeURIComponent(id)}?include=${section}`);
    const sec = json[section];
    // With include=, only the sections asked for are in the answer.
    const others = SECTIONS.filter((s) => s !== section && json[s] !== undefined);
    if (!sec) throw new Error(`the answer has no ${section} section`);
    const items = sec.items || (sec.item ? [sec.item] : []);
    box.setAttribute("data-status", sec.status);
    box.setAttribute("data-as-of", sec.as_of || "");
    box.setAttribute("data-count", String(items.length));
    box.setAttribute("data-customer-id", json.customer ? json.customer.id : "");
    box.setAttribute("data-customer-kind", json.customer ? json.customer.kind || "" : "");
    if (others.length) box.setAttribute("data-unrequested", others.join(","));
    box.replaceChildren(el("strong", {}, section), ` ${sec.status}, ${items.length} item(s), as of ${sec.as_of || "?"}`);
    const ul = el("ul");
    for (const it of items) ul.append(el("li", {}, it.user || it.name || it.display_name || it.id || it.tenant_id || JSON.stringify(it).slice(0, 80)));
    box.append(ul);
    box.setAttribute("data-state", "loaded");
  } catch (e) {
    box.setAttribute("data-state", "failed");
    box.textContent = `${section}: ${e.message}`;
    showError(e);
  }
}

// ---- Writes: register a licence, start and poll a sync ----
async function registerLicence(ev) {
  ev.preventDefault();
  const body = { company: $("licence-company").value, user: $("licence-user").value };
  const out = $("licence-result");
  try {
    // One key per attempt: a retry of the same click would reuse it.
    const { json, headers } = await api("POST", "/v1/licenses", body, { "Idempotency-Key": crypto.randomUUID() });
    out.setAttribute("data-id", json.id || "");
    out.setAttribute("data-location", headers.get("Location") || "");
    out.textContent = `Registered ${json.user} at ${json.company} (id ${json.id || "?"})`;
    if (state.customer) loadSection(state.customer.id, "licenses"); // the new user appears there
  } catch (e) {
    out.setAttribute("data-error", e.body ? e.body.type || "" : "network");
    out.textContent = e.message;
    showError(e);
  }
}

async function startSync() {
  const out = $("sync-state");
  const seen = [];
  const show = (job) => {
    if (seen[seen.length - 1] !== job.state) seen.push(job.state);
    out.setAttribute("data-states", seen.join(","));
    out.setAttribute("data-kind", job.kind);
    out.textContent = `${job.kind} ${job.id}: ${seen.join(" → ")}`;
  };
  try {
    const { json, headers } = await api("POST", "/v1/sync-jobs", { kind: SYNC_KIND }, { "Idempotency-Key": crypto.randomUUID() });
    const where = headers.get("Location");
    out.setAttribute("data-id", json.id);
    out.setAttribute("data-location", where || "");
    show(json);
    const deadline = Date.now() + POLL_LIMIT_MS;
    let job = json;
    while (!SYNC_FINAL.includes(job.state)) {
      if (Date.now() > deadline) throw new Error(`sync job ${json.id} still ${job.state} after ${POLL_LIMIT_MS} ms`);
      await new Promise((r) => setTimeout(r, POLL_MS));
      job = (await api("GET", where || `/v1/sync-jobs/${json.id}`)).json;
      show(job);
    }
    out.setAttribute("data-final", job.state);
  } catch (e) {
    out.setAttribute("data-final", "error");
    out.textContent = e.message;
    showError(e);
  }
}

$("search").addEventListener("submit", (ev) => { ev.preventDefault(); state.q = $("q").value; loadCustomers("", 1); });
$("sort-name-asc").addEventListener("click", () => sortBy(SORT_ASC));
$("sort-name-desc").addEventListener("click", () => sortBy(SORT_DESC));
$("licence").addEventListener("submit", registerLicence);
$("sync-start").addEventListener("click", startSync);
if (!API || !TOKEN) showError(new Error("open this page as index.html#api=<gateway URL>&token=<access token>"));
else loadCustomers("", 1);
