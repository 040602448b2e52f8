// leaseq dashboard: one page, hash routes, the public HTTP API only.
// Every piece of text reaches the DOM through textContent (see `h`), never innerHTML,
// because job payloads, errors and even worker ids are user data.
"use strict";

const POLL_MS = 2000;
const WINDOW_MS = 5 * 60 * 1000; // throughput samples kept in memory
const PAGE = 100;
const TOKEN_KEY = "leaseq.token";
const STATES = ["QUEUED", "LEASED", "DONE", "DEAD", "CANCELLED"];

// -- DOM helpers ---------------------------------------------------------------------

/** Wraps an event handler so that a failed async action is shown, not lost. */
const guarded = (handler) => (event) => {
  const out = handler(event);
  if (out instanceof Promise) out.catch((err) => flash(err.message));
};

/** Builds an element; strings among the children become text nodes, never markup. */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), guarded(value));
    else if (key === "dataset") Object.assign(el.dataset, value);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

const jobLink = (id) => h("a", { href: `#/job/${encodeURIComponent(id)}`, class: "mono" }, id);
const queueLink = (q, label = q) =>
  h("a", { href: `#/queue/${encodeURIComponent(q)}/dead` }, label);
const stateHref = (q, s) =>
  s === "DEAD" ? `#/queue/${encodeURIComponent(q)}/dead` : `#/queue/${encodeURIComponent(q)}/jobs/${s}`;

function flash(message, kind = "error") {
  const box = document.getElementById("flash");
  box.textContent = message;
  box.className = kind;
  box.hidden = false;
  clearTimeout(flash.timer);
  flash.timer = setTimeout(() => (box.hidden = true), 6000);
}

function age(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  const s = Math.max(0, seconds);
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.floor(s % 60)} s`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}

function when(iso) {
  if (!iso) return "–";
  const span = h("time", { datetime: iso, title: iso }, iso.replace("T", " ").replace("Z", ""));
  const ago = (Date.now() - Date.parse(iso)) / 1000;
  return [span, h("span", { class: "muted" }, ago >= 0 ? ` (${age(ago)} ago)` : ` (in ${age(-ago)})`)];
}

const json = (value) => h("pre", { class: "json" }, JSON.stringify(value, null, 2));

// -- API ---------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

let tokenPrompt = null; // one prompt shared by every request that got a 401

function askToken() {
  tokenPrompt ??= new Promise((resolve) => {
    const dialog = document.getElementById("token-dialog");
    const input = dialog.querySelector("input");
    input.value = "";
    dialog.addEventListener(
      "close",
      () => {
        const token = dialog.returnValue === "ok" ? input.value.trim() : "";
        if (token) sessionStorage.setItem(TOKEN_KEY, token);
        tokenPrompt = null;
        resolve(token);
      },
      { once: true },
    );
    dialog.showModal();
  });
  return tokenPrompt;
}

/** Calls the API with a relative path; on a 401, asks for a token once and retries. */
async function api(path, { method = "GET", body, retried = false } = {}) {
  const headers = { Accept: "application/json" };
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 401 && !retried) {
    if (await askToken()) return api(path, { method, body, retried: true });
  }
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    const err = data?.error ?? {};
    throw new ApiError(response.status, err.code ?? "http_error", err.message ?? response.statusText);
  }
  return data;
}

const query = (params) => {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined) q.set(k, v);
  return q.toString();
};

// -- Stats polling and throughput ------------------------------------------------------

const stats = { latest: null, samples: [], listeners: new Set() };

/** jobs/s finishing (DONE + DEAD) between two samples; purges make deltas negative. */
function rate(a, b, queue = null) {
  const finished = (s) =>
    Object.entries(s.queues)
      .filter(([name]) => queue === null || name === queue)
      .reduce((sum, [, c]) => sum + c.DONE + c.DEAD, 0);
  const dt = (b.t - a.t) / 1000;
  return dt > 0 ? Math.max(0, finished(b) - finished(a)) / dt : 0;
}

/** Average rate over the last `seconds`, from the samples kept. */
function recentRate(queue, seconds = 10) {
  const s = stats.samples;
  if (s.length < 2) return null;
  const last = s[s.length - 1];
  let first = s.length - 2;
  while (first > 0 && last.t - s[first - 1].t <= seconds * 1000) first--;
  let total = 0;
  for (let i = first + 1; i < s.length; i++) total += rate(s[i - 1], s[i], queue) * (s[i].t - s[i - 1].t);
  return total / (last.t - s[first].t);
}

async function pollStats() {
  try {
    const data = await api("stats");
    const sample = { t: Date.now(), queues: data.queues };
    stats.latest = sample;
    stats.samples.push(sample);
    while (stats.samples.length && sample.t - stats.samples[0].t > WINDOW_MS) stats.samples.shift();
    document.getElementById("live").textContent = `live · ${new Date(sample.t).toLocaleTimeString()}`;
    document.getElementById("live").className = "ok";
    for (const listener of stats.listeners) listener(sample);
  } catch (err) {
    document.getElementById("live").textContent = `stats unavailable (${err.message})`;
    document.getElementById("live").className = "bad";
  } finally {
    // A chained timeout, not an interval: a slow /stats never piles up requests.
    setTimeout(pollStats, POLL_MS);
  }
}

// -- Throughput chart (canvas) ---------------------------------------------------------

function drawChart(canvas) {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth;
  const height = canvas.clientHeight;
  canvas.width = width * ratio;
  canvas.height = height * ratio;
  const ctx = canvas.getContext("2d");
  ctx.scale(ratio, ratio);
  const pad = { left: 48, right: 12, top: 12, bottom: 22 };
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const now = Date.now();
  const points = [];
  for (let i = 1; i < stats.samples.length; i++) {
    const b = stats.samples[i];
    points.push({ t: b.t, v: rate(stats.samples[i - 1], b) });
  }
  const max = niceMax(Math.max(1, ...points.map((p) => p.v)));
  const x = (t) => pad.left + plotW * (1 - (now - t) / WINDOW_MS);
  const y = (v) => pad.top + plotH * (1 - v / max);
  const css = getComputedStyle(document.documentElement);

  ctx.font = "11px system-ui, sans-serif";
  ctx.fillStyle = css.getPropertyValue("--muted");
  ctx.strokeStyle = css.getPropertyValue("--grid");
  ctx.lineWidth = 1;
  for (let i = 0; i <= 4; i++) {
    const v = (max * i) / 4;
    ctx.beginPath();
    ctx.moveTo(pad.left, Math.round(y(v)) + 0.5);
    ctx.lineTo(width - pad.right, Math.round(y(v)) + 0.5);
    ctx.stroke();
    ctx.textAlign = "right";
    ctx.fillText(formatRate(v), pad.left - 6, y(v) + 4);
  }
  ctx.textAlign = "center";
  for (let m = 0; m <= 5; m++) ctx.fillText(m ? `-${m} min` : "now", x(now - m * 60000), height - 6);

  if (points.length < 1) {
    ctx.fillText("collecting samples…", pad.left + plotW / 2, pad.top + plotH / 2);
    return;
  }
  ctx.beginPath();
  points.forEach((p, i) => (i ? ctx.lineTo(x(p.t), y(p.v)) : ctx.moveTo(x(p.t), y(p.v))));
  ctx.strokeStyle = css.getPropertyValue("--accent");
  ctx.lineWidth = 2;
  ctx.stroke();
  ctx.lineTo(x(points[points.length - 1].t), y(0));
  ctx.lineTo(x(points[0].t), y(0));
  ctx.fillStyle = css.getPropertyValue("--accent-fill");
  ctx.fill();
}

function niceMax(v) {
  const p = 10 ** Math.floor(Math.log10(v));
  return [1, 2, 2.5, 5, 10].map((m) => m * p).find((m) => m >= v);
}

const formatRate = (v) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));

// -- Views -----------------------------------------------------------------------------

function overview(root) {
  const tbody = h("tbody");
  const canvas = h("canvas", { id: "throughput", "aria-label": "Throughput chart" });
  const summary = h("p", { class: "muted", id: "throughput-now" });
  const table = h(
    "table",
    { id: "queues" },
    h("thead", {}, h("tr", {}, h("th", {}, "Queue"), STATES.map((s) => h("th", { class: "num" }, s)),
      h("th", { class: "num" }, "Oldest ready"), h("th", { class: "num" }, "Jobs/s (10 s)"))),
    tbody,
  );
  const render = (sample) => {
    const names = Object.keys(sample.queues).sort();
    tbody.replaceChildren(
      ...names.map((name) => row(name, sample.queues[name])),
      ...(names.length ? [] : [h("tr", {}, h("td", { colspan: 8, class: "muted" }, "No jobs yet."))]),
    );
    const total = recentRate(null);
    summary.textContent = total === null ? "" : `${formatRate(total)} jobs/s finished over the last 10 s`;
    drawChart(canvas);
  };
  const row = (name, c) =>
    h("tr", { dataset: { queue: name } },
      h("td", {}, queueLink(name)),
      STATES.map((s) => h("td", { class: "num", dataset: { col: s } },
        c[s] ? h("a", { href: stateHref(name, s) }, c[s].toLocaleString()) : "0")),
      h("td", { class: "num", dataset: { col: "oldest" } }, c.QUEUED ? age(c.oldest_queued_age_s) : "–"),
      h("td", { class: "num" }, formatRate(recentRate(name) ?? 0)));
  root.replaceChildren(
    h("section", {}, h("h1", {}, "Throughput"), h("div", { class: "chart" }, canvas), summary),
    h("section", {}, h("h1", {}, "Queues"), table),
  );
  if (stats.latest) render(stats.latest);
  else tbody.append(h("tr", {}, h("td", { colspan: 8, class: "muted" }, "Loading…")));
  stats.listeners.add(render);
  return () => stats.listeners.delete(render);
}

async function deadLetters(root, queue) {
  const state = { jobs: [], cursor: null, selected: new Set(), filter: null };
  const groupsBox = h("div", { id: "groups" }, h("p", { class: "muted" }, "Loading groups…"));
  const tbody = h("tbody");
  const more = h("button", { id: "more", onclick: () => loadPage() }, "Load more");
  const selectedCount = h("span", { class: "muted" });
  const toolbar = h("div", { class: "toolbar" },
    h("button", { id: "requeue-selected", onclick: () => act("requeue", [...state.selected]) }, "Requeue selected"),
    h("button", { id: "cancel-selected", onclick: () => act("cancel", [...state.selected]) }, "Cancel selected"),
    selectedCount);
  const selectAll = h("input", { type: "checkbox", "aria-label": "Select all shown", onchange: (e) => {
    for (const job of shown()) e.target.checked ? state.selected.add(job.id) : state.selected.delete(job.id);
    renderRows();
  } });

  const shown = () => state.jobs.filter((j) => state.filter === null || j.last_error === state.filter.error);

  function renderRows() {
    const rows = shown().map((job) =>
      h("tr", { dataset: { job: job.id } },
        h("td", {}, h("input", { type: "checkbox", "aria-label": `Select ${job.id}`, checked: state.selected.has(job.id),
          onchange: (e) => { e.target.checked ? state.selected.add(job.id) : state.selected.delete(job.id); count(); } })),
        h("td", {}, jobLink(job.id)),
        h("td", {}, job.task ?? "–"),
        h("td", { class: "num" }, `${job.attempts}/${job.max_tries}`),
        h("td", { class: "error clamp", title: job.last_error ?? "" }, job.last_error ?? "–"),
        h("td", {}, when(job.updated_at)),
        h("td", { class: "actions" },
          h("button", { class: "requeue", onclick: () => act("requeue", [job.id]) }, "Requeue"),
          h("button", { class: "cancel", onclick: () => act("cancel", [job.id]) }, "Cancel"))));
    tbody.replaceChildren(...rows);
    if (!rows.length) tbody.append(h("tr", {}, h("td", { colspan: 7, class: "muted" }, "The dead letter queue is empty.")));
    more.hidden = state.cursor === null;
    count();
  }

  const count = () => {
    selectedCount.textContent = state.selected.size ? `${state.selected.size} selected` : "";
  };

  async function loadPage() {
    const page = await api(`dead?${query({ queue, limit: PAGE, cursor: state.cursor })}`);
    state.jobs.push(...page.jobs);
    state.cursor = page.next_cursor;
    renderRows();
  }

  async function loadGroups() {
    let groups;
    let note = "";
    try {
      groups = (await api(`dead/groups?${query({ queue })}`)).groups;
    } catch (err) {
      if (err.status !== 404) throw err;
      // An older server has no /dead/groups: group what is loaded, and say so.
      const byError = new Map();
      for (const job of state.jobs) {
        const g = byError.get(job.last_error) ?? { error: job.last_error, count: 0, job_ids: [] };
        g.count++;
        g.job_ids.push(job.id);
        byError.set(job.last_error, g);
      }
      groups = [...byError.values()].sort((a, b) => b.count - a.count);
      note = "Grouped from the jobs loaded below (this server has no /dead/groups).";
    }
    groupsBox.replaceChildren(
      h("table", { class: "groups" },
        h("thead", {}, h("tr", {}, h("th", { class: "num" }, "Jobs"), h("th", {}, "Last error"), h("th", {}, ""))),
        h("tbody", {}, groups.map((g) =>
          h("tr", { class: state.filter && state.filter.error === g.error ? "active" : "" },
            h("td", { class: "num" }, g.count.toLocaleString()),
            h("td", { class: "error" }, g.error ?? "(no error message)"),
            h("td", { class: "actions" },
              h("button", { class: "filter", onclick: () => { state.filter = state.filter?.error === g.error ? null : g; renderRows(); loadGroups(); } },
                state.filter?.error === g.error ? "Show all" : "Show"),
              h("button", { class: "requeue-group", onclick: () => requeueGroup(g) }, `Requeue all ${g.count.toLocaleString()}`)))))),
      groups.length ? "" : h("p", { class: "muted" }, "No dead jobs."),
      note ? h("p", { class: "muted" }, note) : "");
  }

  async function requeueGroup(group) {
    if (!confirm(`Requeue ${group.count} job(s) failing with: ${group.error ?? "(no error)"}?`)) return;
    let total = 0;
    let ids = group.job_ids;
    // /dead/groups lists up to 1000 ids per group: requeue, look again, until none are left.
    for (let round = 0; ids.length && round < 10000; round++) {
      const { requeued } = await api("dead/requeue", { method: "POST", body: { job_ids: ids } });
      total += requeued;
      if (!requeued) break;
      const next = await api(`dead/groups?${query({ queue })}`).catch(() => ({ groups: [] }));
      ids = next.groups.find((g) => g.error === group.error)?.job_ids ?? [];
    }
    flash(`Requeued ${total} job(s).`, "ok");
    await reload();
  }

  async function act(kind, ids) {
    if (!ids.length) return flash("Select jobs first.");
    try {
      if (kind === "requeue") {
        const { requeued } = await api("dead/requeue", { method: "POST", body: { job_ids: ids } });
        flash(`Requeued ${requeued} job(s).`, "ok");
      } else {
        for (const id of ids) await api(`jobs/${encodeURIComponent(id)}/cancel`, { method: "POST" });
        flash(`Cancelled ${ids.length} job(s).`, "ok");
      }
    } catch (err) {
      flash(`${kind} failed: ${err.message}`);
    }
    await reload();
  }

  async function reload() {
    state.jobs = [];
    state.cursor = null;
    state.selected.clear();
    state.filter = null;
    await loadPage();
    await loadGroups();
  }

  root.replaceChildren(
    h("h1", {}, "Dead letters · ", h("span", { class: "mono" }, queue)),
    tabs(queue, "DEAD"),
    h("section", {}, h("h2", {}, "By error"), groupsBox),
    h("section", {}, h("h2", {}, "Jobs"), toolbar,
      h("table", { id: "dead" },
        h("thead", {}, h("tr", {}, h("th", {}, selectAll), h("th", {}, "Job"), h("th", {}, "Task"),
          h("th", { class: "num" }, "Tries"), h("th", {}, "Last error"), h("th", {}, "Died"), h("th", {}, ""))),
        tbody),
      more),
  );
  await reload();
}

const tabs = (queue, current) =>
  h("nav", { class: "tabs" }, STATES.map((s) => h("a", { href: stateHref(queue, s), class: s === current && "current" }, s)));

async function jobList(root, queue, state) {
  let cursor = null;
  const tbody = h("tbody");
  const more = h("button", { id: "more", onclick: () => load() }, "Load more");
  const row = (job) =>
    h("tr", { dataset: { job: job.id } },
      h("td", {}, jobLink(job.id)), h("td", {}, job.task ?? "–"),
      h("td", { class: "num" }, `${job.attempts}/${job.max_tries}`),
      h("td", { class: "mono" }, job.lease_owner ?? "–"), h("td", {}, when(job.updated_at)),
      h("td", { class: "mono clamp" }, JSON.stringify(job.payload).slice(0, 200)));
  async function load() {
    const page = await api(`jobs?${query({ queue, state, limit: PAGE, cursor })}`);
    tbody.append(...page.jobs.map(row));
    cursor = page.next_cursor;
    more.hidden = cursor === null;
    if (!tbody.children.length) tbody.append(h("tr", {}, h("td", { colspan: 6, class: "muted" }, "No jobs.")));
  }
  root.replaceChildren(
    h("h1", {}, "Jobs · ", h("span", { class: "mono" }, queue)),
    tabs(queue, state),
    h("table", { id: "jobs" },
      h("thead", {}, h("tr", {}, ["Job", "Task", "Tries", "Lease owner", "Updated", "Payload"].map((t) => h("th", {}, t)))),
      tbody),
    more,
  );
  await load();
}

async function jobPage(root, id) {
  const path = `jobs/${encodeURIComponent(id)}`;
  const { job } = await api(path);
  const fields = [
    ["State", h("span", { class: `state ${job.state}`, id: "job-state" }, job.state)],
    ["Queue", queueLink(job.queue)], ["Task", job.task ?? "–"],
    ["Attempts", `${job.attempts} of ${job.max_tries}`], ["Priority", job.priority],
    ["Run at", when(job.run_at)], ["Lease owner", job.lease_owner ?? "–"],
    ["Lease expires", when(job.lease_expires_at)], ["Idempotency key", job.idempotency_key ?? "–"],
    ["Created", when(job.created_at)], ["Updated", when(job.updated_at)],
  ];
  const actions = h("div", { class: "toolbar" },
    job.state === "DEAD" && h("button", { onclick: () => mutate("dead/requeue", { job_ids: [id] }) }, "Requeue"),
    ["QUEUED", "DEAD"].includes(job.state) && h("button", { onclick: () => mutate(`${path}/cancel`) }, "Cancel"));
  async function mutate(target, body) {
    try {
      await api(target, { method: "POST", body });
      await jobPage(root, id);
    } catch (err) {
      flash(err.message);
    }
  }
  root.replaceChildren(
    h("h1", {}, "Job ", h("span", { class: "mono" }, job.id)),
    actions,
    h("dl", { id: "job-fields" }, fields.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])),
    h("section", {}, h("h2", {}, "Last error"), job.last_error ? h("pre", { class: "error", id: "job-error" }, job.last_error) : h("p", { class: "muted" }, "None.")),
    h("section", {}, h("h2", {}, "Payload"), json(job.payload)),
    h("section", {}, h("h2", {}, "Result"), job.result === null ? h("p", { class: "muted" }, "None.") : json(job.result)),
    h("section", {}, h("h2", {}, "History"), await history(path)),
  );
}

async function history(path) {
  let events;
  try {
    events = (await api(`${path}/events`)).events;
  } catch (err) {
    if (err.status === 404) return h("p", { class: "muted", id: "history" }, "No history available.");
    throw err;
  }
  return h("table", { id: "history" },
    h("thead", {}, h("tr", {}, ["At", "Event", "State", "Attempt", "Worker", "Error"].map((t) => h("th", {}, t)))),
    h("tbody", {}, events.map((e) =>
      h("tr", { dataset: { kind: e.kind } },
        h("td", {}, when(e.at)), h("td", {}, e.kind), h("td", {}, h("span", { class: `state ${e.state}` }, e.state)),
        h("td", { class: "num" }, e.attempt), h("td", { class: "mono" }, e.worker_id ?? "–"),
        h("td", { class: "error" }, e.error ?? "")))));
}

async function workers(root) {
  root.replaceChildren(h("h1", {}, "Workers"), h("p", { class: "muted" }, "Loading…"));
  let list;
  try {
    list = (await api("workers")).workers;
  } catch (err) {
    if (err.status !== 404) throw err;
    root.replaceChildren(h("h1", {}, "Workers"), h("p", { class: "muted" }, "This server does not list workers."));
    return;
  }
  root.replaceChildren(
    h("h1", {}, "Workers"),
    h("table", { id: "workers" },
      h("thead", {}, h("tr", {}, h("th", {}, "Worker"), h("th", {}, "Last seen"), h("th", {}, "Holding"),
        h("th", { class: "num" }, "Done"), h("th", { class: "num" }, "Failed"))),
      h("tbody", {},
        list.length ? "" : h("tr", {}, h("td", { colspan: 5, class: "muted" }, "No workers seen.")),
        list.map((w) =>
          h("tr", { dataset: { worker: w.worker_id } },
            h("td", { class: "mono" }, w.worker_id), h("td", {}, when(w.last_seen_at)),
            h("td", {}, w.jobs.length ? w.jobs.flatMap((id, i) => (i ? [" ", jobLink(id)] : [jobLink(id)])) : "–"),
            h("td", { class: "num" }, w.done.toLocaleString()), h("td", { class: "num" }, w.failed.toLocaleString()))))),
  );
}

// -- Router ----------------------------------------------------------------------------

let leaveView = null;

const safeDecode = (part) => {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
};

async function route() {
  leaveView?.();
  leaveView = null;
  // Each visit renders into its own box, so a slow answer for a page the user has
  // already left cannot overwrite the page they are on now.
  const root = h("div");
  document.getElementById("view").replaceChildren(root);
  const parts = location.hash.replace(/^#\/?/, "").split("/").map(safeDecode);
  const section = parts[0] === "job" ? "" : parts[0] === "workers" ? "workers" : "overview";
  for (const a of document.querySelectorAll("nav a[data-nav]")) a.classList.toggle("current", a.dataset.nav === section);
  try {
    if (parts[0] === "queue" && parts[1] && parts[2] === "dead") await deadLetters(root, parts[1]);
    else if (parts[0] === "queue" && parts[2] === "jobs" && STATES.includes(parts[3])) await jobList(root, parts[1], parts[3]);
    else if (parts[0] === "job" && parts[1]) await jobPage(root, parts[1]);
    else if (parts[0] === "workers") await workers(root);
    else leaveView = overview(root);
  } catch (err) {
    root.replaceChildren(h("h1", {}, "Something went wrong"), h("p", { class: "error" }, `${err.status ?? ""} ${err.message}`));
  }
}

document.getElementById("goto-job").addEventListener("submit", (e) => {
  e.preventDefault();
  const id = e.target.elements.id.value.trim();
  if (id) location.hash = `#/job/${encodeURIComponent(id)}`;
});
window.addEventListener("hashchange", route);
window.addEventListener("resize", () => document.getElementById("throughput") && stats.latest && drawChart(document.getElementById("throughput")));
route();
pollStats();
