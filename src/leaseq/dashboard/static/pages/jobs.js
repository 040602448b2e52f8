// "#/queue/<queue>/jobs/<state>": a queue's jobs in one state, a page at a time; and two
// views of its QUEUED jobs, SCHEDULED (run_at still ahead: delayed, or waiting out a
// retry's backoff) and RETRYING (leased before, attempts > 0), with their run_at. The
// server answers both (GET /jobs?delayed=true, ?attempted=true), so every page is full
// however many ready jobs the queue holds. The task filter narrows the rows loaded so
// far; "Find" searches the server by task and tag. LEASED jobs also show how far their
// attempt got (progress) and the checkpoint a retry would resume from.

import { query, api } from "../lib/api.js";
import { DEFAULT_PAGE } from "../lib/limits.js";
import {
  emptyRow, h, head, jobLink, num, progressView, rowClass, stateBadge, tabs, tagChips, when,
} from "../lib/render.js";
import { findHref } from "./find.js";

/** The views of QUEUED jobs, as the filters of GET /jobs that give them. */
export const VIEWS = {
  SCHEDULED: { delayed: true },
  RETRYING: { attempted: true },
};

const COLUMNS = 9;
const STEERING = 2; // the LEASED list's progress and checkpoint

/** A cell of JSON, cut short (the job page shows the whole of it). */
const short = (value, col) => h("td", { class: "mono", "data-col": col },
  h("div", { class: "clamp" }, value === null || value === undefined ? "–" : JSON.stringify(value).slice(0, 200)));

function jobRow(job, leased) {
  return h("tr", { dataset: { job: job.id, task: job.task ?? "" }, class: rowClass(job) },
    h("td", {}, jobLink(job.id)), h("td", {}, stateBadge(job.state)), h("td", {}, job.task ?? "–"),
    h("td", { class: "num" }, `${job.attempts}/${job.max_tries}`),
    h("td", { "data-col": "run_at" }, when(job.run_at)),
    h("td", { class: "mono" }, job.lease_owner ?? "–"), h("td", {}, when(job.updated_at)),
    leased && h("td", { "data-col": "progress" }, progressView(job.progress)),
    leased && short(job.checkpoint, "checkpoint"),
    h("td", { class: "tags" }, tagChips(job.tags)),
    short(job.payload, "payload"));
}

export async function jobList(root, queue, view) {
  const filters = VIEWS[view] ?? {};
  const state = VIEWS[view] ? "QUEUED" : view;
  const leased = state === "LEASED";
  const loaded = [];
  let cursor = null;
  const tbody = h("tbody");
  const more = h("button", { id: "more", onclick: () => load() }, "Load more");
  const task = h("input", {
    id: "task-filter", type: "search", placeholder: "Filter by task (loaded rows)",
    "aria-label": "Filter the loaded jobs by task", oninput: () => draw(),
  });
  const count = h("span", { class: "muted", id: "shown-count" });
  function draw() {
    const needle = task.value.trim().toLowerCase();
    const rows = loaded.filter((j) => !needle || (j.task ?? "").toLowerCase().includes(needle));
    const empty = emptyRow(COLUMNS + (leased ? STEERING : 0), "No jobs.");
    tbody.replaceChildren(...(rows.length ? rows.map((j) => jobRow(j, leased)) : [empty]));
    count.textContent = `${rows.length} shown of ${loaded.length} loaded`;
  }
  async function load() {
    const page = await api(`jobs?${query({ queue, state, ...filters, limit: DEFAULT_PAGE, cursor })}`);
    loaded.push(...page.jobs);
    cursor = page.next_cursor;
    more.hidden = cursor === null;
    draw();
  }
  const about = {
    SCHEDULED: "QUEUED jobs whose run_at is still ahead (delayed, or waiting out a retry's backoff).",
    RETRYING: "QUEUED jobs leased before (attempts > 0): a failure or a lost lease; run_at is when they run again.",
  }[view];
  // replaceChildren, unlike h, would write an undefined out as the text "undefined".
  root.replaceChildren(...[
    h("h1", {}, "Jobs · ", h("span", { class: "mono" }, queue)),
    tabs(queue, view),
    about && h("p", { class: "muted" }, about),
    h("div", { class: "toolbar" }, task, count,
      h("a", { id: "find-here", href: findHref({ queue, state }) }, "Find by task and tag on the server →")),
    h("div", { class: "scroll" }, h("table", { id: "jobs" },
      head("Job", "State", "Task", num("Tries"), "Run at", "Lease owner", "Updated",
        ...(leased ? ["Progress", "Checkpoint"] : []), "Tags", "Payload"),
      tbody)),
    more,
  ].filter(Boolean));
  await load();
}
