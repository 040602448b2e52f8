// Queue settings (GET /queues) and the pause and resume actions, for the overview's table.
//
// Whether this tab may steer queues is learnt by trying: the buttons are shown to every
// token, and a 403 disables them (with the server's reason as their tooltip) until the
// token changes. The API has no endpoint that tells a token its role, and guessing from
// the token would be dishonest; a refusal is the server's own answer.

import { api, currentToken } from "./api.js";

export const queues = {
  byName: new Map(), // name -> the API's queue (settings and counts)
  loading: null, // the /queues request in flight, shared by every caller
  refusedToken: undefined, // the token a pause or resume got a 403 for
  refusal: "",
};

/** Fetches /queues, one request at a time, and keeps each queue by name. */
export function loadQueues() {
  queues.loading ??= api("queues")
    .then(({ queues: list }) => {
      queues.byName = new Map(list.map((q) => [q.name, q]));
    })
    .finally(() => {
      queues.loading = null;
    });
  return queues.loading;
}

/** Pauses or resumes a queue (`verb` "pause" or "resume"); keeps the answer. */
export async function steer(name, verb) {
  try {
    const { queue } = await api(`queues/${encodeURIComponent(name)}/${verb}`, { method: "POST" });
    queues.byName.set(queue.name, queue);
    return queue;
  } catch (err) {
    if (err.status === 403) {
      queues.refusedToken = currentToken();
      queues.refusal = err.message;
    }
    throw err;
  }
}

/** True once the server refused this tab's current token a pause or resume. */
export const mayNotSteer = () =>
  queues.refusedToken !== undefined && queues.refusedToken === currentToken();

const UNITS = [["d", 86400], ["h", 3600], ["m", 60], ["s", 1]];

/** A rate window in its largest whole unit, as the CLI writes it: 1s, 5m, 500ms, 1.5s. */
export function windowText(perS) {
  for (const [unit, seconds] of UNITS) {
    const amount = perS / seconds;
    if (amount >= 1 && Math.abs(amount - Math.round(amount)) < 1e-9) return `${Math.round(amount)}${unit}`;
  }
  const ms = perS * 1000;
  return Math.abs(ms - Math.round(ms)) < 1e-9 && ms < 1000 ? `${Math.round(ms)}ms` : `${perS}s`;
}

/** A queue's limits in a few words, or "–" when it has none. */
export function limitsText(q) {
  const parts = [];
  if (q.concurrency !== null) parts.push(`${q.concurrency.toLocaleString()} at once`);
  if (q.rate_limit !== null) parts.push(`${q.rate_limit.count.toLocaleString()}/${windowText(q.rate_limit.per_s)}`);
  if (q.key_concurrency !== null) parts.push(`${q.key_concurrency.toLocaleString()} per key`);
  return parts.length ? parts.join(" · ") : "–";
}
