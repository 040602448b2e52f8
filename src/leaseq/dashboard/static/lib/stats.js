// /stats, sampled every two seconds for the whole visit: the header's live indicator, the
// throughput chart and the queue table all read these samples.

import { api, signIn } from "./api.js";
import { h } from "./render.js";

const POLL_MS = 2000;
const WINDOW_MS = 60 * 1000; // samples kept for the queues' recent rates (10 s used)

export const stats = { latest: null, samples: [], listeners: new Set() };

/** jobs/s done between two samples: DEAD jobs are failures, not throughput. A purge of
 * DONE jobs makes a delta negative, which counts as none. */
export function rate(a, b, queue = null) {
  const finished = (s) =>
    Object.entries(s.queues)
      .filter(([name]) => queue === null || name === queue)
      .reduce((sum, [, c]) => sum + c.DONE, 0);
  const dt = (b.t - a.t) / 1000;
  return dt > 0 ? Math.max(0, finished(b) - finished(a)) / dt : 0;
}

/** Average rate over the last `seconds`, from the samples kept; null before two samples. */
export function recentRate(queue, seconds = 10) {
  const s = stats.samples;
  if (s.length < 2) return null;
  const last = s[s.length - 1];
  let first = s.length - 2;
  while (first > 0 && last.t - s[first - 1].t <= seconds * 1000) first--;
  let total = 0;
  for (let i = first + 1; i < s.length; i++) total += rate(s[i - 1], s[i], queue) * (s[i].t - s[i - 1].t);
  return total / (last.t - s[first].t);
}

function record(data) {
  const sample = { t: Date.now(), queues: data.queues };
  stats.latest = sample;
  stats.samples.push(sample);
  while (stats.samples.length && sample.t - stats.samples[0].t > WINDOW_MS) stats.samples.shift();
  return sample;
}

function showLive(sample) {
  const live = document.getElementById("live");
  live.textContent = `live · ${new Date(sample.t).toLocaleTimeString()}`;
  live.className = "ok";
}

function showDown(err) {
  const live = document.getElementById("live");
  live.className = "bad";
  if (err.status === 401) live.replaceChildren(h("button", { onclick: signIn }, "Sign in"));
  else live.textContent = `stats unavailable (${err.message})`;
}

/** Samples /stats now and again every POLL_MS, telling every listener. */
export async function pollStats() {
  try {
    const sample = record(await api("stats"));
    showLive(sample);
    for (const listener of stats.listeners) listener(sample);
  } catch (err) {
    showDown(err);
  } finally {
    // A chained timeout, not an interval: a slow /stats never piles up requests.
    setTimeout(pollStats, POLL_MS);
  }
}
