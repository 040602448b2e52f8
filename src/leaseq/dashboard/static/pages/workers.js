// "#/workers": the workers seen lately, the jobs each holds, and what each has finished.

import { api } from "../lib/api.js";
import { emptyRow, h, head, jobLink, muted, num, when } from "../lib/render.js";

function workerRow(w) {
  return h("tr", { dataset: { worker: w.worker_id } },
    h("td", { class: "mono" }, w.worker_id), h("td", {}, when(w.last_seen_at)),
    h("td", {}, w.jobs.length ? w.jobs.flatMap((id) => [jobLink(id), " "]) : "–"),
    h("td", { class: "num" }, w.done.toLocaleString()),
    h("td", { class: "num" }, w.failed.toLocaleString()));
}

export async function workers(root) {
  root.replaceChildren(h("h1", {}, "Workers"), muted("Loading…"));
  const list = (await api("workers")).workers;
  root.replaceChildren(
    h("h1", {}, "Workers"),
    h("table", { id: "workers" },
      head("Worker", "Last seen", "Holding", num("Done"), num("Failed")),
      h("tbody", {}, list.length ? list.map(workerRow) : emptyRow(5, "No workers seen."))),
  );
}
