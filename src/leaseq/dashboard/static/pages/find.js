// "#/jobs?task=…&tag=…&tag=…&state=…&queue=…": jobs the server finds (GET /jobs filters by
// task, by every tag given, by state and by queue, newest first, a page at a time). The
// filter lives in the hash, so a search can be linked to, and Back returns to it.

import { api } from "../lib/api.js";
import { DEFAULT_PAGE, MAX_TAGS } from "../lib/limits.js";
import {
  STATES, emptyRow, h, head, jobLink, num, queueLink, rowClass, stateBadge, tagChips, when,
} from "../lib/render.js";

const COLUMNS = 7;

/** The filter a hash names: `{ task, tags, state, queue }` (unset ones null, tags []). */
export function parseFind(hash) {
  const q = new URLSearchParams(hash.split("?")[1] ?? "");
  const text = (k) => q.get(k)?.trim() || null;
  return { task: text("task"), tags: q.getAll("tag").filter(Boolean), state: text("state"), queue: text("queue") };
}

/** The hash of a search, e.g. findHref({ tags: ["tenant:7"] }). */
export function findHref({ task = null, tags = [], state = null, queue = null } = {}) {
  const q = new URLSearchParams();
  if (task) q.set("task", task);
  for (const tag of tags) q.append("tag", tag);
  if (state) q.set("state", state);
  if (queue) q.set("queue", queue);
  return `#/jobs?${q}`;
}

/** Tags as typed: separated by spaces or commas; each once. */
const splitTags = (text) => [...new Set(text.split(/[\s,]+/).filter(Boolean))];

function jobRow(job) {
  return h("tr", { dataset: { job: job.id }, class: rowClass(job) },
    h("td", {}, jobLink(job.id)), h("td", {}, stateBadge(job.state)), h("td", {}, queueLink(job.queue)),
    h("td", {}, job.task ?? "–"), h("td", { class: "tags" }, tagChips(job.tags)),
    h("td", { class: "num" }, `${job.attempts}/${job.max_tries}`), h("td", {}, when(job.updated_at)));
}

function form(filter) {
  const input = (id, label, value, placeholder) =>
    h("label", {}, label, h("input", { id, type: "search", value: value ?? "", placeholder, spellcheck: "false" }));
  const state = h("select", { id: "find-state" }, h("option", { value: "" }, "any"),
    STATES.map((s) => h("option", { value: s, selected: s === filter.state }, s)));
  const value = (id) => document.getElementById(id).value.trim();
  const submit = (e) => {
    e.preventDefault();
    location.hash = findHref({
      task: value("find-task"), tags: splitTags(value("find-tags")), state: value("find-state"),
      queue: value("find-queue"),
    });
  };
  return h("form", { id: "find", class: "toolbar", onsubmit: submit, autocomplete: "off" },
    input("find-task", "Task ", filter.task, "any task"),
    input("find-tags", "Tags ", filter.tags.join(" "), `every one of up to ${MAX_TAGS}`),
    h("label", {}, "State ", state), input("find-queue", "Queue ", filter.queue, "any queue"),
    h("button", { type: "submit" }, "Find"));
}

export async function findJobs(root, filter) {
  let cursor = null;
  const tbody = h("tbody");
  const more = h("button", { id: "found-more", onclick: () => load() }, "Load more");
  const count = h("span", { class: "muted", id: "found-count" });
  let shown = 0;
  async function load() {
    const q = new URLSearchParams({ limit: DEFAULT_PAGE });
    for (const [k, v] of Object.entries({ task: filter.task, state: filter.state, queue: filter.queue })) {
      if (v) q.set(k, v);
    }
    for (const tag of filter.tags) q.append("tag", tag);
    if (cursor) q.set("cursor", cursor);
    const page = await api(`jobs?${q}`);
    if (!shown && !page.jobs.length) tbody.replaceChildren(emptyRow(COLUMNS, "No jobs match."));
    else tbody.append(...page.jobs.map(jobRow));
    shown += page.jobs.length;
    cursor = page.next_cursor;
    more.hidden = cursor === null;
    count.textContent = `${shown} found${cursor ? " so far" : ""}`;
  }
  root.replaceChildren(
    h("h1", {}, "Find jobs"),
    h("p", { class: "muted" }, "By task, tags (a job must carry every one), state and queue; newest first."),
    form(filter), count,
    h("div", { class: "scroll" }, h("table", { id: "found" },
      head("Job", "State", "Queue", "Task", "Tags", num("Tries"), "Updated"), tbody)),
    more,
  );
  await load();
}
