// "#/": the throughput chart and one row of counts per queue, redrawn on every sample.

import { drawChart } from "../lib/chart.js";
import { STATES, age, emptyRow, formatRate, h, head, num, queueLink, stateHref } from "../lib/render.js";
import { recentRate, stats } from "../lib/stats.js";

function queueRow(name, counts) {
  return h("tr", { dataset: { queue: name } },
    h("td", {}, queueLink(name)),
    STATES.map((s) => h("td", { class: "num", dataset: { col: s } },
      counts[s] ? h("a", { href: stateHref(name, s) }, counts[s].toLocaleString()) : "0")),
    h("td", { class: "num", dataset: { col: "oldest" } }, counts.QUEUED ? age(counts.oldest_queued_age_s) : "–"),
    h("td", { class: "num" }, formatRate(recentRate(name) ?? 0)));
}

function renderQueues(tbody, sample) {
  const names = Object.keys(sample.queues).sort();
  const rows = names.map((name) => queueRow(name, sample.queues[name]));
  tbody.replaceChildren(...(rows.length ? rows : [emptyRow(8, "No jobs yet.")]));
}

function renderSummary(summary) {
  const total = recentRate(null);
  summary.textContent = total === null ? "" : `${formatRate(total)} jobs/s finished in the last 10 s`;
}

/** Renders the page and follows the samples; answers the function that stops following. */
export function overview(root) {
  const tbody = h("tbody");
  const canvas = h("canvas", { id: "throughput", "aria-label": "Throughput chart" });
  const summary = h("p", { class: "muted", id: "throughput-now" });
  const table = h("table", { id: "queues" },
    head("Queue", STATES.map(num), num("Oldest ready"), num("Jobs/s (10 s)")), tbody);
  root.replaceChildren(
    h("section", {}, h("h1", {}, "Throughput"), h("div", { class: "chart" }, canvas), summary),
    h("section", {}, h("h1", {}, "Queues"), table),
  );
  const render = (sample) => {
    renderQueues(tbody, sample);
    renderSummary(summary);
    drawChart(canvas);
  };
  const resize = () => drawChart(canvas);
  if (stats.latest) render(stats.latest);
  else tbody.append(emptyRow(8, "Loading…"));
  stats.listeners.add(render);
  window.addEventListener("resize", resize);
  return () => {
    stats.listeners.delete(render);
    window.removeEventListener("resize", resize);
  };
}
