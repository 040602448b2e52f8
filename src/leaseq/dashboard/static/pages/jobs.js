// "#/queue/<queue>/jobs/<state>": a queue's jobs in one state, a page at a time; and two
// views of its QUEUED jobs, SCHEDULED (run_at still ahead) and RETRYING (failed before,
// attempts > 0), with their run_at. The API filters by state only, so those two views
// are filtered here, in the browser, from pages of QUEUED jobs: a page may show fewer
// rows than it loaded, and "Load more" reads on. The task filter, likewise, narrows the
// rows loaded so far; it does not search the server.

import { query, api } from "../lib/api.js";
import { DEFAULT_PAGE } from "../lib/limits.js";
import { emptyRow, h, head, jobLink, num, rowClass, stateBadge, tabs, tagChips, when } from "../lib/render.js";
import { findHref } from "./find.js";

/** The views that are QUEUED jobs filtered in the browser, with what they keep. */
export const VIEWS = {
  SCHEDULED: (job) => Date.parse(job.run_at) > Date.now(),
  RETRYING: (job) => job.attempts > 0,
};

const COLUMNS = 9;

function jobRow(job) {
  return h("tr", { dataset: { job: job.id, task: job.task ?? "" }, class: rowClass(job) },
    h("td", {}, jobLink(job.id)), h("td", {}, stateBadge(job.state)), h("td", {}, job.task ?? "–"),
    h("td", { class: "num" }, `${job.attempts}/${job.max_tries}`),
    h("td", { "data-col": "run_at" }, when(job.run_at)),
    h("td", { class: "mono" }, job.lease_owner ?? "–"), h("td", {}, when(job.updated_at)),
    h("td", { class: "tags" }, tagChips(job.tags)),
    h("td", { class: "mono" }, h("div", { class: "clamp" }, JSON.stringify(job.payload).slice(0, 200))));
}

export async function jobList(root, queue, view) {
  const keep = VIEWS[view] ?? (() => true);
  const state = VIEWS[view] ? "QUEUED" : view;
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
    tbody.replaceChildren(...(rows.length ? rows.map(jobRow) : [emptyRow(COLUMNS, "No jobs.")]));
    count.textContent = `${rows.length} shown of ${loaded.length} loaded`;
  }
  async function load() {
    const page = await api(`jobs?${query({ queue, state, limit: DEFAULT_PAGE, cursor })}`);
    loaded.push(...page.jobs.filter(keep));
    cursor = page.next_cursor;
    more.hidden = cursor === null;
    draw();
  }
  const about = {
    SCHEDULED: "QUEUED jobs whose run_at is still ahead (delayed, or waiting out a retry's backoff).",
    RETRYING: "QUEUED jobs that failed before (attempts > 0); run_at is when they run again.",
  }[view];
  // replaceChildren, unlike h, would write an undefined out as the text "undefined".
  root.replaceChildren(...[
    h("h1", {}, "Jobs · ", h("span", { class: "mono" }, queue)),
    tabs(queue, view),
    about && h("p", { class: "muted" }, about),
    h("div", { class: "toolbar" }, task, count,
      h("a", { id: "find-here", href: findHref({ queue, state }) }, "Find by task and tag on the server →")),
    h("div", { class: "scroll" }, h("table", { id: "jobs" },
      head("Job", "State", "Task", num("Tries"), "Run at", "Lease owner", "Updated", "Tags", "Payload"),
      tbody)),
    more,
  ].filter(Boolean));
  await load();
}
