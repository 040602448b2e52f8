// "#/queue/<queue>/jobs/<state>": a queue's jobs in one state, a page at a time.

import { query, api } from "../lib/api.js";
import { DEFAULT_PAGE } from "../lib/limits.js";
import { emptyRow, h, head, jobLink, num, rowClass, stateBadge, tabs, when } from "../lib/render.js";

function jobRow(job) {
  return h("tr", { dataset: { job: job.id }, class: rowClass(job) },
    h("td", {}, jobLink(job.id)), h("td", {}, stateBadge(job.state)), h("td", {}, job.task ?? "–"),
    h("td", { class: "num" }, `${job.attempts}/${job.max_tries}`),
    h("td", { class: "mono" }, job.lease_owner ?? "–"), h("td", {}, when(job.updated_at)),
    h("td", { class: "mono clamp" }, JSON.stringify(job.payload).slice(0, 200)));
}

export async function jobList(root, queue, state) {
  let cursor = null;
  const tbody = h("tbody");
  const more = h("button", { id: "more", onclick: () => load() }, "Load more");
  async function load() {
    const page = await api(`jobs?${query({ queue, state, limit: DEFAULT_PAGE, cursor })}`);
    tbody.append(...page.jobs.map(jobRow));
    cursor = page.next_cursor;
    more.hidden = cursor === null;
    if (!tbody.children.length) tbody.append(emptyRow(7, "No jobs."));
  }
  root.replaceChildren(
    h("h1", {}, "Jobs · ", h("span", { class: "mono" }, queue)),
    tabs(queue, state),
    h("div", { class: "scroll" }, h("table", { id: "jobs" },
      head("Job", "State", "Task", num("Tries"), "Lease owner", "Updated", "Payload"),
      tbody)),
    more,
  );
  await load();
}
