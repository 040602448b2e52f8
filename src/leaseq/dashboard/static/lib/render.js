// DOM building and formatting shared by every page.
// Every piece of text reaches the DOM through textContent (see `h`), never innerHTML,
// because job payloads, errors and even worker ids are user data.

export const STATES = ["QUEUED", "LEASED", "DONE", "DEAD", "CANCELLED"];

// -- Elements --------------------------------------------------------------------------

/** Wraps an event handler so that a failed async action is shown, not lost. */
const guarded = (handler) => (event) => {
  const out = handler(event);
  if (out instanceof Promise) out.catch((err) => flash(err.message));
};

/** Builds an element; strings among the children become text nodes, never markup. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), guarded(value));
    else if (key === "dataset") Object.assign(el.dataset, value);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export const muted = (text) => h("p", { class: "muted" }, text);
export const json = (value) => h("pre", { class: "json" }, JSON.stringify(value, null, 2));

/** How far a progress report says the attempt got, 0-1, when it says so: a fraction, or
 * {"done": n, "of": m} (also "total"); null for any other JSON. */
export function fraction(progress) {
  if (typeof progress === "number") return progress >= 0 && progress <= 1 ? progress : null;
  const done = progress?.done, of = progress?.of ?? progress?.total;
  if (typeof done !== "number" || typeof of !== "number" || of <= 0) return null;
  return Math.min(Math.max(done / of, 0), 1);
}

/** A job's progress: a bar and its percentage when it has a fraction, and the report
 * itself (any JSON, shortened) beside it; a dash when the attempt reported none. */
export function progressView(progress) {
  if (progress === null || progress === undefined) return "–";
  const f = fraction(progress);
  const text = JSON.stringify(progress).slice(0, 120);
  return h("span", { class: "progress" },
    f !== null && h("progress", { max: 1, value: f, "aria-label": `${Math.round(f * 100)}%` }),
    f !== null && h("span", { class: "pct" }, `${Math.round(f * 100)}%`),
    h("span", { class: "mono" }, text));
}

// -- Tables ----------------------------------------------------------------------------

/** A right-aligned header cell, for a column of numbers. */
export const num = (label) => h("th", { class: "num" }, label);

/** A table head from labels and ready-made <th> cells (see `num`). */
export const head = (...cols) =>
  h("thead", {}, h("tr", {}, cols.flat().map((c) => (c?.tagName === "TH" ? c : h("th", {}, c)))));

export const emptyRow = (colspan, text) => h("tr", {}, h("td", { colspan, class: "muted" }, text));

// -- Links -----------------------------------------------------------------------------

export const jobLink = (id) => h("a", { href: `#/job/${encodeURIComponent(id)}`, class: "mono" }, id);

export const stateHref = (q, s) =>
  s === "DEAD" ? `#/queue/${encodeURIComponent(q)}/dead` : `#/queue/${encodeURIComponent(q)}/jobs/${s}`;

export const queueLink = (q) => h("a", { href: stateHref(q, "QUEUED") }, q);

/** The views of a queue's QUEUED jobs filtered in the browser (pages/jobs.js). */
export const QUEUED_VIEWS = ["SCHEDULED", "RETRYING"];

/** One tab per state of a queue and the two QUEUED views, the current one marked. */
export const tabs = (queue, current) =>
  h("nav", { class: "tabs" },
    [STATES[0], ...QUEUED_VIEWS, ...STATES.slice(1)].map((s) =>
      h("a", { href: stateHref(queue, s), class: [s === current && "current", QUEUED_VIEWS.includes(s) && "view"].filter(Boolean).join(" ") || null },
        QUEUED_VIEWS.includes(s) ? s.toLowerCase() : s)));

// -- Messages --------------------------------------------------------------------------

let flashTimer = null;

/** Shows a message in the corner for six seconds. */
export function flash(message, kind = "error") {
  const box = document.getElementById("flash");
  box.textContent = message;
  box.className = kind;
  box.hidden = false;
  clearTimeout(flashTimer);
  flashTimer = setTimeout(() => (box.hidden = true), 6000);
}

/** Asks in a modal dialog; resolves true for `okLabel`, false for Cancel or Escape. Cancel
 * comes first and has the focus, so a stray Enter does not confirm. `backLabel` renames
 * Cancel where the action itself is a cancel ("Keep job" beside "Cancel job"). */
export function confirmDialog(title, text, okLabel, backLabel = "Cancel") {
  const dialog = h("dialog", { id: "confirm-dialog" },
    h("form", { method: "dialog" },
      h("h2", {}, title),
      h("p", {}, text),
      h("menu", {},
        h("button", { value: "cancel", autofocus: true }, backLabel),
        h("button", { value: "ok", class: "confirm" }, okLabel))));
  document.body.append(dialog);
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve(dialog.returnValue === "ok");
    }, { once: true });
    dialog.showModal();
  });
}

// -- Errors ----------------------------------------------------------------------------

/** What failed, in one line: "Type: message" when the worker sent them apart, else the
 * last non-empty line of the text (a Python traceback ends with the exception). */
export function errorHeadline(type, message, text) {
  if (type) return message ? `${type}: ${message}` : type;
  const lines = (text ?? "").split("\n").map((l) => l.trim()).filter(Boolean);
  return lines.length ? lines[lines.length - 1] : null;
}

/** The headline of a job's last error ("–" for none), the whole text as its tooltip. */
export const jobError = (job) =>
  errorHeadline(job.last_error_type, job.last_error_message, job.last_error) ?? "–";

/** The whole text folded under its headline, when it says more than the headline. */
export function folded(text, headline, label = "Traceback") {
  if (!text || text.trim() === headline) return null;
  return h("details", { class: "traceback" }, h("summary", {}, label), h("pre", { class: "error" }, text));
}

/** The key dead letters group by (as the server does): type and message, else the text. */
export const groupKey = (type, message, text) =>
  type ? `type:${type}\u0000${message ?? ""}` : `text:${text ?? ""}`;

/** A state as a coloured badge; every list of jobs shows its states this way. */
/** A job's tags, each a link to the jobs that carry it (pages/find.js). */
export const tagChips = (tags = []) =>
  tags.length ? tags.map((t) => h("a", { class: "tag", href: `#/jobs?${new URLSearchParams({ tag: t })}` }, t)) : "–";

export const stateBadge = (state) => h("span", { class: `state ${state}` }, state);

/** The class of a job's row in any list: its state's colour down the left edge. */
export const rowClass = (job, extra = null) => [`job state-${job.state}`, extra].filter(Boolean).join(" ");

/** Asks first (a <dialog>, focus on Cancel), then runs `action`; false when declined. */
export async function confirmed(title, text, okLabel, action, backLabel = "Cancel") {
  if (!(await confirmDialog(title, text, okLabel, backLabel))) return false;
  await action();
  return true;
}

// -- Formatting ------------------------------------------------------------------------

/** A duration in seconds, in the two largest units that matter. */
export function age(seconds) {
  const s = Math.max(0, seconds);
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.floor(s % 60)} s`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}

/** An ISO time as a <time>, with how long ago (or how far ahead) it is; "–" for none. */
export function when(iso) {
  if (!iso) return "–";
  const span = h("time", { datetime: iso, title: iso }, iso.replace("T", " ").replace("Z", ""));
  const ago = (Date.now() - Date.parse(iso)) / 1000;
  return [span, h("span", { class: "muted" }, ago >= 0 ? ` (${age(ago)} ago)` : ` (in ${age(-ago)})`)];
}

/** Jobs per second with about three significant digits. */
export const formatRate = (v) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
