// "#/queue/<queue>/dead": a queue's dead letters grouped by last error, and the jobs, with
// requeue and cancel for one job, a selection, or a whole group.
//
// The page's state lives in one object (`view`) that every function below takes: the jobs
// loaded so far, the cursor of the next page, the selection, the error filtered on, and
// the elements that are redrawn.

import { api, cancel, query, requeue, requeueGroup } from "../lib/api.js";
import { DEFAULT_PAGE } from "../lib/limits.js";
import { emptyRow, flash, h, head, jobLink, muted, num, tabs, when } from "../lib/render.js";

function newView(queue) {
  const view = {
    queue,
    jobs: [],
    cursor: null,
    selected: new Set(),
    filter: undefined, // undefined: every error; null is the group of jobs without one
    groupsBox: h("div", { id: "groups" }, muted("Loading groups…")),
    tbody: h("tbody"),
    selectedCount: h("span", { class: "muted" }),
  };
  view.more = h("button", { id: "more", onclick: () => loadPage(view) }, "Load more");
  return view;
}

const shown = (view) =>
  view.jobs.filter((j) => view.filter === undefined || j.last_error === view.filter);

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
  return h("tr", { dataset: { job: job.id } },
    h("td", {}, checkbox(view, job)),
    h("td", {}, jobLink(job.id)),
    h("td", {}, job.task ?? "–"),
    h("td", { class: "num" }, `${job.attempts}/${job.max_tries}`),
    h("td", { class: "error clamp", title: job.last_error ?? "" }, job.last_error ?? "–"),
    h("td", {}, when(job.updated_at)),
    h("td", { class: "actions" },
      h("button", { class: "requeue", onclick: () => act(view, "Requeued", () => requeue([job.id])) }, "Requeue"),
      h("button", { class: "cancel", onclick: () => act(view, "Cancelled", () => cancel([job.id])) }, "Cancel")));
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

function groupRow(view, g) {
  const active = view.filter === g.error;
  const toggle = () => {
    view.filter = active ? undefined : g.error;
    renderRows(view);
    return loadGroups(view);
  };
  const all = async () => {
    if (!confirm(`Requeue ${g.count} job(s) failing with: ${g.error ?? "(no error)"}?`)) return;
    await act(view, "Requeued", () => requeueGroup(view.queue, g.error));
  };
  return h("tr", { class: active && "active" },
    h("td", { class: "num" }, g.count.toLocaleString()),
    h("td", { class: "error" }, g.error ?? "(no error message)"),
    h("td", { class: "actions" },
      h("button", { class: "filter", onclick: toggle }, active ? "Show all" : "Show"),
      h("button", { class: "requeue-group", onclick: all }, `Requeue all ${g.count.toLocaleString()}`)));
}

async function loadGroups(view) {
  // ids=0: the list only needs counts; 20 groups of 1000 ids would be ~800 kB.
  const { groups } = await api(`dead/groups?${query({ queue: view.queue, ids: 0 })}`);
  const table = h("table", { class: "groups" },
    head(num("Jobs"), "Last error", ""), h("tbody", {}, groups.map((g) => groupRow(view, g))));
  // replaceChildren, unlike h, would write a null out as the text "null".
  view.groupsBox.replaceChildren(...(groups.length ? [table] : [table, muted("No dead jobs.")]));
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

/** A toolbar button's handler: the action on the selected jobs, or a hint to select. */
const onSelected = (view, verb, action) => () =>
  view.selected.size ? act(view, verb, () => action([...view.selected])) : flash("Select jobs first.");

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
      h("button", { id: "requeue-selected", onclick: onSelected(view, "Requeued", requeue) }, "Requeue selected"),
      h("button", { id: "cancel-selected", onclick: onSelected(view, "Cancelled", cancel) }, "Cancel selected"),
      view.selectedCount),
    h("table", { id: "dead" },
      head(h("th", {}, selectAllBox(view)), "Job", "Task", num("Tries"), "Last error", "Died", ""),
      view.tbody),
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
