// "#/job/<id>": one job's fields, error, payload, result and history, with its actions.

import { api, query } from "../lib/api.js";
import { DEFAULT_PAGE } from "../lib/limits.js";
import {
  confirmed, errorHeadline, flash, folded, h, head, jobLink, json, muted, num, progressView,
  queueLink, stateBadge, tagChips, when,
} from "../lib/render.js";

function fields(job) {
  return [
    ["State", h("span", { class: `state ${job.state}`, id: "job-state" }, job.state)],
    ["Queue", queueLink(job.queue)], ["Task", job.task ?? "–"],
    ["Attempts", `${job.attempts} of ${job.max_tries}`], ["Priority", job.priority],
    ["Run at", when(job.run_at)], ["Lease owner", job.lease_owner ?? "–"],
    ["Lease expires", when(job.lease_expires_at)], ["Idempotency key", job.idempotency_key ?? "–"],
    ["Timeout", job.timeout === null || job.timeout === undefined ? "–" : `${job.timeout} s`],
    ["Progress", h("span", { id: "job-progress" }, progressView(job.progress))],
    ["Created", when(job.created_at)], ["Updated", when(job.updated_at)],
    ["Tags", h("span", { id: "job-tags" }, tagChips(job.tags))],
    ["Trace", h("span", { class: "mono", id: "job-trace" }, job.traceparent ?? "–")],
  ];
}

/** A new job with this one's queue, task, payload, priority, tries and concurrency key
 * (not its idempotency key, which would answer with this very job). */
const rerunSpec = (job) => ({
  queue: job.queue, task: job.task, payload: job.payload, priority: job.priority,
  max_tries: job.max_tries, concurrency_key: job.concurrency_key, tags: job.tags,
  timeout: job.timeout ?? undefined,
});

async function rerun(job, box) {
  try {
    const { job: fresh } = await api("enqueue", { method: "POST", body: rerunSpec(job) });
    box.replaceChildren("Re-run as ", jobLink(fresh.id), " ", stateBadge(fresh.state));
    flash(`Enqueued ${fresh.id}.`, "ok");
  } catch (err) {
    flash(`Failed: ${err.message}`);
  }
}

/** Requeue (DEAD), Cancel (QUEUED, LEASED or DEAD: a running job is stopped at once),
 * each confirmed, after which the page is drawn again; Re-run (DONE or CANCELLED)
 * enqueues a copy and links to it. */
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
  const requeue = () => confirmed("Requeue this job?",
    `Job ${job.id} goes back to ${job.queue} with a fresh set of tries.`, "Requeue",
    () => mutate("dead/requeue", { job_ids: [job.id] }));
  const running = job.state === "LEASED";
  const cancel = () => confirmed(running ? "Cancel this running job?" : "Cancel this job?",
    running
      ? `Job ${job.id} is running on ${job.lease_owner}: it is stopped at once (its worker is told at its next heartbeat) and never runs again.`
      : `Job ${job.id} is withdrawn for good: it will never run.`,
    "Cancel job", () => mutate(`${path}/cancel`), "Keep");
  const rerunBox = h("span", { id: "rerun-result" });
  return h("div", { class: "toolbar" },
    job.state === "DEAD" && h("button", { class: "requeue", onclick: requeue }, "Requeue"),
    ["QUEUED", "LEASED", "DEAD"].includes(job.state) &&
      h("button", { class: "cancel", onclick: cancel }, "Cancel"),
    ["DONE", "CANCELLED"].includes(job.state) &&
      h("button", { id: "rerun", onclick: () => rerun(job, rerunBox) }, "Re-run as a new job"),
    rerunBox);
}

/** The exception first, then the whole text (the traceback). */
function lastError(job) {
  if (!job.last_error && !job.last_error_type) return muted("None.");
  const headline = errorHeadline(job.last_error_type, job.last_error_message, job.last_error);
  return [h("p", { class: "error headline", id: "job-error-headline" }, headline),
    job.last_error && job.last_error.trim() !== headline
      ? h("pre", { class: "error", id: "job-error" }, job.last_error) : null];
}

/** An event's error: its last line (the exception), the whole text folded under it. */
function eventError(e) {
  const headline = errorHeadline(null, null, e.error);
  return h("td", { class: "error" }, headline && h("div", { class: "headline" }, headline),
    folded(e.error, headline));
}

function eventRow(e) {
  return h("tr", { dataset: { kind: e.kind } },
    h("td", {}, when(e.at)),
    h("td", {}, e.kind),
    h("td", {}, stateBadge(e.state)),
    h("td", { class: "num" }, e.attempt), h("td", { class: "mono" }, e.worker_id ?? "–"),
    eventError(e));
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
  return [h("div", { class: "scroll" }, h("table", { id: "history" },
    head("At", "Event", "State", num("Attempt"), "Worker", "Error"), tbody)), more];
}

export async function jobPage(root, id) {
  const path = `jobs/${encodeURIComponent(id)}`;
  let job;
  try {
    ({ job } = await api(path));
  } catch (err) {
    if (err.status !== 404) throw err;
    // The header's search is by exact id (GET /jobs/{id}): say so rather than "error".
    root.replaceChildren(h("h1", {}, "No such job"),
      h("p", { id: "no-job" }, "No job has the id ", h("span", { class: "mono" }, id),
        ". The search takes a whole id, exactly; a finished job is gone once the retention purges it."));
    return;
  }
  root.replaceChildren(
    h("h1", {}, "Job ", h("span", { class: "mono" }, job.id)),
    actions(root, job),
    h("dl", { id: "job-fields" }, fields(job).map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])),
    h("section", {}, h("h2", {}, "Last error"), lastError(job)),
    h("section", {}, h("h2", {}, "Payload"), json(job.payload)),
    h("section", {}, h("h2", {}, "Result"), job.result === null ? muted("None.") : json(job.result)),
    h("section", { id: "job-checkpoint" }, h("h2", {}, "Checkpoint"),
      job.checkpoint === null || job.checkpoint === undefined
        ? muted("None: a retry starts from the beginning.") : json(job.checkpoint)),
    h("section", {}, h("h2", {}, "History"), await history(path)),
  );
}
