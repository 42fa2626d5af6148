/* HealthForge web page: plain JavaScript, no build step, no network beyond this server.
   Every text from the server is set with textContent (never parsed as HTML). */
"use strict";

const $ = (id) => document.getElementById(id);
const state = { token: sessionStorage.getItem("hf-token") || "", datasets: [], current: null,
  conversation: null, jobTimer: null, busy: false };

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

async function api(path, options = {}) {
  const headers = Object.assign({}, options.headers || {});
  if (state.token) headers.Authorization = "Bearer " + state.token;
  if (options.json !== undefined) {
    headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(options.json);
  }
  const response = await fetch(path, { ...options, headers });
  if (response.status === 401) { signOut("Your session has ended: sign in again."); throw new Error("signed out"); }
  if (!response.ok) {
    let message = response.status + " " + response.statusText;
    try {
      const body = await response.json();
      if (typeof body.detail === "string") message = body.detail + (body.hint ? " - " + body.hint : "");
      else if (Array.isArray(body.detail)) message = body.detail.map((d) => d.msg).join("; ");
    } catch (e) { /* not JSON */ }
    throw new Error(message);
  }
  return response;
}
const getJSON = async (path) => (await api(path)).json();

/* Server-sent events over fetch (so the token travels in a header, not the URL). */
async function readEvents(response, onEvent) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      let kind = "message", data = "";
      for (const line of block.split("\n")) {
        if (line.startsWith("event: ")) kind = line.slice(7);
        else if (line.startsWith("data: ")) data += line.slice(6);
      }
      if (data) onEvent(kind, JSON.parse(data));
    }
  }
}

/* ---- sign in ---------------------------------------------------------------------- */
async function signIn(token) {
  state.token = token;
  try {
    const me = await getJSON("/api/me");
    sessionStorage.setItem("hf-token", token);
    $("who-name").textContent = me.name;
    $("who").hidden = !me.auth;
    $("signin").hidden = true;
    $("workspace").hidden = false;
    await Promise.all([loadDatasets(), loadGenerators()]);
    $("main").focus();
  } catch (error) {
    state.token = "";
    $("signin-error").textContent = error.message === "signed out" ? "That token was not accepted." : error.message;
  }
}

function signOut(message) {
  state.token = "";
  sessionStorage.removeItem("hf-token");
  clearInterval(state.jobTimer);
  $("workspace").hidden = true;
  $("who").hidden = true;
  $("signin").hidden = false;
  $("signin-error").textContent = message || "";
  $("token").value = "";
}

/* ---- datasets ----------------------------------------------------------------------- */
async function loadDatasets(selectId) {
  state.datasets = await getJSON("/api/datasets");
  const list = $("datasets");
  list.replaceChildren();
  for (const ds of state.datasets) {
    const flagged = ds.profile.phi.length;
    const button = el("button", { type: "button", "data-id": ds.id, onclick: () => selectDataset(ds.id) },
      el("span", { class: "ds-title", text: ds.name }),
      el("span", { class: "ds-sub", text: `${ds.rows.toLocaleString()} rows · ${ds.columns} columns` +
        (flagged ? ` · ${flagged} identifier${flagged > 1 ? "s" : ""}` : "") }));
    if (state.current && state.current.id === ds.id) button.setAttribute("aria-current", "true");
    list.append(el("li", {}, button));
  }
  $("datasets-empty").hidden = state.datasets.length > 0;
  if (selectId) selectDataset(selectId);
}

async function upload(event) {
  event.preventDefault();
  const file = $("upload-file").files[0];
  if (!file) return;
  const form = new FormData();
  form.append("file", file);
  if ($("upload-target").value.trim()) form.append("target", $("upload-target").value.trim());
  const status = $("upload-status");
  status.className = "status";
  status.textContent = `Uploading and profiling ${file.name}…`;
  $("upload-button").disabled = true;
  try {
    const ds = await (await api("/api/datasets", { method: "POST", body: form })).json();
    status.textContent = `${ds.name} uploaded: ${ds.rows.toLocaleString()} rows, ${ds.profile.phi.length} identifier columns found.`;
    $("upload-form").reset();
    await loadDatasets(ds.id);
  } catch (error) {
    status.className = "status bad";
    status.textContent = "Not uploaded: " + error.message;
  } finally {
    $("upload-button").disabled = false;
  }
}

function selectDataset(id) {
  state.current = state.datasets.find((d) => d.id === id) || null;
  state.conversation = null;
  state.opening = null;
  for (const b of document.querySelectorAll("#datasets button"))
    b.setAttribute("aria-current", String(!!state.current && b.dataset.id === state.current.id));
  $("nothing").hidden = !!state.current;
  $("dataset-view").hidden = !state.current;
  $("report-view").hidden = true;
  if (!state.current) return;
  renderProfile(state.current);
  $("chat-log").replaceChildren();
  showTab("profile");
  refreshJobs();
  clearInterval(state.jobTimer);
  state.jobTimer = setInterval(refreshJobs, 2000);
}

function renderProfile(ds) {
  const p = ds.profile;
  $("ds-name").textContent = ds.name;
  $("ds-meta").textContent = `${ds.format.toUpperCase()} · ${(ds.bytes / 1024).toFixed(0)} KB · uploaded ${new Date(ds.created * 1000).toLocaleString()}` + (ds.schema_saved ? " · schema reviewed" : "");
  const stat = (value, label) => el("div", { class: "stat" }, el("span", { class: "value", text: value }), el("span", { class: "label", text: label }));
  $("stats").replaceChildren(stat(p.rows.toLocaleString(), "rows"), stat(String(p.columns), "columns"),
    stat(String(p.phi.length), "identifier columns (not modelled)"), stat(p.target || "none", "outcome column"));
  const phi = $("phi");
  phi.hidden = p.phi.length === 0;
  if (p.phi.length) {
    const items = p.phi.map((f) => el("li", {}, el("strong", { text: f.column }), document.createTextNode(": " + f.reason)));
    phi.replaceChildren(el("h2", { text: "Direct identifiers found - these columns are never modelled or written to synthetic data" }), el("ul", {}, ...items));
  }
  $("notices").replaceChildren(...p.notices.filter((n) => !n.startsWith("not modelled, direct")).map((n) => el("div", { class: "alert alert-info", text: n })));
  const body = $("columns-table").querySelector("tbody");
  body.replaceChildren(...p.schema.map((c) => el("tr", {},
    el("th", { scope: "row", text: c.name }), el("td", { text: c.kind }),
    el("td", {}, roleSelect(c)),
    el("td", { text: (c.missing_rate * 100).toFixed(1) + "%" }), el("td", { text: c.domain || (c.reason || "") }))));
  $("job-target").value = p.target || "";
  $("job-schema").checked = false;
  $("job-schema").disabled = !ds.schema_saved;
  $("schema-status").textContent = "";
}

const ROLES = ["feature", "target", "identifier", "quasi_identifier", "sensitive"];
function roleSelect(column) {
  const select = el("select", { "aria-label": "Role of " + column.name, "data-column": column.name, class: "role role-" + column.role },
    ...ROLES.map((r) => el("option", { value: r, text: r.replace("_", " ") })));
  select.value = column.role;
  select.addEventListener("change", () => { select.className = "role role-" + select.value; });
  return select;
}

async function saveSchema() {
  const status = $("schema-status");
  status.className = "status";
  try {
    const id = state.current.id;
    const { schema } = await getJSON(`/api/datasets/${id}/schema`);
    const roles = Object.fromEntries([...document.querySelectorAll("#columns-table select.role")].map((s) => [s.dataset.column, s.value]));
    for (const column of schema.columns) if (roles[column.name]) column.role = roles[column.name];
    await api(`/api/datasets/${id}/schema`, { method: "PUT", json: schema });
    await loadDatasets();
    state.current = state.datasets.find((d) => d.id === id);
    renderProfile(state.current);
    $("schema-status").textContent = "Schema saved. Jobs can use it; differentially private generators take its value ranges as public bounds.";
  } catch (error) {
    status.className = "status bad";
    status.textContent = "Not saved: " + error.message;
  }
}

async function deleteDataset() {
  if (!state.current || !confirm(`Delete ${state.current.name} and its stored file?`)) return;
  try {
    await api(`/api/datasets/${state.current.id}`, { method: "DELETE" });
    state.current = null;
    clearInterval(state.jobTimer);
    await loadDatasets();
    selectDataset(null);
  } catch (error) { alert(error.message); }
}

/* ---- tabs --------------------------------------------------------------------------- */
const TABS = ["profile", "partner", "jobs"];
function showTab(name) {
  for (const tab of TABS) {
    const selected = tab === name;
    $("tab-" + tab).setAttribute("aria-selected", String(selected));
    $("tab-" + tab).tabIndex = selected ? 0 : -1;
    $("panel-" + tab).hidden = !selected;
  }
  if (name === "partner") openConversation();
}
function tabKeys(event) {
  const index = TABS.indexOf(event.target.id.slice(4));
  let next = null;
  if (event.key === "ArrowRight") next = TABS[(index + 1) % TABS.length];
  if (event.key === "ArrowLeft") next = TABS[(index + TABS.length - 1) % TABS.length];
  if (event.key === "Home") next = TABS[0];
  if (event.key === "End") next = TABS[TABS.length - 1];
  if (next) { event.preventDefault(); showTab(next); $("tab-" + next).focus(); }
}

/* ---- the partner -------------------------------------------------------------------- */
function openConversation() {
  if (!state.current) return Promise.resolve();
  const id = state.current.id;
  if (!state.opening || state.opening.datasetId !== id) {
    state.opening = loadConversation(id);
    state.opening.datasetId = id;
  }
  return state.opening;
}

async function loadConversation(datasetId) {
  const conv = await (await api("/api/conversations", { method: "POST", json: { dataset_id: datasetId } })).json();
  state.conversation = conv;
  $("chat-log").replaceChildren();
  const pending = new Set(conv.pending.map((a) => a.id));
  for (const event of conv.events) showEvent(event, pending);
  if (!conv.events.length) say("partner", "Hello. Say 'profile' to start, or tell me what you need - for example 'generate 500 synthetic rows' or 'screen identifiers'.");
}

function say(kind, text) {
  const bubble = el("div", { class: "bubble " + kind, text });
  $("chat-log").append(bubble);
  bubble.scrollIntoView({ block: "end" });
  return bubble;
}

function showEvent(event, pending) {
  const log = $("chat-log");
  if (event.kind === "progress") { showProgress(event); return; }
  if (event.kind === "user") { say("user", event.text); return; }
  if (event.kind === "proposal") { log.append(proposalCard(event, pending ? pending.has(event.action.id) : true)); log.lastChild.scrollIntoView({ block: "end" }); return; }
  const kind = { result: "result", error: "error", notice: "notice" }[event.kind] || "partner";
  const bubble = say(kind, event.text);
  if (event.files && event.files.length) bubble.append(fileLinks(event.files));
  const options = event.data && event.data.alternatives;
  if (options && options.length) {
    const box = el("div", { class: "alternatives", role: "group", "aria-label": "Choose another step" });
    options.forEach((option, i) => box.append(el("button", { type: "button", class: "btn btn-quiet btn-small",
      text: `${i + 1}. ${option.why}`, onclick: () => sendMessage(String(i + 1)) })));
    bubble.append(box);
  }
}

function proposalCard(event, open) {
  const action = event.action;
  const card = el("div", { class: "proposal", role: "group", "aria-label": "Proposed step " + action.id },
    el("h3", { text: "Proposed step: " + action.tool.replace(/_/g, " ") }),
    el("div", { text: action.summary }),
    el("div", { class: "why", text: action.reason ? "I ask first because " + action.reason + "." : "" }));
  if (!open) { card.append(el("div", { class: "decided", text: "Decided." })); return card; }
  const decided = (text) => {
    changeForm.hidden = true;
    card.querySelector(".actions").replaceChildren(el("div", { class: "decided", text }));
  };
  const changeForm = el("form", { class: "change-form", hidden: "" },
    el("label", { class: "sr-only", for: "change-" + action.id, text: "What should change?" }),
    el("input", { id: "change-" + action.id, type: "text", placeholder: "e.g. rows 500, generator cart, epsilon 1" }),
    el("button", { type: "submit", class: "btn btn-primary btn-small", text: "Change" }));
  changeForm.addEventListener("submit", (e) => {
    e.preventDefault();
    const text = changeForm.querySelector("input").value.trim();
    if (text) { card.remove(); sendMessage(text); }
  });
  card.append(el("div", { class: "actions" },
    el("button", { type: "button", class: "btn btn-good btn-small", text: "Approve", onclick: () => { decided("Approved."); stream(`/actions/${action.id}/approve`, {}); } }),
    el("button", { type: "button", class: "btn btn-quiet btn-small", text: "Change…", onclick: () => { changeForm.hidden = false; changeForm.querySelector("input").focus(); } }),
    el("button", { type: "button", class: "btn btn-quiet btn-small", text: "Choose another", onclick: () => { decided("Not run."); stream(`/actions/${action.id}/reject`, { reason: "the user asked for another choice" }); } })),
    changeForm);
  return card;
}

function fileLinks(files) {
  const box = el("div", { class: "files" });
  for (const file of files) {
    const base = `/api/conversations/${state.conversation.id}`;
    if (file.endsWith(".html")) box.append(el("button", { type: "button", class: "btn btn-quiet btn-small", text: "View report", onclick: () => showReport(`${base}/tickets/${file}`) }));
    box.append(el("button", { type: "button", class: "btn btn-quiet btn-small", text: "Download " + file, onclick: () => download(`${base}/tickets/${file}`) }));
  }
  return box;
}

function showProgress(event) {
  const line = $("chat-progress");
  line.hidden = false;
  const bar = line.querySelector(".bar");
  const d = event.data || {};
  if (d.total) {
    const pct = Math.round(100 * Math.min(d.done / d.total, 1));
    bar.classList.remove("indeterminate");
    bar.querySelector("span").style.width = pct + "%";
    bar.setAttribute("aria-valuenow", String(pct));
  } else {
    bar.classList.add("indeterminate");
    bar.removeAttribute("aria-valuenow");
  }
  line.querySelector(".progress-text").textContent = event.text || "working";
}

async function stream(path, body, userText) {
  if (state.busy) return;
  state.busy = true;
  try { await openConversation(); } catch (error) { state.busy = false; say("error", error.message); return; }
  if (userText) say("user", userText);
  showProgress({ text: "working", data: {} });
  try {
    const response = await api(`/api/conversations/${state.conversation.id}${path}`, { method: "POST", json: body });
    await readEvents(response, (kind, data) => { if (kind === "partner" && data.kind !== "user") showEvent(data); });
  } catch (error) {
    say("error", error.message);
  } finally {
    state.busy = false;
    $("chat-progress").hidden = true;
    refreshJobs();
  }
}
function sendMessage(text) { return stream("/messages", { text }, text); }

/* ---- jobs --------------------------------------------------------------------------- */
async function loadGenerators() {
  const generators = await getJSON("/api/generators");
  const select = $("job-generator");
  select.replaceChildren(...generators.map((g) => el("option", { value: g.name, text: `${g.name}${g.private ? " (differentially private)" : ""} - ${g.summary}` })));
  select.value = "bayesian_network";
}

async function startJob(event) {
  event.preventDefault();
  const rows = parseInt($("job-rows").value, 10);
  const spec = { data: { source: "dataset:" + state.current.id }, generator: { name: $("job-generator").value }, privacy: $("job-privacy").value };
  if ($("job-target").value.trim()) spec.data.target = $("job-target").value.trim();
  if (rows > 0) spec.rows = rows;
  if ($("job-evaluate").checked) spec.evaluation = {};
  if ($("job-schema").checked) spec.data.schema = "dataset";
  const status = $("job-status");
  status.className = "status";
  try {
    const job = await (await api("/api/jobs", { method: "POST", json: { spec } })).json();
    status.textContent = `Job started (${spec.generator.name}): follow it below.`;
    follow(job.id);
    refreshJobs();
  } catch (error) {
    status.className = "status bad";
    status.textContent = "Not started: " + error.message;
  }
}

/* progress by server-sent events; the 2-second refresh is the polling fallback */
async function follow(jobId) {
  try {
    const response = await api(`/api/jobs/${jobId}/events`);
    await readEvents(response, (kind, job) => { if (kind === "progress") renderJob(job); });
  } catch (error) { /* polling carries on */ }
  refreshJobs();
}

async function refreshJobs() {
  if (!state.current || !state.token) return;
  const id = state.current.id;
  const [jobs, board] = await Promise.all([getJSON(`/api/jobs?dataset_id=${id}`), getJSON(`/api/leaderboard?dataset_id=${id}`)]);
  if (!state.current || state.current.id !== id) return;
  const list = $("jobs");
  const known = new Set(jobs.map((j) => j.id));
  for (const item of [...list.children]) if (!known.has(item.dataset.id)) item.remove();
  for (const job of jobs) renderJob(job);
  $("jobs-empty").hidden = jobs.length > 0;
  renderLeaderboard(board);
}

const pct = (x) => (x === null || x === undefined ? "-" : (100 * x).toFixed(1) + "%");
const num = (x) => (x === null || x === undefined ? "-" : x.toFixed(3));

function renderJob(job) {
  const list = $("jobs");
  let item = list.querySelector(`[data-id="${job.id}"]`);
  const signature = job.state + job.fraction + job.stage;
  if (item && item.dataset.signature === signature) return;
  const spec = job.spec || {};
  const title = `${(spec.generator || {}).name || "run"} · privacy ${spec.privacy || "none"}` + (spec.rows ? ` · ${spec.rows} rows` : "");
  const pctDone = Math.round(100 * (job.state === "done" ? 1 : job.fraction));
  const bar = el("div", { class: "bar", role: "progressbar", "aria-label": "Progress of " + title, "aria-valuemin": "0", "aria-valuemax": "100", "aria-valuenow": String(pctDone) }, el("span"));
  bar.firstChild.style.width = pctDone + "%";
  const actions = el("div", { class: "job-actions" });
  if (job.state === "queued" || job.state === "running")
    actions.append(el("button", { type: "button", class: "btn btn-quiet btn-small", text: "Cancel", onclick: () => api(`/api/jobs/${job.id}/cancel`, { method: "POST" }).then(refreshJobs) }));
  if (job.state === "done") {
    const files = (job.result && job.result.files) || [];
    if (files.includes("report")) actions.append(el("button", { type: "button", class: "btn btn-primary btn-small", text: "View report", onclick: () => showReport(`/api/jobs/${job.id}/tickets/report`) }));
    const labels = { synthetic: "Synthetic data (CSV)", model: "Model file", report_json: "Report (JSON)", spec: "Run specification" };
    for (const [name, label] of Object.entries(labels))
      if (files.includes(name)) actions.append(el("button", { type: "button", class: "btn btn-quiet btn-small", text: "Download " + label, onclick: () => download(`/api/jobs/${job.id}/tickets/${name}`) }));
  }
  const fresh = el("li", { class: "job", "data-id": job.id, "data-signature": signature },
    el("div", { class: "job-top" }, el("span", { class: "job-title", text: title }),
      el("span", { class: "badge state-" + job.state, text: job.state })),
    el("div", { class: "progress-line" }, bar, el("span", { class: "progress-text", text: job.state === "running" ? `${job.stage} · ${pctDone}%` : new Date(job.created * 1000).toLocaleTimeString() })),
    job.error ? el("p", { class: "job-error", text: job.error }) : null, actions);
  if (item) item.replaceWith(fresh); else list.prepend(fresh);
}

function renderLeaderboard(rows) {
  const body = $("leaderboard").querySelector("tbody");
  body.replaceChildren(...rows.map((r) => el("tr", {},
    el("th", { scope: "row", text: r.generator }), el("td", { text: r.privacy }), el("td", { text: pct(r.fidelity) }),
    el("td", { text: num(r.utility_ratio) }), el("td", { text: num(r.mia_auc) }),
    el("td", { text: `${r.checks.pass} pass · ${r.checks.warn} warn · ${r.checks.fail} fail` }), el("td", { text: r.seconds + " s" }))));
  $("leaderboard-empty").hidden = rows.length > 0;
}

/* ---- files: a short-lived signed link, so no token goes into a URL ----------------- */
async function ticket(path) { return (await (await api(path, { method: "POST" })).json()).url; }
async function download(path) {
  try {
    const link = el("a", { href: await ticket(path), download: "" });
    document.body.append(link); link.click(); link.remove();
  } catch (error) { alert(error.message); }
}
async function showReport(path) {
  try {
    $("report-frame").src = await ticket(path);
    $("report-view").hidden = false;
    $("report-view").scrollIntoView();
    $("report-title").focus();
  } catch (error) { alert(error.message); }
}

/* ---- start -------------------------------------------------------------------------- */
document.addEventListener("DOMContentLoaded", () => {
  $("signin-form").addEventListener("submit", (e) => { e.preventDefault(); signIn($("token").value.trim()); });
  $("sign-out").addEventListener("click", () => signOut());
  $("upload-form").addEventListener("submit", upload);
  $("ds-delete").addEventListener("click", deleteDataset);
  $("schema-save").addEventListener("click", saveSchema);
  $("chat-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const text = $("chat-input").value.trim();
    if (text && !state.busy) { $("chat-input").value = ""; sendMessage(text); }
  });
  $("job-form").addEventListener("submit", startJob);
  $("report-close").addEventListener("click", () => { $("report-view").hidden = true; $("report-frame").src = "about:blank"; });
  $("report-title").tabIndex = -1;
  for (const tab of TABS) {
    $("tab-" + tab).addEventListener("click", () => showTab(tab));
    $("tab-" + tab).addEventListener("keydown", tabKeys);
  }
  fetch("/api/me").then((r) => {
    if (r.ok) signIn("");  /* single-user mode: no token needed */
    else if (state.token) signIn(state.token);
  });
});
