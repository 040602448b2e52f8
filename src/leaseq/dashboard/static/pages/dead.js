// "#/queue/<queue>/dead": a queue's dead letters grouped by exception (type and message,
// the traceback folded; by the whole text for a worker that sent no type), and the jobs,
// with requeue and cancel for one job, a selection, or a whole group, each confirmed.
//
// The page's state lives in one object (`view`) that every function below takes: the jobs
// loaded so far, the cursor of the next page, the selection, the error filtered on, and
// the elements that are redrawn.

import { api, cancel, query, requeue, requeueGroup } from "../lib/api.js";
import { DEFAULT_PAGE } from "../lib/limits.js";
import {
  confirmed, emptyRow, errorHeadline, flash, folded, groupKey, h, head, jobError, jobLink, muted,
  num, rowClass, tabs, when,
} from "../lib/render.js";

function newView(queue) {
  const view = {
    queue,
    jobs: [],
    cursor: null,
    selected: new Set(),
    filter: undefined, // undefined: every error; else the groupKey of the group shown
    groupsBox: h("div", { id: "groups" }, muted("Loading groups…")),
    tbody: h("tbody"),
    selectedCount: h("span", { class: "muted" }),
  };
  view.more = h("button", { id: "more", onclick: () => loadPage(view) }, "Load more");
  return view;
}

const jobKey = (j) => groupKey(j.last_error_type, j.last_error_message, j.last_error);

const shown = (view) => view.jobs.filter((j) => view.filter === undefined || jobKey(j) === view.filter);

const plural = (n) => `${n.toLocaleString()} job${n === 1 ? "" : "s"}`;

function select(view, id, on) {
  if (on) view.selected.add(id);
  else view.selected.delete(id);
}

function showCount(view) {
  view.selectedCount.textContent = view.selected.size ? `${view.selected.size} selected` : "";
}

// -- Jobs ------------------------------------------------------------------------------

function checkbox(view, job) {
  return h("input", {
    type: "checkbox",
    "aria-label": `Select ${job.id}`,
    checked: view.selected.has(job.id),
    onchange: (e) => (select(view, job.id, e.target.checked), showCount(view)),
  });
}

function jobRow(view, job) {
  return h("tr", { dataset: { job: job.id }, class: rowClass(job) },
    h("td", {}, checkbox(view, job)),
    h("td", {}, jobLink(job.id)),
    h("td", {}, job.task ?? "–"),
    h("td", { class: "num" }, `${job.attempts}/${job.max_tries}`),
    // The clamp is on a div: a <td> made a -webkit-box is no table cell any more.
    h("td", { class: "error", title: job.last_error ?? "" }, h("div", { class: "clamp" }, jobError(job))),
    h("td", {}, when(job.updated_at)),
    h("td", { class: "actions" },
      h("button", { class: "requeue", onclick: () => ask(view, "requeue", [job.id]) }, "Requeue"),
      h("button", { class: "cancel", onclick: () => ask(view, "cancel", [job.id]) }, "Cancel")));
}

function renderRows(view) {
  const rows = shown(view).map((job) => jobRow(view, job));
  const empty = view.filter === undefined ? "The dead letter queue is empty." : "None loaded.";
  view.tbody.replaceChildren(...(rows.length ? rows : [emptyRow(7, empty)]));
  view.more.hidden = view.cursor === null;
  showCount(view);
}

async function loadPage(view) {
  const page = await api(`dead?${query({ queue: view.queue, limit: DEFAULT_PAGE, cursor: view.cursor })}`);
  view.jobs.push(...page.jobs);
  view.cursor = page.next_cursor;
  renderRows(view);
}

// -- Groups ----------------------------------------------------------------------------

/** The group's exception first (type, then message), the traceback of one job folded. */
function groupError(g) {
  const headline = errorHeadline(g.error_type, g.error_message, g.error);
  if (headline === null) return h("td", { class: "error" }, muted("(no error message)"));
  const title = g.error_type
    ? [h("strong", { class: "error-type" }, g.error_type), g.error_message ? h("span", { class: "error-message" }, `: ${g.error_message}`) : null]
    : h("span", { class: "error-message" }, headline);
  return h("td", { class: "error" }, h("div", { class: "headline" }, title), folded(g.error, headline));
}

function groupRow(view, g) {
  const key = groupKey(g.error_type, g.error_message, g.error);
  const active = view.filter === key;
  const toggle = () => {
    view.filter = active ? undefined : key;
    renderRows(view);
    return loadGroups(view);
  };
  const headline = errorHeadline(g.error_type, g.error_message, g.error) ?? "(no error message)";
  const all = () => confirmed(`Requeue ${plural(g.count)}?`,
    `Every DEAD job of ${view.queue} failing with “${headline}” goes back to the queue with a fresh set of tries.`,
    "Requeue all", () => act(view, "Requeued", () => requeueGroup(view.queue, key)));
  return h("tr", { class: active && "active", dataset: { group: key } },
    h("td", { class: "num" }, g.count.toLocaleString()),
    groupError(g),
    h("td", { class: "actions" },
      h("button", { class: "filter", onclick: toggle }, active ? "Show all" : "Show"),
      h("button", { class: "requeue-group", onclick: all }, `Requeue all ${g.count.toLocaleString()}`)));
}

async function loadGroups(view) {
  // ids=0: the list only needs counts; 20 groups of 1000 ids would be ~800 kB.
  const { groups } = await api(`dead/groups?${query({ queue: view.queue, ids: 0 })}`);
  const table = h("table", { class: "groups", id: "groups-table" },
    head(num("Jobs"), "Error", ""), h("tbody", {}, groups.map((g) => groupRow(view, g))));
  // replaceChildren, unlike h, would write a null out as the text "null".
  const box = h("div", { class: "scroll" }, table);
  view.groupsBox.replaceChildren(...(groups.length ? [box] : [box, muted("No dead jobs.")]));
}

// -- Actions ---------------------------------------------------------------------------

/** Runs a requeue or cancel, says how many jobs it moved, and reloads the page. */
async function act(view, verb, run) {
  try {
    flash(`${verb} ${await run()} job(s).`, "ok");
  } catch (err) {
    flash(`Failed: ${err.message}`);
  }
  await reload(view);
}

// [button, past tense, action, what happens to one job, to several]
const ASK = {
  requeue: ["Requeue", "Requeued", requeue,
    "goes back to the queue with a fresh set of tries.", "go back to the queue with a fresh set of tries."],
  cancel: ["Cancel job", "Cancelled", cancel,
    "is withdrawn for good: it will never run.", "are withdrawn for good: they will never run."],
};

/** Confirms, then requeues or cancels the jobs `ids` (one, or a selection). */
function ask(view, what, ids) {
  const [label, verb, run, one, many] = ASK[what];
  const single = ids.length === 1;
  const title = `${label}${single ? "" : ` ${plural(ids.length)}`}?`;
  const text = single ? `Job ${ids[0]} ${one}` : `${plural(ids.length)} of ${view.queue} ${many}`;
  const back = what === "cancel" ? "Keep" : "Cancel";
  return confirmed(title, text, label, () => act(view, verb, () => run(ids)), back);
}

/** A toolbar button's handler: the action on the selected jobs, or a hint to select. */
const onSelected = (view, what) => () =>
  view.selected.size ? ask(view, what, [...view.selected]) : flash("Select jobs first.");

/** Starts over from the first page, with no selection and no filter. */
async function reload(view) {
  Object.assign(view, { jobs: [], cursor: null, filter: undefined });
  view.selected.clear();
  await loadPage(view);
  await loadGroups(view);
}

// -- Layout ----------------------------------------------------------------------------

function selectAllBox(view) {
  return h("input", {
    type: "checkbox",
    "aria-label": "Select all shown",
    onchange: (e) => {
      for (const job of shown(view)) select(view, job.id, e.target.checked);
      renderRows(view);
    },
  });
}

function jobsSection(view) {
  return h("section", {}, h("h2", {}, "Jobs"),
    h("div", { class: "toolbar" },
      h("button", { id: "requeue-selected", onclick: onSelected(view, "requeue") }, "Requeue selected"),
      h("button", { id: "cancel-selected", onclick: onSelected(view, "cancel") }, "Cancel selected"),
      view.selectedCount),
    h("div", { class: "scroll" }, h("table", { id: "dead" },
      head(h("th", {}, selectAllBox(view)), "Job", "Task", num("Tries"), "Error", "Died", ""),
      view.tbody)),
    view.more);
}

export async function deadLetters(root, queue) {
  const view = newView(queue);
  root.replaceChildren(
    h("h1", {}, "Dead letters · ", h("span", { class: "mono" }, queue)),
    tabs(queue, "DEAD"),
    h("section", {}, h("h2", {}, "By error"), view.groupsBox),
    jobsSection(view),
  );
  await reload(view);
}
