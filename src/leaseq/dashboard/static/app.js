// leaseq dashboard: one page, hash routes, the public HTTP API only.
// This entry module routes between the pages (pages/*.js) and starts sampling /stats;
// lib/ holds what the pages share: the API (api.js), DOM building (render.js), the samples
// (stats.js) and the chart (chart.js).

import { QUEUED_VIEWS, STATES, h } from "./lib/render.js";
import { pollStats } from "./lib/stats.js";
import { deadLetters } from "./pages/dead.js";
import { findHref, findJobs, parseFind } from "./pages/find.js";
import { jobPage } from "./pages/job.js";
import { jobList } from "./pages/jobs.js";
import { overview } from "./pages/overview.js";
import { schedules } from "./pages/schedules.js";
import { workers } from "./pages/workers.js";

let leaveView = null; // stops the page being left from following the samples

const safeDecode = (part) => {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
};

/** Marks the header link of the section the route belongs to (none for a job). */
function markNav(parts) {
  const own = { job: "", jobs: "jobs", workers: "workers", schedules: "schedules" };
  const section = Object.hasOwn(own, parts[0]) ? own[parts[0]] : "overview";
  for (const a of document.querySelectorAll("nav a[data-nav]")) {
    a.classList.toggle("current", a.dataset.nav === section);
  }
}

/** Renders the page the hash names; answers what to call on leaving it, if anything. */
async function render(root, [page, arg, sub, state]) {
  if (page === "queue" && arg && sub === "dead") await deadLetters(root, arg);
  else if (page === "queue" && sub === "jobs" && [...STATES, ...QUEUED_VIEWS].includes(state)) {
    await jobList(root, arg, state);
  }
  else if (page === "job" && arg) await jobPage(root, arg);
  else if (page === "jobs") await findJobs(root, parseFind(location.hash));
  else if (page === "workers") await workers(root);
  else if (page === "schedules") await schedules(root);
  else return overview(root);
  return null;
}

async function route() {
  leaveView?.();
  leaveView = null;
  // Each visit renders into its own box, so a slow answer for a page the user has
  // already left cannot overwrite the page they are on now.
  const root = h("div");
  document.getElementById("view").replaceChildren(root);
  // "#/jobs?…" keeps its query for its page (find.js); the route is what precedes it.
  const parts = location.hash.replace(/^#\/?/, "").split("?")[0].split("/").map(safeDecode);
  markNav(parts);
  try {
    const leave = await render(root, parts);
    // Only the overview answers one, at once; a slow page resolving later must not clear it.
    if (leave) leaveView = leave;
  } catch (err) {
    const detail = `${err.status ?? ""} ${err.message}`.trim();
    root.replaceChildren(h("h1", {}, "Something went wrong"), h("p", { class: "error" }, detail));
  }
}

document.getElementById("goto-job").addEventListener("submit", (e) => {
  e.preventDefault();
  const text = e.target.elements.id.value.trim();
  // "tag:…" and "task:…" search the jobs (find.js); anything else is a job's exact id.
  const [, kind, value] = text.match(/^(tag|task):\s*(.+)$/) ?? [];
  if (kind === "tag") location.hash = findHref({ tags: [value] });
  else if (kind === "task") location.hash = findHref({ task: value });
  else if (text) location.hash = `#/job/${encodeURIComponent(text)}`;
});
window.addEventListener("hashchange", route);
route();
pollStats();
