// "#/schedules": every schedule with its cadence, next and last run and last job, its run
// history on demand (the slots taken, their lag, what came of each), and its actions:
// pause or resume, trigger one run now, delete; each asks for confirmation first.
//
// The actions need an admin token. The dashboard cannot ask the server which role a
// token has, so it offers them until the server refuses one with a 403, then hides them
// for the rest of the tab's life and says why.

import { api } from "../lib/api.js";
import { emptyRow, flash, h, head, jobLink, muted, when } from "../lib/render.js";

let readOnly = false; // the server answered 403 to an action: this token may only read

const path = (name, action = "") => `schedules/${encodeURIComponent(name)}${action}`;

function cadence(s) {
  const what = s.cron === null ? `every ${s.every} s` : s.cron;
  return [h("span", { class: "mono" }, what), s.cron === null ? null : h("span", { class: "muted" }, ` ${s.timezone}`)];
}

/** Asks, runs one action, says what it did, and draws the page again. */
async function act(root, question, done, request) {
  if (!confirm(question)) return;
  try {
    flash(done(await request()), "ok");
  } catch (err) {
    if (err.status === 403) readOnly = true;
    flash(`Failed: ${err.message}`);
  }
  await schedules(root);
}

function actions(root, s) {
  if (readOnly) return null;
  const post = (action) => () => api(path(s.name, action), { method: "POST" });
  const toggle = s.paused
    ? h("button", { class: "resume", onclick: () => act(root,
        `Resume schedule ${s.name}? Slots missed while it was paused are not replayed.`,
        () => `Resumed ${s.name}.`, post("/resume")) }, "Resume")
    : h("button", { class: "pause", onclick: () => act(root,
        `Pause schedule ${s.name}? Its slots enqueue nothing until it is resumed.`,
        () => `Paused ${s.name}.`, post("/pause")) }, "Pause");
  return [toggle,
    h("button", { class: "trigger", onclick: () => act(root,
      `Enqueue one run of ${s.name} now, outside its slots?`,
      ({ job }) => `Enqueued job ${job.id}.`, post("/trigger")) }, "Trigger"),
    h("button", { class: "delete", onclick: () => act(root,
      `Delete schedule ${s.name}? The jobs it enqueued stay.`,
      () => `Deleted ${s.name}.`, () => api(path(s.name), { method: "DELETE" })) }, "Delete")];
}

const RUNS_SHOWN = 20;

function runRow(r) {
  const lag = r.slot_at === null ? null : (Date.parse(r.at) - Date.parse(r.slot_at)) / 1000;
  return h("tr", { dataset: { outcome: r.outcome } },
    h("td", {}, r.slot_at === null ? h("span", { class: "muted" }, "trigger") : when(r.slot_at)),
    h("td", { class: "num" }, lag === null ? "–" : `${lag.toFixed(2)} s`),
    h("td", {}, h("span", { class: `badge ${r.outcome}` }, r.outcome)),
    h("td", {}, r.job_id ? jobLink(r.job_id) : "–"),
    h("td", { class: "num" }, r.skipped ? r.skipped.toLocaleString() : "–"));
}

/** Opens (or closes) the row under a schedule that lists its latest runs. */
async function toggleRuns(button, s) {
  const row = button.closest("tr");
  if (row.nextElementSibling?.classList.contains("runs")) {
    row.nextElementSibling.remove();
    return;
  }
  const { runs } = await api(`${path(s.name, "/runs")}?limit=${RUNS_SHOWN}`);
  row.after(h("tr", { class: "runs", dataset: { runsOf: s.name } }, h("td", { colspan: 8 },
    h("table", { class: "runs" },
      head("Slot", h("th", { class: "num" }, "Lag"), "Outcome", "Job", h("th", { class: "num" }, "Missed")),
      h("tbody", {}, runs.length ? runs.map(runRow) : emptyRow(5, "No runs yet."))))));
}

function scheduleRow(root, s) {
  return h("tr", { dataset: { schedule: s.name } },
    h("td", { class: "mono" }, s.name),
    h("td", {}, cadence(s)),
    h("td", { "data-col": "next" }, s.paused ? h("span", { class: "muted" }, "paused") : when(s.next_run_at)),
    h("td", { "data-col": "last" }, when(s.last_run_at)),
    h("td", { "data-col": "job" }, s.last_job_id ? jobLink(s.last_job_id) : "–",
      " ", h("button", { class: "link runs-toggle", onclick: (e) => toggleRuns(e.currentTarget, s) }, "runs")),
    h("td", {}, s.job.task ?? "–", h("span", { class: "muted" }, ` on ${s.job.queue}`)),
    h("td", {}, s.paused && h("span", { class: "badge paused" }, "paused"),
      s.overlap === "skip" && h("span", { class: "badge", title: "No new job while the last one is queued or running" }, "skip overlap")),
    h("td", { class: "actions" }, actions(root, s)));
}

export async function schedules(root) {
  const list = (await api("schedules")).schedules;
  // replaceChildren, unlike h, would write a null out as the text "null".
  root.replaceChildren(...[
    h("h1", {}, "Schedules"),
    h("div", { class: "scroll" }, h("table", { id: "schedules" },
      head("Name", "When", "Next run", "Last run", "Last job", "Task", "", ""),
      h("tbody", {}, list.length ? list.map((s) => scheduleRow(root, s))
        : emptyRow(8, "No schedules. Create one with PUT /schedules/{name} or leaseq schedule set.")))),
    readOnly && muted("Pause, resume, trigger and delete need an admin token."),
  ].filter(Boolean));
}
