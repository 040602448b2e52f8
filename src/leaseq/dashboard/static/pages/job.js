// "#/job/<id>": one job's fields, error, payload, result and history, with its actions.

import { api, query } from "../lib/api.js";
import { DEFAULT_PAGE } from "../lib/limits.js";
import { flash, h, head, json, muted, num, queueLink, when } from "../lib/render.js";

function fields(job) {
  return [
    ["State", h("span", { class: `state ${job.state}`, id: "job-state" }, job.state)],
    ["Queue", queueLink(job.queue)], ["Task", job.task ?? "–"],
    ["Attempts", `${job.attempts} of ${job.max_tries}`], ["Priority", job.priority],
    ["Run at", when(job.run_at)], ["Lease owner", job.lease_owner ?? "–"],
    ["Lease expires", when(job.lease_expires_at)], ["Idempotency key", job.idempotency_key ?? "–"],
    ["Created", when(job.created_at)], ["Updated", when(job.updated_at)],
  ];
}

/** Requeue (DEAD) and Cancel (QUEUED or DEAD); after either, the page is drawn again. */
function actions(root, job) {
  const path = `jobs/${encodeURIComponent(job.id)}`;
  const mutate = async (target, body) => {
    try {
      await api(target, { method: "POST", body });
      await jobPage(root, job.id);
    } catch (err) {
      flash(err.message);
    }
  };
  return h("div", { class: "toolbar" },
    job.state === "DEAD" &&
      h("button", { onclick: () => mutate("dead/requeue", { job_ids: [job.id] }) }, "Requeue"),
    ["QUEUED", "DEAD"].includes(job.state) &&
      h("button", { onclick: () => mutate(`${path}/cancel`) }, "Cancel"));
}

function eventRow(e) {
  return h("tr", { dataset: { kind: e.kind } },
    h("td", {}, when(e.at)),
    h("td", {}, e.kind),
    h("td", {}, h("span", { class: `state ${e.state}` }, e.state)),
    h("td", { class: "num" }, e.attempt), h("td", { class: "mono" }, e.worker_id ?? "–"),
    h("td", { class: "error" }, e.error ?? ""));
}

/** The events table; a job that heartbeats for hours has thousands: one page, then more. */
async function history(path) {
  let cursor = null;
  const tbody = h("tbody");
  const more = h("button", { id: "history-more", onclick: () => load() }, "Load more");
  async function load() {
    const page = await api(`${path}/events?${query({ limit: DEFAULT_PAGE, cursor })}`);
    tbody.append(...page.events.map(eventRow));
    cursor = page.next_cursor;
    more.hidden = cursor === null;
  }
  await load();
  return [h("table", { id: "history" },
    head("At", "Event", "State", num("Attempt"), "Worker", "Error"), tbody), more];
}

export async function jobPage(root, id) {
  const path = `jobs/${encodeURIComponent(id)}`;
  const { job } = await api(path);
  root.replaceChildren(
    h("h1", {}, "Job ", h("span", { class: "mono" }, job.id)),
    actions(root, job),
    h("dl", { id: "job-fields" }, fields(job).map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])),
    h("section", {}, h("h2", {}, "Last error"),
      job.last_error ? h("pre", { class: "error", id: "job-error" }, job.last_error) : muted("None.")),
    h("section", {}, h("h2", {}, "Payload"), json(job.payload)),
    h("section", {}, h("h2", {}, "Result"), job.result === null ? muted("None.") : json(job.result)),
    h("section", {}, h("h2", {}, "History"), await history(path)),
  );
}
