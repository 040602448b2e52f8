// "#/workers": the workers seen lately, alive or gone, the queues each polls and how many
// jobs it runs at once (as its latest poll said), the jobs it holds, and what it finished.

import { api } from "../lib/api.js";
import { emptyRow, h, head, jobLink, muted, num, when } from "../lib/render.js";

// A live worker polls at least every 30 s (the longest poll wait) and heartbeats its
// leases well within them; one silent for twice that is taken for gone. The server keeps
// no such state: this is the page's reading of last_seen_at against this browser's clock.
export const ALIVE_S = 60;

const alive = (w) => (Date.now() - Date.parse(w.last_seen_at)) / 1000 <= ALIVE_S;

function workerRow(w) {
  const on = alive(w);
  return h("tr", { dataset: { worker: w.worker_id, alive: on }, class: on ? "alive" : "gone" },
    h("td", { class: "mono" }, w.worker_id),
    h("td", {}, h("span", { class: `badge ${on ? "alive" : "gone"}` }, on ? "alive" : "gone")),
    h("td", {}, when(w.last_seen_at)),
    h("td", { class: "queues" }, w.queues.length ? w.queues.join(", ") : "–"),
    h("td", { class: "num concurrency" },
      w.concurrency == null ? "–" : `${w.jobs.length} / ${w.concurrency}`),
    h("td", {}, w.jobs.length ? w.jobs.flatMap((id) => [jobLink(id), " "]) : "–"),
    h("td", { class: "num" }, w.done.toLocaleString()),
    h("td", { class: "num" }, w.failed.toLocaleString()));
}

export async function workers(root) {
  root.replaceChildren(h("h1", {}, "Workers"), muted("Loading…"));
  const list = (await api("workers")).workers;
  root.replaceChildren(
    h("h1", {}, "Workers"),
    h("div", { class: "scroll" }, h("table", { id: "workers" },
      head("Worker", "Status", "Last seen", "Queues", num("Busy / slots"), "Holding", num("Done"),
        num("Failed")),
      h("tbody", {}, list.length ? list.map(workerRow) : emptyRow(8, "No workers seen.")))),
    muted(`Alive: seen within the last ${ALIVE_S} s; gone: silent longer (listed for 5 minutes).`),
  );
}
