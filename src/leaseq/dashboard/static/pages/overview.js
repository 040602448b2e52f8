// "#/": the throughput chart and one row per queue, redrawn on every sample: its counts
// (from /stats), whether it is paused and its limits (from /queues), and a pause or
// resume button.

import { MINUTES, drawChart, loadHistory, totals } from "../lib/chart.js";
import { limitsText, loadQueues, mayNotSteer, queues, steer } from "../lib/queues.js";
import {
  STATES, age, confirmDialog, emptyRow, flash, formatRate, h, head, num, queueLink, stateHref,
} from "../lib/render.js";
import { recentRate, stats } from "../lib/stats.js";

const COLUMNS = 1 + STATES.length + 4;

const ASK = {
  pause: ["Pause", "Workers lease none of its jobs until it is resumed. Jobs already leased keep running; enqueues are still accepted."],
  resume: ["Resume", "Workers lease its jobs again, within its limits."],
};

/** Asks first; then pauses or resumes, says so, and redraws with the server's answer. */
async function confirmSteer(name, verb, redraw) {
  const [label, text] = ASK[verb];
  if (!(await confirmDialog(`${label} queue ${name}?`, text, label))) return;
  try {
    const q = await steer(name, verb);
    flash(`${q.paused ? "Paused" : "Resumed"} ${q.name}.`, "ok");
  } catch (err) {
    flash(`Failed: ${err.message}`);
  }
  redraw();
}

function steerButton(name, q, redraw) {
  if (!q) return null; // settings not known (yet): no button that could say the wrong thing
  const verb = q.paused ? "resume" : "pause";
  const refused = mayNotSteer();
  return h("button", {
    class: `steer ${verb}`,
    disabled: refused,
    title: refused ? `Not allowed: ${queues.refusal}` : null,
    onclick: () => confirmSteer(name, verb, redraw),
  }, q.paused ? "Resume" : "Pause");
}

/** The age of the oldest ready job, or "–" when none is ready. The server answers 0 for a
 * queue whose QUEUED jobs all wait for a later run_at (it clamps their negative age), so
 * 0 reads as "none ready": a job ready this very millisecond shows "–" for an instant. */
const oldestReady = (counts) =>
  counts.QUEUED && counts.oldest_queued_age_s > 0 ? age(counts.oldest_queued_age_s) : "–";

function queueRow(name, counts, q, redraw) {
  return h("tr", { dataset: { queue: name }, class: q?.paused && "paused" },
    h("td", {}, queueLink(name), q?.paused && h("span", { class: "badge paused" }, "paused")),
    STATES.map((s) => h("td", { class: "num", dataset: { col: s } },
      counts[s] ? h("a", { href: stateHref(name, s) }, counts[s].toLocaleString()) : "0")),
    h("td", { class: "num", dataset: { col: "oldest" } }, oldestReady(counts)),
    h("td", { class: "num" }, formatRate(recentRate(name) ?? 0)),
    h("td", { dataset: { col: "limits" } }, q ? limitsText(q) : "–"),
    h("td", { class: "actions" }, steerButton(name, q, redraw)));
}

/** A row for every queue /stats counts and every queue /queues knows (settings, no jobs). */
function renderQueues(tbody, sample, redraw) {
  const names = [...new Set([...Object.keys(sample.queues), ...queues.byName.keys()])].sort();
  const rows = names.map((name) => {
    const q = queues.byName.get(name);
    return queueRow(name, sample.queues[name] ?? q.counts, q, redraw);
  });
  tbody.replaceChildren(...(rows.length ? rows : [emptyRow(COLUMNS, "No jobs yet.")]));
}

function renderSummary(summary, legend) {
  const total = recentRate(null);
  summary.textContent = total === null ? "" : `${formatRate(total)} jobs/s done in the last 10 s`;
  const t = totals();
  legend.replaceChildren(
    h("span", { class: "key done" }, `done ${t.done.toLocaleString()}`),
    h("span", { class: "key failed" }, `failed ${t.failed.toLocaleString()} · dead ${t.dead.toLocaleString()}`),
    h("span", { class: "muted" }, `per minute, last ${MINUTES} min (this server's count)`));
}

/** Renders the page and follows the samples; answers the function that stops following. */
export function overview(root) {
  const tbody = h("tbody");
  const canvas = h("canvas", { id: "throughput", "aria-label": "Throughput chart" });
  const summary = h("p", { class: "muted", id: "throughput-now" });
  const legend = h("p", { class: "legend", id: "chart-legend" });
  const table = h("table", { id: "queues" },
    head("Queue", STATES.map(num), num("Oldest ready"), num("Jobs/s (10 s)"), "Limits", ""), tbody);
  root.replaceChildren(
    h("section", {}, h("h1", {}, "Throughput and failures"),
      h("div", { class: "chart" }, canvas, legend), summary),
    h("section", {}, h("h1", {}, "Queues"), h("div", { class: "scroll" }, table)),
  );
  const chart = () => (drawChart(canvas), renderSummary(summary, legend));
  const redraw = () => stats.latest && renderQueues(tbody, stats.latest, redraw);
  const render = (sample) => {
    renderQueues(tbody, sample, redraw);
    renderSummary(summary, legend);
    // Settings change rarely and /queues costs what /stats costs: ask once per sample,
    // and redraw the rows when the answer is in. A failure leaves the counts as they are.
    loadQueues().then(redraw, () => {});
    loadHistory().then(chart, () => {});
  };
  const resize = () => drawChart(canvas);
  if (stats.latest) render(stats.latest);
  else {
    tbody.append(emptyRow(COLUMNS, "Loading…"));
    loadHistory().then(chart, () => {}); // the chart need not wait for the first sample
  }
  stats.listeners.add(render);
  window.addEventListener("resize", resize);
  return () => {
    stats.listeners.delete(render);
    window.removeEventListener("resize", resize);
  };
}
