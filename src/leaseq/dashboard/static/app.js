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
const stateHref = (q, s) =>
  s === "DEAD" ? `#/queue/${encodeURIComponent(q)}/dead` : `#/queue/${encodeURIComponent(q)}/jobs/${s}`;
const queueLink = (q) => h("a", { href: stateHref(q, "QUEUED") }, q);

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

const muted = (text) => h("p", { class: "muted" }, text);
const num = (label) => h("th", { class: "num" }, label);
const head = (...cols) =>
  h("thead", {}, h("tr", {}, cols.flat().map((c) => (c?.tagName === "TH" ? c : h("th", {}, c)))));
const emptyRow = (colspan, text) => h("tr", {}, h("td", { colspan, class: "muted" }, text));
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
let tokenDeclined = false; // after Cancel, polling must not reopen the prompt every 2 s
let tokenRefused = false; // the last token sent got a 401: say so in the prompt

function askToken(message) {
  if (tokenDeclined) return Promise.resolve("");
  tokenPrompt ??= new Promise((resolve) => {
    const dialog = document.getElementById("token-dialog");
    const input = dialog.querySelector("input");
    dialog.querySelector("p").textContent = message;
    input.value = "";
    dialog.addEventListener(
      "close",
      () => {
        const token = dialog.returnValue === "ok" ? input.value.trim() : "";
        if (token) sessionStorage.setItem(TOKEN_KEY, token);
        else tokenDeclined = true;
        tokenRefused = false;
        tokenPrompt = null;
        resolve(token);
      },
      { once: true },
    );
    dialog.showModal();
  });
  return tokenPrompt;
}

function signIn() {
  tokenDeclined = false;
  return askToken("The server asks for a token. It is kept for this tab only.");
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
  if (response.status === 401) {
    const current = sessionStorage.getItem(TOKEN_KEY);
    // Signed in while this request was on its way: just try again with the new token.
    if (!retried && current && current !== token) return api(path, { method, body, retried: true });
    if (token && current === token) {
      sessionStorage.removeItem(TOKEN_KEY); // refused: the next call asks again
      tokenRefused = true;
    }
    const message = tokenRefused
      ? "The server refused that token. Enter another one."
      : "The server asks for a token. It is kept for this tab only.";
    if (!retried && (await askToken(message))) return api(path, { method, body, retried: true });
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
    const live = document.getElementById("live");
    live.textContent = `live · ${new Date(sample.t).toLocaleTimeString()}`;
    live.className = "ok";
    for (const listener of stats.listeners) listener(sample);
  } catch (err) {
    const live = document.getElementById("live");
    live.className = "bad";
    if (err.status === 401) live.replaceChildren(h("button", { onclick: signIn }, "Sign in"));
    else live.textContent = `stats unavailable (${err.message})`;
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
  const table = h("table", { id: "queues" },
    head("Queue", STATES.map(num), num("Oldest ready"), num("Jobs/s (10 s)")), tbody);
  const render = (sample) => {
    const names = Object.keys(sample.queues).sort();
    tbody.replaceChildren(
      ...(names.length ? names.map((name) => row(name, sample.queues[name])) : [emptyRow(8, "No jobs yet.")]),
    );
    const total = recentRate(null);
    summary.textContent = total === null ? "" : `${formatRate(total)} jobs/s finished in the last 10 s`;
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
  else tbody.append(emptyRow(8, "Loading…"));
  stats.listeners.add(render);
  return () => stats.listeners.delete(render);
}

/** Requeues DEAD jobs by id, in requests of at most 1000 ids (the API's batch limit). */
async function requeue(ids) {
  let total = 0;
  for (let i = 0; i < ids.length; i += 1000) {
    const body = { job_ids: ids.slice(i, i + 1000) };
    total += (await api("dead/requeue", { method: "POST", body })).requeued;
  }
  return total;
}

async function cancel(ids) {
  for (const id of ids) await api(`jobs/${encodeURIComponent(id)}/cancel`, { method: "POST" });
  return ids.length;
}

/** Up to 1000 ids of a queue's DEAD jobs with this last error; none from an older server. */
async function groupIds(queue, error) {
  try {
    const { groups } = await api(`dead/groups?${query({ queue })}`);
    return groups.find((g) => g.error === error)?.job_ids ?? [];
  } catch (err) {
    if (err.status === 404) return [];
    throw err;
  }
}

/** A whole group, 1000 at a time: requeue the ids named, ask again, until none are left. */
async function requeueGroup(queue, error, ids = null) {
  let total = 0;
  for (;;) {
    ids ??= await groupIds(queue, error);
    const moved = ids.length ? await requeue(ids) : 0;
    if (!moved) return total; // none left, or someone else took them: stop, do not spin
    total += moved;
    ids = null;
  }
}

/** An older server has no /dead/groups: group the loaded jobs instead, and say so. */
function groupLoaded(jobs) {
  const byError = new Map();
  for (const job of jobs) {
    const g = byError.get(job.last_error) ?? { error: job.last_error, count: 0, job_ids: [] };
    g.count++;
    g.job_ids.push(job.id);
    byError.set(job.last_error, g);
  }
  return [...byError.values()].sort((a, b) => b.count - a.count);
}

async function deadLetters(root, queue) {
  const state = { jobs: [], cursor: null, selected: new Set(), filter: undefined };
  const groupsBox = h("div", { id: "groups" }, muted("Loading groups…"));
  const tbody = h("tbody");
  const more = h("button", { id: "more", onclick: () => loadPage() }, "Load more");
  const selectedCount = h("span", { class: "muted" });
  const shown = () =>
    state.jobs.filter((j) => state.filter === undefined || j.last_error === state.filter);
  const select = (id, on) => (on ? state.selected.add(id) : state.selected.delete(id));
  const count = () => {
    selectedCount.textContent = state.selected.size ? `${state.selected.size} selected` : "";
  };

  const checkbox = (job) =>
    h("input", {
      type: "checkbox",
      "aria-label": `Select ${job.id}`,
      checked: state.selected.has(job.id),
      onchange: (e) => (select(job.id, e.target.checked), count()),
    });
  const row = (job) =>
    h("tr", { dataset: { job: job.id } },
      h("td", {}, checkbox(job)),
      h("td", {}, jobLink(job.id)),
      h("td", {}, job.task ?? "–"),
      h("td", { class: "num" }, `${job.attempts}/${job.max_tries}`),
      h("td", { class: "error clamp", title: job.last_error ?? "" }, job.last_error ?? "–"),
      h("td", {}, when(job.updated_at)),
      h("td", { class: "actions" },
        h("button", { class: "requeue", onclick: () => act("Requeued", () => requeue([job.id])) }, "Requeue"),
        h("button", { class: "cancel", onclick: () => act("Cancelled", () => cancel([job.id])) }, "Cancel")));

  function renderRows() {
    const rows = shown().map(row);
    const empty = state.filter === undefined ? "The dead letter queue is empty." : "None loaded.";
    tbody.replaceChildren(...(rows.length ? rows : [emptyRow(7, empty)]));
    more.hidden = state.cursor === null;
    count();
  }

  async function loadPage() {
    const page = await api(`dead?${query({ queue, limit: PAGE, cursor: state.cursor })}`);
    state.jobs.push(...page.jobs);
    state.cursor = page.next_cursor;
    renderRows();
  }

  const groupRow = (g) => {
    const active = state.filter === g.error;
    const toggle = () => {
      state.filter = active ? undefined : g.error;
      renderRows();
      return loadGroups();
    };
    const all = async () => {
      if (!confirm(`Requeue ${g.count} job(s) failing with: ${g.error ?? "(no error)"}?`)) return;
      // Groups listed without ids (ids=0) fetch them now; a local grouping already has them.
      await act("Requeued", () => requeueGroup(queue, g.error, g.job_ids.length ? g.job_ids : null));
    };
    return h("tr", { class: active && "active" },
      h("td", { class: "num" }, g.count.toLocaleString()),
      h("td", { class: "error" }, g.error ?? "(no error message)"),
      h("td", { class: "actions" },
        h("button", { class: "filter", onclick: toggle }, active ? "Show all" : "Show"),
        h("button", { class: "requeue-group", onclick: all }, `Requeue all ${g.count.toLocaleString()}`)));
  };

  async function loadGroups() {
    let groups;
    let note = null;
    try {
      // ids=0: the list only needs counts; 20 groups of 1000 ids would be ~800 kB.
      groups = (await api(`dead/groups?${query({ queue, ids: 0 })}`)).groups;
    } catch (err) {
      if (err.status !== 404) throw err;
      groups = groupLoaded(state.jobs);
      note = muted("Grouped from the jobs loaded below (this server has no /dead/groups).");
    }
    groupsBox.replaceChildren(
      h("table", { class: "groups" },
        head(num("Jobs"), "Last error", ""), h("tbody", {}, groups.map(groupRow))),
      groups.length ? null : muted("No dead jobs."),
      note,
    );
  }

  /** Runs a requeue or cancel, says how many jobs it moved, and reloads the page. */
  async function act(verb, run) {
    try {
      flash(`${verb} ${await run()} job(s).`, "ok");
    } catch (err) {
      flash(`Failed: ${err.message}`);
    }
    await reload();
  }

  const onSelected = (verb, action) => () =>
    state.selected.size ? act(verb, () => action([...state.selected])) : flash("Select jobs first.");

  async function reload() {
    Object.assign(state, { jobs: [], cursor: null, filter: undefined });
    state.selected.clear();
    await loadPage();
    await loadGroups();
  }

  const selectAll = h("input", {
    type: "checkbox",
    "aria-label": "Select all shown",
    onchange: (e) => {
      for (const job of shown()) select(job.id, e.target.checked);
      renderRows();
    },
  });
  root.replaceChildren(
    h("h1", {}, "Dead letters · ", h("span", { class: "mono" }, queue)),
    tabs(queue, "DEAD"),
    h("section", {}, h("h2", {}, "By error"), groupsBox),
    h("section", {}, h("h2", {}, "Jobs"),
      h("div", { class: "toolbar" },
        h("button", { id: "requeue-selected", onclick: onSelected("Requeued", requeue) }, "Requeue selected"),
        h("button", { id: "cancel-selected", onclick: onSelected("Cancelled", cancel) }, "Cancel selected"),
        selectedCount),
      h("table", { id: "dead" },
        head(h("th", {}, selectAll), "Job", "Task", num("Tries"), "Last error", "Died", ""), tbody),
      more),
  );
  await reload();
}

const tabs = (queue, current) =>
  h("nav", { class: "tabs" },
    STATES.map((s) => h("a", { href: stateHref(queue, s), class: s === current && "current" }, s)));

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
    if (!tbody.children.length) tbody.append(emptyRow(6, "No jobs."));
  }
  root.replaceChildren(
    h("h1", {}, "Jobs · ", h("span", { class: "mono" }, queue)),
    tabs(queue, state),
    h("table", { id: "jobs" },
      head("Job", "Task", num("Tries"), "Lease owner", "Updated", "Payload"),
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
    job.state === "DEAD" &&
      h("button", { onclick: () => mutate("dead/requeue", { job_ids: [id] }) }, "Requeue"),
    ["QUEUED", "DEAD"].includes(job.state) &&
      h("button", { onclick: () => mutate(`${path}/cancel`) }, "Cancel"));
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
    h("section", {}, h("h2", {}, "Last error"),
      job.last_error ? h("pre", { class: "error", id: "job-error" }, job.last_error) : muted("None.")),
    h("section", {}, h("h2", {}, "Payload"), json(job.payload)),
    h("section", {}, h("h2", {}, "Result"), job.result === null ? muted("None.") : json(job.result)),
    h("section", {}, h("h2", {}, "History"), await history(path)),
  );
}

async function history(path) {
  // A job that heartbeats for hours has thousands of events: one page, then "Load more".
  let cursor = null;
  const tbody = h("tbody");
  const more = h("button", { id: "history-more", onclick: () => load() }, "Load more");
  const row = (e) =>
    h("tr", { dataset: { kind: e.kind } },
      h("td", {}, when(e.at)),
      h("td", {}, e.kind),
      h("td", {}, h("span", { class: `state ${e.state}` }, e.state)),
      h("td", { class: "num" }, e.attempt), h("td", { class: "mono" }, e.worker_id ?? "–"),
      h("td", { class: "error" }, e.error ?? ""));
  async function load() {
    const page = await api(`${path}/events?${query({ limit: PAGE, cursor })}`);
    tbody.append(...page.events.map(row));
    cursor = page.next_cursor ?? null; // an older server answers every event, no cursor
    more.hidden = cursor === null;
  }
  try {
    await load();
  } catch (err) {
    if (err.status === 404) return h("p", { class: "muted", id: "history" }, "No history available.");
    throw err;
  }
  return [h("table", { id: "history" },
    head("At", "Event", "State", num("Attempt"), "Worker", "Error"), tbody), more];
}

async function workers(root) {
  root.replaceChildren(h("h1", {}, "Workers"), muted("Loading…"));
  let list;
  try {
    list = (await api("workers")).workers;
  } catch (err) {
    if (err.status !== 404) throw err;
    root.replaceChildren(h("h1", {}, "Workers"), muted("This server does not list workers."));
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
            h("td", {}, w.jobs.length ? w.jobs.flatMap((id) => [jobLink(id), " "]) : "–"),
            h("td", { class: "num" }, w.done.toLocaleString()),
            h("td", { class: "num" }, w.failed.toLocaleString()))))),
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
  for (const a of document.querySelectorAll("nav a[data-nav]")) {
    a.classList.toggle("current", a.dataset.nav === section);
  }
  try {
    if (parts[0] === "queue" && parts[1] && parts[2] === "dead") await deadLetters(root, parts[1]);
    else if (parts[0] === "queue" && parts[2] === "jobs" && STATES.includes(parts[3])) {
      await jobList(root, parts[1], parts[3]);
    }
    else if (parts[0] === "job" && parts[1]) await jobPage(root, parts[1]);
    else if (parts[0] === "workers") await workers(root);
    else leaveView = overview(root);
  } catch (err) {
    const detail = `${err.status ?? ""} ${err.message}`.trim();
    root.replaceChildren(h("h1", {}, "Something went wrong"), h("p", { class: "error" }, detail));
  }
}

document.getElementById("goto-job").addEventListener("submit", (e) => {
  e.preventDefault();
  const id = e.target.elements.id.value.trim();
  if (id) location.hash = `#/job/${encodeURIComponent(id)}`;
});
window.addEventListener("hashchange", route);
window.addEventListener("resize", () => {
  const canvas = document.getElementById("throughput");
  if (canvas) drawChart(canvas);
});
route();
pollStats();
