// The public HTTP API: requests with the tab's bearer token, the sign-in prompt, and the
// dead-letter actions that take more than one request.

// limits.js has no file on disk: the server writes it from leaseq.core.limits.
import { MAX_BATCH } from "./limits.js";
import { groupKey } from "./render.js";

const TOKEN_KEY = "leaseq.token";
const ASK = "The server asks for a token. It is kept for this tab only.";
const REFUSED = "The server refused that token. Enter another one.";

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

// -- Token -----------------------------------------------------------------------------

// The roles of leaseq.core.tokens.Role (tests/unit/test_dashboard_roles.py checks).
const ROLES = ["read", "producer", "worker", "admin"];

/**
 * What to send for a token as it is configured, like `secret_of` in leaseq.core.tokens:
 * "worker:abc" sends "abc", and a bare secret is sent as it is. So the LEASEQ_TOKEN value
 * that the CLI and the SDK take can be pasted here too.
 */
export function secretOf(configured) {
  const at = configured.indexOf(":");
  const role = configured.slice(0, at);
  return at > 0 && ROLES.includes(role) && at < configured.length - 1
    ? configured.slice(at + 1)
    : configured;
}

let tokenPrompt = null; // one prompt shared by every request that got a 401
let tokenDeclined = false; // after Cancel, polling must not reopen the prompt every 2 s
let tokenRefused = false; // the last token sent got a 401: say so in the prompt

/** Opens the token dialog (once, however many requests ask); resolves to the token or "". */
function askToken(message) {
  if (tokenDeclined) return Promise.resolve("");
  tokenPrompt ??= new Promise((resolve) => {
    const dialog = document.getElementById("token-dialog");
    const input = dialog.querySelector("input");
    dialog.querySelector("p").textContent = message;
    input.value = "";
    dialog.addEventListener("close", () => resolve(closeToken(dialog, input)), { once: true });
    dialog.showModal();
  });
  return tokenPrompt;
}

/** Keeps the token the dialog closed with, or remembers that the user declined. */
function closeToken(dialog, input) {
  const token = dialog.returnValue === "ok" ? secretOf(input.value.trim()) : "";
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else tokenDeclined = true;
  tokenRefused = false;
  tokenPrompt = null;
  return token;
}

/** The token this tab sends, or null. */
export const currentToken = () => sessionStorage.getItem(TOKEN_KEY);

/** The "Sign in" button: asks again even after the prompt was declined. */
export function signIn() {
  tokenDeclined = false;
  return askToken(ASK);
}

/** After a 401 to `sent`: true when there is a (new) token worth one more try. */
async function tokenAfter401(sent) {
  const current = sessionStorage.getItem(TOKEN_KEY);
  // Signed in while this request was on its way: just try again with the new token.
  if (current && current !== sent) return true;
  if (sent && current === sent) {
    sessionStorage.removeItem(TOKEN_KEY); // refused: the next call asks again
    tokenRefused = true;
  }
  return Boolean(await askToken(tokenRefused ? REFUSED : ASK));
}

// -- Requests --------------------------------------------------------------------------

/** Calls the API with a relative path; on a 401, asks for a token once and retries. */
export async function api(path, { method = "GET", body, retried = false } = {}) {
  const headers = { Accept: "application/json" };
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 401 && !retried && (await tokenAfter401(token))) {
    return api(path, { method, body, retried: true });
  }
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    const err = data?.error ?? {}; // a proxy in front may answer without the API's body
    throw new ApiError(response.status, err.code ?? "http_error", err.message ?? response.statusText);
  }
  return data;
}

/** A query string from the parameters that are set. */
export const query = (params) => {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined) q.set(k, v);
  return q.toString();
};

// -- Dead-letter actions ---------------------------------------------------------------

/** Requeues DEAD jobs by id, in requests of at most MAX_BATCH ids (the API's batch limit). */
export async function requeue(ids) {
  let total = 0;
  for (let i = 0; i < ids.length; i += MAX_BATCH) {
    const body = { job_ids: ids.slice(i, i + MAX_BATCH) };
    total += (await api("dead/requeue", { method: "POST", body })).requeued;
  }
  return total;
}

/** Cancels jobs one by one (the API has no batch cancel); answers how many. */
export async function cancel(ids) {
  for (const id of ids) await api(`jobs/${encodeURIComponent(id)}/cancel`, { method: "POST" });
  return ids.length;
}

/** Up to MAX_BATCH ids of a queue's DEAD jobs of the group `key` (render.js `groupKey`). */
async function groupIds(queue, key) {
  const { groups } = await api(`dead/groups?${query({ queue, ids: MAX_BATCH })}`);
  return groups.find((g) => groupKey(g.error_type, g.error_message, g.error) === key)?.job_ids ?? [];
}

/** A whole group, MAX_BATCH at a time: requeue the ids named, ask again, until none are left. */
export async function requeueGroup(queue, key) {
  let total = 0;
  for (;;) {
    const ids = await groupIds(queue, key);
    const moved = ids.length ? await requeue(ids) : 0;
    if (!moved) return total; // none left, or someone else took them: stop, do not spin
    total += moved;
  }
}
